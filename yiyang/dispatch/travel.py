"""Travel distances and times between locations, behind one small protocol.

The planner only asks a ``TravelTimeSource`` for a square matrix over the locations of a day,
so a road-network source (OSRM, a provider's own table) can replace the straight-line
estimate later without touching the planner or the solver.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .model import Location

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class TravelMatrix:
    """``distance[i, j]`` and ``duration[i, j]`` from location i to j (metres, seconds)."""

    distance: np.ndarray
    duration: np.ndarray


class TravelTimeSource(Protocol):
    def matrix(self, locations: Sequence[Location]) -> TravelMatrix: ...


@dataclass(frozen=True)
class HaversineTravel:
    """Great-circle distance × ``road_factor``, driven at the urban or rural speed.

    A leg between two urban (or two rural) points goes at that speed; a mixed leg is taken
    as half of each, which is what a trip from a town to a village mostly looks like.
    """

    road_factor: float = 1.35
    urban_kmh: float = 25.0
    rural_kmh: float = 40.0

    def matrix(self, locations: Sequence[Location]) -> TravelMatrix:
        lon = np.radians([p.x for p in locations])
        lat = np.radians([p.y for p in locations])
        dlat = lat[None, :] - lat[:, None]
        dlon = lon[None, :] - lon[:, None]
        a = np.sin(dlat / 2) ** 2 + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin(dlon / 2) ** 2
        distance = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))) * self.road_factor
        rural = np.array([p.rural for p in locations], dtype=float)
        share_rural = (rural[:, None] + rural[None, :]) / 2  # 0, 0.5 or 1 of the leg
        urban_ms, rural_ms = self.urban_kmh / 3.6, self.rural_kmh / 3.6
        duration = distance * ((1 - share_rural) / urban_ms + share_rural / rural_ms)
        return TravelMatrix(distance=distance, duration=duration)


@dataclass(frozen=True)
class EuclideanTravel:
    """Straight lines on a plane, time = distance / ``speed`` (Solomon's benchmark convention)."""

    speed: float = 1.0

    def matrix(self, locations: Sequence[Location]) -> TravelMatrix:
        xy = np.array([(p.x, p.y) for p in locations], dtype=float).reshape(-1, 2)
        distance = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
        return TravelMatrix(distance=distance, duration=distance / self.speed)


@dataclass(frozen=True)
class TableTravel:
    """Known pairwise figures, e.g. from a road-network service: ``{(a, b): (metres, seconds)}``.

    Pairs not in the table fall back to ``fallback`` (so a partial table still plans).
    """

    table: dict[tuple[Location, Location], tuple[float, float]]
    fallback: TravelTimeSource = HaversineTravel()

    def matrix(self, locations: Sequence[Location]) -> TravelMatrix:
        base = self.fallback.matrix(locations)
        distance, duration = base.distance.copy(), base.duration.copy()
        for i, a in enumerate(locations):
            for j, b in enumerate(locations):
                if i != j and (a, b) in self.table:
                    distance[i, j], duration[i, j] = self.table[a, b]
        return TravelMatrix(distance=distance, duration=duration)


def default_travel() -> TravelTimeSource:
    """The configured estimate: ``settings.DISPATCH_TRAVEL`` (keyword arguments of
    ``HaversineTravel``) when Django is configured, else the defaults above."""
    from django.conf import settings

    options = getattr(settings, "DISPATCH_TRAVEL", {}) if settings.configured else {}
    return HaversineTravel(**options)


class Legs:
    """The matrix of one day, looked up by location (each distinct location computed once)."""

    def __init__(self, locations: Sequence[Location], travel: TravelTimeSource):
        self.locations: list[Location] = list(dict.fromkeys(locations))
        self.index = {loc: i for i, loc in enumerate(self.locations)}
        self.matrix = travel.matrix(self.locations)

    def time(self, a: Location, b: Location) -> float:
        return float(self.matrix.duration[self.index[a], self.index[b]])

    def distance(self, a: Location, b: Location) -> float:
        return float(self.matrix.distance[self.index[a], self.index[b]])
