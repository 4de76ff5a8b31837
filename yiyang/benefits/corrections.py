"""Corrections of months already paid: adjustments (owed more) and recoveries (over-paid), in a later month.

A released month is never changed. When a fact the payroll reads changes for an
elder and reaches back into paid months (a death recorded late, a corrected birth
date, a hardship status closed in the past, an assessment entered late), a
``PayrollRecheck`` is opened for each programme that may have paid the elder. The
next run of the programme recomputes those months for those elders only, with the
same SQL rule as the payroll, and writes the difference against everything paid
for the month as one line: ``adjustment`` (positive) or ``recovery`` (negative).
Recomputing the run replaces its corrections; releasing it settles the rechecks it
saw. Because the difference is taken against all lines of the month, a correction
is never made twice.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from yiyang.core import audit
from yiyang.core.errors import PermissionDenied
from yiyang.core.models import AuditAction
from yiyang.people.models import Elder

from . import applications_rules as app_rules
from . import payroll_sql
from .models import BankStatus, PaymentLine, PayrollRecheck, PayrollRun, Programme
from .rules import RuleError

RECHECK = PayrollRecheck._meta.db_table
LINES = PaymentLine._meta.db_table
ELDER = Elder._meta.db_table


def open_rechecks(elder: Elder, *, since: dt.date | None, reason: str) -> int:
    """Open a recheck for every active programme covering the elder's village; ``since`` None means all months."""
    month = app_rules.first_of_month(since) if since is not None else dt.date(1900, 1, 1)
    programmes = [p for p in Programme.objects.filter(is_active=True) if elder.area_id.startswith(p.area_id)]
    PayrollRecheck.objects.bulk_create([PayrollRecheck(programme=p, elder=elder, since=month, reason=reason[:100])
                                        for p in programmes])
    return len(programmes)


def _open_for_run(run: PayrollRun):
    low, high = run.area_code, run.area_code.ljust(12, "9")
    return PayrollRecheck.objects.filter(programme_id=run.programme_id, settled_by__isnull=True,
                                         elder__area__gte=low, elder__area__lte=high)


def insert_corrections(run: PayrollRun, programme: Programme, tiers_for, conditions_for) -> None:
    """Write adjustment and recovery lines for the open rechecks of elders now living in the run's area.

    Months considered: those a released run of the programme paid, from the
    earliest recheck up to the month before the run. ``tiers_for(month)`` gives a
    month's tiers; ``conditions_for(month)`` the extra keyword arguments of
    ``payroll_sql.expected_lines`` (entitlement join, survival certification).
    """
    open_rechecks_ = _open_for_run(run)
    earliest = open_rechecks_.order_by("since").values_list("since", flat=True).first()
    if earliest is None:
        return
    months = sorted(set(PayrollRun.objects.filter(programme=programme, status=PayrollRun.Status.RELEASED,
                                                  month__gte=earliest, month__lt=run.month)
                        .values_list("month", flat=True)))
    low, high = run.area_code, run.area_code.ljust(12, "9")
    for month in months:
        elders = payroll_sql.Sql().add(f"""SELECT rc.elder_id FROM {RECHECK} rc JOIN {ELDER} re ON re.id = rc.elder_id
            WHERE rc.programme_id = %s AND rc.settled_by_id IS NULL AND rc.since <= %s
              AND re.area_code BETWEEN %s AND %s""", programme.pk, month, low, high)
        expected = payroll_sql.expected_lines(programme, tiers_for(month), month=month, low=programme.area_id,
                                              high=programme.area_id.ljust(12, "9"), only_elders=elders,
                                              **conditions_for(month))
        sql = payroll_sql.Sql().add(f"""INSERT INTO {LINES}
            (run_id, programme_id, elder_id, month, kind, tier, amount_fen, area_code)
            SELECT %s, %s, d.elder_id, %s, CASE WHEN d.diff > 0 THEN 'adjustment' ELSE 'recovery' END,
                   d.tier, d.diff, d.area_code
            FROM (SELECT r.id AS elder_id, r.area_code,
                         COALESCE(x.amount_fen, 0) - COALESCE(p.paid, 0) AS diff,
                         COALESCE(x.tier, p.tier) AS tier
                  FROM {ELDER} r
                  LEFT JOIN (""", run.pk, programme.pk, month)
        sql.extend(expected).add(""") x ON x.elder_id = r.id
                  LEFT JOIN (SELECT pl.elder_id, SUM(pl.amount_fen) AS paid, MAX(pl.tier) AS tier FROM """ + LINES + """ pl
                             WHERE pl.programme_id = %s AND pl.month = %s GROUP BY pl.elder_id) p ON p.elder_id = r.id
                  WHERE r.id IN (""", programme.pk, month)
        sql.extend(elders).add(")) d WHERE d.diff <> 0")
        with connection.cursor() as cursor:
            cursor.execute(sql.text, sql.params)


def delete_unreleased_corrections(programme: Programme, month: dt.date, low: str, high: str) -> None:
    """Corrections written by this month's unreleased runs in the area are recomputed."""
    PaymentLine.objects.filter(programme=programme, run__month=month, area_code__gte=low, area_code__lte=high,
                               run__status=PayrollRun.Status.COMPUTED,
                               kind__in=[PaymentLine.Kind.ADJUSTMENT, PaymentLine.Kind.RECOVERY]).delete()


def settle(run: PayrollRun) -> int:
    """On release: the rechecks the run saw when it was computed are done."""
    return _open_for_run(run).filter(Q(created_at__lte=run.computed_at)).update(settled_by=run)


def mark_recovered(line: PaymentLine, *, acting_user, note: str) -> PaymentLine:
    """Record that an over-payment (a ``recover`` line) was collected from the payee."""
    if not acting_user.has_perm("benefits.approve_payroll"):
        raise PermissionDenied(_("You may not record recoveries."))
    with transaction.atomic():
        line = PaymentLine.objects.for_user(acting_user).select_for_update().filter(pk=line.pk).first()
        if line is None:
            raise PermissionDenied(_("No such payment line in your jurisdiction."))
        if line.bank_status != BankStatus.RECOVER:
            raise RuleError(_("only a line waiting for recovery can be marked recovered"))
        if not note.strip():
            raise RuleError(_("say how the over-payment was recovered (receipt number, date)"))
        line.bank_status, line.bank_note = BankStatus.RECOVERED, note.strip()[:200]
        line.save(update_fields=["bank_status", "bank_note"])
        audit.record(AuditAction.UPDATE, actor=acting_user, obj=line, area_code=line.area_code,
                     before={"bank_status": BankStatus.RECOVER}, after={"bank_status": BankStatus.RECOVERED},
                     note=line.bank_note)
    return line
