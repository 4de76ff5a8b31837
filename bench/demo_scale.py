"""Build a 1,000,000-elder demo city on PostgreSQL; print seconds and peak memory.

Goal (issue 2): under 5 minutes and 2 GB on a 2-core machine. Usage:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/demo_scale.py [--elders N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import peak_memory_mb, report, scratch_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--elders", type=int, default=1_000_000)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = scratch_database("yiyang_bench_demo")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiyang.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from yiyang.demo import builder
    from yiyang.people.models import Elder

    call_command("migrate", interactive=False, verbosity=0)
    started = time.monotonic()
    builder.build(elders=args.elders, seed=2026)
    seconds = time.monotonic() - started
    count = Elder.objects.count()
    print(f"built {count:,} elders in {seconds:.1f} s, peak memory {peak_memory_mb():.0f} MB")
    report("demo_scale_seconds", seconds, "s", "< 300")
    report("demo_scale_peak_memory", peak_memory_mb(), "MB", "< 2048")


if __name__ == "__main__":
    main()
