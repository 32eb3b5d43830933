"""Nearest stations: exact great-circle k-nearest lookup with filters, fast at national scale.

>>> index = StationIndex.from_frame(store.frame())                              # doctest: +SKIP
>>> index.nearest(lat=39.93, lon=119.17, k=5, amenities=["toilet"], open_at=now)  # doctest: +SKIP
[Hit(row=17, station_id='QHD-0042', distance_m=812.4, bearing_deg=231.0), ...]
>>> rows, distances_m = index.nearest_batch(lats, lons, k=2)                     # doctest: +SKIP

Exact
    Stations are unit vectors on the sphere in a k-d tree; chord length orders points
    exactly as great-circle distance does (k-nearest on raw degrees picks the wrong station
    for about 8.5 % of queries across China, planar projections for 1-12 % of k=5
    answers). Distances are great-circle metres on the sphere of
    :func:`stations.geo.haversine_m`. Stations at equal distance come in row order,
    and a tie at the k-th place is decided the same way. :func:`nearest_bruteforce` is the
    oracle the tests compare with.

Filters
    Required amenities (all "yes"), status (default: in service), who may use it, 24/7,
    open at a time, open on arrival, maximum distance; stations whose position needs review
    (county-level geocodes) only when asked. Unknown hours are never "open".

Fast for any filter (``_search``, ``_structures``)
    Static filters are bits per station; "open at t" labels each distinct opening-hours
    pattern (``_hours``). A filter's eligible count is a sum over station classes, and picks
    its structure: the main tree (default filters), the main tree with a mask (common
    filters, at least half of the stations: checked inside the tree's search), or a k-d tree
    of just the eligible stations (rarer filters, and common ones that are locally rare),
    cached LRU and bounded in bytes, keyed on the filter's value (:class:`FilterKey`). A mask
    alone would cost ``1 / selectivity``. Open on arrival is checked inside the tree's search,
    or goes out in bands of travel time (``_arrival``). Nothing is built in the background.

Costs
    :meth:`StationIndex.from_arrays` makes unit vectors, packs the bits, calls the hours
    parser once per distinct ``(opening_hours, timezone)`` and builds the main k-d tree
    (0.2 s for a million stations); filtered sub-trees and masks are built on first use, or
    ahead with :meth:`StationIndex.prepare`. ``benchmarks/bench_nearest.py`` measures the rest.

Modules: ``_geometry`` (sphere maths), ``_table`` (columns to bits and classes),
``_hours`` (opening-hours patterns and time windows), ``_filters`` (query validation and
the filter's value),
``_kdtree`` (the compiled k-d tree), ``_search`` (structures, cache, search loop),
``_structures`` (what a filter searches), ``_arrival`` (open on arrival),
``_station_index`` (the public class), ``_oracle``.
"""

from ._arrival import ARRIVAL_WINDOWS_S
from ._filters import FilterKey
from ._geometry import EARTH_RADIUS_M
from ._oracle import nearest_bruteforce
from ._search import BUDGET_POINTS, MASK_MIN_SELECTIVITY
from ._station_index import DEFAULT_CIRCUITY, DEFAULT_MAX_K, Hit, StationIndex

__all__ = [
    "ARRIVAL_WINDOWS_S",
    "BUDGET_POINTS",
    "DEFAULT_CIRCUITY",
    "DEFAULT_MAX_K",
    "EARTH_RADIUS_M",
    "MASK_MIN_SELECTIVITY",
    "FilterKey",
    "Hit",
    "StationIndex",
    "nearest_bruteforce",
]
