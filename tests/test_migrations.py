"""Schema versions: a real version-1 GeoPackage, as the code before accounts wrote it, refused
by serving and importing, upgraded by `stations db upgrade` with every row kept; newer stores
refused everywhere; a failing step rolled back."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from stations.accounts import add_user
from stations.cli import main
from stations.errors import StoreError
from stations.records import FIELDS
from stations.store import SCHEMA_VERSION, open_store
from stations.store.gpkg import point_blob
from stations.store.migrations import (GPKG_SQL_TYPE, GPKG_STEPS, Step, check_schema_version, parse_version,
                                       steps_after)

ROOT = Path(__file__).resolve().parents[1]

# The layout version 1 stores have: stations/store/gpkg.py before accounts (commit 73d99df^),
# written out here so the test does not depend on today's code. The gpkg_* tables and the
# R-tree are what that code wrote too.
V1_SQL = """
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER);
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name));
CREATE TABLE gpkg_extensions (
  table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL,
  scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
CREATE TABLE stations (
  fid INTEGER PRIMARY KEY AUTOINCREMENT, geom POINT,
  {columns}, flags TEXT, updated_at DATETIME,
  CONSTRAINT uq_station_id UNIQUE (station_id));
CREATE TABLE station_batches (
  batch_id INTEGER PRIMARY KEY AUTOINCREMENT, at DATETIME NOT NULL, command TEXT NOT NULL,
  source TEXT, source_sha256 TEXT, reason TEXT, summary TEXT);
CREATE TABLE station_history (
  history_id INTEGER PRIMARY KEY AUTOINCREMENT, station_id TEXT NOT NULL, at DATETIME NOT NULL,
  action TEXT NOT NULL, changes TEXT, batch_id INTEGER NOT NULL, reason TEXT);
CREATE INDEX ix_history_station ON station_history (station_id, history_id);
CREATE TRIGGER station_history_no_update BEFORE UPDATE ON station_history
  BEGIN SELECT RAISE(ABORT, 'station_history is append-only'); END;
CREATE TRIGGER station_history_no_delete BEFORE DELETE ON station_history
  BEGIN SELECT RAISE(ABORT, 'station_history is append-only'); END;
CREATE TABLE station_meta (key TEXT PRIMARY KEY, value TEXT);
CREATE VIRTUAL TABLE rtree_stations_geom USING rtree(id, minx, maxx, miny, maxy);
INSERT INTO gpkg_spatial_ref_sys VALUES ('WGS 84 geodetic', 4326, 'EPSG', 4326, 'GEOGCS["WGS 84"]', 'WGS 84');
INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id)
  VALUES ('stations', 'features', 'stations', 'Outdoor-worker rest stations (工会驿站)', 4326);
INSERT INTO gpkg_contents (table_name, data_type, identifier, description)
  VALUES ('station_history', 'attributes', 'station_history', 'Append-only change history');
INSERT INTO gpkg_contents (table_name, data_type, identifier, description)
  VALUES ('station_batches', 'attributes', 'station_batches', 'Imports and commands');
INSERT INTO gpkg_geometry_columns VALUES ('stations', 'geom', 'POINT', 4326, 0, 0);
INSERT INTO gpkg_extensions VALUES ('stations', 'geom', 'gpkg_rtree_index',
  'http://www.geopackage.org/spec120/#extension_rtree', 'write-only');
INSERT INTO station_meta VALUES ('revision', '0')
"""

# The GeoPackage R-tree triggers (they call ST_* functions, which the stations code registers
# on its connections): made after the rows below are written, which fill the R-tree themselves.
V1_RTREE_TRIGGERS = """
CREATE TRIGGER rtree_stations_geom_insert AFTER INSERT ON stations
  WHEN (new.geom NOT NULL AND NOT ST_IsEmpty(NEW.geom))
  BEGIN INSERT OR REPLACE INTO rtree_stations_geom VALUES (NEW.fid, ST_MinX(NEW.geom), ST_MaxX(NEW.geom),
    ST_MinY(NEW.geom), ST_MaxY(NEW.geom)); END;
CREATE TRIGGER rtree_stations_geom_update6 AFTER UPDATE OF geom ON stations
  WHEN OLD.fid = NEW.fid AND (NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom))
  BEGIN INSERT OR REPLACE INTO rtree_stations_geom VALUES (NEW.fid, ST_MinX(NEW.geom), ST_MaxX(NEW.geom),
    ST_MinY(NEW.geom), ST_MaxY(NEW.geom)); END;
CREATE TRIGGER rtree_stations_geom_update7 AFTER UPDATE OF geom ON stations
  WHEN OLD.fid = NEW.fid AND (NEW.geom ISNULL OR ST_IsEmpty(NEW.geom))
  BEGIN DELETE FROM rtree_stations_geom WHERE id = OLD.fid; END;
CREATE TRIGGER rtree_stations_geom_delete AFTER DELETE ON stations WHEN old.geom NOT NULL
  BEGIN DELETE FROM rtree_stations_geom WHERE id = OLD.fid; END
"""

# Three stations, three batches: A and B added, A renamed, B removed; C added with no position.
T1, T2, T3 = "2025-03-01T08:00:00.000Z", "2025-04-02T09:30:00.000Z", "2025-05-03T10:45:00.000Z"
STATIONS = [
    dict(station_id="A", name="昌黎一号驿站", lat=39.7125, lon=119.1637, raw_lat=39.7125, raw_lon=119.1637,
         raw_crs="wgs84", geocode_precision="exact", county="昌黎县", adcode="130322", opening_hours="24/7",
         status="open"),
    dict(station_id="B", name="蔚县驿站", lat=39.84, lon=114.58, raw_lat=39.84, raw_lon=114.58, raw_crs="wgs84",
         geocode_precision="exact", county="蔚县", adcode="130726", status="removed", status_reason="拆除"),
    dict(station_id="C", name="无坐标驿站", status="open"),
]
BATCHES = [(1, T1, "import", "a.csv", "ab" * 32, "", '{"added": 2}'),
           (2, T2, "import", "b.csv", "cd" * 32, "更名", '{"added": 1, "updated": 1}'),
           (3, T3, "remove", "", "", "拆除", "{}")]
HISTORY = [(1, "A", T1, "add", '{"name": "昌黎驿站", "lat": 39.7125, "lon": 119.1637}', 1, None),
           (2, "B", T1, "add", '{"name": "蔚县驿站", "lat": 39.84, "lon": 114.58}', 1, None),
           (3, "A", T2, "update", '{"name": ["昌黎驿站", "昌黎一号驿站"], "opening_hours": [null, "24/7"]}', 2, "更名"),
           (4, "C", T2, "add", '{"name": "无坐标驿站", "lat": null, "lon": null}', 2, None),
           (5, "B", T3, "remove", '{"status": ["open", "removed"], "status_reason": [null, "拆除"]}', 3, "拆除")]


def make_v1_store(path: Path, *, without: tuple[str, ...] = ()) -> Path:
    """A version-1 GeoPackage with STATIONS, BATCHES and HISTORY; ``without`` leaves record
    columns out (a store written before those fields existed)."""
    fields = [f for f in FIELDS if f.name not in without]
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA application_id = 1196444487")
    db.execute("PRAGMA user_version = 10400")
    db.execute("BEGIN")
    for stmt in V1_SQL.format(columns=", ".join(f"{f.name} {GPKG_SQL_TYPE[f.kind]}" for f in fields)).split(";\n"):
        db.execute(stmt)
    names = [f.name for f in fields]
    for fid, rec in enumerate(STATIONS, start=1):
        full = {n: ("unknown" if n.startswith("amenity_") else None) for n in names}
        full.update(timezone="Asia/Shanghai", access="unknown", entry="unknown", **rec)
        geom = point_blob(rec["lon"], rec["lat"]) if "lat" in rec else None
        db.execute(f"INSERT INTO stations (fid, geom, {', '.join(names)}, flags, updated_at) "
                   f"VALUES (?, ?, {', '.join('?' * len(names))}, NULL, ?)", (fid, geom, *full.values(), T3))
        if geom is not None:
            db.execute("INSERT INTO rtree_stations_geom VALUES (?, ?, ?, ?, ?)",
                       (fid, rec["lon"], rec["lon"], rec["lat"], rec["lat"]))
    db.executemany("INSERT INTO station_batches VALUES (?, ?, ?, ?, ?, ?, ?)", BATCHES)
    db.executemany("INSERT INTO station_history VALUES (?, ?, ?, ?, ?, ?, ?)", HISTORY)
    db.execute("UPDATE station_meta SET value = '3' WHERE key = 'revision'")
    for stmt in V1_RTREE_TRIGGERS.split(";\n"):
        db.execute(stmt)
    db.execute("COMMIT")
    db.close()
    return path


def rows(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


def columns(path: Path, table: str) -> list[tuple]:
    """(name, type, notnull, default, pk) of each column, in order."""
    return [tuple(r[1:]) for r in rows(path, f"PRAGMA table_info({table})")]


def cli(path: Path, *args: str, stdin: str | None = None):
    return CliRunner().invoke(main, ["--store", str(path), *args], obj={}, input=stdin)


def set_recorded_version(path: Path, value: str | None) -> None:
    with sqlite3.connect(path) as db:
        if value is None:
            db.execute("DELETE FROM station_meta WHERE key = 'schema_version'")
        else:
            db.execute("INSERT OR REPLACE INTO station_meta VALUES ('schema_version', ?)", (value,))


@pytest.fixture
def v1(tmp_path) -> Path:
    return make_v1_store(tmp_path / "old.gpkg")


def test_the_checks_in_a_table():
    assert SCHEMA_VERSION == 3
    check_schema_version(3, location="s.gpkg")
    with pytest.raises(StoreError, match=r"^store 's.gpkg' has schema version 1; this stations needs 3: back it up, "
                                         r"then run `stations --store s.gpkg db upgrade`$"):
        check_schema_version(1, location="s.gpkg")
    with pytest.raises(StoreError, match=r"^store 's.gpkg': schema version 4 is newer than this stations "
                                         r"understands \(3\); upgrade stations$"):
        check_schema_version(4, location="s.gpkg")
    assert parse_version(" 2 ", location="s") == 2
    for bad in ("two", "0", "-1", "", None):
        with pytest.raises(StoreError, match="not a version"):
            parse_version(bad, location="s")
    assert [s.version for s in steps_after(1, GPKG_STEPS)] == [2, 3] and steps_after(3, GPKG_STEPS) == []
    assert [s.version for s in steps_after(2, GPKG_STEPS)] == [3]
    with pytest.raises(StoreError, match=r"numbered \[3\]; they must number 2 to 3"):
        steps_after(1, (Step(3, "a gap", lambda db: None),))


def test_a_version_1_store_is_recognised_and_refused_as_it_is(v1):
    before = v1.read_bytes()
    for create in (False, True):  # serving and reading; importing
        with pytest.raises(StoreError, match=f"has schema version 1; this stations needs 3: back it up, then run "
                                             f"`stations --store {v1} db upgrade`"):
            open_store(v1, create=create)
    with open_store(v1, create=False, for_upgrade=True) as store:
        assert store.schema_version() == 1
    assert v1.read_bytes() == before  # nothing altered on open
    res = cli(v1, "db", "version")
    assert res.exit_code == 0, res.output
    assert f"store {v1} (geopackage): schema version 1" in res.output
    assert "this stations: schema version 3" in res.output and "db upgrade" in res.output


def test_serve_and_import_refuse_a_version_1_store(v1, tmp_path):
    before = v1.read_bytes()
    for args in (["serve", "--port", "1"], ["import", str(ROOT / "data" / "sample_stations.xlsx"), "--no-geocode"],
                 ["list"]):
        res = cli(v1, *args)
        assert res.exit_code == 2, (args, res.output)
        assert "has schema version 1; this stations needs 3" in res.output and "Traceback" not in res.output
    assert v1.read_bytes() == before
    from stations.web import create_app

    with pytest.raises(StoreError, match="has schema version 1"):
        create_app({"store": str(v1)})


def test_db_upgrade_keeps_every_station_history_row_and_batch(v1):
    stations_before = rows(v1, "SELECT * FROM stations ORDER BY fid")
    history_before = rows(v1, "SELECT * FROM station_history ORDER BY history_id")
    batches_before = rows(v1, "SELECT * FROM station_batches ORDER BY batch_id")
    res = cli(v1, "db", "upgrade")
    assert res.exit_code == 0, res.output
    assert res.output.splitlines() == [f"applied step 2: {GPKG_STEPS[0].description}",
                                       f"applied step 3: {GPKG_STEPS[1].description}",
                                       f"store {v1} is now at schema version 3"]
    assert rows(v1, "SELECT * FROM stations ORDER BY fid") == stations_before
    assert rows(v1, "SELECT * FROM station_history ORDER BY history_id") == history_before
    assert rows(v1, "SELECT * FROM station_batches ORDER BY batch_id") == [(*b, None) for b in batches_before]
    assert rows(v1, "SELECT value FROM station_meta WHERE key = 'schema_version'") == [("3",)]
    assert rows(v1, "SELECT count(*) FROM uploads") == [(0,)]
    with open_store(v1, create=False) as store:  # as serving opens it
        assert store.schema_version() == 3 and store.revision() == 3
        frame = store.frame()
        assert list(frame["station_id"]) == ["A", "B", "C"]
        assert list(frame["name"]) == ["昌黎一号驿站", "蔚县驿站", "无坐标驿站"]
        assert frame.loc[0, "lat"] == 39.7125 and frame.loc[0, "lon"] == 119.1637
        assert list(frame["status"]) == ["open", "removed", "open"]
        hist = store.history("A")
        assert [(h["action"], h["batch_id"], h["source"], h["user"]) for h in hist] == [
            ("update", 2, "b.csv", None), ("add", 1, "a.csv", None)]
        assert store.record_as_of("A", 1)["name"] == "昌黎驿站" and store.record_as_of("A", 1)["opening_hours"] is None
        assert [b["batch_id"] for b in store.batches()] == [3, 2, 1]
        assert store.batches()[1]["summary"] == {"added": 1, "updated": 1}
        page = store.changes_since(0)
        assert [(e.revision, e.station_id, e.action) for e in page.entries] == [
            (1, "A", "add"), (1, "B", "add"), (2, "A", "update"), (2, "C", "add"), (3, "B", "remove")]
    version = cli(v1, "db", "version")
    assert "schema version 3" in version.output and "db upgrade" not in version.output


def test_upgrade_is_idempotent(v1):
    assert cli(v1, "db", "upgrade").exit_code == 0
    after = v1.read_bytes()
    again = cli(v1, "db", "upgrade")
    assert again.exit_code == 0 and again.output.strip() == "already at version 3"
    assert v1.read_bytes() == after
    with open_store(v1, create=False, for_upgrade=True) as store:
        assert store.upgrade() == []
    assert v1.read_bytes() == after


def test_the_upgraded_store_serves_accepts_accounts_and_imports(v1, tmp_path, monkeypatch):
    from stations.accounts import authenticate
    from stations.web import create_app

    assert cli(v1, "db", "upgrade").exit_code == 0
    res = cli(v1, "users", "add", "li", "--role", "editor", "--area", "130322", "--password-stdin",
              stdin="correct horse battery staple\n")
    assert res.exit_code == 0, res.output
    with open_store(v1, create=False) as store:
        assert authenticate(store, "li", "correct horse battery staple").areas == ("130322",)
    client = create_app({"store": str(v1)}).test_client()
    health = client.get("/api/v1/health").get_json()
    assert health["status"] == "ok" and health["stations"] == 3
    near = client.get("/api/v1/nearest?lat=39.71&lon=119.16&k=1").get_json()
    assert near["results"][0]["station_id"] == "A"
    monkeypatch.setenv("STATIONS_GEOCODE_CACHE", str(tmp_path / "cache.sqlite"))
    res = cli(v1, "import", str(ROOT / "data" / "sample_stations.xlsx"), "--no-geocode")
    assert res.exit_code == 0 and "added 24" in res.output, res.output


def test_a_new_store_has_the_layout_of_an_upgraded_one(v1, tmp_path):
    new = tmp_path / "new.gpkg"
    open_store(new).close()
    assert cli(v1, "db", "upgrade").exit_code == 0
    objects = "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
    assert rows(new, objects) == rows(v1, objects)
    for (kind, name) in rows(new, objects):
        if kind == "table":
            assert columns(new, name) == columns(v1, name), name
    assert rows(new, "SELECT key, value FROM station_meta WHERE key = 'schema_version'") == [("schema_version", "3")]


def test_a_store_written_before_versions_were_recorded_is_recognised(tmp_path):
    """A store with version 2's tables made before the version was recorded is version 2:
    refused by serving as it is; `db upgrade` applies step 3 and records the version."""
    path = tmp_path / "s.gpkg"
    open_store(path).close()
    set_recorded_version(path, None)
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE uploads")  # version 2's layout is version 3's without it
    with open_store(path, create=False, for_upgrade=True) as store:
        assert store.schema_version() == 2
    with pytest.raises(StoreError, match="has schema version 2; this stations needs 3"):
        open_store(path, create=False)
    assert rows(path, "SELECT value FROM station_meta WHERE key = 'schema_version'") == []
    res = cli(path, "db", "upgrade")
    assert res.exit_code == 0 and res.output.splitlines() == [f"applied step 3: {GPKG_STEPS[1].description}",
                                                              f"store {path} is now at schema version 3"]
    assert rows(path, "SELECT value FROM station_meta WHERE key = 'schema_version'") == [("3",)]


def test_a_version_2_store_is_upgraded_to_3_with_every_row_kept(tmp_path):
    """Version 2 (recorded) with stations and a user: step 3 adds the uploads table only."""
    path = tmp_path / "v2.gpkg"
    with open_store(path) as store:
        from stations.io.importer import import_file

        import_file(store, ROOT / "data" / "sample_stations.xlsx")
        add_user(store, "li", role="editor", areas="130322")
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE uploads")
    set_recorded_version(path, "2")
    before = {t: rows(path, f"SELECT * FROM {t}") for t in ("stations", "station_history", "station_batches", "users")}
    with pytest.raises(StoreError, match="has schema version 2; this stations needs 3"):
        open_store(path, create=False)
    assert cli(path, "db", "upgrade").exit_code == 0
    assert {t: rows(path, f"SELECT * FROM {t}") for t in before} == before
    open_store(tmp_path / "new.gpkg").close()
    assert columns(path, "uploads") == columns(tmp_path / "new.gpkg", "uploads")
    with open_store(path, create=False) as store:
        assert store.schema_version() == 3 and store.count() == len(before["stations"]) > 0


def test_a_missing_record_column_is_added_by_step_2(tmp_path):
    path = make_v1_store(tmp_path / "older.gpkg", without=("notes", "contact"))
    assert cli(path, "db", "upgrade").exit_code == 0
    with open_store(path, create=False) as store:
        frame = store.frame()
        assert frame["notes"].isna().all() and frame["contact"].isna().all()
        assert list(frame["name"]) == ["昌黎一号驿站", "蔚县驿站", "无坐标驿站"]
    assert ("notes", "TEXT", 0, None, 0) in columns(path, "stations")


def test_a_newer_store_is_refused_by_serve_import_and_upgrade(tmp_path):
    path = tmp_path / "future.gpkg"
    open_store(path).close()
    set_recorded_version(path, "4")
    before = path.read_bytes()
    newer = "schema version 4 is newer than this stations understands (3); upgrade stations"
    for args in (["import", str(ROOT / "data" / "sample_stations.xlsx"), "--no-geocode"], ["db", "upgrade"],
                 ["show", "A"]):
        res = cli(path, *args)
        assert res.exit_code == 2, (args, res.output)
        assert newer in res.output and "Traceback" not in res.output
    version = cli(path, "db", "version")
    assert version.exit_code == 0 and "schema version 3" in version.output and "upgrade stations" in version.output
    # `stations serve` as a real process: one clear line, no traceback, a failing exit status.
    env = dict(os.environ, PYTHONPATH=str(ROOT), STATIONS_GEOCODE_CACHE=str(tmp_path / "cache.sqlite"))
    proc = subprocess.run([sys.executable, "-m", "stations.cli", "--store", str(path), "serve", "--port", "0"],
                          capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert proc.returncode != 0
    assert proc.stderr.strip() == f"error: store {str(path)!r}: {newer}", proc.stderr
    assert "serving" not in proc.stdout
    assert path.read_bytes() == before


def test_a_failing_step_leaves_the_store_at_version_1_and_readable(v1):
    """A view named like a version-2 table makes step 2 fail after it altered station_batches
    and created tables: all of it is rolled back."""
    with sqlite3.connect(v1) as db:
        db.execute("CREATE VIEW rate_events AS SELECT 'b' AS bucket, 'c' AS client_hash, 0.0 AS at")
    stations_before = rows(v1, "SELECT * FROM stations ORDER BY fid")
    history_before = rows(v1, "SELECT * FROM station_history ORDER BY history_id")
    batches_cols = columns(v1, "station_batches")
    res = cli(v1, "db", "upgrade")
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "upgrade step 2" in res.output and "views may not be indexed" in res.output
    assert "rolled back, the store is at schema version 1" in res.output
    assert columns(v1, "station_batches") == batches_cols  # the ALTER TABLE was undone
    assert rows(v1, "SELECT name FROM sqlite_master WHERE name IN ('users', 'app_secrets')") == []
    assert rows(v1, "SELECT * FROM station_meta WHERE key = 'schema_version'") == []
    assert rows(v1, "SELECT * FROM stations ORDER BY fid") == stations_before
    assert rows(v1, "SELECT * FROM station_history ORDER BY history_id") == history_before
    with open_store(v1, create=False, for_upgrade=True) as store:
        assert store.schema_version() == 1
        assert list(store.frame()["station_id"]) == ["A", "B", "C"]
    with sqlite3.connect(v1) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.execute("DROP VIEW rate_events")
    assert cli(v1, "db", "upgrade").exit_code == 0  # the cause removed, the upgrade goes through
    with open_store(v1, create=False) as store:
        assert store.schema_version() == 3 and store.count() == 3


def test_accounts_changes_need_the_upgrade(v1):
    with open_store(v1, create=False, for_upgrade=True) as store:
        store.upgrade()
    with open_store(v1, create=False) as store:
        add_user(store, "admin1", role="admin", password="correct horse battery staple")
        assert [u["name"] for u in store.query("SELECT name FROM users")] == ["admin1"]
    assert json.loads(rows(v1, "SELECT summary FROM station_batches WHERE batch_id = 1")[0][0]) == {"added": 2}
