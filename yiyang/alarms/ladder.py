"""Changing the escalation ladder (city officials): one step edited, added or switched off at a time.

Steps are never deleted (past alarms' timers point at them); a step that should
no longer run is made inactive. Every change is audited and applies to alarms
raised from then on: timers already planned keep the ladder they were planned with.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from yiyang.core import audit
from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.core.models import AuditAction

from . import escalation
from .catalogue import AlarmType
from .models import EscalationAction, EscalationStep, NotifyChannel, StepCondition

PERMISSION = "alarms.change_escalationstep"
MAX_DELAY_SECONDS = 7 * 24 * 3600
EMERGENCY_NUMBERS = ("120", "119", "110")
NEEDS_CHANNEL = {EscalationAction.NOTIFY_CONTACTS, EscalationAction.NOTIFY_ORGANIZATION}
FIELDS = ("after_seconds", "action", "condition", "channel", "emergency_number", "is_active")


def check_step(data: dict) -> dict:
    """The step's fields, cleaned; ValidationError naming each wrong field."""
    errors: dict[str, list[str]] = {}
    try:
        after = int(data.get("after_seconds"))
    except (TypeError, ValueError):
        after = None
    if after is None or not 0 <= after <= MAX_DELAY_SECONDS:
        errors["after_seconds"] = [_("Give a delay from 0 seconds to 7 days (604,800 seconds).")]
    action = data.get("action")
    if action not in EscalationAction.values:
        errors["action"] = [_("Choose what the step does.")]
    condition = data.get("condition") or StepCondition.ALWAYS
    if condition not in StepCondition.values:
        errors["condition"] = [_("Choose when the step runs.")]
    channel = data.get("channel") or ""
    if channel and channel not in NotifyChannel.values:
        errors["channel"] = [_("Choose text message, voice call or app notification.")]
    elif action in NEEDS_CHANNEL and channel not in (NotifyChannel.SMS, NotifyChannel.VOICE):
        errors["channel"] = [_("Messages to families and organisations go by text message or voice call.")]
    number = (data.get("emergency_number") or "").strip()
    if action == EscalationAction.ADVISE_EMERGENCY_CALL and number not in EMERGENCY_NUMBERS:
        errors["emergency_number"] = [_("Advise 120 (ambulance), 119 (fire) or 110 (police).")]
    if errors:
        raise ValidationError(errors)
    return {"after_seconds": after, "action": action, "condition": condition,
            "channel": channel if action in NEEDS_CHANNEL or action == EscalationAction.ALERT_SUPERVISOR else "",
            "emergency_number": number if action == EscalationAction.ADVISE_EMERGENCY_CALL else "",
            "is_active": bool(data.get("is_active", True))}


def _require(user) -> None:
    if not user.has_perm(PERMISSION):
        raise PermissionDenied(_("Only city officials change the escalation ladder."))


@transaction.atomic
def change_step(step_id: int, *, acting_user, data: dict) -> EscalationStep:
    _require(acting_user)
    step = EscalationStep.objects.select_for_update().get(pk=step_id)
    before = audit.snapshot(step, FIELDS)
    for name, value in check_step(data).items():
        setattr(step, name, value)
    step.save()
    audit.record(AuditAction.UPDATE, actor=acting_user, obj=step, area_code=acting_user.scope_code, before=before,
                 after=audit.snapshot(step, FIELDS))
    transaction.on_commit(escalation.forget_ladders)
    return step


@transaction.atomic
def add_step(alarm_type: str, *, acting_user, data: dict) -> EscalationStep:
    _require(acting_user)
    if alarm_type not in AlarmType.values:
        raise ValidationError({"alarm_type": [_("Choose an alarm type.")]})
    fields = check_step(data)
    last = EscalationStep.objects.select_for_update().filter(alarm_type=alarm_type).aggregate(n=Max("position"))["n"]
    step = EscalationStep.objects.create(alarm_type=alarm_type, position=(last or 0) + 1, **fields)
    audit.record(AuditAction.CREATE, actor=acting_user, obj=step, area_code=acting_user.scope_code,
                 after=audit.snapshot(step, ("alarm_type", *FIELDS)))
    transaction.on_commit(escalation.forget_ladders)
    return step


def ladders() -> list[tuple[str, str, list[EscalationStep]]]:
    """Every alarm type with its steps in the order they fall due: (type, label, steps)."""
    steps: dict[str, list[EscalationStep]] = {t: [] for t in AlarmType.values}
    for step in EscalationStep.objects.order_by("after_seconds", "position"):
        steps.setdefault(step.alarm_type, []).append(step)
    return [(t, AlarmType(t).label, steps[t]) for t in AlarmType.values]
