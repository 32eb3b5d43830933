"""The search structures of one index: main tree, static filters, time snapshots, entries.

The main tree holds the stations a query with the default filters may return (in service,
precise position): the usual query needs no mask or sub-tree, and neither does a
planner's batch. A filter's stations are a subset of the main tree (most filters: a mask
or a sub-tree of it, see :mod:`._search`) or reach beyond it (``statuses=None``,
``include_imprecise=True``...: a sub-tree of all located stations).
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime

import numpy as np

from ._filters import StaticFilter, static_filter
from ._hours import OPEN, Snapshot, time_key
from ._search import PROMOTE_AFTER, Entry, EntryCache, NeedSubtree, build_tree, make_entry, search, search_plain
from ._table import StationTable

DEFAULT_STATIC_KEY = ((), None, ("open",), None, False)  # (amenities, open_24h, statuses, access, imprecise)
_MAX_STATIC_KEYS = 4096
_SNAPSHOTS_KEPT = 4  # per time window
_SNAPSHOT_WINDOWS_KEPT = 256


def hashable(skey: tuple) -> tuple | None:
    """The static-filter key with lists made tuples; None if still unhashable (invalid values)."""
    out = tuple(a if a is None or isinstance(a, (str, bool)) else tuple(a) for a in skey)
    try:
        hash(out)
    except TypeError:
        return None
    return out


class Structures:
    """What queries search, built on demand and cached; safe to use from several threads."""

    def __init__(self, table: StationTable, cache_bytes: int):
        self.table = table
        self.lock = threading.Lock()
        self.xyz = table.xyz
        located = table.located_rows
        self.class_located = table.station_class if located is None else table.station_class[located]
        self.static: dict[tuple, StaticFilter] = {}
        default = self.static_filter(DEFAULT_STATIC_KEY)
        in_main = default.class_ok[self.class_located]
        if not in_main.any():  # nothing in service: the main tree holds everything
            in_main[:] = True
        self.main_class_ok = default.class_ok if not in_main.all() else np.ones_like(default.class_ok)
        main_idx = None if in_main.all() else np.flatnonzero(in_main)
        self.main_rows = located if main_idx is None else (main_idx if located is None else located[main_idx])
        self.class_main = self.class_located if main_idx is None else self.class_located[main_idx]
        self.main = build_tree(table.xyz if self.main_rows is None else table.xyz[self.main_rows], self.main_rows)
        self.cache = EntryCache(cache_bytes)
        # (naive?, window) -> the latest snapshots for that window, newest first.
        self.snapshots: dict[tuple[bool, float], deque[Snapshot]] = {}
        self.workers: list[threading.Thread] = []

    def static_filter(self, skey: tuple) -> StaticFilter:
        """The static filter of validated, hashable arguments (cached)."""
        sf = self.static.get(skey)
        if sf is not None:
            return sf
        amenities, open_24h, statuses, access, include_imprecise = skey
        as_t = (lambda v: None if v is None else ((v,) if isinstance(v, str) else tuple(v)))
        sf = static_filter(self.table, as_t(amenities) or (), open_24h, as_t(statuses), as_t(access),
                           bool(include_imprecise))
        with self.lock:
            if len(self.static) >= _MAX_STATIC_KEYS:
                self.static.clear()
            self.static[skey] = sf
        return sf

    def snapshot(self, when: datetime, window_s: float) -> Snapshot:
        """Labels for ``[when, when + window_s]``: a kept snapshot still valid then, or a new one."""
        naive = when.tzinfo is None
        tkey = time_key(when)
        kept = self.snapshots.get((naive, window_s))
        if kept is None:
            with self.lock:
                if len(self.snapshots) > _SNAPSHOT_WINDOWS_KEPT:
                    self.snapshots.clear()
                kept = self.snapshots.setdefault((naive, window_s), deque(maxlen=_SNAPSHOTS_KEPT))
        for snap in tuple(kept):
            if snap.valid_from <= tkey < snap.valid_until:
                return snap
        snap = self.table.hours.snapshot(when, window_s)
        kept.appendleft(snap)
        return snap

    def entry(self, sf: StaticFilter, snap: Snapshot | None, part: int = OPEN, *,
              force_subtree: bool = False) -> Entry:
        """The structure of the stations passing ``sf`` whose label in ``snap`` is ``part``."""
        key = sf.key if snap is None else (sf.key, snap.key, part)
        entry = self.cache.get(key)
        if entry is not None and not (force_subtree and entry.kind == "mask"):
            if entry.kind == "mask":
                entry.uses += 1
                if entry.uses == PROMOTE_AFTER:
                    self.promote(key, entry)
            return entry
        table = self.table
        class_ok = sf.class_ok
        if snap is not None:
            class_ok = class_ok & (snap.labels[table.class_pattern] == part)
        counts = table.class_count
        count = int(counts[class_ok].sum())
        if count == 0 or not counts[class_ok & ~self.main_class_ok].any():  # within the main tree
            eligible = None if count in (0, self.main.n) else class_ok[self.class_main]
            entry = make_entry(self.main, self.main_rows, self.xyz, eligible, count, force_subtree=force_subtree)
        else:
            eligible = None if count == table.n_located else class_ok[self.class_located]
            entry = make_entry(None, table.located_rows, self.xyz, eligible, count)
        self.cache.put(key, entry)
        return entry

    def promote(self, key, entry: Entry, *, wait: bool = False) -> None:
        """Build a sub-tree for a hot mask entry (in the background unless ``wait``) and swap it in."""
        def build() -> None:
            subtree = make_entry(self.main, self.main_rows, self.xyz, self.main.input_order(entry.mask), entry.count,
                                 force_subtree=True, background=not wait)
            self.cache.swap(key, entry, subtree)

        if wait:
            build()
            return
        worker = threading.Thread(target=build, name="stations-index-promote", daemon=True)
        with self.lock:
            self.workers = [w for w in self.workers if w.is_alive()] + [worker]
        worker.start()

    def wait_for_builds(self) -> None:
        with self.lock:
            workers = list(self.workers)
        for worker in workers:
            worker.join()

    def search(self, sf: StaticFilter, snap: Snapshot | None, q, k: int, ub: float, part: int = OPEN,
               accept=None) -> tuple[list[float], list[int], list | None]:
        """:func:`._search.search` on the entry of a filter (promoted to a sub-tree if need be)."""
        entry = self.entry(sf, snap, part)
        if accept is None and entry.mask is None:
            return search_plain(entry, q, k, ub)
        try:
            return search(entry, q, k, ub, accept)
        except NeedSubtree:
            return search(self.entry(sf, snap, part, force_subtree=True), q, k, ub, accept)
