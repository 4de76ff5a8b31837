"""One validation of an elder's registry data, shared by forms, the API and imports.

Returns cleaned values or raises ``ValidationError`` keyed by field, with
messages a clerk can act on. Scope is checked here too: an area outside the
acting user's jurisdiction is a field error, never a silent save. The per-field
checks are public so the roster import applies the same rules to each row
without a query per row.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from yiyang.areas.models import Area, Level
from yiyang.core import crypto
from yiyang.core.scoping import code_in_scope

from . import idnumber, rules
from .models import Elder, ElderStatus, LivingArrangement

# Django's Choices.values builds a new list on every call; imports check every row.
LIVING_ARRANGEMENTS = frozenset(LivingArrangement.values)


def check_village_code(code) -> str:
    """A village code is 12 digits; returns it stripped, or raises ValueError."""
    code = (code or "").strip()
    if not code:
        raise ValueError(_("Choose the village (12-digit area code)."))
    if not code.isdigit() or len(code) != 12:
        raise ValueError(_("“%(code)s” is not a 12-digit village code.") % {"code": code})
    return code


def check_in_scope(code: str, acting_user) -> None:
    """An area outside the acting user's jurisdiction is an error, never a silent save."""
    if not (acting_user.is_superuser or code_in_scope(code, acting_user.scope_code)):
        raise ValueError(_("Village %(code)s is outside your jurisdiction.") % {"code": code})


def check_village(code: str, acting_user) -> Area:
    """The village must exist and lie in the acting user's scope."""
    code = check_village_code(code)
    check_in_scope(code, acting_user)
    area = Area.objects.filter(code=code, level=Level.VILLAGE).first()
    if area is None:
        raise ValueError(_("There is no village with code %(code)s.") % {"code": code})
    return area


def clean_name(value) -> str:
    name = (value or "").strip()
    if not name:
        raise ValueError(_("Enter the name."))
    if len(name) > 64:
        raise ValueError(_("The name is longer than 64 characters."))
    return name


def clean_id_number(value, today: dt.date) -> idnumber.IdNumber:
    """A valid ID number of someone old enough for the registry."""
    parsed = idnumber.parse(value or "", today=today)
    rules.check_registration_age(parsed.birth_date, today)
    return parsed


def check_sex_matches(sex: str, parsed: idnumber.IdNumber) -> None:
    if sex and sex != parsed.sex:
        raise ValueError(_("The sex does not match the ID number."))


def check_birth_date_matches(value, parsed: idnumber.IdNumber) -> None:
    if value and rules.parse_date(value) != parsed.birth_date:
        raise ValueError(_("The birth date does not match the ID number."))


def clean_text(value, limit: int) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise ValueError(_("Keep this under %(n)d characters.") % {"n": limit})
    return value


def clean_hukou_area_code(value) -> str:
    value = (value or "").strip()
    if value and not (value.isdigit() and len(value) in (6, 9, 12)):
        raise ValueError(_("A hukou area code has 6, 9 or 12 digits."))
    return value


def clean_living_arrangement(value) -> str:
    value = value or ""
    if value and value not in LIVING_ARRANGEMENTS:
        raise ValueError(_("Unknown living arrangement “%(value)s”.") % {"value": value})
    return value


def clean_death_date(value, birth: dt.date | None, today: dt.date) -> dt.date:
    """A deceased elder needs a real, past date of death, not before the birth."""
    death = rules.parse_date(value, today=today)
    if death is None:
        raise ValueError(_("Enter the date of death."))
    if birth and death < birth:
        raise ValueError(_("The date of death is before the birth date."))
    return death


def clean_elder(data: dict, *, acting_user, instance: Elder | None = None, today: dt.date | None = None) -> dict:
    """Validate the fields present in ``data``; for a new elder, name, ID and village are required."""
    today = today or dt.date.today()
    errors: dict[str, list[str]] = {}
    cleaned: dict = {}

    def fail(field, message):
        errors.setdefault(field, []).append(str(message))

    creating = instance is None
    if "name" in data or creating:
        try:
            cleaned["name"] = clean_name(data.get("name"))
        except ValueError as exc:
            fail("name", exc)

    if "id_number" in data or creating:
        try:
            parsed = clean_id_number(data.get("id_number"), today)
        except ValueError as exc:
            fail("id_number", exc)
        else:
            index = crypto.blind_index(parsed.number, "id")
            clash = Elder.objects.filter(id_index=index)
            if instance is not None:
                clash = clash.exclude(pk=instance.pk)
            if clash.exists():
                fail("id_number", _("An elder with this ID number is already registered."))
            cleaned.update(id_number=parsed.number, birth_date=parsed.birth_date, sex=parsed.sex,
                           id_converted_from_15=parsed.converted_from_15)
            for field, check in (("sex", check_sex_matches), ("birth_date", check_birth_date_matches)):
                try:
                    check(data.get(field), parsed)
                except ValueError as exc:
                    fail(field, exc)

    if "area_code" in data or creating:
        try:
            cleaned["area"] = check_village(data.get("area_code"), acting_user)
        except ValueError as exc:
            fail("area_code", exc)

    if "phone" in data:
        try:
            cleaned["phone"] = rules.normalize_phone(data.get("phone") or "")
        except ValueError as exc:
            fail("phone", exc)

    for field, limit in (("address", 200), ("moved_to", 200), ("family_doctor", 100), ("chronic_conditions", 2000)):
        if field in data:
            try:
                cleaned[field] = clean_text(data.get(field), limit)
            except ValueError as exc:
                fail(field, exc)

    for field, clean in (("hukou_area_code", clean_hukou_area_code), ("living_arrangement", clean_living_arrangement)):
        if field in data:
            try:
                cleaned[field] = clean(data.get(field))
            except ValueError as exc:
                fail(field, exc)

    for field in ("latitude", "longitude"):
        if field in data and data.get(field) not in (None, ""):
            try:
                number = float(data[field])
            except (TypeError, ValueError):
                fail(field, _("Enter a number."))
                continue
            low, high = (3.0, 54.0) if field == "latitude" else (73.0, 136.0)
            if not low <= number <= high:
                fail(field, _("The coordinate lies outside China."))
            cleaned[field] = number

    if "family_doctor_signed_on" in data:
        try:
            cleaned["family_doctor_signed_on"] = rules.parse_date(data.get("family_doctor_signed_on"), today=today)
        except ValueError as exc:
            fail("family_doctor_signed_on", exc)

    if "status" in data and data.get("status"):
        status = data["status"]
        if status not in ElderStatus.values:
            fail("status", _("Unknown status “%(value)s”.") % {"value": status})
        else:
            cleaned["status"] = status
            birth = cleaned.get("birth_date") or (instance.birth_date if instance else None)
            if status == ElderStatus.DECEASED:
                try:
                    cleaned["death_date"] = clean_death_date(data.get("death_date"), birth, today)
                except ValueError as exc:
                    fail("death_date", exc)
            else:
                cleaned["death_date"] = None
            if status == ElderStatus.MOVED_AWAY:
                try:
                    cleaned["moved_away_date"] = rules.parse_date(data.get("moved_away_date"), today=today) or today
                except ValueError as exc:
                    fail("moved_away_date", exc)

    if errors:
        raise ValidationError(errors)
    return cleaned
