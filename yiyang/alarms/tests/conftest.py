"""Devices of both test counties, a device-side MQTT client, and listeners on the real broker.

Every test gets its own topic prefix and client ids, and removes its persistent
sessions from the broker afterwards, so runs never see each other's messages.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
import pytest

from yiyang.alarms import services
from yiyang.alarms.listener import Listener, broker_address, forget_session
from yiyang.alarms.validation import sign

BROKER = broker_address("mqtt://127.0.0.1:1883")


def now_iso(delta: dt.timedelta = dt.timedelta()) -> str:
    return (dt.datetime.now(dt.UTC) + delta).isoformat()


def envelope(body: dict | str, secret: str, *, sig: str | None = None) -> bytes:
    text = body if isinstance(body, str) else json.dumps(body)
    return json.dumps({"body": text, "sig": sig if sig is not None else sign(text, secret)}).encode()


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out waiting")


@pytest.fixture
def prefix() -> str:
    return f"yiyang-test-{uuid.uuid4().hex[:10]}/devices"


@pytest.fixture
def devices(city):
    """Four devices: two per county, bound to elders, with their secrets."""
    made = {}
    for key, county, kind in (("a_sos", "510703", "sos_button"), ("a_watch", "510703", "gps_watch"),
                              ("a_mattress", "510703", "smart_mattress"), ("b_sos", "510704", "sos_button")):
        elder = city.elders[county][0]
        device, secret = services.register_device(acting_user=None, device_id=f"t-{key.replace('_', '-')}", kind=kind,
                                                  elder=elder, secret=f"secret-{key}", heartbeat_seconds=60)
        made[key] = device
    return made


@dataclass
class DeviceSide:
    """What devices do: publish QoS 1 to their events topic and read their acknowledgements."""

    prefix: str
    client: mqtt.Client
    acks: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, device_id: str, payload: bytes) -> float:
        info = self.client.publish(f"{self.prefix}/{device_id}/events", payload, qos=1)
        info.wait_for_publish(5)
        return time.monotonic()

    def send(self, device_id: str, secret: str, body: dict) -> float:
        return self.publish(device_id, envelope(body, secret))

    def acks_for(self, device_id: str, msg_id=None) -> list[dict]:
        with self.lock:
            return [a for a in self.acks if a["device_id"] == device_id and (msg_id is None or a.get("msg_id") == msg_id)]

    def wait_ack(self, device_id: str, msg_id=None, count: int = 1, timeout: float = 10.0) -> list[dict]:
        return wait_for(lambda: (found := self.acks_for(device_id, msg_id)) and len(found) >= count and found,
                        timeout=timeout)


def _broker_up() -> bool:
    try:
        with socket.create_connection((BROKER["host"], BROKER["port"]), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def broker():
    if not _broker_up():
        pytest.fail("No MQTT broker on 127.0.0.1:1883: start Mosquitto (mosquitto -d -c /etc/mosquitto/mosquitto.conf); "
                    ".ci/run does it")
    return BROKER


@pytest.fixture
def device_side(broker, prefix):
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-dev-{uuid.uuid4().hex[:8]}")
    side = DeviceSide(prefix=prefix, client=client)
    subscribed = threading.Event()

    def on_message(c, userdata, message):
        data = json.loads(message.payload)
        data["device_id"] = message.topic.split("/")[-2]
        data["at"] = time.monotonic()
        with side.lock:
            side.acks.append(data)

    client.on_message = on_message
    client.on_subscribe = lambda *a: subscribed.set()
    client.max_inflight_messages_set(100)
    client.connect(broker["host"], broker["port"])
    client.loop_start()
    client.subscribe(f"{prefix}/+/ack", qos=1)
    assert subscribed.wait(5)
    yield side
    client.disconnect()
    client.loop_stop()


@pytest.fixture
def listeners(broker, prefix):
    """``listeners.start(client_id=None)`` runs a listener in a thread; ``listeners.stop(l)`` stops one."""

    class Listeners:
        def __init__(self):
            self.running: dict[Listener, threading.Thread] = {}
            self.client_ids: set[str] = set()

        def start(self, client_id: str | None = None, **kwargs) -> Listener:
            client_id = client_id or f"test-listener-{uuid.uuid4().hex[:8]}"
            listener = Listener(client_id=client_id, topic_prefix=prefix, **kwargs)
            thread = threading.Thread(target=listener.run, daemon=True)
            thread.start()
            assert listener.ready.wait(5), "the listener did not subscribe"
            self.running[listener] = thread
            self.client_ids.add(client_id)
            return listener

        def stop(self, listener: Listener) -> None:
            listener.stop()
            self.running.pop(listener).join(10)

    manager = Listeners()
    yield manager
    for listener in list(manager.running):
        manager.stop(listener)
    for client_id in manager.client_ids:
        forget_session(client_id)
