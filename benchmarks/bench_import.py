"""Benchmark: import the 200,000-station national synthetic CSV into a fresh GeoPackage.

Prints one table: seconds and peak memory of the full import (read, map Chinese headers,
normalise hours/amenities/coordinates, validate, find duplicates, write with history, one
transaction), side by side with baselines on the same file on the same machine:
``pandas.read_csv`` alone, and ``pyogrio`` reading the CSV and writing a GeoPackage with
no validation at all. Each step runs in its own fresh process.

Reproduce::

    .venv/bin/python benchmarks/bench_import.py            # 200,000 stations, best of 2
    .venv/bin/python benchmarks/bench_import.py --n 50000 --repeat 1
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import PEAK_SNIPPET, run_measured  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TARGET_S, TARGET_MB = 15.0, 2048.0

IMPORT = """
import sys
from stations.io.importer import import_file
from stations.store import open_store
with open_store(sys.argv[2]) as s:
    r = import_file(s, sys.argv[1], max_bytes=None)
print('ADDED=%d REJECTED=%d' % (r.added, r.rejected))
""" + PEAK_SNIPPET
REIMPORT = """
import sys, shutil
from stations.io.importer import import_file
from stations.store import open_store
with open_store(sys.argv[2]) as s:
    r = import_file(s, sys.argv[1], max_bytes=None)
print('UNCHANGED=%d' % r.unchanged)
""" + PEAK_SNIPPET
READ_CSV = """
import sys, pandas as pd
df = pd.read_csv(sys.argv[1], dtype=str)
print(len(df))
""" + PEAK_SNIPPET
PYOGRIO = """
import sys, pandas as pd, geopandas as gpd
df = pd.read_csv(sys.argv[1], dtype=str)
g = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df['经度'].astype(float), df['纬度'].astype(float)), crs=4326)
g.to_file(sys.argv[2], driver='GPKG', engine='pyogrio')
""" + PEAK_SNIPPET


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    out = ROOT / "benchmarks" / "out"
    out.mkdir(parents=True, exist_ok=True)
    csv = out / f"national_{args.n}.csv"
    if not csv.exists():
        from stations.synthetic import write_national_csv

        print(f"generating {csv} ...", flush=True)
        write_national_csv(csv, args.n, seed=0)
    size_mb = csv.stat().st_size / 1e6
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        def best(code, *extra, fresh=True, label=""):
            results = []
            for i in range(args.repeat):
                target = Path(tmp) / f"{label}-{i}.gpkg"
                if fresh and target.exists():
                    target.unlink()
                results.append(run_measured(code, str(csv), str(target), *extra))
            return min(results, key=lambda r: r[0])

        base_read = best(READ_CSV, label="read")
        base_ogr = best(PYOGRIO, label="ogr")
        full = best(IMPORT, label="import")
        again = run_measured(REIMPORT, str(csv), str(Path(tmp) / "import-0.gpkg"))
    rows = [("pandas.read_csv (baseline: read only)", base_read),
            ("pyogrio CSV -> GPKG (baseline: no validation)", base_ogr),
            ("stations import (fresh store)", full),
            ("stations import again (all unchanged)", again)]
    print(f"\nimport benchmark: {args.n:,} stations, {size_mb:.1f} MB CSV (GB headers, UTF-8), best of {args.repeat}")
    print(f"{'step':48} {'seconds':>8} {'peak MB':>8} {'x read_csv':>10} {'x pyogrio':>10}")
    for name, (wall, peak, _text) in rows:
        print(f"{name:48} {wall:8.2f} {peak:8.0f} {wall / base_read[0]:10.1f} {wall / base_ogr[0]:10.2f}")
    wall, peak = full[0], full[1]
    print(f"\ntarget: <= {TARGET_S:.0f} s and <= {TARGET_MB:.0f} MB -> "
          f"{'met' if wall <= TARGET_S and peak <= TARGET_MB else 'NOT met'} "
          f"({wall:.1f} s = {wall / TARGET_S:.2f} x target, {peak:.0f} MB = {peak / TARGET_MB:.2f} x target)")
    print(full[2].strip().splitlines()[0])


if __name__ == "__main__":
    main()
