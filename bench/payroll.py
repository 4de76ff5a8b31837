"""Monthly payroll at city scale, against a plain COPY of the same lines.

On PostgreSQL with a 1,000,000-elder demo city (about 160,000 entitled to 高龄津贴):
time a full run of the current month including writing the payment lines, then
COPY the same lines into the same table, and print the ratio (goal ≤ 3× and under 60 s) and the run's peak memory (goal ≤ 1 GB). Then
the same run on a 20,000-elder SQLite city. The cities are built in a child
process, so the memory figure is the payroll's own.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/payroll.py [--elders N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import peak_memory_mb, report, scratch_database  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
YIYANG = str(REPO / ".venv" / "bin" / "yiyang")


def build_city(database_url: str, elders: int) -> None:
    env = {**os.environ, "DATABASE_URL": database_url}
    subprocess.run([YIYANG, "demo", "--no-serve", "--elders", str(elders)], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def time_payroll() -> tuple[float, int]:
    from django.utils import timezone

    from yiyang.benefits import services

    month = timezone.localdate().replace(day=1)
    started = time.monotonic()
    result = services.run_payroll(programme_code="gaoling", month=month)
    return time.monotonic() - started, result.line_count


def time_copy() -> float:
    """Take the run's lines out, then COPY the very same rows back into the same table and commit.

    Same table, same indexes and foreign keys (checked at commit), so the ratio
    measures the payroll's own work on top of writing its lines.
    """
    from django.db import connection, transaction

    from yiyang.benefits.models import PaymentLine

    table = PaymentLine._meta.db_table
    columns = "id, run_id, programme_id, elder_id, month, kind, tier, amount_fen, area_code"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table}")
        rows = cursor.fetchall()
        cursor.execute(f"TRUNCATE {table}")
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    return time.monotonic() - started


def sqlite_run(elders: int) -> float:
    """A child process on a fresh SQLite city; returns its payroll seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite3"
        build_city(url, elders)
        code = ("import os,django,time;os.environ['DJANGO_SETTINGS_MODULE']='yiyang.settings';django.setup();"
                "from django.utils import timezone;from yiyang.benefits import services;"
                "t=time.monotonic();services.run_payroll(programme_code='gaoling',month=timezone.localdate().replace(day=1));"
                "print(time.monotonic()-t)")
        out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "DATABASE_URL": url}, check=True,
                             capture_output=True, text=True).stdout
        return float(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--elders", type=int, default=1_000_000)
    parser.add_argument("--sqlite-elders", type=int, default=20_000)
    args = parser.parse_args()
    url = scratch_database("yiyang_bench_payroll")
    print(f"building a {args.elders:,}-elder city on PostgreSQL ...", flush=True)
    build_city(url, args.elders)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiyang.settings")
    import django

    django.setup()
    seconds, lines = time_payroll()
    memory = peak_memory_mb()
    copy_seconds = time_copy()
    print(f"payroll: {lines:,} lines in {seconds:.2f} s; COPY of the same lines {copy_seconds:.2f} s")
    report("payroll_seconds", seconds, "s", "< 60")
    report("payroll_vs_copy", seconds / copy_seconds, "ratio", "<= 3")
    report("payroll_peak_memory", memory, "MB", "<= 1024")
    sqlite_seconds = sqlite_run(args.sqlite_elders)
    report("payroll_sqlite_20k_seconds", sqlite_seconds, "s", "n/a")


if __name__ == "__main__":
    main()
