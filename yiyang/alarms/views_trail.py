"""An elder's location trail page: the last 24 hours (or a chosen day) on a map with playback, and safe zones.

Positions are read through ``for_user`` (another jurisdiction's elder is a 404) by
users who see alarms; each reading is audited, since where an elder went is personal
data. Zones are drawn, changed and deactivated through ``geofences``, whose errors
are shown on the forms.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from yiyang.core import audit
from yiyang.core.forms import BootstrapForm, run_service
from yiyang.core.models import AuditAction
from yiyang.people.services import access_elder_by_id

from . import geofences, trail
from .catalogue import DeviceKind
from .models import Device, Geofence, Telemetry
from .permissions import VIEW_ALARMS

WINDOW = dt.timedelta(hours=24)
LOAD_LIMIT = 50_000  # positions read for one page (a watch at the rate limit sends 86,400 a day)
# Where the map centres when an elder has no home position, no zone and no trail (the city's centre).
FALLBACK_CENTRE = (31.4675, 104.6796)


class ZoneForm(BootstrapForm):
    """A new zone. Only types are checked here; ``geofences.clean_zone`` says what is allowed."""

    name = forms.CharField(label=gettext_lazy("zone name"), required=False,
                           widget=forms.TextInput(attrs={"maxlength": geofences.NAME_LENGTH}))
    latitude = forms.FloatField(label=gettext_lazy("latitude"), required=False,
                                widget=forms.NumberInput(attrs={"step": "any"}))
    longitude = forms.FloatField(label=gettext_lazy("longitude"), required=False,
                                 widget=forms.NumberInput(attrs={"step": "any"}))
    radius_m = forms.IntegerField(label=gettext_lazy("radius (m)"), required=False, initial=500,
                                  widget=forms.NumberInput(attrs={"step": 10}))
    return_by = forms.TimeField(label=gettext_lazy("back inside by"), required=False,
                                widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                                help_text=gettext_lazy("Optional: an alarm if the elder is outside at this time."))


class ZoneChangeForm(BootstrapForm):
    radius_m = forms.IntegerField(label=gettext_lazy("radius (m)"), required=False,
                                  widget=forms.NumberInput(attrs={"step": 10}))
    return_by = forms.TimeField(label=gettext_lazy("back inside by"), required=False,
                                widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))


def _window(request) -> tuple[dt.datetime, dt.datetime, dt.date | None]:
    """The chosen local day, or the last 24 hours when none (or an unreadable one) is chosen."""
    try:
        day = dt.date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        now = timezone.now()
        return now - WINDOW, now, None
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time(0, 0), tzinfo=tz)
    return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0), tzinfo=tz), day


def _points(user, elder, start, end) -> tuple[list[trail.TrailPoint], bool]:
    rows = list(Telemetry.objects.for_user(user)
                .filter(device__elder=elder, type="location", received_at__gte=start, received_at__lt=end)
                .order_by("received_at", "id").values_list("data", "received_at", "device_id")[:LOAD_LIMIT + 1])
    points = [trail.TrailPoint(float(data["lat"]), float(data["lon"]), at, device_id)
              for data, at, device_id in rows[:LOAD_LIMIT]
              if isinstance(data, dict) and "lat" in data and "lon" in data]
    return points, len(rows) > LOAD_LIMIT


def _page(request, elder, *, zone_form=None, change_forms=None, status=200):
    user = request.user
    start, end, day = _window(request)
    points, truncated = _points(user, elder, start, end)
    shown = trail.thin(points)
    zones = list(Geofence.objects.for_user(user).filter(elder=elder, is_active=True).order_by("pk"))
    shapes = [trail.ZoneShape(z.pk, z.name, z.latitude, z.longitude, z.radius_m, z.return_by) for z in zones]
    home = (elder.latitude, elder.longitude) if elder.latitude is not None and elder.longitude is not None else None
    area = elder.area
    fallback = (area.latitude, area.longitude) if area.latitude is not None and area.longitude is not None \
        else FALLBACK_CENTRE
    tz = timezone.get_current_timezone()
    audit.record(AuditAction.REVEAL, actor=user, obj=elder, area_code=elder.area_id,
                 note=f"location trail {start.astimezone(tz):%Y-%m-%d %H:%M}–{end.astimezone(tz):%Y-%m-%d %H:%M}, "
                      f"{len(points)} positions")
    can_draw = geofences.may_draw(user)
    change_forms = change_forms or {}
    today = timezone.localdate()
    context = {
        "elder": elder, "day": day, "start": start, "end": end, "today": today,
        "previous_day": (day or today) - dt.timedelta(days=1),
        "next_day": (day + dt.timedelta(days=1)) if day and day < today else None,
        "map": trail.drawing(shown, shapes, home, fallback, tz),
        "count": len(points), "shown_count": len(shown), "truncated": truncated, "load_limit": LOAD_LIMIT,
        "watches": list(Device.objects.for_user(user).filter(elder=elder, kind=DeviceKind.GPS_WATCH)
                        .order_by("device_id")),
        "can_draw": can_draw,
        "zone_form": zone_form or (ZoneForm() if can_draw else None),
        "zone_rows": [{"zone": z, "form": change_forms.get(z.pk) or ZoneChangeForm(
            prefix=f"zone-{z.pk}", initial={"radius_m": z.radius_m, "return_by": z.return_by})} for z in zones],
        "min_radius": geofences.MIN_RADIUS_M, "max_radius": geofences.MAX_RADIUS_M,
    }
    return render(request, "alarms/trail.html", context, status=status)


def _elder(request, elder_id: int, *, drawing: bool = False):
    elder = access_elder_by_id(request.user, elder_id)  # 404 first: no hint that the elder exists elsewhere
    if drawing and not geofences.may_draw(request.user):
        raise PermissionDenied
    return elder


def _back(request, elder, anchor: str = "zones"):
    url = reverse("trail:trail", args=[elder.pk])
    day = request.POST.get("day") or ""
    if day:
        url += f"?day={day}"
    return redirect(f"{url}#{anchor}")


@login_required
@permission_required(VIEW_ALARMS, raise_exception=True)
def trail_page(request, elder_id: int):
    return _page(request, _elder(request, elder_id))


@login_required
@permission_required(VIEW_ALARMS, raise_exception=True)
@require_POST
def zone_create(request, elder_id: int):
    elder = _elder(request, elder_id, drawing=True)
    form = ZoneForm(request.POST)
    saved = form.is_valid() and run_service(
        form, lambda data: geofences.create_zone(acting_user=request.user, elder_id=elder.pk, **data))
    if saved:
        messages.success(request, _("The safe zone %(name)s is drawn.") % {"name": form.cleaned_data["name"].strip()})
        return _back(request, elder)
    return _page(request, elder, zone_form=form)


def _zone(request, elder, zone_id: int) -> Geofence:
    return get_object_or_404(Geofence.objects.for_user(request.user), pk=zone_id, elder=elder, is_active=True)


@login_required
@permission_required(VIEW_ALARMS, raise_exception=True)
@require_POST
def zone_change(request, elder_id: int, zone_id: int):
    elder = _elder(request, elder_id, drawing=True)
    zone = _zone(request, elder, zone_id)
    form = ZoneChangeForm(request.POST, prefix=f"zone-{zone.pk}")
    saved = form.is_valid() and run_service(
        form, lambda data: geofences.change_zone(zone.pk, acting_user=request.user, **data))
    if saved:
        messages.success(request, _("The safe zone %(name)s is changed.") % {"name": zone.name})
        return _back(request, elder)
    return _page(request, elder, change_forms={zone.pk: form})


@login_required
@permission_required(VIEW_ALARMS, raise_exception=True)
@require_POST
def zone_deactivate(request, elder_id: int, zone_id: int):
    elder = _elder(request, elder_id, drawing=True)
    zone = _zone(request, elder, zone_id)
    geofences.deactivate_zone(zone.pk, acting_user=request.user)
    messages.success(request, _("The safe zone %(name)s no longer counts.") % {"name": zone.name})
    return _back(request, elder)

