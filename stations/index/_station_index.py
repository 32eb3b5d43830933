"""StationIndex: exact great-circle k-nearest stations with filters."""

from __future__ import annotations

import math
import threading
from collections import deque
from datetime import datetime, timedelta, timezone as _tz
from typing import Any, Iterable, Mapping, NamedTuple, Sequence

import numpy as np

from ..amenities import AMENITY_CODES
from ._filters import StaticFilter, query_problems, raise_problems, static_filter, validate_k
from ._geometry import EARTH_RADIUS_M, Basis, chord_to_m, m_to_chord, search_radius_chord, spatial_order, unit_vectors
from ._hours import MIXED, OPEN, Snapshot, time_key
from ._search import PROMOTE_AFTER, TIE_REL, EntryCache, NeedSubtree, build_tree, make_entry, order_ties, search, search_plain
from ._table import StationTable, build_table

DEFAULT_MAX_K = 100
DEFAULT_CIRCUITY = 1.3
DEFAULT_CACHE_BYTES = 256 * 2**20
# Time windows tried, in turn, for "open on arrival" (seconds); see StationIndex.nearest.
ARRIVAL_WINDOWS_S = (900.0, 3600.0, 4 * 3600.0, 16 * 3600.0, 3 * 86400.0, 7 * 86400.0, 28 * 86400.0, math.inf)
_MAX_STATIC_KEYS = 4096
_SNAPSHOTS_KEPT = 4
_SNAPSHOT_WINDOWS_KEPT = 256
_TWO_R = 2.0 * EARTH_RADIUS_M
INF = math.inf
_DEG = 180.0 / math.pi


class Hit(NamedTuple):
    """One station found: its row in the indexed data, id, distance and bearing from the query.

    ``distance_m`` is the great-circle distance in metres (sphere of radius
    6,371,008.8 m, as :func:`stations.coords.haversine_m`); ``bearing_deg`` the initial
    great-circle bearing from the query point to the station, degrees clockwise from north
    in [0, 360), 0 when they coincide.
    """

    row: int
    station_id: str
    distance_m: float
    bearing_deg: float


class StationIndex:
    """An in-memory index of stations for exact, filtered great-circle k-nearest queries.

    Positions become 3-D unit vectors in a k-d tree (:mod:`scipy.spatial.cKDTree`); chord
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
        Largest ``k`` a query may ask for (setting ``max_k``).
    cache_bytes : int
        Memory bound of the filtered sub-trees and masks kept between queries (LRU).
    """

    def __init__(self, table: StationTable, *, max_k: int = DEFAULT_MAX_K, cache_bytes: int = DEFAULT_CACHE_BYTES):
        self.table = table
        self.max_k = int(max_k)
        rows = table.located_rows
        self._xyz_located = table.xyz if rows is None else table.xyz[rows]
        self._main = build_tree(self._xyz_located)
        self._class_located = table.station_class if rows is None else table.station_class[rows]
        self._cache = EntryCache(cache_bytes)
        self._static: dict[tuple, StaticFilter] = {}
        # (naive?, window) -> the latest snapshots for that window, newest first.
        self._snapshots: dict[tuple[bool, float], deque[Snapshot]] = {}
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []
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

        Raises
        ------
        ValidationError
            Out-of-range coordinates, unknown enumerated values, amenity codes or time zones,
            columns of different lengths; every problem at once.
        """
        table = build_table(lat=lat, lon=lon, station_id=station_id, amenities=amenities,
                            opening_hours=opening_hours, timezone=timezone, access=access, status=status,
                            geocode_precision=geocode_precision)
        return cls(table, max_k=max_k, cache_bytes=cache_bytes)

    @classmethod
    def from_frame(cls, frame: Any, **options: Any) -> "StationIndex":
        """Index a station table (pandas DataFrame with the columns of :mod:`stations.records`).

        Uses ``station_id, lat, lon, geocode_precision, amenity_<code>, opening_hours,
        timezone, access, status``; absent optional columns are treated as in
        :meth:`from_arrays`. Row numbers of hits are positions in ``frame`` (``iloc``).
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
        Open-on-arrival works per time window ``W`` (15 min, 1 h, 4 h, 16 h, 3 days,
        unbounded): the stations open at some moment of ``[open_at, open_at + W]`` are
        searched in distance order within the distance reachable in ``W``, and each
        candidate whose state changes in the window is checked at its own arrival time. If
        fewer than ``k`` pass, the next window is tried. The answer is exact; far from any
        open station it costs more.
        """
        try:
            fast = (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0 and k.__class__ is int and 1 <= k <= self.max_k
                    and lat.__class__ is not bool and lon.__class__ is not bool
                    and (max_distance_m is None or max_distance_m >= 0.0)
                    and (open_at is None or isinstance(open_at, datetime))
                    and (arrival_speed_m_s is None or (0.0 < arrival_speed_m_s < math.inf
                                                       and arrival_speed_m_s.__class__ is not bool))
                    and (circuity == DEFAULT_CIRCUITY or 1.0 <= circuity < math.inf))
        except TypeError:
            fast = False
        skey = (amenities, open_24h, statuses, access, include_imprecise)
        try:
            sf = self._static.get(skey)
        except TypeError:  # lists: make the key hashable
            skey, sf = _hashable(skey), None
            if skey is not None:
                sf = self._static.get(skey)
        if not fast or sf is None:
            raise_problems(query_problems(
                lat=lat, lon=lon, k=k, max_k=self.max_k, amenities=amenities, open_at=open_at,
                arrival_speed_m_s=arrival_speed_m_s, circuity=circuity, open_24h=open_24h, statuses=statuses,
                access=access, max_distance_m=max_distance_m, include_imprecise=include_imprecise))
            lat, lon = float(lat), float(lon)
            if sf is None:
                sf = self._static_filter(skey)
        basis = Basis(lat, lon)
        q = basis.xyz
        ub = INF if max_distance_m is None else search_radius_chord(max_distance_m)
        if arrival_speed_m_s is not None:
            when = open_at if open_at is not None else datetime.now(_tz.utc)
            dl, rl, pts = self._search_arrival(sf, skey, q, k, ub, max_distance_m, when,
                                               float(arrival_speed_m_s), float(circuity))
        else:
            snap = None if open_at is None else self._snapshot(open_at, 0.0)
            # The cache lookup of _search_key, inlined for the common case (a warm tree).
            cached = self._cache.entries
            key = sf.key if snap is None else (sf.key, snap.key, OPEN)
            entry = cached.get(key)
            if entry is not None and entry.mask is None:
                self._cache.hits += 1
                try:
                    cached.move_to_end(key)
                except KeyError:  # evicted meanwhile by another thread
                    pass
                dl, rl, pts = search_plain(entry, q, k, ub)
            else:
                dl, rl, pts = self._search_key(sf, skey, snap, q, k, ub)
        return self._hits(basis, dl, rl, pts, max_distance_m)

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
        """
        from ..coords import validate_lat_lon

        lats = np.asarray(lats, dtype=np.float64).ravel()
        lons = np.asarray(lons, dtype=np.float64).ravel()
        problems = validate_k(k, self.max_k)
        if lats.shape != lons.shape:
            from ..errors import Problem

            problems.append(Problem("lons", len(lons), "not as many longitudes as latitudes", f"{len(lats)} values"))
        else:
            problems += validate_lat_lon(lats, lons)[:10]
        raise_problems(problems)
        m = len(lats)
        rows = np.full((m, k), -1, dtype=np.int64)
        dist = np.full((m, k), np.inf)
        if filters.get("arrival_speed_m_s") is not None:
            for j in range(m):
                hits = self.nearest(lat=float(lats[j]), lon=float(lons[j]), k=k, **filters)
                rows[j, :len(hits)] = [h.row for h in hits]
                dist[j, :len(hits)] = [h.distance_m for h in hits]
            return rows, dist
        # Validate the filters once, through the single-point path's checks.
        if m:
            self.nearest(lat=float(lats[0]), lon=float(lons[0]), k=k, **filters)
        entry = self._batch_entry(**filters)
        if entry.tree is None or m == 0:
            return rows, dist
        order = spatial_order(lats, lons)
        max_distance_m = filters.get("max_distance_m")
        tree = entry.tree
        kk = min(k + 1, tree.n)
        d, i = tree.query(unit_vectors(lats[order], lons[order]), k=[*range(1, kk + 1)],
                          distance_upper_bound=search_radius_chord(max_distance_m), workers=-1)
        found = d < INF
        # Ties (e.g. duplicate positions) decide membership or order: redo those points exactly.
        tie = ((d[:, 1:] <= d[:, :-1] * TIE_REL) & found[:, 1:]).any(axis=1) if kk > 1 else np.zeros(m, bool)
        kept = min(k, kk)
        d, i, found = d[:, :kept], i[:, :kept], found[:, :kept]
        dist_m = np.minimum(d * 0.5, 1.0)
        np.arcsin(dist_m, out=dist_m)
        dist_m *= 2.0 * EARTH_RADIUS_M
        if max_distance_m is not None:
            found &= dist_m <= max_distance_m
        dist_m[~found] = np.inf
        r = i if entry.rows is None else entry.rows.take(i, mode="clip")
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
        """Build now what queries with these filters will search, on the fastest path.

        Without it, the first query of a filter builds its structure (a sub-tree: milliseconds
        for rare filters, ~0.3 s for common ones at a million stations), and a common filter
        runs on a mask until it has served ``PROMOTE_AFTER`` queries. Call at start-up for the
        filters a service expects (the defaults, "open now"). Also waits for background
        sub-tree builds in progress. Arguments as in :meth:`nearest` (validated the same way).
        """
        self.nearest(lat=0.0, lon=0.0, k=1, amenities=amenities, open_at=open_at, open_24h=open_24h,
                     statuses=statuses, access=access, include_imprecise=include_imprecise)
        skey = _hashable((amenities, open_24h, statuses, access, include_imprecise))
        sf = self._static.get(skey) or self._static_filter(skey)
        snap = None if open_at is None else self._snapshot(open_at, 0.0)
        key = sf.key if snap is None else (sf.key, snap.key, OPEN)
        entry = self._entry(sf, skey, snap)
        if entry.kind == "mask":
            self._promote(key, entry, wait=True)
        self.wait_for_builds()

    def wait_for_builds(self) -> None:
        """Block until the sub-trees being built in the background are in place."""
        with self._lock:
            workers = list(self._workers)
        for worker in workers:
            worker.join()

    def cache_info(self) -> dict[str, int]:
        """Counters of the filtered-structure cache (entries, bytes, hits, misses, builds, evictions)."""
        c = self._cache
        return {"entries": len(c), "bytes": c.nbytes, "hits": c.hits, "misses": c.misses, "builds": c.builds,
                "evictions": c.evictions}

    # ---------------------------------------------------------------------- internals

    def _static_filter(self, skey: tuple) -> StaticFilter:
        amenities, open_24h, statuses, access, include_imprecise = skey
        as_t = (lambda v: None if v is None else ((v,) if isinstance(v, str) else tuple(v)))
        sf = static_filter(self.table, as_t(amenities) or (), open_24h, as_t(statuses), as_t(access),
                           bool(include_imprecise))
        with self._lock:
            if len(self._static) >= _MAX_STATIC_KEYS:
                self._static.clear()
            self._static[skey] = sf
        return sf

    def _snapshot(self, when: datetime, window_s: float) -> Snapshot:
        """Labels for ``[when, when + window_s]``: a kept snapshot still valid then, or a new one."""
        naive = when.tzinfo is None
        tkey = time_key(when)
        kept = self._snapshots.get((naive, window_s))
        if kept is None:
            with self._lock:
                if len(self._snapshots) > _SNAPSHOT_WINDOWS_KEPT:
                    self._snapshots.clear()
                kept = self._snapshots.setdefault((naive, window_s), deque(maxlen=_SNAPSHOTS_KEPT))
        for snap in tuple(kept):
            if snap.valid_from <= tkey < snap.valid_until:
                return snap
        snap = self.table.hours.snapshot(when, window_s)
        kept.appendleft(snap)
        return snap

    def _entry(self, sf: StaticFilter, skey: tuple, snap: Snapshot | None, part: int = OPEN, *,
               force_subtree: bool = False):
        """The structure of the stations passing ``sf`` whose label in ``snap`` is ``part``."""
        key = sf.key if snap is None else (sf.key, snap.key, part)
        entry = self._cache.get(key)
        if entry is not None and not (force_subtree and entry.kind == "mask"):
            if entry.kind == "mask":
                entry.uses += 1
                if entry.uses == PROMOTE_AFTER:
                    self._promote(key, entry)
            return entry
        table = self.table
        class_ok = sf.class_ok
        if snap is not None:
            class_ok = class_ok & (snap.labels[table.class_pattern] == part)
        count = int(table.class_count[class_ok].sum())
        eligible = None if count in (0, self._main.n) else class_ok[self._class_located]
        entry = make_entry(self._main, table.located_rows, self._xyz_located, eligible, count,
                           force_subtree=force_subtree)
        self._cache.put(key, entry)
        return entry

    def _promote(self, key, entry, *, wait: bool = False) -> None:
        """Build a sub-tree for a hot mask entry in the background and swap it in."""
        def build() -> None:
            subtree = make_entry(self._main, self.table.located_rows, self._xyz_located, entry.mask, entry.count,
                                 force_subtree=True, background=not wait)
            self._cache.swap(key, entry, subtree)

        if wait:
            build()
            return
        worker = threading.Thread(target=build, name="stations-index-promote", daemon=True)
        with self._lock:
            self._workers = [w for w in self._workers if w.is_alive()] + [worker]
        worker.start()

    def _search_key(self, sf, skey, snap, q, k, ub, part=OPEN, accept=None):
        entry = self._entry(sf, skey, snap, part)
        try:
            return search(entry, q, k, ub, accept)
        except NeedSubtree:
            return search(self._entry(sf, skey, snap, part, force_subtree=True), q, k, ub, accept)

    def _batch_entry(self, *, k: int = 5, amenities=(), open_at=None, arrival_speed_m_s=None,
                     circuity=DEFAULT_CIRCUITY, open_24h=None, statuses=("open",), access=None, max_distance_m=None,
                     include_imprecise=False):
        skey = _hashable((amenities, open_24h, statuses, access, include_imprecise))
        sf = self._static.get(skey) or self._static_filter(skey)
        snap = None if open_at is None else self._snapshot(open_at, 0.0)
        entry = self._entry(sf, skey, snap)
        if entry.kind == "mask":  # vectorised queries need a tree of just the eligible stations
            entry = self._entry(sf, skey, snap, force_subtree=True)
        if entry.rows is None and entry.tree is not None and self.table.located_rows is not None:
            raise AssertionError("unmapped tree over a partly located table")  # pragma: no cover
        return entry

    def _search_arrival(self, sf, skey, q, k, ub, max_distance_m, when, speed, circuity):
        """Open on arrival, band by band; see the Notes of :meth:`nearest`.

        Band ``j`` holds the stations whose arrival time falls in ``[W_{j-1}, W_j)`` after
        ``when``, i.e. at chord distances ``[r_{j-1}, r_j)``. Its snapshot labels the
        patterns for that arrival window: (A) open throughout need no check; (B) those
        changing inside it are checked one by one at their own arrival time, and only up to
        A's k-th distance. Stations found in a band are nearer than any in the next band,
        so bands are searched until ``k`` are found. Far from everything, the bands nearer
        than the nearest station passing the static filters are skipped.
        """
        hours = self.table.hours
        pattern_of, station_class = self.table.class_pattern, self.table.station_class
        per_m = circuity / speed  # seconds of travel per metre of great-circle distance
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
            snap = self._snapshot(when + timedelta(seconds=w_lo), w_hi - w_lo)

            def accept(rows: np.ndarray, chord: np.ndarray, r_lo=r_lo, w_lo=w_lo, w_hi=w_hi,
                       check_all: bool = False) -> np.ndarray:
                keep = chord >= r_lo  # nearer ones belong to earlier bands
                travel_s = (2.0 * EARTH_RADIUS_M * per_m) * np.arcsin(np.minimum(chord * 0.5, 1.0))
                # Labels hold for arrivals inside the band; rounding can put one just outside.
                check = keep if check_all else keep & ((travel_s < w_lo) | (travel_s > w_hi))
                if check.any():
                    idx = np.flatnonzero(check)
                    patterns = pattern_of.take(station_class.take(rows.take(idx)))
                    keep[idx] = hours.open_on_arrival(patterns, when, travel_s.take(idx))
                return keep

            need = k - len(found)
            da, ra, _ = self._search_key(sf, skey, snap, q, need, r_hi, OPEN, None if r_lo == 0.0 else accept)
            bound = math.nextafter(da[need - 1], math.inf) if len(da) == need else r_hi
            db, rb, _ = self._search_key(sf, skey, snap, q, need, bound, MIXED,
                                         lambda rows, chord: accept(rows, chord, check_all=True))
            if db:
                da, ra = order_ties(da + db, ra + rb)
            found += list(zip(da, ra))[:need]
            if len(found) >= k or last_band:
                break
            if not found and not skipped:
                skipped = True
                nearest_static, _, _ = self._search_key(sf, skey, None, q, 1, ub)
                if not nearest_static:
                    break  # nothing passes the static filters within reach
                while not band_end(j + 1)[2] and band_end(j + 1)[1] <= nearest_static[0]:
                    j += 1  # bands nearer than any candidate are empty
                w_hi, r_hi, _ = band_end(j)
            r_lo, w_lo, j = r_hi, w_hi, j + 1
        return [d for d, _ in found], [r for _, r in found], None

    def _hits(self, basis: Basis, dl: list[float], rl: list[int], pts: list | None,
              max_distance_m: float | None) -> list[Hit]:
        """Hits from chord distances, rows and unit vectors (looked up if None); inlined loop."""
        if not rl:
            return []
        if pts is None:
            pts = self._xyz.take(rl, axis=0).tolist()
        ids = self._ids
        x, y, z, ex, ey = basis.x, basis.y, basis.z, basis.ex, basis.ey
        nx, ny, nz = basis.nx, basis.ny, basis.nz
        limit = math.inf if max_distance_m is None else max_distance_m
        asin, atan2, new = math.asin, math.atan2, tuple.__new__
        out = []
        for c, row, (px, py, pz) in zip(dl, rl, pts):
            half = c * 0.5
            dist_m = _TWO_R * asin(half if half < 1.0 else 1.0)
            if dist_m > limit:
                break
            # Bearing: see Basis.bearing_deg.
            dx, dy, dz = px - x, py - y, pz - z
            b = atan2(dx * ex + dy * ey, dx * nx + dy * ny + dz * nz) * _DEG
            if b < 0.0:
                b += 360.0
                if b >= 360.0:
                    b = 0.0
            out.append(new(Hit, (row, str(row) if ids is None else ids[row], dist_m, b)))
        return out


def _hashable(skey: tuple) -> tuple | None:
    """The static-filter key with lists made tuples; None if still unhashable (invalid values)."""
    out = tuple(a if a is None or isinstance(a, (str, bool)) else tuple(a) for a in skey)
    try:
        hash(out)
    except TypeError:
        return None
    return out

