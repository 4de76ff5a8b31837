"""Make the solver's routes hold with the exact figures, and finish what the solver left.

The solver works on rounded integers and may stop before it has converged; this module never
trusts it: a visit that breaks a rule is taken out, a break the solver did not place gets the
best free spot, and visits left over are inserted greedily where they still fit, or where
handing one visit to another worker makes room.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from .messages import clock, span
from .model import Break, Issue, Route, Stop, Visit, Worker
from .timeline import Item, Timed, build
from .travel import Legs


@dataclass
class Draft:
    """One worker's route in the making: the fixed head, then the items still movable."""

    worker: Worker
    legs: Legs
    ready: float  # when the worker can leave the base (or the last head stop)
    head: list[Stop] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)

    @property
    def depart(self) -> float | None:
        if not self.head:
            return None
        return self.head[0].arrival - self.legs.time(self.worker.base, self.head[0].location)

    @property
    def has_visits(self) -> bool:
        return any(i.visit is not None for i in self.items)

    def timed(self, items: list[Item] | None = None) -> Timed:
        return build(self.worker, self.items if items is None else items, self.legs,
                     head=self.head, ready=self.ready, depart=self.depart)

    def holds(self, items: list[Item]) -> bool:
        timed = self.timed(items)
        if timed.late_visits or timed.late_breaks or timed.late_back:
            return False
        load = sum(i.visit.demand for i in items if i.visit is not None)
        return self.worker.capacity is None or load <= self.worker.capacity

    def route(self) -> Route | None:
        if not self.head and not self.has_visits:
            return None
        return self.timed().route


def may_do(worker: Worker, visit: Visit) -> bool:
    return visit.skills <= worker.skills and visit.fixed_worker in (None, worker.id)


def clean(draft: Draft) -> list[str]:
    """Take out what breaks a rule (skills, pins, capacity, windows, shift end, extra breaks);
    return the ids of the visits taken out."""
    owed = list(draft.worker.breaks)
    items = [i for i in draft.items if i.brk is None or (i.brk in owed and not owed.remove(i.brk))]
    dropped = [i.visit.id for i in items if i.visit is not None and not may_do(draft.worker, i.visit)]
    items = _without(items, set(dropped))
    load = 0
    for item in list(items):
        if item.visit is not None and draft.worker.capacity is not None:
            load += item.visit.demand
            if load > draft.worker.capacity:
                dropped.append(item.visit.id)
                items = _without(items, {item.visit.id})
                load -= item.visit.demand
    while True:
        timed = draft.timed(items)
        late = set(timed.late_visits)
        if not late and timed.late_back:
            late = {next(i.visit.id for i in reversed(items) if i.visit is not None)} if any(
                i.visit for i in items) else set()
        if late:
            dropped += sorted(late)
            items = _without(items, late)
        elif timed.late_breaks:
            items = [i for i in items if i.brk is None or i.brk not in timed.late_breaks]
        else:
            break
    draft.items = items
    return dropped


def place_breaks(draft: Draft) -> list[Issue]:
    """Give each break the solver did not place the earliest-finishing spot that keeps the
    route sound; an issue for each break that finds none. Idle workers need no break."""
    if not draft.has_visits:
        draft.items = [i for i in draft.items if i.brk is None]
        return []
    issues = []
    planned = [i.brk for i in draft.items if i.brk is not None]
    for brk in draft.worker.breaks:
        if brk in planned:
            planned.remove(brk)
            continue
        placed = _with_break(draft, draft.items, brk)
        if placed is None:
            issues.append(Issue("break_not_placed", worker_id=draft.worker.id, params={
                "worker": draft.worker.id, "duration": span(brk.duration),
                "earliest": clock(brk.earliest), "latest": clock(brk.latest)}))
        else:
            draft.items = placed
    return issues


def insert(drafts: list[Draft], visits: list[Visit]) -> list[str]:
    """Put each left-over visit where it adds the least distance and everything still holds
    (breaks included); urgent and scarce visits first. Returns the ids that found no place."""
    left = []
    for visit in sorted(visits, key=lambda v: (not v.urgent, sum(may_do(d.worker, v) for d in drafts))):
        best, best_cost = None, math.inf
        for draft in drafts:
            if not may_do(draft.worker, visit):
                continue
            before = draft.timed().route.distance if draft.has_visits else 0.0
            for n in range(len(draft.items) + 1):
                items = draft.items[:n] + [Item(visit=visit)] + draft.items[n:]
                if not draft.has_visits:
                    items = _with_owed_breaks(draft, items)
                if items is None or not draft.holds(items):
                    continue
                cost = draft.timed(items).route.distance - before
                if cost < best_cost:
                    best, best_cost = (draft, items), cost
        if best is None:
            left.append(visit.id)
        else:
            best[0].items = best[1]
    return left


def swap_in(drafts: list[Draft], visits: list[Visit], deadline: float) -> list[str]:
    """For each visit still left over, try making room by handing one visit of a suitable
    worker to someone else (e.g. a nurse's ordinary visit to a helper so the nurse can take a
    nursing visit). Stops at ``deadline`` (time.monotonic()); returns the ids still left."""
    left = []
    for visit in visits:
        if time.monotonic() > deadline or not _swap_in(drafts, visit, deadline):
            left.append(visit.id)
    return left


def _swap_in(drafts: list[Draft], visit: Visit, deadline: float) -> bool:
    for draft in drafts:
        if not may_do(draft.worker, visit) or not draft.has_visits:
            continue
        for out in [i.visit for i in draft.items if i.visit is not None]:
            if time.monotonic() > deadline:
                return False
            rest = _without(draft.items, {out.id})
            with_visit = _best_insertion(draft, rest, visit)
            if with_visit is not None:
                with_visit = _with_owed_breaks(draft, with_visit)
            if with_visit is None:
                continue
            saved, draft.items = draft.items, with_visit
            if not insert(drafts, [out]):
                return True
            draft.items = saved
    return False


def _best_insertion(draft: Draft, items: list[Item], visit: Visit) -> list[Item] | None:
    best, best_distance = None, math.inf
    for n in range(len(items) + 1):
        candidate = items[:n] + [Item(visit=visit)] + items[n:]
        if draft.holds(candidate):
            distance = draft.timed(candidate).route.distance
            if distance < best_distance:
                best, best_distance = candidate, distance
    return best


def _with_owed_breaks(draft: Draft, items: list[Item]) -> list[Item] | None:
    """``items`` with each of the worker's breaks not in them yet placed, or None if one finds no room."""
    present = [i.brk for i in items if i.brk is not None]
    for brk in draft.worker.breaks:
        if brk in present:
            present.remove(brk)
            continue
        items = _with_break(draft, items, brk)
        if items is None:
            return None
    return items


def _with_break(draft: Draft, items: list[Item], brk: Break) -> list[Item] | None:
    """``items`` with the break at the earliest-finishing feasible spot: where the worker is
    between two stops, before leaving, or at the base after the round."""
    start = draft.head[-1].location if draft.head else draft.worker.base
    best, best_back = None, math.inf
    for n in range(len(items) + 1):
        places = {items[n - 1].where if n else start}
        if n == len(items):
            places.add(draft.worker.base)
        for place in places:
            candidate = items[:n] + [Item(brk=brk, location=place)] + items[n:]
            if draft.holds(candidate):
                back = draft.timed(candidate).route.back
                if back < best_back:
                    best, best_back = candidate, back
    return best


def _without(items: list[Item], ids: set[str]) -> list[Item]:
    """Remove visits, with the break the solver had put right after one of them (re-placed later)."""
    kept: list[Item] = []
    dropped_at = None
    for item in items:
        if item.visit is not None and item.visit.id in ids:
            dropped_at = item.where
            continue
        if not (item.brk is not None and item.where == dropped_at):
            kept.append(item)
        dropped_at = None
    return kept
