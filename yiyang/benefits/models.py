"""Programmes are data (tiers with effective dates); payment lines are money, guarded by constraints.

Amounts are integers in fen. A regular payment line is unique on (programme,
elder, month), so re-running a month, or a county run after a city run, can
never pay twice.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yiyang.core.fields import EncryptedTextField
from yiyang.core.scoping import ScopedManager, ScopedQuerySet, ScopePolicy, area_prefix_q
from yiyang.people.models import Relation

from .applications_rules import OPEN_STATUSES, Action, Level, Status


class ProgrammeQuerySet(ScopedQuerySet):
    def for_user(self, user):
        """Officials see programmes of their area, of the areas above it, and below it."""
        scope = getattr(user, "scope_code", "") if user and user.is_authenticated else ""
        if user is not None and user.is_authenticated and user.is_superuser:
            return self.all()
        if not scope:
            return self.none()
        above = [scope[:n] for n in (2, 4, 6, 9, 12) if n <= len(scope)]
        return self.filter(Q(area_id__in=above) | area_prefix_q("area", scope))


class Programme(models.Model):
    class Kind(models.TextChoices):
        ALLOWANCE = "allowance", _("age allowance (高龄津贴)")
        CARE_SUBSIDY = "care_subsidy", _("care subsidy (护理补贴)")
        SERVICE_SUBSIDY = "service_subsidy", _("service subsidy (服务补贴)")
        OTHER = "other", _("other")

    class PaymentMode(models.TextChoices):
        CASH = "cash", _("cash through the payroll")
        VOUCHER = "voucher", _("monthly voucher balance")

    class TierBasis(models.TextChoices):
        AGE = "age", _("completed age")
        GRADE = "grade", _("ability assessment grade")

    class Enrolment(models.TextChoices):
        AUTOMATIC = "automatic", _("automatic from the registry")
        APPLICATION = "application", _("on approved application")

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    payment_mode = models.CharField(_("payment mode"), max_length=8, choices=PaymentMode.choices, default=PaymentMode.CASH)
    area = models.ForeignKey("areas.Area", verbose_name=_("applies in"), to_field="code", db_column="area_code", on_delete=models.PROTECT, related_name="+")
    enrolment = models.CharField(_("enrolment"), max_length=12, choices=Enrolment.choices)
    hukou_required = models.BooleanField(_("local hukou required"), default=False)
    tier_basis = models.CharField(_("amount depends on"), max_length=8, choices=TierBasis.choices, default=TierBasis.AGE)
    hardship_categories = models.JSONField(
        _("hardship categories (any of)"), default=list, blank=True,
        help_text=_("Empty: no condition. Otherwise the elder must hold one of these statuses on the first day of "
                    "the month, e.g. [\"dibao\", \"tekun\"] for economic hardship."))
    publicity_days = models.PositiveSmallIntegerField(_("public notice days (公示)"), default=0)
    back_pay = models.BooleanField(_("back-pay for late approval"), default=False)
    required_documents = models.JSONField(_("documents an application must carry"), default=list, blank=True,
                                          help_text=_("Document kinds, e.g. [\"id_card\", \"hukou_book\"]."))
    survival_certification_months = models.PositiveSmallIntegerField(
        _("survival certification valid for (months)"), null=True, blank=True,
        help_text=_("Empty: not required. E.g. 12: a certification no older than 12 months on the first day of the month paid."))
    is_active = models.BooleanField(_("active"), default=True)

    objects = ProgrammeQuerySet.as_manager()
    scope = ScopePolicy(area="area")

    class Meta:
        verbose_name = _("subsidy programme")
        verbose_name_plural = _("subsidy programmes")
        ordering = ["code"]

    def __str__(self):
        return self.name


class Tier(models.Model):
    """One amount band of a programme, valid for a period. Age bands are completed years (周岁).

    A grade-based programme has one tier per paid ability grade (GB/T 42195: 0 能力完好 …
    4 完全失能), read on the first day of the month; its age band is then a condition.
    """

    programme = models.ForeignKey(Programme, verbose_name=_("programme"), on_delete=models.CASCADE, related_name="tiers")
    label = models.CharField(_("tier"), max_length=32)
    min_age = models.PositiveSmallIntegerField(_("from age"))
    max_age = models.PositiveSmallIntegerField(_("to age (inclusive)"), null=True, blank=True)
    grade = models.PositiveSmallIntegerField(_("ability grade"), null=True, blank=True)
    amount_fen = models.PositiveIntegerField(_("monthly amount (fen)"))
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(_("effective until"), null=True, blank=True)

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["programme", "effective_from", "min_age"]
        constraints = [
            models.CheckConstraint(condition=Q(max_age__isnull=True) | Q(max_age__gte=models.F("min_age")), name="tier_age_range"),
            models.CheckConstraint(condition=Q(effective_to__isnull=True) | Q(effective_to__gte=models.F("effective_from")), name="tier_dates"),
            models.CheckConstraint(condition=Q(grade__isnull=True) | Q(grade__lte=4), name="tier_grade_range"),
            models.UniqueConstraint(fields=["programme", "effective_from", "min_age"], condition=Q(grade__isnull=True),
                                    name="tier_unique_start"),
            models.UniqueConstraint(fields=["programme", "effective_from", "grade"], condition=Q(grade__isnull=False),
                                    name="tier_unique_grade"),
        ]

    def __str__(self):
        return f"{self.programme.code} {self.label}"


class PayrollRun(models.Model):
    """One computation of a month for a programme within an area (a code prefix)."""

    class Status(models.TextChoices):
        COMPUTED = "computed", _("computed, awaiting county approval")
        RELEASED = "released", _("released to the bank")

    programme = models.ForeignKey(Programme, verbose_name=_("programme"), on_delete=models.PROTECT, related_name="runs")
    area_code = models.CharField(_("area"), max_length=12)
    month = models.DateField(_("month"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.COMPUTED)
    computed_at = models.DateTimeField(_("computed at"), null=True, blank=True)
    computed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    line_count = models.PositiveIntegerField(_("lines"), default=0)
    total_fen = models.BigIntegerField(_("total (fen)"), default=0)

    objects = ScopedManager()
    scope = ScopePolicy(area="area_code")

    class Meta:
        verbose_name = _("payroll run")
        verbose_name_plural = _("payroll runs")
        permissions = [("run_payroll", "Can compute a month's payroll"), ("approve_payroll", "Can approve and release a payroll")]
        ordering = ["-month", "programme", "area_code"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "area_code", "month"], name="payroll_run_unique"),
        ]

    def __str__(self):
        return f"{self.programme.code} {self.month:%Y-%m} {self.area_code}"


class BankStatus(models.TextChoices):
    PENDING = "pending", _("not yet sent to the bank")
    SENT = "sent", _("sent to the bank")
    PAID = "paid", _("paid")
    RETURNED = "returned", _("returned by the bank")
    HELD = "held", _("held: no payee account")
    VOUCHER = "voucher", _("credited to the voucher balance")
    RECOVER = "recover", _("to recover from the payee")
    RECOVERED = "recovered", _("recovered")


def mask_account(value: str) -> str:
    """First 4 and last 4 digits of an account number (6217********1234)."""
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


class PayeeAccount(models.Model):
    """Where an elder's cash benefits are paid: the elder's own card or an agent's. One active per elder."""

    class Kind(models.TextChoices):
        SOCIAL_SECURITY = "social_security", _("social-security card (社保卡)")
        YIKATONG = "yikatong", _("一卡通 account")
        BANK_CARD = "bank_card", _("bank card")

    elder = models.ForeignKey("people.Elder", verbose_name=_("elder"), on_delete=models.PROTECT, related_name="payee_accounts")
    holder_name = models.CharField(_("account holder"), max_length=64)
    holder_relation = models.CharField(_("holder's relation"), max_length=16,
                                       choices=[("self", _("self")), *Relation.choices], default="self")
    kind = models.CharField(_("account kind"), max_length=16, choices=Kind.choices)
    bank_name = models.CharField(_("bank"), max_length=100, blank=True)
    account_number = EncryptedTextField(_("account number"))
    account_index = models.CharField(max_length=32, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ScopedManager()
    scope = ScopePolicy(area="elder__area", elder="elder")

    class Meta:
        verbose_name = _("payee account")
        verbose_name_plural = _("payee accounts")
        ordering = ["elder", "-created_at"]
        indexes = [models.Index(fields=["account_index"], name="payee_account_index")]
        constraints = [
            models.UniqueConstraint(fields=["elder"], condition=Q(is_active=True), name="payee_one_active_per_elder"),
        ]

    def __str__(self):
        return f"{self.holder_name} {self.account_number_masked}"

    @property
    def account_number_masked(self) -> str:
        return mask_account(self.account_number)


class BankBatch(models.Model):
    """One bank file generated for a released run; the lines it sent point at it."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"

    run = models.ForeignKey(PayrollRun, verbose_name=_("run"), on_delete=models.PROTECT, related_name="bank_batches")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True,
                                   on_delete=models.SET_NULL, related_name="+")
    line_count = models.PositiveIntegerField(_("lines sent"), default=0)
    total_fen = models.BigIntegerField(_("total sent (fen)"), default=0)
    held_count = models.PositiveIntegerField(_("lines held"), default=0)
    file_format = models.CharField(_("file format"), max_length=4, choices=Format.choices)

    objects = ScopedManager()
    scope = ScopePolicy(area="run__area_code")

    class Meta:
        verbose_name = _("bank file")
        verbose_name_plural = _("bank files")
        ordering = ["-created_at"]

    def __str__(self):
        return self.batch_no

    @property
    def batch_no(self) -> str:
        return f"B{self.pk:08d}"


class PaymentLine(models.Model):
    class Kind(models.TextChoices):
        REGULAR = "regular", _("regular")
        BACK_PAY = "back_pay", _("back-pay")
        ADJUSTMENT = "adjustment", _("adjustment")
        RECOVERY = "recovery", _("recovery of over-payment")

    run = models.ForeignKey(PayrollRun, verbose_name=_("run"), on_delete=models.PROTECT, related_name="lines")
    programme = models.ForeignKey(Programme, verbose_name=_("programme"), on_delete=models.PROTECT, related_name="+")
    elder = models.ForeignKey("people.Elder", verbose_name=_("elder"), on_delete=models.PROTECT, related_name="payments")
    month = models.DateField(_("month paid for"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.REGULAR)
    tier = models.CharField(_("tier"), max_length=32)
    amount_fen = models.IntegerField(_("amount (fen)"))
    area_code = models.CharField(_("village"), max_length=12)
    # Bank payment state. db_default: the payroll fills this table with a raw INSERT … SELECT.
    bank_status = models.CharField(_("bank status"), max_length=10, choices=BankStatus.choices,
                                   default=BankStatus.PENDING, db_default=BankStatus.PENDING)
    bank_note = models.CharField(_("bank note"), max_length=200, blank=True, default="", db_default="")
    bank_batch = models.ForeignKey("BankBatch", verbose_name=_("last bank file"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="lines")
    payee_account = models.ForeignKey("PayeeAccount", verbose_name=_("paid to account"), null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="+")

    objects = ScopedManager()
    scope = ScopePolicy(area="area_code", elder="elder")

    class Meta:
        verbose_name = _("payment line")
        verbose_name_plural = _("payment lines")
        indexes = [models.Index(fields=["programme", "month", "area_code"], name="payment_month_area")]
        constraints = [
            models.UniqueConstraint(fields=["programme", "elder", "month"], condition=Q(kind="regular"), name="payment_once_per_month"),
            models.UniqueConstraint(fields=["programme", "elder", "month"], condition=Q(kind="back_pay"), name="payment_back_pay_once"),
            models.CheckConstraint(condition=~Q(kind="regular") | Q(amount_fen__gt=0), name="payment_regular_positive"),
        ]

    def __str__(self):
        return f"{self.programme_id} {self.month:%Y-%m} {self.elder_id} {self.amount_fen}"


class PayrollApproval(models.Model):
    """A county's sign-off on its part of a run; a run is released once every county in it has signed."""

    run = models.ForeignKey(PayrollRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="approvals")
    county_code = models.CharField(_("county"), max_length=6)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("approved by"), on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(_("approved at"), auto_now_add=True)
    line_count = models.PositiveIntegerField(_("lines approved"))
    total_fen = models.BigIntegerField(_("total approved (fen)"))

    objects = ScopedManager()
    scope = ScopePolicy(area="county_code")

    class Meta:
        verbose_name = _("payroll approval")
        verbose_name_plural = _("payroll approvals")
        constraints = [models.UniqueConstraint(fields=["run", "county_code"], name="payroll_approval_once_per_county")]

    def __str__(self):
        return f"{self.run} {self.county_code}"


class Application(models.Model):
    """A request to join an application programme, reviewed village → township → county."""

    class Channel(models.TextChoices):
        PORTAL = "portal", _("online by the elder or family")
        CLERK = "clerk", _("by an official on the elder's behalf")

    Status = Status

    programme = models.ForeignKey(Programme, verbose_name=_("programme"), on_delete=models.PROTECT, related_name="applications")
    elder = models.ForeignKey("people.Elder", verbose_name=_("elder"), on_delete=models.PROTECT, related_name="benefit_applications")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("submitted by"), on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.SUBMITTED)
    requested_start_month = models.DateField(_("payment asked from (month)"))
    submitted_at = models.DateTimeField(_("submitted at"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    approved_on = models.DateField(_("approved on"), null=True, blank=True)
    publicity_ends = models.DateField(_("public notice ends"), null=True, blank=True)
    return_reason = models.CharField(_("reason for return"), max_length=500, blank=True)
    reject_reason = models.CharField(_("reason for rejection"), max_length=500, blank=True)

    objects = ScopedManager()
    scope = ScopePolicy(area="elder__area", elder="elder")

    class Meta:
        verbose_name = _("benefit application")
        verbose_name_plural = _("benefit applications")
        ordering = ["-submitted_at", "-id"]
        permissions = [("review_application", "Can review benefit applications")]
        constraints = [
            models.UniqueConstraint(fields=["elder", "programme"], condition=Q(status__in=sorted(OPEN_STATUSES)),
                                    name="application_one_open"),
            models.CheckConstraint(condition=~Q(status="approved") | Q(approved_on__isnull=False, publicity_ends__isnull=False),
                                   name="application_approved_dates"),
        ]

    def __str__(self):
        return f"{self.programme_id} {self.elder_id} {self.status}"


class DocumentKind(models.TextChoices):
    ID_CARD = "id_card", _("identity card")
    HUKOU_BOOK = "hukou_book", _("household register (户口簿)")
    DISABILITY_CERTIFICATE = "disability_certificate", _("disability certificate")
    INCOME_PROOF = "income_proof", _("proof of income")
    ASSESSMENT_REPORT = "assessment_report", _("ability assessment report")
    OTHER = "other", _("other")


class ApplicationDocument(models.Model):
    """An uploaded supporting document; its type is checked by content, stored under a generated name."""

    application = models.ForeignKey(Application, verbose_name=_("application"), on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(_("kind"), max_length=24, choices=DocumentKind.choices)
    file = models.FileField(_("file"), upload_to="benefit-docs/%Y/%m/")
    content_type = models.CharField(_("type"), max_length=32)
    size = models.PositiveIntegerField(_("size (bytes)"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    objects = ScopedManager()
    scope = ScopePolicy(area="application__elder__area", elder="application__elder")

    class Meta:
        verbose_name = _("application document")
        verbose_name_plural = _("application documents")
        ordering = ["application", "kind", "id"]

    def __str__(self):
        return f"{self.application_id} {self.kind}"


class ApplicationReview(models.Model):
    """One step in an application's history: who did what, at which level, and why."""

    application = models.ForeignKey(Application, verbose_name=_("application"), on_delete=models.CASCADE, related_name="reviews")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+")
    level = models.CharField(_("level"), max_length=12, choices=Level.choices)
    action = models.CharField(_("decision"), max_length=12, choices=Action.choices)
    from_status = models.CharField(_("from"), max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=Status.choices)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    objects = ScopedManager()
    scope = ScopePolicy(area="application__elder__area", elder="application__elder")

    class Meta:
        verbose_name = _("application review")
        verbose_name_plural = _("application reviews")
        ordering = ["application", "at", "id"]

    def __str__(self):
        return f"{self.application_id} {self.action} {self.level}"


class Entitlement(models.Model):
    """An elder's membership of a programme from a month on: what the payroll of application programmes pays."""

    class Source(models.TextChoices):
        APPLICATION = "application", _("approved application")
        AUTOMATIC = "automatic", _("automatic from the registry")

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        SUSPENDED = "suspended", _("suspended")
        STOPPED = "stopped", _("stopped")

    programme = models.ForeignKey(Programme, verbose_name=_("programme"), on_delete=models.PROTECT, related_name="entitlements")
    elder = models.ForeignKey("people.Elder", verbose_name=_("elder"), on_delete=models.PROTECT, related_name="entitlements")
    application = models.OneToOneField(Application, verbose_name=_("application"), null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="entitlement")
    source = models.CharField(_("source"), max_length=12, choices=Source.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    start_month = models.DateField(_("paid from (month)"))
    end_month = models.DateField(_("paid until (month)"), null=True, blank=True)
    back_pay_from = models.DateField(_("back-paid from (month)"), null=True, blank=True,
                                     help_text=_("Months from here to the start month are back-paid once."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ScopedManager()
    scope = ScopePolicy(area="elder__area", elder="elder")

    class Meta:
        verbose_name = _("entitlement")
        verbose_name_plural = _("entitlements")
        ordering = ["programme", "elder", "-start_month"]
        indexes = [models.Index(fields=["programme", "status", "start_month"], name="entitlement_payroll")]
        constraints = [
            models.UniqueConstraint(fields=["elder", "programme"], condition=Q(status="active"), name="entitlement_one_active"),
            models.CheckConstraint(condition=Q(end_month__isnull=True) | Q(end_month__gte=models.F("start_month")), name="entitlement_dates"),
            models.CheckConstraint(condition=Q(back_pay_from__isnull=True) | Q(back_pay_from__lt=models.F("start_month")),
                                   name="entitlement_back_pay_before_start"),
        ]

    def __str__(self):
        return f"{self.programme_id} {self.elder_id} {self.start_month:%Y-%m}"


class SurvivalCertification(models.Model):
    """An annual survival certification (生存认证): proof that an elder was alive on a day."""

    class Method(models.TextChoices):
        VILLAGE_VISIT = "village_visit", _("village (community) staff visit (村(社区)上门)")
        FACE_RECOGNITION = "face_recognition", _("face recognition app")
        MEDICAL_INSURANCE = "medical_insurance", _("linked data: medical insurance")
        PUBLIC_SECURITY = "public_security", _("linked data: public security")

    DATA_SOURCES = frozenset({Method.MEDICAL_INSURANCE, Method.PUBLIC_SECURITY})

    elder = models.ForeignKey("people.Elder", verbose_name=_("elder"), on_delete=models.PROTECT,
                              related_name="survival_certifications")
    certified_on = models.DateField(_("certified on"))
    method = models.CharField(_("method"), max_length=20, choices=Method.choices)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    source_reference = models.CharField(_("source reference"), max_length=100, blank=True, default="")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ScopedManager()
    scope = ScopePolicy(area="elder__area", elder="elder")

    class Meta:
        verbose_name = _("survival certification")
        verbose_name_plural = _("survival certifications")
        ordering = ["elder", "-certified_on", "-id"]
        indexes = [models.Index(fields=["elder", "certified_on"], name="survival_elder_day")]

    def __str__(self):
        return f"{self.elder_id} {self.certified_on:%Y-%m-%d}"


class VoucherAccount(models.Model):
    """An elder's balance in a voucher programme (服务补贴 paid as services, not cash).

    Released monthly amounts are credited here instead of going to the bank, and
    service orders draw on it; the database refuses a negative balance.
    """

    programme = models.ForeignKey(Programme, verbose_name=_("programme"), on_delete=models.PROTECT, related_name="+")
    elder = models.ForeignKey("people.Elder", verbose_name=_("elder"), on_delete=models.PROTECT,
                              related_name="voucher_accounts")
    balance_fen = models.BigIntegerField(_("balance (fen)"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ScopedManager()
    scope = ScopePolicy(area="elder__area", elder="elder")

    class Meta:
        verbose_name = _("voucher balance")
        verbose_name_plural = _("voucher balances")
        constraints = [
            models.UniqueConstraint(fields=["programme", "elder"], name="voucher_account_unique"),
            models.CheckConstraint(condition=Q(balance_fen__gte=0), name="voucher_balance_not_negative"),
        ]

    def __str__(self):
        return f"{self.programme_id} {self.elder_id} {self.balance_fen}"


class VoucherEntry(models.Model):
    """One movement of a voucher balance: a month's credit (from its payment line) or a draw by a service."""

    account = models.ForeignKey(VoucherAccount, verbose_name=_("voucher balance"), on_delete=models.PROTECT,
                                related_name="entries")
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    payment_line = models.OneToOneField(PaymentLine, verbose_name=_("payment line"), null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="voucher_entry")
    reference = models.CharField(_("reference"), max_length=64, blank=True, default="")
    created_at = models.DateTimeField(_("at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    objects = ScopedManager()
    scope = ScopePolicy(area="account__elder__area", elder="account__elder")

    class Meta:
        verbose_name = _("voucher entry")
        verbose_name_plural = _("voucher entries")
        ordering = ["account", "created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount_fen=0), name="voucher_entry_not_zero"),
            # A draw carries the service reference it pays for, once.
            models.UniqueConstraint(fields=["account", "reference"], condition=~Q(reference=""),
                                    name="voucher_draw_once_per_reference"),
        ]

    def __str__(self):
        return f"{self.account_id} {self.amount_fen}"


class PayrollRecheck(models.Model):
    """An elder whose paid months may be wrong since ``since`` (a late death record, a corrected birth date …).

    The next run of the programme compares what was paid for those months with what
    the rules give now and writes the difference as adjustment or recovery lines;
    the recheck is settled when that run is released.
    """

    programme = models.ForeignKey(Programme, verbose_name=_("programme"), on_delete=models.CASCADE, related_name="+")
    elder = models.ForeignKey("people.Elder", verbose_name=_("elder"), on_delete=models.CASCADE, related_name="+")
    since = models.DateField(_("from month"))
    reason = models.CharField(_("reason"), max_length=100)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    settled_by = models.ForeignKey(PayrollRun, verbose_name=_("settled by run"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="settled_rechecks")

    objects = ScopedManager()
    scope = ScopePolicy(area="elder__area", elder="elder")

    class Meta:
        verbose_name = _("payroll recheck")
        verbose_name_plural = _("payroll rechecks")
        indexes = [models.Index(fields=["programme", "settled_by"], name="recheck_open")]

    def __str__(self):
        return f"{self.programme_id} {self.elder_id} {self.since}"


class Suspension(models.Model):
    """A programme's payments to an elder paused for a period (e.g. while in prison or abroad); months inside it
    are not paid, and not paid later either (unlike a lapsed survival certification)."""

    programme = models.ForeignKey(Programme, verbose_name=_("programme"), on_delete=models.PROTECT, related_name="+")
    elder = models.ForeignKey("people.Elder", verbose_name=_("elder"), on_delete=models.PROTECT,
                              related_name="benefit_suspensions")
    from_month = models.DateField(_("suspended from (month)"))
    until_month = models.DateField(_("suspended until (month)"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ScopedManager()
    scope = ScopePolicy(area="elder__area", elder="elder")

    class Meta:
        verbose_name = _("payment suspension")
        verbose_name_plural = _("payment suspensions")
        ordering = ["elder", "-from_month"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "elder"], condition=Q(until_month__isnull=True),
                                    name="suspension_one_open"),
            models.CheckConstraint(condition=Q(until_month__isnull=True) | Q(until_month__gte=models.F("from_month")),
                                   name="suspension_dates"),
        ]

    def __str__(self):
        return f"{self.programme_id} {self.elder_id} {self.from_month:%Y-%m}"
