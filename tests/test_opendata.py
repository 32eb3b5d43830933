"""Open-data dumps: what they hold (and never hold), their formats, and how they are served."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
import subprocess

import pytest

from opendata_records import all_records, make_store
from stations.config import load_settings
from stations.io.importer import import_file
from stations.opendata import (CSV_COLUMNS, PUBLIC_FIELDS, DataLicence, DumpMeta, public_feature, snapshot_records,
                               write_csv, write_dump, write_geojson)
from stations.opendata.public import check_public_fields
from stations.records import FIELD_NAMES
from stations.service import build_snapshot
from stations.store import Change, open_store
from stations.web import create_app

from conftest import write_csv as write_csv_file

RECORDS = all_records()
LICENCE = DataLicence.from_settings(load_settings({"data_licence": "CC-BY-4.0", "data_licence_url": "",
                                                   "data_attribution": "昌黎县总工会"}, environ={}))
SECRETS = ("secret-token-4f1d", "reporter@example.org", "内部审核意见", "private-import-file.xlsx")


def _snapshot(store):
    revision, frame = store.consistent_frame()
    return build_snapshot(frame, revision), DumpMeta(revision, store.revision_at(revision), LICENCE)


@pytest.fixture
def private_store(tmp_path):
    """A store with everything a dump must leave behind: review flags, history reasons, the
    import file's name, and tables of users, tokens and reports next to the stations."""
    path = make_store(tmp_path / "private.gpkg")
    with open_store(path) as store:
        rec = dict(RECORDS[0], name="改过名的驿站")
        store.apply([Change("update", rec, {"name": [RECORDS[0]["name"], rec["name"]]}, flags=("needs_review",))],
                    command="edit", source=SECRETS[3], reason=SECRETS[2])
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE secret_users (user_id INTEGER PRIMARY KEY, email TEXT, token TEXT)")
    db.execute("INSERT INTO secret_users VALUES (1, ?, ?)", (SECRETS[1], SECRETS[0]))
    db.execute("CREATE TABLE reports (report_id INTEGER PRIMARY KEY, station_id TEXT, text TEXT, client_hash TEXT)")
    db.execute("INSERT INTO reports VALUES (1, 'G00', ?, ?)", (SECRETS[2], SECRETS[0]))
    db.commit()
    db.close()
    return path


def test_every_record_field_is_published_or_declared_private():
    assert check_public_fields() == []
    assert set(PUBLIC_FIELDS) <= set(FIELD_NAMES)
    assert CSV_COLUMNS == PUBLIC_FIELDS + ("open_24h",)


@pytest.mark.parametrize("fmt", ["geojson", "csv", "gpkg"])
def test_nothing_private_leaves_in_any_format(private_store, tmp_path, fmt):
    with open_store(private_store) as store:
        snapshot, meta = _snapshot(store)
    path = tmp_path / f"dump.{fmt}"
    assert write_dump(fmt, snapshot_records(snapshot), path, meta=meta) == len(RECORDS)
    data = path.read_bytes()
    for secret in SECRETS + ("needs_review",):
        assert secret.encode("utf-8") not in data, (fmt, secret)
    assert "改过名的驿站".encode("utf-8") in data  # the public change is there
    if fmt == "gpkg":
        db = sqlite3.connect(path)
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        db.close()
        assert not tables & {"users", "secret_users", "reports", "station_history", "station_batches", "station_meta"}
        assert "stations" in tables


def test_the_csv_starts_with_a_bom_and_round_trips_chinese(tmp_path):
    store = open_store(make_store(tmp_path / "s.gpkg"))
    snapshot, _meta = _snapshot(store)
    out = io.BytesIO()
    write_csv(snapshot_records(snapshot), out)
    data = out.getvalue()
    assert data.startswith(b"\xef\xbb\xbf" + b"station_id,name,")  # the BOM: Excel reads UTF-8
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    by_id = {r["station_id"]: r for r in RECORDS}
    assert [r["station_id"] for r in rows] == sorted(by_id)
    for row in rows:
        rec = by_id[row["station_id"]]
        assert row["name"] == rec["name"] and row["address"] == (rec["address"] or "")
        assert row["open_24h"] == ("true" if rec["opening_hours"] == "24/7" else "false")
        assert row["lat"] == ("" if rec["lat"] is None else repr(rec["lat"]))  # read back bit for bit
    # ... and the project's importer reads it back to the same stations
    path = tmp_path / "dump.csv"
    path.write_bytes(data)
    with open_store(tmp_path / "again.gpkg") as again:
        report = import_file(again, path)
        assert report.added == len(RECORDS) and report.rejected == 0
        for rec in RECORDS:
            back = again.get(rec["station_id"])
            for name in PUBLIC_FIELDS:
                if name != "source" or rec["source"] is not None:  # the importer names an empty source
                    assert back[name] == rec[name], (rec["station_id"], name)
    store.close()


def test_the_geojson_says_its_revision_and_licence_and_holds_the_published_features(tmp_path):
    store = open_store(make_store(tmp_path / "s.gpkg"))
    snapshot, meta = _snapshot(store)
    out = io.BytesIO()
    write_geojson(snapshot_records(snapshot), out, meta=meta)
    doc = json.loads(out.getvalue())
    assert doc["type"] == "FeatureCollection" and doc["revision"] == 1 and doc["modified"] == meta.modified
    assert doc["licence"]["licence"] == "CC-BY-4.0" and doc["licence"]["attribution"] == "昌黎县总工会"
    assert doc["licence"]["licence_url"] == "https://creativecommons.org/licenses/by/4.0/"
    assert doc["features"] == [public_feature(r) for r in sorted(RECORDS, key=lambda r: r["station_id"])]
    again = io.BytesIO()
    write_geojson(snapshot_records(snapshot), again, meta=meta)
    assert again.getvalue() == out.getvalue()  # the same revision, the same bytes
    store.close()


class _Watch(io.BytesIO):
    """An output that notes how many records the writer had pulled at each write."""

    def __init__(self, pulled):
        super().__init__()
        self.pulled, self.seen = pulled, []

    def write(self, data):
        self.seen.append(self.pulled[0])
        return super().write(data)


def test_the_writers_stream_one_station_at_a_time(tmp_path):
    store = open_store(make_store(tmp_path / "s.gpkg"))
    snapshot, meta = _snapshot(store)
    pulled = [0]

    def records():
        for rec in snapshot_records(snapshot):
            pulled[0] += 1
            yield rec

    out = _Watch(pulled)
    write_geojson(records(), out, meta=meta)
    # each feature is written as soon as it is read: the writer never holds more than one
    assert out.seen[1:len(RECORDS) + 1] == list(range(1, len(RECORDS) + 1))
    store.close()


needs_gdal = pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL (Debian gdal-bin) not installed")


@needs_gdal
def test_the_geopackage_opens_in_gdal_with_its_licence_in_the_metadata(tmp_path):
    store = open_store(make_store(tmp_path / "s.gpkg"))
    snapshot, meta = _snapshot(store)
    path = tmp_path / "dump.gpkg"
    write_dump("gpkg", snapshot_records(snapshot), path, meta=meta)
    run = subprocess.run(["ogrinfo", "-ro", "-so", str(path), "stations"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "LICENSE=CC-BY-4.0" in run.stdout and "ATTRIBUTION=昌黎县总工会" in run.stdout
    assert "REVISION=1" in run.stdout and f"Feature Count: {len(RECORDS)}" in run.stdout
    assert "Geometry: Point" in run.stdout and "Warning" not in run.stderr
    import pyogrio

    frame = pyogrio.read_dataframe(path)
    assert sorted(frame["station_id"]) == sorted(r["station_id"] for r in RECORDS)
    row = frame.set_index("station_id").loc["G12"]
    assert row["name"] == "昌黎测试驿站8号" and (row.geometry.x, row.geometry.y) == (119.12, 39.71)
    assert frame.set_index("station_id").loc["NOPOS"].geometry is None
    store.close()


# -- over HTTP ------------------------------------------------------------------------------------------

@pytest.fixture
def site(tmp_path):
    store = make_store(tmp_path / "web.gpkg")
    app = create_app({"store": str(store), "opendata_dir": str(tmp_path / "dumps"), "data_licence": "ODbL-1.0",
                      "data_attribution": "© 昌黎县总工会 and OpenStreetMap contributors"})
    return app.test_client(), store, tmp_path / "dumps"


@pytest.mark.parametrize("fmt,media", [("geojson", "application/geo+json"), ("csv", "text/csv; charset=utf-8"),
                                       ("gpkg", "application/geopackage+sqlite3")])
def test_each_dump_has_a_stable_url_etag_last_modified_and_licence(site, fmt, media):
    client, _store, _dumps = site
    resp = client.get(f"/opendata/stations.{fmt}")
    assert resp.status_code == 200 and resp.content_type == media
    assert resp.headers["Stations-Revision"] == "1"
    assert resp.headers["Link"] == '<https://opendatacommons.org/licenses/odbl/1-0/>; rel="license"'
    assert resp.headers["Content-Disposition"] == f'attachment; filename="stations.{fmt}"'
    etag, modified = resp.headers["ETag"], resp.headers["Last-Modified"]
    assert resp.content_length == len(resp.get_data())
    assert client.get(f"/opendata/stations.{fmt}", headers={"If-None-Match": etag}).status_code == 304
    assert client.get(f"/opendata/stations.{fmt}", headers={"If-Modified-Since": modified}).status_code == 304
    part = client.get(f"/opendata/stations.{fmt}", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.get_data() == resp.get_data()[:100]  # a broken download resumes
    assert client.head(f"/opendata/stations.{fmt}").headers["ETag"] == etag


def test_a_new_revision_makes_new_dumps_and_removes_the_old(site, tmp_path):
    client, store, dumps = site
    first = client.get("/opendata/stations.geojson")
    assert json.loads(first.get_data())["licence"]["attribution"] == "© 昌黎县总工会 and OpenStreetMap contributors"
    old = sorted(p.name for p in dumps.iterdir())
    with open_store(store) as s:
        report = import_file(s, write_csv_file(tmp_path / "one.csv", ["站点编号", "站点名称", "经度", "纬度"],
                                               [["NEW1", "新驿站", 119.3, 39.9]]))
        assert report.added == 1
    assert client.application.extensions["stations"].refresh()  # as the refresher thread does within 0.5 s
    second = client.get("/opendata/stations.geojson", headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200 and second.headers["ETag"] != first.headers["ETag"]
    assert second.headers["Stations-Revision"] == "2"
    assert "NEW1" in {f["id"] for f in json.loads(second.get_data())["features"]}
    assert sorted(p.name for p in dumps.iterdir()) != old and len(list(dumps.iterdir())) == 1


def test_a_store_made_again_at_the_same_revision_gets_other_etags(tmp_path):
    etags = []
    for name in ("a", "b"):  # two stores, each at revision 1, made at different times
        store = make_store(tmp_path / f"{name}.gpkg", all_records()[: 3 if name == "a" else 5])
        client = create_app({"store": str(store), "opendata_dir": str(tmp_path / "d")}).test_client()
        resp = client.get("/opendata/stations.csv")
        assert resp.headers["Stations-Revision"] == "1"
        etags.append(resp.headers["ETag"])
    assert etags[0] != etags[1]


def test_the_index_lists_the_files_revision_and_licence(site):
    client, _store, _dumps = site
    body = client.get("/opendata/").get_json()
    assert body["revision"] == 1 and body["stations"] == len(RECORDS)
    assert [f["url"] for f in body["files"]] == [f"http://localhost/opendata/stations.{f}"
                                                 for f in ("geojson", "csv", "gpkg")]
    assert body["licence"]["licence"] == "ODbL-1.0" and "OpenStreetMap" in body["licence"]["attribution"]
    assert body["changes"] == "http://localhost/api/v1/changes?since=1"


def test_unknown_parameters_and_formats(site):
    client, _store, _dumps = site
    resp = client.get("/opendata/stations.csv?download=1")
    assert resp.status_code == 400 and resp.get_json()["errors"][0]["parameter"] == "download"
    assert client.get("/opendata/stations.xlsx").status_code == 404
    assert client.get("/opendata/stations.xlsx").content_type == "application/problem+json"


def test_without_a_licence_the_dumps_say_none_was_set(tmp_path):
    store = make_store(tmp_path / "s.gpkg")
    client = create_app({"store": str(store), "opendata_dir": str(tmp_path / "d")}).test_client()
    doc = json.loads(client.get("/opendata/stations.geojson").get_data())
    assert doc["licence"]["licence"] is None and "No licence was set" in doc["licence"]["statement"]
    assert "Link" not in client.get("/opendata/stations.csv").headers
    assert "No licence was set" in client.get("/ogc").get_json()["description"]
