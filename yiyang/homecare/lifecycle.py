"""Registry events home care follows: a recorded death ends plans and beds and cancels open orders.

Connected in ``HomecareConfig.ready``; the registry only sends signals.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from yiyang.people.models import Elder

from . import services
from .models import FamilyCareBed, ServiceOrder, ServicePlan
from .rules import TransitionError

CANCELLABLE = ("requested", "accepted", "assigned", "on_the_way")


def end_care_after_death(sender, elder: Elder, since, reason: str, acting_user=None, **kwargs) -> None:
    """Nothing is planned, held or sent for someone who has died (voucher draws are given back)."""
    if elder.status != "deceased" or elder.death_date is None:
        return
    day: dt.date = elder.death_date
    ServicePlan.objects.filter(elder=elder, is_active=True).filter(Q(last_day__isnull=True) | Q(last_day__gt=day)).update(
        last_day=day)
    FamilyCareBed.objects.filter(elder=elder, status=FamilyCareBed.Status.ACTIVE).update(
        status=FamilyCareBed.Status.ENDED, last_day=day)
    first_moment = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    for order in ServiceOrder.objects.filter(elder=elder, status__in=CANCELLABLE, window_end__gt=first_moment):
        try:
            services.cancel(order, acting_user=None, reason="elder deceased")
        except TransitionError:  # moved meanwhile by someone else; nothing to undo
            continue
