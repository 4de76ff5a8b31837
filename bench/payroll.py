"""Monthly payroll at city scale, against a plain COPY of the same lines.

On PostgreSQL with a 1,000,000-elder demo city (about 160,000 entitled to 高龄津贴,
plus the grade-based 护理补贴 and the voucher 服务补贴): time full runs of the current
month of all three programmes including writing the payment lines, then COPY the
same lines into the same table, and print the ratio (goal ≤ 3× and under 60 s) and the run's peak memory (goal ≤ 1 GB). Then
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
from _common import peak_memory_mb, report, scratch_database, scratch_url  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
YIYANG = str(REPO / ".venv" / "bin" / "yiyang")


def build_city(database_url: str, elders: int) -> None:
    env = {**os.environ, "DATABASE_URL": database_url}
    subprocess.run([YIYANG, "demo", "--no-serve", "--elders", str(elders)], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


PROGRAMMES = ("gaoling", "huli", "fuwu")


def time_payroll() -> tuple[float, int]:
    """All three programmes' runs of the current month, one after another; prints each."""
    from django.utils import timezone

    from yiyang.benefits import services

    month = timezone.localdate().replace(day=1)
    total_seconds, total_lines = 0.0, 0
    for code in PROGRAMMES:
        started = time.monotonic()
        result = services.run_payroll(programme_code=code, month=month)
        seconds = time.monotonic() - started
        print(f"  {code}: {result.line_count:,} lines in {seconds:.2f} s", flush=True)
        total_seconds += seconds
        total_lines += result.line_count
    return total_seconds, total_lines


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
        cursor.execute(f"TRUNCATE {table} CASCADE")
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    return time.monotonic() - started


def empty_payroll() -> None:
    """Bring a reused city's schema up to date and remove earlier payroll results."""
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE benefits_voucherentry, benefits_voucheraccount, benefits_payrollapproval, "
                       "benefits_payrollrecheck, benefits_paymentline, benefits_bankbatch, benefits_payrollrun CASCADE")


def sqlite_run(elders: int) -> float:
    """A child process on a fresh SQLite city; returns its payroll seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite3"
        build_city(url, elders)
        code = ("import os,django,time;os.environ['DJANGO_SETTINGS_MODULE']='yiyang.settings';django.setup();"
                "from django.utils import timezone;from yiyang.benefits import services;"
                "t=time.monotonic();[services.run_payroll(programme_code=c,month=timezone.localdate().replace(day=1)) for c in ('gaoling','huli','fuwu')];"
                "print(time.monotonic()-t)")
        out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "DATABASE_URL": url}, check=True,
                             capture_output=True, text=True).stdout
        return float(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--elders", type=int, default=1_000_000)
    parser.add_argument("--sqlite-elders", type=int, default=20_000)
    parser.add_argument("--reuse-city", action="store_true",
                        help="keep the city an earlier run built (migrated, payroll tables emptied)")
    args = parser.parse_args()
    if args.reuse_city:
        url = scratch_url("yiyang_bench_payroll")
    else:
        url = scratch_database("yiyang_bench_payroll")
        print(f"building a {args.elders:,}-elder city on PostgreSQL ...", flush=True)
        build_city(url, args.elders)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiyang.settings")
    import django

    django.setup()
    if args.reuse_city:
        empty_payroll()
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
