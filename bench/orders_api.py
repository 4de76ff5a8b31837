"""The service-order API under load, against a bare DRF create endpoint on the same server.

On PostgreSQL: a scratch database with a 2,000-elder demo city, plus (created
through the ORM, so the bench does not depend on the demo's home-care data) a
provider profile serving one county, a catalogue entry without skills, one worker
per client, a hotline agent and a dispatcher with API tokens. The app is served
by gunicorn on 127.0.0.1 with production's options (``yiyang.web.serve``: sync
workers, two per core; ``--threads N`` serves with gthread and keep-alive instead,
to compare) and ``orders_bench_settings`` (the real settings plus
``/bench/bare-orders/``).

A second process generates the load: 8 concurrent clients (threads, one
``http.client`` connection each, kept alive when the server allows it, else
reopened per request as a browser behind a proxy would), closed loop, for 60 s by default,
after an uncounted warm-up of both endpoints (each worker's first requests import
the URLconf). Against the real API each client repeats create (agent) → accept →
assign (dispatcher) → cancel (agent), every step a real state change with its
event and audit; then, for the same time, creates against the bare endpoint. The
two take turns in slices (4 by default), so that on a shared machine both see
the same background load.

Printed: requests/s, p50/p99 latency and errors of both (and per step); the CPU
that gunicorn, this database's PostgreSQL backends and the load generator used
per request; queries per request; the machine's load average before the run and
the cores other work used during it (the machine may be shared: then rates fall
and latencies grow for both runs alike); and the
figures with their goals: throughput ratio real/bare ≥ 0.5, real p99 ≤ 100 ms,
no errors. ``orders_api_cpu_ratio`` is the ratio where the server's CPU is the
only limit. With 8 closed-loop clients saturating the server, latency is
8 / throughput (Little's law): p99 ≤ 100 ms needs well over 80 requests/s.

Why a Python generator rather than wrk: the mix needs the id of the order just
created, per client, and per-step latencies; wrk's Lua has no per-connection
state once a thread holds several connections. On 2 cores the generator must not
starve the server: it uses about half a millisecond of CPU per request (printed,
1–3 % of one core) against the server's 10–20 ms, and its threads mostly sleep in
``recv``, so the GIL adds well under a millisecond to the latencies measured.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/orders_api.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from _common import report, scratch_database, scratch_url  # noqa: E402

REPO = BENCH.parent
BIN = REPO / ".venv" / "bin"
DB_NAME = "yiyang_bench_orders"
SETTINGS = "orders_bench_settings"
API = "/api/v1/homecare/orders/"
BARE = "/bench/bare-orders/"
SERVICE_CODE = "bench-visit"


def server_env(database_url: str) -> dict:
    return {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": SETTINGS,
            "PYTHONPATH": os.pathsep.join([str(BENCH), str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}


# --- the city and what the load needs ------------------------------------------------------------


def build_city(database_url: str, elders: int) -> None:
    subprocess.run([str(BIN / "yiyang"), "demo", "--no-serve", "--elders", str(elders)], check=True,
                   env={**os.environ, "DATABASE_URL": database_url}, stdout=subprocess.DEVNULL)


def prepare(clients: int) -> dict:
    """Provider profile, catalogue entry, workers, agent, dispatcher and tokens (kept if already there)."""
    from rest_framework.authtoken.models import Token

    from yiyang.accounts.models import User
    from yiyang.accounts.roles import Role
    from yiyang.core.scoping import area_prefix_q
    from yiyang.homecare.models import ProviderProfile, ServiceType, Worker
    from yiyang.organizations.models import Organization, OrganizationKind
    from yiyang.people.models import Elder

    provider = Organization.objects.filter(kind=OrganizationKind.PROVIDER, is_active=True).order_by("pk").first()
    if provider is None:
        sys.exit("the demo city has no home-care provider organisation")
    county = provider.area_id[:6]
    profile, _ = ProviderProfile.objects.get_or_create(organization=provider, defaults={"service_areas": [county]})
    if not profile.serves(county + "000000"):
        profile.service_areas = [*profile.service_areas, county]
        profile.save(update_fields=["service_areas"])
    service, _ = ServiceType.objects.get_or_create(code=SERVICE_CODE, defaults=dict(
        name="压测上门服务", kind="cleaning", duration_minutes=60, unit_price_fen=5_000))
    profile.services.add(service)
    workers = []
    for n in range(1, clients + 1):
        worker, _ = Worker.objects.get_or_create(provider=provider, name=f"压测护理员{n}", defaults=dict(
            base_latitude=provider.latitude or 31.46, base_longitude=provider.longitude or 104.68))
        workers.append(worker.pk)
    agent, _ = User.objects.get_or_create(username="bench-agent", defaults=dict(
        role=Role.HOTLINE_AGENT, scope_area_id=county[:4], full_name="压测坐席"))
    dispatcher, _ = User.objects.get_or_create(username="bench-dispatcher", defaults=dict(
        role=Role.PROVIDER_DISPATCHER, organization=provider, full_name="压测派单员"))
    elders = list(Elder.objects.filter(area_prefix_q("area", county), status="alive").order_by("pk")
                  .values_list("pk", flat=True)[:50 * clients])
    if len(elders) < clients:
        sys.exit(f"only {len(elders)} living elders in county {county}")
    return {
        "agent": Token.objects.get_or_create(user=agent)[0].key,
        "dispatcher": Token.objects.get_or_create(user=dispatcher)[0].key,
        "provider": provider.pk, "service": SERVICE_CODE, "service_id": service.pk,
        "duration": service.duration_minutes, "price": service.unit_price_fen,
        "workers": workers, "elders": elders,
    }


def queries_per_request(fixture: dict) -> dict[str, int]:
    """One cycle through Django's test client with the queries counted (the same middleware and views)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client, counts = Client(), {}
    plan = Plan(fixture, 0)
    for kind, method, path, token, body in plan.cycle("api") + plan.cycle("bare"):
        path = path.replace("{id}", str(counts.get("_id", 0)))
        with CaptureQueriesContext(connection) as queries:
            response = client.generic(method, path, json.dumps(body), content_type="application/json",
                                      HTTP_AUTHORIZATION=f"Token {token}")
        assert response.status_code in (200, 201), (kind, response.status_code, response.content[:300])
        if kind == "create":
            counts["_id"] = response.json()["id"]
        counts[kind] = len(queries)
    counts.pop("_id")
    return counts


# --- the load ---------------------------------------------------------------------------------------


class Plan:
    """What one client sends: its own elders and worker, windows spread over the next days."""

    def __init__(self, fixture: dict, client: int):
        self.f, self.client, self.n = fixture, client, 0
        count = len(fixture["workers"])
        self.elders = fixture["elders"][client::count] or fixture["elders"]
        self.worker = fixture["workers"][client % count]

    def _window(self):
        self.n += 1
        start = (dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).replace(hour=8, minute=0, second=0, microsecond=0)
                 + dt.timedelta(days=1 + self.n % 7, minutes=15 * (self.n % 40)))
        return self.elders[self.n % len(self.elders)], start.isoformat(), (start + dt.timedelta(hours=2)).isoformat()

    def cycle(self, mode: str) -> list[tuple[str, str, str, str, dict]]:
        """(kind, method, path, token, body); ``{id}`` stands for the order created first in the cycle."""
        f = self.f
        elder, start, end = self._window()
        if mode == "bare":
            return [("bare-create", "POST", BARE, f["agent"], {
                "elder": elder, "service_type": f["service_id"], "provider": f["provider"], "channel": "hotline",
                "window_start": start, "window_end": end, "duration_minutes": f["duration"], "price_fen": f["price"]})]
        order = f"{API}{{id}}/"
        return [
            ("create", "POST", API, f["agent"], {"elder": elder, "service": f["service"], "provider": f["provider"],
                                                 "window_start": start, "window_end": end, "note": "压测"}),
            ("accept", "POST", order + "accept/", f["dispatcher"], {}),
            ("assign", "POST", order + "assign/", f["dispatcher"], {"worker": self.worker, "expected_worker": None}),
            ("cancel", "POST", order + "cancel/", f["agent"], {"reason": "压测取消"}),
        ]


def client_loop(fixture: dict, client: int, mode: str, port: int, stop_at: float, results: list, errors: list) -> None:
    plan = Plan(fixture, client)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while time.monotonic() < stop_at:
        order_id = None
        for kind, method, path, token, body in plan.cycle(mode):
            if order_id is None and "{id}" in path:
                break  # the create failed: start a new cycle
            path = path.replace("{id}", str(order_id))
            started = time.monotonic()
            try:
                conn.request(method, path, json.dumps(body).encode(), {
                    "Authorization": f"Token {token}", "Content-Type": "application/json", "Accept": "application/json"})
                response = conn.getresponse()
                data = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status, data = 0, repr(exc).encode()
            ok = status in (200, 201)
            results.append((kind, time.monotonic() - started, ok))
            if not ok:
                if len(errors) < 20:
                    errors.append(f"{kind} {path}: {status} {data[:200].decode(errors='replace')}")
                break
            if kind == "create":
                order_id = json.loads(data)["id"]
            if time.monotonic() >= stop_at:
                break
    conn.close()


def generate(config: dict) -> dict:
    """The load generator process: ``clients`` threads for ``seconds``; every request timed and counted."""
    results: list = []
    errors: list = []
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    stop_at = started + config["seconds"]
    threads = [threading.Thread(target=client_loop, args=(config["fixture"], n, config["mode"], config["port"], stop_at,
                                                          results, errors))
               for n in range(config["clients"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return {"results": results, "errors": errors, "seconds": elapsed, "cpu_seconds": cpu}


def run_generator(config: dict) -> dict:
    out = subprocess.run([sys.executable, __file__, "--generate"], input=json.dumps(config), text=True,
                         capture_output=True, check=True)
    return json.loads(out.stdout)


# --- the server ----------------------------------------------------------------------------------------


def server_options(args) -> list[str]:
    """Production's gunicorn options (``yiyang serve``), or threads when asked (to compare)."""
    from yiyang.web.serve import gunicorn_options

    if args.threads:
        return ["--worker-class", "gthread", "--workers", str(args.workers), "--threads", str(args.threads),
                "--keep-alive", "30", "--timeout", "300"]
    return gunicorn_options(args.workers)


def start_server(database_url: str, port: int, options: list[str], log: Path) -> subprocess.Popen:
    argv = [str(BIN / "gunicorn"), "yiyang.wsgi:application", "--bind", f"127.0.0.1:{port}", *options,
            "--no-control-socket", "--error-logfile", str(log)]
    server = subprocess.Popen(argv, env=server_env(database_url), cwd=REPO, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    sys.exit(f"gunicorn did not answer on port {port}; see {log}")


def stop_server(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()


def cpu_of(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (None once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds all cores of the machine have spent busy so far (every process, ours and others')."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def gunicorn_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [master, *map(int, children)]


def database_pids() -> list[int]:
    """PostgreSQL backends serving this database's clients (the process title names the database);
    other databases on the same server (other people's tests) and autovacuum are not counted."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            words = title.replace("\0", " ").split()
            if words[:1] == ["postgres:"] and DB_NAME in words and "autovacuum" not in words:
                pids.append(int(entry.name))
    return pids


class CpuMeter:
    """CPU used by the app server and by this database's backends while the load runs.

    Sampled twice a second, because Django reopens its connections (CONN_MAX_AGE) and a
    backend that ends mid-run would take its CPU time with it.
    """

    def __init__(self, master: int):
        self.master, self.start, self.last = master, {}, {}
        self.stop = threading.Event()
        for pid, group in self._pids():
            self.start[pid] = self.last[pid] = (group, cpu_of(pid) or 0.0)
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _pids(self):
        return [(pid, "app") for pid in gunicorn_pids(self.master)] + [(pid, "db") for pid in database_pids()]

    def _sample(self):
        while not self.stop.wait(0.5):
            self._read()

    def _read(self):
        for pid, group in self._pids():
            used = cpu_of(pid)
            if used is not None:
                self.start.setdefault(pid, (group, 0.0))  # a new backend: all its time is this run's
                self.last[pid] = (group, used)

    def finish(self) -> dict[str, float]:
        self.stop.set()
        self.thread.join()
        self._read()
        totals = {"app": 0.0, "db": 0.0}
        for pid, (group, used) in self.last.items():
            totals[group] += used - self.start[pid][1]
        return totals


# --- figures -----------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))] if ordered else float("nan")


def summarise(label: str, run: dict) -> dict:
    rows = run["results"]
    latencies = [seconds * 1000 for _kind, seconds, _ok in rows]
    figures = {"rps": len(rows) / run["seconds"], "p50": percentile(latencies, 0.5),
               "p99": percentile(latencies, 0.99), "count": len(rows),
               "errors": sum(1 for _kind, _seconds, ok in rows if not ok)}
    print(f"{label}: {figures['count']:,} requests, {figures['rps']:.0f} req/s, p50 {figures['p50']:.1f} ms, "
          f"p99 {figures['p99']:.1f} ms, errors {figures['errors']}", flush=True)
    for kind in dict.fromkeys(kind for kind, *_ in rows):
        mine = [seconds * 1000 for k, seconds, _ok in rows if k == kind]
        print(f"  {kind:12s} {len(mine):7,}  p50 {percentile(mine, 0.5):6.1f} ms  p99 {percentile(mine, 0.99):6.1f} ms")
    for line in run["errors"][:5]:
        print(f"  error: {line}")
    return figures


def load(mode: str, seconds: float, args, fixture: dict) -> dict:
    return run_generator({"mode": mode, "clients": args.clients, "seconds": seconds, "port": args.port,
                          "fixture": fixture})


def measured_runs(args, fixture: dict, server: subprocess.Popen) -> tuple[dict, dict]:
    """The real mix and the bare creates, ``args.seconds`` each, in alternating slices.

    On a machine others share, the background load changes by the minute; slices
    taken turn about give both runs the same weather, so their ratio stays honest.
    """
    runs = {mode: {"results": [], "errors": [], "seconds": 0.0, "cpu_seconds": 0.0, "app": 0.0, "db": 0.0,
                   "machine": 0.0} for mode in ("api", "bare")}
    for _slice in range(args.slices):
        for mode, run in runs.items():
            meter = CpuMeter(server.pid)
            busy = machine_busy_seconds()
            part = load(mode, args.seconds / args.slices, args, fixture)
            used = meter.finish()
            run["machine"] += machine_busy_seconds() - busy
            for key in ("results", "errors"):
                run[key] += part[key]
            for key in ("seconds", "cpu_seconds"):
                run[key] += part[key]
            run["app"] += used["app"]
            run["db"] += used["db"]
    return (report_run("real API (create, accept, assign, cancel)", runs["api"]),
            report_run("bare DRF create", runs["bare"]))


def report_run(label: str, run: dict) -> dict:
    figures = summarise(label, run)
    total = max(1, figures["count"])
    figures["cpu_ms"] = 1000 * (run["app"] + run["db"]) / total
    print(f"  CPU per request: app {1000 * run['app'] / total:.2f} ms, PostgreSQL {1000 * run['db'] / total:.2f} ms, "
          f"load generator {1000 * run['cpu_seconds'] / total:.2f} ms ({100 * run['cpu_seconds'] / run['seconds']:.0f}% "
          "of one core)", flush=True)
    # What the machine's cores did besides this benchmark (other people's work on a shared machine).
    others = max(0.0, run["machine"] - run["app"] - run["db"] - run["cpu_seconds"]) / run["seconds"]
    print(f"  meanwhile other work used {others:.2f} of the {os.cpu_count()} cores", flush=True)
    figures["others"] = others
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--slices", type=int, default=4,
                        help="alternate real and bare in this many slices each (same background load for both)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--elders", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn worker processes (default: as yiyang serve, two per core)")
    parser.add_argument("--threads", type=int, default=0,
                        help="serve with this many threads per worker (gthread, keep-alive) instead of "
                             "production's sync workers, to compare")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--reuse-city", action="store_true", help="keep the city an earlier run built")
    args = parser.parse_args()
    if args.generate:
        print(json.dumps(generate(json.loads(sys.stdin.read()))))
        return
    if args.workers is None:
        from yiyang.web.serve import default_workers

        args.workers = default_workers()
    if args.reuse_city:
        url = scratch_url(DB_NAME)
    else:
        url = scratch_database(DB_NAME)
        print(f"building a {args.elders:,}-elder city on PostgreSQL ...", flush=True)
        build_city(url, args.elders)
    os.environ.update({k: v for k, v in server_env(url).items() if k in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")})
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0)
    fixture = prepare(args.clients)
    counts = queries_per_request(fixture)
    load_average = float(Path("/proc/loadavg").read_text().split()[0])
    print(f"machine: {os.cpu_count()} cores, 1-minute load average {load_average:.1f} before the run"
          + (" (other work is running: latencies and rates are lower than on an idle machine)"
             if load_average > 1 else ""), flush=True)
    print("queries per request: " + ", ".join(f"{kind} {n}" for kind, n in counts.items()), flush=True)
    connections.close_all()  # the app's connections are then the only ones to this database
    log = Path(f"/tmp/{DB_NAME}-gunicorn.log")
    options = server_options(args)
    server = start_server(url, args.port, options, log)
    try:
        print(f"gunicorn {' '.join(options)}; {args.clients} clients; "
              f"real and bare {args.seconds} s each in {args.slices} alternating slices, after {args.warmup} s "
              "warm-up of each", flush=True)
        # Warm-up, not counted: each worker's first requests import the URLconf and every API module.
        for mode in ("api", "bare"):
            warm = load(mode, args.warmup, args, fixture)
            failed = sum(1 for *_, ok in warm["results"] if not ok)
            if failed:
                sys.exit(f"{failed} requests failed in the {mode} warm-up: {warm['errors'][:3]}")
        real, bare = measured_runs(args, fixture, server)
    finally:
        stop_server(server)
    report("orders_api_real_rps", real["rps"], "req/s", "n/a")
    report("orders_api_bare_rps", bare["rps"], "req/s", "n/a")
    report("orders_api_real_p50", real["p50"], "ms", "n/a")
    report("orders_api_bare_p99", bare["p99"], "ms", "n/a")
    # What the ratio would be where the server's CPU is the only limit (a machine nobody else uses).
    report("orders_api_cpu_ratio", bare["cpu_ms"] / real["cpu_ms"] if real["cpu_ms"] else 0, "ratio", "n/a")
    report("orders_api_throughput_ratio", real["rps"] / bare["rps"] if bare["rps"] else 0, "ratio", ">= 0.5")
    report("orders_api_p99", real["p99"], "ms", "<= 100")
    report("orders_api_errors", real["errors"] + bare["errors"], "errors", "0")
    # Not a goal: how busy the machine was with other work (0 on a quiet machine; on 2 cores, 1 halves the rates).
    report("orders_api_background_cores", (real["others"] + bare["others"]) / 2, "cores", "n/a")


if __name__ == "__main__":
    main()
