"""The change feed: the store's history read forward, replayed onto a dump, paged, and its window.

The central check: a dump at revision r1, plus the feed's changes since r1 applied in order
(each puts the station's feature under its id), equals a fresh dump at r2.
"""

from __future__ import annotations

import datetime as dt
import io
import json

import jsonschema_rs
import pytest

from opendata_records import all_records, grid_record, make_store
from stations.edit import set_status
from stations.errors import ValidationError
from stations.io.importer import import_file
from stations.opendata import DataLicence, DumpMeta, HistoryGoneError, read_changes, snapshot_records, write_geojson
from stations.service import build_snapshot
from stations.store import Change, open_store
from stations.web import create_app
from stations.web.opendata import CHANGES_SCHEMA

from conftest import write_csv


def _features(store) -> tuple[int, dict]:
    """(revision, {id: feature}) of a fresh GeoJSON dump of the store."""
    revision, frame = store.consistent_frame()
    out = io.BytesIO()
    write_geojson(snapshot_records(build_snapshot(frame, revision)), out,
                  meta=DumpMeta(revision, store.revision_at(revision), DataLicence()))
    doc = json.loads(out.getvalue())
    assert doc["revision"] == revision
    return revision, {f["id"]: f for f in doc["features"]}


def _replay(store, since: int, copy: dict, *, limit: int) -> int:
    """Apply every change since ``since`` to ``copy``, page by page; return the next ``since``."""
    cursor = None
    for _ in range(1000):
        page = read_changes(store, since, cursor=cursor, limit=limit)
        assert len(page.changes) <= limit
        for change in page.changes:
            copy[change["station_id"]] = change["feature"]
        if page.cursor is None:
            return page.next_since
        cursor = page.cursor
    raise AssertionError("the feed did not end")


def _some_changes(store, tmp_path) -> None:
    """A real import (two new stations, one renamed, one moved), a removal and a reopening."""
    header = ["站点编号", "站点名称", "经度", "纬度", "区县", "开放时间", "设施/服务"]
    g = grid_record(0, 1)
    rows = [["N1", "新增驿站一", 119.30, 39.90, "昌黎县", "24/7", "厕所、微波炉"],
            ["N2", "新增驿站二", 119.31, 39.91, "蔚县", "8:00-18:00", "饮水"],
            ["G01", "改了名字的驿站", g["lon"], g["lat"], g["county"], "24/7", ""],
            ["G02", "挪了位置的驿站", 119.5, 39.5, "昌黎县", "", ""]]
    report = import_file(store, write_csv(tmp_path / "changes.csv", header, rows))
    assert report.rejected == 0 and report.added == 2 and report.updated == 2, report.rejected_rows
    set_status(store, "G03", "removed", reason="拆除 demolished")
    set_status(store, "G04", "temporarily_closed", reason="装修")
    set_status(store, "G04", "open", reason="重新开放")


def test_a_dump_plus_the_feed_is_a_fresh_dump(tmp_path):
    store = open_store(make_store(tmp_path / "s.gpkg"))
    r1, copy = _features(store)
    _some_changes(store, tmp_path)
    r2, fresh = _features(store)
    assert r2 == r1 + 4
    assert copy != fresh  # the changes changed something
    assert _replay(store, r1, copy, limit=2) == r2
    assert copy == fresh
    store.close()


def test_the_feed_from_zero_builds_the_whole_data_set(tmp_path):
    store = open_store(make_store(tmp_path / "s.gpkg"))
    _some_changes(store, tmp_path)
    copy: dict = {}
    next_since = _replay(store, 0, copy, limit=7)
    revision, fresh = _features(store)
    assert next_since == revision and copy == fresh
    store.close()


def test_changes_come_in_commit_order_with_their_revisions_and_the_station_right_after(store):
    a, b = grid_record(0, 0), grid_record(0, 1)
    store.apply([Change("add", a), Change("add", b)], command="test")  # revision 1
    store.apply([], command="nothing")  # no change: no revision
    a2 = {**a, "name": "改名一次"}
    store.apply([Change("update", a2, {"name": [a["name"], a2["name"]]})], command="edit")  # revision 2
    a3 = {**a2, "name": "改名两次", "amenity_wifi": "yes"}
    store.apply([Change("update", a3, {"name": [a2["name"], a3["name"]],
                                       "amenity_wifi": [a2["amenity_wifi"], "yes"]})], command="edit")  # 3
    assert store.revision() == 3  # a batch without changes is no revision: the feed numbers as the store does
    page = store.changes_since(0)
    assert [(e.revision, e.station_id, e.action, e.changed) for e in page.entries] == [
        (1, "G00", "add", ()), (1, "G01", "add", ()), (2, "G00", "update", ("name",)),
        (3, "G00", "update", ("name", "amenity_wifi"))]
    assert [e.record["name"] for e in page.entries] == [a["name"], b["name"], "改名一次", "改名两次"]
    assert [e.record["amenity_wifi"] for e in page.entries] == ["unknown", "unknown", "unknown", "yes"]
    assert page.revision == 3 and not page.more
    assert [e.revision for e in store.changes_since(1).entries] == [2, 3]
    assert store.changes_since(3).entries == ()
    times = [store.revision_at(r) for r in (1, 2, 3)]
    assert times == sorted(times) and store.revision_at(0) is None and store.revision_at(4) is None


def test_a_revision_the_store_does_not_have_is_refused(store):
    store.apply([Change("add", grid_record(0, 0))], command="test")
    for bad in (-1, 2):
        with pytest.raises(ValidationError, match="revision"):
            store.changes_since(bad)
    with pytest.raises(ValidationError, match="newer than this service's revision"):
        read_changes(store, 5)
    with pytest.raises(ValidationError, match="cursor"):
        read_changes(store, 0, cursor="1234")


def test_paging_goes_on_where_it_stopped_while_an_import_lands(tmp_path):
    store = open_store(make_store(tmp_path / "s.gpkg"))
    first = read_changes(store, 0, limit=10)
    assert first.cursor is not None and len(first.changes) == 10
    _some_changes(store, tmp_path)  # lands between two pages
    rest = []
    cursor = first.cursor
    while cursor is not None:
        page = read_changes(store, 0, cursor=cursor, limit=10)
        rest += page.changes
        cursor = page.cursor
    whole = read_changes(store, 0, limit=10_000).changes
    assert list(first.changes) + rest == list(whole)  # every change once, in order
    store.close()


def test_a_since_older_than_the_window_is_gone(store):
    store.apply([Change("add", grid_record(0, 0))], command="test")  # revision 1, now
    made = dt.datetime.fromisoformat(store.revision_at(1).replace("Z", "+00:00"))
    later = made + dt.timedelta(days=31)
    with pytest.raises(HistoryGoneError, match="older than the 30 days"):
        read_changes(store, 0, keep_days=30, now=later)
    assert len(read_changes(store, 0, keep_days=32, now=later).changes) == 1
    assert read_changes(store, 1, keep_days=30, now=later).changes == ()  # up to date: nothing is missing
    assert len(read_changes(store, 0, keep_days=0, now=later).changes) == 1  # 0: every change is served


# -- over HTTP ----------------------------------------------------------------------------------------

@pytest.fixture
def client(tmp_path):
    make_store(tmp_path / "web.gpkg", all_records())
    return create_app({"store": str(tmp_path / "web.gpkg"), "opendata_dir": str(tmp_path / "dumps")}).test_client()


def test_the_feed_over_http_pages_by_next_links_and_says_where_to_ask_next(client):
    url, ids, pages = "/api/v1/changes?since=0&limit=10", [], 0
    while True:
        resp = client.get(url)
        assert resp.status_code == 200, resp.get_json()
        body = resp.get_json()
        pages += 1
        ids += [c["station_id"] for c in body["changes"]]
        url = body["links"][0]["href"]
        if body["complete"]:
            break
        assert body["next_since"] is None and "cursor=" in url
    assert pages == 4 and sorted(ids) == sorted(r["station_id"] for r in all_records())
    assert jsonschema_rs.validator_for(_openapi_to_json_schema(CHANGES_SCHEMA)).is_valid(body)
    assert body["next_since"] == body["revision"] == 1 and url == "/api/v1/changes?since=1&limit=10"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    again = client.get(url).get_json()
    assert again["changes"] == [] and again["complete"] and again["next_since"] == 1


@pytest.mark.parametrize("query,parameter", [("", "since"), ("since=-1", "since"), ("since=x", "since"),
                                             ("since=2", "since"), ("since=0&cursor=abc", "cursor"),
                                             ("since=0&limit=5001", "limit"), ("since=0&limit=0", "limit"),
                                             ("since=0&sinse=1", "sinse")])
def test_bad_feed_requests_are_400_problems_naming_the_parameter(client, query, parameter):
    resp = client.get(f"/api/v1/changes?{query}")
    assert resp.status_code == 400 and resp.content_type == "application/problem+json"
    assert parameter in [e["parameter"] for e in resp.get_json()["errors"]]


def test_a_copy_older_than_the_window_gets_410_with_the_dumps_to_reload(tmp_path, monkeypatch):
    import stations.store.gpkg as gpkg

    monkeypatch.setattr(gpkg, "_now", lambda: "2020-01-01T00:00:00.000Z")  # the history is from 2020
    make_store(tmp_path / "old.gpkg", all_records())
    monkeypatch.undo()
    app = create_app({"store": str(tmp_path / "old.gpkg"), "changes_keep_days": 90,
                      "opendata_dir": str(tmp_path / "dumps")})
    resp = app.test_client().get("/api/v1/changes?since=0")
    assert resp.status_code == 410 and resp.content_type == "application/problem+json"
    body = resp.get_json()
    assert body["type"] == "/api/v1/problems#gone" and body["title"] == "Gone" and body["status"] == 410
    assert "older than the 90 days" in body["detail"] and "dump" in body["detail"]
    assert body["errors"][0]["parameter"] == "since" and body["errors"][0]["value"] == 0
    assert body["dumps"] == [f"http://localhost/opendata/stations.{f}" for f in ("geojson", "csv", "gpkg")]
    assert app.test_client().get("/api/v1/changes?since=1").status_code == 200  # a current copy is fine


def _openapi_to_json_schema(schema):
    """OpenAPI 3.0's ``nullable: true`` as JSON Schema's type list."""
    if isinstance(schema, dict):
        out = {k: _openapi_to_json_schema(v) for k, v in schema.items() if k != "nullable"}
        if schema.get("nullable") and "type" in out:
            out["type"] = [out["type"], "null"]
        return out
    if isinstance(schema, list):
        return [_openapi_to_json_schema(v) for v in schema]
    return schema
