"""The storage interface every backend implements."""

from __future__ import annotations

import abc
import json
from dataclasses import dataclass, field
from typing import Any, ContextManager, Iterable, Iterator, Mapping, Sequence

import pandas as pd

from ..errors import Problem, StoreError, ValidationError


@dataclass(frozen=True)
class Change:
    """One change to apply: ``action`` is ``"add"``, ``"update"`` or ``"remove"``.

    ``record`` is the full new record (for remove, the record with its new status);
    ``changed`` maps each changed field to ``[old, new]`` (empty for add).
    """

    action: str
    record: Mapping[str, Any]
    changed: Mapping[str, list] = field(default_factory=dict)
    flags: tuple[str, ...] = ()


class StoreBusy(StoreError):
    """The store is locked by a writer for longer than a reader waits: try again later."""


class StoreReadOnly(StoreError):
    """The store refused a write: the database role ``role`` may only read (an instance that
    serves reads only), or the server is a read-only standby."""

    def __init__(self, message: str, *, role: str = ""):
        super().__init__(message)
        self.role = role


@dataclass(frozen=True)
class BatchResult:
    batch_id: int
    revision: int
    applied: int


@dataclass(frozen=True)
class HistoryEntry:
    """One change from the history, with the station as it was right after it.

    ``revision`` is the store revision the change belongs to (every change of one batch
    shares it); ``changed`` names the fields it changed (empty for ``add``, which records
    the whole station); ``record`` holds every record field (no ``flags``).
    """

    history_id: int
    revision: int
    at: str
    station_id: str
    action: str
    changed: tuple[str, ...]
    record: Mapping[str, Any] | None


@dataclass(frozen=True)
class HistoryPage:
    """A page of :meth:`StationStore.changes_since`: ``revision`` is the store's when read;
    ``more`` says entries follow the last one (ask again with ``after`` its ``history_id``)."""

    revision: int
    entries: tuple[HistoryEntry, ...]
    more: bool


class SnapshotReader(abc.ABC):
    """Reads from one consistent snapshot of a store, as :meth:`StationStore.read_snapshot`
    yields it: qmark SQL (``?``), rows as tuples. Every read sees the same committed data,
    however long the reader takes; writers wait (GeoPackage) or are not seen (PostGIS)."""

    @abc.abstractmethod
    def scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        """The first column of the first row of ``sql``."""

    @abc.abstractmethod
    def chunks(self, sql: str, params: Iterable[Any] = (), *, chunk_rows: int = 5000) -> Iterator[list[tuple]]:
        """The rows of ``sql`` in lists of at most ``chunk_rows``, read as they are consumed
        (the whole result is never held at once)."""


def _json_value(value: Any) -> dict:
    """A JSON object column as a dict: JSON text is decoded, a decoded value kept, NULL or
    empty text is ``{}``."""
    if isinstance(value, str):
        return json.loads(value) if value else {}
    return value or {}


def states_after(record: Mapping[str, Any], later: Iterable[tuple[int, str, Mapping[str, list] | None]],
                 wanted: set[int]) -> dict[int, dict]:
    """The station as it was right after each history entry in ``wanted``.

    ``record`` is the station now; ``later`` its history entries ``(history_id, action,
    changes)``, newest first, back to (at least) the oldest wanted one. Walking back, each
    entry's ``{field: [old, new]}`` is undone; an ``add`` is where the station began. Fields
    that are no longer record fields (an old store's ``source``) are skipped."""
    rec = dict(record)
    out: dict[int, dict] = {}
    for history_id, action, changes in later:
        if history_id in wanted:
            out[history_id] = dict(rec)
        if action == "add":
            break
        for name, (old, _new) in (changes or {}).items():
            if name in rec:
                rec[name] = old
    return out


def check_revision(revision: Any, current: int) -> None:
    """Raise :class:`~stations.errors.ValidationError` unless ``revision`` is a revision of a
    store whose revision is ``current`` (a whole number from 0 to ``current``)."""
    if not isinstance(revision, int) or isinstance(revision, bool) or not 0 <= revision <= current:
        raise ValidationError.from_problems(
            [Problem("revision", revision, "not a revision of this store", f"0 to {current}")], what="query")


#: The ids of the stations with a history entry from ``history_id`` ``?`` on (each once).
CHANGED_IDS_SQL = "SELECT DISTINCT station_id FROM station_history WHERE history_id >= ?"


def changed_rows_sql(columns: Sequence[str], *, order_by: str = "station_id") -> str:
    """The current rows (``columns`` of ``stations``) of the stations with a history entry from
    ``history_id`` ``?`` on, in the order of a whole read (``order_by``): qmark SQL both
    backends run (PostGIS after :func:`~stations.store.postgis.qmark_to_pyformat`)."""
    return (f"SELECT {', '.join(columns)} FROM stations WHERE station_id IN "
            f"(SELECT station_id FROM station_history WHERE history_id >= ?) ORDER BY {order_by}")


class StationStore(abc.ABC):
    """A transactional station store with an append-only change history.

    Reads of a store that cannot be read (deleted, corrupted) raise :class:`StoreError`
    naming the store; a read that waited too long for a writer's lock raises
    :class:`StoreBusy`."""

    #: What kind of store this is (``"geopackage"``), for health reports.
    kind: str = ""

    @abc.abstractmethod
    def frame(self, *, statuses: Iterable[str] | None = None) -> pd.DataFrame:
        """All records as a DataFrame (columns: record fields + ``flags``), ordered by id."""

    @abc.abstractmethod
    def get(self, station_id: str) -> dict | None:
        """One record with its ``flags``, or None."""

    @abc.abstractmethod
    def apply(self, changes: list[Change], *, command: str, source: str = "", reason: str = "",
              summary: Mapping[str, Any] | None = None, user: str = "") -> BatchResult:
        """Apply all ``changes`` in one transaction, with history rows; all or nothing.

        ``user`` names who made the batch (kept in the batch; empty for the command line)."""

    @abc.abstractmethod
    def read_snapshot(self) -> ContextManager[SnapshotReader]:
        """A :class:`SnapshotReader` on one read transaction, ended when the block ends (for
        copying a whole store, :mod:`stations.store.copy`)."""

    @abc.abstractmethod
    def query(self, sql: str, params: Iterable[Any] = ()) -> list[dict]:
        """Rows of a read-only SQL query, as dicts keyed by column name.

        ``sql`` uses qmark placeholders (``?``) on every backend; write portable SQL (quote
        ``"user"``, a reserved word on PostgreSQL)."""

    def history(self, station_id: str | None = None, *, limit: int = 100, user: str | None = None) -> list[dict]:
        """History entries, newest first, at most ``limit``: of one station if ``station_id``
        is given, of the batches ``user`` made if it is given.

        Each entry: ``history_id``, ``station_id``, ``at``, ``action``, ``changes`` (``{field:
        [old, new]}``; for ``add`` the name and position), ``batch_id``, ``reason``, and the
        batch's ``command``, ``source`` and ``user``."""
        sql = ('SELECT h.history_id, h.station_id, h.at, h.action, h.changes, h.batch_id, h.reason, '
               'b.command, b.source, b."user" FROM station_history h JOIN station_batches b USING (batch_id)')
        where, params = [], []
        if station_id is not None:
            where.append("h.station_id = ?")
            params.append(station_id)
        if user is not None:
            where.append('b."user" = ?')
            params.append(user)
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self.query(sql + " ORDER BY h.history_id DESC LIMIT ?", [*params, int(limit)])
        for entry in rows:  # JSON text in a GeoPackage, already decoded from PostgreSQL's json
            entry["changes"] = _json_value(entry["changes"])
        return rows

    def record_as_of(self, station_id: str, batch_id: int) -> dict | None:
        """The station as it was right after ``batch_id`` (None if it did not exist yet)."""
        rec = self.get(station_id)
        if rec is None:
            return None
        for entry in self.history(station_id, limit=10**9):  # newest first
            if entry["batch_id"] <= batch_id:
                return rec
            if entry["action"] == "add":
                return None
            for name, (old, _new) in entry["changes"].items():
                if name in rec:  # an old store's history may hold fields that are gone (source)
                    rec[name] = old
        return rec

    def batches(self, *, limit: int = 50, user: str | None = None) -> list[dict]:
        """Import/command batches, newest first, at most ``limit`` (those ``user`` made, if
        given). Each: ``batch_id``, ``at``, ``command``, ``source``, ``source_sha256``,
        ``reason``, ``summary`` (a dict) and ``user``."""
        where, params = ('WHERE "user" = ? ', [user]) if user is not None else ("", [])
        rows = self.query('SELECT batch_id, at, command, source, source_sha256, reason, summary, "user" '
                          f"FROM station_batches {where}ORDER BY batch_id DESC LIMIT ?", [*params, int(limit)])
        for entry in rows:
            entry["summary"] = _json_value(entry["summary"])
        return rows

    @abc.abstractmethod
    def revision(self) -> int:
        """A number that grows with every committed batch (for cache freshness)."""

    def change_token(self) -> Any:
        """A value that changes whenever anything is committed, as cheap to read as the backend
        allows: the service polls it twice a second and reads :meth:`revision` only when it
        changed. Default: the revision itself."""
        return self.revision()

    def replaced(self) -> bool:
        """Whether the location now names another store than the one opened here (a backup
        restored over it, or nothing): the caller should open it again. Default: never."""
        return False

    def consistent_frame(self) -> tuple[int, pd.DataFrame]:
        """(revision, frame) read together, so the frame is exactly that revision's data.

        Backends override this to read both in one transaction."""
        return self.revision(), self.frame()

    @abc.abstractmethod
    def changed_frame(self, revision: int, *, max_stations: int | None = None
                      ) -> tuple[int, tuple[str, ...], pd.DataFrame | None]:
        """What changed after ``revision``, read in one transaction: ``(current revision, ids,
        frame)``.

        ``ids`` are the station ids touched by every batch after ``revision`` (each once, in no
        particular order); ``frame`` holds the current rows of those still stored, with the
        columns, dtypes and order of :meth:`frame` (a station in ``ids`` but not in ``frame``
        is no longer stored). ``frame`` is None when more than ``max_stations`` stations
        changed (then the caller reads the whole store instead). Raises
        :class:`~stations.errors.ValidationError` when ``revision`` is negative or newer than
        the store's.
        """

    @abc.abstractmethod
    def changes_since(self, revision: int, *, after: int = 0, limit: int = 1000) -> HistoryPage:
        """The changes of every revision after ``revision``, in commit order, at most ``limit``.

        ``after`` is the ``history_id`` of the last entry already read (paging). Each entry
        carries the whole station as it was right after the change, so applying the entries
        in order to a copy of the data at ``revision`` gives the data now. Raises
        :class:`~stations.errors.ValidationError` when ``revision`` is negative or newer than
        the store's.
        """

    @abc.abstractmethod
    def revision_at(self, revision: int) -> str | None:
        """When ``revision`` was committed (ISO 8601, UTC); None for revision 0."""

    @abc.abstractmethod
    def count(self) -> int:
        """Number of stored records."""

    @abc.abstractmethod
    def schema_version(self) -> int:
        """The store's schema version as recorded in the store (see
        :mod:`stations.store.migrations`); a store written before versions were recorded is
        recognised by its tables."""

    @abc.abstractmethod
    def upgrade(self) -> list[str]:
        """Bring the store to :data:`~stations.store.migrations.SCHEMA_VERSION`, one numbered
        step at a time, each in one transaction (a step that fails leaves the store at the
        version before it). Returns the steps applied, as ``"step N: what it adds"``, empty when
        the store was current. A store newer than this code raises :class:`StoreError`."""

    def close(self) -> None:  # pragma: no cover - trivial
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
