"""Application pages: the list, a new application for an elder, an application's page with its actions,
and the download of a document.

Reads go through ``for_user``, so another jurisdiction's application or document is a 404. Every
write goes through ``applications`` (which checks the permission, the scope and the stage again);
its ValidationError and PermissionDenied messages are shown in the form that caused them. A download
discloses personal data (an ID card scan), so each one is audited as a reveal.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe
from django_tables2 import RequestConfig

from yiyang.people.services import access_elder_by_id
from yiyang.web.htmx import render_list

from . import applications, rules
from .applications_rules import OPEN_STATUSES, STAGES, TRANSITIONS, Action, Level
from .forms_applications import (
    ApplicationForm,
    ApplicationListFilter,
    DecisionForm,
    DocumentForm,
    ResubmitForm,
    WithdrawForm,
    application_programmes,
)
from .models import Application, ApplicationDocument, ApplicationReview, Entitlement
from .tables_applications import ApplicationTable, status_badge

PER_PAGE = 50
DETAIL = "benefits/applications/detail.html"
REFUSALS = (ValidationError, PermissionDenied, rules.RuleError)  # the services' refusals, shown in the form

view_required = permission_required("benefits.view_application", raise_exception=True)
apply_required = permission_required(applications.PERM_APPLY, raise_exception=True)
review_required = permission_required(applications.PERM_REVIEW, raise_exception=True)


def visible_applications(user):
    return Application.objects.for_user(user).select_related("programme", "elder__area", "submitted_by")


def _application(user, pk: int) -> Application:
    return get_object_or_404(visible_applications(user), pk=pk)


def _refused(form, exc: Exception) -> None:
    """A service's refusal, shown in the form that asked for it."""
    if isinstance(exc, ValidationError):
        form.add_service_errors(exc)
    else:
        form.add_error(None, str(exc) or _("You do not have permission to do this."))


# --- list ---------------------------------------------------------------------------------------


@login_required
@view_required
def application_list(request):
    rows = visible_applications(request.user).order_by("-submitted_at", "-id")
    filterset = ApplicationListFilter(request.GET, queryset=rows, request=request)
    table = ApplicationTable(filterset.qs)
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return render_list(request, "benefits/applications/list.html", "benefits/applications/_results.html",
                       {"filter": filterset, "table": table})


# --- a new application ------------------------------------------------------------------------------


@login_required
@apply_required
def application_new(request):
    """File an application for the elder named by ``?elder=``; the programme's document inputs follow its choice."""
    user = request.user
    elder_id = request.GET.get("elder", "")
    if not elder_id.isdigit():
        raise Http404(_("Open the elder's page and choose “Apply for a subsidy”."))
    elder = access_elder_by_id(user, int(elder_id))
    programmes = list(application_programmes(user))
    posted = request.method == "POST"
    chosen = (request.POST if posted else request.GET).get("programme") or (
        programmes[0].code if len(programmes) == 1 else "")
    programme = next((p for p in programmes if p.code == chosen), None)
    form = ApplicationForm(request.POST if posted else None, request.FILES if posted else None,
                           programmes=programmes, programme=programme)
    if posted and form.is_valid():
        try:
            application = applications.submit_application(
                acting_user=user, elder_id=elder.pk, programme_code=form.cleaned_data["programme"],
                requested_start_month=form.cleaned_data["requested_start_month"], documents=form.documents())
        except REFUSALS as exc:
            _refused(form, exc)
        else:
            messages.success(request, _("The application for %(name)s is submitted; the village reviews it first.") % {
                "name": elder.name})
            return redirect("benefits:application_detail", pk=application.pk)
    open_applications = visible_applications(user).filter(elder=elder, status__in=OPEN_STATUSES)
    return render(request, "benefits/applications/new.html", {
        "form": form, "elder": elder, "programme": programme, "programmes": programmes,
        "open_applications": open_applications, "max_bytes": applications.document_max_bytes()})


# --- an application's page ----------------------------------------------------------------------------


def _allowed(user, application: Application) -> dict[str, bool]:
    """The actions the page offers: those the workflow table allows at the user's level and role."""
    status, level = application.status, applications.reviewer_level(user)
    applicant = user.has_perm(applications.PERM_APPLY)
    return {
        "review": (level is not None and user.has_perm(applications.PERM_REVIEW)
                   and (status, Action.APPROVE, level) in TRANSITIONS),
        "resubmit": applicant and (status, Action.RESUBMIT, Level.APPLICANT) in TRANSITIONS,
        "withdraw": applicant and (status, Action.WITHDRAW, Level.APPLICANT) in TRANSITIONS,
        "add_document": applicant and status in OPEN_STATUSES,
    }


def _detail_context(request, application: Application, **forms) -> dict:
    user = request.user
    allowed = _allowed(user, application)
    stage = STAGES.get(application.status)
    return {
        "application": application,
        "elder": application.elder,
        "programme": application.programme,
        "status_badge": status_badge(application),
        "waiting_for": Level(stage[0]).label if stage else None,
        "reviews": ApplicationReview.objects.for_user(user).filter(application=application).select_related("actor"),
        "documents": (ApplicationDocument.objects.for_user(user).filter(application=application)
                      .select_related("uploaded_by")),
        "entitlement": Entitlement.objects.for_user(user).filter(application=application).first(),
        "allowed": allowed,
        "any_action": any(allowed.values()) or bool(forms),
        "decision_form": DecisionForm(),
        "withdraw_form": WithdrawForm(),
        "document_form": DocumentForm(),
        "resubmit_form": ResubmitForm(),
        "max_bytes": applications.document_max_bytes(),
        **forms,
    }


@login_required
@view_required
def application_detail(request, pk: int):
    application = _application(request.user, pk)
    return render(request, DETAIL, _detail_context(request, application))


def _act(request, application: Application, form, call, form_name: str, success):
    """Run a service for a page action: back to the page with a message, or the page with the errors."""
    if form.is_valid():
        try:
            result = call(form.cleaned_data)
        except REFUSALS as exc:
            _refused(form, exc)
        else:
            messages.success(request, success(result))
            return redirect("benefits:application_detail", pk=application.pk)
    application = _application(request.user, application.pk)
    return render(request, DETAIL, _detail_context(request, application, **{form_name: form}))


def _review_done(result: Application) -> str:
    if result.status == Application.Status.APPROVED:
        return _("The application is approved. The public notice runs until %(date)s.") % {
            "date": f"{result.publicity_ends:%Y-%m-%d}"}
    if result.status == Application.Status.RETURNED:
        return _("The application is returned to the applicant.")
    if result.status == Application.Status.REJECTED:
        return _("The application is rejected.")
    return _("Approved at your level; it now awaits the %(level)s.") % {"level": Level(STAGES[result.status][0]).label}


@login_required
@view_required
@review_required
@require_POST
def application_review(request, pk: int):
    application = _application(request.user, pk)
    decision = request.POST.get("decision", "")
    return _act(request, application, DecisionForm(request.POST),
                lambda data: applications.review(application, decision=decision, reason=data["reason"],
                                                 acting_user=request.user),
                "decision_form", _review_done)


@login_required
@view_required
@apply_required
@require_POST
def application_resubmit(request, pk: int):
    application = _application(request.user, pk)
    return _act(request, application, ResubmitForm({}),
                lambda data: applications.resubmit(application, acting_user=request.user),
                "resubmit_form", lambda result: _("The application is sent to the village again."))


@login_required
@view_required
@apply_required
@require_POST
def application_withdraw(request, pk: int):
    application = _application(request.user, pk)
    return _act(request, application, WithdrawForm(request.POST),
                lambda data: applications.withdraw(application, acting_user=request.user, reason=data["reason"]),
                "withdraw_form", lambda result: _("The application is withdrawn."))


@login_required
@view_required
@apply_required
@require_POST
def application_add_document(request, pk: int):
    application = _application(request.user, pk)
    return _act(request, application, DocumentForm(request.POST, request.FILES),
                lambda data: applications.add_document(application, acting_user=request.user, kind=data["kind"],
                                                       file=data["file"]),
                "document_form", lambda document: _("The document is added: %(kind)s.") % {
                    "kind": document.get_kind_display()})


# --- downloads ----------------------------------------------------------------------------------------


@login_required
@view_required
@require_safe
def application_document(request, pk: int):
    """One document as an attachment with its checked type; every download is audited."""
    document, handle = applications.open_document(pk, acting_user=request.user)
    application = document.application
    suffix = PurePosixPath(document.file.name).suffix
    response = FileResponse(handle, as_attachment=True, content_type=document.content_type,
                            filename=f"application-{application.pk}-{document.kind}{suffix}")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
