"""Benchmark: the national map view of 200,000 stations in headless chromium.

Starts `stations serve` (gunicorn, 2 workers) over a store of N synthetic stations
(:func:`stations.synthetic.national_stations`), opens ``/map`` in Debian's headless chromium
(fresh profile each run, tiles=none so only 127.0.0.1 is contacted) and reports, per run:

* time until usable: navigation start -> the first clusters drawn (the page's own
  ``performance.now()`` when it has drawn the answer of ``/api/v1/clusters``);
* bytes transferred until then and after the page settles (outline basemap included),
  as encoded on the wire (DevTools ``encodedDataLength``);
* then a zoom to a provincial view (Hebei, zoom 7) and a city view (Beijing, zoom 12):
  time from the move to the new clusters drawn, and the bytes that took.

Target (the issue): national view usable in <= 1 s with <= 1 MB transferred.

Reproduce::

    .venv/bin/python benchmarks/bench_map.py              # 200,000 stations, 3 runs
    .venv/bin/python benchmarks/bench_map.py --n 20000 --runs 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

TARGET_S = 1.0
TARGET_BYTES = 1_000_000


def _served_bytes(browser, base: str, since: int = 0) -> tuple[int, int]:
    reqs = [r for r in browser.collect().requests.values() if r.url.startswith(base)]
    return sum(r.bytes for r in reqs[since:]), len(reqs)


def _move(browser, base: str, lat: float, lon: float, zoom: int) -> tuple[float, int]:
    _, before = _served_bytes(browser, base)
    start = time.perf_counter()
    browser.js(f"stationsMapView.map.setView([{lat}, {lon}], {zoom}, {{animate: false}})")
    browser.wait(f"stationsMapView.drawnZoom === {zoom}", timeout_s=60, interval_s=0.01)
    elapsed = time.perf_counter() - start
    time.sleep(0.5)
    moved_bytes, _ = _served_bytes(browser, base, before)
    return elapsed, moved_bytes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    from browser_util import Browser, browser_missing, serve

    from stations.io.export import records_of
    from stations.store import Change, open_store
    from stations.synthetic import national_stations

    missing = browser_missing()
    if missing:
        raise SystemExit(f"bench_map: {missing}")
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "bench.gpkg"
        start = time.perf_counter()
        frame = national_stations(args.n, seed=0)
        with open_store(store) as s:
            s.apply([Change("add", r) for r in records_of(frame)], command="bench")
        print(f"store of {args.n:,} synthetic stations written in {time.perf_counter() - start:.1f} s")
        with serve(store, env={"STATIONS_TILES": "none"}, workers=2, timeout_s=300) as base:
            import urllib.request

            # Warm both workers (snapshot, map index, outlines) as a running server would be.
            for _ in range(4):
                for path in ("/api/v1/clusters?bbox=73,18,135,54&zoom=4", "/api/v1/outlines/province",
                             "/api/v1/outlines/county?x=58&y=19", "/map"):
                    urllib.request.urlopen(base + path, timeout=300).read()
            rows = []
            for run in range(args.runs):
                with Browser(width=1280, height=800) as b:
                    b.get(base + "/map")
                    b.wait("window.stationsMapView && stationsMapView.readyAt", timeout_s=60, interval_s=0.01)
                    ready_s = b.js("return stationsMapView.readyAt") / 1000
                    clusters = b.js("return document.querySelectorAll('.st-cl').length")
                    matched = b.js("return stationsMapView.matched")
                    ready_bytes, _ = _served_bytes(b, base)
                    time.sleep(1.0)
                    settled_bytes, n_req = _served_bytes(b, base)
                    prov_s, prov_bytes = _move(b, base, 38.5, 115.5, 7)
                    city_s, city_bytes = _move(b, base, 39.91, 116.40, 12)
                    assert b.collect().leaving() == [], "a request left 127.0.0.1"
                rows.append((ready_s, ready_bytes, settled_bytes, n_req, clusters, matched, prov_s, prov_bytes,
                             city_s, city_bytes))
                print(f"run {run + 1}: usable in {ready_s:.3f} s, {ready_bytes / 1e3:.0f} kB until usable, "
                      f"{settled_bytes / 1e3:.0f} kB settled ({n_req} requests), {clusters} clusters for "
                      f"{matched:,} stations; province view {prov_s:.3f} s / {prov_bytes / 1e3:.0f} kB; "
                      f"city view {city_s:.3f} s / {city_bytes / 1e3:.0f} kB")
    med = [statistics.median(col) for col in zip(*rows)]
    print(f"\nnational view of {args.n:,} stations, median of {args.runs} cold page loads (fresh profile):")
    print(f"  time until usable        {med[0]:7.3f} s   (target <= {TARGET_S} s: "
          f"{'met' if med[0] <= TARGET_S else 'NOT met'})")
    print(f"  bytes until usable       {med[1] / 1e3:7.0f} kB")
    print(f"  bytes once settled       {med[2] / 1e3:7.0f} kB  (target <= {TARGET_BYTES / 1e6:.0f} MB: "
          f"{'met' if med[2] <= TARGET_BYTES else 'NOT met'})")
    print(f"  province view (zoom 7)   {med[6]:7.3f} s, {med[7] / 1e3:.0f} kB")
    print(f"  city view (zoom 12)      {med[8]:7.3f} s, {med[9] / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
