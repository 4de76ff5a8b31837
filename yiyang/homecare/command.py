"""``yiyang homecare generate-orders --days 14`` and ``yiyang homecare sample-follow-ups``: the cron jobs.

Both are idempotent, so cron may run them as often as it likes (generation every
night; the follow-up sample on Monday for the week before).
"""

from __future__ import annotations

import datetime as dt
import sys

NEEDS_DJANGO = True


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    generate = sub.add_parser("generate-orders", help="create the orders of every active recurring plan ahead of time")
    generate.add_argument("--days", type=int, default=14,
                          help="how many days ahead, today included (default 14)")
    generate.add_argument("--today", type=_date, help="YYYY-MM-DD (default: today)")
    sample = sub.add_parser("sample-follow-ups", help="draw the week's follow-up calls (回访) per provider")
    sample.add_argument("--week", type=_date, help="a day of the week of the visits (default: last week)")
    sample.add_argument("--share", type=float, default=0.1, help="share of each provider's visits (default 0.1)")
    sample.add_argument("--minimum", type=int, default=1, help="calls per provider at least (default 1)")


def run(args) -> int:
    from django.utils import timezone

    if args.action == "generate-orders":
        from .plans import generate_orders

        if args.days < 1:
            print("error: --days must be at least 1", file=sys.stderr)
            return 2
        today = args.today or timezone.localdate()
        until = today + dt.timedelta(days=args.days - 1)
        result = generate_orders(until=until, today=today)
        print(f"{today}..{until}: {len(result.created)} orders created, {result.existing} already there, "
              f"{len(result.failed)} refused")
        for plan, day, message in result.failed:
            print(f"plan {plan.pk} {day}: {message}", file=sys.stderr)
        return 1 if result.failed else 0
    from .feedback import sample_follow_ups
    from .rules import week_start

    week = week_start(args.week or timezone.localdate() - dt.timedelta(days=7))
    calls = sample_follow_ups(week, share=args.share, minimum=args.minimum)
    print(f"week of {week}: {len(calls.created)} calls drawn, {calls.total} in the sample")
    return 0
