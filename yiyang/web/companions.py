"""The background processes a one-machine demo needs beside the web server (``make run``).

Production runs each as its own service (docs/deploy.md); here they are children
of ``yiyang demo`` and stop with it: the alarm worker (escalation timers and
messages), the device listener when a broker answers, and the live-console
server when Redis is configured.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
from pathlib import Path


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wanted() -> list[list[str]]:
    """Which companions to start, as ``yiyang`` argument lists."""
    from django.conf import settings

    from yiyang.alarms.listener import broker_address

    commands = [["alarm-worker"]]
    broker = broker_address(getattr(settings, "MQTT_URL", None) or "mqtt://127.0.0.1:1883")
    if _reachable(broker["host"], broker["port"]):
        commands.append(["mqtt-listen"])
    if os.environ.get("REDIS_URL"):
        commands.append(["serve-live"])
    return commands


def start() -> list[subprocess.Popen]:
    executable = Path(sys.executable).with_name("yiyang")
    children = []
    for command in wanted():
        print(f"Starting yiyang {' '.join(command)}", flush=True)
        children.append(subprocess.Popen([str(executable), *command]))

    def stop() -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()

    atexit.register(stop)
    return children
