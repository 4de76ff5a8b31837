"""The public entry points: plan a provider's day, and re-plan it during the day.

``plan_day`` runs the pre-checks, hands the rest to the solver, times the solver's orders with
the exact travel figures, and takes out (with a reason) anything that would not hold. The
result only depends on the planning model, so pages, services, the CLI and the benchmark
all go through here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from . import pyvrp_solver, repair
from .feasibility import Availability, precheck
from .model import VISIT, Issue, Plan, Stop, Visit, Worker
from .travel import Legs, TravelTimeSource, default_travel

log = logging.getLogger(__name__)


def plan_day(visits: Iterable[Visit], workers: Iterable[Worker], *, seconds: float = 10.0,
             travel: TravelTimeSource | None = None, now: float | None = None,
             breaks_taken: Mapping[str, Sequence[Stop]] | None = None, seed: int = 0) -> Plan:
    """Plan ``visits`` over ``workers`` with ``seconds`` of solver time (the repairs after it
    take at most a tenth more, or a second, and only when visits are left over).

    Visits with ``started`` set stay first in their worker's route, as do the stops in
    ``breaks_taken`` (breaks already begun, per worker; not repeated in ``Worker.breaks``).
    With ``now``, nothing new is planned to begin before it.
    """
    visits, workers = list(visits), list(workers)
    _unique([v.id for v in visits], "visit")
    _unique([w.id for w in workers], "worker")
    travel = travel or default_travel()
    taken = {wid: list(stops) for wid, stops in (breaks_taken or {}).items()}
    legs = Legs([w.base for w in workers] + [v.location for v in visits]
                + [s.location for stops in taken.values() for s in stops], travel)
    by_id = {w.id: w for w in workers}

    heads, issues = _heads(visits, by_id, taken)
    available = {}
    for worker in workers:
        head = heads.get(worker.id, [])
        ready = max([worker.shift.start] + ([now] if now is not None else []) + [s.end for s in head])
        available[worker.id] = Availability(head[-1].location if head else worker.base, ready)
    fresh = [v for v in visits if v.started is None]
    issues += precheck(fresh, workers, legs, available, now)
    refused = {i.visit_id for i in issues}
    todo = [v for v in fresh if v.id not in refused]
    active = [w for w in workers if available[w.id].time <= w.shift.end]

    solved = pyvrp_solver.solve(todo, active, legs, available, seconds=seconds, seed=seed)
    drafts = [repair.Draft(w, legs, available[w.id].time, heads.get(w.id, []), solved.sequences.get(w.id, []))
              for w in active]
    left_out = [vid for draft in drafts for vid in repair.clean(draft)]
    for draft in drafts:
        issues += repair.place_breaks(draft)
    by_visit = {v.id: v for v in todo}
    left_out = repair.insert(drafts, [by_visit[vid] for vid in [*solved.unserved, *left_out]])
    left_out = repair.swap_in(drafts, [by_visit[vid] for vid in left_out],
                              deadline=time.monotonic() + max(1.0, seconds / 10))
    routes = [r for r in (d.route() for d in drafts) if r is not None]
    routes += [repair.Draft(w, legs, available[w.id].time, heads[w.id]).route()
               for w in workers if w not in active and heads.get(w.id)]
    issues += [Issue("no_room", vid, params={"visit": vid}) for vid in left_out]
    log.info("planned %d visits on %d routes, %d issues", sum(len(r.visit_ids) for r in routes),
             len(routes), len(issues))
    return Plan(tuple(routes), tuple(issues), tuple(visits), tuple(workers), now)


def replan(previous: Plan, *, now: float, cancelled: Iterable[str] = (), added: Iterable[Visit] = (),
           started: Mapping[str, float] | None = None, seconds: float = 10.0,
           travel: TravelTimeSource | None = None, seed: int = 0) -> Plan:
    """Re-plan the rest of the day at ``now`` after cancellations and new (urgent) visits.

    What has begun stays with its worker, first in the route: the visits in ``started``
    (visit id -> actual start) or, when that is not given, every stop planned to begin
    before ``now``. A cancelled visit that has already begun is kept.
    """
    cancelled = set(cancelled)
    by_visit = {v.id: v for v in previous.visits}
    begun: dict[str, Visit] = {}
    taken: dict[str, list[Stop]] = {}
    workers = {w.id: w for w in previous.workers}
    for route in previous.routes:
        for stop in route.stops:
            if stop.kind == VISIT:
                if stop.fixed or (stop.visit_id in started if started is not None else stop.start < now):
                    at = started.get(stop.visit_id, stop.start) if started is not None else stop.start
                    begun[stop.visit_id] = replace(by_visit[stop.visit_id], started=at, fixed_worker=route.worker_id)
            elif stop.fixed or stop.start < now:
                taken.setdefault(route.worker_id, []).append(stop)
                workers[route.worker_id] = _without_break(workers[route.worker_id], stop)
    for vid in cancelled & begun.keys():
        log.warning("visit %s has already begun and is kept", vid)
    visits = [begun.get(v.id, v) for v in previous.visits if v.id in begun or v.id not in cancelled]
    visits += list(added)
    return plan_day(visits, workers.values(), seconds=seconds, travel=travel, now=now,
                    breaks_taken=taken, seed=seed)


def _heads(visits, by_id, taken):
    """The stops already under way, per worker, in time order; issues for unusable ones."""
    heads: dict[str, list[Stop]] = {}
    issues = []
    for visit in visits:
        if visit.started is None:
            continue
        if visit.fixed_worker is None:
            issues.append(Issue("started_without_worker", visit.id, params={"visit": visit.id}))
        elif visit.fixed_worker not in by_id:
            issues.append(Issue("unknown_worker", visit.id, params={"visit": visit.id, "worker": visit.fixed_worker}))
        else:
            heads.setdefault(visit.fixed_worker, []).append(Stop(
                VISIT, visit.location, visit.started, visit.started, visit.started + visit.duration,
                visit_id=visit.id, fixed=True))
    for wid, stops in taken.items():
        if wid in by_id:
            heads.setdefault(wid, []).extend(replace(s, fixed=True) for s in stops)
    for stops in heads.values():
        stops.sort(key=lambda s: s.start)
    return heads, issues


def _without_break(worker: Worker, stop: Stop) -> Worker:
    """The worker with the break that ``stop`` satisfies taken off the list of breaks to plan."""
    for n, brk in enumerate(worker.breaks):
        if brk.earliest - 1e-6 <= stop.start <= brk.latest + 1e-6:
            return replace(worker, breaks=worker.breaks[:n] + worker.breaks[n + 1:])
    return worker


def _unique(ids: list[str], what: str) -> None:
    seen = set()
    for i in ids:
        if i in seen:
            raise ValueError(f"duplicate {what} id {i!r}")
        seen.add(i)
