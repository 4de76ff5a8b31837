"""The caregiver's phone pages: today's visits in order, and one visit with its big buttons.

A caregiver sees only the orders assigned to them (``ServiceOrder.objects.for_user``
filters by the worker's login), so anybody else's order is a 404. Each button calls
``services.start_trip`` / ``check_in`` / ``check_out`` / ``no_show`` and shows what it
says; where the phone was comes from ``static/homecare/worker.js`` (none when the
browser gives no position, and the service then flags the visit).
"""

from __future__ import annotations

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import rules, services
from .days import day_bounds
from .forms_provider import CheckOutForm, LocationForm, NoShowForm
from .models import ServiceOrder, Worker
from .rules import Party, Status, TransitionError
from .views_provider import STATUS_BADGES, flag_labels


def caregiver_required(view):
    """Logged in with the right to perform orders (caregivers; officials and dispatchers are refused)."""

    @login_required
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.has_perm("homecare.perform_order") or request.user.is_superuser:
            raise PermissionDenied(_("These pages are for caregivers."))
        return view(request, *args, **kwargs)

    return wrapped


def _my_orders(user):
    return ServiceOrder.objects.for_user(user).select_related("elder__area", "service_type", "worker")


@caregiver_required
def worker_today(request):
    today = timezone.localdate()
    start, end = day_bounds(today)
    orders = _my_orders(request.user).filter(window_start__gte=start, window_start__lt=end).order_by("window_start", "id")
    return render(request, "homecare/provider/worker_today.html", {
        "worker": Worker.objects.filter(user=request.user).first(), "today": today,
        "rows": [{"order": o, "badge": STATUS_BADGES.get(o.status), "done": not o.is_open} for o in orders],
    })


def _order_context(order, **forms) -> dict:
    nexts = rules.next_statuses(order.status, Party.WORKER)
    return {
        "order": order, "badge": STATUS_BADGES.get(order.status), "flags": flag_labels(order),
        "can_start": Status.ON_THE_WAY in nexts, "can_check_in": Status.CHECKED_IN in nexts,
        "can_check_out": Status.CHECKED_OUT in nexts, "can_no_show": Status.NO_SHOW in nexts,
        "checkout_form": CheckOutForm(), "noshow_form": NoShowForm(), **forms,
    }


@caregiver_required
def worker_order(request, order_id: int):
    order = get_object_or_404(_my_orders(request.user), pk=order_id)
    return render(request, "homecare/provider/worker_order.html", _order_context(order))


def _refusal(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or _("You do not have permission to do this.")


def _done(request, order, notice: str):
    """Back to the visit with the service's outcome, and a warning when the visit is now flagged."""
    messages.success(request, notice)
    if order.flags:
        messages.warning(request, _("Flagged for review: %(flags)s.") % {"flags": ", ".join(flag_labels(order))})
    return redirect("homecare:worker_order", order.pk)


@caregiver_required
@require_POST
def worker_start_trip(request, order_id: int):
    order = get_object_or_404(_my_orders(request.user), pk=order_id)
    try:
        order = services.start_trip(order, acting_user=request.user)
    except (TransitionError, PermissionDenied, ValidationError) as exc:
        messages.error(request, _refusal(exc))
        return redirect("homecare:worker_order", order.pk)
    return _done(request, order, _("On the way."))


@caregiver_required
@require_POST
def worker_check_in(request, order_id: int):
    order = get_object_or_404(_my_orders(request.user), pk=order_id)
    form = LocationForm(request.POST)
    location = form.location() if form.is_valid() else {"latitude": None, "longitude": None}
    try:
        order = services.check_in(order, acting_user=request.user, **location)
    except (TransitionError, PermissionDenied, ValidationError) as exc:
        messages.error(request, _refusal(exc))
        return redirect("homecare:worker_order", order.pk)
    return _done(request, order, _("Checked in at %(time)s.") % {
        "time": f"{timezone.localtime(order.checked_in_at):%H:%M}"})


def _with_form(request, order, form, name: str, call, notice: str):
    """Run a service fed by a form with the worker's words; on refusal keep those words on the page."""
    if form.is_valid():
        try:
            order = call(form.service_data())
        except (TransitionError, PermissionDenied, ValidationError) as exc:
            form.add_error(None, _refusal(exc))
        else:
            return _done(request, order, notice)
    return render(request, "homecare/provider/worker_order.html", _order_context(order, **{name: form}))


@caregiver_required
@require_POST
def worker_check_out(request, order_id: int):
    order = get_object_or_404(_my_orders(request.user), pk=order_id)
    form = CheckOutForm(request.POST, request.FILES)
    return _with_form(request, order, form, "checkout_form",
                      lambda data: services.check_out(order, acting_user=request.user, **data), _("Checked out."))


@caregiver_required
@require_POST
def worker_no_show(request, order_id: int):
    order = get_object_or_404(_my_orders(request.user), pk=order_id)
    form = NoShowForm(request.POST)
    return _with_form(request, order, form, "noshow_form",
                      lambda data: services.no_show(order, acting_user=request.user, **data),
                      _("Recorded: nobody at home."))
