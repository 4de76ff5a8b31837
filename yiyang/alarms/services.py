"""Writes by people: registering devices and changing their secrets, acknowledging and closing alarms.

Each function is one transaction with an audit entry. Device alarms are
written by the listener (``store.py``), which has no acting user; agents raise
alarms from calls here (``raise_alarm``).
"""

from __future__ import annotations

import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yiyang.areas.models import Area
from yiyang.core import audit
from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.core.models import AuditAction
from yiyang.core.scoping import code_in_scope
from yiyang.people.models import Elder

from . import escalation, live, permissions, rules
from .catalogue import PRIORITY, AlarmType, DeviceKind
from .models import (
    Alarm,
    AlarmEvent,
    AlarmSource,
    AlarmStatus,
    Device,
    EscalationTask,
    Outcome,
    TaskState,
)
from .validation import DEVICE_ID_RE

DEVICE_AUDITED = ("device_id", "kind", "elder", "area", "organization", "placement", "location_note",
                  "heartbeat_seconds", "is_active")


class AlarmTransitionError(ValueError):
    """A refused status change of an alarm; the message is for the user."""


def _require(user, perm: str) -> None:
    if user is not None and not permissions.has(user, perm):
        raise PermissionDenied(_("You do not have permission to do this."))


def _in_scope(user, area_code: str) -> bool:
    if user is None or user.is_superuser:
        return True
    return user.scope_kind == "area" and code_in_scope(area_code, user.scope_area_id)


def new_secret() -> str:
    return secrets.token_urlsafe(24)


def register_device(*, acting_user, device_id: str, kind: str, area_code: str | None = None,
                    elder: Elder | None = None, organization=None, placement: str = "home", location_note: str = "",
                    heartbeat_seconds: int | None = None, secret: str | None = None) -> tuple[Device, str]:
    """Register a device (installed in ``area_code``, by default the elder's village); returns it and its secret.

    The secret is shown once, to be written into the device; the platform keeps it encrypted.
    ``acting_user`` None is the platform itself (demo, import).
    """
    _require(acting_user, permissions.ADD_DEVICE)
    errors = {}
    if not DEVICE_ID_RE.fullmatch(device_id or ""):
        errors["device_id"] = [_("Use 1 to 64 letters, digits, hyphens or underscores.")]
    if kind not in DeviceKind.values:
        errors["kind"] = [_("Choose a device kind.")]
    if elder is not None and acting_user is not None and not Elder.objects.for_user(acting_user).filter(pk=elder.pk).exists():
        errors["elder"] = [_("This elder is outside your jurisdiction.")]
    area_code = area_code or (elder.area_id if elder is not None else "")
    if not Area.objects.filter(code=area_code).exists():
        errors["area"] = [_("Choose the area where the device is installed.")]
    elif not _in_scope(acting_user, area_code):
        errors["area"] = [_("This area is outside your jurisdiction.")]
    if heartbeat_seconds is not None and heartbeat_seconds < 10:
        errors["heartbeat_seconds"] = [_("A heartbeat interval is at least 10 seconds.")]
    if errors:
        raise ValidationError(errors)
    secret = secret or new_secret()
    device = Device(device_id=device_id, kind=kind, secret=secret, elder=elder, area_id=area_code,
                    organization=organization, placement=placement, location_note=location_note,
                    heartbeat_seconds=heartbeat_seconds)
    try:
        with transaction.atomic():
            if Device.objects.filter(pk=device_id).exists():
                raise IntegrityError
            device.save(force_insert=True)
            audit.record(AuditAction.CREATE, actor=acting_user, obj=device, area_code=area_code,
                         after=audit.snapshot(device, DEVICE_AUDITED))
    except IntegrityError:
        raise ValidationError({"device_id": [_("A device with this id is already registered.")]}) from None
    return device, secret


@transaction.atomic
def change_secret(device: Device, *, acting_user, secret: str | None = None) -> str:
    """A new secret (the old one stops working within a minute, when the listener's cache renews)."""
    _require(acting_user, permissions.CHANGE_DEVICE)
    device = Device.objects.for_user(acting_user).select_for_update().get(pk=device.pk) if acting_user else device
    secret = secret or new_secret()
    Device.objects.filter(pk=device.pk).update(secret=secret)
    audit.record(AuditAction.UPDATE, actor=acting_user, obj=device, area_code=device.area_id,
                 before={"secret": "***"}, after={"secret": "*** (new)"})
    return secret


def visible_alarm(user, alarm_id, *, for_update: bool = False) -> Alarm:
    """The alarm if the user may handle it and it is in their jurisdiction; else PermissionDenied / DoesNotExist."""
    _require(user, permissions.HANDLE_ALARMS)
    queryset = Alarm.objects.for_user(user) if user is not None else Alarm.objects.all()
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    return queryset.get(pk=alarm_id)


def _step(alarm_id: int, target: str, *, acting_user, note: str, **fields) -> Alarm:
    with transaction.atomic():
        alarm = visible_alarm(acting_user, alarm_id, for_update=True)
        if target not in rules.TRANSITIONS.get(alarm.status, set()):
            raise AlarmTransitionError(_("This alarm is %(status)s; it cannot be %(target)s.") % {
                "status": alarm.get_status_display(), "target": AlarmStatus(target).label})
        before = audit.snapshot(alarm, ("status", "outcome"))
        # The step first: once the alarm is closed nothing more may be added to it (database trigger).
        AlarmEvent.objects.create(alarm=alarm, status=target, actor=acting_user, note=note, at=timezone.now())
        alarm.status = target
        for name, value in fields.items():
            setattr(alarm, name, value)
        if note:
            alarm.note = f"{alarm.note}\n{note}".strip()
        alarm.save()
        audit.record(AuditAction.UPDATE, actor=acting_user, obj=alarm, area_code=alarm.area_code, before=before,
                     after=audit.snapshot(alarm, ("status", "outcome")), note=note)
        live.announce_on_commit([alarm.pk])
    return alarm


def acknowledge_alarm(alarm_id: int, *, acting_user, note: str = "") -> Alarm:
    """Someone has seen the alarm and is acting on it: the "unless acknowledged" steps will not run."""
    return _step(alarm_id, AlarmStatus.ACKNOWLEDGED, acting_user=acting_user, note=note,
                 acknowledged_at=timezone.now(), acknowledged_by=acting_user)


# Outcomes that must say where the elder is or what happened, for whoever reads the record later.
NOTE_REQUIRED = {Outcome.HOSPITAL: gettext_lazy("Name the hospital."),
                 Outcome.DEATH: gettext_lazy("Say what happened and who was told.")}


def close_alarm(alarm_id: int, *, acting_user, outcome: str, note: str = "") -> Alarm:
    """The alarm is over; ``outcome`` records what it turned out to be. The record is frozen from then on."""
    note = (note or "").strip()
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": [_("Choose what the alarm turned out to be.")]})
    if outcome in NOTE_REQUIRED and not note:
        raise ValidationError({"note": [str(NOTE_REQUIRED[outcome])]})
    now = timezone.now()
    with transaction.atomic():
        alarm = _step(alarm_id, AlarmStatus.CLOSED, acting_user=acting_user, note=note, closed_at=now,
                      closed_by=acting_user, outcome=outcome)
        # Timers still waiting have nothing left to do.
        EscalationTask.objects.filter(alarm=alarm, state=TaskState.PENDING).update(
            state=TaskState.SKIPPED, done_at=now, lease_until=None, result=_("The alarm was closed before this step."))
    return alarm


@transaction.atomic
def raise_alarm(*, acting_user, elder_id, type: str = AlarmType.CALL, note: str = "", call=None) -> Alarm:
    """An agent raises an alarm from a phone call: acknowledged by them at once, escalated like any other.

    Idempotent per call and type (a double click on the console raises one alarm).
    """
    _require(acting_user, permissions.HANDLE_ALARMS)
    if type not in AlarmType.values:
        raise ValidationError({"type": [_("Choose the kind of emergency.")]})
    elder = Elder.objects.for_user(acting_user).filter(pk=elder_id).first() if elder_id not in (None, "") else None
    if elder is None:
        raise ValidationError({"elder": [_("Pick the elder the call is about.")]})
    if elder.status != "alive":
        raise ValidationError({"elder": [_("This elder is not registered as living here.")]})
    msg_id = f"@call:{call.pk}:{type}" if call is not None else f"@agent:{secrets.token_hex(8)}"
    existing = Alarm.objects.filter(device__isnull=True, msg_id=msg_id).first()
    if existing is not None:
        return existing
    now = timezone.now()
    note = (note or "").strip()[:1000]
    alarm = Alarm.objects.create(
        device=None, msg_id=msg_id, type=type, priority=PRIORITY.get(type, 1), source=AlarmSource.AGENT,
        raised_by=acting_user, call=call, received_at=now, payload={"note": note} if note else {}, elder=elder,
        area_code=elder.area_id, status=AlarmStatus.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=acting_user,
        note=note)
    AlarmEvent.objects.create(alarm=alarm, status=AlarmStatus.ACKNOWLEDGED, actor=acting_user, at=now,
                              note=_("Raised by the agent from a call."))
    escalation.plan([alarm])
    audit.record(AuditAction.CREATE, actor=acting_user, obj=alarm, area_code=alarm.area_code,
                 after={"type": type, "elder": elder.pk, "source": AlarmSource.AGENT}, note=note)
    live.announce_on_commit([alarm.pk])
    return alarm
