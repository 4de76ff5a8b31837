"""Registry rules as pure functions: phone numbers, ages, dates typed by clerks."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from django.utils.translation import gettext as _

from .idnumber import age_on

MIN_AGE = 60
ADVANCED_AGE = 80

_MOBILE = re.compile(r"^1[3-9]\d{9}$", re.ASCII)
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$", re.ASCII)


def normalize_phone(text: str) -> str:
    """Return a normalised phone number, or raise ValueError with the reason."""
    value = unicodedata.normalize("NFKC", text or "").strip().replace(" ", "").replace("－", "-")
    if value.startswith("+86"):
        value = value[3:]
    if not value:
        return ""
    if _MOBILE.match(value.replace("-", "")):
        return value.replace("-", "")
    if _LANDLINE.match(value):
        return value
    raise ValueError(_("“%(value)s” is not a mobile (11 digits starting with 1) or landline (area code + number) phone number.") % {"value": value})


def check_registration_age(birth_date: dt.date, today: dt.date) -> None:
    age = age_on(birth_date, today)
    if age < MIN_AGE:
        raise ValueError(_("The registry is for residents aged %(min)d and over; this person is %(age)d.") % {"min": MIN_AGE, "age": age})


_DATE_PATTERNS = [
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]


def parse_date(value, *, today: dt.date | None = None) -> dt.date | None:
    """Read a date the way clerks write it; raise ValueError with the reason.

    Accepts date objects, 1945-03-12, 1945/3/12, 1945.3.12, 1945年3月12日, 19450312,
    full-width digits too. Refuses partial dates such as 1945年3月 and future dates.
    """
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    else:
        text = unicodedata.normalize("NFKC", str(value)).strip().replace(" ", "")
        if not text:
            return None
        for pattern in _DATE_PATTERNS:
            match = pattern.match(text)
            if match:
                try:
                    day = dt.date(*(int(g) for g in match.groups()))
                except ValueError:
                    raise ValueError(_("“%(value)s” is not a real date.") % {"value": text}) from None
                break
        else:
            if re.match(r"^\d{4}(年|-|/|\.)\d{1,2}月?$", text):
                raise ValueError(_("“%(value)s” has no day: write the full date, e.g. 1945-03-12.") % {"value": text})
            raise ValueError(_("“%(value)s” is not a date: write it as 1945-03-12.") % {"value": text})
    if today and day > today:
        raise ValueError(_("The date %(value)s is in the future.") % {"value": day.isoformat()})
    return day
