"""The assessment workflow. Each operation is one transaction, checks the actor's permission
and jurisdiction, and writes the audit log (never the answers themselves).

Request → assign assessors → record (drafts) → sign → submit → review → result
valid for the area's period; the elder may ask for a 复核 within the window;
expiring results and events (hospital discharge, fall alarm) lead to
re-assessments. Other apps read results only through :func:`current_result`
and :func:`history`, never the tables.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.accounts.models import User
from yiyang.accounts.roles import Role
from yiyang.areas.models import Area
from yiyang.core import audit
from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.core.models import AuditAction
from yiyang.core.scoping import code_in_scope
from yiyang.organizations.models import Organization, OrganizationKind
from yiyang.people.models import Contact, Elder, ElderAccess, ElderStatus, LivingArrangement
from yiyang.people.signals import eligibility_changed

from . import rules
from .instruments import CURRENT, INSTRUMENTS
from .models import (
    EVENT_REASONS,
    Assessment,
    AssessmentPolicy,
    Assessor,
    Assignment,
    ConflictDeclaration,
    Reason,
    RequesterKind,
    Signature,
    SignerRole,
    covering_codes,
)
from .rules import OPEN_STATUSES, Action, Status

PERM_REQUEST = "assessments.add_assessment"
PERM_ASSIGN = "assessments.assign_assessment"
PERM_RECORD = "assessments.record_assessment"
PERM_REVIEW = "assessments.review_assessment"
PERM_QUALIFY = "assessments.change_assessor"
PERM_SETTINGS = "assessments.change_assessmentpolicy"

EMPTY_FORM = {"items": {}, "coma": False, "dementia": False, "risk_events_30d": 0}
MAX_SIGNATURE_IMAGE = 200_000  # characters of data URL
AUDITED_FIELDS = ["status", "reason", "instrument", "total", "grade", "valid_from", "valid_until", "review_request_until"]


# --- results: the one way other apps read assessments ----------------------------------


@dataclass(frozen=True)
class AssessmentResult:
    assessment_id: int
    instrument: str
    grade: int
    grade_name: str
    total: int | None  # None for MZ/T 039-2013
    valid_from: dt.date
    valid_until: dt.date


@dataclass(frozen=True)
class HistoryEntry(AssessmentResult):
    reason: str
    grade_change: int | None  # against the previous result: positive is worse; None for the first


def _result(assessment: Assessment) -> AssessmentResult:
    return AssessmentResult(
        assessment_id=assessment.pk, instrument=assessment.instrument, grade=assessment.grade,
        grade_name=INSTRUMENTS[assessment.instrument].grade_names[assessment.grade], total=assessment.total,
        valid_from=assessment.valid_from, valid_until=assessment.valid_until)


def current_result(elder: Elder, on: dt.date | None = None) -> AssessmentResult | None:
    """The latest approved result valid on ``on`` (today by default), or None.

    Benefits, admissions and service plans call this, with an elder they have
    already read through ``for_user``.
    """
    on = on or timezone.localdate()
    latest = (Assessment.objects.filter(elder_id=elder.pk, status=Status.APPROVED, valid_from__lte=on,
                                        valid_until__gte=on)
              .order_by("-valid_from", "-reviewed_at", "-id").first())
    return _result(latest) if latest else None


def current_grade_sql(elder_id_column: str) -> str:
    """The bulk form of :func:`current_result`: a scalar SQL subquery giving the grade valid on a day.

    For set-based readers (the monthly payroll) that cannot call the function per
    elder. The caller passes the day twice as parameters, in this order: valid_from
    on or before it, valid_until on or after it. Same choice as ``current_result``.
    """
    table = Assessment._meta.db_table
    return (f"(SELECT a.grade FROM {table} a WHERE a.elder_id = {elder_id_column} AND a.status = '{Status.APPROVED}'"
            f" AND a.valid_from <= %s AND a.valid_until >= %s"
            f" ORDER BY a.valid_from DESC, a.reviewed_at DESC, a.id DESC LIMIT 1)")


def history(elder: Elder) -> list[HistoryEntry]:
    """Every approved result of the elder, oldest first, with the change of grade each brought."""
    entries, previous = [], None
    for assessment in Assessment.objects.filter(elder_id=elder.pk, status=Status.APPROVED).order_by(
            "valid_from", "reviewed_at", "id"):
        base = _result(assessment)
        change = None if previous is None else assessment.grade - previous
        entries.append(HistoryEntry(**asdict(base), reason=assessment.reason, grade_change=change))
        previous = assessment.grade
    return entries


@dataclass(frozen=True)
class DueReassessment:
    elder_id: int
    elder_name: str
    area_code: str
    assessment_id: int
    grade: int
    valid_until: dt.date
    days_left: int  # negative once the result has expired


def due_reassessments(on: dt.date, within_days: int | None = None, *, user=None) -> list[DueReassessment]:
    """Living elders whose latest result expires within ``within_days`` of ``on`` (or already has)
    and who have no open assessment. Without ``within_days`` each area's policy decides; with
    ``user``, only elders in their jurisdiction."""
    elders = Elder.objects.for_user(user) if user is not None else Elder.objects.all()
    newer = Assessment.objects.filter(elder=OuterRef("elder"), status=Status.APPROVED).filter(
        Q(valid_from__gt=OuterRef("valid_from")) | Q(valid_from=OuterRef("valid_from"), pk__gt=OuterRef("pk")))
    still_open = Assessment.objects.filter(elder=OuterRef("elder"), status__in=OPEN_STATUSES)
    horizon = within_days if within_days is not None else max(
        rules.DEFAULT_POLICY.reminder_days_before_expiry,
        AssessmentPolicy.objects.aggregate(days=Max("reminder_days_before_expiry"))["days"] or 0)
    latest = (Assessment.objects.filter(status=Status.APPROVED, valid_until__lte=on + dt.timedelta(days=horizon),
                                        elder__in=elders.filter(status=ElderStatus.ALIVE))
              .exclude(Exists(newer)).exclude(Exists(still_open))
              .select_related("elder").order_by("valid_until", "id"))
    due, windows = [], {}
    for assessment in latest:
        area = assessment.elder.area_id
        if within_days is None and area not in windows:
            windows[area] = policy_for(area, on).reminder_days_before_expiry
        days_left = (assessment.valid_until - on).days
        if days_left <= (within_days if within_days is not None else windows[area]):
            due.append(DueReassessment(elder_id=assessment.elder_id, elder_name=assessment.elder.name, area_code=area,
                                       assessment_id=assessment.pk, grade=assessment.grade,
                                       valid_until=assessment.valid_until, days_left=days_left))
    return due


def policy_for(area_code: str, on: dt.date) -> rules.Policy:
    """The settings in force for a village on a day: the most specific area, then the latest start."""
    rows = AssessmentPolicy.objects.filter(area_id__in=covering_codes(area_code), effective_from__lte=on).filter(
        Q(effective_to__isnull=True) | Q(effective_to__gte=on))
    row = max(rows, key=lambda r: (len(r.area_id), r.effective_from), default=None)
    if row is None:
        return rules.DEFAULT_POLICY
    return rules.Policy(assessors_required=row.assessors_required, validity_months=row.validity_months,
                        review_request_days=row.review_request_days,
                        reminder_days_before_expiry=row.reminder_days_before_expiry)


@transaction.atomic
def set_policy(area_code: str, *, acting_user, effective_from: dt.date, assessors_required: int = 2,
               validity_months: int = 12, review_request_days: int = 15,
               reminder_days_before_expiry: int = 30) -> AssessmentPolicy:
    """Set an area's assessment settings from a date; the area's open-ended settings end the day before."""
    _require(acting_user, PERM_SETTINGS)
    if not (acting_user.is_superuser or code_in_scope(area_code, acting_user.scope_code)):
        raise PermissionDenied(_("This area is outside your jurisdiction."))
    if not Area.objects.filter(code=area_code).exists():
        raise ValidationError({"area_code": [_("Choose an area.")]})
    values = {"assessors_required": assessors_required, "validity_months": validity_months,
              "review_request_days": review_request_days, "reminder_days_before_expiry": reminder_days_before_expiry}
    errors = {name: [_("Must be at least %(n)d.") % {"n": low}]
              for name, low in (("assessors_required", 1), ("validity_months", 1), ("review_request_days", 0),
                                ("reminder_days_before_expiry", 0))
              if isinstance(values[name], bool) or not isinstance(values[name], int) or values[name] < low}
    if errors:
        raise ValidationError(errors)
    AssessmentPolicy.objects.filter(area_id=area_code, effective_to__isnull=True, effective_from__lt=effective_from
                                    ).update(effective_to=effective_from - dt.timedelta(days=1))
    policy, created = AssessmentPolicy.objects.update_or_create(area_id=area_code, effective_from=effective_from,
                                                                defaults=values)
    audit.record(AuditAction.CREATE if created else AuditAction.UPDATE, actor=acting_user, obj=policy,
                 area_code=area_code, after={"effective_from": effective_from.isoformat(), **values})
    return policy


# --- access -----------------------------------------------------------------------------


def _require(user, perm: str) -> None:
    if user is None or not user.has_perm(perm):
        raise PermissionDenied(_("You do not have permission to do this."))


def access_assessment_by_id(user, assessment_id, *, lock: bool = False) -> Assessment:
    """The assessment if ``user`` may see it (404 otherwise); ``lock`` holds its row until commit."""
    rows = Assessment.objects.for_user(user).select_related("elder")
    if lock:
        rows = rows.select_for_update(of=("self",))
    assessment = rows.filter(pk=assessment_id).first()
    if assessment is None:
        raise Http404(_("No such assessment in your jurisdiction."))
    return assessment


def _access_elder(user, elder_id) -> Elder:
    """The elder, row-locked so that two requests for one elder queue up (404 outside scope)."""
    rows = Elder.objects.select_for_update() if user is None else Elder.objects.for_user(user).select_for_update()
    elder = rows.filter(pk=elder_id).first()
    if elder is None:
        raise Http404(_("No such elder in your jurisdiction."))
    return elder


def _access_as_assessor(user, assessment: Assessment) -> Assessment:
    _require(user, PERM_RECORD)
    assessment = access_assessment_by_id(user, assessment.pk, lock=True)
    if not assessment.assignments.filter(assessor__user=user).exists():
        raise PermissionDenied(_("Only the assigned assessors can record this assessment."))
    return assessment


def _actor(user):
    return user if user is not None and user.is_authenticated else None


def _snapshot(assessment: Assessment) -> dict:
    return audit.snapshot(assessment, AUDITED_FIELDS)


def _audit(action: str, assessment: Assessment, user, *, before=None, after=None, note: str = "") -> None:
    audit.record(action, actor=user, obj=assessment, area_code=assessment.elder.area_id, before=before, after=after,
                 note=note)


# --- qualification and conflicts ----------------------------------------------------------


@transaction.atomic
def qualify_assessor(user: User, *, acting_user, organization: Organization, certificate_no: str,
                     valid_from: dt.date, valid_until: dt.date, is_active: bool = True) -> Assessor:
    """Record (or renew, or withdraw) an assessor's qualification with an agency or institution."""
    _require(acting_user, PERM_QUALIFY)
    if not User.objects.for_user(acting_user).filter(pk=user.pk, role=Role.ASSESSOR).exists():
        raise ValidationError({"user": [_("Choose an assessor account in your jurisdiction.")]})
    if (organization.kind not in (OrganizationKind.ASSESSMENT_AGENCY, OrganizationKind.INSTITUTION)
            or not Organization.objects.for_user(acting_user).filter(pk=organization.pk).exists()):
        raise ValidationError({"organization": [_("Choose an assessment agency or an institution in your jurisdiction.")]})
    if not certificate_no.strip():
        raise ValidationError({"certificate_no": [_("Enter the certificate number.")]})
    if valid_until < valid_from:
        raise ValidationError({"valid_until": [_("The end date must be on or after the start date.")]})
    values = {"organization": organization, "certificate_no": certificate_no.strip(), "valid_from": valid_from,
              "valid_until": valid_until, "is_active": is_active}
    assessor, created = Assessor.objects.update_or_create(user=user, defaults=values)
    after = audit.snapshot(assessor, list(values))
    audit.record(AuditAction.CREATE if created else AuditAction.UPDATE, actor=acting_user, obj=assessor,
                 area_code=user.scope_area_id or "", after=after)
    return assessor


def conflict_of_interest(assessor: Assessor, elder: Elder) -> str | None:
    """Why ``assessor`` is too close to ``elder`` to assess them, or None.

    Family: the assessor's account is linked to the elder (ElderAccess). Employer:
    the assessor works for an institution in the elder's village and the elder
    lives in an institution (no residency record exists yet, so this stands in
    for "the elder's institution"). Or the assessor declared a conflict.
    """
    names = {"name": str(assessor)}
    if ElderAccess.objects.filter(user_id=assessor.user_id, elder_id=elder.pk).exists():
        return _("%(name)s is linked to the elder as family.") % names
    organization = assessor.organization
    if (organization.kind == OrganizationKind.INSTITUTION and elder.living_arrangement == LivingArrangement.INSTITUTION
            and organization.area_id == elder.area_id):
        return _("%(name)s works for the institution the elder lives in.") % names
    if ConflictDeclaration.objects.filter(assessor=assessor, elder_id=elder.pk).exists():
        return _("%(name)s declared a conflict of interest.") % names
    return None


def _unfit(assessor: Assessor, elder: Elder, day: dt.date) -> str | None:
    """Why ``assessor`` may not assess ``elder`` on ``day``, or None."""
    names = {"name": str(assessor), "day": day.isoformat()}
    if not (assessor.is_active and assessor.user.is_active and assessor.user.role == Role.ASSESSOR):
        return _("%(name)s is not an active assessor.") % names
    if not assessor.valid_from <= day <= assessor.valid_until:
        return _("%(name)s has no certificate valid on %(day)s.") % names
    if assessor.user.scope_area_id not in covering_codes(elder.area_id):
        return _("%(name)s does not work in the elder's area.") % names
    return conflict_of_interest(assessor, elder)


def _earlier_assessors(assessment: Assessment) -> set[int]:
    """A 复核 is done by others than those who assessed the result under review."""
    if assessment.review_of_id is None:
        return set()
    return set(Assignment.objects.filter(assessment_id=assessment.review_of_id).values_list("assessor_id", flat=True))


def eligible_assessors(assessment: Assessment, *, user, on: dt.date | None = None) -> list[Assessor]:
    """The assessors that could be assigned to ``assessment`` on ``on`` (for the assigning official)."""
    _require(user, PERM_ASSIGN)
    on = on or timezone.localdate()
    earlier = _earlier_assessors(assessment)
    pool = (Assessor.objects.qualified_on(on).covering(assessment.elder.area_id)
            .select_related("user", "organization").exclude(pk__in=earlier))
    return [a for a in pool if _unfit(a, assessment.elder, on) is None]


@transaction.atomic
def declare_conflict(elder: Elder, *, acting_user, reason: str) -> ConflictDeclaration:
    """An assessor states a conflict of interest with an elder; they are not assigned to them again."""
    _require(acting_user, PERM_RECORD)
    assessor = Assessor.objects.filter(user_id=acting_user.pk).first()
    if assessor is None:
        raise PermissionDenied(_("Only assessors can declare a conflict of interest."))
    elder = _access_elder(acting_user, elder.pk)
    if not reason.strip():
        raise ValidationError({"reason": [_("Say what the conflict is.")]})
    declaration, created = ConflictDeclaration.objects.get_or_create(assessor=assessor, elder=elder,
                                                                     defaults={"reason": reason.strip()[:300]})
    if created:
        audit.record(AuditAction.CREATE, actor=acting_user, obj=declaration, area_code=elder.area_id,
                     after={"assessor": assessor.pk, "elder": elder.pk, "reason": declaration.reason})
    return declaration


# --- request --------------------------------------------------------------------------------


def _requester_kind(user, elder: Elder, asked: str | None) -> str:
    """Portal accounts are the elder or family by their link; officials say on whose behalf they ask."""
    if user.scope_kind == "self":
        link = ElderAccess.objects.filter(user=user, elder=elder).first()
        return RequesterKind.ELDER if link is not None and link.relation == "self" else RequesterKind.FAMILY
    if not asked:
        return RequesterKind.OFFICIAL
    if asked not in (RequesterKind.ELDER, RequesterKind.FAMILY, RequesterKind.OFFICIAL, RequesterKind.INSTITUTION):
        raise ValidationError({"requester_kind": [_("Choose who asks: the elder, family, an official or an institution.")]})
    return asked


def _open(elder: Elder, *, reason: str, requester_kind: str, acting_user, today: dt.date, note: str = "",
          review_of: Assessment | None = None) -> Assessment:
    if elder.status != ElderStatus.ALIVE:
        raise ValidationError({"elder": [_("Only living elders registered here can be assessed.")]})
    if Assessment.objects.filter(elder=elder, status__in=OPEN_STATUSES).exists():
        raise ValidationError({"elder": [_("This elder already has an open assessment.")]})
    assessment = Assessment.objects.create(
        elder=elder, instrument=CURRENT.code, reason=reason, requester_kind=requester_kind,
        requested_by=_actor(acting_user), note=note.strip()[:300], review_of=review_of,
        assessors_required=policy_for(elder.area_id, today).assessors_required)
    _audit(AuditAction.CREATE, assessment, acting_user, after=_snapshot(assessment))
    return assessment


@transaction.atomic
def request_assessment(elder: Elder, *, acting_user, reason: str = Reason.FIRST, requester_kind: str | None = None,
                       note: str = "", today: dt.date | None = None) -> Assessment:
    """Ask for an assessment with the current instrument (GB/T 42195-2022)."""
    _require(acting_user, PERM_REQUEST)
    if reason not in (Reason.FIRST, Reason.PERIODIC, *EVENT_REASONS):
        raise ValidationError({"reason": [_("Choose why the assessment is needed.")]})
    elder = _access_elder(acting_user, elder.pk)
    return _open(elder, reason=reason, requester_kind=_requester_kind(acting_user, elder, requester_kind),
                 acting_user=acting_user, note=note, today=today or timezone.localdate())


@transaction.atomic
def request_event_reassessment(elder: Elder, event: str, *, acting_user, today: dt.date | None = None) -> Assessment:
    """An event (hospital discharge, fall alarm) asks for a re-assessment.

    Idempotent: while the elder has an open assessment, that one is returned.
    ``acting_user`` None is the platform itself (e.g. the alarms listener).
    """
    if event not in EVENT_REASONS:
        raise ValidationError({"event": [_("Choose the event: hospital discharge, fall alarm or other.")]})
    if acting_user is not None:
        _require(acting_user, PERM_REQUEST)
    elder = _access_elder(acting_user, elder.pk)
    existing = Assessment.objects.filter(elder=elder, status__in=OPEN_STATUSES).first()
    if existing is not None:
        return existing
    kind = RequesterKind.SYSTEM if acting_user is None else _requester_kind(acting_user, elder, None)
    return _open(elder, reason=event, requester_kind=kind, acting_user=acting_user,
                 today=today or timezone.localdate())


@transaction.atomic
def request_review(assessment: Assessment, *, acting_user, note: str = "", requester_kind: str | None = None,
                   today: dt.date | None = None) -> Assessment:
    """Ask for a 复核 of an approved result within the window; others than the first assessors re-assess."""
    _require(acting_user, PERM_REQUEST)
    today = today or timezone.localdate()
    original = access_assessment_by_id(acting_user, assessment.pk, lock=True)
    if original.status != Status.APPROVED or original.review_request_until is None:
        raise ValidationError({"status": [_("Only an approved result of the workflow can be re-assessed on request; "
                                            "a re-assessment's result is final.")]})
    if today > original.review_request_until:
        raise ValidationError({"status": [_("Re-assessment could be asked for until %(day)s.") % {
            "day": original.review_request_until.isoformat()}]})
    if original.reviews.exclude(status=Status.CANCELLED).exists():
        raise ValidationError({"status": [_("A re-assessment of this result has already been asked for.")]})
    elder = _access_elder(acting_user, original.elder_id)
    return _open(elder, reason=Reason.REVIEW, requester_kind=_requester_kind(acting_user, elder, requester_kind),
                 acting_user=acting_user, note=note, review_of=original, today=today)


@transaction.atomic
def cancel_assessment(assessment: Assessment, *, acting_user, reason: str) -> Assessment:
    """Withdraw an open assessment: an assigning official, or the requester while nobody is assigned yet."""
    assessment = access_assessment_by_id(acting_user, assessment.pk, lock=True)
    own_request = assessment.requested_by_id == acting_user.pk and assessment.status == Status.REQUESTED
    if not (acting_user.has_perm(PERM_ASSIGN) or own_request):
        raise PermissionDenied(_("You do not have permission to do this."))
    new_status = rules.next_status(assessment.status, Action.CANCEL)
    if not reason.strip():
        raise ValidationError({"reason": [_("Say why the assessment is cancelled.")]})
    before = _snapshot(assessment)
    assessment.status, assessment.cancel_reason = new_status, reason.strip()[:300]
    assessment.save(update_fields=["status", "cancel_reason", "updated_at"])
    _audit(AuditAction.UPDATE, assessment, acting_user, before=before, after=_snapshot(assessment),
           note=assessment.cancel_reason)
    return assessment


# --- assignment -------------------------------------------------------------------------------


@transaction.atomic
def assign_assessors(assessment: Assessment, *, assessors: Sequence[Assessor], acting_user,
                     today: dt.date | None = None) -> Assessment:
    """Assign exactly the required number of distinct, qualified assessors without a conflict of interest.

    Until the first answers are saved, calling again replaces the assessors.
    """
    _require(acting_user, PERM_ASSIGN)
    assessment = access_assessment_by_id(acting_user, assessment.pk, lock=True)
    new_status = rules.next_status(assessment.status, Action.ASSIGN)
    today = today or timezone.localdate()
    ids = [a.pk for a in assessors]
    errors = []
    if len(set(ids)) != len(ids):
        errors.append(_("The same assessor is listed twice."))
    if len(set(ids)) != assessment.assessors_required:
        errors.append(_("Assign exactly %(n)d assessors.") % {"n": assessment.assessors_required})
    chosen = list(Assessor.objects.select_related("user", "organization").filter(pk__in=ids).order_by("pk"))
    earlier = _earlier_assessors(assessment)
    for assessor in chosen:
        problem = _unfit(assessor, assessment.elder, today)
        if problem is None and assessor.pk in earlier:
            problem = _("%(name)s assessed the result under re-assessment.") % {"name": str(assessor)}
        if problem:
            errors.append(problem)
    if errors:
        raise ValidationError({"assessors": errors})
    before = {"status": assessment.status,
              "assessors": sorted(assessment.assignments.values_list("assessor_id", flat=True))}
    assessment.assignments.all().delete()
    Assignment.objects.bulk_create(Assignment(assessment=assessment, assessor=a, assigned_by=acting_user) for a in chosen)
    assessment.status = new_status
    assessment.save(update_fields=["status", "updated_at"])
    _audit(AuditAction.UPDATE, assessment, acting_user, before=before,
           after={"status": new_status, "assessors": sorted(ids)})
    return assessment


# --- recording --------------------------------------------------------------------------------


def read_form(assessment: Assessment) -> dict:
    """The recorded form (decrypted): items, coma, dementia, risk_events_30d."""
    return {**EMPTY_FORM, **json.loads(assessment.answers)} if assessment.answers else dict(EMPTY_FORM)


def reveal_form(assessment: Assessment, *, acting_user) -> dict:
    """The answers, for an assigned assessor resuming a draft or a reviewer; audited as a reveal of health data."""
    assessment = access_assessment_by_id(acting_user, assessment.pk)
    assigned = assessment.assignments.filter(assessor__user_id=acting_user.pk).exists()
    if not ((assigned and acting_user.has_perm(PERM_RECORD)) or acting_user.has_perm(PERM_REVIEW)):
        raise PermissionDenied(_("You do not have permission to do this."))
    audit.record(AuditAction.REVEAL, actor=acting_user, obj=assessment, area_code=assessment.elder.area_id,
                 note="answers")
    return read_form(assessment)


@transaction.atomic
def save_draft(assessment: Assessment, *, acting_user, items: Mapping[str, int | None] | None = None,
               coma: bool | None = None, dementia: bool | None = None, risk_events_30d: int | None = None) -> Assessment:
    """Save the form as it stands, complete or not, to resume later (on another tablet too).

    Items given replace the stored ones (None clears one); conditions left None
    stay. Saving reopens the form: signatures already given are withdrawn, since
    they attested to other answers.
    """
    assessment = _access_as_assessor(acting_user, assessment)
    new_status = rules.next_status(assessment.status, Action.SAVE_DRAFT)
    form = read_form(assessment)
    before = {"status": assessment.status, "items_recorded": len(form["items"])}
    merged = {**form["items"], **(items or {})}
    form["items"] = rules.validate_items(INSTRUMENTS[assessment.instrument],
                                         {k: v for k, v in merged.items() if v is not None}, complete=False)
    for name, value in (("coma", coma), ("dementia", dementia), ("risk_events_30d", risk_events_30d)):
        if value is not None:
            form[name] = value
    rules.validate_conditions(coma=form["coma"], dementia=form["dementia"], risk_events_30d=form["risk_events_30d"])
    withdrawn, _by_type = assessment.signatures.all().delete()
    assessment.answers = json.dumps(form, sort_keys=True)
    assessment.status = new_status
    assessment.save(update_fields=["answers", "status", "updated_at"])
    _audit(AuditAction.UPDATE, assessment, acting_user, before=before,
           after={"status": new_status, "items_recorded": len(form["items"]), "signatures_withdrawn": withdrawn})
    return assessment


def _score(assessment: Assessment) -> rules.Score:
    """Score the complete form; :class:`rules.ScoringError` names every missing or bad item."""
    form = read_form(assessment)
    return rules.score(form["items"], instrument=assessment.instrument, coma=form["coma"], dementia=form["dementia"],
                       risk_events_30d=form["risk_events_30d"])


@transaction.atomic
def sign(assessment: Assessment, *, acting_user, signed_as: str, contact: Contact | None = None,
         image: str = "") -> Signature:
    """Sign the completed form: an assigned assessor for themselves, or the elder or a guardian
    on the assessor's tablet. ``image`` is an optional data URL of the handwritten signature."""
    assessment = _access_as_assessor(acting_user, assessment)
    rules.next_status(assessment.status, Action.SIGN)
    _score(assessment)
    if image and (not image.startswith("data:image/") or len(image) > MAX_SIGNATURE_IMAGE):
        raise ValidationError({"image": [_("Give the signature as an image data URL under 200 KB.")]})
    elder = assessment.elder
    if signed_as == SignerRole.ASSESSOR:
        assessor = Assessor.objects.get(user_id=acting_user.pk)
        if assessment.signatures.filter(assessor=assessor).exists():
            raise ValidationError({"signed_as": [_("You have already signed.")]})
        signature = Signature(role=signed_as, assessor=assessor, name=str(assessor))
    elif signed_as in (SignerRole.ELDER, SignerRole.GUARDIAN):
        if assessment.signatures.filter(role__in=(SignerRole.ELDER, SignerRole.GUARDIAN)).exists():
            raise ValidationError({"signed_as": [_("The elder or a guardian has already signed.")]})
        if signed_as == SignerRole.ELDER:
            signature = Signature(role=signed_as, name=elder.name)
        elif contact is None or contact.elder_id != elder.pk or not contact.is_guardian:
            raise ValidationError({"contact": [_("Choose one of the elder's guardians.")]})
        else:
            signature = Signature(role=signed_as, contact=contact, name=contact.name)
    else:
        raise ValidationError({"signed_as": [_("Choose who signs: assessor, elder or guardian.")]})
    signature.assessment, signature.image, signature.recorded_by = assessment, image, acting_user
    signature.save()
    audit.record(AuditAction.CREATE, actor=acting_user, obj=signature, area_code=elder.area_id,
                 after={"assessment": assessment.pk, "role": signed_as, "name": signature.name})
    return signature


def _missing_signatures(assessment: Assessment) -> list[str]:
    signed = set(assessment.signatures.exclude(assessor=None).values_list("assessor_id", flat=True))
    missing = [_("%(name)s has not signed.") % {"name": str(a.assessor)}
               for a in assessment.assignments.select_related("assessor__user") if a.assessor_id not in signed]
    if not assessment.signatures.filter(role__in=(SignerRole.ELDER, SignerRole.GUARDIAN)).exists():
        missing.append(_("The elder or a guardian has not signed."))
    return missing


@transaction.atomic
def submit(assessment: Assessment, *, acting_user, today: dt.date | None = None) -> Assessment:
    """Hand the complete, signed form to review. The result is computed now, so the reviewer
    approves a grade they can see; assessors are checked again for qualification and conflicts."""
    assessment = _access_as_assessor(acting_user, assessment)
    new_status = rules.next_status(assessment.status, Action.SUBMIT)
    today = today or timezone.localdate()
    result = _score(assessment)
    missing = _missing_signatures(assessment)
    if missing:
        raise ValidationError({"signatures": missing})
    unfit = [problem for a in assessment.assignments.select_related("assessor__user", "assessor__organization")
             if (problem := _unfit(a.assessor, assessment.elder, today))]
    if unfit:
        raise ValidationError({"assessors": unfit})
    before = _snapshot(assessment)
    assessment.total, assessment.dimension_scores = result.total, result.dimensions
    assessment.preliminary_grade, assessment.grade = result.preliminary_grade, result.grade
    assessment.status, assessment.submitted_at = new_status, timezone.now()
    assessment.save()
    _audit(AuditAction.UPDATE, assessment, acting_user, before=before, after=_snapshot(assessment))
    return assessment


# --- review ----------------------------------------------------------------------------------


@transaction.atomic
def review(assessment: Assessment, *, acting_user, decision: str, reason: str = "",
           today: dt.date | None = None) -> Assessment:
    """An official approves the submitted result, valid from today for the area's period, or
    returns it to the assessors with a reason."""
    _require(acting_user, PERM_REVIEW)
    assessment = access_assessment_by_id(acting_user, assessment.pk, lock=True)
    if decision not in (Action.APPROVE, Action.RETURN):
        raise ValidationError({"decision": [_("Choose approve or return.")]})
    new_status = rules.next_status(assessment.status, decision)
    today = today or timezone.localdate()
    before = _snapshot(assessment)
    if decision == Action.APPROVE:
        policy = policy_for(assessment.elder.area_id, today)
        assessment.valid_from = today
        assessment.valid_until = rules.validity_end(today, policy.validity_months)
        if assessment.reason != Reason.REVIEW:  # a 复核's result is final
            assessment.review_request_until = rules.review_request_until(today, policy.review_request_days)
    else:
        if not reason.strip():
            raise ValidationError({"reason": [_("Say why the assessment is returned.")]})
        assessment.return_reason = reason.strip()[:300]
        assessment.total = assessment.dimension_scores = assessment.preliminary_grade = assessment.grade = None
    assessment.status, assessment.reviewed_by, assessment.reviewed_at = new_status, acting_user, timezone.now()
    assessment.save()
    _audit(AuditAction.UPDATE, assessment, acting_user, before=before, after=_snapshot(assessment), note=reason[:500])
    return assessment


@transaction.atomic
def record_historic(elder: Elder, *, acting_user, instrument: str, items: Mapping[str, int], assessed_on: dt.date,
                    valid_until: dt.date | None = None, coma: bool = False, dementia: bool = False,
                    risk_events_30d: int = 0, note: str = "", today: dt.date | None = None) -> Assessment:
    """Enter an approved result from an earlier paper record, e.g. an MZ/T 039-2013 assessment
    (its four dimension grades). Without ``valid_until``, the area's validity period applies."""
    _require(acting_user, PERM_REVIEW)
    elder = _access_elder(acting_user, elder.pk)
    if instrument not in INSTRUMENTS:
        raise ValidationError({"instrument": [_("Choose a known instrument.")]})
    if assessed_on > (today or timezone.localdate()):
        raise ValidationError({"assessed_on": [_("The assessment date cannot be in the future.")]})
    result = rules.score(items, instrument=instrument, coma=coma, dementia=dementia, risk_events_30d=risk_events_30d)
    valid_until = valid_until or rules.validity_end(assessed_on, policy_for(elder.area_id, assessed_on).validity_months)
    if valid_until < assessed_on:
        raise ValidationError({"valid_until": [_("The end date must be on or after the start date.")]})
    form = {"items": dict(items), "coma": coma, "dementia": dementia, "risk_events_30d": risk_events_30d}
    assessment = Assessment.objects.create(
        elder=elder, instrument=instrument, reason=Reason.HISTORIC, status=Status.APPROVED,
        requester_kind=RequesterKind.OFFICIAL, requested_by=acting_user, note=note.strip()[:300],
        assessors_required=0, answers=json.dumps(form, sort_keys=True), total=result.total,
        dimension_scores=result.dimensions, preliminary_grade=result.preliminary_grade, grade=result.grade,
        reviewed_by=acting_user, reviewed_at=timezone.now(), valid_from=assessed_on, valid_until=valid_until)
    _audit(AuditAction.CREATE, assessment, acting_user, after=_snapshot(assessment), note=note[:500])
    # A result entered late may reach back into months already paid (grade-based subsidies).
    eligibility_changed.send(sender=Assessment, elder=elder, since=assessed_on, reason="historic assessment",
                             acting_user=acting_user)
    return assessment
