"""Filtered k-nearest search: per-filter search structures, their LRU cache, the search loop.

For one filter (static filter + open-set labels) the eligible stations are a known
count, so the structure is picked by selectivity ``s = eligible / stations in the main
tree`` (see :mod:`._structures` for what the main tree holds):

* ``s == 1``: the main tree as is.
* ``s >= MASK_MIN_SELECTIVITY``: the main tree plus a boolean mask, which the tree's search
  checks point by point (:mod:`._kdtree`): about ``1 / s`` times the work of an unfiltered
  query (at most twice), and a mask costs one byte per station to make. If a query has to
  look at more than the budget (:data:`BUDGET_POINTS`) of points, the eligible stations are
  locally rare: the filter gets a sub-tree instead, built then and there.
* otherwise: a k-d tree over just the eligible stations (a "sub-tree"), built on first use,
  so a combination held by 0.3 % of stations is as fast as no filter at all.
  A mask would cost ``1 / s`` (333x at 0.3 %).

Sub-trees and masks live in an LRU cache bounded in bytes, keyed on the filter's value
(:meth:`._structures.Structures.entry`); the main tree is never evicted.

Ties: the search fetches every station within a relative :data:`TIE_REL` of the k-th
distance, and equal distances (in the metres reported) come in row order.
"""

import threading
from collections import OrderedDict
from typing import Callable, Hashable

import numpy as np

from ._geometry import chord_to_m1
from ._kdtree import KDTree

INF = float("inf")
MASK_MIN_SELECTIVITY = 0.5
BUDGET_POINTS = 4096


def build_tree(xyz: np.ndarray, rows: np.ndarray | None = None) -> KDTree:
    """A k-d tree of unit vectors whose queries return ``rows`` (default: positions in ``xyz``)."""
    return KDTree(xyz, rows)


class Entry:
    """How to search one filter key: a tree (its queries return station rows), an optional mask."""

    __slots__ = ("tree", "mask", "count", "nbytes", "kind")

    def __init__(self, kind: str, tree: KDTree | None, mask: np.ndarray | None, count: int, nbytes: int):
        self.kind = kind  # "empty", "main", "mask" or "subtree"
        self.tree = tree
        self.mask = mask  # bool per point in the tree's order, or None when every point is eligible
        self.count = count
        self.nbytes = nbytes


class EntryCache:
    """A thread-safe LRU of entries, bounded by total bytes and by entry count."""

    def __init__(self, max_bytes: int, max_entries: int = 1024):
        self.max_bytes, self.max_entries = max_bytes, max_entries
        self.entries: OrderedDict = OrderedDict()  # read directly by the query hot path
        self._lock = threading.Lock()
        self.nbytes = 0
        self.hits = self.misses = self.builds = self.evictions = 0

    def get(self, key: Hashable) -> Entry | None:
        entry = self.entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        try:  # one C call, atomic under the GIL; the key may have just been evicted
            self.entries.move_to_end(key)
        except KeyError:
            pass
        return entry

    def put(self, key: Hashable, entry: Entry) -> None:
        with self._lock:
            self.builds += 1
            old = self.entries.pop(key, None)
            if old is not None:
                self.nbytes -= old.nbytes
            self.entries[key] = entry
            self.nbytes += entry.nbytes
            while len(self.entries) > 1 and (self.nbytes > self.max_bytes or len(self.entries) > self.max_entries):
                _, gone = self.entries.popitem(last=False)
                self.nbytes -= gone.nbytes
                self.evictions += 1

    def __len__(self) -> int:
        return len(self.entries)


def make_entry(base: KDTree | None, base_rows: np.ndarray | None, xyz: np.ndarray, eligible: np.ndarray | None,
               count: int, *, force_subtree: bool = False) -> Entry:
    """The structure for one filter key.

    ``eligible`` is a bool per point of the base, in the order the base was built from: the
    main tree (``base``), or all located stations (``base=None``: a sub-tree is then the
    only choice). ``base_rows`` maps those points to station rows (None: the same);
    ``xyz`` are the unit vectors of every row.
    """
    if count == 0:
        return Entry("empty", None, None, 0, 0)
    if base is not None:
        if count == base.n:
            return Entry("main", base, None, count, 0)
        if count / base.n >= MASK_MIN_SELECTIVITY and not force_subtree:
            mask = base.tree_order(eligible)
            return Entry("mask", base, mask, count, mask.nbytes)
    idx = np.flatnonzero(eligible) if eligible is not None else np.arange(count)
    rows = idx if base_rows is None else base_rows[idx]
    tree = build_tree(xyz[rows], rows)
    return Entry("subtree", tree, None, count, tree.nbytes)


class NeedSubtree(Exception):
    """A masked search looked at more points than its budget: the filter needs a sub-tree."""


Accept = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (rows, chord distances) -> keep


# Chords closer than this ratio may round to equal metres: treated as ties (see order_ties).
TIE_REL = 1.0 + 1e-14


def search(entry: Entry, q: tuple[float, float, float], k: int, ub: float,
           accept: Accept | None = None, budget: int = BUDGET_POINTS) -> tuple[list[float], list[int], list | None]:
    """The k nearest eligible stations: (chord distances, rows, unit vectors or None).

    Sorted by distance, then row. Asks the tree for at least ``k + 1`` neighbours passing
    the mask and repeats with four times as many until ``k`` also pass ``accept`` *and*
    the farthest neighbour returned is farther than the k-th pass by more than
    :data:`TIE_REL` (or nothing is left within ``ub``): then every station tied with the
    k-th is in hand, and ties (equal metres) are broken by row number. The unit vectors
    come from the tree's own copy (``None`` after reordering ties). A masked search that
    looks at more than ``budget`` points raises :class:`NeedSubtree`.
    """
    tree = entry.tree
    if tree is None:
        return [], [], None
    n_pts = tree.n
    mask = entry.mask
    if mask is None:
        budget = 0
    want = k + 1
    kk = want if accept is None else 4 * want  # checks reject an unknown share (often most): start wider
    q0, q1, q2 = q
    while True:
        if kk >= n_pts:
            kk = n_pts
        found, d, rows, pts = tree.query(q0, q1, q2, kk, ub, mask, budget)
        if found < 0:
            raise NeedSubtree
        if found == 0:
            return [], [], None
        exhausted = found < kk or kk == n_pts  # everything eligible within ub is here
        last = d[found - 1]
        if accept is not None:
            keep = accept(rows, d)
            d, rows, pts = d[keep], rows[keep], pts[keep]
        dl, rl = d.tolist(), rows.tolist()
        n_pass = len(dl)
        if exhausted or (n_pass >= k and last > dl[k - 1] * TIE_REL):
            break
        kk *= 4
    for j in range(min(n_pass - 1, k)):
        if dl[j + 1] <= dl[j] * TIE_REL:  # a tie, e.g. duplicate positions: order by metres, then row
            dl, rl = order_ties(dl, rl)
            return dl[:k], rl[:k], None
    return dl[:k], rl[:k], pts[:k].tolist()


def search_plain(entry: Entry, q: tuple[float, float, float], k: int, ub: float
                 ) -> tuple[list[float], list[int], list | None]:
    """:func:`search` for an entry without mask or check: one tree query in the usual case.

    Unlike :func:`search`, stations tied *among* the first ``k`` may come in tree order;
    ``StationIndex._hits`` puts equal distances in row order.
    """
    tree = entry.tree
    if tree is None or k >= tree.n:
        return search(entry, q, k, ub)
    first = first_k(*tree.query(q[0], q[1], q[2], k + 1, ub), k)
    return search(entry, q, k, ub) if first is None else first


def first_k(found: int, d: np.ndarray, rows: np.ndarray, pts: np.ndarray, k: int
            ) -> tuple[list[float], list[int], list] | None:
    """The first ``k`` of a tree query for ``k + 1`` as (chords, rows, unit vectors) lists;
    None when the query gave up (``found < 0``) or the (k+1)-th ties the k-th (then all the
    tied stations must be fetched). Fewer than ``k + 1`` found within the bound: these are
    all. Ties among the first ``k`` change only their order: ``StationIndex._hits`` sorts
    equal metres by row."""
    if found < 0 or (found == k + 1 and d[k] <= d[k - 1] * TIE_REL):
        return None
    return d[:k].tolist(), rows[:k].tolist(), pts[:k].tolist()


def order_ties(dl: list[float], rl: list[int]) -> tuple[list[float], list[int]]:
    """Sort (chord, row) pairs by the metres reported, then row. Chords a few ulps apart can
    round to the same metres: those count as tied too (the search fetched them all)."""
    pairs = sorted(zip(dl, rl), key=lambda p: (chord_to_m1(p[0]), p[1]))
    return [p[0] for p in pairs], [p[1] for p in pairs]
