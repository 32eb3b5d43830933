"""Study areas (names, adcodes, files), the grid rasteriser, the memory guard and travel modes."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import shapely

from stations.config import load_settings
from stations.errors import NotFoundError, ValidationError
from stations.planning import Travel, load_area
from stations.planning.area import area_from_local, children, find_unit, local_crs
from stations.planning.grid import check_memory, coarsest_fitting_cell, estimate_bytes, make_grid, rasterize

# ------------------------------------------------------------------ names and adcodes


@pytest.mark.parametrize("spec, adcode, level", [
    ("蔚县", "130726", "county"),
    ("130726", "130726", "county"),
    ("156130726", "130726", "county"),
    ("张家口 蔚县", "130726", "county"),
    ("河北省张家口市蔚县", "130726", "county"),
    ("昌黎县", "130322", "county"),
    ("河北", "130000", "province"),
    ("河北省", "130000", "province"),
    ("石家庄", "130100", "city"),
    ("北京市", "110000", "province"),  # a province and a city share the code: the province wins
    ("北京 朝阳区", "110105", "county"),
])
def test_find_unit(spec, adcode, level):
    u = find_unit(spec)
    assert (u.adcode, u.level) == (adcode, level)


def test_unknown_name_suggests_close_matches():
    with pytest.raises(NotFoundError) as info:
        find_unit("石家装")
    assert "did you mean" in str(info.value) and "石家庄市" in str(info.value)
    assert info.value.problems[0].field == "area"
    with pytest.raises(NotFoundError, match="unknown adcode"):
        find_unit("999999")


def test_ambiguous_name_lists_candidates():
    with pytest.raises(ValidationError, match="ambiguous") as info:
        find_unit("朝阳区")
    assert "110105" in str(info.value) and "220104" in str(info.value)


def test_children_of_a_city_and_a_province():
    qhd = find_unit("秦皇岛市")
    kids = children(qhd)
    assert "昌黎县" in {u.name for u in kids} and all(u.adcode.startswith("1303") for u in kids)
    hebei = children(find_unit("河北省"))
    assert len(hebei) > 150 and all(u.province == "130000" for u in hebei)
    assert len(children(find_unit("河北省"), "city")) == 11


def test_area_from_admin_unit_has_plausible_size_and_local_crs():
    a = load_area("昌黎县")
    assert a.adcode == "130322" and a.level == "county" and a.name == "河北省秦皇岛市昌黎县"
    assert 1000 < a.area_km2 < 1400  # Changli: about 1,200 km²
    assert a.crs.is_projected and a.crs.coordinate_operation.method_name == "Albers Equal Area"
    x, y = a.to_local(lon=a.geometry.centroid.x, lat=a.geometry.centroid.y)
    lon, lat = a.to_wgs84(x_m=x, y_m=y)
    assert lon == pytest.approx(a.geometry.centroid.x) and lat == pytest.approx(a.geometry.centroid.y)


def test_local_projection_is_equal_area_with_small_scale_error():
    import pyproj

    hebei = load_area("河北省")
    lon0, lat0, lon1, lat1 = hebei.geometry.bounds
    proj = pyproj.Proj(hebei.crs)
    lons, lats = np.meshgrid(np.linspace(lon0, lon1, 9), np.linspace(lat0, lat1, 9))
    f = proj.get_factors(lons.ravel(), lats.ravel())
    assert np.allclose(f.areal_scale, 1.0, atol=1e-6)
    assert np.max(np.abs(np.asarray(f.meridional_scale) - 1)) < 0.005


def test_area_from_a_polygon_file(tmp_path):
    poly = shapely.box(116.30, 39.90, 116.40, 39.95)
    path = tmp_path / "zone.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": poly.__geo_interface__}]}), encoding="utf-8")
    a = load_area(path)
    assert a.name == "zone" and a.level == "polygon" and a.adcode is None
    assert a.area_km2 == pytest.approx(8.5 * 5.56, rel=0.02)
    assert {u.name for u in a.sub_units()} >= {"海淀区"}


def test_area_from_local_keeps_the_metric_polygon():
    crs = local_crs(shapely.box(115, 39, 116, 40))
    a = area_from_local(shapely.box(0, 0, 1000, 2000), crs)
    assert a.area_km2 == pytest.approx(2.0)
    with pytest.raises(ValidationError, match="not a projected CRS"):
        area_from_local(shapely.box(0, 0, 1, 1), "EPSG:4326")


# ------------------------------------------------------------------ grid


def _oracle(geom, x_left, y_top, cell, nrows, ncols):
    xs = x_left + (np.arange(ncols) + 0.5) * cell
    ys = y_top - (np.arange(nrows) + 0.5) * cell
    X, Y = np.meshgrid(xs, ys)
    return shapely.contains_xy(geom, X, Y)


@pytest.mark.parametrize("seed", range(6))
def test_rasterize_matches_contains_xy(seed):
    rng = np.random.default_rng(seed)
    # a star-shaped polygon with a hole, plus a separate island
    ang = np.sort(rng.uniform(0, 2 * np.pi, 40))
    rad = rng.uniform(300, 1000, 40)
    outer = shapely.Polygon(np.column_stack([1000 + rad * np.cos(ang), 1000 + rad * np.sin(ang)]))
    hole = shapely.Point(1000, 1000).buffer(150)
    island = shapely.box(2300, 300, 2700, 900)
    geom = shapely.MultiPolygon([outer.difference(hole), island]) if outer.is_valid else island
    cell = rng.choice([7.0, 13.0, 25.0])
    x_left, y_top, ncols, nrows = -3.3, 2100.7, int(2800 / cell), int(2200 / cell)
    got = rasterize(geom, x_left=x_left, y_top=y_top, cell_m=cell, nrows=nrows, ncols=ncols)
    want = _oracle(geom, x_left, y_top, cell, nrows, ncols)
    assert (got != want).sum() <= 2  # centres exactly on an edge may differ
    assert got.sum() > 100


def test_grid_is_aligned_and_masks_the_area():
    g = make_grid(shapely.box(10, 20, 1010, 520), 100)
    assert (g.x_left, g.y_top, g.nrows, g.ncols) == (0.0, 600.0, 6, 11)
    assert g.n_cells == 50  # centres 50..950 x 50..450 inside the box
    r, c, ok = g.cell_of(np.array([55.0, -5.0]), np.array([555.0, 10.0]))
    assert list(ok) == [True, False] and (r[0], c[0]) == (0, 0)
    bands = list(g.bands(band_cells=22))
    assert sum(len(b[2]) for b in bands) == 50


def test_memory_guard_refuses_with_estimate_and_a_coarser_cell():
    hebei = load_area("河北省")
    with pytest.raises(ValidationError) as info:
        check_memory(hebei.geometry_m.bounds, 10.0)
    msg = str(info.value)
    assert "too fine for memory" in msg and "GB" in msg and "limit of 4.0 GB" in msg
    fit = float(msg.split("use cell_m=")[1].split()[0])
    assert 25 <= fit <= 60
    assert estimate_bytes(hebei.geometry_m.bounds, fit) <= 4 * 1024**3
    assert coarsest_fitting_cell(hebei.geometry_m.bounds, 10.0, 4 * 1024**3) == fit
    with pytest.raises(ValidationError, match="use cell_m="):
        from stations.planning import CoverageStudy

        CoverageStudy("河北省", cell_m=100, memory_limit_bytes=100 * 1024**2)
    with pytest.raises(ValidationError, match="cell_m"):
        check_memory(hebei.geometry_m.bounds, -5)


# ------------------------------------------------------------------ travel


def test_travel_modes_and_radius():
    walk = Travel()
    assert (walk.mode, walk.minutes, walk.circuity, walk.speed_kmh) == ("walk", 15, 1.3, 4.5)
    assert walk.radius_m == pytest.approx(4500 / 60 * 15 / 1.3)
    assert Travel("e-bike").speed_kmh == 15 and Travel("三轮车").speed_kmh == 10
    assert walk.minutes_for(1000.0) == pytest.approx(1000 * 1.3 / 75)
    settings = load_settings({"walk_speed_kmh": 4.8, "circuity": 1.25}, environ={})
    assert Travel.from_settings(settings).radius_m == pytest.approx(80 * 15 / 1.25)


@pytest.mark.parametrize("kwargs, field", [
    ({"mode": "jetpack"}, "mode"), ({"minutes": 0}, "minutes"), ({"circuity": 0.8}, "circuity"),
    ({"mode": "ebike", "speed_kmh": 30}, "speed_kmh"), ({"minutes": float("nan")}, "minutes"),
])
def test_travel_rejects_bad_values(kwargs, field):
    with pytest.raises(ValidationError) as info:
        Travel(**kwargs)
    assert info.value.problems[0].field == field
    assert math.isfinite(len(str(info.value)))
