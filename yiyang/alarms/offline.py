"""Silence as an alarm: a watched device that missed its heartbeats raises ``device_offline``, once per outage.

Each message from a device with a heartbeat interval sets ``offline_after`` to
last seen + missed heartbeats × interval. Past that time the device is offline;
raising the alarm clears ``offline_after``, so the outage is not raised again
until the device has spoken (and gone silent) again. The alarm's msg_id is made
from the last-seen time, so even two listeners racing raise it once.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from . import escalation
from .catalogue import PRIORITY, AlarmType
from .models import Alarm, AlarmSource, Device


def find_offline_devices(now: dt.datetime) -> QuerySet[Device]:
    """Active devices past their ``offline_after`` whose outage has not raised its alarm yet."""
    return Device.objects.filter(is_active=True, offline_after__isnull=False, offline_after__lt=now,
                                 last_seen_at__isnull=False)


def raise_offline_alarms(now: dt.datetime) -> list[Alarm]:
    raised = []
    for device in find_offline_devices(now).order_by("offline_after")[:1000]:
        msg_id = f"@offline:{device.last_seen_at.astimezone(dt.UTC).isoformat()}"
        try:
            with transaction.atomic():
                # Only if nobody spoke for the device meanwhile (the listener is the only other writer).
                claimed = Device.objects.filter(pk=device.pk, offline_after=device.offline_after).update(offline_after=None)
                if not claimed or Alarm.objects.filter(device=device, msg_id=msg_id).exists():
                    continue
                alarm = Alarm.objects.create(
                    device=device, msg_id=msg_id, type=AlarmType.OFFLINE, priority=PRIORITY[AlarmType.OFFLINE],
                    source=AlarmSource.PLATFORM,
                    device_time=None, received_at=now, clock_skew_flag=False,
                    payload={"last_seen_at": device.last_seen_at.isoformat(), "heartbeat_seconds": device.heartbeat_seconds,
                             "battery": device.battery},
                    elder_id=device.elder_id, area_code=device.area_id, organization_id=device.organization_id)
                escalation.plan([alarm])
                raised.append(alarm)
        except IntegrityError:
            continue
    return raised
