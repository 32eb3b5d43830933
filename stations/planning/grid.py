"""The analysis grid: square cells over the study area, handled as arrays of centres.

A grid never makes one shapely polygon per cell. It is a north-up raster in the area's
local equal-area CRS: ``nrows x ncols`` cells of ``cell_m`` metres, cell ``(r, c)`` centred
at ``x = x_left + (c + 0.5) * cell_m``, ``y = y_top - (r + 0.5) * cell_m``. A cell belongs to
the area when its *centre* is inside the polygon (``mask``). Centres are produced band by
band (:meth:`Grid.bands`), so the caller's working memory stays bounded.

Polygons are rasterised with an even-odd scanline fill (:func:`rasterize`): for each row
the polygon's edges are crossed at the row's centre line and the cells between
crossings are filled. It gives the same answer as ``shapely.contains_xy`` for every centre
not exactly on an edge, and is checked against it in the tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from ..errors import Problem, ValidationError

#: Default memory budget of one coverage run, bytes (about 4 GB).
MEMORY_LIMIT_BYTES: int = 4 * 1024**3
#: Bytes held per cell of the grid's bounding box during a coverage run: the area mask
#: (1), demand (4), nearest and second-nearest minutes (4 + 4), the district label (2), the
#: gap label (4) and the covered flags (2), plus working buffers. Measured on the Hebei
#: benchmark and rounded up.
BYTES_PER_CELL: int = 32
#: Cells of one band of centres handed out by :meth:`Grid.bands`.
BAND_CELLS: int = 2_000_000


def _ring_edges(geom: BaseGeometry) -> np.ndarray:
    """All ring edges of a (multi)polygon as an ``(n, 4)`` array ``x0, y0, x1, y1``."""
    rings = []
    for poly in shapely.get_parts(geom):
        if poly.geom_type != "Polygon" or poly.is_empty:
            continue
        rings.append(np.asarray(poly.exterior.coords))
        rings.extend(np.asarray(r.coords) for r in poly.interiors)
    if not rings:
        return np.empty((0, 4))
    return np.concatenate([np.column_stack([r[:-1], r[1:]]) for r in rings if len(r) > 1])


def rasterize(geom: BaseGeometry, *, x_left: float, y_top: float, cell_m: float,
              nrows: int, ncols: int) -> np.ndarray:
    """Boolean ``(nrows, ncols)`` mask of the cells whose centre is inside ``geom``.

    Even-odd rule over every ring, so holes and separate parts come out right for valid
    polygons. Cells whose centre lies exactly on an edge follow the half-open rule (left
    and bottom edges inside). Memory: the mask plus one byte per cell.
    """
    edges = _ring_edges(geom)
    out = np.zeros((nrows, ncols + 1), dtype=np.uint8)
    if len(edges) == 0 or nrows == 0 or ncols == 0:
        return np.zeros((nrows, ncols), dtype=bool)
    x0, y0, x1, y1 = edges.T
    keep = y0 != y1  # horizontal edges never cross a scan line
    x0, y0, x1, y1 = x0[keep], y0[keep], x1[keep], y1[keep]
    ylo, yhi = np.minimum(y0, y1), np.maximum(y0, y1)
    # Row r's centre line is y_top - (r + 0.5) * cell_m; an edge crosses rows whose centre y
    # satisfies ylo <= y < yhi.
    r_first = np.ceil((y_top - yhi) / cell_m - 0.5).astype(np.int64)  # y < yhi  -> r > (y_top-yhi)/c - .5
    r_last = np.floor((y_top - ylo) / cell_m - 0.5).astype(np.int64)  # y >= ylo -> r <= (y_top-ylo)/c - .5
    # exclusive top: y == yhi is not inside [ylo, yhi)
    on_top = np.isclose(y_top - (r_first + 0.5) * cell_m, yhi, rtol=0, atol=1e-9)
    r_first = np.where(on_top, r_first + 1, r_first)
    r_first = np.clip(r_first, 0, nrows)
    r_last = np.clip(r_last, -1, nrows - 1)
    counts = np.maximum(r_last - r_first + 1, 0)
    total = int(counts.sum())
    if total == 0:
        return np.zeros((nrows, ncols), dtype=bool)
    edge = np.repeat(np.arange(len(counts)), counts)
    start = np.repeat(np.cumsum(counts) - counts, counts)
    rows = r_first[edge] + (np.arange(total) - start)
    yc = y_top - (rows + 0.5) * cell_m
    t = (yc - y0[edge]) / (y1[edge] - y0[edge])
    xc = x0[edge] + t * (x1[edge] - x0[edge])
    # The crossing toggles every cell whose centre is at or right of it.
    col = np.ceil((xc - x_left) / cell_m - 0.5).astype(np.int64)
    col = np.clip(col, 0, ncols)
    flat = rows * (ncols + 1) + col
    uniq, n = np.unique(flat, return_counts=True)
    out.ravel()[uniq] = (n & 1).astype(np.uint8)
    np.bitwise_xor.accumulate(out, axis=1, out=out)
    return out[:, :ncols].astype(bool)


@dataclass
class Grid:
    """A north-up raster of square cells in the study area's local CRS.

    Attributes
    ----------
    x_left, y_top : float
        Outer corner of cell ``(0, 0)``, metres.
    cell_m : float
        Cell side, metres.
    nrows, ncols : int
        Raster shape (the bounding box of the area).
    mask : numpy.ndarray of bool
        ``True`` for cells whose centre lies inside the area.
    """

    x_left: float
    y_top: float
    cell_m: float
    nrows: int
    ncols: int
    mask: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return (self.nrows, self.ncols)

    @property
    def n_cells(self) -> int:
        """Cells inside the area."""
        return int(self._n_cells)

    @property
    def cell_km2(self) -> float:
        return self.cell_m**2 / 1e6

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(x_min, y_min, x_max, y_max)`` of the raster, metres."""
        return (self.x_left, self.y_top - self.nrows * self.cell_m, self.x_left + self.ncols * self.cell_m, self.y_top)

    def __post_init__(self) -> None:
        self._n_cells = int(np.count_nonzero(self.mask))

    def centres(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Centre ``(x_m, y_m)`` of cells ``(rows, cols)``."""
        return (self.x_left + (np.asarray(cols) + 0.5) * self.cell_m,
                self.y_top - (np.asarray(rows) + 0.5) * self.cell_m)

    def cell_of(self, x_m: np.ndarray, y_m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row, column and an inside-the-raster flag of the cells holding points ``(x_m, y_m)``."""
        c = np.floor((np.asarray(x_m) - self.x_left) / self.cell_m).astype(np.int64)
        r = np.floor((self.y_top - np.asarray(y_m)) / self.cell_m).astype(np.int64)
        ok = (r >= 0) & (r < self.nrows) & (c >= 0) & (c < self.ncols)
        return r, c, ok

    def band_rows(self, band_cells: int = BAND_CELLS) -> int:
        return max(1, band_cells // max(self.ncols, 1))

    def bands(self, band_cells: int = BAND_CELLS) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
        """Yield ``(r0, r1, rows, cols)`` of the in-area cells, band of rows by band.

        ``rows`` are absolute row indices; only cells inside the area are yielded.
        """
        step = self.band_rows(band_cells)
        for r0 in range(0, self.nrows, step):
            r1 = min(self.nrows, r0 + step)
            rr, cc = np.nonzero(self.mask[r0:r1])
            yield r0, r1, rr + r0, cc

    def rasterize(self, geom_m: BaseGeometry) -> np.ndarray:
        """Mask of the cells (whole raster) whose centre is inside a local-CRS geometry."""
        return rasterize(geom_m, x_left=self.x_left, y_top=self.y_top, cell_m=self.cell_m,
                         nrows=self.nrows, ncols=self.ncols)

    def window(self, geom_m: BaseGeometry) -> tuple[slice, slice] | None:
        """The raster window ``(row_slice, col_slice)`` covering a geometry's bounds, or None."""
        minx, miny, maxx, maxy = geom_m.bounds
        c0 = max(0, int(math.floor((minx - self.x_left) / self.cell_m)))
        c1 = min(self.ncols, int(math.ceil((maxx - self.x_left) / self.cell_m)))
        r0 = max(0, int(math.floor((self.y_top - maxy) / self.cell_m)))
        r1 = min(self.nrows, int(math.ceil((self.y_top - miny) / self.cell_m)))
        if r0 >= r1 or c0 >= c1:
            return None
        return slice(r0, r1), slice(c0, c1)

    def rasterize_window(self, geom_m: BaseGeometry) -> tuple[tuple[slice, slice], np.ndarray] | None:
        """Like :meth:`rasterize` but only over the geometry's window: ``(window, mask)``."""
        win = self.window(geom_m)
        if win is None:
            return None
        rs, cs = win
        sub = rasterize(geom_m, x_left=self.x_left + cs.start * self.cell_m,
                        y_top=self.y_top - rs.start * self.cell_m, cell_m=self.cell_m,
                        nrows=rs.stop - rs.start, ncols=cs.stop - cs.start)
        return win, sub


def _raster_shape(bounds: tuple[float, float, float, float], cell_m: float) -> tuple[float, float, int, int]:
    minx, miny, maxx, maxy = bounds
    x_left = math.floor(minx / cell_m) * cell_m
    y_top = math.ceil(maxy / cell_m) * cell_m
    ncols = max(1, int(math.ceil((maxx - x_left) / cell_m)))
    nrows = max(1, int(math.ceil((y_top - miny) / cell_m)))
    return x_left, y_top, nrows, ncols


def estimate_bytes(bounds_m: tuple[float, float, float, float], cell_m: float, *,
                   bytes_per_cell: int = BYTES_PER_CELL) -> int:
    """Peak working memory of a coverage run on a grid of ``cell_m`` over these bounds, bytes."""
    _, _, nrows, ncols = _raster_shape(bounds_m, cell_m)
    return int(nrows) * int(ncols) * bytes_per_cell


def coarsest_fitting_cell(bounds_m: tuple[float, float, float, float], cell_m: float, limit_bytes: int, *,
                          bytes_per_cell: int = BYTES_PER_CELL) -> float:
    """The smallest cell size, a multiple of 5 m and at least ``cell_m``, that fits ``limit_bytes``."""
    est = estimate_bytes(bounds_m, cell_m, bytes_per_cell=bytes_per_cell)
    guess = cell_m * math.sqrt(est / max(limit_bytes, 1))
    step = 5.0 if guess < 1000 else 50.0
    cell = max(cell_m, math.ceil(guess / step) * step)
    while estimate_bytes(bounds_m, cell, bytes_per_cell=bytes_per_cell) > limit_bytes:
        cell += step
    return cell


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TB"


def check_memory(bounds_m: tuple[float, float, float, float], cell_m: float, *,
                 limit_bytes: int = MEMORY_LIMIT_BYTES, bytes_per_cell: int = BYTES_PER_CELL) -> int:
    """Raise :class:`ValidationError` when a grid would not fit ``limit_bytes``; return the estimate.

    The message names the estimate, the limit and the finest cell size that fits.
    """
    if not (isinstance(cell_m, (int, float)) and math.isfinite(cell_m) and cell_m > 0):
        raise ValidationError.from_problems([Problem("cell_m", cell_m, "not a positive size",
                                                     "metres, e.g. 100")], what="grid")
    est = estimate_bytes(bounds_m, cell_m, bytes_per_cell=bytes_per_cell)
    if est > limit_bytes:
        fit = coarsest_fitting_cell(bounds_m, cell_m, limit_bytes, bytes_per_cell=bytes_per_cell)
        _, _, nrows, ncols = _raster_shape(bounds_m, cell_m)
        msg = (f"a {cell_m:g} m grid is too fine for memory: about {nrows * ncols:,} cells in the area's "
               f"bounding box need an estimated {_fmt_bytes(est)}, over the limit of {_fmt_bytes(limit_bytes)}; "
               f"use cell_m={fit:g} or coarser (or raise the memory limit)")
        raise ValidationError(msg, [Problem("cell_m", cell_m, f"needs about {_fmt_bytes(est)} "
                                            f"(limit {_fmt_bytes(limit_bytes)})", f"{fit:g} m or coarser")])
    return est


def make_grid(geometry_m: BaseGeometry, cell_m: float, *, limit_bytes: int = MEMORY_LIMIT_BYTES) -> Grid:
    """Grid of ``cell_m`` cells over a local-CRS polygon, aligned to multiples of ``cell_m``.

    Checks the memory estimate first (:func:`check_memory`) and allocates nothing when it
    does not fit.
    """
    bounds = geometry_m.bounds
    check_memory(bounds, cell_m, limit_bytes=limit_bytes)
    x_left, y_top, nrows, ncols = _raster_shape(bounds, cell_m)
    mask = rasterize(geometry_m, x_left=x_left, y_top=y_top, cell_m=cell_m, nrows=nrows, ncols=ncols)
    grid = Grid(x_left, y_top, float(cell_m), nrows, ncols, mask)
    if grid.n_cells == 0:
        # A polygon smaller than one cell: keep the cell holding its representative point.
        p = geometry_m.representative_point()
        r, c, ok = grid.cell_of(np.array([p.x]), np.array([p.y]))
        if ok[0]:
            mask[r[0], c[0]] = True
        grid = Grid(x_left, y_top, float(cell_m), nrows, ncols, mask)
    return grid
