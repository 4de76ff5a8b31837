"""The administrative tree: province (2 digits) → city (4) → county (6) → township (9) → village (12)."""

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from yiyang.core.scoping import ScopedQuerySet, ScopePolicy, area_prefix_q


class Level(models.IntegerChoices):
    PROVINCE = 1, _("province")
    CITY = 2, _("city")
    COUNTY = 3, _("county")
    TOWNSHIP = 4, _("township")
    VILLAGE = 5, _("village")


CODE_LENGTH = {Level.PROVINCE: 2, Level.CITY: 4, Level.COUNTY: 6, Level.TOWNSHIP: 9, Level.VILLAGE: 12}
LEVEL_BY_LENGTH = {length: level for level, length in CODE_LENGTH.items()}

area_code_validator = RegexValidator(r"^(\d{2}|\d{4}|\d{6}|\d{9}|\d{12})$", _("An area code has 2, 4, 6, 9 or 12 digits."))


class AreaQuerySet(ScopedQuerySet):
    def within(self, prefix: str):
        return self.filter(area_prefix_q("code", prefix))

    def for_user(self, user):
        """Officials see their subtree plus the chain above it (for breadcrumbs)."""
        scoped = super().for_user(user)
        scope = getattr(user, "scope_area_id", None)
        if scope and user.is_active and getattr(user, "scope_kind", None) == "area" and not user.is_superuser:
            ancestors = [scope[:n] for n in (2, 4, 6, 9) if n < len(scope)]
            return self.filter(models.Q(pk__in=scoped.values("pk")) | models.Q(code__in=ancestors))
        return scoped


class Area(models.Model):
    """One administrative division. The code is the key everything else is scoped by."""

    code = models.CharField(_("code"), max_length=12, primary_key=True, validators=[area_code_validator])
    name = models.CharField(_("name"), max_length=64)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    parent = models.ForeignKey("self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    is_urban = models.BooleanField(_("urban"), null=True, blank=True, help_text=_("Townships and villages: urban (街道/社区) or rural (乡镇/村)."))
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)

    objects = AreaQuerySet.as_manager()
    scope = ScopePolicy(area="code")

    class Meta:
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        ordering = ["code"]

    def __str__(self):
        return f"{self.name}（{self.code}）"

    @property
    def full_name(self) -> str:
        """City–county–township–village names, without the province."""
        codes = [self.code[:n] for n in (4, 6, 9, 12) if n <= len(self.code)]
        names = dict(Area.objects.filter(code__in=codes).values_list("code", "name"))
        return "".join(names.get(c, "") for c in codes)
