"""Pure rules turning readings into alarms, and the alarm's status steps.

Vitals and safe zones raise an alarm when a reading *crosses* into danger
(a metric newly out of range, the first position outside every zone), not on
every reading while it stays there: a mattress reporting each minute must not
bury the console. The device remembers what it last crossed in ``alert_state``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .catalogue import DEFAULT_LIMITS
from .models import AlarmStatus

EARTH_RADIUS_M = 6_371_008.8

# status -> statuses it may move to. The console adds its steps (dispatched, on scene,
# escalated ...) here and in AlarmStatus; every open status may still be closed.
TRANSITIONS: dict[str, set[str]] = {
    AlarmStatus.NEW: {AlarmStatus.ACKNOWLEDGED, AlarmStatus.CLOSED},
    AlarmStatus.ACKNOWLEDGED: {AlarmStatus.CLOSED},
    AlarmStatus.CLOSED: set(),
}


def limits_for(own: Mapping[str, tuple[float | None, float | None]]) -> dict[str, tuple[float | None, float | None]]:
    """The elder's own limits where set, the defaults for the other metrics."""
    return {**DEFAULT_LIMITS, **own}


def breaches(reading: Mapping, limits: Mapping[str, tuple[float | None, float | None]]) -> dict[str, dict]:
    """Metrics of ``reading`` outside their limits: {metric: {"value", "min", "max"}}."""
    out = {}
    for metric, (low, high) in limits.items():
        value = reading.get(metric)
        if value is None or isinstance(value, bool):
            continue
        if (low is not None and value < low) or (high is not None and value > high):
            out[metric] = {"value": value, "min": low, "max": high}
    return out


@dataclass(frozen=True)
class VitalsVerdict:
    alarm: dict | None  # what to put in the alarm's payload, or None
    state: list[str]  # the metrics out of range now (remembered for the next reading)


def judge_vitals(reading: Mapping, limits, previously_out: Iterable[str]) -> VitalsVerdict:
    found = breaches(reading, limits)
    new = sorted(set(found) - set(previously_out))
    alarm = {"breaches": found, "new": new} if new else None
    return VitalsVerdict(alarm=alarm, state=sorted(found))


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Zone:
    name: str
    latitude: float
    longitude: float
    radius_m: float


@dataclass(frozen=True)
class ZoneVerdict:
    alarm: dict | None
    outside: bool | None  # None: the elder has no zone, nothing to remember


def judge_position(lat: float, lon: float, zones: Iterable[Zone], was_outside: bool) -> ZoneVerdict:
    """Outside every zone now and not before → alarm, naming the nearest zone and how far it is."""
    zones = list(zones)
    if not zones:
        return ZoneVerdict(alarm=None, outside=None)
    distances = [(distance_m(lat, lon, z.latitude, z.longitude) - z.radius_m, z) for z in zones]
    beyond, nearest = min(distances, key=lambda d: d[0])
    outside = beyond > 0
    alarm = None
    if outside and not was_outside:
        alarm = {"lat": lat, "lon": lon, "nearest_zone": nearest.name, "metres_outside": round(beyond)}
    return ZoneVerdict(alarm=alarm, outside=outside)


# --- movement and stillness (``no_movement``) ---------------------------------------------------

MOVE_METRES = 50.0  # a position this far from where the watch last moved counts as moving (GPS jitter is less)
# Device alarms that mean someone moved: pressed a button, fell, got out of bed.
MOVEMENT_ALARMS = frozenset({"sos", "fall", "out_of_bed"})


@dataclass(frozen=True)
class Activity:
    moved: bool
    anchor: tuple[float, float] | None  # where a watch last moved: later positions are measured from it


def activity_of(kind: str, fields: Mapping, anchor: tuple[float, float] | None = None) -> Activity:
    """Whether one message shows the elder moving (docs/devices.md, "Movement").

    A door opening or closing, a button pressed, a fall, a mattress reporting its
    sleeper out of bed (``in_bed: false``), or a position ``MOVE_METRES`` from the
    last place the watch moved (the first position ever also counts: it starts the clock).
    Vitals from an occupied bed, heartbeats, smoke and gas say nothing about movement.
    """
    if kind == "door" or kind in MOVEMENT_ALARMS:
        return Activity(True, anchor)
    if kind == "vitals":
        return Activity(fields.get("in_bed") is False, anchor)
    if kind == "location":
        here = (float(fields["lat"]), float(fields["lon"]))
        if anchor is None or distance_m(anchor[0], anchor[1], *here) >= MOVE_METRES:
            return Activity(True, here)
    return Activity(False, anchor)


def still_deadline(last_activity_at: dt.datetime, inactivity_hours: int | None) -> dt.datetime | None:
    """When stillness becomes an alarm; None for a device not watched for it."""
    if inactivity_hours is None or inactivity_hours <= 0:
        return None
    return last_activity_at + dt.timedelta(hours=inactivity_hours)


def is_still(still_after: dt.datetime | None, now: dt.datetime) -> bool:
    """Past the deadline (a cleared deadline, once raised, is never still again until the next movement)."""
    return still_after is not None and now > still_after


# --- back inside the safe zone by a set time (``late_return``) ----------------------------------

RETURN_LOOKBACK = dt.timedelta(hours=12)  # a return time just after midnight still sees the evening's positions


def return_due(return_by: dt.time, checked_on: dt.date | None, now_local: dt.datetime) -> dt.date | None:
    """The day whose return time has come and not been judged yet, else None (one judgement per day).

    ``now_local`` is wall-clock time in the platform's time zone; a zone's return time
    is judged on the day it falls, from that moment until midnight.
    """
    today = now_local.date()
    if checked_on is not None and checked_on >= today:
        return None
    return today if now_local.time() >= return_by else None


def return_moment(day: dt.date, return_by: dt.time, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, return_by, tzinfo=tz)


def position_window_start(day: dt.date, return_by: dt.time, tz: dt.tzinfo) -> dt.datetime:
    """Positions from this moment on count: the day's midnight, or 12 hours before the return time if earlier."""
    midnight = dt.datetime.combine(day, dt.time(0, 0), tzinfo=tz)
    return min(midnight, return_moment(day, return_by, tz) - RETURN_LOOKBACK)


def judge_return(position: tuple[float, float] | None, zones: Iterable[Zone]) -> dict | None:
    """At the return time: the payload of a ``late_return`` alarm, or None when the elder is inside a zone.

    No position at all is an alarm too: a watch that says nothing cannot say the elder is home.
    """
    if position is None:
        return {"no_position": True}
    return judge_position(position[0], position[1], zones, was_outside=False).alarm
