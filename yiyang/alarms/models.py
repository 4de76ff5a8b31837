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
    is_active = models.BooleanField(_("active"), default=True)
    registered_at = models.DateTimeField(_("registered at"), default=timezone.now)

    objects = ScopedManager()
    scope = ScopePolicy(area="area", organization="organization", elder="elder")

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        ordering = ["device_id"]
        indexes = [models.Index(fields=["offline_after"], name="device_offline_after")]
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
    EMERGENCY = "emergency", _("real emergency, help given")
    FALSE_ALARM = "false_alarm", _("false alarm")
    TEST = "test", _("test or installation")
    DEVICE_FAULT = "device_fault", _("device fault")
    OTHER = "other", _("other")


class Alarm(models.Model):
    """One alarm: one device message (or one platform finding). The same ``msg_id`` again is this row."""

    device = models.ForeignKey(Device, verbose_name=_("device"), on_delete=models.PROTECT,
                               related_name="alarms", db_index=False)  # the unique constraint indexes it
    msg_id = models.CharField(_("message id"), max_length=100)
    type = models.CharField(_("type"), max_length=24, choices=AlarmType.choices)
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
            models.CheckConstraint(condition=Q(status="closed", closed_at__isnull=False) | ~Q(status="closed"),
                                   name="alarm_closed_has_time"),
        ]

    def __str__(self):
        return f"{self.get_type_display()} {self.device_id} {self.msg_id}"


class AlarmEvent(models.Model):
    """Each step taken on an alarm after it was raised, with who and when (the console's timeline)."""

    alarm = models.ForeignKey(Alarm, verbose_name=_("alarm"), on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("step time"), default=timezone.now)
    status = models.CharField(_("status"), max_length=20)
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
    is_active = models.BooleanField(_("active"), default=True)

    objects = ScopedManager()
    scope = ScopePolicy(area="elder__area", elder="elder")

    class Meta:
        verbose_name = _("safe zone")
        verbose_name_plural = _("safe zones")
        constraints = [models.CheckConstraint(condition=Q(radius_m__gt=0), name="geofence_radius_positive")]

    def __str__(self):
        return self.name
