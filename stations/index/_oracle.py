"""The brute-force oracle: every station's haversine distance, every filter checked directly.

Shares nothing with the index but the record conventions: no unit vectors, no bit masks,
no weekly slot tables. Distances come from :func:`stations.geo.haversine_m`, opening
states from :func:`stations.hours.state_at`, precision from
:func:`stations.records.needs_review`. Tests compare the index with it; the benchmark times
it as the "scan everything" baseline.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone as _tz
from typing import Any, Iterable

import numpy as np

from ._station_index import DEFAULT_CIRCUITY, Hit


def _column(stations: Any, name: str) -> np.ndarray | None:
    """A column as an array, or None when the table has no such column."""
    present = name in stations.columns if hasattr(stations, "columns") else name in stations
    if not present:
        return None
    values = stations[name]
    return values.to_numpy() if hasattr(values, "to_numpy") else np.asarray(values)


def _per_value(values: np.ndarray, fn) -> np.ndarray:
    """``fn`` of each value, evaluated once per distinct value (None for missing)."""
    import pandas as pd

    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    table = np.array([fn(u) for u in uniques] + [fn(None)], dtype=bool)
    return table[codes]


def _in(values: np.ndarray | None, allowed: Iterable[str] | None, absent: str) -> np.ndarray | bool:
    """Whether each value is allowed (``absent`` stands for every value of a missing column)."""
    if allowed is None:
        return True
    allowed = (allowed,) if isinstance(allowed, str) else tuple(allowed)
    if values is None:
        return absent in allowed
    return np.isin(values.astype(object), np.array(allowed, dtype=object))


def nearest_bruteforce(
    stations: Any,
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
    """:meth:`StationIndex.nearest` by scanning every station (for tests and benchmarks).

    Parameters
    ----------
    stations : pandas.DataFrame or mapping of column name to array
        Columns as in :meth:`StationIndex.from_frame` (``lat``, ``lon`` required; absent
        ``status``/``access``/``geocode_precision`` mean ``"open"``/``"everyone"``/``"exact"``;
        amenity columns may be ``"yes"``/``"no"``/``"unknown"`` or booleans).
    lat, lon, k, amenities, open_at, arrival_speed_m_s, circuity, open_24h, statuses, access, \
max_distance_m, include_imprecise
        As in :meth:`StationIndex.nearest` (not validated here).

    Returns
    -------
    list of Hit
        Sorted by haversine distance, then row; at most ``k``.
    """
    from .. import hours
    from ..geo import bearing_deg, haversine_m
    from ..records import DEFAULT_TIMEZONE, needs_review

    slat = np.asarray(stations["lat"], dtype=np.float64)
    slon = np.asarray(stations["lon"], dtype=np.float64)
    ok = ~(np.isnan(slat) | np.isnan(slon))
    dist = np.where(ok, haversine_m(lat, lon, np.where(ok, slat, 0.0), np.where(ok, slon, 0.0)), np.inf)
    ok &= _in(_column(stations, "status"), statuses, "open")
    ok &= _in(_column(stations, "access"), access, "everyone")
    for code in ([amenities] if isinstance(amenities, str) else amenities):
        col = _column(stations, f"amenity_{code}")
        ok &= False if col is None else col if col.dtype == bool else (col == "yes")
    precision = _column(stations, "geocode_precision")
    if not include_imprecise and precision is not None:
        ok &= _per_value(precision, lambda p: not needs_review(p))
    if max_distance_m is not None:
        ok &= dist <= max_distance_m
    oh_col, tz_col = _column(stations, "opening_hours"), _column(stations, "timezone")

    def oh(r: int) -> str | None:
        o = None if oh_col is None else oh_col[r]
        return None if o is None or o != o else str(o)

    def tz(r: int) -> str:
        z = None if tz_col is None else tz_col[r]
        return DEFAULT_TIMEZONE if z is None or z != z else str(z)

    if open_24h is not None:
        ok &= _per_hours(oh_col, tz_col, DEFAULT_TIMEZONE, lambda o, z: hours.is_24_7(o, tz=z) == open_24h)
    if open_at is not None and arrival_speed_m_s is None:
        ok &= _per_hours(oh_col, tz_col, DEFAULT_TIMEZONE, lambda o, z: hours.state_at(o, open_at, z) == "open")
    rows = np.flatnonzero(ok)
    rows = rows[np.lexsort((rows, dist[rows]))]  # by distance, then row
    if arrival_speed_m_s is not None:  # each station at its own arrival time, nearest first
        start = open_at if open_at is not None else datetime.now(_tz.utc)
        passed: list[int] = []
        for r in rows:
            if len(passed) >= k and dist[r] > dist[passed[-1]]:
                break
            arrival = start + timedelta(seconds=float(dist[r]) * circuity / arrival_speed_m_s)
            if hours.state_at(oh(r), arrival, tz(r)) == "open":
                passed.append(int(r))
        rows = np.array(passed, dtype=np.int64)
    rows = rows[:k]
    ids = _column(stations, "station_id")
    bearings = bearing_deg(lat, lon, slat[rows], slon[rows]) if len(rows) else []
    return [Hit(int(r), str(r) if ids is None else ids[r], float(dist[r]), float(b))
            for r, b in zip(rows, bearings)]


def _per_hours(oh_col: np.ndarray | None, tz_col: np.ndarray | None, default_tz: str, fn) -> np.ndarray | bool:
    """``fn(opening_hours or None, timezone)`` per station, evaluated once per distinct pair."""
    import pandas as pd

    if oh_col is None:
        return fn(None, default_tz)
    oh_codes, oh_values = pd.factorize(np.asarray(oh_col, dtype=object), use_na_sentinel=True)
    if tz_col is None:
        tz_codes, tz_values = np.full(len(oh_codes), -1), []
    else:
        tz_codes, tz_values = pd.factorize(np.asarray(tz_col, dtype=object), use_na_sentinel=True)
    tz_values = [str(z) for z in tz_values] + [default_tz]
    n_tz = len(tz_values)
    codes, combos = pd.factorize((oh_codes + 1) * n_tz + np.where(tz_codes < 0, n_tz - 1, tz_codes))
    table = np.array([fn(None if c < n_tz else str(oh_values[c // n_tz - 1]), tz_values[c % n_tz]) for c in combos],
                     dtype=bool)
    return table[codes]
