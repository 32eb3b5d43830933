"""Benchmark: from a write committed to the new snapshot served, a whole read against the changes.

The service's refresher (``StationService.refresh``) checks the store every ``refresh_s`` and,
when it moved, builds a new snapshot and swaps it in. Measured here: the seconds from a batch
committed (by another connection, as a staff edit through another worker or instance) to the
new snapshot swapped in, on a GeoPackage and on PostGIS of N stations (200,000 by default):

- ``full``: the plain path, forced for the baseline (a whole read, ``consistent_frame``, and a
  build from it);
- ``changes``: the stations changed since the served snapshot (``changed_frame``) merged into
  its frame (``merge_changes``) and built from it; what a refresh does for up to
  ``changes_limit`` changed stations (10 %, at least 1,000).

Cases: one station moved; 100 stations edited in one batch; 5 % of the stations edited (where
the limit's cost shows). Each case several times, medians; ``build`` is the part spent in
``build_snapshot`` (the nearest index and categoricals), the rest is reading and merging. The
poll interval (``refresh_s``, 0.25 s by default: on average 0.125 s) comes on top of every row. Every
``changes`` snapshot is checked against a whole read once per case (same frame).

The throwaway PostgreSQL server is the tests' (tests/pgserver.py: ``initdb`` in a temporary
directory, a free loopback port; removed at the end).

Reproduce::

    .venv/bin/python benchmarks/bench_refresh.py                         # 200,000 stations
    .venv/bin/python benchmarks/bench_refresh.py --gpkg /tmp/s200.gpkg   # a copy of that store instead
    .venv/bin/python benchmarks/bench_refresh.py --n 20000 --repeats 2 --no-postgis
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
import pandas as pd  # noqa: E402

import stations.service as service_module  # noqa: E402
from stations.service import StationService, build_snapshot  # noqa: E402
from stations.store import Change, open_store  # noqa: E402

TARGET_S = 1.0  # the requirement: a write is served everywhere within 1 s (poll interval included)


def _load_store(location: str, n: int) -> None:
    from stations.io.export import records_of
    from stations.synthetic import national_stations

    with open_store(location) as s:
        s.apply([Change("add", r) for r in records_of(national_stations(n, seed=0))], command="bench")


def _batch(store, ids: list[str], rng: random.Random, count: int) -> list[Change]:
    """``count`` stations: one moved by up to ~1 km, or each given a new note."""
    changes = []
    for station_id in rng.sample(ids, count):
        rec = store.get(station_id)
        flags = tuple(rec.pop("flags"))
        if count == 1 and rec["lat"] is not None:
            new = {"lat": rec["lat"] + rng.uniform(-0.01, 0.01), "lon": rec["lon"] + rng.uniform(-0.01, 0.01)}
        else:
            new = {"notes": f"核实 {rng.randrange(10**6)}"}
        changes.append(Change("update", {**rec, **new}, changed={k: [rec[k], v] for k, v in new.items()},
                              flags=flags))
    return changes


def _measure(location: str, cases: dict[str, int], repeats: int, n: int) -> list[tuple[str, str, float, float]]:
    """(case, path, median seconds commit -> swapped in, median build seconds) per case and path."""
    rng = random.Random(1)
    out = []
    ready: list[float] = []  # when each new snapshot was built and warmed: the swap is the next assignment
    with open_store(location, create=False) as writer, StationService(
            location, refresh_s=None, warm_up=lambda snapshot: ready.append(time.perf_counter())) as service:
        ids = list(service.snapshot().frame["station_id"])
        for case, count in cases.items():
            for path in ("full", "changes"):
                # The baseline: no change is few enough, every refresh reads the store whole.
                service_module.CHANGES_MIN_STATIONS, service_module.CHANGES_MAX_SHARE = (
                    (0, 0.0) if path == "full" else (1000, 0.1))
                swaps, builds = [], []
                for i in range(repeats):
                    writer.apply(_batch(writer, ids, rng, count), command="bench")
                    start = time.perf_counter()  # committed
                    assert service.refresh()  # (then frees the old snapshot, after the swap)
                    swaps.append(ready[-1] - start)
                    snap = service.snapshot()
                    assert snap.build == path, (case, path, snap.build)
                    builds.append(snap.built_s)
                    if i == 0 and path == "changes":
                        revision, frame = writer.consistent_frame()
                        pd.testing.assert_frame_equal(snap.frame, build_snapshot(frame, revision).frame)
                        del frame
                    del snap  # or the next refresh waits for this reader to let go of the old snapshot
                out.append((case, path, statistics.median(swaps), statistics.median(builds)))
                print(f"  {case:<28} {path:<8} {statistics.median(swaps):6.2f} s", flush=True)
    return out


def _table(rows_by_store: dict[str, list[tuple[str, str, float, float]]]) -> None:
    print()
    print(f"| store | case | path | commit -> served, s | of which build, s | full / changes | <= {TARGET_S:g} s |")
    print("| --- | --- | --- | ---: | ---: | ---: | --- |")
    for store, rows in rows_by_store.items():
        full = {case: s for case, path, s, _ in rows if path == "full"}
        for case, path, s, build_s in rows:
            ratio = f"{full[case] / s:.1f}x" if path == "changes" else "1.0x (baseline)"
            print(f"| {store} | {case} | {path} | {s:.2f} | {build_s:.2f} | {ratio} | "
                  f"{'yes' if s <= TARGET_S else 'no'} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--gpkg", type=Path, help="copy this GeoPackage store (of about --n stations) instead of "
                                               "generating one")
    ap.add_argument("--no-postgis", action="store_true")
    args = ap.parse_args()
    cases = {"1 station moved": 1, "100 stations edited": 100,
             f"5 % edited ({args.n // 20:,} stations)": args.n // 20}
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-refresh-") as tmp:
        gpkg = str(Path(tmp) / "stations.gpkg")
        start = time.perf_counter()
        if args.gpkg:
            shutil.copy(args.gpkg, gpkg)
        else:
            _load_store(gpkg, args.n)
        print(f"GeoPackage of {args.n:,} stations ready in {time.perf_counter() - start:.0f} s", flush=True)
        results["GeoPackage"] = _measure(gpkg, cases, args.repeats, args.n)
        if not args.no_postgis:
            from pgserver import PGServer

            server = PGServer()
            try:
                url = server.new_database()
                start = time.perf_counter()
                _load_store(url, args.n)
                print(f"PostGIS of {args.n:,} stations ready in {time.perf_counter() - start:.0f} s", flush=True)
                results["PostGIS"] = _measure(url, cases, args.repeats, args.n)
            finally:
                server.stop()
    _table(results)


if __name__ == "__main__":
    main()
