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


def check_tier_table(tiers: Sequence[TierSpec]) -> None:
    """Tiers valid at one time must neither overlap nor leave gaps, and pay a positive amount."""
    ordered = sorted(tiers, key=lambda t: t.min_age)
    if not ordered:
        raise RuleError(_("a programme needs at least one tier"))
    for tier in ordered:
        if tier.amount_fen <= 0:
            raise RuleError(_("tier %(tier)s: the amount must be more than 0 fen") % {"tier": tier.label})
        if tier.max_age is not None and tier.max_age < tier.min_age:
            raise RuleError(_("tier %(tier)s: the upper age is below the lower age") % {"tier": tier.label})
    for lower, upper in zip(ordered, ordered[1:], strict=False):
        if lower.max_age is None or lower.max_age >= upper.min_age:
            raise RuleError(_("tiers %(lower)s and %(upper)s overlap") % {"lower": lower.label, "upper": upper.label})
        if lower.max_age + 1 != upper.min_age:
            raise RuleError(_("ages %(low)d–%(high)d fall between tiers %(lower)s and %(upper)s") % {
                "low": lower.max_age + 1, "high": upper.min_age - 1, "lower": lower.label, "upper": upper.label})


def tier_for_age(tiers: Sequence[TierSpec], age: int) -> TierSpec | None:
    for tier in tiers:
        if tier.min_age <= age and (tier.max_age is None or age <= tier.max_age):
            return tier
    return None


def is_paid_for_month(*, status: str, death_date: dt.date | None, month: dt.date) -> bool:
    """Alive on the first day of the month, and still living in the platform's area."""
    if status == "moved_away":
        return False
    return death_date is None or death_date >= month


def payment_for(*, birth_date: dt.date, status: str, death_date: dt.date | None, month: dt.date,
                tiers: Sequence[TierSpec]) -> TierSpec | None:
    """The reference rule for one elder and one month (the SQL payroll must agree with it)."""
    if not is_paid_for_month(status=status, death_date=death_date, month=month):
        return None
    return tier_for_age(tiers, age_on(birth_date, last_day(month)))
