"""Solomon files: reading, writing, and ``yiyang plan-routes`` on a real instance."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from yiyang.dispatch import solomon

REPO = Path(__file__).resolve().parents[3]
C101 = REPO.parent / "shared" / "data" / "solomon" / "C101.txt"
needs_c101 = pytest.mark.skipif(not C101.exists(), reason="Solomon instances not available")

SMALL = solomon.Instance("TINY", 2, 10, (
    solomon.Customer(0, 0, 0, 0, 0, 100, 0),
    solomon.Customer(1, 3, 4, 2, 5, 20, 1.5),
    solomon.Customer(2, -3, 4.25, 3, 0, 50, 10),
))


def test_write_then_read_gives_the_same_instance(tmp_path):
    path = tmp_path / "tiny.txt"
    solomon.write(SMALL, path)
    assert solomon.read(path) == SMALL


@needs_c101
def test_real_instance_round_trip(tmp_path):
    instance = solomon.read(C101)
    assert (instance.name, instance.vehicles, instance.capacity, len(instance.customers)) == ("C101", 25, 200, 101)
    assert instance.customers[1] == solomon.Customer(1, 45, 68, 10, 912, 967, 90)
    solomon.write(instance, tmp_path / "c101.txt")
    assert solomon.read(tmp_path / "c101.txt") == instance


def test_instance_becomes_a_day():
    visits, workers, _ = solomon.to_day(SMALL)
    assert [v.id for v in visits] == ["1", "2"]
    assert (visits[0].window.start, visits[0].window.end, visits[0].duration, visits[0].demand) == (5, 20, 1.5, 2)
    assert len(workers) == 2 and workers[0].capacity == 10 and workers[0].shift.end == 100


@needs_c101
def test_plan_routes_prints_only_the_routes():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["DATABASE_URL"] = "sqlite:////nonexistent/never-used.sqlite3"
    done = subprocess.run([str(Path(sys.executable).with_name("yiyang")), "plan-routes", "--solomon", str(C101),
                           "--seconds", "2"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert list(out) == ["routes"]
    served = sorted(c for route in out["routes"] for c in route)
    assert served == list(range(1, 101))
    assert 0 < len(out["routes"]) <= 25
    assert done.stdout.count("\n") == 1
