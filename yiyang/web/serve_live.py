"""``yiyang serve-live``: the alarm console's WebSocket (ASGI, Daphne), beside the WSGI site.

Consoles connect to ``ws(s)://<host>:LIVE_PORT/ws/alarms/`` (or YIYANG_LIVE_URL behind
a proxy) and hear of alarm changes published to Redis by the listener, the alarm
worker and the web workers. Without REDIS_URL there is nothing to relay (consoles
poll), so the command refuses to start. One process is enough: the work is waiting
on sockets and Redis; run more behind a proxy if thousands of consoles are open.
"""

from __future__ import annotations

import os
import sys

NEEDS_DJANGO = True


def add_arguments(parser) -> None:
    parser.add_argument("--port", type=int, default=None, help="default: LIVE_PORT, else 8001")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--verbosity", type=int, default=0, choices=[0, 1, 2, 3],
                        help="0 (default) logs nothing per connection")


def run(args) -> int:
    from daphne.cli import CommandLineInterface
    from django.conf import settings

    if not settings.CHANNEL_LAYERS:
        print("serve-live needs REDIS_URL (the channel layer between the listener and the consoles); "
              "without it the consoles poll and this server is not needed.", file=sys.stderr)
        return 2
    port = args.port or settings.LIVE_PORT
    print(f"Live alarm updates on ws://{args.host}:{port}/ws/alarms/  (Ctrl+C stops it)", flush=True)
    argv = ["--bind", args.host, "--port", str(port), "--verbosity", str(args.verbosity),
            "--ping-interval", "20", "--ping-timeout", "30"]
    if settings.TRUSTED_PROXIES:
        argv.append("--proxy-headers")
    CommandLineInterface().run([*argv, "yiyang.asgi:application"])
    return 0
