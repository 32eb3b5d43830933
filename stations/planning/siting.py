"""Where to build next: maximal covering (MCLP) and set covering (LSCP), existing stations fixed.

The discrete problem, in spopt's vocabulary:

- *clients* ``i`` are demand points: the cells left uncovered by the existing stations,
  aggregated into blocks of ``demand_spacing_m`` (default an eighth of the service
  radius; block weight = the block's uncovered
  demand, position = its weighted centre). Demand the existing stations already cover is
  fixed and drops out, which is exactly "existing stations fixed" (spopt's
  ``predefined_facilities_arr``; a test checks the two formulations agree).
- *facilities* ``j`` are candidate sites: the planner's, or the centres of a grid of
  ``candidate_spacing_m`` over the area (default: half the service radius).
- ``a_ij = 1`` when client ``i`` is within the catchment of candidate ``j`` (``t_ij <= S``).

MCLP: choose ``p`` candidates maximising the newly covered weight. LSCP (generalised to a
target): the fewest candidates so that existing + new cover ``target_pct`` of all demand.

The heuristic is greedy with lazy evaluation (CELF: a candidate's gain can only shrink,
so stale gains in a heap are re-checked only when they reach the top), followed by a
1-opt swap search (replace one chosen site by the best outside one while that adds
weight). For the target, greedy adds sites until the target is met, drops redundant ones,
then tries ``p - 1, p - 2, ...`` sites with the MCLP heuristic. Ties go to the lower
candidate index. :func:`solve_exact` solves the same instance with spopt's MCLP / LSCP and
pulp's bundled CBC, to report the heuristic's gap.
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
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

    def cost_matrix(self) -> np.ndarray:
        """Dense clients x candidates travel minutes, for spopt.

        Straight-line minutes; with a road network, ``0`` where covered and ``2 S``
        elsewhere (spopt only compares against the service radius).
        """
        n = self.n_demand * self.n_candidates
        if n > EXACT_MAX_ENTRIES:
            raise ValidationError.from_problems(
                [Problem("instance", f"{self.n_demand} x {self.n_candidates}", "too large for the exact solver",
                         f"at most {EXACT_MAX_ENTRIES:,} client-candidate pairs")], what="exact siting")
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


# --------------------------------------------------------------------------- building

def load_candidates(source: Any) -> pd.DataFrame:
    """Candidate sites from a DataFrame, GeoDataFrame, CSV or GeoJSON (WGS-84 points).

    Returns ``site_id, name, lat, lon``. Bad rows are reported together, by row (1-based
    after the header, or the feature number).
    """
    from .demand import load_demand

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
    d = load_demand(frame, weight=None)  # same position rules and per-row problems, weight ignored
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


# --------------------------------------------------------------------------- heuristics

def _row(cov: sp.csr_matrix, j: int) -> np.ndarray:
    return cov.indices[cov.indptr[j]:cov.indptr[j + 1]]


def _greedy(cov: sp.csr_matrix, w: np.ndarray, *, p: int | None = None, need: float | None = None,
            start: list[int] | None = None) -> tuple[list[int], np.ndarray]:
    """Lazy greedy: add the candidate of largest gain until ``p`` sites or ``need`` weight."""
    remaining = w.astype(np.float64).copy()
    cnt = np.zeros(len(w), dtype=np.int32)
    chosen: list[int] = []
    covered = 0.0
    for j in start or []:
        idx = _row(cov, j)
        covered += remaining[idx].sum()
        remaining[idx] = 0
        cnt[idx] += 1
        chosen.append(j)
    gains = cov.astype(np.float64) @ remaining
    taken = set(chosen)
    heap = [(-float(gv), j) for j, gv in enumerate(gains) if gv > 0 and j not in taken]
    heapq.heapify(heap)
    eps = 1e-12 * max(1.0, float(w.sum()))
    while heap:
        if p is not None and len(chosen) >= p:
            break
        if need is not None and covered >= need - eps:
            break
        neg, j = heapq.heappop(heap)
        idx = _row(cov, j)
        true = float(remaining[idx].sum())
        if true <= eps:
            continue
        if heap and true < -heap[0][0] - eps:
            heapq.heappush(heap, (-true, j))
            continue
        chosen.append(j)
        covered += true
        remaining[idx] = 0
        cnt[idx] += 1
    return chosen, cnt


def _swap_improve(cov: sp.csr_matrix, cov_csc: sp.csc_matrix, w: np.ndarray, chosen: list[int], cnt: np.ndarray,
                  *, max_rounds: int = 200, time_limit_s: float = 30.0) -> tuple[list[int], np.ndarray]:
    """1-opt: swap one chosen site for the best outside one while the covered weight grows."""
    t0 = time.perf_counter()
    chosen = list(chosen)
    covf = cov.astype(np.float64)
    eps = 1e-9 * max(1.0, float(w.sum()))
    for _ in range(max_rounds):
        if time.perf_counter() - t0 > time_limit_s:
            break
        g_unc = covf @ (w * (cnt == 0))
        best = (eps, -1, -1)
        in_set = np.zeros(cov.shape[0], bool)
        in_set[chosen] = True
        for pos, s in enumerate(chosen):
            idx = _row(cov, s)
            only = idx[cnt[idx] == 1]
            loss = float(w[only].sum())
            gains = g_unc.copy()
            if len(only):
                gains += cov_csc[:, only].astype(np.float64) @ w[only]
            gains[in_set] = -np.inf
            j = int(np.argmax(gains))
            delta = float(gains[j]) - loss
            if delta > best[0]:
                best = (delta, pos, j)
        if best[1] < 0:
            break
        _, pos, j = best
        s = chosen[pos]
        cnt[_row(cov, s)] -= 1
        cnt[_row(cov, j)] += 1
        chosen[pos] = j
    return chosen, cnt


def _refill(covf: sp.csr_matrix, cov: sp.csr_matrix, w: np.ndarray, keep: list[int], p: int,
            rng: np.random.Generator, alpha: float) -> tuple[list[int], np.ndarray]:
    """Randomised greedy: refill to ``p`` sites, each time picking at random among the
    candidates whose gain is at least ``alpha`` times the best gain."""
    chosen = list(keep)
    cnt = np.zeros(len(w), dtype=np.int32)
    for j in chosen:
        cnt[_row(cov, j)] += 1
    while len(chosen) < p:
        gains = covf @ (w * (cnt == 0))
        gains[chosen] = -1.0
        top = float(gains.max())
        if top <= 0:
            break
        pool = np.nonzero(gains >= alpha * top)[0]
        j = int(rng.choice(pool))
        chosen.append(j)
        cnt[_row(cov, j)] += 1
    return chosen, cnt


def mclp_heuristic(problem: SitingProblem, p: int, *, improve: bool = True, restarts: int = 150,
                   patience: int = 50, time_limit_s: float = 2.0, seed: int = 0) -> list[int]:
    """Candidate indices of ``p`` new sites maximising newly covered weight.

    Lazy greedy, then 1-opt swaps; then up to ``restarts`` rounds of iterated local
    search: drop a random 1 to p/2 of the best sites, refill with a randomised greedy
    (any candidate within 85 % of the best gain), swap again, and keep the result when it
    covers more. Stops after ``patience`` rounds without improvement or ``time_limit_s``.
    Deterministic for a given ``seed`` (unless the time limit cuts it short).
    """
    cov, w = problem.coverage, problem.weights
    chosen, cnt = _greedy(cov, w, p=p)
    if not improve or not chosen:
        return _order_by_gain(problem, chosen)
    t0 = time.perf_counter()
    csc = cov.tocsc()
    covf = cov.astype(np.float64)
    chosen, cnt = _swap_improve(cov, csc, w, chosen, cnt, time_limit_s=time_limit_s)
    best, best_obj = list(chosen), float(w[cnt > 0].sum())
    eps = 1e-9 * max(1.0, float(w.sum()))
    rng = np.random.default_rng(seed)
    stale = 0
    for _ in range(restarts):
        left = time_limit_s - (time.perf_counter() - t0)
        if len(best) < 2 or left <= 0 or stale >= patience:
            break
        k = int(rng.integers(1, max(1, len(best) // 2) + 1))
        drop = set(rng.choice(len(best), size=k, replace=False).tolist())
        keep = [j for i, j in enumerate(best) if i not in drop]
        trial, tcnt = _refill(covf, cov, w, keep, len(best), rng, 0.85)
        trial, tcnt = _swap_improve(cov, csc, w, trial, tcnt, time_limit_s=left)
        obj = float(w[tcnt > 0].sum())
        if obj > best_obj + eps:
            best, best_obj = list(trial), obj
            stale = 0
        else:
            stale += 1
    return _order_by_gain(problem, best)


def _order_by_gain(problem: SitingProblem, chosen: list[int]) -> list[int]:
    """Rank chosen sites greedily (largest marginal gain first), for the curve and the table."""
    out, left = [], list(chosen)
    remaining = problem.weights.astype(np.float64).copy()
    while left:
        gains = [remaining[_row(problem.coverage, j)].sum() for j in left]
        k = int(np.argmax(gains))
        j = left.pop(k)
        remaining[_row(problem.coverage, j)] = 0
        out.append(j)
    return out


def lscp_heuristic(problem: SitingProblem, need: float, *, improve: bool = True) -> list[int]:
    """Few candidate indices whose new coverage reaches ``need`` (in demand units).

    Greedy until ``need``, redundant sites dropped (latest first), then ``p - 1, p - 2...``
    tried with :func:`mclp_heuristic` while it still reaches ``need``. Returns every
    useful site when ``need`` cannot be reached.
    """
    cov, w = problem.coverage, problem.weights
    eps = 1e-9 * max(1.0, float(w.sum()))
    chosen, cnt = _greedy(cov, w, need=need)
    # Drop redundant sites, latest (smallest gain) first.
    covered = float(w[cnt > 0].sum())
    for j in list(reversed(chosen)):
        idx = _row(cov, j)
        loss = float(w[idx[cnt[idx] == 1]].sum())
        if covered - loss >= need - eps:
            chosen.remove(j)
            cnt[idx] -= 1
            covered -= loss
    if improve and covered >= need - eps:
        p = len(chosen) - 1
        while p >= 1:
            trial = mclp_heuristic(problem, p)
            if problem.covered_weight(trial) >= need - eps:
                chosen = trial
                p -= 1
            else:
                break
    return _order_by_gain(problem, chosen)


# --------------------------------------------------------------------------- exact

@dataclass
class ExactSolution:
    """spopt's optimum of an instance, with the solver time."""

    model: str
    sites: list[int]
    objective: float
    seconds: float
    status: str


def solve_exact(problem: SitingProblem, *, p: int | None = None, time_limit_s: float | None = None) -> ExactSolution:
    """Solve the instance with spopt (MCLP when ``p`` is given, else LSCP of every coverable
    client) and pulp's bundled CBC. Time includes building the model, as a planner would run it."""
    import warnings

    import pulp
    from spopt.locate import LSCP, MCLP

    with warnings.catch_warnings():
        # pulp 3.x deprecates the bundled-CBC wrapper and direct LpVariable construction
        # (spopt's); both still work and are what spopt documents.
        warnings.simplefilter("ignore", DeprecationWarning)
        return _solve_exact(problem, p, time_limit_s, pulp, LSCP, MCLP)


def _solve_exact(problem: SitingProblem, p: int | None, time_limit_s: float | None, pulp, LSCP, MCLP) -> ExactSolution:
    t0 = time.perf_counter()
    solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s) if time_limit_s else pulp.PULP_CBC_CMD(msg=False)
    if p is not None:
        cost = problem.cost_matrix()
        model = MCLP.from_cost_matrix(cost, problem.weights, service_radius=problem.travel.minutes, p_facilities=p)
        model = model.solve(solver, results=False)
        name = "MCLP"
        sites = [j for j, v in enumerate(model.fac_vars) if v.value() is not None and v.value() > 0.5]
        objective = problem.covered_weight(sites)
    else:
        keep = problem.coverable
        sub = problem.subset(np.nonzero(keep)[0], np.arange(problem.n_candidates))
        cost = sub.cost_matrix()
        model = LSCP.from_cost_matrix(cost, service_radius=problem.travel.minutes)
        model = model.solve(solver, results=False)
        name = "LSCP"
        sites = [j for j, v in enumerate(model.fac_vars) if v.value() is not None and v.value() > 0.5]
        objective = float(len(sites))
    status = pulp.LpStatus[model.problem.status]
    if getattr(model.problem, "sol_status", None) == pulp.LpSolutionIntegerFeasible:
        status += " (time limit: best found, not proven optimal)"
    return ExactSolution(name, sites, objective, time.perf_counter() - t0, status)


@dataclass
class Comparison:
    """Heuristic against spopt on one instance. ``gap_pct`` is how much worse the heuristic
    is (MCLP: covered weight below the optimum; LSCP: extra sites), 0 when optimal."""

    model: str
    n_demand: int
    n_candidates: int
    p: int | None
    heuristic_objective: float
    exact_objective: float
    gap_pct: float
    heuristic_s: float
    exact_s: float
    speedup: float
    exact_status: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def compare_with_exact(problem: SitingProblem, *, p: int | None = None,
                       time_limit_s: float | None = None) -> Comparison:
    """Run the heuristic and spopt on the same instance; report the gap and the speed-up."""
    t0 = time.perf_counter()
    if p is not None:
        sites = mclp_heuristic(problem, p)
        h_obj = problem.covered_weight(sites)
    else:
        need = float(problem.weights[problem.coverable].sum())
        sites = lscp_heuristic(problem, need)
        h_obj = float(len(sites))
    h_s = time.perf_counter() - t0
    ex = solve_exact(problem, p=p, time_limit_s=time_limit_s)
    if p is not None:
        gap = 100.0 * (ex.objective - h_obj) / ex.objective if ex.objective > 0 else 0.0
    else:
        gap = 100.0 * (h_obj - ex.objective) / ex.objective if ex.objective > 0 else 0.0
    return Comparison(ex.model, problem.n_demand, problem.n_candidates, p, h_obj, ex.objective, gap, h_s, ex.seconds,
                      ex.seconds / max(h_s, 1e-9), ex.status)


# --------------------------------------------------------------------------- results

@dataclass
class SitingResult:
    """Suggested new sites and what they add.

    Attributes
    ----------
    model : str
        ``"MCLP"`` (n sites, most demand) or ``"LSCP"`` (fewest sites for a target).
    sites : geopandas.GeoDataFrame
        One row per new site, best first: ``rank, site_id, lat, lon, added_demand``
        (marginal, in rank order), ``perc_demand_covered`` (cumulative, existing + sites
        1..rank, on the siting model), ``district``; WGS-84 points.
    perc_demand_covered_before, perc_demand_covered_after : float
        Share of demand covered by existing stations, and with the new sites (evaluated
        on the full grid when ``after`` is set, else on the siting model).
    before, after : CoverageResult
        Full coverage results without and with the new sites.
    comparison : Comparison or None
        Heuristic vs spopt on this instance, when asked.
    """

    model: str
    sites: Any
    n_sites: int
    perc_demand_covered_before: float
    perc_demand_covered_after: float
    target_pct: float | None
    target_reached: bool | None
    problem: SitingProblem
    before: CoverageResult
    after: CoverageResult | None
    heuristic_s: float
    comparison: Comparison | None = None
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        out = {
            "model": self.model, "n_sites": self.n_sites, "target_pct": self.target_pct,
            "target_reached": self.target_reached,
            "perc_demand_covered_before": round(float(self.perc_demand_covered_before), 3),
            "perc_demand_covered_after": round(float(self.perc_demand_covered_after), 3),
            "n_demand_points": self.problem.n_demand, "n_candidates": self.problem.n_candidates,
            "candidates": self.problem.candidate_source, "demand_spacing_m": self.problem.demand_spacing_m,
            "heuristic_s": round(self.heuristic_s, 3), "notes": list(self.notes),
        }
        if self.comparison is not None:
            out["exact"] = self.comparison.as_dict()
        return out

    def to_dict(self) -> dict[str, Any]:
        """Summary plus the sites as a GeoJSON FeatureCollection (the API answer)."""
        import json

        out = self.summary()
        out["sites"] = json.loads(self.sites.to_json(drop_id=True)) if len(self.sites) else {
            "type": "FeatureCollection", "features": []}
        return out


def _sites_frame(study: CoverageStudy, problem: SitingProblem, order: list[int], base: CoverageResult):
    import geopandas as gpd

    remaining = problem.weights.astype(np.float64).copy()
    total = problem.demand_total
    covered = problem.demand_covered_existing
    rows = []
    x, y = problem.cand_x[order], problem.cand_y[order]
    lon, lat = study.area.to_wgs84(x_m=x, y_m=y)
    names = [u.name for u in study.district_units]
    r, c, ok = study.grid.cell_of(x, y)
    ex = base.stations.counted
    ex_x, ex_y = study.area.to_local(lon=ex["lon"].to_numpy(float), lat=ex["lat"].to_numpy(float))
    ex_tree = cKDTree(np.column_stack([ex_x, ex_y])) if len(ex) else None
    for k, j in enumerate(order):
        idx = _row(problem.coverage, j)
        add = float(remaining[idx].sum())
        remaining[idx] = 0
        covered += add
        district = ""
        if study.district_labels is not None and ok[k] and study.district_labels[r[k], c[k]] >= 0:
            district = names[int(study.district_labels[r[k], c[k]])]
        near = float(ex_tree.query([x[k], y[k]])[0]) if ex_tree is not None else float("inf")
        rows.append({"rank": k + 1, "site_id": str(problem.cand_id[j]), "lat": float(lat[k]), "lon": float(lon[k]),
                     "added_demand": add, "perc_demand_covered": 100.0 * covered / total if total > 0 else 0.0,
                     "district": district, "nearest_station_m": near})
    frame = pd.DataFrame(rows, columns=["rank", "site_id", "lat", "lon", "added_demand", "perc_demand_covered",
                                        "district", "nearest_station_m"])
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs=4326)


def _with_sites(base: CoverageResult, sites) -> pd.DataFrame:
    ex = base.stations.counted[["station_id", "name", "lat", "lon"]]
    new = pd.DataFrame({"station_id": sites["site_id"].astype(str), "name": "suggested " + sites["rank"].astype(str),
                        "lat": sites["lat"], "lon": sites["lon"]})
    out = pd.concat([ex, new], ignore_index=True)
    out["geocode_precision"] = "exact"
    out["status"] = "open"
    return out


def _prepare(stations: Any, area: Any, study: CoverageStudy | None, base: CoverageResult | None,
             study_kwargs: dict[str, Any]) -> tuple[CoverageStudy, CoverageResult]:
    study = study or CoverageStudy(area, **study_kwargs)
    if base is None:
        base = study.evaluate(stations, require_stations=False)
    return study, base


def suggest_sites(stations: Any, area: Any, n: int, *, candidates: Any = None, study: CoverageStudy | None = None,
                  base: CoverageResult | None = None, candidate_spacing_m: float | None = None,
                  demand_spacing_m: float | None = None, compare_exact: bool | str = False,
                  exact_time_limit_s: float | None = 120.0, evaluate_after: bool = True,
                  **study_kwargs: Any) -> SitingResult:
    """Suggest ``n`` new stations that add the most covered demand (MCLP), existing fixed.

    Parameters
    ----------
    stations
        Existing stations (records); those that count (see ``select_stations``) are fixed.
        None or an empty table means siting from scratch.
    area
        As for :class:`CoverageStudy` (ignored when ``study`` is given).
    n : int
        Number of new sites (>= 1).
    candidates
        Planner's candidate sites (DataFrame / CSV / GeoJSON of WGS-84 points), or
        ``None`` for a grid of ``candidate_spacing_m`` (default half the service radius).
    compare_exact : bool or "auto"
        Also solve with spopt + CBC and report the gap (``"auto"``: only when the cost
        matrix has at most 1 million entries).
    study_kwargs
        ``travel``, ``cell_m``, ``demand``, ``road_network``... for :class:`CoverageStudy`.
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValidationError.from_problems([Problem("n", n, "not a positive whole number", "1, 2, 3...")],
                                            what="siting")
    stations = stations if stations is not None else pd.DataFrame(columns=["lat", "lon"])
    study, base = _prepare(stations, area, study, base, study_kwargs)
    problem = build_problem(study, base, candidates=candidates, candidate_spacing_m=candidate_spacing_m,
                            demand_spacing_m=demand_spacing_m)
    notes = []
    t0 = time.perf_counter()
    order = mclp_heuristic(problem, int(n))
    h_s = time.perf_counter() - t0
    if len(order) < n:
        notes.append(f"only {len(order)} site(s) add coverage: the rest of the demand is already covered "
                     "or out of reach of every candidate")
    return _finish(study, base, problem, order, "MCLP", None, None, h_s, notes, compare_exact,
                   exact_time_limit_s, evaluate_after, p=int(n))


def fewest_sites(stations: Any, area: Any, target_pct: float = 95.0, *, candidates: Any = None,
                 study: CoverageStudy | None = None, base: CoverageResult | None = None,
                 candidate_spacing_m: float | None = None, demand_spacing_m: float | None = None,
                 compare_exact: bool | str = False, exact_time_limit_s: float | None = 120.0,
                 evaluate_after: bool = True, **study_kwargs: Any) -> SitingResult:
    """The fewest new stations so that existing + new cover ``target_pct`` % of demand (set covering).

    When the candidates cannot reach the target, every useful site is returned with
    ``target_reached=False`` and a note giving the best reachable share. ``compare_exact``
    solves spopt's LSCP (cover every coverable client) on the same instance.
    """
    if not isinstance(target_pct, (int, float)) or not 0 < target_pct <= 100:
        raise ValidationError.from_problems([Problem("target_pct", target_pct, "out of range", "more than 0, up to 100")],
                                            what="siting")
    stations = stations if stations is not None else pd.DataFrame(columns=["lat", "lon"])
    study, base = _prepare(stations, area, study, base, study_kwargs)
    problem = build_problem(study, base, candidates=candidates, candidate_spacing_m=candidate_spacing_m,
                            demand_spacing_m=demand_spacing_m)
    total = problem.demand_total
    need = target_pct / 100.0 * total - problem.demand_covered_existing
    notes: list[str] = []
    h_s = 0.0
    after = None
    order: list[int] = []
    # The model's demand blocks approximate the grid; when the grid says the target is
    # missed, ask the model for the shortfall more (at most three times).
    for _ in range(4):
        t0 = time.perf_counter()
        order = lscp_heuristic(problem, need) if need > 0 else []
        h_s += time.perf_counter() - t0
        if not (evaluate_after and order):
            break
        after = study.evaluate(_with_sites(base, _sites_frame(study, problem, order, base)), require_stations=False)
        short = target_pct - after.perc_demand_covered
        if short <= 1e-9 or problem.covered_weight(order) >= float(problem.weights[problem.coverable].sum()) - 1e-9:
            break
        need += short / 100.0 * total
    got = after.perc_demand_covered if after is not None else \
        100.0 * (problem.demand_covered_existing + problem.covered_weight(order)) / total
    reached = bool(got >= target_pct - 1e-9)
    if need <= 0:
        notes.append(f"existing stations already cover {base.perc_demand_covered:.2f} % >= {target_pct:g} %")
    elif not reached:
        best = 100.0 * (problem.demand_covered_existing + float(problem.weights[problem.coverable].sum())) / total
        notes.append(f"target {target_pct:g} % cannot be reached from these candidates: at most about {best:.2f} % "
                     "(some demand is out of reach of every candidate)")
    return _finish(study, base, problem, order, "LSCP", target_pct, reached, h_s, notes, compare_exact,
                   exact_time_limit_s, evaluate_after, p=None, after=after)


def _finish(study, base, problem, order, model, target_pct, reached, h_s, notes, compare_exact, limit_s,
            evaluate_after, *, p, after=None):
    sites = _sites_frame(study, problem, order, base)
    comparison = None
    if compare_exact:
        n_entries = problem.n_demand * problem.n_candidates
        if compare_exact == "auto" and n_entries > 1_000_000:
            notes.append(f"exact comparison skipped: {n_entries:,} client-candidate pairs (auto limit 1,000,000)")
        else:
            comparison = compare_with_exact(problem, p=p if model == "MCLP" else None, time_limit_s=limit_s)
    after_pct = sites["perc_demand_covered"].iloc[-1] if len(sites) else base.perc_demand_covered
    if after is not None:
        after_pct = after.perc_demand_covered
    elif evaluate_after and len(sites):
        after = study.evaluate(_with_sites(base, sites), require_stations=False)
        after_pct = after.perc_demand_covered
    return SitingResult(model=model, sites=sites, n_sites=len(sites),
                        perc_demand_covered_before=base.perc_demand_covered, perc_demand_covered_after=after_pct,
                        target_pct=target_pct, target_reached=reached, problem=problem, before=base, after=after,
                        heuristic_s=h_s, comparison=comparison, notes=notes)
