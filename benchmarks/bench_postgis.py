"""Benchmark: PostGIS beside GeoPackage, in one run on one machine.

1. Import of the national synthetic CSV (the file bench_import.py generates, 200,000 stations)
   into a fresh PostGIS database and into a fresh GeoPackage, each in its own process
   (`stations import`'s library call: read, normalise, validate, duplicates, write with history).
2. ``/api/v1/nearest`` at random points across mainland China with the mixed filters of
   bench_http.py, 16 connections: two instances on the PostGIS store (two ``stations serve``,
   one worker each; two wrk processes at once, 8 connections each, one per instance) against
   one instance on the GeoPackage with 2 workers (the same two wrk processes, both on it). Several rounds, the two set-ups
   in turn, so a slow spell of this shared machine hits both alike; the table gives medians and
   the ratio PostGIS / GeoPackage.
3. PostGIS's own KNN as the in-database alternative, per query (no HTTP): ``ORDER BY geom <->
   point LIMIT 5`` with the status, precision, amenity and distance filters in SQL (by degrees,
   the GiST index), the same with the 40 nearest by degrees re-ranked by geography distance
   (metres), and plain geography ordering (``geom::geography <-> point::geography``, no index: a
   scan). Sequential latency on one connection, and throughput on 16 connections (threads). Their
   answers are compared with the service's for the same points and filters (agreement: the same
   five stations in the same order).
4. Memory of one serving worker on PostGIS (RSS and USS after every point was asked) at N/2 and N
   stations.

The throwaway PostgreSQL server is the tests' (tests/pgserver.py: ``initdb`` in a temporary
directory, a free loopback port; removed at the end). Only 127.0.0.1 is contacted.

Reproduce::

    .venv/bin/python benchmarks/bench_postgis.py                    # 200,000 stations
    .venv/bin/python benchmarks/bench_postgis.py --n 20000 --seconds 3 --rounds 2
    .venv/bin/python benchmarks/bench_postgis.py --import-only          # part 1 alone
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]
from _measure import PEAK_SNIPPET, run_measured  # noqa: E402
from bench_http import FILTERS, _china_points, _master_pid, _paths, _varied_script, _worker_memory  # noqa: E402
from browser_util import serve  # noqa: E402
from pgserver import PGServer  # noqa: E402

TARGET_IMPORT_S = 30.0
IMPORT = """
import sys
from stations.io.importer import import_file
from stations.store import open_store
with open_store(sys.argv[2]) as s:
    r = import_file(s, sys.argv[1], max_bytes=None)
print('ADDED=%d REJECTED=%d' % (r.added, r.rejected))
""" + PEAK_SNIPPET
# The filters SQL can express, as the service's query string and as SQL conditions.
SQL_FILTERS = (
    ("", ""),
    ("&amenities=microwave", "AND amenity_microwave = 'yes'"),
    ("&amenities=toilet,drinking_water", "AND amenity_toilet = 'yes' AND amenity_drinking_water = 'yes'"),
    # The box first (the GiST index can use it; 5 km is under 0.0455 degrees of latitude
    # anywhere, and that over cos(lat) of longitude), then the exact distance in metres.
    ("&max_distance_m=5000", "AND geom && ST_Expand({pt}, 0.0455 / cos(radians(%(lat)s)), 0.0455) "
                             "AND ST_DWithin(geom::geography, {pt}::geography, 5000)"),
)
BASE_SQL = "status = 'open' AND geocode_precision IN ('exact', 'street')"
PT = "ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)"
KNN = {
    "PostGIS KNN geom <-> pt (degrees, GiST)":
        "SELECT station_id FROM stations WHERE {where} ORDER BY geom <-> {pt} LIMIT 5",
    "  KNN 40 by degrees, re-ranked by geography (m)":
        "SELECT station_id FROM (SELECT station_id, geom FROM stations WHERE {where} ORDER BY geom <-> {pt} LIMIT 40) c "
        "ORDER BY ST_Distance(geom::geography, {pt}::geography), station_id LIMIT 5",
    "  geography <-> (metres, no index: a scan)":
        "SELECT station_id FROM stations WHERE {where} ORDER BY geom::geography <-> {pt}::geography LIMIT 5",
}


def _wrk_run(url: str, script: Path, connections: int, seconds: int) -> subprocess.Popen:
    return subprocess.Popen(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
                            stdout=subprocess.PIPE, text=True)


def _wrk_result(proc: subprocess.Popen) -> tuple[float, float, float, int]:
    """(requests/s, p50 ms, p99 ms, error responses) of a finished wrk."""
    import re

    out = proc.communicate(timeout=600)[0]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)

    def percentile(p: str) -> float:
        m = re.search(rf"{p}%\s+([\d.]+)(us|ms|s)\b", out)
        return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]

    return rps, percentile("50"), percentile("99"), int(errors.group(1)) if errors else 0


def _split_load(bases: list[str], script: Path, connections: int, seconds: int) -> tuple[float, float, float, int]:
    """Two wrk processes at once, half the connections each, one per base URL: (summed
    requests/s, mean of the p50s, larger p99, errors)."""
    half = connections // 2
    procs = [_wrk_run(bases[0], script, half, seconds), _wrk_run(bases[1], script, connections - half, seconds)]
    (ra, rb) = (_wrk_result(p) for p in procs)
    return ra[0] + rb[0], (ra[1] + rb[1]) / 2, max(ra[2], rb[2]), ra[3] + rb[3]


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=120) as resp:
        return json.loads(resp.read())


def _warm(bases: list[str], paths: list[str]) -> None:
    """Ask every path of ``paths`` twice (so each of 2 workers sees most), the servers at once."""
    def run(base: str) -> None:
        for p in paths * 2:
            urllib.request.urlopen(base + p, timeout=120).read()

    threads = [threading.Thread(target=run, args=(b,)) for b in bases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _knn_latency(url: str, sql: str, points: list[tuple[float, float, str]]) -> tuple[list[float], list[list[str]]]:
    """Per-query ms and answers, one connection, in order."""
    import psycopg

    times, answers = [], []
    with psycopg.connect(url, autocommit=True) as conn:
        for lat, lon, where in points:
            start = time.perf_counter()
            ids = [r[0] for r in conn.execute(sql.format(where=where, pt=PT), {"lat": lat, "lon": lon})]
            times.append((time.perf_counter() - start) * 1e3)
            answers.append(ids)
    return times, answers


def _knn_throughput(url: str, sql: str, points: list[tuple[float, float, str]], connections: int,
                    seconds: float) -> float:
    """Queries/s over ``connections`` connections (threads), each cycling through ``points``."""
    import psycopg

    done = [0] * connections
    stop = time.perf_counter() + seconds

    def run(i: int) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            j = i
            while time.perf_counter() < stop:
                lat, lon, where = points[j % len(points)]
                conn.execute(sql.format(where=where, pt=PT), {"lat": lat, "lon": lon}).fetchall()
                done[i] += 1
                j += connections

    threads = [threading.Thread(target=run, args=(i,)) for i in range(connections)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.perf_counter() - start)


def _load_store(location: str, n: int) -> None:
    from stations.io.export import records_of
    from stations.store import Change, open_store
    from stations.synthetic import national_stations

    with open_store(location) as s:
        s.apply([Change("add", r) for r in records_of(national_stations(n, seed=0))], command="bench")


def _rss_one_worker(location: str, paths: list[str]) -> tuple[float, float]:
    """(RSS MB, USS MB) of a one-worker `stations serve` on ``location`` after every path was asked twice."""
    with serve(location, workers=1, timeout_s=900) as base:
        _warm([base], paths)
        ((rss, _pss, uss),) = _worker_memory(_master_pid(int(base.rsplit(":", 1)[1])))
    return rss, uss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--seconds", type=int, default=10, help="per set-up per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--points", type=int, default=3000)
    ap.add_argument("--knn-points", type=int, default=1000)
    ap.add_argument("--import-only", action="store_true", help="only part 1: the two imports, side by side")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    out = ROOT / "benchmarks" / "out"
    out.mkdir(parents=True, exist_ok=True)
    csv = out / f"national_{args.n}.csv"
    if not csv.exists():
        from stations.synthetic import write_national_csv

        print(f"generating {csv} ...", flush=True)
        write_national_csv(csv, args.n, seed=0)
    load = Path("/proc/loadavg").read_text().split()[:3]
    server = PGServer()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            gpkg = str(Path(tmp) / "bench.gpkg")
            pg = server.new_database()
            print("importing ...", flush=True)
            imports = {"PostGIS": run_measured(IMPORT, str(csv), pg),
                       "GeoPackage": run_measured(IMPORT, str(csv), gpkg)}
            if args.import_only:
                _report_imports(args, imports, load)
                return
            lat, lon = _china_points(args.points)
            mixed = _paths(lat, lon, filters=True)
            script = _varied_script(mixed, Path(tmp) / "mixed.lua")
            runs: dict[str, list[tuple]] = {"pg": [], "gpkg": []}
            memory = {}
            with serve(pg, workers=1, timeout_s=900) as pg1, serve(pg, workers=1, timeout_s=900) as pg2, \
                    serve(gpkg, workers=2, timeout_s=900) as gp:
                print("warming up ...", flush=True)
                _warm([pg1, pg2, gp], mixed[:400])
                for _ in range(args.rounds):
                    # Two wrk processes of 8 connections in both set-ups: on a shared machine two load
                    # generators get more CPU than one, so both set-ups get the same two.
                    runs["pg"].append(_split_load([pg1, pg2], script, args.connections, args.seconds))
                    runs["gpkg"].append(_split_load([gp, gp], script, args.connections, args.seconds))
                for name, base in (("PostGIS instance 1", pg1), ("PostGIS instance 2", pg2), ("GeoPackage", gp)):
                    memory[name] = _worker_memory(_master_pid(int(base.rsplit(":", 1)[1])))
                print("asking the service for the KNN comparison ...", flush=True)
                # The service's answers for the KNN comparison (the GeoPackage instance; the
                # PostGIS instances answer the same, as the tests check against the oracle).
                knn_points, service = [], []
                for i in range(args.knn_points):
                    query, where = SQL_FILTERS[i % len(SQL_FILTERS)]
                    knn_points.append((float(lat[i]), float(lon[i]),
                                       BASE_SQL + " " + where.format(pt=PT)))
                    doc = _get_json(f"{gp}/api/v1/nearest?lat={lat[i]:.5f}&lon={lon[i]:.5f}&k=5{query}")
                    service.append([r["station_id"] for r in doc["results"]])
            # knn_points carry the same rounded coordinates the service was asked
            knn_points = [(round(a, 5), round(b, 5), w) for a, b, w in knn_points]
            knn = {}
            print("PostGIS KNN ...", flush=True)
            for name, sql in KNN.items():
                sample = knn_points if "scan" not in name else knn_points[:40]
                times, answers = _knn_latency(pg, sql, sample)
                same = sum(ans == svc for ans, svc in zip(answers, service))
                same_set = sum(set(ans) == set(svc) for ans, svc in zip(answers, service))
                qps = _knn_throughput(pg, sql, sample, args.connections, min(args.seconds, 10))
                knn[name] = (len(sample), statistics.median(times), _pct(times, 99), qps, same / len(sample),
                             same_set / len(sample))
            print("memory at N/2 ...", flush=True)
            half_db = server.new_database()
            _load_store(half_db, args.n // 2)
            rss_half = _rss_one_worker(half_db, mixed[:500])
            rss_full = _rss_one_worker(pg, mixed[:500])
    finally:
        server.stop()
    _report(args, imports, runs, memory, knn, rss_half, rss_full, load)


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _report_imports(args, imports, load) -> None:
    print(f"\nPostGIS benchmark: {args.n:,} stations; machine load before the run {' '.join(load)} (2 cores, shared)")
    print(f"\n{'import (one process, fresh store)':40} {'seconds':>8} {'peak MB':>8} {'x GPKG':>7}")
    gp = imports["GeoPackage"][0]
    for name, (wall, peak, _text) in imports.items():
        print(f"{name:40} {wall:8.1f} {peak:8.0f} {wall / gp:7.2f}")
    wall = imports["PostGIS"][0]
    print(f"target PostGIS <= {TARGET_IMPORT_S:.0f} s: {wall:.1f} s ({'met' if wall <= TARGET_IMPORT_S else 'NOT met'})")


def _report(args, imports, runs, memory, knn, rss_half, rss_full, load) -> None:
    _report_imports(args, imports, load)
    n = f"{args.n:,}"
    print(f"\n/api/v1/nearest, k=5, {args.points:,} random points in mainland China, mixed filters "
          f"({len(FILTERS)} in turn), wrk {args.connections} connections, {args.rounds} rounds of {args.seconds} s")
    print(f"{'set-up':52} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'x GPKG':>7}  per round (x GPKG)")
    gp_rps = [r[0] for r in runs["gpkg"]]
    for key, name in (("pg", "PostGIS: 2 instances x 1 worker (8 + 8 connections)"),
                      ("gpkg", "GeoPackage: 1 instance x 2 workers (8 + 8 connections)")):
        rps = [r[0] for r in runs[key]]
        per_round = [a / b for a, b in zip(rps, gp_rps)]
        print(f"{name:52} {statistics.median(rps):7.0f} {statistics.median(r[1] for r in runs[key]):7.2f} "
              f"{statistics.median(r[2] for r in runs[key]):7.2f} {sum(r[3] for r in runs[key]):6} "
              f"{statistics.median(per_round):7.2f}  {' '.join(f'{x:.2f}' for x in per_round)}")
    print("(each set-up driven by two wrk processes of 8 connections at once; p50: the mean of their p50s, p99: the "
          "larger p99)")
    print("\nPostGIS in-database KNN, k=5, the same points; filters in SQL: status open, precise position, and in "
          "turn none / microwave / toilet+drinking water / within 5 km")
    print(f"{'query':52} {'points':>6} {'p50 ms':>7} {'p99 ms':>7} {'q/s @16':>8} {'same as service':>15} "
          f"{'same set':>8}")
    for name, (count, p50, p99, qps, same, same_set) in knn.items():
        print(f"{name:52} {count:6} {p50:7.2f} {p99:7.2f} {qps:8.0f} {same * 100:14.1f}% {same_set * 100:7.1f}%")
    print("(same as service: the same five stations in the same order as /api/v1/nearest; p50/p99: one connection, "
          "sequential; q/s: 16 connections)")
    print("\nmemory per serving worker after warm-up, MB (RSS / USS): " + "; ".join(
        f"{name}: {', '.join(f'{r:.0f} / {u:.0f}' for r, _pss, u in mem)}" for name, mem in memory.items()))
    (r1, u1), (r2, u2) = rss_half, rss_full
    per = (r2 - r1) / ((args.n - args.n // 2) / 100_000)
    print(f"one PostGIS worker: {args.n // 2:,} stations {r1:.0f} / {u1:.0f} MB, {n} stations {r2:.0f} / {u2:.0f} MB "
          f"-> {per:.0f} MB RSS per 100,000 stations above a base of {r1 - per * (args.n // 2) / 100_000:.0f} MB")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
