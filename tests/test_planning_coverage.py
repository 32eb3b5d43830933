"""Coverage on squares and strips whose answers follow from circle geometry.

Every area here is built in a local Albers CRS with :func:`area_from_local`, so the
metres used by the grid are exactly the metres of the drawing. Travel is set to give a
round service radius: 5 km/h for 12 minutes with circuity 1.0 is 1,000 m (and 18 minutes
1,500 m). The grid counts cell centres, so shares match the geometry to within the
circle's boundary cells: tolerances are a few tenths of a percentage point at 25 m.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
import shapely

from stations.errors import ValidationError
from stations.planning import CoverageStudy, Travel, analyse_coverage, coverage_scenarios, scenario_table
from stations.planning.area import area_from_local, local_crs

CRS = local_crs(shapely.box(115.0, 39.5, 115.2, 39.7))
R1000 = Travel("walk", minutes=12, circuity=1.0, speed_kmh=5.0)
R1500 = Travel("walk", minutes=18, circuity=1.0, speed_kmh=5.0)


def square(side_m: float = 10_000.0, *, name: str = "square"):
    return area_from_local(shapely.box(0, 0, side_m, side_m), CRS, name=name)


def stations_at(area, xy, **columns) -> pd.DataFrame:
    xy = np.asarray(xy, dtype=float)
    lon, lat = area.to_wgs84(x_m=xy[:, 0], y_m=xy[:, 1])
    df = pd.DataFrame({"station_id": [f"s{i}" for i in range(len(xy))], "name": [f"站{i}" for i in range(len(xy))],
                       "lat": lat, "lon": lon, "geocode_precision": "exact", "status": "open"})
    for k, v in columns.items():
        df[k] = v
    return df


def lens(r: float, d: float) -> float:
    """Area of the intersection of two circles of radius r whose centres are d apart."""
    return 2 * r * r * math.acos(d / (2 * r)) - d / 2 * math.sqrt(4 * r * r - d * d)


def segment(r: float, h: float) -> float:
    """Area of a circular segment of height h."""
    return r * r * math.acos((r - h) / r) - (r - h) * math.sqrt(2 * r * h - h * h)


GRID_4X4 = [(x, y) for x in (1250, 3750, 6250, 8750) for y in (1250, 3750, 6250, 8750)]


def test_one_station_covers_a_disc():
    area = square()
    res = analyse_coverage(stations_at(area, [(5000, 5000)]), area, mode="walk", minutes=12, circuity=1.0,
                           speed_kmh=5.0, cell_m=25, district_level=None)
    expected = 100 * math.pi * 1000**2 / 1e8  # 3.1416 %
    assert res.perc_area_covered == pytest.approx(expected, abs=0.03)
    assert res.perc_demand_covered == pytest.approx(res.perc_area_covered)  # uniform demand
    assert res.perc_area_covered_2plus == 0.0
    assert res.n_cells == 400 * 400 and res.area_km2 == pytest.approx(100.0)
    assert res.travel.radius_m == pytest.approx(1000.0)


def test_stations_on_a_grid_disjoint_circles():
    area = square()
    res = CoverageStudy(area, travel=R1000, cell_m=25, district_level=None).evaluate(stations_at(area, GRID_4X4))
    assert res.perc_area_covered == pytest.approx(100 * 16 * math.pi * 1e6 / 1e8, abs=0.15)  # 50.27 %
    assert res.perc_area_covered_2plus == 0.0
    # 16 separate circles leave one connected gap
    assert res.n_gaps == 1
    assert res.gaps.iloc[0]["area_km2"] == pytest.approx(100 - 16 * math.pi, abs=0.2)


def test_cross_coverage_from_overlapping_circles():
    """r = 1,500 m, spacing 2,500 m: 24 neighbour pairs overlap in lenses, 16 edge caps are
    clipped by the square, nothing is covered three times."""
    area = square()
    res = CoverageStudy(area, travel=R1500, cell_m=25, district_level=None).evaluate(stations_at(area, GRID_4X4))
    r, d = 1500.0, 2500.0
    covered = 16 * math.pi * r * r - 24 * lens(r, d) - 16 * segment(r, r - 1250)
    cross = 24 * lens(r, d)
    assert res.perc_area_covered == pytest.approx(100 * covered / 1e8, abs=0.15)  # 95.09 %
    assert res.perc_area_covered_2plus == pytest.approx(100 * cross / 1e8, abs=0.15)  # 13.51 %
    assert res.area_covered_2plus_km2 == pytest.approx(cross / 1e6, abs=0.15)
    # gaps of cross coverage: everything outside the 24 lenses
    lacking = CoverageStudy(area, travel=R1500, cell_m=25, district_level=None).evaluate(
        stations_at(area, GRID_4X4), gap_level=2)
    assert lacking.gaps["area_km2"].sum() == pytest.approx(100 - cross / 1e6, abs=0.15)
    assert lacking.gap_level == 2 and lacking.summary()["gap_level"] == 2


def test_surface_nearest_and_second_nearest_minutes():
    area = square(4000)
    st = stations_at(area, [(1000, 2000), (3000, 2000)])
    res = CoverageStudy(area, travel=R1000, cell_m=100, district_level=None).evaluate(st)
    s = res.surface
    # cell (row 19, col 4): centre (450, 2050)
    r, c = 19, 4
    x, y = s.grid.centres(r, c)
    assert (x, y) == (450.0, 2050.0)
    d1 = math.hypot(x - 1000, y - 2000)
    d2 = math.hypot(x - 3000, y - 2000)
    per_min = 5000 / 60
    assert s.nearest_min[r, c] == pytest.approx(d1 / per_min, rel=1e-5)
    assert s.second_min[r, c] == pytest.approx(d2 / per_min, rel=1e-5)
    frame = s.to_frame()
    assert len(frame) == 1600 and frame["nearest_min"].min() < 1.0
    # one station: the second-nearest surface is infinite
    one = CoverageStudy(area, travel=R1000, cell_m=100, district_level=None).evaluate(st.iloc[:1])
    assert np.isinf(one.surface.second_min[one.surface.grid.mask]).all()
    assert one.perc_area_covered_2plus == 0.0


def test_weighted_demand_points():
    area = square()
    st = stations_at(area, [(2000, 2000)])
    xy = np.array([[2100.0, 2100.0], [2500.0, 2000.0], [8000.0, 8000.0]])
    lon, lat = area.to_wgs84(x_m=xy[:, 0], y_m=xy[:, 1])
    demand = pd.DataFrame({"lat": lat, "lon": lon, "workers": [1, 2, 7]})
    res = CoverageStudy(area, travel=R1000, cell_m=50, demand=demand, district_level=None).evaluate(st)
    assert res.demand_total == pytest.approx(10)
    assert res.perc_demand_covered == pytest.approx(30.0)
    assert res.demand_uncovered == pytest.approx(7)
    assert not res.uniform_demand
    # the uncovered worker sits in the only gap
    assert res.gaps.iloc[0]["uncovered_demand"] == pytest.approx(7)


def test_demand_outside_the_area_is_reported():
    area = square()
    lon, lat = area.to_wgs84(x_m=np.array([5000.0, 20000.0]), y_m=np.array([5000.0, 5000.0]))
    demand = pd.DataFrame({"lat": lat, "lon": lon, "weight": [3, 4]})
    res = CoverageStudy(area, travel=R1000, cell_m=100, demand=demand, district_level=None).evaluate(
        stations_at(area, [(5000, 5000)]))
    assert res.demand_total == pytest.approx(3) and res.demand_outside == pytest.approx(4)
    assert any("outside the area" in n for n in res.notes)


def test_gaps_are_dissolved_ranked_and_measured():
    """A 10 x 2 km strip cut in two by one circle (r = 1,500 m) at x = 3,000 m."""
    strip = area_from_local(shapely.box(0, 0, 10_000, 2_000), CRS, name="strip")
    st = stations_at(strip, [(3000, 1000)])
    r = 1500.0
    inside = math.pi * r * r - 2 * segment(r, 500)
    left = 3000 * 2000 - inside / 2
    right = 7000 * 2000 - inside / 2
    res = CoverageStudy(strip, travel=R1500, cell_m=20, district_level=None).evaluate(st)
    assert res.n_gaps == 2
    g = res.gaps
    assert list(g["gap_id"]) == [1, 2]
    assert g.iloc[0]["area_km2"] == pytest.approx(right / 1e6, abs=0.02)  # bigger gap first (uniform demand)
    assert g.iloc[1]["area_km2"] == pytest.approx(left / 1e6, abs=0.02)
    assert g.crs.to_epsg() == 4326
    # polygons are dissolved, in WGS-84, and their true area matches the table
    for _, row in g.iterrows():
        poly_m = strip.geometry_to_local(row.geometry)
        assert poly_m.geom_type == "Polygon"
        assert poly_m.area / 1e6 == pytest.approx(row["area_km2"], rel=0.01)
    # demand decides the ranking: 10 workers in the small gap, 1 in the big one
    xy = np.array([[500.0, 1000.0], [9000.0, 1000.0]])
    lon, lat = strip.to_wgs84(x_m=xy[:, 0], y_m=xy[:, 1])
    demand = pd.DataFrame({"lat": lat, "lon": lon, "weight": [10, 1]})
    res2 = CoverageStudy(strip, travel=R1500, cell_m=20, demand=demand, district_level=None).evaluate(st)
    assert list(res2.gaps["uncovered_demand"]) == [10, 1]
    assert res2.gaps.iloc[0]["area_km2"] == pytest.approx(left / 1e6, abs=0.02)


def test_night_time_counts_only_stations_open_then():
    area = square()
    hours = ["24/7", "Mo-Su 08:00-18:00"] * 8
    st = stations_at(area, GRID_4X4, opening_hours=hours)
    study = CoverageStudy(area, travel=R1000, cell_m=25, district_level=None)
    day, night = (study.evaluate(st, at=dt.datetime(2025, 7, 2, h, 0)) for h in (12, 22))
    disc = 100 * math.pi * 1e6 / 1e8
    assert day.n_stations == 16 and night.n_stations == 8
    assert day.perc_area_covered == pytest.approx(16 * disc, abs=0.15)
    assert night.perc_area_covered == pytest.approx(8 * disc, abs=0.1)
    assert night.scenario.startswith("open at 2025-07-02 22:00")
    closed = night.stations.frame[~night.stations.frame["counted"]]
    assert set(closed["reason"]) == {"22:00: closed"}


def test_unknown_hours_do_not_count_at_night_unless_asked():
    area = square()
    st = stations_at(area, [(2500, 2500), (7500, 7500)], opening_hours=["24/7", None])
    study = CoverageStudy(area, travel=R1000, cell_m=50, district_level=None)
    at = dt.datetime(2025, 7, 2, 23, 0)
    assert study.evaluate(st, at=at).n_stations == 1
    assert study.evaluate(st, at=at, count_unknown=True).n_stations == 2


def test_amenity_variant_counts_stations_with_it():
    area = square()
    toilets = ["yes", "no", "unknown", "yes"] * 4
    st = stations_at(area, GRID_4X4, amenity_toilet=toilets)
    study = CoverageStudy(area, travel=R1000, cell_m=25, district_level=None)
    base, loo = study.evaluate(st), study.evaluate(st, amenity="厕所")  # Chinese name works too
    disc = 100 * math.pi * 1e6 / 1e8
    assert loo.n_stations == 8 and loo.scenario == "with toilet"
    assert loo.perc_area_covered == pytest.approx(8 * disc, abs=0.1)
    assert base.perc_area_covered == pytest.approx(16 * disc, abs=0.15)
    assert study.evaluate(st, amenity="toilet", count_unknown=True).n_stations == 12
    with pytest.raises(ValidationError, match="unknown amenity"):
        study.evaluate(st, amenity="jacuzzi")


def test_scenarios_share_one_grid_and_table():
    area = square()
    st = stations_at(area, GRID_4X4, opening_hours=["24/7"] * 4 + ["Mo-Fr 09:00-17:00"] * 12,
                     amenity_toilet=["yes"] * 2 + ["no"] * 14)
    results = coverage_scenarios(st, area, at=dt.datetime(2025, 7, 5, 3, 0), amenity="toilet", travel=R1000,
                                 cell_m=50, district_level=None)
    table = scenario_table(results)
    assert list(table["n_stations"]) == [16, 4, 2]
    assert table["perc_area_covered"].is_monotonic_decreasing


def test_station_status_and_precision_rules():
    area = square()
    st = stations_at(area, [(2000, 2000), (5000, 5000), (8000, 8000), (2000, 8000)])
    st.loc[1, "status"] = "removed"
    st.loc[2, "geocode_precision"] = "county"
    st.loc[3, "lat"] = None
    res = CoverageStudy(area, travel=R1000, cell_m=100, district_level=None).evaluate(st)
    assert res.n_stations == 1
    reasons = dict(zip(res.stations.frame["station_id"], res.stations.frame["reason"]))
    assert reasons == {"s0": "", "s1": "status removed", "s2": "position precision county", "s3": "no position"}


def test_unique_and_nearest_demand_per_station():
    area = square(4000)
    st = stations_at(area, [(1000, 2000), (1500, 2000), (3500, 3500)])
    res = CoverageStudy(area, travel=R1000, cell_m=20, district_level=None).evaluate(st)
    t = res.station_table.set_index("station_id")
    # station s2 overlaps no one: all it covers is unique, and it is a quarter-plus of a disc
    assert t.loc["s2", "demand_unique"] == pytest.approx(t.loc["s2", "demand_nearest"])
    assert t["demand_nearest"].sum() == pytest.approx(res.demand_covered)
    assert t.loc["s0", "demand_unique"] < t.loc["s0", "demand_nearest"]


def test_area_with_no_stations_is_answered_clearly():
    area = square()
    far = stations_at(square(), [(50_000, 50_000)])
    with pytest.raises(ValidationError, match="has no stations") as info:
        CoverageStudy(area, travel=R1000, cell_m=100, district_level=None).evaluate(far)
    assert "stations suggest" in str(info.value)
    # a scenario that leaves none gives 0 % with a note instead
    st = stations_at(area, [(5000, 5000)], amenity_toilet=["no"])
    res = CoverageStudy(area, travel=R1000, cell_m=100, district_level=None).evaluate(st, amenity="toilet")
    assert res.perc_area_covered == 0.0 and res.n_gaps == 1
    assert any("no station counts within reach" in n for n in res.notes)


def test_far_stations_shape_the_surface_but_are_not_listed():
    area = square()
    st = stations_at(area, [(5000, 5000), (60_000, 5000)])
    res = CoverageStudy(area, travel=R1000, cell_m=100, district_level=None).evaluate(st)
    assert res.n_stations == 1 and res.n_stations_in_area == 1 and list(res.station_table["station_id"]) == ["s0"]
    # the far station is the second-nearest everywhere
    g = res.surface.grid
    x, y = g.centres(0, 0)
    assert res.surface.second_min[0, 0] == pytest.approx(math.hypot(60_000 - x, 5000 - y) / (5000 / 60), rel=1e-5)


def test_result_to_dict_is_json_ready():
    import json

    area = square()
    res = CoverageStudy(area, travel=R1000, cell_m=100, district_level=None).evaluate(stations_at(area, GRID_4X4))
    body = json.loads(json.dumps(res.to_dict()))
    assert body["perc_area_covered"] == pytest.approx(res.perc_area_covered, abs=1e-3)
    assert body["gaps"]["type"] == "FeatureCollection" and len(body["gaps"]["features"]) == 1
