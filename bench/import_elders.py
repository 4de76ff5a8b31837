"""Roster import speed on PostgreSQL: 200,000 rows from .csv and .xlsx, against a plain COPY.

Goal (registry, 'Imports and exports'): the CSV import runs at >= 0.25 of the speed of a
plain COPY of the same rows: their plaintext values, in the elder table's columns, into a
table shaped like it (same columns, constraints and indexes, logged like the real one; no
encryption, no validation, no audit). For context it also prints a COPY of the CSV file as
is into an unlogged table of the roster's columns without indexes. The CSV import and the plain COPY
report the best of two runs (the machine may be busy with other work). Usage:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/import_elders.py [--rows N]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import report, scratch_database  # noqa: E402

RUNS = 2
HARDSHIP_WORDS = ["特困", "低保", "低保边缘", "独居", "空巢", "留守", "失能", "半失能", "重残"]
LIVING_WORDS = ["独居", "仅与配偶同住", "与子女同住", "与其他亲属同住"]
RELATION_WORDS = ["儿子", "女儿", "配偶", "儿媳/女婿", "孙子女"]
FILE_COPY_TABLE = """
CREATE UNLOGGED TABLE bench_roster (
    seq integer, name varchar(64), id_number text, sex text, birth_date date, phone text, area_code varchar(12),
    address varchar(200), hukou_area_code varchar(12), living_arrangement text, hardships text, contact_name varchar(64),
    contact_phone text, contact_relation text, status text, death_date date)
"""


def roster_rows(count: int, villages: list[str], today: dt.date, seed: int = 7):
    """``count`` valid roster rows with unique ID numbers, spread over the demo villages."""
    from yiyang.demo import names
    from yiyang.people import idnumber

    rng = random.Random(seed)
    used: set[str] = set()
    for n in range(1, count + 1):
        village = rng.choice(villages)
        sex = rng.choice("MF")
        while True:
            birth = today - dt.timedelta(days=rng.randint(61 * 365, 100 * 365))
            seq = rng.randrange(0, 999, 2) + (1 if sex == "M" else 0)
            first17 = f"{village[:6]}{birth:%Y%m%d}{seq:03d}"
            if first17 not in used:
                used.add(first17)
                break
        number = first17 + idnumber.check_char(first17)
        pool = names.GIVEN_MALE if sex == "M" else names.GIVEN_FEMALE
        name = rng.choice(names.SURNAMES) + rng.choice(pool) + rng.choice(pool)
        dead = rng.random() < 0.02
        contact = rng.random() < 0.7
        yield [
            n, name, number, "男" if sex == "M" else "女", birth.isoformat(),
            f"13{rng.randint(0, 999_999_999):09d}" if rng.random() < 0.8 else "", village, f"幸福路{rng.randint(1, 300)}号",
            village[:6], rng.choice(LIVING_WORDS), "、".join(rng.sample(HARDSHIP_WORDS, rng.choice([0, 0, 0, 1, 1, 2]))),
            names.SURNAMES[n % 50] + rng.choice(pool) if contact else "", f"15{rng.randint(0, 999_999_999):09d}" if contact else "",
            rng.choice(RELATION_WORDS) if contact else "", "死亡" if dead else "在世",
            (today - dt.timedelta(days=rng.randint(1, 700))).isoformat() if dead else "",
        ]


def write_files(folder: Path, rows: list[list]) -> tuple[Path, Path]:
    from openpyxl import Workbook

    from yiyang.people.roster import COLUMNS

    headers = [column.header for column in COLUMNS]
    csv_path, xlsx_path = folder / "roster.csv", folder / "roster.xlsx"
    with open(csv_path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        writer.writerows(rows)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("花名册")
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    book.save(xlsx_path)
    return csv_path, xlsx_path


def timed_import(path: Path, user, count: int) -> float:
    """Seconds to import ``path`` into an empty registry."""
    from yiyang.people.importing import import_roster

    truncate_registry()
    started = time.perf_counter()
    result = import_roster(path, acting_user=user)
    seconds = time.perf_counter() - started
    if not result.ok or result.created != count:
        sys.exit(f"import of {path.name} failed: {result.errors[:5]} created={result.created}")
    return seconds


def truncate_registry() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE people_elder CASCADE")


def plain_copy(rows: list[list]) -> float:
    """The rows' plaintext values COPYed into a table shaped like the elder table."""
    from django.db import connection, transaction
    from django.utils import timezone

    from yiyang.core import bulk
    from yiyang.people import idnumber, roster
    from yiyang.people.importing import ELDER_FIELDS
    from yiyang.people.models import Elder

    now = timezone.now()
    values = []
    for n, name, number, _sex, _birth, phone, village, address, hukou, living, *_rest, status, death in rows:
        parsed = idnumber.parse(number)
        values.append((n, name, number, number, number[-4:], False, parsed.birth_date, parsed.sex, phone, phone, village,
                       address, hukou, roster.LIVING.value(living), roster.STATUS.value(status), death or None, None,
                       "", "", "", now, now))
    columns = ", ".join(bulk.column_names(Elder, ELDER_FIELDS))
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_elder")
        cursor.execute(f"CREATE TABLE bench_elder (LIKE {Elder._meta.db_table} INCLUDING ALL)")
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY bench_elder ({columns}) FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)
    return time.perf_counter() - started


def file_copy(path: Path) -> float:
    """The CSV file streamed as is to COPY (FORMAT csv), into an unlogged table without indexes."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_roster")
        cursor.execute(FILE_COPY_TABLE)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor, path.open("rb") as handle:
        with cursor.cursor.copy("COPY bench_roster FROM STDIN (FORMAT csv, HEADER true)") as copy:
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = scratch_database("yiyang_bench_import")
    os.environ["YIYANG_IMPORT_MAX_BYTES"] = str(200 * 1024 * 1024)  # room for larger --rows than the 40 MB default
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiyang.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from yiyang.accounts.models import User
    from yiyang.areas.models import Area, Level
    from yiyang.demo import builder

    call_command("migrate", interactive=False, verbosity=0)
    builder.build(elders=50, seed=2026)
    user = User.objects.get(username="city")
    villages = list(Area.objects.filter(level=Level.VILLAGE, code__startswith="5107").values_list("code", flat=True))
    rows = list(roster_rows(args.rows, villages, timezone.localdate()))
    with tempfile.TemporaryDirectory() as folder:
        csv_path, xlsx_path = write_files(Path(folder), rows)
        print(f"{args.rows:,} rows: CSV {csv_path.stat().st_size / 1e6:.1f} MB, XLSX {xlsx_path.stat().st_size / 1e6:.1f} MB")
        csv_seconds = min(timed_import(csv_path, user, args.rows) for _ in range(RUNS))
        xlsx_seconds = timed_import(xlsx_path, user, args.rows)
        copy_seconds = min(plain_copy(rows) for _ in range(RUNS))
        file_seconds = file_copy(csv_path)
    rates = {name: args.rows / seconds for name, seconds in
             (("import_csv", csv_seconds), ("import_xlsx", xlsx_seconds), ("copy", copy_seconds), ("file", file_seconds))}
    for name, seconds in (("import CSV", csv_seconds), ("import XLSX", xlsx_seconds), ("plain COPY", copy_seconds),
                          ("file COPY", file_seconds)):
        print(f"{name:12s} {seconds:7.2f} s  {args.rows / seconds:9,.0f} rows/s")
    print(f"import XLSX / plain COPY: {rates['import_xlsx'] / rates['copy']:.3f}; "
          f"import CSV / file COPY without indexes: {rates['import_csv'] / rates['file']:.4f}")
    report("import_csv", rates["import_csv"], "rows/s", ">= 0.25 of COPY")
    report("import_csv_vs_copy", rates["import_csv"] / rates["copy"], "ratio", "0.25")
    report("import_xlsx", rates["import_xlsx"], "rows/s", "n/a")


if __name__ == "__main__":
    main()
