"""Scoring, grading and the assessment workflow's rules, as pure functions.

GB/T 42195-2022: the dimension sums and the total give a preliminary grade
(Annex C.3); the change rules (C.4) then apply: coma → 4 (完全失能) directly;
diagnosed dementia or another psychiatric disorder → one grade worse; two or
more care-risk events (falls, choking, self-harm, wandering off) in the last 30
days → one grade worse; never beyond 4. Whether both conditions together add
one or two grades is UNVERIFIED in the standard's public text, so it is a
setting (``combined_steps``, default 1).

MZ/T 039-2013 (historic records): four dimension grades 0–3 combined by the
standard's matrix into 0–3, then its own change rules.

The workflow (request → assign → record → sign → submit → review) is a table of
(status, action) → status, so every transition is visible in one place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .instruments import GB_T_42195_2022, INSTRUMENTS, MZ_T_039_2013, Instrument

WORST_GRADE = 4
RISK_EVENTS_THRESHOLD = 2


class ScoringError(ValueError):
    """The form is not complete or not valid; ``errors`` maps item codes to reasons."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Score:
    total: int | None  # None for MZ/T 039-2013, which grades by a matrix, not a total
    dimensions: dict[str, int]
    preliminary_grade: int
    grade: int
    reasons: tuple[str, ...] = field(default=())


def validate_items(instrument: Instrument, items: Mapping[str, object], *, complete: bool = True) -> dict[str, int]:
    """Every item known and an integer among its options, and (unless a draft) present; errors name the item."""
    errors: dict[str, str] = {}
    known = instrument.items
    for code in items:
        if code not in known:
            errors[code] = _("unknown item")
    for code, item in known.items():
        if code not in items:
            if complete:
                errors[code] = _("missing")
            continue
        value = items[code]
        if isinstance(value, bool) or not isinstance(value, int):
            errors[code] = _("must be an integer")
        elif value not in item.scores:
            errors[code] = _("out of range: %(name)s scores %(low)s–%(high)s") % {
                "name": item.name, "low": min(item.scores), "high": max(item.scores)}
    if errors:
        raise ScoringError(errors)
    return {code: int(items[code]) for code in known if code in items}


def validate_conditions(*, coma: object, dementia: object, risk_events_30d: object) -> None:
    """The change-rule inputs: two yes/no answers and a count of events."""
    errors = {}
    for name, value in (("coma", coma), ("dementia", dementia)):
        if not isinstance(value, bool):
            errors[name] = _("must be true or false")
    if isinstance(risk_events_30d, bool) or not isinstance(risk_events_30d, int) or risk_events_30d < 0:
        errors["risk_events_30d"] = _("must be a non-negative integer")
    if errors:
        raise ScoringError(errors)


def preliminary_grade(instrument: Instrument, total: int) -> int:
    for lowest, grade in instrument.grade_bands:
        if total >= lowest:
            return grade
    raise ValueError(f"total {total} below every band")


def apply_change_rules(grade: int, *, coma: bool, dementia: bool, risk_events_30d: int, combined_steps: int = 1) -> tuple[int, tuple[str, ...]]:
    """C.4 change rules; returns the final grade and the rules that applied."""
    if coma:
        return WORST_GRADE, ("coma",)
    reasons = []
    if dementia:
        reasons.append("dementia_or_psychiatric")
    if risk_events_30d >= RISK_EVENTS_THRESHOLD:
        reasons.append("risk_events")
    steps = 0 if not reasons else (1 if len(reasons) == 1 else combined_steps)
    return min(WORST_GRADE, grade + steps), tuple(reasons)


def score(items: Mapping[str, object], *, instrument: str = GB_T_42195_2022.code, coma: bool = False,
          dementia: bool = False, risk_events_30d: int = 0, combined_steps: int = 1) -> Score:
    """Score a complete form of any instrument (GB/T 42195-2022 by default)."""
    if instrument not in INSTRUMENTS:
        raise ScoringError({"instrument": _("unknown instrument %(code)s") % {"code": instrument}})
    validate_conditions(coma=coma, dementia=dementia, risk_events_30d=risk_events_30d)
    spec = INSTRUMENTS[instrument]
    values = validate_items(spec, items)
    if spec is MZ_T_039_2013:
        return _score_mzt039(values, coma=coma, dementia=dementia, risk_events_30d=risk_events_30d)
    dimensions = {dim.code: sum(values[item.code] for item in dim.items) for dim in spec.dimensions}
    total = sum(dimensions.values())
    first = preliminary_grade(spec, total)
    final, reasons = apply_change_rules(first, coma=coma, dementia=dementia, risk_events_30d=risk_events_30d,
                                        combined_steps=combined_steps)
    return Score(total=total, dimensions=dimensions, preliminary_grade=first, grade=final, reasons=reasons)


# --- MZ/T 039-2013 ---------------------------------------------------------------

def mzt039_level(adl: int, mental: int, perception: int, social: int) -> int:
    """Combine the four dimension grades (each 0–3) by the MZ/T 039-2013 matrix (its 5.2)."""
    grades = (adl, mental, perception, social)
    if any(g not in (0, 1, 2, 3) for g in grades):
        raise ScoringError({"dimensions": "each MZ/T 039 dimension grade is 0–3"})
    others = (mental, perception, social)
    if adl == 3 or all(g == 2 for g in grades) or (adl == 2 and 3 in others):
        return 3
    if (adl == 1 and (all(g == 2 for g in others) or 3 in others)) or (adl == 2 and any(g in (1, 2) for g in others)):
        return 2
    if adl == 2:  # every other dimension 0: the matrix's gap, read as moderate (ADL dominates)
        return 2
    if adl == 0 and mental == 0 and perception == 0 and social in (0, 1):
        return 0
    return 1


def mzt039_grade(adl: int, mental: int, perception: int, social: int, *, coma: bool = False, dementia: bool = False,
                 risk_events_30d: int = 0) -> int:
    """MZ/T 039-2013 final level: coma → 重度失能; dementia/psychiatric or ≥2 risk events → one level worse,
    except that a preliminary 重度失能 stays as it is."""
    level = mzt039_level(adl, mental, perception, social)
    if coma:
        return 3
    if level == 3:
        return 3
    worse = dementia or risk_events_30d >= RISK_EVENTS_THRESHOLD
    return min(3, level + 1) if worse else level


def _score_mzt039(grades: dict[str, int], *, coma: bool, dementia: bool, risk_events_30d: int) -> Score:
    first = mzt039_level(**grades)
    final = mzt039_grade(**grades, coma=coma, dementia=dementia, risk_events_30d=risk_events_30d)
    reasons = ("coma",) if coma else tuple(
        name for name, applies in (("dementia_or_psychiatric", dementia),
                                   ("risk_events", risk_events_30d >= RISK_EVENTS_THRESHOLD)) if applies)
    return Score(total=None, dimensions=dict(grades), preliminary_grade=first, grade=final, reasons=reasons)


# --- workflow -----------------------------------------------------------------------


class Status(models.TextChoices):
    REQUESTED = "requested", gettext_lazy("requested")
    ASSIGNED = "assigned", gettext_lazy("assigned")
    IN_PROGRESS = "in_progress", gettext_lazy("in progress")
    SUBMITTED = "submitted", gettext_lazy("submitted")
    APPROVED = "approved", gettext_lazy("approved")
    RETURNED = "returned", gettext_lazy("returned")
    CANCELLED = "cancelled", gettext_lazy("cancelled")


class Action(models.TextChoices):
    ASSIGN = "assign", gettext_lazy("assign assessors")
    SAVE_DRAFT = "save_draft", gettext_lazy("save a draft")
    SIGN = "sign", gettext_lazy("sign")
    SUBMIT = "submit", gettext_lazy("submit")
    APPROVE = "approve", gettext_lazy("approve")
    RETURN = "return", gettext_lazy("return")
    CANCEL = "cancel", gettext_lazy("cancel")


TRANSITIONS: dict[tuple[str, str], str] = {
    (Status.REQUESTED, Action.ASSIGN): Status.ASSIGNED,
    (Status.ASSIGNED, Action.ASSIGN): Status.ASSIGNED,  # assessors can be replaced until answers are saved
    (Status.ASSIGNED, Action.SAVE_DRAFT): Status.IN_PROGRESS,
    (Status.IN_PROGRESS, Action.SAVE_DRAFT): Status.IN_PROGRESS,
    (Status.RETURNED, Action.SAVE_DRAFT): Status.IN_PROGRESS,
    (Status.IN_PROGRESS, Action.SIGN): Status.IN_PROGRESS,
    (Status.IN_PROGRESS, Action.SUBMIT): Status.SUBMITTED,
    (Status.SUBMITTED, Action.APPROVE): Status.APPROVED,
    (Status.SUBMITTED, Action.RETURN): Status.RETURNED,
}
OPEN_STATUSES = frozenset({Status.REQUESTED, Status.ASSIGNED, Status.IN_PROGRESS, Status.RETURNED, Status.SUBMITTED})
TRANSITIONS.update({(status, Action.CANCEL): Status.CANCELLED for status in OPEN_STATUSES})


class TransitionError(ValidationError):
    """The action is not allowed in the assessment's current status (reported on ``status``)."""

    def __init__(self, status: str, action: str):
        self.status, self.action = status, action
        super().__init__({"status": [_("Cannot %(action)s an assessment that is %(status)s.") % {
            "action": Action(action).label, "status": Status(status).label}]})


def next_status(status: str, action: str) -> str:
    """The status after ``action``, or :class:`TransitionError`."""
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise TransitionError(status, action) from None


# --- policy and dates -----------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """An area's assessment settings; the defaults follow MZ/T 039 practice and common local rules."""

    assessors_required: int = 2
    validity_months: int = 12
    review_request_days: int = 15  # 复核 window after approval
    reminder_days_before_expiry: int = 30


DEFAULT_POLICY = Policy()


def validity_end(start: dt.date, months: int) -> dt.date:
    """The last valid day: the day before the same date ``months`` later.

    A date that does not exist then (31 January + 1 month) rolls to the 1st of
    the next month, so a result is never valid for less than the full period.
    """
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    try:
        anniversary = dt.date(year, month, start.day)
    except ValueError:
        anniversary = dt.date(year + month // 12, month % 12 + 1, 1)
    return anniversary - dt.timedelta(days=1)


def review_request_until(approved_on: dt.date, days: int) -> dt.date:
    """The last day a 复核 may be asked for: ``days`` calendar days after approval."""
    return approved_on + dt.timedelta(days=days)
