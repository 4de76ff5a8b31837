"""Drawing an elder's safe zones (电子围栏): create, change, deactivate; one rule set for the page and the API.

A zone is a circle (50 m to 20 km) around a point inside China, named, with an
optional time of day by which the elder should be back inside (``late_return``).
Zones are never deleted: a deactivated one stays on record and stops counting.
A new or changed return time is first judged at its next occurrence, so drawing a
zone at 21:00 with a return time of 20:00 raises nothing until tomorrow evening.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.core import audit
from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.core.models import AuditAction
from yiyang.people.models import ElderStatus
from yiyang.people.services import access_elder_by_id

from . import permissions, rules
from .models import Geofence

MIN_RADIUS_M, MAX_RADIUS_M = 50, 20_000
# A box around China (mainland, Hainan and the South China Sea islands): a click far off is a mistake.
LATITUDES, LONGITUDES = (3.8, 53.6), (73.4, 135.1)
NAME_LENGTH = 64
# Who may draw: device managers today; the role table may grant the model's own change permission too.
CHANGE_ZONES = "alarms.change_geofence"
FIELDS = ("name", "latitude", "longitude", "radius_m", "return_by", "is_active")


def _state(zone: Geofence) -> dict:
    """The zone as the audit log keeps it (times as HH:MM)."""
    data = audit.snapshot(zone, [f for f in FIELDS if f != "return_by"])
    data["return_by"] = zone.return_by.strftime("%H:%M") if zone.return_by else None
    return data


def may_draw(user) -> bool:
    return permissions.has(user, permissions.CHANGE_DEVICE) or permissions.has(user, CHANGE_ZONES)


def _require(user) -> None:
    if not may_draw(user):
        raise PermissionDenied(_("You may not draw safe zones."))


def _number(value, cast):
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    return cast(value)


def _time(value) -> dt.time | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    text = str(value).strip()
    for pattern in ("%H:%M", "%H:%M:%S"):
        try:
            return dt.datetime.strptime(text, pattern).time().replace(second=0)
        except ValueError:
            continue
    raise ValueError(text)


def clean_zone(data: dict) -> dict:
    """Checked values of the fields given in ``data`` (all of them for a new zone); errors per field."""
    errors, cleaned = {}, {}
    if "name" in data:
        name = (data["name"] or "").strip()
        if not name:
            errors["name"] = [_("Give the zone a name.")]
        elif len(name) > NAME_LENGTH:
            errors["name"] = [_("A zone name has at most %(count)d characters.") % {"count": NAME_LENGTH}]
        cleaned["name"] = name
    for field, (low, high) in (("latitude", LATITUDES), ("longitude", LONGITUDES)):
        if field not in data:
            continue
        try:
            value = _number(data[field], float)
        except (TypeError, ValueError):
            value = float("nan")
        if value is None:
            errors[field] = [_("Click the map to place the centre of the zone.")]
        elif not low <= value <= high:  # NaN fails this too
            errors[field] = [_("The centre must lie in China.")]
        else:
            cleaned[field] = round(value, 6)
    if "radius_m" in data:
        try:
            radius = _number(data["radius_m"], float)
        except (TypeError, ValueError):
            radius = None
        if radius is None or not MIN_RADIUS_M <= radius <= MAX_RADIUS_M:
            errors["radius_m"] = [_("The radius is between 50 m and 20 km.")]
        else:
            cleaned["radius_m"] = round(radius)
    if "return_by" in data:
        try:
            cleaned["return_by"] = _time(data["return_by"])
        except (TypeError, ValueError):
            errors["return_by"] = [_("Enter the return time as hours and minutes, e.g. 20:00.")]
    if errors:
        raise ValidationError(errors)
    return cleaned


def _first_check(return_by: dt.time | None, now: dt.datetime) -> dt.date | None:
    """``return_checked_on`` for a return time just set: today counts as judged if its time has passed."""
    if return_by is None:
        return None
    return rules.return_due(return_by, None, timezone.localtime(now))


@transaction.atomic
def create_zone(*, acting_user, elder_id, name, latitude, longitude, radius_m, return_by=None,
                now: dt.datetime | None = None) -> Geofence:
    _require(acting_user)
    elder = access_elder_by_id(acting_user, elder_id)
    cleaned = clean_zone({"name": name, "latitude": latitude, "longitude": longitude, "radius_m": radius_m,
                          "return_by": return_by})
    if elder.status != ElderStatus.ALIVE:
        raise ValidationError({"elder": [_("This elder is not registered as living here.")]})
    zone = Geofence.objects.create(elder=elder, is_active=True, **cleaned,
                                   return_checked_on=_first_check(cleaned["return_by"], now or timezone.now()))
    audit.record(AuditAction.CREATE, actor=acting_user, obj=zone, area_code=elder.area_id,
                 after=_state(zone), note=f"elder {elder.pk}")
    return zone


def _zone_for(acting_user, zone_id) -> Geofence:
    """The active zone if the user may see it (another jurisdiction's is a 404, like the elder)."""
    zone = (Geofence.objects.for_user(acting_user).select_for_update().select_related("elder")
            .filter(pk=zone_id).first())
    if zone is None:
        raise Http404(_("No such safe zone in your jurisdiction."))
    return zone


@transaction.atomic
def change_zone(zone_id, *, acting_user, now: dt.datetime | None = None, **changes) -> Geofence:
    """Change any of name, centre (latitude, longitude), radius_m, return_by of an active zone."""
    _require(acting_user)
    unknown = set(changes) - {"name", "latitude", "longitude", "radius_m", "return_by"}
    if unknown:
        raise ValidationError({sorted(unknown)[0]: [_("This field cannot be changed.")]})
    zone = _zone_for(acting_user, zone_id)
    if not zone.is_active:
        raise ValidationError({"is_active": [_("This zone was deactivated; draw a new one instead.")]})
    cleaned = clean_zone(changes)
    before = _state(zone)
    for field, value in cleaned.items():
        setattr(zone, field, value)
    if "return_by" in cleaned and _state(zone)["return_by"] != before["return_by"]:
        zone.return_checked_on = _first_check(zone.return_by, now or timezone.now())
    zone.save()
    audit.record(AuditAction.UPDATE, actor=acting_user, obj=zone, area_code=zone.elder.area_id, before=before,
                 after=_state(zone), note=f"elder {zone.elder_id}")
    return zone


@transaction.atomic
def deactivate_zone(zone_id, *, acting_user) -> Geofence:
    """The zone stops counting (for leaving and for the return time) but stays on record."""
    _require(acting_user)
    zone = _zone_for(acting_user, zone_id)
    if not zone.is_active:
        return zone
    before = _state(zone)
    zone.is_active = False
    zone.save(update_fields=["is_active"])
    audit.record(AuditAction.UPDATE, actor=acting_user, obj=zone, area_code=zone.elder.area_id, before=before,
                 after=_state(zone), note=f"elder {zone.elder_id}: deactivated")
    return zone
