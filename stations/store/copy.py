"""Moving a whole store to another location: GeoPackage to PostGIS and back (``stations migrate``).

What moves, row for row with its ids: the stations (every record field, ``flags`` and
``updated_at``), the append-only history (ids, times, batches, the changes as written),
the batches (user, source, SHA-256, summary), the revision, the users (password hashes),
the API tokens (hashes), the workers' reports, the check dates and the app secrets (so
the salted client hashes of the reports stay comparable). Sessions, rate-limit events and
uploads waiting for confirmation do not move: they are short-lived (users sign in again on
the new store; rate windows start afresh; an upload is sent again).

The target must be new: a ``.gpkg`` path that does not exist yet, or a PostGIS database
without stations tables or with only the empty tables of a new store. Everything is
written in one transaction on the target: a GeoPackage is written to a temporary file
beside the target and renamed into place at the end, a PostGIS database gets its tables
and rows in one transaction. A failure (a full disk, the server gone, Ctrl-C) leaves the
target absent, or as it was. The source is read in one read transaction (a consistent
snapshot), in chunks of ``chunk_rows`` rows, so memory does not grow with the store.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence
from urllib.parse import urlsplit

import psycopg

from ..errors import StoreError
from ..records import FIELD_NAMES
from .base import StationStore
from .gpkg import GeoPackageStore
from .migrations import SCHEMA_VERSION, check_schema_version, parse_version
from .postgis import PostGISStore, create_schema, public_location

#: Tables that move, in the order they are written (users before the tokens that name them),
#: each with its columns (the same in both backends) and the column that orders it.
_STATION_COLS = (*FIELD_NAMES, "flags", "updated_at")
TABLES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("station_batches", ("batch_id", "at", "command", "source", "source_sha256", "reason", "summary", "user"),
     "batch_id"),
    ("stations", _STATION_COLS, "fid"),
    ("station_history", ("history_id", "station_id", "at", "action", "changes", "batch_id", "reason"), "history_id"),
    ("users", ("user_id", "name", "role", "areas", "password_hash", "disabled", "created_at", "last_login_at"),
     "user_id"),
    ("api_tokens", ("token_id", "user_id", "token_sha256", "label", "created_at", "last_used_at", "revoked_at"),
     "token_id"),
    ("station_reports", ("report_id", "station_id", "kind", "amenity", "text", "client_hash", "created_at", "status",
                         "resolved_at", "resolved_by", "resolution_reason", "batch_id"), "report_id"),
    ("station_checks", ("station_id", "field_group", "checked_at", "checked_by", "via", "batch_id"),
     "station_id, field_group"),
    ("app_secrets", ("name", "value"), "name"),
)
#: Tables that do not move (short-lived): sessions, rate-limit events and uploads waiting
#: for their confirmation.
NOT_MOVED = ("sessions", "rate_events", "uploads")
#: Identity columns whose next value follows the copied rows (PostGIS).
_IDENTITY = {"station_batches": "batch_id", "stations": "fid", "station_history": "history_id", "users": "user_id",
             "api_tokens": "token_id", "station_reports": "report_id"}
# Columns read as their JSON text from PostgreSQL (json keeps it as written; jsonb re-spaces it).
_PG_AS_TEXT = {"flags", "changes"}


@dataclass
class CopyResult:
    """What :func:`copy_store` wrote: rows per table, the revision, and the target's location
    (a PostGIS URL without its password)."""

    target: str
    kind: str
    revision: int
    rows: dict[str, int] = field(default_factory=dict)
    not_moved: tuple[str, ...] = NOT_MOVED


def _quote(col: str) -> str:
    return '"user"' if col == "user" else col


def target_kind(location: str | Path) -> str:
    """``"postgis"`` or ``"geopackage"`` for a target location; :class:`StoreError` naming an
    unknown scheme, or a path that is not a ``.gpkg`` file."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        return "postgis"
    if "://" in text:
        raise StoreError(f"target {text.split('://', 1)[0] + '://...'!r} has an unknown scheme; allowed: a new .gpkg "
                         "path, or postgresql://user@host:port/db")
    if Path(text).suffix.lower() != ".gpkg":
        raise StoreError(f"target {text!r} is not a .gpkg path or a postgresql:// URL; allowed: a new .gpkg path "
                         "(stations.gpkg), or postgresql://user@host:port/db")
    return "geopackage"


def _same_database(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    host = {"localhost": "127.0.0.1"}
    return (host.get(pa.hostname or "", pa.hostname), pa.port or 5432, pa.path) == \
        (host.get(pb.hostname or "", pb.hostname), pb.port or 5432, pb.path)


# -- reading the source -------------------------------------------------------------------------

class _Reader:
    """Chunks of rows of the source, all from one read transaction (one snapshot)."""

    def __init__(self, source: StationStore, chunk_rows: int):
        if not isinstance(source, (GeoPackageStore, PostGISStore)):
            raise StoreError(f"cannot copy from a {type(source).__name__}; allowed: a GeoPackage or PostGIS store")
        self.source, self.chunk_rows = source, max(1, int(chunk_rows))
        self.postgis = isinstance(source, PostGISStore)

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[_Reader]:
        with self.source.read_snapshot() as snap:
            self._snap = snap
            yield self

    def scalar(self, sql: str) -> Any:
        return self._snap.scalar(sql)

    def chunks(self, table: str, cols: Sequence[str], order: str) -> Iterator[list[tuple]]:
        select = ", ".join(f"{c}::text" if self.postgis and c in _PG_AS_TEXT else _quote(c) for c in cols)
        yield from self._snap.chunks(f"SELECT {select} FROM {table} ORDER BY {order}", chunk_rows=self.chunk_rows)

    def revision_batches(self) -> list[int]:
        """Batch ids of revisions 1, 2, ...: the batches that changed something, in order."""
        if self.postgis:
            sql = "SELECT batch_id FROM station_batches WHERE revision IS NOT NULL ORDER BY revision"
        else:
            sql = "SELECT DISTINCT batch_id FROM station_history ORDER BY batch_id"
        return [b for chunk in self._snap.chunks(sql) for (b,) in chunk]


# -- writing the target -------------------------------------------------------------------------

class _GpkgTarget:
    """A new GeoPackage written to a temporary file beside ``path`` in one transaction, then
    linked into place (never over a file that appeared meanwhile)."""

    kind = "geopackage"

    def __init__(self, path: Path):
        self.path = path
        self.location = str(path)
        if path.exists():
            raise StoreError(f"target {str(path)!r} already exists; migrate writes a new store: choose a new .gpkg "
                             "path, or move that file away")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        os.close(fd)
        os.unlink(tmp)
        self.tmp = Path(tmp)
        try:
            self.store = GeoPackageStore(self.tmp)
            self._tx = self.store.transaction()
            self.db = self._tx.__enter__()
        except BaseException:
            with contextlib.suppress(Exception):
                self.store.close()
            self.tmp.unlink(missing_ok=True)
            raise

    def write(self, table: str, cols: Sequence[str], rows: list[tuple], revisions: dict[int, int]) -> None:
        if table == "stations":
            self.store.insert_station_rows(cols, rows)  # geometry from lat/lon; the R-tree filled per chunk
            return
        sql = f"INSERT INTO {table} ({', '.join(map(_quote, cols))}) VALUES ({', '.join('?' * len(cols))})"
        self.db.executemany(sql, rows)

    def finish(self, revision: int) -> None:
        self.db.execute("UPDATE station_meta SET value = ? WHERE key = 'revision'", (str(revision),))
        self.store.update_extent()
        self._tx.__exit__(None, None, None)  # COMMIT
        self.store.close()
        try:
            os.link(self.tmp, self.path)  # fails if the target appeared meanwhile: nothing is overwritten
        except FileExistsError:
            raise StoreError(f"target {str(self.path)!r} appeared while migrating; nothing was written to it") from None
        finally:
            self.tmp.unlink(missing_ok=True)

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._tx.__exit__(StoreError, StoreError("aborted"), None)  # ROLLBACK
        with contextlib.suppress(Exception):
            self.store.close()
        self.tmp.unlink(missing_ok=True)
        Path(str(self.tmp) + "-journal").unlink(missing_ok=True)


class _PGTarget:
    """A PostGIS database filled in one transaction: its tables made (unless it has the empty
    tables of a new store), every row written with COPY, the identities moved past the rows."""

    kind = "postgis"

    def __init__(self, url: str):
        self.url, self.location = url, public_location(url)
        why = None
        try:
            self.conn = psycopg.connect(psycopg.conninfo.make_conninfo(url, connect_timeout=10), autocommit=True)
        except psycopg.Error as exc:
            why = str(exc).strip().splitlines()[0].replace(url, self.location) if str(exc).strip() else type(exc).__name__
        if why is not None:
            raise StoreError(f"target {self.location!r} cannot be reached: {why}; check the server is running and the "
                             "URL (user, host, port, database)")
        try:
            self.conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except psycopg.Error as exc:
            self.conn.close()
            raise StoreError(f"target {self.location!r}: the PostGIS extension cannot be created ({exc}); install "
                             "postgresql-15-postgis-3 on the server or have a superuser run CREATE EXTENSION "
                             "postgis") from None
        self._tx = self.conn.transaction()
        self._tx.__enter__()
        try:
            if not create_schema(self.conn):
                self._check_empty()
        except BaseException:
            self.abort()
            raise

    def _check_empty(self) -> None:
        row = self.conn.execute("SELECT value FROM station_meta WHERE key = 'schema_version'").fetchone()
        check_schema_version(parse_version(row[0], location=self.location) if row else SCHEMA_VERSION,
                             location=self.location)
        held = []
        for table, _cols, _order in TABLES:
            n = self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            if n:
                held.append(f"{table}: {n}")
        if held:
            raise StoreError(f"target {self.location!r} is not empty (it holds {', '.join(held)}); migrate writes "
                             "into a new store only: choose an empty database (createdb)")

    def write(self, table: str, cols: Sequence[str], rows: list[tuple], revisions: dict[int, int]) -> None:
        if table == "station_batches":  # the revision each batch made, as PostGIS keeps it
            cols = (*cols, "revision")
            rows = [(*r, revisions.get(r[0])) for r in rows]
        with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(map(_quote, cols))}) FROM STDIN") as cp:
            for row in rows:
                cp.write_row(row)

    def finish(self, revision: int) -> None:
        self.conn.execute("UPDATE station_meta SET value = %s WHERE key = 'revision'", (str(revision),))
        for table, col in _IDENTITY.items():
            self.conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{col}'), "
                              f"coalesce((SELECT max({col}) FROM {table}), 0) + 1, false)")
        self._tx.__exit__(None, None, None)
        self.conn.close()

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._tx.__exit__(StoreError, StoreError("aborted"), None)
        with contextlib.suppress(Exception):
            self.conn.close()


# -- the copy -----------------------------------------------------------------------------------

def copy_store(source: StationStore, target: str | Path, *, chunk_rows: int = 5000,
               progress: Callable[[str, int], None] | None = None) -> CopyResult:
    """Copy everything of ``source`` (an open store) into a new store at ``target``.

    ``target`` is a ``.gpkg`` path that does not exist, or a ``postgresql://`` URL of a
    database without stations tables (or with the empty tables of a new store). Every row
    keeps its id; sessions and rate-limit events are not copied (:data:`NOT_MOVED`).
    ``progress(table, rows)`` is called after each chunk with the rows just written.

    Raises :class:`StoreError` (nothing written; the target absent or as it was) for a
    target that exists or holds anything, is the source itself, has an unknown scheme or
    cannot be reached. The source must be at :data:`SCHEMA_VERSION` (open it with
    :func:`stations.store.open_store`, which refuses an older one with the upgrade command).
    """
    kind = target_kind(target)
    text = str(target)
    if kind == "geopackage" and isinstance(source, GeoPackageStore) and Path(text).exists() \
            and os.path.samefile(text, source.path):
        raise StoreError(f"target {text!r} is the source store itself; migrate copies into a new store")
    if kind == "postgis" and isinstance(source, PostGISStore) and _same_database(text, source.url):
        raise StoreError(f"target {public_location(text)!r} is the source store itself; migrate copies into "
                         "another database")
    check_schema_version(source.schema_version(), location=getattr(source, "location", None) or str(source.path))
    out = _PGTarget(text) if kind == "postgis" else _GpkgTarget(Path(text))
    try:
        reader = _Reader(source, chunk_rows)
        with reader.snapshot():
            revision = int(reader.scalar("SELECT value FROM station_meta WHERE key = 'revision'"))
            revisions = {b: r for r, b in enumerate(reader.revision_batches(), start=1)}
            rows: dict[str, int] = {}
            for table, cols, order in TABLES:
                rows[table] = 0
                for chunk in reader.chunks(table, cols, order):
                    out.write(table, cols, chunk, revisions)
                    rows[table] += len(chunk)
                    if progress is not None:
                        progress(table, len(chunk))
        out.finish(revision)
    except BaseException:
        out.abort()
        raise
    return CopyResult(target=out.location, kind=out.kind, revision=revision, rows=rows)
