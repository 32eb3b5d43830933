"""The GeoPackage store: a real GeoPackage that GDAL reads, transactions, append-only history."""

from __future__ import annotations

import sqlite3

import pyogrio
import pytest

from stations.errors import StoreError
from stations.records import empty_record
from stations.store import Change, open_store
from stations.store.gpkg import blob_point, point_blob


def _rec(sid, name, lat=None, lon=None):
    rec = empty_record()
    rec.update(station_id=sid, name=name)
    if lat is not None:
        rec.update(lat=lat, lon=lon, raw_lat=lat, raw_lon=lon, raw_crs="wgs84", geocode_precision="exact")
    return rec


def test_point_blob_round_trip():
    assert blob_point(point_blob(119.1637, 39.7125)) == (119.1637, 39.7125)
    assert blob_point(None) is None


def test_gdal_reads_the_store_as_a_geopackage(store, tmp_path):
    store.apply([Change("add", _rec("A", "昌黎驿站", 39.7125, 119.1637)), Change("add", _rec("B", "无坐标驿站"))],
                command="test")
    path = store.path
    layers = dict(pyogrio.list_layers(path))
    assert layers["stations"] == "Point"
    info = pyogrio.read_info(path, layer="stations")
    assert info["crs"] == "EPSG:4326"
    assert info["capabilities"]["fast_spatial_filter"]  # the R-tree index is recognised
    df = pyogrio.read_dataframe(path, layer="stations", bbox=(119, 39, 120, 40))
    assert list(df["station_id"]) == ["A"]
    assert df.geometry.iloc[0].x == 119.1637 and df.geometry.iloc[0].y == 39.7125
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_apply_is_all_or_nothing(store):
    store.apply([Change("add", _rec("A", "一"))], command="test")
    before = (store.revision(), store.count())
    with pytest.raises(Exception):
        # The second add repeats an id: the unique constraint fails, the first must not land.
        store.apply([Change("add", _rec("B", "二")), Change("add", _rec("A", "重复"))], command="test")
    assert (store.revision(), store.count()) == before
    assert store.get("B") is None


def test_history_is_append_only_and_names_the_batch(store):
    store.apply([Change("add", _rec("A", "一"))], command="import", source="a.csv")
    new = _rec("A", "一号驿站")
    store.apply([Change("update", new, changed={"name": ["一", "一号驿站"]})], command="import", source="b.csv",
                reason="renamed")
    hist = store.history("A")
    assert [h["action"] for h in hist] == ["update", "add"]
    assert hist[0]["changes"] == {"name": ["一", "一号驿站"]}
    assert hist[0]["source"] == "b.csv" and hist[0]["reason"] == "renamed"
    with sqlite3.connect(store.path) as db, pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM station_history")


def test_reopen_keeps_data(tmp_path):
    path = tmp_path / "s.gpkg"
    with open_store(path) as s:
        s.apply([Change("add", _rec("A", "一", 40.0, 116.0))], command="test")
    with open_store(path, create=False) as s:
        assert s.get("A")["lat"] == 40.0
        assert s.revision() == 1


def test_opening_a_missing_store_without_create_is_a_clear_error(tmp_path):
    from stations.errors import StoreError

    with pytest.raises(StoreError, match="does not exist"):
        open_store(tmp_path / "nope.gpkg", create=False)


def test_a_file_that_is_not_a_geopackage_is_a_clear_error(tmp_path):
    from stations.errors import StoreError

    bad = tmp_path / "bad.gpkg"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a usable GeoPackage"):
        open_store(bad)


@pytest.mark.parametrize("read", ["count", "revision", "consistent_frame"])
def test_reads_of_a_corrupted_store_raise_store_error_naming_it(tmp_path, read):
    path = tmp_path / "s.gpkg"
    with open_store(path) as s:
        s.apply([Change("add", _rec("A", "一", 40.0, 116.0))], command="test")
        with open(path, "r+b") as fh:  # garbage over the header, in place, while the store is open
            fh.write(b"\x00garbage" * 16)
        with pytest.raises(StoreError, match=f"store '{path}' cannot be read"):
            getattr(s, read)()


def test_any_past_state_is_rebuilt_from_the_history(store):
    first = _rec("A", "一号", 40.0, 116.0)
    b1 = store.apply([Change("add", first)], command="import").batch_id
    second = dict(first, name="一号驿站", opening_hours="24/7")
    b2 = store.apply([Change("update", second, changed={"name": ["一号", "一号驿站"],
                                                         "opening_hours": [None, "24/7"]})], command="import").batch_id
    third = dict(second, status="removed", status_reason="拆除")
    store.apply([Change("remove", third, changed={"status": ["open", "removed"], "status_reason": [None, "拆除"]})],
                command="remove")
    assert store.record_as_of("A", b1)["name"] == "一号" and store.record_as_of("A", b1)["opening_hours"] is None
    assert store.record_as_of("A", b2)["name"] == "一号驿站" and store.record_as_of("A", b2)["status"] == "open"
    assert store.record_as_of("A", 0) is None
    assert store.history("A")[-1]["changes"] == {"name": "一号", "lat": 40.0, "lon": 116.0}


def test_change_token_moves_with_every_commit_from_anywhere(tmp_path):
    """The service polls the token before each request: any commit, by any connection or
    program, must change it; reads must not."""
    path = tmp_path / "s.gpkg"
    with open_store(path) as reader, open_store(path) as writer:
        t0 = reader.change_token()
        reader.frame(), reader.revision()
        assert reader.change_token() == t0
        writer.apply([Change("add", _rec("A", "一", 40.0, 116.0))], command="test")
        t1 = reader.change_token()
        assert t1 != t0
        with sqlite3.connect(path) as db:  # another program, plain SQL
            db.execute("UPDATE stations SET name = '一号' WHERE station_id = 'A'")
        assert reader.change_token() != t1
        # A program that switches the file to WAL mode: commits may leave the header alone,
        # so the token falls back to the revision.
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA journal_mode=WAL")
        t2 = reader.change_token()
        assert t2 == ("revision", reader.revision())
        writer.apply([Change("add", _rec("B", "二", 40.0, 116.1))], command="test")
        assert reader.change_token() != t2


def test_a_postgresql_url_is_refused_with_a_clear_message():
    from stations.errors import StoreError

    with pytest.raises(StoreError, match="PostGIS backend is not available yet.*GeoPackage path"):
        open_store("postgresql://stations@db/stations")


def test_the_store_help_offers_only_what_exists():
    from click.testing import CliRunner

    from stations.cli import main
    from stations.config import BY_NAME

    assert "GeoPackage" in BY_NAME["store"].help and "postgres" not in BY_NAME["store"].help.lower()
    out = CliRunner().invoke(main, ["--help"], obj={}).output
    assert "--store" in out and "postgres" not in out.lower()


def test_without_create_a_foreign_sqlite_file_is_refused_and_left_alone(tmp_path):
    from stations.errors import StoreError

    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")
    before = other.read_bytes()
    with pytest.raises(StoreError, match="not a stations store"):
        open_store(other, create=False)
    assert other.read_bytes() == before


def test_replaced_tells_when_the_path_names_another_file(tmp_path):
    path, backup = tmp_path / "s.gpkg", tmp_path / "backup.gpkg"
    with open_store(path) as s, open_store(backup):
        assert not s.replaced()
        backup.replace(path)
        assert s.replaced()
    with open_store(path) as s:
        path.unlink()
        assert s.replaced()
