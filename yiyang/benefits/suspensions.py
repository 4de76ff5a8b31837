"""Pausing and resuming a programme's payments to one elder (停发 / 恢复发放), audited.

Months inside a suspension are not paid, then or later. A suspension or resumption
that reaches back into months already released opens a recheck, so the next run
recovers or adjusts them.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.core import audit
from yiyang.core.errors import PermissionDenied
from yiyang.core.models import AuditAction
from yiyang.people.models import Elder

from . import applications_rules as app_rules
from . import corrections
from .models import Programme, Suspension
from .rules import RuleError


def _check(acting_user, perm: str, elder: Elder) -> None:
    if not acting_user.has_perm(perm):
        raise PermissionDenied(_("You may not suspend or resume payments."))
    if not Elder.objects.for_user(acting_user).filter(pk=elder.pk).exists():
        raise PermissionDenied(_("This elder is outside your jurisdiction."))


def _recheck_if_past(elder: Elder, month: dt.date, reason: str, today: dt.date) -> None:
    if month <= today.replace(day=1):
        corrections.open_rechecks(elder, since=month, reason=reason)


@transaction.atomic
def suspend(elder: Elder, *, programme_code: str, from_month: dt.date, reason: str, acting_user,
            today: dt.date | None = None) -> Suspension:
    today = today or timezone.localdate()
    _check(acting_user, "benefits.add_suspension", elder)
    programme = Programme.objects.filter(code=programme_code).first()
    if programme is None:
        raise RuleError(_("there is no programme “%(code)s”") % {"code": programme_code})
    if not reason.strip():
        raise RuleError(_("say why the payments are suspended"))
    month = app_rules.first_of_month(from_month)
    if Suspension.objects.select_for_update().filter(programme=programme, elder=elder, until_month__isnull=True).exists():
        raise RuleError(_("payments of this programme are already suspended for this elder"))
    suspension = Suspension.objects.create(programme=programme, elder=elder, from_month=month,
                                           reason=reason.strip()[:300], created_by=acting_user)
    audit.record(AuditAction.CREATE, actor=acting_user, obj=suspension, area_code=elder.area_id,
                 after={"programme": programme.code, "from_month": month.isoformat(), "reason": suspension.reason})
    _recheck_if_past(elder, month, f"suspended {programme.code}", today)
    return suspension


@transaction.atomic
def resume(suspension: Suspension, *, from_month: dt.date, acting_user, today: dt.date | None = None) -> Suspension:
    """Pay again from ``from_month``: the suspension ends with the month before."""
    today = today or timezone.localdate()
    _check(acting_user, "benefits.change_suspension", suspension.elder)
    suspension = Suspension.objects.select_for_update().get(pk=suspension.pk)
    if suspension.until_month is not None:
        raise RuleError(_("this suspension has already ended"))
    month = app_rules.first_of_month(from_month)
    if month <= suspension.from_month:
        raise RuleError(_("payments resume after the month the suspension began (%(month)s)")
                        % {"month": f"{suspension.from_month:%Y-%m}"})
    suspension.until_month = app_rules.add_months(month, -1)
    suspension.save(update_fields=["until_month"])
    audit.record(AuditAction.UPDATE, actor=acting_user, obj=suspension, area_code=suspension.elder.area_id,
                 before={"until_month": None}, after={"until_month": suspension.until_month.isoformat()})
    _recheck_if_past(suspension.elder, month, f"resumed {suspension.programme.code}", today)
    return suspension
