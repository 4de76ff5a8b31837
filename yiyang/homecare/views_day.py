"""The provider's day: a timeline per worker, a map of the visits with each worker's route,
and the "Plan the day" button that runs the route planner (``planning``).

Without a plan the timeline shows the current assignments in the order of their time
windows (a visit at its window's start, or when it really began). After planning, the
planned times of the orders still assigned as planned are kept in the session for that
day, so the page can show them until the next plan (the order has no field for them).
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from yiyang.core.forms import DateInput, FilterForm

from . import daycharts
from .daycharts import Axis, Projection, colour, minutes
from .models import Leave, Shift
from .rules import Status, TransitionError
from .views_provider import STATUS_BADGES, dispatcher_required, orders_of_day, provider_workers

PLAN_SESSION_KEY = "homecare_plan"
MAP_WIDTH, MAP_HEIGHT = 640, 440
PROBLEMS_SHOWN = 12


class DayForm(FilterForm):
    day = forms.DateField(label=gettext_lazy("date"), required=False, widget=DateInput())

    def chosen_day(self) -> dt.date:
        return (self.cleaned_data.get("day") if self.is_valid() else None) or timezone.localdate()


def _timing(order, planned: dict | None) -> tuple[int, int, str]:
    """(start, end) in minutes and where they come from: the plan, the visit itself, or the window."""
    if planned and planned.get("worker") == order.worker_id:
        return round(planned["start"] / 60), round(planned["end"] / 60), "planned"
    if order.checked_in_at:
        start = minutes(timezone.localtime(order.checked_in_at))
        end = minutes(timezone.localtime(order.checked_out_at)) if order.checked_out_at else start + order.duration_minutes
        return start, max(end, start + 1), "actual"
    start = minutes(timezone.localtime(order.window_start))
    return start, start + order.duration_minutes, "window"


def day_context(user, day: dt.date, planned: dict[str, dict]) -> dict:
    workers = list(provider_workers(user).filter(is_active=True).prefetch_related(
        Prefetch("shifts", queryset=Shift.objects.filter(day=day)),
        Prefetch("leaves", queryset=Leave.objects.filter(first_day__lte=day, last_day__gte=day))))
    orders = list(orders_of_day(user, day).exclude(status=Status.CANCELLED))
    visits = []
    for order in orders:
        start, end, source = _timing(order, planned.get(str(order.pk)))
        visits.append({"order": order, "start": start, "end": end, "source": source,
                       "badge": STATUS_BADGES.get(order.status)})
    visits.sort(key=lambda v: (v["start"], v["order"].pk))
    lanes = []
    for index, worker in enumerate(workers):
        shift = next(iter(worker.shifts.all()), None)
        lanes.append({"worker": worker, "colour": colour(index), "shift": shift, "on_leave": bool(worker.leaves.all()),
                      "visits": [v for v in visits if v["order"].worker_id == worker.pk]})
    known = {w.pk for w in workers}
    stray = [v for v in visits if v["order"].worker_id is None or v["order"].worker_id not in known]
    if stray:
        lanes.append({"worker": None, "colour": daycharts.UNASSIGNED_COLOUR, "shift": None, "on_leave": False,
                      "visits": stray})
    lanes = [lane for lane in lanes if lane["visits"] or lane["shift"] or lane["on_leave"]]
    spans = [(v["start"], v["end"]) for v in visits]
    spans += [(minutes(lane["shift"].start), minutes(lane["shift"].end)) for lane in lanes if lane["shift"]]
    axis = Axis.covering(spans)
    for lane in lanes:
        _place(lane, axis)
    return {"day": day, "axis": axis, "lanes": lanes, "visits": visits, "map": _map(lanes),
            "planned_count": sum(1 for v in visits if v["source"] == "planned"),
            "can_plan": day >= timezone.localdate()}


def _place(lane: dict, axis: Axis) -> None:
    """Percent positions of the lane's shift, break and visit blocks on ``axis``."""
    shift = lane["shift"]
    if shift:
        lane["shift_box"] = {"left": axis.left(minutes(shift.start)),
                             "width": axis.width(minutes(shift.start), minutes(shift.end))}
        if shift.break_minutes and shift.break_start:
            begin = minutes(shift.break_start)
            lane["break_box"] = {"left": axis.left(begin), "width": axis.width(begin, begin + shift.break_minutes)}
    for number, visit in enumerate(lane["visits"], start=1):
        visit.update(number=number, colour=lane["colour"], left=axis.left(visit["start"]),
                     width=axis.width(visit["start"], visit["end"]),
                     label=f"{visit['start'] // 60:02d}:{visit['start'] % 60:02d}")


def _map(lanes: list[dict]) -> dict:
    """The SVG scatter: visits with a known home, each worker's base, and the route as lines."""
    points = [(v["order"].elder.latitude, v["order"].elder.longitude) for lane in lanes for v in lane["visits"]
              if v["order"].elder.latitude is not None and v["order"].elder.longitude is not None]
    bases = [(lane["worker"].base_latitude, lane["worker"].base_longitude) for lane in lanes
             if lane["worker"] is not None and lane["visits"]]
    project = Projection.fit(points + bases, MAP_WIDTH, MAP_HEIGHT)
    routes, dots, homes, missing = [], [], [], 0
    for lane in lanes:
        path = []
        worker = lane["worker"]
        if worker is not None and lane["visits"]:
            x, y = project(worker.base_latitude, worker.base_longitude)
            homes.append({"x": x, "y": y, "colour": lane["colour"], "title": worker.name})
            path.append((x, y))
        for visit in lane["visits"]:
            elder = visit["order"].elder
            if elder.latitude is None or elder.longitude is None:
                missing += 1
                continue
            x, y = project(elder.latitude, elder.longitude)
            path.append((x, y))
            dots.append({"x": x, "y": y, "colour": lane["colour"], "number": visit["number"], "assigned": worker is not None,
                         "title": f"{visit['label']} {elder.name} · {visit['order'].service_type.name}"})
        if worker is not None and len(path) > 1:
            routes.append({"points": daycharts.polyline(path), "colour": lane["colour"]})
    dots.sort(key=lambda dot: dot["assigned"])  # the unassigned beneath, the routes' numbers on top
    return {"width": MAP_WIDTH, "height": MAP_HEIGHT, "routes": routes, "dots": dots, "homes": homes,
            "missing": missing, "empty": not (dots or homes)}


def _planned(request, day: dt.date) -> dict:
    return request.session.get(PLAN_SESSION_KEY, {}).get(day.isoformat(), {})


@dispatcher_required
def day_page(request):
    day = DayForm(request.GET or None).chosen_day()
    context = day_context(request.user, day, _planned(request, day))
    context.update(form=DayForm(initial={"day": day}), previous_day=day - dt.timedelta(days=1),
                   next_day=day + dt.timedelta(days=1))
    return render(request, "homecare/provider/day.html", context)


@dispatcher_required
@require_POST
def plan_day(request):
    from . import planning  # the solver is loaded only when somebody plans

    day = DayForm(request.POST).chosen_day()
    back = reverse("homecare:provider_day") + f"?day={day.isoformat()}"
    seconds = getattr(settings, "HOMECARE_PLAN_SECONDS", planning.DEFAULT_SECONDS)
    try:
        outcome = planning.plan_and_apply(acting_user=request.user, day=day, seconds=seconds)
    except (TransitionError, PermissionDenied) as exc:
        messages.error(request, str(exc) or _("You do not have permission to do this."))
        return redirect(back)
    request.session[PLAN_SESSION_KEY] = {day.isoformat(): {str(k): v for k, v in outcome.planned_times().items()}}
    messages.success(request, _("The day is planned: %(assigned)d orders assigned, %(unchanged)d kept as they were.")
                     % {"assigned": len(outcome.assigned), "unchanged": outcome.unchanged})
    for problem in outcome.problems[:PROBLEMS_SHOWN]:
        messages.warning(request, problem)
    if len(outcome.problems) > PROBLEMS_SHOWN:
        messages.warning(request, _("… and %(count)d more.")
                         % {"count": len(outcome.problems) - PROBLEMS_SHOWN})
    return redirect(back)
