"""Helpers shared by the benchmark scripts: a scratch PostgreSQL database and peak memory."""

from __future__ import annotations

import os
import resource
import sys
from urllib.parse import urlparse, urlunparse

import psycopg


def scratch_database(name: str) -> str:
    """Drop and recreate database ``name`` on the server of $DATABASE_URL; return its URL."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("This benchmark runs on PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres")
    parts = urlparse(url)
    admin = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunparse(parts._replace(path=f"/{name}"))


def scratch_url(name: str) -> str:
    """The URL of database ``name`` on the server of $DATABASE_URL, left as it is."""
    parts = urlparse(os.environ.get("DATABASE_URL", ""))
    return urlunparse(parts._replace(path=f"/{name}"))


def peak_memory_mb() -> float:
    """Peak resident memory of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(name: str, value: float, unit: str, goal: str) -> None:
    print(f"bench {name}: {value:.3g} {unit} (goal {goal})", flush=True)
