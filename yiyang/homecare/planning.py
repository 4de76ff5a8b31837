"""Plan a provider's day with the route planner and apply the result as assignments.

``yiyang.dispatch`` knows nothing of Django; this module is the glue. It turns the
provider's orders of a day into ``Visit``s (the accepted and assigned ones are planned;
those under way pin their worker) and its workers on shift into ``Worker``s (skills only
where the certificate is valid that day, nobody on leave), calls ``planner.plan_day``,
and applies every change through ``services.assign`` with the worker seen when the day
was read as ``expected_worker_id``. All changes are one transaction: if anybody moved
one of the orders meanwhile, nothing is applied and the dispatcher plans again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.core.errors import PermissionDenied
from yiyang.dispatch import planner
from yiyang.dispatch.model import Break, Location, Plan, Visit, Window, start_window
from yiyang.dispatch.model import Worker as PlanWorker

from . import services
from .days import day_bounds
from .models import Leave, ServiceOrder, Shift, Worker
from .rules import PLANNABLE_STATUSES, Status, TransitionError

UNDER_WAY = (Status.ON_THE_WAY, Status.CHECKED_IN)
DEFAULT_SECONDS = 3.0
BREAK_SLACK_MINUTES = 30  # a break recorded at 12:00 may start until 12:30


def seconds_of(value: dt.time | dt.datetime) -> float:
    return value.hour * 3600 + value.minute * 60 + value.second


@dataclass
class Day:
    """The planning input read from the database, and the way back from planner ids to rows."""

    day: dt.date
    visits: list[Visit]
    workers: list[PlanWorker]
    orders: dict[str, ServiceOrder]  # visit id -> order
    staff: dict[str, Worker]  # planner worker id -> worker
    not_planned: list[str] = field(default_factory=list)  # orders left out before planning, with why
    now: float | None = None


@dataclass
class Outcome:
    plan: Plan
    day: Day
    assigned: list[tuple[ServiceOrder, Worker]]
    unchanged: int
    problems: list[str]  # the planner's and this module's reasons, for the dispatcher

    def planned_times(self) -> dict[int, dict]:
        """Order id → planned worker and arrival/start/end (seconds since midnight), for the day page."""
        times = {}
        for route in self.plan.routes:
            worker = self.day.staff[route.worker_id]
            for position, stop in enumerate(s for s in route.stops if s.visit_id is not None):
                order = self.day.orders[stop.visit_id]
                times[order.pk] = {"worker": worker.pk, "arrival": stop.arrival, "start": stop.start, "end": stop.end,
                                   "position": position}
        return times


def visit_id(order: ServiceOrder) -> str:
    """Readable in the planner's messages ("Visit #12 张三 cannot be planned…"), unique by the pk."""
    return f"#{order.pk} {order.elder.name}"


def worker_id(worker: Worker) -> str:
    return f"{worker.name} (#{worker.pk})"


def _worker_for_plan(worker: Worker, shift: Shift, day: dt.date) -> PlanWorker:
    skills = frozenset(ws.skill.code for ws in worker.worker_skills.all()
                       if not ws.skill.certificate_required or (ws.valid_until is not None and ws.valid_until >= day))
    start, end = seconds_of(shift.start), seconds_of(shift.end)
    breaks = ()
    if shift.break_minutes:
        length = shift.break_minutes * 60
        if shift.break_start is not None:
            earliest = seconds_of(shift.break_start)
            latest = min(earliest + BREAK_SLACK_MINUTES * 60, end - length)
        else:
            earliest, latest = start, end - length
        breaks = (Break(earliest, max(earliest, latest), length),)
    return PlanWorker(worker_id(worker), Location(worker.base_longitude, worker.base_latitude), Window(start, end),
                      skills=skills, breaks=breaks)


def _visit_for_plan(order: ServiceOrder, staff_ids: dict[int, str]) -> Visit:
    elder = order.elder
    local_start, local_end = timezone.localtime(order.window_start), timezone.localtime(order.window_end)
    duration = order.duration_minutes * 60
    fixed = staff_ids.get(order.worker_id) if order.status in UNDER_WAY else None
    started = seconds_of(timezone.localtime(order.checked_in_at)) if order.status == Status.CHECKED_IN \
        and order.checked_in_at else None
    return Visit(visit_id(order), Location(elder.longitude, elder.latitude, rural=elder.area.is_urban is False),
                 start_window(seconds_of(local_start), seconds_of(local_end), duration), duration,
                 skills=frozenset(s.code for s in order.service_type.skills.all()), fixed_worker=fixed, started=started)


def read_day(user, day: dt.date, *, now: dt.datetime | None = None) -> Day:
    """The provider's day as the planner's input: workers with a shift and no leave, and the orders."""
    start, end = day_bounds(day)
    on_leave = Leave.objects.filter(first_day__lte=day, last_day__gte=day).values("worker_id")
    shifts = {s.worker_id: s for s in Shift.objects.filter(day=day, worker__in=Worker.objects.for_user(user))}
    staff = {}
    plan_workers = []
    for worker in (Worker.objects.for_user(user).filter(is_active=True, pk__in=list(shifts)).exclude(pk__in=on_leave)
                   .prefetch_related("worker_skills__skill").order_by("name")):
        plan_worker = _worker_for_plan(worker, shifts[worker.pk], day)
        staff[plan_worker.id] = worker
        plan_workers.append(plan_worker)
    staff_ids = {w.pk: wid for wid, w in staff.items()}
    orders = (ServiceOrder.objects.for_user(user)
              .filter(window_start__gte=start, window_start__lt=end,
                      status__in=[*PLANNABLE_STATUSES, *UNDER_WAY], service_type__at_home=True)
              .select_related("elder__area", "service_type", "worker").prefetch_related("service_type__skills")
              .order_by("window_start", "id"))
    visits, by_visit, left_out = [], {}, []
    for order in orders:
        if order.status in UNDER_WAY and order.worker_id not in staff_ids:
            continue  # under way with someone not on shift today: nothing to plan around
        if order.elder.latitude is None or order.elder.longitude is None:
            left_out.append(_("Order #%(order)s (%(elder)s) is not planned: the elder's home has no location.")
                            % {"order": order.pk, "elder": order.elder.name})
            continue
        visit = _visit_for_plan(order, staff_ids)
        visits.append(visit)
        by_visit[visit.id] = order
    now_seconds = None
    if now is not None and timezone.localtime(now).date() == day:
        now_seconds = seconds_of(timezone.localtime(now))
    return Day(day, visits, plan_workers, by_visit, staff, left_out, now_seconds)


def plan_and_apply(*, acting_user, day: dt.date, seconds: float = DEFAULT_SECONDS, travel=None,
                   now: dt.datetime | None = None) -> Outcome:
    """Plan the day and assign every planned order to its worker, all or nothing.

    Raises PermissionDenied for anybody who may not dispatch, and TransitionError when the
    day is over or an order changed between reading the day and applying the plan.
    """
    if acting_user is None or not acting_user.has_perm("homecare.dispatch_order") or not acting_user.organization_id:
        raise PermissionDenied(_("You may not dispatch orders."))
    now = now or timezone.now()
    if day < timezone.localtime(now).date():
        raise TransitionError(_("A day in the past cannot be planned."))
    data = read_day(acting_user, day, now=now)
    plan = planner.plan_day(data.visits, data.workers, seconds=seconds, travel=travel, now=data.now)
    assigned, unchanged = [], 0
    with transaction.atomic():
        for route in plan.routes:
            worker = data.staff[route.worker_id]
            for vid in route.visit_ids:
                order = data.orders[vid]
                if order.status not in PLANNABLE_STATUSES or order.worker_id == worker.pk:
                    unchanged += 1
                    continue
                services.assign(order, worker, acting_user=acting_user, expected_worker_id=order.worker_id,
                                note=_("route plan"))
                assigned.append((order, worker))
    problems = list(data.not_planned) + [issue.message for issue in plan.issues]
    return Outcome(plan, data, assigned, unchanged, problems)
