"""Care pages: an elder's plans and bed, the beds' weekly compliance, follow-up calls, complaints, settlements.

Reads go through ``for_user`` (another jurisdiction's object is a 404); writes go
through ``plans``, ``beds``, ``feedback`` and ``settlement``, whose ValidationError,
TransitionError and PermissionDenied messages are shown on the forms, never re-decided here.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from yiyang.core.forms import run_service
from yiyang.people.models import Elder
from yiyang.people.services import access_elder_by_id

from . import beds, feedback, plans, settlement
from .forms_care import (
    BedForm,
    ComplaintForm,
    EndForm,
    FollowUpForm,
    PlanForm,
    SettleForm,
    SettlementAcceptForm,
    SettlementDisputeForm,
    parse_month,
)
from .models import Complaint, FamilyCareBed, FollowUpCall, ServicePlan, Settlement
from .rules import TransitionError, week_start
from .tables_care import LineTable, PlanTable, SettlementTable, settlement_badge

PER_PAGE = 50
ELDER_SEARCH_LIMIT = 20
MEDIA = {"csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _save(form, call) -> bool:
    return run_service(form, call, TransitionError)


def _week(request, default: dt.date) -> dt.date:
    try:
        return week_start(dt.date.fromisoformat(request.GET.get("week", "")))
    except ValueError:
        return week_start(default)


def _previous_month(today: dt.date) -> dt.date:
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def _month(request) -> dt.date:
    try:
        return parse_month(request.GET.get("month", ""))
    except Exception:  # noqa: BLE001 - any unreadable month falls back to the last one ended
        return _previous_month(timezone.localdate())


def _shift_month(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _find_elders(request) -> dict:
    """Living elders of the user's jurisdiction whose name contains ``q``: the way to an elder's care page."""
    query = request.GET.get("q", "").strip()[:50]
    found = None
    if query and request.user.has_perm("homecare.view_serviceplan"):
        found = list(Elder.objects.for_user(request.user).filter(name__contains=query, status="alive")
                     .select_related("area").order_by("area_id", "name")[:ELDER_SEARCH_LIMIT])
    return {"query": query, "found": found, "limit": ELDER_SEARCH_LIMIT}


@login_required
def index(request):
    """The care section's front page: links to what the user may do, and finding an elder."""
    return render(request, "homecare/care/index.html", _find_elders(request))


# --- an elder's plans and family care bed ------------------------------------------------------


def _elder_context(request, elder: Elder, **forms) -> dict:
    user = request.user
    table = PlanTable(ServicePlan.objects.for_user(user).filter(elder=elder)
                      .select_related("service_type", "provider", "bed").order_by("-is_active", "-first_day", "-pk"))
    RequestConfig(request, paginate=False).configure(table)
    active_plans = list(ServicePlan.objects.for_user(user).filter(elder=elder, is_active=True)
                        .select_related("service_type").order_by("pk"))
    bed_rows = list(FamilyCareBed.objects.for_user(user).filter(elder=elder).select_related("institution")
                    .order_by("-first_day", "-pk"))
    active_bed = next((b for b in bed_rows if b.status == FamilyCareBed.Status.ACTIVE), None)
    today = timezone.localdate()
    context = {
        "elder": elder, "plan_table": table, "active_plans": active_plans, "beds": bed_rows,
        "active_bed": active_bed,
        "compliance": beds.weekly_compliance(active_bed, today) if active_bed else None,
        "plan_form": PlanForm(elder=elder) if user.has_perm("homecare.add_serviceplan") else None,
        "bed_form": BedForm(elder=elder) if user.has_perm("homecare.add_familycarebed") and not active_bed else None,
        "end_form": EndForm(), "end_target": None,
    }
    context.update(forms)
    return context


@login_required
@permission_required("homecare.view_serviceplan", raise_exception=True)
def elder_care(request, elder_id: int):
    elder = access_elder_by_id(request.user, elder_id)
    return render(request, "homecare/care/elder.html", _elder_context(request, elder))


def _elder_result(request, elder, saved: bool, notice: str, anchor: str, **forms):
    if saved:
        messages.success(request, notice)
        return redirect(reverse("homecare:care_elder", args=[elder.pk]) + f"#{anchor}")
    return render(request, "homecare/care/elder.html", _elder_context(request, elder, **forms))


@login_required
@permission_required("homecare.add_serviceplan", raise_exception=True)
@require_POST
def plan_create(request, elder_id: int):
    elder = access_elder_by_id(request.user, elder_id)
    form = PlanForm(request.POST, elder=elder)
    saved = form.is_valid() and _save(
        form, lambda data: plans.create_plan(acting_user=request.user, elder_id=elder.pk, **data))
    return _elder_result(request, elder, saved, _("The recurring service is planned."), "plans", plan_form=form)


@login_required
@permission_required("homecare.add_serviceplan", raise_exception=True)
@require_POST
def plan_end(request, elder_id: int, plan_id: int):
    elder = access_elder_by_id(request.user, elder_id)
    plan = get_object_or_404(ServicePlan.objects.for_user(request.user), pk=plan_id, elder=elder)
    form = EndForm(request.POST)
    saved = form.is_valid() and _save(
        form, lambda data: plans.end_plan(plan, acting_user=request.user, **data))
    notice = _("The plan ends on %(day)s.") % {"day": form.cleaned_data["last_day"]} if saved else ""
    return _elder_result(request, elder, saved, notice, "plans", end_form=form, end_target=plan.pk)


@login_required
@permission_required("homecare.add_familycarebed", raise_exception=True)
@require_POST
def bed_open(request, elder_id: int):
    elder = access_elder_by_id(request.user, elder_id)
    form = BedForm(request.POST, elder=elder)
    saved = form.is_valid() and _save(
        form, lambda data: beds.open_bed(acting_user=request.user, elder_id=elder.pk, **data))
    return _elder_result(request, elder, saved, _("The family care bed is opened."), "bed", bed_form=form)


# --- family care beds and their weekly visits --------------------------------------------------


def _beds_context(request, week: dt.date, **forms) -> dict:
    user = request.user
    context = {
        "week": week, "week_end": week + dt.timedelta(days=6), "previous": week - dt.timedelta(days=7),
        "following": week + dt.timedelta(days=7), "report": beds.compliance_report(user, week),
        "end_form": EndForm(), "end_target": None, **_find_elders(request),
    }
    context.update(forms)
    return context


@login_required
@permission_required("homecare.view_familycarebed", raise_exception=True)
def bed_list(request):
    week = _week(request, timezone.localdate())
    return render(request, "homecare/care/beds.html", _beds_context(request, week))


@login_required
@permission_required("homecare.change_familycarebed", raise_exception=True)
@require_POST
def bed_end(request, bed_id: int):
    bed = get_object_or_404(FamilyCareBed.objects.for_user(request.user), pk=bed_id)
    form = EndForm(request.POST)
    saved = form.is_valid() and _save(
        form, lambda data: beds.end_bed(bed, acting_user=request.user, **data))
    if saved:
        messages.success(request, _("The family care bed %(contract)s has ended.") % {"contract": bed.contract_no})
        return redirect("homecare:care_beds")
    week = week_start(timezone.localdate())
    return render(request, "homecare/care/beds.html", _beds_context(request, week, end_form=form, end_target=bed.pk))


# --- follow-up calls (回访) ------------------------------------------------------------------


def _calls(user, week: dt.date):
    return (FollowUpCall.objects.for_user(user).filter(week=week)
            .select_related("order__elder__area", "order__provider", "order__service_type", "order__worker", "agent")
            .order_by("reached", "order__provider__name", "order_id"))


def _call_form(call, data=None) -> FollowUpForm:
    return FollowUpForm(data, auto_id=f"call{call.pk}_%s")


@login_required
@permission_required("homecare.view_followupcall", raise_exception=True)
def follow_ups(request):
    """The week's sampled calls (default: the visits of last week, called this week)."""
    week = _week(request, timezone.localdate() - dt.timedelta(days=7))
    calls = list(_calls(request.user, week))
    return render(request, "homecare/care/follow_ups.html", {
        "week": week, "week_end": week + dt.timedelta(days=6), "previous": week - dt.timedelta(days=7),
        "following": week + dt.timedelta(days=7), "calls": [{"call": c, "form": _call_form(c)} for c in calls],
        "open_count": sum(1 for c in calls if not c.reached),
    })


@login_required
@permission_required("homecare.change_followupcall", raise_exception=True)
@require_POST
def follow_up_sample(request):
    try:
        week = week_start(dt.date.fromisoformat(request.POST.get("week", "")))
    except ValueError:
        week = week_start(timezone.localdate() - dt.timedelta(days=7))
    result = feedback.sample_follow_ups(week)
    messages.success(request, ngettext("%(new)s call drawn; the week's sample holds %(total)s.",
                                       "%(new)s calls drawn; the week's sample holds %(total)s.", len(result.created))
                     % {"new": len(result.created), "total": result.total})
    return redirect(reverse("homecare:care_follow_ups") + f"?week={week.isoformat()}")


@login_required
@permission_required("homecare.change_followupcall", raise_exception=True)
@require_POST
def follow_up_record(request, call_id: int):
    call = get_object_or_404(FollowUpCall.objects.for_user(request.user), pk=call_id)
    form = _call_form(call, request.POST)
    saved = form.is_valid() and _save(
        form, lambda data: feedback.record_follow_up(call, acting_user=request.user, **data))
    if saved:
        call = _calls(request.user, call.week).get(pk=call.pk)
    if request.htmx:
        return render(request, "homecare/care/_follow_up.html", {
            "item": {"call": call, "form": _call_form(call) if saved else form},
            "notice": _("The call is recorded.") if saved else ""})
    if saved:
        messages.success(request, _("The call is recorded."))
        return redirect(reverse("homecare:care_follow_ups") + f"?week={call.week.isoformat()}")
    calls = list(_calls(request.user, call.week))
    return render(request, "homecare/care/follow_ups.html", {
        "week": call.week, "week_end": call.week + dt.timedelta(days=6),
        "previous": call.week - dt.timedelta(days=7), "following": call.week + dt.timedelta(days=7),
        "calls": [{"call": c, "form": form if c.pk == call.pk else _call_form(c)} for c in calls],
        "open_count": sum(1 for c in calls if not c.reached)})


# --- complaints -----------------------------------------------------------------------------


STATUS_FILTERS = ("open", "handled", "all")


def _complaints_context(request, status: str, **forms) -> dict:
    complaints = (Complaint.objects.for_user(request.user)
                  .select_related("elder__area", "provider", "order__service_type", "created_by"))
    if status != "all":
        complaints = complaints.filter(status=status)
    return {"complaints": complaints[:PER_PAGE * 4], "status": status, "statuses": STATUS_FILTERS,
            "handle_form": ComplaintForm(), "handle_target": None, **forms}


@login_required
@permission_required("homecare.view_complaint", raise_exception=True)
def complaint_list(request):
    status = request.GET.get("status", "open")
    status = status if status in STATUS_FILTERS else "open"
    return render(request, "homecare/care/complaints.html", _complaints_context(request, status))


@login_required
@permission_required("homecare.change_complaint", raise_exception=True)
@require_POST
def complaint_handle(request, complaint_id: int):
    complaint = get_object_or_404(Complaint.objects.for_user(request.user), pk=complaint_id)
    form = ComplaintForm(request.POST)
    saved = form.is_valid() and _save(
        form, lambda data: feedback.handle_complaint(complaint, acting_user=request.user, **data))
    if saved:
        messages.success(request, _("The complaint is handled."))
        return redirect("homecare:care_complaints")
    return render(request, "homecare/care/complaints.html",
                  _complaints_context(request, "open", handle_form=form, handle_target=complaint.pk))


# --- settlements ----------------------------------------------------------------------------


def _settlements_context(request, month: dt.date, errors: dict | None = None) -> dict:
    user = request.user
    today = timezone.localdate()
    providers = list(settlement.providers_for(user).select_related("area"))
    issued = {s.provider_id: s for s in Settlement.objects.for_user(user).filter(month=month)}
    may_settle = user.has_perm("homecare.add_settlement") and month < today.replace(day=1)
    errors = errors or {}
    rows = [{"provider": p, "settlement": issued.get(p.pk),
             "badge": settlement_badge(issued[p.pk]) if p.pk in issued else "",
             "can_settle": may_settle and p.pk not in issued, "errors": errors.get(p.pk, [])}
            for p in providers]
    shown = {p.pk for p in providers}
    elsewhere = [e for pk, errs in errors.items() if pk not in shown for e in errs]
    table = SettlementTable(Settlement.objects.for_user(user).select_related("provider"))
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return {"month": month, "month_text": f"{month:%Y-%m}", "previous": f"{_shift_month(month, -1):%Y-%m}",
            "following": f"{_shift_month(month, 1):%Y-%m}" if _shift_month(month, 1) < today.replace(day=1) else "",
            "rows": rows, "table": table, "errors_elsewhere": elsewhere}


@login_required
@permission_required("homecare.view_settlement", raise_exception=True)
def settlement_list(request):
    return render(request, "homecare/care/settlements.html", _settlements_context(request, _month(request)))


@login_required
@permission_required("homecare.add_settlement", raise_exception=True)
@require_POST
def settle(request):
    form = SettleForm(request.POST, providers=settlement.providers_for(request.user))
    made = {}
    saved = form.is_valid() and _save(form, lambda data: made.setdefault("settlement", settlement.settle_month(
        int(data["provider"]), data["month"], acting_user=request.user)))
    if saved:
        result = made["settlement"]
        messages.success(request, ngettext("The statement of %(month)s is issued: %(count)s order.",
                                           "The statement of %(month)s is issued: %(count)s orders.",
                                           result.order_count)
                         % {"month": f"{result.month:%Y-%m}", "count": result.order_count})
        return redirect("homecare:care_settlement", result.pk)
    month = form.cleaned_data.get("month") or _month(request)
    refusals = [str(error) for errors in form.errors.values() for error in errors]
    provider = request.POST.get("provider", "")
    errors = {int(provider): refusals} if provider.isdigit() else {}
    return render(request, "homecare/care/settlements.html", _settlements_context(request, month, errors))


def _settlement_context(request, found: Settlement, **forms) -> dict:
    user = request.user
    table = LineTable(found.lines.select_related("order__elder", "order__service_type", "order__worker"))
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    gross = found.self_pay_fen + found.voucher_fen + found.government_fen
    own = user.organization_id is not None and user.organization_id == found.provider_id
    return {
        "settlement": found, "table": table, "badge": settlement_badge(found),
        "totals": {"self": settlement.yuan(found.self_pay_fen), "voucher": settlement.yuan(found.voucher_fen),
                   "government": settlement.yuan(found.government_fen), "gross": settlement.yuan(gross),
                   "deduction": settlement.yuan(found.deduction_fen),
                   "payable": settlement.yuan(gross - found.deduction_fen)},
        "dispute_form": SettlementDisputeForm() if own and user.has_perm("homecare.change_settlement")
        and found.status == Settlement.Status.ISSUED else None,
        "accept_form": SettlementAcceptForm() if user.has_perm("homecare.add_settlement")
        and found.status != Settlement.Status.ACCEPTED else None,
        **forms,
    }


def _settlement_for(user, settlement_id: int) -> Settlement:
    return get_object_or_404(Settlement.objects.for_user(user).select_related("provider", "issued_by"),
                             pk=settlement_id)


@login_required
@permission_required("homecare.view_settlement", raise_exception=True)
def settlement_detail(request, settlement_id: int):
    found = _settlement_for(request.user, settlement_id)
    return render(request, "homecare/care/settlement.html", _settlement_context(request, found))


@login_required
@permission_required("homecare.view_settlement", raise_exception=True)
def statement(request, settlement_id: int):
    found = _settlement_for(request.user, settlement_id)
    fmt = request.GET.get("format", "xlsx")
    if fmt not in settlement.FORMATS:
        fmt = "xlsx"
    name, content = settlement.statement_file(found, fmt, acting_user=request.user)
    response = HttpResponse(content, content_type=MEDIA[fmt])
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


def _settlement_result(request, found, saved: bool, notice: str, **forms):
    if saved:
        messages.success(request, notice)
        return redirect("homecare:care_settlement", found.pk)
    found.refresh_from_db()
    return render(request, "homecare/care/settlement.html", _settlement_context(request, found, **forms))


@login_required
@permission_required("homecare.change_settlement", raise_exception=True)
@require_POST
def settlement_dispute(request, settlement_id: int):
    found = _settlement_for(request.user, settlement_id)
    form = SettlementDisputeForm(request.POST)
    saved = form.is_valid() and _save(
        form, lambda data: settlement.dispute_settlement(found, acting_user=request.user, **data))
    return _settlement_result(request, found, saved, _("Your dispute is sent to the civil-affairs bureau."),
                              dispute_form=form)


@login_required
@permission_required("homecare.add_settlement", raise_exception=True)
@require_POST
def settlement_accept(request, settlement_id: int):
    found = _settlement_for(request.user, settlement_id)
    form = SettlementAcceptForm(request.POST)
    saved = form.is_valid() and _save(
        form, lambda data: settlement.accept_settlement(found, acting_user=request.user, **data))
    return _settlement_result(request, found, saved, _("The statement is accepted."), accept_form=form)
