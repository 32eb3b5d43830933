"""Demand files: points, lines and polygons onto the grid; bad rows reported by row."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import shapely

from stations.errors import ImportFileError, ValidationError
from stations.planning import CoverageStudy, Travel, load_demand
from stations.planning.area import area_from_local, local_crs
from stations.planning.demand import demand_raster
from stations.planning.grid import make_grid

CRS = local_crs(shapely.box(115.0, 39.5, 115.2, 39.7))
AREA = area_from_local(shapely.box(0, 0, 4000, 4000), CRS, name="square")


def wgs(x, y):
    lon, lat = AREA.to_wgs84(x_m=np.asarray(x, float), y_m=np.asarray(y, float))
    return lon, lat


def test_csv_points_with_weight_column(tmp_path):
    lon, lat = wgs([100, 3900], [100, 3900])
    path = tmp_path / "pickups.csv"
    pd.DataFrame({"纬度": lat, "经度": lon, "人数": [3, 5]}).to_csv(path, index=False)
    d = load_demand(path)
    assert d.weight_column == "人数" and d.total == 8 and list(d.row) == [1, 2]


def test_bad_rows_are_reported_by_row(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("lat,lon,weight\n39.6,115.1,2\nabc,115.1,1\n39.6,200,1\n39.6,115.1,-4\n,,x\n", encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        load_demand(path)
    msg = str(info.value)
    assert "4 bad row(s)" in msg
    rows = sorted({p.row for p in info.value.problems})
    assert rows == [2, 3, 4, 5]
    assert {(p.row, p.field) for p in info.value.problems} >= {(2, "lat"), (3, "lon"), (4, "weight"), (5, "weight")}
    skipped = load_demand(path, on_bad_rows="skip")
    assert len(skipped) == 1 and len(skipped.problems) == 6  # row 5: lat, lon and weight


def test_missing_columns_and_files_are_clear(tmp_path):
    path = tmp_path / "nopos.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="needs lat/lon columns or a wkt column"):
        load_demand(path)
    with pytest.raises(ImportFileError, match="no weight column 'orders'"):
        load_demand(pd.DataFrame({"lat": [39.6], "lon": [115.1]}), weight="orders")
    with pytest.raises(ImportFileError, match="does not exist"):
        load_demand(tmp_path / "missing.csv")


def test_geojson_lines_and_polygons_spread_over_cells(tmp_path):
    grid = make_grid(AREA.geometry_m, 100)
    route = AREA.geometry_to_wgs84(shapely.LineString([(50, 2050), (3950, 2050)]))  # one row of 39 cells
    block = AREA.geometry_to_wgs84(shapely.box(0, 0, 1000, 1000))  # 100 cells
    half_out = AREA.geometry_to_wgs84(shapely.box(3500, 3500, 4500, 4500))  # a quarter inside
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"workers": 39}, "geometry": route.__geo_interface__},
        {"type": "Feature", "properties": {"workers": 100}, "geometry": block.__geo_interface__},
        {"type": "Feature", "properties": {"workers": 40}, "geometry": half_out.__geo_interface__},
    ]}
    path = tmp_path / "d.geojson"
    path.write_text(json.dumps(fc), encoding="utf-8")
    d = load_demand(path)
    ras = demand_raster(d, AREA, grid)
    assert ras.total == pytest.approx(39 + 100 + 10, rel=1e-4)
    assert ras.outside == pytest.approx(30, rel=1e-3)
    v = ras.values
    assert v[19, 0:39].sum() == pytest.approx(39 + 0, abs=0.6)  # the route's row (the block adds nothing here)
    assert v[30:40, 0:10].sum() == pytest.approx(100, rel=1e-4)
    assert v[30:40, 0:10].min() == pytest.approx(1.0, rel=1e-4)


def test_invalid_geojson_geometry_is_a_row_problem(tmp_path):
    bow = {"type": "Polygon", "coordinates": [[[115, 39.5], [115.1, 39.6], [115.1, 39.5], [115, 39.6], [115, 39.5]]]}
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"weight": 1}, "geometry": {"type": "Point", "coordinates": [115.1, 39.6]}},
        {"type": "Feature", "properties": {"weight": 1}, "geometry": bow},
        {"type": "Feature", "properties": {"weight": 1}, "geometry": None},
    ]}
    path = tmp_path / "d.geojson"
    path.write_text(json.dumps(fc), encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        load_demand(path)
    assert sorted(p.row for p in info.value.problems) == [2, 3]
    assert "Self-intersection" in str(info.value)


def test_demand_changes_coverage_shares():
    lon, lat = wgs([500, 3500, 3600], [500, 3500, 3600])
    demand = pd.DataFrame({"lat": lat, "lon": lon, "weight": [1, 1, 2]})
    slon, slat = wgs([3550], [3550])
    st = pd.DataFrame({"lat": slat, "lon": slon})
    res = CoverageStudy(AREA, travel=Travel("walk", 12, 1.0, 5.0), cell_m=50, demand=demand,
                        district_level=None).evaluate(st)
    assert res.perc_demand_covered == pytest.approx(75.0)
    assert res.perc_area_covered < 25
