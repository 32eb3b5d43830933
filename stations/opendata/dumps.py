"""Open-data dumps of the whole public data set: GeoJSON, CSV and GeoPackage, streamed.

Each writer takes an iterable of records and writes one feature or row at a time: with the
records coming from a :class:`~stations.service.Snapshot` (:func:`snapshot_records`), a dump
of 200,000 stations holds one station at a time beyond the snapshot the service keeps anyway
(``benchmarks/bench_opendata.py`` measures it). Stations go in station-id order, so two
dumps of the same revision are byte for byte the same.

Every file says its licence and attribution (:class:`~stations.opendata.public.DataLicence`)
and the store revision it shows: GeoJSON in top-level members, GeoPackage in its contents
description and in GDAL metadata (``ogrinfo`` prints ``LICENSE``, ``ATTRIBUTION``,
``REVISION``). CSV has no room for metadata; the server sends it in headers, and the
``/opendata/`` index lists it. The CSV is UTF-8 with a byte-order mark, so Excel in China
opens it with the Chinese intact.

:class:`DumpFiles` keeps the files of the current revision in a folder: written once (to a
temporary name, then renamed, so a reader never sees half a file), served as files after.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, Mapping
from xml.sax.saxutils import escape

import orjson

from ..errors import Problem, ValidationError
from ..records import BY_NAME
from ..service import Snapshot
from ..store.gpkg import point_blob
from ._snapshot import id_order
from .public import CSV_COLUMNS, PUBLIC_FIELDS, DataLicence, csv_row, public_feature

FORMATS: dict[str, tuple[str, str]] = {
    "geojson": ("application/geo+json", "GeoJSON FeatureCollection (RFC 7946), WGS-84 longitude/latitude"),
    "csv": ("text/csv; charset=utf-8", "CSV, UTF-8 with BOM (Excel opens the Chinese), English headers, "
                                       "WGS-84 lat/lon columns"),
    "gpkg": ("application/geopackage+sqlite3", "GeoPackage (QGIS, GDAL, ArcGIS): layer stations, EPSG:4326"),
}
"""Dump formats: media type and a one-line description."""
DUMP_VERSION = 1  # bump when a writer's output changes: old files then get new names
TITLE = "工会驿站 / Outdoor-worker rest stations"


@dataclass(frozen=True)
class DumpMeta:
    """What a dump says about itself: the revision it shows, when that revision was
    committed (ISO 8601 UTC, None for an empty store), and the licence."""

    revision: int
    modified: str | None
    licence: DataLicence

    @property
    def fingerprint(self) -> str:
        """Changes whenever anything a file says about itself (but the revision) changes: the
        licence, and when the revision was made (a store made again from scratch reaches the
        same revision number with other data)."""
        text = "\n".join((str(DUMP_VERSION), self.modified or "", self.licence.licence, self.licence.url,
                          self.licence.attribution))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def snapshot_records(snapshot: Snapshot) -> Iterator[dict]:
    """Every station of ``snapshot`` as a record, in station-id order, one at a time."""
    order, _ids = id_order(snapshot)
    names = [name for name in PUBLIC_FIELDS if name in snapshot.frame.columns]
    for pos in order:
        yield snapshot.record(int(pos), names)


def write_geojson(records: Iterable[Mapping], out: BinaryIO, *, meta: DumpMeta) -> int:
    """A GeoJSON FeatureCollection, one feature per line; returns the number written.

    Top-level members before the features: ``name``, ``title``, ``revision``, ``modified``
    and ``licence`` (:meth:`DataLicence.as_dict`): foreign members, which RFC 7946 allows.
    """
    head = {"type": "FeatureCollection", "name": "stations", "title": TITLE, "revision": meta.revision,
            "modified": meta.modified, "licence": meta.licence.as_dict()}
    out.write(orjson.dumps(head)[:-1] + b',"features":[\n')
    n = 0
    for rec in records:
        out.write((b",\n" if n else b"") + orjson.dumps(public_feature(rec)))
        n += 1
    out.write(b"\n]}\n")
    return n


def write_csv(records: Iterable[Mapping], out: BinaryIO) -> int:
    """CSV: a UTF-8 byte-order mark, the header :data:`CSV_COLUMNS`, one row per station."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    try:
        text.write("\ufeff")
        writer = csv.writer(text)
        writer.writerow(CSV_COLUMNS)
        n = 0
        for rec in records:
            writer.writerow(csv_row(rec))
            n += 1
        text.flush()
    finally:
        text.detach()  # the caller's stream stays open
    return n


_SQL_TYPES = {"str": "TEXT", "float": "REAL", "date": "DATE", "amenity": "TEXT"}
_COLUMNS = list(PUBLIC_FIELDS)
_GPKG_SCHEMA = [
    "CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, "
    "organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, "
    "description TEXT)",
    "CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, "
    "identifier TEXT UNIQUE, description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT "
    "(strftime('%Y-%m-%dT%H:%M:%fZ','now')), min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, "
    "srs_id INTEGER, CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))",
    "CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, "
    "geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL, "
    "CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name))",
    "CREATE TABLE gpkg_extensions (table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, "
    "definition TEXT NOT NULL, scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, "
    "extension_name))",
    "CREATE TABLE gpkg_metadata (id INTEGER CONSTRAINT m_pk PRIMARY KEY ASC NOT NULL, md_scope TEXT NOT NULL "
    "DEFAULT 'dataset', md_standard_uri TEXT NOT NULL, mime_type TEXT NOT NULL DEFAULT 'text/xml', "
    "metadata TEXT NOT NULL DEFAULT '')",
    "CREATE TABLE gpkg_metadata_reference (reference_scope TEXT NOT NULL, table_name TEXT, column_name TEXT, "
    "row_id_value INTEGER, timestamp DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')), "
    "md_file_id INTEGER NOT NULL, md_parent_id INTEGER, CONSTRAINT crmr_mfi_fk FOREIGN KEY (md_file_id) "
    "REFERENCES gpkg_metadata(id), CONSTRAINT crmr_mpi_fk FOREIGN KEY (md_parent_id) REFERENCES gpkg_metadata(id))",
    "CREATE TABLE stations (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom POINT, "
    + ", ".join(f"{name} {_SQL_TYPES[BY_NAME[name].kind]}" for name in _COLUMNS)
    + ", open_24h BOOLEAN, CONSTRAINT uq_station_id UNIQUE (station_id))",
    "CREATE VIRTUAL TABLE rtree_stations_geom USING rtree(id, minx, maxx, miny, maxy)",
]
# The GeoPackage R-tree extension's triggers, for programs that edit a copy (GDAL and QGIS
# provide the ST_ functions); this writer fills the index in one statement instead.
_RTREE_TRIGGERS = [
    "CREATE TRIGGER rtree_stations_geom_insert AFTER INSERT ON stations WHEN (new.geom NOT NULL AND NOT "
    "ST_IsEmpty(NEW.geom)) BEGIN INSERT OR REPLACE INTO rtree_stations_geom VALUES (NEW.fid, ST_MinX(NEW.geom), "
    "ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom)); END",
    "CREATE TRIGGER rtree_stations_geom_update6 AFTER UPDATE OF geom ON stations WHEN OLD.fid = NEW.fid AND "
    "(NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom)) BEGIN INSERT OR REPLACE INTO rtree_stations_geom VALUES "
    "(NEW.fid, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom)); END",
    "CREATE TRIGGER rtree_stations_geom_update7 AFTER UPDATE OF geom ON stations WHEN OLD.fid = NEW.fid AND "
    "(NEW.geom ISNULL OR ST_IsEmpty(NEW.geom)) BEGIN DELETE FROM rtree_stations_geom WHERE id = OLD.fid; END",
    "CREATE TRIGGER rtree_stations_geom_delete AFTER DELETE ON stations WHEN old.geom NOT NULL "
    "BEGIN DELETE FROM rtree_stations_geom WHERE id = OLD.fid; END",
]
_WGS84_WKT = ('GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],'
              'AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],'
              'UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],'
              'AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]')
_SRS = [("Undefined cartesian SRS", -1, "NONE", -1, "undefined", "undefined cartesian coordinate reference system"),
        ("Undefined geographic SRS", 0, "NONE", 0, "undefined", "undefined geographic coordinate reference system"),
        ("WGS 84 geodetic", 4326, "EPSG", 4326, _WGS84_WKT,
         "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid")]


def _gdal_metadata(meta: DumpMeta) -> str:
    """Metadata as GDAL reads it from a GeoPackage (``ogrinfo`` prints the items)."""
    items = {"TITLE": TITLE, "REVISION": str(meta.revision), "MODIFIED": meta.modified or "",
             "LICENSE": meta.licence.licence or "not set", "LICENSE_URL": meta.licence.url,
             "ATTRIBUTION": meta.licence.attribution, "STATEMENT": meta.licence.statement()}
    mdi = "".join(f'<MDI key="{key}">{escape(value)}</MDI>' for key, value in items.items() if value)
    return f"<GDALMultiDomainMetadata><Metadata>{mdi}</Metadata></GDALMultiDomainMetadata>"


_LAT, _LON = _COLUMNS.index("lat"), _COLUMNS.index("lon")


def _gpkg_rows(records: Iterable[Mapping], counter: list[int]) -> Iterator[tuple]:
    """(geometry blob, the public fields, open_24h) per record: the CSV row's values
    (:func:`csv_row`, NaN read as None) with the point as a GeoPackage blob."""
    for rec in records:
        row = csv_row(rec)
        lat, lon = row[_LAT], row[_LON]
        counter[0] += 1
        yield (None if lat is None or lon is None else point_blob(lon, lat), *row[:-1],
               1 if row[-1] == "true" else 0)


def write_gpkg(records: Iterable[Mapping], path: str | Path, *, meta: DumpMeta) -> int:
    """A fresh GeoPackage at ``path`` (which must not exist): the ``stations`` point layer
    (EPSG:4326; the public fields, ``lat``/``lon`` included, and ``open_24h``) with an R-tree index, and nothing else of the
    store (no history, batches or other tables). Returns the number of stations written."""
    db = sqlite3.connect(str(path), isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=OFF")  # a new file, renamed into place only when complete
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA application_id = 1196444487")  # 'GPKG'
        db.execute("PRAGMA user_version = 10200")  # GeoPackage 1.2: all this file uses
        db.execute("BEGIN")
        for stmt in _GPKG_SCHEMA:
            db.execute(stmt)
        db.executemany("INSERT INTO gpkg_spatial_ref_sys VALUES (?,?,?,?,?,?)", _SRS)
        counter = [0]
        cols = ["geom", *_COLUMNS, "open_24h"]
        db.executemany(f"INSERT INTO stations ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                       _gpkg_rows(records, counter))
        # One statement, as the store does for large imports, instead of one trigger call per row.
        db.execute("INSERT INTO rtree_stations_geom SELECT fid, lon, lon, lat, lat FROM stations "
                   "WHERE geom IS NOT NULL")
        for stmt in _RTREE_TRIGGERS:
            db.execute(stmt)
        box = db.execute("SELECT min(minx), min(miny), max(maxx), max(maxy) FROM rtree_stations_geom").fetchone()
        description = f"{TITLE}. Revision {meta.revision}. {meta.licence.statement()}"
        db.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change, "
                   "min_x, min_y, max_x, max_y, srs_id) VALUES ('stations', 'features', 'stations', ?, ?, ?, ?, ?, ?, "
                   "4326)", (description, meta.modified or "1970-01-01T00:00:00.000Z", *box))
        db.execute("INSERT INTO gpkg_geometry_columns VALUES ('stations', 'geom', 'POINT', 4326, 0, 0)")
        db.executemany("INSERT INTO gpkg_extensions VALUES (?, ?, ?, ?, ?)", [
            ("stations", "geom", "gpkg_rtree_index", "http://www.geopackage.org/spec120/#extension_rtree",
             "write-only"),
            ("gpkg_metadata", None, "gpkg_metadata", "http://www.geopackage.org/spec120/#extension_metadata",
             "read-write"),
            ("gpkg_metadata_reference", None, "gpkg_metadata",
             "http://www.geopackage.org/spec120/#extension_metadata", "read-write")])
        md = db.execute("INSERT INTO gpkg_metadata (md_scope, md_standard_uri, mime_type, metadata) "
                        "VALUES ('dataset', 'http://gdal.org', 'text/xml', ?)", (_gdal_metadata(meta),)).lastrowid
        db.execute("INSERT INTO gpkg_metadata_reference (reference_scope, table_name, md_file_id) "
                   "VALUES ('table', 'stations', ?)", (md,))
        db.execute("COMMIT")
    finally:
        db.close()
    return counter[0]



def write_dump(fmt: str, records: Iterable[Mapping], path: str | Path, *, meta: DumpMeta) -> int:
    """Write a dump in ``fmt`` (:data:`FORMATS`) to ``path`` atomically: to a temporary file
    in the same folder, renamed over ``path`` only once complete (a reader sees the old file
    or the new one, never half of one; a failed write leaves nothing behind). Returns the
    number of stations written."""
    if fmt not in FORMATS:
        raise ValidationError.from_problems([Problem("format", fmt, "not a dump format", ", ".join(FORMATS))],
                                            what="dump")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if fmt == "gpkg":
            os.close(fd)
            os.unlink(tmp)  # sqlite creates the file itself
            n = write_gpkg(records, tmp, meta=meta)
        else:
            with open(fd, "wb", buffering=1 << 20) as out:
                n = write_geojson(records, out, meta=meta) if fmt == "geojson" else write_csv(records, out)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return n


class DumpFiles:
    """The dump files of the current revision, in ``folder``.

    :meth:`open` opens the file of a format for a snapshot, writing it first if it is not
    there yet (named by revision and :attr:`DumpMeta.fingerprint`, so a new revision or a new
    licence makes a new file); files of other revisions are then removed. Safe with several
    processes or threads: each writes its own temporary file and renames it into place, and
    a file is opened before anyone can remove it (POSIX keeps its bytes for the reader).
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def name(self, fmt: str, meta: DumpMeta) -> str:
        return f"stations-r{meta.revision}-{meta.fingerprint}.{fmt}"

    def open(self, fmt: str, snapshot: Snapshot, meta: DumpMeta) -> BinaryIO:
        """The dump of ``snapshot`` in ``fmt``, open for reading (the caller closes it)."""
        if snapshot.revision != meta.revision:
            raise ValueError(f"snapshot revision {snapshot.revision} != dump revision {meta.revision}")
        path = self.folder / self.name(fmt, meta)
        for _attempt in range(3):  # another process may remove it between writing and opening
            try:
                return open(path, "rb")
            except FileNotFoundError:
                write_dump(fmt, snapshot_records(snapshot), path, meta=meta)
                self._prune(fmt, keep=path.name)
        return open(path, "rb")

    def _prune(self, fmt: str, *, keep: str) -> None:
        """Remove finished dumps of ``fmt`` other than ``keep``."""
        for old in self.folder.glob(f"stations-r*.{fmt}"):
            if old.name != keep:
                with contextlib.suppress(FileNotFoundError):
                    old.unlink()
