"""Gap polygons: connected areas of uncovered cells, dissolved, ranked by uncovered demand.

Uncovered cells are grouped into 4-connected components (``scipy.ndimage.label``; cells
touching only at a corner are separate gaps). Each component's statistics (cells, km²,
uncovered demand, worst travel time, main district) come from the raster. Polygons are
built only for the top ``max_gaps`` components: the runs of cells in each row become
boxes, the boxes are unioned and simplified by half a cell, then drawn in WGS-84. No
polygon is made per cell. A gap whose bounding window exceeds :data:`MAX_POLYGON_CELLS`
is drawn from a block-majority downsample (its ``area_km2`` and demand still count every
cell), which keeps a province-wide gap a few thousand vertices, not a few hundred thousand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from scipy import ndimage

from .area import StudyArea
from .grid import Grid

GAP_COLUMNS = ["gap_id", "area_km2", "uncovered_demand", "share_of_uncovered_pct", "n_cells", "max_nearest_min",
               "district", "lat", "lon", "geometry"]


#: Largest window (cells) polygonised at full resolution; larger gaps are drawn from a
#: block-majority downsample (their statistics still come from every cell).
MAX_POLYGON_CELLS = 1_000_000


def _downsample(sub: np.ndarray, f: int) -> np.ndarray:
    h, w = sub.shape
    H, W = -(-h // f), -(-w // f)
    pad = np.zeros((H * f, W * f), dtype=np.float32)
    pad[:h, :w] = sub
    return pad.reshape(H, f, W, f).mean(axis=(1, 3)) >= 0.5


def _component_polygon(sub: np.ndarray, grid: Grid, r0: int, c0: int) -> tuple[shapely.Geometry, float]:
    """Union of the cells of a boolean window, local CRS; returns (polygon, resolution_m).

    Row runs become boxes (identical runs on consecutive rows merged), then one union.
    Windows above :data:`MAX_POLYGON_CELLS` are drawn from a block-majority downsample.
    """
    f = max(1, int(np.ceil(np.sqrt(sub.size / MAX_POLYGON_CELLS))))
    if f > 1:
        sub = _downsample(sub, f)
        if not sub.any():
            sub = np.zeros((1, 1), bool)
            sub[0, 0] = True
    cell = grid.cell_m * f
    padded = np.zeros((sub.shape[0], sub.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = sub
    d = np.diff(padded, axis=1)
    rs, starts = np.nonzero(d == 1)
    _, ends = np.nonzero(d == -1)
    # Merge identical runs on consecutive rows into taller boxes: fewer boxes to union.
    key_cols = starts.astype(np.int64) * (sub.shape[1] + 2) + ends
    order = np.lexsort((rs, key_cols))
    rs, starts, ends, key_cols = rs[order], starts[order], ends[order], key_cols[order]
    new = np.ones(len(rs), bool)
    new[1:] = (key_cols[1:] != key_cols[:-1]) | (rs[1:] != rs[:-1] + 1)
    top = rs[new]
    bottom = np.maximum.reduceat(rs, np.nonzero(new)[0]) if len(rs) else rs
    s, e = starts[new], ends[new]
    x_left = grid.x_left + c0 * grid.cell_m
    y_top = grid.y_top - r0 * grid.cell_m
    boxes = shapely.box(x_left + s * cell, y_top - (bottom + 1) * cell, x_left + e * cell, y_top - top * cell)
    return shapely.union_all(boxes), cell


def _finite_or_nan(values: np.ndarray) -> float:
    # JSON has no infinity: a gap no station reaches (or, over a network, none within the
    # search limit) reports NaN, written as null.
    m = float(np.max(values)) if len(values) else float("nan")
    return m if np.isfinite(m) else float("nan")


def gap_table(area: StudyArea, grid: Grid, uncovered: np.ndarray, *, demand: np.ndarray | None,
              nearest_min: np.ndarray, district_labels: np.ndarray | None = None,
              district_names: list[str] | None = None, max_gaps: int = 100,
              min_gap_km2: float = 0.0, simplify: bool = True):
    """Rank the gaps of ``uncovered`` (bool raster) and build polygons for the top ones.

    Returns ``(gaps, n_gaps)``: a GeoDataFrame (WGS-84) with :data:`GAP_COLUMNS`, ranked by
    uncovered demand (ties: larger area first, then position), and the number of gaps in
    total (before ``max_gaps`` and ``min_gap_km2``). ``uncovered_demand`` is in the demand's
    unit (km² for uniform demand). ``max_nearest_min`` is the worst travel time inside the
    gap, NaN when some of it reaches no station at all.
    """
    import geopandas as gpd

    labels, n = ndimage.label(uncovered)
    if n == 0:
        return gpd.GeoDataFrame({c: [] for c in GAP_COLUMNS[:-1]}, geometry=[], crs=4326), 0
    index = np.arange(1, n + 1)
    cells = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    if demand is None:
        dem = cells * grid.cell_km2
    else:
        dem = ndimage.sum_labels(demand, labels, index)
    area_km2 = cells * grid.cell_km2
    order = np.lexsort((index, -area_km2, -dem))
    order = order[area_km2[order] >= min_gap_km2][:max_gaps]
    objects = ndimage.find_objects(labels)
    total_dem = float(dem.sum())
    rows = []
    polys = []
    for rank, k in enumerate(order, start=1):
        lab = k + 1
        rs, cs = objects[k]
        sub = labels[rs, cs] == lab
        poly, res_m = _component_polygon(sub, grid, rs.start, cs.start)
        if simplify:
            poly = shapely.simplify(poly, res_m / 2, preserve_topology=True)
        worst = nearest_min[rs, cs][sub]
        district = ""
        if district_labels is not None and district_names:
            dl = district_labels[rs, cs][sub]
            dl = dl[dl >= 0]
            if len(dl):
                district = district_names[int(np.bincount(dl).argmax())]
        poly_wgs = area.geometry_to_wgs84(poly)
        rp = poly_wgs.representative_point()
        rows.append({"gap_id": rank, "area_km2": float(area_km2[k]), "uncovered_demand": float(dem[k]),
                     "share_of_uncovered_pct": 100.0 * float(dem[k]) / total_dem if total_dem > 0 else 0.0,
                     "n_cells": int(cells[k]), "max_nearest_min": _finite_or_nan(worst),
                     "district": district, "lat": rp.y, "lon": rp.x})
        polys.append(poly_wgs)
    frame = pd.DataFrame(rows, columns=GAP_COLUMNS[:-1])
    return gpd.GeoDataFrame(frame, geometry=polys, crs=4326), int(n)
