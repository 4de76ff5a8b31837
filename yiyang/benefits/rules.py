"""Payroll rules as pure functions: months, ages on a day, tiers, tier tables.

Conventions (the demo city's rules in CONTRACT.md, configurable per programme later):
- a month M is paid to an elder alive on the first day of M, so the month of death
  is paid in full and nothing after it;
- the tier is the completed age (周岁) on the last day of M, so the birthday month
  already pays the new tier;
- elders who moved away (left the platform's area) are not paid.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _

from yiyang.people.idnumber import age_on

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class RuleError(ValueError):
    """A programme setting or a request breaks a payroll rule; the message is for the user."""


def parse_month(text: str) -> dt.date:
    match = _MONTH.match(text or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise RuleError(_("“%(text)s” is not a month: write YYYY-MM, e.g. 2026-11") % {"text": text})
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


def last_day(month: dt.date) -> dt.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def birth_cutoff(day: dt.date, age: int) -> dt.date:
    """The latest birth date of someone whose completed age on ``day`` is at least ``age``.

    Consistent with :func:`yiyang.people.idnumber.age_on` (a 29 February birthday
    counts on 1 March in common years).
    """
    try:
        return day.replace(year=day.year - age)
    except ValueError:  # 29 February in a common year
        return dt.date(day.year - age, 2, 28)


@dataclass(frozen=True)
class TierSpec:
    label: str
    min_age: int
    max_age: int | None
    amount_fen: int
    grade: int | None = None  # set on every tier of a grade-based programme

    def covers_age(self, age: int) -> bool:
        return self.min_age <= age and (self.max_age is None or age <= self.max_age)


def check_tier_table(tiers: Sequence[TierSpec], *, by_grade: bool = False) -> None:
    """Tiers valid at one time pay a positive amount and never overlap.

    Age tiers must also leave no gap between them. Grade tiers pay one amount per
    ability grade (grades without a tier are not paid); each keeps its own age band.
    """
    ordered = sorted(tiers, key=lambda t: t.min_age)
    if not ordered:
        raise RuleError(_("a programme needs at least one tier"))
    for tier in ordered:
        if tier.amount_fen <= 0:
            raise RuleError(_("tier %(tier)s: the amount must be more than 0 fen") % {"tier": tier.label})
        if tier.max_age is not None and tier.max_age < tier.min_age:
            raise RuleError(_("tier %(tier)s: the upper age is below the lower age") % {"tier": tier.label})
        if by_grade != (tier.grade is not None):
            raise RuleError(_("tier %(tier)s: a grade-based programme gives every tier a grade, an age-based one none")
                            % {"tier": tier.label})
    if by_grade:
        seen = {}
        for tier in ordered:
            if tier.grade in seen:
                raise RuleError(_("tiers %(lower)s and %(upper)s overlap") % {"lower": seen[tier.grade], "upper": tier.label})
            seen[tier.grade] = tier.label
        return
    for lower, upper in zip(ordered, ordered[1:], strict=False):
        if lower.max_age is None or lower.max_age >= upper.min_age:
            raise RuleError(_("tiers %(lower)s and %(upper)s overlap") % {"lower": lower.label, "upper": upper.label})
        if lower.max_age + 1 != upper.min_age:
            raise RuleError(_("ages %(low)d–%(high)d fall between tiers %(lower)s and %(upper)s") % {
                "low": lower.max_age + 1, "high": upper.min_age - 1, "lower": lower.label, "upper": upper.label})


def tier_for_age(tiers: Sequence[TierSpec], age: int, grade: int | None = None) -> TierSpec | None:
    """The tier for an age (and, in a grade-based programme, the grade valid on the first of the month)."""
    for tier in tiers:
        if tier.covers_age(age) and (tier.grade is None or tier.grade == grade):
            return tier
    return None


def is_paid_for_month(*, status: str, death_date: dt.date | None, month: dt.date) -> bool:
    """Alive on the first day of the month, and still living in the platform's area."""
    if status == "moved_away":
        return False
    return death_date is None or death_date >= month


def payment_for(*, birth_date: dt.date, status: str, death_date: dt.date | None, month: dt.date,
                tiers: Sequence[TierSpec], grade: int | None = None, hardship_ok: bool = True) -> TierSpec | None:
    """The reference rule for one elder and one month (the SQL payroll must agree with it).

    ``grade`` is the ability grade valid on the first of the month (grade-based
    programmes); ``hardship_ok`` whether the elder then held a required hardship status.
    """
    if not hardship_ok or not is_paid_for_month(status=status, death_date=death_date, month=month):
        return None
    return tier_for_age(tiers, age_on(birth_date, last_day(month)), grade)
