"""The elder registry. Personal data (ID number, phones, health) is encrypted at rest;
exact lookups use keyed blind indexes. Writes go through ``services.py``."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yiyang.core.fields import EncryptedTextField
from yiyang.core.masking import mask_id_number, mask_phone
from yiyang.core.scoping import ScopedManager, ScopePolicy


class Sex(models.TextChoices):
    MALE = "M", _("male")
    FEMALE = "F", _("female")


class ElderStatus(models.TextChoices):
    ALIVE = "alive", _("alive")
    DECEASED = "deceased", _("deceased")
    MOVED_AWAY = "moved_away", _("moved away")


class LivingArrangement(models.TextChoices):
    ALONE = "alone", _("lives alone")
    SPOUSE_ONLY = "spouse_only", _("with spouse only")
    WITH_CHILDREN = "with_children", _("with children")
    WITH_RELATIVES = "with_relatives", _("with other relatives")
    WITH_CARER = "with_carer", _("with a paid carer")
    INSTITUTION = "institution", _("in a care institution")


class Household(models.Model):
    """A registered household (户); elders of one household share it."""

    area = models.ForeignKey("areas.Area", verbose_name=_("village"), to_field="code", db_column="area_code", on_delete=models.PROTECT, related_name="+")
    address = models.CharField(_("address"), max_length=200, blank=True)

    objects = ScopedManager()
    scope = ScopePolicy(area="area", elder="members")

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")

    def __str__(self):
        return self.address or f"#{self.pk}"


class Elder(models.Model):
    """A resident aged 60 or over, registered in one village (12-digit area code)."""

    name = models.CharField(_("name"), max_length=64, db_index=True)
    id_number = EncryptedTextField(_("ID number"))
    id_index = models.CharField(max_length=32, editable=False)
    id_last4_index = models.CharField(max_length=32, editable=False)
    id_converted_from_15 = models.BooleanField(_("converted from a 15-digit number"), default=False)
    birth_date = models.DateField(_("birth date"), db_index=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    phone = EncryptedTextField(_("phone"), blank=True)
    phone_index = models.CharField(max_length=32, blank=True, editable=False)
    # Indexed by elder_area_status (area first): a second index on area alone only slows writes.
    area = models.ForeignKey("areas.Area", verbose_name=_("village"), to_field="code", db_column="area_code",
                             on_delete=models.PROTECT, related_name="+", db_index=False)
    address = models.CharField(_("current address"), max_length=200, blank=True)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    hukou_area_code = models.CharField(_("household registration (hukou) area"), max_length=12, blank=True,
                                       help_text=_("May lie outside the platform's area."))
    household = models.ForeignKey(Household, verbose_name=_("household"), null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    living_arrangement = models.CharField(_("living arrangement"), max_length=16, choices=LivingArrangement.choices, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=ElderStatus.choices, default=ElderStatus.ALIVE)
    death_date = models.DateField(_("date of death"), null=True, blank=True)
    moved_away_date = models.DateField(_("date moved away"), null=True, blank=True)
    moved_to = models.CharField(_("moved to"), max_length=200, blank=True)
    chronic_conditions = EncryptedTextField(_("chronic conditions"), blank=True)
    family_doctor = models.CharField(_("signed family doctor"), max_length=100, blank=True)
    family_doctor_signed_on = models.DateField(_("family doctor signed on"), null=True, blank=True)
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ScopedManager()
    scope = ScopePolicy(area="area", elder="pk")

    # Fields that hold personal data: masked in lists and in the audit log.
    SENSITIVE = {"id_number": mask_id_number, "phone": mask_phone, "chronic_conditions": lambda v: "***"}

    class Meta:
        verbose_name = _("elder")
        verbose_name_plural = _("elders")
        ordering = ["area_id", "name", "id"]
        permissions = [
            ("reveal_personal_data", "Can reveal ID numbers, phones and health data"),
            ("import_elders", "Can import elder rosters"),
            ("export_elders", "Can export elder lists"),
        ]
        # Blind indexes are matched exactly: plain b-tree indexes declared here, because
        # db_index/unique on a CharField also builds a LIKE index on PostgreSQL.
        indexes = [
            models.Index(fields=["area", "status"], name="elder_area_status"),
            models.Index(fields=["id_last4_index"], name="elder_id_last4"),
            models.Index(fields=["phone_index"], name="elder_phone"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["id_index"], name="elder_id_number_unique"),
            models.CheckConstraint(
                condition=(Q(status="deceased", death_date__isnull=False) | (~Q(status="deceased") & Q(death_date__isnull=True))),
                name="elder_death_date_iff_deceased",
            ),
            models.CheckConstraint(condition=Q(death_date__isnull=True) | Q(death_date__gte=models.F("birth_date")), name="elder_death_after_birth"),
        ]

    def __str__(self):
        return self.name

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)


class HardshipCategory(models.TextChoices):
    TEKUN = "tekun", _("extremely poor supported (特困)")
    DIBAO = "dibao", _("minimum living allowance (低保)")
    DIBAO_EDGE = "dibao_edge", _("near minimum allowance (低保边缘)")
    LIVING_ALONE = "living_alone", _("living alone (独居)")
    EMPTY_NEST = "empty_nest", _("empty nest (空巢)")
    LEFT_BEHIND = "left_behind", _("left behind (留守)")
    DISABLED = "disabled", _("disabled (失能)")
    SEMI_DISABLED = "semi_disabled", _("partly disabled (半失能)")
    SEVERE_DISABILITY = "severe_disability", _("severe disability (重残)")
    FAMILY_PLANNING_SPECIAL = "family_planning_special", _("special family-planning family (计生特殊家庭)")
    ADVANCED_AGE = "advanced_age", _("advanced age 80+ (高龄)")
    PRIORITY_CARE = "priority_care", _("priority entitled group (重点优抚)")


class HardshipSource(models.TextChoices):
    CIVIL_AFFAIRS = "civil_affairs", _("civil-affairs verification")
    VILLAGE_REPORT = "village_report", _("village (community) report")
    ASSESSMENT = "assessment", _("ability assessment")
    HOUSEHOLD_REGISTER = "household_register", _("public-security household register")
    DISABLED_FEDERATION = "disabled_federation", _("disabled persons' federation")
    IMPORT = "import", _("roster import")
    OTHER = "other", _("other")


class HardshipStatus(models.Model):
    """One dated membership of a hardship category, with where it came from.

    Rows are closed (end_date), never deleted, so the history stays. 高龄 is
    derived from the birth date by the registry's filters and is not recorded.
    """

    elder = models.ForeignKey(Elder, verbose_name=_("elder"), on_delete=models.CASCADE, related_name="hardships")
    category = models.CharField(_("category"), max_length=24, choices=HardshipCategory.choices)
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("until"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=24, choices=HardshipSource.choices)
    evidence = models.CharField(_("evidence"), max_length=300, blank=True, help_text=_("Document number or description."))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    objects = ScopedManager()
    scope = ScopePolicy(area="elder__area", elder="elder")

    class Meta:
        verbose_name = _("hardship status")
        verbose_name_plural = _("hardship statuses")
        ordering = ["-start_date", "category"]
        indexes = [models.Index(fields=["category", "end_date"], name="hardship_category_open")]
        constraints = [
            models.UniqueConstraint(fields=["elder", "category"], condition=Q(end_date__isnull=True), name="hardship_one_open_per_category"),
            models.CheckConstraint(condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")), name="hardship_end_after_start"),
        ]

    def __str__(self):
        return f"{self.elder} {self.get_category_display()}"


class Relation(models.TextChoices):
    SPOUSE = "spouse", _("spouse")
    SON = "son", _("son")
    DAUGHTER = "daughter", _("daughter")
    CHILD_IN_LAW = "child_in_law", _("son- or daughter-in-law")
    GRANDCHILD = "grandchild", _("grandchild")
    SIBLING = "sibling", _("sibling")
    RELATIVE = "relative", _("other relative")
    NEIGHBOUR = "neighbour", _("neighbour")
    VILLAGE_CADRE = "village_cadre", _("village cadre")
    OTHER = "other", _("other")


class Contact(models.Model):
    """A family member, guardian or emergency contact of an elder."""

    elder = models.ForeignKey(Elder, verbose_name=_("elder"), on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=64)
    relation = models.CharField(_("relation"), max_length=16, choices=Relation.choices)
    phone = EncryptedTextField(_("phone"), blank=True)
    phone_index = models.CharField(max_length=32, blank=True, editable=False)
    is_guardian = models.BooleanField(_("guardian"), default=False)
    is_emergency = models.BooleanField(_("emergency contact"), default=True)
    lives_together = models.BooleanField(_("lives in the same household"), default=False)
    priority = models.PositiveSmallIntegerField(_("call order"), default=1)

    objects = ScopedManager()
    scope = ScopePolicy(area="elder__area", elder="elder")

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["priority", "id"]
        indexes = [models.Index(fields=["phone_index"], name="contact_phone")]

    def __str__(self):
        return f"{self.name}（{self.get_relation_display()}）"

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)


class ElderAccess(models.Model):
    """Links a portal account (the elder or a family member) to the elders it may see."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="elder_links")
    elder = models.ForeignKey(Elder, on_delete=models.CASCADE, related_name="account_links")
    relation = models.CharField(_("relation"), max_length=16, choices=[("self", _("self")), *Relation.choices])

    objects = ScopedManager()
    scope = ScopePolicy(area="elder__area", elder="elder")

    class Meta:
        verbose_name = _("portal access")
        verbose_name_plural = _("portal access")
        constraints = [models.UniqueConstraint(fields=["user", "elder"], name="elder_access_unique")]

    def __str__(self):
        return f"{self.user} → {self.elder}"


class ResidenceMove(models.Model):
    """A move from one village of the platform to another (费随人走): the elder lives in ``to_area`` from ``moved_on``.

    Monthly benefits are paid by the area where the elder lived on the first day of
    the month, so a move never makes a month paid twice or missed.
    """

    elder = models.ForeignKey(Elder, verbose_name=_("elder"), on_delete=models.PROTECT, related_name="moves")
    from_area = models.ForeignKey("areas.Area", verbose_name=_("from"), to_field="code", db_column="from_area_code",
                                  on_delete=models.PROTECT, related_name="+")
    to_area = models.ForeignKey("areas.Area", verbose_name=_("to"), to_field="code", db_column="to_area_code",
                                on_delete=models.PROTECT, related_name="+")
    moved_on = models.DateField(_("moved on"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    objects = ScopedManager()
    scope = ScopePolicy(area="elder__area", elder="elder")

    class Meta:
        verbose_name = _("move within the city")
        verbose_name_plural = _("moves within the city")
        ordering = ["elder", "moved_on", "id"]
        indexes = [models.Index(fields=["moved_on", "from_area"], name="move_day_origin")]
        constraints = [
            models.UniqueConstraint(fields=["elder", "moved_on"], name="move_one_per_day"),
            models.CheckConstraint(condition=~Q(from_area=models.F("to_area")), name="move_changes_village"),
        ]

    def __str__(self):
        return f"{self.elder_id} {self.from_area_id}→{self.to_area_id} {self.moved_on}"
