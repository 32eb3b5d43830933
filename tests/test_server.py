"""The API served by gunicorn on a loopback port, as `stations serve` runs it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pandas as pd
import pytest

from stations.io.importer import import_file
from stations.store import open_store

from browser_util import ROOT, free_port, serve
from conftest import eventually, write_csv
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


def _nearest_ids(base, lat=Q_LAT, lon=Q_LON, k=1):
    status, _, body = _get(f"{base}/api/v1/nearest?lat={lat}&lon={lon}&k={k}")
    assert status == 200, body
    return [r["station_id"] for r in body["results"]]


def _all_answer(base, ids, n=40) -> bool:
    """Whether ``n`` requests in a row get ``ids``: each is a new connection, and the workers
    take them as they come, so forty in a row reach both workers."""
    return all(_nearest_ids(base) == ids for _ in range(n))


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
    # Each worker's refresher notices the import within a poll and swaps the new snapshot in.
    eventually(lambda: _all_answer(base, ["N050"]), "both workers to serve the import")


def test_every_worker_serves_a_backup_moved_over_the_store(server):
    """After `mv backup.gpkg stations.gpkg` every worker answers from the new file."""
    base, store, tmp_path = server
    backup = tmp_path / "backup.gpkg"
    with open_store(backup) as s:
        import_file(s, write_csv(tmp_path / "b.csv", HEADER, [["R001", "备份驿站", Q_LON, Q_LAT + 0.0001, "24/7", "",
                                                               "所有人", "正常", ""]]))
    assert _all_answer(base, ["N100"])
    os.replace(backup, store)
    eventually(lambda: _all_answer(base, ["R001"]), "both workers to serve the restored file")


def test_serve_refuses_a_missing_store_and_creates_nothing(tmp_path):
    missing = tmp_path / "var" / "stations.gpkg"
    cmd = [sys.executable, "-m", "stations.cli", "--store", str(missing), "serve", "--host", "127.0.0.1",
           "--port", str(free_port()), "--workers", "1"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("`stations serve` started serving a store that does not exist")
    lines = err.decode().strip().splitlines()
    assert proc.returncode != 0 and len(lines) == 1, lines
    assert str(missing) in lines[0] and f"stations --store {missing} import" in lines[0]
    assert not missing.exists() and not missing.parent.exists()


def test_health_is_503_while_the_store_is_gone_and_nearest_keeps_answering(server):
    base, store, tmp_path = server
    status, _, health = _get(f"{base}/api/v1/health")
    assert status == 200 and health["status"] == "ok" and health["store"]["kind"] == "geopackage"
    assert health["revision"] == 1 and health["stations"] == 5 and health["snapshot"]["age_s"] >= 0
    keep = tmp_path / "keep.gpkg"
    shutil.copyfile(store, keep)
    store.unlink()
    # Both workers must notice: wait until several answers in a row say so.
    eventually(lambda: all(_get(f"{base}/api/v1/health")[0] == 503 for _ in range(10)), "health to report the loss")
    status, headers, body = _get(f"{base}/api/v1/health")
    assert headers["Content-Type"] == "application/problem+json" and body["status"] == 503
    assert str(store) in body["detail"] and "does not exist" in body["detail"]
    assert body["snapshot"]["revision"] == 1 and body["snapshot"]["stations"] == 5
    assert body["store"] == {"kind": "geopackage", "readable": False, "checked_s_ago": body["store"]["checked_s_ago"],
                             "schema_version": 3, "revision": 1}
    assert body["lag"] == {"revisions": 0, "seconds": 0.0} and headers["Retry-After"] == "5"
    assert [_nearest_ids(base) for _ in range(10)] == [["N100"]] * 10  # the last good snapshot
    assert not store.exists()
    os.replace(keep, store)
    eventually(lambda: all(_get(f"{base}/api/v1/health")[0] == 200 for _ in range(10)), "health to recover")


def test_answers_during_an_import_are_the_old_or_the_new_never_an_error(server):
    """Readers hammer /nearest while a few thousand stations land: each answer is whole, from
    before or after, and no request fails."""
    from stations.config import load_settings
    from stations.lookup import nearest
    from stations.travel import travels_from_settings
    from stations.service import build_snapshot
    from stations.synthetic import write_national_csv

    base, store, tmp_path = server
    csv = write_national_csv(tmp_path / "national.csv", 3000, seed=5)
    with open_store(store) as s:
        old = build_snapshot(s.frame())
    points = [(Q_LAT, Q_LON)] + [(float(a), float(b)) for a, b in pd.read_csv(csv)[["纬度", "经度"]].to_numpy()[::500]]
    travels = travels_from_settings(load_settings())

    def ids(snapshot, lat, lon):
        return [r["station_id"] for r in nearest(snapshot, lat=lat, lon=lon, k=3, travels=travels)["results"]]

    before = {p: ids(old, *p) for p in points}
    answers, failures, stop = [], [], threading.Event()

    def reader(offset):
        i = offset
        while not stop.is_set():
            lat, lon = points[i % len(points)]
            i += 1
            try:
                status, _, body = _get(f"{base}/api/v1/nearest?lat={lat}&lon={lon}&k=3")
            except (OSError, ValueError) as exc:  # refused, dropped or not JSON: a failure too
                failures.append(repr(exc))
                continue
            if status != 200:
                failures.append(body)
            else:
                answers.append(((lat, lon), [r["station_id"] for r in body["results"]]))

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    try:
        done = subprocess.run([sys.executable, "-m", "stations.cli", "--store", str(store), "import", str(csv),
                               "--no-geocode"], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        with open_store(store) as s:
            new = build_snapshot(s.frame())
        after = {p: ids(new, *p) for p in points}
        assert all(before[p] != after[p] for p in points[1:])  # the import changes every answer checked
        eventually(lambda: [_nearest_ids(base, *p, k=3) for p in points * 4] == [after[p] for p in points * 4],
                  "every worker to serve the import")
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert not failures, failures[:3]
    assert answers and all(got in (before[p], after[p]) for p, got in answers)


def _slow_clients(port: int, n: int) -> list[socket.socket]:
    """``n`` connections that each send part of a request and then wait: half stop in the
    headers, half declare a 100-byte body and send 10 bytes of it."""
    socks = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        socks.append(s)
        if i % 2:
            s.sendall(b"POST /api/v1/nearest/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 100\r\n\r\n" + b'{"points":')
        else:
            s.sendall(b"GET /api/v1/ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    return socks


def test_slow_clients_do_not_starve_the_server(tmp_path):
    store = tmp_path / "srv.gpkg"
    with open_store(store) as s:
        import_file(s, write_csv(tmp_path / "s.csv", HEADER, STATIONS))
    workers = 2
    with serve(store, workers=workers) as base:
        port = int(base.rsplit(":", 1)[1])
        socks = _slow_clients(port, 2 * (2 * workers + 2))
        try:
            time.sleep(0.5)  # let the server take them all in
            for _ in range(5):  # the timeout is the assertion: 5 s where a starved server needs 60
                with urllib.request.urlopen(f"{base}/api/v1/ping", timeout=5) as resp:
                    assert resp.status == 200 and json.loads(resp.read()) == {"ok": True}
            assert _nearest_ids(base) == ["N100"]
        finally:
            for s in socks:
                s.close()


def test_the_worker_patches_sockets_but_keeps_real_threads():
    """The refresher's CPU-bound builds must run in an OS thread, not a greenlet that would
    block the worker's event loop: the worker's monkey patching leaves threads alone."""
    code = ("from gevent import monkey\n"
            "from stations.web.server import Worker\n"
            "class Fake: sockets = []\n"
            "Worker.patch(Fake())\n"
            "import threading\n"
            "print(monkey.is_module_patched('socket'), monkey.is_module_patched('threading'),\n"
            "      type(threading.Lock()).__module__)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "False", "_thread"]


def test_preload_before_the_fork_opens_and_starts_nothing():
    """What the master loads before gunicorn forks (stations.web.server.preload): modules and
    the index's compiled kernels only; no thread (a thread does not survive a fork) and no
    store is opened; the objects are frozen out of the collector (gc.freeze)."""
    import gc

    from stations.web.server import preload

    threads = set(threading.enumerate())
    fds = set(os.listdir("/proc/self/fd"))
    try:
        preload()
        assert set(threading.enumerate()) == threads
        opened = {os.readlink(f"/proc/self/fd/{fd}") for fd in set(os.listdir("/proc/self/fd")) - fds
                  if os.path.exists(f"/proc/self/fd/{fd}")}
        assert not {path for path in opened if path.endswith((".gpkg", ".sqlite", ".db"))}, opened
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
