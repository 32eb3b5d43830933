"""Several service instances on one PostGIS database (issue 11, parts 4 and 5).

Real processes on a real, throwaway PostgreSQL + PostGIS server (tests/pgserver.py): two
`stations serve` instances see each other's writes within 1 s, answer nearest as the
brute-force oracle does, keep answering reads while the database restarts, and refuse writes
meanwhile with 503 + Retry-After. In-process: the change token, schema step 3 on PostGIS,
uploads shared between instances, a read-only role.
"""

from __future__ import annotations

import io
import json
import math
import os
import random
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import psycopg
import pytest

from stations.accounts import add_user, create_token
from stations.io.importer import import_file
from stations.store import SCHEMA_VERSION, open_store
from stations.store.migrations import PG_STEPS

from browser_util import ROOT, serve
from conftest import write_csv
from test_api import DEG_PER_M, HEADER, Q_LAT, Q_LON, STATIONS

LAG_BOUND_S = 1.0  # the requirement: another instance's write is answered within 1 s


def _request(url, *, method="GET", body=None, headers=None, timeout_s=10.0):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={**({"Content-Type": "application/json"} if data else {}), **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            return resp.status, resp.headers, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, err.headers, json.loads(err.read() or b"null")


def _seen_within(check, start_s: float, what: str, hang_guard_s: float = 15.0) -> float:
    """Poll ``check()`` until true; the seconds from ``start_s`` (time.time()) until it was."""
    while not check():
        if time.time() - start_s > hang_guard_s:
            pytest.fail(f"waited {hang_guard_s} s for {what}")
        time.sleep(0.02)
    return time.time() - start_s


@pytest.fixture
def pg_store(pg_url, tmp_path):
    """A PostGIS store with test_api's stations and an admin with a token."""
    with open_store(pg_url) as s:
        import_file(s, write_csv(tmp_path / "s.csv", HEADER, STATIONS))
        add_user(s, "admin1", role="admin")
        token = create_token(s, "admin1")[1]
    return pg_url, token


@pytest.fixture
def two_instances(pg_store, tmp_path):
    url, token = pg_store
    env = {"STATIONS_GEOCODE_CACHE": str(tmp_path / "cache.sqlite")}
    with serve(url, workers=1, env=env) as a, serve(url, workers=1, env=env) as b:
        yield a, b, url, token


# -- in process ---------------------------------------------------------------------------------

def test_the_change_token_moves_on_reports_checks_and_imports_only(pg_store, tmp_path):
    url, _ = pg_store
    from stations.accounts import submit_report

    with open_store(url) as s:
        t0 = s.change_token()
        assert s.change_token() == t0  # nothing written: the same
        with s.transaction() as db:  # a rate-limit event and a session are no reader's business
            db.execute("INSERT INTO rate_events VALUES ('b', 'c', 1.0)")
        assert s.change_token() == t0
        submit_report(s, "N100", {"kind": "closed"}, client="10.0.0.1", limit_per_hour=10)
        t1 = s.change_token()
        assert t1 != t0 and dict(t1)["revision"] == dict(t0)["revision"]  # a report makes no revision
        assert int(dict(t1)["changed:station_reports"]) == int(dict(t0)["changed:station_reports"]) + 1
        with s.transaction() as db:
            db.execute("INSERT INTO station_checks (station_id, field_group, checked_at) VALUES ('N100', 'hours', "
                       "'2026-01-01T00:00:00Z')")
        t2 = s.change_token()
        assert t2 != t1 and int(dict(t2)["changed:station_checks"]) == int(dict(t1)["changed:station_checks"]) + 1
        import_file(s, write_csv(tmp_path / "n.csv", HEADER, [["N050", "北50米", Q_LON, Q_LAT + 50 * DEG_PER_M,
                                                               "24/7", "", "所有人", "正常", ""]]))
        t3 = s.change_token()
        assert int(dict(t3)["revision"]) == int(dict(t2)["revision"]) + 1
        assert int(dict(t3)["changed:stations"]) > int(dict(t2)["changed:stations"])


def _as_version_2(url: str) -> None:
    """Take step 3 off a new store: its layout is then exactly version 2's (a new store is
    the version-2 layout plus the steps after it)."""
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("DROP TABLE uploads")
        for table in ("stations", "station_reports", "station_checks"):
            db.execute(f"DROP TRIGGER {table}_changed ON {table}")
        db.execute("DROP FUNCTION station_meta_bump_changed()")
        db.execute("DELETE FROM station_meta WHERE key LIKE 'changed:%'")
        db.execute("UPDATE station_meta SET value = '2' WHERE key = 'schema_version'")


def test_a_version_2_postgis_store_is_upgraded_to_3(pg_store):
    url, _ = pg_store
    _as_version_2(url)
    with psycopg.connect(url) as db:
        before = db.execute("SELECT station_id, name, lat, lon FROM stations ORDER BY station_id").fetchall()
    with pytest.raises(Exception, match="has schema version 2; this stations needs 3"):
        open_store(url, create=False)
    with open_store(url, create=False, for_upgrade=True) as s:
        assert s.schema_version() == 2
        assert s.upgrade() == [f"step 3: {PG_STEPS[1].description}"]
        assert s.upgrade() == []  # idempotent
    with open_store(url, create=False) as s:
        assert s.schema_version() == SCHEMA_VERSION == 3
        assert [(r["station_id"],) for r in s.query("SELECT station_id FROM stations ORDER BY station_id")] == [
            (b[0],) for b in before]
        token = s.change_token()
        assert [k for k, _ in token] == ["changed:station_checks", "changed:station_reports", "changed:stations",
                                         "revision"]
        with s.transaction() as db:
            db.execute("INSERT INTO station_reports (station_id, kind, created_at) VALUES ('N100', 'other', 'x')")
        assert s.change_token() != token
        assert s.query("SELECT count(*) AS n FROM uploads") == [{"n": 0}]


def test_an_upload_dry_run_on_one_instance_is_confirmed_on_another(pg_store, tmp_path):
    url, token = pg_store
    from stations.web import create_app

    a, b = create_app({"store": url}).test_client(), create_app({"store": url}).test_client()
    auth = {"Authorization": f"Bearer {token}"}
    rows = io.BytesIO(write_csv(tmp_path / "u.csv", HEADER, [["U001", "上传驿站", Q_LON + 0.01, Q_LAT, "24/7", "",
                                                                "所有人", "正常", ""]]).read_bytes())
    dry = a.post("/api/v1/uploads", data={"file": (rows, "u.csv")}, headers=auth)
    assert dry.status_code == 200, dry.get_json()
    assert dry.get_json()["added"] == 1 and dry.get_json()["can_apply"] is True
    upload_id = dry.get_json()["upload_id"]
    with open_store(url) as s:
        assert s.get("U001") is None  # a dry run writes no station
        assert [r["filename"] for r in s.query("SELECT filename FROM uploads")] == ["u.csv"]
    done = b.post(f"/api/v1/uploads/{upload_id}/confirm", json={"reason": "新站"}, headers=auth)
    for client in (a, b):
        client.application.extensions["stations"].close()
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["added"] == 1
    with open_store(url) as s:
        assert s.get("U001")["name"] == "上传驿站"
        assert s.query("SELECT count(*) AS n FROM uploads") == [{"n": 0}]  # removed once applied
    again = a.post(f"/api/v1/uploads/{upload_id}/confirm", headers=auth)
    assert again.status_code == 404 and again.get_json()["errors"][0]["parameter"] == "upload_id"


def test_an_upload_older_than_a_day_is_gone(pg_store):
    url, _ = pg_store
    from stations.accounts import get_user
    from stations.accounts.uploads import UPLOAD_KEEP_S, save_upload, upload_file
    from stations.errors import NotFoundError

    with open_store(url) as s:
        user = get_user(s, "admin1")
        old = save_upload(s, user, "a.csv", b"x", max_bytes=10, now_s=1000.0)
        with pytest.raises(NotFoundError):
            with upload_file(s, old, user, now_s=1000.0 + UPLOAD_KEEP_S + 1):
                pass
        save_upload(s, user, "b.csv", b"y", max_bytes=10, now_s=1000.0 + UPLOAD_KEEP_S + 1)
        assert [r["filename"] for r in s.query("SELECT filename FROM uploads")] == ["b.csv"]  # the old one purged
        with pytest.raises(Exception, match=r"too large.*1 to 10 bytes"):
            save_upload(s, user, "c.csv", b"z" * 11, max_bytes=10)


def test_a_read_only_role_serves_reads_and_names_itself_on_a_write(pg_store, pg_server):
    url, token = pg_store
    from stations.web import create_app

    dbname = url.rsplit("/", 1)[1]
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("DROP ROLE IF EXISTS stations_reader")
        db.execute("CREATE ROLE stations_reader LOGIN")
        db.execute(f"GRANT CONNECT ON DATABASE {dbname} TO stations_reader")
        db.execute("GRANT USAGE ON SCHEMA public TO stations_reader")
        db.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO stations_reader")
    try:
        reader_url = f"postgresql://stations_reader@127.0.0.1:{pg_server.port}/{dbname}"
        client = create_app({"store": reader_url}).test_client()
        near = client.get(f"/api/v1/nearest?lat={Q_LAT}&lon={Q_LON}&k=1")
        assert near.status_code == 200 and near.get_json()["results"][0]["station_id"] == "N100"
        assert client.get("/api/v1/health").get_json()["store"]["kind"] == "postgis"
        resp = client.post("/api/v1/stations/N100/reports", json={"kind": "closed"})
        assert resp.status_code == 503 and resp.headers["Retry-After"] == "5"
        assert resp.headers["Content-Type"] == "application/problem+json"
        assert "'stations_reader' may only read" in resp.get_json()["detail"]
        client.application.extensions["stations"].close()
    finally:
        with psycopg.connect(url, autocommit=True) as db:
            db.execute(f"REVOKE ALL ON DATABASE {dbname} FROM stations_reader")
            db.execute("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM stations_reader")
            db.execute("REVOKE ALL ON SCHEMA public FROM stations_reader")
            db.execute("DROP ROLE stations_reader")


# -- two `stations serve` processes ---------------------------------------------------------

def _nearest(base, lat, lon, k=1):
    status, _, body = _request(f"{base}/api/v1/nearest?lat={lat}&lon={lon}&k={k}")
    assert status == 200, body
    return [r["station_id"] for r in body["results"]]


def test_a_write_through_one_instance_is_answered_by_the_other_within_1_s(two_instances, tmp_path):
    a, b, url, token = two_instances
    auth = {"Authorization": f"Bearer {token}"}
    lags = {}
    # 1. A CLI import (another process), measured from its commit (the server's commit timestamp):
    #    both instances are polled while the command runs (it exits seconds after its commit).
    csv_path = write_csv(tmp_path / "n.csv", HEADER, [["N050", "北50米", Q_LON, Q_LAT + 50 * DEG_PER_M, "24/7", "",
                                                       "所有人", "正常", ""]])
    seen_at = {}

    def watch(name, base):
        deadline = time.time() + 120
        while time.time() < deadline:
            if _nearest(base, Q_LAT, Q_LON) == ["N050"]:
                seen_at[name] = time.time()
                return
            time.sleep(0.02)

    watchers = [threading.Thread(target=watch, args=item) for item in (("a", a), ("b", b))]
    for w in watchers:
        w.start()
    out = subprocess.run([sys.executable, "-m", "stations.cli", "--store", url, "import", str(csv_path),
                          "--no-geocode"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "STATIONS_GEOCODE_CACHE": str(tmp_path / "c.sqlite")})
    for w in watchers:
        w.join()
    assert out.returncode == 0, out.stderr
    with psycopg.connect(url) as db:
        committed = db.execute("SELECT pg_xact_commit_timestamp(xmin) FROM station_batches ORDER BY batch_id DESC "
                               "LIMIT 1").fetchone()[0].timestamp()
    assert set(seen_at) == {"a", "b"}, "an instance never served the import"
    for name in ("a", "b"):
        lags[f"import->{name}"] = seen_at[name] - committed
    # 2. An API edit through A, answered by B; measured from before the request was sent.
    status, headers, body = _request(f"{a}/api/v1/stations/N200/record", headers=auth)
    etag = headers["ETag"]
    sent = time.time()
    status, _, body = _request(f"{a}/api/v1/stations/N200", method="PATCH", headers={**auth, "If-Match": etag},
                               body={"changes": {"name": "北200米（改）"}})
    assert status == 200, body

    def b_has_new_name():
        st, _, doc = _request(f"{b}/api/v1/stations/N200")
        return st == 200 and doc["properties"]["name"] == "北200米（改）"
    lags["edit a->b"] = _seen_within(b_has_new_name, sent, "instance b to serve the edit")
    # 3. A worker's report through B shows on A (no revision: the change counters carry it).
    sent = time.time()
    status, _, body = _request(f"{b}/api/v1/stations/N300/reports", method="POST", body={"kind": "closed"})
    assert status == 201, body
    report_id = body["report_id"]

    def a_shows_report():
        st, _, doc = _request(f"{a}/api/v1/stations/N300")
        return st == 200 and (doc["properties"].get("reports") or {}).get("count") == 1
    lags["report b->a"] = _seen_within(a_shows_report, sent, "instance a to show the report")
    # 4. The report accepted through A (closes the station): B answers it closed.
    sent = time.time()
    status, _, body = _request(f"{a}/api/v1/reports/{report_id}/accept", method="POST", headers=auth)
    assert status == 200 and body["status"] == "accepted", body

    def b_has_it_closed():
        st, _, doc = _request(f"{b}/api/v1/stations/N300")
        return st == 200 and doc["properties"]["status"] == "temporarily_closed"
    lags["accept a->b"] = _seen_within(b_has_it_closed, sent, "instance b to serve the accepted report")
    # Both instances serve the last write (A, which made it, catches up by the same refresh as B).
    with open_store(url, create=False) as store:
        last = store.revision()
    health: list[dict] = []

    def both_current():
        health[:] = [_request(f"{base}/api/v1/health")[2] for base in (a, b)]
        return all(h["store"]["revision"] == h["snapshot"]["revision"] == last for h in health)
    _seen_within(both_current, sent, "both instances' /health to be current")
    print("lag (s):", {k: round(v, 3) for k, v in lags.items()})
    assert all(v < LAG_BOUND_S for v in lags.values()), lags
    for h in health:
        assert h["store"]["kind"] == "postgis" and h["store"]["schema_version"] == SCHEMA_VERSION
        assert h["lag"] == {"revisions": 0, "seconds": 0.0}
        assert h["snapshot"]["build"] == "changes"  # one station: merged into the served frame, no whole read


def _oracle(stations, lat, lon, k):
    """Brute force: every station's great-circle distance, the k smallest (ties by id)."""
    def dist_m(s):
        p1, p2 = math.radians(lat), math.radians(s[1])
        h = (math.sin((p2 - p1) / 2) ** 2
             + math.cos(p1) * math.cos(p2) * math.sin(math.radians(s[2] - lon) / 2) ** 2)
        return 2 * 6_371_008.8 * math.asin(math.sqrt(h))
    return [s[0] for s in sorted(stations, key=lambda s: (dist_m(s), s[0]))[:k]]


def test_nearest_from_both_instances_equals_the_oracle(pg_url, tmp_path):
    rng = random.Random(11)
    rows = []
    for i in range(300):  # a 0.2° square in Changli county, positions drawn at random
        rows.append([f"R{i:03d}", f"随机{i}", round(119.06 + rng.random() * 0.2, 6),
                     round(39.60 + rng.random() * 0.2, 6), "24/7", "", "所有人", "正常", ""])
    with open_store(pg_url) as s:
        import_file(s, write_csv(tmp_path / "r.csv", HEADER, rows))
    stations = [(r[0], r[3], r[2]) for r in rows]
    with serve(pg_url, workers=1) as a, serve(pg_url, workers=1) as b:
        for _ in range(40):
            lat, lon = 39.60 + rng.random() * 0.2, 119.06 + rng.random() * 0.2
            expected = _oracle(stations, lat, lon, 5)
            assert _nearest(a, lat, lon, 5) == expected
            assert _nearest(b, lat, lon, 5) == expected


def test_the_database_restarting_under_read_load(two_instances, pg_server):
    a, b, url, token = two_instances
    auth = {"Authorization": f"Bearer {token}"}
    reads = [f"/api/v1/nearest?lat={Q_LAT}&lon={Q_LON}&k=2", "/api/v1/stations?limit=10",
             "/api/v1/clusters?bbox=119,39.5,119.3,39.9&zoom=10", "/ogc/collections/stations/items?limit=5&f=json",
             "/api/v1/stations/N100"]
    failures, done, stop = [], [0], threading.Event()

    def reader(base):
        i = 0
        while not stop.is_set():
            path = reads[i % len(reads)]
            i += 1
            try:
                status, _, body = _request(base + path, timeout_s=10)
            except Exception as exc:  # a refused or dropped connection is a failed read too
                failures.append((base, path, repr(exc)))
                continue
            done[0] += 1
            if status != 200:
                failures.append((base, path, status, body))

    threads = [threading.Thread(target=reader, args=(base,)) for base in (a, b, a, b)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.0)
        pg_server.stop_server("fast")
        down = []
        for base in (a, b):  # writes during the outage: 503 problem+json with Retry-After
            st, headers, body = _request(f"{base}/api/v1/stations/N100/record", headers=auth)
            down.append((st, headers.get("Retry-After"), headers.get("Content-Type")))
            st, headers, body = _request(f"{base}/api/v1/stations/N100/reports", method="POST",
                                         body={"kind": "closed"})
            down.append((st, headers.get("Retry-After"), headers.get("Content-Type")))
        time.sleep(1.5)  # the refresher has noticed: /health says so
        for base in (a, b):
            st, headers, body = _request(f"{base}/api/v1/health")
            down.append((st, headers.get("Retry-After"), headers.get("Content-Type")))
        assert down == [(503, "5", "application/problem+json")] * 6, down
        pg_server.start()
        start = time.time()
        for base in (a, b):
            _seen_within(lambda: _request(f"{base}/api/v1/health")[0] == 200, start, "health to be 200 again", 30)
    finally:
        if not pg_server.running:
            pg_server.start()
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join()
    assert failures == [] and done[0] > 50, (failures[:5], done[0])
    # Writes work again on both.
    for base, name in ((a, "北100米（A）"), (b, "北100米（B）")):
        _, headers, _ = _request(f"{base}/api/v1/stations/N100/record", headers=auth)
        status, _, body = _request(f"{base}/api/v1/stations/N100", method="PATCH",
                                   headers={**auth, "If-Match": headers["ETag"]}, body={"changes": {"name": name}})
        assert status == 200 and body["record"]["name"] == name, body
