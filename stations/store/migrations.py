"""Schema versions: which layout a store has, the checks on open, and the GeoPackage's steps.

Every store records its layout as a whole number, ``schema_version`` in its ``station_meta``
table; :data:`SCHEMA_VERSION` is the layout this code reads and writes.

Versions
--------
1
    Stores written before accounts and curation: ``stations``, ``station_history``,
    ``station_batches`` (without ``user``) and ``station_meta`` (the revision only).
2
    Version 1 plus the accounts and curation tables (``users``, ``api_tokens``,
    ``sessions``, ``station_reports``, ``station_checks``, ``rate_events``, ``app_secrets``),
    the ``user`` of each batch, and a column for every record field.
3
    Today's layout: version 2 plus ``uploads``, the staff's uploaded files waiting between
    their dry run and their confirmation (kept in the store, so that the confirmation may
    reach another service instance than the dry run). On PostGIS also the change counters
    (``station_meta`` keys ``changed:stations``, ``changed:station_reports`` and
    ``changed:station_checks``), each bumped by a statement-level trigger on its table, so
    that the store's change token moves on every commit readers must see (a report makes no
    revision).

A GeoPackage that records no version was written before versions were recorded: it is
version 2 when it has every table and column of version 2, and version 1 otherwise.

What opening a store does
-------------------------
Nothing is altered on open. A store whose version is newer than :data:`SCHEMA_VERSION`
is refused by every command (``serve``, ``import``, the readers, ``db upgrade``): this
code would misread it. A store whose version is older is refused as well, by serving, by
the readers and by ``stations import`` alike, with the command that upgrades it: an import
into an older store would either fail half-way through its bookkeeping or write a layout
no one has tested, and an upgrade that happens as a side effect of an import cannot be
backed up first. Only :func:`stations.store.open_store` with ``for_upgrade=True`` (what
``stations db version`` and ``stations db upgrade`` use) opens a store of any version, as
it is, for :meth:`~stations.store.StationStore.schema_version` and
:meth:`~stations.store.StationStore.upgrade`. A new store is created at
:data:`SCHEMA_VERSION`, with the version recorded.

Upgrading
---------
:meth:`~stations.store.StationStore.upgrade` applies the steps after the store's version in
order, each in one transaction that also records the version it reaches: a step that fails
leaves the store at the version before it, as it was. A store at the current version that
records no version gets the record, and no step. The checks below are plain functions, so
every backend words them the same way.

Adding a record field, a table or a column means: :data:`SCHEMA_VERSION` + 1, a new step
for each backend, and the new layout for new stores. A step is never changed once released.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from ..errors import StoreError
from ..records import FIELDS

#: The schema version this code reads and writes.
SCHEMA_VERSION = 3

#: The ``station_meta`` key that records a store's schema version.
META_KEY = "schema_version"


def check_not_newer(found: int, *, location: str) -> None:
    """Raise :class:`StoreError` if a store's schema version ``found`` is newer than this code's.

    ``location`` names the store in the message (a path or a database URL)."""
    if found > SCHEMA_VERSION:
        raise StoreError(f"store {location!r}: schema version {found} is newer than this stations understands "
                         f"({SCHEMA_VERSION}); upgrade stations")


def check_schema_version(found: int, *, location: str) -> None:
    """Raise :class:`StoreError` unless ``found`` is :data:`SCHEMA_VERSION`.

    A newer store: upgrade stations. An older one: back it up and run ``stations db upgrade``
    (the message gives the whole command)."""
    check_not_newer(found, location=location)
    if found < SCHEMA_VERSION:
        raise StoreError(f"store {location!r} has schema version {found}; this stations needs {SCHEMA_VERSION}: "
                         f"back it up, then run `stations --store {location} db upgrade`")


def parse_version(value: object, *, location: str) -> int:
    """The recorded ``schema_version`` as an int; a value that is not a positive whole number
    is a :class:`StoreError` naming it."""
    try:
        version = int(str(value).strip())
    except ValueError:
        version = 0
    if version < 1:
        raise StoreError(f"store {location!r} records schema version {value!r}, which is not a version "
                         f"(allowed: a whole number from 1; this stations writes {SCHEMA_VERSION})")
    return version


@dataclass(frozen=True)
class Step:
    """One numbered step: brings a store from ``version - 1`` to ``version``.

    ``run`` gets the backend's connection inside the step's transaction; ``description``
    says what it adds (``upgrade()`` returns ``"step N: description"``)."""

    version: int
    description: str
    run: Callable[..., None]


def steps_after(found: int, steps: Sequence[Step]) -> list[Step]:
    """The steps that bring a store at version ``found`` to :data:`SCHEMA_VERSION`, in order.

    Raises :class:`StoreError` if ``steps`` do not number every version from 2 to
    :data:`SCHEMA_VERSION` once, in order (a programming error, which the tests catch)."""
    numbers = [s.version for s in steps]
    if numbers != list(range(2, SCHEMA_VERSION + 1)):
        raise StoreError(f"the migration steps are numbered {numbers}; they must number 2 to {SCHEMA_VERSION}")
    return [s for s in steps if s.version > found]


# -- GeoPackage ------------------------------------------------------------------------------

#: The accounts and curation tables of version 2 (none is a GeoPackage layer, so GIS
#: programs do not list them). New stores are made with them; step 2 adds them.
GPKG_ACCOUNTS_SQL = """
CREATE TABLE IF NOT EXISTS users (
  user_id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL,
  areas TEXT NOT NULL DEFAULT '', password_hash TEXT, disabled INTEGER NOT NULL DEFAULT 0,
  created_at DATETIME NOT NULL, last_login_at DATETIME);
CREATE TABLE IF NOT EXISTS api_tokens (
  token_id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL REFERENCES users (user_id),
  token_sha256 TEXT NOT NULL UNIQUE, label TEXT, created_at DATETIME NOT NULL, last_used_at DATETIME,
  revoked_at DATETIME);
CREATE TABLE IF NOT EXISTS sessions (
  session_sha256 TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (user_id),
  created_at DATETIME NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS station_reports (
  report_id INTEGER PRIMARY KEY AUTOINCREMENT, station_id TEXT NOT NULL, kind TEXT NOT NULL, amenity TEXT, text TEXT,
  client_hash TEXT, created_at DATETIME NOT NULL, status TEXT NOT NULL DEFAULT 'open',
  resolved_at DATETIME, resolved_by TEXT, resolution_reason TEXT, batch_id INTEGER);
CREATE INDEX IF NOT EXISTS ix_reports_station ON station_reports (station_id, status);
CREATE TABLE IF NOT EXISTS station_checks (
  station_id TEXT NOT NULL, field_group TEXT NOT NULL, checked_at DATETIME NOT NULL, checked_by TEXT,
  via TEXT, batch_id INTEGER, PRIMARY KEY (station_id, field_group));
CREATE TABLE IF NOT EXISTS rate_events (bucket TEXT NOT NULL, client_hash TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS ix_rate_events ON rate_events (bucket, client_hash, at);
CREATE TABLE IF NOT EXISTS app_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL)
"""
#: Version 3: uploaded files waiting for their confirmation (``data``: the file's bytes,
#: ``created_at``: seconds since the epoch; removed when applied or a day old).
GPKG_UPLOADS_SQL = """
CREATE TABLE IF NOT EXISTS uploads (
  upload_id TEXT PRIMARY KEY, user_id INTEGER NOT NULL, filename TEXT NOT NULL, data BLOB NOT NULL,
  created_at REAL NOT NULL)
"""
GPKG_ACCOUNTS_TABLES = ("users", "api_tokens", "sessions", "station_reports", "station_checks", "rate_events",
                        "app_secrets")
#: SQLite column type of each record-field kind.
GPKG_SQL_TYPE = {"str": "TEXT", "float": "REAL", "date": "DATE", "amenity": "TEXT"}


def _statements(sql: str) -> Iterable[str]:
    return (s for s in sql.split(";\n") if s.strip())


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


def gpkg_schema_version(db: sqlite3.Connection, *, location: str) -> int:
    """The schema version of the GeoPackage store on ``db``: the recorded one, else the one its
    tables and columns show (2 if it has every table and column of version 2, else 1)."""
    row = db.execute("SELECT value FROM station_meta WHERE key = ?", (META_KEY,)).fetchone()
    if row is not None:
        return parse_version(row[0], location=location)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    complete = (set(GPKG_ACCOUNTS_TABLES) <= tables and "user" in _columns(db, "station_batches")
                and {f.name for f in FIELDS} <= _columns(db, "stations"))
    return 2 if complete else 1


def _gpkg_to_2(db: sqlite3.Connection) -> None:
    # A column for every record field: stores written before a field existed (the forward
    # migration that older code ran on every open). New fields come with steps of their own.
    have = _columns(db, "stations")
    for f in FIELDS:
        if f.name not in have:
            db.execute(f"ALTER TABLE stations ADD COLUMN {f.name} {GPKG_SQL_TYPE[f.kind]}")
    if "user" not in _columns(db, "station_batches"):
        db.execute("ALTER TABLE station_batches ADD COLUMN user TEXT")
    for stmt in _statements(GPKG_ACCOUNTS_SQL):
        db.execute(stmt)


def _gpkg_to_3(db: sqlite3.Connection) -> None:
    for stmt in _statements(GPKG_UPLOADS_SQL):
        db.execute(stmt)


_UPLOADS_STEP = "uploads table (uploaded files waiting for their confirmation, shared by every instance)"

#: The GeoPackage's numbered steps, in order.
GPKG_STEPS: tuple[Step, ...] = (
    Step(2, "accounts and curation tables (users, api_tokens, sessions, station_reports, station_checks, "
            "rate_events, app_secrets), the user of each batch, a column for every record field", _gpkg_to_2),
    Step(3, _UPLOADS_STEP, _gpkg_to_3),
)


# -- PostGIS ---------------------------------------------------------------------------------

#: Tables whose commits readers must see (the snapshot, the curation overlay): each has a
#: counter in ``station_meta`` (``changed:<table>``) that a statement-level trigger bumps.
#: One row per table, so that a report does not wait for an import's commit.
PG_WATCHED_TABLES = ("stations", "station_reports", "station_checks")

#: Version 3 on PostGIS: ``uploads`` and the change counters with their triggers.
PG_STEP_3_SQL = """
CREATE TABLE IF NOT EXISTS uploads (
  upload_id text PRIMARY KEY, user_id bigint NOT NULL, filename text NOT NULL, data bytea NOT NULL,
  created_at double precision NOT NULL);
INSERT INTO station_meta (key, value) VALUES {counters} ON CONFLICT (key) DO NOTHING;
CREATE OR REPLACE FUNCTION station_meta_bump_changed() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN UPDATE station_meta SET value = (value::bigint + 1)::text WHERE key = 'changed:' || TG_TABLE_NAME;
  RETURN NULL; END $$;
{triggers}
""".format(
    counters=", ".join(f"('changed:{t}', '0')" for t in PG_WATCHED_TABLES),
    triggers=";\n".join(f"CREATE OR REPLACE TRIGGER {t}_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {t} "
                        "FOR EACH STATEMENT EXECUTE FUNCTION station_meta_bump_changed()" for t in PG_WATCHED_TABLES))


def pg_statements(sql: str) -> list[str]:
    """The statements of a PostGIS step: separated by ``;`` at a line's end when the next line
    is not indented (a function's body is)."""
    return [s for s in re.split(r";\n(?=\S)", sql) if s.strip()]


def _pg_to_3(conn) -> None:
    for stmt in pg_statements(PG_STEP_3_SQL):
        conn.execute(stmt)


#: The PostGIS store's numbered steps: version 2 is its first layout, so step 2 has nothing to do.
PG_STEPS: tuple[Step, ...] = (
    Step(2, "the first PostGIS layout (nothing to add)", lambda conn: None),
    Step(3, _UPLOADS_STEP + "; change counters bumped by triggers on stations, station_reports, station_checks",
         _pg_to_3),
)
