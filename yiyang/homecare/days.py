"""What "the orders of a day" means for the provider's pages and the planner: local midnight to midnight."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The aware start and end (exclusive) of ``day`` in the site's time zone (Asia/Shanghai)."""
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))
