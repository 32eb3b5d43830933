"""Benchmark: open-data dumps and the change feed over 200,000 stations.

Prints one table: for each dump format, seconds and peak memory of writing it from a
snapshot (what the server does: the snapshot is in memory anyway, so the row also gives the
memory *beyond* the snapshot), side by side with the all-in-memory way of writing the same
file (``json.dumps`` of the whole collection, ``DataFrame.to_csv``, pyogrio from a
GeoDataFrame) and the snapshot alone. Then the change feed: every change since revision 0
(the whole data set, in pages of 1,000) and one page of OGC API items. Each step runs in its
own fresh process; the store is made once (``stations.synthetic``, national, seed 0).

Reproduce::

    .venv/bin/python benchmarks/bench_opendata.py             # 200,000 stations
    .venv/bin/python benchmarks/bench_opendata.py --n 20000   # quicker
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import PEAK_SNIPPET, run_measured  # noqa: E402

MAKE_STORE = """
import sys
from stations.io.export import records_of
from stations.store import Change, open_store
from stations.synthetic import national_stations
with open_store(sys.argv[1]) as store:
    store.apply([Change("add", r) for r in records_of(national_stations(int(sys.argv[2])))], command="bench")
"""
# Every step first builds the snapshot the server keeps, returns the memory the build freed to
# the system (glibc's malloc_trim), notes the memory the snapshot holds and resets the peak
# (Linux: "5" to /proc/self/clear_refs resets VmHWM), so that the step's own peak is measured,
# not the snapshot build's. Linux with glibc only.
SNAPSHOT = """
import ctypes, gc, sys, time
from stations.store import open_store
from stations.service import build_snapshot

def status_kb(key):
    for line in open('/proc/self/status'):
        if line.startswith(key + ':'):
            return int(line.split()[1])

store = open_store(sys.argv[1])
revision, frame = store.consistent_frame()
snap = build_snapshot(frame, revision)
del frame
gc.collect()
ctypes.CDLL('libc.so.6').malloc_trim(0)  # give the build's freed memory back, so the step cannot hide in it
print('SNAPSHOT_PEAK_KB=%d' % status_kb('VmHWM'))
open('/proc/self/clear_refs', 'w').write('5')
print('SNAPSHOT_RSS_KB=%d' % status_kb('VmRSS'))
t0 = time.perf_counter()
"""
STEP_PEAK = "\nprint('STEP_PEAK_KB=%d' % status_kb('VmHWM'))\n"
DUMP = SNAPSHOT + """
from stations.opendata import DataLicence, DumpMeta, snapshot_records, write_dump
meta = DumpMeta(revision, store.revision_at(revision), DataLicence('CC-BY-4.0', '', 'bench'))
n = write_dump(sys.argv[2], snapshot_records(snap), sys.argv[3], meta=meta)
print('STEP_S=%.3f N=%d' % (time.perf_counter() - t0, n))
""" + STEP_PEAK
NAIVE = {
    "geojson": """
import json
from stations.opendata import public_feature
doc = {"type": "FeatureCollection", "features": [public_feature(snap.record(i)) for i in range(len(snap.frame))]}
open(sys.argv[3], "w", encoding="utf-8").write(json.dumps(doc, ensure_ascii=False))
""",
    "csv": """
from stations.opendata.public import PUBLIC_FIELDS
snap.frame[list(PUBLIC_FIELDS)].to_csv(sys.argv[3], index=False, encoding="utf-8-sig")
""",
    "gpkg": """
import geopandas as gpd
from stations.opendata.public import PUBLIC_FIELDS
f = snap.frame[list(PUBLIC_FIELDS)]
g = gpd.GeoDataFrame(f, geometry=gpd.points_from_xy(f["lon"], f["lat"]), crs=4326)
g.to_file(sys.argv[3], driver="GPKG", engine="pyogrio", layer="stations")
""",
}
FEED = """
import sys, time
from stations.opendata import read_changes
from stations.store import open_store
store = open_store(sys.argv[1])
t0 = time.perf_counter()
cursor, n, pages = None, 0, 0
while True:
    page = read_changes(store, 0, cursor=cursor, limit=1000)
    n += len(page.changes); pages += 1
    if page.cursor is None:
        break
    cursor = page.cursor
print('STEP_S=%.3f N=%d PAGES=%d' % (time.perf_counter() - t0, n, pages))
""" + PEAK_SNIPPET
ITEMS = SNAPSHOT + """
from stations.opendata import ogc
ogc.select_items(snap, ogc.ItemsQuery(limit=1), page_max=5000)  # the per-snapshot arrays, once
ids = sorted(snap.frame["station_id"])
cursors = [ids[i * (len(ids) - 1000) // 20] for i in range(20)]  # twenty places along the collection
t0 = time.perf_counter()
for cursor in cursors:
    page = ogc.select_items(snap, ogc.ItemsQuery(limit=1000, cursor=cursor), page_max=5000)
    assert len(page.features) == 1000
print('STEP_S=%.4f N=%d' % ((time.perf_counter() - t0) / 20, len(page.features)))
""" + STEP_PEAK


def _value(text: str, key: str) -> float:
    for line in text.splitlines():
        for part in line.split():
            if part.startswith(key + "="):
                return float(part.split("=", 1)[1])
    return float("nan")


def _row(label: str, out: str, size_mb: float) -> tuple:
    """(label, seconds, peak MB during the step, MB beyond the snapshot, file MB)."""
    base, peak = _value(out, "SNAPSHOT_RSS_KB") / 1024, _value(out, "STEP_PEAK_KB") / 1024
    return label, _value(out, "STEP_S"), peak, peak - base, size_mb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-opendata-") as tmp:
        store = Path(tmp) / "stations.gpkg"
        wall, _peak, _ = run_measured(MAKE_STORE, str(store), str(args.n))
        print(f"{args.n:,} synthetic stations stored in {wall:.1f} s\n")
        rows = []
        _wall, _peak, out = run_measured(SNAPSHOT, str(store))
        rows.append(("snapshot the server holds (baseline; building it peaks at "
                     f"{_value(out, 'SNAPSHOT_PEAK_KB') / 1024:,.0f} MB)", float("nan"),
                     _value(out, "SNAPSHOT_RSS_KB") / 1024, 0.0, float("nan")))
        for fmt in ("geojson", "csv", "gpkg"):
            for label, code in ((f"`{fmt}` dump, streamed from the snapshot", DUMP),
                                (f"`{fmt}` all in memory (baseline)", SNAPSHOT + NAIVE[fmt]
                                 + "\nprint('STEP_S=%.3f' % (time.perf_counter() - t0))\n" + STEP_PEAK)):
                path = Path(tmp) / f"out.{fmt}"
                _wall, _peak, out = run_measured(code, str(store), fmt, str(path))
                rows.append(_row(label, out, path.stat().st_size / 1e6))
                path.unlink()
        _wall, peak, out = run_measured(FEED, str(store))
        rows.append((f"change feed since 0: {int(_value(out, 'N')):,} changes in {int(_value(out, 'PAGES'))} pages",
                     _value(out, "STEP_S"), peak, float("nan"), float("nan")))
        _wall, _peak, out = run_measured(ITEMS, str(store))
        rows.append(_row("OGC items page of 1,000 (keyset), mean of 20", out, float("nan")))

    def fmt_num(x: float, spec: str) -> str:
        return "" if x != x else format(x, spec)

    print("| step | seconds | peak MB (RSS) | MB beyond the snapshot | file MB |")
    print("| --- | --- | --- | --- | --- |")
    for label, seconds, peak, extra, size in rows:
        print(f"| {label} | {fmt_num(seconds, '.2f')} | {fmt_num(peak, ',.0f')} | {fmt_num(extra, ',.0f')} "
              f"| {fmt_num(size, ',.1f')} |")


if __name__ == "__main__":
    main()
