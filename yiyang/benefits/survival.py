"""Survival certification (生存认证): who may record it, and the arrears owed once a lapse ends.

A programme with ``survival_certification_months`` = N pays a month M only to
elders with a certification dated within [first day of M minus N months, last
day of M] (an EXISTS condition in the payroll's INSERT … SELECT). When a lapsed
elder is certified again, the next run back-pays the months skipped in between
(``back_pay`` lines, unique per programme, elder and month), computed here.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.core import audit
from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.core.models import AuditAction
from yiyang.core.scoping import AREA_CODE_LENGTH
from yiyang.people.models import Elder
from yiyang.people.services import access_elder_by_id

from . import applications_rules as app_rules
from . import facts, rules
from .models import Entitlement, PaymentLine, PayrollRun, Programme, SurvivalCertification

AUDITED = ["elder", "certified_on", "method", "source_reference"]


def window_start(month: dt.date, months_valid: int) -> dt.date:
    """The earliest certification day that still covers ``month``."""
    return app_rules.add_months(month, -months_valid)


@transaction.atomic
def record_survival_certification(elder: Elder, *, acting_user, certified_on: dt.date, method: str,
                                  source_reference: str = "", today: dt.date | None = None) -> SurvivalCertification:
    """Record that ``elder`` was alive on ``certified_on``.

    ``acting_user`` is an official with ``people.change_elder`` whose jurisdiction
    holds the elder, or None for a linked data source (medical insurance, public security).
    """
    today = today or timezone.localdate()
    if acting_user is not None:
        if not (acting_user.has_perm("people.change_elder")
                and acting_user.has_perm("benefits.add_survivalcertification")):
            raise PermissionDenied(_("You do not have permission to do this."))
        access_elder_by_id(acting_user, elder.pk)  # 404 outside the user's jurisdiction
    elif method not in SurvivalCertification.DATA_SOURCES:
        raise ValidationError({"method": [_("Only a linked data source may record without an official.")]})
    elder = Elder.objects.select_for_update().get(pk=elder.pk)
    errors: dict[str, list[str]] = {}
    if method not in SurvivalCertification.Method.values:
        errors["method"] = [_("Choose how the elder was certified.")]
    if not isinstance(certified_on, dt.date):
        errors["certified_on"] = [_("Enter the day of the certification.")]
    elif certified_on > today:
        errors["certified_on"] = [_("The certification day is in the future.")]
    elif elder.birth_date and certified_on < elder.birth_date:
        errors["certified_on"] = [_("The certification day is before the elder's birth.")]
    source_reference = (source_reference or "").strip()
    if len(source_reference) > 100:
        errors["source_reference"] = [_("The reference is longer than 100 characters.")]
    if elder.status == "deceased" or elder.death_date is not None:
        errors["elder"] = [_("The elder is recorded as deceased.")]
    if errors:
        raise ValidationError(errors)
    certification = SurvivalCertification.objects.create(
        elder=elder, certified_on=certified_on, method=method, source_reference=source_reference,
        recorded_by=acting_user if acting_user is not None and acting_user.is_authenticated else None)
    audit.record(AuditAction.CREATE, actor=acting_user, obj=certification, area_code=elder.area_id,
                 after=audit.snapshot(certification, AUDITED), note="survival certification")
    return certification


def _months(first: dt.date, last: dt.date):
    month = first
    while month <= last:
        yield month
        month = app_rules.add_months(month, 1)


def insert_arrears(run: PayrollRun, programme: Programme, tiers_for) -> None:
    """Back-pay the months skipped while an elder's certification had lapsed, once a new one is recorded.

    Candidates: elders in the run's area certified after the last month paid to
    them before the run month. A month is owed if a run of the programme covered
    the elder's area that month, the certification proves the elder alive on its
    first day, the elder was otherwise eligible (``rules.payment_for``, hukou,
    entitlement) and nothing was paid for it. ``tiers_for(month)`` gives the tiers.
    """
    low, high = run.area_code, run.area_code.ljust(AREA_CODE_LENGTH, "9")
    before = Q(payments__programme=programme, payments__month__lt=run.month,
               payments__kind__in=[PaymentLine.Kind.REGULAR, PaymentLine.Kind.BACK_PAY])
    elders = (Elder.objects.filter(area__gte=low, area__lte=high, survival_certifications__isnull=False)
              .annotate(last_paid=Max("payments__month", filter=before),
                        last_certified=Max("survival_certifications__certified_on")))
    run_months = sorted({(m, a) for m, a in PayrollRun.objects.filter(programme=programme, month__lt=run.month)
                         .values_list("month", "area_code")})
    if not run_months:
        return
    cache: dict[dt.date, list] = {}
    lines = []
    for elder in elders:
        if elder.last_paid is not None and elder.last_certified <= rules.last_day(elder.last_paid):
            continue
        if programme.hukou_required and not (elder.hukou_area_code or "").startswith(programme.area_id):
            continue
        proof = elder.last_certified
        first = app_rules.add_months(elder.last_paid, 1) if elder.last_paid else run_months[0][0]
        last = min(app_rules.add_months(run.month, -1), app_rules.first_of_month(proof))
        covered = {m for m, area in run_months if elder.area_id.startswith(area)}
        paid = set(PaymentLine.objects.filter(programme=programme, elder=elder, month__gte=first, month__lte=last,
                                              kind__in=[PaymentLine.Kind.REGULAR, PaymentLine.Kind.BACK_PAY])
                   .values_list("month", flat=True))
        entitlements = (list(Entitlement.objects.filter(programme=programme, elder=elder,
                                                        status=Entitlement.Status.ACTIVE))
                        if programme.enrolment == Programme.Enrolment.APPLICATION else None)
        for month in _months(first, last):
            if month not in covered or month in paid:
                continue
            if entitlements is not None and not any(
                    en.start_month <= month and (en.end_month is None or en.end_month >= month) for en in entitlements):
                continue
            if month not in cache:
                cache[month] = tiers_for(month)
            tier = rules.payment_for(birth_date=elder.birth_date, status=elder.status, death_date=elder.death_date,
                                     month=month, tiers=cache[month], grade=facts.grade_on(elder, programme, month),
                                     hardship_ok=facts.hardship_ok(elder, programme, month))
            if tier is None:
                continue
            lines.append(PaymentLine(run=run, programme=programme, elder=elder, month=month,
                                     kind=PaymentLine.Kind.BACK_PAY, tier=tier.label, amount_fen=tier.amount_fen,
                                     area_code=elder.area_id))
    PaymentLine.objects.bulk_create(lines, ignore_conflicts=True)
