"""A minimal organisation: enough for organisation-scoped accounts; later domains extend it."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from yiyang.core.scoping import ScopedManager, ScopePolicy


class OrganizationKind(models.TextChoices):
    INSTITUTION = "institution", _("care institution")
    PROVIDER = "provider", _("home-care service provider")
    COMMUNITY_CENTRE = "community_centre", _("community day-care centre")
    MEAL_POINT = "meal_point", _("meal assistance point")
    ASSESSMENT_AGENCY = "assessment_agency", _("assessment agency")
    VOLUNTEER_TEAM = "volunteer_team", _("volunteer team")


class Organization(models.Model):
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("type"), max_length=24, choices=OrganizationKind.choices)
    area = models.ForeignKey("areas.Area", verbose_name=_("area"), to_field="code", db_column="area_code", on_delete=models.PROTECT, related_name="+")
    address = models.CharField(_("address"), max_length=200, blank=True)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    phone = models.CharField(_("public phone"), max_length=32, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = ScopedManager()
    scope = ScopePolicy(area="area", organization="pk")

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["area_id", "name"]
        constraints = [models.UniqueConstraint(fields=["area", "name"], name="organization_unique_name_in_area")]

    def __str__(self):
        return self.name
