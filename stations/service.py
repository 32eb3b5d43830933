"""The live view of a store that queries run against: records plus a nearest index.

:class:`StationService` holds an immutable :class:`Snapshot`. Before answering, callers
ask for :meth:`StationService.snapshot`, which polls the store's change token (for a
GeoPackage, four bytes of the file header: about a microsecond) and, when something was
committed, its revision; when an import or edit has landed, it builds a new snapshot and
swaps it in with one assignment. A query holds on to the snapshot it started with, so it
never sees half an update, and no restart is needed to see new data.
"""

from __future__ import annotations

import ctypes
import threading
import time
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping

import numpy as np
import pandas as pd

from .amenities import AMENITY_CODES, AMENITY_VALUES
from .records import ACCESS_VALUES, ENTRY_VALUES, PRECISIONS, RAW_CRS_VALUES, STATUS_VALUES
from .index import DEFAULT_MAX_K, StationIndex
from .store import StationStore, open_store

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
    built_s: float = 0.0
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
        frame["flags"] = [tuple(f) if isinstance(f, (list, tuple)) else () for f in frame["flags"]]
    located = np.flatnonzero(frame["lat"].notna().to_numpy() & frame["lon"].notna().to_numpy())
    indexed = frame[[name for name in _INDEXED if name in frame.columns]]
    if len(located) < len(frame):
        indexed = indexed.iloc[located].reset_index(drop=True)
    index = StationIndex.from_frame(indexed, max_k=max_k)
    snapshot = Snapshot(revision=revision, frame=frame, located=located, index=index,
                        by_id=StationPositions(frame["station_id"].to_numpy()), built_s=time.perf_counter() - start)
    _release_free_memory()
    return snapshot


def _release_free_memory() -> None:
    """Hand the C heap's free pages back to the system (glibc's ``malloc_trim``; elsewhere
    nothing). Reading a store and building its snapshot frees a few hundred MB of temporary
    arrays at 200,000 stations, which would otherwise stay in the RSS of every worker."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


class StationService:
    """Keeps a fresh :class:`Snapshot` of the store at ``location``."""

    def __init__(self, location: str):
        self.location = location
        self._store: StationStore | None = None
        self._snapshot: Snapshot | None = None
        self._token: Any = None  # the store's change token when the snapshot was last checked
        self._lock = threading.Lock()

    def _open(self) -> StationStore:
        if self._store is None:
            self._store = open_store(self.location, create=True)
        return self._store

    def snapshot(self) -> Snapshot:
        with self._lock:
            store = self._open()
            token = store.change_token()  # read before the revision: a commit in between shows next time
            if self._snapshot is None or token != self._token:
                if self._snapshot is None or self._snapshot.revision != store.revision():
                    revision, frame = store.consistent_frame()
                    self._snapshot = build_snapshot(frame, revision)
                self._token = token
            return self._snapshot

    def store(self) -> StationStore:
        return self._open()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
