"""Where to build next: maximal covering (MCLP) and set covering (LSCP), existing stations fixed.

The discrete problem, in spopt's vocabulary:

- *clients* ``i`` are demand points: the cells left uncovered by the existing stations,
  aggregated into blocks of ``demand_spacing_m`` (default an eighth of the service
  radius; block weight = the block's uncovered demand, position = its weighted centre).
  Demand the existing stations already cover is fixed and drops out, which is exactly
  "existing stations fixed" (spopt's ``predefined_facilities_arr``; a test checks that
  the two formulations agree).
- *facilities* ``j`` are candidate sites: the planner's, or the centres of a grid of
  ``candidate_spacing_m`` over the area (default: half the service radius).
- ``a_ij = 1`` when client ``i`` is within the catchment of candidate ``j`` (``t_ij <= S``).

MCLP: choose ``p`` candidates maximising the newly covered weight. LSCP (generalised to a
target): the fewest candidates so that existing + new cover ``target_pct`` of all demand.

The heuristic is greedy with lazy evaluation (CELF: a candidate's gain can only shrink,
so stale gains in a heap are re-checked only when they reach the top), followed by a
1-opt swap search (replace one chosen site by the best outside one while that adds
weight) and a short iterated local search (drop some sites, refill with a randomised
greedy, swap again; keep improvements). For the target, greedy adds sites until the target is met, drops redundant ones,
then tries ``p - 1, p - 2, ...`` sites with the MCLP heuristic. Ties go to the lower
candidate index. :func:`solve_exact` solves the same instance with spopt's MCLP / LSCP and
pulp's bundled CBC, to report the heuristic's gap.

Modules: :mod:`~stations.planning.siting_model` (the instance),
:mod:`~stations.planning.heuristics`, :mod:`~stations.planning.exact` (spopt) and this one
(the planner-facing functions and their result).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ..errors import Problem, ValidationError
from .coverage import CoverageResult, CoverageStudy
from .exact import Comparison, ExactSolution, compare_with_exact, solve_exact  # noqa: F401  (re-exported)
from .heuristics import _row, lscp_heuristic, mclp_heuristic  # noqa: F401
from .siting_model import (EXACT_MAX_ENTRIES, SitingProblem, build_problem, coverage_matrix,  # noqa: F401
                           load_candidates)


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
        Also solve with spopt + CBC and report the gap and speed-up in ``comparison``
        (skipped, with a note, above 4 million client-candidate pairs; ``"auto"``: above
        1 million).
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
        raise ValidationError.from_problems(
            [Problem("target_pct", target_pct, "out of range", "more than 0, up to 100")], what="siting")
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
        limit = 1_000_000 if compare_exact == "auto" else EXACT_MAX_ENTRIES
        if n_entries > limit:
            notes.append(f"exact comparison skipped: {n_entries:,} client-candidate pairs (limit {limit:,}); "
                         "coarsen demand_spacing_m / candidate_spacing_m or use fewer candidates")
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
