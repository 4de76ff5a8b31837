"""Checks that do not need a solver.

``precheck`` explains, before solving, why a visit can never be planned (no worker with the
skill, a window that closes before anyone can get there, ...), so the dispatcher sees a
reason instead of a silently missing visit. ``check_plan`` verifies a finished plan against
the model with the travel source's own figures; tests and the benchmark use it to make sure
no solver shortcut slipped through.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .messages import clock, span
from .model import BREAK, VISIT, Issue, Location, Plan, Visit, Worker
from .travel import Legs, TravelTimeSource

TOLERANCE = 1e-6


@dataclass(frozen=True)
class Availability:
    """Where and from when a worker can take new visits (after any visit under way)."""

    location: Location
    time: float


def precheck(visits: Iterable[Visit], workers: Iterable[Worker], legs: Legs,
             available: Mapping[str, Availability], now: float | None = None) -> list[Issue]:
    """One ``Issue`` per visit that no worker could serve even on an otherwise empty day."""
    workers = list(workers)
    by_id = {w.id: w for w in workers}
    issues = []
    for visit in visits:
        issue = _visit_issue(visit, workers, by_id, legs, available, now)
        if issue is not None:
            issues.append(issue)
    return issues


def _visit_issue(visit, workers, by_id, legs, available, now) -> Issue | None:
    params = {"visit": visit.id}
    w = visit.window
    if w.end < w.start - TOLERANCE:
        return Issue("window_empty", visit.id, params={**params, "start": clock(w.start), "end": clock(w.end)})
    if now is not None and w.end < now - TOLERANCE:
        return Issue("window_passed", visit.id, params={**params, "end": clock(w.end), "now": clock(now)})
    if not workers:
        return Issue("no_workers", visit.id, params=params)
    skills = ", ".join(sorted(visit.skills))
    if visit.fixed_worker is not None:
        worker = by_id.get(visit.fixed_worker)
        if worker is None:
            return Issue("unknown_worker", visit.id, params={**params, "worker": visit.fixed_worker})
        if not visit.skills <= worker.skills:
            return Issue("worker_lacks_skill", visit.id, params={**params, "worker": worker.id, "skills": skills})
        candidates = [worker]
    else:
        candidates = [x for x in workers if visit.skills <= x.skills]
        if not candidates:
            return Issue("no_skill", visit.id, params={**params, "skills": skills})
    candidates = [x for x in candidates if x.capacity is None or x.capacity >= visit.demand]
    if not candidates:
        return Issue("over_capacity", visit.id, params={**params, "demand": visit.demand})
    longest = max(x.shift.end - x.shift.start for x in candidates)
    if visit.duration > longest + TOLERANCE:
        return Issue("longer_than_shifts", visit.id, params={
            **params, "duration": span(visit.duration), "longest": span(longest)})
    return _timing_issue(visit, candidates, legs, available)


def _timing_issue(visit, candidates, legs, available) -> Issue | None:
    """None if some candidate can reach the visit in its window and get back within the shift."""
    earliest = late = None  # (arrival, worker, depart) of the quickest; (back, worker, start) of the best late return
    for worker in candidates:
        where = available[worker.id]
        arrival = where.time + legs.time(where.location, visit.location)
        if arrival > visit.window.end + TOLERANCE:
            if earliest is None or arrival < earliest[0]:
                earliest = (arrival, worker, where.time)
            continue
        start = max(arrival, visit.window.start)
        back = start + visit.duration + legs.time(visit.location, worker.base)
        if back <= worker.shift.end + TOLERANCE:
            return None
        if late is None or back - worker.shift.end < late[0] - late[1].shift.end:
            late = (back, worker, start)
    if late is not None:
        back, worker, start = late
        return Issue("no_return", visit.id, worker.id, params={
            "visit": visit.id, "start": clock(start), "duration": span(visit.duration),
            "worker": worker.id, "back": clock(back), "shift_end": clock(worker.shift.end)})
    arrival, worker, depart = earliest
    return Issue("window_before_arrival", visit.id, worker.id, params={
        "visit": visit.id, "end": clock(visit.window.end), "arrival": clock(arrival),
        "worker": worker.id, "depart": clock(depart)})


def check_plan(plan: Plan, travel: TravelTimeSource, tolerance: float = TOLERANCE) -> list[str]:
    """Every way ``plan`` breaks the model, as sentences for engineers (empty when sound).

    Recomputes every leg from ``travel``; stops marked ``fixed`` (already under way when the
    plan was made) are history and only need to come first and belong to their worker.
    """
    visits = {v.id: v for v in plan.visits}
    workers = {w.id: w for w in plan.workers}
    places = [v.location for v in plan.visits] + [w.base for w in plan.workers]
    places += [s.location for r in plan.routes for s in r.stops]
    legs = Legs(places, travel)
    errors: list[str] = []
    served: Counter[str] = Counter()
    for route in plan.routes:
        worker = workers.get(route.worker_id)
        if worker is None:
            errors.append(f"route of unknown worker {route.worker_id}")
            continue
        errors += _check_route(route, worker, visits, legs, served, tolerance)
    routed = Counter(r.worker_id for r in plan.routes)
    errors += [f"worker {w} has {n} routes" for w, n in routed.items() if n > 1]
    unplanned = Counter(i.visit_id for i in plan.issues if i.visit_id is not None)
    for vid in visits:
        if served[vid] + unplanned[vid] != 1:
            errors.append(f"visit {vid} is planned {served[vid]} times and unplanned {unplanned[vid]} times")
    errors += [f"unknown visit {vid} in a route" for vid in served if vid not in visits]
    return errors


def _check_route(route, worker, visits, legs, served, tol) -> list[str]:
    errors = []
    who = f"worker {worker.id}"
    has_history = any(s.fixed for s in route.stops)
    if not has_history and route.depart < worker.shift.start - tol:
        errors.append(f"{who} leaves at {route.depart} before the shift starts at {worker.shift.start}")
    position, clock_, load, distance = worker.base, route.depart, 0, 0.0
    history_over = False
    break_stops = []
    for stop in route.stops:
        if stop.fixed and history_over:
            errors.append(f"{who}: stop already under way ({stop.visit_id or 'break'}) is not at the head of the route")
        history_over = history_over or not stop.fixed
        leg = legs.time(position, stop.location)
        distance += legs.distance(position, stop.location)
        if not stop.fixed:
            if stop.arrival < clock_ + leg - tol * max(1.0, leg):
                errors.append(f"{who} reaches {stop.visit_id or 'a break'} at {stop.arrival}, "
                              f"earlier than {clock_ + leg} (leaving at {clock_} + travel {leg})")
            if stop.start < stop.arrival - tol:
                errors.append(f"{who} starts {stop.visit_id or 'a break'} before arriving")
        if stop.kind == VISIT:
            visit = visits.get(stop.visit_id)
            served[stop.visit_id] += 1
            if visit is None:
                continue
            load += visit.demand
            errors += _check_visit(stop, visit, worker, tol)
        elif stop.kind == BREAK:
            break_stops.append(stop)
        else:
            errors.append(f"{who}: unknown stop kind {stop.kind!r}")
        position, clock_ = stop.location, stop.end
    leg = legs.time(position, worker.base)
    distance += legs.distance(position, worker.base)
    if route.back < clock_ + leg - tol * max(1.0, leg):
        errors.append(f"{who} is back at {route.back}, earlier than {clock_ + leg}")
    if route.back > worker.shift.end + tol:
        errors.append(f"{who} is back at {route.back}, after the shift ends at {worker.shift.end}")
    if worker.capacity is not None and load > worker.capacity:
        errors.append(f"{who} carries {load}, more than the capacity {worker.capacity}")
    if abs(distance - route.distance) > tol * max(1.0, distance) * 10:
        errors.append(f"{who}: route distance {route.distance} but the legs add up to {distance}")
    if any(s.kind == VISIT for s in route.stops):
        errors += _check_breaks(worker, break_stops, tol)
    return errors


def _check_visit(stop, visit, worker, tol) -> list[str]:
    errors = []
    name = f"visit {visit.id}"
    if stop.location != visit.location:
        errors.append(f"{name} planned at the wrong place")
    if not visit.skills <= worker.skills:
        errors.append(f"{name} needs {sorted(visit.skills)} but worker {worker.id} has {sorted(worker.skills)}")
    if visit.fixed_worker is not None and visit.fixed_worker != worker.id:
        errors.append(f"{name} belongs to worker {visit.fixed_worker}, planned for {worker.id}")
    if visit.started is not None and not stop.fixed:
        errors.append(f"{name} has started but is planned as a new stop")
    if not stop.fixed and not visit.window.contains(stop.start, tol * max(1.0, abs(stop.start))):
        errors.append(f"{name} starts at {stop.start}, outside its window {visit.window.start}–{visit.window.end}")
    if stop.end < stop.start + visit.duration - tol * max(1.0, visit.duration):
        errors.append(f"{name} ends at {stop.end}, before its {visit.duration} of service are done")
    return errors


def _check_breaks(worker, stops, tol) -> list[str]:
    """Each break of the worker is matched by its own break stop of the right time and length."""
    free = sorted(stops, key=lambda s: s.start)
    errors = []
    for brk in sorted(worker.breaks, key=lambda b: b.latest):
        match = next((s for s in free if brk.earliest - tol <= s.start <= brk.latest + tol
                      and s.end - s.start >= brk.duration - tol), None)
        if match is None:
            errors.append(f"worker {worker.id} has no break of {brk.duration} starting in {brk.earliest}–{brk.latest}")
        else:
            free.remove(match)
    errors += [f"worker {worker.id} has an extra break at {s.start}" for s in free if not s.fixed]
    return errors
