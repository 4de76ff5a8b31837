"""Application operations: submit, document, review, resubmit, withdraw, and automatic enrolment.

Each is one transaction and audited. The applicant side is a portal account
linked to the elder, or an official whose jurisdiction covers the elder; the
review side is the official of the stage's level whose jurisdiction covers the
elder. Refusals name the field and save nothing (uploaded files included).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.core import audit
from yiyang.core.errors import OutOfScope, PermissionDenied, ValidationError
from yiyang.core.models import AuditAction
from yiyang.core.scoping import AREA_CODE_LENGTH, code_in_scope
from yiyang.people.models import Elder, ElderStatus

from . import applications_rules as app_rules
from . import rules
from .applications_rules import Action, Level, Status
from .models import (
    Application,
    ApplicationDocument,
    ApplicationReview,
    DocumentKind,
    Entitlement,
    Programme,
)
from .services import tiers_in_force

PERM_APPLY = "benefits.add_application"
PERM_REVIEW = "benefits.review_application"


def document_max_bytes() -> int:
    return settings.BENEFIT_DOCUMENT_MAX_BYTES


def _snapshot(application: Application) -> dict:
    return audit.snapshot(application, ["status", "requested_start_month", "approved_on", "publicity_ends",
                                        "return_reason", "reject_reason"])


def _require_applicant_side(user, elder: Elder) -> None:
    """A portal account linked to the elder, or an official whose jurisdiction covers the elder."""
    if not user.has_perm(PERM_APPLY):
        raise PermissionDenied(_("You may not apply for benefits."))
    if not Elder.objects.for_user(user).filter(pk=elder.pk).exists():
        raise OutOfScope(_("This elder is outside your reach."))


def _check_documents_given(programme: Programme, kinds: Iterable[str]) -> None:
    missing = app_rules.missing_kinds(programme.required_documents or [], list(kinds))
    if missing:
        raise ValidationError({"documents": [_("Missing documents: %(kinds)s.") % {
            "kinds": ", ".join(str(DocumentKind(k).label) if k in DocumentKind.values else k for k in missing)}]})


def _validated_upload(kind: str, upload) -> tuple[str, str, object]:
    """(extension, MIME type, file) of an acceptable upload; nothing is stored yet."""
    if kind not in DocumentKind.values:
        raise ValidationError({"kind": [_("Unknown document kind “%(kind)s”.") % {"kind": kind}]})
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    extension, mime = app_rules.check_document(size=upload.size, head=head, max_bytes=document_max_bytes())
    return extension, mime, upload


@contextlib.contextmanager
def _files_removed_on_failure() -> Iterator[list]:
    """Files stored inside the block are deleted again if it fails: nothing is saved half-way."""
    stored: list = []
    try:
        yield stored
    except BaseException:
        for field_file in stored:
            field_file.storage.delete(field_file.name)
        raise


def _store(application: Application, kind: str, validated, acting_user, stored: list) -> ApplicationDocument:
    extension, mime, upload = validated
    document = ApplicationDocument(application=application, kind=kind, content_type=mime, size=upload.size,
                                   uploaded_by=acting_user)
    document.file.save(f"{uuid.uuid4().hex}.{extension}", upload, save=False)
    stored.append(document.file)
    document.save()
    return document


def _record(application: Application, *, actor, level: str, action: str, before: str, reason: str = "") -> None:
    ApplicationReview.objects.create(application=application, actor=actor, level=level, action=action,
                                     from_status=before, to_status=application.status, reason=reason)


def _eligibility(*, elder: Elder, programme: Programme, start_month: dt.date) -> None:
    month = app_rules.first_of_month(start_month)
    try:
        tiers = tiers_in_force(programme, month)
    except rules.RuleError:
        tiers = []
    app_rules.check_eligibility(status=elder.status, death_date=elder.death_date, area_code=elder.area_id,
                                hukou_area_code=elder.hukou_area_code, birth_date=elder.birth_date,
                                programme_area=programme.area_id, hukou_required=programme.hukou_required,
                                start_month=month, tiers=tiers)


def submit_application(*, acting_user, elder_id, programme_code: str, requested_start_month: dt.date,
                       documents: Iterable[tuple[str, object]] = (), today: dt.date | None = None) -> Application:
    """File an application with its documents; refused whole on any bad input."""
    today = today or timezone.localdate()
    if not acting_user.has_perm(PERM_APPLY):
        raise PermissionDenied(_("You may not apply for benefits."))
    elder = Elder.objects.for_user(acting_user).filter(pk=elder_id).first() if str(elder_id).isdigit() else None
    if elder is None:
        raise ValidationError({"elder": [_("No such elder in the registry within your reach.")]})
    programme = Programme.objects.filter(code=programme_code, is_active=True,
                                         enrolment=Programme.Enrolment.APPLICATION).first()
    if programme is None:
        raise ValidationError({"programme": [_("There is no open application programme “%(code)s”.") % {
            "code": programme_code}]})
    documents = [(kind, _validated_upload(kind, upload)) for kind, upload in documents]
    _check_documents_given(programme, [kind for kind, _upload in documents])
    start = app_rules.first_of_month(requested_start_month)
    _eligibility(elder=elder, programme=programme, start_month=start)
    with _files_removed_on_failure() as stored, transaction.atomic():
        Elder.objects.select_for_update().filter(pk=elder.pk).first()  # serialise applications for one elder
        if Entitlement.objects.filter(elder=elder, programme=programme, status=Entitlement.Status.ACTIVE).exists():
            raise ValidationError({"programme": [_("The elder already receives this programme.")]})
        duplicate = ValidationError({"programme": [_("An application for this programme is already open for this elder.")]})
        if Application.objects.filter(elder=elder, programme=programme, status__in=app_rules.OPEN_STATUSES).exists():
            raise duplicate
        channel = Application.Channel.PORTAL if acting_user.scope_kind == "self" else Application.Channel.CLERK
        try:
            with transaction.atomic():
                application = Application.objects.create(programme=programme, elder=elder, submitted_by=acting_user,
                                                         channel=channel, requested_start_month=start)
        except IntegrityError:  # a concurrent submission won the race
            raise duplicate from None
        for kind, validated in documents:
            _store(application, kind, validated, acting_user, stored)
        _record(application, actor=acting_user, level=Level.APPLICANT, action=Action.SUBMIT, before="")
        audit.record(AuditAction.CREATE, actor=acting_user, obj=application, area_code=elder.area_id,
                     after={**_snapshot(application), "channel": channel, "documents": [k for k, _v in documents]})
    return application


def add_document(application: Application, *, acting_user, kind: str, file) -> ApplicationDocument:
    """Attach a document to an open application (e.g. one asked for on return)."""
    _require_applicant_side(acting_user, application.elder)
    validated = _validated_upload(kind, file)
    with _files_removed_on_failure() as stored, transaction.atomic():
        application = Application.objects.select_for_update().get(pk=application.pk)
        if application.status not in app_rules.OPEN_STATUSES:
            raise ValidationError({"status": [_("Documents can only be added to an open application.")]})
        document = _store(application, kind, validated, acting_user, stored)
        audit.record(AuditAction.CREATE, actor=acting_user, obj=document, area_code=application.elder.area_id,
                     after={"kind": kind, "size": document.size, "content_type": document.content_type})
    return document


def reviewer_level(user) -> str | None:
    if user.is_superuser:
        return Level.COUNTY
    return app_rules.ROLE_LEVELS.get(user.role)


@transaction.atomic
def review(application: Application, *, decision: str, reason: str = "", acting_user,
           today: dt.date | None = None) -> Application:
    """Approve, return or reject at the stage's level; final approval starts the 公示 and the entitlement."""
    today = today or timezone.localdate()
    level = reviewer_level(acting_user)
    if level is None or not acting_user.has_perm(PERM_REVIEW):
        raise PermissionDenied(_("You may not review applications."))
    if decision not in app_rules.REVIEW_ACTIONS:
        raise ValidationError({"decision": [_("Choose approve, return or reject.")]})
    application = Application.objects.select_for_update().select_related("elder", "programme").get(pk=application.pk)
    if not (acting_user.is_superuser or code_in_scope(application.elder.area_id, acting_user.scope_code)):
        raise OutOfScope(_("This application is outside your jurisdiction."))
    before, snapshot = application.status, _snapshot(application)
    new_status = app_rules.next_status(before, decision, level)
    app_rules.check_reason(decision, reason)
    application.status = new_status
    if decision == Action.RETURN:
        application.return_reason = reason.strip()
    elif decision == Action.REJECT:
        application.reject_reason = reason.strip()
        application.decided_at = timezone.now()
    elif new_status == Status.APPROVED:
        _approve(application, today)
    application.save()
    _record(application, actor=acting_user, level=level, action=decision, before=before, reason=reason.strip())
    audit.record(AuditAction.UPDATE, actor=acting_user, obj=application, area_code=application.elder.area_id,
                 before=snapshot, after=_snapshot(application), note=f"application {decision} ({level})")
    return application


def _approve(application: Application, today: dt.date) -> None:
    elder, programme = application.elder, application.programme
    _eligibility(elder=elder, programme=programme, start_month=application.requested_start_month)
    if Entitlement.objects.filter(elder=elder, programme=programme, status=Entitlement.Status.ACTIVE).exists():
        raise ValidationError({"programme": [_("The elder already receives this programme.")]})
    application.approved_on = today
    application.publicity_ends = app_rules.publicity_end(today, programme.publicity_days)
    application.decided_at = timezone.now()
    start = app_rules.payment_start_month(application.requested_start_month, application.publicity_ends)
    owed = app_rules.back_pay_months(application.requested_start_month, start, back_pay=programme.back_pay)
    Entitlement.objects.create(programme=programme, elder=elder, application=application,
                               source=Entitlement.Source.APPLICATION, start_month=start,
                               back_pay_from=owed[0] if owed else None)


def _applicant_step(application: Application, *, acting_user, action: str, reason: str = "") -> Application:
    _require_applicant_side(acting_user, application.elder)
    application = Application.objects.select_for_update().select_related("elder", "programme").get(pk=application.pk)
    before, snapshot = application.status, _snapshot(application)
    application.status = app_rules.next_status(before, action, Level.APPLICANT)
    if action == Action.RESUBMIT:
        _check_documents_given(application.programme, application.documents.values_list("kind", flat=True))
        _eligibility(elder=application.elder, programme=application.programme,
                     start_month=application.requested_start_month)
    else:
        application.decided_at = timezone.now()
    application.save()
    _record(application, actor=acting_user, level=Level.APPLICANT, action=action, before=before, reason=reason.strip())
    audit.record(AuditAction.UPDATE, actor=acting_user, obj=application, area_code=application.elder.area_id,
                 before=snapshot, after=_snapshot(application), note=f"application {action}")
    return application


@transaction.atomic
def resubmit(application: Application, *, acting_user) -> Application:
    """Send a returned application back to the village stage (after adding what was asked for)."""
    return _applicant_step(application, acting_user=acting_user, action=Action.RESUBMIT)


@transaction.atomic
def withdraw(application: Application, *, acting_user, reason: str = "") -> Application:
    return _applicant_step(application, acting_user=acting_user, action=Action.WITHDRAW, reason=reason)


@transaction.atomic
def enrol_automatically(programme: Programme, *, on: dt.date, acting_user=None) -> int:
    """Entitlements for registry elders within an automatic programme's tiers on ``on``; idempotent.

    The payroll of automatic programmes still reads the registry; these rows record
    who is enrolled since when (the birthday month already pays, as in the payroll).
    Returns how many were created.
    """
    if programme.enrolment != Programme.Enrolment.AUTOMATIC:
        raise rules.RuleError(_("programme %(code)s enrols by application") % {"code": programme.code})
    month = app_rules.first_of_month(on)
    tiers = tiers_in_force(programme, month)
    end = rules.last_day(month)
    youngest = min(t.min_age for t in tiers)
    oldest = max(tiers, key=lambda t: t.min_age)
    earliest = programme.tiers.order_by("effective_from").values_list("effective_from", flat=True).first()
    area = programme.area_id
    elders = Elder.objects.filter(area__gte=area, area__lte=area.ljust(AREA_CODE_LENGTH, "9"),
                                  status=ElderStatus.ALIVE, birth_date__lte=rules.birth_cutoff(end, youngest))
    if oldest.max_age is not None:
        elders = elders.filter(birth_date__gt=rules.birth_cutoff(end, oldest.max_age + 1))
    if programme.hukou_required:
        elders = elders.filter(hukou_area_code__startswith=area)
    elders = elders.exclude(Q(entitlements__programme=programme, entitlements__status=Entitlement.Status.ACTIVE))
    enrolled = Entitlement.objects.filter(programme=programme, status=Entitlement.Status.ACTIVE)
    before = enrolled.count()
    batch: list[Entitlement] = []
    for elder_id, birth in elders.values_list("pk", "birth_date").iterator(chunk_size=2000):
        start = max(app_rules.first_of_month(app_rules.day_reaching_age(birth, youngest)),
                    app_rules.first_of_month(earliest))
        batch.append(Entitlement(programme=programme, elder_id=elder_id, source=Entitlement.Source.AUTOMATIC,
                                 start_month=start))
        if len(batch) >= 2000:
            _bulk_enrol(batch)
    _bulk_enrol(batch)
    created = enrolled.count() - before
    audit.record(AuditAction.CREATE, actor=acting_user, object_type="benefits.entitlement", label=programme.code,
                 area_code=area, after={"created": created, "on": on.isoformat()}, note=f"automatic enrolment {programme.code}")
    return created


def _bulk_enrol(batch: list[Entitlement]) -> None:
    """Insert and empty ``batch``; a row a concurrent enrolment already made is skipped by the unique index."""
    Entitlement.objects.bulk_create(batch, ignore_conflicts=True)
    batch.clear()


def open_document(document_id, *, acting_user):
    """An uploaded document the user may see, opened for reading; every opening is audited as a reveal."""
    from django.http import Http404

    document = (ApplicationDocument.objects.for_user(acting_user).select_related("application__elder")
                .filter(pk=document_id).first())
    if document is None:
        raise Http404(_("No such document in your jurisdiction."))
    try:
        handle = document.file.open("rb")
    except FileNotFoundError:
        raise Http404(_("The file of this document is missing.")) from None
    application = document.application
    audit.record(AuditAction.REVEAL, actor=acting_user, obj=document, area_code=application.elder.area_id,
                 note=f"download {document.kind} of application {application.pk}")
    return document, handle
