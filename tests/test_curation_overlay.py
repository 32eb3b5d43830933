"""The curation overlay (open reports and check dates beside the snapshot) against a plain
reference: the same answers recomputed per call from the store (check_info, summaries)."""

from __future__ import annotations

import datetime as dt
import gzip
import random

import orjson
import pytest

from stations.accounts import (accept_report, add_user, check_info, get_user, patch_station, reject_report,
                               submit_report, summaries, verify_station)
from stations.accounts.overlay import CurationKeeper, CurationOverlay
from stations.config import load_settings
from stations.lookup import nearest
from stations.travel import travels_from_settings
from stations.service import StationService
from stations.store import Change, open_store
from stations.web import create_app

from test_accounts import station

IDS = ("A1", "A2", "A3", "A4")


def _station(sid: str, **fields) -> dict:
    rec = station(sid, "130322")
    rec.update(fields)
    return rec


@pytest.fixture
def curated(store):
    store.apply([Change("add", _station(sid, lat=39.7 + i * 0.001, raw_lat=39.7 + i * 0.001,
                                        last_verified="2026-01-05" if i else None))
                 for i, sid in enumerate(IDS)], command="seed")
    add_user(store, "admin1", role="admin")
    return store


def _reference(store, sid: str, now: dt.datetime) -> tuple[dict, dict | None]:
    return check_info(store, sid, stale_days=180, now=now), summaries(store, [sid], now=now).get(sid)


def _cst_date(iso: str | None) -> str | None:
    return None if iso is None else (dt.datetime.fromisoformat(iso) + dt.timedelta(hours=8)
                                     - dt.datetime.fromisoformat(iso).utcoffset()).date().isoformat()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)


def test_overlay_matches_the_store_over_random_operations(curated):
    store, keeper, rng = curated, CurationKeeper(), random.Random(7)
    admin = get_user(store, "admin1")
    # an open report from 40 days ago: held, but past the 30 days a summary shows
    with store.transaction() as db:
        db.execute("INSERT INTO station_reports (station_id, kind, created_at) VALUES (?, ?, ?)",
                   ("A4", "moved", (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=40))
                    .isoformat(timespec="seconds").replace("+00:00", "Z")))
    keeper.refresh(store)
    assert keeper.current.reports["A4"][0][0] == "moved"
    assert keeper.current.report_summary("A4", now=_now()) is None, "older than 30 days: not shown"
    done = []
    for step in range(60):
        revision = store.revision()
        open_ids = [r["report_id"] for r in store.query("SELECT report_id FROM station_reports WHERE status = 'open'")]
        op = rng.choice(["report", "report", "accept", "reject", "verify", "edit", "nothing"])
        sid = rng.choice(IDS)
        if op == "report":
            kind = rng.choice(["closed", "hours_wrong", "moved", "other", "still_correct"])
            submit_report(store, sid, {"kind": kind, "text": f"<script>{step}</script>"}, client=f"c{step}",
                          limit_per_hour=1000)
        elif op == "accept" and open_ids:
            accept_report(store, admin, rng.choice(open_ids))
        elif op == "reject" and open_ids:
            reject_report(store, admin, rng.choice(open_ids), reason="不对")
        elif op == "verify":
            verify_station(store, admin, sid, rng.sample(["position", "hours", "amenities", "access"], rng.randint(1, 4)))
        elif op == "edit":
            patch_station(store, admin, sid, {"opening_hours": rng.choice(["24/7", "Mo-Su 08:00-20:00"])},
                          if_match=None, require_if_match=False)
        else:
            op = "nothing"
        done.append(op)
        if op in ("report", "reject"):
            assert store.revision() == revision, "reports and rejections make no store revision"
        moved = keeper.refresh(store)
        overlay, now = keeper.current, _now()
        for s in IDS:
            rec = store.get(s)
            got = overlay.public(s, last_verified=rec["last_verified"], stale_days=180, now=now)
            ref_checked, ref_reports = _reference(store, s, now)
            assert got == (ref_checked, ref_reports), (step, op, s)
            for lang in ("en", "zh"):  # the short form says the same in one language
                checked, reports = overlay.public(s, last_verified=rec["last_verified"], stale_days=180, now=now,
                                                  lang=lang)
                assert checked == {**{g: _cst_date(e["checked_at"]) for g, e in ref_checked["groups"].items()},
                                   "stale": ref_checked["stale"], "label": ref_checked["label_" + lang],
                                   "warning": ref_checked["warning_" + lang]}, (step, op, s, lang)
                assert reports == (None if ref_reports is None else
                                   {"count": ref_reports["count"], "kinds": ref_reports["kinds"],
                                    "latest_at": ref_reports["latest_at"], "label": ref_reports["label_" + lang],
                                    "unconfirmed": True})
        if op == "nothing":
            assert not moved, "nothing changed: no new overlay"
    assert {"report", "accept", "reject", "verify", "edit", "nothing"} <= set(done)


def test_a_refresh_reads_the_tables_only_when_the_token_moved(curated):
    store = curated

    class Counting:
        def __init__(self):
            self.sql = []

        def query(self, sql, params=()):
            self.sql.append(sql)
            return store.query(sql, params)

        def change_token(self):
            return store.change_token()

    counting, keeper = Counting(), CurationKeeper()
    assert keeper.refresh(counting) and len(counting.sql) == 3  # token, reports, checks
    assert not keeper.refresh(counting) and len(counting.sql) == 3  # nothing committed: not even the token
    keeper.recheck_s = 0.0  # as when the store's change token follows only its revision
    assert not keeper.refresh(counting) and len(counting.sql) == 4  # the token query alone
    keeper.recheck_s = 5.0
    first = keeper.current
    submit_report(store, "A1", {"kind": "closed"}, client="x", limit_per_hour=10)
    assert keeper.refresh(counting) and len(counting.sql) == 7
    assert keeper.current is not first and first.reports == {}  # the old overlay is left as it was
    assert keeper.current.reports["A1"][0][0] == "closed"


def test_the_service_keeps_the_overlay_beside_the_snapshot(curated):
    path = curated.path
    curated.close()
    with StationService(path, refresh_s=None) as service, open_store(path) as writer:
        snap, overlay = service.snapshot(), service.curation()
        assert overlay.reports == {}
        submit_report(writer, "A2", {"kind": "hours_wrong", "text": "9点还锁着"}, client="c", limit_per_hour=10)
        assert service.curation() is overlay, "requests read the overlay they have until the refresher runs"
        service.refresh()
        assert service.snapshot() is snap, "a report makes no new store revision, so no new snapshot"
        now = _now()
        checked, reports = service.curation().public("A2", last_verified="2026-01-05", stale_days=180, now=now,
                                                     lang="en")
        assert reports == {"count": 1, "kinds": {"hours_wrong": 1}, "latest_at": reports["latest_at"],
                           "label": "1 report: hours wrong (today), unconfirmed", "unconfirmed": True}
        # never checked by staff: last_verified stands in for every group (read in China Standard Time)
        assert checked["position"] == checked["hours"] == "2026-01-05"
        assert checked["stale"] is (now - dt.datetime(2026, 1, 5, tzinfo=dt.timezone(dt.timedelta(hours=8)))
                                    > dt.timedelta(days=180))
        verify_station(writer, get_user(writer, "admin1"), "A2", ["hours"])
        service.refresh()
        checked, _ = service.curation().public("A2", last_verified="2026-01-05", stale_days=180, now=_now(),
                                               lang="zh")
        today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
        assert checked["hours"] == today and checked["position"] == "2026-01-05"
        assert checked["label"] == "今天核实"


def test_nearest_carries_reports_and_check_dates(curated):
    admin = get_user(curated, "admin1")
    submit_report(curated, "A1", {"kind": "closed"}, client="a", limit_per_hour=10)
    submit_report(curated, "A1", {"kind": "closed", "text": "锁门"}, client="b", limit_per_hour=10)
    verify_station(curated, admin, "A2")
    revision, frame = curated.consistent_frame()
    from stations.service import build_snapshot

    snap = build_snapshot(frame, revision)
    keeper = CurationKeeper()
    keeper.refresh(curated)
    travels = travels_from_settings(load_settings())
    answer = nearest(snap, lat=39.7, lon=119.16, k=4, travels=travels, lang="en", curation=keeper.current)
    by_id = {r["station_id"]: r for r in answer["results"]}
    assert by_id["A1"]["reports"]["label"] == "2 reports: closed (today), unconfirmed"
    assert by_id["A1"]["reports"]["kinds"] == {"closed": 2}
    assert by_id["A1"]["checked"] == {"position": None, "hours": None, "amenities": None, "access": None,
                                      "stale": True, "label": "never checked",
                                      "warning": "position, hours, amenities, access: not checked in 180 days or "
                                                 "never; may be out of date"}
    assert by_id["A2"]["reports"] is None
    assert by_id["A2"]["checked"]["stale"] is False and by_id["A2"]["checked"]["label"] == "checked today"
    full = nearest(snap, lat=39.7, lon=119.16, k=4, travels=travels, detail="full", curation=keeper.current)
    a2 = {r["station_id"]: r for r in full["results"]}["A2"]
    assert a2["checked"] == check_info(curated, "A2", stale_days=180, now=dt.datetime.now(dt.timezone.utc))
    plain = nearest(snap, lat=39.7, lon=119.16, k=4, travels=travels)
    assert "checked" not in plain["results"][0], "without an overlay, answers as before"


def _realistic_store(path):
    """Stations as a county's real ones look: Chinese names and addresses, some with open reports."""
    with open_store(path) as s:
        recs = []
        for i in range(8):
            rec = _station(f"HB-130322-{i:04d}", lat=39.70 + i * 0.002, lon=119.16 + i * 0.002,
                           raw_lat=39.70 + i * 0.002, raw_lon=119.16 + i * 0.002, last_verified="2026-03-15")
            rec.update(name=f"昌黎县第{i + 1}环卫工人爱心驿站（碣石山镇分站）", county="昌黎县",
                       address=f"河北省秦皇岛市昌黎县碣石山镇民生路{100 + i}号社区服务中心一楼",
                       opening_hours="Mo-Su 07:00-19:00", amenity_water="yes", amenity_microwave="yes",
                       amenity_toilet="yes", amenity_charging="unknown")
            recs.append(Change("add", rec))
        s.apply(recs, command="seed")
        for i in range(5):
            for j in range(2):
                submit_report(s, f"HB-130322-{i:04d}", {"kind": ["closed", "hours_wrong"][j], "text": "门锁着"},
                              client=f"c{i}{j}", limit_per_hour=10)


def test_nearest_over_http_lean_and_full_and_the_size_of_the_lean_answer(tmp_path):
    path = tmp_path / "stations.gpkg"
    _realistic_store(path)
    app = create_app({"store": str(path)})
    app.testing = True
    client = app.test_client()
    app.extensions["stations"].refresh()
    resp = client.get("/api/v1/nearest?lat=39.70&lon=119.16&k=5&lang=zh")
    assert resp.status_code == 200
    body = resp.get_json()
    first = body["results"][0]
    assert first["reports"]["count"] == 2 and first["reports"]["kinds"] == {"closed": 1, "hours_wrong": 1}
    assert first["reports"]["label"].startswith("2条报告：") and first["reports"]["label"].endswith("未核实")
    assert first["checked"]["hours"] == "2026-03-15" and first["checked"]["label"].endswith("核实")
    # lean k=5 with every result carrying reports and a stale warning: at most 2.5 KB gzipped
    size = len(gzip.compress(resp.data, compresslevel=6))
    print(f"lean k=5 answer: {len(resp.data)} bytes, {size} bytes gzipped")
    assert size <= 2500, size
    full = client.get("/api/v1/nearest?lat=39.70&lon=119.16&k=5&detail=full&lang=en").get_json()
    f0 = full["results"][0]
    assert f0["checked"]["groups"]["hours"]["via"] == "last_verified"
    assert f0["reports"]["label_en"] == "2 reports: closed (today), unconfirmed"
    # the locator no longer needs /checks: the answer says the same as it
    checks = client.get(f"/api/v1/checks?ids={first['station_id']}").get_json()["stations"][first["station_id"]]
    assert checks["reports"]["label_zh"] == first["reports"]["label"]
    assert checks["checked"]["label_zh"] == first["checked"]["label"]
    assert orjson.loads(resp.data)["results"][0]["station_id"] == first["station_id"]


def test_overlay_of_an_empty_store_is_empty(store):
    keeper = CurationKeeper()
    assert keeper.refresh(store)
    assert keeper.current.reports == {} and keeper.current.checks == {}
    assert isinstance(keeper.current, CurationOverlay)
