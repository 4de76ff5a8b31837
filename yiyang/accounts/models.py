"""Accounts: every user has one role and one scope (an area-code prefix or an organisation)."""

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from yiyang.core.scoping import ScopedQuerySet, ScopePolicy, area_prefix_q

from .roles import AREA_ROLES, OFFICIAL_SCOPE_LENGTH, ORGANIZATION_ROLES, Role, scope_kind


class UserQuerySet(ScopedQuerySet):
    def for_user(self, user):
        """Officials see accounts scoped inside their area, staff of organisations there included."""
        if getattr(user, "scope_kind", None) == "area" and user.scope_area_id and user.is_active and not user.is_superuser:
            return self.filter(
                area_prefix_q("scope_area", user.scope_area_id) | area_prefix_q("organization__area", user.scope_area_id)
            )
        return super().for_user(user)


class UserManager(DjangoUserManager.from_queryset(UserQuerySet)):
    pass


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=24, choices=Role.choices, default=Role.ELDER)
    scope_area = models.ForeignKey(
        "areas.Area", verbose_name=_("jurisdiction"), to_field="code", db_column="scope_area_code",
        null=True, blank=True, on_delete=models.PROTECT, related_name="+",
    )
    organization = models.ForeignKey(
        "organizations.Organization", verbose_name=_("organisation"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="staff",
    )
    full_name = models.CharField(_("full name"), max_length=64, blank=True)
    # A staff member's duty phone (not an elder's personal data): escalation texts and calls reach it.
    work_phone = models.CharField(_("work phone"), max_length=20, blank=True)

    objects = UserManager()
    # Accounts are placed by their scope area, or by their organisation's area.
    scope = ScopePolicy(area="scope_area", organization="organization")

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]

    def __str__(self):
        return self.full_name or self.username

    @property
    def scope_kind(self) -> str:
        return scope_kind(self.role)

    @property
    def scope_code(self) -> str:
        """The area-code prefix this account sees (an organisation's area for its staff)."""
        if self.scope_kind == "area":
            return self.scope_area_id or ""
        if self.scope_kind == "organization" and self.organization_id:
            return self.organization.area_id
        return ""

    def clean(self):
        super().clean()
        if self.role in AREA_ROLES and not self.scope_area_id:
            raise ValidationError({"scope_area": _("This role works within an area: choose one.")})
        if self.role in ORGANIZATION_ROLES and not self.organization_id:
            raise ValidationError({"organization": _("This role works for an organisation: choose one.")})
        needed = OFFICIAL_SCOPE_LENGTH.get(self.role)
        if needed and self.scope_area_id and len(self.scope_area_id) != needed:
            raise ValidationError({"scope_area": _("The jurisdiction's level does not match the role.")})
