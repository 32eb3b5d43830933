"""Station tables and the oracle comparison shared by the index tests (tests/test_index.py,
tests/test_index_sequences.py)."""

from __future__ import annotations

import pandas as pd

from stations.amenities import AMENITY_CODES
from stations.index import Hit


def frame(points, **columns) -> pd.DataFrame:
    """A station table: ``points`` as (lat, lon); other columns default to an open, exact station
    (``S0``, ``S1``, ... named ``站点0``, ...; open 24/7 in Beijing time, every amenity unknown)."""
    n = len(points)
    data = {
        "station_id": [f"S{i}" for i in range(n)],
        "name": [f"站点{i}" for i in range(n)],
        "lat": [p[0] for p in points],
        "lon": [p[1] for p in points],
        "geocode_precision": ["exact"] * n,
        "opening_hours": ["24/7"] * n,
        "timezone": ["Asia/Shanghai"] * n,
        "access": ["everyone"] * n,
        "status": ["open"] * n,
    }
    for code in AMENITY_CODES:
        data[f"amenity_{code}"] = ["unknown"] * n
    data.update(columns)
    return pd.DataFrame(data)


def close(a: float, b: float) -> bool:
    """Two distances in metres equal up to a millionth (and a micrometre)."""
    return abs(a - b) <= 1e-6 * max(a, b) + 1e-6


def assert_same_up_to_ties(got: list[Hit], full: list[Hit], k: int) -> None:
    """``got`` is the oracle's first ``k`` (``full`` is its whole ranking), up to exact-distance
    ties: the same distances in order, every hit eligible and met once, the oracle's own station
    wherever its distance is not tied, and ties in row order."""
    expected = full[:k]
    assert len(got) == len(expected), (got, expected)
    distance_of = {h.row: h.distance_m for h in full}
    assert len({h.row for h in got}) == len(got)
    for j, (g, e) in enumerate(zip(got, expected)):
        assert close(g.distance_m, e.distance_m), (j, g, e)
        assert g.row in distance_of and close(g.distance_m, distance_of[g.row]), (g, "not eligible")
        if sum(close(h.distance_m, e.distance_m) for h in full) == 1:
            assert g.row == e.row, (j, g, e)
    for a, b in zip(got, got[1:]):
        assert a.distance_m <= b.distance_m
        if a.distance_m == b.distance_m:
            assert a.row < b.row
