"""Siting: hand-checkable clusters, then the heuristic against spopt's exact MCLP / LSCP."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from stations.errors import ValidationError
from stations.planning import CoverageStudy, Travel, compare_with_exact, fewest_sites, suggest_sites
from stations.planning.area import area_from_local, local_crs
from stations.planning.exact import solve_exact
from stations.planning.heuristics import mclp_heuristic
from stations.planning.siting_model import build_problem

CRS = local_crs(shapely.box(115.0, 39.5, 115.2, 39.7))
R1000 = Travel("walk", minutes=12, circuity=1.0, speed_kmh=5.0)
AREA = area_from_local(shapely.box(0, 0, 6000, 6000), CRS, name="square")
A, B, C = (1000, 1000), (5000, 1000), (3000, 5000)


def frame(xy, **cols):
    xy = np.asarray(xy, dtype=float)
    lon, lat = AREA.to_wgs84(x_m=xy[:, 0], y_m=xy[:, 1])
    return pd.DataFrame({"lat": lat, "lon": lon, **cols})


def cluster_study(**kw):
    demand = frame([A, B, C], weight=[5, 3, 4])
    return CoverageStudy(AREA, travel=R1000, cell_m=50, demand=demand, district_level=None, **kw)


CANDIDATES = frame([A, B, C, (3000, 3000)], site_id=["A", "B", "C", "middle"])
NONE = pd.DataFrame(columns=["lat", "lon"])


def test_mclp_picks_the_heaviest_clusters():
    res = suggest_sites(NONE, None, 2, study=cluster_study(), candidates=CANDIDATES)
    assert list(res.sites["site_id"]) == ["A", "C"]  # 5 then 4
    assert list(res.sites["added_demand"]) == [5, 4]
    assert res.perc_demand_covered_before == 0 and res.perc_demand_covered_after == pytest.approx(75.0)
    assert res.sites.iloc[1]["perc_demand_covered"] == pytest.approx(75.0)


def test_existing_stations_stay_fixed():
    study = cluster_study()
    res = suggest_sites(frame([C], station_id=["old"]), None, 1, study=study, candidates=CANDIDATES)
    assert list(res.sites["site_id"]) == ["A"]
    assert res.perc_demand_covered_before == pytest.approx(100 * 4 / 12)
    assert res.perc_demand_covered_after == pytest.approx(75.0)


def test_set_cover_to_a_target():
    study = cluster_study()
    res = fewest_sites(NONE, None, 60, study=study, candidates=CANDIDATES)
    assert res.n_sites == 2 and res.target_reached  # 9 of 12 >= 7.2
    full = fewest_sites(NONE, None, 100, study=study, candidates=CANDIDATES)
    assert full.n_sites == 3 and full.perc_demand_covered_after == pytest.approx(100.0)
    already = fewest_sites(frame([A, C]), None, 70, study=study, candidates=CANDIDATES)
    assert already.n_sites == 0 and "already cover" in already.notes[0]


def test_unreachable_target_is_reported():
    study = cluster_study()
    res = fewest_sites(NONE, None, 100, study=study, candidates=CANDIDATES.iloc[[0, 3]])
    assert res.target_reached is False and res.n_sites == 1
    assert "cannot be reached" in res.notes[0] and "41.67" in res.notes[0]


def test_bad_requests():
    study = cluster_study()
    with pytest.raises(ValidationError, match="positive whole number"):
        suggest_sites(NONE, None, 0, study=study)
    with pytest.raises(ValidationError, match="target_pct"):
        fewest_sites(NONE, None, 120, study=study)
    bad = pd.DataFrame({"lat": [39.6, "x"], "lon": [115.1, 115.1]})
    with pytest.raises(ValidationError, match="row 2"):
        suggest_sites(NONE, None, 1, study=study, candidates=bad)


# ------------------------------------------------------------------ against spopt


def random_problem(seed: int, n_stations: int = 6, cell_m: float = 100):
    rng = np.random.default_rng(seed)
    area = area_from_local(shapely.box(0, 0, 6000, 5000), CRS)
    xy = rng.uniform([0, 0], [6000, 5000], size=(n_stations, 2))
    lon, lat = area.to_wgs84(x_m=xy[:, 0], y_m=xy[:, 1])
    dxy = rng.uniform([0, 0], [6000, 5000], size=(60, 2))
    dlon, dlat = area.to_wgs84(x_m=dxy[:, 0], y_m=dxy[:, 1])
    demand = pd.DataFrame({"lat": dlat, "lon": dlon, "weight": rng.integers(1, 20, 60)})
    study = CoverageStudy(area, travel=R1000, cell_m=cell_m, demand=demand, district_level=None)
    base = study.evaluate(pd.DataFrame({"lat": lat, "lon": lon}))
    return study, base, build_problem(study, base, candidate_spacing_m=400)


@pytest.mark.parametrize("seed, p", [(0, 3), (1, 5), (2, 8), (3, 4)])
def test_mclp_heuristic_within_2_percent_of_spopt(seed, p):
    _, _, problem = random_problem(seed)
    c = compare_with_exact(problem, p=p)
    assert c.exact_status.startswith("Optimal")
    assert c.heuristic_objective <= c.exact_objective + 1e-9  # spopt is the optimum
    assert c.gap_pct <= 2.0


@pytest.mark.parametrize("seed", [0, 1])
def test_lscp_heuristic_against_spopt(seed):
    _, _, problem = random_problem(seed)
    c = compare_with_exact(problem)
    assert c.model == "LSCP" and c.exact_status.startswith("Optimal")
    assert c.exact_objective <= c.heuristic_objective <= c.exact_objective + 1


def test_reduced_problem_equals_spopt_with_predefined_facilities():
    """Dropping demand the existing stations cover equals spopt's predefined facilities."""
    from scipy.spatial.distance import cdist
    from spopt.locate import MCLP
    import pulp
    import warnings

    study, base, problem = random_problem(4, n_stations=4, cell_m=250)
    p = 3
    ours = solve_exact(problem, p=p)
    # full formulation: every demand point, existing stations as forced facilities
    g = study.grid
    r, c = np.nonzero(g.mask & (study.demand.values > 0))
    dx, dy = g.centres(r, c)
    w = study.demand.values[r, c]
    ex = base.stations.counted
    ex_x, ex_y = study.area.to_local(lon=ex["lon"].to_numpy(), lat=ex["lat"].to_numpy())
    fx = np.concatenate([ex_x, problem.cand_x])
    fy = np.concatenate([ex_y, problem.cand_y])
    cost = R1000.minutes_for(cdist(np.column_stack([dx, dy]), np.column_stack([fx, fy])))
    pre = np.r_[np.ones(len(ex_x)), np.zeros(problem.n_candidates)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        full = MCLP.from_cost_matrix(cost, w, service_radius=R1000.minutes, p_facilities=len(ex_x) + p,
                                     predefined_facilities_arr=pre).solve(pulp.PULP_CBC_CMD(msg=False))
    covered_full = float(w[(full.aij[:, [j for j, v in enumerate(full.fac_vars) if v.value() > 0.5]] > 0)
                          .any(axis=1)].sum())
    assert covered_full == pytest.approx(base.demand_covered + ours.objective)


def test_heuristic_is_deterministic_and_ranked():
    _, _, problem = random_problem(5)
    a, b = mclp_heuristic(problem, 6), mclp_heuristic(problem, 6)
    assert a == b
    gains = []
    remaining = problem.weights.copy()
    for j in a:
        idx = problem.coverage.indices[problem.coverage.indptr[j]:problem.coverage.indptr[j + 1]]
        gains.append(remaining[idx].sum())
        remaining[idx] = 0
    assert gains == sorted(gains, reverse=True)


def test_suggest_from_a_grid_on_a_real_county_with_exact_check():
    from stations.planning import load_area

    area = load_area("昌黎县")
    rng = np.random.default_rng(1)
    x0, y0, x1, y1 = area.geometry_m.bounds
    shapely.prepare(area.geometry_m)
    pts = []
    while len(pts) < 25:
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if shapely.contains_xy(area.geometry_m, x, y):
            pts.append((x, y))
    lon, lat = area.to_wgs84(x_m=np.array(pts)[:, 0], y_m=np.array(pts)[:, 1])
    st = pd.DataFrame({"lat": lat, "lon": lon})
    study = CoverageStudy(area, cell_m=200, travel=Travel("ebike", 15))
    res = suggest_sites(st, None, 5, study=study, compare_exact="auto")
    assert res.n_sites == 5 and res.sites["district"].eq("昌黎县").all()
    assert res.perc_demand_covered_after > res.perc_demand_covered_before
    assert res.after is not None and res.after.n_stations == 30
    if res.comparison is not None:
        assert res.comparison.gap_pct <= 2.0
    else:
        assert any("exact comparison skipped" in n for n in res.notes)
