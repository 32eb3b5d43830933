"""Shared fixtures: a fresh GeoPackage store per test, the shared real data, helpers."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture
def store(tmp_path):
    from stations.store import open_store

    s = open_store(tmp_path / "stations.gpkg")
    yield s
    s.close()


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL + PostGIS server for the whole session (see tests/pgserver.py);
    stopped and removed at the end, also when tests fail."""
    from pgserver import PGServer

    server = PGServer()
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server):
    """The URL of a fresh PostGIS database (made from the template), dropped after the test."""
    url = pg_server.new_database()
    yield url
    if not pg_server.running:  # a test that stopped the server and failed before starting it
        pg_server.start()
    pg_server.drop_database(url)


@pytest.fixture(params=["geopackage", "postgis"])
def any_store(request, tmp_path):
    """A fresh store of each backend: a GeoPackage file, then a PostGIS database."""
    from stations.store import open_store

    location = tmp_path / "stations.gpkg" if request.param == "geopackage" else request.getfixturevalue("pg_url")
    s = open_store(location)
    yield s
    s.close()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


def write_csv(path: Path, header: list[str], rows: list[list], *, encoding: str = "utf-8") -> Path:
    with open(path, "w", newline="", encoding=encoding) as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def snapshot(store) -> tuple:
    """Everything a user could see of a store: its records, history and revision."""
    frame = store.frame()
    return (store.revision(), store.count(), frame.to_csv(index=False), len(store.history(limit=10**9)))


def eventually(check, what: str, timeout_s: float = 60.0, *, every_s: float = 0.02):
    """Poll ``check()`` until it is truthy and return its value; fail naming ``what`` after
    ``timeout_s`` (a hang guard, not a speed test: waits normally end within a second)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout_s} s for {what}")
        time.sleep(every_s)
