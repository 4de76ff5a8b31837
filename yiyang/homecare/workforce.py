"""A provider's workforce: its caregivers, their skills and certificates, shifts and leave.

Kept apart from ``services`` (orders) because the people who keep the roster are the
provider's own dispatchers, and only for their own organisation: every function checks
the permission, then that the worker belongs to the acting user's organisation. Each is
one transaction and writes the audit log (a phone number only masked, with a fingerprint).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from yiyang.accounts.roles import Role
from yiyang.core import audit
from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.core.masking import mask_phone
from yiyang.core.models import AuditAction
from yiyang.people import rules as people_rules
from yiyang.people import validation

from .models import Leave, Shift, Skill, Worker, WorkerSkill

MAX_SHIFT_DAYS = 62  # one form fills at most two months of the same hours


def _require(user, perm: str) -> None:
    if user is None or not user.has_perm(perm):
        raise PermissionDenied(_("You do not have permission to do this."))


def _own_provider(user):
    """The organisation the user dispatches for; staff of no organisation keep no roster."""
    if getattr(user, "organization_id", None) is None:
        raise PermissionDenied(_("Only a provider's own staff keep its workers."))
    return user.organization


def _own_worker(user, worker: Worker) -> Worker:
    """The worker, fresh and locked, if it belongs to the user's organisation."""
    provider = _own_provider(user)
    fresh = Worker.objects.select_for_update().filter(pk=worker.pk, provider=provider).first()
    if fresh is None:
        raise PermissionDenied(_("This worker belongs to another provider."))
    return fresh


def _skills_snapshot(worker: Worker) -> list[dict]:
    return [{"skill": ws.skill.code, "certificate_no": ws.certificate_no,
             "valid_until": ws.valid_until.isoformat() if ws.valid_until else None}
            for ws in worker.worker_skills.select_related("skill").order_by("skill__code")]


def _clean_skills(rows: Iterable[dict]) -> tuple[list[tuple[Skill, str, dt.date | None]], list[str]]:
    """Resolve skill codes; a skill that needs a certificate needs its number and expiry."""
    catalogue = {s.code: s for s in Skill.objects.all()}
    cleaned, errors, seen = [], [], set()
    for row in rows:
        skill = catalogue.get(row.get("skill"))
        if skill is None:
            errors.append(_("“%(code)s” is not a skill of the catalogue.") % {"code": row.get("skill")})
            continue
        if skill.code in seen:
            continue
        seen.add(skill.code)
        number = (row.get("certificate_no") or "").strip()[:64]
        until = row.get("valid_until")
        if skill.certificate_required and (not number or until is None):
            errors.append(_("%(skill)s needs a certificate: enter its number and expiry date.") % {"skill": skill.name})
            continue
        cleaned.append((skill, number, until))
    return cleaned, errors


def _clean_base(latitude, longitude) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if latitude is None or not -90 <= latitude <= 90:
        errors["base_latitude"] = [_("Enter a latitude between -90 and 90.")]
    if longitude is None or not -180 <= longitude <= 180:
        errors["base_longitude"] = [_("Enter a longitude between -180 and 180.")]
    return errors


def _login_for(provider, user_id):
    """A caregiver login of the same organisation that no worker uses yet, or None."""
    if not user_id:
        return None
    login = (get_user_model().objects.filter(pk=user_id, organization=provider, role=Role.CAREGIVER, is_active=True,
                                             worker__isnull=True).first() if str(user_id).isdigit() else None)
    if login is None:
        raise ValidationError({"user": [_("Choose a caregiver login of your organisation that no worker uses yet.")]})
    return login


@transaction.atomic
def add_worker(*, acting_user, name: str, phone: str = "", base_latitude: float | None, base_longitude: float | None,
               skills: Iterable[dict] = (), user_id=None) -> Worker:
    """A new caregiver of the acting user's provider, with the skills and certificates they hold."""
    _require(acting_user, "homecare.add_worker")
    provider = _own_provider(acting_user)
    errors = _clean_base(base_latitude, base_longitude)
    try:
        name = validation.clean_name(name)
    except ValueError as exc:
        errors["name"] = [str(exc)]
    try:
        phone = people_rules.normalize_phone(phone or "")
    except ValueError as exc:
        errors["phone"] = [str(exc)]
    rows, skill_errors = _clean_skills(skills)
    if skill_errors:
        errors["skills"] = skill_errors
    try:
        login = _login_for(provider, user_id)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    worker = Worker.objects.create(provider=provider, user=login, name=name, phone=phone,
                                   base_latitude=base_latitude, base_longitude=base_longitude)
    WorkerSkill.objects.bulk_create(WorkerSkill(worker=worker, skill=skill, certificate_no=number, valid_until=until)
                                    for skill, number, until in rows)
    audit.record(AuditAction.CREATE, actor=acting_user, obj=worker, area_code=provider.area_id, after={
        "name": name, "phone": f"{mask_phone(phone)} #{audit.fingerprint(phone)}" if phone else "",
        "base": [base_latitude, base_longitude], "login": login.username if login else None,
        "skills": _skills_snapshot(worker)})
    return worker


@transaction.atomic
def set_skills(worker: Worker, *, acting_user, skills: Iterable[dict]) -> Worker:
    """Replace the worker's skills and certificates with ``skills`` (what the dispatcher sees is what is kept)."""
    _require(acting_user, "homecare.change_worker")
    worker = _own_worker(acting_user, worker)
    rows, errors = _clean_skills(skills)
    if errors:
        raise ValidationError({"skills": errors})
    before = _skills_snapshot(worker)
    worker.worker_skills.exclude(skill__in=[skill for skill, _n, _u in rows]).delete()
    for skill, number, until in rows:
        WorkerSkill.objects.update_or_create(worker=worker, skill=skill,
                                             defaults={"certificate_no": number, "valid_until": until})
    after = _skills_snapshot(worker)
    if after != before:
        audit.record(AuditAction.UPDATE, actor=acting_user, obj=worker, area_code=worker.provider.area_id,
                     before={"skills": before}, after={"skills": after})
    return worker


def _clean_shift(day, start, end, break_start, break_minutes, until) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if day is None:
        errors["day"] = [_("Enter the date of the shift.")]
    if start is None or end is None or end <= start:
        errors["end"] = [_("The shift must end after it starts.")]
        return errors
    length = (dt.datetime.combine(dt.date.min, end) - dt.datetime.combine(dt.date.min, start)).total_seconds() / 60
    if break_minutes < 0 or break_minutes >= length:
        errors["break_minutes"] = [_("The break must be shorter than the shift.")]
    elif break_start is not None:
        break_end = dt.datetime.combine(dt.date.min, break_start) + dt.timedelta(minutes=break_minutes)
        if break_start < start or break_end.time() > end or break_end.date() != dt.date.min:
            errors["break_start"] = [_("The break must lie inside the shift.")]
    if until is not None and day is not None:
        if until < day:
            errors["until"] = [_("The last day cannot be before the first.")]
        elif (until - day).days >= MAX_SHIFT_DAYS:
            errors["until"] = [_("Enter at most %(days)d days at once.") % {"days": MAX_SHIFT_DAYS}]
    return errors


@transaction.atomic
def add_shift(worker: Worker, *, acting_user, day: dt.date, start: dt.time, end: dt.time,
              break_start: dt.time | None = None, break_minutes: int = 0, until: dt.date | None = None) -> list[Shift]:
    """The worker's working hours on ``day`` (and every day up to ``until``); a day's earlier shift is replaced."""
    _require(acting_user, "homecare.add_shift")
    worker = _own_worker(acting_user, worker)
    errors = _clean_shift(day, start, end, break_start, break_minutes or 0, until)
    if errors:
        raise ValidationError(errors)
    days = [day + dt.timedelta(days=n) for n in range(((until or day) - day).days + 1)]
    hours = {"start": start, "end": end, "break_start": break_start if break_minutes else None,
             "break_minutes": break_minutes or 0}
    shifts = [Shift.objects.update_or_create(worker=worker, day=d, defaults=hours)[0] for d in days]
    audit.record(AuditAction.UPDATE, actor=acting_user, obj=worker, area_code=worker.provider.area_id,
                 after={"shifts": [d.isoformat() for d in days], "start": start.isoformat(), "end": end.isoformat(),
                        "break_start": hours["break_start"].isoformat() if hours["break_start"] else None,
                        "break_minutes": hours["break_minutes"]})
    return shifts


@transaction.atomic
def add_leave(worker: Worker, *, acting_user, first_day: dt.date, last_day: dt.date, reason: str = "") -> Leave:
    """Leave from ``first_day`` to ``last_day``; from then on ``services.worker_unfit`` keeps orders off the worker."""
    _require(acting_user, "homecare.add_shift")
    worker = _own_worker(acting_user, worker)
    if first_day is None or last_day is None:
        raise ValidationError({"first_day": [_("Enter the first and the last day of the leave.")]})
    if last_day < first_day:
        raise ValidationError({"last_day": [_("The last day cannot be before the first.")]})
    overlap = worker.leaves.filter(first_day__lte=last_day, last_day__gte=first_day).first()
    if overlap is not None:
        raise ValidationError({"first_day": [_("%(worker)s already has leave from %(first)s to %(last)s.") % {
            "worker": worker.name, "first": overlap.first_day.isoformat(), "last": overlap.last_day.isoformat()}]})
    leave = Leave.objects.create(worker=worker, first_day=first_day, last_day=last_day, reason=(reason or "").strip()[:100])
    audit.record(AuditAction.CREATE, actor=acting_user, obj=leave, area_code=worker.provider.area_id,
                 after={"worker": worker.pk, "first_day": first_day.isoformat(), "last_day": last_day.isoformat(),
                        "reason": leave.reason})
    return leave
