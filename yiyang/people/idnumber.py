"""Resident ID numbers (GB 11643-1999): parsing, check digit, birth date and sex.

Pure functions; every rejection carries a message that tells the clerk what is wrong.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext as _

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


class InvalidIdNumber(ValueError):
    """The text is not a valid resident ID number; str() is the reason, for the user."""


@dataclass(frozen=True)
class IdNumber:
    number: str  # 18 characters, upper-case X
    birth_date: dt.date
    sex: str  # "M" or "F"
    converted_from_15: bool = False

    @property
    def last4(self) -> str:
        return self.number[-4:]


def normalize(text: str) -> str:
    """Full-width digits and letters to ASCII; spaces removed; x to X."""
    return unicodedata.normalize("NFKC", text or "").replace(" ", "").strip().upper()


def check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def _birth_date(digits: str) -> dt.date:
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise InvalidIdNumber(_("The birth date in the ID number (%(date)s) does not exist.") % {"date": digits}) from None


def parse(text: str, *, today: dt.date | None = None) -> IdNumber:
    """Validate and normalise an 18-digit (or legacy 15-digit) ID number."""
    today = today or dt.date.today()
    value = normalize(text)
    if not value:
        raise InvalidIdNumber(_("The ID number is empty."))
    converted = False
    if len(value) == 15:
        if not (value.isascii() and value.isdigit()):
            raise InvalidIdNumber(_("A 15-digit ID number contains digits only."))
        first17 = value[:6] + "19" + value[6:]
        value = first17 + check_char(first17)
        converted = True
    if len(value) != 18:
        raise InvalidIdNumber(_("An ID number has 18 characters (or 15 for old cards); this one has %(n)d.") % {"n": len(value)})
    if not (value.isascii() and value[:17].isdigit() and (value[17].isdigit() or value[17] == "X")):
        raise InvalidIdNumber(_("An ID number is 17 digits followed by a digit or X."))
    born = _birth_date(value[6:14])
    if born > today:
        raise InvalidIdNumber(_("The birth date in the ID number (%(date)s) is in the future.") % {"date": born.isoformat()})
    if born.year < 1890:
        raise InvalidIdNumber(_("The birth date in the ID number (%(date)s) is impossibly early.") % {"date": born.isoformat()})
    expected = check_char(value[:17])
    if value[17] != expected:
        raise InvalidIdNumber(_("The check character of the ID number is wrong: the number may have been mistyped."))
    sex = "M" if int(value[16]) % 2 == 1 else "F"
    return IdNumber(number=value, birth_date=born, sex=sex, converted_from_15=converted)


def age_on(birth_date: dt.date, day: dt.date) -> int:
    """Completed years (周岁) on ``day``."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))
