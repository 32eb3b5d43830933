"""Shared fixtures: a fresh GeoPackage store per test, the shared real data, helpers."""

from __future__ import annotations

import csv
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
