"""``yiyang mqtt-listen``: the long-running device listener (see docs/devices.md).

SIGTERM or Ctrl-C stops it cleanly: the message in hand is finished and
acknowledged, then it disconnects; the broker keeps the session and queues what
arrives meanwhile for the next start.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time

NEEDS_DJANGO = True


def add_arguments(parser) -> None:
    parser.add_argument("--url", help="broker, mqtt://host:port or mqtts://user:password@host:port "
                                      "(default: MQTT_URL, else mqtt://127.0.0.1:1883)")
    parser.add_argument("--client-id", help="MQTT client id; keep it fixed so the session survives restarts "
                                            "(default: MQTT_CLIENT_ID, else yiyang-listener)")
    parser.add_argument("--topic-prefix", help="topics are <prefix>/<device_id>/events (default: yiyang/devices)")
    parser.add_argument("--verbose", action="store_true", help="log every rejected message")
    parser.add_argument("--standby", action="store_true",
                        help="start, load every device, then wait for SIGUSR1 before connecting: stop the old "
                             "listener, then send SIGUSR1, for a restart with almost no gap")


def run(args) -> int:
    from .listener import Listener

    logger = logging.getLogger("yiyang.alarms")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if args.verbose else logging.INFO)
    logger.propagate = False

    listener = Listener(url=args.url, client_id=args.client_id, topic_prefix=args.topic_prefix)

    def stop(signum, frame):
        logger.info("stopping (signal %d)", signum)
        listener.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.standby:
        go = threading.Event()
        signal.signal(signal.SIGUSR1, lambda signum, frame: go.set())
        count = listener.processor.devices.preload(time.monotonic())
        logger.info("standby with %d devices loaded: send SIGUSR1 to connect", count)
        while not go.is_set() and not listener.stop_event.is_set():
            go.wait(0.05)
    listener.run()
    counts = listener.counts
    logger.info("stopped: %d stored, %d duplicates, %d rejected, in %d transactions", counts["stored"],
                counts["duplicate"], counts["rejected"], listener.batches)
    return 0
