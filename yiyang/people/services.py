"""Operations that change the registry. Each is one transaction and writes the audit log.

Call them with keyword-only ``acting_user``; views, the API and imports never
write registry tables themselves.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils.translation import gettext as _

from yiyang.core import audit, crypto
from yiyang.core.errors import PermissionDenied
from yiyang.core.models import AuditAction

from . import rules, signals
from .models import Contact, Elder, HardshipCategory, HardshipSource, HardshipStatus, ResidenceMove
from .validation import clean_elder

AUDITED_FIELDS = [
    "name", "id_number", "birth_date", "sex", "phone", "area", "address", "latitude", "longitude",
    "hukou_area_code", "living_arrangement", "status", "death_date", "moved_away_date", "moved_to",
    "chronic_conditions", "family_doctor", "family_doctor_signed_on",
]
REVEALABLE = {"id_number", "phone", "chronic_conditions"}


def _require(user, perm: str) -> None:
    if not user.has_perm(perm):
        raise PermissionDenied(_("You do not have permission to do this."))


def _snapshot(elder: Elder) -> dict:
    return audit.snapshot(elder, AUDITED_FIELDS, masked=Elder.SENSITIVE)


def apply_personal_indexes(elder: Elder) -> None:
    """Keep the blind indexes in step with the plaintext values."""
    elder.id_index = crypto.blind_index(elder.id_number, "id")
    elder.id_last4_index = crypto.blind_index(elder.id_number[-4:], "id4")
    elder.phone_index = crypto.blind_index(elder.phone, "phone") if elder.phone else ""


def access_elder_by_id(user, elder_id) -> Elder:
    """The elder if ``user`` may see it; 404 otherwise (no hint that it exists elsewhere)."""
    elder = Elder.objects.for_user(user).filter(pk=elder_id).select_related("area").first()
    if elder is None:
        raise Http404(_("No such elder in your jurisdiction."))
    return elder


@transaction.atomic
def register_elder(*, acting_user, data: dict, today: dt.date | None = None) -> Elder:
    _require(acting_user, "people.add_elder")
    cleaned = clean_elder(data, acting_user=acting_user, today=today)
    elder = Elder(**cleaned)
    apply_personal_indexes(elder)
    try:
        with transaction.atomic():
            elder.save()
    except IntegrityError:  # a concurrent registration of the same ID number won the race
        raise ValidationError({"id_number": [_("An elder with this ID number is already registered.")]}) from None
    audit.record(AuditAction.CREATE, actor=acting_user, obj=elder, area_code=elder.area_id, after=_snapshot(elder))
    return elder


@transaction.atomic
def update_elder(elder: Elder, *, acting_user, data: dict, today: dt.date | None = None) -> Elder:
    _require(acting_user, "people.change_elder")
    elder = Elder.objects.for_user(acting_user).select_for_update().get(pk=elder.pk)
    before = _snapshot(elder)
    cleaned = clean_elder(data, acting_user=acting_user, instance=elder, today=today)
    for field, value in cleaned.items():
        setattr(elder, field, value)
    apply_personal_indexes(elder)
    elder.save()
    audit.record(AuditAction.UPDATE, actor=acting_user, obj=elder, area_code=elder.area_id, before=before, after=_snapshot(elder))
    _announce_payroll_facts(elder, before, acting_user)
    return elder


PAYROLL_FACTS = ("birth_date", "status", "death_date", "moved_away_date")


def _announce_payroll_facts(elder: Elder, before: dict, acting_user) -> None:
    """Tell the payroll when a change reaches back into months that may already be paid."""
    after = _snapshot(elder)
    changed = [field for field in PAYROLL_FACTS if before.get(field) != after.get(field)]
    if not changed:
        return
    dates = [d for d in (elder.death_date, elder.moved_away_date) if d is not None]
    for field in ("death_date", "moved_away_date"):
        if before.get(field):
            dates.append(dt.date.fromisoformat(before[field]))
    since = min(dates) if dates and "birth_date" not in changed else None  # a birth-date fix touches every month
    signals.eligibility_changed.send(sender=Elder, elder=elder, since=since, reason=",".join(changed),
                                     acting_user=acting_user)


@transaction.atomic
def record_death(elder: Elder, *, acting_user, death_date: dt.date, note: str = "") -> Elder:
    """Mark an elder deceased; later issues stop payments from this date."""
    return update_elder(elder, acting_user=acting_user, data={"status": "deceased", "death_date": death_date})


def reveal(elder: Elder, field: str, *, acting_user, reason: str = "") -> str:
    """Return one personal-data value in clear, for those entitled, and audit it."""
    if field not in REVEALABLE:
        raise ValidationError({"field": _("Only the ID number, phone or health data can be revealed.")})
    _require(acting_user, "people.reveal_personal_data")
    access_elder_by_id(acting_user, elder.pk)
    audit.record(AuditAction.REVEAL, actor=acting_user, obj=elder, area_code=elder.area_id, note=f"{field} {reason}".strip())
    return getattr(elder, field)


@transaction.atomic
def add_hardship(elder: Elder, *, acting_user, category: str, start_date, source: str, evidence: str = "",
                 today: dt.date | None = None) -> HardshipStatus:
    _require(acting_user, "people.change_elder")
    access_elder_by_id(acting_user, elder.pk)
    errors = {}
    if category not in HardshipCategory.values or category == HardshipCategory.ADVANCED_AGE:
        errors["category"] = [_("Choose a hardship category (高龄 follows from the birth date and is not recorded).")]
    if source not in HardshipSource.values:
        errors["source"] = [_("Choose where the status comes from.")]
    try:
        start = rules.parse_date(start_date, today=today or dt.date.today())
        if start is None:
            errors["start_date"] = [_("Enter the date the status began.")]
    except ValueError as exc:
        errors["start_date"] = [str(exc)]
    if not errors and HardshipStatus.objects.filter(elder=elder, category=category, end_date__isnull=True).exists():
        errors["category"] = [_("This elder already has this category open; close it first.")]
    if errors:
        raise ValidationError(errors)
    status = HardshipStatus.objects.create(elder=elder, category=category, start_date=start, source=source,
                                           evidence=evidence[:300], recorded_by=acting_user)
    audit.record(AuditAction.CREATE, actor=acting_user, obj=status, area_code=elder.area_id,
                 after={"category": category, "start_date": start.isoformat(), "source": source, "evidence": evidence})
    signals.eligibility_changed.send(sender=HardshipStatus, elder=elder, since=start, reason=f"hardship {category}",
                                     acting_user=acting_user)
    return status


@transaction.atomic
def end_hardship(status: HardshipStatus, *, acting_user, end_date) -> HardshipStatus:
    _require(acting_user, "people.change_elder")
    status = HardshipStatus.objects.for_user(acting_user).select_for_update().get(pk=status.pk)
    try:
        end = rules.parse_date(end_date)
    except ValueError as exc:
        raise ValidationError({"end_date": [str(exc)]}) from exc
    if status.end_date is not None:
        raise ValidationError({"end_date": [_("This status is already closed.")]})
    if end is None or end < status.start_date:
        raise ValidationError({"end_date": [_("The end date must be on or after the start date.")]})
    status.end_date = end
    status.save(update_fields=["end_date"])
    audit.record(AuditAction.UPDATE, actor=acting_user, obj=status, area_code=status.elder.area_id,
                 before={"end_date": None}, after={"end_date": end.isoformat()})
    signals.eligibility_changed.send(sender=HardshipStatus, elder=status.elder, since=end,
                                     reason=f"hardship {status.category} ended", acting_user=acting_user)
    return status


@transaction.atomic
def move_within_platform(elder: Elder, *, acting_user, to_area_code: str, moved_on, address: str = "",
                         today: dt.date | None = None) -> ResidenceMove:
    """Record a move to another village of the platform (费随人走) and re-home the record.

    The official of the area the elder leaves records it; the destination may lie
    outside their jurisdiction (the elder then leaves their view). Listeners move
    entitlements; the payroll pays each month where the elder lived on its first day.
    """
    from yiyang.areas.models import Area

    _require(acting_user, "people.change_elder")
    elder = Elder.objects.for_user(acting_user).select_for_update().filter(pk=elder.pk).first()
    if elder is None:
        raise Http404(_("No such elder in your jurisdiction."))
    today = today or dt.date.today()
    errors = {}
    destination = Area.objects.filter(code=to_area_code).first()
    if destination is None or len(destination.code) != 12:
        errors["to_area_code"] = [_("Choose the village (12-digit code) the elder moves to.")]
    elif destination.code == elder.area_id:
        errors["to_area_code"] = [_("The elder already lives in this village.")]
    try:
        day = rules.parse_date(moved_on, today=today)
    except ValueError as exc:
        errors["moved_on"] = [str(exc)]
        day = None
    if day is None and "moved_on" not in errors:
        errors["moved_on"] = [_("Enter the date of the move.")]
    if day is not None and day > today:
        errors["moved_on"] = [_("A move is recorded once it has happened.")]
    if elder.status != "alive":
        errors["status"] = [_("Only a living elder registered here can move within the city.")]
    last = elder.moves.order_by("-moved_on").first()
    if day is not None and last is not None and day <= last.moved_on:
        errors["moved_on"] = [_("A later move (%(date)s) is already recorded.") % {"date": last.moved_on.isoformat()}]
    if errors:
        raise ValidationError(errors)
    before = _snapshot(elder)
    move = ResidenceMove.objects.create(elder=elder, from_area_id=elder.area_id, to_area=destination, moved_on=day,
                                        recorded_by=acting_user)
    elder.area = destination
    if address:
        elder.address = address[:200]
    elder.save(update_fields=["area", "address"])
    audit.record(AuditAction.UPDATE, actor=acting_user, obj=elder, area_code=move.from_area_id, before=before,
                 after=_snapshot(elder), note=f"moved {move.from_area_id}->{move.to_area_id} on {day.isoformat()}")
    audit.record(AuditAction.CREATE, actor=acting_user, obj=move, area_code=move.to_area_id,
                 after={"from": move.from_area_id, "to": move.to_area_id, "moved_on": day.isoformat()})
    signals.elder_moved.send(sender=ResidenceMove, move=move, acting_user=acting_user)
    return move


@transaction.atomic
def add_contact(elder: Elder, *, acting_user, name: str, relation: str, phone: str = "", is_guardian=False,
                is_emergency=True, lives_together=False, priority: int = 1) -> Contact:
    _require(acting_user, "people.change_elder")
    access_elder_by_id(acting_user, elder.pk)
    errors = {}
    if not (name or "").strip():
        errors["name"] = [_("Enter the contact's name.")]
    elif len(name.strip()) > 64:
        errors["name"] = [_("The name is longer than 64 characters.")]
    try:
        phone = rules.normalize_phone(phone)
    except ValueError as exc:
        errors["phone"] = [str(exc)]
    if relation not in Contact._meta.get_field("relation").choices and relation not in dict(Contact._meta.get_field("relation").choices):
        errors["relation"] = [_("Choose the relation.")]
    if errors:
        raise ValidationError(errors)
    contact = Contact(elder=elder, name=name.strip(), relation=relation, phone=phone, is_guardian=is_guardian,
                      is_emergency=is_emergency, lives_together=lives_together, priority=priority)
    contact.phone_index = crypto.blind_index(phone, "phone") if phone else ""
    contact.save()
    audit.record(AuditAction.CREATE, actor=acting_user, obj=contact, area_code=elder.area_id,
                 after={"name": contact.name, "relation": relation, "phone": contact.phone_masked, "is_guardian": is_guardian})
    return contact
