"""Route planning: solution quality on Solomon's VRPTW instances, home-care days, and speed.

1. Runs ``yiyang plan-routes`` (the planner the dispatch pages use) on each Solomon instance of
   FOLDER (default ../shared/data/solomon next to the repo), checks every solution here with
   exact distances (capacity, windows with service times, each customer exactly once, fleet
   size, back at the depot in time) and prints the gap to the best-known distance of bks.csv.
2. Writes synthetic home-care days (villages plus scattered homes, morning/afternoon/two-hour
   windows, 30-90 minute visits) in Solomon format, plans them with ``plan-routes`` and with
   plain PyVRP on the same data and time, and prints the ratio of the distances.
3. Plans a provider day of 400 visits and 40 workers with skills and lunch breaks through
   ``plan_day`` and prints the wall time and the share of visits planned within their window.

    python bench/routing.py [FOLDER] [--seconds 10] [--instances C1,R101] [--parts solomon,synthetic,provider]
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import report  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
YIYANG = str(REPO / ".venv" / "bin" / "yiyang")
sys.path.insert(0, str(REPO))

from yiyang.dispatch import solomon  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(REPO.parent / "shared" / "data" / "solomon"))
    parser.add_argument("--seconds", type=float, default=10.0, help="solver time per instance (default 10)")
    parser.add_argument("--instances", default="", help="comma-separated names, prefixes or globs (default all)")
    parser.add_argument("--days", type=int, default=5, help="synthetic home-care days (default 5)")
    parser.add_argument("--provider-seconds", type=float, default=25.0, help="solver time for the 400-visit day")
    parser.add_argument("--parts", default="solomon,synthetic,provider")
    parser.add_argument("--jobs", type=int, default=1, help="instances solved at once (default 1)")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    if "solomon" in parts:
        bench_solomon(Path(args.folder), args)
    if "synthetic" in parts:
        bench_synthetic(args)
    if "provider" in parts:
        bench_provider_day(args.provider_seconds)


# ---------------------------------------------------------------- 1. Solomon instances

def bench_solomon(folder: Path, args) -> None:
    bks = {row["instance"]: row for row in csv.DictReader(open(folder / "bks.csv"))}
    wanted = [p.strip() for p in args.instances.split(",") if p.strip()]
    files = sorted(p for p in folder.glob("*.txt")
                   if not wanted or any(p.stem.startswith(w) or fnmatch.fnmatch(p.stem, w) for w in wanted))
    if not files:
        sys.exit(f"no instance in {folder} matches {args.instances!r}")

    def one(path: Path):
        instance = solomon.read(path)
        routes = plan_routes(path, args.seconds)
        return instance, routes, check_solomon(instance, routes)

    gaps, infeasible = [], 0
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for path, (_, routes, (distance, errors)) in zip(files, pool.map(one, files), strict=True):
            best = float(bks[path.stem]["distance"])
            gap = round(100 * (distance - best) / best, 4) + 0.0
            gaps.append(gap)
            infeasible += bool(errors)
            status = "feasible" if not errors else "INFEASIBLE: " + "; ".join(errors[:3])
            print(f"  {path.stem}: {len(routes)} routes (best known {bks[path.stem]['vehicles']}), "
                  f"distance {distance:.2f} (best known {best:.2f}), gap {gap:.2f}%, {status}", flush=True)
    print(f"  {len(files)} instances, {args.seconds:g} s each", flush=True)
    report("routing_solomon_infeasible", infeasible, f"of {len(files)} instances", "0")
    report("routing_solomon_gap", sum(gaps) / len(gaps), "% average gap to best known", "<= 1.0 %")


def plan_routes(path: Path, seconds: float) -> list[list[int]]:
    done = subprocess.run([YIYANG, "plan-routes", "--solomon", str(path), "--seconds", str(seconds)],
                          capture_output=True, text=True)
    try:
        return json.loads(done.stdout)["routes"]
    except (ValueError, KeyError):
        sys.exit(f"plan-routes failed on {path}: {done.stderr[-2000:]}")


def check_solomon(instance, routes: list[list[int]]) -> tuple[float, list[str]]:
    """Total exact distance and every violation (no planner code involved)."""
    customers = {c.number: c for c in instance.customers}
    depot = instance.depot
    errors, seen, total = [], {}, 0.0
    if len(routes) > instance.vehicles:
        errors.append(f"{len(routes)} routes for {instance.vehicles} vehicles")
    for r, route in enumerate(routes):
        at, clock, load = depot, depot.ready, 0
        for number in route:
            c = customers.get(number)
            if c is None or number == 0:
                errors.append(f"route {r}: no customer {number}")
                continue
            seen[number] = seen.get(number, 0) + 1
            leg = math.dist((at.x, at.y), (c.x, c.y))
            total += leg
            start = max(clock + leg, c.ready)
            if start > c.due + 1e-6:
                errors.append(f"customer {number} served at {start:.3f}, due {c.due:g}")
            clock, at, load = start + c.service, c, load + c.demand
        leg = math.dist((at.x, at.y), (depot.x, depot.y))
        total += leg
        if clock + leg > depot.due + 1e-6:
            errors.append(f"route {r} back at {clock + leg:.3f}, depot closes at {depot.due:g}")
        if load > instance.capacity:
            errors.append(f"route {r} carries {load} > {instance.capacity}")
    for number in customers:
        if number and seen.get(number, 0) != 1:
            errors.append(f"customer {number} served {seen.get(number, 0)} times")
    return total, errors


# ---------------------------------------------------------------- 2. synthetic home-care days

def synthetic_day(seed: int, visits: int = 100, workers: int = 25) -> solomon.Instance:
    """A township's day in minutes after 8:00 (distance unit = one minute of driving)."""
    rng = random.Random(seed)
    villages = [(rng.uniform(5, 55), rng.uniform(5, 55)) for _ in range(rng.randint(4, 7))]
    customers = [solomon.Customer(0, 30, 30, 0, 0, 600, 0)]
    for n in range(1, visits + 1):
        if rng.random() < 0.7:
            cx, cy = rng.choice(villages)
            x, y = rng.gauss(cx, 1.5), rng.gauss(cy, 1.5)
        else:
            x, y = rng.uniform(0, 60), rng.uniform(0, 60)
        x, y = round(min(60, max(0, x)), 1), round(min(60, max(0, y)), 1)
        duration = rng.choice([30, 45, 60, 60, 90])
        kind = rng.random()
        if kind < 0.35:
            ready, finish = 0, 240  # morning, 8:00-12:00
        elif kind < 0.7:
            ready, finish = 330, 570  # afternoon, 13:30-17:30
        else:
            ready = 60 * rng.randint(0, 7)  # a two-hour slot
            finish = ready + 120
        customers.append(solomon.Customer(n, x, y, 1, ready, finish - duration, duration))
    return solomon.Instance(f"HOMECARE{seed}", workers, visits, tuple(customers))


def plain_pyvrp(instance: solomon.Instance, seconds: float) -> list[list[int]]:
    """PyVRP as its documentation would have it: one depot, one vehicle type, ×1000 integers."""
    import numpy as np
    import pyvrp
    from pyvrp.stop import MaxRuntime

    cs = instance.customers
    xy = np.array([(c.x, c.y) for c in cs])
    matrix = np.rint(1000 * np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))).astype(np.int64)
    data = pyvrp.ProblemData(
        locations=[pyvrp.Location(x=c.x, y=c.y) for c in cs],
        clients=[pyvrp.Client(location=c.number, delivery=[c.demand], service_duration=round(1000 * c.service),
                              tw_early=round(1000 * c.ready), tw_late=round(1000 * c.due)) for c in cs[1:]],
        depots=[pyvrp.Depot(location=0)],
        vehicle_types=[pyvrp.VehicleType(num_available=instance.vehicles, capacity=[instance.capacity],
                                         tw_early=round(1000 * cs[0].ready), tw_late=round(1000 * cs[0].due))],
        distance_matrices=[matrix], duration_matrices=[matrix])
    result = pyvrp.solve(data, stop=MaxRuntime(seconds), seed=0, display=False)
    return [[a.idx + 1 for a in route.schedule() if a.is_client()] for route in result.best.routes()]


def bench_synthetic(args) -> None:
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(1, args.days + 1):
            instance = synthetic_day(seed)
            path = Path(tmp) / f"{instance.name}.txt"
            solomon.write(instance, path)
            ours, errors = check_solomon(instance, plan_routes(path, args.seconds))
            plain, _ = check_solomon(instance, plain_pyvrp(solomon.read(path), args.seconds))
            ratios.append(ours / plain)
            print(f"  {instance.name}: planner {ours:.1f}, plain PyVRP {plain:.1f}, ratio {ours / plain:.4f}"
                  f"{'' if not errors else ', INFEASIBLE: ' + '; '.join(errors[:3])}", flush=True)
    print(f"  {len(ratios)} days, {args.seconds:g} s each: mean ratio {sum(ratios) / len(ratios):.4f}", flush=True)
    report("routing_homecare_ratio", sum(ratios) / len(ratios), "× plain PyVRP's distance", "<= 1.03")


# ---------------------------------------------------------------- 3. a provider's day

def provider_day(seed: int = 7):
    """400 visits in a county town and its villages, 40 workers, three skills, lunch breaks."""
    from yiyang.dispatch.model import Break, Location, Visit, Window, Worker, start_window

    rng = random.Random(seed)
    town = (104.741, 31.468)

    def near(centre, km, rural):
        return Location(round(centre[0] + rng.gauss(0, km / 95), 5), round(centre[1] + rng.gauss(0, km / 111), 5), rural)

    villages = [(town[0] + rng.uniform(-0.1, 0.1), town[1] + rng.uniform(-0.08, 0.08)) for _ in range(8)]
    hour = 3600
    visits = []
    for n in range(400):
        place = rng.random()
        if place < 0.45:
            where = near(town, 2.5, False)
        elif place < 0.9:
            where = near(rng.choice(villages), 0.8, True)
        else:
            where = Location(round(town[0] + rng.uniform(-0.12, 0.12), 5), round(town[1] + rng.uniform(-0.1, 0.1), 5), True)
        duration = 60 * rng.choice([30, 30, 45, 45, 60])
        kind = rng.random()
        if kind < 0.3:
            frm, to = 8 * hour, 12 * hour
        elif kind < 0.6:
            frm, to = 14 * hour, 18 * hour
        elif kind < 0.85:
            frm = rng.randint(8, 16) * hour
            to = frm + 2 * hour
        else:
            frm, to = 8 * hour, 18 * hour
        roll = rng.random()
        skills = frozenset({"nursing"} if roll < 0.12 else {"bathing"} if roll < 0.22 else {"rehab"} if roll < 0.28 else ())
        visits.append(Visit(f"v{n}", where, start_window(frm, to, duration), duration, skills))
    bases = [near(town, 0.5, False)] + [near(v, 0.3, True) for v in villages[:3]]
    lunch = Break(11.5 * hour, 13.5 * hour, 30 * 60)
    workers = []
    for n in range(40):
        skills = {"nursing"} if n % 3 == 0 else {"bathing"} if n % 3 == 1 else set()
        if n % 5 == 0:
            skills.add("rehab")
        workers.append(Worker(f"w{n}", bases[n % 4], Window(8 * hour, 18 * hour), frozenset(skills), (lunch,)))
    return visits, workers


def bench_provider_day(seconds: float) -> None:
    from yiyang.dispatch import feasibility, planner
    from yiyang.dispatch.travel import HaversineTravel

    visits, workers = provider_day()
    travel = HaversineTravel()
    started = time.monotonic()
    plan = planner.plan_day(visits, workers, seconds=seconds, travel=travel)
    wall = time.monotonic() - started
    errors = feasibility.check_plan(plan, travel)
    refused = {i.visit_id for i in plan.issues if i.code not in ("no_room",) and i.visit_id}
    by_id = {v.id: v for v in visits}
    in_window = sum(1 for r in plan.routes for s in r.stops
                    if s.visit_id and by_id[s.visit_id].window.contains(s.start))
    feasible = len(visits) - len(refused)
    breaks = sum(1 for r in plan.routes for s in r.stops if s.kind == "break")
    print(f"  400 visits, 40 workers: {len(plan.routes)} routes, {breaks} breaks, {len(plan.unplanned)} unplanned "
          f"({len(refused)} impossible), {plan.distance / 1000:.1f} km, checker: "
          f"{'sound' if not errors else '; '.join(errors[:3])}", flush=True)
    report("routing_provider_day_seconds", wall, "s wall time", "<= 30 s")
    report("routing_provider_day_in_window", 100 * in_window / feasible, "% of feasible visits planned in their window",
           "100 %")


if __name__ == "__main__":
    main()
