"""``yiyang demo``: build the demo city, print the accounts, then serve (unless --no-serve)."""

from __future__ import annotations

import sys
import time

NEEDS_DJANGO = True


def add_arguments(parser) -> None:
    parser.add_argument("--elders", type=int, default=20_000, help="number of elders (default 20,000)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed: same seed, same data")
    parser.add_argument("--city", default="5107", help="city code (5104, 5107, 5108, 5111); default 5107 绵阳")
    parser.add_argument("--password", default=None, help="password of every demo account (default demo-pass-2026)")
    parser.add_argument("--no-serve", action="store_true", help="build only, do not start the web server")
    parser.add_argument("--if-empty", action="store_true", help="build only when the database has no demo yet")
    parser.add_argument("--reset", action="store_true", help="erase the database's data first")
    parser.add_argument("--port", type=int, default=None, help="port to serve on (default $PORT or 8000)")
    parser.add_argument("--no-companions", action="store_true",
                        help="serve only: do not start the alarm worker, the device listener and the live server")


def run(args) -> int:
    from django.core.management import call_command

    from . import builder

    call_command("migrate", interactive=False, verbosity=0)
    password = args.password or builder.DEFAULT_PASSWORD
    if args.reset:
        builder.reset_database()
    if builder.database_is_empty():
        started = time.monotonic()
        print(f"Building the demo city {args.city} with {args.elders:,} elders (seed {args.seed}) ...", flush=True)

        def progress(done, total):
            print(f"  {done:,}/{total:,} elders", file=sys.stderr, flush=True)

        accounts = builder.build(elders=args.elders, seed=args.seed, city=args.city, password=password, progress=progress)
        print(f"Done in {time.monotonic() - started:.1f} s.")
        print_accounts(accounts, password)
    elif not args.if_empty:
        print("The database already holds data; run `yiyang demo --reset` to rebuild it.", file=sys.stderr)
        return 1
    else:
        print("The demo city is already loaded.")
        print_accounts(None, password)
    if args.no_serve:
        return 0
    from yiyang.web import companions, serve

    if not args.no_companions:
        companions.start()
    serve_args = serve.argparse_defaults()
    if args.port is not None:
        serve_args.port = args.port
    return serve.run(serve_args)


def print_accounts(accounts, password: str) -> None:
    from yiyang.accounts.models import User

    if accounts is None:
        accounts = [(u, "") for u in User.objects.filter(is_active=True).order_by("username").values_list("username", flat=True)[:40]]
    print(f"Demo accounts (password {password}):")
    for username, description in accounts[:40]:
        print(f"  {username:28s} {description}")
    if len(accounts) > 40:
        print(f"  ... and {len(accounts) - 40} more")
