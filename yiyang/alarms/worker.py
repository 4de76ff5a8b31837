"""``yiyang alarm-worker``: runs the escalation timers and sends the queued notifications, every second.

Any number may run (SKIP LOCKED shares the work on PostgreSQL; on SQLite run one).
The timers are rows, so stopping or killing a worker loses nothing: the next one
finds the same due tasks (and leases that expired). The worker beats every few
seconds so the console can warn when none is running.
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
import threading
import time

from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

NEEDS_DJANGO = True
BEAT_NAME = "alarm-worker"
BEAT_SECONDS = 5

log = logging.getLogger("yiyang.alarms")


def add_arguments(parser) -> None:
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between looks for due work (default 1)")
    parser.add_argument("--once", action="store_true", help="do what is due now, then exit (for cron or tests)")


def beat(now=None) -> None:
    from .models import WorkerBeat

    WorkerBeat.objects.update_or_create(name=BEAT_NAME, defaults={"beat_at": now or timezone.now(),
                                                                  "host": socket.gethostname()[:128]})


def work_once(now=None) -> int:
    """One round: due escalation steps, then queued messages. Returns how much was done."""
    from yiyang.notifications import services as notifications

    from . import escalation

    done = escalation.run_due(now)
    done += notifications.deliver_due(now=now)
    return done


def run(args) -> int:
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if args.once:
        beat()
        work_once()
        return 0
    log.info("alarm worker started (every %.1f s)", args.interval)
    next_beat = 0.0
    while not stop.is_set():
        try:
            close_old_connections()
            if time.monotonic() >= next_beat:
                beat()
                next_beat = time.monotonic() + BEAT_SECONDS
            if work_once():
                continue  # more may be due: look again at once
        except DatabaseError:
            log.exception("database error; retrying")
            connection.close()
        stop.wait(args.interval)
    log.info("alarm worker stopped")
    return 0
