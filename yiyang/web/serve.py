"""``yiyang serve``: migrate if needed, collect static files, serve with gunicorn."""

from __future__ import annotations

import os

NEEDS_DJANGO = True


def add_arguments(parser) -> None:
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))


def prepare() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)


def run(args) -> int:
    from gunicorn.app.wsgiapp import WSGIApplication

    prepare()
    print(f"Yiyang is serving on http://{args.host}:{args.port}/  (Ctrl+C stops it)", flush=True)
    argv = ["gunicorn", "yiyang.wsgi:application", "--bind", f"{args.host}:{args.port}",
            "--workers", str(args.workers), "--threads", "4", "--timeout", "300", "--access-logfile", "-"]
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
