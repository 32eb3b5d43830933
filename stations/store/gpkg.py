"""The default store: one GeoPackage file (SQLite), opened as is by QGIS and GDAL.

Layout
------
``stations``
    A features table (POINT, EPSG:4326, lon/lat order as GeoPackage requires) with one
    column per record field plus ``flags`` (JSON list) and ``updated_at``. Stations not yet
    positioned have a NULL geometry. Spatially indexed by the standard GeoPackage R-tree
    extension (``rtree_stations_geom`` with the spec's triggers). Columns that are no longer
    record fields (``source``, in stores written before it moved to the batch) are left in
    place and never read or written.
``station_history``
    Append-only: one row per change (``add``/``update``/``remove``) with the changed fields
    as JSON ``{field: [old, new]}``, the batch and the reason; an ``add`` records the name
    and position. Any past state of a station is its current record with the later diffs
    undone (:meth:`~stations.store.base.StationStore.record_as_of`). Nothing ever updates or deletes these rows.
``station_batches``
    One row per import or command: when, which command, source file and its SHA-256,
    the summary counts, and the user who made it (empty for the command line).
``station_meta``
    ``revision`` (see :meth:`GeoPackageStore.revision`) and ``schema_version``: the layout
    is numbered, and an older store is brought to this one by ``stations db upgrade``, never
    on open (:mod:`stations.store.migrations`).
Accounts and curation (plain SQLite tables, not registered in ``gpkg_contents``, so GIS
programs do not list them): ``users``, ``api_tokens`` and ``sessions`` (only hashes of
passwords and tokens), ``station_reports`` (workers' reports), ``station_checks`` (when each
field group was last confirmed, and by whom), ``rate_events`` (salted client hashes and
times, for rate limits shared by every process) and ``app_secrets``. See
:mod:`stations.accounts`.

Every write happens in a single SQLite transaction (rollback journal, so the file is one
file at rest). A crash or ``kill -9`` in the middle leaves a hot journal that SQLite rolls
back on the next open: the store is exactly as before the import.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as _dt
import json
import os
import re
import sqlite3
import struct
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence
from urllib.parse import quote

import numpy as np
import orjson
import pandas as pd

from ..errors import StoreError
from ..records import FIELDS, FIELD_NAMES, FLOAT_FIELDS
from .base import (CHANGED_IDS_SQL, BatchResult, Change, HistoryEntry, HistoryPage, SnapshotReader, StationStore,
                   StoreBusy, changed_rows_sql, check_revision, states_after)
from .migrations import (GPKG_ACCOUNTS_SQL, GPKG_SQL_TYPE, GPKG_STEPS, GPKG_UPLOADS_SQL, META_KEY, SCHEMA_VERSION,
                         check_not_newer, check_schema_version, gpkg_schema_version, steps_after)

SRS_ID = 4326
TABLE = "stations"
GEOM = "geom"
_SQL_TYPE = GPKG_SQL_TYPE
# GeoPackage binary header: magic "GP", version 0, flags (little endian, no envelope), srs_id.
_GP_HEADER = b"GP\x00\x01" + struct.pack("<i", SRS_ID)
_WKB_POINT = struct.Struct("<BIdd")
_GP_EMPTY_FLAGS = 0b10001  # little endian + empty geometry


def _floats(values: tuple) -> np.ndarray:
    """A column's values as float64, None and what is not a number as NaN."""
    try:
        return np.array(values, dtype=np.float64)
    except (TypeError, ValueError):  # a text in a number column (a file written by another program)
        return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(np.float64)


def point_blob(lon: float, lat: float) -> bytes:
    """GeoPackage geometry blob of a WGS-84 point (x = longitude, y = latitude)."""
    return _GP_HEADER + _WKB_POINT.pack(1, 1, lon, lat)


def blob_point(blob: bytes | None) -> tuple[float, float] | None:
    """(lon, lat) of a GeoPackage point blob, None for NULL or empty."""
    if blob is None or len(blob) < 8 or blob[3] & 0b10000:
        return None
    flags = blob[3]
    envelope = (flags >> 1) & 0b111
    offset = 8 + {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}.get(envelope, 0)
    order = "<" if blob[offset] == 1 else ">"
    _, lon, lat = struct.unpack_from(order + "Idd", blob, offset + 1)
    return lon, lat


def _st_coord(index: int):
    def fn(blob):
        p = blob_point(blob)
        return None if p is None else p[index]
    return fn


def _st_is_empty(blob):
    if blob is None:
        return None
    return 1 if blob_point(blob) is None else 0


_COLUMNS = [f"{f.name} {_SQL_TYPE[f.kind]}" for f in FIELDS]
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE IF NOT EXISTS gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER);
CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name));
CREATE TABLE IF NOT EXISTS gpkg_extensions (
  table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL,
  scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
CREATE TABLE IF NOT EXISTS {TABLE} (
  fid INTEGER PRIMARY KEY AUTOINCREMENT, {GEOM} POINT,
  {", ".join(_COLUMNS)}, flags TEXT, updated_at DATETIME,
  CONSTRAINT uq_station_id UNIQUE (station_id));
CREATE TABLE IF NOT EXISTS station_batches (
  batch_id INTEGER PRIMARY KEY AUTOINCREMENT, at DATETIME NOT NULL, command TEXT NOT NULL,
  source TEXT, source_sha256 TEXT, reason TEXT, summary TEXT, user TEXT);
CREATE TABLE IF NOT EXISTS station_history (
  history_id INTEGER PRIMARY KEY AUTOINCREMENT, station_id TEXT NOT NULL, at DATETIME NOT NULL,
  action TEXT NOT NULL, changes TEXT, batch_id INTEGER NOT NULL, reason TEXT);
CREATE INDEX IF NOT EXISTS ix_history_station ON station_history (station_id, history_id);
CREATE TRIGGER IF NOT EXISTS station_history_no_update BEFORE UPDATE ON station_history
  BEGIN SELECT RAISE(ABORT, 'station_history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS station_history_no_delete BEFORE DELETE ON station_history
  BEGIN SELECT RAISE(ABORT, 'station_history is append-only'); END;
CREATE TABLE IF NOT EXISTS station_meta (key TEXT PRIMARY KEY, value TEXT);
"""
_SRS = [
    ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", "undefined cartesian coordinate reference system"),
    ("Undefined geographic SRS", 0, "NONE", 0, "undefined", "undefined geographic coordinate reference system"),
    ("WGS 84 geodetic", 4326, "EPSG", 4326,
     'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],'
     'AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],'
     'UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],'
     'AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]', "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid"),
]
_RTREE = f"rtree_{TABLE}_{GEOM}"
_RTREE_SQL = f"""
CREATE VIRTUAL TABLE {_RTREE} USING rtree(id, minx, maxx, miny, maxy);
CREATE TRIGGER {_RTREE}_insert AFTER INSERT ON {TABLE}
  WHEN (new.{GEOM} NOT NULL AND NOT ST_IsEmpty(NEW.{GEOM}))
  BEGIN INSERT OR REPLACE INTO {_RTREE} VALUES (NEW.fid, ST_MinX(NEW.{GEOM}), ST_MaxX(NEW.{GEOM}),
    ST_MinY(NEW.{GEOM}), ST_MaxY(NEW.{GEOM})); END;
CREATE TRIGGER {_RTREE}_update6 AFTER UPDATE OF {GEOM} ON {TABLE}
  WHEN OLD.fid = NEW.fid AND (NEW.{GEOM} NOTNULL AND NOT ST_IsEmpty(NEW.{GEOM}))
  BEGIN INSERT OR REPLACE INTO {_RTREE} VALUES (NEW.fid, ST_MinX(NEW.{GEOM}), ST_MaxX(NEW.{GEOM}),
    ST_MinY(NEW.{GEOM}), ST_MaxY(NEW.{GEOM})); END;
CREATE TRIGGER {_RTREE}_update7 AFTER UPDATE OF {GEOM} ON {TABLE}
  WHEN OLD.fid = NEW.fid AND (NEW.{GEOM} ISNULL OR ST_IsEmpty(NEW.{GEOM}))
  BEGIN DELETE FROM {_RTREE} WHERE id = OLD.fid; END;
CREATE TRIGGER {_RTREE}_delete AFTER DELETE ON {TABLE} WHEN old.{GEOM} NOT NULL
  BEGIN DELETE FROM {_RTREE} WHERE id = OLD.fid; END;
"""


_RTREE_INSERT_TRIGGER = re.search(r"CREATE TRIGGER \S+_insert .*?END;", _RTREE_SQL, re.S).group(0)
_LAT, _LON, _NAME = FIELD_NAMES.index("lat"), FIELD_NAMES.index("lon"), FIELD_NAMES.index("name")
# Batches of at most this many changes grow the recorded extent (gpkg_contents) by their points
# instead of measuring it with a scan of the table (a staff edit: 65 ms less at 200,000 stations).
_EXTENT_GROW_MAX = 1000


def _dumps(value: Any) -> str:
    """Compact JSON text (UTF-8, Chinese kept as is): orjson, ~4x faster than json on history rows."""
    return orjson.dumps(value, default=str).decode("utf-8")


def _now() -> str:
    # GeoPackage DATETIME: ISO 8601 in UTC with milliseconds.
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")



class _SQLiteSnapshot(SnapshotReader):
    """Reads on the store's connection inside the read transaction :meth:`GeoPackageStore.read_snapshot` holds."""

    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        return self._db.execute(sql, tuple(params)).fetchone()[0]

    def chunks(self, sql: str, params: Iterable[Any] = (), *, chunk_rows: int = 5000) -> Iterator[list[tuple]]:
        cur = self._db.execute(sql, tuple(params))
        while rows := cur.fetchmany(max(1, int(chunk_rows))):
            yield rows


class GeoPackageStore(StationStore):
    """Stations in a GeoPackage file; see the module docstring for the layout.

    ``create=False`` opens an existing store only: a missing file, or one without a
    ``stations`` table, is a :class:`StoreError` and is left exactly as it was. A store of
    another schema version than :data:`~stations.store.migrations.SCHEMA_VERSION` is a
    :class:`StoreError` too, unless ``for_upgrade=True`` (see :mod:`stations.store.migrations`).
    Opening never alters an existing store.
    """

    kind = "geopackage"

    def __init__(self, path: Path, *, create: bool = True, for_upgrade: bool = False):
        self.path = Path(path)
        where = repr(str(self.path))
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # The header descriptor is opened before SQLite opens the file: if the path is
        # replaced in between, the descriptor names the older file and replaced() says so.
        self._header_fd: int | None = None
        try:
            self._header_fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            if not create:
                raise StoreError(f"store {where} does not exist; create it with `stations --store {self.path} "
                                 "import FILE`, or set --store (setting `store`) to an existing store") from None
        except OSError as exc:
            raise StoreError(f"store {where} cannot be opened: {exc.strerror}") from None
        # mode=rw never creates the file, even if it disappears after the check above.
        uri = f"file:{quote(os.path.abspath(self.path))}?mode={'rwc' if create else 'rw'}"
        try:
            self._db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=30.0)
        except sqlite3.DatabaseError as exc:
            self._close_header()
            raise StoreError(f"store {where} cannot be opened: {exc}") from exc
        try:
            self._register_functions(self._db)
            self._db.execute("PRAGMA journal_mode=DELETE")
            self._db.execute("PRAGMA synchronous=FULL")
            self._ensure_schema(create=create)
            if not for_upgrade:
                check_schema_version(self.schema_version(), location=str(self.path))
            if self._header_fd is None:  # created just now
                self._header_fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StoreError(f"store {where} is not a usable GeoPackage: {exc}; restore it from a backup or "
                             "import into a new store") from exc
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _register_functions(db: sqlite3.Connection) -> None:
        # The GeoPackage R-tree triggers call these spatial SQL functions.
        db.create_function("ST_MinX", 1, _st_coord(0), deterministic=True)
        db.create_function("ST_MaxX", 1, _st_coord(0), deterministic=True)
        db.create_function("ST_MinY", 1, _st_coord(1), deterministic=True)
        db.create_function("ST_MaxY", 1, _st_coord(1), deterministic=True)
        db.create_function("ST_IsEmpty", 1, _st_is_empty, deterministic=True)

    def _ensure_schema(self, *, create: bool) -> None:
        """Create the layout of :data:`SCHEMA_VERSION` in a file without a stations table
        (``create=True``); an existing store is left exactly as it is."""
        db = self._db
        exists = db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (TABLE,)).fetchone()
        if not exists and not create:
            raise StoreError(f"store {str(self.path)!r} is not a stations store (no `{TABLE}` table); "
                             "set --store (setting `store`) to a store `stations import` wrote")
        if exists:
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("PRAGMA application_id = 1196444487")  # 'GPKG'
            db.execute("PRAGMA user_version = 10400")
            for stmt in (*_SCHEMA.split(";\n"), *GPKG_ACCOUNTS_SQL.split(";\n"), GPKG_UPLOADS_SQL):
                if stmt.strip():
                    db.execute(stmt)
            db.executemany("INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (?,?,?,?,?,?)", _SRS)
            db.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) "
                       "VALUES (?, 'features', ?, ?, ?)",
                       (TABLE, TABLE, "Outdoor-worker rest stations (工会驿站)", SRS_ID))
            db.execute("INSERT INTO gpkg_geometry_columns VALUES (?, ?, 'POINT', ?, 0, 0)", (TABLE, GEOM, SRS_ID))
            for name, desc in (("station_history", "Append-only change history"),
                               ("station_batches", "Imports and commands")):
                db.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description) "
                           "VALUES (?, 'attributes', ?, ?)", (name, name, desc))
            for stmt in re.split(r"(?<=;)\n(?=CREATE)", _RTREE_SQL.strip()):
                db.execute(stmt)
            db.execute("INSERT INTO gpkg_extensions VALUES (?, ?, 'gpkg_rtree_index', "
                       "'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')", (TABLE, GEOM))
            db.execute("INSERT INTO station_meta VALUES ('revision', '0')")
            db.execute("INSERT INTO station_meta VALUES (?, ?)", (META_KEY, str(SCHEMA_VERSION)))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    # -- schema versions (see stations.store.migrations) -----------------------------------
    def schema_version(self) -> int:
        """The store's schema version: the recorded one, else the one its tables show (1 or 2)."""
        with self._reading():
            return gpkg_schema_version(self._db, location=str(self.path))

    def upgrade(self) -> list[str]:
        """Bring the store to :data:`SCHEMA_VERSION`, one step per transaction (see
        :meth:`StationStore.upgrade`); the descriptions of the steps applied, empty when none was.

        A newer store is refused (:class:`StoreError`). Each step reads the version again under
        the write lock, so two upgrades at once apply every step once."""
        where = str(self.path)
        check_not_newer(self.schema_version(), location=where)
        applied = []
        for step in steps_after(self.schema_version(), GPKG_STEPS):
            try:
                with self.transaction() as db:
                    if gpkg_schema_version(db, location=where) >= step.version:
                        continue  # another upgrade got there first
                    step.run(db)
                    db.execute("INSERT OR REPLACE INTO station_meta (key, value) VALUES (?, ?)",
                               (META_KEY, str(step.version)))
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"store {where!r}: upgrade step {step.version} ({step.description}) failed: {exc}; "
                                 f"the step was rolled back, the store is at schema version {self.schema_version()} "
                                 "as before it") from exc
            applied.append(f"step {step.version}: {step.description}")
        if self._db.execute("SELECT 1 FROM station_meta WHERE key = ?", (META_KEY,)).fetchone() is None:
            with self.transaction() as db:  # a current store written before versions were recorded
                db.execute("INSERT OR IGNORE INTO station_meta (key, value) VALUES (?, ?)",
                           (META_KEY, str(SCHEMA_VERSION)))
        return applied

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on the store's connection: committed at the end of the
        block, rolled back if it raises. For the accounts and curation tables."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[dict]:
        """Rows of a read-only SQL query on the accounts and curation tables, as dicts."""
        cur = self._db.execute(sql, tuple(params))
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, row)) for row in cur.fetchall()]

    # -- reading -------------------------------------------------------------------------
    def _select(self, where: str = "", params: Iterable[Any] = ()) -> tuple[list[str], list[tuple]]:
        cols = list(FIELD_NAMES) + ["flags"]
        sql = f"SELECT {', '.join(cols)} FROM {TABLE} {where}"
        return cols, self._db.execute(sql, tuple(params)).fetchall()

    @staticmethod
    def _row_dict(cols: list[str], row: tuple) -> dict:
        rec = dict(zip(cols, row))
        rec["flags"] = json.loads(rec["flags"]) if isinstance(rec.get("flags"), str) else []
        return rec

    def frame(self, *, statuses: Iterable[str] | None = None) -> pd.DataFrame:
        where, params = "", []
        if statuses is not None:
            statuses = list(statuses)
            where = f"WHERE status IN ({', '.join('?' * len(statuses))})"
            params = statuses
        cols = list(FIELD_NAMES) + ["flags"]
        return self._read_frame(f"SELECT {', '.join(cols)} FROM {TABLE} {where} ORDER BY station_id", params)

    def _read_frame(self, sql: str, params: Iterable[Any]) -> pd.DataFrame:
        """The rows of ``sql`` (selecting the record fields and ``flags``) as :meth:`frame` gives them."""
        cols = list(FIELD_NAMES) + ["flags"]
        cursor = self._db.execute(sql, tuple(params))
        # Read in blocks and keep one copy of each repeated text (statuses, amenities, counties,
        # hours...): the frame then holds a pointer per cell, not a string per cell, and the
        # rows are never all held at once. At 200,000 stations a worker's memory after
        # reading is 0.5 GB smaller (freed per-cell strings stay with the process). Numbers
        # become arrays block by block: a float object per cell kept until the end would sit
        # between the texts that stay, and the holes it leaves when freed would stay with
        # the process too (30 MB at 200,000 stations; benchmarks/bench_memory.py).
        columns: list[list] = [[] for _ in cols]
        seen: list[dict | None] = [None if name in FLOAT_FIELDS else {} for name in cols]
        while rows := cursor.fetchmany(4096):
            for out, memo, values in zip(columns, seen, zip(*rows)):
                if memo is None:
                    out.append(_floats(values))
                else:
                    out.extend([memo.setdefault(v, v) for v in values])
        if columns[0]:
            df = pd.DataFrame({name: np.concatenate(out) if memo is None else out
                               for name, out, memo in zip(cols, columns, seen)}, columns=cols)
        else:  # no rows: columns of objects, as DataFrame.from_records makes them
            df = pd.DataFrame(columns=cols, dtype=object)
            for name in ("lat", "lon", "raw_lat", "raw_lon"):
                df[name] = df[name].astype("float64")
        del columns, seen
        df["flags"] = [json.loads(f) if isinstance(f, str) and f else [] for f in df["flags"]]
        return df

    def get(self, station_id: str) -> dict | None:
        cols, rows = self._select("WHERE station_id = ?", (station_id,))
        return self._row_dict(cols, rows[0]) if rows else None

    def consistent_frame(self) -> tuple[int, pd.DataFrame]:
        """(revision, frame) in one read transaction: an import committing in between cannot
        make the frame newer than its revision."""
        with self._reading():
            self._db.execute("BEGIN")
            try:
                return self.revision(), self.frame()
            finally:
                self._db.execute("COMMIT")

    @contextmanager
    def read_snapshot(self) -> Iterator[SnapshotReader]:
        """One read transaction (see :meth:`StationStore.read_snapshot`): SQLite's shared lock
        from the first read to the end of the block, so writers wait until it ends."""
        self._db.execute("BEGIN")
        try:
            yield _SQLiteSnapshot(self._db)
        finally:
            self._db.execute("COMMIT")

    # -- bulk loading (stations migrate), inside a transaction() ------------------------------
    def insert_station_rows(self, cols: Sequence[str], rows: list[tuple]) -> None:
        """Insert whole station rows as they are (ids kept): ``cols`` names columns of the
        stations table, ``lat`` and ``lon`` among them; each geometry is made from them (none
        without a position). Inside the caller's :meth:`transaction`; a large chunk fills the
        R-tree in one statement. End with :meth:`update_extent`."""
        lat, lon = cols.index("lat"), cols.index("lon")
        all_cols = (GEOM, *cols)
        sql = f"INSERT INTO {TABLE} ({', '.join(all_cols)}) VALUES ({', '.join('?' * len(all_cols))})"
        self._insert_many(sql, [(point_blob(r[lon], r[lat]) if r[lat] is not None and r[lon] is not None else None,
                                 *r) for r in rows])

    def update_extent(self) -> None:
        """Record the stations' bounding box in ``gpkg_contents`` (what GIS programs show
        first), inside the caller's :meth:`transaction`."""
        self._update_extent()

    def changed_frame(self, revision: int, *, max_stations: int | None = None
                      ) -> tuple[int, tuple[str, ...], pd.DataFrame | None]:
        """See :meth:`StationStore.changed_frame`: one read transaction; the first history row
        after ``revision`` is found as :meth:`changes_since` finds it."""
        db = self._db
        with self._reading():
            db.execute("BEGIN")
            try:
                current, batches = self._numbered_batches(revision, "the changes cannot be numbered")
                # Nothing after the last revision: no history row is that new.
                start = self._first_history_id(batches[revision]) if revision < current else self._feed_seen + 1
                ids = tuple(sid for (sid,) in db.execute(CHANGED_IDS_SQL, (start,)))
                if max_stations is not None and len(ids) > max_stations:
                    return current, ids, None
                return current, ids, self._read_frame(changed_rows_sql(list(FIELD_NAMES) + ["flags"]), (start,))
            finally:
                db.execute("COMMIT")

    def count(self) -> int:
        with self._reading():
            return self._db.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]

    def revision(self) -> int:
        with self._reading():
            return int(self._db.execute("SELECT value FROM station_meta WHERE key = 'revision'").fetchone()[0])

    def change_token(self) -> Any:
        """SQLite's file change counter (database header, offset 24): every commit in
        rollback-journal mode (the store's mode) increments it before the file is unlocked.
        One ``pread`` and no lock, against a query and its lock for :meth:`revision`. If
        another program switched the file to WAL mode (header byte 18 is 2), commits need
        not touch the header: the revision then.

        It reads the file this store opened: after a restore moved another file over the
        path, only :meth:`replaced` tells."""
        header = os.pread(self._header_fd, 28, 0)
        if len(header) < 28 or header[18] == 2:
            return ("revision", self.revision())
        return header[24:28]

    def replaced(self) -> bool:
        """Whether the path no longer names the file this store opened: it was deleted, or
        another file was moved over it (``mv backup.gpkg stations.gpkg``). Two ``stat`` calls."""
        try:
            now = os.stat(self.path)
        except FileNotFoundError:
            return True
        mine = os.fstat(self._header_fd)
        return (now.st_dev, now.st_ino) != (mine.st_dev, mine.st_ino)

    @contextlib.contextmanager
    def _reading(self):
        """SQLite's errors for a file that is not (or no longer) a database, as a StoreError
        naming the store; a lock held by a writer past the timeout as StoreBusy."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreBusy(f"store {str(self.path)!r} is locked by a writer: {exc}") from exc
            raise StoreError(f"store {str(self.path)!r} cannot be read: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"store {str(self.path)!r} cannot be read: {exc}") from exc

    # -- the change feed -----------------------------------------------------------------
    # Revision r is the r-th batch that changed something (``apply`` adds 1 to the revision
    # for a batch with changes, and writes one history row per change). History ids grow with
    # batch ids, as both are AUTOINCREMENT and writers take turns; the history is append-only.
    # So the batches of the revisions are read once and then only from rows not seen yet.
    _feed_batches: tuple[int, ...] = ()  # batch id of revision 1, 2, ... (instance copy once read)
    _feed_seen: int = 0  # the largest history_id read into _feed_batches

    def _revision_batches(self) -> tuple[int, ...]:
        """Batch ids of revisions 1, 2, ..., read inside the caller's transaction."""
        db = self._db
        top = db.execute("SELECT coalesce(max(history_id), 0) FROM station_history").fetchone()[0]
        if top > self._feed_seen:
            new = [b for (b,) in db.execute("SELECT DISTINCT batch_id FROM station_history WHERE history_id > ? "
                                            "ORDER BY batch_id", (self._feed_seen,))]
            self._feed_batches = self._feed_batches + tuple(b for b in new if not self._feed_batches
                                                            or b > self._feed_batches[-1])
            self._feed_seen = top
        return self._feed_batches

    def _numbered_batches(self, revision: int, what: str) -> tuple[int, tuple[int, ...]]:
        """(the store's revision, the batch ids of revisions 1, 2, ...), read inside the caller's
        transaction; :class:`~stations.errors.ValidationError` unless ``revision`` is one of the
        store's, StoreError (saying ``what`` cannot be done) when the history does not number them."""
        current = self.revision()
        check_revision(revision, current)
        batches = self._revision_batches()
        if len(batches) != current:
            raise StoreError(f"store {str(self.path)!r}: its revision ({current}) and the batches in its "
                             f"history ({len(batches)}) disagree; {what}")
        return current, batches

    def _first_history_id(self, batch_id: int) -> int:
        """The first history_id of ``batch_id`` (a batch with history): a binary search on the
        primary key, as history ids grow with batch ids (no index on batch_id is needed)."""
        at_or_after = "SELECT history_id, batch_id FROM station_history WHERE history_id >= ? ORDER BY history_id LIMIT 1"
        lo, hi = 0, self._feed_seen
        while lo < hi:  # the smallest id whose first row at or after it is of batch_id or later
            mid = (lo + hi) // 2
            row = self._db.execute(at_or_after, (mid,)).fetchone()
            if row is not None and row[1] >= batch_id:
                hi = mid
            else:
                lo = mid + 1
        return self._db.execute(at_or_after, (lo,)).fetchone()[0]

    def changes_since(self, revision: int, *, after: int = 0, limit: int = 1000) -> HistoryPage:
        """See :meth:`StationStore.changes_since`; one read transaction, so a page never holds
        half a batch that is being written."""
        db = self._db
        db.execute("BEGIN")
        try:
            current, batches = self._numbered_batches(revision, "the change feed cannot number the changes")
            if revision == current:
                return HistoryPage(current, (), False)
            start = self._first_history_id(batches[revision])
            rows = db.execute("SELECT history_id, station_id, at, action, changes, batch_id FROM station_history "
                              "WHERE history_id > ? ORDER BY history_id LIMIT ?",
                              (max(int(after), start - 1), int(limit) + 1)).fetchall()
            more = len(rows) > limit
            rows = rows[:limit]
            records = self._records_after(rows)
            entries = tuple(
                HistoryEntry(history_id=hid, revision=bisect.bisect_left(batches, batch_id) + 1, at=at,
                             station_id=sid, action=action,
                             changed=tuple(json.loads(changes)) if changes and action != "add" else (),
                             record=records.get(hid))
                for hid, sid, at, action, changes, batch_id in rows)
            return HistoryPage(current, entries, more)
        finally:
            db.execute("COMMIT")

    def _records_after(self, rows: list[tuple]) -> dict[int, dict]:
        """The station of each history row as it was right after that change: its current
        record with every later change undone, newest first (as :meth:`record_as_of`).
        Read in chunks of stations: two queries per 500 stations."""
        wanted: dict[str, int] = {}  # station -> its first history_id on the page
        for hid, sid, *_ in rows:
            wanted.setdefault(sid, hid)
        page = {row[0] for row in rows}
        out: dict[int, dict] = {}
        ids = list(wanted)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            cols, found = self._select(f"WHERE station_id IN ({marks})", chunk)
            current = {}
            for row in found:
                rec = self._row_dict(cols, row)
                rec.pop("flags", None)
                current[rec["station_id"]] = rec
            later: dict[str, list[tuple]] = {}
            for sid, hid, action, changes in self._db.execute(
                    f"SELECT station_id, history_id, action, changes FROM station_history WHERE station_id IN "
                    f"({marks}) AND history_id >= ? ORDER BY station_id, history_id DESC",
                    (*chunk, min(wanted[s] for s in chunk))):
                if hid >= wanted[sid]:
                    later.setdefault(sid, []).append((hid, action, changes))
            for sid, rec in current.items():
                out.update(states_after(rec, [(hid, action, json.loads(changes) if changes else {})
                                              for hid, action, changes in later.get(sid, ())], page))
        return out

    def revision_at(self, revision: int) -> str | None:
        """When ``revision`` was committed: the time of its batch (ISO 8601, UTC)."""
        if revision <= 0:
            return None
        self._db.execute("BEGIN")
        try:
            batches = self._revision_batches()
            if revision > len(batches):
                return None
            row = self._db.execute("SELECT at FROM station_batches WHERE batch_id = ?",
                                   (batches[revision - 1],)).fetchone()
            return row[0] if row else None
        finally:
            self._db.execute("COMMIT")

    # -- writing -------------------------------------------------------------------------
    def apply(self, changes: list[Change], *, command: str, source: str = "", reason: str = "",
              summary: Mapping[str, Any] | None = None, source_sha256: str = "",
              progress=None, user: str = "", guard: Callable[[], None] | None = None,
              after: Callable[[sqlite3.Connection, int], None] | None = None) -> BatchResult:
        """Apply every change in one transaction (see :meth:`StationStore.apply`).

        ``progress`` is an optional callable taking the number of changes just written.
        ``user`` names who made the batch. ``guard`` is called first inside the transaction
        (under the write lock; raise to abort, e.g. a stale ETag); ``after(connection,
        batch_id)`` last, for writes to other tables that must land with the changes.
        """
        db = self._db
        now = _now()
        cols = [GEOM, *FIELD_NAMES, "flags", "updated_at"]
        insert_sql = f"INSERT INTO {TABLE} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        update_sql = f"UPDATE {TABLE} SET {', '.join(c + ' = ?' for c in cols)} WHERE station_id = ?"
        hist_sql = ("INSERT INTO station_history (station_id, at, action, changes, batch_id, reason) "
                    "VALUES (?, ?, ?, ?, ?, ?)")
        db.execute("BEGIN IMMEDIATE")
        try:
            if guard is not None:
                guard()
            cur = db.execute(
                "INSERT INTO station_batches (at, command, source, source_sha256, reason, summary, user) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (now, command, source, source_sha256, reason,
                 json.dumps(dict(summary or {}), ensure_ascii=False, default=str), user or None))
            batch_id = cur.lastrowid
            inserts, updates, hist = [], [], []
            dumps = _dumps
            float_pos = [i for i, n in enumerate(FIELD_NAMES) if n in FLOAT_FIELDS]
            for i, change in enumerate(changes):
                rec = change.record
                fields = [rec.get(n) for n in FIELD_NAMES]
                for j in float_pos:  # NaN (from a DataFrame) is stored as NULL
                    v = fields[j]
                    if v is not None and v != v:
                        fields[j] = None
                lat, lon = fields[_LAT], fields[_LON]
                geom = point_blob(lon, lat) if lat is not None and lon is not None else None
                values = [geom, *fields, dumps(list(change.flags)) if change.flags else None, now]
                if change.action == "add":
                    inserts.append(values)
                    # Name and position only: every later change keeps each field's old and new
                    # value, so any past state is the current record with the diffs undone.
                    payload = {"name": fields[_NAME], "lat": lat, "lon": lon}
                elif change.action in ("update", "remove"):
                    updates.append(values + [rec["station_id"]])
                    payload = {k: list(v) for k, v in change.changed.items()}
                else:
                    raise StoreError(f"unknown change action {change.action!r}; allowed: add, update, remove")
                hist.append((rec["station_id"], now, change.action, dumps(payload), batch_id,
                             reason or (rec.get("status_reason") if change.action == "remove" else None)))
                if progress is not None and (i + 1) % 5000 == 0:
                    progress(5000)
            # A few changes grow the recorded extent by their points unless one moved away from
            # its edge; many are measured whole (a scan: 65 ms at 200,000 stations).
            small = len(changes) <= _EXTENT_GROW_MAX
            replaced = self._positions([u[-1] for u in updates]) if small else None
            self._insert_many(insert_sql, inserts)
            db.executemany(update_sql, updates)
            db.executemany(hist_sql, hist)
            if progress is not None:
                progress(len(changes) % 5000)
            revision = self.revision() + (1 if changes else 0)
            db.execute("UPDATE station_meta SET value = ? WHERE key = 'revision'", (str(revision),))
            if small:
                self._grow_extent(replaced, [(v[1 + _LAT], v[1 + _LON]) for v in (*inserts, *updates)])
            else:
                self._update_extent()
            if after is not None:
                after(db, batch_id)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return BatchResult(batch_id=batch_id, revision=revision, applied=len(changes))

    def _insert_many(self, sql: str, rows: list[list]) -> None:
        """Insert rows; for large batches fill the R-tree in one statement instead of by
        trigger (one Python call per row per bound). Inside the caller's transaction, so
        the triggers are back before anyone else can see the table."""
        db = self._db
        if len(rows) < 2000:
            db.executemany(sql, rows)
            return
        start = db.execute(f"SELECT coalesce(max(fid), 0) FROM {TABLE}").fetchone()[0]
        db.execute(f"DROP TRIGGER {_RTREE}_insert")
        db.executemany(sql, rows)
        db.execute(f"INSERT INTO {_RTREE} SELECT fid, lon, lon, lat, lat FROM {TABLE} "
                   f"WHERE fid > ? AND {GEOM} IS NOT NULL", (start,))
        db.execute(_RTREE_INSERT_TRIGGER)

    def _update_extent(self) -> None:
        """The stations' bounding box measured whole (a scan of the table) into gpkg_contents."""
        row = self._db.execute(f"SELECT min(lon), min(lat), max(lon), max(lat) FROM {TABLE} "
                               "WHERE lat IS NOT NULL").fetchone()
        self._db.execute("UPDATE gpkg_contents SET min_x=?, min_y=?, max_x=?, max_y=?, last_change=? "
                         "WHERE table_name = ?", (*row, _now(), TABLE))

    def _positions(self, station_ids: list[str]) -> list[tuple[float | None, float | None]]:
        """(lat, lon) of the stored stations of ``station_ids`` (those that exist)."""
        out: list[tuple] = []
        for start in range(0, len(station_ids), 500):
            chunk = station_ids[start:start + 500]
            out += self._db.execute(f"SELECT lat, lon FROM {TABLE} WHERE station_id IN "
                                    f"({', '.join('?' * len(chunk))})", chunk).fetchall()
        return out

    def _grow_extent(self, replaced: list[tuple], written: list[tuple]) -> None:
        """Bring gpkg_contents' extent up to date after a few rows were written: the recorded
        box grown to hold the ``written`` (lat, lon) positions, when none of the ``replaced``
        positions (what the updated rows held before) lay on its edge; else measured whole.
        The same box as :meth:`_update_extent` (``tests/test_store.py`` checks it after random
        sequences of writes)."""
        box = self._db.execute("SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = ?",
                               (TABLE,)).fetchone()
        min_x, min_y, max_x, max_y = box if box is not None else (None,) * 4
        if min_x is None or min_y is None or max_x is None or max_y is None:
            self._update_extent()  # no box recorded (no station had a position): measure
            return
        for lat, lon in replaced:
            if lat is not None and lon is not None and (lon in (min_x, max_x) or lat in (min_y, max_y)):
                self._update_extent()  # it may have held the box out: measure
                return
        for lat, lon in written:
            if lat is not None and lon is not None:
                min_x, max_x, min_y, max_y = min(min_x, lon), max(max_x, lon), min(min_y, lat), max(max_y, lat)
        self._db.execute("UPDATE gpkg_contents SET min_x=?, min_y=?, max_x=?, max_y=?, last_change=? "
                         "WHERE table_name = ?", (min_x, min_y, max_x, max_y, _now(), TABLE))

    def close(self) -> None:
        db = getattr(self, "_db", None)
        if db is not None:
            db.close()
        self._close_header()

    def _close_header(self) -> None:
        if self._header_fd is not None:
            os.close(self._header_fd)
            self._header_fd = None
