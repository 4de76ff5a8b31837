"""Writing what the listener accepted: one short transaction per small batch of messages.

The listener acknowledges messages to the broker only after the transaction that
stored them committed, so a crash in between means redelivery, and the unique
(device, msg_id) constraints turn the redelivered copy into "duplicate". A batch
is what arrived together (at most what the broker has in flight, 20 by default):
one commit for all of them keeps up with hundreds of alarms a second where a commit
each would not (bench/alarms.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Coalesce

from . import escalation, rules
from .catalogue import DEVICE_ALARM_TYPES, PRIORITY, AlarmType
from .models import Alarm, AlarmSource, Device, Geofence, Telemetry, VitalThreshold
from .validation import Message

STORED, DUPLICATE = "stored", "duplicate"
# A watched device's last movement is written at most this often (a mattress out of bed reports every minute).
ACTIVITY_RESOLUTION = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class DeviceInfo:
    """What the listener keeps in memory about a device (the clear secret included)."""

    device_id: str
    secret: str
    is_active: bool
    area_code: str
    elder_id: int | None
    organization_id: int | None
    heartbeat_seconds: int | None
    inactivity_hours: int | None = None  # watched for stillness (``no_movement``) when set


@dataclass(frozen=True)
class Accepted:
    """An authenticated, valid message waiting to be stored."""

    info: DeviceInfo
    msg: Message
    received_at: dt.datetime
    skewed: bool


def load_device(device_id: str) -> DeviceInfo | None:
    row = Device.objects.filter(pk=device_id).first()
    if row is None:
        return None
    return DeviceInfo(row.device_id, row.secret, row.is_active, row.area_id, row.elder_id, row.organization_id,
                      row.heartbeat_seconds, row.inactivity_hours)


def battery_of(msg: Message) -> int | None:
    battery = msg.fields.get("battery")
    if isinstance(battery, int | float) and not isinstance(battery, bool) and 0 <= battery <= 100:
        return int(battery)
    return None


def touch(info: DeviceInfo, received_at: dt.datetime, battery: int | None, missed_heartbeats: int) -> None:
    """The device is alive: last seen, from when it counts as offline, its battery."""
    update = {"last_seen_at": received_at}
    if info.heartbeat_seconds:
        update["offline_after"] = received_at + dt.timedelta(seconds=info.heartbeat_seconds * missed_heartbeats)
    if battery is not None:
        update["battery"] = battery
    if info.inactivity_hours:
        # A watched device that has not moved yet: its first message starts the clock (docs/devices.md).
        update["last_activity_at"] = Coalesce(F("last_activity_at"), Value(received_at))
        update["still_after"] = Case(When(last_activity_at__isnull=True,
                                          then=Value(rules.still_deadline(received_at, info.inactivity_hours))),
                                     default=F("still_after"))
    Device.objects.filter(pk=info.device_id).update(**update)


def _movement_sets(moves: dict[str, tuple[dt.datetime, int]]) -> dict:
    """SET clauses for devices that moved ({device: (when, inactivity hours)}): one UPDATE for all of them.

    The last movement only ever moves forward, and the stillness deadline with it
    (a deadline cleared by its alarm is set again: a new stillness begins).
    """
    last, still = [], []
    for device_id, (at, hours) in moves.items():
        newer = Q(pk=device_id) & (Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=at))
        last.append(When(newer, then=Value(at)))
        still.append(When(newer, then=Value(rules.still_deadline(at, hours))))
    return {"last_activity_at": Case(*last, default=F("last_activity_at")),
            "still_after": Case(*still, default=F("still_after"))}


def _alarm(info: DeviceInfo, *, msg_id: str, type: str, device_time, received_at, skewed: bool, payload: dict) -> Alarm:
    source = AlarmSource.DEVICE if type in DEVICE_ALARM_TYPES else AlarmSource.PLATFORM
    return Alarm(device_id=info.device_id, msg_id=msg_id, type=type, priority=PRIORITY.get(type, 2), source=source,
                 device_time=device_time, received_at=received_at, clock_skew_flag=skewed, payload=payload,
                 elder_id=info.elder_id, area_code=info.area_code, organization_id=info.organization_id)


def store_alarms(items: list[Accepted]) -> list[tuple[str, int | None]]:
    """Device alarms, in the caller's transaction: new ones inserted together, known msg_ids "duplicate".

    Raises IntegrityError only if another writer stored one of them meanwhile (the caller retries singly).
    """
    if not items:
        return []
    device_ids = {item.info.device_id for item in items}
    msg_ids = {item.msg.msg_id for item in items}
    known = {(d, m): pk for d, m, pk in Alarm.objects.filter(device_id__in=device_ids, msg_id__in=msg_ids)
             .values_list("device_id", "msg_id", "pk")}
    results: list[tuple[str, int | None] | None] = [None] * len(items)
    fresh: dict[tuple[str, str], int] = {}  # key -> index of its first copy in this batch
    for i, item in enumerate(items):
        key = (item.info.device_id, item.msg.msg_id)
        if key in known:
            results[i] = (DUPLICATE, known[key])
        elif key not in fresh:
            fresh[key] = i
    rows = []
    for i in fresh.values():
        item = items[i]
        payload = dict(item.msg.body)
        if item.msg.problems:
            payload["_problems"] = list(item.msg.problems)
        rows.append(_alarm(item.info, msg_id=item.msg.msg_id, type=item.msg.type, device_time=item.msg.device_time,
                           received_at=item.received_at, skewed=item.skewed, payload=payload))
    created = Alarm.objects.bulk_create(rows)
    escalation.plan(created)
    moves: dict[str, tuple[dt.datetime, int]] = {}
    for i in fresh.values():  # a button pressed, a fall, out of bed: someone moved
        item = items[i]
        hours, device_id = item.info.inactivity_hours, item.info.device_id
        if hours and rules.activity_of(item.msg.type, item.msg.fields).moved:
            if device_id not in moves or moves[device_id][0] < item.received_at:
                moves[device_id] = (item.received_at, hours)
    if moves:
        Device.objects.filter(pk__in=list(moves)).update(**_movement_sets(moves))
    pks = {(a.device_id, a.msg_id): a.pk for a in created}
    for i, item in enumerate(items):
        if results[i] is None:
            key = (item.info.device_id, item.msg.msg_id)
            results[i] = (STORED if fresh[key] == i else DUPLICATE, pks.get(key))
    return results


def _own_limits(elder_id: int | None) -> dict:
    if elder_id is None:
        return {}
    return {m: (low, high) for m, low, high in
            VitalThreshold.objects.filter(elder_id=elder_id).values_list("metric", "min_value", "max_value")}


def _zones(elder_id: int | None) -> list[rules.Zone]:
    if elder_id is None:
        return []
    return [rules.Zone(*row) for row in Geofence.objects.filter(elder_id=elder_id, is_active=True)
            .values_list("name", "latitude", "longitude", "radius_m")]


def store_reading(item: Accepted) -> tuple[str, int | None]:
    """One reading, in the caller's transaction: heartbeats store nothing; vitals and locations may raise an alarm.

    Returns the status and the id of the alarm the reading raised, if any.
    """
    info, msg = item.info, item.msg
    if msg.type == "heartbeat":
        return STORED, None
    try:
        with transaction.atomic():  # a savepoint: a duplicate must not undo the rest of the batch
            Telemetry.objects.create(device_id=info.device_id, msg_id=msg.msg_id, type=msg.type,
                                     device_time=msg.device_time, received_at=item.received_at, data=msg.fields)
    except IntegrityError:
        return DUPLICATE, None
    hours = info.inactivity_hours
    if msg.type == "door":
        if hours:  # a watched door sensor: every event is movement, one UPDATE, nothing read
            Device.objects.filter(pk=info.device_id).update(**_movement_sets({info.device_id: (item.received_at, hours)}))
        return STORED, None
    if msg.type not in ("vitals", "location"):
        return STORED, None
    state, last_activity = Device.objects.filter(pk=info.device_id).values_list(
        "alert_state", "last_activity_at").first() or ({}, None)
    state = dict(state or {})
    before = dict(state)
    if msg.type == "vitals":
        verdict = rules.judge_vitals(msg.fields, rules.limits_for(_own_limits(info.elder_id)), state.get("vitals", []))
        state["vitals"] = verdict.state
        kind, raised = AlarmType.VITALS, verdict.alarm
    else:
        zone = rules.judge_position(msg.fields["lat"], msg.fields["lon"], _zones(info.elder_id),
                                    bool(state.get("outside")))
        if zone.outside is not None:
            state["outside"] = zone.outside
        kind, raised = AlarmType.GEOFENCE, zone.alarm
    update = {}
    if hours:
        anchor = tuple(state["anchor"]) if state.get("anchor") else None
        activity = rules.activity_of(msg.type, msg.fields, anchor)
        if activity.anchor != anchor:
            state["anchor"] = list(activity.anchor)
        if activity.moved and (last_activity is None or item.received_at - last_activity >= ACTIVITY_RESOLUTION):
            update = _movement_sets({info.device_id: (item.received_at, hours)})
    if state != before:
        update["alert_state"] = state
    if update:  # what this reading changed on the device, in one UPDATE
        Device.objects.filter(pk=info.device_id).update(**update)
    if raised is None:
        return STORED, None
    alarm = _alarm(info, msg_id=f"@{kind}:{msg.msg_id}", type=kind, device_time=msg.device_time,
                   received_at=item.received_at, skewed=item.skewed, payload={**raised, "reading": msg.fields})
    alarm.save(force_insert=True)
    escalation.plan([alarm])
    return STORED, alarm.pk
