"""Changing the escalation ladder: one step edited, added or switched off at a time.

City officials keep the city-wide ladder; a county official may give the county
its own ladder for an alarm type (a copy of the city's to start from), change it,
and go back to the city's. Steps are never deleted (past alarms' timers point at
them); a step that should no longer run is made inactive. Every ladder in use
keeps an active step that alerts the supervisor, so an alarm nobody answers is
never left waiting unnoticed. Every change is audited and applies to alarms
raised from then on: timers already planned keep the ladder they were planned with.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max, Q
from django.utils.translation import gettext as _

from yiyang.areas.models import Area, Level
from yiyang.core import audit
from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.core.models import AuditAction
from yiyang.core.scoping import code_in_scope

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


def counties_for(user) -> list[Area]:
    """The counties whose ladders ``user`` reads: every county for city-wide accounts, else the one they work in."""
    code = user.scope_code
    if not code:
        return []
    if escalation.county_of(code):
        return list(Area.objects.filter(code=escalation.county_of(code), level=Level.COUNTY))
    return list(Area.objects.filter(level=Level.COUNTY, code__startswith=code).order_by("code"))


def may_edit(user, county: str | None) -> bool:
    """City officials change the city ladder and any county's; a county official their own county's."""
    if not user.has_perm(PERMISSION):
        return False
    scope = user.scope_code
    if county is None:
        return bool(scope) and len(scope) < 6
    return code_in_scope(county, scope)


def _require(user, county: str | None) -> None:
    if not may_edit(user, county):
        raise PermissionDenied(_("Only city officials change the city ladder, and a county's own officials "
                                 "its ladder."))


def _check_supervisor_kept(alarm_type: str, county: str | None) -> None:
    """Every ladder in use (the city's, a county's own) alerts the supervisor at some active step."""
    active = EscalationStep.objects.filter(alarm_type=alarm_type, county_id=county, retired=False, is_active=True)
    if not active.filter(action=EscalationAction.ALERT_SUPERVISOR).exists():
        raise ValidationError(_("A ladder must keep an active step that alerts the supervisor: otherwise an "
                                "alarm nobody answers would wait unnoticed."))


def _after_change() -> None:
    transaction.on_commit(escalation.forget_ladders)


@transaction.atomic
def change_step(step_id: int, *, acting_user, data: dict) -> EscalationStep:
    step = EscalationStep.objects.select_for_update().get(pk=step_id)
    _require(acting_user, step.county_id)
    if step.retired:
        raise ValidationError(_("This step belongs to a ladder the county no longer uses."))
    before = audit.snapshot(step, FIELDS)
    for name, value in check_step(data).items():
        setattr(step, name, value)
    step.save()
    _check_supervisor_kept(step.alarm_type, step.county_id)
    audit.record(AuditAction.UPDATE, actor=acting_user, obj=step, area_code=step.county_id or acting_user.scope_code,
                 before=before, after=audit.snapshot(step, FIELDS))
    _after_change()
    return step


def _next_position(alarm_type: str, county: str | None) -> int:
    last = (EscalationStep.objects.select_for_update().filter(alarm_type=alarm_type, county_id=county)
            .aggregate(n=Max("position"))["n"])
    return (last or 0) + 1


def _check_type_and_county(alarm_type: str, county: str | None) -> None:
    if alarm_type not in AlarmType.values:
        raise ValidationError({"alarm_type": [_("Choose an alarm type.")]})
    if county is not None and not Area.objects.filter(code=county, level=Level.COUNTY).exists():
        raise ValidationError({"county": [_("Choose a county.")]})


@transaction.atomic
def add_step(alarm_type: str, *, acting_user, data: dict, county: str | None = None) -> EscalationStep:
    _require(acting_user, county)
    _check_type_and_county(alarm_type, county)
    fields = check_step(data)
    if county is not None and not has_own_ladder(alarm_type, county):
        raise ValidationError(_("This county follows the city ladder: give it its own ladder first."))
    step = EscalationStep.objects.create(alarm_type=alarm_type, county_id=county,
                                         position=_next_position(alarm_type, county), **fields)
    _check_supervisor_kept(alarm_type, county)
    audit.record(AuditAction.CREATE, actor=acting_user, obj=step, area_code=county or acting_user.scope_code,
                 after=audit.snapshot(step, ("alarm_type", "county_id", *FIELDS)))
    _after_change()
    return step


def has_own_ladder(alarm_type: str, county: str) -> bool:
    return EscalationStep.objects.filter(alarm_type=alarm_type, county_id=county, retired=False).exists()


@transaction.atomic
def give_county_its_own(alarm_type: str, county: str, *, acting_user) -> list[EscalationStep]:
    """The county's own ladder for ``alarm_type``, starting as a copy of the city's active steps."""
    _require(acting_user, county)
    _check_type_and_county(alarm_type, county)
    if has_own_ladder(alarm_type, county):
        raise ValidationError(_("This county already has its own ladder for this kind of alarm."))
    position = _next_position(alarm_type, county)
    steps = []
    for offset, city_step in enumerate(EscalationStep.objects.filter(alarm_type=alarm_type, county__isnull=True,
                                                                      is_active=True).order_by("position")):
        step = EscalationStep.objects.create(alarm_type=alarm_type, county_id=county, position=position + offset,
                                             **{f: getattr(city_step, f) for f in FIELDS})
        audit.record(AuditAction.CREATE, actor=acting_user, obj=step, area_code=county,
                     after=audit.snapshot(step, ("alarm_type", "county_id", *FIELDS)))
        steps.append(step)
    _check_supervisor_kept(alarm_type, county)
    _after_change()
    return steps


@transaction.atomic
def back_to_city_ladder(alarm_type: str, county: str, *, acting_user) -> int:
    """Retire the county's own steps for ``alarm_type``: its alarms follow the city ladder again."""
    _require(acting_user, county)
    _check_type_and_county(alarm_type, county)
    steps = list(EscalationStep.objects.select_for_update().filter(alarm_type=alarm_type, county_id=county,
                                                                   retired=False))
    for step in steps:
        before = audit.snapshot(step, ("is_active", "retired"))
        step.is_active, step.retired = False, True
        step.save(update_fields=["is_active", "retired"])
        audit.record(AuditAction.UPDATE, actor=acting_user, obj=step, area_code=county, before=before,
                     after=audit.snapshot(step, ("is_active", "retired")))
    _after_change()
    return len(steps)


@dataclass
class TypeLadder:
    """One alarm type's ladder as a county (or the city) has it."""

    code: str
    label: str
    steps: list[EscalationStep]  # in the order they fall due, switched-off ones included
    own: bool  # the county's own ladder (False: the city's, for a county that follows it)


def ladders(county: str | None = None) -> list[TypeLadder]:
    """Every alarm type's ladder for ``county`` (None: the city-wide ladder), in the order the steps fall due."""
    city: dict[str, list[EscalationStep]] = {t: [] for t in AlarmType.values}
    own: dict[str, list[EscalationStep]] = {t: [] for t in AlarmType.values}
    rows = EscalationStep.objects.filter(Q(county__isnull=True) | Q(county_id=county, retired=False) if county else
                                         Q(county__isnull=True))
    for step in rows.order_by("after_seconds", "position"):
        (own if step.county_id else city).setdefault(step.alarm_type, []).append(step)
    return [TypeLadder(code, AlarmType(code).label, own[code] or city[code], bool(own[code]))
            for code in AlarmType.values]
