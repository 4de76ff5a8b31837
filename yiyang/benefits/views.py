"""Payroll pages: programmes, a programme's runs, and one month (summary, approval, anomalies, lines).

Reads go through ``for_user``; runs, approvals and releases go through ``services``
and ``release``, whose RuleError and PermissionDenied messages are shown to the user.

A county's part of a city-wide run is outside ``PayrollRun.objects.for_user`` for a
county official (the run's area is the city), so a run is shown when it lies in the
user's jurisdiction *or* holds payment lines the user may see; its figures on the
pages are then only the user's part.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Sum
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from yiyang.areas.models import Area
from yiyang.core.scoping import code_in_scope

from . import anomalies, release, rules, services
from .forms import LineFilterForm, RunForm
from .models import PaymentLine, PayrollApproval, PayrollRecheck, PayrollRun, Programme, Tier
from .tables import PaymentLineTable, RunTable, yuan
from .views_payments import bank_panel

PER_PAGE = 50

programme_required = permission_required("benefits.view_programme", raise_exception=True)
runs_required = permission_required(("benefits.view_programme", "benefits.view_payrollrun"), raise_exception=True)
lines_required = permission_required(
    ("benefits.view_programme", "benefits.view_payrollrun", "benefits.view_paymentline"), raise_exception=True)

ANOMALY_KINDS = {
    "paid_after_death": gettext_lazy("Paid for a month after the recorded death"),
    "paid_after_move": gettext_lazy("Paid although moved away"),
    "village_changed": gettext_lazy("Now lives in another village than the payment says"),
    "age_inconsistent": gettext_lazy("Birth date differs from the ID number"),
    "tier_jump": gettext_lazy("Tier jumped since the previous month"),
}


def _in_scope(user, code: str) -> bool:
    return user.is_superuser or code_in_scope(code, user.scope_code)


def _programme(user, code: str) -> Programme:
    return get_object_or_404(Programme.objects.for_user(user).select_related("area"), code=code)


def _month(text: str) -> dt.date:
    try:
        return rules.parse_month(text)
    except rules.RuleError as exc:
        raise Http404(str(exc)) from exc


def _area_names(user, codes) -> dict[str, str]:
    return dict(Area.objects.for_user(user).filter(code__in=set(codes)).values_list("code", "name"))


def _tier_order(programme: Programme) -> list[str]:
    labels = Tier.objects.filter(programme=programme).order_by("min_age", "effective_from").values_list("label", flat=True)
    return list(dict.fromkeys(labels))


def visible_runs(user, programme: Programme):
    """Runs in the user's jurisdiction, and runs holding lines the user may see."""
    mine = PaymentLine.objects.for_user(user).filter(programme=programme).values("run_id")
    return PayrollRun.objects.filter(programme=programme).filter(
        Q(pk__in=PayrollRun.objects.for_user(user).values("pk")) | Q(pk__in=mine))


def with_my_part(runs, user):
    """Annotate each run with the lines and total inside the user's jurisdiction."""
    mine = PaymentLine.objects.for_user(user).filter(run=OuterRef("pk")).order_by().values("run")
    return runs.annotate(
        my_lines=Subquery(mine.annotate(n=Count("id")).values("n"), output_field=IntegerField()),
        my_total_fen=Subquery(mine.annotate(t=Sum("amount_fen")).values("t"), output_field=IntegerField()))


def _month_url(programme: Programme, month: dt.date, anchor: str = "") -> str:
    return reverse("benefits:month", args=[programme.code, f"{month:%Y-%m}"]) + (f"#{anchor}" if anchor else "")


@login_required
@programme_required
def programme_list(request):
    programmes = []
    today = timezone.localdate()
    for programme in Programme.objects.for_user(request.user).select_related("area").prefetch_related("tiers"):
        tiers = [{
            "label": tier.label,
            "ages": f"{tier.min_age}–{tier.max_age}" if tier.max_age is not None else f"{tier.min_age}+",
            "amount": yuan(tier.amount_fen),
            "effective_from": tier.effective_from,
            "effective_to": tier.effective_to,
            "current": tier.effective_from <= today and (tier.effective_to is None or tier.effective_to >= today),
        } for tier in programme.tiers.all()]
        programmes.append({"programme": programme, "tiers": tiers})
    return render(request, "benefits/programme_list.html", {"programmes": programmes})


@login_required
@runs_required
def payroll_runs(request, code: str):
    user = request.user
    programme = _programme(user, code)
    form = RunForm(request.POST or None, user=user, programme=programme,
                   initial={"month": f"{timezone.localdate():%Y-%m}"})
    if request.method == "POST" and form.is_valid():
        month = form.cleaned_data["month"]
        try:
            result = services.run_payroll(programme_code=programme.code, month=month, area_code=form.area_code(),
                                          acting_user=user)
        except (rules.RuleError, PermissionDenied) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("%(month)s computed for %(area)s: %(lines)s elders, %(total)s yuan.") % {
                "month": f"{month:%Y-%m}", "area": result.run.area_code, "lines": result.line_count,
                "total": yuan(result.total_fen)})
            return redirect(_month_url(programme, month))
    runs = with_my_part(visible_runs(user, programme), user).select_related("computed_by").order_by("-month", "area_code")
    area_names = _area_names(user, runs.values_list("area_code", flat=True))
    table = RunTable(runs, programme=programme, area_names=area_names)
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return render(request, "benefits/payroll_runs.html", {"programme": programme, "form": form, "table": table,
                                                          "can_run": user.has_perm("benefits.run_payroll")})


def _run_panels(user, programme: Programme, month: dt.date, area_names: dict[str, str]) -> list[dict]:
    """Each visible run of the month: my counties' figures with their approvals, and whether it can be released."""
    can_approve = user.has_perm("benefits.approve_payroll")
    panels = []
    runs = with_my_part(visible_runs(user, programme).filter(month=month), user).select_related("computed_by")
    area_names = {**_area_names(user, runs.values_list("area_code", flat=True)), **area_names}
    for run in runs.order_by("area_code"):
        computed = run.status == PayrollRun.Status.COMPUTED
        totals = release.county_totals(run)
        approvals = {a.county_code: a for a in
                     PayrollApproval.objects.for_user(user).filter(run=run).select_related("approved_by")}
        counties = []
        for county, (lines, total) in totals.items():
            if not _in_scope(user, county):
                continue
            approval = approvals.get(county)
            counties.append({
                "code": county, "name": area_names.get(county, county), "lines": lines, "total": yuan(total),
                "approval": approval, "approval_total": yuan(approval.total_fen) if approval else "",
                "approval_current": approval is not None and (approval.line_count, approval.total_fen) == (lines, total),
                "can_approve": can_approve and computed,
            })
        run_in_scope = _in_scope(user, run.area_code)
        pending = [c for c, figures in totals.items()
                   if c not in approvals or (approvals[c].line_count, approvals[c].total_fen) != figures]
        panels.append({
            "run": run, "area_name": area_names.get(run.area_code, run.area_code), "counties": counties,
            "my_lines": run.my_lines or 0, "my_total": yuan(run.my_total_fen),
            "empty": not totals,
            "can_release": can_approve and computed and run_in_scope and bool(totals),
            "pending": [area_names.get(c, c) for c in pending] if run_in_scope else [],
            "bank": bank_panel(user, run),
        })
    return panels


def _anomaly_sections(user, programme: Programme, month: dt.date, area_names: dict[str, str]) -> list[dict]:
    report = anomalies.monthly_anomalies(user=user, programme_code=programme.code, month=month)
    return [{
        "kind": kind, "label": ANOMALY_KINDS.get(kind, kind),
        "rows": [{**row, "village": area_names.get(row["area_code"], row["area_code"]), "amount": yuan(row["amount_fen"])}
                 for row in rows],
    } for kind, rows in report.items()]


def _corrections(user, programme: Programme, month: dt.date) -> dict:
    """This month's corrections of earlier months in my jurisdiction, and the rechecks still open."""
    figures = dict.fromkeys((PaymentLine.Kind.ADJUSTMENT, PaymentLine.Kind.RECOVERY), (0, 0))
    rows = (PaymentLine.objects.for_user(user).filter(programme=programme, run__month=month, kind__in=list(figures))
            .order_by().values_list("kind").annotate(n=Count("id"), total=Sum("amount_fen")))
    figures.update({kind: (n, total) for kind, n, total in rows})
    adjustments, recoveries = figures[PaymentLine.Kind.ADJUSTMENT], figures[PaymentLine.Kind.RECOVERY]
    return {
        "adjustments": adjustments[0], "adjustments_total": yuan(adjustments[1]),
        "recoveries": recoveries[0], "recoveries_total": yuan(recoveries[1]),
        "open_rechecks": PayrollRecheck.objects.for_user(user).filter(programme=programme, settled_by__isnull=True).count(),
    }


@login_required
@lines_required
def payroll_month(request, code: str, month: str):
    user = request.user
    programme = _programme(user, code)
    first = _month(month)
    lines = PaymentLine.objects.for_user(user).filter(programme=programme, month=first)
    village_codes = list(lines.order_by("area_code").values_list("area_code", flat=True).distinct())
    present = set(lines.order_by().values_list("tier", flat=True).distinct())
    tiers = [t for t in _tier_order(programme) if t in present] + sorted(present - set(_tier_order(programme)))
    area_names = _area_names(user, [*village_codes, *(c[:6] for c in village_codes)])
    filter_form = LineFilterForm(request.GET, villages=[(c, f"{area_names.get(c, c)}（{c}）") for c in village_codes], tiers=tiers)
    if filter_form.is_valid():
        chosen = {name: value for name, value in filter_form.cleaned_data.items() if value}
        filtered = lines.filter(**{{"village": "area_code"}.get(k, k): v for k, v in chosen.items()})
    else:
        filtered = lines.none()
    table = PaymentLineTable(filtered.select_related("elder").order_by("area_code", "elder__name", "elder_id"),
                             area_names=area_names)
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    context = {"programme": programme, "month": first, "month_text": f"{first:%Y-%m}",
               "filter_form": filter_form, "table": table}
    partial = request.htmx and not request.htmx.history_restore_request
    if partial:
        response = render(request, "benefits/_lines.html", context)
    else:
        summary = services.payroll_summary(user=user, programme_code=programme.code, month=first)
        by_tier = summary["by_tier"]
        order = [t for t in tiers if t in by_tier] + sorted(set(by_tier) - set(tiers))
        current = timezone.localdate().replace(day=1)
        previous = (first - dt.timedelta(days=1)).replace(day=1)
        following = (first + dt.timedelta(days=32)).replace(day=1)
        context.update(
            summary={"count": summary["count"], "total": yuan(summary["total_fen"]),
                     "tiers": [{"label": t, "count": by_tier[t]["count"], "total": yuan(by_tier[t]["total_fen"])}
                               for t in order]},
            panels=_run_panels(user, programme, first, area_names),
            anomalies=_anomaly_sections(user, programme, first, area_names),
            corrections=_corrections(user, programme, first),
            previous=f"{previous:%Y-%m}", following=f"{following:%Y-%m}" if following <= current else None,
        )
        response = render(request, "benefits/payroll_month.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _posted_run(request, programme: Programme, first: dt.date) -> PayrollRun:
    run_id = request.POST.get("run", "")
    if not run_id.isdigit():
        raise Http404
    return get_object_or_404(visible_runs(request.user, programme).filter(month=first), pk=int(run_id))


@login_required
@runs_required
@require_POST
def approve(request, code: str, month: str):
    programme = _programme(request.user, code)
    first = _month(month)
    run = _posted_run(request, programme, first)
    county = request.POST.get("county", "")
    try:
        approval = release.approve_county(run, county_code=county, acting_user=request.user)
    except (rules.RuleError, PermissionDenied) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("County %(county)s approved: %(lines)s lines, %(total)s yuan.") % {
            "county": approval.county_code, "lines": approval.line_count, "total": yuan(approval.total_fen)})
    return redirect(_month_url(programme, first, "runs"))


@login_required
@runs_required
@require_POST
def release_run(request, code: str, month: str):
    programme = _programme(request.user, code)
    first = _month(month)
    run = _posted_run(request, programme, first)
    try:
        released = release.release(run, acting_user=request.user)
    except (rules.RuleError, PermissionDenied) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The payroll of %(month)s for %(area)s is released: %(total)s yuan.") % {
            "month": f"{first:%Y-%m}", "area": released.area_code, "total": yuan(released.total_fen)})
    return redirect(_month_url(programme, first, "runs"))
