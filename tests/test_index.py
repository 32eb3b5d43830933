"""Tests for stations.index: exact great-circle k-nearest stations with filters.

Oracles: points on small lat/lon grids whose distances can be worked out by hand (an
arc of 0.1 degrees on a great circle is R * 0.1 * pi / 180 = 11,119.5 m), and the
brute-force :func:`stations.index.nearest_bruteforce` (haversine over every station,
every filter checked with stations.hours / stations.records directly) for random station
sets, queries and filters.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from stations import geo as coords
from stations.errors import ValidationError
from stations.index import BUDGET_POINTS, EARTH_RADIUS_M, Hit, StationIndex, nearest_bruteforce

from index_util import assert_same_up_to_ties, frame

R = EARTH_RADIUS_M
ARC_01_DEG_M = R * math.radians(0.1)  # 11,119.5 m
UTC = timezone.utc
WEDNESDAY = datetime(2025, 6, 4)  # an ordinary working day in China (no holiday near)


def grid(lat0: float, lon0: float, step: float = 0.1, half: int = 2) -> list[tuple[float, float]]:
    return [(lat0 + i * step, lon0 + j * step) for i in range(-half, half + 1) for j in range(-half, half + 1)]


def rows(hits: list[Hit]) -> list[int]:
    return [h.row for h in hits]


# --------------------------------------------------------------------------- by hand


def test_grid_at_the_equator_has_exact_four_way_ties_in_row_order():
    points = grid(0.0, 0.0)  # row = (i + 2) * 5 + (j + 2); (0, 0) is row 12
    index = StationIndex.from_frame(frame(points))
    hits = index.nearest(lat=0.0, lon=0.0, k=5)
    # At the equator 0.1 degrees of latitude and of longitude are the same arc: the four
    # neighbours are at bitwise-equal chord distances, so they come in row order.
    assert rows(hits) == [12, 7, 11, 13, 17]
    assert hits[0].distance_m == 0.0 and hits[0].bearing_deg == 0.0
    for h in hits[1:]:
        assert h.distance_m == pytest.approx(ARC_01_DEG_M, rel=1e-12)
    assert [round(h.bearing_deg, 9) for h in hits[1:]] == [180.0, 270.0, 90.0, 0.0]
    # k = 3 cuts inside the tie: the two lowest rows of the four win.
    assert rows(index.nearest(lat=0.0, lon=0.0, k=3)) == [12, 7, 11]
    assert [h.station_id for h in hits] == ["S12", "S7", "S11", "S13", "S17"]


def test_grid_at_40n_east_west_neighbours_come_before_north_south():
    points = grid(40.0, 116.0)
    index = StationIndex.from_frame(frame(points))
    hits = index.nearest(lat=40.0, lon=116.0, k=5)
    # 0.1 degrees of longitude at 40N is about cos(40) * 11.1 km = 8.5 km (a little more:
    # the great circle bulges poleward); 0.1 degrees of latitude is still 11,119.5 m.
    east_west_m = 2 * R * math.asin(math.cos(math.radians(40.0)) * math.sin(math.radians(0.05)))
    # East/west (rows 11, 13) and south/north (7, 17) are equally far in exact arithmetic
    # but not bitwise in floating point, so only the pairs are fixed, not their order.
    assert rows(hits)[0] == 12 and set(rows(hits)[1:3]) == {11, 13} and set(rows(hits)[3:]) == {7, 17}
    assert [h.distance_m for h in hits[1:3]] == [pytest.approx(east_west_m, rel=1e-12)] * 2
    assert [h.distance_m for h in hits[3:]] == [pytest.approx(ARC_01_DEG_M, rel=1e-12)] * 2
    assert east_west_m == pytest.approx(8518.0, abs=1.0)


def test_degree_space_nearest_neighbour_is_wrong_and_ours_is_right():
    # At 40N one degree of longitude is 0.77 of a degree of latitude on the ground.
    east = (40.0, 116.09)  # 0.09 degrees east: 7.67 km
    north = (40.08, 116.0)  # 0.08 degrees north: 8.90 km
    index = StationIndex.from_frame(frame([north, east]))
    naive = np.hypot(np.array([north[0], east[0]]) - 40.0, np.array([north[1], east[1]]) - 116.0)
    assert int(np.argmin(naive)) == 0  # raw lon/lat k-NN picks the northern station...
    hits = index.nearest(lat=40.0, lon=116.0, k=2)
    assert rows(hits) == [1, 0]  # ...which is 1.2 km farther
    assert hits[0].distance_m == pytest.approx(coords.haversine_m(40.0, 116.0, *east), rel=1e-9)
    assert hits[0].distance_m == pytest.approx(7666.2, abs=0.1)  # 2 R asin(cos 40 sin 0.045)
    assert hits[1].distance_m == pytest.approx(8895.6, abs=0.1)  # R * radians(0.08)


def test_across_the_antimeridian_and_at_the_pole():
    index = StationIndex.from_frame(frame([(0.0, 179.95), (0.0, -179.0), (89.99, 0.0), (89.99, 180.0)]))
    hits = index.nearest(lat=0.0, lon=-179.95, k=2)
    assert rows(hits) == [0, 1]
    assert hits[0].distance_m == pytest.approx(R * math.radians(0.1), rel=1e-9)
    assert hits[0].bearing_deg == pytest.approx(270.0)
    hits = index.nearest(lat=90.0, lon=0.0, k=2)
    assert set(rows(hits)) == {2, 3}  # equally far in exact arithmetic
    assert [h.distance_m for h in hits] == [pytest.approx(R * math.radians(0.01), rel=1e-9)] * 2


def test_distances_and_bearings_agree_with_coords():
    assert EARTH_RADIUS_M == coords.EARTH_RADIUS_M
    rng = np.random.default_rng(3)
    points = list(zip(rng.uniform(18, 50, 300), rng.uniform(75, 135, 300)))
    index = StationIndex.from_frame(frame(points))
    for lat, lon in zip(rng.uniform(18, 50, 20), rng.uniform(75, 135, 20)):
        for h in index.nearest(lat=float(lat), lon=float(lon), k=10):
            p = points[h.row]
            assert h.distance_m == pytest.approx(coords.haversine_m(lat, lon, *p), rel=1e-9)
            assert h.bearing_deg == pytest.approx(coords.bearing_deg(lat, lon, *p), abs=1e-7)


def test_static_filters():
    points = grid(40.0, 116.0, step=0.01)
    n = len(points)
    df = frame(points,
               amenity_toilet=["yes" if i % 2 else "no" for i in range(n)],
               amenity_aed=["yes" if i % 5 == 0 else "unknown" for i in range(n)],
               status=["removed" if i == 13 else "open" for i in range(n)],
               access=["members" if i == 11 else "everyone" for i in range(n)],
               geocode_precision=["county" if i == 12 else "exact" for i in range(n)],
               opening_hours=["24/7" if i % 3 == 0 else "Mo-Fr 08:00-18:00" for i in range(n)])
    index = StationIndex.from_frame(df)
    q = dict(lat=40.0, lon=116.0)
    # Row 12 (the query point) is county precision: out unless asked.
    assert 12 not in rows(index.nearest(**q, k=25))
    assert rows(index.nearest(**q, k=1, include_imprecise=True)) == [12]
    assert 13 not in rows(index.nearest(**q, k=25))
    assert 13 in rows(index.nearest(**q, k=25, statuses=None))
    assert rows(index.nearest(**q, k=25, statuses=["removed"])) == [13]
    assert 11 not in rows(index.nearest(**q, k=25, access=["everyone", "outdoor_workers"]))
    assert 11 in rows(index.nearest(**q, k=25, access=None))
    toilets = index.nearest(**q, k=25, amenities=["toilet"])
    assert toilets and all(h.row % 2 for h in toilets)
    both = index.nearest(**q, k=25, amenities=("toilet", "aed"))
    assert both and all(h.row % 10 == 5 for h in both)  # "unknown" is not "yes"
    assert all(h.row % 3 == 0 for h in index.nearest(**q, k=25, open_24h=True))
    assert all(h.row % 3 != 0 for h in index.nearest(**q, k=25, open_24h=False))


def test_max_distance_is_inclusive_and_limits_the_answer():
    index = StationIndex.from_frame(frame(grid(0.0, 0.0)))
    hits = index.nearest(lat=0.0, lon=0.0, k=10, max_distance_m=ARC_01_DEG_M)
    assert rows(hits) == [12, 7, 11, 13, 17]
    exact = hits[-1].distance_m
    assert len(index.nearest(lat=0.0, lon=0.0, k=10, max_distance_m=exact)) == 5
    assert len(index.nearest(lat=0.0, lon=0.0, k=10, max_distance_m=exact * (1 - 1e-9))) == 1
    assert index.nearest(lat=0.05, lon=0.05, k=3, max_distance_m=0.0) == []


def test_open_at_naive_and_aware_and_unknown_hours():
    points = [(40.0, 116.0 + 0.01 * i) for i in range(4)]
    df = frame(points, opening_hours=["Mo-Fr 08:00-18:00", None, "24/7", "Mo-Su 22:00-06:00"])
    index = StationIndex.from_frame(df)
    q = dict(lat=40.0, lon=116.0, k=4)
    assert rows(index.nearest(**q)) == [0, 1, 2, 3]  # no open filter: unknown hours are in
    assert rows(index.nearest(**q, open_at=WEDNESDAY.replace(hour=12))) == [0, 2]
    assert rows(index.nearest(**q, open_at=WEDNESDAY.replace(hour=19))) == [2]
    assert rows(index.nearest(**q, open_at=WEDNESDAY.replace(hour=23, minute=30))) == [2, 3]
    assert rows(index.nearest(**q, open_at=WEDNESDAY.replace(hour=17, minute=59, second=59))) == [0, 2]
    assert rows(index.nearest(**q, open_at=WEDNESDAY.replace(hour=18))) == [2]
    # Aware: 04:00 UTC is 12:00 in Shanghai.
    assert rows(index.nearest(**q, open_at=datetime(2025, 6, 4, 4, 0, tzinfo=UTC))) == [0, 2]
    assert rows(index.nearest(**q, open_at=datetime(2025, 6, 7, 4, 0, tzinfo=UTC))) == [2]  # Saturday


def test_open_on_arrival_uses_each_stations_own_arrival_time():
    # Walking east along 40N at 1 m/s with no detour; stations 0.01 degrees apart (852 m).
    points = [(40.0, 116.0 + 0.01 * i) for i in range(1, 5)]
    df = frame(points, opening_hours=["Mo-Su 08:00-18:00", "Mo-Su 08:00-18:10", "24/7", "Mo-Su 18:20-23:00"])
    index = StationIndex.from_frame(df)
    d = [coords.haversine_m(40.0, 116.0, *p) for p in points]
    q = dict(lat=40.0, lon=116.0, k=4, arrival_speed_m_s=1.0, circuity=1.0)
    leave = WEDNESDAY.replace(hour=17, minute=55)
    # Arrivals 18:09:11 (closed at 18:00), 18:23:23 (closed at 18:10), 24/7, 18:51:47 (open).
    assert (leave + timedelta(seconds=d[0])).strftime("%H:%M:%S") == "18:09:11"
    assert rows(index.nearest(**q, open_at=leave)) == [2, 3]
    assert rows(index.nearest(**q, open_at=leave - timedelta(minutes=20))) == [0, 1, 2, 3]
    # Opening on the way: leaving at 07:50, station 0 (opens 08:00) is reached at 08:04:11.
    assert rows(index.nearest(**q, open_at=WEDNESDAY.replace(hour=7, minute=50))) == [0, 1, 2]
    assert rows(index.nearest(lat=40.0, lon=116.0, k=4, open_at=WEDNESDAY.replace(hour=7, minute=50))) == [2]
    for leave in (WEDNESDAY.replace(hour=17, minute=55), WEDNESDAY.replace(hour=7, minute=50)):
        oracle = nearest_bruteforce(df, lat=40.0, lon=116.0, k=4, arrival_speed_m_s=1.0, circuity=1.0,
                                    open_at=leave)
        assert rows(index.nearest(**q, open_at=leave)) == rows(oracle)


def test_open_on_arrival_when_most_stations_near_are_closed():
    # 6,000 stations around the query close at 09:00; the open ones are 24/7, 30-60 km out.
    # The compiled search gives up after BUDGET_POINTS closed stations; the bands
    # (whose "closed throughout" labels skip them all) answer, the same as the oracle.
    rng = np.random.default_rng(11)
    near = [(40.0 + a, 116.0 + b) for a, b in rng.uniform(-0.1, 0.1, (6000, 2))]
    far = [(40.0 + 0.4 * math.cos(t), 116.0 + 0.5 * math.sin(t)) for t in rng.uniform(0, 2 * math.pi, 20)]
    df = frame(near + far, opening_hours=["Mo-Su 08:00-09:00"] * len(near) + ["24/7"] * len(far))
    assert len(near) > BUDGET_POINTS
    index = StationIndex.from_frame(df)
    q = dict(lat=40.0, lon=116.0, k=5, arrival_speed_m_s=4.2, open_at=WEDNESDAY.replace(hour=10))
    got = index.nearest(**q)
    assert rows(got) == rows(nearest_bruteforce(df, **q))
    assert all(r >= len(near) for r in rows(got))
    # Leaving at 08:30 the near ones are open on arrival: the compiled search answers.
    q["open_at"] = WEDNESDAY.replace(hour=8, minute=30)
    assert rows(index.nearest(**q)) == rows(nearest_bruteforce(df, **q))


def test_unlocated_and_empty():
    df = frame([(40.0, 116.0), (float("nan"), float("nan")), (40.01, 116.0)])
    index = StationIndex.from_frame(df)
    assert rows(index.nearest(lat=40.0, lon=116.0, k=5)) == [0, 2]
    assert len(index) == 3
    empty = StationIndex.from_frame(frame([]))
    assert empty.nearest(lat=40.0, lon=116.0) == []
    r, d = empty.nearest_batch([40.0], [116.0], k=2)
    assert r.tolist() == [[-1, -1]] and d.tolist() == [[math.inf, math.inf]]


@pytest.mark.parametrize("kwargs, field", [
    (dict(lat=float("nan"), lon=116.0), "lat"),
    (dict(lat=91.0, lon=116.0), "lat"),
    (dict(lat=40.0, lon=-180.5), "lon"),
    (dict(lat=40.0, lon=None), "lon"),
    (dict(lat=40.0, lon=116.0, k=0), "k"),
    (dict(lat=40.0, lon=116.0, k=101), "k"),
    (dict(lat=40.0, lon=116.0, k=2.0), "k"),
    (dict(lat=40.0, lon=116.0, amenities=["toilet", "sauna"]), "amenities"),
    (dict(lat=40.0, lon=116.0, statuses=["closed"]), "statuses"),
    (dict(lat=40.0, lon=116.0, statuses=[]), "statuses"),
    (dict(lat=40.0, lon=116.0, access=["anyone"]), "access"),
    (dict(lat=40.0, lon=116.0, max_distance_m=-1.0), "max_distance_m"),
    (dict(lat=40.0, lon=116.0, max_distance_m=float("nan")), "max_distance_m"),
    (dict(lat=40.0, lon=116.0, open_at="now"), "open_at"),
    (dict(lat=40.0, lon=116.0, arrival_speed_m_s=0.0), "arrival_speed_m_s"),
    (dict(lat=40.0, lon=116.0, arrival_speed_m_s=1.0, circuity=0.5), "circuity"),
    (dict(lat=40.0, lon=116.0, open_24h="yes"), "open_24h"),
])
def test_bad_queries_name_the_field_and_what_is_allowed(kwargs, field):
    index = StationIndex.from_frame(frame(grid(40.0, 116.0)))
    with pytest.raises(ValidationError) as info:
        index.nearest(**kwargs)
    assert isinstance(info.value, ValueError)
    problem = next(p for p in info.value.problems if p.field == field)
    assert problem.allowed
    if field == "amenities":
        assert problem.value == "sauna" and "toilet" in problem.allowed and "aed" in problem.allowed
    if field == "k":
        assert "100" in problem.allowed


def test_every_problem_at_once():
    index = StationIndex.from_frame(frame(grid(40.0, 116.0)))
    with pytest.raises(ValidationError) as info:
        index.nearest(lat=100.0, lon=200.0, k=0, amenities=["x"])
    assert {p.field for p in info.value.problems} == {"lat", "lon", "k", "amenities"}


def test_bad_station_columns_are_rejected_with_the_allowed_values():
    with pytest.raises(ValidationError) as info:
        StationIndex.from_frame(frame([(40.0, 116.0), (95.0, 116.0)], status=["open", "shut"]))
    fields = {p.field: p for p in info.value.problems}
    assert set(fields) == {"lat", "status"}
    assert "temporarily_closed" in fields["status"].allowed
    with pytest.raises(ValidationError):
        StationIndex.from_arrays([40.0], [116.0], amenities={"sauna": ["yes"]})


def test_batch_matches_single_queries_and_pads():
    rng = np.random.default_rng(7)
    points = list(zip(rng.uniform(39, 41, 400), rng.uniform(115, 117, 400))) + grid(40.0, 116.0)
    n = len(points)
    df = frame(points, amenity_toilet=rng.choice(["yes", "no"], n), status=rng.choice(["open", "removed"], n,
                                                                                          p=[0.9, 0.1]))
    index = StationIndex.from_frame(df)
    lats = np.concatenate([rng.uniform(38.5, 41.5, 300), [40.0]])
    lons = np.concatenate([rng.uniform(114.5, 117.5, 300), [116.0]])
    for filters in ({}, {"amenities": ["toilet"]}, {"statuses": None, "max_distance_m": 9000.0},
                    {"open_at": WEDNESDAY.replace(hour=3)}):
        r, d = index.nearest_batch(lats, lons, k=4, **filters)
        assert r.shape == d.shape == (len(lats), 4)
        for j in range(len(lats)):
            hits = index.nearest(lat=float(lats[j]), lon=float(lons[j]), k=4, **filters)
            assert r[j, :len(hits)].tolist() == rows(hits)
            assert d[j, :len(hits)] == pytest.approx([h.distance_m for h in hits], rel=1e-12)
            assert (r[j, len(hits):] == -1).all() and np.isinf(d[j, len(hits):]).all()
    with pytest.raises(ValidationError):
        index.nearest_batch([40.0, 91.0], [116.0, 116.0], k=4)


def test_access_everyone_then_everyone_or_unknown_regression():
    """Regression: the filter cache keyed on packed bits, where the "unknown" access bit was
    also the group marker, so access=everyone and access=everyone,unknown shared one entry
    and whichever was asked first answered both."""
    points = [(40.0, 116.0 + 0.01 * i) for i in range(4)]  # 0, 852, 1,704, 2,556 m east
    df = frame(points, access=["unknown", "everyone", "members", "unknown"])
    for order in ((["everyone"], ["everyone", "unknown"]), (["everyone", "unknown"], ["everyone"])):
        index = StationIndex.from_frame(df)  # one index: the second query meets the first one's caches
        for access in order:
            got = rows(index.nearest(lat=40.0, lon=116.0, k=4, access=access))
            assert got == rows(nearest_bruteforce(df, lat=40.0, lon=116.0, k=4, access=access))
            assert got == ([1] if access == ["everyone"] else [0, 1, 3])


def test_every_access_and_status_subset_is_its_own_filter_on_one_index():
    """Each subset of the access values (and of the statuses), asked in turn of one index,
    answers as the oracle does: no two different filters share a cached structure."""
    from itertools import combinations

    from stations.records import ACCESS_VALUES, STATUS_VALUES

    n = 24
    points = [(40.0, 116.0 + 0.001 * i) for i in range(n)]  # row i is i * 85 m east: no ties
    df = frame(points, access=[(*ACCESS_VALUES, None)[i % 5] for i in range(n)],
               status=[STATUS_VALUES[i % 3] for i in range(n)])
    subsets = lambda values: [None] + [list(c) for r in range(1, len(values) + 1)  # noqa: E731
                                       for c in combinations(values, r)]
    index = StationIndex.from_frame(df)
    for _ in range(2):  # the second round is answered from the caches
        for access in subsets(ACCESS_VALUES):
            for statuses in subsets(STATUS_VALUES):
                q = dict(lat=40.0, lon=116.0, k=n, access=access, statuses=statuses)
                assert rows(index.nearest(**q)) == rows(nearest_bruteforce(df, **q)), (access, statuses)
    # 16 x 8 filters, and one entry in the static-filter cache for each
    assert len(index._s.static) == 16 * 8


def test_the_same_filter_in_any_order_or_container_shares_one_cache_entry():
    from stations.index import FilterKey
    from stations.index._filters import filter_key

    key = FilterKey(("aed", "toilet"), True, ("open",), ("everyone", "unknown"), False)
    for amenities in (lambda: ["toilet", "aed"], lambda: ("aed", "toilet"), lambda: {"toilet", "aed"},
                      lambda: iter(["aed", "toilet", "aed"])):
        for access in (["unknown", "everyone"], ("everyone", "unknown", "everyone")):
            assert filter_key(amenities(), True, "open", access, False) == key
    assert filter_key(None, None, None, None, False) == FilterKey((), None, None, None, False)
    assert filter_key((), np.True_, ["open"], None, np.False_) == FilterKey((), True, ("open",), None, False)
    assert filter_key(5, None, None, None, False) is None  # not iterable
    assert filter_key((), "yes", None, None, False) is None  # not a yes/no flag
    assert filter_key((), None, None, None, 1) is None
    assert filter_key(["toilet", 3], None, None, None, False) is None  # unorderable: reported by validation
    rng = np.random.default_rng(1)
    df = frame(list(zip(rng.uniform(39, 41, 300), rng.uniform(115, 117, 300))),
               amenity_toilet=rng.choice(["yes", "no"], 300), amenity_aed=rng.choice(["yes", "no"], 300),
               access=rng.choice(["everyone", "unknown", "members"], 300))
    index = StationIndex.from_frame(df)
    answers = [rows(index.nearest(lat=40.0, lon=116.0, k=5, amenities=a(), access=acc))
               for a in (lambda: ["toilet", "aed"], lambda: ("aed", "toilet"), lambda: iter(["aed", "toilet"]))
               for acc in (["unknown", "everyone"], ("everyone", "unknown"))]
    assert answers == [rows(nearest_bruteforce(df, lat=40.0, lon=116.0, k=5, amenities=["aed", "toilet"],
                                               access=["everyone", "unknown"]))] * 6
    assert index.cache_info()["builds"] == 1 and len(index._s.static) == 2  # this filter and the default


def test_one_yes_no_flag_is_never_taken_for_another_through_the_cache():
    df = frame(grid(40.0, 116.0), opening_hours=["24/7" if i % 2 else "Mo-Fr 08:00-18:00" for i in range(25)])
    index = StationIndex.from_frame(df)
    assert index.nearest(lat=40.0, lon=116.0, k=3, open_24h=True)  # cached: open_24h=True
    for bad in ("yes", 2, [True]):
        with pytest.raises(ValidationError):
            index.nearest(lat=40.0, lon=116.0, k=3, open_24h=bad)
    with pytest.raises(ValidationError):
        index.nearest(lat=40.0, lon=116.0, k=3, include_imprecise=1)
    assert rows(index.nearest(lat=40.0, lon=116.0, k=25, open_24h=np.True_)) == \
        rows(index.nearest(lat=40.0, lon=116.0, k=25, open_24h=True))


# -------------------------------------------------------------------------- max_k


def test_max_k_above_100_is_honoured_and_nothing_else_caps_k():
    rng = np.random.default_rng(12)
    n = 700
    df = frame(list(zip(rng.uniform(39.5, 40.5, n), rng.uniform(115.5, 116.5, n))) + grid(40.0, 116.0, 0.001),
               amenity_toilet=rng.choice(["yes", "no"], n + 25, p=[0.7, 0.3]),
               opening_hours=rng.choice(["24/7", "Mo-Su 08:00-20:00"], n + 25))
    for index in (StationIndex.from_frame(df, max_k=600),
                  StationIndex.from_arrays(df.lat, df.lon, amenities={"toilet": df.amenity_toilet},
                                           opening_hours=df.opening_hours.tolist(), max_k=600)):
        assert index.max_k == 600
        for k, q in ((101, {}), (250, {"amenities": ["toilet"]}), (600, {"open_at": WEDNESDAY.replace(hour=21)}),
                     (400, {"open_at": WEDNESDAY.replace(hour=19, minute=50), "arrival_speed_m_s": 4.2})):
            got = index.nearest(lat=40.0, lon=116.0, k=k, **q)
            want = nearest_bruteforce(df, lat=40.0, lon=116.0, k=n + 25, **q)
            assert_same_up_to_ties(got, want, k)
            assert len(got) == min(k, len(want))
        r, d = index.nearest_batch([40.0, 39.7], [116.0, 116.2], k=300, amenities=["toilet"])
        for j, (a, b) in enumerate([(40.0, 116.0), (39.7, 116.2)]):
            assert r[j].tolist() == rows(index.nearest(lat=a, lon=b, k=300, amenities=["toilet"]))
        with pytest.raises(ValidationError) as info:
            index.nearest(lat=40.0, lon=116.0, k=601)
        assert "600" in info.value.problems[0].allowed
        with pytest.raises(ValidationError):
            index.nearest_batch([40.0], [116.0], k=601)
    assert StationIndex.from_frame(df).max_k == 100  # the default, as the setting's


@pytest.mark.parametrize("option", [{"max_k": 0}, {"max_k": 2.5}, {"max_k": True}, {"budget_points": 0}])
def test_bad_index_options_are_refused(option):
    with pytest.raises(ValidationError) as info:
        StationIndex.from_frame(frame(grid(40.0, 116.0)), **option)
    assert info.value.problems[0].field in option


def test_rare_filters_get_a_subtree_and_the_cache_stays_bounded():
    rng = np.random.default_rng(11)
    n = 5000
    lat, lon = rng.uniform(20, 45, n), rng.uniform(75, 130, n)
    aed = rng.random(n) < 0.01
    index = StationIndex.from_arrays(lat, lon, amenities={"aed": aed, "toilet": rng.random(n) < 0.7},
                                     cache_bytes=40_000)
    df = {"lat": lat, "lon": lon, "amenity_aed": aed}
    for q in zip(rng.uniform(20, 45, 30), rng.uniform(75, 130, 30)):
        got = index.nearest(lat=float(q[0]), lon=float(q[1]), k=5, amenities=["aed"])
        assert rows(got) == rows(nearest_bruteforce(df, lat=float(q[0]), lon=float(q[1]), k=5, amenities=["aed"]))
    info = index.cache_info()
    assert info["builds"] == 1 and info["hits"] == 29
    for j, combo in enumerate([["toilet"], ["aed", "toilet"], ["aed"]] * 3):
        index.nearest(lat=30.0, lon=100.0 + j, k=5, amenities=combo)
    assert index.cache_info()["bytes"] <= 40_000 or index.cache_info()["entries"] == 1


def test_a_locally_rare_filter_gets_a_subtree_instead_of_its_mask():
    # 95 % of the stations far from the query have a toilet, none of the ~7,000 near it: the
    # masked search would look at more than BUDGET_POINTS, so the filter gets a sub-tree
    # (NeedSubtree) and stays exact.
    rng = np.random.default_rng(5)
    n = 20_000
    lat, lon = rng.uniform(30, 40, n), rng.uniform(110, 120, n)
    near = (np.abs(lat - 35) < 3) & (np.abs(lon - 115) < 3)
    assert near.sum() > BUDGET_POINTS
    toilet = np.where(near, False, rng.random(n) < 0.95)
    index = StationIndex.from_arrays(lat, lon, amenities={"toilet": toilet})
    hits = index.nearest(lat=35.0, lon=115.0, k=5, amenities=["toilet"])
    oracle = nearest_bruteforce({"lat": lat, "lon": lon, "amenity_toilet": toilet}, lat=35.0, lon=115.0, k=5,
                                amenities=["toilet"])
    assert rows(hits) == rows(oracle)
    assert all(h.distance_m > 80_000 for h in hits)
    assert index.cache_info()["subtrees"] == 1 and index.cache_info()["masks"] == 0


def test_prepare_builds_the_filters_structure_ahead():
    rng = np.random.default_rng(8)
    n = 3000
    df = frame(list(zip(rng.uniform(39, 41, n), rng.uniform(115, 117, n))),
               opening_hours=rng.choice(["24/7", "Mo-Su 08:00-20:00", None], n, p=[0.3, 0.6, 0.1]),
               amenity_toilet=rng.choice(["yes", "no"], n, p=[0.8, 0.2]),
               amenity_aed=rng.choice(["yes", "no"], n, p=[0.05, 0.95]))
    index = StationIndex.from_frame(df)
    noon = WEDNESDAY.replace(hour=12)
    index.prepare(open_at=noon, amenities=["toilet"])  # 0.8 * 0.9: a mask
    index.prepare(amenities=iter(["aed"]))  # 5 %: a sub-tree; an iterator is read once
    info = index.cache_info()
    assert (info["entries"], info["subtrees"], info["masks"], info["builds"]) == (2, 1, 1, 2)
    for a, b in zip(rng.uniform(39, 41, 40).tolist(), rng.uniform(115, 117, 40).tolist()):
        for q in (dict(open_at=noon, amenities=("toilet",)), dict(amenities=["aed"])):
            assert rows(index.nearest(lat=a, lon=b, k=5, **q)) == rows(nearest_bruteforce(df, lat=a, lon=b, k=5, **q))
    assert index.cache_info()["builds"] == 2  # nothing more was built
    with pytest.raises(ValidationError):
        index.prepare(amenities=["sauna"])


def test_queries_start_no_threads(monkeypatch):
    """Everything a query needs is built in the query's own thread: no background workers."""
    import threading

    rng = np.random.default_rng(4)
    n = 3000
    df = frame(list(zip(rng.uniform(39, 41, n), rng.uniform(115, 117, n))),
               opening_hours=rng.choice(["24/7", "Mo-Su 08:00-20:00"], n),
               amenity_toilet=rng.choice(["yes", "no"], n, p=[0.8, 0.2]))
    index = StationIndex.from_frame(df)

    def refuse(thread):
        raise AssertionError(f"a query started a thread: {thread.name}")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    points = list(zip(rng.uniform(39, 41, 200).tolist(), rng.uniform(115, 117, 200).tolist()))
    for q in ({}, {"amenities": ["toilet"]}, {"open_at": WEDNESDAY.replace(hour=9)}):
        for a, b in points:  # well past any "hot filter" count
            index.nearest(lat=a, lon=b, k=5, **q)
    index.nearest_batch([p[0] for p in points], [p[1] for p in points], k=3, amenities=["toilet"])


def test_concurrent_queries_with_a_tiny_cache_and_budget():
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(9)
    n = 4000
    df = frame(list(zip(rng.uniform(20, 45, n), rng.uniform(75, 130, n))),
               opening_hours=rng.choice(["24/7", "Mo-Fr 08:00-18:00", None], n),
               amenity_toilet=rng.choice(["yes", "no"], n), amenity_aed=rng.choice(["yes", "no"], n, p=[0.1, 0.9]),
               status=rng.choice(["open", "removed"], n, p=[0.9, 0.1]))
    # A budget of 40 points: masked searches often give up and their filter gets a sub-tree,
    # while other threads may be searching its mask.
    index = StationIndex.from_frame(df, cache_bytes=50_000, budget_points=40)
    filters = [{}, {"amenities": ["toilet"]}, {"amenities": ["aed"]}, {"statuses": None},
               {"open_at": WEDNESDAY.replace(hour=10)}, {"open_at": WEDNESDAY.replace(hour=22), "amenities": ["aed"]},
               {"open_24h": False}]
    jobs = [(float(a), float(b), filters[j % len(filters)])
            for j, (a, b) in enumerate(zip(rng.uniform(20, 45, 300), rng.uniform(75, 130, 300)))]
    expected = [rows(nearest_bruteforce(df, lat=a, lon=b, k=4, **f)) for a, b, f in jobs]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda job: rows(index.nearest(lat=job[0], lon=job[1], k=4, **job[2])), jobs))
    assert got == expected
    assert index.cache_info()["evictions"] > 0


# ------------------------------------------------------------------ against the oracle

HOURS = ("24/7", "Mo-Fr 08:00-18:00", "Mo-Su 08:00-20:00", "Mo-Fr 08:00-18:00; PH off", "Sa,Su 10:00-14:00",
         "Mo-Su 22:00-06:00", "off", "Jan-Jun Mo-Fr 09:00-17:00", None)
ZONES = ("Asia/Shanghai", "Asia/Shanghai", "Asia/Urumqi", "Europe/Berlin")
PRECISIONS = ("exact", "street", "town", "county", None)


@st.composite
def station_sets(draw):
    n = draw(st.integers(0, 40))
    kind = draw(st.sampled_from(["china", "world", "grid"]))
    points = []
    for _ in range(n):
        if points and draw(st.integers(0, 5)) == 0:  # a duplicate position
            points.append(draw(st.sampled_from(points)))
        elif kind == "grid":
            points.append((draw(st.integers(-3, 3)) * 0.1, draw(st.integers(-3, 3)) * 0.1))
        elif kind == "china":
            points.append((draw(st.floats(18, 50)), draw(st.floats(75, 135))))
        else:
            points.append((draw(st.floats(-90, 90)), draw(st.floats(-180, 180))))
    pick = lambda values: [draw(st.sampled_from(values)) for _ in range(n)]  # noqa: E731
    df = frame(points, geocode_precision=pick(PRECISIONS), opening_hours=pick(HOURS), timezone=pick(ZONES),
               access=pick(("everyone", "outdoor_workers", "members", "unknown", None)),
               status=pick(("open", "open", "temporarily_closed", "removed")),
               amenity_toilet=pick(("yes", "no", "unknown")), amenity_aed=pick(("yes", "no")),
               amenity_wifi=pick(("yes", "unknown")))
    return df


@st.composite
def queries(draw, df):
    n = len(df)
    how = draw(st.sampled_from(["anywhere", "near", "antipode"] if n else ["anywhere"]))
    if how == "anywhere":
        lat, lon = draw(st.floats(-90, 90)), draw(st.floats(-180, 180))
    else:
        r = draw(st.integers(0, n - 1))
        lat, lon = float(df.lat[r]), float(df.lon[r])
        if how == "antipode":
            lat, lon = -lat, lon - 180.0 if lon > 0 else lon + 180.0
        lat = min(90.0, max(-90.0, lat + draw(st.sampled_from([0.0, 1e-6, -0.003]))))
    filters = {}
    if draw(st.booleans()):
        filters["amenities"] = draw(st.lists(st.sampled_from(["toilet", "aed", "wifi"]), max_size=2, unique=True))
    if draw(st.booleans()):
        filters["statuses"] = draw(st.one_of(st.none(), st.lists(
            st.sampled_from(["open", "temporarily_closed", "removed"]), min_size=1, unique=True)))
    if draw(st.booleans()):
        filters["access"] = draw(st.lists(st.sampled_from(["everyone", "outdoor_workers", "members", "unknown"]),
                                          min_size=1, unique=True))
    filters["include_imprecise"] = draw(st.booleans())
    filters["open_24h"] = draw(st.sampled_from([None, None, True, False]))
    if draw(st.booleans()):
        filters["max_distance_m"] = draw(st.floats(0.0, 2.1e7))
    when = draw(st.sampled_from(["none", "naive", "aware", "arrival"]))
    if when != "none":
        t = draw(st.datetimes(datetime(2025, 1, 1), datetime(2026, 12, 31)))
        filters["open_at"] = t.replace(tzinfo=UTC) if when == "aware" or draw(st.booleans()) else t
    if when == "arrival":
        filters["arrival_speed_m_s"] = draw(st.sampled_from([0.7, 1.3, 4.2, 15.0, 300.0]))
        filters["circuity"] = draw(st.sampled_from([1.0, 1.3]))
    return lat, lon, draw(st.integers(1, 8)), filters


@settings(max_examples=160, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), df=station_sets())
def test_equals_the_brute_force_oracle(data, df):
    index = StationIndex.from_frame(df)
    # Several queries per index: the snapshot and sub-tree caches carry over between them.
    for _ in range(4):
        lat, lon, k, filters = data.draw(queries(df))
        full = nearest_bruteforce(df, lat=lat, lon=lon, k=max(len(df), 1), **filters)
        if "max_distance_m" in filters:  # nothing measured at the limit itself (chord vs haversine)
            limit = filters["max_distance_m"]
            assume(all(abs(coords.haversine_m(lat, lon, a, b) - limit) > 1e-6 * limit + 1e-6
                       for a, b in zip(df.lat, df.lon)))
        got = index.nearest(lat=lat, lon=lon, k=k, **filters)
        assert_same_up_to_ties(got, full, k)
        r, d = index.nearest_batch([lat], [lon], k=k, **filters)
        assert r[0, :len(got)].tolist() == rows(got)


@settings(max_examples=60, deadline=None)
@given(df=station_sets(), start=st.datetimes(datetime(2025, 1, 1), datetime(2026, 12, 31)),
       step_s=st.sampled_from([1, 59, 60, 61, 900, 3601]), lat=st.floats(18, 50), lon=st.floats(75, 135))
def test_open_now_stays_right_as_time_goes_on(df, start, step_s, lat, lon):
    """Successive "open now" queries reuse snapshots; they must expire exactly on time."""
    index = StationIndex.from_frame(df)
    for j in range(12):
        when = start + timedelta(seconds=j * step_s)
        for t in (when, when.replace(tzinfo=UTC)):
            got = index.nearest(lat=lat, lon=lon, k=5, open_at=t)
            assert_same_up_to_ties(got, nearest_bruteforce(df, lat=lat, lon=lon, k=len(df) or 1, open_at=t), 5)


@settings(max_examples=300, deadline=None)
@given(
    points=st.lists(st.tuples(st.floats(-0.03, 0.03), st.floats(-0.03, 0.03)), min_size=1, max_size=60),
    hours=st.data(),
    leave=st.sampled_from([(7, 50), (7, 58), (8, 0), (17, 40), (17, 59), (19, 52), (21, 55), (23, 50)]),
    seconds=st.integers(0, 600),
    speed=st.sampled_from([1.3, 4.2, 8.0]),
    k=st.integers(1, 8),
    aware=st.booleans(),
    bands=st.booleans(),
)
def test_open_on_arrival_near_opening_and_closing_times(points, hours, leave, seconds, speed, k, aware, bands):
    """Departures minutes before hours change, so candidates change state on the way. Both
    searches: the compiled one (weekly hours in one zone) and the bands (``bands``)."""
    n = len(points)
    choices = ("Mo-Su 08:00-18:00", "Mo-Su 08:00-20:00", "Mo-Su 18:00-22:00", "24/7", "Mo-Su 06:00-08:05",
               "Mo-Su 22:00-06:00", None, "Mo-Fr 08:00-18:00; PH off")
    df = frame([(40.0 + a, 116.0 + b) for a, b in points],
               opening_hours=[hours.draw(st.sampled_from(choices)) for _ in range(n)])
    index = StationIndex.from_frame(df)
    if bands:
        index.table.hours.weekly = lambda: None
    when = WEDNESDAY.replace(hour=leave[0], minute=leave[1]) + timedelta(seconds=seconds)
    if aware:
        when = when.replace(tzinfo=timezone(timedelta(hours=8)))
    for lat, lon in ((40.0, 116.0), (40.02, 115.98), (40.004, 116.002), (39.99, 116.01), (40.03, 116.03)):
        q = dict(lat=lat, lon=lon, open_at=when, arrival_speed_m_s=speed)
        assert_same_up_to_ties(index.nearest(**q, k=k), nearest_bruteforce(df, **q, k=n), k)
