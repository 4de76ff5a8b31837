"""The payroll's eligibility rule as one SQL SELECT, so the database pays 100,000s of elders in one statement.

``expected_lines`` gives, for one month, every elder the rules pay and how much:
alive on the first day and not moved away, age (completed years on the last day)
within a tier, in a grade-based programme the ability grade valid on the first day
(read through ``assessments.services.current_grade_sql``), a required hardship status
held on the first day, no payment suspension covering the month, local hukou where required, and the area where the elder
lived on the first day (费随人走: a move during the month changes the payer from the
next month on). ``rules.payment_for`` is the same rule for one elder, in Python; the
tests hold the two together.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import connection

from yiyang.assessments.services import current_grade_sql
from yiyang.people.models import Elder, HardshipStatus, ResidenceMove

from . import rules
from .models import Programme, SurvivalCertification, Suspension

ELDER = Elder._meta.db_table
MOVES = ResidenceMove._meta.db_table
HARDSHIP = HardshipStatus._meta.db_table


@dataclass
class Sql:
    """SQL text built in order with its parameters, so the two never drift apart."""

    parts: list[str] = field(default_factory=list)
    params: list = field(default_factory=list)

    def add(self, text: str, *params) -> Sql:
        self.parts.append(text)
        self.params.extend(params)
        return self

    def extend(self, other: Sql) -> Sql:
        return self.add(other.text, *other.params)

    @property
    def text(self) -> str:
        return "\n".join(self.parts)


def _tier_condition(tier: rules.TierSpec, end: dt.date) -> Sql:
    cond = Sql().add("e.birth_date <= %s", rules.birth_cutoff(end, tier.min_age))
    if tier.max_age is not None:
        cond.add("AND e.birth_date > %s", rules.birth_cutoff(end, tier.max_age + 1))
    if tier.grade is not None:
        cond.add("AND e.grade = %s", tier.grade)
    return cond


def _case(tiers: list[rules.TierSpec], end: dt.date, value) -> Sql:
    case = Sql().add("CASE")
    for tier in tiers:
        case.add("WHEN").extend(_tier_condition(tier, end)).add("THEN %s", value(tier))
    return case.add("END")


def first_later_move(month: dt.date) -> Sql:
    """LEFT JOIN ``fm``: each elder's first move after the first day of ``month`` (who then lived elsewhere).

    Moves are few, so this is a small hash join; an elder's village on the first
    day is ``COALESCE(fm.from_area_code, e.area_code)``.
    """
    return Sql().add(f"""LEFT JOIN (SELECT m.elder_id, m.from_area_code FROM {MOVES} m WHERE m.moved_on > %s
        AND NOT EXISTS (SELECT 1 FROM {MOVES} m2 WHERE m2.elder_id = m.elder_id AND m2.moved_on > %s
                        AND m2.moved_on < m.moved_on)) fm ON fm.elder_id = e.id""", month, month)


def _fence() -> str:
    """Keeps PostgreSQL from pulling the inner query up, which would evaluate its grade subquery per tier."""
    return "OFFSET 0" if connection.vendor == "postgresql" else "LIMIT -1 OFFSET 0"


def expected_lines(programme: Programme, tiers: list[rules.TierSpec], *, month: dt.date, low: str, high: str,
                   join: Sql | None = None, certified_since: dt.date | None = None,
                   only_elders: Sql | None = None) -> Sql:
    """SELECT elder_id, tier, amount_fen, area_code for everyone paid for ``month`` whose area then lay in [low, high].

    ``join`` adds a table the elder must match (an application programme's
    entitlements); ``certified_since`` requires a survival certification from that
    day to the month's end; ``only_elders`` restricts to a subquery of elder ids.
    """
    end = rules.last_day(month)
    by_grade = programme.tier_basis == Programme.TierBasis.GRADE
    youngest = min(t.min_age for t in tiers)
    capped = all(t.max_age is not None for t in tiers)
    inner = Sql().add("SELECT e.id, e.birth_date, COALESCE(fm.from_area_code, e.area_code) AS area_code,")
    if by_grade:
        inner.add(current_grade_sql("e.id") + " AS grade", month, month)
    else:
        inner.add("NULL AS grade")
    inner.add(f"FROM {ELDER} e").extend(first_later_move(month))
    if join is not None:
        inner.extend(join)
    inner.add("WHERE COALESCE(fm.from_area_code, e.area_code) BETWEEN %s AND %s", low, high)
    inner.add("AND e.birth_date <= %s", rules.birth_cutoff(end, youngest))
    if capped:
        inner.add("AND e.birth_date > %s", rules.birth_cutoff(end, max(t.max_age for t in tiers) + 1))
    inner.add("AND e.status <> 'moved_away' AND (e.death_date IS NULL OR e.death_date >= %s)", month)
    if programme.hukou_required:
        inner.add("AND e.hukou_area_code LIKE %s", programme.area_id + "%")
    if programme.hardship_categories:
        marks = ", ".join(["%s"] * len(programme.hardship_categories))
        inner.add(f"""AND EXISTS (SELECT 1 FROM {HARDSHIP} h WHERE h.elder_id = e.id AND h.category IN ({marks})
                      AND h.start_date <= %s AND (h.end_date IS NULL OR h.end_date >= %s))""",
                  *programme.hardship_categories, month, month)
    inner.add(f"""AND NOT EXISTS (SELECT 1 FROM {Suspension._meta.db_table} su WHERE su.programme_id = %s
                  AND su.elder_id = e.id AND su.from_month <= %s AND (su.until_month IS NULL OR su.until_month >= %s))""",
              programme.pk, month, month)
    if certified_since is not None:
        inner.add(f"""AND EXISTS (SELECT 1 FROM {SurvivalCertification._meta.db_table} sc
                      WHERE sc.elder_id = e.id AND sc.certified_on >= %s AND sc.certified_on <= %s)""",
                  certified_since, end)
    if only_elders is not None:
        inner.add("AND e.id IN (").extend(only_elders).add(")")
    inner.add(_fence())
    outer = Sql().add("SELECT x.elder_id, x.tier, x.amount_fen, x.area_code FROM (SELECT e.id AS elder_id,")
    outer.extend(_case(tiers, end, lambda t: t.label)).add("AS tier,")
    outer.extend(_case(tiers, end, lambda t: t.amount_fen)).add("AS amount_fen, e.area_code")
    outer.add("FROM (").extend(inner).add(") e) x")
    return outer.add("WHERE x.tier IS NOT NULL")
