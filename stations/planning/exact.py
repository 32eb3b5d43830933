"""The exact check: spopt's MCLP / LSCP with pulp's bundled CBC on a siting instance."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .heuristics import lscp_heuristic, mclp_heuristic
from .siting_model import EXACT_MAX_ENTRIES, SitingProblem

@dataclass
class ExactSolution:
    """spopt's optimum of an instance, with the solver time."""

    model: str
    sites: list[int]
    objective: float
    seconds: float
    status: str


def solve_exact(problem: SitingProblem, *, p: int | None = None, time_limit_s: float | None = None,
                max_entries: int = EXACT_MAX_ENTRIES) -> ExactSolution:
    """Solve the instance with spopt (MCLP when ``p`` is given, else LSCP of every coverable
    client) and pulp's bundled CBC. Time includes building the model, as a planner would run it."""
    import warnings

    import pulp
    from spopt.locate import LSCP, MCLP

    with warnings.catch_warnings():
        # pulp 3.x deprecates the bundled-CBC wrapper and direct LpVariable construction
        # (spopt's); both still work and are what spopt documents.
        warnings.simplefilter("ignore", DeprecationWarning)
        return _solve_exact(problem, p, time_limit_s, max_entries, pulp, LSCP, MCLP)


def _solve_exact(problem: SitingProblem, p: int | None, time_limit_s: float | None, max_entries: int, pulp, LSCP,
                 MCLP) -> ExactSolution:
    t0 = time.perf_counter()
    solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s) if time_limit_s else pulp.PULP_CBC_CMD(msg=False)
    if p is not None:
        cost = problem.cost_matrix(max_entries=max_entries)
        model = MCLP.from_cost_matrix(cost, problem.weights, service_radius=problem.travel.minutes, p_facilities=p)
        model = model.solve(solver, results=False)
        name = "MCLP"
        sites = [j for j, v in enumerate(model.fac_vars) if v.value() is not None and v.value() > 0.5]
        objective = problem.covered_weight(sites)
    else:
        keep = problem.coverable
        sub = problem.subset(np.nonzero(keep)[0], np.arange(problem.n_candidates))
        cost = sub.cost_matrix(max_entries=max_entries)
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


def compare_with_exact(problem: SitingProblem, *, p: int | None = None, time_limit_s: float | None = None,
                       max_entries: int = EXACT_MAX_ENTRIES) -> Comparison:
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
    ex = solve_exact(problem, p=p, time_limit_s=time_limit_s, max_entries=max_entries)
    if p is not None:
        gap = 100.0 * (ex.objective - h_obj) / ex.objective if ex.objective > 0 else 0.0
    else:
        gap = 100.0 * (h_obj - ex.objective) / ex.objective if ex.objective > 0 else 0.0
    if abs(gap) < 1e-9:  # the same optimum, summed in a different order
        gap = 0.0
    return Comparison(ex.model, problem.n_demand, problem.n_candidates, p, h_obj, ex.objective, gap, h_s, ex.seconds,
                      ex.seconds / max(h_s, 1e-9), ex.status)
