"""Layout of the day page's two pictures, as plain numbers the template draws.

The timeline places blocks by minutes since midnight on an hour axis (percentages, so
pure CSS positions them). The map projects latitude/longitude into an SVG box: there are
no map tiles in production (no internet), so it is a scatter of visits and bases with
each worker's route as lines, which is what a dispatcher needs to spot a zig-zag.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22")
UNASSIGNED_COLOUR = "#6c757d"
DEFAULT_AXIS = (8 * 60, 18 * 60)


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


@dataclass(frozen=True)
class Axis:
    """An hour-aligned span of the day in minutes since midnight."""

    start: int
    end: int

    @classmethod
    def covering(cls, spans: Iterable[tuple[float, float]]) -> Axis:
        """Whole hours around every span, and at least the usual 08:00–18:00."""
        low, high = DEFAULT_AXIS
        for a, b in spans:
            low, high = min(low, a), max(high, b)
        return cls(max(0, math.floor(low / 60) * 60), min(24 * 60, math.ceil(high / 60) * 60))

    @property
    def hours(self) -> list[dict]:
        """Tick marks: the hour label and its left position in percent."""
        return [{"label": f"{m // 60:02d}", "left": self.left(m)} for m in range(self.start, self.end, 60)]

    def left(self, minute: float) -> float:
        return round(100 * (min(max(minute, self.start), self.end) - self.start) / (self.end - self.start), 3)

    def width(self, start: float, end: float) -> float:
        return max(0.6, round(self.left(end) - self.left(start), 3))  # a very short visit stays visible


def minutes(value) -> int:
    """Minutes since midnight of a (local) time or datetime."""
    return value.hour * 60 + value.minute


@dataclass(frozen=True)
class Projection:
    """Equirectangular projection of the day's points into a ``width`` × ``height`` box.

    Longitude is shrunk by cos(latitude) so distances look right at Sichuan's latitudes;
    the scale is the same on both axes and the picture is centred.
    """

    min_lon: float
    max_lat: float
    scale: float
    shift_x: float
    shift_y: float
    cos_lat: float

    @classmethod
    def fit(cls, points: Sequence[tuple[float, float]], width: float, height: float, pad: float = 20) -> Projection:
        """``points`` are (latitude, longitude)."""
        if not points:
            return cls(0.0, 0.0, 1.0, width / 2, height / 2, 1.0)
        lats = [p[0] for p in points]
        lons = [p[1] for p in points]
        cos_lat = math.cos(math.radians(sum(lats) / len(lats)))
        span_x = (max(lons) - min(lons)) * cos_lat
        span_y = max(lats) - min(lats)
        usable_w, usable_h = width - 2 * pad, height - 2 * pad
        if span_x == 0 and span_y == 0:
            scale = 1.0
        else:
            scale = min(usable_w / span_x if span_x else math.inf, usable_h / span_y if span_y else math.inf)
        return cls(min(lons), max(lats), scale, pad + (usable_w - span_x * scale) / 2,
                   pad + (usable_h - span_y * scale) / 2, cos_lat)

    def __call__(self, latitude: float, longitude: float) -> tuple[float, float]:
        x = self.shift_x + (longitude - self.min_lon) * self.cos_lat * self.scale
        y = self.shift_y + (self.max_lat - latitude) * self.scale
        return round(x, 1), round(y, 1)


def polyline(points: Iterable[tuple[float, float]]) -> str:
    return " ".join(f"{x},{y}" for x, y in points)
