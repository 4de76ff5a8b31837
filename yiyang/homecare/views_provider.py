"""The provider's orders board: one day's orders, and the dispatcher's small actions on each.

Only the provider's own staff (dispatchers, institution operators) come here, and they see
their organisation's orders through ``ServiceOrder.objects.for_user`` (another provider's
order is a 404). Every action calls ``services`` and shows its message on the order's row:
a refused transition, a worker who cannot take the order, or a concurrent change (the
assign form carries the worker the dispatcher saw as ``expected_worker_id``).
"""

from __future__ import annotations

import datetime as dt
import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from yiyang.web.htmx import render_list

from . import rules, services
from .days import day_bounds
from .forms_provider import AssignForm, BoardFilterForm, NoteForm, ReasonForm
from .models import ServiceOrder, Worker
from .rules import Party, Status, TransitionError

FLAG_LABELS = {
    rules.FAR_CHECK_IN: gettext_lazy("checked in far from the home"),
    rules.SHORT_VISIT: gettext_lazy("visit much shorter than the service"),
    rules.NO_LOCATION: gettext_lazy("no location at check-in"),
}
STATUS_BADGES = {
    Status.REQUESTED: "text-bg-warning", Status.ACCEPTED: "text-bg-info", Status.ASSIGNED: "text-bg-primary",
    Status.ON_THE_WAY: "text-bg-primary", Status.CHECKED_IN: "text-bg-success", Status.CHECKED_OUT: "text-bg-success",
    Status.CONFIRMED: "text-bg-secondary", Status.SETTLED: "text-bg-secondary", Status.CANCELLED: "text-bg-light",
    Status.NO_SHOW: "text-bg-danger", Status.DISPUTED: "text-bg-danger",
}


def dispatcher_required(view):
    """Logged in, allowed to dispatch, and staff of an organisation (whose orders and workers these are)."""

    @login_required
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not (user.has_perm("homecare.dispatch_order") and user.organization_id):
            raise PermissionDenied(_("These pages are for a provider's dispatchers."))
        return view(request, *args, **kwargs)

    return wrapped


def board_orders(user):
    return (ServiceOrder.objects.for_user(user)
            .select_related("elder__area", "service_type", "worker", "review_cleared_by")
            .prefetch_related("service_type__skills"))


def orders_of_day(user, day: dt.date):
    start, end = day_bounds(day)
    return board_orders(user).filter(window_start__gte=start, window_start__lt=end).order_by("window_start", "id")


def provider_workers(user):
    return Worker.objects.for_user(user).order_by("name")


def flag_labels(order) -> list[str]:
    return [str(FLAG_LABELS.get(flag, flag)) for flag in order.flags]


class FitCache:
    """``services.worker_unfit`` asked once per worker, service and day, not once per order."""

    def __init__(self, workers):
        self.workers = [w for w in workers if w.is_active]
        self.seen: dict[tuple, str | None] = {}

    def options(self, order) -> list[dict]:
        day = timezone.localtime(order.window_start).date()
        found = []
        for worker in self.workers:
            key = (worker.pk, order.service_type_id, day)
            if key not in self.seen:
                self.seen[key] = services.worker_unfit(worker, order)
            found.append({"worker": worker, "reason": self.seen[key]})
        return found


def order_row(order, fits: FitCache, **extra) -> dict:
    """What the board shows of one order, and which actions the provider may take on it."""
    nexts = rules.next_statuses(order.status, Party.PROVIDER)
    assignable = order.status in rules.PLANNABLE_STATUSES
    return {
        "order": order,
        "badge": STATUS_BADGES.get(order.status, "text-bg-light"),
        "flags": flag_labels(order),
        "can_accept": Status.ACCEPTED in nexts and order.status == Status.REQUESTED,
        "can_assign": assignable,
        "can_unassign": order.status == Status.ASSIGNED,
        "can_cancel": Status.CANCELLED in nexts,
        "can_clear": bool(order.flags) and order.review_cleared_by_id is None,
        "options": fits.options(order) if assignable else [],
        **extra,
    }


@dispatcher_required
def provider_orders(request):
    user = request.user
    workers = list(provider_workers(user))
    form = BoardFilterForm(request.GET or None, workers=workers, initial={"day": timezone.localdate()})
    day, status, worker = form.filters()
    orders = orders_of_day(user, day)
    counts = dict(orders.order_by().values_list("status").annotate(n=Count("id")))
    if status:
        orders = orders.filter(status=status)
    if worker == BoardFilterForm.UNASSIGNED:
        orders = orders.filter(worker__isnull=True)
    elif worker:
        orders = orders.filter(worker_id=worker)
    fits = FitCache(workers)
    context = {
        "form": form, "day": day, "rows": [order_row(o, fits) for o in orders],
        "counts": [{"label": label, "value": value, "count": counts[value], "badge": STATUS_BADGES.get(value)}
                   for value, label in Status.choices if counts.get(value)],
        "previous_day": day - dt.timedelta(days=1), "next_day": day + dt.timedelta(days=1),
    }
    return render_list(request, "homecare/provider/orders.html", "homecare/provider/_orders_results.html", context)


# --- actions on one order ----------------------------------------------------------------------


def _order(user, order_id) -> ServiceOrder:
    return get_object_or_404(ServiceOrder.objects.for_user(user).select_related("elder", "worker"), pk=order_id)


def _run(call) -> tuple[bool, str]:
    """Call a service; (done, the service's refusal message)."""
    try:
        call()
    except TransitionError as exc:
        return False, str(exc)
    except ValidationError as exc:
        return False, " ".join(exc.messages)
    except PermissionDenied as exc:
        return False, str(exc) or _("You do not have permission to do this.")
    return True, ""


def _answer(request, order_id: int, done: bool, text: str, notice: str):
    """The refreshed row for htmx (with the notice or the refusal), else back to the board with a message."""
    order = get_object_or_404(board_orders(request.user), pk=order_id)
    if request.htmx:
        fits = FitCache(provider_workers(request.user))
        row = order_row(order, fits, notice=notice if done else "", error="" if done else text)
        return render(request, "homecare/provider/_order_row.html", {"row": row})
    (messages.success if done else messages.error)(request, notice if done else text)
    day = timezone.localtime(order.window_start).date()
    return redirect(reverse("homecare:provider_orders") + f"?day={day.isoformat()}#order-{order.pk}")


@dispatcher_required
@require_POST
def order_accept(request, order_id: int):
    order = _order(request.user, order_id)
    done, text = _run(lambda: services.accept(order, acting_user=request.user))
    return _answer(request, order.pk, done, text, _("Order accepted."))


@dispatcher_required
@require_POST
def order_assign(request, order_id: int):
    order = _order(request.user, order_id)
    form = AssignForm(request.POST)
    if not form.is_valid():
        return _answer(request, order.pk, False, _("Choose a worker."), "")
    worker = Worker.objects.for_user(request.user).filter(pk=form.cleaned_data["worker"]).first()
    if worker is None:
        return _answer(request, order.pk, False, _("Choose a worker of your organisation."), "")
    done, text = _run(lambda: services.assign(order, worker, acting_user=request.user,
                                              expected_worker_id=form.cleaned_data["expected_worker_id"]))
    return _answer(request, order.pk, done, text, _("Assigned to %(worker)s.") % {"worker": worker.name})


@dispatcher_required
@require_POST
def order_unassign(request, order_id: int):
    order = _order(request.user, order_id)
    done, text = _run(lambda: services.unassign(order, acting_user=request.user))
    return _answer(request, order.pk, done, text, _("The order is no longer assigned."))


@dispatcher_required
@require_POST
def order_cancel(request, order_id: int):
    order = _order(request.user, order_id)
    form = ReasonForm(request.POST)
    form.is_valid()
    reason = form.cleaned_data.get("reason", "")
    done, text = _run(lambda: services.cancel(order, acting_user=request.user, reason=reason))
    return _answer(request, order.pk, done, text, _("Order cancelled."))


@dispatcher_required
@require_POST
def order_clear_review(request, order_id: int):
    order = _order(request.user, order_id)
    form = NoteForm(request.POST)
    form.is_valid()
    note = form.cleaned_data.get("note", "")
    done, text = _run(lambda: services.clear_review(order, acting_user=request.user, note=note))
    return _answer(request, order.pk, done, text, _("The flagged visit is accepted."))


@dispatcher_required
def order_photo(request, order_id: int):
    """The visit photo, for reviewing a flagged visit (media files are not served publicly)."""
    order = _order(request.user, order_id)
    if not order.photo:
        raise Http404(_("This visit has no photo."))
    try:
        handle = order.photo.open("rb")
    except FileNotFoundError:
        raise Http404(_("This visit has no photo.")) from None
    return FileResponse(handle, filename=order.photo.name.rsplit("/", 1)[-1])
