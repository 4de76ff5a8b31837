"""The ``yiyang`` command: one front door for operators (demo, serve, import, ...).

Each subcommand lives with the app that owns it and registers here with
``add_parser``/``run`` functions, so ``yiyang <cmd> --help`` documents itself.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# name -> module exposing add_arguments(parser) and run(args) -> int
SUBCOMMANDS = {
    "demo": ("yiyang.demo.command", "Build the demo city (about 20,000 elders by default) and serve it."),
    "serve": ("yiyang.web.serve", "Serve the web app and API."),
    "serve-live": ("yiyang.web.serve_live", "Serve the alarm console's live updates (WebSocket, needs REDIS_URL)."),
    "import": ("yiyang.people.import_command", "Import a roster (elders) from .xlsx or .csv."),
    "payroll": ("yiyang.benefits.command", "Compute a month's payroll."),
    "homecare": ("yiyang.homecare.command", "Home-care jobs: orders of recurring plans, follow-up samples."),
    "rotate-keys": ("yiyang.core.rotate_command", "Re-encrypt personal data under the newest data key."),
    "plan-routes": ("yiyang.dispatch.command", "Solve a Solomon VRPTW instance with the route planner."),
    "mqtt-listen": ("yiyang.alarms.command", "Run the device listener: MQTT alarms and telemetry into the database."),
    "alarm-worker": ("yiyang.alarms.worker", "Run the alarm escalation timers and send queued notifications."),
}


def _django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiyang.settings")
    import django

    django.setup()


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    parser = argparse.ArgumentParser(prog="yiyang", description="颐养 Yiyang elderly-care platform")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = {}
    for name, (module_path, help_text) in SUBCOMMANDS.items():
        module = importlib.import_module(module_path)
        modules[name] = module
        module.add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    manage = sub.add_parser("manage", help="Run a Django management command (migrate, createsuperuser, ...).")
    manage.add_argument("args", nargs=argparse.REMAINDER)
    return parser, modules


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser, modules = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "manage":
        from django.core.management import execute_from_command_line

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiyang.settings")
        execute_from_command_line(["yiyang manage", *args.args])
        return 0
    if getattr(modules[args.command], "NEEDS_DJANGO", True):
        _django_setup()
    from yiyang.core import context

    token = context.bind(context.RequestInfo(channel="cli"))  # one request id for all this command audits
    try:
        return int(modules[args.command].run(args) or 0)
    finally:
        context.unbind(token)


if __name__ == "__main__":
    sys.exit(main())
