"""The search structures of one index: main tree, static filters, time snapshots, entries.

The main tree holds the stations a query with the default filters may return (in service,
precise position): the usual query needs no mask or sub-tree, and neither does a
planner's batch. A filter's stations are a subset of the main tree (most filters: a mask
or a sub-tree of it, see :mod:`._search`) or reach beyond it (``statuses=None``,
``include_imprecise=True``...: a sub-tree of all located stations).

Three caches, each keyed on values only, each measured in ``benchmarks/bench_nearest.py``:

* static filters, by :class:`._filters.FilterKey`;
* time snapshots, by (naive or aware, window length) and the time range they hold for;
* entries (sub-trees and masks), by ``(FilterKey, labels, part)``: the filter's key, the
  snapshot's labels (bytes, one per opening-hours pattern: equal open sets share an entry;
  ``None`` without a time) and which label the stations must have (see :meth:`Structures.entry`).

Everything is built in the thread of the query that first needs it; nothing runs in the
background.
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime

import numpy as np

from ._filters import DEFAULT_FILTER, FilterKey, StaticFilter, static_filter
from ._hours import OPEN, Snapshot, time_key
from ._search import BUDGET_POINTS, Entry, EntryCache, NeedSubtree, build_tree, make_entry, search, search_plain
from ._table import StationTable

_MAX_STATIC_KEYS = 4096
_SNAPSHOTS_KEPT = 4  # per time window
_SNAPSHOT_WINDOWS_KEPT = 256


class Structures:
    """What queries search, built on demand and cached; safe to use from several threads.

    Parameters
    ----------
    table : StationTable
        The indexed stations.
    cache_bytes : int
        Memory bound of the cached sub-trees and masks (LRU).
    budget_points : int
        Points a masked search (or the compiled open-on-arrival search) may look at before
        it gives up: a masked filter then gets a sub-tree, and open on arrival goes by
        bands (:mod:`._arrival`).
    """

    def __init__(self, table: StationTable, cache_bytes: int, budget_points: int = BUDGET_POINTS):
        self.table = table
        self.budget = int(budget_points)
        self.lock = threading.Lock()
        self.xyz = table.xyz
        located = table.located_rows
        self.class_located = table.station_class if located is None else table.station_class[located]
        self.static: dict[FilterKey, StaticFilter] = {}
        default = self.static_filter(DEFAULT_FILTER)
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

    def static_filter(self, key: FilterKey) -> StaticFilter:
        """The static filter of a validated :class:`FilterKey` (cached)."""
        sf = self.static.get(key)
        if sf is not None:
            return sf
        sf = static_filter(self.table, key)
        with self.lock:
            if len(self.static) >= _MAX_STATIC_KEYS:
                self.static.clear()
            self.static[key] = sf
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
        """The structure of the stations passing ``sf`` whose label in ``snap`` is ``part``
        (a sub-tree in place of a mask if ``force_subtree``), cached by value: the filter's
        key, the snapshot's labels and ``part``."""
        key = (sf.key, None, OPEN) if snap is None else (sf.key, snap.key, part)
        entry = self.cache.get(key)
        if entry is not None and not (force_subtree and entry.kind == "mask"):
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

    def search(self, sf: StaticFilter, snap: Snapshot | None, q, k: int, ub: float, part: int = OPEN,
               accept=None) -> tuple[list[float], list[int], list | None]:
        """:func:`._search.search` on the entry of a filter; a mask that runs over its budget
        is replaced by a sub-tree, which answers."""
        entry = self.entry(sf, snap, part)
        if accept is None and entry.mask is None:
            return search_plain(entry, q, k, ub)
        try:
            return search(entry, q, k, ub, accept, self.budget)
        except NeedSubtree:
            return search(self.entry(sf, snap, part, force_subtree=True), q, k, ub, accept, self.budget)
