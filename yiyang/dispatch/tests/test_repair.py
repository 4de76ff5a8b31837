"""The repairs after solving, on drafts made by hand (as if the solver had stopped early or erred)."""

from __future__ import annotations

import time

from yiyang.dispatch import repair
from yiyang.dispatch.model import BREAK
from yiyang.dispatch.timeline import Item
from yiyang.dispatch.travel import Legs

from .days import LUNCH, TRAVEL, h, visit, worker


def _drafts(visits, workers, items_by_worker):
    legs = Legs([w.base for w in workers] + [v.location for v in visits], TRAVEL)
    return [repair.Draft(w, legs, w.shift.start, [], [Item(visit=v) for v in items_by_worker.get(w.id, [])])
            for w in workers]


def test_clean_takes_out_what_breaks_a_rule():
    ok, late = visit("ok", 1, 0, window=(9, 10)), visit("late", 3, 0, window=(8, 8))  # 8:00 sharp, after "ok"
    unskilled = visit("bath", 2, 0, skills={"bathing"})
    (draft,) = _drafts([ok, unskilled, late], [worker("w")], {"w": [ok, unskilled, late]})
    assert sorted(repair.clean(draft)) == ["bath", "late"]
    assert [i.visit.id for i in draft.items] == ["ok"]


def test_missing_break_gets_the_best_free_spot():
    a, b = visit("a", 1, 0, window=(11, 11.5), minutes=60), visit("b", 2, 0, window=(12.5, 13), minutes=60)
    (draft,) = _drafts([a, b], [worker("w", breaks=[LUNCH])], {"w": [a, b]})
    assert repair.place_breaks(draft) == []
    route = draft.route()
    (brk,) = [s for s in route.stops if s.kind == BREAK]
    assert LUNCH.earliest <= brk.start <= LUNCH.latest and [s.kind for s in route.stops][1] == BREAK


def test_no_room_for_a_break_is_an_issue():
    busy = [visit(f"v{i}", 1, 0, window=(11 + i, 11 + i), minutes=60) for i in range(3)]
    (draft,) = _drafts(busy, [worker("w", breaks=[LUNCH])], {"w": busy})
    (issue,) = repair.place_breaks(draft)
    assert issue.code == "break_not_placed" and issue.worker_id == "w"
    assert "11:30" in issue.message and "13:30" in issue.message


def test_left_over_visit_goes_where_it_adds_least():
    near, far = worker("near"), worker("far", base=visit("x", 100, 0).location)
    v = visit("v", 3, 0)
    drafts = _drafts([v], [near, far], {})
    assert repair.insert(drafts, [v]) == []
    assert drafts[0].route().visit_ids == ["v"] and drafts[1].route() is None


def test_swap_makes_room_for_a_scarce_visit():
    """The nurse is busy with an ordinary visit at the only time the nursing visit can happen."""
    ordinary = visit("ordinary", 1, 0, window=(9, 9), minutes=60)
    nursing = visit("nursing", 1, 1, window=(9, 9), minutes=60, skills={"nursing"})
    nurse, helper = worker("nurse", skills={"nursing"}), worker("helper")
    drafts = _drafts([ordinary, nursing], [nurse, helper], {"nurse": [ordinary]})
    assert repair.insert(drafts, [nursing]) == ["nursing"]
    assert repair.swap_in(drafts, [nursing], deadline=time.monotonic() + 5) == []
    assert drafts[0].route().visit_ids == ["nursing"] and drafts[1].route().visit_ids == ["ordinary"]
    assert h(9) == drafts[0].route().stops[0].start
