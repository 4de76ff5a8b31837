"""Defining a programme (any subsidy an official sets up): validated whole, saved whole, audited.

The tier table is checked at every date on which it changes, so a programme whose
tiers overlap or leave gaps at any time is refused before anything is saved (the
payroll checks again before it runs).
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from yiyang.areas.models import Area
from yiyang.core import audit
from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.core.models import AuditAction
from yiyang.core.scoping import code_in_scope
from yiyang.people.models import HardshipCategory

from . import rules
from .models import DocumentKind, Programme, Tier

TIER_FIELDS = ("label", "min_age", "max_age", "grade", "amount_fen", "effective_from", "effective_to")


def _tier_specs_on(tiers: list[dict], day: dt.date) -> list[rules.TierSpec]:
    return [rules.TierSpec(t["label"], t["min_age"], t.get("max_age"), t["amount_fen"], t.get("grade"))
            for t in tiers if t["effective_from"] <= day and (t.get("effective_to") is None or t["effective_to"] >= day)]


def check_tiers(tiers: list[dict], *, by_grade: bool) -> None:
    """Every tier table in force at some date is complete; raises RuleError naming the date."""
    if not tiers:
        raise rules.RuleError(_("a programme needs at least one tier"))
    for tier in tiers:
        if tier.get("effective_to") is not None and tier["effective_to"] < tier["effective_from"]:
            raise rules.RuleError(_("tier %(tier)s ends before it begins") % {"tier": tier["label"]})
    changes = sorted({t["effective_from"] for t in tiers}
                     | {t["effective_to"] + dt.timedelta(days=1) for t in tiers if t.get("effective_to")})
    first = min(t["effective_from"] for t in tiers)
    for day in changes:
        specs = _tier_specs_on(tiers, day)
        if not specs and day > first:
            continue  # the programme ended
        try:
            rules.check_tier_table(specs, by_grade=by_grade)
        except rules.RuleError as exc:
            raise rules.RuleError(_("from %(day)s: %(problem)s") % {"day": day.isoformat(), "problem": exc}) from None


@transaction.atomic
def define_programme(*, acting_user, code: str, name: str, kind: str, area_code: str, enrolment: str,
                     tiers: list[dict], payment_mode: str = Programme.PaymentMode.CASH,
                     tier_basis: str = Programme.TierBasis.AGE, hardship_categories: list[str] | None = None,
                     hukou_required: bool = False, publicity_days: int = 0, back_pay: bool = False,
                     required_documents: list[str] | None = None,
                     survival_certification_months: int | None = None) -> Programme:
    """Create a programme with its tiers, or nothing, with the reasons by field."""
    if not acting_user.has_perm("benefits.add_programme"):
        raise PermissionDenied(_("You may not define programmes."))
    errors: dict[str, list[str]] = {}
    area = Area.objects.filter(code=area_code).first()
    if area is None:
        errors["area_code"] = [_("Choose the area the programme applies in.")]
    elif not (acting_user.is_superuser or code_in_scope(area_code, acting_user.scope_code)):
        errors["area_code"] = [_("Area %(code)s is outside your jurisdiction.") % {"code": area_code}]
    if Programme.objects.filter(code=code).exists():
        errors["code"] = [_("A programme with this code exists already.")]
    for field, value, choices in (("kind", kind, Programme.Kind), ("enrolment", enrolment, Programme.Enrolment),
                                  ("payment_mode", payment_mode, Programme.PaymentMode),
                                  ("tier_basis", tier_basis, Programme.TierBasis)):
        if value not in choices.values:
            errors[field] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(choices.values)}]
    unknown = sorted(set(hardship_categories or ()) - set(HardshipCategory.values))
    if unknown:
        errors["hardship_categories"] = [_("Unknown hardship categories: %(names)s.") % {"names": ", ".join(unknown)}]
    unknown_docs = sorted(set(required_documents or ()) - set(DocumentKind.values))
    if unknown_docs:
        errors["required_documents"] = [_("Unknown document kinds: %(names)s.") % {"names": ", ".join(unknown_docs)}]
    if "tier_basis" not in errors:
        try:
            check_tiers(tiers, by_grade=tier_basis == Programme.TierBasis.GRADE)
        except rules.RuleError as exc:
            errors["tiers"] = [str(exc)]
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            programme = Programme.objects.create(
                code=code, name=name.strip()[:100], kind=kind, payment_mode=payment_mode, area=area,
                enrolment=enrolment, tier_basis=tier_basis, hardship_categories=list(hardship_categories or []),
                hukou_required=hukou_required, publicity_days=publicity_days, back_pay=back_pay,
                required_documents=list(required_documents or []),
                survival_certification_months=survival_certification_months)
            Tier.objects.bulk_create([Tier(programme=programme, **{f: t.get(f) for f in TIER_FIELDS}) for t in tiers])
    except IntegrityError:
        raise ValidationError({"tiers": [_("Two tiers start on the same day at the same age or grade.")]}) from None
    audit.record(AuditAction.CREATE, actor=acting_user, obj=programme, area_code=area.code,
                 after={"code": code, "kind": kind, "tier_basis": tier_basis, "tiers": len(tiers)})
    return programme
