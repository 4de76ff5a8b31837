"""Sending help to an alarm: where the elder is, which caregivers are near and free, the urgent order.

The console's "nearby caregivers" list and the escalation ladder's dispatch step both
come here. A caregiver is a ``homecare.Worker`` of a provider that serves the elder's
village and offers an emergency (助急) service (``hotline.emergency_options``). The
urgent order goes through the real ``homecare.services`` steps (create, accept,
assign), so it gets the order events, audit and guarded assignment of any order.
The platform accepts and assigns it: neither the hotline nor an official may do that
for a provider, but the platform may, and the person who asked is named on the
alarm's step and in the audit log.

Two dispatches racing for the same caregiver are settled by locking the worker's
row and checking again under the lock: the loser moves on to the next candidate.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yiyang.areas.models import Area
from yiyang.core import audit
from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.core.models import AuditAction
from yiyang.homecare import hotline, services
from yiyang.homecare.days import day_bounds
from yiyang.homecare.models import ServiceKind, ServiceOrder, ServiceType, Shift, Worker
from yiyang.homecare.planning import UNDER_WAY
from yiyang.homecare.rules import Status, TransitionError
from yiyang.organizations.models import Organization

from . import permissions
from .models import Alarm, AlarmEvent, AlarmStatus, Telemetry
from .rules import distance_m

RECENT = dt.timedelta(minutes=15)  # a position older than this may no longer be where the elder is
DISPATCHED = "dispatched"  # the alarm step recorded when a caregiver is sent


class LocationSource(models.TextChoices):
    GPS = "gps", gettext_lazy("alarm GPS")
    TELEMETRY = "telemetry", gettext_lazy("device position")
    HOME = "home", gettext_lazy("home address")
    VILLAGE = "village", gettext_lazy("village centre")
    UNKNOWN = "unknown", gettext_lazy("location unknown")


class PositionSource(models.TextChoices):
    CHECK_IN = "check_in", gettext_lazy("last check-in")
    CHECK_OUT = "check_out", gettext_lazy("last check-out")
    BASE = "base", gettext_lazy("home base")


# --- where help should go ------------------------------------------------------------------------


@dataclass(frozen=True)
class Fix:
    """A position with where it came from and, for device positions, when it was measured."""

    latitude: float | None
    longitude: float | None
    source: str
    at: dt.datetime | None = None

    def describe(self, now: dt.datetime | None = None) -> str:
        """For the console: "alarm GPS 2 min ago", "home address"."""
        label = LocationSource(self.source).label
        if self.at is None:
            return str(label)
        minutes = max(0, int(((now or timezone.now()) - self.at).total_seconds() // 60))
        return _("%(source)s %(minutes)d min ago") % {"source": label, "minutes": minutes}


def _point(data) -> tuple[float, float] | None:
    """``lat``/``lon`` of a payload or reading, if both are usable numbers."""
    if not isinstance(data, dict):
        return None
    lat, lon = data.get("lat"), data.get("lon")
    for value, limit in ((lat, 90), (lon, 180)):
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value) \
                or abs(value) > limit:
            return None
    return float(lat), float(lon)


def _alarm_gps(alarm: Alarm) -> Fix | None:
    point = _point(alarm.payload)
    if point is None:
        return None
    # The device's own time says when the position was taken, unless its clock is known to be off.
    at = alarm.device_time if alarm.device_time is not None and not alarm.clock_skew_flag else alarm.received_at
    return Fix(*point, LocationSource.GPS, at)


def locate(alarm: Alarm, *, now: dt.datetime | None = None) -> Fix:
    """Where help should go, best first: the alarm's GPS if recent, the device's position of the
    last 15 minutes, the alarm's GPS even if older (it is where the alarm happened), the elder's
    home, the village. ``LocationSource.UNKNOWN`` with no coordinates when none is known."""
    now = now or timezone.now()
    gps = _alarm_gps(alarm)
    if gps is not None and gps.at >= now - RECENT:
        return gps
    if alarm.device_id:
        readings = (Telemetry.objects.filter(device_id=alarm.device_id, type="location",
                                             received_at__gte=now - RECENT, received_at__lte=now)
                    .order_by("-received_at", "-id").values_list("data", "received_at")[:5])
        for data, received_at in readings:
            point = _point(data)
            if point is not None:
                return Fix(*point, LocationSource.TELEMETRY, received_at)
    if gps is not None:
        return gps
    elder = alarm.elder if alarm.elder_id else None
    if elder is not None and elder.latitude is not None and elder.longitude is not None:
        return Fix(elder.latitude, elder.longitude, LocationSource.HOME)
    village = Area.objects.filter(code=alarm.area_code).values_list("latitude", "longitude").first()
    if village is not None and None not in village:
        return Fix(*village, LocationSource.VILLAGE)
    return Fix(None, None, LocationSource.UNKNOWN)


def alarm_location(alarm: Alarm, *, now: dt.datetime | None = None) -> tuple[float | None, float | None, str]:
    """(latitude, longitude, source) of :func:`locate`; ``source`` is a ``LocationSource`` value."""
    fix = locate(alarm, now=now)
    return fix.latitude, fix.longitude, fix.source


# --- who could go --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A caregiver who could be sent, how far they are (metres, None if the alarm has no location),
    from which position, and whether they can go now (else ``reason`` says why not)."""

    worker: Worker
    provider: Organization
    service: ServiceType
    distance_m: int | None
    position_source: str
    available: bool
    reason: str = ""
    position_at: dt.datetime | None = None  # when the worker was at that position (None: home base)
    latitude: float | None = None  # the worker's position the distance is measured from (for the map)
    longitude: float | None = None


def _busy_orders(worker_ids, now: dt.datetime) -> dict[int, ServiceOrder]:
    """Per worker, an order keeping them busy now: a visit under way today, or an emergency they
    were already sent to that is not over."""
    day_start, _end = day_bounds(timezone.localtime(now).date())
    orders = (ServiceOrder.objects.filter(worker_id__in=worker_ids)
              .filter(Q(status__in=UNDER_WAY, window_end__gt=day_start)
                      | Q(status=Status.ASSIGNED, service_type__kind=ServiceKind.EMERGENCY, window_end__gt=now))
              .order_by("window_start", "id"))
    busy: dict[int, ServiceOrder] = {}
    for order in orders:
        busy.setdefault(order.worker_id, order)
    return busy


def _positions(worker_ids, now: dt.datetime) -> dict[int, tuple[float, float, str, dt.datetime]]:
    """Per worker, the check-in or check-out position of their latest visit today (up to ``now``)."""
    day_start, _end = day_bounds(timezone.localtime(now).date())
    rows = ServiceOrder.objects.filter(worker_id__in=worker_ids, checked_in_at__gte=day_start,
                                       checked_in_at__lte=now).values_list(
        "worker_id", "checked_in_at", "check_in_latitude", "check_in_longitude",
        "checked_out_at", "check_out_latitude", "check_out_longitude")
    best: dict[int, tuple[float, float, str, dt.datetime]] = {}
    for worker_id, in_at, in_lat, in_lon, out_at, out_lat, out_lon in rows:
        for at, lat, lon, source in ((in_at, in_lat, in_lon, PositionSource.CHECK_IN),
                                     (out_at, out_lat, out_lon, PositionSource.CHECK_OUT)):
            if at is None or at > now or lat is None or lon is None:
                continue
            if worker_id not in best or at > best[worker_id][3]:
                best[worker_id] = (lat, lon, source, at)
    return best


def _why_not(worker: Worker, service: ServiceType, now: dt.datetime, shift: Shift | None,
             busy: ServiceOrder | None) -> str | None:
    """Why ``worker`` cannot go now, or None. Leave, skills and certificates are ``worker_unfit``'s."""
    clock = timezone.localtime(now).time()
    if shift is None or not shift.start <= clock < shift.end:
        return _("%(worker)s has no shift now.") % {"worker": worker.name}
    if shift.break_start is not None and shift.break_minutes:
        back = (dt.datetime.combine(shift.day, shift.break_start) + dt.timedelta(minutes=shift.break_minutes)).time()
        if shift.break_start <= clock < back:
            return _("%(worker)s is on a break until %(time)s.") % {"worker": worker.name,
                                                                     "time": back.strftime("%H:%M")}
    if busy is not None:
        if busy.status in UNDER_WAY:
            return _("%(worker)s is on a visit (order #%(order)s).") % {"worker": worker.name, "order": busy.pk}
        return _("%(worker)s has already been sent to an emergency (order #%(order)s).") % {
            "worker": worker.name, "order": busy.pk}
    # An order not saved: only what worker_unfit reads (provider, day, service's skills).
    probe = ServiceOrder(provider_id=worker.provider_id, service_type=service, window_start=now)
    return services.worker_unfit(worker, probe)


def _options(elder) -> list[hotline.EmergencyOption]:
    """Every provider (not only one person's jurisdiction) serving the elder's village with a 助急 service."""
    return hotline.emergency_options(elder, None)


def _rank(options: list[hotline.EmergencyOption], fix: Fix, now: dt.datetime) -> list[Candidate]:
    """Every active worker of these providers: available first, then nearest first."""
    by_provider = {option.provider.pk: option for option in options}
    workers = list(Worker.objects.filter(provider_id__in=list(by_provider), is_active=True).order_by("pk"))
    ids = [worker.pk for worker in workers]
    shifts = {s.worker_id: s for s in Shift.objects.filter(worker_id__in=ids, day=timezone.localtime(now).date())}
    busy = _busy_orders(ids, now)
    positions = _positions(ids, now)
    ranked = []
    for worker in workers:
        option = by_provider[worker.provider_id]
        reason = _why_not(worker, option.service, now, shifts.get(worker.pk), busy.get(worker.pk))
        lat, lon, source, at = positions.get(worker.pk, (worker.base_latitude, worker.base_longitude,
                                                         PositionSource.BASE, None))
        distance = round(distance_m(fix.latitude, fix.longitude, lat, lon)) if fix.latitude is not None else None
        ranked.append(Candidate(worker, option.provider, option.service, distance, str(source), reason is None,
                                reason or "", at, lat, lon))
    ranked.sort(key=lambda c: (not c.available, c.distance_m is None, c.distance_m or 0, c.worker.name, c.worker.pk))
    return ranked


def nearby_caregivers(alarm: Alarm, *, now: dt.datetime | None = None, limit: int | None = 5) -> list[Candidate]:
    """The caregivers who could be sent to ``alarm``, available first, then nearest first
    (at most ``limit``; None for all). Empty for an alarm about no known elder."""
    now = now or timezone.now()
    if alarm.elder_id is None:
        return []
    ranked = _rank(_options(alarm.elder), locate(alarm, now=now), now)
    return ranked if limit is None else ranked[:limit]


# --- sending one ---------------------------------------------------------------------------------


def _distance_text(metres: int | None) -> str:
    if metres is None:
        return _("distance unknown")
    if metres < 1000:
        return _("%(metres)d m away") % {"metres": metres}
    return _("%(km).1f km away") % {"km": metres / 1000}


def _order_note(alarm: Alarm, fix: Fix, now: dt.datetime) -> str:
    """What the caregiver reads on the order: which alarm, and where to go when it is not the home."""
    note = _("Emergency alarm #%(alarm)s (%(type)s).") % {"alarm": alarm.pk, "type": alarm.get_type_display()}
    if fix.source in (LocationSource.GPS, LocationSource.TELEMETRY):
        note += " " + _("Go to %(lat).5f, %(lon).5f (%(source)s).") % {
            "lat": fix.latitude, "lon": fix.longitude, "source": fix.describe(now)}
    return note


def _claim(candidate: Candidate, now: dt.datetime) -> Worker | None:
    """Lock the worker's row and check again that they are free: of two dispatches picking the same
    worker, the second waits here for the first and then sees the worker taken."""
    worker = Worker.objects.select_for_update().filter(pk=candidate.worker.pk, is_active=True).first()
    if worker is None:
        return None
    shift = Shift.objects.filter(worker=worker, day=timezone.localtime(now).date()).first()
    busy = _busy_orders([worker.pk], now).get(worker.pk)
    return None if _why_not(worker, candidate.service, now, shift, busy) else worker


def _refuse(message: str, field: str = "alarm"):
    raise ValidationError({field: [message]})


def _locked_alarm(alarm, acting_user) -> Alarm:
    queryset = Alarm.objects.all() if acting_user is None else Alarm.objects.for_user(acting_user)
    locked = queryset.select_for_update().filter(pk=getattr(alarm, "pk", alarm)).first()
    if locked is None:
        raise PermissionDenied(_("No such alarm in your jurisdiction."))
    if locked.status == AlarmStatus.CLOSED:
        _refuse(_("This alarm is closed: nobody can be sent for it any more."))
    if locked.elder_id is None:
        _refuse(_("This alarm is about no registered elder, so no caregiver can be sent: call 120 if help is needed."))
    if locked.service_order_id is not None:
        current = ServiceOrder.objects.select_related("worker").get(pk=locked.service_order_id)
        if current.is_open:
            _refuse(_("Order #%(order)s (%(worker)s, %(status)s) is already open for this alarm.") % {
                "order": current.pk, "worker": current.worker.name if current.worker else _("no worker yet"),
                "status": current.get_status_display()})
    return locked


class _Lost(Exception):
    """The assignment was refused at the last moment: undo this candidate's order, try the next."""


def _try_to_send(alarm: Alarm, candidate: Candidate, fix: Fix, *, acting_user, now) -> ServiceOrder | None:
    """Order, accept and assign for this candidate, or None (nothing kept) if they are no longer free."""
    try:
        with transaction.atomic():  # a savepoint: a candidate lost to a race leaves no order behind
            worker = _claim(candidate, now)
            if worker is None:
                return None
            order = services.create_order(
                acting_user=acting_user, elder_id=alarm.elder_id, service_code=candidate.service.code,
                provider_id=candidate.provider.pk, window_start=now,
                window_end=now + dt.timedelta(minutes=hotline.EMERGENCY_MINUTES),
                channel=ServiceOrder.Channel.HOTLINE, note=_order_note(alarm, fix, now))
            order = services.accept(order, acting_user=None)
            try:
                return services.assign(order, worker, acting_user=None, expected_worker_id=None,
                                       note=_("emergency alarm #%(alarm)s") % {"alarm": alarm.pk})
            except TransitionError as refused:  # e.g. leave recorded for the worker meanwhile
                raise _Lost from refused
    except _Lost:
        return None


def dispatch_nearest(alarm: Alarm, *, acting_user=None, now: dt.datetime | None = None,
                     worker: Worker | int | None = None) -> ServiceOrder:
    """Send the nearest available caregiver (or ``worker``, if an agent picked one) to ``alarm``.

    Creates an urgent 助急 order for the alarm's elder from the caregiver's provider, wanted
    from now for ``hotline.EMERGENCY_MINUTES``, accepted and assigned to the caregiver; links
    it to the alarm and records the "dispatched" step, all in one transaction. ``acting_user``
    None is the platform (the escalation worker). Raises ValidationError when the alarm is
    closed, about no known elder, already has an open order, when no provider offers
    emergency help in the village, or when nobody is available (the ladder then alerts the
    supervisor).
    """
    if acting_user is not None and not permissions.has(acting_user, permissions.HANDLE_ALARMS):
        raise PermissionDenied(_("You do not have permission to do this."))
    now = now or timezone.now()
    with transaction.atomic():
        alarm = _locked_alarm(alarm, acting_user)
        options = _options(alarm.elder)
        if not options:
            _refuse(_("No provider offers emergency help in %(village)s.") % {"village": alarm.elder.area.name})
        fix = locate(alarm, now=now)
        ranked = _rank(options, fix, now)
        if worker is not None:
            wanted = getattr(worker, "pk", worker)
            picked = [c for c in ranked if c.worker.pk == wanted]
            if not picked:
                _refuse(_("This caregiver does not work for a provider offering emergency help in the "
                          "elder's village."), "worker")
            if not picked[0].available:
                _refuse(picked[0].reason, "worker")
            ranked = picked
        choices = [c for c in ranked if c.available]
        if not choices:
            _refuse(_("Nobody is available: no caregiver of %(providers)s is on shift and free now.") % {
                "providers": ", ".join(option.provider.name for option in options)})
        for candidate in choices:
            order = _try_to_send(alarm, candidate, fix, acting_user=acting_user, now=now)
            if order is not None:
                break
        else:
            if worker is not None:
                _refuse(_("%(worker)s has just been sent elsewhere.") % {"worker": choices[0].worker.name}, "worker")
            _refuse(_("Nobody is available: the caregivers who were free have just been sent elsewhere."))
        note = _("Sent %(worker)s of %(provider)s, %(distance)s (order #%(order)s).") % {
            "worker": candidate.worker.name, "provider": candidate.provider.name,
            "distance": _distance_text(candidate.distance_m), "order": order.pk}
        before = alarm.service_order_id
        Alarm.objects.filter(pk=alarm.pk).update(service_order=order)
        alarm.service_order = order
        actor = acting_user if acting_user is not None and acting_user.is_authenticated else None
        AlarmEvent.objects.create(alarm=alarm, status=DISPATCHED, actor=actor, note=note, at=now)
        audit.record(AuditAction.UPDATE, actor=acting_user, obj=alarm, area_code=alarm.area_code,
                     before={"service_order": before, "worker": None},
                     after={"service_order": order.pk, "worker": candidate.worker.pk,
                            "distance_m": candidate.distance_m, "location": fix.source}, note=note)
    return order
