"""Application rules as pure functions: the review state machine, eligibility, months, documents.

The review chain is village → township → county; a city official acts at the
county stage. The applicant (the elder or family through the portal, or an
official on their behalf) may resubmit a returned application or withdraw an
open one. Payment starts the month after the public notice (公示) ends, never
before the month asked for; late approvals may be back-paid for the months
between.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yiyang.people.idnumber import age_on

from .rules import TierSpec, last_day, tier_for_age


class Status(models.TextChoices):
    SUBMITTED = "submitted", gettext_lazy("submitted, awaiting the village")
    VILLAGE_APPROVED = "village_approved", gettext_lazy("approved by the village, awaiting the township")
    TOWNSHIP_APPROVED = "township_approved", gettext_lazy("approved by the township, awaiting the county")
    APPROVED = "approved", gettext_lazy("approved")
    RETURNED = "returned", gettext_lazy("returned to the applicant")
    REJECTED = "rejected", gettext_lazy("rejected")
    WITHDRAWN = "withdrawn", gettext_lazy("withdrawn")


class Action(models.TextChoices):
    SUBMIT = "submit", gettext_lazy("submit")
    APPROVE = "approve", gettext_lazy("approve")
    RETURN = "return", gettext_lazy("return")
    REJECT = "reject", gettext_lazy("reject")
    RESUBMIT = "resubmit", gettext_lazy("resubmit")
    WITHDRAW = "withdraw", gettext_lazy("withdraw")


class Level(models.TextChoices):
    APPLICANT = "applicant", gettext_lazy("applicant")
    VILLAGE = "village", gettext_lazy("village")
    TOWNSHIP = "township", gettext_lazy("township")
    COUNTY = "county", gettext_lazy("county")


OPEN_STATUSES = frozenset({Status.SUBMITTED, Status.VILLAGE_APPROVED, Status.TOWNSHIP_APPROVED, Status.RETURNED})
REVIEW_ACTIONS = frozenset({Action.APPROVE, Action.RETURN, Action.REJECT})
REASON_REQUIRED = frozenset({Action.RETURN, Action.REJECT})

# The stage each review status waits for, and where approval leads.
STAGES: dict[str, tuple[str, str]] = {
    Status.SUBMITTED: (Level.VILLAGE, Status.VILLAGE_APPROVED),
    Status.VILLAGE_APPROVED: (Level.TOWNSHIP, Status.TOWNSHIP_APPROVED),
    Status.TOWNSHIP_APPROVED: (Level.COUNTY, Status.APPROVED),
}

TRANSITIONS: dict[tuple[str, str, str], str] = {}
for _status, (_level, _approved) in STAGES.items():
    TRANSITIONS[(_status, Action.APPROVE, _level)] = _approved
    TRANSITIONS[(_status, Action.RETURN, _level)] = Status.RETURNED
    TRANSITIONS[(_status, Action.REJECT, _level)] = Status.REJECTED
TRANSITIONS[(Status.RETURNED, Action.RESUBMIT, Level.APPLICANT)] = Status.SUBMITTED
for _status in OPEN_STATUSES:
    TRANSITIONS[(_status, Action.WITHDRAW, Level.APPLICANT)] = Status.WITHDRAWN

# Role → the review level it acts at (city officials act as the county).
ROLE_LEVELS = {
    "village_official": Level.VILLAGE,
    "township_official": Level.TOWNSHIP,
    "county_official": Level.COUNTY,
    "city_official": Level.COUNTY,
}


def next_status(status: str, action: str, level: str) -> str:
    """The status after ``action`` taken at ``level``; a ValidationError on ``status`` saying why not."""
    try:
        return TRANSITIONS[(status, action, level)]
    except KeyError:
        pass
    if action in REVIEW_ACTIONS and status in STAGES:
        raise ValidationError({"status": [_("This stage is reviewed at the %(stage)s level, not the %(level)s level.") % {
            "stage": Level(STAGES[status][0]).label, "level": Level(level).label}]})
    raise ValidationError({"status": [_("Cannot %(action)s an application that is %(status)s.") % {
        "action": Action(action).label, "status": Status(status).label}]})


def check_reason(action: str, reason: str) -> None:
    if action in REASON_REQUIRED and not (reason or "").strip():
        raise ValidationError({"reason": [_("Give a reason when you %(action)s an application.") % {
            "action": Action(action).label}]})


def check_eligibility(*, status: str, death_date: dt.date | None, area_code: str, hukou_area_code: str,
                      birth_date: dt.date, programme_area: str, hukou_required: bool, start_month: dt.date,
                      tiers: Sequence[TierSpec]) -> None:
    """Refuse an application the programme could never pay; errors name the field."""
    if status == "deceased" or death_date is not None:
        raise ValidationError({"elder": [_("The elder is recorded as deceased.")]})
    if status == "moved_away":
        raise ValidationError({"elder": [_("The elder has moved away.")]})
    if not area_code.startswith(programme_area):
        raise ValidationError({"elder": [_("The elder lives outside the programme's area.")]})
    if hukou_required and not (hukou_area_code or "").startswith(programme_area):
        raise ValidationError({"elder": [_("The programme requires a local household registration (hukou).")]})
    if not tiers:
        raise ValidationError({"requested_start_month": [_("The programme pays nothing in %(month)s.") % {
            "month": f"{start_month:%Y-%m}"}]})
    age = age_on(birth_date, last_day(start_month))
    if tier_for_age(tiers, age) is None:
        raise ValidationError({"requested_start_month": [_("At %(age)d the elder is in no tier of the programme in %(month)s.") % {
            "age": age, "month": f"{start_month:%Y-%m}"}]})


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def day_reaching_age(birth_date: dt.date, age: int) -> dt.date:
    """The day a completed age is reached (a 29 February birthday counts on 1 March in common years)."""
    try:
        return birth_date.replace(year=birth_date.year + age)
    except ValueError:
        return dt.date(birth_date.year + age, 3, 1)


def publicity_end(approved_on: dt.date, publicity_days: int) -> dt.date:
    return approved_on + dt.timedelta(days=publicity_days)


def payment_start_month(requested: dt.date, publicity_ends: dt.date) -> dt.date:
    """Payment starts the month after the notice ends, never before the month asked for."""
    return max(first_of_month(requested), add_months(first_of_month(publicity_ends), 1))


def back_pay_months(requested: dt.date, start_month: dt.date, *, back_pay: bool) -> list[dt.date]:
    """The months between the month asked for and the first paid month, when the programme back-pays."""
    months, month = [], first_of_month(requested)
    while back_pay and month < start_month:
        months.append(month)
        month = add_months(month, 1)
    return months


# --- documents ------------------------------------------------------------------------------

_SIGNATURES = (
    (b"%PDF-", "pdf", "application/pdf"),
    (b"\xff\xd8\xff", "jpg", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
)


def sniff_type(head: bytes) -> tuple[str, str] | None:
    """(extension, MIME type) from the file's first bytes; the name and the declared type are not trusted."""
    for magic, extension, mime in _SIGNATURES:
        if head.startswith(magic):
            return extension, mime
    return None


def check_document(*, size: int, head: bytes, max_bytes: int) -> tuple[str, str]:
    if size <= 0:
        raise ValidationError({"file": [_("The file is empty.")]})
    if size > max_bytes:
        raise ValidationError({"file": [_("The file is %(size)s bytes; at most %(max)s bytes are accepted.") % {
            "size": size, "max": max_bytes}]})
    detected = sniff_type(head)
    if detected is None:
        raise ValidationError({"file": [_("Only PDF, JPEG and PNG files are accepted.")]})
    return detected


def missing_kinds(required: Sequence[str], present: Sequence[str]) -> list[str]:
    return [kind for kind in required if kind not in set(present)]
