"""The API served by gunicorn on a loopback port, as `stations serve` runs it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from stations.io.importer import import_file
from stations.store import open_store

from browser_util import serve
from conftest import write_csv
from test_api import HEADER, Q_LAT, Q_LON, STATIONS


@pytest.fixture
def server(tmp_path):
    store = tmp_path / "srv.gpkg"
    with open_store(store) as s:
        import_file(s, write_csv(tmp_path / "s.csv", HEADER, STATIONS))
    with serve(store, workers=2) as base:
        yield base, store, tmp_path


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
