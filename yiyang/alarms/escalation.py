"""The escalation ladder at work: each alarm's steps are timers in the database, run by a background worker.

``plan`` copies the ladder of an alarm's type (``EscalationStep`` rows) into
``EscalationTask`` rows in the very transaction that stores the alarm, so an
alarm never exists without its timers. ``run_due`` (called every second by
``yiyang alarm-worker``) takes due tasks under a lease, checks the step's
condition against the alarm as it is now, does the step and records it as an
``AlarmEvent``. A worker that dies mid-step leaves the lease to expire and the
next worker does the step; a step that keeps failing is marked failed and the
supervisor is alerted instead, so a call for help is never silently dropped
(ADR 0005).

Messages are only *queued* here (``yiyang.notifications``, an outbox); the
worker sends them after the commit, so no lock is held while a phone rings.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.accounts.roles import Role
from yiyang.core.errors import ValidationError
from yiyang.core.masking import mask_phone
from yiyang.notifications import services as notifications

from .models import (
    Alarm,
    AlarmEvent,
    AlarmStatus,
    EscalationAction,
    EscalationStep,
    EscalationTask,
    NotifyChannel,
    StepCondition,
    TaskState,
)

log = logging.getLogger("yiyang.alarms")

LEASE = dt.timedelta(seconds=60)
RETRY_DELAYS = (5, 15, 60, 180)  # seconds before attempts 2, 3, 4, 5; then the step has failed
CONTACT_SPACING = dt.timedelta(seconds=90)  # time each family contact has to answer before the next is called
LADDER_CACHE_SECONDS = 30

_ladder_cache: dict[tuple[str, str], tuple[float, list[EscalationStep]]] = {}


def county_of(area_code: str | None) -> str:
    """The county an area code lies in ("" above county level or unknown)."""
    return area_code[:6] if area_code and len(area_code) >= 6 else ""


def ladder(alarm_type: str, area_code: str | None = "") -> list[EscalationStep]:
    """The active steps for an alarm type where the alarm is: the county's own ladder if it has one, else the city's.

    Cached briefly per (type, county): the listener plans hundreds of alarms a second.
    """
    key = (alarm_type, county_of(area_code))
    cached = _ladder_cache.get(key)
    if cached is not None and time.monotonic() - cached[0] < LADDER_CACHE_SECONDS:
        return cached[1]
    steps = list(EscalationStep.objects.filter(Q(county__isnull=True) | Q(county_id=key[1], retired=False),
                                               alarm_type=alarm_type, is_active=True).order_by("position"))
    steps = [s for s in steps if s.county_id] or [s for s in steps if not s.county_id]
    _ladder_cache[key] = (time.monotonic(), steps)
    return steps


def forget_ladders() -> None:
    """After the ladder was edited (and in tests)."""
    _ladder_cache.clear()


def plan(alarms: Sequence[Alarm]) -> list[EscalationTask]:
    """In the caller's transaction: one pending task per step of each alarm's ladder, due from its arrival."""
    tasks = [
        EscalationTask(alarm=alarm, step=step, action=step.action, condition=step.condition,
                       params={"channel": step.channel, "number": step.emergency_number},
                       due_at=alarm.received_at + dt.timedelta(seconds=step.after_seconds))
        for alarm in alarms for step in ladder(alarm.type, alarm.area_code)
    ]
    return EscalationTask.objects.bulk_create(tasks)


# --- the worker's side ----------------------------------------------------------------------------


def claim(now: dt.datetime, limit: int = 20) -> list[int]:
    """Due tasks nobody holds, leased to this worker. SKIP LOCKED lets workers share the queue on PostgreSQL."""
    with transaction.atomic():
        free = (Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        ids = list(EscalationTask.objects.filter(free, state=TaskState.PENDING, due_at__lte=now)
                   .order_by("due_at", "id").select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
        if ids:
            EscalationTask.objects.filter(pk__in=ids).update(lease_until=now + LEASE)
    return ids


def run_due(now: dt.datetime | None = None, limit: int = 20) -> int:
    """Do every due step (up to ``limit``); returns how many were taken."""
    now = now or timezone.now()
    ids = claim(now, limit)
    for task_id in ids:
        try:
            run_task(task_id, now)
        except Exception as exc:  # a failing step must not stop the others, nor the worker
            log.exception("escalation task %s failed", task_id)
            failed(task_id, now, repr(exc)[:255])
    return len(ids)


def run_task(task_id: int, now: dt.datetime) -> None:
    with transaction.atomic():
        task = EscalationTask.objects.select_for_update().get(pk=task_id)
        if task.state != TaskState.PENDING:
            return
        alarm = (Alarm.objects.select_for_update(of=("self",)).select_related("elder__area", "device", "organization")
                 .get(pk=task.alarm_id))
        if alarm.status == AlarmStatus.CLOSED:
            _finish(task, TaskState.SKIPPED, _("The alarm was closed before this step."), now)
            return
        if task.condition == StepCondition.UNACKNOWLEDGED and alarm.status != AlarmStatus.NEW:
            _finish(task, TaskState.SKIPPED, _("Acknowledged in time."), now)
            return
        note = HANDLERS[task.action](alarm, task, now)
        AlarmEvent.objects.create(alarm=alarm, status=task.action, note=note, at=now)
        _finish(task, TaskState.DONE, note, now)
        announce(alarm.pk)


def failed(task_id: int, now: dt.datetime, error: str) -> None:
    """A step raised: try again later; after the last attempt mark it failed and alert the supervisor now."""
    with transaction.atomic():
        task = EscalationTask.objects.select_for_update().select_related("alarm").get(pk=task_id)
        if task.state != TaskState.PENDING:
            return
        task.attempts += 1
        task.lease_until = None
        task.result = error
        if task.attempts <= len(RETRY_DELAYS):
            task.due_at = now + dt.timedelta(seconds=RETRY_DELAYS[task.attempts - 1])
            task.save(update_fields=["attempts", "lease_until", "result", "due_at"])
            return
        _finish(task, TaskState.FAILED, error, now)
        if task.alarm.status != AlarmStatus.CLOSED:
            AlarmEvent.objects.create(alarm=task.alarm, status="step_failed", at=now, note=_(
                "The step “%(action)s” failed after %(attempts)d attempts: %(error)s") % {
                "action": EscalationAction(task.action).label, "attempts": task.attempts, "error": error})
            if task.action != EscalationAction.ALERT_SUPERVISOR:
                follow_up(task.alarm, EscalationAction.ALERT_SUPERVISOR, now,
                          params={"reason": _("a step failed: %(action)s") % {
                              "action": EscalationAction(task.action).label}})
        announce(task.alarm_id)


def _finish(task: EscalationTask, state: str, note: str, now: dt.datetime) -> None:
    task.state, task.done_at, task.lease_until, task.result = state, now, None, str(note)[:255]
    task.save(update_fields=["state", "done_at", "lease_until", "result", "attempts"])


def follow_up(alarm: Alarm, action: str, due_at: dt.datetime, *, condition: str = StepCondition.ALWAYS,
              params: dict | None = None) -> EscalationTask:
    """A task that is not a rung of the ladder: the next family contact, a fallback alert, a step run by hand."""
    return EscalationTask.objects.create(alarm=alarm, action=action, condition=condition, params=params or {},
                                         due_at=due_at)


def run_now(alarm_id: int, action: str, *, acting_user, channel: str = "") -> EscalationTask:
    """An agent does a step at once from the console (e.g. "notify the family now"); the worker runs it."""
    from .services import visible_alarm  # the console's permission and scope check

    if action not in EscalationAction.values:
        raise ValidationError({"action": [_("Choose a step.")]})
    with transaction.atomic():
        alarm = visible_alarm(acting_user, alarm_id, for_update=True)
        if alarm.status == AlarmStatus.CLOSED:
            raise ValidationError({"alarm": [_("This alarm is closed.")]})
        task = follow_up(alarm, action, timezone.now(), params={"channel": channel, "by": acting_user.pk})
        announce(alarm.pk)
    return task


def announce(alarm_id: int) -> None:
    """Tell the live consoles after the commit."""
    from . import live

    live.announce_on_commit([alarm_id])


# --- the steps --------------------------------------------------------------------------------------


def place(alarm: Alarm) -> str:
    """The address to read out: village path and street address, or the device's location note."""
    parts = []
    if alarm.elder is not None:
        parts = [alarm.elder.area.full_name, alarm.elder.address]
    if alarm.device is not None and alarm.device.location_note and alarm.device.location_note not in parts:
        parts.append(alarm.device.location_note)
    return " ".join(p for p in parts if p) or _("(no address on record)")


def _who(alarm: Alarm) -> str:
    return alarm.elder.name if alarm.elder is not None else (alarm.device_id or _("unknown"))


def _message(alarm: Alarm) -> str:
    return _("[12349] %(type)s for %(who)s at %(time)s, %(place)s. The hotline is handling it; "
             "please check on them or call 12349.") % {
        "type": alarm.get_type_display(), "who": _who(alarm), "place": place(alarm),
        "time": timezone.localtime(alarm.received_at).strftime("%H:%M")}


def advise_emergency_call(alarm: Alarm, task: EscalationTask, now: dt.datetime) -> str:
    number = task.params.get("number") or "120"
    return _("Advise calling %(number)s if the danger is confirmed. Address to read out: %(place)s") % {
        "number": number, "place": place(alarm)}


def supervisors(alarm: Alarm) -> list:
    """Who answers for the alarm's area: its township officials, else its county's, else the city's."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(is_active=True)
    code = alarm.area_code
    for role, length in ((Role.TOWNSHIP_OFFICIAL, 9), (Role.COUNTY_OFFICIAL, 6), (Role.CITY_OFFICIAL, 4)):
        found = list(users.filter(role=role, scope_area_id=code[:length]).order_by("pk"))
        if found:
            return found
    return []


def alert_supervisor(alarm: Alarm, task: EscalationTask, now: dt.datetime) -> str:
    people = supervisors(alarm)
    if not people:
        raise RuntimeError("nobody to alert: no official covers this area")
    reason = task.params.get("reason") or _("not acknowledged in time")
    text = _("Alarm not handled (%(reason)s): %(message)s") % {"reason": reason, "message": _message(alarm)}
    names = []
    for user in people:
        key = f"alarm:{alarm.pk}:task:{task.pk}:user:{user.pk}"
        notifications.queue(channel=NotifyChannel.PUSH, text=text, subject=f"alarm:{alarm.pk}",
                            area_code=alarm.area_code, key=f"{key}:push", recipient_user=user,
                            recipient_label=str(user), now=now)
        if user.work_phone:
            notifications.queue(channel=NotifyChannel.SMS, text=text, subject=f"alarm:{alarm.pk}",
                                area_code=alarm.area_code, key=f"{key}:sms", address=user.work_phone,
                                recipient_label=str(user), recipient_user=user, now=now)
        names.append(str(user))
    return _("Supervisor alerted (%(reason)s): %(names)s") % {"reason": reason, "names": ", ".join(names)}


def family_contacts(alarm: Alarm) -> list:
    """Emergency contacts with a phone, in call order (any contact with a phone if none is marked)."""
    if alarm.elder is None:
        return []
    contacts = [c for c in alarm.elder.contacts.order_by("priority", "pk") if c.phone]
    marked = [c for c in contacts if c.is_emergency]
    return marked or contacts


def notify_contacts(alarm: Alarm, task: EscalationTask, now: dt.datetime) -> str:
    """Reach the family one at a time, in call order; stop at the first who was reached."""
    contacts = family_contacts(alarm)
    index = int(task.params.get("index", 0))
    channel = task.params.get("channel") or NotifyChannel.VOICE
    previous = task.params.get("previous_key")
    if previous and notifications.state_of([previous]).get(previous) == "delivered":
        return _("The previous contact was reached; nobody else is called.")
    if index >= len(contacts):
        if not contacts:
            return _("The elder has no family contact with a phone number.")
        return _("Every family contact has been tried.")
    contact = contacts[index]
    key = f"alarm:{alarm.pk}:contact:{contact.pk}:{channel}"
    notifications.queue(channel=channel, text=_message(alarm), subject=f"alarm:{alarm.pk}",
                        area_code=alarm.area_code, key=key, address=contact.phone,
                        recipient_label=f"{contact.get_relation_display()} {contact.name}", now=now)
    if index + 1 < len(contacts):
        follow_up(alarm, EscalationAction.NOTIFY_CONTACTS, now + CONTACT_SPACING, condition=task.condition,
                  params={"index": index + 1, "channel": channel, "previous_key": key})
    return _("%(channel)s to %(relation)s %(name)s (%(phone)s), contact %(n)d of %(count)d") % {
        "channel": NotifyChannel(channel).label, "relation": contact.get_relation_display(), "name": contact.name,
        "phone": mask_phone(contact.phone), "n": index + 1, "count": len(contacts)}


def notify_organization(alarm: Alarm, task: EscalationTask, now: dt.datetime) -> str:
    organization = alarm.organization
    if organization is None or not organization.phone:
        return _("No responsible organisation with a phone number; the hotline handles it.")
    notifications.queue(channel=task.params.get("channel") or NotifyChannel.SMS, text=_message(alarm),
                        subject=f"alarm:{alarm.pk}", area_code=alarm.area_code,
                        key=f"alarm:{alarm.pk}:task:{task.pk}:org", address=organization.phone,
                        recipient_label=organization.name, now=now)
    return _("Text sent to %(organization)s") % {"organization": organization.name}


def dispatch_worker(alarm: Alarm, task: EscalationTask, now: dt.datetime) -> str:
    from .response import dispatch_nearest

    if alarm.service_order_id is not None:
        return _("A caregiver has already been sent (order %(order)s).") % {"order": alarm.service_order_id}
    try:
        order = dispatch_nearest(alarm, acting_user=None, now=now)
    except ValidationError as exc:
        reason = "; ".join(str(m) for messages in exc.message_dict.values() for m in messages)
        follow_up(alarm, EscalationAction.ALERT_SUPERVISOR, now,
                  params={"reason": _("no caregiver could be sent: %(reason)s") % {"reason": reason}})
        return _("No caregiver could be sent (%(reason)s); the supervisor is alerted.") % {"reason": reason}
    return _("Caregiver sent: order %(order)s.") % {"order": order.pk}


HANDLERS: dict[str, Callable[[Alarm, EscalationTask, dt.datetime], str]] = {
    EscalationAction.ADVISE_EMERGENCY_CALL: advise_emergency_call,
    EscalationAction.ALERT_SUPERVISOR: alert_supervisor,
    EscalationAction.NOTIFY_CONTACTS: notify_contacts,
    EscalationAction.NOTIFY_ORGANIZATION: notify_organization,
    EscalationAction.DISPATCH_WORKER: dispatch_worker,
}


@dataclass(frozen=True)
class LadderRow:
    """One line of an alarm's escalation on the console: done, skipped, failed or due in N seconds."""

    task: EscalationTask
    seconds_left: int | None


def ladder_of(alarm: Alarm, now: dt.datetime | None = None) -> list[LadderRow]:
    now = now or timezone.now()
    rows = []
    for task in alarm.tasks.order_by("due_at", "id"):
        left = None
        if task.state == TaskState.PENDING:
            left = max(0, int((task.due_at - now).total_seconds()))
        rows.append(LadderRow(task, left))
    return rows
