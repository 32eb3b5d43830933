"""Accounts, scopes, staff edits, reports and check dates through the library (no Flask)."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import subprocess

import pytest

from stations.accounts import (Conflict, Forbidden, PreconditionFailed, RateLimited, Unauthorized, accept_report,
                               add_user, ago, authenticate, check_info, create_token, disable_user, due_list, etag,
                               list_reports, may_edit, patch_station, reject_report, revoke_token, submit_report,
                               summaries, user_for_token, verify_station)
from stations.accounts.scopes import User
from stations.errors import ValidationError
from stations.records import empty_record
from stations.store import SCHEMA_VERSION, Change, open_store

from conftest import snapshot, write_csv

PASSWORD = "correct horse battery"


def station(sid: str, adcode: str, **extra) -> dict:
    rec = empty_record()
    rec.update(station_id=sid, name=f"驿站{sid}", adcode=adcode, lat=39.7, lon=119.16, geocode_precision="exact",
               raw_lat=39.7, raw_lon=119.16, raw_crs="wgs84", opening_hours="Mo-Fr 08:00-18:00", **extra)
    return rec


def _seed(store):
    store.apply([Change("add", station("A1", "130322")), Change("add", station("B1", "130324")),
                 Change("add", station("Z1", "110101"))], command="seed")
    add_user(store, "admin1", role="admin", password=PASSWORD)
    add_user(store, "changli", role="editor", areas="130322", password=PASSWORD)
    add_user(store, "qhd", role="moderator", areas=["1303"], password=PASSWORD)
    add_user(store, "looker", role="viewer", areas="13")
    return store


@pytest.fixture
def seeded(any_store):
    """Seeded stores of both backends (GeoPackage, PostGIS)."""
    return _seed(any_store)


@pytest.fixture
def seeded_gpkg(store):
    return _seed(store)


def user(store, name):
    from stations.accounts import get_user

    return get_user(store, name)


def test_scopes_follow_adcode_prefixes():
    county = User(1, "c", "editor", ("130322",))
    city = User(2, "m", "editor", ("1303",))
    assert may_edit(county, "130322") and not may_edit(county, "130324")
    assert may_edit(city, "130324") and not may_edit(city, "110101")
    assert may_edit(User(3, "a", "admin"), "110101")
    assert not may_edit(User(4, "v", "viewer", ("13",)), "130322")
    assert not may_edit(User(5, "mod", "moderator", ("13",)), "130322")
    assert not may_edit(county, None), "a station without adcode belongs to no area"
    assert not may_edit(User(1, "c", "editor", ("130322",), disabled=True), "130322")


def test_a_province_or_city_adcode_as_area_covers_all_of_it(seeded):
    """Staff write a province as 510000 and a city as 130300: those name the whole area (as
    prefixes 51 and 1303), also for an account stored before areas were read so."""
    from stations.records import adcode_prefix

    assert [adcode_prefix(a) for a in ("510000", "130300", "130322", "13", "1303", "110100")] == \
        ["51", "1303", "130322", "13", "1303", "1101"]
    sichuan = add_user(seeded, "sichuan", role="editor", areas="510000, 130300")
    assert sichuan.areas == ("51", "1303")
    assert may_edit(sichuan, "510812") and may_edit(sichuan, "130324") and not may_edit(sichuan, "130424")
    assert user(seeded, "sichuan").areas == ("51", "1303")
    with seeded.transaction() as db:  # as an older version stored it
        db.execute("UPDATE users SET areas = ? WHERE name = ?", ("130000", "sichuan"))
    assert user(seeded, "sichuan").areas == ("13",) and may_edit(user(seeded, "sichuan"), "130322")
    changed = patch_station(seeded, user(seeded, "sichuan"), "A1", {"notes": "门口有台阶"}, if_match=None,
                            require_if_match=False)
    assert changed["notes"] == "门口有台阶"


def test_passwords_are_argon2_and_login_checks_them(seeded):
    row = seeded.query("SELECT password_hash FROM users WHERE name = 'changli'")[0]
    assert row["password_hash"].startswith("$argon2id$") and PASSWORD not in row["password_hash"]
    assert authenticate(seeded, "changli", PASSWORD).name == "changli"
    with pytest.raises(Unauthorized):
        authenticate(seeded, "changli", "wrong password!")
    with pytest.raises(Unauthorized):
        authenticate(seeded, "nobody", PASSWORD)
    with pytest.raises(ValidationError, match="at least 10"):
        add_user(seeded, "short", role="admin", password="short")
    with pytest.raises(ValidationError, match="needs at least one area"):
        add_user(seeded, "noarea", role="editor")
    with pytest.raises(ValidationError, match="not an allowed value"):
        add_user(seeded, "x", role="boss", areas="13")
    with pytest.raises(Conflict):
        add_user(seeded, "changli", role="viewer", areas="13")
    disable_user(seeded, "changli")
    with pytest.raises(Unauthorized):
        authenticate(seeded, "changli", PASSWORD)


def test_tokens_are_stored_hashed_scoped_and_revocable(seeded):
    token_id, token = create_token(seeded, "changli")
    stored = seeded.query("SELECT token_sha256, last_used_at FROM api_tokens WHERE token_id = ?", (token_id,))[0]
    assert token not in stored["token_sha256"] and stored["last_used_at"] is None
    u = user_for_token(seeded, token)
    assert (u.name, u.areas, u.source) == ("changli", ("130322",), f"api-token:{token_id}")
    assert seeded.query("SELECT last_used_at FROM api_tokens")[0]["last_used_at"] is not None
    revoke_token(seeded, token_id)
    with pytest.raises(Unauthorized):
        user_for_token(seeded, token)


def test_edit_outside_area_is_forbidden_and_changes_nothing(seeded):
    before = snapshot(seeded)
    editor = user(seeded, "changli")
    b1 = seeded.get("B1")
    with pytest.raises(Forbidden, match="outside"):
        patch_station(seeded, editor, "B1", {"name": "x"}, if_match=etag(b1))
    # moving a station of one's own area into another area is refused too
    with pytest.raises(Forbidden):
        patch_station(seeded, editor, "A1", {"adcode": "130324"}, if_match=etag(seeded.get("A1")))
    assert snapshot(seeded) == before


def test_stale_etag_is_refused_with_the_current_record(seeded):
    editor = user(seeded, "changli")
    old_tag = etag(seeded.get("A1"))
    patch_station(seeded, editor, "A1", {"opening_hours": "24/7"}, if_match=old_tag, reason="phoned them")
    with pytest.raises(PreconditionFailed) as err:
        patch_station(seeded, editor, "A1", {"name": "新名"}, if_match=old_tag)
    assert err.value.current["opening_hours"] == "24/7"
    assert seeded.get("A1")["name"] == "驿站A1"
    entry = seeded.history("A1", limit=1)[0]
    assert (entry["user"], entry["source"], entry["reason"]) == ("changli", "cli", "phoned them")
    assert entry["changes"] == {"opening_hours": ["Mo-Fr 08:00-18:00", "24/7"]}


def test_edit_validation_names_every_problem(seeded):
    with pytest.raises(ValidationError) as err:
        patch_station(seeded, user(seeded, "changli"), "A1",
                      {"opening_hours": "whenever", "access": "cats", "lat": "north", "colour": "red"},
                      if_match=etag(seeded.get("A1")))
    fields = {p.field for p in err.value.problems}
    assert {"opening_hours", "access", "lat", "colour"} <= fields


def test_a_failing_write_leaves_the_store_as_before(seeded):
    before = snapshot(seeded)

    def boom(db, batch_id):
        raise RuntimeError("disk unplugged")

    with pytest.raises(RuntimeError):
        patch_station(seeded, user(seeded, "changli"), "A1", {"name": "changed"},
                      if_match=etag(seeded.get("A1")), after=boom)
    assert snapshot(seeded) == before
    assert seeded.query("SELECT count(*) AS n FROM station_checks")[0]["n"] == 0


def test_reports_never_change_a_record_and_are_rate_limited(seeded):
    before = seeded.get("A1")
    rep = submit_report(seeded, "A1", {"kind": "closed", "text": "门锁着"}, client="10.0.0.1", limit_per_hour=3)
    assert rep["status"] == "open" and seeded.get("A1") == before
    stored = seeded.query("SELECT * FROM station_reports")[0]
    assert "10.0.0.1" not in str(stored)
    submit_report(seeded, "A1", {"kind": "closed"}, client="10.0.0.1", limit_per_hour=3)
    submit_report(seeded, "A1", {"kind": "still_correct"}, client="10.0.0.1", limit_per_hour=3)
    with pytest.raises(RateLimited) as err:
        submit_report(seeded, "A1", {"kind": "closed"}, client="10.0.0.1", limit_per_hour=3)
    assert 1 <= err.value.retry_after_s <= 3601
    submit_report(seeded, "A1", {"kind": "other", "text": "ok"}, client="10.0.0.2", limit_per_hour=3)
    s = summaries(seeded)["A1"]
    assert s["count"] == 4 and s["kinds"]["closed"] == 2
    assert s["label_en"] == "4 reports: closed (today), unconfirmed"


@pytest.mark.parametrize("doc, field", [
    ({"kind": "burnt"}, "kind"),
    ({"kind": "other", "text": "x" * 201}, "text"),
    ({"kind": "closed", "website": "http://spam"}, "website"),
    ({"kind": "closed", "email": "a@b.c"}, "email"),
    ({"kind": "closed", "amenity": "sauna"}, "amenity"),
])
def test_bad_reports_are_refused_naming_the_field(seeded, doc, field):
    with pytest.raises(ValidationError) as err:
        submit_report(seeded, "A1", doc, client="c", limit_per_hour=10)
    assert field in {p.field for p in err.value.problems}
    assert seeded.query("SELECT count(*) AS n FROM station_reports")[0]["n"] == 0


def test_accepting_a_closed_report_closes_the_station_with_history(seeded):
    rid = submit_report(seeded, "A1", {"kind": "closed", "text": "锁门了"}, client="c", limit_per_hour=9)["report_id"]
    other = submit_report(seeded, "A1", {"kind": "closed"}, client="d", limit_per_hour=9)["report_id"]
    with pytest.raises(Forbidden):
        list_reports(seeded, user(seeded, "looker"))
    queue = list_reports(seeded, user(seeded, "qhd"))
    assert {r["report_id"] for r in queue} == {rid, other}
    assert list_reports(seeded, User(9, "far", "moderator", ("11",))) == []
    accept_report(seeded, user(seeded, "qhd"), rid)
    rec = seeded.get("A1")
    assert rec["status"] == "temporarily_closed" and f"#{rid}" in rec["status_reason"] and "锁门了" in rec["status_reason"]
    entry = seeded.history("A1", limit=1)[0]
    assert (entry["user"], entry["source"]) == ("qhd", f"report:{rid}")
    states = {r["report_id"]: r["status"] for r in seeded.query("SELECT report_id, status FROM station_reports")}
    assert states == {rid: "accepted", other: "accepted"}
    info = check_info(seeded, "A1", stale_days=180)
    assert info["groups"]["hours"]["by"] == "qhd" and info["groups"]["hours"]["label_en"] == "checked today"
    assert info["groups"]["position"]["via"] is None, "a group nobody checked is not refreshed"
    with pytest.raises(Conflict):
        accept_report(seeded, user(seeded, "qhd"), rid)
    assert "A1" not in summaries(seeded)


def test_rejecting_needs_a_reason_and_the_right_area(seeded):
    rid = submit_report(seeded, "Z1", {"kind": "moved"}, client="c", limit_per_hour=9)["report_id"]
    with pytest.raises(Forbidden):
        reject_report(seeded, user(seeded, "qhd"), rid, reason="no")
    with pytest.raises(ValidationError):
        reject_report(seeded, user(seeded, "admin1"), rid, reason="  ")
    assert reject_report(seeded, user(seeded, "admin1"), rid, reason="checked, still there")["status"] == "rejected"
    assert seeded.get("Z1")["status"] == "open"


def test_check_dates_ago_labels_and_due_list(seeded):
    assert [ago(d) for d in (0.2, 1.5, 3, 21, 95, 800)] == [
        "today", "yesterday", "3 days ago", "3 weeks ago", "3 months ago", "2 years ago"]
    assert ago(21, "zh") == "3周前"
    editor = user(seeded, "changli")
    assert [r["station_id"] for r in due_list(seeded, editor, stale_days=180)] == ["A1"]
    verify_station(seeded, editor, "A1")
    assert due_list(seeded, editor, stale_days=180) == []
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=200)
    due = due_list(seeded, editor, stale_days=180, now=later)
    assert [r["station_id"] for r in due] == ["A1"] and due[0]["label_en"] == "checked 6 months ago"
    assert seeded.get("A1")["last_verified"] is not None
    assert seeded.history("A1", limit=1)[0]["user"] == "changli"


def test_an_old_store_gains_the_new_tables_by_upgrade_not_on_open(tmp_path):
    from stations.errors import StoreError

    path = tmp_path / "old.gpkg"
    s = open_store(path)
    s.apply([Change("add", station("A1", "130322"))], command="seed")
    s.close()
    db = sqlite3.connect(path)  # what a store written before accounts lacks (and its version record)
    for table in ("users", "api_tokens", "sessions", "station_reports", "station_checks", "rate_events",
                  "app_secrets", "uploads"):
        db.execute(f"DROP TABLE {table}")
    db.execute("ALTER TABLE station_batches DROP COLUMN user")
    db.execute("DELETE FROM station_meta WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match=f"has schema version 1; this stations needs {SCHEMA_VERSION}"):
        open_store(path)
    with open_store(path, create=False, for_upgrade=True) as old:
        assert len(old.upgrade()) == SCHEMA_VERSION - 1  # every step from 2 on
    s = open_store(path)
    add_user(s, "admin1", role="admin", password=PASSWORD)
    assert s.get("A1")["name"] == "驿站A1" and s.history("A1")[0]["user"] is None
    s.close()


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="gdal-bin not installed")
def test_gdal_lists_only_the_station_layers(seeded_gpkg):
    out = subprocess.run(["ogrinfo", "-ro", "-q", str(seeded_gpkg.path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "stations" in out.stdout
    for private in ("users", "api_tokens", "sessions", "rate_events", "app_secrets"):
        assert f": {private} " not in out.stdout and f": {private}\n" not in out.stdout
    assert "ERROR" not in out.stderr


def test_upload_dry_run_then_apply_names_the_user(seeded, tmp_path):
    from stations.accounts import upload_apply, upload_dry_run

    path = write_csv(tmp_path / "up.csv", ["站点编号", "站点名称", "行政区划代码", "经度", "纬度", "开放时间"],
                     [["N1", "新驿站", "130322", "119.17", "39.71", "8:00-18:00"],
                      ["N2", "坏行", "130322", "999", "39.71", ""]])
    before = snapshot(seeded)
    report = upload_dry_run(seeded, user(seeded, "changli"), path)
    assert (report["added"], report["rejected"], report["can_apply"]) == (1, 1, True)
    assert any(p["row"] == 2 for p in report["rejected_rows"])
    assert snapshot(seeded) == before
    upload_apply(seeded, user(seeded, "changli"), path, reason="spring survey")
    assert seeded.get("N1")["name"] == "新驿站" and seeded.get("N2") is None
    assert seeded.history("N1")[0]["user"] == "changli"
    outside = write_csv(tmp_path / "far.csv", ["站点编号", "站点名称", "行政区划代码", "经度", "纬度"],
                        [["F1", "远处", "110101", "116.4", "39.9"]])
    report = upload_dry_run(seeded, user(seeded, "changli"), outside)
    assert report["can_apply"] is False and report["outside_areas"][0]["row"] == 1
    with pytest.raises(Forbidden):
        upload_apply(seeded, user(seeded, "changli"), outside)
    assert seeded.get("F1") is None


def test_staff_search_ignores_ascii_case_on_both_backends(seeded):
    from stations.accounts import area_stations

    admin = user(seeded, "admin1")

    def found(text):
        return sorted(r["station_id"] for r in area_stations(seeded, admin, search=text, stale_days=180))

    assert found("a1") == found("A1") == ["A1"]
    assert found("驿站b") == found("驿站B") == ["B1"]  # names are 驿站<id>
    assert found("z") == ["Z1"] and found("nowhere") == []
    editor = user(seeded, "changli")  # sees only 130322
    assert sorted(r["station_id"] for r in area_stations(seeded, editor, stale_days=180)) == ["A1"]
