"""County approval and release of a computed payroll run.

A run's lines may span several counties (a city run). Each county approves the
figures of its own part; the run is released to the bank only when every county
with lines in it has approved exactly the figures still in the run. After
release the run's lines never change: corrections go into a later month.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, Sum
from django.db.models.functions import Substr
from django.utils.translation import gettext as _

from yiyang.core import audit
from yiyang.core.errors import PermissionDenied
from yiyang.core.models import AuditAction
from yiyang.core.scoping import code_in_scope

from . import corrections, vouchers
from .models import BankStatus, PayrollApproval, PayrollRun, Programme
from .rules import RuleError


def county_totals(run: PayrollRun) -> dict[str, tuple[int, int]]:
    """{county code: (lines, total fen)} of the run as it stands."""
    rows = (run.lines.annotate(county=Substr("area_code", 1, 6)).values("county")
            .annotate(n=Count("id"), total=Sum("amount_fen")).order_by("county"))
    return {row["county"]: (row["n"], row["total"]) for row in rows}


@transaction.atomic
def approve_county(run: PayrollRun, *, county_code: str, acting_user) -> PayrollApproval:
    if not acting_user.has_perm("benefits.approve_payroll"):
        raise PermissionDenied(_("You may not approve payrolls."))
    if not (acting_user.is_superuser or code_in_scope(county_code, acting_user.scope_code)):
        raise PermissionDenied(_("County %(code)s is outside your jurisdiction.") % {"code": county_code})
    run = PayrollRun.objects.select_for_update().get(pk=run.pk)
    if run.status != PayrollRun.Status.COMPUTED:
        raise RuleError(_("the run is already %(status)s") % {"status": run.get_status_display()})
    totals = county_totals(run)
    if county_code not in totals:
        raise RuleError(_("the run has no payments in county %(code)s") % {"code": county_code})
    lines, total = totals[county_code]
    PayrollApproval.objects.filter(run=run, county_code=county_code).delete()  # re-approval after a recompute
    approval = PayrollApproval.objects.create(run=run, county_code=county_code, approved_by=acting_user,
                                              line_count=lines, total_fen=total)
    audit.record(AuditAction.UPDATE, actor=acting_user, obj=run, area_code=county_code,
                 after={"approved_county": county_code, "lines": lines, "total_fen": total}, note="payroll approval")
    return approval


@transaction.atomic
def release(run: PayrollRun, *, acting_user) -> PayrollRun:
    """Release when every county approved the figures that are still in the run."""
    if not acting_user.has_perm("benefits.approve_payroll"):
        raise PermissionDenied(_("You may not release payrolls."))
    if not (acting_user.is_superuser or code_in_scope(run.area_code, acting_user.scope_code)):
        raise PermissionDenied(_("Area %(code)s is outside your jurisdiction.") % {"code": run.area_code})
    run = PayrollRun.objects.select_for_update().get(pk=run.pk)
    if run.status != PayrollRun.Status.COMPUTED:
        raise RuleError(_("the run is already %(status)s") % {"status": run.get_status_display()})
    totals = county_totals(run)
    if not totals:
        raise RuleError(_("the run has no payments to release"))
    approved = {a.county_code: (a.line_count, a.total_fen) for a in run.approvals.all()}
    missing = sorted(c for c in totals if c not in approved)
    if missing:
        raise RuleError(_("counties still to approve: %(counties)s") % {"counties": ", ".join(missing)})
    changed = sorted(c for c, figures in totals.items() if approved[c] != figures)
    if changed:
        raise RuleError(_("the run changed after approval in: %(counties)s; approve again") % {"counties": ", ".join(changed)})
    run.status = PayrollRun.Status.RELEASED
    run.save(update_fields=["status"])
    # Over-payments are never sent to the bank: they are recovered from the payee.
    run.lines.filter(amount_fen__lt=0).update(bank_status=BankStatus.RECOVER)
    if run.programme.payment_mode == Programme.PaymentMode.VOUCHER:
        vouchers.credit_released_run(run)
    corrections.settle(run)
    audit.record(AuditAction.UPDATE, actor=acting_user, obj=run, area_code=run.area_code,
                 before={"status": "computed"}, after={"status": "released", "total_fen": run.total_fen}, note="payroll release")
    return run
