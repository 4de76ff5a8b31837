"""The listener on the real broker (Mosquitto on 127.0.0.1:1883): bad input, floods, restarts, redelivery.

Devices publish with QoS 1 from a separate MQTT client; the listener runs in a
thread, as ``yiyang mqtt-listen`` runs it. An acknowledgement on the device's
ack topic is sent only after the commit, so the tests wait for it before they
look in the database.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time
import uuid

import pytest
from django.db import OperationalError, connection

from yiyang.alarms import command, store
from yiyang.alarms.models import Alarm, RejectedMessage, Telemetry

from .conftest import envelope, now_iso, wait_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def sos(msg_id, **fields):
    return {"msg_id": msg_id, "ts": now_iso(), "type": "sos", **fields}


def test_an_sos_is_stored_and_acknowledged(devices, device_side, listeners):
    listeners.start()
    device_side.send("t-a-sos", "secret-a_sos", sos("s-1", battery=80))
    ack = device_side.wait_ack("t-a-sos", "s-1")
    assert [(a["msg_id"], a["status"], "reason" in a) for a in ack] == [("s-1", "stored", False)]
    alarm = Alarm.objects.get(device_id="t-a-sos", msg_id="s-1")
    assert alarm.type == "sos" and alarm.status == "new" and alarm.payload["battery"] == 80


def test_bad_input_is_logged_and_the_listener_keeps_going(devices, device_side, listeners):
    listener = listeners.start()
    device_side.publish("t-a-sos", b"{this is not json")
    device_side.send("t-nobody", "whatever", sos("u-1"))
    device_side.publish("t-a-sos", envelope(sos("w-1"), "secret-a_sos", sig="0" * 64))
    device_side.publish("t-a-sos", b"{" + b" " * (1024 * 1024) + b"}")  # 1 MB
    device_side.send("t-a-sos", "secret-a_sos", sos("after-all-that"))
    device_side.wait_ack("t-a-sos", "after-all-that")
    reasons = {a["reason"] for a in device_side.wait_ack("t-a-sos", None, count=4) if a["status"] == "rejected"}
    assert reasons == {"not_json", "bad_signature", "too_large"}
    assert device_side.wait_ack("t-nobody")[0]["reason"] == "unknown_device"
    assert set(RejectedMessage.objects.values_list("reason", flat=True)) == {
        "not_json", "unknown_device", "bad_signature", "too_large"}
    big = RejectedMessage.objects.get(reason="too_large")
    assert big.size == 1024 * 1024 + 2 and len(big.raw) == 2000
    assert list(Alarm.objects.values_list("msg_id", flat=True)) == ["after-all-that"]
    assert listener.counts == {"stored": 1, "duplicate": 0, "rejected": 4}


def test_a_replayed_message_is_the_same_alarm(devices, device_side, listeners):
    listeners.start()
    payload = envelope(sos("r-1"), "secret-a_sos")
    for _ in range(3):
        device_side.publish("t-a-sos", payload)
    acks = device_side.wait_ack("t-a-sos", "r-1", count=3)
    assert sorted(a["status"] for a in acks) == ["duplicate", "duplicate", "stored"]
    assert Alarm.objects.filter(msg_id="r-1").count() == 1


def test_a_clock_years_off_is_stored_and_flagged(devices, device_side, listeners):
    listeners.start()
    device_side.send("t-a-sos", "secret-a_sos", {"msg_id": "c-1", "ts": "2019-03-01T09:00:00+08:00", "type": "fall"})
    assert device_side.wait_ack("t-a-sos", "c-1")[0]["status"] == "stored"
    alarm = Alarm.objects.get(msg_id="c-1")
    assert alarm.clock_skew_flag and alarm.device_time == dt.datetime(2019, 3, 1, 1, 0, tzinfo=dt.UTC)


def test_a_telemetry_flood_is_limited_while_alarms_go_through_at_once(devices, device_side, listeners):
    listeners.start()
    started = time.monotonic()
    sent_sos = {}
    for n in range(300):
        device_side.publish("t-a-mattress", envelope({"msg_id": f"v{n}", "ts": now_iso(), "type": "vitals",
                                                      "heart_rate": 70}, "secret-a_mattress"))
        if n == 150:
            sent_sos["mattress"] = device_side.send("t-a-mattress", "secret-a_mattress", sos("flood-sos"))
            sent_sos["other"] = device_side.send("t-b-sos", "secret-b_sos", sos("other-sos"))
    acks = device_side.wait_ack("t-a-mattress", None, count=301)
    elapsed = time.monotonic() - started
    sos_ack = next(a for a in acks if a["msg_id"] == "flood-sos")
    other_ack = device_side.wait_ack("t-b-sos", "other-sos")[0]
    assert sos_ack["status"] == "stored" and other_ack["status"] == "stored"
    # Neither alarm waited behind the flood: acknowledged well within a second of being sent.
    assert sos_ack["at"] - sent_sos["mattress"] < 1.0 and other_ack["at"] - sent_sos["other"] < 1.0
    stored = Telemetry.objects.filter(device_id="t-a-mattress").count()
    assert 5 <= stored <= 5 + elapsed + 1  # burst 5, then 1 a second
    limited = [a for a in acks if a.get("reason") == "rate_limited"]
    assert len(limited) == 300 - stored
    assert RejectedMessage.objects.filter(reason="rate_limited").count() == 1


def test_messages_sent_while_the_listener_is_down_arrive_when_it_is_back(devices, device_side, listeners):
    client_id = f"test-restart-{uuid.uuid4().hex[:8]}"
    first = listeners.start(client_id)
    device_side.send("t-a-sos", "secret-a_sos", sos("before"))
    device_side.wait_ack("t-a-sos", "before")
    listeners.stop(first)
    for n in range(5):
        device_side.send("t-a-sos", "secret-a_sos", sos(f"while-down-{n}"))  # the broker holds them (QoS 1 session)
    time.sleep(0.3)
    assert not Alarm.objects.filter(msg_id__startswith="while-down").exists()
    listeners.start(client_id)
    device_side.wait_ack("t-a-sos", None, count=6)
    assert Alarm.objects.filter(msg_id__startswith="while-down").count() == 5


def test_a_message_is_acknowledged_only_after_it_was_stored(devices, device_side, listeners, monkeypatch):
    """The database fails once: nothing is acknowledged, the broker redelivers, the alarm is stored once."""
    real = store.store_alarms
    calls = []

    def failing_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("database is down")
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "store_alarms", failing_once)
    listener = listeners.start()
    device_side.send("t-a-sos", "secret-a_sos", sos("crash-1"))
    ack = device_side.wait_ack("t-a-sos", "crash-1", timeout=15)
    assert ack[0]["status"] == "stored" and len(calls) == 2
    assert Alarm.objects.filter(msg_id="crash-1").count() == 1
    assert listener.counts["stored"] == 1


def test_a_bug_on_one_message_does_not_stop_the_listener(devices, device_side, listeners, monkeypatch):
    real = store.store_alarms

    def buggy(items):
        if any(item.msg.msg_id == "poison" for item in items):
            raise KeyError("bug")
        return real(items)

    monkeypatch.setattr(store, "store_alarms", buggy)
    listeners.start()
    device_side.send("t-a-sos", "secret-a_sos", sos("poison"))
    device_side.send("t-a-sos", "secret-a_sos", sos("healthy"))
    assert device_side.wait_ack("t-a-sos", "healthy")[0]["status"] == "stored"
    assert device_side.wait_ack("t-a-sos", "poison")[0]["reason"] == "internal_error"
    assert RejectedMessage.objects.filter(reason="internal_error").exists()


def test_the_command_stops_cleanly_on_sigterm(devices, device_side, prefix, listeners):
    """``yiyang mqtt-listen`` as run from the shell: stores, then SIGTERM ends it with exit code 0."""
    client_id = f"test-command-{uuid.uuid4().hex[:8]}"
    listeners.stop(listeners.start(client_id))  # the session exists: the broker holds what comes before it subscribes
    parser = command_parser()
    args = parser.parse_args(["--client-id", client_id, "--topic-prefix", prefix])
    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)

    def drive():
        device_side.send("t-a-sos", "secret-a_sos", sos("cmd-1"))
        device_side.wait_ack("t-a-sos", "cmd-1")
        os.kill(os.getpid(), signal.SIGTERM)

    driver = threading.Thread(target=drive, daemon=True)
    driver.start()
    try:
        assert command.run(args) == 0
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
        from yiyang.alarms.listener import forget_session

        forget_session(client_id)
    driver.join(5)
    assert Alarm.objects.filter(msg_id="cmd-1").exists()


def command_parser():
    import argparse

    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return parser


def test_a_graceful_stop_in_full_flow_leaves_nothing_to_redeliver_twice(devices, device_side, listeners):
    """Stopped while alarms stream in: what it stored it acknowledged, so its successor stores the rest once."""
    client_id = f"test-handover-{uuid.uuid4().hex[:8]}"
    first = listeners.start(client_id)
    sent = []

    def stream():
        for n in range(400):
            info = device_side.client.publish(f"{device_side.prefix}/t-a-sos/events",
                                              envelope(sos(f"flow-{n}"), "secret-a_sos"), qos=1)
            sent.append(info)
            if n % 20 == 0:
                time.sleep(0.01)

    streamer = threading.Thread(target=stream)
    streamer.start()
    wait_for(lambda: first.counts["stored"] >= 100)
    listeners.stop(first)
    listeners.start(client_id)
    streamer.join()
    acks = device_side.wait_ack("t-a-sos", None, count=400, timeout=20)
    assert first.counts["stored"] > 0
    assert sorted(a["status"] for a in acks).count("duplicate") == 0
    assert Alarm.objects.filter(msg_id__startswith="flow-").count() == 400


def test_a_standby_listener_connects_only_on_sigusr1(devices, device_side, prefix, listeners):
    """The deploy handover: the new listener waits, loaded; the broker holds alarms until it is told to go."""
    client_id = f"test-standby-{uuid.uuid4().hex[:8]}"
    listeners.stop(listeners.start(client_id))  # the session exists, as it would in production
    args = command_parser().parse_args(["--client-id", client_id, "--topic-prefix", prefix, "--standby"])
    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)}
    seen_before_go = []

    def drive():
        device_side.send("t-a-sos", "secret-a_sos", sos("held"))
        time.sleep(1.0)
        seen_before_go.append(Alarm.objects.filter(msg_id="held").exists())
        connection.close()  # this thread's own connection (PostgreSQL would keep the test database busy)
        os.kill(os.getpid(), signal.SIGUSR1)
        device_side.wait_ack("t-a-sos", "held")
        os.kill(os.getpid(), signal.SIGTERM)

    driver = threading.Thread(target=drive, daemon=True)
    driver.start()
    try:
        assert command.run(args) == 0
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    driver.join(5)
    assert seen_before_go == [False]
    assert Alarm.objects.filter(msg_id="held").count() == 1
