"""``yiyang payroll run --month YYYY-MM [--programme CODE] [--area CODE]``."""

from __future__ import annotations

import sys

NEEDS_DJANGO = True


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = sub.add_parser("run", help="compute (or recompute, idempotently) a month's payroll")
    run.add_argument("--month", required=True, help="YYYY-MM")
    run.add_argument("--programme", help="programme code (default: every active programme)")
    run.add_argument("--area", help="area code prefix (default: the programme's area)")


def run(args) -> int:
    from django.core.exceptions import PermissionDenied

    from . import rules, services
    from .models import Programme

    try:
        month = rules.parse_month(args.month)
        codes = [args.programme] if args.programme else list(
            Programme.objects.filter(is_active=True).values_list("code", flat=True))
        if not codes:
            print("No active programme is configured.", file=sys.stderr)
            return 1
        for code in codes:
            result = services.run_payroll(programme_code=code, month=month, area_code=args.area)
            print(f"{code} {month:%Y-%m} {result.run.area_code}: {result.line_count} elders, "
                  f"{result.total_fen} fen ({result.total_fen / 100:,.2f} yuan)")
    except (rules.RuleError, PermissionDenied) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
