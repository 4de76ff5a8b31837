"""``make run`` starts the alarm worker always, the listener only when a broker answers, the live server with Redis."""

from __future__ import annotations

import socket

from yiyang.web import companions


def test_the_worker_always_the_listener_when_a_broker_answers_the_live_server_with_redis(settings, monkeypatch):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens on this port now
    settings.MQTT_URL = f"mqtt://127.0.0.1:{port}"
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert companions.wanted() == [["alarm-worker"]]

    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    settings.MQTT_URL = f"mqtt://127.0.0.1:{listening.getsockname()[1]}"
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        assert companions.wanted() == [["alarm-worker"], ["mqtt-listen"], ["serve-live"]]
    finally:
        listening.close()
