"""The provider's workers: the list with skills and certificate expiry, adding a worker, shifts,
leave, and one worker's page (skills, shifts, leave). Writes go through ``workforce``."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from yiyang.accounts.roles import Role

from . import workforce
from .days import day_bounds
from .forms_provider import LeaveForm, ShiftForm, SkillsForm, WorkerForm
from .models import Leave, Shift, Worker
from .rules import OPEN_STATUSES
from .tables_provider import WorkerTable, certificate_state
from .views_provider import dispatcher_required, provider_workers

SHIFTS_SHOWN_DAYS = 14


def _free_logins(user):
    """Caregiver logins of the organisation that no worker uses yet (for linking a new worker)."""
    return (get_user_model().objects.filter(organization_id=user.organization_id, role=Role.CAREGIVER, is_active=True,
                                            worker__isnull=True).order_by("username"))


def _call(form, call) -> bool:
    """Run a workforce function with the form's data; its refusal becomes the form's errors."""
    try:
        call(form.service_data())
    except ValidationError as exc:
        form.add_service_errors(exc)
        return False
    except PermissionDenied as exc:
        form.add_error(None, str(exc) or _("You do not have permission to do this."))
        return False
    return True


def _list_context(request, **forms) -> dict:
    user, today = request.user, timezone.localdate()
    workers = list(provider_workers(user).select_related("user").prefetch_related(
        "worker_skills__skill", Prefetch("shifts", queryset=Shift.objects.filter(day=today)),
        Prefetch("leaves", queryset=Leave.objects.filter(last_day__gte=today).order_by("first_day"))))
    table = WorkerTable(workers, today=today)
    RequestConfig(request, paginate=False).configure(table)
    return {
        "table": table,
        "worker_form": WorkerForm(logins=_free_logins(user)),
        "shift_form": ShiftForm(workers=workers),
        "leave_form": LeaveForm(workers=workers),
        **forms,
    }


@dispatcher_required
def workers_page(request):
    return render(request, "homecare/provider/workers.html", _list_context(request))


def _own_worker(user, worker_id) -> Worker:
    return get_object_or_404(provider_workers(user), pk=worker_id)


@dispatcher_required
@require_POST
def worker_add(request):
    form = WorkerForm(request.POST, logins=_free_logins(request.user))
    if form.is_valid() and _call(form, lambda data: workforce.add_worker(acting_user=request.user, **data)):
        messages.success(request, _("%(name)s is added.") % {"name": form.cleaned_data["name"]})
        return redirect("homecare:provider_workers")
    return render(request, "homecare/provider/workers.html", _list_context(request, worker_form=form))


def _chosen_worker(request, form):
    """The worker the form names, from the dispatcher's own organisation, or a field error."""
    worker = provider_workers(request.user).filter(pk=form.cleaned_data["worker"]).first()
    if worker is None:
        form.add_error("worker", _("Choose a worker of your organisation."))
    return worker


@dispatcher_required
@require_POST
def shift_add(request):
    workers = provider_workers(request.user)
    form = ShiftForm(request.POST, workers=workers)
    worker = _chosen_worker(request, form) if form.is_valid() else None
    from_worker_page = request.POST.get("next") == "worker"
    if worker is not None and _call(form, lambda data: workforce.add_shift(worker, acting_user=request.user, **data)):
        data = form.cleaned_data
        messages.success(request, _("Shift of %(name)s recorded for %(days)s.") % {
            "name": worker.name,
            "days": data["day"].isoformat() + (f" – {data['until'].isoformat()}" if data["until"] else "")})
        if from_worker_page:
            return redirect("homecare:provider_worker", worker.pk)
        return redirect("homecare:provider_workers")
    if from_worker_page and worker is not None:
        return render(request, "homecare/provider/worker.html", _worker_context(request, worker, shift_form=form))
    return render(request, "homecare/provider/workers.html", _list_context(request, shift_form=form))


def _orders_during(worker, first_day: dt.date, last_day: dt.date) -> int:
    start, _end = day_bounds(first_day)
    _start, end = day_bounds(last_day)
    return worker.orders.filter(window_start__gte=start, window_start__lt=end, status__in=OPEN_STATUSES).count()


@dispatcher_required
@require_POST
def leave_add(request):
    workers = provider_workers(request.user)
    form = LeaveForm(request.POST, workers=workers)
    worker = _chosen_worker(request, form) if form.is_valid() else None
    if worker is not None and _call(form, lambda data: workforce.add_leave(worker, acting_user=request.user, **data)):
        data = form.cleaned_data
        messages.success(request, _("Leave of %(name)s recorded.") % {"name": worker.name})
        clashing = _orders_during(worker, data["first_day"], data["last_day"])
        if clashing:
            messages.warning(request, _("%(name)s still has %(count)d open orders in that period: reassign them on "
                                        "the orders board.") % {"name": worker.name, "count": clashing})
        return redirect("homecare:provider_workers")
    return render(request, "homecare/provider/workers.html", _list_context(request, leave_form=form))


# --- one worker ----------------------------------------------------------------------------------


def _worker_context(request, worker, **forms) -> dict:
    today = timezone.localdate()
    held = [{"held": ws, "state": certificate_state(ws.valid_until, today)}
            for ws in worker.worker_skills.select_related("skill").order_by("skill__code")]
    return {
        "worker": worker, "held": held,
        "shifts": worker.shifts.filter(day__gte=today - dt.timedelta(days=7),
                                       day__lte=today + dt.timedelta(days=SHIFTS_SHOWN_DAYS)).order_by("day"),
        "leaves": worker.leaves.filter(last_day__gte=today - dt.timedelta(days=30)).order_by("first_day"),
        "skills_form": SkillsForm(worker=worker),
        "shift_form": ShiftForm(workers=[worker], initial={"worker": worker.pk, "day": today, "start": "08:00",
                                                           "end": "17:00", "break_start": "12:00", "break_minutes": 60}),
        "today": today,
        **forms,
    }


@dispatcher_required
def worker_page(request, worker_id: int):
    worker = _own_worker(request.user, worker_id)
    return render(request, "homecare/provider/worker.html", _worker_context(request, worker))


@dispatcher_required
@require_POST
def worker_skills(request, worker_id: int):
    worker = _own_worker(request.user, worker_id)
    form = SkillsForm(request.POST, worker=worker)
    if form.is_valid() and _call(form, lambda data: workforce.set_skills(worker, acting_user=request.user, **data)):
        messages.success(request, _("Skills of %(name)s saved.") % {"name": worker.name})
        return redirect("homecare:provider_worker", worker.pk)
    return render(request, "homecare/provider/worker.html", _worker_context(request, worker, skills_form=form))
