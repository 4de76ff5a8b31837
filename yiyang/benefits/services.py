"""Payroll operations: each is one transaction, audited, safe to repeat."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.core import audit
from yiyang.core.errors import PermissionDenied
from yiyang.core.models import AuditAction
from yiyang.core.scoping import AREA_CODE_LENGTH, code_in_scope

from . import applications_rules as app_rules
from . import corrections, payroll_sql, rules, survival
from .models import Entitlement, PaymentLine, PayrollRun, Programme, Tier


@dataclass(frozen=True)
class RunResult:
    run: PayrollRun
    line_count: int
    total_fen: int


def tiers_in_force(programme: Programme, month: dt.date) -> list[rules.TierSpec]:
    """The tier table valid on the first day of ``month``, checked for overlaps and gaps."""
    rows = Tier.objects.filter(programme=programme, effective_from__lte=month).filter(
        Q(effective_to__isnull=True) | Q(effective_to__gte=month)).order_by("min_age")
    specs = [rules.TierSpec(t.label, t.min_age, t.max_age, t.amount_fen, t.grade) for t in rows]
    rules.check_tier_table(specs, by_grade=programme.tier_basis == Programme.TierBasis.GRADE)
    return specs


def _check_request(programme: Programme, month: dt.date, area_code: str, acting_user, today: dt.date) -> None:
    if month > today.replace(day=1):
        raise rules.RuleError(_("%(month)s has not begun: a payroll can be run for the current month or earlier")
                              % {"month": f"{month:%Y-%m}"})
    if not area_code.startswith(programme.area_id):
        raise rules.RuleError(_("area %(area)s lies outside the programme's area %(programme_area)s")
                              % {"area": area_code, "programme_area": programme.area_id})
    if acting_user is not None:
        if not acting_user.has_perm("benefits.run_payroll"):
            raise PermissionDenied(_("You may not run payrolls."))
        if not (acting_user.is_superuser or code_in_scope(area_code, acting_user.scope_code)):
            raise PermissionDenied(_("Area %(code)s is outside your jurisdiction.") % {"code": area_code})


def _insert(run: PayrollRun, programme: Programme, month: dt.date, kind: str, expected: payroll_sql.Sql,
            extra_where: payroll_sql.Sql | None = None) -> None:
    """INSERT … SELECT the expected lines; a line already paid by a released run is skipped.

    The partial unique index does the skipping (ON CONFLICT … DO NOTHING): a NOT
    EXISTS on the table being filled would rescan every fresh row on PostgreSQL.
    """
    kind = PaymentLine.Kind(kind).value  # a fixed literal: the ON CONFLICT predicate must match the index's
    sql = payroll_sql.Sql().add(f"""INSERT INTO {PaymentLine._meta.db_table}
        (run_id, programme_id, elder_id, month, kind, tier, amount_fen, area_code)
        SELECT %s, %s, x.elder_id, %s, '{kind}', x.tier, x.amount_fen, x.area_code FROM (""", run.pk, programme.pk, month)
    sql.extend(expected).add(") x WHERE 1 = 1")
    if extra_where is not None:
        sql.extend(extra_where)
    sql.add(f"ON CONFLICT (programme_id, elder_id, month) WHERE kind = '{kind}' DO NOTHING")
    with connection.cursor() as cursor:
        cursor.execute(sql.text, sql.params)


def _entitlement_join(programme: Programme, month: dt.date, *, with_back_pay: bool = False) -> payroll_sql.Sql:
    """Application programmes pay elders whose active entitlement covers the month (or owes it as back-pay)."""
    start = "COALESCE(en.back_pay_from, en.start_month)" if with_back_pay else "en.start_month"
    return payroll_sql.Sql().add(f"""JOIN {Entitlement._meta.db_table} en ON en.elder_id = e.id AND en.programme_id = %s
        AND en.status = 'active' AND {start} <= %s AND (en.end_month IS NULL OR en.end_month >= %s)""",
                                 programme.pk, month, month)


def _insert_regular_lines(run: PayrollRun, programme: Programme, tiers: list[rules.TierSpec]) -> None:
    """This month's lines. Where survival certification is required, a certification must cover the
    month, and a month already back-paid as arrears is not paid again as a regular line."""
    month, low, high = run.month, *_bounds(run.area_code)
    join = None if programme.enrolment == Programme.Enrolment.AUTOMATIC else _entitlement_join(programme, month)
    certified = programme.survival_certification_months
    since = survival.window_start(month, certified) if certified is not None else None
    expected = payroll_sql.expected_lines(programme, tiers, month=month, low=low, high=high, join=join,
                                          certified_since=since)
    not_arrears = None
    if certified is not None:
        not_arrears = payroll_sql.Sql().add(f"""AND NOT EXISTS (SELECT 1 FROM {PaymentLine._meta.db_table} bp
            WHERE bp.programme_id = %s AND bp.elder_id = x.elder_id AND bp.month = %s AND bp.kind = 'back_pay')""",
                                            programme.pk, month)
    _insert(run, programme, month, PaymentLine.Kind.REGULAR, expected, not_arrears)


def _insert_back_pay_lines(run: PayrollRun, programme: Programme) -> None:
    """Back-pay of late approvals, written by the first run from the start month on, one line per missed month.

    One INSERT … SELECT per missed month (each with that month's tiers and death
    rule); the partial unique index on back-pay lines makes a later run skip them.
    """
    low, high = _bounds(run.area_code)
    owed = (Entitlement.objects.filter(programme=programme, status=Entitlement.Status.ACTIVE, back_pay_from__isnull=False,
                                       start_month__lte=run.month, elder__area__gte=low, elder__area__lte=high)
            .values_list("back_pay_from", "start_month").distinct())
    months = sorted({m for first, start in owed for m in app_rules.back_pay_months(first, start, back_pay=True)})
    for month in months:
        join = payroll_sql.Sql().add(f"""JOIN {Entitlement._meta.db_table} en ON en.elder_id = e.id AND en.programme_id = %s
            AND en.status = 'active' AND en.back_pay_from <= %s AND en.start_month > %s AND en.start_month <= %s""",
                                     programme.pk, month, month, run.month)
        expected = payroll_sql.expected_lines(programme, tiers_in_force(programme, month), month=month, low=low,
                                              high=high, join=join)
        _insert(run, programme, month, PaymentLine.Kind.BACK_PAY, expected)


def _conditions(programme: Programme, month: dt.date) -> dict:
    """What else a month's payment needs besides the registry: an entitlement, a survival certification."""
    conditions = {}
    if programme.enrolment == Programme.Enrolment.APPLICATION:
        conditions["join"] = _entitlement_join(programme, month, with_back_pay=True)
    if programme.survival_certification_months is not None:
        conditions["certified_since"] = survival.window_start(month, programme.survival_certification_months)
    return conditions


def _bounds(area_code: str) -> tuple[str, str]:
    return area_code, area_code.ljust(AREA_CODE_LENGTH, "9")


def _refresh_totals(programme: Programme, month: dt.date) -> None:
    for run in PayrollRun.objects.filter(programme=programme, month=month):
        agg = run.lines.aggregate(n=Count("id"), total=Sum("amount_fen"))
        PayrollRun.objects.filter(pk=run.pk).update(line_count=agg["n"] or 0, total_fen=agg["total"] or 0)


def run_payroll(*, programme_code: str, month: dt.date, area_code: str | None = None, acting_user=None,
                today: dt.date | None = None) -> RunResult:
    """Compute (or recompute) a month for a programme within an area.

    An automatic programme pays from the registry; an application programme pays
    active entitlements covering the month, plus back-pay owed to late approvals.
    Idempotent: the month's unreleased lines inside the area are replaced;
    lines of released runs stay and are never paid again (unique constraint).
    Concurrent runs serialise on the run row; a killed run rolls back whole.
    """
    today = today or timezone.localdate()
    programme = Programme.objects.filter(code=programme_code, is_active=True).first()
    if programme is None:
        raise rules.RuleError(_("there is no active programme “%(code)s”") % {"code": programme_code})
    area_code = area_code or programme.area_id
    _check_request(programme, month, area_code, acting_user, today)
    tiers = tiers_in_force(programme, month)
    with transaction.atomic():
        run, _created = PayrollRun.objects.get_or_create(programme=programme, area_code=area_code, month=month)
        run = PayrollRun.objects.select_for_update().get(pk=run.pk)
        if run.status != PayrollRun.Status.COMPUTED:
            raise rules.RuleError(_("%(month)s for %(area)s is already %(status)s: corrections go into a later month")
                                  % {"month": f"{month:%Y-%m}", "area": area_code, "status": run.get_status_display()})
        low, high = area_code, area_code.ljust(AREA_CODE_LENGTH, "9")
        PaymentLine.objects.filter(programme=programme, month=month, kind=PaymentLine.Kind.REGULAR,
                                   area_code__gte=low, area_code__lte=high,
                                   run__status=PayrollRun.Status.COMPUTED).delete()
        # Back-pay written by this month's unreleased runs (late approvals, survival arrears) is recomputed.
        PaymentLine.objects.filter(programme=programme, run__month=month, kind=PaymentLine.Kind.BACK_PAY,
                                   area_code__gte=low, area_code__lte=high,
                                   run__status=PayrollRun.Status.COMPUTED).delete()
        corrections.delete_unreleased_corrections(programme, month, low, high)
        started = timezone.now()  # rechecks opened after this are left for the next run
        _insert_regular_lines(run, programme, tiers)
        if programme.enrolment == Programme.Enrolment.APPLICATION:
            _insert_back_pay_lines(run, programme)
        tiers_for = lambda m: tiers if m == month else tiers_in_force(programme, m)  # noqa: E731
        if programme.survival_certification_months is not None:
            survival.insert_arrears(run, programme, tiers_for)
        corrections.insert_corrections(run, programme, tiers_for, lambda m: _conditions(programme, m))
        run.computed_at = started
        run.computed_by = acting_user if acting_user is not None and acting_user.is_authenticated else None
        run.save(update_fields=["computed_at", "computed_by"])
        _refresh_totals(programme, month)
        run.refresh_from_db()
        audit.record(AuditAction.UPDATE if not _created else AuditAction.CREATE, actor=acting_user, obj=run,
                     area_code=area_code, after={"lines": run.line_count, "total_fen": run.total_fen},
                     note=f"payroll {programme.code} {month:%Y-%m}")
    return RunResult(run=run, line_count=run.line_count, total_fen=run.total_fen)


NEXT_LEVEL = {0: 4, 2: 4, 4: 6, 6: 9, 9: 12, 12: 12}


def payroll_summary(*, user, programme_code: str, month: dt.date) -> dict:
    """Elders paid, total, per-tier and per-area figures for a month, within ``user``'s jurisdiction.

    ``by_area`` breaks the figures down one level below the user's scope (a city
    official sees counties, a county official townships, and so on).
    """
    lines = PaymentLine.objects.for_user(user).filter(programme__code=programme_code, month=month,
                                                      kind=PaymentLine.Kind.REGULAR)
    by_tier = {
        row["tier"]: {"count": row["n"], "total_fen": row["total"]}
        for row in lines.values("tier").annotate(n=Count("id"), total=Sum("amount_fen")).order_by("tier")
    }
    width = NEXT_LEVEL[len(getattr(user, "scope_code", "") or "")]
    by_area = {
        row["part"]: {"count": row["n"], "total_fen": row["total"]}
        for row in lines.annotate(part=Substr("area_code", 1, width)).values("part")
        .annotate(n=Count("id"), total=Sum("amount_fen")).order_by("part")
    }
    return {
        "count": sum(t["count"] for t in by_tier.values()),
        "total_fen": sum(t["total_fen"] for t in by_tier.values()),
        "by_tier": by_tier,
        "by_area": by_area,
    }
