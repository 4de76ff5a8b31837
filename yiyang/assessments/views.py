"""Assessment pages: the list, a request, an assessment's page with its actions, and the
tablet recording form with its live score.

Reads go through ``for_user`` (an assessment through ``services.access_assessment_by_id``, so
another jurisdiction's assessment is a 404); every write goes through ``services``, which
check the permission again.
"""

from __future__ import annotations

from dataclasses import asdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from yiyang.accounts.roles import Role
from yiyang.core.models import AuditEntry
from yiyang.core.tables import AuditTable
from yiyang.people.models import Contact
from yiyang.people.services import access_elder_by_id
from yiyang.web.htmx import render_list

from . import rules, services
from .forms import (
    AssessmentListFilter,
    AssignForm,
    CancelForm,
    RequestForm,
    ReviewForm,
    ReviewRequestForm,
    read_recording,
)
from .instruments import INSTRUMENTS
from .models import Assessment, Reason, SignerRole
from .rules import OPEN_STATUSES, Action, Status
from .tables import AssessmentTable, status_badge

PER_PAGE = 50
HISTORY_LIMIT = 200
RECORDABLE = frozenset({Status.ASSIGNED, Status.IN_PROGRESS, Status.RETURNED})
SIGN_ACTIONS = {"sign:assessor": SignerRole.ASSESSOR, "sign:elder": SignerRole.ELDER,
                "sign:guardian": SignerRole.GUARDIAN}

view_required = permission_required("assessments.view_assessment", raise_exception=True)


def _messages(error: ValidationError) -> list[str]:
    return [str(m) for m in error.messages]


def _form_error(form, error: ValidationError) -> None:
    form.add_service_errors(error)


# --- list and request ------------------------------------------------------------------------


@login_required
@view_required
def assessment_list(request):
    user = request.user
    rows = (Assessment.objects.for_user(user).select_related("elder__area")
            .prefetch_related("assignments__assessor__user").order_by("-requested_at", "-id"))
    filterset = AssessmentListFilter(request.GET, queryset=rows)
    table = AssessmentTable(filterset.qs)
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    mine = user.role == Role.ASSESSOR and not user.is_superuser  # for_user gives an assessor their assignments
    return render_list(request, "assessments/assessment_list.html", "assessments/_results.html",
                       {"filter": filterset, "table": table, "mine": mine})


@login_required
@permission_required("assessments.add_assessment", raise_exception=True)
def assessment_request(request):
    elder_id = request.GET.get("elder", "")
    if not elder_id.isdigit():
        raise Http404(_("Choose the elder to assess from their page."))
    elder = access_elder_by_id(request.user, int(elder_id))
    portal = request.user.scope_kind == "self"
    form = RequestForm(request.POST or None, portal=portal)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            assessment = services.request_assessment(
                elder, acting_user=request.user, reason=data["reason"], requester_kind=data.get("requester_kind") or None,
                note=data["note"])
        except ValidationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("An assessment of %(name)s is requested.") % {"name": elder.name})
            return redirect("assessments:detail", pk=assessment.pk)
    open_assessment = Assessment.objects.for_user(request.user).filter(elder=elder, status__in=OPEN_STATUSES).first()
    return render(request, "assessments/request_form.html",
                  {"form": form, "elder": elder, "open_assessment": open_assessment})


# --- an assessment's page --------------------------------------------------------------------


def _assigned_to(user, assessment: Assessment) -> bool:
    return assessment.assignments.filter(assessor__user_id=user.pk).exists()


def _can_request_review(user, assessment: Assessment) -> bool:
    return (user.has_perm(services.PERM_REQUEST) and assessment.status == Status.APPROVED
            and assessment.review_request_until is not None
            and timezone.localdate() <= assessment.review_request_until
            and not assessment.reviews.exclude(status=Status.CANCELLED).exists())


def _allowed(user, assessment: Assessment) -> dict[str, bool]:
    """The actions the page offers: allowed by the workflow table and by the user's role."""
    status = assessment.status

    def transition(action):
        return (status, action) in rules.TRANSITIONS

    own_request = assessment.requested_by_id == user.pk and status == Status.REQUESTED
    return {
        "assign": transition(Action.ASSIGN) and user.has_perm(services.PERM_ASSIGN),
        "record": status in RECORDABLE and user.has_perm(services.PERM_RECORD) and _assigned_to(user, assessment),
        "review": transition(Action.APPROVE) and user.has_perm(services.PERM_REVIEW),
        "cancel": transition(Action.CANCEL) and (user.has_perm(services.PERM_ASSIGN) or own_request),
        "request_review": _can_request_review(user, assessment),
    }


def _dimension_rows(assessment: Assessment) -> list[dict]:
    spec = INSTRUMENTS[assessment.instrument]
    scores = assessment.dimension_scores or {}
    return [{"code": dim.code, "name": dim.name, "score": scores.get(dim.code), "max": dim.max_score}
            for dim in spec.dimensions if dim.code in scores]


def _grade_name(assessment: Assessment, grade: int | None) -> str | None:
    return None if grade is None else INSTRUMENTS[assessment.instrument].grade_names[grade]


def _visible_history(visible, elder) -> list[dict]:
    """The elder's approved results that the user may open (as the API's history does)."""
    seen = set(visible.filter(elder=elder).values_list("pk", flat=True))
    return [{**asdict(entry), "reason_label": Reason(entry.reason).label}
            for entry in services.history(elder) if entry.assessment_id in seen]


def _detail_context(request, assessment: Assessment, **forms) -> dict:
    user = request.user
    allowed = _allowed(user, assessment)
    visible = Assessment.objects.for_user(user)
    context = {
        "assessment": assessment,
        "elder": assessment.elder,
        "status_badge": status_badge(assessment),
        "instrument": INSTRUMENTS[assessment.instrument],
        "assignments": assessment.assignments.select_related("assessor__user", "assessor__organization"),
        "signatures": assessment.signatures.all(),
        "dimensions": _dimension_rows(assessment),
        "grade_name": _grade_name(assessment, assessment.grade),
        "preliminary_grade_name": _grade_name(assessment, assessment.preliminary_grade),
        "allowed": allowed,
        "review_of": visible.filter(pk=assessment.review_of_id).first() if assessment.review_of_id else None,
        "reviews": visible.filter(review_of=assessment),
        "results": _visible_history(visible, assessment.elder),
        "audit": (AuditTable(AuditEntry.objects.for_user(user).filter(
            object_type="assessments.assessment", object_id=str(assessment.pk)).order_by("-created_at", "-id")
            [:HISTORY_LIMIT], orderable=False, exclude=("area_code",))
            if user.has_perm("core.view_auditentry") else None),
        "review_form": ReviewForm(),
        "cancel_form": CancelForm(),
        "review_request_form": ReviewRequestForm(),
        "assign_form": None,
        **forms,
    }
    if allowed["assign"] and context["assign_form"] is None:
        context["assign_form"] = _assign_form(user, assessment)
    return context


def _assign_form(user, assessment: Assessment, data=None) -> AssignForm:
    eligible = services.eligible_assessors(assessment, user=user)
    current = [str(pk) for pk in assessment.assignments.values_list("assessor_id", flat=True)]
    return AssignForm(data, eligible=eligible, required=assessment.assessors_required,
                      initial={"assessors": current})


@login_required
@view_required
def assessment_detail(request, pk: int):
    assessment = services.access_assessment_by_id(request.user, pk)
    return render(request, "assessments/assessment_detail.html", _detail_context(request, assessment))


def _act(request, assessment: Assessment, form, call, success: str, form_name: str, redirect_to=None):
    """Run a service for a detail-page action: back to the page with a message, or the page with the errors."""
    if form.is_valid():
        try:
            result = call(form.cleaned_data)
        except ValidationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, success)
            target = redirect_to(result) if redirect_to else assessment
            return redirect("assessments:detail", pk=target.pk)
    assessment = services.access_assessment_by_id(request.user, assessment.pk)
    return render(request, "assessments/assessment_detail.html",
                  _detail_context(request, assessment, **{form_name: form}))


@login_required
@view_required
@require_POST
def assessment_assign(request, pk: int):
    if not request.user.has_perm(services.PERM_ASSIGN):
        raise PermissionDenied
    assessment = services.access_assessment_by_id(request.user, pk)
    form = _assign_form(request.user, assessment, request.POST)
    return _act(request, assessment, form,
                lambda data: services.assign_assessors(assessment, assessors=form.chosen(), acting_user=request.user),
                _("The assessors are assigned."), "assign_form")


@login_required
@view_required
@require_POST
def assessment_review(request, pk: int):
    assessment = services.access_assessment_by_id(request.user, pk)
    decision = request.POST.get("decision", "")
    form = ReviewForm(request.POST)
    done = _("The result is approved.") if decision == Action.APPROVE else _("The assessment is returned to the assessors.")
    return _act(request, assessment, form,
                lambda data: services.review(assessment, acting_user=request.user, decision=decision,
                                             reason=data["reason"]),
                done, "review_form")


@login_required
@view_required
@require_POST
def assessment_cancel(request, pk: int):
    assessment = services.access_assessment_by_id(request.user, pk)
    form = CancelForm(request.POST)
    return _act(request, assessment, form,
                lambda data: services.cancel_assessment(assessment, acting_user=request.user, reason=data["reason"]),
                _("The assessment is cancelled."), "cancel_form")


@login_required
@view_required
@require_POST
def assessment_request_review(request, pk: int):
    assessment = services.access_assessment_by_id(request.user, pk)
    form = ReviewRequestForm(request.POST)
    return _act(request, assessment, form,
                lambda data: services.request_review(assessment, acting_user=request.user, note=data["note"],
                                                     requester_kind=data.get("requester_kind") or None),
                _("A re-assessment (复核) is requested."), "review_request_form", redirect_to=lambda created: created)


# --- the recording form ------------------------------------------------------------------------


def _recording_access(user, pk: int) -> Assessment:
    """The assessment for its assigned assessor (404 outside what they see, 403 if not assigned to them)."""
    assessment = services.access_assessment_by_id(user, pk)
    if not (user.has_perm(services.PERM_RECORD) and _assigned_to(user, assessment)):
        raise PermissionDenied(_("Only the assigned assessors can record this assessment."))
    return assessment


def live_summary(instrument, recording) -> dict:
    """Sums of the answered items per dimension and in all, and the grade the unanswered items still allow.

    Unanswered items are taken at their lowest and their highest scores (the change rules
    applied both times): when both give one grade it is the grade; a complete form is scored as is.
    """
    items = recording.items
    dimensions = [{"code": dim.code, "name": dim.name, "max": dim.max_score,
                   "answered": sum(1 for item in dim.items if item.code in items),
                   "count": len(dim.items), "score": sum(items.get(item.code, 0) for item in dim.items)}
                  for dim in instrument.dimensions]
    answered, count = sum(d["answered"] for d in dimensions), sum(d["count"] for d in dimensions)
    grades = []
    for pick in (min, max):
        filled = {code: items.get(code, pick(item.scores)) for code, item in instrument.items.items()}
        result = rules.score(filled, instrument=instrument.code, coma=recording.coma, dementia=recording.dementia,
                             risk_events_30d=recording.risk_events_30d)
        grades.append(result.grade)
    low, high = min(grades), max(grades)
    return {
        "dimensions": dimensions, "answered": answered, "count": count, "complete": answered == count,
        "total": sum(d["score"] for d in dimensions) if instrument.grade_bands else None,
        "max_total": instrument.max_total,
        "grade": instrument.grade_names[low] if low == high else None,
        "grade_range": (instrument.grade_names[low], instrument.grade_names[high]),
    }


def _item_rows(instrument, values: dict, errors: dict) -> list[dict]:
    return [{"dimension": dim, "items": [
        {"item": item, "anchor": "item-" + item.code.replace(".", "-"), "value": values.get(item.code),
         "error": errors.get(item.code)} for item in dim.items]} for dim in instrument.dimensions]


def _form_page(request, assessment: Assessment, form: dict, *, errors=None, general=None, status=200):
    user = request.user
    instrument = INSTRUMENTS[assessment.instrument]
    errors = errors or {}
    recording = read_recording(instrument, {code: str(v) for code, v in form["items"].items()})
    recording.coma, recording.dementia, recording.risk_events_30d = (
        form["coma"], form["dementia"], form["risk_events_30d"])
    signatures = list(assessment.signatures.all())
    signed_assessors = {s.assessor_id for s in signatures if s.assessor_id}
    me = next((a.assessor for a in assessment.assignments.select_related("assessor__user") if a.assessor.user_id == user.pk),
              None)
    named = [{"code": code, "anchor": "item-" + code.replace(".", "-"),
              "name": instrument.items[code].name if code in instrument.items else code, "error": message}
             for code, message in errors.items()]
    context = {
        "assessment": assessment, "elder": assessment.elder, "instrument": instrument,
        "status_badge": status_badge(assessment),
        "rows": _item_rows(instrument, form["items"], errors),
        "form": form, "errors": errors, "named_errors": named, "general_errors": general or [],
        "summary": live_summary(instrument, recording),
        "signatures": signatures,
        "unsigned": [a.assessor for a in assessment.assignments.select_related("assessor__user")
                     if a.assessor_id not in signed_assessors],
        "i_signed": me is not None and me.pk in signed_assessors,
        "elder_signed": any(s.role in (SignerRole.ELDER, SignerRole.GUARDIAN) for s in signatures),
        "guardians": Contact.objects.for_user(user).filter(elder=assessment.elder, is_guardian=True),
        "can_sign": assessment.status != Status.ASSIGNED or bool(form["items"]),
    }
    return render(request, "assessments/recording_form.html", context, status=status)


def _split_errors(instrument, exc) -> tuple[dict, list]:
    """A service's errors: those naming an item (or a change-rule input) go next to it, the rest above."""
    if isinstance(exc, rules.ScoringError):
        pairs = list(exc.errors.items())
    elif hasattr(exc, "error_dict"):
        pairs = [(name, " ".join(messages_)) for name, messages_ in exc.message_dict.items()]
    else:
        pairs = [(None, " ".join(_messages(exc)))]
    named, general = {}, []
    fields = set(instrument.items) | {"coma", "dementia", "risk_events_30d"}
    for name, message in pairs:
        if name in fields:
            named[name] = message
        else:
            general.append(message)
    return named, general


@login_required
@view_required
def assessment_form(request, pk: int):
    assessment = _recording_access(request.user, pk)
    if assessment.status not in RECORDABLE:
        messages.info(request, _("This assessment is %(status)s: its form can no longer be changed.") % {
            "status": assessment.get_status_display()})
        return redirect("assessments:detail", pk=assessment.pk)
    instrument = INSTRUMENTS[assessment.instrument]
    if request.method != "POST":
        return _form_page(request, assessment, services.reveal_form(assessment, acting_user=request.user))

    recording = read_recording(instrument, request.POST)
    action = request.POST.get("action", "save")
    if recording.errors:
        return _form_page(request, assessment, recording.as_form(), errors=recording.errors, status=422)
    stored = services.read_form(assessment)
    changed = recording.as_form() != {**stored, "items": dict(stored["items"])}
    try:
        with transaction.atomic():  # a refused signature or submission leaves the stored form as it was
            if action == "save" or changed:
                assessment = services.save_draft(
                    assessment, acting_user=request.user, items=recording.items, coma=recording.coma,
                    dementia=recording.dementia, risk_events_30d=recording.risk_events_30d)
            if action in SIGN_ACTIONS:
                contact = None
                if SIGN_ACTIONS[action] == SignerRole.GUARDIAN:
                    contact = (Contact.objects.for_user(request.user)
                               .filter(pk=request.POST.get("contact") or 0, elder=assessment.elder).first())
                signature = services.sign(assessment, acting_user=request.user, signed_as=SIGN_ACTIONS[action],
                                          contact=contact)
            elif action == "submit":
                assessment = services.submit(assessment, acting_user=request.user)
    except (rules.ScoringError, ValidationError) as exc:
        named, general = _split_errors(instrument, exc)
        assessment = services.access_assessment_by_id(request.user, pk)
        return _form_page(request, assessment, recording.as_form(), errors=named, general=general, status=422)

    if action == "submit":
        messages.success(request, _("The assessment is submitted for review."))
        return redirect("assessments:detail", pk=assessment.pk)
    if action in SIGN_ACTIONS:
        messages.success(request, _("%(name)s has signed.") % {"name": signature.name})
    elif changed or action == "save":
        messages.success(request, _("The draft is saved (%(n)d of %(count)d items).") % {
            "n": len(recording.items), "count": len(instrument.items)})
    return redirect("assessments:form", pk=assessment.pk)


@login_required
@view_required
@require_POST
def live_score(request, pk: int):
    """The running sums for the form as it stands on the tablet (nothing is saved)."""
    assessment = _recording_access(request.user, pk)
    instrument = INSTRUMENTS[assessment.instrument]
    recording = read_recording(instrument, request.POST)
    return render(request, "assessments/_live_score.html",
                  {"summary": live_summary(instrument, recording), "read_errors": recording.errors})

