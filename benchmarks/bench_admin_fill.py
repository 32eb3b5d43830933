"""Benchmark: fill province/city/county/adcode from the county boundaries at import.

Prints one table of seconds for 200,000 national synthetic stations (``stations.synthetic``,
positions on mainland China's land): loading the boundaries (once per process), the
vectorised point-in-polygon lookup (:func:`stations.io.admin_areas.admin_areas_at`), and the
import step around it (:func:`stations.io.admin_areas.fill_admin_areas`) with every admin field
empty (everything filled) and with every field given (only checked against the position).
For scale: the full import of the same 200,000 stations takes about 14 s
(``benchmarks/bench_import.py``).

Reproduce::

    .venv/bin/python benchmarks/bench_admin_fill.py              # 200,000 stations, best of 3
    .venv/bin/python benchmarks/bench_admin_fill.py --n 50000 --repeat 1
"""

from __future__ import annotations

import argparse
import time

from stations.io.admin_areas import ADMIN_FIELDS, admin_areas_at, fill_admin_areas
from stations.io.normalize import RowResult
from stations.synthetic import national_stations


def _rows(frame, *, empty: bool) -> list[RowResult]:
    records = frame.to_dict("records")
    if empty:
        for rec in records:
            rec.update(dict.fromkeys(ADMIN_FIELDS))
    return [RowResult(row=i + 1, record=rec) for i, rec in enumerate(records)]


def _clock() -> tuple[float, float]:
    """(wall, CPU) seconds: on a shared machine the CPU time of this process moves less."""
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = _clock()
    return wall - start[0], cpu - start[1]


def _best(fn, repeat: int) -> tuple[tuple[float, float], object]:
    best, out = (float("inf"), float("inf")), None
    for _ in range(repeat):
        start = _clock()
        out = fn()
        best = min(best, _since(start))
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    frame = national_stations(args.n, seed=0)
    lat, lon = frame["lat"].to_numpy(), frame["lon"].to_numpy()

    start = _clock()
    admin_areas_at(lat=lat[:1], lon=lon[:1])  # loads the boundaries
    load_s = _since(start)
    lookup_s, found = _best(lambda: admin_areas_at(lat=lat, lon=lon), args.repeat)
    located = int(found["adcode"].notna().sum())

    def fill(empty: bool) -> tuple[tuple[float, float], int, int]:
        """((wall, CPU) seconds, rows filled, rows warned) of the fastest run; rows are made untimed."""
        runs = []
        for _ in range(args.repeat):
            rows = _rows(frame, empty=empty)
            start = _clock()
            filled = fill_admin_areas(rows)
            runs.append((_since(start), filled, sum(bool(r.warnings) for r in rows)))
        return min(runs)

    empty_s, empty_filled, _ = fill(True)
    given_s, _, given_warned = fill(False)
    print(f"\n## Admin areas from positions, {args.n:,} synthetic stations (best of {args.repeat})\n")
    def secs(s: tuple[float, float]) -> str:
        return f"{s[0]:.2f} | {s[1]:.2f}"

    print("| step | wall s | CPU s | result |")
    print("| --- | --- | --- | --- |")
    print(f"| load the county boundaries (once per process) | {secs(load_s)} | |")
    print(f"| `admin_areas_at`, every point | {secs(lookup_s)} | {located:,} in a county |")
    print(f"| `fill_admin_areas`, admin fields empty | {secs(empty_s)} | {empty_filled:,} rows filled |")
    print(f"| `fill_admin_areas`, admin fields given (checked only) | {secs(given_s)} | "
          f"{given_warned:,} rows whose given area disagrees with the position |")

if __name__ == "__main__":
    main()
