"""Alarms the platform raises from what did *not* happen: no movement for hours, not back home by a set time.

Both run from the listener's periodic job, like ``offline.py``, and both are raised
once: stillness clears the device's ``still_after`` deadline when it raises (the next
movement sets a new one), and a return time stamps its zone's ``return_checked_on``
with the day it judged. The msg_ids are made from the last movement and from the
zone and day, so two listeners racing still raise each alarm once.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from . import escalation, rules
from .catalogue import PRIORITY, AlarmType, DeviceKind
from .models import Alarm, AlarmSource, Device, Geofence, Telemetry

BATCH = 1000


def _local_tz() -> dt.tzinfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _platform_alarm(device: Device, *, msg_id: str, type: str, now: dt.datetime, payload: dict,
                    elder_id: int | None = None) -> Alarm:
    alarm = Alarm.objects.create(
        device=device, msg_id=msg_id, type=type, priority=PRIORITY[type], source=AlarmSource.PLATFORM,
        device_time=None, received_at=now, clock_skew_flag=False, payload=payload,
        elder_id=elder_id if elder_id is not None else device.elder_id, area_code=device.area_id,
        organization_id=device.organization_id)
    escalation.plan([alarm])
    return alarm


# --- no movement --------------------------------------------------------------------------------


def raise_still_alarms(now: dt.datetime) -> list[Alarm]:
    """A ``no_movement`` alarm for each watched device past its ``still_after``, once per stillness."""
    raised = []
    due = (Device.objects.filter(is_active=True, inactivity_hours__isnull=False, still_after__isnull=False,
                                 still_after__lt=now, last_activity_at__isnull=False)
           .order_by("still_after")[:BATCH])
    for device in due:
        msg_id = f"@still:{device.last_activity_at.astimezone(dt.UTC).isoformat()}"
        try:
            with transaction.atomic():
                # Only if the device did not move meanwhile (the listener writes a new deadline when it does).
                claimed = Device.objects.filter(pk=device.pk, still_after=device.still_after).update(still_after=None)
                if not claimed or Alarm.objects.filter(device=device, msg_id=msg_id).exists():
                    continue
                hours_still = (now - device.last_activity_at).total_seconds() / 3600
                raised.append(_platform_alarm(device, msg_id=msg_id, type=AlarmType.NO_MOVEMENT, now=now, payload={
                    "last_activity_at": device.last_activity_at.isoformat(),
                    "inactivity_hours": device.inactivity_hours, "hours_still": round(hours_still, 1),
                    "last_seen_at": device.last_seen_at.isoformat() if device.last_seen_at else None,
                    "device_kind": device.kind}))
        except IntegrityError:
            continue
    return raised


# --- not back by the set time -------------------------------------------------------------------


def _latest_position(device_ids: list[str], since: dt.datetime) -> Telemetry | None:
    if not device_ids:
        return None
    return (Telemetry.objects.filter(device_id__in=device_ids, type="location", received_at__gte=since)
            .order_by("-received_at", "-id").first())


def raise_late_returns(now: dt.datetime) -> list[Alarm]:
    """A ``late_return`` alarm for each zone whose return time has come today with the elder outside.

    Judged once per zone and day: the elder's latest position from their GPS watches
    (since the day began, or 12 hours before the return time if earlier) must lie in one
    of their active zones; none at all is an alarm too. An elder without an active GPS
    watch is not judged: nothing could say where they are.
    """
    tz = _local_tz()
    now_local = now.astimezone(tz)
    today = now_local.date()
    candidates = (Geofence.objects.filter(is_active=True, return_by__isnull=False, return_by__lte=now_local.time(),
                                          elder__status="alive")
                  .filter(Q(return_checked_on__isnull=True) | Q(return_checked_on__lt=today))
                  .order_by("return_by", "pk")[:BATCH])
    raised = []
    for zone in candidates:
        day = rules.return_due(zone.return_by, zone.return_checked_on, now_local)
        if day is None:
            continue
        try:
            with transaction.atomic():
                claimed = (Geofence.objects.filter(pk=zone.pk, is_active=True)
                           .filter(Q(return_checked_on__isnull=True) | Q(return_checked_on__lt=day))
                           .update(return_checked_on=day))
                if not claimed:
                    continue
                alarm = _judge_return(zone, day, now, tz)
                if alarm is not None:
                    raised.append(alarm)
        except IntegrityError:
            continue
    return raised


def _judge_return(zone: Geofence, day: dt.date, now: dt.datetime, tz: dt.tzinfo) -> Alarm | None:
    watches = list(Device.objects.filter(elder_id=zone.elder_id, kind=DeviceKind.GPS_WATCH, is_active=True)
                   .order_by("device_id"))
    if not watches:
        return None
    since = rules.position_window_start(day, zone.return_by, tz)
    position = _latest_position([w.pk for w in watches], since)
    zones = [rules.Zone(*row) for row in Geofence.objects.filter(elder_id=zone.elder_id, is_active=True)
             .values_list("name", "latitude", "longitude", "radius_m")]
    point = (position.data["lat"], position.data["lon"]) if position is not None else None
    verdict = rules.judge_return(point, zones)
    if verdict is None:
        return None
    device = next((w for w in watches if position is not None and w.pk == position.device_id), watches[0])
    msg_id = f"@late:{zone.pk}:{day.isoformat()}"
    if Alarm.objects.filter(device=device, msg_id=msg_id).exists():
        return None
    payload = {**verdict, "zone": zone.name, "zone_id": zone.pk, "return_by": zone.return_by.strftime("%H:%M"),
               "day": day.isoformat(), "positions_since": since.isoformat()}
    if position is not None:
        payload["position_at"] = position.received_at.isoformat()
    return _platform_alarm(device, msg_id=msg_id, type=AlarmType.LATE_RETURN, now=now, payload=payload,
                           elder_id=zone.elder_id)
