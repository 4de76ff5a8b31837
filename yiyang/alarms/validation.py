"""Pure checks of one device message: size, topic, envelope, signature, body, clock.

No database and no MQTT here, so every rule is tested directly (with hypothesis
where inputs vary). Each failure is a :class:`Rejected` naming a reason code of
``RejectedMessage``; the listener logs it and acknowledges the message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import math
import re
from dataclasses import dataclass, field

from .catalogue import DEVICE_ALARM_TYPES, MESSAGE_TYPES, Metric

MAX_PAYLOAD_BYTES = 64 * 1024
# A device's message ids: letters and digits first, then also . _ : - (UUIDs, counters, timestamps).
# Ids the platform makes itself start with "@", so they never meet a device's.
MSG_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}")
DEVICE_ID_RE = re.compile(r"[A-Za-z0-9_\-]{1,64}")
VITAL_RANGE = (0.0, 1000.0)  # what any sensor could report at all; the elder's limits are checked later


class Rejected(Exception):
    def __init__(self, reason: str, detail: str = "", msg_id: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail[:255]
        self.msg_id = msg_id


@dataclass(frozen=True)
class Message:
    """A validated body. ``device_time`` is None only for an alarm whose ``ts`` was unusable."""

    msg_id: str
    type: str
    device_time: dt.datetime | None
    fields: dict = field(default_factory=dict)  # the type-specific fields, as sent
    body: dict = field(default_factory=dict)  # the whole body, as sent
    problems: tuple[str, ...] = ()  # what was wrong but kept (alarms are never dropped for it)

    @property
    def is_alarm(self) -> bool:
        return self.type in DEVICE_ALARM_TYPES


def device_id_from_topic(topic: str, prefix: str) -> str:
    """``<prefix>/<device_id>/events`` → device_id."""
    head, sep, rest = topic.partition(prefix.rstrip("/") + "/")
    if head or not sep or not rest.endswith("/events"):
        raise Rejected("bad_topic", topic[:100])
    device_id = rest[: -len("/events")]
    if not DEVICE_ID_RE.fullmatch(device_id):
        raise Rejected("unknown_device", f"device id {device_id[:64]!r} is not a registered form")
    return device_id


def check_size(payload: bytes, limit: int = MAX_PAYLOAD_BYTES) -> None:
    if len(payload) > limit:
        raise Rejected("too_large", f"{len(payload)} bytes > {limit}")


def parse_envelope(payload: bytes) -> tuple[str, str]:
    """``{"body": "<JSON text>", "sig": "<hex>"}`` → (body, sig)."""
    try:
        envelope = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Rejected("not_json", str(exc)) from None
    if not isinstance(envelope, dict):
        raise Rejected("bad_envelope", "not a JSON object")
    body, sig = envelope.get("body"), envelope.get("sig")
    if not isinstance(body, str) or not isinstance(sig, str):
        raise Rejected("bad_envelope", "body and sig must both be strings")
    return body, sig


def sign(body: str, secret: str) -> str:
    """HMAC-SHA256 of the body's UTF-8 bytes, keyed by the device secret, as lowercase hex."""
    return hmac.new(secret.encode("utf-8"), body.encode("utf-8"), hashlib.sha256).hexdigest()


def signature_ok(body: str, sig: str, secret: str) -> bool:
    """Constant-time comparison; upper-case hex is accepted too."""
    return hmac.compare_digest(sign(body, secret), sig.lower())


def parse_time(value) -> dt.datetime:
    """ISO 8601 with a UTC offset (``Z`` allowed); a time without an offset is ambiguous, so refused."""
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError("ts must be an ISO 8601 string")
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("ts has no UTC offset")
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("ts is outside the representable years") from None


def _number(value, low: float, high: float) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            and low <= value <= high)


def _check_fields(kind: str, body: dict) -> list[str]:
    """Problems with the type-specific fields (empty when they follow docs/devices.md)."""
    problems = []
    if "battery" in body and not (_number(body["battery"], 0, 100) and float(body["battery"]).is_integer()):
        problems.append("battery must be an integer 0-100")
    if kind == "vitals":
        present = [m for m in Metric.values if m in body]
        if not present:
            problems.append(f"vitals need at least one of {', '.join(Metric.values)}")
        problems += [f"{m} must be a number" for m in present if not _number(body[m], *VITAL_RANGE)]
        if "in_bed" in body and not isinstance(body["in_bed"], bool):
            problems.append("in_bed must be true or false")
    elif kind == "location" or (kind in DEVICE_ALARM_TYPES and ("lat" in body or "lon" in body)):
        if not (_number(body.get("lat"), -90, 90) and _number(body.get("lon"), -180, 180)):
            problems.append("lat and lon must be numbers (-90..90, -180..180)")
        if "accuracy_m" in body and not _number(body["accuracy_m"], 0, 1e6):
            problems.append("accuracy_m must be a number of metres")
    elif kind == "door" and body.get("state") not in ("open", "closed"):
        problems.append('door state must be "open" or "closed"')
    return problems


def body_digest_id(body: str) -> str:
    """The message id given to an alarm that came without a usable one: the same body, the same id."""
    return "@body:" + hashlib.sha256(body.encode("utf-8")).hexdigest()[:32]


def parse_body(body: str) -> Message:
    """Check the signed body. An alarm type is kept whatever else is wrong with it; telemetry is not."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise Rejected("bad_body", f"body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise Rejected("bad_body", "body is not a JSON object")
    kind = data.get("type")
    msg_id = data.get("msg_id")
    msg_id = msg_id if isinstance(msg_id, str) and MSG_ID_RE.fullmatch(msg_id) else None
    if not isinstance(kind, str) or kind not in MESSAGE_TYPES:
        raise Rejected("unknown_type", f"type {str(kind)[:40]!r}", msg_id or "")
    problems = []
    if msg_id is None:
        problems.append("msg_id missing or not of the documented form")
    try:
        device_time = parse_time(data.get("ts"))
    except (ValueError, TypeError) as exc:
        device_time = None
        problems.append(f"ts: {exc}")
    problems += _check_fields(kind, data)
    if problems and kind not in DEVICE_ALARM_TYPES:
        raise Rejected("bad_body", "; ".join(problems), msg_id or "")
    fields = {k: v for k, v in data.items() if k not in ("msg_id", "ts", "type")}
    return Message(msg_id=msg_id or body_digest_id(body), type=kind, device_time=device_time,
                   fields=fields, body=data, problems=tuple(problems))


def clock_skewed(device_time: dt.datetime | None, received_at: dt.datetime, tolerance_seconds: float) -> bool:
    """The device's clock is further off than the tolerance (or unreadable): keep the message, flag it."""
    if device_time is None:
        return True
    return abs((received_at - device_time).total_seconds()) > tolerance_seconds
