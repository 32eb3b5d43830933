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
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from browser_util import serve  # noqa: E402

TARGET_RATIO = 0.7
VARIED_POINTS = 2000


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
        from stations.io.export import records_of
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


if __name__ == "__main__":
    main()
