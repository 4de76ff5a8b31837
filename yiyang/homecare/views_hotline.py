"""The 12349 hotline console (one page, updated in place by htmx) and the call list.

The console: a number box (Enter identifies), the matching elders, and for the
picked elder a workspace with the masked profile, risks, recent orders and
complaints, and the quick actions (order, emergency, complaint, consultation
note, end call), each one form away. Every part also works as a plain page
without JavaScript. Reads go through ``for_user`` (a call or elder of another
jurisdiction is a 404); writes go through ``hotline``, whose errors are shown
on the forms.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from yiyang.assessments.services import current_result
from yiyang.benefits.models import VoucherAccount
from yiyang.benefits.tables import yuan
from yiyang.core.forms import run_service
from yiyang.people.idnumber import age_on
from yiyang.people.models import Contact, Elder, HardshipStatus
from yiyang.web.htmx import render_list

from . import hotline
from .forms_hotline import (
    CallFilter,
    ComplaintForm,
    EmergencyForm,
    EndCallForm,
    NumberForm,
    OrderForm,
    PickForm,
    consultation_form,
)
from .models import CallRecord, Complaint, FamilyCareBed, ServiceOrder
from .rules import TransitionError
from .tables_hotline import CallTable, duration_text

agent_required = permission_required("homecare.add_callrecord", raise_exception=True)
RECENT_ORDERS = 10
RECENT_CALLS = 5
OPEN_CALLS_SHOWN = 10
PER_PAGE = 50


# --- reading -------------------------------------------------------------------------------------


def _call_or_404(user, call_id) -> CallRecord:
    queryset = CallRecord.objects.for_user(user).select_related("order__service_type", "order__provider", "agent")
    return get_object_or_404(queryset, pk=call_id)


def _elder_of(user, call: CallRecord) -> Elder | None:
    if call.elder_id is None:
        return None
    return Elder.objects.for_user(user).filter(pk=call.elder_id).select_related("area").first()


def _recent_orders(user, elder):
    return (ServiceOrder.objects.for_user(user).filter(elder=elder).select_related("service_type", "provider", "worker")
            .order_by("-created_at", "-id")[:RECENT_ORDERS])


def _panel(user, elder: Elder) -> dict:
    """What the agent sees about the elder: masked profile, risks, care, money, orders, complaints."""
    grade = current_result(elder)
    today = timezone.localdate()
    return {
        "age": age_on(elder.birth_date, today),
        "grade": grade,
        "risks": hotline.risk_flags(elder, user=user, grade=grade, on=today),
        "hardships": HardshipStatus.objects.for_user(user).filter(elder=elder, end_date__isnull=True),
        "contacts": Contact.objects.for_user(user).filter(elder=elder),
        "bed": (FamilyCareBed.objects.for_user(user).filter(elder=elder, status=FamilyCareBed.Status.ACTIVE)
                .select_related("institution").first()),
        "vouchers": [{"programme": a.programme, "balance": yuan(a.balance_fen)} for a in _voucher_accounts(user, elder)],
        "orders": _recent_orders(user, elder),
        "complaints": (Complaint.objects.for_user(user).filter(elder=elder, status=Complaint.Status.OPEN)
                       .select_related("provider", "order")),
        "calls": (CallRecord.objects.for_user(user).filter(elder=elder, ended_at__isnull=False)
                  .select_related("agent").order_by("-started_at")[:RECENT_CALLS]),
    }


def _voucher_accounts(user, elder):
    return (VoucherAccount.objects.for_user(user).filter(elder=elder).select_related("programme")
            .order_by("programme__code"))


def _order_choices(user, elder) -> dict:
    profiles = hotline.serving_providers(elder, user)
    return {"profiles": profiles, "services": list(hotline.orderable_services(profiles)),
            "voucher_accounts": list(_voucher_accounts(user, elder))}


def _complaint_choices(user, elder) -> dict:
    orders = list(_recent_orders(user, elder))
    providers = {o.provider.pk: o.provider for o in orders}
    for profile in hotline.serving_providers(elder, user):
        providers.setdefault(profile.organization.pk, profile.organization)
    return {"orders": orders, "providers": sorted(providers.values(), key=lambda p: p.name)}


def _forms(user, call: CallRecord, elder: Elder | None, bound: dict) -> dict:
    """The quick actions' forms, fresh unless one came back with errors."""
    forms = {"note_form": consultation_form(), "end_form": EndCallForm(initial={"outcome": hotline.suggested_outcome(call)}),
             "order_form": None, "emergency_form": None, "complaint_form": None}
    if elder is not None:
        forms["order_form"] = OrderForm(**_order_choices(user, elder))
        forms["emergency_form"] = EmergencyForm(can_send=bool(hotline.emergency_options(elder, user)))
        forms["complaint_form"] = ComplaintForm(**_complaint_choices(user, elder))
    forms.update(bound)
    return forms


def _workspace(request, call: CallRecord, *, notice: str = "", open_section: str = "", **bound) -> dict:
    user = request.user
    elder = _elder_of(user, call)
    matches = None
    if call.ended_at is None and elder is None and call.caller_number:
        matches = hotline.identify(call.caller_number, acting_user=user)
    return {
        "call": call, "elder": elder, "panel": _panel(user, elder) if elder else None, "matches": matches,
        "caller": hotline.mask_number(call.caller_number), "notice": notice, "open_section": open_section,
        "duration": duration_text(call.duration_seconds), **_forms(user, call, elder, bound),
    }


def _console(request, **extra) -> dict:
    user = request.user
    open_calls = (CallRecord.objects.for_user(user).filter(agent=user, ended_at__isnull=True)
                  .select_related("elder").order_by("-started_at")[:OPEN_CALLS_SHOWN])
    return {"number_form": extra.pop("number_form", None) or NumberForm(), "matches": None, "sealed": "",
            "open_calls": open_calls, **extra}


# --- pages ---------------------------------------------------------------------------------------


@login_required
@agent_required
def console(request):
    """The console, waiting for a call (a telephony screen-pop may pass ?number=)."""
    if request.GET.get("number"):
        return identify(request)
    return render(request, "homecare/hotline/console.html", _console(request))


@login_required
@agent_required
def identify(request):
    """Enter in the number box: the elders the number belongs to."""
    form = NumberForm(request.GET)
    matches, number = None, ""
    if form.is_valid():
        try:
            number = hotline.normalize_number(form.cleaned_data["number"])
            matches = hotline.identify(number, acting_user=request.user)
        except ValidationError as exc:
            form.add_error("number", exc.message_dict.get("number", exc.messages))
    context = _console(request, number_form=form, matches=matches, sealed=hotline.seal_number(number))
    if request.htmx:
        return render(request, "homecare/hotline/_results.html", context)
    return render(request, "homecare/hotline/console.html", context)


@login_required
@agent_required
def call_page(request, call_id: int):
    """The console for one call: after a pick, a reload, or a telephony screen-pop."""
    call = _call_or_404(request.user, call_id)
    return render(request, "homecare/hotline/console.html", _console(request, **_workspace(request, call)))


def _answer(request, call: CallRecord, *, saved: bool, notice: str, section: str, **bound):
    """After an action: the workspace for htmx; else a redirect (saved) or the page with the errors."""
    call = _call_or_404(request.user, call.pk)
    if request.htmx:
        context = _workspace(request, call, notice=notice if saved else "", open_section="" if saved else section,
                             **({} if saved else bound))
        return render(request, "homecare/hotline/_workspace.html", context)
    if saved:
        messages.success(request, notice)
        return redirect("homecare:hotline_call", call.pk)
    context = _console(request, **_workspace(request, call, open_section=section, **bound))
    return render(request, "homecare/hotline/console.html", context)


def _save(form, call) -> bool:
    return run_service(form, call, TransitionError)


@login_required
@agent_required
@require_POST
def pick(request):
    """Start the call about the elder picked (or nobody known), or say which elder an open call is about."""
    form = PickForm(request.POST)
    if not form.is_valid():
        raise Http404
    data, user = form.cleaned_data, request.user
    try:
        if data["call"]:
            call = hotline.attach_elder(_call_or_404(user, data["call"]), acting_user=user, elder_id=data["elder"])
        else:
            number = hotline.open_number(data["number"])
            call = hotline.start_call(acting_user=user, number=number, elder_id=data["elder"])
    except (ValidationError, PermissionDenied) as exc:
        message = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        if request.htmx:
            return render(request, "homecare/hotline/_workspace.html", {"error": message})
        messages.error(request, message)
        return redirect("homecare:hotline")
    if not request.htmx:
        return redirect("homecare:hotline_call", call.pk)
    response = render(request, "homecare/hotline/_workspace.html", _workspace(request, _call_or_404(user, call.pk)))
    response["HX-Push-Url"] = reverse("homecare:hotline_call", args=[call.pk])
    return response


def _elder_or_404(user, call):
    elder = _elder_of(user, call)
    if elder is None:
        raise Http404(_("Pick the elder first."))
    return elder


@login_required
@agent_required
@require_POST
def order(request, call_id: int):
    user = request.user
    call = _call_or_404(user, call_id)
    elder = _elder_or_404(user, call)
    form = OrderForm(request.POST, **_order_choices(user, elder))
    created = []
    saved = form.is_valid() and _save(form, lambda data: created.append(
        hotline.place_order(call, acting_user=user, elder_id=elder.pk, **data)))
    notice = ""
    if saved:
        new = created[0]
        notice = _("Order #%(id)s placed: %(service)s by %(provider)s, %(start)s–%(end)s.") % {
            "id": new.pk, "service": new.service_type.name, "provider": new.provider.name,
            "start": f"{timezone.localtime(new.window_start):%Y-%m-%d %H:%M}",
            "end": f"{timezone.localtime(new.window_end):%H:%M}"}
    return _answer(request, call, saved=saved, notice=notice, section="order", order_form=form)


@login_required
@agent_required
@require_POST
def emergency(request, call_id: int):
    user = request.user
    call = _call_or_404(user, call_id)
    elder = _elder_or_404(user, call)
    form = EmergencyForm(request.POST, can_send=bool(hotline.emergency_options(elder, user)))
    raised = []
    saved = form.is_valid() and _save(form, lambda data: raised.append(
        hotline.raise_emergency(call, acting_user=user, **data)))
    notice = _("Alarm #%(id)s raised: it is on the alarm console, escalated step by step. "
               "End the call with “emergency raised”.") % {"id": raised[0].pk} if saved else ""
    return _answer(request, call, saved=saved, notice=notice, section="emergency", emergency_form=form)


@login_required
@agent_required
@require_POST
def complaint(request, call_id: int):
    user = request.user
    call = _call_or_404(user, call_id)
    elder = _elder_or_404(user, call)
    form = ComplaintForm(request.POST, **_complaint_choices(user, elder))
    saved = form.is_valid() and _save(form, lambda data: hotline.record_complaint(
        acting_user=user, elder_id=elder.pk, call=call, **data))
    return _answer(request, call, saved=saved, notice=_("The complaint is recorded."), section="complaint",
                   complaint_form=form)


@login_required
@agent_required
@require_POST
def end(request, call_id: int):
    """End the call (a consultation note is an end with outcome consultation); back to a fresh console."""
    user = request.user
    call = _call_or_404(user, call_id)
    is_note = request.POST.get("form") == "note"
    form = consultation_form(request.POST) if is_note else EndCallForm(request.POST)
    ended = []
    saved = form.is_valid() and _save(form, lambda data: ended.append(hotline.end_call(call, acting_user=user, **data)))
    if not saved:
        bound = {"note_form": form} if is_note else {"end_form": form}
        response = _answer(request, call, saved=False, notice="", section="note" if is_note else "end", **bound)
        if request.htmx:
            response["HX-Retarget"] = "#workspace"  # the forms aim at the whole console for the fresh one
        return response
    done = ended[0]
    notice = _("Call ended after %(duration)s: %(outcome)s.") % {
        "duration": duration_text(done.duration_seconds), "outcome": done.get_outcome_display()}
    if not request.htmx:
        messages.success(request, notice)
        return redirect("homecare:hotline")
    response = render(request, "homecare/hotline/_console.html", _console(request, notice=notice))
    response["HX-Push-Url"] = reverse("homecare:hotline")
    return response


@login_required
@permission_required("homecare.view_callrecord", raise_exception=True)
def calls(request):
    """Call records in the user's jurisdiction (an agent: the whole city, own calls on a tick)."""
    user = request.user
    queryset = CallRecord.objects.for_user(user).select_related("agent", "elder")
    filterset = CallFilter(request.GET, queryset=queryset, request=request)
    exclude = () if user.has_perm("homecare.add_callrecord") else ("console",)
    table = CallTable(filterset.qs, exclude=exclude)
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return render_list(request, "homecare/hotline/calls.html", "homecare/hotline/_call_results.html",
                       {"filter": filterset, "table": table})
