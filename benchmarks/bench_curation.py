"""What the curation overlay costs: the refresher's token query, a full read of the tables,
the per-answer cost on /nearest, and the size of a lean k=5 answer (raw and gzipped).

    python benchmarks/bench_curation.py [--stations 20000] [--reports 5000] [--checked 5000]

Makes a GeoPackage in a temporary folder with ``--stations`` stations, ``--reports`` open
reports and ``--checked`` stations with all four field groups checked, and prints a table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import random
import tempfile
import time
from pathlib import Path

import orjson

from stations.accounts.overlay import TOKEN_SQL, CurationKeeper, CurationOverlay
from stations.config import load_settings
from stations.lookup import nearest
from stations.travel import travels_from_settings
from stations.records import empty_record
from stations.service import build_snapshot
from stations.store import Change, open_store


def _median_s(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stations", type=int, default=20000)
    ap.add_argument("--reports", type=int, default=5000)
    ap.add_argument("--checked", type=int, default=5000)
    args = ap.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.gpkg"
        recs = []
        for i in range(args.stations):
            rec = empty_record()
            lat, lon = 39.0 + rng.random(), 119.0 + rng.random()
            rec.update(station_id=f"HB-{i:06d}", name=f"昌黎县第{i}环卫工人爱心驿站", adcode="130322", county="昌黎县",
                       address=f"河北省秦皇岛市昌黎县民生路{i}号", lat=lat, lon=lon, raw_lat=lat, raw_lon=lon,
                       raw_crs="wgs84", geocode_precision="exact", opening_hours="Mo-Su 07:00-19:00",
                       last_verified="2026-03-15", amenity_water="yes", amenity_toilet="yes")
            recs.append(Change("add", rec))
        now = dt.datetime.now(dt.timezone.utc)
        with open_store(path) as store:
            store.apply(recs, command="seed")
            with store.transaction() as db:
                db.executemany("INSERT INTO station_reports (station_id, kind, created_at) VALUES (?, ?, ?)",
                               [(f"HB-{rng.randrange(args.stations):06d}", rng.choice(["closed", "hours_wrong"]),
                                 (now - dt.timedelta(hours=rng.randrange(24 * 60))).isoformat(timespec="seconds")
                                 .replace("+00:00", "Z")) for _ in range(args.reports)])
                db.executemany("INSERT INTO station_checks VALUES (?, ?, ?, ?, ?, ?)",
                               [(f"HB-{i:06d}", g, now.isoformat(timespec="seconds").replace("+00:00", "Z"), "staff",
                                 "staff", i) for i in range(args.checked)
                                for g in ("position", "hours", "amenities", "access")])
            token_s = _median_s(lambda: store.query(TOKEN_SQL), 21)
            read_s = _median_s(lambda: CurationOverlay.read(store), 5)
            keeper = CurationKeeper()
            keeper.refresh(store)
            unchanged_s = _median_s(lambda: keeper.refresh(store), 21)
            keeper.recheck_s = 0.0  # as on a backend whose change token follows only the revision
            ungated_s = _median_s(lambda: keeper.refresh(store), 21)
            revision, frame = store.consistent_frame()
        snap = build_snapshot(frame, revision)
        travels = travels_from_settings(load_settings())
        points = [(39.0 + rng.random(), 119.0 + rng.random()) for _ in range(200)]

        def answers(curation):
            return [nearest(snap, lat=la, lon=lo, k=5, travels=travels, curation=curation) for la, lo in points]

        answers(keeper.current)
        plain_s = _median_s(lambda: answers(None), 5) / len(points)
        with_s = _median_s(lambda: answers(keeper.current), 5) / len(points)
        sizes = {}
        for name, cur in (("without overlay", None), ("with overlay", keeper.current)):
            bodies = [orjson.dumps(a) for a in answers(cur)]
            sizes[name] = (sum(map(len, bodies)) / len(bodies),
                           sum(len(gzip.compress(b, compresslevel=6)) for b in bodies) / len(bodies),
                           max(len(gzip.compress(b, compresslevel=6)) for b in bodies))
    print(f"stations {args.stations}, open reports {args.reports}, checked stations {args.checked} "
          f"({4 * args.checked} check rows)")
    print(f"{'what':<44}{'value':>14}")
    print(f"{'token query':<44}{token_s * 1e3:>11.2f} ms")
    print(f"{'refresh, nothing committed (change token)':<44}{unchanged_s * 1e3:>11.3f} ms")
    print(f"{'refresh, token query says unchanged':<44}{ungated_s * 1e3:>11.2f} ms")
    print(f"{'full read of both tables (token moved)':<44}{read_s * 1e3:>11.2f} ms")
    print(f"{'nearest k=5 lean, without overlay':<44}{plain_s * 1e6:>11.0f} µs")
    print(f"{'nearest k=5 lean, with overlay':<44}{with_s * 1e6:>11.0f} µs")
    for name, (raw, gz, gz_max) in sizes.items():
        print(f"{'lean k=5 answer ' + name + ', raw / gzip':<44}{raw:>8.0f} / {gz:.0f} B (max {gz_max} B gzipped)")


if __name__ == "__main__":
    main()
