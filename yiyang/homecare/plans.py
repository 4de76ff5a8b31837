"""Recurring service plans (助餐 every weekday, 助浴 on Thursdays) and the orders they generate.

A plan is checked once, when it is made, with the same rules as an order (the
provider serves the elder's village and offers the service). ``generate_orders``
then creates the plan's orders a few days ahead through ``services.create_order``,
so every order still passes the order's own checks (a voucher balance is drawn
then, a deceased elder gets none). The unique (plan, plan_day) constraint makes
generation idempotent: running the job twice, or two jobs at once, never makes
two orders for one plan day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.benefits.models import VoucherAccount
from yiyang.core import audit
from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.core.models import AuditAction
from yiyang.people.models import Elder

from . import services
from .models import FamilyCareBed, ServiceOrder, ServicePlan, ServiceType
from .rules import Payer, Status

WEEKDAYS = range(1, 8)  # ISO: 1 = Monday … 7 = Sunday
# Orders of an ended plan that nobody has started yet are cancelled with it.
CANCELLED_WITH_PLAN = (Status.REQUESTED, Status.ACCEPTED, Status.ASSIGNED)


def _elder(user, elder_id) -> Elder:
    queryset = Elder.objects.all() if user is None else Elder.objects.for_user(user)
    elder = queryset.filter(pk=elder_id).select_related("area").first() if str(elder_id).isdigit() else None
    if elder is None:
        raise ValidationError({"elder": [_("No such elder in your jurisdiction.")]})
    return elder


def clean_weekdays(values) -> list[int]:
    """ISO weekdays as a sorted list without repeats; ValidationError on anything else."""
    try:
        days = sorted({int(v) for v in values or []})
    except (TypeError, ValueError):
        days = []
    if not days or any(d not in WEEKDAYS for d in days):
        raise ValidationError({"weekdays": [_("Choose at least one weekday (1 = Monday … 7 = Sunday).")]})
    return days


def voucher_programme_for(elder: Elder, service: ServiceType) -> str:
    """The first programme paying ``service`` in which the elder holds a voucher account, or ""."""
    held = set(VoucherAccount.objects.filter(elder=elder).values_list("programme__code", flat=True))
    return next((code for code in service.voucher_programmes if code in held), "")


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


@transaction.atomic
def create_plan(*, acting_user, elder_id, service_code: str, provider_id, weekdays, window_start: dt.time,
                window_end: dt.time, first_day: dt.date, last_day: dt.date | None = None,
                payer: str = Payer.SELF, bed_id=None) -> ServicePlan:
    """A recurring service for an elder in the user's jurisdiction, from a provider that serves the village."""
    if not acting_user.has_perm("homecare.add_serviceplan"):
        raise PermissionDenied(_("You may not create service plans."))
    elder = _elder(acting_user, elder_id)
    errors: dict[str, list[str]] = {}
    if elder.status != "alive":
        errors["elder"] = [_("Services are ordered only for living elders registered here.")]
    service, provider = services.service_and_provider(elder, service_code, provider_id, errors)
    try:
        days = clean_weekdays(weekdays)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        days = []
    if window_start is None or window_end is None or window_end <= window_start:
        errors["window_end"] = [_("The time window must end after it starts.")]
    if first_day is None:
        errors["first_day"] = [_("Enter the first day.")]
    elif last_day is not None and last_day < first_day:
        errors["last_day"] = [_("The last day cannot be before the first day.")]
    if payer not in Payer.values:
        errors["payer"] = [_("Choose who pays.")]
    elif payer == Payer.VOUCHER and service is not None and not voucher_programme_for(elder, service):
        errors["payer"] = [_("No voucher programme the elder may use pays for this service.")]
    bed = None
    if bed_id not in (None, ""):
        bed = FamilyCareBed.objects.filter(pk=bed_id, elder=elder, status=FamilyCareBed.Status.ACTIVE).first() \
            if str(bed_id).isdigit() else None
        if bed is None:
            errors["bed"] = [_("The elder has no such active family care bed.")]
    if errors:
        raise ValidationError(errors)
    plan = ServicePlan.objects.create(
        elder=elder, service_type=service, provider=provider, weekdays=days, window_start=window_start,
        window_end=window_end, first_day=first_day, last_day=last_day, payer=payer, bed=bed,
        created_by=acting_user if acting_user.is_authenticated else None)
    audit.record(AuditAction.CREATE, actor=acting_user, obj=plan, area_code=elder.area_id,
                 after={"service": service.code, "provider": provider.pk, "weekdays": days,
                        "window": [window_start.isoformat(), window_end.isoformat()],
                        "first_day": _iso(first_day), "last_day": _iso(last_day), "payer": payer, "bed": bed.pk if bed else None})
    return plan


@transaction.atomic
def end_plan(plan: ServicePlan, *, acting_user, last_day: dt.date, reason: str,
             today: dt.date | None = None) -> ServicePlan:
    """Stop a plan after ``last_day``; its later orders that nobody has started are cancelled.

    The last day may be the day before the first day: a plan that never delivers.
    """
    if not acting_user.has_perm("homecare.add_serviceplan"):
        raise PermissionDenied(_("You may not change service plans."))
    plan = (ServicePlan.objects.for_user(acting_user).select_for_update().filter(pk=plan.pk)
            .select_related("elder").first())
    if plan is None:
        raise PermissionDenied(_("No such plan in your jurisdiction."))
    if not reason.strip():
        raise ValidationError({"reason": [_("Say why (a reason is required).")]})
    if last_day is None or last_day < plan.first_day - dt.timedelta(days=1):
        raise ValidationError({"last_day": [_("The plan cannot end before it starts.")]})
    if plan.last_day is not None and plan.last_day < last_day:
        raise ValidationError({"last_day": [_("The plan already ends on %(day)s.") % {"day": plan.last_day}]})
    before = {"last_day": _iso(plan.last_day), "is_active": plan.is_active}
    plan.last_day, plan.is_active = last_day, last_day >= (today or timezone.localdate())
    plan.save(update_fields=["last_day", "is_active"])
    for order in plan.orders.filter(plan_day__gt=last_day, status__in=CANCELLED_WITH_PLAN):
        services.cancel(order, acting_user=acting_user,
                        reason=_("The plan ended: %(reason)s") % {"reason": reason.strip()})
    audit.record(AuditAction.UPDATE, actor=acting_user, obj=plan, area_code=plan.elder.area_id, before=before,
                 after={"last_day": _iso(last_day), "is_active": plan.is_active}, note=reason.strip()[:500])
    return plan


# --- generation ------------------------------------------------------------------------------


@dataclass
class Generated:
    """What one run of the generator did: orders made, plan days already ordered, refusals."""

    created: list[ServiceOrder] = field(default_factory=list)
    existing: int = 0
    failed: list[tuple[ServicePlan, dt.date, str]] = field(default_factory=list)


def plan_days(plan: ServicePlan, start: dt.date, until: dt.date) -> list[dt.date]:
    """The days from ``start`` to ``until`` (inclusive) on which ``plan`` delivers."""
    first = max(start, plan.first_day)
    last = until if plan.last_day is None else min(until, plan.last_day)
    if plan.bed_id is not None and plan.bed.status == FamilyCareBed.Status.ENDED:
        if plan.bed.last_day is None:
            return []
        last = min(last, plan.bed.last_day)
    days, day = [], first
    while day <= last:
        if day.isoweekday() in plan.weekdays:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def _window(plan: ServicePlan, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return (timezone.make_aware(dt.datetime.combine(day, plan.window_start)),
            timezone.make_aware(dt.datetime.combine(day, plan.window_end)))


def _message(exc: ValidationError) -> str:
    return "; ".join(exc.messages)


def generate_orders(*, until: dt.date, today: dt.date) -> Generated:
    """Create the orders of every active plan for each matching day from ``today`` to ``until``.

    Each order is its own savepoint: one refused day (the voucher balance ran out,
    the provider stopped serving the village) does not stop the others, and a
    plan day ordered meanwhile by a concurrent run is counted, not doubled.
    """
    result = Generated()
    plans = (ServicePlan.objects.filter(is_active=True, first_day__lte=until)
             .exclude(last_day__lt=today).select_related("service_type", "bed", "elder").order_by("pk"))
    for plan in plans:
        days = plan_days(plan, today, until)
        if not days:
            continue
        ordered = set(ServiceOrder.objects.filter(plan=plan, plan_day__in=days).values_list("plan_day", flat=True))
        programme = voucher_programme_for(plan.elder, plan.service_type) if plan.payer == Payer.VOUCHER else ""
        for day in days:
            if day in ordered:
                result.existing += 1
                continue
            start, end = _window(plan, day)
            try:
                with transaction.atomic():
                    order = services.create_order(
                        acting_user=None, elder_id=plan.elder_id, service_code=plan.service_type.code,
                        provider_id=plan.provider_id, window_start=start, window_end=end, payer=plan.payer,
                        voucher_programme=programme, channel=ServiceOrder.Channel.PLAN, plan=plan, plan_day=day,
                        bed=plan.bed)
            except IntegrityError:
                result.existing += 1  # a concurrent run made it first
            except ValidationError as exc:
                result.failed.append((plan, day, _message(exc)))
            else:
                result.created.append(order)
    return result
