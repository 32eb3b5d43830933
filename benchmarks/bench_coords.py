"""Time stations.geo on 200,000 points: the mainland gate, the shifts and their inverses.

Prints the best of 5 runs of each step, in seconds. The gate gets points uniform over 18-54 N,
73-135 E (about 43 % in mainland China); the conversions get points inside mainland China.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from stations import geo

REPEATS = 5


def best_of(function, *args) -> float:
    """Best wall-clock time in seconds of ``REPEATS`` calls of ``function(*args)``."""
    timings_s = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        function(*args)
        timings_s.append(time.perf_counter() - start)
    return min(timings_s)


def main(n_points: int = 200_000) -> None:
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    geo.in_mainland_china(39.9, 116.4)
    print(f"load outline (first call)          {time.perf_counter() - start:8.3f} s")

    lat, lon = rng.uniform(18, 54, n_points), rng.uniform(73, 135, n_points)
    gate_s = best_of(geo.in_mainland_china, lat, lon)
    print(f"in_mainland_china, {n_points:,} points  {gate_s:8.3f} s")

    inside = geo.in_mainland_china(lat, lon)
    lat, lon = np.resize(lat[inside], n_points), np.resize(lon[inside], n_points)
    gcj = geo.wgs84_to_gcj02(lat, lon)
    bd = geo.wgs84_to_bd09(lat, lon)
    steps = [
        ("wgs84_to_gcj02", geo.wgs84_to_gcj02, (lat, lon)),
        ("gcj02_to_wgs84", geo.gcj02_to_wgs84, gcj),
        ("wgs84_to_bd09", geo.wgs84_to_bd09, (lat, lon)),
        ("bd09_to_wgs84", geo.bd09_to_wgs84, bd),
    ]
    for name, function, args in steps:
        print(f"{name:16s} {n_points:,} points    {best_of(function, *args):8.3f} s")
    back = geo.gcj02_to_wgs84(*gcj)
    print(f"max round-trip error GCJ-02        {geo.haversine_m(*back, lat, lon).max():8.1e} m")
    back = geo.bd09_to_wgs84(*bd)
    print(f"max round-trip error BD-09         {geo.haversine_m(*back, lat, lon).max():8.1e} m")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
