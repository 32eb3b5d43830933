"""StationIndex: exact great-circle k-nearest stations with filters."""

from __future__ import annotations

import math
from datetime import datetime, timezone as _tz
from typing import Any, Iterable, Mapping, NamedTuple, Sequence

import numpy as np

from ..amenities import AMENITY_CODES
from ..errors import Problem
from ._arrival import search_arrival
from ._filters import FilterKey, filter_key, query_problems, raise_problems, validate_k
from ..travel import DEFAULT_CIRCUITY
from ._geometry import EARTH_RADIUS_M, search_radius_chord, spatial_order, unit_vectors
from ._search import BUDGET_POINTS, TIE_REL
from ._structures import Structures
from ._table import StationTable, build_table

DEFAULT_MAX_K = 100  # the setting max_k's default too (stations.config)
DEFAULT_CACHE_BYTES = 256 * 2**20
INF = math.inf
_TWO_R = 2.0 * EARTH_RADIUS_M
_DEG = 180.0 / math.pi
_RAD = math.pi / 180.0
_sin, _cos = math.sin, math.cos


def _filter_key_of(filters: Mapping[str, Any]) -> FilterKey | None:
    """:func:`filter_key` of :meth:`StationIndex.nearest` keyword arguments (defaults filled in)."""
    return filter_key(filters.get("amenities", ()), filters.get("open_24h"), filters.get("statuses", ("open",)),
                      filters.get("access"), filters.get("include_imprecise", False))


class Hit(NamedTuple):
    """One station found: its row in the indexed data, id, distance and bearing from the query.

    ``distance_m`` is the great-circle distance in metres (sphere of radius
    6,371,008.8 m, as :func:`stations.geo.haversine_m`); ``bearing_deg`` the initial
    great-circle bearing from the query point to the station, degrees clockwise from north
    in [0, 360), 0 when they coincide.
    """

    row: int
    station_id: str
    distance_m: float
    bearing_deg: float


class StationIndex:
    """An in-memory index of stations for exact, filtered great-circle k-nearest queries.

    Positions become 3-D unit vectors in a k-d tree (:mod:`._kdtree`); chord
    length is monotonic in great-circle distance, so the order is exact, unlike k-nearest
    on raw degrees or on a planar projection. Stations without a position (NaN) are kept
    (row numbers stay those of the input) but never found.

    Build with :meth:`from_frame` (a station table, columns of :mod:`stations.records`) or
    :meth:`from_arrays`. The index is read-only: rebuild it when the store changes. It is
    safe to query from several threads.

    Parameters
    ----------
    table : StationTable
        Made by :meth:`from_frame` / :meth:`from_arrays`.
    max_k : int
        Largest ``k`` a query may ask for (setting ``max_k``; default 100); any whole
        number >= 1. A query's cost grows about linearly with ``k``.
    cache_bytes : int
        Memory bound of the filtered sub-trees and masks kept between queries (LRU).
    budget_points : int
        Stations a search on a mask (a common filter) may look at before the filter gets a
        k-d tree of its own, and the compiled open-on-arrival search before it goes by
        bands of travel time (default 4096; >= 1). Only speed depends on it, never answers.

    Raises
    ------
    ValidationError
        ``max_k`` or ``budget_points`` not a whole number >= 1.
    """

    def __init__(self, table: StationTable, *, max_k: int = DEFAULT_MAX_K, cache_bytes: int = DEFAULT_CACHE_BYTES,
                 budget_points: int = BUDGET_POINTS):
        problems = [Problem(name, value, "not a whole number >= 1", "an integer >= 1")
                    for name, value in (("max_k", max_k), ("budget_points", budget_points))
                    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1]
        if problems:
            raise_problems(problems, what="station index")
        self.table = table
        self.max_k = int(max_k)
        self._s = Structures(table, cache_bytes, int(budget_points))
        self._static = self._s.static  # read directly by the query hot path
        self._xyz = table.xyz
        # A list: indexing one is several times cheaper than a numpy object array.
        self._ids = None if table.station_id is None else table.station_id.tolist()

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_arrays(
        cls,
        lat: Any,
        lon: Any,
        *,
        station_id: Any = None,
        amenities: Mapping[str, Any] | None = None,
        opening_hours: Sequence[str | None] | None = None,
        timezone: Any = None,
        access: Any = None,
        status: Any = None,
        geocode_precision: Any = None,
        max_k: int = DEFAULT_MAX_K,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        budget_points: int = BUDGET_POINTS,
    ) -> "StationIndex":
        """Index columns given as arrays, one value per station.

        Parameters
        ----------
        lat, lon : array_like of float
            WGS-84 degrees; NaN for a station without a position.
        station_id : array_like of str, optional
            Default: the row numbers, as text.
        amenities : mapping of amenity code to array_like, optional
            ``"yes"``/``"no"``/``"unknown"`` strings, or booleans meaning "yes". Only
            "yes" satisfies a required amenity. Unnamed amenities are never "yes".
        opening_hours : sequence of str or None, optional
            OSM ``opening_hours``; ``None`` = unknown (never matches an "open" filter).
            Not given: every station's hours are unknown.
        timezone, access, status, geocode_precision : array_like of str, optional
            As in :mod:`stations.records`. Not given: ``"Asia/Shanghai"``, ``"everyone"``,
            ``"open"`` and ``"exact"`` for every station. A missing value in a given
            column matches no filter on that column (a missing precision needs review).
        max_k, cache_bytes, budget_points
            As in :class:`StationIndex`.

        Raises
        ------
        ValidationError
            Out-of-range coordinates, unknown enumerated values, amenity codes or time zones,
            columns of different lengths; every problem at once.
        """
        table = build_table(lat=lat, lon=lon, station_id=station_id, amenities=amenities,
                            opening_hours=opening_hours, timezone=timezone, access=access, status=status,
                            geocode_precision=geocode_precision)
        return cls(table, max_k=max_k, cache_bytes=cache_bytes, budget_points=budget_points)

    @classmethod
    def from_frame(cls, frame: Any, **options: Any) -> "StationIndex":
        """Index a station table (pandas DataFrame with the columns of :mod:`stations.records`).

        Uses ``station_id, lat, lon, geocode_precision, amenity_<code>, opening_hours,
        timezone, access, status``; absent optional columns are treated as in
        :meth:`from_arrays`. Row numbers of hits are positions in ``frame`` (``iloc``).
        ``options`` (``max_k``, ``cache_bytes``, ``budget_points``) go to :meth:`from_arrays`.
        """
        def col(name: str) -> Any:
            return frame[name].to_numpy() if name in frame.columns else None

        amenities = {code: frame[f"amenity_{code}"].to_numpy() for code in AMENITY_CODES
                     if f"amenity_{code}" in frame.columns}
        oh = col("opening_hours")
        if oh is not None:
            oh = np.where(frame["opening_hours"].isna().to_numpy(), None, oh.astype(object))
        return cls.from_arrays(
            frame["lat"].to_numpy(dtype=np.float64, na_value=np.nan),
            frame["lon"].to_numpy(dtype=np.float64, na_value=np.nan),
            station_id=col("station_id"), amenities=amenities, opening_hours=oh, timezone=col("timezone"),
            access=col("access"), status=col("status"), geocode_precision=col("geocode_precision"), **options)

    def __len__(self) -> int:
        return self.table.n_rows

    # ------------------------------------------------------------------------ queries

    def nearest(
        self,
        *,
        lat: float,
        lon: float,
        k: int = 5,
        amenities: Iterable[str] = (),
        open_at: datetime | None = None,
        arrival_speed_m_s: float | None = None,
        circuity: float = DEFAULT_CIRCUITY,
        open_24h: bool | None = None,
        statuses: Iterable[str] | None = ("open",),
        access: Iterable[str] | None = None,
        max_distance_m: float | None = None,
        include_imprecise: bool = False,
    ) -> list[Hit]:
        """The ``k`` stations nearest to a point along the great circle, that pass every filter.

        Parameters
        ----------
        lat, lon : float
            WGS-84 degrees of the query point.
        k : int
            How many stations, 1 to ``max_k``. Fewer come back when fewer pass.
        amenities : iterable of str
            Amenity codes (:data:`stations.amenities.AMENITY_CODES`) the station must all
            have as ``"yes"``.
        open_at : datetime, optional
            Only stations open at this time. Aware: an instant, judged in each station's
            time zone; naive: wall-clock time at each station. Unknown hours never count as
            open. With ``arrival_speed_m_s``, the departure time instead (default: now).
        arrival_speed_m_s : float, optional
            "Open on arrival": each station must be open when the traveller gets there,
            ``open_at + distance_m * circuity / arrival_speed_m_s``.
        circuity : float
            Road distance over straight-line distance for arrival times (>= 1; default 1.3).
        open_24h : bool, optional
            True: only stations open 24/7; False: only those that are not; None: either.
        statuses : iterable of str or None
            Allowed ``status`` values (default only ``"open"``, i.e. in service); None: any.
        access : iterable of str or None
            Allowed ``access`` values (who may use the station); None: any.
        max_distance_m : float, optional
            Only stations at most this far (great-circle metres, inclusive).
        include_imprecise : bool
            Also stations whose position needs review (county-level or coarser geocode,
            :func:`stations.records.needs_review`); excluded by default.

        Returns
        -------
        list of Hit
            Nearest first; stations at exactly the same distance in row order. Empty when
            none pass.

        Raises
        ------
        ValidationError
            NaN or out-of-range ``lat``/``lon``, ``k`` out of range, unknown amenity, status
            or access values, bad times, speeds or distances; all problems at once.

        Notes
        -----
        Open on arrival checks each station the tree search meets at its own arrival minute
        (weekly hours in one time zone without daylight saving: China). Otherwise, or when
        most stations near the query are closed on arrival, it searches outwards in bands of
        travel time (15 min, 1 h, 4 h, 16 h, 3, 7 and 28 days, beyond): within a band,
        stations open throughout its arrival window need no check, and those whose state
        changes inside it are checked at their own arrival time
        (:mod:`stations.index._arrival`). Exact either way. A naive ``open_at`` is
        wall-clock time at each station and the travel time is added to that wall clock.

        The first query of a new filter builds its structure (a k-d tree of the eligible
        stations: milliseconds for rare filters, up to ~0.2 s for common ones at a million
        stations); see :meth:`prepare`.
        """
        # A quick check of the usual arguments; anything odd goes through full validation.
        try:
            fast = (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0 and k.__class__ is int and 1 <= k <= self.max_k
                    and lat.__class__ is not bool and lon.__class__ is not bool)
            if fast and (max_distance_m is not None or open_at is not None or arrival_speed_m_s is not None
                         or circuity != DEFAULT_CIRCUITY):
                fast = ((max_distance_m is None or max_distance_m >= 0.0)
                        and (open_at is None or isinstance(open_at, datetime))
                        and (arrival_speed_m_s is None or (0.0 < arrival_speed_m_s < math.inf
                                                           and arrival_speed_m_s.__class__ is not bool))
                        and 1.0 <= circuity < math.inf)
        except TypeError:
            fast = False
        key = filter_key(amenities, open_24h, statuses, access, include_imprecise)
        try:
            sf = None if key is None else self._static.get(key)  # only validated filters are kept there
        except TypeError:  # an unhashable item: validation names it
            key, sf = None, None
        if not fast or sf is None:
            if key is not None:  # the values as read once (an iterator can be read only once)
                amenities, open_24h, statuses, access, include_imprecise = key
            raise_problems(query_problems(
                lat=lat, lon=lon, k=k, max_k=self.max_k, amenities=amenities, open_at=open_at,
                arrival_speed_m_s=arrival_speed_m_s, circuity=circuity, open_24h=open_24h, statuses=statuses,
                access=access, max_distance_m=max_distance_m, include_imprecise=include_imprecise))
            lat, lon = float(lat), float(lon)
            if sf is None:
                sf = self._s.static_filter(key)
        la, lo = lat * _RAD, lon * _RAD
        sin_la, cos_la, sin_lo, cos_lo = _sin(la), _cos(la), _sin(lo), _cos(lo)
        q = (cos_la * cos_lo, cos_la * sin_lo, sin_la)  # as _geometry.unit_vectors
        ub = INF if max_distance_m is None else search_radius_chord(max_distance_m)
        if arrival_speed_m_s is not None:
            when = open_at if open_at is not None else datetime.now(_tz.utc)
            dl, rl, pts = search_arrival(self._s, sf, q, k, ub, max_distance_m, when, float(arrival_speed_m_s),
                                         float(circuity))
        else:
            snap = None if open_at is None else self._s.snapshot(open_at, 0.0)
            dl, rl, pts = self._s.search(sf, snap, q, k, ub)
        return self._hits(q, sin_la, cos_la, sin_lo, cos_lo, dl, rl, pts, max_distance_m)

    def nearest_batch(self, lats: Any, lons: Any, *, k: int = 5, **filters: Any) -> tuple[np.ndarray, np.ndarray]:
        """k-nearest for many points at once, for planners.

        Parameters
        ----------
        lats, lons : array_like of float
            WGS-84 degrees of the query points (same length ``m``).
        k : int
            Neighbours per point, 1 to ``max_k``.
        **filters
            As in :meth:`nearest`. Static filters and ``open_at`` use a k-d tree over the
            eligible stations and all cores; open-on-arrival answers point by point.

        Returns
        -------
        rows : numpy.ndarray of int64, shape (m, k)
            Station rows, nearest first (ties in row order), ``-1`` where fewer than ``k``.
        distances_m : numpy.ndarray of float64, shape (m, k)
            Great-circle metres, ``inf`` where fewer than ``k``.

        Raises
        ------
        ValidationError
            As :meth:`nearest` (up to ten bad points are named); even when ``m == 0``.
        """
        from ..geo import validate_lat_lon

        key = _filter_key_of(filters)
        if key is not None:  # the values as read once (an iterator can be read only once)
            filters = {**filters, **key._asdict()}
        lats = np.asarray(lats, dtype=np.float64).ravel()
        lons = np.asarray(lons, dtype=np.float64).ravel()
        problems = validate_k(k, self.max_k)
        if lats.shape != lons.shape:
            problems.append(Problem("lons", len(lons), "not as many longitudes as latitudes", f"{len(lats)} values"))
        else:
            problems += validate_lat_lon(lats, lons)[:10]
        raise_problems(problems)
        self.nearest(lat=0.0, lon=0.0, k=k, **filters)  # the filters' problems, if any
        m = len(lats)
        rows = np.full((m, k), -1, dtype=np.int64)
        dist = np.full((m, k), np.inf)
        if filters.get("arrival_speed_m_s") is not None:
            for j in range(m):
                hits = self.nearest(lat=float(lats[j]), lon=float(lons[j]), k=k, **filters)
                rows[j, :len(hits)] = [h.row for h in hits]
                dist[j, :len(hits)] = [h.distance_m for h in hits]
            return rows, dist
        # A tree of exactly the eligible stations: a mask is no good for vectorised queries.
        sf = self._s.static_filter(key)
        open_at = filters.get("open_at")
        snap = None if open_at is None else self._s.snapshot(open_at, 0.0)
        entry = self._s.entry(sf, snap)
        if entry.kind == "mask":
            entry = self._s.entry(sf, snap, force_subtree=True)
        if entry.tree is None or m == 0:
            return rows, dist
        order = spatial_order(lats, lons)
        max_distance_m = filters.get("max_distance_m")
        tree = entry.tree
        kk = min(k + 1, tree.n)
        d, r = tree.query_many(unit_vectors(lats[order], lons[order]), kk, search_radius_chord(max_distance_m))
        found = d < INF
        # Ties (e.g. duplicate positions) decide membership or order: redo those points exactly.
        tie = ((d[:, 1:] <= d[:, :-1] * TIE_REL) & found[:, 1:]).any(axis=1) if kk > 1 else np.zeros(m, bool)
        kept = min(k, kk)
        d, r, found = d[:, :kept], r[:, :kept], found[:, :kept]
        dist_m = np.minimum(d * 0.5, 1.0)
        np.arcsin(dist_m, out=dist_m)
        dist_m *= 2.0 * EARTH_RADIUS_M
        if max_distance_m is not None:
            found &= dist_m <= max_distance_m
        dist_m[~found] = np.inf
        r[~found] = -1
        rows[order, :kept] = r
        dist[order, :kept] = dist_m
        for j in order[np.flatnonzero(tie)]:
            hits = self.nearest(lat=float(lats[j]), lon=float(lons[j]), k=k, **filters)
            rows[j] = -1
            dist[j] = np.inf
            rows[j, :len(hits)] = [h.row for h in hits]
            dist[j, :len(hits)] = [h.distance_m for h in hits]
        return rows, dist

    def prepare(self, *, amenities: Iterable[str] = (), open_at: datetime | None = None, open_24h: bool | None = None,
                statuses: Iterable[str] | None = ("open",), access: Iterable[str] | None = None,
                include_imprecise: bool = False) -> None:
        """Build now the structure that queries with these filters search.

        Without it, the first query of a filter builds it: a k-d tree of the eligible
        stations (milliseconds for rare filters, ~0.2 s for common ones at a million
        stations), or a mask over the main tree (a millisecond or two). Call at start-up for
        the filters a service expects. Arguments as in :meth:`nearest` (validated the same
        way, :class:`ValidationError` if bad); ``open_at`` stands for the open set at that time.
        """
        key = filter_key(amenities, open_24h, statuses, access, include_imprecise)
        if key is not None:  # the values as read once (an iterator can be read only once)
            amenities, open_24h, statuses, access, include_imprecise = key
        self.nearest(lat=0.0, lon=0.0, k=1, amenities=amenities, open_at=open_at, open_24h=open_24h,
                     statuses=statuses, access=access, include_imprecise=include_imprecise)
        self._s.entry(self._s.static_filter(key), None if open_at is None else self._s.snapshot(open_at, 0.0))

    def cache_info(self) -> dict[str, int]:
        """Counters of the filtered-structure cache: entries (of which sub-trees and masks),
        bytes, hits, misses, builds and evictions."""
        c = self._s.cache
        kinds = [e.kind for e in list(c.entries.values())]
        return {"entries": len(kinds), "subtrees": kinds.count("subtree"), "masks": kinds.count("mask"),
                "bytes": c.nbytes, "hits": c.hits, "misses": c.misses, "builds": c.builds, "evictions": c.evictions}

    # ---------------------------------------------------------------------- internals

    def _hits(self, q: tuple[float, float, float], sin_la: float, cos_la: float, sin_lo: float, cos_lo: float,
              dl: list[float], rl: list[int], pts: list | None, max_distance_m: float | None) -> list[Hit]:
        """Hits from chord distances, rows and unit vectors (looked up if None).

        Equal distances come in row order. The loop is inlined: it is a quarter of a query.
        Bearing: the direction of the part of ``p - q`` orthogonal to ``q``, i.e.
        ``atan2((p - q) . east, (p - q) . north)`` with east ``(-sin lon, cos lon, 0)`` and
        north ``(-sin lat cos lon, -sin lat sin lon, cos lat)``; ``p - q`` rather than ``p``
        makes a coincident station exactly 0 and keeps near ones exact.
        """
        if not rl:
            return []
        if pts is None:
            pts = self._xyz.take(rl, axis=0).tolist()
        ids = self._ids
        x, y, z = q
        ex, ey = -sin_lo, cos_lo
        nx, ny, nz = -sin_la * cos_lo, -sin_la * sin_lo, cos_la
        limit = INF if max_distance_m is None else max_distance_m
        asin, atan2, new = math.asin, math.atan2, tuple.__new__
        out = []
        previous, tied = -1.0, False
        for c, row, (px, py, pz) in zip(dl, rl, pts):
            half = c * 0.5
            dist_m = _TWO_R * asin(half if half < 1.0 else 1.0)
            if dist_m > limit:
                break
            tied |= dist_m == previous
            previous = dist_m
            dx, dy, dz = px - x, py - y, pz - z
            b = atan2(dx * ex + dy * ey, dx * nx + dy * ny + dz * nz) * _DEG
            if b < 0.0:
                b += 360.0
                if b >= 360.0:
                    b = 0.0
            out.append(new(Hit, (row, str(row) if ids is None else ids[row], dist_m, b)))
        if tied:
            out.sort(key=lambda h: (h.distance_m, h.row))
        return out
