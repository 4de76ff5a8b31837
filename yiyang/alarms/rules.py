"""Pure rules turning readings into alarms, and the alarm's status steps.

Vitals and safe zones raise an alarm when a reading *crosses* into danger
(a metric newly out of range, the first position outside every zone), not on
every reading while it stays there: a mattress reporting each minute must not
bury the console. The device remembers what it last crossed in ``alert_state``.
"""

from __future__ import annotations

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
