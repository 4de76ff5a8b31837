"""Payroll rules: months, birth cut-offs, tier tables, the per-elder reference rule."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yiyang.benefits import rules
from yiyang.people.idnumber import age_on

GAOLING = [
    rules.TierSpec("80-89", 80, 89, 2_500),
    rules.TierSpec("90-99", 90, 99, 10_000),
    rules.TierSpec("100+", 100, None, 40_000),
]


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "202611", "2026/11", "", "2026-1"])
def test_parse_month_refuses(text):
    with pytest.raises(rules.RuleError):
        rules.parse_month(text)


def test_parse_month_and_last_day():
    assert rules.parse_month("2028-02") == dt.date(2028, 2, 1)
    assert rules.last_day(dt.date(2028, 2, 1)) == dt.date(2028, 2, 29)
    assert rules.last_day(dt.date(2027, 2, 1)) == dt.date(2027, 2, 28)


@given(st.dates(dt.date(1900, 1, 1), dt.date(2030, 12, 31)), st.dates(dt.date(2000, 1, 1), dt.date(2040, 12, 31)),
       st.integers(0, 110))
def test_birth_cutoff_agrees_with_age_on(birth, day, age):
    assert (birth <= rules.birth_cutoff(day, age)) == (age_on(birth, day) >= age)


@pytest.mark.parametrize(("tiers", "message"), [
    ([rules.TierSpec("a", 80, 90, 1), rules.TierSpec("b", 90, None, 2)], "overlap"),
    ([rules.TierSpec("a", 80, 88, 1), rules.TierSpec("b", 90, None, 2)], "fall between"),
    ([rules.TierSpec("a", 80, None, 1), rules.TierSpec("b", 90, None, 2)], "overlap"),
    ([rules.TierSpec("a", 80, 89, 0)], "more than 0"),
    ([rules.TierSpec("a", 80, 70, 5)], "upper age"),
    ([], "at least one"),
])
def test_bad_tier_tables_are_refused(tiers, message):
    with pytest.raises(rules.RuleError, match=message):
        rules.check_tier_table(tiers)


def test_gaoling_table_is_valid():
    rules.check_tier_table(GAOLING)


@pytest.mark.parametrize(("birth", "month", "tier"), [
    (dt.date(1946, 11, 30), "2026-11", "80-89"),   # turns 80 on the last day: paid this month
    (dt.date(1946, 12, 1), "2026-11", None),       # turns 80 next month
    (dt.date(1936, 11, 1), "2026-11", "90-99"),    # birthday month already pays the new tier
    (dt.date(1936, 12, 1), "2026-11", "80-89"),
    (dt.date(1926, 11, 15), "2026-11", "100+"),
    (dt.date(1948, 2, 29), "2028-02", "80-89"),    # leap birthday in a leap February
    (dt.date(1947, 2, 29 - 1), "2027-02", "80-89"),
])
def test_tier_follows_age_on_the_last_day(birth, month, tier):
    found = rules.payment_for(birth_date=birth, status="alive", death_date=None, month=rules.parse_month(month), tiers=GAOLING)
    assert (found.label if found else None) == tier


@pytest.mark.parametrize(("status", "death", "paid"), [
    ("alive", None, True),
    ("deceased", dt.date(2026, 11, 1), True),    # alive on the 1st: the month of death is paid in full
    ("deceased", dt.date(2026, 11, 30), True),
    ("deceased", dt.date(2026, 10, 31), False),  # died before the month began
    ("moved_away", None, False),
])
def test_death_and_move_rules(status, death, paid):
    found = rules.payment_for(birth_date=dt.date(1940, 1, 1), status=status, death_date=death,
                              month=dt.date(2026, 11, 1), tiers=GAOLING)
    assert (found is not None) == paid
