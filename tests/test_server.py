"""The API served by gunicorn on a loopback port, as `stations serve` runs it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from stations.importer import import_file
from stations.store import open_store

from conftest import write_csv
from test_api import HEADER, Q_LAT, Q_LON, STATIONS

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    store = tmp_path / "srv.gpkg"
    with open_store(store) as s:
        import_file(s, write_csv(tmp_path / "s.csv", HEADER, STATIONS))
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "stations.cli", "--store", str(store), "serve", "--port", str(port),
                             "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/api/v1/health", timeout=5).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"server did not start: {proc.stdout.read().decode()[-2000:]}")
            time.sleep(0.1)
    yield base, store, tmp_path
    proc.terminate()
    proc.wait(timeout=30)


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.headers, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, err.headers, json.loads(err.read())


def test_gunicorn_serves_nearest_and_problems(server):
    base, store, tmp_path = server
    status, headers, body = _get(f"{base}/api/v1/nearest?lat={Q_LAT}&lon={Q_LON}&k=2")
    assert status == 200 and [r["station_id"] for r in body["results"]] == ["N100", "N200"]
    assert headers["Access-Control-Allow-Origin"] == "*"
    status, headers, body = _get(f"{base}/api/v1/nearest?lat=nan&lon={Q_LON}")
    assert status == 400 and headers["Content-Type"] == "application/problem+json"
    assert body["errors"][0]["parameter"] == "lat"
    status, headers, body = _get(f"{base}/api/v1/nearest?lat=1&lon=1&x=" + "y" * 6000)
    assert status == 414 and body["status"] == 414


def test_every_worker_sees_an_import_without_restart(server):
    base, store, tmp_path = server
    with open_store(store) as s:
        import_file(s, write_csv(tmp_path / "n.csv", HEADER,
                                 [["N050", "北50米", Q_LON, Q_LAT + 50 / 111_194.93, "24/7", "", "所有人", "正常", ""]]))
    for _ in range(6):  # several requests: both workers answer some of them
        status, _, body = _get(f"{base}/api/v1/nearest?lat={Q_LAT}&lon={Q_LON}&k=1")
        assert body["results"][0]["station_id"] == "N050"
