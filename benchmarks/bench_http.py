"""Benchmark: requests/s of /api/v1/nearest against the no-op /api/v1/ping in the same server.

Starts `stations serve` (gunicorn) on a loopback port over a store of N synthetic stations,
then drives every endpoint with the same load generator (wrk, from Debian's `wrk` package;
the script installs it with apt-get when missing), each for a bounded time. The endpoints
take turns in several rounds (ping, nearest, ..., ping, nearest, ...), so that a slow
spell of this shared machine hits all of them alike; the table gives each endpoint's median
requests/s and the median of its per-round ratio to ping. Only 127.0.0.1 is contacted.

Endpoints: the no-op baseline; nearest k=5 with amenities=microwave&open=now at one point,
and unfiltered at one point; and nearest k=5 open=now at 2,000 points near stations taken
in turn (a wrk Lua script), as couriers across a city would ask.

Reproduce::

    .venv/bin/python benchmarks/bench_http.py                 # 200,000 stations, 3 rounds of 5 s
    .venv/bin/python benchmarks/bench_http.py --n 20000 --seconds 3 --rounds 5
    .venv/bin/python benchmarks/bench_http.py --during-import  # /nearest latency idle and while an import lands

``--during-import`` (:func:`latency_during_import`) measures what users feel while an import
lands: /nearest at 2,000 random points across China with mixed filters, 16 connections, idle
then while a `stations import` of 200,000 stations writes into the served store, and from its
commit until every worker serves the new data (wrk is interrupted at the end of each phase, and
reports what it measured).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from browser_util import serve  # noqa: E402

TARGET_RATIO = 0.7
VARIED_POINTS = 2000
TARGET_IMPORT_P99_MS = 50.0


def _wrk(url: str, seconds: int, connections: int, script: Path | None = None) -> tuple[float, float]:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script is not None:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=seconds + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[p50.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{url}: {non2xx.group(1)} error responses")
    return rps, float(p50.group(1)) * scale


def _varied_script(frame, path: Path, seed: int = 1) -> list[str]:
    """A wrk script that asks for nearest stations at VARIED_POINTS points in turn; the paths."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(frame), VARIED_POINTS)
    lat = frame["lat"].to_numpy()[picks] + rng.normal(0, 0.01, VARIED_POINTS)  # ~1 km from a station
    lon = frame["lon"].to_numpy()[picks] + rng.normal(0, 0.012, VARIED_POINTS)
    paths = [f"/api/v1/nearest?lat={a:.5f}&lon={b:.5f}&k=5&open=now" for a, b in zip(lat, lon)]
    lua = "paths = {\n" + ",\n".join(f'  "{p}"' for p in paths) + "\n}\n" + (
        "i = 0\n"
        "request = function()\n"
        "  i = i % #paths + 1\n"
        "  return wrk.format(\"GET\", paths[i])\n"
        "end\n")
    path.write_text(lua)
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--seconds", type=int, default=5, help="per endpoint per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "bench.gpkg"
        from stations.export import records_of
        from stations.store import Change, open_store
        from stations.synthetic import national_stations

        frame = national_stations(args.n, seed=0)
        with open_store(store) as s:
            s.apply([Change("add", r) for r in records_of(frame)], command="bench")
        script = Path(tmp) / "varied.lua"
        varied = _varied_script(frame, script)
        # The tests' server helper: `stations serve` on a free loopback port, stopped with its workers.
        with serve(store, workers=args.workers, timeout_s=600) as base:
            endpoints = [
                ("/api/v1/ping (no-op baseline)", base + "/api/v1/ping", None),
                ("/api/v1/nearest k=5 microwave open=now",
                 base + "/api/v1/nearest?lat=39.9042&lon=116.4074&k=5&amenities=microwave&open=now", None),
                ("/api/v1/nearest k=5 unfiltered", base + "/api/v1/nearest?lat=39.9&lon=116.4&k=5", None),
                (f"/api/v1/nearest k=5 open=now, {VARIED_POINTS:,} points", base + "/api/v1/ping", script),
            ]
            # Warm every worker: its snapshot, each filter past PROMOTE_AFTER uses (a hot
            # filter's sub-tree is built in the background once, then kept), the varied
            # points' stations.
            for url in [e[1] for e in endpoints[:3]] * (150 * args.workers) + [base + p for p in varied]:
                urllib.request.urlopen(url, timeout=60).read()
            runs: dict[str, list[tuple[float, float]]] = {name: [] for name, _, _ in endpoints}
            for _ in range(args.rounds):
                for name, url, lua in endpoints:
                    runs[name].append(_wrk(url, args.seconds, args.connections, lua))
    ping = [rps for rps, _ in runs[endpoints[0][0]]]
    print(f"\nHTTP benchmark: {args.n:,} stations, gunicorn {args.workers} sync workers, wrk 1 thread "
          f"{args.connections} connections, loopback; {args.rounds} rounds of {args.seconds} s per endpoint, "
          f"endpoints in turn")
    print(f"{'endpoint':46} {'req/s':>9} {'p50 ms':>8} {'x ping':>7}  per round")
    ratios = {}
    for name, _, _ in endpoints:
        rps = [r for r, _ in runs[name]]
        per_round = [r / p for r, p in zip(rps, ping)]
        ratios[name] = statistics.median(per_round)
        print(f"{name:46} {statistics.median(rps):9.0f} {statistics.median([m for _, m in runs[name]]):8.2f} "
              f"{ratios[name]:7.2f}  {' '.join(f'{x:.2f}' for x in per_round)}")
    worst = min(ratios[name] for name, _, _ in endpoints[1:3])
    print(f"\ntarget: /nearest >= {TARGET_RATIO} x ping (median of rounds) -> "
          f"{'met' if worst >= TARGET_RATIO else 'NOT met'} (lowest: {worst:.2f})")


# -- latency while an import lands -------------------------------------------------------------

# Mixed filters, taken in turn with the points.
_MIXED_FILTERS = ("", "&amenities=microwave", "&open=now", "&amenities=toilet,drinking_water&open=now",
                  "&open=arrival&mode=ebike", "&crs=gcj02", "&max_distance_m=2000&open=now", "&open_24h=true",
                  "&access=outdoor_workers&lang=en", "&amenities=aed&k=10")
# wrk prints its requests, errors (non-2xx included) and latency quantiles, in µs, at the end of
# its run, or when it is interrupted.
_SUMMARY_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RUN %d %d %d\\n", summary.requests, summary.duration,
                         e.connect + e.read + e.write + e.status + e.timeout))
  for _, p in ipairs({50, 90, 99, 99.9}) do io.write(string.format("P%g %d\\n", p, latency:percentile(p))) end
  io.write(string.format("Pmax %d\\n", latency.max))
end
"""


def _mixed_script(frame, path: Path, seed: int = 2) -> None:
    """A wrk script asking /nearest at VARIED_POINTS random points across mainland China (near
    the stations, about 5 km off), each with the next of the mixed filters."""
    from stations.coords import in_mainland_china

    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(frame), 2 * VARIED_POINTS)
    lat = frame["lat"].to_numpy()[picks] + rng.normal(0, 0.045, len(picks))
    lon = frame["lon"].to_numpy()[picks] + rng.normal(0, 0.055, len(picks))
    inside = np.flatnonzero(in_mainland_china(lat, lon))[:VARIED_POINTS]  # GCJ-02 exists only there
    lat, lon = lat[inside], lon[inside]
    paths = [f"/api/v1/nearest?lat={a:.5f}&lon={b:.5f}&k=5{_MIXED_FILTERS[i % len(_MIXED_FILTERS)]}"
             for i, (a, b) in enumerate(zip(lat, lon))]
    path.write_text("paths = {\n" + ",\n".join(f'  "{p}"' for p in paths) + "\n}\n"
                    "i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format(\"GET\", paths[i])\nend\n"
                    + _SUMMARY_LUA)


def _wrk_start(base: str, script: Path, connections: int, seconds: int) -> subprocess.Popen:
    # A request counts however long it takes (up to 120 s): none is dropped as a timeout.
    return subprocess.Popen(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "120s", "-s",
                             str(script), base], stdout=subprocess.PIPE, text=True)


def _wrk_summary(wrk: subprocess.Popen) -> dict:
    out = wrk.communicate(timeout=300)[0]
    requests, duration_us, errors = map(int, re.search(r"RUN (\d+) (\d+) (\d+)", out).groups())
    summary = {"requests": requests, "seconds": duration_us / 1e6, "errors": errors}
    summary.update({f"p{p}": int(us) / 1000 for p, us in re.findall(r"^P([\d.]+|max) (\d+)$", out, re.M)})
    return summary


def _served_revisions(base: str, tries: int = 10) -> set[int]:
    """The revisions /api/v1/health reports over a few requests (each worker answers some)."""
    seen = set()
    for _ in range(tries):
        with urllib.request.urlopen(base + "/api/v1/health", timeout=120) as resp:
            seen.add(json.loads(resp.read())["revision"])
    return seen


def latency_during_import(*, n: int = 200_000, n_import: int = 200_000, workers: int = 2, connections: int = 16,
                          idle_s: int = 30) -> None:
    """Print /nearest latency idle and while an ``n_import``-station import lands in a served
    store of ``n`` stations: while it writes, and from its commit until every worker serves it."""
    if shutil.which("wrk") is None:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    from stations.export import records_of
    from stations.store import Change, open_store
    from stations.synthetic import national_stations, write_national_csv

    with tempfile.TemporaryDirectory() as tmp:
        store, script = Path(tmp) / "bench.gpkg", Path(tmp) / "mixed.lua"
        frame = national_stations(n, seed=0)
        with open_store(store) as s:
            s.apply([Change("add", r) for r in records_of(frame)], command="bench")
        # Another draw of the national set: the same ids, other places and attributes.
        csv = write_national_csv(Path(tmp) / "import.csv", n_import, seed=1)
        _mixed_script(frame, script)
        phases = {}
        with serve(store, workers=workers, timeout_s=900) as base:
            _wrk_summary(_wrk_start(base, script, connections, 10))  # warm every worker: filters, views, sub-trees
            (before,) = _served_revisions(base)
            phases["idle"] = _wrk_summary(_wrk_start(base, script, connections, idle_s))
            wrk = _wrk_start(base, script, connections, 3600)
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "stations.cli", "--store", str(store), "import", str(csv),
                                   "--no-geocode"], cwd=ROOT, capture_output=True, text=True, timeout=3000)
            import_s = time.perf_counter() - start
            wrk.send_signal(signal.SIGINT)  # wrk stops and prints what it measured so far
            phases[f"{n_import:,}-station import: writing"] = _wrk_summary(wrk)
            if done.returncode != 0:
                raise RuntimeError(f"import failed: {done.stderr[-2000:]}")
            wrk = _wrk_start(base, script, connections, 3600)
            while before in _served_revisions(base) and time.perf_counter() - start < 3000:
                time.sleep(0.5)
            served_s = time.perf_counter() - start
            wrk.send_signal(signal.SIGINT)
            phases[f"{n_import:,}-station import: swapping in"] = _wrk_summary(wrk)
    print(f"\n/nearest latency while an import lands: {n:,} stations served, gunicorn {workers} workers, wrk "
          f"{connections} connections, {VARIED_POINTS:,} random points across China with mixed filters")
    print(f"import committed after {import_s:.1f} s; every worker served it {served_s - import_s:.1f} s later")
    print(f"{'phase':38} {'requests':>9} {'req/s':>7} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'p99.9 ms':>8} "
          f"{'max ms':>8} {'errors':>6} {'p99 x target':>12}")
    for name, m in phases.items():
        print(f"{name:38} {m['requests']:9,} {m['requests'] / m['seconds']:7.0f} {m['p50']:7.2f} {m['p90']:7.2f} "
              f"{m['p99']:7.2f} {m['p99.9']:8.1f} {m['pmax']:8.1f} {m['errors']:6} "
              f"{m['p99'] / TARGET_IMPORT_P99_MS:12.2f}")
    print(f"target: p99 <= {TARGET_IMPORT_P99_MS:.0f} ms during an import, and no errors")

if __name__ == "__main__":
    if "--during-import" in sys.argv[1:]:
        latency_during_import()
    else:
        main()
