"""An elder's location trail as numbers the trail page draws: thinned points, the map, the zones.

No database here. A watch reporting every 10 s sends 8,640 positions a day; the
browser gets at most ``MAX_POINTS`` of them: points closer than a few metres to the
last one kept are dropped (GPS jitter while the elder sits at home), except the last
point of a long stay, so playback still waits where the elder waited. The map is
the day page's projection (no map tiles: the platform runs without internet).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from yiyang.homecare.daycharts import Projection, polyline

from .rules import EARTH_RADIUS_M, distance_m

MAX_POINTS = 1500
MIN_SPACING_M = 10.0
DWELL = dt.timedelta(minutes=5)  # a stay at least this long keeps its last point
METRES_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180  # of latitude
MIN_SPAN_M = 1000.0  # the map shows at least a kilometre each way, so a zone can be drawn on an empty trail
WIDTH, HEIGHT = 640, 480


@dataclass(frozen=True)
class TrailPoint:
    latitude: float
    longitude: float
    at: dt.datetime
    device_id: str = ""


def _spaced(points: Sequence[TrailPoint], spacing_m: float) -> list[TrailPoint]:
    kept = [points[0]]
    previous = points[0]
    for point in points[1:-1]:
        last = kept[-1]
        if distance_m(last.latitude, last.longitude, point.latitude, point.longitude) >= spacing_m:
            if previous is not last and previous.at - last.at >= DWELL:
                kept.append(previous)  # the end of a long stay: playback waits there
            kept.append(point)
        previous = point
    kept.append(points[-1])
    return kept


def thin(points: Sequence[TrailPoint], max_points: int = MAX_POINTS,
         spacing_m: float = MIN_SPACING_M) -> list[TrailPoint]:
    """At most ``max_points`` points in time order, always the first and the last."""
    if len(points) <= 2:
        return list(points)
    max_points = max(max_points, 2)
    kept = _spaced(points, spacing_m)
    while len(kept) > max_points and spacing_m < 100_000:
        spacing_m *= 2
        kept = _spaced(points, spacing_m)
    if len(kept) > max_points:  # a long day of stays: even steps through what is left
        step = (len(kept) - 1) / (max_points - 1)
        kept = [kept[round(i * step)] for i in range(max_points)]
    return kept


def circle_box(latitude: float, longitude: float, radius_m: float) -> list[tuple[float, float]]:
    """Two corners of the box around a circle, as (latitude, longitude)."""
    dlat = radius_m / METRES_PER_DEGREE
    dlon = radius_m / (METRES_PER_DEGREE * max(math.cos(math.radians(latitude)), 0.01))
    return [(latitude - dlat, longitude - dlon), (latitude + dlat, longitude + dlon)]


@dataclass(frozen=True)
class ZoneShape:
    id: int
    name: str
    latitude: float
    longitude: float
    radius_m: float
    return_by: dt.time | None = None


def fit(points: Sequence[TrailPoint], zones: Sequence[ZoneShape], home: tuple[float, float] | None,
        fallback: tuple[float, float]) -> Projection:
    """A projection showing the trail, every zone whole, the home, and at least ``MIN_SPAN_M`` around them."""
    spots = [(p.latitude, p.longitude) for p in points]
    for zone in zones:
        spots += circle_box(zone.latitude, zone.longitude, zone.radius_m)
    if home is not None:
        spots.append(home)
    if not spots:
        spots = [fallback]
    lat = sum(s[0] for s in spots) / len(spots)
    lon = sum(s[1] for s in spots) / len(spots)
    spots += circle_box(lat, lon, MIN_SPAN_M)
    return Projection.fit(spots, WIDTH, HEIGHT, pad=16)


def drawing(points: Sequence[TrailPoint], zones: Sequence[ZoneShape], home: tuple[float, float] | None,
            fallback: tuple[float, float], tz: dt.tzinfo) -> dict:
    """Everything the page draws and the script plays back, in SVG units."""
    project = fit(points, zones, home, fallback)
    xy = [project(p.latitude, p.longitude) for p in points]
    playback = []
    for p, (x, y) in zip(points, xy, strict=True):
        local = p.at.astimezone(tz)
        playback.append({"t": round(p.at.timestamp() * 1000), "x": x, "y": y,
                         "lat": round(p.latitude, 6), "lon": round(p.longitude, 6),
                         "offset": round(local.utcoffset().total_seconds() / 60),
                         "label": local.strftime("%m-%d %H:%M:%S")})
    shapes = []
    for zone in zones:
        x, y = project(zone.latitude, zone.longitude)
        shapes.append({"zone": zone, "x": x, "y": y, "r": round(zone.radius_m / METRES_PER_DEGREE * project.scale, 1)})
    return {
        "width": WIDTH, "height": HEIGHT,
        "polyline": polyline(xy),
        "start": xy[0] if xy else None, "end": xy[-1] if xy else None,
        "zones": shapes,
        "home": project(*home) if home is not None else None,
        "playback": playback,
        # What trail.js needs to turn a click back into a position, and metres into pixels.
        "projection": {"min_lon": project.min_lon, "max_lat": project.max_lat, "scale": project.scale,
                       "shift_x": project.shift_x, "shift_y": project.shift_y, "cos_lat": project.cos_lat,
                       "metres_per_degree": METRES_PER_DEGREE},
    }
