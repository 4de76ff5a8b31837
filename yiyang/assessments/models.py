"""Ability assessments (老年人能力评估): requests, assessors, recorded forms, signatures, results.

Answers are health data: they are stored encrypted (JSON text in an
EncryptedTextField). The result (grade, total, dimension scores, validity) stays
in clear because benefits, admissions and service plans read it, always through
``services.current_result``. Writes go through ``services.py``.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yiyang.accounts.roles import Role
from yiyang.core.fields import EncryptedTextField
from yiyang.core.scoping import AREA_CODE_LENGTH, ScopedManager, ScopedQuerySet, ScopePolicy

from .rules import OPEN_STATUSES, Status


def covering_codes(area_code: str) -> list[str]:
    """The area code and every code above it (province, city, county, township)."""
    return [area_code[:n] for n in (2, 4, 6, 9, AREA_CODE_LENGTH) if n <= len(area_code)]


class AssessmentPolicy(models.Model):
    """The assessment settings of an area from a date (评估工作规则).

    Cities set these by local rule and change them by year, so they are data. The
    row with the longest area code covering the elder's village and in force on
    the day applies; with no row, ``rules.DEFAULT_POLICY``.
    """

    area = models.ForeignKey("areas.Area", verbose_name=_("area"), to_field="code", db_column="area_code",
                             on_delete=models.PROTECT, related_name="+")
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(_("effective until"), null=True, blank=True)
    assessors_required = models.PositiveSmallIntegerField(_("assessors per assessment"), default=2)
    validity_months = models.PositiveSmallIntegerField(_("result valid for (months)"), default=12)
    review_request_days = models.PositiveSmallIntegerField(_("days to ask for a re-assessment (复核)"), default=15)
    reminder_days_before_expiry = models.PositiveSmallIntegerField(_("remind days before expiry"), default=30)

    objects = ScopedManager()
    scope = ScopePolicy(area="area")

    class Meta:
        verbose_name = _("assessment policy")
        verbose_name_plural = _("assessment policies")
        ordering = ["area_id", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["area", "effective_from"], name="assessment_policy_one_per_day"),
            models.CheckConstraint(condition=Q(assessors_required__gte=1) & Q(validity_months__gte=1),
                                   name="assessment_policy_positive"),
            models.CheckConstraint(condition=Q(effective_to__isnull=True) | Q(effective_to__gte=models.F("effective_from")),
                                   name="assessment_policy_end_after_start"),
        ]

    def __str__(self):
        return f"{self.area_id} {self.effective_from}"


class AssessorQuerySet(ScopedQuerySet):
    def covering(self, area_code: str):
        """Assessors whose area includes ``area_code`` (only they can see an assessment there)."""
        return self.filter(user__scope_area_id__in=covering_codes(area_code))

    def qualified_on(self, day):
        """Active, with a certificate valid on ``day``."""
        return self.filter(is_active=True, user__is_active=True, valid_from__lte=day, valid_until__gte=day)


class Assessor(models.Model):
    """A person qualified to assess (评估员): an assessor account with a certificate from an agency.

    The organisation is usually an assessment agency; an institution's in-house
    assessors are recorded with their institution, which matters for conflicts.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("account"), on_delete=models.PROTECT,
                                related_name="assessor")
    organization = models.ForeignKey("organizations.Organization", verbose_name=_("organisation"),
                                     on_delete=models.PROTECT, related_name="assessors")
    certificate_no = models.CharField(_("certificate number"), max_length=64)
    valid_from = models.DateField(_("certificate valid from"))
    valid_until = models.DateField(_("certificate valid until"))
    is_active = models.BooleanField(_("active"), default=True)

    objects = AssessorQuerySet.as_manager()
    scope = ScopePolicy(area="user__scope_area", organization="organization")

    class Meta:
        verbose_name = _("assessor")
        verbose_name_plural = _("assessors")
        ordering = ["user__full_name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(valid_until__gte=models.F("valid_from")), name="assessor_valid_dates"),
        ]

    def __str__(self):
        return str(self.user)


class Reason(models.TextChoices):
    FIRST = "first", _("first assessment")
    PERIODIC = "periodic", _("periodic re-assessment")
    REVIEW = "review", _("re-assessment on request (复核)")
    HOSPITAL_DISCHARGE = "hospital_discharge", _("hospital discharge")
    FALL_ALARM = "fall_alarm", _("fall alarm")
    OTHER_EVENT = "other_event", _("other change of condition")
    HISTORIC = "historic", _("entered from an earlier record")


EVENT_REASONS = (Reason.HOSPITAL_DISCHARGE, Reason.FALL_ALARM, Reason.OTHER_EVENT)


class RequesterKind(models.TextChoices):
    ELDER = "elder", _("the elder")
    FAMILY = "family", _("family")
    OFFICIAL = "official", _("official")
    INSTITUTION = "institution", _("institution")
    SYSTEM = "system", _("the platform (an event)")


class AssessmentQuerySet(ScopedQuerySet):
    def for_user(self, user):
        """Within the jurisdiction; an assessor sees only the assessments assigned to them."""
        qs = super().for_user(user)
        if getattr(user, "role", None) == Role.ASSESSOR and not user.is_superuser:
            qs = qs.filter(pk__in=Assignment.objects.filter(assessor__user=user).values("assessment_id"))
        return qs


class Assessment(models.Model):
    """One ability assessment of one elder, from the request to the approved result."""

    elder = models.ForeignKey("people.Elder", verbose_name=_("elder"), on_delete=models.PROTECT,
                              related_name="assessments")
    instrument = models.CharField(_("instrument"), max_length=32)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.REQUESTED)
    requester_kind = models.CharField(_("requested by (kind)"), max_length=12, choices=RequesterKind.choices)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("requested by"), null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    review_of = models.ForeignKey("self", verbose_name=_("re-assessment of"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="reviews")
    assessors_required = models.PositiveSmallIntegerField(_("assessors required"))
    # {"items": {code: score}, "coma": bool, "dementia": bool, "risk_events_30d": n} as encrypted JSON text.
    answers = EncryptedTextField(_("answers"), blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    # The result: computed on submission for the reviewer, final once approved.
    total = models.PositiveSmallIntegerField(_("total score"), null=True, blank=True)
    dimension_scores = models.JSONField(_("dimension scores"), null=True, blank=True)
    preliminary_grade = models.PositiveSmallIntegerField(_("preliminary grade"), null=True, blank=True)
    grade = models.PositiveSmallIntegerField(_("grade"), null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("reviewed by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    return_reason = models.CharField(_("reason for return"), max_length=300, blank=True)
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=300, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    review_request_until = models.DateField(_("re-assessment may be asked until"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = AssessmentQuerySet.as_manager()
    scope = ScopePolicy(area="elder__area", elder="elder")

    class Meta:
        verbose_name = _("ability assessment")
        verbose_name_plural = _("ability assessments")
        ordering = ["-requested_at", "-id"]
        permissions = [
            ("assign_assessment", "Can assign assessors"),
            ("record_assessment", "Can record, sign and submit an assigned assessment"),
            ("review_assessment", "Can approve or return a submitted assessment"),
        ]
        indexes = [models.Index(fields=["elder", "status", "valid_from"], name="assessment_elder_result"),
                   models.Index(fields=["status", "valid_until"], name="assessment_expiry")]
        constraints = [
            # One open assessment per elder: duplicate requests (two events, two clicks) cannot both land.
            models.UniqueConstraint(fields=["elder"], condition=Q(status__in=sorted(OPEN_STATUSES)),
                                    name="assessment_one_open_per_elder"),
            models.CheckConstraint(
                condition=~Q(status=Status.APPROVED) | Q(grade__isnull=False, valid_from__isnull=False,
                                                          valid_until__isnull=False),
                name="assessment_approved_has_result"),
            models.CheckConstraint(condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("valid_from")),
                                   name="assessment_valid_dates"),
        ]

    def __str__(self):
        return f"{self.elder} {self.instrument} #{self.pk}"


class Assignment(models.Model):
    """An assessor assigned to an assessment."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="assignments")
    assessor = models.ForeignKey(Assessor, verbose_name=_("assessor"), on_delete=models.PROTECT, related_name="assignments")
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    assigned_at = models.DateTimeField(_("assigned at"), auto_now_add=True)

    objects = ScopedManager()
    scope = ScopePolicy(area="assessment__elder__area", elder="assessment__elder")

    class Meta:
        verbose_name = _("assessor assignment")
        verbose_name_plural = _("assessor assignments")
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["assessment", "assessor"], name="assignment_unique")]

    def __str__(self):
        return f"{self.assessor} → #{self.assessment_id}"


class SignerRole(models.TextChoices):
    ASSESSOR = "assessor", _("assessor")
    ELDER = "elder", _("the elder")
    GUARDIAN = "guardian", _("guardian")


class Signature(models.Model):
    """A signature on the recorded form: each assessor, and the elder or a guardian."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="signatures")
    role = models.CharField(_("signed as"), max_length=8, choices=SignerRole.choices)
    assessor = models.ForeignKey(Assessor, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    contact = models.ForeignKey("people.Contact", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=64)
    image = EncryptedTextField(_("signature image (data URL)"), blank=True)
    signed_at = models.DateTimeField(_("signed at"), auto_now_add=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    objects = ScopedManager()
    scope = ScopePolicy(area="assessment__elder__area", elder="assessment__elder")

    class Meta:
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        ordering = ["signed_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "assessor"], condition=Q(assessor__isnull=False),
                                    name="signature_once_per_assessor"),
            models.UniqueConstraint(fields=["assessment"], condition=Q(role__in=["elder", "guardian"]),
                                    name="signature_one_elder_or_guardian"),
            models.CheckConstraint(condition=Q(role="assessor", assessor__isnull=False, contact__isnull=True)
                                   | Q(role="guardian", assessor__isnull=True, contact__isnull=False)
                                   | Q(role="elder", assessor__isnull=True, contact__isnull=True),
                                   name="signature_signer_matches_role"),
        ]

    def __str__(self):
        return f"{self.name}（{self.get_role_display()}）#{self.assessment_id}"


class ConflictDeclaration(models.Model):
    """An assessor's own statement of a conflict of interest with an elder; they are never assigned to them."""

    assessor = models.ForeignKey(Assessor, on_delete=models.CASCADE, related_name="conflicts")
    elder = models.ForeignKey("people.Elder", on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(_("reason"), max_length=300)
    declared_at = models.DateTimeField(_("declared at"), auto_now_add=True)

    objects = ScopedManager()
    scope = ScopePolicy(area="elder__area", elder="elder")

    class Meta:
        verbose_name = _("declared conflict of interest")
        verbose_name_plural = _("declared conflicts of interest")
        constraints = [models.UniqueConstraint(fields=["assessor", "elder"], name="conflict_declared_once")]

    def __str__(self):
        return f"{self.assessor} × {self.elder}"
