"""The planner's report and the per-district table on real boundaries."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re

import numpy as np
import pandas as pd
import pytest
import shapely

from stations.planning import (CoverageStudy, Travel, build_report, coverage_map, coverage_scenarios, load_area,
                               suggest_sites)


def synthetic_stations(area, n, seed=0):
    """Stations drawn uniformly inside the area (synthetic: no real station is described)."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = area.geometry_m.bounds
    shapely.prepare(area.geometry_m)
    pts = []
    while len(pts) < n:
        xy = rng.uniform([x0, y0], [x1, y1], size=(4 * n, 2))
        pts.extend(xy[shapely.contains_xy(area.geometry_m, xy[:, 0], xy[:, 1])].tolist())
    xy = np.asarray(pts[:n])
    lon, lat = area.to_wgs84(x_m=xy[:, 0], y_m=xy[:, 1])
    return pd.DataFrame({"station_id": [f"syn-{i}" for i in range(n)], "name": [f"合成驿站{i}" for i in range(n)],
                         "lat": lat, "lon": lon, "geocode_precision": "exact", "status": "open",
                         "opening_hours": np.where(np.arange(n) % 4 == 0, "24/7", "Mo-Su 07:00-19:00"),
                         "amenity_toilet": np.where(np.arange(n) % 3 == 0, "yes", "unknown")})


@pytest.fixture(scope="module")
def city_results():
    area = load_area("秦皇岛市")
    st = synthetic_stations(area, 400)
    study = CoverageStudy(area, travel=Travel("ebike", 15), cell_m=250)
    results = coverage_scenarios(st, None, study=study, at=dt.datetime(2025, 1, 15, 23, 0), amenity="toilet")
    siting = suggest_sites(st, None, 5, study=study, base=results[0])
    return study, st, results, siting


def test_district_table_adds_up(city_results):
    study, st, results, _ = city_results
    base = results[0]
    d = base.districts
    assert {"昌黎县", "海港区", "抚宁区"} <= set(d["name"])
    assert d["area_km2"].sum() == pytest.approx(base.area_km2, rel=1e-9)
    assert d["n_stations"].sum() <= 400
    covered = (d["perc_area_covered"] / 100 * d["area_km2"]).sum()
    assert covered == pytest.approx(base.area_covered_km2, rel=1e-6)
    assert d["demand_uncovered"].is_monotonic_decreasing


def test_night_and_amenity_scenarios_on_a_city(city_results):
    _, _, (base, night, toilet), _ = city_results
    assert night.n_stations == 100 and toilet.n_stations == 134
    assert night.perc_area_covered < base.perc_area_covered
    assert toilet.perc_area_covered < base.perc_area_covered


def test_report_html_and_files(city_results, tmp_path):
    _, _, results, siting = city_results
    rep = build_report(results, siting=siting)
    html = rep.html
    assert html.startswith("<!DOCTYPE html>") and "河北省秦皇岛市" in html
    assert '"maxZoom": 18' in html  # tiles=None needs an explicit max zoom
    assert html.index("folium-map") < html.index("Coverage by scenario")  # map first, then tables
    png = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html).group(1)
    assert base64.b64decode(png)[:4] == b"\x89PNG"
    assert "Suggested sites (MCLP)" in html and "By district" in html
    paths = rep.write(tmp_path / "maps")
    names = {p.name for p in paths}
    assert {"coverage-130300.html", "coverage-130300_gaps.geojson", "coverage-130300_gaps.csv",
            "coverage-130300_sites.geojson", "coverage-130300_sites.csv", "coverage-130300_districts.csv",
            "coverage-130300_summary.json"} <= names
    gaps = json.loads((tmp_path / "maps" / "coverage-130300_gaps.geojson").read_text(encoding="utf-8"))
    assert gaps["features"] and gaps["features"][0]["properties"]["gap_id"] == 1
    sites = pd.read_csv(tmp_path / "maps" / "coverage-130300_sites.csv")
    assert list(sites["rank"]) == [1, 2, 3, 4, 5]
    summary = json.loads((tmp_path / "maps" / "coverage-130300_summary.json").read_text(encoding="utf-8"))
    assert len(summary["scenarios"]) == 3 and summary["siting"]["n_sites"] == 5


def test_map_layers(city_results):
    _, _, results, siting = city_results
    m = coverage_map(results[0], siting=siting)
    html = m.get_root().render()
    for layer in ("Travel time to nearest station", "Cross coverage", "Gaps (top", "Stations counted",
                  "Suggested sites (5, MCLP)"):
        assert layer in html
