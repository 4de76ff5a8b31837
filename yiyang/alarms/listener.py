"""The device listener: MQTT in, database rows out, and the broker acknowledged only after the commit.

One thread does everything (``client.loop`` calls ``on_message`` in it), so the
database connection, the caches and the rate limits need no locks. ``on_message``
only checks a message; what arrived together is then stored in one transaction
(``_flush``). The session is persistent (fixed client id, clean_session=False)
and acknowledgements are manual: a message is PUBACKed after the transaction
that stored it committed, so a listener that dies before that gets it again
when it reconnects. If the database fails,
nothing more is acknowledged; the listener reconnects after a pause and the
broker redelivers what was left unacknowledged.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import threading
import time
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from django.db import DatabaseError, close_old_connections, connection

from . import live, offline, watch
from .ingest import Item, Outcome, Processor, setting
from .models import RejectedMessage, Telemetry
from .validation import Rejected

log = logging.getLogger("yiyang.alarms")


def broker_address(url: str) -> dict:
    """``mqtt://[user:password@]host[:port]`` (or ``mqtts://`` for TLS) → connection settings."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError(f"MQTT_URL must start with mqtt:// or mqtts://, not {url!r}")
    tls = parts.scheme in ("mqtts", "ssl")
    return {"host": parts.hostname or "127.0.0.1", "port": parts.port or (8883 if tls else 1883), "tls": tls,
            "username": parts.username, "password": parts.password}


def no_delay(client, userdata, sock) -> None:
    """Acknowledgements are tiny packets: send each at once instead of waiting to fill a segment (Nagle)."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):  # not TCP (unix socket, websockets)
        pass


class Listener:
    def __init__(self, *, url: str | None = None, client_id: str | None = None, topic_prefix: str | None = None,
                 processor: Processor | None = None, periodic_seconds: float | None = None):
        self.address = broker_address(url or setting("MQTT_URL", None) or "mqtt://127.0.0.1:1883")
        self.client_id = client_id or setting("MQTT_CLIENT_ID", "yiyang-listener")
        self.processor = processor or Processor(topic_prefix=topic_prefix)
        self.prefix = self.processor.prefix
        self.periodic_seconds = periodic_seconds or setting("ALARMS_OFFLINE_CHECK_SECONDS", 30)
        self.retention_days = setting("ALARMS_TELEMETRY_RETENTION_DAYS", 90)
        self.stop_event = threading.Event()
        self.ready = threading.Event()  # connected and subscribed
        self.storage_failed = False
        self.closing = False  # disconnecting on purpose (see _close_gently)
        self.batch: list[tuple[int, int, Item]] = []
        self.max_batch = 200
        self.batches = 0
        self.counts = {"stored": 0, "duplicate": 0, "rejected": 0}
        self.client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=False,
                             protocol=mqtt.MQTTv311, manual_ack=True)
        client.max_inflight_messages_set(1000)  # our acknowledgements to devices (QoS 1)
        if self.address["username"]:
            client.username_pw_set(self.address["username"], self.address["password"])
        if self.address["tls"]:
            client.tls_set()
        client.on_socket_open = no_delay
        client.on_socket_close = self._close_gently
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_disconnect = self._on_disconnect
        return client

    @property
    def topic(self) -> str:
        return f"{self.prefix}/+/events"

    # --- callbacks (all in the loop's thread) -----------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.error("broker refused the connection: %s", reason_code)
            return
        log.info("connected to %s:%s as %s (session kept: %s)", self.address["host"], self.address["port"],
                    self.client_id, flags.session_present)
        client.subscribe(self.topic, qos=1)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        if all(not rc.is_failure for rc in reason_codes):
            log.info("listening on %s", self.topic)
            self.ready.set()
        else:
            log.error("subscription to %s refused: %s", self.topic, reason_codes)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self.ready.clear()
        if not self.stop_event.is_set():
            log.warning("disconnected from the broker: %s", reason_code)

    def _on_message(self, client, userdata, message):
        """Check the message now (no writes); it is stored with the rest of the batch by ``_flush``."""
        if self.storage_failed:
            return  # left unacknowledged: redelivered after the reconnect
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = repr(message._topic)[:255]
        try:
            item = self.processor.prepare(topic, message.payload)
        except DatabaseError:  # loading a device
            log.exception("database error on a message from %s; not acknowledged", topic)
            self.storage_failed = True
            return
        except Exception as exc:  # a bug must not stop the listener, nor loop on the same message for ever
            log.exception("failed on a message from %s", topic)
            item = Item(topic, message.payload, dt.datetime.now(dt.UTC), time.monotonic(),
                        rejected=Rejected("internal_error", repr(exc)))
        self.batch.append((message.mid, message.qos, item))

    def _flush(self) -> None:
        """Store the batch in one transaction; then, and only then, acknowledge each message."""
        if not self.batch:
            return
        batch, self.batch = self.batch, []
        items = [item for _, _, item in batch]
        self.batches += 1
        try:
            outcomes = self.processor.store_batch(items)
        except DatabaseError:
            log.exception("database error storing %d message(s); none acknowledged", len(batch))
            self.storage_failed = True
            return
        except Exception:
            log.exception("failed storing a batch; storing its messages one by one")
            try:
                outcomes = [self._store_one(item) for item in items]
            except DatabaseError:
                self.storage_failed = True
                return
        for (mid, qos, _), outcome in zip(batch, outcomes, strict=True):
            self.counts[outcome.status] += 1
            if outcome.device_id:
                self.client.publish(f"{self.prefix}/{outcome.device_id}/ack", json.dumps(outcome.ack()), qos=1)
            self.client.ack(mid, qos)  # only now, after the commit
        # Consoles hear of the alarms after the acknowledgements are on their way (a duplicate too: its
        # first announcement may have died with a listener that stored it but never acknowledged it).
        live.announce_on_commit(o.alarm_id for o in outcomes if o.alarm_id is not None)

    def _store_one(self, item: Item) -> Outcome:
        try:
            return self.processor.store_batch([item])[0]
        except DatabaseError:
            raise
        except Exception as exc:
            log.exception("failed on a message from %s", item.topic)
            item.accepted, item.rejected = None, Rejected("internal_error", repr(exc))
            return self.processor.store_batch([item])[0]

    # --- the loop ---------------------------------------------------------------------------------

    def _connect(self) -> bool:
        try:
            self.client.connect(self.address["host"], self.address["port"], keepalive=30)
            return True
        except OSError as exc:
            log.warning("cannot reach the broker at %s:%s: %s", self.address["host"], self.address["port"], exc)
            return False

    def _recover_storage(self, pause: float) -> None:
        """The database failed: drop the connection, wait, and reconnect so the broker redelivers."""
        try:
            connection.close()
        except DatabaseError:
            pass
        self.batch = []
        self.closing = True
        self.client.disconnect()
        self.client.loop(timeout=0.1)
        self.closing = False
        self.stop_event.wait(pause)
        self.storage_failed = False
        self._connect()

    def periodic(self, now: dt.datetime | None = None) -> None:
        """Every ``periodic_seconds``: offline devices, stillness, late returns, suppressed rejections, old telemetry."""
        now = now or dt.datetime.now(dt.UTC)
        close_old_connections()
        for raised, what in ((offline.raise_offline_alarms(now), "device(s) went offline"),
                             (watch.raise_still_alarms(now), "elder(s) did not move for too long"),
                             (watch.raise_late_returns(now), "elder(s) were not back in their safe zone in time")):
            if raised:
                log.warning("%d %s", len(raised), what)
                live.announce_on_commit(alarm.pk for alarm in raised)
        self.processor.flush_suppressed()
        if self.retention_days:
            Telemetry.objects.filter(received_at__lt=now - dt.timedelta(days=self.retention_days)).delete()
            RejectedMessage.objects.filter(received_at__lt=now - dt.timedelta(days=self.retention_days)).delete()

    def run(self) -> None:
        """Until :meth:`stop`: connect (retrying), process, run the periodic jobs; then disconnect cleanly."""
        backoff, next_periodic, connected = 1.0, 0.0, False
        live.warm()  # the consoles' Redis connection, before the first alarm needs it
        try:
            while not self.stop_event.is_set():
                if not connected:
                    connected = self._connect()
                    if not connected:
                        self.stop_event.wait(backoff)
                        backoff = min(backoff * 2, 30.0)
                        continue
                rc = self.client.loop(timeout=0.2)
                while rc == mqtt.MQTT_ERR_SUCCESS and self.batch and len(self.batch) < self.max_batch:
                    waiting = len(self.batch)  # take whatever else has already arrived into the same batch
                    rc = self.client.loop(timeout=0)
                    if len(self.batch) == waiting:
                        break
                self._flush()
                if rc != mqtt.MQTT_ERR_SUCCESS:
                    connected = False
                    self.stop_event.wait(min(backoff, 1.0))
                    continue
                if self.storage_failed:
                    self._recover_storage(backoff)
                    backoff = min(backoff * 2, 30.0)
                    continue
                backoff = 1.0
                if time.monotonic() >= next_periodic:
                    next_periodic = time.monotonic() + self.periodic_seconds
                    try:
                        self.periodic()
                    except DatabaseError:
                        log.exception("periodic jobs failed; retrying next time")
                        connection.close()
        finally:
            self._disconnect()
            connection.close()
            live.flush(2.0)  # the consoles' last news, still on its way to Redis

    def _close_gently(self, client, userdata, sock) -> None:
        """After our DISCONNECT: read until the broker closes, then let paho close the socket.

        Closing a socket with unread data in it (messages the broker sent meanwhile) makes the
        kernel reset the connection, and a reset can throw away our last acknowledgements still
        waiting in the broker's buffer: those messages would come again, as duplicates.
        """
        if not self.closing:
            return
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(0.2)
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline and sock.recv(65536):
                pass
        except (OSError, AttributeError):
            pass

    def _disconnect(self) -> None:
        """Send what is queued (acks included), then DISCONNECT; the broker keeps the session."""
        self.closing = True
        deadline = time.monotonic() + 2.0
        while self.client.want_write() and time.monotonic() < deadline:
            if self.client.loop(timeout=0.05) != mqtt.MQTT_ERR_SUCCESS:
                break
        self.client.disconnect()
        self.client.loop(timeout=0.1)

    def stop(self) -> None:
        self.stop_event.set()


def forget_session(client_id: str, url: str | None = None) -> None:
    """Remove a persistent session from the broker (tests and benchmarks clean up after themselves)."""
    address = broker_address(url or setting("MQTT_URL", None) or "mqtt://127.0.0.1:1883")
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    if address["username"]:
        client.username_pw_set(address["username"], address["password"])
    if address["tls"]:
        client.tls_set()
    client.connect(address["host"], address["port"])
    client.loop(timeout=0.5)
    client.disconnect()
