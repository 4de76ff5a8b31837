"""Alarms through the real broker: none lost, none doubled, across a listener restart; publish-to-stored latency.

This process publishes ``--rate`` alarms a second (default 200) for ``--seconds`` (default 60) with
QoS 1 to Mosquitto on 127.0.0.1:1883, spread over 50 registered devices, while ``yiyang mqtt-listen``
runs as a separate process. Half-way through, the listener is restarted once (SIGTERM, or SIGKILL
with ``--kill``: then messages it had taken but not acknowledged are redelivered). Afterwards the
alarms stored are counted by msg_id against those published (goal: zero lost, zero duplicated),
and the latency from publishing (the ``ts`` in the body, set just before the publish) to storing
(``received_at``, set by the listener in the transaction that stores it) is printed as p50/p99.

The console is measured too: ``yiyang serve-live`` (Daphne, the WebSocket) runs as another child
process, and the listeners and it share a Redis channel layer (``--redis``, a database number and key
prefix of the run's own). A hotline agent's session is created in the database and a WebSocket client
(``websockets``) connects with its cookie, as a browser on the console page would; the time each
alarm id arrives on it is publish→console (the page then fetches the line over HTTP, not measured).
Goals: p99 ≤ 500 ms to stored, ≤ 1 s to the console. ``--no-console`` skips this part.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/alarms.py [--seconds 60] [--rate 200]

With a PostgreSQL DATABASE_URL the run uses a scratch database ``yiyang_bench_alarms``; otherwise a
temporary SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import report, scratch_database  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
YIYANG = str(REPO / ".venv" / "bin" / "yiyang")
DEVICES = 50
TYPES = ("sos", "fall", "smoke", "gas", "out_of_bed")


class ListenerProcess:
    """``yiyang mqtt-listen`` as a child process; ``start`` returns once it has subscribed."""

    def __init__(self, env: dict, client_id: str, prefix: str, log: list[str]):
        self.env, self.client_id, self.prefix = env, client_id, prefix
        self.process: subprocess.Popen | None = None
        self.log = log  # shared by the listeners of one run

    def start(self, timeout: float = 30.0, standby: bool = False) -> float:
        """Start and wait until it listens (or, with ``standby``, until it waits for SIGUSR1)."""
        started = time.monotonic()
        self.ready, self.standing_by, self.stopped = threading.Event(), threading.Event(), threading.Event()
        self.process = subprocess.Popen([YIYANG, "mqtt-listen", "--client-id", self.client_id, "--topic-prefix",
                                         self.prefix, *(["--standby"] if standby else [])], env=self.env,
                                        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)

        def drain(stream, ready, standing_by, stopped):
            for line in stream:
                self.log.append(line.rstrip())
                if "listening on" in line:
                    ready.set()
                if "standby" in line:
                    standing_by.set()
                if "stopped:" in line:  # disconnected: the session is free for the successor
                    stopped.set()

        threading.Thread(target=drain, args=(self.process.stderr, self.ready, self.standing_by, self.stopped),
                         daemon=True).start()
        if not (self.standing_by if standby else self.ready).wait(timeout):
            self.stop()
            sys.exit("the listener did not start:\n" + "\n".join(self.log[-20:]))
        return time.monotonic() - started

    def go(self, timeout: float = 30.0) -> None:
        """A standby listener: connect now."""
        self.process.send_signal(signal.SIGUSR1)
        if not self.ready.wait(timeout):
            sys.exit("the standby listener did not connect:\n" + "\n".join(self.log[-20:]))

    def stop(self, sig: int = signal.SIGTERM, wait_exit: bool = True) -> None:
        """Signal it; return once it has left the broker (its "stopped" line, or its exit)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            if sig == signal.SIGTERM and not wait_exit:
                self.stopped.wait(30)
            else:
                self.process.wait(30)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """``yiyang serve-live`` as a child process; ``start`` returns once its port accepts connections."""

    def __init__(self, env: dict):
        self.env, self.port = env, free_port()
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> None:
        self.process = subprocess.Popen([YIYANG, "serve-live", "--port", str(self.port)], env=self.env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit("serve-live exited:\n" + self.process.stderr.read())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        sys.exit("serve-live did not open its port")

    def cpu_seconds(self) -> float:
        """User + system CPU so far (Linux /proc), to tell it apart from the listeners' in RUSAGE_CHILDREN."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return 0.0

    def stop(self) -> None:
        self.cpu = self.cpu_seconds()
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def agent_session_cookie() -> str:
    """A logged-in hotline agent of the whole city, as the login page would leave it in the session table."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from yiyang.accounts.models import User
    from yiyang.accounts.roles import Role

    agent, _ = User.objects.get_or_create(username="bench-agent", defaults={
        "role": Role.HOTLINE_AGENT, "scope_area_id": "5107", "full_name": "bench agent"})
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(agent.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = agent.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


class ConsoleClient:
    """A console's WebSocket in a thread of its own: records when each alarm id first arrives (wall clock)."""

    def __init__(self, url: str, cookie: str):
        self.url, self.cookie = url, cookie
        self.arrivals: dict[int, float] = {}
        self.messages = 0
        self.ready = threading.Event()
        self.closed: str | None = None
        self.loop = asyncio.new_event_loop()
        self.stopping: asyncio.Event | None = None
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._run(),), daemon=True)

    def start(self, timeout: float = 15.0) -> None:
        self.thread.start()
        if not self.ready.wait(timeout):
            sys.exit(f"the console WebSocket did not get ready: {self.closed or 'no answer'}")

    async def _run(self) -> None:
        import websockets

        self.stopping = asyncio.Event()
        try:
            async with websockets.connect(self.url, additional_headers={"Cookie": self.cookie},
                                          origin="http://127.0.0.1:8000", max_queue=None) as socket_:
                receiver = asyncio.ensure_future(self._receive(socket_))
                await self.stopping.wait()
                receiver.cancel()
        except Exception as exc:  # reported by start() or at the end
            self.closed = repr(exc)

    async def _receive(self, socket_) -> None:
        async for raw in socket_:
            now = time.time()
            data = json.loads(raw)
            if data.get("ready"):
                self.ready.set()
            elif "alarm" in data:
                self.messages += 1
                self.arrivals.setdefault(int(data["alarm"]), now)

    def stop(self) -> None:
        if self.stopping is not None:
            self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(10)


def prepare_database() -> tuple[str, tempfile.TemporaryDirectory | None]:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return scratch_database("yiyang_bench_alarms"), None
    tmp = tempfile.TemporaryDirectory()
    return f"sqlite:///{tmp.name}/bench.sqlite3", tmp


def register_devices() -> dict[str, str]:
    from django.core.management import call_command

    from yiyang.alarms import services

    call_command("migrate", verbosity=0)
    secrets = {}
    for n in range(1, DEVICES + 1):
        device_id = f"bench-dev-{n}"
        _, secrets[device_id] = services.register_device(acting_user=None, device_id=device_id, kind="sos_button",
                                                         area_code="510703", secret=f"bench-secret-{n}")
    return secrets


class Publisher:
    """Paced QoS 1 publishing; collects the platform's acknowledgements by msg_id."""

    def __init__(self, prefix: str, secrets: dict[str, str]):
        import paho.mqtt.client as mqtt

        self.prefix, self.secrets = prefix, secrets
        self.device_ids = sorted(secrets)
        self.sent: dict[str, float] = {}  # msg_id -> monotonic time of publishing
        self.acks: dict[str, tuple[str, float]] = {}
        self.duplicate_acks = 0
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-publisher-{os.getpid()}")
        self.client.max_inflight_messages_set(1000)
        self.client.on_message = self.on_ack
        from yiyang.alarms.listener import no_delay

        self.client.on_socket_open = no_delay
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.connect("127.0.0.1", 1883)
        self.client.loop_start()
        self.client.subscribe(f"{prefix}/+/ack", qos=1)
        subscribed.wait(5)
        self.infos = []

    def on_ack(self, client, userdata, message):
        data = json.loads(message.payload)
        if data.get("status") == "duplicate":
            self.duplicate_acks += 1
        self.acks.setdefault(data.get("msg_id"), (data.get("status"), time.monotonic()))

    def publish(self, n: int) -> None:
        from yiyang.alarms.validation import sign

        device_id = self.device_ids[n % len(self.device_ids)]
        msg_id = f"b{n}"
        body = json.dumps({"msg_id": msg_id, "ts": dt.datetime.now(dt.UTC).isoformat(), "type": TYPES[n % len(TYPES)]})
        payload = json.dumps({"body": body, "sig": sign(body, self.secrets[device_id])})
        self.sent[msg_id] = time.monotonic()
        self.infos.append(self.client.publish(f"{self.prefix}/{device_id}/events", payload, qos=1))

    def run(self, rate: float, seconds: float, at_half=None) -> None:
        total = int(rate * seconds)
        start = time.monotonic()
        for n in range(total):
            target = start + n / rate
            delay = target - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.publish(n)
            if at_half and n == total // 2:
                threading.Thread(target=at_half, daemon=True).start()
        for info in self.infos:
            info.wait_for_publish(60)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=200.0, help="alarms per second")
    parser.add_argument("--kill", action="store_true", help="restart with SIGKILL instead of SIGTERM")
    parser.add_argument("--no-restart", action="store_true", help="leave the listener running (steady state only)")
    parser.add_argument("--cold-restart", action="store_true",
                        help="stop the listener, then start a new one (default: the new one is started with "
                             "--standby first, as docs/devices.md recommends for deploys)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12",
                        help="the channel layer's Redis for the console measurement (a database of its own)")
    parser.add_argument("--no-console", action="store_true", help="measure publish→stored only")
    args = parser.parse_args()

    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=2).close()
    except OSError:
        sys.exit("No MQTT broker on 127.0.0.1:1883: start Mosquitto (mosquitto -d -c /etc/mosquitto/mosquitto.conf)")
    url, tmp = prepare_database()
    os.environ["DATABASE_URL"] = url
    if not args.no_console:
        try:
            socket.create_connection(("127.0.0.1", 6379), timeout=2).close()
        except OSError:
            sys.exit("No Redis on 127.0.0.1:6379 (or run with --no-console)")
        os.environ["REDIS_URL"] = args.redis
        os.environ["YIYANG_CHANNELS_PREFIX"] = f"yybench{os.getpid()}"  # this run's keys only
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiyang.settings")
    import django

    django.setup()
    from django.db import connection

    from yiyang.alarms.listener import forget_session
    from yiyang.alarms.models import Alarm

    secrets = register_devices()
    live_server = console = None
    if not args.no_console:
        cookie = agent_session_cookie()
        live_server = LiveServer({**os.environ})
        live_server.start()
        console = ConsoleClient(f"ws://127.0.0.1:{live_server.port}/ws/alarms/", cookie)
        console.start()
    connection.close()
    prefix = f"yiyang-bench-{os.getpid()}/devices"
    client_id = f"yiyang-bench-listener-{os.getpid()}"
    listener_log: list[str] = []
    listener = ListenerProcess({**os.environ, "DATABASE_URL": url}, client_id, prefix, listener_log)
    startup = listener.start()
    print(f"{connection.vendor}: listener up in {startup:.2f} s; publishing {args.rate:g}/s for {args.seconds:g} s",
          flush=True)
    restart = {}

    successor = None
    if not (args.cold_restart or args.no_restart):  # ready and waiting before the first alarm is sent
        successor = ListenerProcess(listener.env, client_id, prefix, listener_log)
        successor.start(standby=True)

    def restart_listener():
        """Cold: stop, then start a new process. Handover: stop, and the waiting successor connects at once."""
        nonlocal listener
        began = time.monotonic()
        old = listener
        old.stop(signal.SIGKILL if args.kill else signal.SIGTERM, wait_exit=successor is None)
        stopped = time.monotonic()
        if successor is None:
            listener.start()
        else:
            successor.go()
            listener = successor
        restart.update(began=began, stopped=stopped, up=time.monotonic())
        old.process.wait(30)

    publisher = Publisher(prefix, secrets)
    publisher.run(args.rate, args.seconds, at_half=None if args.no_restart else restart_listener)
    published = set(publisher.sent)
    deadline, last = time.monotonic() + 120, -1
    while time.monotonic() < deadline:
        count = Alarm.objects.filter(device__device_id__startswith="bench-dev-").count()
        if count >= len(published):
            break
        if count != last:
            last, deadline = count, time.monotonic() + 30  # still progressing
        time.sleep(0.5)
    rows = list(Alarm.objects.filter(device__device_id__startswith="bench-dev-")
                .values_list("msg_id", "device_time", "received_at", "pk"))
    if console is not None:  # the last announcements are at most a few hundred ms behind the last commit
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(console.arrivals) < len(rows):
            time.sleep(0.2)
        console.stop()
        live_server.stop()
    listener.stop()
    print("\n".join(line for line in listener_log if "stopp" in line or "listening" in line or "standby" in line
                     or "WARNING" in line or "ERROR" in line),
          flush=True)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    live_cpu = live_server.cpu if live_server is not None else 0.0
    print(f"listener CPU: {usage.ru_utime + usage.ru_stime - live_cpu:.1f} s"
          + (f"; serve-live CPU: {live_cpu:.1f} s" if live_server is not None else ""), flush=True)
    publisher.client.loop_stop()
    forget_session(client_id)

    stored = [msg_id for msg_id, *_ in rows]
    lost = len(published - set(stored))
    duplicated = len(stored) - len(set(stored))
    latencies = [(received - sent).total_seconds() * 1000 for _, sent, received, _pk in rows]
    ack_latencies = [(at - publisher.sent[m]) * 1000 for m, (_, at) in publisher.acks.items() if m in publisher.sent]
    if restart:
        how = "cold restart" if args.cold_restart else "handover to a standby listener"
        print(f"{how}: old listener off the broker {restart['stopped'] - restart['began']:.2f} s after "
              f"{'SIGKILL' if args.kill else 'SIGTERM'}, new one listening {restart['up'] - restart['began']:.2f} s after it",
              flush=True)
    print(f"published {len(published):,}, stored {len(stored):,} ({len(set(stored)):,} distinct msg_ids), "
          f"duplicate deliveries caught by the database: {publisher.duplicate_acks}", flush=True)
    if latencies:
        print(f"publish→stored: p50 {statistics.median(latencies):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms, "
              f"max {max(latencies):.0f} ms; publish→ack at the device p99 {percentile(ack_latencies, 0.99):.1f} ms",
              flush=True)
    shown = []
    if console is not None:
        # Publish time (the body's ts) by alarm id, from the database; arrival time on the socket.
        shown = [(console.arrivals[pk] - sent.timestamp()) * 1000 for _, sent, _, pk in rows if pk in console.arrivals]
        print(f"console: {len(shown):,} of {len(rows):,} stored alarms arrived on the WebSocket "
              f"({console.messages:,} messages; {len(rows) - len(shown):,} never shown"
              f"{'; socket: ' + console.closed if console.closed else ''})", flush=True)
        if shown:
            print(f"publish→console: p50 {statistics.median(shown):.1f} ms, p99 {percentile(shown, 0.99):.1f} ms, "
                  f"max {max(shown):.0f} ms", flush=True)
    if latencies:
        p99 = percentile(latencies, 0.99)
        line = f"against the goals: p99 publish→stored {p99:.0f} ms = {p99 / 500:.2f} × 500 ms"
        if shown:
            p99_console = percentile(shown, 0.99)
            line += f"; p99 publish→console {p99_console:.0f} ms = {p99_console / 1000:.2f} × 1 s"
        print(line + " (≤ 1.00 meets the goal)", flush=True)
    report("alarms_lost", lost, "alarms", "0")
    report("alarms_duplicated", duplicated, "alarms", "0")
    report("alarms_latency_p50", statistics.median(latencies) if latencies else float("nan"), "ms", "n/a")
    report("alarms_latency_p99", percentile(latencies, 0.99) if latencies else float("nan"), "ms", "<= 500")
    if console is not None:
        report("alarms_console_not_shown", len(rows) - len(shown), "alarms", "0")
        report("alarms_console_latency_p50", statistics.median(shown) if shown else float("nan"), "ms", "n/a")
        report("alarms_console_latency_p99", percentile(shown, 0.99) if shown else float("nan"), "ms", "<= 1000")
    if not args.no_console:
        import redis

        client = redis.Redis.from_url(args.redis)
        for key in client.scan_iter(f"{os.environ['YIYANG_CHANNELS_PREFIX']}*"):  # this run's groups
            client.delete(key)
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
