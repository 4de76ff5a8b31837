"""The workflow's pure rules: the state machine (every pair), validity dates, MZ/T 039 forms, drafts."""

import datetime as dt
import itertools

import pytest

from yiyang.assessments import rules
from yiyang.assessments.instruments import GB_T_42195_2022, MZ_T_039_2013
from yiyang.assessments.rules import Action, Status

# The documented workflow, written out independently of rules.TRANSITIONS.
EXPECTED = {
    ("requested", "assign"): "assigned",
    ("assigned", "assign"): "assigned",
    ("assigned", "save_draft"): "in_progress",
    ("in_progress", "save_draft"): "in_progress",
    ("returned", "save_draft"): "in_progress",
    ("in_progress", "sign"): "in_progress",
    ("in_progress", "submit"): "submitted",
    ("submitted", "approve"): "approved",
    ("submitted", "return"): "returned",
    ("requested", "cancel"): "cancelled",
    ("assigned", "cancel"): "cancelled",
    ("in_progress", "cancel"): "cancelled",
    ("returned", "cancel"): "cancelled",
    ("submitted", "cancel"): "cancelled",
}


@pytest.mark.parametrize(("status", "action"), list(itertools.product(Status.values, Action.values)))
def test_every_status_and_action(status, action):
    if (status, action) in EXPECTED:
        assert rules.next_status(status, action) == EXPECTED[(status, action)]
    else:
        with pytest.raises(rules.TransitionError) as excinfo:
            rules.next_status(status, action)
        message = excinfo.value.message_dict["status"][0]
        assert str(Action(action).label) in message and str(Status(status).label) in message


def test_final_states_allow_nothing_and_open_states_can_be_cancelled():
    assert not [key for key in rules.TRANSITIONS if key[0] in (Status.APPROVED, Status.CANCELLED)]
    assert rules.OPEN_STATUSES == set(Status.values) - {"approved", "cancelled"}
    assert set(rules.TRANSITIONS) == set(EXPECTED)


@pytest.mark.parametrize(("start", "months", "last_day"), [
    (dt.date(2026, 1, 15), 12, dt.date(2027, 1, 14)),
    (dt.date(2026, 1, 1), 12, dt.date(2026, 12, 31)),
    (dt.date(2026, 12, 1), 1, dt.date(2026, 12, 31)),
    (dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)),  # 31 February rolls to 1 March
    (dt.date(2027, 12, 31), 2, dt.date(2028, 2, 29)),
    (dt.date(2024, 2, 29), 12, dt.date(2025, 2, 28)),
    (dt.date(2026, 8, 31), 6, dt.date(2027, 2, 28)),
    (dt.date(2026, 5, 10), 24, dt.date(2028, 5, 9)),
])
def test_validity_end(start, months, last_day):
    assert rules.validity_end(start, months) == last_day


def test_review_window_counts_calendar_days_after_approval():
    assert rules.review_request_until(dt.date(2026, 1, 20), 15) == dt.date(2026, 2, 4)


def test_default_policy():
    assert rules.DEFAULT_POLICY == rules.Policy(assessors_required=2, validity_months=12, review_request_days=15,
                                                reminder_days_before_expiry=30)


def test_drafts_may_be_partial_but_not_wrong():
    assert rules.validate_items(GB_T_42195_2022, {"B.1.1": 3}, complete=False) == {"B.1.1": 3}
    with pytest.raises(rules.ScoringError) as excinfo:
        rules.validate_items(GB_T_42195_2022, {"B.1.1": 9, "Z.1": 1}, complete=False)
    assert set(excinfo.value.errors) == {"B.1.1", "Z.1"}


def test_conditions_are_checked():
    with pytest.raises(rules.ScoringError) as excinfo:
        rules.validate_conditions(coma="no", dementia=None, risk_events_30d=-1)
    assert set(excinfo.value.errors) == {"coma", "dementia", "risk_events_30d"}


def test_mzt039_is_a_versioned_instrument_graded_by_its_matrix():
    result = rules.score({"adl": 1, "mental": 2, "perception": 2, "social": 2}, instrument=MZ_T_039_2013.code)
    assert result.total is None
    assert result.dimensions == {"adl": 1, "mental": 2, "perception": 2, "social": 2}
    assert result.preliminary_grade == result.grade == 2
    assert MZ_T_039_2013.grade_names[result.grade] == "中度失能"
    worse = rules.score({"adl": 1, "mental": 2, "perception": 2, "social": 2}, instrument=MZ_T_039_2013.code,
                        dementia=True)
    assert worse.grade == 3 and worse.reasons == ("dementia_or_psychiatric",)
    with pytest.raises(rules.ScoringError) as excinfo:
        rules.score({"adl": 4, "mental": 0, "perception": 0}, instrument=MZ_T_039_2013.code)
    assert set(excinfo.value.errors) == {"adl", "social"}
