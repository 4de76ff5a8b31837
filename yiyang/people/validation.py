"""One validation of an elder's registry data, shared by forms, the API and imports.

Returns cleaned values or raises ``ValidationError`` keyed by field, with
messages a clerk can act on. Scope is checked here too: an area outside the
acting user's jurisdiction is a field error, never a silent save.
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


def check_village(code: str, acting_user) -> Area:
    """The village must exist and lie in the acting user's scope."""
    code = (code or "").strip()
    if not code:
        raise ValueError(_("Choose the village (12-digit area code)."))
    if not code.isdigit() or len(code) != 12:
        raise ValueError(_("“%(code)s” is not a 12-digit village code.") % {"code": code})
    if not (acting_user.is_superuser or code_in_scope(code, acting_user.scope_code)):
        raise ValueError(_("Village %(code)s is outside your jurisdiction.") % {"code": code})
    area = Area.objects.filter(code=code, level=Level.VILLAGE).first()
    if area is None:
        raise ValueError(_("There is no village with code %(code)s.") % {"code": code})
    return area


def clean_elder(data: dict, *, acting_user, instance: Elder | None = None, today: dt.date | None = None) -> dict:
    """Validate the fields present in ``data``; for a new elder, name, ID and village are required."""
    today = today or dt.date.today()
    errors: dict[str, list[str]] = {}
    cleaned: dict = {}

    def fail(field, message):
        errors.setdefault(field, []).append(str(message))

    creating = instance is None
    if "name" in data or creating:
        name = (data.get("name") or "").strip()
        if not name:
            fail("name", _("Enter the name."))
        elif len(name) > 64:
            fail("name", _("The name is longer than 64 characters."))
        else:
            cleaned["name"] = name

    if "id_number" in data or creating:
        try:
            parsed = idnumber.parse(data.get("id_number") or "", today=today)
            rules.check_registration_age(parsed.birth_date, today)
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
            given_sex = data.get("sex")
            if given_sex and given_sex != parsed.sex:
                fail("sex", _("The sex does not match the ID number."))
            given_birth = data.get("birth_date")
            if given_birth:
                try:
                    if rules.parse_date(given_birth) != parsed.birth_date:
                        fail("birth_date", _("The birth date does not match the ID number."))
                except ValueError as exc:
                    fail("birth_date", exc)

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
            value = (data.get(field) or "").strip()
            if len(value) > limit:
                fail(field, _("Keep this under %(n)d characters.") % {"n": limit})
            cleaned[field] = value

    if "hukou_area_code" in data:
        value = (data.get("hukou_area_code") or "").strip()
        if value and not (value.isdigit() and len(value) in (6, 9, 12)):
            fail("hukou_area_code", _("A hukou area code has 6, 9 or 12 digits."))
        cleaned["hukou_area_code"] = value

    if "living_arrangement" in data:
        value = data.get("living_arrangement") or ""
        if value and value not in LivingArrangement.values:
            fail("living_arrangement", _("Unknown living arrangement “%(value)s”.") % {"value": value})
        cleaned["living_arrangement"] = value

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
                    death = rules.parse_date(data.get("death_date"), today=today)
                except ValueError as exc:
                    fail("death_date", exc)
                else:
                    if death is None:
                        fail("death_date", _("Enter the date of death."))
                    elif birth and death < birth:
                        fail("death_date", _("The date of death is before the birth date."))
                    cleaned["death_date"] = death
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
