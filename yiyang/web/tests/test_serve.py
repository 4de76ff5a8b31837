"""``yiyang serve`` runs gunicorn with the options the order-API benchmark measures."""

import sys

from gunicorn.app.wsgiapp import WSGIApplication

from yiyang.web import serve


def test_serve_runs_sync_workers_two_per_core_unless_told(monkeypatch):
    started = []
    monkeypatch.setattr(serve, "prepare", lambda: None)
    monkeypatch.setattr(WSGIApplication, "run", lambda self: started.append(list(sys.argv)))
    monkeypatch.setattr(sys, "argv", ["yiyang"])
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.setattr(serve.os, "cpu_count", lambda: 3)
    assert serve.run(serve.argparse_defaults()) == 0
    argv = started[0]
    assert argv[argv.index("--worker-class") + 1] == "sync" and "--threads" not in argv
    assert argv[argv.index("--workers") + 1] == "6"
    assert argv[argv.index("--bind") + 1] == "127.0.0.1:8000"
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    assert serve.default_workers() == 5


def test_the_benchmark_serves_with_the_same_options(monkeypatch):
    """bench/orders_api.py measures production's options; threads only when asked, to compare."""
    import argparse
    import importlib.util
    from pathlib import Path

    path = Path(serve.__file__).resolve().parents[2] / "bench" / "orders_api.py"
    spec = importlib.util.spec_from_file_location("orders_api_bench", path)
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the bench puts its own folder first
    spec.loader.exec_module(bench)
    assert bench.server_options(argparse.Namespace(workers=3, threads=0)) == serve.gunicorn_options(3)
    threaded = bench.server_options(argparse.Namespace(workers=2, threads=4))
    assert threaded[threaded.index("--worker-class") + 1] == "gthread"
