"""Operations on accounts. Each is one transaction and writes the audit log.

An official hands out only the roles ``roles.GRANTABLE`` allows, for an area (or
an organisation) inside their own jurisdiction, at the level the role works at.
"""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _

from yiyang.areas.models import LEVEL_BY_LENGTH, Area, Level
from yiyang.core import audit
from yiyang.core.models import AuditAction
from yiyang.core.scoping import code_in_scope
from yiyang.organizations.models import Organization

from .models import User
from .roles import GRANTABLE, OFFICIAL_SCOPE_LENGTH, Role, scope_kind

AUDITED_FIELDS = ["username", "full_name", "role", "scope_area", "organization", "is_active"]


def _require(user, perm: str) -> None:
    if not user.has_perm(perm):
        raise PermissionDenied(_("You do not have permission to do this."))


def grantable_roles(user) -> list[Role]:
    """Roles ``user`` may give, among those placed in an area or an organisation.

    Portal accounts (elders and families) are linked to elders, not created here.
    """
    allowed = set(Role) if user.is_superuser else GRANTABLE.get(user.role, set())
    return [role for role in Role if role in allowed and scope_kind(role) != "self"]


def access_user_by_id(acting_user, user_id) -> User:
    """An account in ``acting_user``'s jurisdiction; 404 otherwise."""
    user = User.objects.for_user(acting_user).filter(pk=user_id).first()
    if user is None:
        raise Http404(_("No such account in your jurisdiction."))
    return user


def _in_scope(acting_user, code: str) -> bool:
    return acting_user.is_superuser or code_in_scope(code, acting_user.scope_code)


def _area_error(acting_user, role: str, code: str) -> str | None:
    if not code:
        return _("Choose the area this account works in.")
    if not _in_scope(acting_user, code) or not Area.objects.filter(code=code).exists():
        return _("Area %(code)s is not in your jurisdiction.") % {"code": code}
    needed = OFFICIAL_SCOPE_LENGTH.get(role)
    if needed and len(code) != needed:
        level = Level(LEVEL_BY_LENGTH[needed]).label
        return _("A %(role)s works for a whole %(level)s: choose a %(level)s code (%(n)d digits).") % {
            "role": Role(role).label, "level": level, "n": needed}
    return None


@transaction.atomic
def create_user(*, acting_user, username: str, full_name: str, role: str, password: str,
                scope_area_code: str = "", organization_id=None) -> User:
    """Open an account with a role the creator may grant, placed inside the creator's jurisdiction."""
    _require(acting_user, "accounts.manage_users")
    errors: dict[str, list[str]] = {}
    username = (username or "").strip()
    scope_area_code = (scope_area_code or "").strip()
    if role not in grantable_roles(acting_user):
        errors["role"] = [_("You may not grant this role.")]
    elif scope_kind(role) == "area":
        message = _area_error(acting_user, role, scope_area_code)
        if message:
            errors["scope_area"] = [message]
    elif not Organization.objects.for_user(acting_user).filter(pk=organization_id).exists():
        errors["organization"] = [_("Choose an organisation in your jurisdiction.")]
    if errors:
        raise ValidationError(errors)

    area_role = scope_kind(role) == "area"
    user = User(username=username, full_name=(full_name or "").strip(), role=role,
                scope_area_id=scope_area_code if area_role else None,
                organization_id=None if area_role else organization_id)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        errors["password"] = exc.messages
    user.set_password(password)
    try:
        user.full_clean()
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    user.save()
    audit.record(AuditAction.CREATE, actor=acting_user, obj=user, area_code=user.scope_code,
                 after=audit.snapshot(user, AUDITED_FIELDS))
    return user


@transaction.atomic
def deactivate_user(user: User, *, acting_user) -> User:
    """Close an account (it can no longer log in or use its API token); the row stays for the record."""
    _require(acting_user, "accounts.manage_users")
    user = User.objects.for_user(acting_user).select_for_update(of=("self",)).filter(pk=user.pk).first()
    if user is None:
        raise Http404(_("No such account in your jurisdiction."))
    if user.pk == acting_user.pk:
        raise ValidationError(_("You cannot deactivate your own account."))
    if user.role not in grantable_roles(acting_user):
        raise ValidationError(_("You may only deactivate accounts with a role you may grant."))
    if not user.is_active:
        raise ValidationError(_("This account is already deactivated."))
    user.is_active = False
    user.save(update_fields=["is_active"])
    audit.record(AuditAction.UPDATE, actor=acting_user, obj=user, area_code=user.scope_code,
                 before={"is_active": True}, after={"is_active": False})
    return user
