"""Benchmark: many staff editing at once — how many edits a second one store takes.

County union staff edit their own stations; on PostGIS every write takes its turn on one row
(the store's ``revision``, ``SELECT ... FOR UPDATE``), on a GeoPackage on SQLite's one writer
lock. This measures that turn-taking: W writer processes (1, 4, 16 by default; each its own
store connection, as separate service workers or instances are), each an ``editor`` account
scoped to one province, each editing random stations of its province for S seconds through
the staff edit path (``stations.accounts.patch_station``: the ETag check, the record diff,
the history row and the check dates, in one transaction). The table gives the edits per second
of all writers together, the latency of one edit (p50 / p99 ms), and how many edits were refused
as busy (``StoreBusy``: a writer waited longer than ``writer_wait_s``) or lost a race
(``PreconditionFailed``: never expected here, each writer edits only its own province). The
GeoPackage with one writer is the baseline of the ratio column.

The throwaway PostgreSQL server is the tests' (tests/pgserver.py: ``initdb`` in a temporary
directory, a free loopback port; removed at the end). Only 127.0.0.1 is contacted.

Reproduce::

    .venv/bin/python benchmarks/bench_writes.py                  # 20,000 stations, 1/4/16 writers, 8 s each
    .venv/bin/python benchmarks/bench_writes.py --writers 1,2 --seconds 3 --no-postgis
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from stations.accounts import PreconditionFailed, add_user, get_user, patch_station  # noqa: E402
from stations.store import Change, StoreBusy, open_store  # noqa: E402


def _load_store(location: str, n: int) -> list[str]:
    """Fill the store with ``n`` synthetic stations; one editor account per province; the
    provinces' two-digit adcode prefixes, most stations first."""
    from stations.io.export import records_of
    from stations.synthetic import national_stations

    frame = national_stations(n, seed=0)
    frame = frame[frame["adcode"].notna()]
    provinces = frame["adcode"].str[:2].value_counts().index.tolist()
    with open_store(location) as s:
        s.apply([Change("add", r) for r in records_of(frame)], command="bench")
        for code in provinces:
            add_user(s, f"editor{code}", role="editor", areas=[code + "0000"])
    return provinces


def _writer(location: str, province: str, seconds: float, ready, out: mp.Queue) -> None:
    """Once every writer is ready (the barrier ``ready``), edit random stations of ``province``
    for ``seconds``; put (latencies, busy, lost)."""
    rng = random.Random(province)
    latencies, busy, lost = [], 0, 0
    with open_store(location, create=False) as store:
        user = get_user(store, f"editor{province}")
        ids = [r["station_id"] for r in store.query("SELECT station_id FROM stations WHERE adcode LIKE ?",
                                                    (province + "%",))]
        ready.wait()
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            station_id = rng.choice(ids)
            t0 = time.perf_counter()
            try:
                # No client ETag (as an accepted report's edit): patch_station still checks, in
                # its transaction, that the station is the one it read.
                patch_station(store, user, station_id, {"notes": f"核实 {rng.randrange(10**9)}"},
                              if_match=None, require_if_match=False, reason="bench")
            except StoreBusy:
                busy += 1
                continue
            except PreconditionFailed:
                lost += 1
                continue
            latencies.append(time.perf_counter() - t0)
    out.put((latencies, busy, lost))


def _run(location: str, provinces: list[str], writers: int, seconds: float) -> dict:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    ready = ctx.Barrier(writers)  # every process has opened its store: all start together
    procs = [ctx.Process(target=_writer, args=(location, provinces[i % len(provinces)], seconds, ready, out))
             for i in range(writers)]
    for p in procs:
        p.start()
    results = [out.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join(30)
    lat = sorted(x for r in results for x in r[0])
    return {"edits": len(lat), "per_s": len(lat) / seconds,
            "p50_ms": statistics.median(lat) * 1e3 if lat else float("nan"),
            "p99_ms": lat[int(0.99 * (len(lat) - 1))] * 1e3 if lat else float("nan"),
            "busy": sum(r[1] for r in results), "lost": sum(r[2] for r in results)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20_000, help="stations in the store")
    ap.add_argument("--writers", default="1,4,16", help="numbers of writer processes, comma-separated")
    ap.add_argument("--seconds", type=float, default=8.0, help="per run")
    ap.add_argument("--no-postgis", action="store_true")
    args = ap.parse_args()
    counts = [int(w) for w in args.writers.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        stores = [("GeoPackage", str(Path(tmp) / "bench.gpkg"))]
        server = None
        if not args.no_postgis:
            from pgserver import PGServer

            server = PGServer()
            stores.append(("PostGIS", server.new_database()))
        try:
            for kind, location in stores:
                provinces = _load_store(location, args.n)
                for w in counts:
                    rows.append((kind, w, _run(location, provinces, w, args.seconds)))
                    print(f"  {kind:10} {w:3} writers: {rows[-1][2]['per_s']:.0f} edits/s", file=sys.stderr)
        finally:
            if server is not None:
                server.stop()
    base = next(r["per_s"] for k, w, r in rows if k == "GeoPackage" and w == counts[0])
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nconcurrent staff edits: {args.n:,} stations, {args.seconds:g} s per run, "
          f"load average after {load} ({os.cpu_count()} cores)")
    print("| store | writers | edits | edits/s | p50 ms | p99 ms | busy | lost | × GeoPackage, "
          f"{counts[0]} writer{'s' if counts[0] > 1 else ''} |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for kind, w, r in rows:
        print(f"| {kind} | {w} | {r['edits']:,} | {r['per_s']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
              f"{r['busy']} | {r['lost']} | {r['per_s'] / base:.2f} |")


if __name__ == "__main__":
    main()
