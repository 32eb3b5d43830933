"""Benchmark: nearest-station lookup at national scale (stations.index).

Stations come from :func:`stations.synthetic.national_stations` (clustered around real
city centres across mainland China, amenity and hours frequencies from the national
figures: 6.5 % open 24/7), plus 2 % marked county-precision (excluded by default). The
rare combination is ``aed`` + ``legal_aid`` (about 0.3 % of stations). Query points are
drawn where people are: 90 % within a few km of a station, 10 % anywhere in China's
bounding box.

Prints one table: build time; k=5 median / p99 latency per filter, and what the filter
searches (the main tree, a mask over it, or a sub-tree of its own) with the milliseconds
its first query spent building that; each filter that runs on a mask timed again on a
sub-tree of its own, query by query in turn with the mask (what a "promotion" of the mask
to a sub-tree would gain); a mixed load (random points, a mix of filters, the clock
running from 07:45, on an index warmed up by its first 300 queries); what each cache saves (a static filter, an
open-set snapshot computed per query); brute force (numpy haversine over every station)
and scikit-learn ``BallTree(metric="haversine")`` for the same unfiltered queries; a batch
of a million points; ratios against the targets. Every filter's answers are also checked
against the brute-force oracle on a sample of queries.

    python benchmarks/bench_nearest.py                  # 200,000 and 1,000,000 stations
    python benchmarks/bench_nearest.py --quick          # 20,000 and 100,000, fewer queries
    python benchmarks/bench_nearest.py --sizes 500000 --queries 5000
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stations.amenities import AMENITY_CODES  # noqa: E402
from stations.index import StationIndex, nearest_bruteforce  # noqa: E402
from stations.index._filters import filter_key, static_filter  # noqa: E402

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2025, 6, 4, 10, 30, tzinfo=SHANGHAI)  # a Wednesday morning
EBIKE_M_S = 15 / 3.6

# name -> (label, nearest() keyword arguments)
FILTERS: dict[str, tuple[str, dict]] = {
    "none": ("defaults (in service, precise)", {}),
    "microwave": ("microwave", {"amenities": ("microwave",)}),
    "toilet": ("toilet", {"amenities": ("toilet",)}),
    "common": ("toilet + water, everyone/outdoor workers", {
        "amenities": ("toilet", "drinking_water"), "access": ("everyone", "outdoor_workers")}),
    "rare": ("rare combo aed + legal_aid", {"amenities": ("aed", "legal_aid")}),
    "open_now": ("open now (10:30)", {"open_at": NOW}),
    "microwave_open": ("microwave + open now", {"amenities": ("microwave",), "open_at": NOW}),
    "night": ("open at 03:00 (24/7 only)", {"open_at": NOW.replace(hour=3)}),
    "rare_open": ("rare combo + open now + 24h", {
        "amenities": ("aed", "legal_aid"), "open_at": NOW, "open_24h": True}),
    "arrival": ("open on arrival, e-bike, 10:30", {"open_at": NOW, "arrival_speed_m_s": EBIKE_M_S}),
    "arrival_close": ("open on arrival, e-bike, 19:55", {
        "open_at": NOW.replace(hour=19, minute=55), "arrival_speed_m_s": EBIKE_M_S}),
    "rare_arrival_night": ("rare combo + open on arrival, walk, 02:50", {
        "amenities": ("aed", "legal_aid"), "open_at": NOW.replace(hour=2, minute=50), "arrival_speed_m_s": 1.25}),
    "within_2km": ("open now within 2 km (often fewer than 5)", {"open_at": NOW, "max_distance_m": 2000.0}),
}
# The mixed load: (weight, nearest() keyword arguments); "now" is the clock of the run.
MIXED: list[tuple[float, dict]] = [
    (0.30, {}),
    (0.20, {"open_at": "now"}),
    (0.10, {"amenities": ("microwave",), "open_at": "now"}),
    (0.05, {"amenities": ("toilet", "drinking_water"), "access": ("everyone", "outdoor_workers")}),
    (0.05, {"access": ("everyone", "unknown")}),
    (0.05, {"open_at": "now", "max_distance_m": 2000.0}),
    (0.10, {"open_at": "now", "arrival_speed_m_s": EBIKE_M_S}),
    (0.05, {"amenities": ("aed", "legal_aid")}),
    (0.05, {"open_24h": True}),
    (0.05, {"amenities": ("microwave", "toilet"), "open_at": "now"}),
]
# The clock of the mixed load: from 07:45, one second per query (a quiet service: a busy one
# builds a new open set's structures as often, for many more queries). It passes 08:00 and
# 08:30, when many stations open: new open sets, whose structures are built on first use.
MIXED_START, MIXED_STEP = NOW.replace(hour=7, minute=45), timedelta(seconds=1)
TARGET_MEDIAN_US, TARGET_P99_US, TARGET_BUILD_S, TARGET_BATCH_S = 20.0, 60.0, 1.0, 1.5


@dataclass
class Result:
    n: int
    build_s: float = 0.0
    frame_build_s: float = 0.0
    selectivity: dict = field(default_factory=dict)
    latency: dict = field(default_factory=dict)  # name -> (median us, p99 us, cold ms)
    structure: dict = field(default_factory=dict)  # name -> (kind, ms to build it)
    on_subtree: dict = field(default_factory=dict)  # mask filter -> ((med, p99) on the mask, (med, p99) on a sub-tree)
    mixed: tuple = (0.0, 0.0, 0.0, 0)  # median us, p99 us, max ms, structures built
    static_us: float = 0.0  # a static filter computed (what its cache saves per query)
    snapshot_us: tuple = (0.0, 0.0)  # an open-at-t snapshot, a 15-minute arrival band's snapshot
    agree: dict = field(default_factory=dict)  # name -> (agreeing, checked)
    floor_us: float = 0.0  # bare KDTree.query (the index's own tree) on the main tree, same points
    scipy_us: float = 0.0  # bare scipy cKDTree.query on the same points
    brute_ms: float = 0.0
    balltree_us: tuple = (0.0, 0.0)
    balltree_build_s: float = 0.0
    batch_s: tuple = (0.0, 0.0)


def make_stations(n: int, seed: int):
    from stations.synthetic import national_stations

    df = national_stations(n, seed=seed)
    rng = np.random.default_rng(seed + 1)
    county = rng.random(n) < 0.02
    df.loc[county, "geocode_precision"] = "county"
    return df


def arrays(df) -> dict:
    """The columns as numpy arrays, as a store hands them over (strings, None for missing)."""
    return dict(
        lat=df["lat"].to_numpy(np.float64), lon=df["lon"].to_numpy(np.float64),
        station_id=df["station_id"].to_numpy(object),
        amenities={c: df[f"amenity_{c}"].to_numpy(object) for c in AMENITY_CODES},
        opening_hours=df["opening_hours"].to_numpy(object), timezone=df["timezone"].to_numpy(object),
        access=df["access"].to_numpy(object), status=df["status"].to_numpy(object),
        geocode_precision=df["geocode_precision"].to_numpy(object),
    )


def query_points(df, m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    near = rng.random(m) < 0.9
    base = rng.integers(0, len(df), m)
    lat = df["lat"].to_numpy()[base] + rng.normal(0, 0.02, m)  # ~2 km
    lon = df["lon"].to_numpy()[base] + rng.normal(0, 0.025, m)
    lat = np.where(near, lat, rng.uniform(18.0, 53.5, m))
    lon = np.where(near, lon, rng.uniform(73.5, 135.0, m))
    return np.clip(lat, -90, 90), np.clip(lon, -180, 180)


def time_queries(index: StationIndex, lats, lons, kwargs: dict) -> tuple[float, float, float]:
    """(median us, p99 us, first query ms) in steady state: the filter's structures built."""
    t = time.perf_counter()
    index.nearest(lat=float(lats[0]), lon=float(lons[0]), k=5, **kwargs)  # builds what this filter needs
    cold_ms = (time.perf_counter() - t) * 1e3
    for la, lo in zip(lats[1:300].tolist(), lons[1:300].tolist()):  # warm-up
        index.nearest(lat=la, lon=lo, k=5, **kwargs)
    gc.collect()
    out = np.empty(len(lats))
    clock = time.perf_counter_ns
    for j, (la, lo) in enumerate(zip(lats.tolist(), lons.tolist())):
        t0 = clock()
        index.nearest(lat=la, lon=lo, k=5, **kwargs)
        out[j] = clock() - t0
    return float(np.median(out)) / 1e3, float(np.percentile(out, 99)) / 1e3, cold_ms


def time_in_turn(a: StationIndex, b: StationIndex, lats, lons, kwargs: dict) -> tuple[tuple, tuple]:
    """((median us, p99 us) on ``a``, the same on ``b``): each query asked of both, in turn
    (which goes first alternates), so that a slow spell of the machine hits both alike."""
    for la, lo in zip(lats[:300].tolist(), lons[:300].tolist()):
        a.nearest(lat=la, lon=lo, k=5, **kwargs)
        b.nearest(lat=la, lon=lo, k=5, **kwargs)
    gc.collect()
    out = np.empty((len(lats), 2))
    clock = time.perf_counter_ns
    for j, (la, lo) in enumerate(zip(lats.tolist(), lons.tolist())):
        first, second = (a, b) if j % 2 == 0 else (b, a)
        t0 = clock()
        first.nearest(lat=la, lon=lo, k=5, **kwargs)
        t1 = clock()
        second.nearest(lat=la, lon=lo, k=5, **kwargs)
        t2 = clock()
        out[j] = (t1 - t0, t2 - t1) if j % 2 == 0 else (t2 - t1, t1 - t0)
    return tuple((float(np.median(out[:, c])) / 1e3, float(np.percentile(out[:, c], 99)) / 1e3) for c in (0, 1))


def filter_of(index: StationIndex, kwargs: dict):
    """The static filter and open-set snapshot that a query with ``kwargs`` searches (the
    index's internals; open on arrival searches its static filter's structure)."""
    key = filter_key(kwargs.get("amenities", ()), kwargs.get("open_24h"), kwargs.get("statuses", ("open",)),
                     kwargs.get("access"), kwargs.get("include_imprecise", False))
    at = kwargs.get("open_at")
    snap = None if at is None or kwargs.get("arrival_speed_m_s") else index._s.snapshot(at, 0.0)
    return index._s.static_filter(key), snap


def build_structure(index: StationIndex, kwargs: dict, *, force_subtree: bool = False) -> tuple[str, float]:
    """What a filter searches ("main", "mask", "subtree"), and the milliseconds spent building
    it (0 if it was there already)."""
    sf, snap = filter_of(index, kwargs)
    t = time.perf_counter()
    entry = index._s.entry(sf, snap, force_subtree=force_subtree)
    return entry.kind, (time.perf_counter() - t) * 1e3


def mixed_load(index: StationIndex, lats, lons, seed: int, oracle_cols, n_check: int
               ) -> tuple[tuple[float, float, float, int], tuple[int, int]]:
    """Queries with a mix of filters (:data:`MIXED`), "now" running from :data:`MIXED_START`:
    ((median us, p99 us, max ms, structures built), (agreeing, checked))."""
    rng = np.random.default_rng(seed)
    weights = np.array([w for w, _ in MIXED])
    pick = rng.choice(len(MIXED), size=len(lats), p=weights / weights.sum())
    jobs = [(la, lo, {name: MIXED_START + j * MIXED_STEP if isinstance(v, str) and v == "now" else v
                      for name, v in MIXED[pick[j]][1].items()})
            for j, (la, lo) in enumerate(zip(lats.tolist(), lons.tolist()))]
    for la, lo, kwargs in jobs[:300]:  # warm-up: every filter's static part and first structures
        index.nearest(lat=la, lon=lo, k=5, **kwargs)
    builds = index.cache_info()["builds"]
    gc.collect()
    out = np.empty(len(jobs))
    answers = []
    every = max(len(jobs) // max(n_check, 1), 1)
    clock = time.perf_counter_ns
    for j, (la, lo, kwargs) in enumerate(jobs):
        t0 = clock()
        hits = index.nearest(lat=la, lon=lo, k=5, **kwargs)
        out[j] = clock() - t0
        if j % every == 0:
            answers.append((la, lo, kwargs, [h.row for h in hits]))
    built = index.cache_info()["builds"] - builds
    agree = sum(got == [h.row for h in nearest_bruteforce(oracle_cols, lat=la, lon=lo, k=5, **kwargs)]
                for la, lo, kwargs, got in answers)
    return ((float(np.median(out)) / 1e3, float(np.percentile(out, 99)) / 1e3, float(out.max()) / 1e6, built),
            (agree, len(answers)))


def cache_savings(index: StationIndex) -> tuple[float, tuple[float, float]]:
    """Microseconds (median) of what the caches save per query: a static filter computed
    (the common filter), an open-set snapshot at 10:30 and a 15-minute arrival band's."""
    key = filter_key(("toilet", "drinking_water"), None, ("open",), ("everyone", "outdoor_workers"), False)

    def median_us(fn, times: int) -> float:
        ts = []
        for _ in range(times):
            t = time.perf_counter_ns()
            fn()
            ts.append(time.perf_counter_ns() - t)
        return float(np.median(ts)) / 1e3

    hours = index.table.hours
    return (median_us(lambda: static_filter(index.table, key), 200),
            (median_us(lambda: hours.snapshot(NOW, 0.0), 50), median_us(lambda: hours.snapshot(NOW, 900.0), 50)))


def check_against_oracle(index, columns, lats, lons, kwargs, n_check: int) -> tuple[int, int]:
    agree = 0
    for la, lo in zip(lats[:n_check].tolist(), lons[:n_check].tolist()):
        got = [h.row for h in index.nearest(lat=la, lon=lo, k=5, **kwargs)]
        want = [h.row for h in nearest_bruteforce(columns, lat=la, lon=lo, k=5, **kwargs)]
        agree += got == want
    return agree, n_check


def bare_tree_us(index: StationIndex, lats, lons) -> tuple[float, float]:
    """The floor: the index's own tree, and scipy's cKDTree over the same points; query(k=6),
    unit vectors precomputed. Median microseconds of each."""
    from scipy.spatial import cKDTree

    from stations.index._geometry import unit_vectors

    tree = index._s.main
    ref = cKDTree(tree.pts, leafsize=16, balanced_tree=False, compact_nodes=False)
    points = [tuple(p) for p in unit_vectors(lats, lons).tolist()]
    out = np.empty((len(points), 2))
    for j, p in enumerate(points):
        t0 = time.perf_counter_ns()
        tree.query(p[0], p[1], p[2], 6)
        t1 = time.perf_counter_ns()
        ref.query(p, 6)
        out[j] = time.perf_counter_ns() - t1, t1 - t0
    return float(np.median(out[:, 1])) / 1e3, float(np.median(out[:, 0])) / 1e3


def brute_force_ms(columns, lats, lons, n: int) -> float:
    ts = []
    for la, lo in zip(lats[:n].tolist(), lons[:n].tolist()):
        t = time.perf_counter()
        nearest_bruteforce(columns, lat=la, lon=lo, k=5)
        ts.append(time.perf_counter() - t)
    return float(np.median(ts)) * 1e3


def balltree(columns, lats, lons, n_queries: int) -> tuple[float, tuple[float, float]]:
    from sklearn.neighbors import BallTree

    t = time.perf_counter()
    tree = BallTree(np.radians(np.column_stack([columns["lat"], columns["lon"]])), metric="haversine")
    build = time.perf_counter() - t
    q = np.radians(np.column_stack([lats[:n_queries], lons[:n_queries]]))
    ts = np.empty(len(q))
    for j in range(len(q)):
        t0 = time.perf_counter_ns()
        tree.query(q[j:j + 1], k=5)
        ts[j] = time.perf_counter_ns() - t0
    return build, (float(np.median(ts)) / 1e3, float(np.percentile(ts, 99)) / 1e3)


def run_size(df_all, n: int, args) -> Result:
    df = df_all.iloc[:n].reset_index(drop=True)  # rows are in random order: a random subset
    res = Result(n)
    cols = arrays(df)
    gc.collect()
    t = time.perf_counter()
    index = StationIndex.from_arrays(**cols)
    res.build_s = time.perf_counter() - t
    t = time.perf_counter()
    StationIndex.from_frame(df)
    res.frame_build_s = time.perf_counter() - t
    # The oracle's columns: plain arrays, amenities as yes-booleans (its fastest input).
    oracle_cols = {"lat": df["lat"].to_numpy(), "lon": df["lon"].to_numpy(),
                   "station_id": df["station_id"].to_numpy(object), "status": df["status"].to_numpy(object),
                   "access": df["access"].to_numpy(object),
                   "geocode_precision": df["geocode_precision"].to_numpy(object),
                   "opening_hours": df["opening_hours"].to_numpy(object),
                   "timezone": df["timezone"].to_numpy(object),
                   **{f"amenity_{c}": (df[f"amenity_{c}"] == "yes").to_numpy() for c in AMENITY_CODES}}
    lats, lons = query_points(df, args.queries, args.seed + n)
    twin = StationIndex.from_arrays(**arrays(df))  # for each mask filter: a sub-tree of its own
    for name, (_, kwargs) in FILTERS.items():
        kind, build_ms = build_structure(index, kwargs)
        res.latency[name] = time_queries(index, lats, lons, kwargs)
        res.structure[name] = (kind if build_structure(index, kwargs)[0] == kind else f"{kind}, then sub-tree",
                               build_ms)
        res.agree[name] = check_against_oracle(index, oracle_cols, lats[::7], lons[::7], kwargs, args.check)
        res.selectivity[name] = index_selectivity(index, kwargs)
        if kind == "mask":
            build_structure(twin, kwargs, force_subtree=True)
            res.on_subtree[name] = time_in_turn(index, twin, lats, lons, kwargs)
    del twin
    res.static_us, res.snapshot_us = cache_savings(index)
    fresh = StationIndex.from_arrays(**arrays(df))
    res.mixed, res.agree["mixed"] = mixed_load(fresh, lats, lons, args.seed + 3 * n, oracle_cols, args.check)
    del fresh
    res.floor_us, res.scipy_us = bare_tree_us(index, lats, lons)
    res.brute_ms = brute_force_ms({"lat": oracle_cols["lat"], "lon": oracle_cols["lon"]}, lats, lons, args.brute)
    res.balltree_build_s, res.balltree_us = balltree(oracle_cols, lats, lons, min(args.queries, 2000))
    blat, blon = query_points(df, args.batch, args.seed + 2 * n)
    gc.collect()
    t = time.perf_counter()
    index.nearest_batch(blat, blon, k=5)
    cold = time.perf_counter() - t
    t = time.perf_counter()
    index.nearest_batch(blat, blon, k=5)
    res.batch_s = (cold, time.perf_counter() - t)
    return res


def index_selectivity(index: StationIndex, kwargs: dict) -> float:
    """Share of stations passing the filter at the query time (for arrival: open at departure)."""
    sf, snap = filter_of(index, {k: v for k, v in kwargs.items() if k != "arrival_speed_m_s"})
    ok = sf.class_ok
    if snap is not None:
        ok = ok & (snap.labels[index.table.class_pattern] == 1)
    return float(index.table.class_count[ok].sum()) / len(index)


def fmt_table(results: list[Result], args) -> str:
    sizes = [f"{r.n:,}" for r in results]
    rows: list[tuple[str, list[str], str, str]] = []  # label, per size, target, ratio at largest
    last = results[-1]
    rows.append(("build from arrays, s (xyz, bits, hours, tree)", [f"{r.build_s:.2f}" for r in results],
                 f"<= {TARGET_BUILD_S:g}", f"{last.build_s / TARGET_BUILD_S:.2f}"))
    rows.append(("build from DataFrame, s", [f"{r.frame_build_s:.2f}" for r in results], "", ""))
    ratio = (lambda med, p99: f"{med / TARGET_MEDIAN_US:.2f} / {p99 / TARGET_P99_US:.2f}")  # noqa: E731
    for name, (label, _) in FILTERS.items():
        med, p99, _ = last.latency[name]
        rows.append((f"k=5 {label} [{last.selectivity[name]:.2%}] us med/p99",
                     [f"{r.latency[name][0]:5.1f} / {r.latency[name][1]:5.1f}" for r in results],
                     f"{TARGET_MEDIAN_US:g} / {TARGET_P99_US:g}", ratio(med, p99)))
        rows.append(("    searches: structure, ms to build it",
                     [f"{r.structure[name][0]}, {r.structure[name][1]:.1f}" for r in results], "", ""))
        if all(name in r.on_subtree for r in results):
            rows.append(("    in turn: on the mask vs on a sub-tree of its own, us med/p99",
                         ["{:.1f}/{:.1f} vs {:.1f}/{:.1f}".format(*r.on_subtree[name][0], *r.on_subtree[name][1])
                          for r in results], "", ""))
    med, p99, _, _ = last.mixed
    rows.append(("k=5 mixed load, clock from 07:45 at 1 s/query, us med/p99",
                 [f"{r.mixed[0]:5.1f} / {r.mixed[1]:5.1f}" for r in results], f"{TARGET_MEDIAN_US:g} / {TARGET_P99_US:g}",
                 ratio(med, p99)))
    rows.append(("    slowest query ms; structures built during the run",
                 [f"{r.mixed[2]:.1f}; {r.mixed[3]}" for r in results], "", ""))
    rows.append(("a static filter computed (cached per filter), us",
                 [f"{r.static_us:5.1f}" for r in results], "", ""))
    rows.append(("an open-set snapshot computed: at t / 15-min band (cached), us",
                 [f"{r.snapshot_us[0]:5.0f} / {r.snapshot_us[1]:5.0f}" for r in results], "", ""))
    rows.append(("floor: bare KDTree.query(k=6) of the index, same points, us med",
                 [f"{r.floor_us:5.1f}" for r in results], "", ""))
    rows.append(("bare scipy cKDTree.query(k=6), same points, us med",
                 [f"{r.scipy_us:5.1f}" for r in results], "", ""))
    rows.append(("largest structure built for a filter, ms",
                 [f"{max(ms for _, ms in r.structure.values()):.0f}" for r in results], "", ""))
    rows.append(("answers equal to brute-force oracle",
                 [f"{sum(a for a, _ in r.agree.values())}/{sum(c for _, c in r.agree.values())}" for r in results],
                 "all", ""))
    rows.append((f"brute force, numpy haversine, median ms ({args.brute} q)", [f"{r.brute_ms:.1f}" for r in results],
                 "", ""))
    rows.append(("sklearn BallTree haversine k=5 us med/p99",
                 [f"{r.balltree_us[0]:5.1f} / {r.balltree_us[1]:5.1f}" for r in results], "", ""))
    rows.append(("sklearn BallTree build, s", [f"{r.balltree_build_s:.2f}" for r in results], "", ""))
    rows.append(("speed-up vs brute force / BallTree (unfiltered median)",
                 [f"{r.brute_ms * 1e3 / r.latency['none'][0]:,.0f}x / {r.balltree_us[0] / r.latency['none'][0]:.1f}x"
                  for r in results], "", ""))
    rows.append((f"batch {args.batch:,} points k=5, s cold/warm",
                 [f"{r.batch_s[0]:.2f} / {r.batch_s[1]:.2f}" for r in results], f"<= {TARGET_BATCH_S:g}",
                 f"{last.batch_s[0] / TARGET_BATCH_S:.2f}"))
    w0 = max(len(r[0]) for r in rows)
    w = [max(len(sizes[i]), *(len(r[1][i]) for r in rows)) for i in range(len(results))]
    head = f"| {'stations':<{w0}} | " + " | ".join(f"{s:>{w[i]}}" for i, s in enumerate(sizes)) \
        + f" | {'target':>11} | {'ratio @' + sizes[-1]:>14} |"
    sep = "|" + "-" * (w0 + 2) + "|" + "|".join("-" * (x + 2) for x in w) + "|" + "-" * 13 + "|" + "-" * 16 + "|"
    lines = [head, sep]
    for label, cells, target, ratio in rows:
        lines.append(f"| {label:<{w0}} | " + " | ".join(f"{c:>{w[i]}}" for i, c in enumerate(cells))
                     + f" | {target:>11} | {ratio:>14} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="200000,1000000", help="comma-separated station counts")
    p.add_argument("--queries", type=int, default=3000, help="timed queries per filter and size")
    p.add_argument("--batch", type=int, default=1_000_000, help="points in the batch query")
    p.add_argument("--brute", type=int, default=20, help="brute-force queries per size")
    p.add_argument("--check", type=int, default=25, help="queries per filter checked against the oracle")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="20,000 and 100,000 stations, fewer queries")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.queries, args.batch, args.brute, args.check = "20000,100000", 1000, 100_000, 10, 10
    sizes = sorted(int(s) for s in args.sizes.split(","))
    t0 = time.perf_counter()
    df_all = make_stations(max(sizes), args.seed)
    print(f"synthetic stations: {max(sizes):,} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    results = []
    for n in sizes:
        t = time.perf_counter()
        results.append(run_size(df_all, n, args))
        print(f"size {n:,}: {time.perf_counter() - t:.1f} s", file=sys.stderr)
    print(fmt_table(results, args))
    print(f"\n{args.queries} queries per filter; 24/7 share {np.mean(df_all.opening_hours == '24/7'):.1%}; "
          f"python {sys.version.split()[0]}, numpy {np.__version__}; total {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
