"""The live view of a store that queries run against: records plus a nearest index.

:class:`StationService` holds an immutable :class:`Snapshot`. Before answering, callers
ask for :meth:`StationService.snapshot`, which polls the store's change token (for a
GeoPackage, four bytes of the file header: about a microsecond) and, when something was
committed, its revision; when an import or edit has landed, it builds a new snapshot and
swaps it in with one assignment. A query holds on to the snapshot it started with, so it
never sees half an update, and no restart is needed to see new data.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .store import StationStore, open_store


@dataclass(frozen=True)
class Snapshot:
    revision: int
    frame: pd.DataFrame  # every station, indexed 0..n-1
    located: np.ndarray  # positions in ``frame`` of stations with a position, in index order
    index: Any  # stations.index.StationIndex over ``frame.iloc[located]``
    by_id: Mapping[str, int]  # station_id -> position in ``frame``
    columns: Mapping[str, np.ndarray]  # the frame's columns as object arrays: fast row reads
    built_s: float = 0.0
    cache: dict = field(default_factory=dict)  # per-snapshot memo of derived views (see lookup)

    def record(self, pos: int) -> dict:
        """One station as a record dict (NaN read as None): a few microseconds.

        Every field, not only the numeric ones: a text column the store read with some
        values missing (stations imported with and without an address) holds NaN there.
        """
        rec = {name: col[pos] for name, col in self.columns.items()}
        for name, v in rec.items():
            if v.__class__ is float and v != v:
                rec[name] = None
        return rec


def build_snapshot(frame: pd.DataFrame, revision: int = 0) -> Snapshot:
    """A snapshot of ``frame`` (a store frame) with its nearest index."""
    from .index import StationIndex

    start = time.perf_counter()
    frame = frame.reset_index(drop=True)
    located = np.flatnonzero(frame["lat"].notna().to_numpy() & frame["lon"].notna().to_numpy())
    index = StationIndex.from_frame(frame.iloc[located].reset_index(drop=True))
    by_id = {sid: i for i, sid in enumerate(frame["station_id"])}
    columns = {name: frame[name].to_numpy(dtype=object) for name in frame.columns}
    return Snapshot(revision=revision, frame=frame, located=located, index=index, by_id=by_id, columns=columns,
                    built_s=time.perf_counter() - start)


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
