"""The discretised siting instance: demand points, candidate sites and who covers whom.

See :mod:`stations.planning.siting` for the model. Everything here is in the study area's
local metres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.spatial import cKDTree

from ..errors import ImportFileError, Problem, ValidationError
from .coverage import CoverageResult, CoverageStudy
from .travel import Travel

#: Largest cost matrix (clients x candidates) handed to spopt, entries.
EXACT_MAX_ENTRIES = 4_000_000
MAX_DEMAND_POINTS = 200_000
MAX_CANDIDATES = 50_000

@dataclass
class SitingProblem:
    """A discretised siting instance (local metres; see the module docstring)."""

    demand_x: np.ndarray
    demand_y: np.ndarray
    weights: np.ndarray
    cand_x: np.ndarray
    cand_y: np.ndarray
    cand_id: np.ndarray
    coverage: sp.csr_matrix  # (n_candidates, n_demand) bool: a_ji
    travel: Travel
    demand_total: float  # all demand in the area (fine grid)
    demand_covered_existing: float
    demand_spacing_m: float
    candidate_source: str
    network: Any = None

    @property
    def n_demand(self) -> int:
        return len(self.weights)

    @property
    def n_candidates(self) -> int:
        return len(self.cand_x)

    @property
    def coverable(self) -> np.ndarray:
        """Clients that at least one candidate covers."""
        return np.asarray(self.coverage.sum(axis=0)).ravel() > 0

    def cost_matrix(self, *, max_entries: int = EXACT_MAX_ENTRIES) -> np.ndarray:
        """Dense clients x candidates travel minutes, for spopt.

        Straight-line minutes; with a road network, ``0`` where covered and ``2 S``
        elsewhere (spopt only compares against the service radius). Refuses instances of
        more than ``max_entries`` pairs (spopt holds dense matrices).
        """
        n = self.n_demand * self.n_candidates
        if n > max_entries:
            raise ValidationError.from_problems(
                [Problem("instance", f"{self.n_demand} x {self.n_candidates}", "too large for the exact solver",
                         f"at most {max_entries:,} client-candidate pairs")], what="exact siting")
        if self.network is not None:
            cov = self.coverage.T.toarray()
            return np.where(cov, 0.0, 2.0 * self.travel.minutes)
        from scipy.spatial.distance import cdist

        d = cdist(np.column_stack([self.demand_x, self.demand_y]), np.column_stack([self.cand_x, self.cand_y]))
        return self.travel.minutes_for(d)

    def covered_weight(self, sites: list[int] | np.ndarray) -> float:
        if len(sites) == 0:
            return 0.0
        hit = np.asarray(self.coverage[np.asarray(sites)].sum(axis=0)).ravel() > 0
        return float(self.weights[hit].sum())

    def window(self, x_min: float, y_min: float, x_max: float, y_max: float) -> "SitingProblem":
        """The clients and candidates inside a box of local metres (a smaller, coherent instance)."""
        d = np.nonzero((self.demand_x >= x_min) & (self.demand_x <= x_max) &
                       (self.demand_y >= y_min) & (self.demand_y <= y_max))[0]
        c = np.nonzero((self.cand_x >= x_min) & (self.cand_x <= x_max) &
                       (self.cand_y >= y_min) & (self.cand_y <= y_max))[0]
        return self.subset(d, c)

    def subset(self, demand_idx: np.ndarray, cand_idx: np.ndarray) -> "SitingProblem":
        """The instance restricted to some clients and candidates (for size ladders)."""
        cov = self.coverage[cand_idx][:, demand_idx].tocsr()
        return SitingProblem(self.demand_x[demand_idx], self.demand_y[demand_idx], self.weights[demand_idx],
                             self.cand_x[cand_idx], self.cand_y[cand_idx], self.cand_id[cand_idx], cov, self.travel,
                             self.demand_total, self.demand_covered_existing, self.demand_spacing_m,
                             self.candidate_source, self.network)


def load_candidates(source: Any) -> pd.DataFrame:
    """Candidate sites from a DataFrame, GeoDataFrame, CSV or GeoJSON (WGS-84 points).

    Returns ``site_id, name, lat, lon``. Bad rows are reported together, by row (1-based
    after the header, or the feature number).
    """
    from .demand import WEIGHT_NAMES, load_demand

    if isinstance(source, pd.DataFrame):
        frame = source.copy()
    else:
        path = Path(source)
        if not path.exists():
            raise ImportFileError(f"candidate file {str(path)!r} does not exist")
        if path.suffix.lower() in (".geojson", ".json"):
            import geopandas as gpd

            frame = gpd.read_file(path)
        else:
            frame = pd.read_csv(path, sep=None, engine="python", dtype=str, encoding="utf-8-sig",
                                keep_default_na=False)
    # Same position rules and per-row problems as demand; no weight.
    d = load_demand(frame.drop(columns=[c for c in frame.columns if str(c).lower() in WEIGHT_NAMES]),
                    what="candidate file")
    ids_col = next((c for c in ("site_id", "station_id", "id", "name", "名称") if c in frame.columns), None)
    rows = d.row - 1
    pts = [g if g.geom_type == "Point" else g.representative_point() for g in d.geometry]
    ids = (frame[ids_col].astype(str).to_numpy()[rows] if ids_col is not None else
           np.array([f"candidate-{r + 1}" for r in rows]))
    names = frame["name"].astype(str).to_numpy()[rows] if "name" in frame.columns else ids
    return pd.DataFrame({"site_id": ids, "name": names, "lat": [p.y for p in pts], "lon": [p.x for p in pts]})


def _aggregate_uncovered(study: CoverageStudy, base: CoverageResult, factor: int):
    g = study.grid
    T = study.travel.minutes
    unc = g.mask & ~(base.surface.nearest_min <= T)
    r, c = np.nonzero(unc)
    if len(r) == 0:
        return np.empty(0), np.empty(0), np.empty(0)
    w = (study.demand.values[r, c].astype(np.float64) if study.demand.values is not None
         else np.full(len(r), g.cell_km2))
    keep = w > 0
    r, c, w = r[keep], c[keep], w[keep]
    x, y = g.centres(r, c)
    nbc = (g.ncols + factor - 1) // factor
    block = (r // factor).astype(np.int64) * nbc + (c // factor)
    ub, inv = np.unique(block, return_inverse=True)
    bw = np.bincount(inv, weights=w)
    bx = np.bincount(inv, weights=w * x) / bw
    by = np.bincount(inv, weights=w * y) / bw
    return bx, by, bw


def _grid_candidates(study: CoverageStudy, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    g = study.grid
    x0, y0, x1, y1 = g.bounds
    xs = np.arange(math.floor(x0 / spacing) * spacing + spacing / 2, x1, spacing)
    ys = np.arange(math.floor(y0 / spacing) * spacing + spacing / 2, y1, spacing)
    X, Y = np.meshgrid(xs, ys)
    X, Y = X.ravel(), Y.ravel()
    r, c, ok = g.cell_of(X, Y)
    ok[ok] &= g.mask[r[ok], c[ok]]
    return X[ok], Y[ok]


def coverage_matrix(travel: Travel, cand_x: np.ndarray, cand_y: np.ndarray, dem_x: np.ndarray,
                    dem_y: np.ndarray, network: Any = None) -> sp.csr_matrix:
    """Boolean ``(n_candidates, n_demand)`` sparse matrix: ``t_ij <= S``."""
    nc, nd = len(cand_x), len(dem_x)
    if network is not None:
        return network.coverage_pairs(travel, cand_x, cand_y, dem_x, dem_y)
    if nc == 0 or nd == 0:
        return sp.csr_matrix((nc, nd), dtype=bool)
    tree = cKDTree(np.column_stack([dem_x, dem_y]))
    hits = tree.query_ball_point(np.column_stack([cand_x, cand_y]), r=travel.radius_m, return_sorted=True)
    lengths = np.fromiter((len(h) for h in hits), dtype=np.int64, count=nc)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = (np.concatenate([np.asarray(h, dtype=np.int64) for h in hits]) if indptr[-1]
               else np.empty(0, np.int64))
    return sp.csr_matrix((np.ones(len(indices), bool), indices, indptr), shape=(nc, nd))


def build_problem(study: CoverageStudy, base: CoverageResult, *, candidates: Any = None,
                  candidate_spacing_m: float | None = None, demand_spacing_m: float | None = None,
                  max_demand_points: int = MAX_DEMAND_POINTS, max_candidates: int = MAX_CANDIDATES) -> SitingProblem:
    """The siting instance for a study and its base coverage (existing stations fixed).

    Defaults: demand blocks of about an eighth of the service radius (never finer than
    the grid), candidate grid of half the service radius; both coarsened when the area
    would give more than ``max_demand_points`` / ``max_candidates``. Candidates that cover
    no uncovered demand are dropped.
    """
    g = study.grid
    radius = study.travel.radius_m
    spacing = demand_spacing_m or max(g.cell_m, radius / 8)
    factor = max(1, int(round(spacing / g.cell_m)))
    n_unc = int(np.count_nonzero(g.mask & ~(base.surface.nearest_min <= study.travel.minutes)))
    if n_unc / factor**2 > max_demand_points:
        factor = int(math.ceil(math.sqrt(n_unc / max_demand_points)))
    dx, dy, dw = _aggregate_uncovered(study, base, factor)
    if candidates is None:
        cs = candidate_spacing_m or radius / 2
        if g.n_cells * g.cell_m**2 / cs**2 > max_candidates:
            cs = math.sqrt(g.n_cells * g.cell_m**2 / max_candidates)
        cx, cy = _grid_candidates(study, cs)
        cid = np.array([f"grid-{k + 1}" for k in range(len(cx))], dtype=object)
        source = f"grid of {cs:,.0f} m"
    else:
        frame = load_candidates(candidates)
        cx, cy = study.area.to_local(lon=frame["lon"].to_numpy(float), lat=frame["lat"].to_numpy(float))
        cid = frame["site_id"].to_numpy(dtype=object)
        source = f"{len(frame)} planner candidates"
    cov = coverage_matrix(study.travel, cx, cy, dx, dy, study.network)
    useful = np.diff(cov.indptr) > 0
    cov = cov[useful]
    return SitingProblem(dx, dy, dw, np.asarray(cx)[useful], np.asarray(cy)[useful], cid[useful], cov.tocsr(),
                         study.travel, base.demand_total, base.demand_covered, factor * g.cell_m, source,
                         study.network)
