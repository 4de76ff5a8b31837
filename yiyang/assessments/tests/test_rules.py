"""GB/T 42195-2022 scoring and grading, and the MZ/T 039-2013 matrix."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yiyang.assessments import rules
from yiyang.assessments.instruments import GB_T_42195_2022 as STANDARD

ITEMS = STANDARD.items
CODES = sorted(ITEMS)


def full_form(**overrides):
    form = {code: item.max_score for code, item in ITEMS.items()}
    form.update(overrides)
    return form


def form_with_total(total: int) -> dict[str, int]:
    """A valid form whose scores add up to ``total`` (lowering items in code order)."""
    form = full_form()
    deficit = STANDARD.max_total - total
    for code in CODES:
        cut = min(deficit, form[code])
        form[code] -= cut
        deficit -= cut
    assert deficit == 0
    return form


forms = st.fixed_dictionaries({code: st.sampled_from(sorted(item.scores)) for code, item in ITEMS.items()})


def test_structure_matches_the_standard():
    assert len(ITEMS) == 26
    assert [d.max_score for d in STANDARD.dimensions] == [32, 15, 28, 15]
    assert STANDARD.max_total == 90
    assert ITEMS["B.2.4"].max_score == 3 and ITEMS["B.3.9"].max_score == 2 and ITEMS["B.3.7"].max_score == 1


@pytest.mark.parametrize(("total", "grade"), [
    (90, 0), (89, 1), (66, 1), (65, 2), (46, 2), (45, 3), (30, 3), (29, 4), (0, 4),
])
def test_every_grade_boundary(total, grade):
    result = rules.score(form_with_total(total))
    assert result.total == total
    assert result.preliminary_grade == grade
    assert result.grade == grade


def test_dimension_sums():
    result = rules.score(full_form(**{"B.1.1": 0, "B.2.4": 1, "B.3.9": 1, "B.4.1": 0}))
    assert result.dimensions == {"B.1": 28, "B.2": 13, "B.3": 27, "B.4": 13}
    assert result.total == 81


@pytest.mark.parametrize(("coma", "dementia", "events", "expected"), [
    (True, False, 0, 4),
    (False, True, 0, 2),
    (False, False, 2, 2),
    (False, False, 1, 1),
    (False, True, 3, 2),  # both conditions: one grade by default (UNVERIFIED, a setting)
])
def test_change_rules_on_a_mild_form(coma, dementia, events, expected):
    result = rules.score(form_with_total(70), coma=coma, dementia=dementia, risk_events_30d=events)
    assert result.preliminary_grade == 1
    assert result.grade == expected


def test_both_conditions_can_count_twice_by_setting():
    assert rules.score(form_with_total(70), dementia=True, risk_events_30d=2, combined_steps=2).grade == 3


def test_change_rules_never_go_beyond_complete_disability():
    assert rules.score(form_with_total(10), dementia=True, risk_events_30d=5, combined_steps=2).grade == 4


@pytest.mark.parametrize(("items", "bad"), [
    (full_form(**{"B.2.4": 4}), "B.2.4"),
    (full_form(**{"B.1.1": -1}), "B.1.1"),
    (full_form(**{"B.3.9": 2.0}), "B.3.9"),
    (full_form(**{"B.9.9": 1}), "B.9.9"),
    ({k: v for k, v in full_form().items() if k != "B.4.5"}, "B.4.5"),
    (full_form(**{"B.3.7": True}), "B.3.7"),
])
def test_bad_items_are_named(items, bad):
    with pytest.raises(rules.ScoringError) as excinfo:
        rules.score(items)
    assert bad in excinfo.value.errors


@given(forms, st.sampled_from(CODES), st.booleans(), st.booleans(), st.integers(0, 5))
def test_grade_never_improves_when_an_item_worsens(form, code, dementia, coma, events):
    before = rules.score(form, dementia=dementia, coma=coma, risk_events_30d=events)
    lower = [s for s in ITEMS[code].scores if s < form[code]]
    for worse in lower:
        after = rules.score({**form, code: worse}, dementia=dementia, coma=coma, risk_events_30d=events)
        assert after.total < before.total
        assert after.grade >= before.grade


@given(forms)
def test_total_is_the_sum_and_grade_matches_bands(form):
    result = rules.score(form)
    assert result.total == sum(form.values())
    expected = 0 if result.total == 90 else 1 if result.total >= 66 else 2 if result.total >= 46 else 3 if result.total >= 30 else 4
    assert result.preliminary_grade == expected == result.grade


@given(*[st.integers(0, 3)] * 4)
def test_mzt039_matrix_is_total_and_monotonic(adl, mental, perception, social):
    level = rules.mzt039_level(adl, mental, perception, social)
    assert 0 <= level <= 3
    for index in range(4):
        grades = [adl, mental, perception, social]
        if grades[index] < 3:
            grades[index] += 1
            assert rules.mzt039_level(*grades) >= level


@pytest.mark.parametrize(("grades", "level"), [
    ((0, 0, 0, 0), 0), ((0, 0, 0, 1), 0), ((0, 1, 0, 0), 1), ((0, 0, 0, 2), 1), ((1, 0, 0, 0), 1),
    ((1, 2, 2, 2), 2), ((1, 3, 0, 0), 2), ((2, 1, 0, 0), 2), ((3, 0, 0, 0), 3), ((2, 2, 2, 2), 3), ((2, 3, 0, 0), 3),
])
def test_mzt039_matrix_cases(grades, level):
    assert rules.mzt039_level(*grades) == level


def test_mzt039_change_rules():
    assert rules.mzt039_grade(0, 0, 0, 0, coma=True) == 3
    assert rules.mzt039_grade(0, 1, 0, 0, dementia=True) == 2
    assert rules.mzt039_grade(3, 0, 0, 0, dementia=True, risk_events_30d=3) == 3
    with pytest.raises(rules.ScoringError):
        rules.mzt039_level(4, 0, 0, 0)
