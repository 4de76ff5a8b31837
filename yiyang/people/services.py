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

from . import rules
from .models import Contact, Elder, HardshipCategory, HardshipSource, HardshipStatus
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
    return elder


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
    return status


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
