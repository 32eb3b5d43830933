"""A kill -9 in the middle of a large import, in a real subprocess, leaves the store exactly as before."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from stations.io.importer import import_file
from stations.records import empty_record
from stations.store import Change, open_store

from conftest import snapshot, write_csv
from test_import import HEADER, ROWS


@pytest.mark.slow
def test_kill_9_during_import_leaves_the_store_as_before(tmp_path):
    path = tmp_path / "stations.gpkg"
    with open_store(path) as store:
        import_file(store, write_csv(tmp_path / "good.csv", HEADER, ROWS))
        before = snapshot(store)
    rows = [[f"驿站{i}", f"{73.5 + (i % 6000) * 0.01:.5f}", f"{20 + (i // 6000) * 0.5:.5f}", "8:00-18:00", "空调、饮水"]
            for i in range(150_000)]
    big = write_csv(tmp_path / "big.csv", ["站点名称", "经度", "纬度", "开放时间", "设施/服务"], rows)
    journal = tmp_path / "stations.gpkg-journal"
    proc = subprocess.Popen([sys.executable, "-m", "stations.cli", "--store", str(path), "import", str(big),
                             "--no-geocode"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not journal.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    assert journal.exists(), f"the import never started writing: {proc.stderr.read().decode()[-2000:]}"
    time.sleep(0.05)  # well inside the write transaction
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with open_store(path, create=False) as store:
        assert snapshot(store) == before
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.slow
def test_kill_9_during_a_postgis_import_leaves_the_store_as_before(tmp_path, pg_url):
    """The same on PostGIS: the killed client's open transaction is rolled back by the server."""
    import psycopg

    with open_store(pg_url) as store:
        import_file(store, write_csv(tmp_path / "good.csv", HEADER, ROWS))
        before = snapshot(store)
    rows = [[f"驿站{i}", f"{73.5 + (i % 6000) * 0.01:.5f}", f"{20 + (i // 6000) * 0.5:.5f}", "8:00-18:00", "空调、饮水"]
            for i in range(200_000)]
    big = write_csv(tmp_path / "big.csv", ["站点名称", "经度", "纬度", "开放时间", "设施/服务"], rows)
    url = pg_url + "?application_name=stations-kill9"
    proc = subprocess.Popen([sys.executable, "-m", "stations.cli", "--store", url, "import", str(big),
                             "--no-geocode"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # Kill it while its transaction copies the stations in (after the batch row, before the history).
    writing = ("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'stations-kill9' "
               "AND backend_xid IS NOT NULL AND state = 'active' AND query LIKE 'COPY stations %'")
    with psycopg.connect(pg_url, autocommit=True) as db:
        deadline = time.monotonic() + 300
        while proc.poll() is None and time.monotonic() < deadline and not db.execute(writing).fetchone()[0]:
            time.sleep(0.01)
        assert proc.poll() is None, f"the import ended before it was killed: {proc.stderr.read().decode()[-2000:]}"
        assert db.execute(writing).fetchone()[0], "the import never started copying"
        time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        with open_store(pg_url, create=False) as store:
            assert snapshot(store) == before
        gone = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'stations-kill9'"
        deadline = time.monotonic() + 30
        while db.execute(gone).fetchone()[0] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert db.execute(gone).fetchone()[0] == 0, "the server kept the killed import's session"
    with open_store(pg_url, create=False) as store:
        assert snapshot(store) == before
        rec = empty_record()
        rec.update(station_id="AFTER", name="之后")
        assert store.apply([Change("add", rec)], command="test").revision == before[0] + 1  # no lock left behind
