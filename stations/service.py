"""The live view of a store that queries run against: records plus a nearest index.

:class:`StationService` serves an immutable :class:`Snapshot`. Readers only read the current
one (:meth:`StationService.snapshot` is one attribute read): they never wait for a build and
never touch the store. One refresher thread per service — so one per gunicorn worker process,
as each worker builds its own service after the fork — checks the store every ``refresh_s``
seconds:

- if the path now names another file (``mv backup.gpkg stations.gpkg``) or none, it opens the
  path again (never creating a store);
- if the store's change token moved (for a GeoPackage, four bytes of the file header: about a
  microsecond) and then its revision, or if the file was replaced, it reads the records in one
  transaction, builds the new snapshot beside the old one, warms it up and swaps it in with
  one assignment. The processes serving one GeoPackage take turns to build (a file lock), so
  that while one builds the others answer at full speed. On a PostGIS database each process
  builds as soon as it sees the change (see :func:`_build_turn`).
- what it reads: when the same file moved on from the snapshot's revision and few stations
  changed (:func:`changes_limit`: 10 %, at least 1,000), only those, in one transaction
  (:meth:`~stations.store.StationStore.changed_frame`), merged into the served frame
  (:func:`merge_changes`), which gives the frame a whole read would; the snapshot's ``build``
  says ``"changes"``. Otherwise (the first load, another file, a restore to an older
  revision, a big import, a build that failed, or a merge that does not fit) the whole store
  (``"full"``). At 200,000 stations a staff edit is swapped in 0.35-0.6 s after the check that
  sees it, instead of 4.5-8 s (benchmarks/bench_refresh.py, quiet and loaded machine): with the
  default ``refresh_s`` of 0.25 s, within 1 s of its commit.

Several service instances on one PostGIS database each hold their own snapshot and poll the
store's change token (one primary-key read of ``station_meta`` per ``refresh_s``): a write
through any of them, or a CLI import, is served by every instance within ``refresh_s`` plus a
build. Polling rather than LISTEN/NOTIFY: the poll is one cheap query four times a second per
process, needs no connection held open per process (nor anything re-subscribed after a
database restart or lost across a connection pooler), and is the same loop as for a file.

A query holds on to the snapshot it started with, so it never sees half an update, and no
restart is needed to see new data. When the store cannot be read (deleted, corrupted), the
last good snapshot keeps answering and :meth:`StationService.health` names the problem.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import fcntl
import gc
import hashlib
import logging
import os
import sys
import tempfile
import threading
import time
import weakref
from bisect import bisect_left
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Iterator, Mapping

import numpy as np
import pandas as pd

from .accounts.overlay import CurationKeeper, CurationOverlay
from .config import Settings
from .amenities import AMENITY_CODES, AMENITY_VALUES
from .records import ACCESS_VALUES, ENTRY_VALUES, PRECISIONS, RAW_CRS_VALUES, STATUS_VALUES
from .index import DEFAULT_MAX_K, StationIndex
from .errors import StoreError, ValidationError
from .store import StationStore, StoreBusy, is_database_url, open_store

# Enumerated fields, kept as categoricals of their whole vocabulary (one byte a station instead
# of a pointer to a string; ``fillna`` with any allowed value still works).
VOCABULARIES: dict[str, tuple[str, ...]] = {
    **{f"amenity_{code}": AMENITY_VALUES for code in AMENITY_CODES},
    "status": STATUS_VALUES, "access": ACCESS_VALUES, "entry": ENTRY_VALUES,
    "geocode_precision": PRECISIONS, "raw_crs": RAW_CRS_VALUES,
}
# What the nearest index reads of the frame (StationIndex.from_frame).
_INDEXED = ("station_id", "lat", "lon", "geocode_precision", "opening_hours", "timezone", "access", "status",
            *(f"amenity_{code}" for code in AMENITY_CODES))

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """One consistent state of the store, read-only: its stations, their nearest index, and
    what queries derive from them (``cache``).

    ``frame`` is the one copy of the records (:func:`build_snapshot` stores the enumerated
    fields as categoricals); :meth:`record` reads a row of it.
    """

    revision: int
    frame: pd.DataFrame  # every station, indexed 0..n-1
    located: np.ndarray  # positions in ``frame`` of stations with a position, in index order
    index: Any  # stations.index.StationIndex over ``frame.iloc[located]``
    by_id: Mapping[str, int]  # station_id -> position in ``frame``
    built_s: float = 0.0  # seconds the build took
    built_at_s: float = 0.0  # when it was built, seconds since the epoch
    build: str = "full"  # "full": from a whole read of the store; "changes": the previous snapshot's frame
    #                      with the stations changed since merged in (merge_changes)
    cache: dict = field(default_factory=dict)  # per-snapshot memo of derived views (see lookup)
    _columns: tuple = field(init=False, repr=False, compare=False, default=())
    _by_name: dict = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        # (name, values, categories or None, numeric): views of the frame's arrays, for record().
        columns = []
        for name in self.frame.columns:
            col = self.frame[name]
            if isinstance(col.dtype, pd.CategoricalDtype):
                columns.append((name, col.array.codes, list(col.array.categories), False))
            else:
                columns.append((name, col.to_numpy(), None, col.dtype.kind in "biuf"))
        object.__setattr__(self, "_columns", tuple(columns))
        object.__setattr__(self, "_by_name", {c[0]: c for c in columns})

    def record(self, pos: int, fields: Iterable[str] | None = None) -> dict:
        """One station as a record dict of Python values (missing ones as None): a few
        microseconds. ``fields``: only these (names of the frame's columns)."""
        rec = {}
        for name, values, categories, numeric in (self._columns if fields is None else
                                                  [self._by_name[f] for f in fields]):
            v = values[pos]
            if categories is not None:
                v = categories[v] if v >= 0 else None
            elif numeric:
                v = v.item()
            if v is pd.NA or (v.__class__ is float and v != v):
                v = None
            rec[name] = v
        return rec


class StationPositions(Mapping):
    """``station_id`` -> position in a frame, by binary search over the ids in sorted order:
    no dict entry and no integer object per station. A repeated id maps to its first row."""

    def __init__(self, ids: Any):
        ids = np.asarray(ids, dtype=object)
        self._ids = ids
        if len(ids) > 1 and not bool(np.all(ids[:-1] <= ids[1:])):
            self._order: np.ndarray | None = np.argsort(ids, kind="stable")
            self._sorted = ids[self._order]
        else:
            self._order, self._sorted = None, ids

    def __getitem__(self, station_id: str) -> int:
        try:
            i = bisect_left(self._sorted, station_id)
        except TypeError:  # not comparable with the ids (not a string)
            raise KeyError(station_id) from None
        if i == len(self._sorted) or self._sorted[i] != station_id:
            raise KeyError(station_id)
        return int(i if self._order is None else self._order[i])

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


def build_snapshot(frame: pd.DataFrame, revision: int = 0, *, max_k: int = DEFAULT_MAX_K) -> Snapshot:
    """A snapshot of ``frame`` (a store frame) with its nearest index, which answers ``k`` up
    to ``max_k`` (the setting of that name).

    The snapshot keeps one copy of the records: ``frame`` with the fields of
    :data:`VOCABULARIES` as categoricals (a column with a value outside its vocabulary is
    left as it is). Station ids must be strings.
    """
    start = time.perf_counter()
    frame = frame.reset_index(drop=True)
    for name, vocabulary in VOCABULARIES.items():
        if name in frame.columns and not isinstance(frame[name].dtype, pd.CategoricalDtype):
            if frame[name].dropna().isin(vocabulary).all():
                frame[name] = pd.Categorical(frame[name], categories=vocabulary)
    if "flags" in frame.columns:  # one shared empty tuple instead of an empty list per station
        frame["flags"] = [f if f.__class__ is tuple else tuple(f) if isinstance(f, (list, tuple)) else ()
                          for f in frame["flags"]]
    located = np.flatnonzero(frame["lat"].notna().to_numpy() & frame["lon"].notna().to_numpy())
    indexed = frame[[name for name in _INDEXED if name in frame.columns]]
    if len(located) < len(frame):
        indexed = indexed.iloc[located].reset_index(drop=True)
    index = StationIndex.from_frame(indexed, max_k=max_k)
    snapshot = Snapshot(revision=revision, frame=frame, located=located, index=index,
                        by_id=StationPositions(frame["station_id"].to_numpy()), built_s=time.perf_counter() - start,
                        built_at_s=time.time())
    _release_free_memory()
    return snapshot


def merge_changes(frame: pd.DataFrame, changed_ids: Iterable[str], rows: pd.DataFrame) -> pd.DataFrame | None:
    """``frame`` (a snapshot's frame) brought up to date with the stations changed since it was
    read: each station of ``changed_ids`` replaced by its row in ``rows``, or dropped when
    ``rows`` has none (what :meth:`~stations.store.StationStore.changed_frame` gives).

    The result is the frame :func:`build_snapshot` would make of a whole read of the store:
    ordered by ``station_id`` (code point order, as both stores read), each column of the dtype
    a whole read gives it, the fields of :data:`VOCABULARIES` as categoricals (``flags`` as
    lists for the new rows: :func:`build_snapshot` makes them tuples). None when it cannot be
    made so from these (``rows`` with other columns, a value outside its vocabulary, a
    vocabulary field ``frame`` holds as text, an id twice): read the whole store then. ``rows``
    may come in any order; ``frame`` must be in id order (as every snapshot's frame is).
    About 0.1 s at 200,000 stations, a few milliseconds a column, for any number of changes.
    """
    if list(rows.columns) != list(frame.columns) or "station_id" not in frame.columns:
        return None
    ids = frame["station_id"].to_numpy(dtype=object)
    new_ids = rows["station_id"].to_numpy(dtype=object)
    n = len(ids)
    dropped = set()
    for station_id in {*changed_ids, *new_ids}:
        i = bisect_left(ids, station_id)
        if i < n and ids[i] == station_id:
            dropped.add(i)
    dropped_at = np.array(sorted(dropped), dtype=np.int64)
    # Positions in frame ++ rows, in id order: each new row goes before the first kept id above it.
    at = np.searchsorted(ids, new_ids)
    at -= np.searchsorted(dropped_at, at)  # the same place among the kept rows
    order = np.insert(np.delete(np.arange(n), dropped_at), at, n + np.arange(len(rows)))
    # ``frame`` is in id order (a snapshot's): the result is too if each new row fits between its neighbours.
    final = np.flatnonzero(order >= n)
    for p in final:
        for q in (p - 1, p + 1):
            if 0 <= q < len(order):
                a, b = (p, q) if p < q else (q, p)
                if not _id_at(ids, new_ids, order[a], n) < _id_at(ids, new_ids, order[b], n):
                    return None
    columns: dict[str, Any] = {}
    for name in frame.columns:
        old, new = frame[name], rows[name]
        if isinstance(old.dtype, pd.CategoricalDtype):
            if not new.dropna().isin(old.cat.categories).all():
                return None
            codes = np.concatenate([old.cat.codes.to_numpy(), pd.Categorical(new, dtype=old.dtype).codes])
            columns[name] = pd.Categorical.from_codes(codes[order], dtype=old.dtype)
        elif name in VOCABULARIES:  # text in frame (a value outside the vocabulary): a whole read decides
            return None
        elif new.dtype == old.dtype or (new.dtype == object and new.isna().all()):
            merged = pd.concat([old, new.astype(old.dtype)], ignore_index=True).take(order).reset_index(drop=True)
            if isinstance(old.dtype, pd.StringDtype) and not _any_value(merged.to_numpy()):
                merged = pd.Series([None] * len(merged), dtype=object)  # no text left: a read gives objects
            columns[name] = merged
        else:  # e.g. the first text in a column of missing values: infer from the values, as a read does
            values = np.concatenate([old.to_numpy(dtype=object), new.to_numpy(dtype=object)])[order]
            values[pd.isna(values)] = None
            columns[name] = pd.Series(values)
    return pd.DataFrame(columns, columns=frame.columns, copy=False)


def _id_at(ids: np.ndarray, new_ids: np.ndarray, position: int, n: int) -> str:
    """The id at ``position`` of ``ids`` ++ ``new_ids`` (``n`` is ``len(ids)``)."""
    return ids[position] if position < n else new_ids[position - n]


def _any_value(values: np.ndarray) -> bool:
    """Whether ``values`` holds anything but missing values: a block at a time, so that a
    column with a value near its start (most) costs one block."""
    return any(not pd.isna(values[start:start + 4096]).all() for start in range(0, len(values), 4096))


# How many changed stations a snapshot is brought up to date with rather than read whole
# (changes_limit): a share of its stations, and at least a number.
CHANGES_MAX_SHARE = 0.1
CHANGES_MIN_STATIONS = 1000


def changes_limit(stations: int) -> int:
    """The most changed stations a snapshot of ``stations`` is brought up to date with
    (:func:`merge_changes`) rather than read whole: :data:`CHANGES_MAX_SHARE` of them (10 %),
    and at least :data:`CHANGES_MIN_STATIONS` (1,000).

    At 200,000 stations (benchmarks/bench_refresh.py) bringing up to date costs about 0.4 s
    (the merge 0.1 s, a build from a frame of categoricals 0.25-0.4 s) plus 50 us per changed
    row read (10,000 rows: 0.9 s in all), against 5.5-7.5 s for a whole read and its build.
    So it wins by far up to this limit (20,000 rows: about 1.4 s), while an import of a
    province or more takes the plain whole read."""
    return max(CHANGES_MIN_STATIONS, int(stations * CHANGES_MAX_SHARE))


def _release_free_memory() -> None:
    """Hand the C heap's free pages back to the system (glibc's ``malloc_trim``; elsewhere
    nothing). Reading a store and building its snapshot frees a few hundred MB of temporary
    arrays at 200,000 stations, which would otherwise stay in the RSS of every worker."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


@dataclass(frozen=True)
class Health:
    """What a service answers from, and whether its store can be read."""

    kind: str  # the store's kind, e.g. "geopackage"
    snapshot: Snapshot  # what queries are answered from
    checked_at_s: float  # when the store was last checked, seconds since the epoch
    problem: str | None = None  # why the store cannot be read now; None when it can
    schema_version: int = 0  # the store's schema version
    store_revision: int = 0  # the store's revision at the last check that read it
    behind_since_s: float | None = None  # when the first revision the snapshot lacks was committed (epoch s)

    def as_dict(self, now_s: float | None = None) -> dict:
        """The store's kind and state, and the snapshot answers come from (ages in seconds)."""
        now_s = time.time() if now_s is None else now_s
        snap = self.snapshot
        built_at = dt.datetime.fromtimestamp(snap.built_at_s, dt.timezone.utc)
        behind = max(self.store_revision - snap.revision, 0)
        lag_s = 0.0
        if behind and self.behind_since_s is not None:
            lag_s = round(max(now_s - self.behind_since_s, 0.0), 2)
        return {
            "store": {"kind": self.kind, "readable": self.problem is None,
                      "checked_s_ago": round(max(now_s - self.checked_at_s, 0.0), 2),
                      "schema_version": self.schema_version, "revision": max(self.store_revision, snap.revision)},
            "lag": {"revisions": behind, "seconds": lag_s},
            "snapshot": {"revision": snap.revision, "stations": int(len(snap.frame)),
                         "indexed": int(len(snap.located)),
                         "built_at": built_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
                         "age_s": round(max(now_s - snap.built_at_s, 0.0), 1), "build_s": round(snap.built_s, 3),
                         "build": snap.build},
        }


class StationService:
    """Serves the latest good :class:`Snapshot` of the store at ``location``.

    Construction opens the store (never creating one: a missing or unreadable store raises
    :class:`~stations.errors.StoreError` naming it), builds and warms the first snapshot, and
    starts the refresher thread; :meth:`close` stops it.

    Parameters
    ----------
    refresh_s
        Seconds between two checks of the store by the refresher thread (the setting of that
        name); ``None`` starts no thread (the caller calls :meth:`refresh`).
    retry_s
        After a failed build, seconds until it is tried again when nothing was committed
        meanwhile; a commit (the store's change token moving) makes it try at the next check.
    build
        ``build(frame, revision) -> Snapshot``; :func:`build_snapshot` unless a test needs another.
    warm_up
        Called with each new snapshot before it is swapped in, so that the first queries on it
        find what they need built (the web app runs a few queries).
    pool_size
        The most database connections :meth:`store` (what requests use) holds at once (the
        setting ``store_pool_size``); the refresher holds one more of its own. A GeoPackage
        ignores it.
    """

    def __init__(self, location: str, *, refresh_s: float | None = Settings.refresh_s, retry_s: float = 10.0,
                 build: Callable[[pd.DataFrame, int], Snapshot] = build_snapshot,
                 warm_up: Callable[[Snapshot], Any] | None = None, pool_size: int = 4):
        self.location = str(location)
        self.refresh_s = refresh_s
        self.retry_s = retry_s
        # Set while the store holds data the snapshot lacks (another file, or a build failed):
        # (change token when the last build failed, monotonic seconds when it failed) or, before
        # any failure, (None, 0.0). None when the snapshot is up to date.
        self._pending: tuple[Any, float] | None = None
        self.pool_size = pool_size
        self._build = build
        self._warm_up = warm_up
        self._refresh_lock = threading.Lock()  # one refresh at a time; readers never take it
        self._problem: str | None = None
        self._stop = threading.Event()
        # What the finalizer closes if the service is dropped without close().
        self._held: dict[str, StationStore] = {"store": self._open(refresher=True)}
        self._finalizer = weakref.finalize(self, _release, self._stop, self._held)
        self._finalizer.atexit = False  # at exit, a refresh may still be running: leave the store be
        self.kind = self._store.kind
        self._behind_since_s: float | None = None
        try:
            self._schema_version = self._store.schema_version()
            self._token, self._snapshot = self._load()
            self._store_revision = self._snapshot.revision
        except BaseException:
            self._finalizer()
            raise
        # Open reports and check dates, beside the snapshot (they make no new store revision).
        self._curation = CurationKeeper()
        self._refresh_curation()
        self._checked_at_s = time.time()
        self._thread: threading.Thread | None = None
        if refresh_s is not None:
            # The thread holds a weak reference only: a service nobody holds is closed.
            self._thread = threading.Thread(target=_refresh_loop, args=(weakref.ref(self), self._stop, refresh_s),
                                            name="stations-refresher", daemon=True)
            self._thread.start()

    @property
    def _store(self) -> StationStore:
        return self._held["store"]

    def _open(self, *, refresher: bool = False) -> StationStore:
        # The refresher makes one query at a time: one connection is its whole pool.
        return open_store(self.location, create=False, pool_size=1 if refresher else self.pool_size)

    def snapshot(self) -> Snapshot:
        """The current snapshot: one attribute read; never waits for a build or the store."""
        return self._snapshot

    def curation(self) -> CurationOverlay:
        """The current open reports and check dates: one attribute read; a request holds the
        object it got for its whole answer."""
        return self._curation.current

    def _refresh_curation(self) -> None:
        try:
            self._curation.refresh(self._store)
        except Exception as exc:  # the last overlay keeps answering; the next check tries again
            if repr(exc) != getattr(self, "_curation_problem", None):
                log.warning("store %r: reports and check dates not refreshed: %r", self.location, exc)
            self._curation_problem = repr(exc)
        else:
            self._curation_problem = None

    def store(self) -> StationStore:
        """The store for what requests read and write directly (staff edits, reports, accounts):
        a connection of its own, apart from the refresher's, opened on first use and again
        when the file was replaced. Requests take turns on it (a gevent worker runs them in
        one thread, and a store call does not yield)."""
        store = self._held.get("requests")
        if store is None or store.replaced():
            if store is not None:
                store.close()
            store = self._held["requests"] = self._open()
        return store

    def health(self) -> Health:
        """The snapshot served, when the store was last checked and what is wrong with it, if anything."""
        return Health(kind=self.kind, snapshot=self._snapshot, checked_at_s=self._checked_at_s,
                      problem=self._problem, schema_version=self._schema_version,
                      store_revision=self._store_revision, behind_since_s=self._behind_since_s)

    def refresh(self) -> bool:
        """Check the store once; when it changed, build the new snapshot and swap it in.

        Returns whether a new snapshot was swapped in. A store that cannot be read, or a build
        that fails, leaves the current snapshot in place; :meth:`health` reports why until a
        snapshot of the store is swapped in. A failed build is tried again at the first check
        after the next commit, or after ``retry_s`` without one.
        """
        with self._refresh_lock:
            if "store" not in self._held:
                return False  # closed
            swapped = False
            try:
                swapped = self._refresh()
                self._refresh_curation()
            except StoreBusy as exc:  # a writer holds the lock: the next check will see its commit
                log.info("%s", exc)
            except Exception as exc:
                problem = str(exc) if isinstance(exc, StoreError) else f"store {self.location!r}: {exc!r}"
                if problem != self._problem:
                    log.error("%s; still answering from revision %d", problem, self._snapshot.revision,
                              exc_info=not isinstance(exc, StoreError))
                self._problem = problem
            else:
                # A failed build waiting for its retry leaves the problem standing.
                if self._problem is not None and self._pending is None:
                    log.warning("store %r can be read again (revision %d)", self.location, self._snapshot.revision)
                    self._problem = None
            self._checked_at_s = time.time()
            return swapped

    def _refresh(self) -> bool:
        reopened = self._problem is not None or self._store.replaced()
        if reopened:
            # Replaced, deleted, or unreadable at the last check (corrupted, then perhaps
            # restored in place): open the path again and read it whole, whatever its
            # revision and change token say (a backup can carry the old file's).
            store = self._open(refresher=True)
            old, self._held["store"] = self._store, store
            old.close()
            self._schema_version = store.schema_version()
            if self._pending is None:
                self._pending = (None, 0.0)
        token = self._store.change_token()  # read before the revision: a commit in between shows next time
        if self._pending is None and token == self._token:
            return False
        revision = self._store_revision = self._store.revision()
        if self._pending is None:
            if revision == self._snapshot.revision:
                self._token = token
                return False
            self._pending = (None, 0.0)
        failed_token, failed_at_s = self._pending
        if failed_token is not None and token == failed_token and time.monotonic() < failed_at_s + self.retry_s:
            return False  # the last build failed: again after the next commit, or when the retry is due
        if revision > self._snapshot.revision:  # for /health's lag: when the first missing revision was made
            self._behind_since_s = _epoch_s(self._store.revision_at(self._snapshot.revision + 1))
        # Another file, or new data: read and build beside the snapshot being served (on a
        # GeoPackage one process at a time, so that the other workers answer at full speed).
        old = self._snapshot
        # The same file, read without a problem, and newer: the changes since the snapshot may do.
        incremental = not reopened and failed_token is None and revision > old.revision
        try:
            with _build_turn(self.location):
                self._token, self._snapshot = self._load(token, since=old if incremental else None)
        except BaseException:
            self._pending = (token, time.monotonic())
            raise
        self._pending = None
        self._store_revision = max(self._store_revision, self._snapshot.revision)
        self._behind_since_s = None
        _free_gradually(old)
        return True

    def _load(self, token: Any = None, *, since: Snapshot | None = None) -> tuple[Any, Snapshot]:
        """Read the store and build its snapshot: from ``since`` and the stations changed after
        it when few changed (:func:`merge_changes`), else from a whole read."""
        token = self._store.change_token() if token is None else token
        snapshot = None
        if since is not None:
            try:
                snapshot = self._build_from_changes(since)
            except StoreBusy:
                raise  # a writer holds the lock: the next check sees its commit
            except (StoreError, ValidationError) as exc:
                # The changes cannot be read as such (a history that does not number them, a
                # revision gone back): the whole read below decides, now rather than at the retry.
                log.warning("%s; reading the store whole", exc)
        if snapshot is None:
            revision, frame = self._store.consistent_frame()
            snapshot = self._build(frame, revision)
        if self._warm_up is not None:
            self._warm_up(snapshot)
        # A snapshot holds hundreds of thousands of objects that the cyclic garbage collector
        # would walk in every full collection, holding the GIL (120 ms at 200,000 stations;
        # 15 ms when frozen). Snapshots are freed by reference counting alone, so freezing
        # them (and whatever else lives now) costs nothing when they are dropped.
        gc.freeze()
        return token, snapshot

    def _build_from_changes(self, since: Snapshot) -> Snapshot | None:
        """``since`` with the stations changed after its revision merged in; None when more
        than :func:`changes_limit` changed or the merge does not fit (then a whole read)."""
        revision, changed_ids, rows = self._store.changed_frame(since.revision,
                                                                max_stations=changes_limit(len(since.frame)))
        frame = None if rows is None else merge_changes(since.frame, changed_ids, rows)
        if frame is None:
            return None
        return replace(self._build(frame, revision), build="changes")

    def close(self) -> None:
        """Stop the refresher (after the check it is making, if any) and close the store."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        with self._refresh_lock:
            self._finalizer()

    def __enter__(self) -> "StationService":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _refresh_loop(ref: "weakref.ref[StationService]", stop: threading.Event, period_s: float) -> None:
    """The refresher thread: refresh the service every ``period_s`` until it is closed or dropped."""
    while not stop.wait(period_s):
        service = ref()
        if service is None:
            return
        service.refresh()
        del service


_FREE_WAIT_S = 1.0  # how long a replaced snapshot waits for its last readers (requests take milliseconds)


def _free_gradually(snapshot: Snapshot) -> None:
    """Empty a replaced ``snapshot`` a piece at a time, so that freeing it does not stall requests.

    The caller passes its last reference. Freeing a snapshot of 200,000 stations at once holds
    the GIL for about 0.6 s, and requests wait that long. Once no reader holds it any more
    (waiting up to ``_FREE_WAIT_S``), its own tables are emptied piece by piece, each a few
    milliseconds; the rest (mostly the index) goes at once when the caller drops it: 0.12 s.
    A snapshot still held elsewhere after the wait is left whole.
    """
    deadline = time.monotonic() + _FREE_WAIT_S
    # References: the caller's (handed over by the call), this frame's and getrefcount's.
    while sys.getrefcount(snapshot) > 3:
        if time.monotonic() > deadline:
            return
        time.sleep(0.01)
    snapshot.cache.clear()
    # record()'s views of the columns go first, so that each column below is freed as it is deleted.
    object.__setattr__(snapshot, "_columns", ())
    object.__setattr__(snapshot, "_by_name", {})
    if sys.getrefcount(snapshot.frame) == 2:  # the snapshot's own reference and getrefcount's
        for name in list(snapshot.frame.columns):
            del snapshot.frame[name]
            time.sleep(0)


def _epoch_s(when: str | None) -> float | None:
    """A batch's ``at`` (ISO 8601 text, UTC) as seconds since the epoch; None if there is none."""
    if not when:
        return None
    try:
        moment = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)).timestamp()


@contextlib.contextmanager
def _build_turn(location: str):
    """Held while a process builds a new snapshot of the GeoPackage at ``location``: one build
    at a time among every process serving that file on this machine (an advisory lock on a file
    in the temporary folder, named after the store's absolute path; the system drops it if the
    process dies).

    A database URL takes no turn: its instances run on several machines, where a lock in one
    machine's temporary folder orders nothing, and waiting for the other workers' builds would
    add their build times to this one's lag behind the database. Each process builds at once."""
    if is_database_url(location):
        yield
        return
    key = hashlib.sha1(os.path.abspath(location).encode()).hexdigest()[:16]
    with open(os.path.join(tempfile.gettempdir(), f"stations-refresh-{key}.lock"), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield  # closing the file releases the lock


def _release(stop: threading.Event, held: dict) -> None:
    stop.set()
    for name in ("store", "requests"):
        store = held.pop(name, None)
        if store is not None:
            store.close()
