"""Demand: where the workers are, as weighted points, lines or polygons.

Without a demand file, demand is uniform over the area (every cell weighs its area), so
the share of demand covered equals the share of area covered.

A demand file is a CSV or a GeoJSON in WGS-84:

- CSV with ``lat``/``lon`` columns (also ``latitude``/``longitude``, ``lng``, ``纬度``/``经度``)
  for points, or a ``wkt`` (or ``geometry``) column for points, lines and polygons;
- GeoJSON features of any geometry type.

The weight column is ``weight`` unless named (also recognised: ``count``, ``workers``,
``demand``, ``人数``, ``数量``, ``权重``); without one every feature weighs 1. Examples:
delivery pickups (points, weight = orders a day), sanitation routes (lines, weight =
workers), worker counts per block (polygons).

On the grid a point's weight goes to the cell that holds it, a line's is split evenly over
points every half cell along it, a polygon's evenly over the cells whose centre it holds
(the cell of its representative point when it holds none). Weight that falls outside the
area is reported, not silently dropped.

Bad rows are collected — every problem of every row, numbered from 1 after the header
(the feature index from 1 for GeoJSON) — and raised together as one
:class:`~stations.errors.ValidationError`, or skipped and listed with
``on_bad_rows="skip"``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from ..errors import ImportFileError, Problem, ValidationError
from .area import StudyArea
from .grid import Grid

LAT_NAMES = ("lat", "latitude", "纬度", "y")
LON_NAMES = ("lon", "lng", "long", "longitude", "经度", "x")
GEOM_NAMES = ("wkt", "geometry", "geom")
WEIGHT_NAMES = ("weight", "count", "workers", "demand", "人数", "数量", "权重")
MAX_REPORTED_PROBLEMS = 50


@dataclass
class Demand:
    """Weighted demand features (WGS-84).

    ``geometry`` is a list of shapely geometries (lon, lat), ``weight`` a float array,
    ``row`` the source row of each (1-based). ``problems`` lists rows that were skipped.
    """

    geometry: list[BaseGeometry]
    weight: np.ndarray
    row: np.ndarray
    source: str = ""
    weight_column: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def total(self) -> float:
        return float(self.weight.sum())

    def __len__(self) -> int:
        return len(self.geometry)

    def to_geodataframe(self):
        import geopandas as gpd

        return gpd.GeoDataFrame({"row": self.row, "weight": self.weight}, geometry=self.geometry, crs=4326)


def _pick(columns: list[str], names: tuple[str, ...], given: str | None) -> str | None:
    if given is not None:
        return given if given in columns else None
    lower = {str(c).strip().lower(): c for c in columns}
    for n in names:
        if n in lower:
            return lower[n]
    return None


def _weight_problem(value: Any, column: str, row: int) -> tuple[float | None, Problem | None]:
    try:
        w = float(value)
    except (TypeError, ValueError):
        return None, Problem(column, value, "not a number", "a number >= 0", row)
    if not math.isfinite(w) or w < 0:
        return None, Problem(column, value, "not a finite number >= 0", "a number >= 0", row)
    return w, None


def _geometry_problem(geom: BaseGeometry | None, field_name: str, value: Any, row: int) -> Problem | None:
    if geom is None or geom.is_empty:
        return Problem(field_name, value, "empty or missing geometry", "a point, line or polygon", row)
    lon0, lat0, lon1, lat1 = geom.bounds
    if not (-180 <= lon0 <= lon1 <= 180 and -90 <= lat0 <= lat1 <= 90):
        return Problem(field_name, str(value)[:80], "coordinates out of range",
                       "WGS-84 longitude -180..180, latitude -90..90", row)
    if not geom.is_valid:
        return Problem(field_name, str(value)[:80], f"invalid geometry ({shapely.is_valid_reason(geom)})",
                       "a valid geometry", row)
    return None


def _finish(geoms: list, weights: list, rows: list, problems: list[Problem], *, source: str, weight_col: str | None,
            on_bad_rows: str, what: str = "demand file") -> Demand:
    if problems and on_bad_rows == "raise":
        shown = problems[:MAX_REPORTED_PROBLEMS]
        more = f" (and {len(problems) - len(shown)} more)" if len(problems) > len(shown) else ""
        bad_rows = sorted({p.row for p in problems if p.row is not None})
        raise ValidationError(
            f"{what} {source!r} has {len(bad_rows)} bad row(s): " + "; ".join(str(p) for p in shown) + more,
            problems)
    return Demand(geometry=geoms, weight=np.asarray(weights, dtype=float), row=np.asarray(rows, dtype=np.int64),
                  source=source, weight_column=weight_col, problems=problems)


def _from_frame(df: pd.DataFrame, *, source: str, weight: str | None, lat: str | None, lon: str | None,
                on_bad_rows: str, what: str = "demand file") -> Demand:
    cols = [str(c) for c in df.columns]
    df.columns = cols
    wcol = _pick(cols, WEIGHT_NAMES, weight)
    if weight is not None and wcol is None:
        raise ImportFileError(f"{what} {source!r} has no weight column {weight!r}; columns: {', '.join(cols)}",
                              [Problem("weight", weight, "no such column", ", ".join(cols))])
    gcol = _pick(cols, GEOM_NAMES, None)
    latc, lonc = _pick(cols, LAT_NAMES, lat), _pick(cols, LON_NAMES, lon)
    if gcol is None and (latc is None or lonc is None):
        raise ImportFileError(
            f"{what} {source!r} needs lat/lon columns or a wkt column; columns: {', '.join(cols)}",
            [Problem("columns", ", ".join(cols), "no position columns", "lat + lon, or wkt")])
    geoms, weights, rows, problems = [], [], [], []
    for i, rec in enumerate(df.to_dict("records"), start=1):
        row_problems: list[Problem] = []
        geom = None
        if gcol is not None and not _blank(rec.get(gcol)):
            try:
                geom = shapely.from_wkt(str(rec[gcol]))
            except shapely.errors.ShapelyError as exc:
                row_problems.append(Problem(gcol, str(rec[gcol])[:80], f"not WKT ({exc})",
                                            "e.g. POINT (116.4 39.9)", i))
            else:
                p = _geometry_problem(geom, gcol, rec[gcol], i)
                if p:
                    row_problems.append(p)
        elif latc is not None and lonc is not None:
            vals = {}
            for name, col, lo, hi in (("lat", latc, -90, 90), ("lon", lonc, -180, 180)):
                v = rec.get(col)
                try:
                    f = float(v)
                except (TypeError, ValueError):
                    f = float("nan")
                if not math.isfinite(f) or not lo <= f <= hi:
                    row_problems.append(Problem(col, v, "missing, not a number or out of range",
                                                f"a number from {lo} to {hi}", i))
                vals[name] = f
            if not row_problems:
                geom = shapely.Point(vals["lon"], vals["lat"])
        else:
            row_problems.append(Problem(gcol or "geometry", None, "empty or missing geometry", "wkt", i))
        w = 1.0
        if wcol is not None:
            w, p = _weight_problem(rec.get(wcol), wcol, i)
            if p:
                row_problems.append(p)
        if row_problems:
            problems.extend(row_problems)
            continue
        geoms.append(geom)
        weights.append(w)
        rows.append(i)
    return _finish(geoms, weights, rows, problems, source=source, weight_col=wcol, on_bad_rows=on_bad_rows,
                   what=what)


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())


def _from_geojson(data: dict, *, source: str, weight: str | None, on_bad_rows: str) -> Demand:
    if data.get("type") == "Feature":
        features = [data]
    elif data.get("type") == "FeatureCollection":
        features = data.get("features") or []
    else:
        raise ImportFileError(f"demand file {source!r} is not a GeoJSON FeatureCollection")
    keys: list[str] = []
    for f in features[:1000]:
        for k in ((f or {}).get("properties") or {}):
            if k not in keys:
                keys.append(k)
    wcol = _pick(keys, WEIGHT_NAMES, weight)
    if weight is not None and weight not in keys:
        raise ImportFileError(f"demand file {source!r} has no weight property {weight!r}; "
                              f"properties: {', '.join(keys) or '(none)'}",
                              [Problem("weight", weight, "no such property", ", ".join(keys))])
    geoms, weights, rows, problems = [], [], [], []
    for i, feat in enumerate(features, start=1):
        row_problems: list[Problem] = []
        geom = None
        try:
            geom = shapely.geometry.shape((feat or {}).get("geometry"))
        except Exception as exc:  # shapely raises several kinds on malformed GeoJSON
            row_problems.append(Problem("geometry", str((feat or {}).get("geometry"))[:80],
                                        f"not a GeoJSON geometry ({exc})", "Point, LineString, Polygon...", i))
        else:
            p = _geometry_problem(geom, "geometry", shapely.to_wkt(geom, rounding_precision=6), i)
            if p:
                row_problems.append(p)
        w = 1.0
        if wcol is not None:
            w, p = _weight_problem(((feat or {}).get("properties") or {}).get(wcol), wcol, i)
            if p:
                row_problems.append(p)
        if row_problems:
            problems.extend(row_problems)
            continue
        geoms.append(geom)
        weights.append(w)
        rows.append(i)
    return _finish(geoms, weights, rows, problems, source=source, weight_col=wcol, on_bad_rows=on_bad_rows)


def load_demand(source: Any, *, weight: str | None = None, lat: str | None = None, lon: str | None = None,
                on_bad_rows: str = "raise", what: str = "demand file") -> Demand:
    """Read weighted demand from a CSV or GeoJSON path, a DataFrame or a GeoDataFrame.

    Parameters
    ----------
    source
        Path (``.csv``, ``.geojson``/``.json``), DataFrame or GeoDataFrame (WGS-84).
    weight
        Weight column / property; default: the first of :data:`WEIGHT_NAMES` present,
        else 1 per feature.
    lat, lon
        Position columns of a CSV (default: recognised names, see the module docstring).
    on_bad_rows
        ``"raise"`` (default): one :class:`ValidationError` listing every bad row;
        ``"skip"``: drop them and list them in :attr:`Demand.problems`.
    what
        How messages name the input (``"candidate file"`` when reading candidates).
    """
    if on_bad_rows not in ("raise", "skip"):
        raise ValidationError.from_problems([Problem("on_bad_rows", on_bad_rows, "unknown value", "raise, skip")])
    if isinstance(source, Demand):
        return source
    if isinstance(source, pd.DataFrame):
        if hasattr(source, "geometry") and "geometry" in source.columns:
            gdf = source if source.crs is None else source.to_crs(4326)
            df = pd.DataFrame(gdf.drop(columns="geometry"))
            df["wkt"] = [None if g is None else g.wkt for g in gdf.geometry]
            return _from_frame(df, source="GeoDataFrame", weight=weight, lat=None, lon=None, on_bad_rows=on_bad_rows,
                               what=what)
        return _from_frame(source.copy(), source="DataFrame", weight=weight, lat=lat, lon=lon,
                           on_bad_rows=on_bad_rows, what=what)
    path = Path(source)
    if not path.exists():
        raise ImportFileError(f"{what} {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ImportFileError(f"demand file {str(path)!r} is not valid JSON: {exc}") from exc
        return _from_geojson(data, source=str(path), weight=weight, on_bad_rows=on_bad_rows)
    if suffix in (".csv", ".txt", ".tsv"):
        try:
            df = pd.read_csv(path, sep=None, engine="python", dtype=str, encoding="utf-8-sig", keep_default_na=False)
        except UnicodeDecodeError:
            df = pd.read_csv(path, sep=None, engine="python", dtype=str, encoding="gb18030", keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise ImportFileError(f"demand file {str(path)!r} cannot be read as CSV: {exc}") from exc
        return _from_frame(df, source=str(path), weight=weight, lat=lat, lon=lon, on_bad_rows=on_bad_rows, what=what)
    raise ImportFileError(f"demand file {str(path)!r}: unknown format {suffix!r}",
                          [Problem("demand", str(path), "unknown format", ".csv, .geojson, .json")])


# --------------------------------------------------------------------------- onto the grid

@dataclass
class DemandRaster:
    """Demand per grid cell and what did not land inside the area.

    ``values`` is a float32 raster (zero outside the area), or ``None`` for uniform demand
    (each in-area cell weighs ``cell_km2``: no array is allocated).
    """

    values: np.ndarray | None
    total: float
    outside: float
    uniform: bool


def uniform_demand(grid: Grid) -> DemandRaster:
    """Every in-area cell weighs its area in km² (so demand shares equal area shares)."""
    return DemandRaster(values=None, total=grid.n_cells * grid.cell_km2, outside=0.0, uniform=True)


def _line_points(geom: BaseGeometry, step: float) -> np.ndarray:
    pts = []
    for part in shapely.get_parts(geom):
        length = part.length
        n = max(1, int(math.ceil(length / step)))
        d = (np.arange(n) + 0.5) * (length / n)
        pts.append(shapely.get_coordinates(shapely.line_interpolate_point(part, d)))
    return np.concatenate(pts) if pts else np.empty((0, 2))


def demand_raster(demand: Demand, area: StudyArea, grid: Grid) -> DemandRaster:
    """Spread ``demand`` over ``grid`` (see the module docstring for the rules)."""
    values = np.zeros(grid.shape, dtype=np.float64)
    total = float(demand.weight.sum())
    geoms = np.asarray(demand.geometry, dtype=object)
    kinds = shapely.get_type_id(geoms)
    point_ids = np.nonzero(np.isin(kinds, (0, 4)))[0]  # Point, MultiPoint
    # Points: vectorised.
    if len(point_ids):
        parts, idx = shapely.get_parts(geoms[point_ids], return_index=True)
        xy = shapely.get_coordinates(parts)
        n_parts = np.bincount(idx, minlength=len(point_ids))
        w = demand.weight[point_ids][idx] / n_parts[idx]
        _add_points(values, grid, area, xy, w)
    for i in np.nonzero(~np.isin(kinds, (0, 4)))[0]:
        g, w = geoms[i], float(demand.weight[i])
        gm = area.geometry_to_local(g)
        if kinds[i] in (1, 2, 5):  # LineString, LinearRing, MultiLineString
            pts = _line_points(gm, grid.cell_m / 2)
            _add_points(values, grid, None, pts, np.full(len(pts), w / max(len(pts), 1)))
        elif kinds[i] in (3, 6):  # Polygon, MultiPolygon
            got = grid.rasterize_window(gm)
            inside_any = got is not None and got[1].any()
            if inside_any:
                (rs, cs), sub = got
                # Cells outside the raster window are outside the area too; weight is
                # spread over the polygon's cells and kept only where they are in the area.
                n_all = _polygon_cell_count(gm, grid.cell_m)
                values[rs, cs][sub] += w / max(n_all, int(sub.sum()))
            else:
                p = gm.representative_point()
                _add_points(values, grid, None, np.array([[p.x, p.y]]), np.array([w]))
        else:  # GeometryCollection: its parts' centroid
            p = gm.centroid
            _add_points(values, grid, None, np.array([[p.x, p.y]]), np.array([w]))
    values[~grid.mask] = 0.0
    inside = float(values.sum())
    return DemandRaster(values=values.astype(np.float32), total=inside, outside=max(0.0, total - inside),
                        uniform=False)


def _polygon_cell_count(gm: BaseGeometry, cell_m: float) -> int:
    from .grid import _raster_shape, rasterize

    x_left, y_top, nrows, ncols = _raster_shape(gm.bounds, cell_m)
    return int(rasterize(gm, x_left=x_left, y_top=y_top, cell_m=cell_m, nrows=nrows, ncols=ncols).sum())


def _add_points(values: np.ndarray, grid: Grid, area: StudyArea | None, xy: np.ndarray, w: np.ndarray) -> None:
    if len(xy) == 0:
        return
    if area is not None:
        x, y = area.to_local(lon=xy[:, 0], lat=xy[:, 1])
    else:
        x, y = xy[:, 0], xy[:, 1]
    r, c, ok = grid.cell_of(x, y)
    np.add.at(values, (r[ok], c[ok]), w[ok])
