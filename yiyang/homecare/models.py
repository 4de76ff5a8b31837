"""Home and community care (没有围墙的养老院): catalogue, providers and workers, orders and their visits.

The order is the centre: a state machine (``rules.TRANSITIONS``) whose every step is
an ``OrderEvent`` row with who, when and where. Assignment and check-in are
guarded by conditional updates in ``services`` and by constraints here, so two
dispatchers or two taps can never both win.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yiyang.core.fields import EncryptedTextField
from yiyang.core.scoping import ScopedManager, ScopedQuerySet, ScopePolicy

from .rules import OPEN_STATUSES, Payer, Status


class Skill(models.Model):
    """What a worker must be able (and, where ``certificate_required``, certified) to do."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=64)
    certificate_required = models.BooleanField(_("certificate required"), default=False)

    class Meta:
        verbose_name = _("skill")
        verbose_name_plural = _("skills")
        ordering = ["code"]

    def __str__(self):
        return self.name


class ServiceKind(models.TextChoices):
    MEALS = "meals", _("meal assistance (助餐)")
    BATHING = "bathing", _("bathing assistance (助浴)")
    CLEANING = "cleaning", _("cleaning (助洁)")
    EMERGENCY = "emergency", _("emergency help (助急)")
    MEDICAL = "medical", _("medical assistance (助医)")
    MOBILITY = "mobility", _("mobility assistance (助行)")
    HOUSEKEEPING = "housekeeping", _("housekeeping (家政)")
    ERRANDS = "errands", _("shopping errands (代购)")
    COMPANIONSHIP = "companionship", _("emotional support (精神慰藉)")
    REHABILITATION = "rehabilitation", _("rehabilitation care (康复护理)")
    HOME_NURSING = "home_nursing", _("home nursing (居家护理)")
    ESCORT = "escort", _("hospital escort (陪诊)")
    OTHER = "other", _("other")


class ServiceType(models.Model):
    """One entry of the service catalogue: what is done, how long it takes, what it costs, who may pay."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=64)
    kind = models.CharField(_("kind"), max_length=16, choices=ServiceKind.choices)
    duration_minutes = models.PositiveSmallIntegerField(_("duration (minutes)"))
    unit_price_fen = models.PositiveIntegerField(_("unit price (fen)"))
    skills = models.ManyToManyField(Skill, verbose_name=_("skills required"), blank=True, related_name="+")
    voucher_programmes = models.JSONField(
        _("voucher programmes that pay"), default=list, blank=True,
        help_text=_("Codes of voucher programmes (服务补贴) whose balance may pay this service."))
    at_home = models.BooleanField(_("delivered at home"), default=True,
                                  help_text=_("Off for services at a centre or meal point (no route, no check-in distance)."))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("service type")
        verbose_name_plural = _("service catalogue")
        ordering = ["kind", "code"]
        constraints = [models.CheckConstraint(condition=Q(duration_minutes__gt=0), name="service_duration_positive")]

    def __str__(self):
        return self.name


class ProviderProfile(models.Model):
    """What makes an organisation a home-care provider: where and when it serves, and what."""

    organization = models.OneToOneField("organizations.Organization", verbose_name=_("organisation"),
                                        on_delete=models.CASCADE, related_name="provider_profile")
    service_areas = models.JSONField(_("service areas"), default=list,
                                     help_text=_("Area code prefixes served, e.g. [\"510703001\", \"510703002\"]."))
    opening_hours = models.JSONField(_("opening hours"), default=dict, blank=True,
                                     help_text=_("Weekday (1 = Monday) → [\"08:00\", \"18:00\"]."))
    services = models.ManyToManyField(ServiceType, verbose_name=_("services offered"), related_name="providers")
    check_in_radius_m = models.PositiveIntegerField(_("check-in radius (m)"), default=300)

    objects = ScopedManager()
    scope = ScopePolicy(area="organization__area", organization="organization")

    class Meta:
        verbose_name = _("provider profile")
        verbose_name_plural = _("provider profiles")

    def __str__(self):
        return str(self.organization)

    def serves(self, area_code: str) -> bool:
        return any(area_code.startswith(prefix) for prefix in self.service_areas)


class Worker(models.Model):
    """A caregiver of a provider: skills, home base, shifts. Linked to a login for the phone pages."""

    provider = models.ForeignKey("organizations.Organization", verbose_name=_("provider"), on_delete=models.PROTECT,
                                 related_name="workers")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("login"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="worker")
    name = models.CharField(_("name"), max_length=64)
    phone = EncryptedTextField(_("phone"), blank=True)
    skills = models.ManyToManyField(Skill, verbose_name=_("skills"), through="WorkerSkill", related_name="+")
    base_latitude = models.FloatField(_("home base latitude"))
    base_longitude = models.FloatField(_("home base longitude"))
    is_active = models.BooleanField(_("active"), default=True)

    objects = ScopedManager()
    scope = ScopePolicy(area="provider__area", organization="provider")

    class Meta:
        verbose_name = _("worker")
        verbose_name_plural = _("workers")
        ordering = ["provider", "name"]

    def __str__(self):
        return self.name


class WorkerSkill(models.Model):
    """A skill a worker holds, with the certificate that proves it where one is required."""

    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="worker_skills")
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="+")
    certificate_no = models.CharField(_("certificate number"), max_length=64, blank=True)
    valid_until = models.DateField(_("certificate valid until"), null=True, blank=True)

    class Meta:
        verbose_name = _("worker skill")
        verbose_name_plural = _("worker skills")
        constraints = [models.UniqueConstraint(fields=["worker", "skill"], name="worker_skill_once")]

    def __str__(self):
        return f"{self.worker_id} {self.skill_id}"


class Shift(models.Model):
    """A worker's working time on one day, with an optional break."""

    worker = models.ForeignKey(Worker, verbose_name=_("worker"), on_delete=models.CASCADE, related_name="shifts")
    day = models.DateField(_("day"))
    start = models.TimeField(_("start"))
    end = models.TimeField(_("end"))
    break_start = models.TimeField(_("break from"), null=True, blank=True)
    break_minutes = models.PositiveSmallIntegerField(_("break (minutes)"), default=0)

    class Meta:
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        ordering = ["day", "start"]
        constraints = [
            models.UniqueConstraint(fields=["worker", "day"], name="shift_one_per_day"),
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="shift_ends_after_start"),
        ]

    def __str__(self):
        return f"{self.worker_id} {self.day} {self.start}-{self.end}"


class Leave(models.Model):
    worker = models.ForeignKey(Worker, verbose_name=_("worker"), on_delete=models.CASCADE, related_name="leaves")
    first_day = models.DateField(_("from"))
    last_day = models.DateField(_("until"))
    reason = models.CharField(_("reason"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("leave")
        verbose_name_plural = _("leave")
        constraints = [models.CheckConstraint(condition=Q(last_day__gte=models.F("first_day")), name="leave_dates")]

    def __str__(self):
        return f"{self.worker_id} {self.first_day}–{self.last_day}"


class ServicePlan(models.Model):
    """A recurring service (助餐 every weekday, 助浴 weekly) that generates orders ahead of time."""

    elder = models.ForeignKey("people.Elder", verbose_name=_("elder"), on_delete=models.PROTECT, related_name="service_plans")
    service_type = models.ForeignKey(ServiceType, verbose_name=_("service"), on_delete=models.PROTECT, related_name="+")
    provider = models.ForeignKey("organizations.Organization", verbose_name=_("provider"), on_delete=models.PROTECT,
                                 related_name="service_plans")
    weekdays = models.JSONField(_("weekdays"), help_text=_("1 = Monday … 7 = Sunday"))
    window_start = models.TimeField(_("from"))
    window_end = models.TimeField(_("until"))
    first_day = models.DateField(_("first day"))
    last_day = models.DateField(_("last day"), null=True, blank=True)
    payer = models.CharField(_("paid by"), max_length=12, choices=Payer.choices, default=Payer.SELF)
    bed = models.ForeignKey("FamilyCareBed", verbose_name=_("family care bed"), null=True, blank=True,
                            on_delete=models.PROTECT, related_name="plans")
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = ScopedManager()
    scope = ScopePolicy(area="elder__area", organization="provider", elder="elder")

    class Meta:
        verbose_name = _("service plan")
        verbose_name_plural = _("service plans")
        constraints = [models.CheckConstraint(condition=Q(window_end__gt=models.F("window_start")), name="plan_window")]

    def __str__(self):
        return f"{self.elder} {self.service_type}"


class FamilyCareBed(models.Model):
    """家庭养老照护床位: an institution takes responsibility for an elder at home under a care plan."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        ENDED = "ended", _("ended")

    elder = models.ForeignKey("people.Elder", verbose_name=_("elder"), on_delete=models.PROTECT, related_name="care_beds")
    institution = models.ForeignKey("organizations.Organization", verbose_name=_("contracted institution"),
                                    on_delete=models.PROTECT, related_name="care_beds")
    contract_no = models.CharField(_("contract number"), max_length=64)
    first_day = models.DateField(_("from"))
    last_day = models.DateField(_("until"), null=True, blank=True)
    care_plan = models.TextField(_("care plan"))
    min_visits_per_week = models.PositiveSmallIntegerField(_("minimum visits per week"), default=2)
    remote_monitoring = models.BooleanField(_("remote monitoring devices installed"), default=False)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.ACTIVE)

    objects = ScopedManager()
    scope = ScopePolicy(area="elder__area", organization="institution", elder="elder")

    class Meta:
        verbose_name = _("family care bed")
        verbose_name_plural = _("family care beds")
        constraints = [models.UniqueConstraint(fields=["elder"], condition=Q(status="active"), name="care_bed_one_active")]

    def __str__(self):
        return f"{self.contract_no} {self.elder}"


class OrderQuerySet(ScopedQuerySet):
    def for_user(self, user):
        """Within the jurisdiction or the provider; a caregiver sees only the orders assigned to them."""
        from yiyang.accounts.roles import Role

        qs = super().for_user(user)
        if getattr(user, "role", None) == Role.CAREGIVER and not user.is_superuser:
            qs = qs.filter(worker__user=user)
        return qs


class ServiceOrder(models.Model):
    """One service for one elder at one time; moves only through ``services.transition``."""

    class Channel(models.TextChoices):
        HOTLINE = "hotline", _("12349 hotline")
        PORTAL = "portal", _("portal (elder or family)")
        PLAN = "plan", _("recurring plan")
        OFFICIAL = "official", _("official or village staff")
        PROVIDER = "provider", _("provider")

    Status = Status

    elder = models.ForeignKey("people.Elder", verbose_name=_("elder"), on_delete=models.PROTECT, related_name="service_orders")
    service_type = models.ForeignKey(ServiceType, verbose_name=_("service"), on_delete=models.PROTECT, related_name="orders")
    provider = models.ForeignKey("organizations.Organization", verbose_name=_("provider"), on_delete=models.PROTECT,
                                 related_name="service_orders")
    worker = models.ForeignKey(Worker, verbose_name=_("worker"), null=True, blank=True, on_delete=models.PROTECT,
                               related_name="orders")
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.REQUESTED)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    window_start = models.DateTimeField(_("wanted from"))
    window_end = models.DateTimeField(_("wanted until"))
    duration_minutes = models.PositiveSmallIntegerField(_("duration (minutes)"))
    price_fen = models.PositiveIntegerField(_("price (fen)"))
    payer = models.CharField(_("paid by"), max_length=12, choices=Payer.choices, default=Payer.SELF)
    voucher_programme = models.CharField(_("voucher programme"), max_length=32, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    plan = models.ForeignKey(ServicePlan, verbose_name=_("plan"), null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="orders")
    plan_day = models.DateField(_("plan day"), null=True, blank=True)
    bed = models.ForeignKey(FamilyCareBed, verbose_name=_("family care bed"), null=True, blank=True,
                            on_delete=models.PROTECT, related_name="orders")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # Visit verification (from the worker's phone): where and when, and what looked wrong.
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    check_in_latitude = models.FloatField(null=True, blank=True)
    check_in_longitude = models.FloatField(null=True, blank=True)
    check_in_distance_m = models.PositiveIntegerField(_("distance from home at check-in (m)"), null=True, blank=True)
    checked_out_at = models.DateTimeField(_("checked out at"), null=True, blank=True)
    check_out_latitude = models.FloatField(null=True, blank=True)
    check_out_longitude = models.FloatField(null=True, blank=True)
    service_notes = models.CharField(_("service notes"), max_length=1000, blank=True)
    photo = models.ImageField(_("photo"), upload_to="visit-photos/%Y/%m/", null=True, blank=True)
    flags = models.JSONField(_("flags for review"), default=list, blank=True)
    review_cleared_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("review cleared by"), null=True,
                                          blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = OrderQuerySet.as_manager()
    scope = ScopePolicy(area="elder__area", organization="provider", elder="elder")

    class Meta:
        verbose_name = _("service order")
        verbose_name_plural = _("service orders")
        ordering = ["-window_start", "-id"]
        permissions = [
            ("dispatch_order", "Can accept, assign and re-plan orders of the provider"),
            ("perform_order", "Can check in and out of assigned orders"),
            ("confirm_order", "Can confirm, rate or dispute a completed order"),
        ]
        indexes = [
            models.Index(fields=["provider", "status", "window_start"], name="order_provider_day"),
            models.Index(fields=["worker", "window_start"], name="order_worker_day"),
            models.Index(fields=["elder", "-window_start"], name="order_elder_recent"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(window_end__gt=models.F("window_start")), name="order_window"),
            models.CheckConstraint(condition=Q(duration_minutes__gt=0), name="order_duration_positive"),
            # An assigned or later order has a worker; a requested or accepted one has none.
            models.CheckConstraint(
                condition=Q(status__in=["requested", "accepted", "cancelled"]) | Q(worker__isnull=False),
                name="order_worker_when_assigned"),
            models.CheckConstraint(condition=~Q(payer="voucher") | ~Q(voucher_programme=""), name="order_voucher_named"),
            models.UniqueConstraint(fields=["plan", "plan_day"], condition=Q(plan__isnull=False), name="order_once_per_plan_day"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.service_type} {self.elder}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class OrderEvent(models.Model):
    """One transition of an order: who moved it, from what to what, when and where."""

    order = models.ForeignKey(ServiceOrder, verbose_name=_("order"), on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(_("from"), max_length=12, choices=Status.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=12, choices=Status.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(_("at"), auto_now_add=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    objects = ScopedManager()
    scope = ScopePolicy(area="order__elder__area", organization="order__provider", elder="order__elder")

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        ordering = ["order", "at", "id"]

    def __str__(self):
        return f"{self.order_id} {self.from_status}→{self.to_status}"


class Rating(models.Model):
    """The elder's or family's verdict on a completed order (also taken by phone on a follow-up call)."""

    order = models.OneToOneField(ServiceOrder, verbose_name=_("order"), on_delete=models.CASCADE, related_name="rating")
    score = models.PositiveSmallIntegerField(_("score (1–5)"))
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, on_delete=models.SET_NULL,
                           related_name="+")
    at = models.DateTimeField(_("at"), auto_now_add=True)

    objects = ScopedManager()
    scope = ScopePolicy(area="order__elder__area", organization="order__provider", elder="order__elder")

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        constraints = [models.CheckConstraint(condition=Q(score__gte=1, score__lte=5), name="rating_score_range")]

    def __str__(self):
        return f"{self.order_id} {self.score}"


class Complaint(models.Model):
    """A complaint about a provider's service, from the elder, family or by phone; handled and answered."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        HANDLED = "handled", _("handled")

    elder = models.ForeignKey("people.Elder", verbose_name=_("elder"), on_delete=models.PROTECT, related_name="complaints")
    provider = models.ForeignKey("organizations.Organization", verbose_name=_("provider"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="complaints")
    order = models.ForeignKey(ServiceOrder, verbose_name=_("order"), null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="complaints")
    channel = models.CharField(_("channel"), max_length=10, choices=ServiceOrder.Channel.choices)
    text = models.TextField(_("complaint"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    resolution = models.TextField(_("resolution"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)

    objects = ScopedManager()
    scope = ScopePolicy(area="elder__area", organization="provider", elder="elder")

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.elder_id} {self.created_at:%Y-%m-%d}"


class CallRecord(models.Model):
    """One 12349 call: who called, which elder it was about, what came of it."""

    class Outcome(models.TextChoices):
        ORDER = "order", _("service order created")
        ALARM = "alarm", _("emergency raised")
        COMPLAINT = "complaint", _("complaint recorded")
        CONSULTATION = "consultation", _("consultation answered")
        FOLLOW_UP = "follow_up", _("follow-up call")
        NONE = "none", _("no action")

    class Direction(models.TextChoices):
        INBOUND = "in", _("incoming")
        OUTBOUND = "out", _("outgoing")

    agent = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices, default=Direction.INBOUND)
    caller_number = EncryptedTextField(_("caller number"), blank=True)
    caller_index = models.CharField(max_length=32, blank=True, editable=False)
    elder = models.ForeignKey("people.Elder", verbose_name=_("elder"), null=True, blank=True, on_delete=models.PROTECT,
                              related_name="calls")
    area_code = models.CharField(_("area"), max_length=12, blank=True,
                                 help_text=_("The elder's village, or the agent's scope for a call about nobody known."))
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, blank=True)
    summary = models.CharField(_("summary"), max_length=1000, blank=True)
    order = models.ForeignKey(ServiceOrder, verbose_name=_("order"), null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="calls")
    complaint = models.ForeignKey(Complaint, verbose_name=_("complaint"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="calls")

    objects = ScopedManager()
    scope = ScopePolicy(area="area_code", elder="elder")

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["caller_index"], name="call_caller_index")]

    def __str__(self):
        return f"{self.agent_id} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration_seconds(self) -> int | None:
        if self.ended_at is None:
            return None
        return int((self.ended_at - self.started_at).total_seconds())


class FollowUpCall(models.Model):
    """回访: the hotline calls back a sample of completed orders and records the elder's confirmation."""

    order = models.OneToOneField(ServiceOrder, verbose_name=_("order"), on_delete=models.CASCADE, related_name="follow_up")
    week = models.DateField(_("week (Monday)"))
    called_at = models.DateTimeField(_("called at"), null=True, blank=True)
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("agent"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    reached = models.BooleanField(_("reached"), null=True)
    service_confirmed = models.BooleanField(_("elder confirms the service took place"), null=True)
    satisfaction = models.PositiveSmallIntegerField(_("satisfaction (1–5)"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    objects = ScopedManager()
    scope = ScopePolicy(area="order__elder__area", elder="order__elder")

    class Meta:
        verbose_name = _("follow-up call")
        verbose_name_plural = _("follow-up calls")
        ordering = ["week", "order"]

    def __str__(self):
        return f"{self.order_id} {self.week}"


class Settlement(models.Model):
    """A provider's monthly statement: verified orders, who pays them, deductions; downloadable, disputable."""

    class Status(models.TextChoices):
        ISSUED = "issued", _("issued to the provider")
        DISPUTED = "disputed", _("disputed by the provider")
        ACCEPTED = "accepted", _("accepted")

    provider = models.ForeignKey("organizations.Organization", verbose_name=_("provider"), on_delete=models.PROTECT,
                                 related_name="settlements")
    month = models.DateField(_("month"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ISSUED)
    order_count = models.PositiveIntegerField(_("orders"), default=0)
    voucher_fen = models.BigIntegerField(_("paid from vouchers (fen)"), default=0)
    self_pay_fen = models.BigIntegerField(_("paid by the elder (fen)"), default=0)
    government_fen = models.BigIntegerField(_("government-purchased (fen)"), default=0)
    deduction_fen = models.BigIntegerField(_("deductions (fen)"), default=0)
    dispute = models.TextField(_("dispute"), blank=True)
    issued_at = models.DateTimeField(_("issued at"), auto_now_add=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    objects = ScopedManager()
    scope = ScopePolicy(area="provider__area", organization="provider")

    class Meta:
        verbose_name = _("settlement")
        verbose_name_plural = _("settlements")
        ordering = ["-month", "provider"]
        constraints = [models.UniqueConstraint(fields=["provider", "month"], name="settlement_once_per_month")]

    def __str__(self):
        return f"{self.provider_id} {self.month:%Y-%m}"


class SettlementLine(models.Model):
    """One settled order; an order is settled once (unique), so no order is paid twice."""

    settlement = models.ForeignKey(Settlement, on_delete=models.CASCADE, related_name="lines")
    order = models.OneToOneField(ServiceOrder, on_delete=models.PROTECT, related_name="settlement_line")
    payer = models.CharField(_("paid by"), max_length=12, choices=Payer.choices)
    amount_fen = models.PositiveIntegerField(_("amount (fen)"))
    deduction_fen = models.PositiveIntegerField(_("deduction (fen)"), default=0)
    deduction_reason = models.CharField(_("reason for deduction"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("settlement line")
        verbose_name_plural = _("settlement lines")
        constraints = [models.CheckConstraint(condition=Q(deduction_fen__lte=models.F("amount_fen")),
                                              name="settlement_deduction_within_amount")]

    def __str__(self):
        return f"{self.settlement_id} {self.order_id}"
