"""plan_day and replan on small hand-made days; every plan is also run through the checker."""

from __future__ import annotations

from yiyang.dispatch import feasibility
from yiyang.dispatch.model import BREAK, VISIT, Location, Visit, Window
from yiyang.dispatch.planner import plan_day, replan

from .days import LUNCH, TRAVEL, h, m, visit, worker

SECONDS = 0.5


def plan(visits, workers, **kw):
    result = plan_day(visits, workers, seconds=SECONDS, travel=TRAVEL, **kw)
    assert feasibility.check_plan(result, TRAVEL) == []
    return result


def test_visits_go_only_to_workers_with_the_skill():
    visits = [visit(f"n{i}", 10 + i, 5, skills={"nursing"}) for i in range(4)]
    visits += [visit(f"p{i}", -10 - i, 5) for i in range(4)]
    result = plan(visits, [worker("nurse", skills={"nursing"}), worker("helper")])
    assert set(result.route_of("nurse").visit_ids) >= {"n0", "n1", "n2", "n3"}
    helper = result.route_of("helper")
    assert helper is None or not any(v.startswith("n") for v in helper.visit_ids)
    assert not result.unplanned


def test_time_windows_hold_and_set_the_order():
    visits = [visit("late", 5, 0, window=(15, 16)), visit("early", 10, 0, window=(9, 9.5)),
              visit("noon", 15, 0, window=(12, 12.5))]
    result = plan(visits, [worker("w")])
    route = result.route_of("w")
    assert route.visit_ids == ["early", "noon", "late"]
    for stop in route.stops:
        window = next(v.window for v in visits if v.id == stop.visit_id)
        assert window.start <= stop.start <= window.end


def test_worker_leaves_just_in_time_and_returns_home():
    result = plan([visit("a", 30, 0, window=(10, 10))], [worker("w")])
    route = result.route_of("w")
    assert route.depart == h(10) - m(30)
    assert route.stops[0].arrival == route.stops[0].start == h(10)
    assert route.back == h(10) + m(30) + m(30)
    assert route.distance == 60


def test_every_route_takes_its_break_in_the_window():
    # Back-to-back visits all day: the break has to be squeezed in between two of them.
    visits = [visit(f"v{i}", 1 + i % 3, 1, minutes=50) for i in range(9)]
    result = plan(visits, [worker("w", breaks=[LUNCH], shift=(8, 18))])
    route = result.route_of("w")
    breaks = [s for s in route.stops if s.kind == BREAK]
    assert len(breaks) == 1
    assert LUNCH.earliest <= breaks[0].start <= LUNCH.latest
    assert breaks[0].end - breaks[0].start >= LUNCH.duration
    assert len(route.visit_ids) == 9


def test_break_does_not_shorten_travel():
    """The break is taken where the worker is, so the legs around it are real legs."""
    visits = [visit("a", 30, 0, window=(11, 11.5), minutes=60), visit("b", 60, 0, window=(12, 13.5), minutes=30)]
    result = plan(visits, [worker("w", breaks=[LUNCH])])
    route = result.route_of("w")
    kinds = [s.kind for s in route.stops]
    assert kinds.count(BREAK) == 1 and route.visit_ids == ["a", "b"]
    b = next(s for s in route.stops if s.visit_id == "b")
    before_b = route.stops[kinds.index(VISIT, kinds.index(BREAK)) - 1] if kinds.index(BREAK) < kinds.index(VISIT, 1) else None
    assert b.arrival >= (before_b.end if before_b else 0) + m(30) - 1e-6


def test_workers_have_their_own_bases():
    east, west = Location(100, 0), Location(-100, 0)
    visits = [visit("e1", 95, 2), visit("e2", 105, -2), visit("w1", -95, 2), visit("w2", -105, -2)]
    result = plan(visits, [worker("east", base=east), worker("west", base=west)])
    assert set(result.route_of("east").visit_ids) == {"e1", "e2"}
    assert set(result.route_of("west").visit_ids) == {"w1", "w2"}


def test_pinned_visit_goes_to_its_worker():
    visits = [visit("mine", 1, 1, fixed_worker="b"), visit("any", 2, 2)]
    result = plan(visits, [worker("a"), worker("b", base=Location(50, 50))])
    assert result.worker_of("mine") == "b"


def test_capacity_is_respected():
    visits = [visit(f"meal{i}", 5 + i, 0, demand=1) for i in range(6)]
    result = plan(visits, [worker("a", capacity=4), worker("b", capacity=4)])
    assert max(len(r.visit_ids) for r in result.routes) <= 4
    assert not result.unplanned


def test_overbooked_day_plans_what_fits_and_says_why_the_rest_does_not():
    visits = [visit(f"v{i}", 1, 1, window=(9, 10), minutes=60) for i in range(3)]
    result = plan(visits, [worker("w")])
    assert len(result.route_of("w").visit_ids) == 2
    (left,) = result.unplanned.values()
    assert left.code == "no_room"
    assert "could not be fitted" in left.message


def test_impossible_visits_are_explained_before_solving():
    visits = [
        visit("far", 300, 0, window=(8, 9)),  # 5 hours away, window closes at 9:00
        visit("bath", 1, 1, skills={"bathing"}),
        visit("long", 1, 1, minutes=10 * 60),
        visit("evening", 200, 0, window=(8, 17), minutes=240),  # cannot be back by 17:00
        visit("ok", 2, 2),
    ]
    result = plan(visits, [worker("w"), worker("v", shift=(9, 16))])
    reasons = {vid: issue.code for vid, issue in result.unplanned.items()}
    assert reasons == {"far": "window_before_arrival", "bath": "no_skill", "long": "longer_than_shifts",
                       "evening": "no_return"}
    assert result.worker_of("ok") in {"w", "v"}
    far = result.unplanned["far"].message
    assert "far" in far and "09:00" in far and "13:00" in far and "08:00" in far
    assert "bathing" in result.unplanned["bath"].message
    assert "600 min" in result.unplanned["long"].message and "540 min" in result.unplanned["long"].message
    assert "after the shift ends at 17:00" in result.unplanned["evening"].message


def test_explanations_for_pins_and_empty_windows():
    visits = [visit("ghost", 1, 1, fixed_worker="nobody"), visit("unskilled", 1, 1, fixed_worker="w", skills={"rehab"}),
              Visit("backwards", Location(1, 1), Window(h(12), h(11)), m(30))]
    result = plan(visits, [worker("w")])
    assert {v: i.code for v, i in result.unplanned.items()} == {
        "ghost": "unknown_worker", "unskilled": "worker_lacks_skill", "backwards": "window_empty"}


def _morning():
    visits = [visit(f"v{i}", 3 * i, 2, window=(8, 16), minutes=45) for i in range(1, 7)]
    return plan(visits, [worker("a", breaks=[LUNCH]), worker("b", breaks=[LUNCH])])


def test_replan_keeps_started_visits_first_with_their_worker():
    first = _morning()
    route = first.routes[0]
    now = route.stops[0].start + m(10)  # the first visit is under way
    again = replan(first, now=now, cancelled=[route.stops[-1].visit_id], seconds=SECONDS, travel=TRAVEL)
    assert feasibility.check_plan(again, TRAVEL) == []
    kept = again.route_of(route.worker_id)
    assert kept.stops[0].visit_id == route.stops[0].visit_id and kept.stops[0].fixed
    assert kept.stops[0].start == route.stops[0].start
    assert route.stops[-1].visit_id not in {v.id for v in again.visits}
    assert all(s.start >= now for r in again.routes for s in r.stops if not s.fixed)


def test_replan_with_explicit_check_ins():
    first = _morning()
    route = first.routes[0]
    started_at = route.stops[0].start + m(5)  # checked in a little late
    now = started_at + m(1)
    again = replan(first, now=now, started={route.stops[0].visit_id: started_at}, seconds=SECONDS, travel=TRAVEL)
    assert feasibility.check_plan(again, TRAVEL) == []
    head = again.route_of(route.worker_id).stops[0]
    assert head.visit_id == route.stops[0].visit_id and head.start == started_at and head.fixed


def test_urgent_visit_is_inserted_on_the_day():
    first = _morning()
    now = h(10)
    urgent = Visit("urgent", Location(4, 4), Window(now, now + h(1)), m(30), urgent=True)
    again = replan(first, now=now, added=[urgent], seconds=SECONDS, travel=TRAVEL)
    assert feasibility.check_plan(again, TRAVEL) == []
    assert again.worker_of("urgent") is not None
    stop = next(s for r in again.routes for s in r.stops if s.visit_id == "urgent")
    assert now <= stop.start <= now + h(1)
    begun = {s.visit_id for r in first.routes for s in r.stops if s.kind == VISIT and s.start < now}
    for vid in begun:
        assert again.worker_of(vid) == first.worker_of(vid)
        assert next(s for r in again.routes for s in r.stops if s.visit_id == vid).fixed


def test_replan_explains_a_window_already_over():
    first = _morning()
    late = Visit("too-late", Location(1, 1), Window(h(8), h(9)), m(30))
    again = replan(first, now=h(12), added=[late], seconds=SECONDS, travel=TRAVEL)
    assert again.unplanned["too-late"].code == "window_passed"


def test_replan_keeps_a_break_already_taken():
    first = _morning()
    route = next(r for r in first.routes if any(s.kind == BREAK for s in r.stops))
    brk = next(s for s in route.stops if s.kind == BREAK)
    again = replan(first, now=brk.start + m(5), seconds=SECONDS, travel=TRAVEL)
    assert feasibility.check_plan(again, TRAVEL) == []
    kept = again.route_of(route.worker_id)
    assert [s.start for s in kept.stops if s.kind == BREAK] == [brk.start]


def test_urgent_visit_wins_when_only_one_fits():
    visits = [visit("ordinary", 1, 1, window=(9, 9)), Visit("urgent", Location(-1, 1), Window(h(9), h(9)), m(30), urgent=True)]
    result = plan(visits, [worker("w")])
    assert result.route_of("w").visit_ids == ["urgent"]
    assert result.unplanned["ordinary"].code == "no_room"


def test_no_worker_on_shift():
    result = plan([visit("a", 1, 1)], [])
    assert result.unplanned["a"].code == "no_workers" and not result.routes


def test_started_visit_of_an_unknown_worker_is_reported():
    result = plan([visit("a", 1, 1, started=h(9), fixed_worker="gone"), visit("b", 1, 1, started=h(9))], [worker("w")])
    assert {v: i.code for v, i in result.unplanned.items()} == {"a": "unknown_worker", "b": "started_without_worker"}


def test_visit_under_way_at_planning_time_heads_the_route():
    visits = [visit("here", 5, 0, started=h(9), fixed_worker="w", minutes=60), visit("next", 10, 0)]
    result = plan(visits, [worker("w")], now=h(9.5))
    route = result.route_of("w")
    assert route.visit_ids == ["here", "next"] and route.stops[0].fixed
    assert route.stops[1].start >= h(10) + m(5)
