"""Family care beds (家庭养老照护床位): opening, ending, and whether the weekly visits happened.

A bed is an institution's promise to visit an elder at home at least
``min_visits_per_week`` times. Compliance counts only visits that really took
place: orders of the bed that reached check-out (checked out, confirmed or
settled) with a check-in inside the week. Cancelled, no-show and disputed
orders do not count, and neither does a visit merely planned.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.core import audit
from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.core.models import AuditAction
from yiyang.core.scoping import area_prefix_q
from yiyang.organizations.models import Organization, OrganizationKind
from yiyang.people.models import Elder

from .models import FamilyCareBed, ServiceOrder, ServicePlan
from .rules import Status, week_start

COMPLETED = (Status.CHECKED_OUT, Status.CONFIRMED, Status.SETTLED)
MAX_VISITS_PER_WEEK = 21
COUNTY_CODE_LENGTH = 6


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


@transaction.atomic
def open_bed(*, acting_user, elder_id, institution_id, contract_no: str, first_day: dt.date, care_plan: str,
             min_visits_per_week: int = 2, remote_monitoring: bool = False,
             last_day: dt.date | None = None) -> FamilyCareBed:
    """A bed for a living elder in the user's jurisdiction, contracted with an institution of the elder's county."""
    if not acting_user.has_perm("homecare.add_familycarebed"):
        raise PermissionDenied(_("You may not open family care beds."))
    elder = (Elder.objects.for_user(acting_user).filter(pk=elder_id).select_related("area").first()
             if str(elder_id).isdigit() else None)
    if elder is None:
        raise ValidationError({"elder": [_("No such elder in your jurisdiction.")]})
    errors: dict[str, list[str]] = {}
    if elder.status != "alive":
        errors["elder"] = [_("Family care beds are opened only for living elders registered here.")]
    county = elder.area_id[:COUNTY_CODE_LENGTH]
    institution = (Organization.objects.filter(area_prefix_q("area", county), pk=institution_id, is_active=True,
                                               kind=OrganizationKind.INSTITUTION).first()
                   if str(institution_id).isdigit() else None)
    if institution is None:
        errors["institution"] = [_("Choose a care institution of the elder's county.")]
    if not (contract_no or "").strip():
        errors["contract_no"] = [_("Enter the contract number.")]
    if not (care_plan or "").strip():
        errors["care_plan"] = [_("Describe the care plan.")]
    if min_visits_per_week is None or not 1 <= min_visits_per_week <= MAX_VISITS_PER_WEEK:
        errors["min_visits_per_week"] = [_("Between 1 and %(max)s visits a week.") % {"max": MAX_VISITS_PER_WEEK}]
    if first_day is None:
        errors["first_day"] = [_("Enter the first day.")]
    elif last_day is not None and last_day < first_day:
        errors["last_day"] = [_("The last day cannot be before the first day.")]
    if FamilyCareBed.objects.filter(elder=elder, status=FamilyCareBed.Status.ACTIVE).exists():
        errors["elder"] = [_("The elder already has an active family care bed.")]
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            bed = FamilyCareBed.objects.create(
                elder=elder, institution=institution, contract_no=contract_no.strip()[:64], first_day=first_day,
                last_day=last_day, care_plan=care_plan.strip(), min_visits_per_week=min_visits_per_week,
                remote_monitoring=bool(remote_monitoring))
    except IntegrityError:  # opened by someone else a moment ago
        raise ValidationError({"elder": [_("The elder already has an active family care bed.")]}) from None
    audit.record(AuditAction.CREATE, actor=acting_user, obj=bed, area_code=elder.area_id,
                 after={"institution": institution.pk, "contract_no": bed.contract_no, "first_day": _iso(first_day),
                        "last_day": _iso(last_day), "min_visits_per_week": min_visits_per_week})
    return bed


@transaction.atomic
def end_bed(bed: FamilyCareBed, *, acting_user, last_day: dt.date, reason: str) -> FamilyCareBed:
    """End an active bed on ``last_day``; the recurring plans of the bed end with it."""
    from . import plans

    if not acting_user.has_perm("homecare.change_familycarebed"):
        raise PermissionDenied(_("You may not end family care beds."))
    bed = FamilyCareBed.objects.for_user(acting_user).select_for_update().filter(pk=bed.pk).first()
    if bed is None:
        raise PermissionDenied(_("No such family care bed in your jurisdiction."))
    if bed.status != FamilyCareBed.Status.ACTIVE:
        raise ValidationError(_("This family care bed has already ended."))
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Say why (a reason is required).")]})
    if last_day is None or last_day < bed.first_day:
        raise ValidationError({"last_day": [_("The last day cannot be before the first day.")]})
    before = {"status": bed.status, "last_day": _iso(bed.last_day)}
    bed.status, bed.last_day = FamilyCareBed.Status.ENDED, last_day
    bed.save(update_fields=["status", "last_day"])
    for plan in ServicePlan.objects.filter(bed=bed, is_active=True).exclude(last_day__lte=last_day):
        plans.end_plan(plan, acting_user=acting_user, last_day=last_day,
                       reason=_("The family care bed ended: %(reason)s") % {"reason": reason.strip()})
    audit.record(AuditAction.UPDATE, actor=acting_user, obj=bed, area_code=bed.elder.area_id, before=before,
                 after={"status": bed.status, "last_day": _iso(last_day)}, note=reason.strip()[:500])
    return bed


# --- compliance ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Compliance:
    bed: FamilyCareBed
    week: dt.date  # the Monday
    visits: int
    required: int

    @property
    def met(self) -> bool:
        return self.visits >= self.required


def week_bounds(week_monday: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Monday 00:00 to the next Monday 00:00, local time, of the week holding ``week_monday``."""
    monday = week_start(week_monday)
    start = timezone.make_aware(dt.datetime.combine(monday, dt.time.min))
    return start, timezone.make_aware(dt.datetime.combine(monday + dt.timedelta(days=7), dt.time.min))


def _visits(beds, week_monday: dt.date) -> dict[int, int]:
    start, end = week_bounds(week_monday)
    rows = (ServiceOrder.objects.filter(bed__in=beds, status__in=COMPLETED, checked_in_at__gte=start,
                                        checked_in_at__lt=end)
            .order_by().values_list("bed").annotate(n=Count("id")))
    return dict(rows)


def weekly_compliance(bed: FamilyCareBed, week_monday: dt.date) -> Compliance:
    """Completed visits of the bed with a check-in in that week (Monday to Sunday, local time)."""
    return Compliance(bed, week_start(week_monday), _visits([bed.pk], week_monday).get(bed.pk, 0),
                      bed.min_visits_per_week)


def beds_during(queryset, first: dt.date, last: dt.date):
    """Beds whose contract covers at least one day from ``first`` to ``last``."""
    return queryset.filter(first_day__lte=last).filter(Q(last_day__isnull=True) | Q(last_day__gte=first))


def compliance_report(user, week: dt.date) -> list[Compliance]:
    """Every bed the user may see that ran during the week, with its visits; unmet ones first."""
    monday = week_start(week)
    beds = list(beds_during(FamilyCareBed.objects.for_user(user), monday, monday + dt.timedelta(days=6))
                .select_related("elder__area", "institution").order_by("elder__area_id", "elder__name", "pk"))
    visits = _visits([b.pk for b in beds], monday)
    report = [Compliance(b, monday, visits.get(b.pk, 0), b.min_visits_per_week) for b in beds]
    return sorted(report, key=lambda c: c.met)  # stable: unmet first, then by village and name


def bed_count(area_prefix: str, on: dt.date) -> int:
    """Beds of elders in the area whose contract covers ``on`` (for the indicators)."""
    return beds_during(FamilyCareBed.objects.filter(area_prefix_q("elder__area", area_prefix)), on, on).count()
