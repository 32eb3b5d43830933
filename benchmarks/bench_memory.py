"""Benchmark: memory of a serving worker, and where it goes, at several store sizes.

For each size N (stations from :func:`stations.synthetic.national_stations`, in a GeoPackage):

1. **Stages**, in a fresh interpreter (``--stages STORE``): RSS after ``import stations.web``,
   after ``create_app`` (store read, snapshot built and warmed), and after ``--queries``
   random requests to ``/api/v1/nearest`` (points across mainland China, the mixed filters of
   ``bench_http.py``) through Flask's test client; then what the snapshot holds (the frame's
   arrays and the distinct objects they point to, the index's arrays) and which heavy
   libraries are loaded.
2. **Served**: ``stations serve`` (gunicorn, gevent workers, as deployed) over the same store;
   the same requests over HTTP; then each worker's RSS, PSS and USS (USS: what is private to it; shared
   library pages count in every RSS).

Numbers are MB (2**20 bytes). The issue's target: at most 300 MB per worker at 200,000
stations after 2,000 random queries, judged by PSS: a worker's share of what the machine spends
(pages it shares with the master and the other worker count divided among them). RSS, printed
beside it, counts the master's shared pages again in every worker.

Reproduce::

    .venv/bin/python benchmarks/bench_memory.py                        # 100,000, 200,000, 400,000
    .venv/bin/python benchmarks/bench_memory.py --sizes 200000 --keep var/bench   # reuse stores
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]
from bench_http import _china_points, _master_pid, _paths, _worker_memory  # noqa: E402
from browser_util import serve  # noqa: E402
from _measure import rss_mb  # noqa: E402

TARGET_WORKER_MB = 300  # judged by PSS (RSS counts the master's shared pages again)
HEAVY = ("numba", "llvmlite", "scipy", "shapely", "pyproj", "geopandas", "folium", "branca", "requests",
         "pyogrio", "openpyxl", "networkx", "sklearn", "matplotlib")


def _store(n: int, folder: Path) -> Path:
    """A GeoPackage of ``n`` synthetic stations in ``folder`` (made once, then reused)."""
    path = folder / f"stations-{n}.gpkg"
    if not path.exists():
        from stations.io.export import records_of
        from stations.store import Change, open_store
        from stations.synthetic import national_stations

        frame = national_stations(n, seed=0)
        part = path.with_suffix(".part")
        part.unlink(missing_ok=True)
        with open_store(part) as s:
            s.apply([Change("add", r) for r in records_of(frame)], command="bench")
        part.rename(path)
    return path


def _query_paths(queries: int) -> list[str]:
    lat, lon = _china_points(queries, seed=3)
    return _paths(lat, lon, filters=True)


def stages(store: str, queries: int) -> dict:
    """RSS at each stage of one process serving ``store`` (run in a fresh interpreter)."""
    import pandas as pd

    out = {"start": rss_mb()}
    from stations.web import create_app

    out["import stations.web"] = rss_mb()
    app = create_app({"store": store})
    out["create_app (snapshot built, warmed)"] = rss_mb()
    client = app.test_client()
    for path in _query_paths(queries):
        resp = client.get(path)
        assert resp.status_code == 200, (path, resp.data[:300])
    out[f"after {queries:,} random queries"] = rss_mb()
    snap = app.extensions["stations"].snapshot()
    frame = snap.frame
    arrays = sum(frame[name].array.nbytes if isinstance(frame[name].dtype, pd.CategoricalDtype)
                 else frame[name].to_numpy().nbytes for name in frame.columns)
    seen: set[int] = set()
    objects = 0
    for name in frame.columns:
        col = frame[name]
        values = col.cat.categories if isinstance(col.dtype, pd.CategoricalDtype) else col.to_numpy()
        if values.dtype != object:
            continue
        for v in values:
            if id(v) not in seen:
                seen.add(id(v))
                objects += sys.getsizeof(v)
    views = sum(len(v) for k, v in snap.cache.items() if isinstance(k, tuple) and k[0] == "nearest.views")
    return {"rss": out, "frame_arrays_mb": arrays / 2**20, "frame_objects_mb": objects / 2**20,
            "index_cache_mb": snap.index.cache_info()["bytes"] / 2**20,
            "station_views": views, "columns": len(frame.columns),
            "categorical": sum(isinstance(d, pd.CategoricalDtype) for d in frame.dtypes),
            "heavy": sorted({m.split(".")[0] for m in sys.modules} & set(HEAVY))}


def served(store: Path, queries: int, workers: int) -> list[tuple[float, float, float]]:
    """(RSS, PSS, USS) MB of each `stations serve` worker after ``queries`` random requests (each
    asked twice, so that both workers see them)."""
    paths = _query_paths(queries)
    with serve(store, workers=workers, timeout_s=900) as base:
        for path in paths * 2:
            urllib.request.urlopen(base + path, timeout=60).read()
        time.sleep(1.0)
        return _worker_memory(_master_pid(int(base.rsplit(":", 1)[1])))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,200000,400000")
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--keep", type=Path, default=None, help="folder to keep the stores in between runs")
    ap.add_argument("--stages", default=None, help=argparse.SUPPRESS)  # STORE: run the stages here, print JSON
    args = ap.parse_args()
    if args.stages:
        print(json.dumps(stages(args.stages, args.queries)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for n in sizes:
            store = _store(n, folder)
            out = subprocess.run([sys.executable, __file__, "--stages", str(store), "--queries", str(args.queries)],
                                 capture_output=True, text=True, check=True, cwd=ROOT).stdout
            rows.append((n, json.loads(out.strip().splitlines()[-1]), served(store, args.queries, args.workers)))
    print(f"\nMemory per worker, MB; {args.queries:,} random /api/v1/nearest queries (mixed filters)")
    print(f"{'stations':>9} {'imports':>8} {'app':>7} {'queries':>8} {'frame arr':>9} {'frame obj':>9} "
          f"{'filters':>7} {'views':>6}  {'served RSS / PSS / USS per worker':36}")
    for n, st, mem in rows:
        rss = list(st["rss"].values())
        print(f"{n:9,} {rss[1]:8.0f} {rss[2]:7.0f} {rss[3]:8.0f} {st['frame_arrays_mb']:9.1f} "
              f"{st['frame_objects_mb']:9.1f} {st['index_cache_mb']:7.1f} "
              f"{st['station_views']:6,}  "
              f"{', '.join('%.0f / %.0f / %.0f' % m for m in mem)}")
    print("(imports / app / queries: RSS of one process after `import stations.web`, after create_app, after the "
          "queries; frame arr: the snapshot frame's column arrays; frame obj: the distinct objects they point to; "
          "filters: the index's cache of filtered masks and sub-trees; views: station "
          f"views kept for answers; heavy libraries loaded: {', '.join(rows[-1][1]['heavy'])})")
    if len(rows) >= 2:
        (n0, _, m0), (n1, _, m1) = rows[0], rows[-1]
        r0, r1 = max(m[0] for m in m0), max(m[0] for m in m1)
        per = (r1 - r0) / (n1 - n0)
        print(f"\nscaling: {per * 1e3:.2f} MB per 1,000 stations beyond the first {n0:,}; "
              f"at 1,000,000 stations about {r0 + per * (1_000_000 - n0):.0f} MB RSS per worker (linear)")
    at = {n: max(m[0] for m in mem) for n, _, mem in rows}
    pss = {n: max(m[1] for m in mem) for n, _, mem in rows}
    if 200_000 in at:
        print(f"target: <= {TARGET_WORKER_MB} MB per worker (PSS) at 200,000 stations: {pss[200_000]:.0f} "
              f"({'met' if pss[200_000] <= TARGET_WORKER_MB else 'NOT met'}); RSS {at[200_000]:.0f}")


if __name__ == "__main__":
    main()
