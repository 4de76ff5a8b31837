"""The 12349 hotline: who is calling, the call record, and what the call led to.

A number (typed by the agent or passed by the telephony system) is matched through
the phone blind indexes against elders and their contacts in the agent's
jurisdiction, never by decrypting. A call is a ``CallRecord`` from the moment the
agent (or the telephony system) starts it until it ends with an outcome; orders and
complaints made during the call are linked to it in the same transaction that
creates them. Every write is audited; the caller's number is only ever shown masked.

Alarms have no app of their own yet: an emergency is a 助急 service order from a
provider that offers one, and the call ends with the outcome "alarm".
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.core import audit, crypto
from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.core.masking import mask_phone
from yiyang.core.models import AuditAction
from yiyang.organizations.models import Organization
from yiyang.people.idnumber import age_on
from yiyang.people.models import Contact, Elder, HardshipStatus, LivingArrangement
from yiyang.people.rules import ADVANCED_AGE

from . import services
from .models import CallRecord, Complaint, ProviderProfile, ServiceKind, ServiceOrder, ServiceType

Outcome = CallRecord.Outcome
# Outcomes that must say what was said or done.
NEEDS_SUMMARY = frozenset({Outcome.CONSULTATION})
EMERGENCY_MINUTES = 60  # an emergency order is wanted from now for this long


# --- numbers -----------------------------------------------------------------------------------


_SEPARATORS = re.compile(r"[\s\-().]")


def normalize_number(text: str) -> str:
    """Digits only: spaces, dashes and brackets removed, +86 / 0086 / 86 before a mobile dropped.

    An empty string is a withheld number. Anything that is not a phone number is refused.
    """
    value = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text or ""))
    for prefix in ("+86", "0086"):
        if value.startswith(prefix):
            value = value[len(prefix):]
            break
    else:
        if value.startswith("86") and len(value) == 13 and value[2] == "1":
            value = value[2:]
    if value and not (value.isdigit() and 3 <= len(value) <= 20):
        raise ValidationError({"number": [_("Enter a phone number (digits, spaces or dashes).")]})
    return value


def _index_candidates(number: str) -> list[str]:
    """Blind indexes the number may be stored under: landlines keep the registry's dash after the area code."""
    forms = {number}
    if number.startswith("0") and len(number) >= 10:
        forms |= {f"{number[:3]}-{number[3:]}", f"{number[:4]}-{number[4:]}"}
    return [crypto.blind_index(form, "phone") for form in sorted(forms)]


def mask_number(number: str) -> str:
    return mask_phone(number) if number else ""


def seal_number(number: str) -> str:
    """The number for a hidden form field (pick an elder): encrypted, so no page carries it in clear."""
    return crypto.encrypt(number) if number else ""


def open_number(token: str) -> str:
    """The number a page sent back sealed; an altered token is refused."""
    if not token:
        return ""
    try:
        return normalize_number(crypto.decrypt(token))
    except crypto.DecryptionError:
        raise ValidationError({"number": [_("The number was altered on the way; enter it again.")]}) from None


# --- who is calling ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """An elder the number belongs to: the elder's own phone (relation "self") or a contact's."""

    elder: Elder
    relation: str
    relation_label: str
    contact_name: str = ""

    @property
    def area_code(self) -> str:
        return self.elder.area_id


def identify(number: str, *, acting_user) -> list[Match]:
    """The elders in the user's jurisdiction whose phone, or whose contact's phone, is ``number``."""
    if not acting_user.has_perm("people.view_elder"):
        raise PermissionDenied(_("You may not look up elders."))
    number = normalize_number(number)
    if not number:
        return []
    indexes = _index_candidates(number)
    matches: list[Match] = []
    seen: set[tuple[int, str]] = set()
    for elder in Elder.objects.for_user(acting_user).filter(phone_index__in=indexes).select_related("area"):
        seen.add((elder.pk, "self"))
        matches.append(Match(elder, "self", _("the elder")))
    contacts = (Contact.objects.for_user(acting_user).filter(phone_index__in=indexes)
                .select_related("elder__area").order_by("elder__name", "priority", "id"))
    for contact in contacts:
        if (contact.elder_id, contact.relation) in seen:
            continue
        seen.add((contact.elder_id, contact.relation))
        matches.append(Match(contact.elder, contact.relation, contact.get_relation_display(), contact.name))
    return matches


# --- the call ------------------------------------------------------------------------------------


def _require(user, perm: str, message: str) -> None:
    if user is None or not user.has_perm(perm):
        raise PermissionDenied(message)


def _elder(user, elder_id) -> Elder:
    elder = (Elder.objects.for_user(user).filter(pk=elder_id).select_related("area").first()
             if str(elder_id).isdigit() else None)
    if elder is None:
        raise ValidationError({"elder": [_("No such elder in your jurisdiction.")]})
    return elder


def _open_call(user, call) -> CallRecord:
    """The call, locked, if the user may work on it and it has not ended."""
    _require(user, "homecare.add_callrecord", _("You may not take hotline calls."))
    found = (CallRecord.objects.for_user(user).select_for_update().filter(pk=getattr(call, "pk", call)).first())
    if found is None:
        raise PermissionDenied(_("No such call in your jurisdiction."))
    if found.ended_at is not None:
        raise ValidationError({"call": [_("This call has already ended.")]})
    return found


def _label(call: CallRecord) -> str:
    """The audit log's label: the masked number (— when withheld) and the local start time."""
    return f"{mask_number(call.caller_number) or '—'} {timezone.localtime(call.started_at):%Y-%m-%d %H:%M}"


@transaction.atomic
def start_call(*, acting_user, number: str, elder_id=None, direction: str = CallRecord.Direction.INBOUND) -> CallRecord:
    """A new call, now; about an elder when known, else placed in the agent's own scope."""
    _require(acting_user, "homecare.add_callrecord", _("You may not take hotline calls."))
    if direction not in CallRecord.Direction.values:
        raise ValidationError({"direction": [_("Choose incoming or outgoing.")]})
    number = normalize_number(number)
    elder = _elder(acting_user, elder_id) if elder_id not in (None, "") else None
    call = CallRecord.objects.create(
        agent=acting_user, direction=direction, caller_number=number,
        caller_index=crypto.blind_index(number, "phone") if number else "", elder=elder,
        area_code=elder.area_id if elder else (acting_user.scope_area_id or ""), started_at=timezone.now())
    audit.record(AuditAction.CREATE, actor=acting_user, obj=call, label=_label(call), area_code=call.area_code,
                 after={"caller_number": mask_number(number), "direction": direction,
                        "elder": elder.pk if elder else None})
    return call


@transaction.atomic
def attach_elder(call, *, acting_user, elder_id) -> CallRecord:
    """Say which elder an open call is about (the agent picked one of the matches)."""
    call = _open_call(acting_user, call)
    elder = _elder(acting_user, elder_id)
    if call.elder_id == elder.pk:
        return call
    if call.order_id or call.complaint_id:
        raise ValidationError({"elder": [_("An order or complaint of this call is about another elder; "
                                           "end this call and start a new one.")]})
    before = {"elder": call.elder_id, "area_code": call.area_code}
    call.elder, call.area_code = elder, elder.area_id
    call.save(update_fields=["elder", "area_code"])
    audit.record(AuditAction.UPDATE, actor=acting_user, obj=call, label=_label(call), area_code=call.area_code,
                 before=before, after={"elder": elder.pk, "area_code": elder.area_id})
    return call


def _linkable(user, call: CallRecord, model, pk, field: str):
    """An order or complaint the user can see, about the call's elder."""
    if pk is None:
        return None
    obj = model.objects.for_user(user).filter(pk=getattr(pk, "pk", pk)).first()
    if obj is None or (call.elder_id and obj.elder_id != call.elder_id):
        raise ValidationError({field: [_("That is not a record of the elder this call is about.")]})
    return obj


@transaction.atomic
def end_call(call, *, acting_user, outcome: str, summary: str = "", order=None, complaint=None) -> CallRecord:
    """End an open call with what came of it. A consultation must say what was asked and answered."""
    call = _open_call(acting_user, call)
    summary = (summary or "").strip()
    errors: dict[str, list[str]] = {}
    if outcome not in Outcome.values:
        errors["outcome"] = [_("Choose what came of the call.")]
    elif outcome in NEEDS_SUMMARY and not summary:
        errors["summary"] = [_("Write down what was asked and what was answered.")]
    order = _linkable(acting_user, call, ServiceOrder, order, "order") or call.order
    complaint = _linkable(acting_user, call, Complaint, complaint, "complaint") or call.complaint
    if outcome == Outcome.ORDER and order is None:
        errors["outcome"] = [_("No service order was created in this call.")]
    if outcome == Outcome.COMPLAINT and complaint is None:
        errors["outcome"] = [_("No complaint was recorded in this call.")]
    if outcome == Outcome.ALARM and order is None and not summary and not call.alarms.exists():
        errors["summary"] = [_("No alarm was raised in this call: say what was done (e.g. 120 called).")]
    if len(summary) > CallRecord._meta.get_field("summary").max_length:
        errors["summary"] = [_("Keep the summary under 1,000 characters.")]
    if errors:
        raise ValidationError(errors)
    call.ended_at = max(timezone.now(), call.started_at)
    call.outcome, call.summary, call.order, call.complaint = outcome, summary, order, complaint
    call.save(update_fields=["ended_at", "outcome", "summary", "order", "complaint"])
    audit.record(AuditAction.UPDATE, actor=acting_user, obj=call, label=_label(call), area_code=call.area_code,
                 before={"outcome": ""}, after={"outcome": outcome, "duration_seconds": call.duration_seconds,
                                                "order": order.pk if order else None,
                                                "complaint": complaint.pk if complaint else None})
    return call


def suggested_outcome(call: CallRecord) -> str:
    """What the end-call form proposes: what the call already led to."""
    if call.alarms.exists():
        return Outcome.ALARM
    if call.order_id:
        return Outcome.ALARM if call.order.service_type.kind == ServiceKind.EMERGENCY else Outcome.ORDER
    if call.complaint_id:
        return Outcome.COMPLAINT
    return Outcome.CONSULTATION


# --- what a call leads to ------------------------------------------------------------------------


@transaction.atomic
def place_order(call, *, acting_user, elder_id, **order) -> ServiceOrder:
    """A service order by phone (channel hotline), linked to the open call."""
    call = _open_call(acting_user, call)
    if call.elder_id is None:
        call = attach_elder(call, acting_user=acting_user, elder_id=elder_id)
    if str(call.elder_id) != str(elder_id):
        raise ValidationError({"elder": [_("This call is about another elder.")]})
    created = services.create_order(acting_user=acting_user, elder_id=call.elder_id,
                                    channel=ServiceOrder.Channel.HOTLINE, **order)
    CallRecord.objects.filter(pk=call.pk).update(order=created)
    return created


def raise_emergency(call, *, acting_user, type: str, note: str = "", send_caregiver: bool = True):
    """An emergency told by phone becomes an alarm of its own, linked to the call and escalated like any other.

    The alarm is committed first; sending the nearest caregiver is then a step of its
    escalation, run by the alarm worker within a second, so a failure to find one
    alerts the supervisor instead of losing the alarm.
    """
    from yiyang.alarms import escalation
    from yiyang.alarms import services as alarms
    from yiyang.alarms.models import EscalationAction

    with transaction.atomic():
        call = _open_call(acting_user, call)
        if call.elder_id is None:
            raise ValidationError({"elder": [_("Pick the elder first.")]})
        alarm = alarms.raise_alarm(acting_user=acting_user, elder_id=call.elder_id, type=type, note=note, call=call)
        if send_caregiver and alarm.service_order_id is None:
            escalation.run_now(alarm.pk, EscalationAction.DISPATCH_WORKER, acting_user=acting_user)
    return alarm


@transaction.atomic
def record_complaint(*, acting_user, elder_id, text: str, provider_id=None, order_id=None, call=None) -> Complaint:
    """A complaint taken by phone, about a provider or one of its orders; linked to the call if any."""
    _require(acting_user, "homecare.add_complaint", _("You may not record complaints."))
    if call is not None:
        call = _open_call(acting_user, call)
        if call.elder_id is None:
            call = attach_elder(call, acting_user=acting_user, elder_id=elder_id)
        elder_id = call.elder_id
    elder = _elder(acting_user, elder_id)
    errors: dict[str, list[str]] = {}
    text = (text or "").strip()
    if not text:
        errors["text"] = [_("Write down the complaint.")]
    order = None
    if order_id not in (None, ""):
        order = ServiceOrder.objects.for_user(acting_user).filter(pk=order_id, elder=elder).select_related(
            "provider").first() if str(order_id).isdigit() else None
        if order is None:
            errors["order"] = [_("That is not an order of this elder.")]
    provider = None
    if provider_id not in (None, ""):
        provider = Organization.objects.for_user(acting_user).filter(pk=provider_id, provider_profile__isnull=False).first() \
            if str(provider_id).isdigit() else None
        if provider is None:
            errors["provider"] = [_("Choose a home-care provider.")]
    if order is not None and provider is not None and order.provider_id != provider.pk:
        errors["provider"] = [_("The order was served by another provider.")]
    if errors:
        raise ValidationError(errors)
    complaint = Complaint.objects.create(elder=elder, provider=provider or (order.provider if order else None),
                                         order=order, channel=ServiceOrder.Channel.HOTLINE, text=text,
                                         created_by=acting_user)
    if call is not None:
        CallRecord.objects.filter(pk=call.pk).update(complaint=complaint)
    audit.record(AuditAction.CREATE, actor=acting_user, obj=complaint, area_code=elder.area_id,
                 after={"provider": complaint.provider_id, "order": complaint.order_id, "channel": complaint.channel})
    return complaint


# --- what the console offers for an elder --------------------------------------------------------


def serving_providers(elder: Elder, user) -> list[ProviderProfile]:
    """Active providers in the user's jurisdiction (all of them for ``user`` None, the platform)
    that serve the elder's village."""
    profiles = ((ProviderProfile.objects.all() if user is None else ProviderProfile.objects.for_user(user))
                .filter(organization__is_active=True)
                .select_related("organization").order_by("organization__name"))
    return [profile for profile in profiles if profile.serves(elder.area_id)]


def orderable_services(profiles: list[ProviderProfile]):
    """The catalogue entries at least one of these providers offers."""
    return (ServiceType.objects.filter(is_active=True, providers__in=profiles).distinct()
            .order_by("kind", "name"))


@dataclass(frozen=True)
class EmergencyOption:
    provider: Organization
    service: ServiceType


def emergency_options(elder: Elder, user) -> list[EmergencyOption]:
    """Providers serving the elder's village that offer an emergency (助急) service, with that service."""
    options = []
    for profile in serving_providers(elder, user):
        service = profile.services.filter(kind=ServiceKind.EMERGENCY, is_active=True).order_by("code").first()
        if service is not None:
            options.append(EmergencyOption(profile.organization, service))
    return options


def risk_flags(elder: Elder, *, user, grade=None, on: dt.date | None = None) -> list[str]:
    """What an agent should know at once: alone, very old, dependent, in hardship, chronically ill.

    ``grade`` is the current assessment result (any grade above 0 is some loss of ability).
    """
    on = on or timezone.localdate()
    flags = []
    if elder.status != "alive":
        flags.append(elder.get_status_display())
    if elder.living_arrangement == LivingArrangement.ALONE:
        flags.append(str(LivingArrangement.ALONE.label))
    if age_on(elder.birth_date, on) >= ADVANCED_AGE:
        flags.append(_("aged 80 or over"))
    if grade is not None and grade.grade >= 1:
        flags.append(_("ability grade: %(grade)s") % {"grade": grade.grade_name})
    if elder.chronic_conditions:
        flags.append(_("chronic conditions recorded"))
    categories = HardshipStatus.objects.for_user(user).filter(elder=elder, end_date__isnull=True).order_by("category")
    flags += [status.get_category_display() for status in categories]
    if not Contact.objects.for_user(user).filter(elder=elder, is_emergency=True).exists():
        flags.append(_("no emergency contact"))
    return flags

