"""Open on arrival: each station must be open when the traveller gets there.

The arrival time grows with distance (``when + distance_m * circuity / speed``), so no
single "open at t" set answers the query.

In the usual case (one time zone without daylight saving, weekly hours: China) the k-d
tree of the static filter checks each station it meets at its own arrival minute, inside
the compiled search (:meth:`._kdtree.KDTree.query_open`): one pass, nearest first. When
that would look at more than the index's budget of points (``budget_points``: most are
closed on arrival near the query), or for other hours, the bands below answer.

The general search goes outwards in bands of travel time
(:data:`ARRIVAL_WINDOWS_S`): band ``j`` holds the stations reached in ``[W_{j-1}, W_j)``,
i.e. at chord distances ``[r_{j-1}, r_j)``. A snapshot labels every opening-hours
pattern for that arrival window:

* (A) open throughout the window: no check needed; a plain filtered search (cached
  sub-tree or mask, like "open at t").
* (B) changing inside the window: searched only up to A's k-th distance, each candidate
  checked at its own arrival time (:meth:`._hours.HoursTable.open_on_arrival`).

Stations found in a band are nearer than any in later bands, so the bands stop as soon as
``k`` are found. Far from everything, the bands nearer than the nearest station passing the
static filters are skipped. The answer is exact; near opening and closing times B has
candidates to check, and that costs more.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np

from ._filters import StaticFilter
from ._geometry import EARTH_RADIUS_M, m_to_chord
from ._hours import MIXED, OPEN
from ._search import first_k, order_ties
from ._structures import Structures

# Ends of the travel-time bands, seconds after departure.
ARRIVAL_WINDOWS_S = (900.0, 3600.0, 4 * 3600.0, 16 * 3600.0, 3 * 86400.0, 7 * 86400.0, 28 * 86400.0, math.inf)


def search_weekly(structs: Structures, sf: StaticFilter, q: tuple[float, float, float], k: int, ub: float,
                  when: datetime, per_m: float) -> tuple[list[float], list[int], list | None] | None:
    """The k nearest open on arrival, by the compiled search; None when the bands must answer."""
    hours = structs.table.hours
    weekly = hours.weekly()
    if weekly is None:
        return None
    entry = structs.entry(sf, None)
    if entry.tree is None:
        return [], [], None
    # None when more than the budget were closed on arrival, or on a tie at k.
    return first_k(*entry.tree.query_open(q[0], q[1], q[2], k + 1, ub, entry.mask, structs.budget,
                                          weekly, hours.departure_s(when), 2.0 * EARTH_RADIUS_M * per_m), k)


def search_arrival(structs: Structures, sf: StaticFilter, q: tuple[float, float, float], k: int, ub: float,
                   max_distance_m: float | None, when: datetime, speed_m_s: float, circuity: float
                   ) -> tuple[list[float], list[int], list | None]:
    """(chord distances, rows, unit vectors or None) of the k nearest stations open on arrival."""
    per_m = circuity / speed_m_s  # seconds of travel per metre of great-circle distance
    quick = search_weekly(structs, sf, q, k, ub, when, per_m)
    if quick is not None:
        return quick
    hours = structs.table.hours
    pattern_of, station_class = structs.table.class_pattern, structs.table.station_class
    reach_s = math.inf if max_distance_m is None else max_distance_m * per_m

    def band_end(j: int) -> tuple[float, float, bool]:
        w_hi = min(ARRIVAL_WINDOWS_S[j], reach_s)
        last = w_hi >= reach_s
        # Not widened (unlike max_distance_m): the labels hold only up to the window's end.
        return w_hi, (ub if last else min(ub, m_to_chord(w_hi / per_m))), last

    found: list[tuple[float, int]] = []
    r_lo, w_lo, j, skipped = 0.0, 0.0, 0, False
    while True:
        w_hi, r_hi, last_band = band_end(j)
        snap = structs.snapshot(when + timedelta(seconds=w_lo) if w_lo else when, w_hi - w_lo)

        def accept(rows: np.ndarray, chord: np.ndarray, r_lo=r_lo, w_lo=w_lo, w_hi=w_hi,
                   check_all: bool = False) -> np.ndarray:
            keep = chord >= r_lo  # nearer ones belong to earlier bands
            travel_s = (2.0 * EARTH_RADIUS_M * per_m) * np.arcsin(np.minimum(chord * 0.5, 1.0))
            # A's labels hold for arrivals inside the band; rounding can put one just outside.
            check = keep if check_all else keep & ((travel_s < w_lo) | (travel_s > w_hi))
            if check.any():
                idx = check.nonzero()[0]
                patterns = pattern_of.take(station_class.take(rows.take(idx)))
                keep[idx] = hours.open_on_arrival(patterns, when, travel_s.take(idx))
            return keep

        need = k - len(found)
        da, ra, pa = structs.search(sf, snap, q, need, r_hi, OPEN, None if r_lo == 0.0 else accept)
        bound = math.nextafter(da[need - 1], math.inf) if len(da) == need else r_hi
        db, rb, _ = structs.search(sf, snap, q, need, bound, MIXED,
                                   lambda rows, chord: accept(rows, chord, check_all=True))
        if not db and not found and len(da) == k:  # the usual case: band 1's A has them all
            return da, ra, pa
        if db:
            da, ra = order_ties(da + db, ra + rb)
        found += list(zip(da, ra))[:need]
        if len(found) >= k or last_band:
            break
        if not found and not skipped:
            skipped = True
            nearest_static, _, _ = structs.search(sf, None, q, 1, ub)
            if not nearest_static:
                break  # nothing passes the static filters within reach
            while not band_end(j + 1)[2] and band_end(j + 1)[1] <= nearest_static[0]:
                j += 1  # bands nearer than any candidate are empty
            w_hi, r_hi, _ = band_end(j)
        r_lo, w_lo, j = r_hi, w_hi, j + 1
    return [d for d, _ in found], [r for _, r in found], None
