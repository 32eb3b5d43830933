"""Benchmark: requests/s of /api/v1/nearest against the no-op /api/v1/ping in the same server.

Starts `stations serve` (gunicorn) on a loopback port over a store of N synthetic stations,
then drives both endpoints with the same load generator (wrk, from Debian's `wrk` package;
the script installs it with apt-get when missing), each for a bounded time, and prints
requests/s side by side with the ratio. Only 127.0.0.1 is ever contacted.

Reproduce::

    .venv/bin/python benchmarks/bench_http.py                 # 200,000 stations, 10 s per endpoint
    .venv/bin/python benchmarks/bench_http.py --n 20000 --seconds 5
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from browser_util import serve  # noqa: E402

TARGET_RATIO = 0.7


def _wrk(url: str, seconds: int, connections: int) -> tuple[float, float]:
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True, timeout=seconds + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[p50.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{url}: {non2xx.group(1)} error responses")
    return rps, float(p50.group(1)) * scale


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--seconds", type=int, default=10)
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
        # The tests' server helper: `stations serve` on a free loopback port, stopped with its workers.
        with serve(store, workers=args.workers, timeout_s=600) as base:
            nearest = base + "/api/v1/nearest?lat=39.9042&lon=116.4074&k=5&amenities=microwave&open=now"
            # Warm every worker: its snapshot, and each filter past PROMOTE_AFTER uses (a
            # hot filter's sub-tree is built in the background once, then kept).
            for url in (nearest, base + "/api/v1/ping"):
                for _ in range(150 * args.workers):
                    urllib.request.urlopen(url, timeout=60).read()
            rows = []
            for name, url in (("/api/v1/ping (no-op baseline)", base + "/api/v1/ping"),
                              ("/api/v1/nearest k=5 microwave open=now", nearest),
                              ("/api/v1/nearest k=5 unfiltered", base + "/api/v1/nearest?lat=39.9&lon=116.4&k=5")):
                rows.append((name, *_wrk(url, args.seconds, args.connections)))
    base_rps = rows[0][1]
    print(f"\nHTTP benchmark: {args.n:,} stations, gunicorn {args.workers} sync workers, wrk 1 thread "
          f"{args.connections} connections, {args.seconds} s each, loopback")
    print(f"{'endpoint':42} {'req/s':>9} {'p50 ms':>8} {'x ping':>7}")
    for name, rps, p50 in rows:
        print(f"{name:42} {rps:9.0f} {p50:8.2f} {rps / base_rps:7.2f}")
    ratio = rows[1][1] / base_rps
    print(f"\ntarget: /nearest >= {TARGET_RATIO} x ping -> {'met' if ratio >= TARGET_RATIO else 'NOT met'} ({ratio:.2f})")


if __name__ == "__main__":
    main()
