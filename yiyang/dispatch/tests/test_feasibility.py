"""The independent checker accepts sound plans and catches each kind of broken route."""

from __future__ import annotations

from dataclasses import replace

import pytest

from yiyang.dispatch import feasibility
from yiyang.dispatch.model import BREAK, Location, Plan, Route, Stop
from yiyang.dispatch.planner import plan_day

from .days import LUNCH, TRAVEL, h, m, visit, worker


@pytest.fixture(scope="module")
def sound() -> Plan:
    visits = [visit("a", 10, 0, window=(9, 10)), visit("b", 20, 0, window=(10, 12), skills={"nursing"}),
              visit("c", 20, 10, window=(13, 15)), visit("d", -10, 0, window=(9, 16))]
    plan = plan_day(visits, [worker("nurse", skills={"nursing"}, breaks=[LUNCH]), worker("helper", base=Location(-5, 0))],
                    seconds=0.5, travel=TRAVEL)
    assert feasibility.check_plan(plan, TRAVEL) == []
    assert not plan.issues
    return plan


def _edit(plan: Plan, worker_id: str, stops=None, **fields) -> Plan:
    routes = tuple(replace(r, **({"stops": tuple(stops)} if stops is not None else {}), **fields)
                   if r.worker_id == worker_id else r for r in plan.routes)
    return replace(plan, routes=routes)


def _stops(plan: Plan, worker_id: str) -> list[Stop]:
    return list(plan.route_of(worker_id).stops)


def _errors(plan: Plan) -> str:
    errors = feasibility.check_plan(plan, TRAVEL)
    assert errors, "the checker accepted a broken plan"
    return " | ".join(errors)


def test_visit_outside_its_window(sound):
    stops = _stops(sound, sound.worker_of("a"))
    i = next(n for n, s in enumerate(stops) if s.visit_id == "a")
    stops[i] = replace(stops[i], start=h(10.5), end=h(11))
    assert "outside its window" in _errors(_edit(sound, sound.worker_of("a"), stops))


def test_arriving_faster_than_travel_allows(sound):
    stops = _stops(sound, "nurse")
    stops[1] = replace(stops[1], arrival=stops[0].end)
    assert "earlier than" in _errors(_edit(sound, "nurse", stops))


def test_visit_given_to_a_worker_without_the_skill(sound):
    nurse = _stops(sound, "nurse")
    b = next(s for s in nurse if s.visit_id == "b")
    helper = sound.route_of("helper")
    broken = _edit(sound, "nurse", [s for s in nurse if s.visit_id != "b"])
    broken = replace(broken, routes=tuple(r for r in broken.routes if r.worker_id != "helper") + (
        Route("helper", b.start - m(30), (b,), b.end + m(30), 0.0),))
    text = _errors(broken)
    assert "needs ['nursing']" in text
    assert helper is not None


def test_missing_break(sound):
    stops = [s for s in _stops(sound, "nurse") if s.kind != BREAK]
    assert "no break" in _errors(_edit(sound, "nurse", stops))


def test_break_too_short_or_outside_its_window(sound):
    stops = _stops(sound, "nurse")
    i = next(n for n, s in enumerate(stops) if s.kind == BREAK)
    short = stops.copy()
    short[i] = replace(stops[i], end=stops[i].start + m(10))
    assert "no break" in _errors(_edit(sound, "nurse", short))
    early = stops.copy()
    early[i] = replace(stops[i], start=h(10), end=h(10.5))
    assert "no break" in _errors(_edit(sound, "nurse", early))


def test_visit_twice_and_visit_missing(sound):
    stops = _stops(sound, "nurse")
    assert "planned 2 times" in _errors(_edit(sound, "nurse", stops + [stops[-1]]))
    assert "planned 0 times" in _errors(_edit(sound, "nurse", stops[:-1]))


def test_late_return_and_early_departure(sound):
    assert "after the shift ends" in _errors(_edit(sound, "nurse", back=h(18)))
    assert "before the shift starts" in _errors(_edit(sound, "nurse", depart=h(7)))


def test_wrong_distance(sound):
    route = sound.route_of("nurse")
    assert "legs add up" in _errors(_edit(sound, "nurse", distance=route.distance / 2))
