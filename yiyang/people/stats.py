"""Counts of the registry for dashboards and the area browser (always within a user's scope)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q
from django.db.models.functions import Substr

from . import rules
from .filters import birth_range_for_age
from .models import Elder, ElderStatus, HardshipCategory, HardshipStatus


def registry_summary(user, today: dt.date | None = None) -> dict:
    """Elders by status, living elders aged 80+, and living elders per open hardship category."""
    today = today or dt.date.today()
    elders = Elder.objects.for_user(user)
    by_status = dict(elders.order_by().values_list("status").annotate(n=Count("id")))
    living = elders.filter(status=ElderStatus.ALIVE)
    open_hardships = dict(
        HardshipStatus.objects.for_user(user)
        .filter(end_date__isnull=True, elder__status=ElderStatus.ALIVE)
        .order_by().values_list("category").annotate(n=Count("elder", distinct=True))
    )
    return {
        "by_status": [(status, by_status.get(status.value, 0)) for status in ElderStatus],
        "advanced_age": living.filter(birth_range_for_age(rules.ADVANCED_AGE, None, today)).count(),
        "hardships": [(category, open_hardships.get(category.value, 0))
                      for category in HardshipCategory if category != HardshipCategory.ADVANCED_AGE],
    }


def elders_by_area(elders, areas) -> list[tuple]:
    """``(area, living, total)`` for each area, from one grouped query on the code prefix."""
    areas = list(areas)
    if not areas:
        return []
    length = len(areas[0].code)
    rows = (elders.annotate(prefix=Substr("area_id", 1, length)).order_by().values("prefix")
            .annotate(total=Count("id"), living=Count("id", filter=Q(status=ElderStatus.ALIVE))))
    counts = {row["prefix"]: (row["living"], row["total"]) for row in rows}
    return [(area, *counts.get(area.code, (0, 0))) for area in areas]

