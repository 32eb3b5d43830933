"""The stores: a real GeoPackage that GDAL reads, and a real PostGIS database (a server the tests
start themselves); transactions, append-only history, the same answers from both backends."""

from __future__ import annotations

import logging
import sqlite3
import time

import pandas as pd
import psycopg
import pyogrio
import pytest

from stations.errors import StoreError, ValidationError
from stations.records import empty_record
from stations.store import SCHEMA_VERSION, Change, open_store
from stations.store.gpkg import blob_point, point_blob

from conftest import snapshot


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


def _extent(path):
    """(recorded in gpkg_contents, measured with a scan): the stations' bounding box."""
    with sqlite3.connect(path) as db:
        recorded = db.execute("SELECT min_x, min_y, max_x, max_y FROM gpkg_contents "
                              "WHERE table_name = 'stations'").fetchone()
        measured = db.execute("SELECT min(lon), min(lat), max(lon), max(lat) FROM stations "
                              "WHERE lat IS NOT NULL").fetchone()
    return recorded, measured


@pytest.mark.parametrize("seed", range(4))
def test_the_recorded_extent_follows_random_writes(store, seed):
    """Small batches grow the recorded box by their points (large ones measure it): after every
    batch of a random sequence — adds, moves (also of the station on the box's edge, inward),
    positions removed and given, other edits, batches of over 1,000 — the box recorded for GIS
    programs is the one a scan of the table measures."""
    import random

    rng = random.Random(seed)
    ids: list[str] = []

    def position():
        return (round(rng.uniform(39.0, 40.0), 4), round(rng.uniform(116.0, 117.0), 4)) if rng.random() < 0.85 \
            else (None, None)

    def update(sid, **fields):
        old = store.get(sid)
        old.pop("flags")
        return Change("update", {**old, **fields}, changed={k: [old[k], v] for k, v in fields.items()})

    for step in range(40):
        kind = rng.choice(["add", "move", "edge", "unplace", "edit"] if ids else ["add"])
        if kind == "add":
            count = 1100 if rng.random() < 0.1 else rng.randint(1, 3)
            new = [f"S{len(ids) + i}" for i in range(count)]
            changes = [Change("add", _rec(sid, "驿站", *position())) for sid in new]
            ids += new
        elif kind == "edge":  # the station holding the box's edge moves inward
            frame = store.frame()
            placed = frame[frame["lat"].notna()]
            if placed.empty:
                continue
            column, end = rng.choice([("lat", "idxmin"), ("lat", "idxmax"), ("lon", "idxmin"), ("lon", "idxmax")])
            sid = placed.loc[getattr(placed[column], end)(), "station_id"]
            changes = [update(sid, lat=39.5, lon=116.5)]
        elif kind == "move":
            lat, lon = position()
            changes = [update(sid, lat=lat, lon=lon) for sid in rng.sample(ids, min(len(ids), rng.randint(1, 3)))]
        elif kind == "unplace":
            changes = [update(rng.choice(ids), lat=None, lon=None, geocode_precision=None)]
        else:
            changes = [update(rng.choice(ids), name=f"驿站{step}")]
        store.apply(changes, command=kind)
        recorded, measured = _extent(store.path)
        assert recorded == measured, (step, kind)


def test_apply_is_all_or_nothing(any_store):
    store = any_store
    store.apply([Change("add", _rec("A", "一"))], command="test")
    before = (store.revision(), store.count())
    with pytest.raises(Exception):
        # The second add repeats an id: the unique constraint fails, the first must not land.
        store.apply([Change("add", _rec("B", "二")), Change("add", _rec("A", "重复"))], command="test")
    assert (store.revision(), store.count()) == before
    assert store.get("B") is None


def test_history_is_append_only_and_names_the_batch(any_store):
    store = any_store
    store.apply([Change("add", _rec("A", "一"))], command="import", source="a.csv")
    new = _rec("A", "一号驿站")
    store.apply([Change("update", new, changed={"name": ["一", "一号驿站"]})], command="import", source="b.csv",
                reason="renamed")
    hist = store.history("A")
    assert [h["action"] for h in hist] == ["update", "add"]
    assert hist[0]["changes"] == {"name": ["一", "一号驿站"]}
    assert hist[0]["source"] == "b.csv" and hist[0]["reason"] == "renamed"
    if store.kind == "geopackage":
        with sqlite3.connect(store.path) as db, pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM station_history")
        return
    # PostGIS: the database refuses it, whoever asks (plain psycopg, not the store's code).
    for sql in ("DELETE FROM station_history", "UPDATE station_history SET reason = 'x'",
                "TRUNCATE station_history", "DELETE FROM station_history WHERE false"):
        with psycopg.connect(store.url, autocommit=True) as db, pytest.raises(psycopg.Error, match="append-only"):
            db.execute(sql)
    assert [h["action"] for h in store.history("A")] == ["update", "add"]


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


def test_read_snapshot_reads_in_chunks_from_one_snapshot(any_store):
    any_store.apply([Change("add", _rec(sid, sid)) for sid in "ABC"], command="import")
    with any_store.read_snapshot() as snap:
        assert snap.scalar("SELECT count(*) FROM stations WHERE station_id <> ?", ["B"]) == 2
        chunks = list(snap.chunks("SELECT station_id FROM stations ORDER BY station_id", chunk_rows=2))
        assert [[sid for (sid,) in chunk] for chunk in chunks] == [["A", "B"], ["C"]]
        if any_store.kind == "postgis":  # a write from another connection meanwhile is not seen
            any_store.apply([Change("add", _rec("D", "D"))], command="import")
            assert snap.scalar("SELECT count(*) FROM stations") == 3
    assert any_store.count() == (4 if any_store.kind == "postgis" else 3)


def test_any_past_state_is_rebuilt_from_the_history(any_store):
    store = any_store
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


def test_the_store_help_offers_both_backends():
    from click.testing import CliRunner

    from stations.cli import main
    from stations.config import BY_NAME

    assert "GeoPackage" in BY_NAME["store"].help and "postgresql://" in BY_NAME["store"].help
    out = CliRunner().invoke(main, ["--help"], obj={}).output
    assert "--store" in out and "GeoPackage" in out and "postgresql://" in out


# -- PostGIS -------------------------------------------------------------------------------------
def _same_sequence(store) -> list[int]:
    """The same applies on any backend: adds, an update, a batch without changes, a remove."""
    first = _rec("A", "一号", 40.0, 116.0)
    batches = [store.apply([Change("add", first), Change("add", _rec("B", "二号"))], command="import").batch_id]
    second = dict(first, name="一号驿站", opening_hours="24/7")
    batches.append(store.apply([Change("update", second, changed={"name": ["一号", "一号驿站"],
                                                                  "opening_hours": [None, "24/7"]})],
                               command="edit", user="ed").batch_id)
    batches.append(store.apply([], command="import", summary={"unchanged": 2}).batch_id)
    batches.append(store.apply([Change("add", _rec("C", "三号", 39.9, 116.4), flags=("needs_review",)),
                                Change("remove", dict(second, status="removed", status_reason="拆除"),
                                       changed={"status": ["open", "removed"], "status_reason": [None, "拆除"]})],
                               command="import", reason="spring").batch_id)
    return batches


def _without_times(page):
    return [(e.history_id, e.revision, e.station_id, e.action, e.changed, e.record) for e in page.entries]


def test_both_backends_give_the_same_answers_for_the_same_applies(tmp_path, pg_url):
    gpkg, pg = open_store(tmp_path / "s.gpkg"), open_store(pg_url)
    try:
        assert _same_sequence(gpkg) == _same_sequence(pg) == [1, 2, 3, 4]
        assert gpkg.revision() == pg.revision() == 3 and gpkg.count() == pg.count() == 3
        pd.testing.assert_frame_equal(gpkg.frame(), pg.frame())
        pd.testing.assert_frame_equal(gpkg.frame(statuses=["open"]), pg.frame(statuses=["open"]))
        assert list(pg.frame(statuses=["removed"])["station_id"]) == ["A"]
        assert pg.get("C")["flags"] == ["needs_review"] and gpkg.get("C") == pg.get("C")
        for rev in range(4):
            for after, limit in ((0, 1000), (0, 1), (2, 2)):
                a, b = gpkg.changes_since(rev, after=after, limit=limit), pg.changes_since(rev, after=after,
                                                                                            limit=limit)
                assert (a.revision, a.more, _without_times(a)) == (b.revision, b.more, _without_times(b))
        assert [e.revision for e in pg.changes_since(0).entries] == [1, 1, 2, 3, 3]
        drop = ("at",)
        assert ([{k: v for k, v in h.items() if k not in drop} for h in gpkg.history(limit=100)]
                == [{k: v for k, v in h.items() if k not in drop} for h in pg.history(limit=100)])
        for store in (gpkg, pg):  # the filters, on the one history() and batches() both backends share
            assert [h["station_id"] for h in store.history(user="ed")] == ["A"]
            assert [h["history_id"] for h in store.history("A")] == [5, 3, 1]  # remove, update, add
            assert [h["history_id"] for h in store.history("A", limit=1)] == [5]
            assert [b["batch_id"] for b in store.batches(user="ed")] == [2]
            assert store.history(user="nobody") == [] and store.batches(user="nobody") == []
        assert ([{k: v for k, v in b.items() if k not in drop} for b in gpkg.batches()]
                == [{k: v for k, v in b.items() if k not in drop} for b in pg.batches()])
        assert pg.record_as_of("A", 1)["name"] == "一号" and pg.record_as_of("A", 0) is None
        assert pg.revision_at(0) is None and pg.revision_at(3) == pg.batches(limit=1)[0]["at"]
        assert pg.revision_at(2) == pg.batches()[2]["at"]  # revision 2 is batch 2, not the empty batch 3
        assert pg.consistent_frame()[0] == 3
        with pytest.raises(ValidationError):
            pg.changes_since(4)
    finally:
        gpkg.close()
        pg.close()


def test_open_store_picks_postgis_for_both_url_schemes(pg_url):
    with open_store(pg_url) as s:
        assert s.kind == "postgis" and s.schema_version() == SCHEMA_VERSION == 3 and s.upgrade() == []
        s.apply([Change("add", _rec("A", "一", 40.0, 116.0))], command="test")
    with open_store("postgres://" + pg_url.split("://", 1)[1], create=False) as s, open_store(pg_url) as writer:
        assert s.get("A")["lat"] == 40.0 and s.revision() == 1
        token = s.change_token()
        s.frame()
        assert s.change_token() == token
        writer.apply([Change("add", _rec("B", "二", 40.0, 116.1))], command="test")
        assert s.change_token() != token and s.count() == 2


def test_the_geometry_follows_the_position_and_knn_finds_the_nearest(pg_url):
    with open_store(pg_url) as s:
        s.apply([Change("add", _rec("A", "一", 40.0, 116.0)), Change("add", _rec("B", "二", 40.0, 116.1)),
                 Change("add", _rec("N", "无坐标"))], command="test")
        with psycopg.connect(pg_url) as db:
            rows = db.execute("SELECT station_id, ST_X(geom), ST_Y(geom), ST_SRID(geom) FROM stations "
                              "ORDER BY station_id").fetchall()
            assert rows == [("A", 116.0, 40.0, 4326), ("B", 116.1, 40.0, 4326), ("N", None, None, None)]
            # 116.09 E is 0.01 degree (about 850 m at 40 N) from B and 0.09 from A.
            near = db.execute("SELECT station_id FROM stations WHERE geom IS NOT NULL ORDER BY "
                              "geom::geography <-> ST_MakePoint(116.09, 40.0)::geography LIMIT 2").fetchall()
            assert near == [("B",), ("A",)]


def test_without_create_an_empty_database_is_refused_and_left_alone(pg_url):
    tables = "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
    with psycopg.connect(pg_url) as db:
        before = db.execute(tables).fetchone()[0]
    with pytest.raises(StoreError, match="not a stations store"):
        open_store(pg_url, create=False)
    with psycopg.connect(pg_url) as db:
        assert db.execute(tables).fetchone()[0] == before


def test_a_newer_schema_is_refused(pg_url):
    open_store(pg_url).close()
    with psycopg.connect(pg_url) as db:
        db.execute("UPDATE station_meta SET value = '4' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match=r"schema version 4 is newer than this stations understands \(3\); "
                                         "upgrade stations"):
        open_store(pg_url, create=False)


def test_an_unreachable_server_is_named_without_the_password(pg_server):
    from pgserver import _free_port

    url = f"postgresql://stations:s3cret@127.0.0.1:{_free_port()}/stations"
    with pytest.raises(StoreError, match="cannot be reached") as err:
        open_store(url, create=False)
    assert "s3cret" not in str(err.value) and "stations@127.0.0.1" in str(err.value)


def test_a_failing_change_mid_batch_on_postgis_leaves_everything_as_before(pg_url):
    with open_store(pg_url) as s:
        s.apply([Change("add", _rec("A", "一", 40.0, 116.0))], command="test")
        before = snapshot(s), s.batches(limit=100)
        many = [Change("add", _rec(f"N{i:04d}", f"新{i}", 40.0, 116.0 + i * 1e-4)) for i in range(1200)]
        many.insert(700, Change("add", _rec("A", "重复")))  # a duplicate id in the middle of a COPY
        with pytest.raises(StoreError, match="uq_station_id|duplicate"):
            s.apply(many, command="test")
        with pytest.raises(ValueError, match="late"):
            s.apply(many[:5], command="test", after=lambda db, batch_id: (_ for _ in ()).throw(ValueError("late")))
        assert (snapshot(s), s.batches(limit=100)) == before
        assert s.get("N0000") is None


def test_a_writer_waits_for_another_then_gets_store_busy(pg_url):
    from stations.store import StoreBusy
    from stations.store.postgis import PostGISStore

    with PostGISStore(pg_url, writer_wait_s=0.3) as s:
        with psycopg.connect(pg_url) as other:  # another writer, mid-transaction
            other.execute("SELECT value FROM station_meta WHERE key = 'revision' FOR UPDATE")
            with pytest.raises(StoreBusy, match="locked by another writer"):
                s.apply([Change("add", _rec("A", "一"))], command="test")
            assert s.revision() == 0 and s.count() == 0  # readers do not wait
        assert s.apply([Change("add", _rec("A", "一"))], command="test").revision == 1


def test_a_database_restart_is_a_store_error_then_reads_work_again(pg_server, pg_url):
    from stations.store.postgis import PostGISStore

    with PostGISStore(pg_url, timeout_s=1) as s:
        s.apply([Change("add", _rec("A", "一", 40.0, 116.0))], command="test")
        pg_server.stop_server()
        try:
            for read in (s.revision, s.frame, lambda: s.get("A"), s.count):
                with pytest.raises(StoreError, match="cannot be reached") as err:
                    read()
                assert "postgres@127.0.0.1" in str(err.value)
        finally:
            pg_server.start()
        assert s.revision() == 1 and s.get("A")["name"] == "一"
        s.apply([Change("add", _rec("B", "二"))], command="test")
        assert s.count() == 2


def test_a_database_outage_leaves_no_pool_warnings_unless_pool_logging_is_on(pg_server, pg_url, caplog):
    """The pool's retries (about 1, 2, 4 s apart) and the threads of the pool replaced after
    the restart would log a WARNING each; the store's StoreError says it instead."""
    from stations.store.postgis import PostGISStore

    pool_log = logging.getLogger("psycopg.pool")
    with PostGISStore(pg_url, timeout_s=1) as s, caplog.at_level(logging.WARNING):
        assert s.count() == 0
        pg_server.stop_server()
        try:
            for _ in range(10):  # 5 s of reads, as the service's refresher polls
                with pytest.raises(StoreError, match="cannot be reached"):
                    s.count()
                time.sleep(0.5)
        finally:
            pg_server.start()
        assert s.count() == 0  # a fresh pool; the old one's threads are left to stop
        assert [r.getMessage() for r in caplog.records if r.name == "psycopg.pool"] == []
        # Other pools' warnings pass, and so do this store's pools' once the pool logger is switched on.
        pool_log.warning("error connecting in %r: %s", "other:db", "refused")
        pool_log.warning("error connecting in %r: %s", f"stations:{s.location}", "refused")
        with caplog.at_level(logging.INFO, logger="psycopg.pool"):
            pool_log.warning("error connecting in %r: %s", f"stations:{s.location}", "refused again")
    assert [r.getMessage() for r in caplog.records if r.name == "psycopg.pool" and r.levelno == logging.WARNING] == \
        ["error connecting in 'other:db': refused", f"error connecting in 'stations:{s.location}': refused again"]


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
