"""Scoring and grading as pure functions.

GB/T 42195-2022: the dimension sums and the total give a preliminary grade
(Annex C.3); the change rules (C.4) then apply: coma → 4 (完全失能) directly;
diagnosed dementia or another psychiatric disorder → one grade worse; two or
more care-risk events (falls, choking, self-harm, wandering off) in the last 30
days → one grade worse; never beyond 4. Whether both conditions together add
one or two grades is UNVERIFIED in the standard's public text, so it is a
setting (``combined_steps``, default 1).

MZ/T 039-2013 (historic records): four dimension grades 0–3 combined by the
standard's matrix into 0–3, then its own change rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .instruments import GB_T_42195_2022, INSTRUMENTS, Instrument

WORST_GRADE = 4
RISK_EVENTS_THRESHOLD = 2


class ScoringError(ValueError):
    """The form is not complete or not valid; ``errors`` maps item codes to reasons."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Score:
    total: int
    dimensions: dict[str, int]
    preliminary_grade: int
    grade: int
    reasons: tuple[str, ...] = field(default=())


def validate_items(instrument: Instrument, items: Mapping[str, object]) -> dict[str, int]:
    """Every item present, known, an integer among its options; errors name the item."""
    errors: dict[str, str] = {}
    known = instrument.items
    for code in items:
        if code not in known:
            errors[code] = "unknown item"
    for code, item in known.items():
        if code not in items:
            errors[code] = "missing"
            continue
        value = items[code]
        if isinstance(value, bool) or not isinstance(value, int):
            errors[code] = "must be an integer"
        elif value not in item.scores:
            errors[code] = f"out of range: {item.name} scores {min(item.scores)}–{item.max_score}"
    if errors:
        raise ScoringError(errors)
    return {code: int(items[code]) for code in known}


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
    """Score a complete GB/T 42195-2022 form."""
    if instrument not in INSTRUMENTS:
        raise ScoringError({"instrument": f"unknown instrument {instrument}"})
    if isinstance(risk_events_30d, bool) or not isinstance(risk_events_30d, int) or risk_events_30d < 0:
        raise ScoringError({"risk_events_30d": "must be a non-negative integer"})
    spec = INSTRUMENTS[instrument]
    values = validate_items(spec, items)
    dimensions = {dim.code: sum(values[item.code] for item in dim.items) for dim in spec.dimensions}
    total = sum(dimensions.values())
    first = preliminary_grade(spec, total)
    final, reasons = apply_change_rules(first, coma=coma, dementia=dementia, risk_events_30d=risk_events_30d,
                                        combined_steps=combined_steps)
    return Score(total=total, dimensions=dimensions, preliminary_grade=first, grade=final, reasons=reasons)


# --- MZ/T 039-2013 ---------------------------------------------------------------

MZT_GRADE_NAMES = {0: "能力完好", 1: "轻度失能", 2: "中度失能", 3: "重度失能"}


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
