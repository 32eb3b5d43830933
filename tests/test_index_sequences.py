"""Random sequences of different queries on ONE index, every answer checked against the oracle.

The index keeps static filters, open-set snapshots and per-filter sub-trees and masks
between queries; a cache keyed wrongly answers one filter with another filter's stations,
but only when the two are asked in a particular order. So each example builds one index
and asks it a sequence of queries drawn from small pools (filters and times repeat and
mix), comparing every answer with :func:`stations.index.nearest_bruteforce`, which shares
no cache and no bit with the index.

The stations: 300 in three clusters (Beijing, Shanghai, and a grid on the equator whose
neighbours are at exactly equal distances), 15 % at the position of an earlier station,
with every access value (``unknown`` and missing too), status and precision. Two kinds:

* ``weekly``: weekly hours in one time zone, so open on arrival is checked inside the
  compiled tree search;
* ``general``: three zones (one with daylight saving), holidays and seasons, so open on
  arrival goes by bands of travel time and inexact hours are evaluated per pattern.

Both run with the default search budget and with 48 points, at which masked searches and
the compiled open-on-arrival search often give up (the filter then gets a sub-tree, and
arrival goes by bands), and with an entry cache big enough for everything or so small
that entries are evicted all the time. :func:`test_the_sequences_reach_every_path` shows
that the same query pools reach each of those paths.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stations import geo as coords
from stations.index import BUDGET_POINTS, StationIndex, nearest_bruteforce

from index_util import assert_same_up_to_ties, frame

N_STATIONS = 300
CENTRES = ((39.9, 116.4, 0.01), (31.2, 121.5, 0.03))  # lat, lon, spread in degrees
SMALL_BUDGET = 48  # one leaf of the tree (32 points) passes, two may not
SMALL_CACHE = 20_000  # about one sub-tree of these stations: entries are evicted all the time
WEEKLY_HOURS = ("24/7", "Mo-Fr 08:00-18:00", "Mo-Su 08:00-20:00", "Mo-Su 22:00-06:00", "Sa,Su 10:00-14:00",
                "Mo-Su 07:30-08:30", "off", None)
GENERAL_HOURS = WEEKLY_HOURS + ("Mo-Fr 08:00-18:00; PH off", "Jan-Jun Mo-Fr 09:00-17:00")
GENERAL_ZONES = ("Asia/Shanghai", "Asia/Shanghai", "Asia/Urumqi", "Europe/Berlin")

# The query pools: small, so that filters and times repeat within a sequence.
AMENITY_SETS = ((), (), ("toilet",), ("aed",), ("toilet", "wifi"), ("microwave",), ("wifi", "toilet"))
STATUS_SETS = ("default", None, ("open", "temporarily_closed"), ("removed",), ("temporarily_closed", "open"))
ACCESS_SETS = (None, None, ("everyone",), ("everyone", "unknown"), ("unknown",), ("unknown", "everyone"),
               ("outdoor_workers", "members"), ("everyone", "outdoor_workers", "members", "unknown"))
DISTANCES_M = (None, None, None, 0.0, 500.0, 2_000.0, 20_000.0, 1_500_000.0)
TIMES = (datetime(2025, 6, 4, 7, 55), datetime(2025, 6, 4, 12, 0), datetime(2025, 6, 4, 17, 58),
         datetime(2025, 6, 4, 19, 55), datetime(2025, 6, 4, 23, 59, 30), datetime(2025, 6, 7, 10, 0),
         datetime(2025, 10, 1, 9, 0),  # National Day: "PH off" is closed
         datetime(2025, 3, 30, 8, 30))  # Beijing time; Berlin's clocks go forward at 09:00 (01:00 UTC)
OFFSETS_S = (0, 0, 1, 59, 60, 61, 600, 3599, 3600, 86_400)
ZONES = (None, None, timezone.utc, timezone(timedelta(hours=8)))  # None: naive (wall clock at each station)
SPEEDS_M_S = (1.3, 4.2, 15.0, 300.0)


@lru_cache(maxsize=None)
def stations(kind: str) -> pd.DataFrame:
    """300 stations of ``kind`` ("weekly" or "general"), the same at every call."""
    rng = np.random.default_rng(2025 if kind == "weekly" else 2026)
    points: list[tuple[float, float]] = []
    for i in range(N_STATIONS):
        if points and rng.random() < 0.15:  # the position of an earlier station
            points.append(points[int(rng.integers(len(points)))])
        elif i % 5 == 0:  # the equator grid: 0.01 degrees apart, neighbours exactly as far
            points.append((0.01 * int(rng.integers(-3, 4)), 0.01 * int(rng.integers(-3, 4))))
        else:
            lat, lon, spread = CENTRES[i % 2]
            points.append((lat + spread * rng.normal(), lon + spread * rng.normal()))

    def pick(values: Sequence[Any], p: Sequence[float] | None = None) -> list[Any]:
        return [values[j] for j in rng.choice(len(values), N_STATIONS, p=p)]

    columns: dict[str, Any] = {
        "status": pick(("open", "temporarily_closed", "removed"), (0.8, 0.1, 0.1)),
        "access": pick(("everyone", "outdoor_workers", "members", "unknown", None), (0.45, 0.15, 0.1, 0.25, 0.05)),
        "geocode_precision": pick(("exact", "street", "county", None), (0.85, 0.05, 0.08, 0.02)),
        "opening_hours": pick(WEEKLY_HOURS if kind == "weekly" else GENERAL_HOURS),
    }
    if kind != "weekly":
        columns["timezone"] = pick(GENERAL_ZONES)
    columns["amenity_toilet"] = pick(("yes", "no", "unknown"), (0.6, 0.3, 0.1))
    columns["amenity_microwave"] = pick(("yes", "no"), (0.85, 0.15))
    columns["amenity_wifi"] = pick(("yes", "unknown"))
    columns["amenity_aed"] = pick(("yes", "no"), (0.05, 0.95))
    return frame(points, **columns)  # every other amenity unknown, Beijing time for "weekly"


Pick = Callable[[Sequence[Any]], Any]
Integer = Callable[[int, int], int]


def make_query(df: pd.DataFrame, pick: Pick, integer: Integer) -> tuple[float, float, int, dict]:
    """``(lat, lon, k, filters)`` from the pools; ``pick`` chooses one of a sequence,
    ``integer`` a whole number in a closed range."""
    n = len(df)
    where = pick(("station", "station", "near station", "between two", "cluster", "china", "far"))
    a, b = integer(0, n - 1), integer(0, n - 1)
    if where == "station":  # exactly at a station: distance 0, and ties with its duplicates
        lat, lon = float(df.lat[a]), float(df.lon[a])
    elif where == "near station":
        lat, lon = float(df.lat[a]) + integer(-9, 9) * 1e-6, float(df.lon[a]) + integer(-9, 9) * 1e-6
    elif where == "between two":  # on the equator grid, halfway between two stations is a tie
        lat, lon = (float(df.lat[a]) + float(df.lat[b])) / 2, (float(df.lon[a]) + float(df.lon[b])) / 2
    elif where == "cluster":
        lat, lon = CENTRES[a % 2][0] + integer(-300, 300) * 1e-4, CENTRES[a % 2][1] + integer(-300, 300) * 1e-4
    elif where == "china":
        lat, lon = integer(1800, 5300) / 100, integer(7350, 13500) / 100
    else:
        lat, lon = -45.0 + integer(0, 100) / 10, -70.0 + integer(0, 100) / 10
    k = pick((1, 2, 3, 5, 5, 8)) if integer(0, 9) else integer(9, 60)
    filters: dict[str, Any] = {}
    amenities = pick(AMENITY_SETS)
    if amenities:
        filters["amenities"] = list(amenities) if integer(0, 1) else amenities
    statuses = pick(STATUS_SETS)
    if statuses != "default":
        filters["statuses"] = statuses
    access = pick(ACCESS_SETS)
    if access is not None or integer(0, 1):
        filters["access"] = access
    filters["open_24h"] = pick((None, None, None, True, False))
    filters["include_imprecise"] = pick((False, False, True))
    distance = pick(DISTANCES_M)
    if distance is not None:
        filters["max_distance_m"] = distance
    when = pick(("none", "none", "open_at", "open_at", "arrival"))
    if when != "none":
        t = pick(TIMES) + timedelta(seconds=pick(OFFSETS_S) if integer(0, 3) else integer(0, 7200))
        zone = pick(ZONES)
        filters["open_at"] = t if zone is None else t.replace(tzinfo=timezone(timedelta(hours=8))).astimezone(zone)
    if when == "arrival":
        filters["arrival_speed_m_s"] = pick(SPEEDS_M_S)
        filters["circuity"] = pick((1.0, 1.3))
    return lat, lon, k, filters


def at_the_limit(df: pd.DataFrame, lat: float, lon: float, filters: dict) -> bool:
    """Whether a station sits at ``max_distance_m`` itself, where chord and haversine may
    round differently (the query is still asked, its answer not compared)."""
    limit = filters.get("max_distance_m")
    if limit is None:
        return False
    d = coords.haversine_m(lat, lon, df.lat.to_numpy(), df.lon.to_numpy())
    return bool((np.abs(d - limit) <= 1e-6 * limit + 1e-6).any())


def ask_and_check(index: StationIndex, df: pd.DataFrame, lat: float, lon: float, k: int, filters: dict) -> None:
    got = index.nearest(lat=lat, lon=lon, k=k, **filters)
    if not filters.get("arrival_speed_m_s") and k <= 8:  # the batch path: its own sub-trees, same answers
        r, d = index.nearest_batch([lat], [lon], k=k, **filters)
        assert r[0, :len(got)].tolist() == [h.row for h in got]
        assert (r[0, len(got):] == -1).all()
    if not at_the_limit(df, lat, lon, filters):
        assert_same_up_to_ties(got, nearest_bruteforce(df, lat=lat, lon=lon, k=len(df), **filters), k)


@pytest.mark.parametrize("kind", ["weekly", "general"])
@pytest.mark.parametrize("budget", [SMALL_BUDGET, BUDGET_POINTS])
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_random_query_sequences_on_one_index_equal_the_oracle(kind, budget, data):
    df = stations(kind)
    cache_bytes = data.draw(st.sampled_from([SMALL_CACHE, 256 * 2**20]), label="cache_bytes")
    index = StationIndex.from_frame(df, budget_points=budget, cache_bytes=cache_bytes)
    pick = lambda values: data.draw(st.sampled_from(values))  # noqa: E731
    integer = lambda lo, hi: data.draw(st.integers(lo, hi))  # noqa: E731
    for _ in range(data.draw(st.integers(4, 24), label="queries")):
        lat, lon, k, filters = make_query(df, pick, integer)
        ask_and_check(index, df, lat, lon, k, filters)


@pytest.mark.parametrize("kind", ["weekly", "general"])
def test_the_sequences_reach_every_path(kind, monkeypatch):
    """The pools above, drawn by a seeded generator instead of hypothesis, on one index with
    the small budget and cache: masks and sub-trees are built, masks give up for sub-trees,
    entries are evicted and found again, snapshots are reused, and (weekly hours) open on
    arrival is answered both inside the tree search and by bands. Answers checked too."""
    from stations.index import _arrival, _structures
    from stations.index._hours import OPEN
    from stations.index._search import NeedSubtree

    df = stations(kind)
    index = StationIndex.from_frame(df, budget_points=SMALL_BUDGET, cache_bytes=SMALL_CACHE)
    seen: Counter = Counter()
    entry, search, weekly = _structures.Structures.entry, _structures.search, _arrival.search_weekly
    snapshot, compute = _structures.Structures.snapshot, index.table.hours.snapshot

    def spy_entry(self, sf, snap, part=OPEN, *, force_subtree=False):
        e = entry(self, sf, snap, part, force_subtree=force_subtree)
        seen[e.kind] += 1
        return e

    def spy_search(*args):
        try:
            return search(*args)
        except NeedSubtree:
            seen["mask gave up"] += 1
            raise

    def spy_weekly(*args):
        answer = weekly(*args)
        seen["arrival in the tree" if answer is not None else "arrival by bands"] += 1
        return answer

    def spy_snapshot(self, *args):
        seen["snapshot asked"] += 1
        return snapshot(self, *args)

    def spy_compute(*args):
        seen["snapshot computed"] += 1
        return compute(*args)

    monkeypatch.setattr(_structures.Structures, "entry", spy_entry)
    monkeypatch.setattr(_structures, "search", spy_search)
    monkeypatch.setattr(_arrival, "search_weekly", spy_weekly)
    monkeypatch.setattr(_structures.Structures, "snapshot", spy_snapshot)
    monkeypatch.setattr(index.table.hours, "snapshot", spy_compute)
    rng = np.random.default_rng(7)
    pick = lambda values: values[int(rng.integers(len(values)))]  # noqa: E731
    integer = lambda lo, hi: int(rng.integers(lo, hi + 1))  # noqa: E731
    for _ in range(150):
        lat, lon, k, filters = make_query(df, pick, integer)
        ask_and_check(index, df, lat, lon, k, filters)
    info = index.cache_info()
    assert seen["main"] and seen["mask"] and seen["subtree"] and seen["empty"]
    assert seen["mask gave up"]
    assert info["evictions"] > 0 and info["hits"] > 0
    assert 0 < seen["snapshot computed"] < seen["snapshot asked"]
    if kind == "weekly":
        assert seen["arrival in the tree"] and seen["arrival by bands"]
    else:
        assert index.table.hours.weekly() is None  # open on arrival goes by bands only
