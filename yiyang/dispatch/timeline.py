"""Turn an ordered list of visits and breaks into a timed route, with exact travel figures.

The solver decides the order; the times of the plan are computed here from the travel
source, not taken from the solver's rounded integers, and anything that does not fit is
reported so the planner can take it out rather than publish an impossible route.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .model import BREAK, VISIT, Break, Location, Route, Stop, Visit, Worker
from .travel import Legs

TOLERANCE = 1e-6


@dataclass(frozen=True)
class Item:
    """One step the solver put in a route: a visit, or a break taken at ``location``."""

    visit: Visit | None = None
    brk: Break | None = None
    location: Location | None = None

    @property
    def where(self) -> Location:
        return self.visit.location if self.visit is not None else self.location


@dataclass(frozen=True)
class Timed:
    route: Route
    late_visits: tuple[str, ...]  # visits whose window had closed on arrival
    late_breaks: tuple[Break, ...]
    late_back: bool


def build(worker: Worker, items: Sequence[Item], legs: Legs, *, head: Sequence[Stop] = (),
          ready: float, depart: float | None = None) -> Timed:
    """Time ``items`` after the fixed ``head``: leave at ``ready`` (from the base, or from the
    last head stop), start each visit as early as its window allows, and leave the base no
    earlier than needed to reach the first stop without waiting."""
    position = head[-1].location if head else worker.base
    clock = ready
    stops: list[Stop] = list(head)
    late_visits, late_breaks = [], []
    for n, item in enumerate(items):
        arrival = clock + legs.time(position, item.where)
        if item.visit is not None:
            start = max(arrival, item.visit.window.start)
            end = start + item.visit.duration
            if start > item.visit.window.end + TOLERANCE * max(1.0, abs(start)):
                late_visits.append(item.visit.id)
            stops.append(Stop(VISIT, item.visit.location, arrival, start, end, visit_id=item.visit.id))
        else:
            start = max(arrival, item.brk.earliest)
            end = start + item.brk.duration
            if start > item.brk.latest + TOLERANCE * max(1.0, abs(start)):
                late_breaks.append(item.brk)
            stops.append(Stop(BREAK, item.location, arrival, start, end))
        if n == 0 and not head:  # leave later rather than wait at the first stop
            wait = stops[0].start - stops[0].arrival
            stops[0] = Stop(stops[0].kind, stops[0].location, stops[0].start, stops[0].start,
                            stops[0].end, visit_id=stops[0].visit_id)
            ready += wait
        position, clock = item.where, end
    back = clock + legs.time(position, worker.base)
    if depart is None:
        depart = ready
    distance = _distance(worker.base, [s.location for s in stops], legs)
    route = Route(worker.id, depart, tuple(stops), back, distance)
    return Timed(route, tuple(late_visits), tuple(late_breaks), back > worker.shift.end + TOLERANCE * max(1.0, back))


def _distance(base: Location, places: list[Location], legs: Legs) -> float:
    path = [base, *places, base]
    return sum(legs.distance(a, b) for a, b in zip(path, path[1:], strict=False))
