"""Emergency alarms (紧急呼叫/安全监护): devices, what they report, and the alarms that need a person.

A ``Device`` is registered to an area (where it is installed) and usually to an
elder; the listener (``listener.py``) turns its signed MQTT messages into
``Alarm`` rows (one per device message id, enforced by the database),
``Telemetry`` rows, device status, or ``RejectedMessage`` rows. Alarms copy the
device's area, elder and organisation when they are raised, so moving a device
later does not move its past alarms out of the jurisdiction they happened in.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yiyang.core.fields import EncryptedTextField
from yiyang.core.scoping import ScopedManager, ScopePolicy
from yiyang.notifications.models import Channel as NotifyChannel

from .catalogue import AlarmType, DeviceKind, Metric


class Placement(models.TextChoices):
    HOME = "home", _("elder's home")
    INSTITUTION = "institution", _("institution bed")
    COMMUNITY = "community", _("community site")


class Device(models.Model):
    """A registered device. Its id is the one in its MQTT topic; its secret signs every message."""

    device_id = models.SlugField(_("device id"), max_length=64, primary_key=True)
    kind = models.CharField(_("kind"), max_length=20, choices=DeviceKind.choices)
    # The listener needs the clear secret to check signatures, so it is encrypted, not hashed.
    secret = EncryptedTextField(_("secret"))
    elder = models.ForeignKey("people.Elder", verbose_name=_("elder"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="devices")
    # Where the device is installed: decides whose jurisdiction its alarms fall in.
    area = models.ForeignKey("areas.Area", verbose_name=_("area"), to_field="code", db_column="area_code",
                             on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey("organizations.Organization", verbose_name=_("responsible organisation"),
                                     null=True, blank=True, on_delete=models.PROTECT, related_name="devices",
                                     help_text=_("The institution or provider that answers its alarms, if any."))
    placement = models.CharField(_("placement"), max_length=12, choices=Placement.choices, default=Placement.HOME)
    location_note = models.CharField(_("location"), max_length=200, blank=True,
                                     help_text=_("Home address detail or institution building, room and bed."))
    heartbeat_seconds = models.PositiveIntegerField(
        _("heartbeat interval (seconds)"), null=True, blank=True,
        help_text=_("Expected time between heartbeats; empty means the device is not watched for silence."))
    battery = models.PositiveSmallIntegerField(_("battery (%)"), null=True, blank=True)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    # last_seen_at + missed heartbeats × interval; cleared once the outage has raised its alarm.
    offline_after = models.DateTimeField(null=True, blank=True, editable=False)
    # The listener's memory between messages: {"outside": bool, "vitals": [metric, ...]}.
    alert_state = models.JSONField(default=dict, blank=True, editable=False)
    inactivity_hours = models.PositiveSmallIntegerField(
        _("no-movement alarm after (hours)"), null=True, blank=True,
        help_text=_("Raise an alarm when the device notices no movement for this long; empty means never."))
    last_activity_at = models.DateTimeField(_("last movement"), null=True, blank=True, editable=False)
    # last_activity_at + inactivity_hours; cleared once the stillness has raised its alarm (like offline_after).
    still_after = models.DateTimeField(null=True, blank=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    registered_at = models.DateTimeField(_("registered at"), default=timezone.now)

    objects = ScopedManager()
    scope = ScopePolicy(area="area", organization="organization", elder="elder")

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        ordering = ["device_id"]
        indexes = [models.Index(fields=["offline_after"], name="device_offline_after"),
                   models.Index(fields=["still_after"], name="device_still_after")]
        constraints = [models.CheckConstraint(condition=Q(battery__isnull=True) | Q(battery__lte=100),
                                              name="device_battery_percent")]

    def __str__(self):
        return self.device_id


class AlarmStatus(models.TextChoices):
    """The alarm's life. The console adds its steps (dispatched, on scene, escalated ...) between these."""

    NEW = "new", _("new")
    ACKNOWLEDGED = "acknowledged", _("acknowledged")
    CLOSED = "closed", _("closed")


class Outcome(models.TextChoices):
    """What an alarm turned out to be; the record is frozen once it has one."""

    FALSE_ALARM = "false_alarm", _("false alarm")
    RESOLVED_AT_HOME = "resolved_at_home", _("resolved at home")
    HOSPITAL = "hospital", _("taken to hospital")
    DEATH = "death", _("death")
    DEVICE_FAULT = "device_fault", _("device fault or flat battery")
    TEST = "test", _("test or installation")


class AlarmSource(models.TextChoices):
    DEVICE = "device", _("device")
    PLATFORM = "platform", _("platform check")
    AGENT = "agent", _("hotline agent")


class Alarm(models.Model):
    """One alarm: one device message, one platform finding, or one call for help taken by an agent.

    The same device ``msg_id`` again is this row. Once closed (with an outcome) the row
    is frozen: a trigger refuses any UPDATE of a closed alarm on both databases.
    """

    device = models.ForeignKey(Device, verbose_name=_("device"), on_delete=models.PROTECT, null=True, blank=True,
                               related_name="alarms", db_index=False)  # the unique constraint indexes it
    msg_id = models.CharField(_("message id"), max_length=100)
    type = models.CharField(_("type"), max_length=24, choices=AlarmType.choices)
    source = models.CharField(_("raised by"), max_length=10, choices=AlarmSource.choices, default=AlarmSource.DEVICE)
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("raised by agent"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    call = models.ForeignKey("homecare.CallRecord", verbose_name=_("call"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="alarms")
    service_order = models.ForeignKey("homecare.ServiceOrder", verbose_name=_("urgent service order"), null=True,
                                      blank=True, on_delete=models.PROTECT, related_name="alarms")
    priority = models.PositiveSmallIntegerField(_("priority"), default=2)
    status = models.CharField(_("status"), max_length=20, choices=AlarmStatus.choices, default=AlarmStatus.NEW)
    device_time = models.DateTimeField(_("device time"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    clock_skew_flag = models.BooleanField(_("device clock off"), default=False)
    payload = models.JSONField(_("message"), default=dict, blank=True)
    elder = models.ForeignKey("people.Elder", verbose_name=_("elder"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="alarms")
    area_code = models.CharField(_("area"), max_length=12)
    organization = models.ForeignKey("organizations.Organization", verbose_name=_("responsible organisation"),
                                     null=True, blank=True, on_delete=models.PROTECT, related_name="alarms")
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("acknowledged by"), null=True,
                                        blank=True, on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("closed by"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True)
    note = models.TextField(_("note"), blank=True)

    objects = ScopedManager()
    scope = ScopePolicy(area="area_code", organization="organization", elder="elder")

    class Meta:
        verbose_name = _("alarm")
        verbose_name_plural = _("alarms")
        ordering = ["-received_at", "-id"]
        permissions = [("handle_alarm", "Can acknowledge and close alarms")]
        indexes = [
            models.Index(fields=["area_code", "received_at"], name="alarm_area_received"),
            models.Index(fields=["received_at"], name="alarm_received"),
            models.Index(fields=["status", "priority", "received_at"], name="alarm_status_priority"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["device", "msg_id"], name="alarm_device_msg_unique"),
            models.UniqueConstraint(fields=["msg_id"], condition=Q(device__isnull=True), name="alarm_deviceless_msg_unique"),
            models.CheckConstraint(condition=Q(status="closed", closed_at__isnull=False) & ~Q(outcome="")
                                   | ~Q(status="closed"), name="alarm_closed_has_outcome"),
            models.CheckConstraint(condition=Q(device__isnull=False) | ~Q(source="device"),
                                   name="alarm_device_source_has_device"),
        ]

    def __str__(self):
        return f"{self.get_type_display()} {self.device_id} {self.msg_id}"


class AlarmEvent(models.Model):
    """Each step taken on an alarm after it was raised, with who and when (the console's timeline).

    Append-only, and none is added once the alarm is closed (triggers on both databases).
    """

    alarm = models.ForeignKey(Alarm, verbose_name=_("alarm"), on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("step time"), default=timezone.now)
    status = models.CharField(_("status"), max_length=24)  # an alarm status, or the escalation action done
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("done by"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    note = models.TextField(_("note"), blank=True)

    objects = ScopedManager()
    scope = ScopePolicy(area="alarm__area_code", organization="alarm__organization", elder="alarm__elder")

    class Meta:
        verbose_name = _("alarm event")
        verbose_name_plural = _("alarm events")
        ordering = ["alarm", "at", "id"]

    def __str__(self):
        return f"{self.alarm_id} {self.status}"


class Telemetry(models.Model):
    """A stored vitals, location or door reading. Heartbeats only update the device and are not kept."""

    device = models.ForeignKey(Device, verbose_name=_("device"), on_delete=models.CASCADE,
                               related_name="telemetry", db_index=False)
    msg_id = models.CharField(_("message id"), max_length=64)
    type = models.CharField(_("type"), max_length=12)
    device_time = models.DateTimeField(_("device time"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    data = models.JSONField(_("reading"), default=dict)

    objects = ScopedManager()
    scope = ScopePolicy(area="device__area", organization="device__organization", elder="device__elder")

    class Meta:
        verbose_name = _("telemetry reading")
        verbose_name_plural = _("telemetry readings")
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["device", "received_at"], name="telemetry_device_received"),
                   models.Index(fields=["received_at"], name="telemetry_received")]
        constraints = [models.UniqueConstraint(fields=["device", "msg_id"], name="telemetry_device_msg_unique")]

    def __str__(self):
        return f"{self.type} {self.device_id} {self.msg_id}"


class RejectReason(models.TextChoices):
    TOO_LARGE = "too_large", _("message too large")
    BAD_TOPIC = "bad_topic", _("topic is not a device events topic")
    NOT_JSON = "not_json", _("not JSON")
    BAD_ENVELOPE = "bad_envelope", _("envelope is not {body, sig}")
    UNKNOWN_DEVICE = "unknown_device", _("unknown device")
    INACTIVE_DEVICE = "inactive_device", _("device deactivated")
    BAD_SIGNATURE = "bad_signature", _("wrong signature")
    BAD_BODY = "bad_body", _("body does not follow the schema")
    UNKNOWN_TYPE = "unknown_type", _("unknown message type")
    RATE_LIMITED = "rate_limited", _("telemetry over the device's rate limit")
    INTERNAL_ERROR = "internal_error", _("the listener failed on this message")


class RejectedMessage(models.Model):
    """A message that was not stored as an alarm or reading, with why. An operations log, never an alarm."""

    received_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)
    topic = models.CharField(_("topic"), max_length=255)
    device_ref = models.CharField(_("device id in the topic"), max_length=64, blank=True)
    # The known device's area (blank for unknown devices): officials see rejections of their own devices.
    area_code = models.CharField(_("area"), max_length=12, blank=True)
    msg_id = models.CharField(_("message id"), max_length=100, blank=True)
    reason = models.CharField(_("reason"), max_length=16, choices=RejectReason.choices)
    detail = models.CharField(_("detail"), max_length=255, blank=True)
    size = models.PositiveIntegerField(_("size (bytes)"))
    raw = models.TextField(_("start of the message"), blank=True)
    # Further rejections for the same topic and reason that were counted but not written one by one.
    suppressed = models.PositiveIntegerField(_("similar rejections not logged"), default=0)

    objects = ScopedManager()
    scope = ScopePolicy(area="area_code")

    class Meta:
        verbose_name = _("rejected message")
        verbose_name_plural = _("rejected messages")
        ordering = ["-received_at", "-id"]

    def __str__(self):
        return f"{self.reason} {self.topic}"


class VitalThreshold(models.Model):
    """An elder's own limits for one metric (set by the family doctor); other metrics use the defaults."""

    elder = models.ForeignKey("people.Elder", verbose_name=_("elder"), on_delete=models.CASCADE,
                              related_name="vital_thresholds")
    metric = models.CharField(_("metric"), max_length=16, choices=Metric.choices)
    min_value = models.FloatField(_("lowest normal value"), null=True, blank=True)
    max_value = models.FloatField(_("highest normal value"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ScopedManager()
    scope = ScopePolicy(area="elder__area", elder="elder")

    class Meta:
        verbose_name = _("vital-sign limit")
        verbose_name_plural = _("vital-sign limits")
        constraints = [
            models.UniqueConstraint(fields=["elder", "metric"], name="vital_threshold_unique"),
            models.CheckConstraint(condition=Q(min_value__isnull=True) | Q(max_value__isnull=True)
                                   | Q(min_value__lte=models.F("max_value")), name="vital_threshold_ordered"),
        ]

    def __str__(self):
        return f"{self.metric} {self.min_value}-{self.max_value}"


class Geofence(models.Model):
    """A safe zone around a point; a GPS watch leaving all of its elder's active zones raises an alarm."""

    elder = models.ForeignKey("people.Elder", verbose_name=_("elder"), on_delete=models.CASCADE,
                              related_name="geofences")
    name = models.CharField(_("zone name"), max_length=64)
    latitude = models.FloatField(_("latitude"))
    longitude = models.FloatField(_("longitude"))
    radius_m = models.PositiveIntegerField(_("radius (m)"))
    return_by = models.TimeField(_("back inside by"), null=True, blank=True,
                                 help_text=_("Raise an alarm if the elder is outside at this time of day."))
    # The last day whose return_by has been checked, so each day is judged once.
    return_checked_on = models.DateField(null=True, blank=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)

    objects = ScopedManager()
    scope = ScopePolicy(area="elder__area", elder="elder")

    class Meta:
        verbose_name = _("safe zone")
        verbose_name_plural = _("safe zones")
        constraints = [models.CheckConstraint(condition=Q(radius_m__gt=0), name="geofence_radius_positive")]

    def __str__(self):
        return self.name


class EscalationAction(models.TextChoices):
    ALERT_SUPERVISOR = "alert_supervisor", _("alert the supervisor")
    NOTIFY_CONTACTS = "notify_contacts", _("notify family contacts in call order")
    NOTIFY_ORGANIZATION = "notify_organization", _("notify the responsible organisation")
    DISPATCH_WORKER = "dispatch_worker", _("send the nearest available caregiver")
    ADVISE_EMERGENCY_CALL = "advise_emergency_call", _("advise calling 120/119 with the address")


class StepCondition(models.TextChoices):
    ALWAYS = "always", _("always (while the alarm is open)")
    UNACKNOWLEDGED = "unacknowledged", _("only if nobody has acknowledged the alarm")


class EscalationStep(models.Model):
    """One rung of the ladder for an alarm type: do ``action`` ``after_seconds`` after the alarm arrived.

    The ladder is data. Steps without a county form the city-wide ladder; a county
    whose response differs (caregivers farther away, its own duty office) gives
    itself its own ladder for a type, which then replaces the city's for its alarms
    of that type (``escalation.ladder``). Each new alarm copies its ladder's active
    steps into ``EscalationTask`` rows in the transaction that stores it, so a
    ladder edited later changes future alarms only.
    """

    alarm_type = models.CharField(_("alarm type"), max_length=24, choices=AlarmType.choices)
    county = models.ForeignKey("areas.Area", verbose_name=_("county"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+",
                               help_text=_("Empty: the city-wide ladder, followed by every county without its own."))
    position = models.PositiveSmallIntegerField(_("order"))
    after_seconds = models.PositiveIntegerField(_("seconds after the alarm"))
    action = models.CharField(_("action"), max_length=24, choices=EscalationAction.choices)
    condition = models.CharField(_("condition"), max_length=16, choices=StepCondition.choices,
                                 default=StepCondition.ALWAYS)
    channel = models.CharField(_("channel"), max_length=8, choices=NotifyChannel.choices, blank=True)
    emergency_number = models.CharField(_("emergency number"), max_length=3, blank=True,
                                        help_text=_("120 (ambulance) or 119 (fire), for the advice step."))
    is_active = models.BooleanField(_("active"), default=True)
    retired = models.BooleanField(_("retired"), default=False, editable=False,
                                  help_text=_("A county's step left when the county went back to the city ladder."))

    objects = ScopedManager()
    scope = ScopePolicy(area="county")  # a county's own ladder; the city-wide steps are read by everyone

    class Meta:
        verbose_name = _("escalation step")
        verbose_name_plural = _("escalation steps")
        ordering = ["alarm_type", "position"]
        constraints = [
            models.UniqueConstraint(fields=["alarm_type", "position"], condition=Q(county__isnull=True),
                                    name="escalation_step_unique"),
            models.UniqueConstraint(fields=["alarm_type", "county", "position"],
                                    condition=Q(county__isnull=False), name="escalation_step_unique_county"),
        ]

    def __str__(self):
        return f"{self.alarm_type} {self.county_id or 'city'} #{self.position} {self.action}"


class TaskState(models.TextChoices):
    PENDING = "pending", _("waiting")
    DONE = "done", _("done")
    SKIPPED = "skipped", _("not needed")
    FAILED = "failed", _("failed")


class EscalationTask(models.Model):
    """A timer: one step due on one alarm. Rows, not memory, so a restart loses none (ADR 0005).

    ``lease_until`` is set by the worker that took the task; a worker that dies
    leaves an expired lease, and the next worker takes the task again.
    """

    alarm = models.ForeignKey(Alarm, verbose_name=_("alarm"), on_delete=models.PROTECT, related_name="tasks")
    step = models.ForeignKey(EscalationStep, verbose_name=_("ladder step"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    action = models.CharField(_("action"), max_length=24, choices=EscalationAction.choices)
    condition = models.CharField(_("condition"), max_length=16, choices=StepCondition.choices,
                                 default=StepCondition.ALWAYS)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    due_at = models.DateTimeField(_("due at"))
    state = models.CharField(_("state"), max_length=8, choices=TaskState.choices, default=TaskState.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    result = models.CharField(_("result"), max_length=255, blank=True)

    objects = ScopedManager()
    scope = ScopePolicy(area="alarm__area_code", organization="alarm__organization", elder="alarm__elder")

    class Meta:
        verbose_name = _("escalation task")
        verbose_name_plural = _("escalation tasks")
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["due_at"], condition=Q(state="pending"), name="escalation_task_due")]
        constraints = [
            models.UniqueConstraint(fields=["alarm", "step"], condition=Q(step__isnull=False),
                                    name="escalation_task_once_per_step"),
        ]

    def __str__(self):
        return f"{self.alarm_id} {self.action} @ {self.due_at:%H:%M:%S}"


class WorkerBeat(models.Model):
    """The background worker's last sign of life, so the console can warn when timers are not running."""

    name = models.CharField(max_length=64, primary_key=True)
    beat_at = models.DateTimeField()
    host = models.CharField(max_length=128, blank=True)

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self):
        return self.name
