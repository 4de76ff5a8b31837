"""``yiyang serve``: migrate if needed, collect static files, serve with gunicorn.

How the site is served (:func:`gunicorn_options`) is also what ``bench/orders_api.py``
measures, so the benchmark and production cannot drift apart.
"""

from __future__ import annotations

import os

NEEDS_DJANGO = True


def default_workers() -> int:
    """``WEB_CONCURRENCY``, else two worker processes per core.

    One request's Python work runs on one core at a time, and while it waits for
    PostgreSQL another process can use that core: two per core keeps the cores busy
    without many requests sharing one core (each would take that much longer).
    """
    return int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1))


def gunicorn_options(workers: int) -> list[str]:
    """Sync workers: processes that each take one request at a time; no threads, no kept-alive connections.

    Threads (gthread) gave the order API a longer tail at the same load, for two
    reasons. A kept-alive connection stays with the process that accepted it, and
    the processes do not share them out evenly (8 clients on 4 workers: 4, 2, 1
    and 1 connections), so some requests queue behind others while a process
    idles. And the threads of one process take turns holding the GIL: a request
    whose database answer has arrived waits for its neighbour's Python work, up to
    the 5 ms switch interval, several times a request. A sync worker accepts only
    when it is free, from the one queue all workers share, so requests wait in
    order and then run without contention. Put a reverse proxy in front (it
    buffers slow clients, as gunicorn recommends for sync workers); the live
    updates are served apart (``yiyang serve-live``), so no request here is held
    open, and none may run longer than the timeout.
    """
    return ["--worker-class", "sync", "--workers", str(workers), "--timeout", "300"]


def add_arguments(parser) -> None:
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--workers", type=int, default=default_workers())


def prepare() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)


def run(args) -> int:
    from gunicorn.app.wsgiapp import WSGIApplication

    prepare()
    print(f"Yiyang is serving on http://{args.host}:{args.port}/  (Ctrl+C stops it)", flush=True)
    argv = ["gunicorn", "yiyang.wsgi:application", "--bind", f"{args.host}:{args.port}",
            *gunicorn_options(args.workers), "--access-logfile", "-"]
    import sys

    sys.argv = argv
    WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]").run()
    return 0


def argparse_defaults():
    """The default serve arguments, for commands that serve after their own work."""
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args([])
