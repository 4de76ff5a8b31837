"""One message in, one outcome out: validate, rate-limit telemetry, store, or log the rejection.

:class:`Processor` knows nothing of MQTT (the listener hands it a topic and bytes),
so tests drive it directly as well as through the broker. Device secrets are
cached in memory: a signature check must not cost a query and a decryption.
Database errors propagate: the listener must then *not* acknowledge the message.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from . import store, validation
from .catalogue import TELEMETRY_TYPES
from .models import RejectedMessage
from .ratelimit import KeyedLimiter, SuppressingLog
from .store import DUPLICATE, STORED, Accepted, DeviceInfo
from .validation import Rejected

log = logging.getLogger("yiyang.alarms")
RAW_KEPT = 2000  # characters of a rejected message kept in the log


def setting(name: str, default):
    return getattr(settings, name, default)


@dataclass(frozen=True)
class Outcome:
    status: str  # "stored" | "duplicate" | "rejected"
    device_id: str = ""
    msg_id: str = ""
    reason: str = ""
    alarm_id: int | None = None

    def ack(self) -> dict:
        """The acknowledgement the device gets on ``<prefix>/<device_id>/ack``."""
        data = {"msg_id": self.msg_id or None, "status": self.status}
        if self.reason:
            data["reason"] = self.reason
        return data


@dataclass
class DeviceCache:
    """Devices by id for ``ttl`` seconds; unknown ids are remembered briefly so garbage costs no query each."""

    ttl: float = 60.0
    negative_ttl: float = 10.0
    entries: dict[str, tuple[float, DeviceInfo | None]] = field(default_factory=dict)

    def get(self, device_id: str, now: float, *, fresh: bool = False) -> DeviceInfo | None:
        hit = self.entries.get(device_id)
        if hit is not None and not fresh:
            loaded, info = hit
            if now - loaded < (self.ttl if info is not None else self.negative_ttl):
                return info
        info = store.load_device(device_id)
        if len(self.entries) > 200_000:
            self.entries.clear()
        self.entries[device_id] = (now, info)
        return info

    def preload(self, now: float) -> int:
        """Every active device at once (a listener about to take over wants no cold start)."""
        from .models import Device

        for device_id in Device.objects.filter(is_active=True).values_list("pk", flat=True).iterator():
            self.get(device_id, now, fresh=True)
        return len(self.entries)

    def age(self, device_id: str, now: float) -> float:
        hit = self.entries.get(device_id)
        return now - hit[0] if hit else float("inf")


@dataclass
class Item:
    """One message between ``prepare`` (no writes) and ``store_batch`` (one transaction for many)."""

    topic: str
    payload: bytes
    received_at: dt.datetime
    now: float
    device_id: str = ""
    accepted: Accepted | None = None
    rejected: Rejected | None = None
    info: DeviceInfo | None = None
    msg_id: str = ""


class Processor:
    TOUCH_EVERY = 5.0  # seconds: a device's last_seen_at is written at most this often (battery changes at once)

    def __init__(self, *, topic_prefix: str | None = None, clock=time.monotonic):
        self.prefix = (topic_prefix or setting("MQTT_TOPIC_PREFIX", "yiyang/devices")).rstrip("/")
        self.clock = clock
        self.max_bytes = setting("ALARMS_MAX_PAYLOAD_BYTES", validation.MAX_PAYLOAD_BYTES)
        self.tolerance = setting("ALARMS_CLOCK_TOLERANCE_SECONDS", 300)
        self.missed = setting("ALARMS_MISSED_HEARTBEATS", 3)
        self.devices = DeviceCache()
        self.telemetry = KeyedLimiter(setting("ALARMS_TELEMETRY_RATE", 1.0), setting("ALARMS_TELEMETRY_BURST", 5))
        self.rejections = SuppressingLog(rate=1.0, burst=20)
        self.rate_limit_log = SuppressingLog(rate=1 / 60, burst=1)  # a flood: one row a minute per device
        self.last_rejection_row: dict[str, int] = {}
        self.touched: dict[str, tuple[float, int | None]] = {}  # device -> (when written, battery written)

    # --- the pipeline ---------------------------------------------------------------------------

    def process(self, topic: str, payload: bytes, received_at: dt.datetime | None = None) -> Outcome:
        """One message, checked and stored in its own transaction."""
        return self.store_batch([self.prepare(topic, payload, received_at)])[0]

    def prepare(self, topic: str, payload: bytes, received_at: dt.datetime | None = None) -> Item:
        """Everything but the writes: size, topic, envelope, device, signature, body, clock, rate limit."""
        item = Item(topic, payload, received_at or dt.datetime.now(dt.UTC), self.clock())
        try:
            item.device_id = validation.device_id_from_topic(topic, self.prefix)
            validation.check_size(payload, self.max_bytes)  # before the payload is parsed at all
            body, sig = validation.parse_envelope(payload)
            item.info = self._known_device(item.device_id, item.now)
            item.info = self._verify(item.info, body, sig, item.now)
            msg = validation.parse_body(body)
            item.msg_id = msg.msg_id
            if msg.type in TELEMETRY_TYPES and not self.telemetry.allow(item.device_id, item.now):
                raise Rejected("rate_limited", "telemetry over the device's limit", msg.msg_id)
            skewed = validation.clock_skewed(msg.device_time, item.received_at, self.tolerance)
            item.accepted = Accepted(item.info, msg, item.received_at, skewed)
        except Rejected as rejected:
            item.rejected = rejected
            item.msg_id = item.msg_id or rejected.msg_id
        return item

    def store_batch(self, items: list[Item]) -> list[Outcome]:
        """Store prepared messages in one transaction; singly if another writer got in between."""
        try:
            with transaction.atomic():
                return self._store(items)
        except IntegrityError:
            if len(items) == 1:
                return [Outcome(DUPLICATE, items[0].device_id, items[0].msg_id)]
            return [self.store_batch([item])[0] for item in items]

    def _store(self, items: list[Item]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(items)
        alarms = [i for i, item in enumerate(items) if item.accepted and item.accepted.msg.is_alarm]
        for i, (status, alarm_id) in zip(alarms, store.store_alarms([items[i].accepted for i in alarms]), strict=True):
            outcomes[i] = Outcome(status, items[i].device_id, items[i].msg_id, alarm_id=alarm_id)
        for i, item in enumerate(items):
            if outcomes[i] is not None:
                continue
            if item.rejected is not None:
                self.reject(item.topic, item.payload, item.rejected, device_id=item.device_id, info=item.info,
                            msg_id=item.msg_id, received_at=item.received_at, now=item.now)
                outcomes[i] = Outcome("rejected", item.device_id, item.msg_id, reason=item.rejected.reason)
            else:
                status, alarm_id = store.store_reading(item.accepted)
                outcomes[i] = Outcome(status, item.device_id, item.msg_id, alarm_id=alarm_id)
        self._touch([item for item, outcome in zip(items, outcomes, strict=True)
                     if item.accepted and outcome.status == STORED])
        return outcomes

    def _touch(self, items: list[Item]) -> None:
        """Last seen and battery, once per device per batch, and at most every few seconds unless the battery moved."""
        latest: dict[str, Item] = {}
        for item in items:
            latest[item.device_id] = item
        for device_id, item in latest.items():
            battery = store.battery_of(item.accepted.msg)
            written = self.touched.get(device_id)
            if written and item.now - written[0] < self.TOUCH_EVERY and battery in (None, written[1]):
                continue
            store.touch(item.info, item.received_at, battery, self.missed)
            self.touched[device_id] = (item.now, battery if battery is not None else (written or (0, None))[1])
        if len(self.touched) > 200_000:
            self.touched.clear()

    def _known_device(self, device_id: str, now: float) -> DeviceInfo:
        info = self.devices.get(device_id, now)
        if info is None:
            raise Rejected("unknown_device", device_id)
        return info

    def _verify(self, info: DeviceInfo, body: str, sig: str, now: float) -> DeviceInfo:
        """The signature with the cached secret, else once more with a fresh one (it may have just changed)."""
        if not validation.signature_ok(body, sig, info.secret) and self.devices.age(info.device_id, now) > 5:
            info = self.devices.get(info.device_id, now, fresh=True) or info
        if not info.is_active:
            raise Rejected("inactive_device", info.device_id)
        if not validation.signature_ok(body, sig, info.secret):
            raise Rejected("bad_signature", "HMAC-SHA256 of body does not match")
        return info

    # --- the rejected log -----------------------------------------------------------------------

    def reject(self, topic: str, payload: bytes, rejected: Rejected, *, device_id: str, info: DeviceInfo | None,
               msg_id: str, received_at: dt.datetime, now: float) -> None:
        key = f"{device_id or topic[:200]}|{rejected.reason}"
        book = self.rate_limit_log if rejected.reason == "rate_limited" else self.rejections
        write, suppressed = book.admit(key, now)
        log.debug("rejected %s on %s: %s", rejected.reason, topic[:200], rejected.detail)
        if not write:
            return
        raw = payload[:RAW_KEPT].decode("utf-8", errors="replace").replace("\x00", "\\x00")
        row = RejectedMessage.objects.create(
            received_at=received_at, topic=topic[:255], device_ref=device_id[:64],
            area_code=info.area_code if info else "", msg_id=(msg_id or "")[:100], reason=rejected.reason,
            detail=rejected.detail, size=len(payload), raw=raw, suppressed=suppressed)
        if len(self.last_rejection_row) > 100_000:
            self.last_rejection_row.clear()
        self.last_rejection_row[key] = row.pk

    def flush_suppressed(self) -> int:
        """Add the counts of rejections not written one by one to the last row written for each."""
        total = 0
        for book in (self.rejections, self.rate_limit_log):
            for key, count in book.pending().items():
                pk = self.last_rejection_row.get(key)
                if pk is not None:
                    RejectedMessage.objects.filter(pk=pk).update(suppressed=F("suppressed") + count)
                total += count
        return total
