"""What the hotline's alarm console shows: the queue, what changed since a cursor, one alarm in full.

Read side only, except :func:`reveal_contact_phone` (an audited read). Every
query starts from ``for_user``: the console shows exactly what the user's
jurisdiction holds, and an alarm outside it is "not found". Writes go through
``services``, ``escalation`` and ``response``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yiyang.areas.models import Area
from yiyang.core import audit
from yiyang.core.errors import PermissionDenied
from yiyang.core.models import AuditAction
from yiyang.homecare.daycharts import Projection
from yiyang.people.models import Contact

from . import escalation, response
from .models import (
    Alarm,
    AlarmEvent,
    AlarmStatus,
    EscalationAction,
    EscalationTask,
    TaskState,
    WorkerBeat,
)

OPEN = (AlarmStatus.NEW, AlarmStatus.ACKNOWLEDGED)
QUEUE_LIMIT = 200  # rows on the console; more are counted, not shown (oldest of the lowest priority last)
CHANGES_LIMIT = 500  # rows per poll; a console further behind reloads its queue
WORKER_BEAT_NAME = "alarm-worker"
WORKER_SILENT_AFTER = dt.timedelta(seconds=30)
MAP_WIDTH, MAP_HEIGHT = 420, 300


# --- the queue ------------------------------------------------------------------------------------


def open_alarms(user) -> QuerySet:
    """Open alarms of the user's jurisdiction, most urgent first, then oldest first."""
    return (Alarm.objects.for_user(user).filter(status__in=OPEN).select_related("elder", "device")
            .order_by("priority", "received_at", "id"))


@dataclass
class QueueRow:
    alarm: Alarm
    village: str
    next_task: EscalationTask | None

    @property
    def is_open(self) -> bool:
        return self.alarm.status in OPEN


def queue_rows(alarms: list[Alarm]) -> list[QueueRow]:
    """The queue's lines for these alarms: their village names and next waiting step, in two queries."""
    names = dict(Area.objects.filter(code__in={a.area_code for a in alarms}).values_list("code", "name"))
    upcoming: dict[int, EscalationTask] = {}
    for task in (EscalationTask.objects.filter(alarm_id__in=[a.pk for a in alarms], state=TaskState.PENDING)
                 .order_by("alarm_id", "due_at", "id")):
        upcoming.setdefault(task.alarm_id, task)
    return [QueueRow(a, names.get(a.area_code, a.area_code), upcoming.get(a.pk)) for a in alarms]


def queue(user, limit: int = QUEUE_LIMIT) -> tuple[list[QueueRow], int]:
    """The first ``limit`` lines of the queue and how many open alarms there are in all."""
    alarms = open_alarms(user)
    shown = list(alarms[:limit])
    total = len(shown) if len(shown) < limit else alarms.count()
    return queue_rows(shown), total


def open_count(user) -> int:
    return Alarm.objects.for_user(user).filter(status__in=OPEN).count()


# --- what changed --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """How far a console has read: the last alarm id and the last alarm step id it has seen."""

    alarm: int = 0
    event: int = 0

    def __str__(self) -> str:
        return f"{self.alarm}-{self.event}"

    @classmethod
    def parse(cls, text: str | None) -> Cursor | None:
        try:
            alarm, event = (int(part) for part in (text or "").split("-"))
        except ValueError:
            return None
        return cls(alarm, event) if alarm >= 0 and event >= 0 else None


def head(user) -> Cursor:
    """The cursor of a console opened now: nothing before this counts as a change."""
    last_alarm = Alarm.objects.for_user(user).order_by("-pk").values_list("pk", flat=True).first()
    last_event = AlarmEvent.objects.for_user(user).order_by("-pk").values_list("pk", flat=True).first()
    return Cursor(last_alarm or 0, last_event or 0)


def changes(user, since: Cursor, limit: int = CHANGES_LIMIT) -> tuple[list[QueueRow], Cursor, bool]:
    """Alarms that are new or had a step since ``since``: their lines, the new cursor, and whether more are left.

    A line of an alarm closed meanwhile is in the list too (``is_open`` False): the console removes it.
    """
    new = list(Alarm.objects.for_user(user).filter(pk__gt=since.alarm).order_by("pk").values_list("pk", flat=True)
               [:limit + 1])
    stepped = list(AlarmEvent.objects.for_user(user).filter(pk__gt=since.event).order_by("pk")
                   .values_list("pk", "alarm_id")[:limit + 1])
    more = len(new) > limit or len(stepped) > limit
    new, stepped = new[:limit], stepped[:limit]
    cursor = Cursor(new[-1] if new else since.alarm, stepped[-1][0] if stepped else since.event)
    ids = set(new) | {alarm_id for _pk, alarm_id in stepped}
    return rows_for(user, ids), cursor, more


def rows_for(user, ids) -> list[QueueRow]:
    """Lines of these alarms as the user may see them (others are left out, not refused)."""
    ids = sorted({int(pk) for pk in ids})[:CHANGES_LIMIT]
    if not ids:
        return []
    alarms = list(Alarm.objects.for_user(user).filter(pk__in=ids).select_related("elder", "device")
                  .order_by("priority", "received_at", "id"))
    return queue_rows(alarms)


# --- the state of the machinery -------------------------------------------------------------------


def worker_silent(now: dt.datetime | None = None) -> bool:
    """True when the escalation worker has not beaten for 30 s: timers are not running."""
    now = now or timezone.now()
    beat = WorkerBeat.objects.filter(name=WORKER_BEAT_NAME).values_list("beat_at", flat=True).first()
    return beat is None or beat < now - WORKER_SILENT_AFTER


# --- one alarm ------------------------------------------------------------------------------------


def visible(user, alarm_id) -> Alarm:
    """The alarm if it is in the user's jurisdiction; else ``Alarm.DoesNotExist``."""
    return (Alarm.objects.for_user(user).select_related("elder__area", "device", "organization", "service_order")
            .get(pk=alarm_id))


EVENT_LABELS = {
    "dispatched": gettext_lazy("caregiver sent"),
    "step_failed": gettext_lazy("step failed"),
}


def event_label(status: str) -> str:
    for choices in (AlarmStatus, EscalationAction):
        if status in choices.values:
            return str(choices(status).label)
    return str(EVENT_LABELS.get(status, status))


@dataclass
class Advice:
    """An "advise calling 120/119" step that has been reached: the number and the address to read out."""

    number: str
    address: str
    at: dt.datetime | None


def advice(alarm: Alarm, ladder: list[escalation.LadderRow]) -> Advice | None:
    if alarm.status == AlarmStatus.CLOSED:
        return None
    reached = [row.task for row in ladder
               if row.task.action == EscalationAction.ADVISE_EMERGENCY_CALL and row.task.state == TaskState.DONE]
    if not reached:
        return None
    task = reached[-1]
    return Advice(task.params.get("number") or "120", escalation.place(alarm), task.done_at)


@dataclass
class MapPoint:
    kind: str  # alarm | home | caregiver | organization
    label: str
    latitude: float
    longitude: float
    x: float = 0.0
    y: float = 0.0


@dataclass
class AlarmMap:
    points: list[MapPoint] = field(default_factory=list)
    width: int = MAP_WIDTH
    height: int = MAP_HEIGHT
    scale_bar: dict | None = None

    @property
    def empty(self) -> bool:
        return not self.points


NICE_LENGTHS = (50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000)


def _scale_bar(project: Projection, width: int) -> dict | None:
    """A bar of a round length, at most a third of the picture wide (the projection keeps metres square)."""
    px_per_metre = project.scale / 111_195
    if not px_per_metre or px_per_metre > 10:  # a single point: no scale
        return None
    fitting = [m for m in NICE_LENGTHS if m * px_per_metre <= width / 3]
    if not fitting:
        return None
    metres = fitting[-1]
    label = f"{metres // 1000} km" if metres >= 1000 else f"{metres} m"
    return {"length": round(metres * px_per_metre, 1), "label": label}


def alarm_map(alarm: Alarm, location: tuple, candidates: list, organizations: list) -> AlarmMap:
    """The picture without tiles: where the alarm is, the home, the caregivers who could go, the organisations."""
    lat, lon, source = location
    points = []
    if lat is not None and lon is not None:
        points.append(MapPoint("alarm", _("alarm (%(source)s)") % {"source": response.LocationSource(source).label},
                               lat, lon))
    elder = alarm.elder
    if elder is not None and elder.latitude is not None and elder.longitude is not None \
            and (source != response.LocationSource.HOME):
        points.append(MapPoint("home", _("home of %(name)s") % {"name": elder.name}, elder.latitude, elder.longitude))
    for candidate in candidates:
        if candidate.latitude is not None and candidate.longitude is not None:
            points.append(MapPoint("caregiver", f"{candidate.worker.name} · {candidate.provider.name}",
                                   candidate.latitude, candidate.longitude))
    for organization in organizations:
        if organization.latitude is not None and organization.longitude is not None:
            points.append(MapPoint("organization", organization.name, organization.latitude, organization.longitude))
    drawn = AlarmMap(points)
    if points:
        project = Projection.fit([(p.latitude, p.longitude) for p in points], MAP_WIDTH, MAP_HEIGHT, pad=24)
        for point in points:
            point.x, point.y = project(point.latitude, point.longitude)
        drawn.scale_bar = _scale_bar(project, MAP_WIDTH)
    # The alarm drawn last, on top of anything at the same place.
    drawn.points.sort(key=lambda p: p.kind == "alarm")
    return drawn


def distance_text(metres: int | None) -> str:
    if metres is None:
        return "—"
    return f"{metres} m" if metres < 1000 else f"{metres / 1000:.1f} km"


def contacts(user, alarm: Alarm) -> list[Contact]:
    """The elder's contacts in call order (emergency contacts first), phones masked in the template."""
    if alarm.elder_id is None:
        return []
    return list(Contact.objects.for_user(user).filter(elder_id=alarm.elder_id)
                .order_by("-is_emergency", "priority", "pk"))


@transaction.atomic
def reveal_contact_phone(user, alarm: Alarm, contact_id) -> str:
    """A contact's phone in clear for an agent about to call them, recorded in the audit log."""
    if not user.has_perm("people.reveal_personal_data"):
        raise PermissionDenied(_("You do not have permission to do this."))
    contact = Contact.objects.for_user(user).select_related("elder").get(pk=contact_id, elder_id=alarm.elder_id)
    audit.record(AuditAction.REVEAL, actor=user, obj=contact.elder, area_code=contact.elder.area_id,
                 note=f"contact {contact.pk} phone, alarm {alarm.pk}")
    return contact.phone
