"""What devices may say: the message types, which of them are alarms, and how urgent each alarm is.

Plain data with no Django models, so the validation functions and the listener share
one list and docs/devices.md can be checked against it.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DeviceKind(models.TextChoices):
    SOS_BUTTON = "sos_button", _("SOS button")
    FALL_DETECTOR = "fall_detector", _("fall detector")
    SMOKE_DETECTOR = "smoke_detector", _("smoke detector")
    GAS_DETECTOR = "gas_detector", _("gas detector")
    DOOR_SENSOR = "door_sensor", _("door sensor")
    SMART_MATTRESS = "smart_mattress", _("smart mattress")
    GPS_WATCH = "gps_watch", _("GPS watch")


class AlarmType(models.TextChoices):
    # sent by devices
    SOS = "sos", _("SOS call")
    FALL = "fall", _("fall")
    SMOKE = "smoke", _("smoke (fire)")
    GAS = "gas", _("gas leak")
    OUT_OF_BED = "out_of_bed", _("out of bed too long")
    # raised by the platform from telemetry or silence
    VITALS = "vitals_out_of_range", _("vital signs out of range")
    GEOFENCE = "geofence_exit", _("left the safe zone")
    OFFLINE = "device_offline", _("device offline")
    LATE_RETURN = "late_return", _("not back in the safe zone by the set time")
    NO_MOVEMENT = "no_movement", _("no movement for hours")
    # raised by a hotline agent from a phone call
    CALL = "call", _("help asked for by phone")


# Message types a device sends that are alarms in themselves: never rate-limited, never dropped.
DEVICE_ALARM_TYPES = frozenset({"sos", "fall", "smoke", "gas", "out_of_bed"})
# Telemetry: rate-limited per device; vitals and location are checked against the elder's limits.
TELEMETRY_TYPES = frozenset({"vitals", "location", "heartbeat", "door"})
MESSAGE_TYPES = DEVICE_ALARM_TYPES | TELEMETRY_TYPES

# 1 = life at risk now, 2 = needs a call soon, 3 = maintenance. The console sorts by it.
PRIORITY = {
    AlarmType.SOS: 1, AlarmType.FALL: 1, AlarmType.SMOKE: 1, AlarmType.GAS: 1,
    AlarmType.VITALS: 1, AlarmType.CALL: 1, AlarmType.OUT_OF_BED: 2, AlarmType.GEOFENCE: 2,
    AlarmType.LATE_RETURN: 2, AlarmType.NO_MOVEMENT: 2, AlarmType.OFFLINE: 3,
}


class Metric(models.TextChoices):
    HEART_RATE = "heart_rate", _("heart rate (beats/min)")
    BREATHING_RATE = "breathing_rate", _("breathing rate (breaths/min)")
    SPO2 = "spo2", _("blood oxygen saturation (%)")
    SYSTOLIC = "systolic", _("systolic blood pressure (mmHg)")
    DIASTOLIC = "diastolic", _("diastolic blood pressure (mmHg)")
    TEMPERATURE = "temperature", _("body temperature (°C)")


# Used when an elder has no limit of their own for a metric: (lowest, highest), None = no limit.
DEFAULT_LIMITS: dict[str, tuple[float | None, float | None]] = {
    "heart_rate": (40, 130),
    "breathing_rate": (8, 30),
    "spo2": (90, None),
    "systolic": (90, 180),
    "diastolic": (50, 110),
    "temperature": (35.0, 38.5),
}
