"""The planning model expressed for PyVRP (see docs/adr/0004-route-planning-solver.md).

- Each distinct start or end place of a worker is a depot; identical workers share a vehicle type.
- Skills, pinned visits and breaks are extra load dimensions: a visit needing skill S loads one
  unit of dimension S, and only workers with S have room in it.
- A break is taken where the worker is: right after a visit (a variant of that visit whose
  service includes the break, in a group with the plain visit) or at a base (one break
  client per worker there). Each break earns a prize larger than any visit's, so no route
  skips its break to fit one more visit; an idle worker earns it at home at no cost, so the
  prize does not pull work towards more workers.
- Visits are optional with a prize above any detour (more for urgent visits and scarce
  skills), so an overbooked day still yields a plan and the leftovers are reported instead of
  an infeasible solution.

PyVRP works on integers: times and distances are scaled to about five significant digits
(``_factor``), durations rounded up so that an integer-feasible route stays feasible with the
exact figures.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyvrp
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.stop import MaxRuntime

from .feasibility import Availability
from .model import Break, Location, Visit, Worker
from .timeline import Item
from .travel import Legs

log = logging.getLogger(__name__)

BIG = 1 << 40  # "unbounded" capacity and windows, far below PyVRP's overflow limits
# One unit of a skill, pin or break dimension weighs this much, so that PyVRP's capped penalty per
# unit of excess load (at most 1e5) still outweighs any distance saved by breaking the rule.
UNIT = 10_000


@dataclass
class Solved:
    sequences: dict[str, list[Item]] = field(default_factory=dict)  # worker id -> items in order
    unserved: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Client:
    visit: Visit | None
    brk: Break | None = None
    location: Location | None = None


def solve(visits: Sequence[Visit], workers: Sequence[Worker], legs: Legs,
          available: Mapping[str, Availability], *, seconds: float, seed: int = 0) -> Solved:
    if not visits or not workers:
        return Solved(unserved=[v.id for v in visits])
    data, clients, type_workers = _problem(visits, workers, legs, available)
    with warnings.catch_warnings():  # "struggles to find a feasible solution": normal when overbooked
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        result = pyvrp.solve(data, stop=MaxRuntime(seconds), seed=seed, collect_stats=False, display=False)
    log.info("PyVRP: %d clients, %d iterations in %.1f s, %s", data.num_clients, result.num_iterations,
             result.runtime, "feasible" if result.is_feasible() else "infeasible")
    solved = Solved()
    used: dict[int, int] = {}
    served = set()
    for route in result.best.routes():
        kind = route.vehicle_type()
        worker = type_workers[kind][used.get(kind, 0)]
        used[kind] = used.get(kind, 0) + 1
        items = []
        for activity in route.schedule():
            if not activity.is_client():
                continue
            client = clients[activity.idx]
            if client.visit is not None:
                served.add(client.visit.id)
                items.append(Item(visit=client.visit))
            if client.brk is not None:
                where = client.location or client.visit.location
                items.append(Item(brk=client.brk, location=where))
        solved.sequences[worker.id] = items
    solved.unserved = [v.id for v in visits if v.id not in served]
    return solved


def _problem(visits, workers, legs: Legs, available):
    """Build PyVRP's ProblemData directly from numpy matrices (fast for hundreds of visits)."""
    locations = legs.locations
    dims = _Dimensions(visits, workers)
    distance = np.rint(legs.matrix.distance * _factor(legs.matrix.distance)).astype(np.int64)
    clock = _Clock(_factor(legs.matrix.duration))
    duration = np.ceil(legs.matrix.duration * clock.factor - 1e-9).astype(np.int64)
    np.fill_diagonal(distance, 0)
    np.fill_diagonal(duration, 0)
    # Prizes: serving a visit beats any detour (at most two longest legs), an urgent visit beats
    # ordinary ones, a break beats a visit. All are far below the penalty on a broken skill, pin or
    # break rule; a small time overrun the solver might trade for one is caught after solving.
    edge = int(distance.max(initial=0)) + 1
    visit_prize, urgent_prize, break_prize = 3 * edge, 12 * edge, 50 * edge

    depots, depot_of = [], {}
    for worker in workers:
        for place in (available[worker.id].location, worker.base):
            if place not in depot_of:
                depot_of[place] = len(depots)
                depots.append(pyvrp.Depot(location=legs.index[place]))

    clients: list[_Client] = []
    pclients, groups = [], []
    for visit in visits:
        load = dims.load(visit)
        prize = round((urgent_prize if visit.urgent else visit_prize) * (2 - _share_able(visit, workers)))
        variants = [b for b in dims.breaks if _variant_window(visit, b) is not None]
        group = len(groups) if variants else None
        members = []
        for brk in [None, *variants]:
            early, late = (visit.window.start, visit.window.end) if brk is None else _variant_window(visit, brk)
            members.append(len(pclients))
            pclients.append(pyvrp.Client(
                location=legs.index[visit.location],
                delivery=load if brk is None else dims.with_break(load, brk),
                service_duration=clock.up(visit.duration + (brk.duration if brk else 0)),
                tw_early=clock.up(early), tw_late=clock.late(early, late),
                prize=prize + (break_prize if brk else 0), required=False, group=group,
                name=visit.id))
            clients.append(_Client(visit, brk))
        if group is not None:
            groups.append(pyvrp.ClientGroup(members, required=False))
    for worker in workers:  # a break at the base: before leaving, coming home for it, or after the round
        for brk in worker.breaks:
            pclients.append(pyvrp.Client(
                location=legs.index[worker.base], delivery=dims.with_break(dims.zero(), brk),
                service_duration=clock.up(brk.duration), tw_early=clock.up(brk.earliest),
                tw_late=clock.late(brk.earliest, brk.latest), prize=break_prize, required=False,
                name=f"break {worker.id}"))
            clients.append(_Client(None, brk, worker.base))

    kinds: dict[tuple, list[Worker]] = {}
    for worker in workers:
        where = available[worker.id]
        key = (depot_of[where.location], depot_of[worker.base], clock.up(where.time),
               clock.late(where.time, worker.shift.end), tuple(dims.capacity(worker)))
        kinds.setdefault(key, []).append(worker)
    vehicle_types = [
        pyvrp.VehicleType(num_available=len(group), capacity=list(capacity), start_depot=start,
                          end_depot=end, tw_early=early, tw_late=late, name=group[0].id)
        for (start, end, early, late, capacity), group in kinds.items()]

    data = pyvrp.ProblemData(
        locations=[pyvrp.Location(x=float(p.x), y=float(p.y)) for p in locations],
        clients=pclients, depots=depots, vehicle_types=vehicle_types,
        distance_matrices=[distance], duration_matrices=[duration], groups=groups)
    return data, clients, list(kinds.values())


def _factor(matrix: np.ndarray) -> int:
    """The power of ten that gives the longest leg about five significant digits (at most 1000):
    metres and tenths of seconds for a county, thousandths for Solomon's instances. This keeps
    distance costs and time penalties in the proportions PyVRP's defaults are tuned for, and
    prizes below the penalty (at most 1e5 per unit) of any broken rule."""
    longest = float(matrix.max(initial=0.0))
    return 10 ** (0 if longest <= 0 else max(0, min(3, round(5 - math.log10(longest)))))


class _Dimensions:
    """Load dimensions: carried demand, then one per skill, pinned worker and break kind."""

    def __init__(self, visits: Sequence[Visit], workers: Sequence[Worker]):
        self.demand = any(v.demand for v in visits) or any(w.capacity is not None for w in workers)
        self.skills = sorted({s for v in visits for s in v.skills})
        self.pins = sorted({v.fixed_worker for v in visits if v.fixed_worker is not None})
        self.breaks = sorted({b for w in workers for b in w.breaks}, key=lambda b: (b.earliest, b.latest, b.duration))
        self.size = int(self.demand) + len(self.skills) + len(self.pins) + len(self.breaks)
        self.many = len(visits) + 1

    def zero(self) -> list[int]:
        return [0] * self.size

    def load(self, visit: Visit) -> list[int]:
        load = self.zero()
        offset = 0
        if self.demand:
            load[0] = visit.demand
            offset = 1
        for n, skill in enumerate(self.skills):
            load[offset + n] = UNIT * int(skill in visit.skills)
        offset += len(self.skills)
        if visit.fixed_worker is not None:
            load[offset + self.pins.index(visit.fixed_worker)] = UNIT
        return load

    def with_break(self, load: list[int], brk: Break) -> list[int]:
        load = list(load)
        load[self.size - len(self.breaks) + self.breaks.index(brk)] += UNIT
        return load

    def capacity(self, worker: Worker) -> list[int]:
        capacity = []
        if self.demand:
            capacity.append(BIG if worker.capacity is None else worker.capacity)
        capacity += [UNIT * self.many if s in worker.skills else 0 for s in self.skills]
        capacity += [UNIT * self.many if p == worker.id else 0 for p in self.pins]
        capacity += [UNIT * worker.breaks.count(b) for b in self.breaks]
        return capacity


def _share_able(visit: Visit, workers: Sequence[Worker]) -> float:
    """The share of workers with the visit's skills: scarce visits are worth more, so that when
    not everything fits the solver leaves out visits that anyone could have taken."""
    if visit.fixed_worker is not None:
        return 1 / len(workers)
    return sum(visit.skills <= w.skills for w in workers) / len(workers)


def _variant_window(visit: Visit, brk: Break) -> tuple[float, float] | None:
    """Start window of "this visit, then the break right after it", or None if it cannot be."""
    early = max(visit.window.start, brk.earliest - visit.duration)
    late = min(visit.window.end, brk.latest - visit.duration)
    return (early, late) if early <= late else None


@dataclass(frozen=True)
class _Clock:
    """Times as integers: window openings and durations rounded up, closings down (never looser)."""

    factor: int

    def up(self, t: float) -> int:
        return max(0, min(BIG, int(math.ceil(t * self.factor - 1e-9))))

    def down(self, t: float) -> int:
        return max(0, min(BIG, int(math.floor(t * self.factor + 1e-9))))

    def late(self, early: float, late: float) -> int:
        """The closing of [early, late]; never before its opening (rounding can cross them, and
        the exact check after solving catches the difference of less than a unit)."""
        return max(self.up(early), self.down(late))
