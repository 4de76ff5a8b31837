"""One elder's eligibility facts for a month, read the way the SQL payroll reads them (for per-elder paths)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q

from yiyang.assessments.services import current_result
from yiyang.people.models import Elder

from .models import Programme


def grade_on(elder: Elder, programme: Programme, month: dt.date) -> int | None:
    """The ability grade valid on the month's first day, for grade-based programmes (else None)."""
    if programme.tier_basis != Programme.TierBasis.GRADE:
        return None
    result = current_result(elder, month)
    return result.grade if result else None


def hardship_ok(elder: Elder, programme: Programme, month: dt.date) -> bool:
    """True when the programme asks for no hardship status or the elder held one on the month's first day."""
    if not programme.hardship_categories:
        return True
    return elder.hardships.filter(category__in=programme.hardship_categories, start_date__lte=month).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=month)).exists()
