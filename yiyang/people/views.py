"""Registry pages: the elder list, an elder's page, the forms, and revealing personal data.

Reads go through ``for_user`` (an elder through ``services.access_elder_by_id``, so
another jurisdiction's elder is a 404); writes go through ``services``.
"""

from __future__ import annotations

import base64
import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from yiyang.core import crypto
from yiyang.core.models import AuditEntry
from yiyang.core.tables import AuditTable
from yiyang.web.htmx import render_list

from . import idnumber, rules, services
from .filters import ElderFilter
from .forms import (
    ContactForm,
    ElderEditForm,
    ElderForm,
    ElderListFilter,
    HardshipEndForm,
    HardshipForm,
    ImportForm,
)
from .models import Contact, Elder, HardshipStatus, Sex
from .tables import ElderTable
from .views_moves import elder_moves

PER_PAGE = 50
HISTORY_LIMIT = 200
IMPORT_ERRORS_SHOWN = 100

view_required = permission_required("people.view_elder", raise_exception=True)
change_required = permission_required("people.change_elder", raise_exception=True)


def listed_elders(user):
    """The elders ``user`` may see, with what the list shows."""
    open_hardships = HardshipStatus.objects.for_user(user).filter(end_date__isnull=True)
    return (Elder.objects.for_user(user).select_related("area")
            .prefetch_related(Prefetch("hardships", queryset=open_hardships, to_attr="open_hardships")))


@login_required
@view_required
def elder_list(request):
    filterset = ElderListFilter(request.GET, queryset=listed_elders(request.user), request=request)
    table = ElderTable(filterset.qs)
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return render_list(request, "people/elder_list.html", "people/_elder_results.html",
                       {"filter": filterset, "table": table})


def _history(user, elder: Elder):
    """Audit entries about the elder, its hardship statuses and contacts, newest first."""
    hardship_ids = [str(pk) for pk in HardshipStatus.objects.for_user(user).filter(elder=elder).values_list("pk", flat=True)]
    contact_ids = [str(pk) for pk in Contact.objects.for_user(user).filter(elder=elder).values_list("pk", flat=True)]
    about = (Q(object_type="people.elder", object_id=str(elder.pk))
             | Q(object_type="people.hardshipstatus", object_id__in=hardship_ids)
             | Q(object_type="people.contact", object_id__in=contact_ids))
    return AuditEntry.objects.for_user(user).filter(about).order_by("-created_at", "-id")[:HISTORY_LIMIT]


def _detail_context(request, elder: Elder, **forms) -> dict:
    user = request.user
    household = (Elder.objects.for_user(user).filter(household_id=elder.household_id).exclude(pk=elder.pk)
                 .select_related("area") if elder.household_id else Elder.objects.none())
    return {
        "elder": elder,
        "hardships": HardshipStatus.objects.for_user(user).filter(elder=elder).select_related("recorded_by"),
        "contacts": Contact.objects.for_user(user).filter(elder=elder),
        "household": household,
        "moves": elder_moves(user, elder),
        "history": (AuditTable(_history(user, elder), orderable=False, exclude=("area_code",))
                    if user.has_perm("core.view_auditentry") else None),
        "hardship_form": HardshipForm(),
        "contact_form": ContactForm(),
        "end_form": None,
        "end_target": None,
        **forms,
    }


@login_required
@view_required
def elder_detail(request, pk: int):
    elder = services.access_elder_by_id(request.user, pk)
    return render(request, "people/elder_detail.html", _detail_context(request, elder))


def _save(form, call):
    """Run a service with the form's data; its ValidationError becomes the form's errors."""
    try:
        return call(form.service_data())
    except ValidationError as exc:
        form.add_service_errors(exc)
        return None


@login_required
@permission_required("people.add_elder", raise_exception=True)
def elder_create(request):
    form = ElderForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        elder = _save(form, lambda data: services.register_elder(acting_user=request.user, data=data))
        if elder is not None:
            messages.success(request, _("%(name)s is registered.") % {"name": elder.name})
            return redirect("people:detail", pk=elder.pk)
    return render(request, "people/elder_form.html", {"form": form, "elder": None})


@login_required
@change_required
def elder_edit(request, pk: int):
    elder = services.access_elder_by_id(request.user, pk)
    form = ElderEditForm(request.POST or None, user=request.user, elder=elder)
    if request.method == "POST" and form.is_valid():
        saved = _save(form, lambda data: services.update_elder(elder, acting_user=request.user, data=data))
        if saved is not None:
            messages.success(request, _("The changes to %(name)s are saved.") % {"name": saved.name})
            return redirect("people:detail", pk=saved.pk)
    return render(request, "people/elder_form.html", {"form": form, "elder": elder})


@login_required
@require_POST
def check_id_number(request):
    """Inline check of an ID number as the clerk leaves the field (no lookup of other elders)."""
    if not (request.user.has_perm("people.add_elder") or request.user.has_perm("people.change_elder")):
        raise PermissionDenied
    text = request.POST.get("id_number", "")
    context = {}
    if text.strip():
        today = dt.date.today()
        try:
            parsed = idnumber.parse(text, today=today)
            rules.check_registration_age(parsed.birth_date, today)
        except ValueError as exc:
            context["error"] = str(exc)
        else:
            context.update(birth_date=parsed.birth_date, sex=Sex(parsed.sex).label,
                           age=idnumber.age_on(parsed.birth_date, today))
    return render(request, "people/_id_check.html", context)


@login_required
@view_required
@permission_required("people.reveal_personal_data", raise_exception=True)
@require_POST
def reveal(request, pk: int, field: str):
    if field not in services.REVEALABLE:
        raise Http404
    elder = services.access_elder_by_id(request.user, pk)
    value = services.reveal(elder, field, acting_user=request.user)
    return render(request, "people/_revealed.html", {"value": value})


def _section(request, elder: Elder, template: str, anchor: str, saved: bool, **forms):
    """After a hardship or contact change: the section for htmx, else the page (or a redirect)."""
    if request.htmx:
        return render(request, template, _detail_context(request, elder, **forms))
    if saved:
        return redirect(reverse("people:detail", args=[elder.pk]) + f"#{anchor}")
    return render(request, "people/elder_detail.html", _detail_context(request, elder, **forms))


@login_required
@change_required
@require_POST
def hardship_add(request, pk: int):
    elder = services.access_elder_by_id(request.user, pk)
    form = HardshipForm(request.POST)
    saved = form.is_valid() and _save(
        form, lambda data: services.add_hardship(elder, acting_user=request.user, **data)) is not None
    return _section(request, elder, "people/_hardships.html", "hardships", saved,
                    hardship_form=HardshipForm() if saved else form)


@login_required
@change_required
@require_POST
def hardship_end(request, pk: int, hardship_pk: int):
    elder = services.access_elder_by_id(request.user, pk)
    status = get_object_or_404(HardshipStatus.objects.for_user(request.user), pk=hardship_pk, elder=elder)
    form = HardshipEndForm(request.POST)
    saved = form.is_valid() and _save(
        form, lambda data: services.end_hardship(status, acting_user=request.user, **data)) is not None
    return _section(request, elder, "people/_hardships.html", "hardships", saved,
                    end_form=None if saved else form, end_target=None if saved else status.pk)


@login_required
@change_required
@require_POST
def contact_add(request, pk: int):
    elder = services.access_elder_by_id(request.user, pk)
    form = ContactForm(request.POST)
    saved = form.is_valid() and _save(
        form, lambda data: services.add_contact(elder, acting_user=request.user, **data)) is not None
    return _section(request, elder, "people/_contacts.html", "contacts", saved,
                    contact_form=ContactForm() if saved else form)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@permission_required("people.export_elders", raise_exception=True)
def elder_export(request):
    """The filtered list as .xlsx; refuses filters it cannot read rather than export more."""
    from .exporting import export_elders_xlsx

    filterset = ElderFilter(request.GET, queryset=Elder.objects.for_user(request.user).select_related("area"))
    if not filterset.is_valid():
        messages.error(request, _("Correct the filters before exporting."))
        return redirect(reverse("people:list") + f"?{request.GET.urlencode()}")
    content = export_elders_xlsx(filterset.qs, acting_user=request.user)
    return xlsx_response(content, f"elders-{dt.date.today():%Y%m%d}.xlsx")


ERROR_REPORT_KEY = "people:import_error_report"
ERROR_REPORT_MAX_BYTES = 5 * 1024 * 1024


def _keep_error_report(request, report) -> bool:
    """Keep the row-by-row error report, encrypted, in the session for one download link."""
    from .importing import error_report_xlsx

    request.session.pop(ERROR_REPORT_KEY, None)
    if not report.errors:
        return False
    content = error_report_xlsx(report)
    if len(content) > ERROR_REPORT_MAX_BYTES:
        return False
    request.session[ERROR_REPORT_KEY] = crypto.encrypt(base64.b64encode(content).decode("ascii"))
    return True


@login_required
@permission_required("people.import_elders", raise_exception=True)
def elder_import(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    context = {"form": form, "report": None, "error_limit": IMPORT_ERRORS_SHOWN}
    if request.method == "POST" and form.is_valid():
        from .importing import import_roster

        upload, dry_run = form.cleaned_data["file"], form.cleaned_data["dry_run"]
        report = import_roster(upload, acting_user=request.user, dry_run=dry_run, filename=upload.name)
        context.update(report=report, dry_run=dry_run, errors=report.errors[:IMPORT_ERRORS_SHOWN],
                       error_report=_keep_error_report(request, report))
    return render(request, "people/elder_import.html", context)


@login_required
@permission_required("people.import_elders", raise_exception=True)
def import_error_report(request):
    sealed = request.session.get(ERROR_REPORT_KEY)
    if not sealed:
        raise Http404
    return xlsx_response(base64.b64decode(crypto.decrypt(sealed)), "import-errors.xlsx")


@login_required
@permission_required("people.import_elders", raise_exception=True)
def import_template(request):
    from .roster import roster_template_xlsx

    return xlsx_response(roster_template_xlsx(), "elder-roster-template.xlsx")
