"""``yiyang plan-routes --solomon FILE --seconds S``: solve a Solomon instance with the planner.

Prints only ``{"routes": [[customer, ...], ...]}`` on stdout (depot left out); logs go to
stderr. Runs without Django set up, so it works right after ``make install``.
"""

from __future__ import annotations

import json
import logging
import sys

NEEDS_DJANGO = False


def add_arguments(parser) -> None:
    parser.add_argument("--solomon", required=True, metavar="FILE", help="instance in Solomon's VRPTW format")
    parser.add_argument("--seconds", type=float, default=10.0, help="solver time (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="solver seed (default 0)")


def run(args) -> int:
    from . import planner, solomon

    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
    instance = solomon.read(args.solomon)
    visits, workers, travel = solomon.to_day(instance)
    plan = planner.plan_day(visits, workers, seconds=args.seconds, travel=travel, seed=args.seed)
    for issue in plan.issues:
        print(issue.message, file=sys.stderr)
    print(f"{instance.name}: {len(plan.routes)} routes, distance {plan.distance:.2f}", file=sys.stderr)
    routes = [[int(v) for v in route.visit_ids] for route in plan.routes]
    print(json.dumps({"routes": routes}))
    return 0 if not plan.unplanned else 1
