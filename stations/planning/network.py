"""Road-network travel time from an OpenStreetMap extract (.osm.pbf), read with pyrosm.

The walking network (mode ``walk``) or the cycling network (``tricycle``, ``ebike``) is
read for the study area, projected to the area's local CRS, and reduced to its largest
strongly connected component (isolated fragments would make reachable places look
unreachable). Edge weights are the OSM way lengths in metres; for cycling, ``oneway``
ways are one-directional unless ``oneway:bicycle=no``.

Travel time from a point to a station::

    minutes = (snap_point_m * circuity + path_m + snap_station_m * circuity) / speed_m_per_min

where the snaps are straight lines to the nearest network node (off-network legs get the
same circuity as straight-line mode) and ``path_m`` is the shortest path. The nearest and
second-nearest station of every node come from Dijkstra runs from the stations
(``scipy.sparse.csgraph.dijkstra`` on the reversed graph, so one-way streets are taken in
the direction a worker travels *to* the station), cut at ``limit_min`` minutes: beyond it a
point is reported as unreachable (``inf``).

The extract must cover the area: :meth:`RoadNetwork.check_covers` refuses an extract whose
network (convex hull of its nodes, buffered by :data:`HULL_BUFFER_M`) leaves more than
``max_outside_share`` of the area outside.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from ..errors import ImportFileError, Problem, ValidationError
from .area import StudyArea
from .travel import MODES, Travel, mode_code

HULL_BUFFER_M = 250.0
#: Largest Dijkstra output held at once (stations x nodes), entries.
MAX_BLOCK = 20_000_000


@dataclass
class RoadNetwork:
    """A directed road graph in a study area's local CRS.

    ``graph[i, j]`` is the length in metres of the way from node ``i`` to node ``j``;
    ``node_x``/``node_y`` are node positions in metres.
    """

    node_x: np.ndarray
    node_y: np.ndarray
    graph: sp.csr_matrix
    network_type: str
    source: str
    hull_m: shapely.Geometry

    @property
    def n_nodes(self) -> int:
        return len(self.node_x)

    @classmethod
    def from_pbf(cls, path: str | Path, area: StudyArea, *, mode: str = "walk",
                 max_outside_share: float = 0.02) -> "RoadNetwork":
        """Read the network of ``mode`` inside ``area`` from an .osm.pbf extract.

        Raises
        ------
        ImportFileError
            the file is missing or not an .osm.pbf.
        ValidationError
            the extract has no such network in the area, or does not cover the area.
        """
        import pyrosm

        path = Path(path)
        if not path.exists():
            raise ImportFileError(f"road extract {str(path)!r} does not exist")
        if not path.name.endswith(".pbf"):
            raise ImportFileError(f"road extract {str(path)!r} is not an .osm.pbf file",
                                  [Problem("road_extract", str(path), "not an .osm.pbf", "an OpenStreetMap .osm.pbf")])
        code = mode_code(mode)
        network_type = MODES[code].network
        minx, miny, maxx, maxy = area.geometry.bounds
        pad = 0.01  # about 1 km: roads just outside the area still serve it
        import warnings

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "Could not find any edges": answered below
                osm = pyrosm.OSM(str(path), bounding_box=[minx - pad, miny - pad, maxx + pad, maxy + pad])
                got = osm.get_network(network_type=network_type, nodes=True)
        except Exception as exc:  # pyrosm raises plain exceptions on broken files
            raise ImportFileError(f"cannot read road extract {str(path)!r}: {exc}") from exc
        nodes, edges = got if isinstance(got, tuple) else (None, None)
        if nodes is None or edges is None or len(nodes) == 0 or len(edges) == 0:
            raise ValidationError(
                f"road extract {path.name!r} has no {network_type} network inside {area.name} "
                f"(area spans lon {minx:.3f}..{maxx:.3f}, lat {miny:.3f}..{maxy:.3f}): it does not cover the area; "
                "use an extract that covers it, or no extract for straight-line travel",
                [Problem("road_extract", path.name, f"does not cover {area.name}", "an extract covering the area")])
        net = cls._build(nodes, edges, area, network_type, path.name)
        net.check_covers(area, max_outside_share=max_outside_share)
        return net

    @classmethod
    def _build(cls, nodes, edges, area: StudyArea, network_type: str, source: str) -> "RoadNetwork":
        ids = nodes["id"].to_numpy(np.int64)
        order = np.argsort(ids)
        ids = ids[order]
        lon = nodes["lon"].to_numpy(float)[order]
        lat = nodes["lat"].to_numpy(float)[order]
        u = edges["u"].to_numpy(np.int64)
        v = edges["v"].to_numpy(np.int64)
        length = edges["length"].to_numpy(float)
        ui, vi = np.searchsorted(ids, u), np.searchsorted(ids, v)
        ok = (ui < len(ids)) & (vi < len(ids))
        ok[ok] &= (ids[ui[ok]] == u[ok]) & (ids[vi[ok]] == v[ok])
        ok &= np.isfinite(length)
        forward = np.ones(len(edges), bool)
        backward = np.ones(len(edges), bool)
        if network_type != "walking" and "oneway" in edges.columns:
            ow = edges["oneway"].astype(str).str.lower().to_numpy()
            exempt = (edges["oneway:bicycle"].astype(str).str.lower().to_numpy() == "no"
                      if "oneway:bicycle" in edges.columns else np.zeros(len(edges), bool))
            backward &= ~(np.isin(ow, ("yes", "true", "1")) & ~exempt)
            forward &= ~((ow == "-1") & ~exempt)
        rows = np.concatenate([ui[ok & forward], vi[ok & backward]])
        cols = np.concatenate([vi[ok & forward], ui[ok & backward]])
        w = np.concatenate([length[ok & forward], length[ok & backward]])
        w = np.maximum(w, 0.01)  # csgraph treats explicit zeros as missing edges
        n = len(ids)
        g = sp.coo_matrix((w, (rows, cols)), shape=(n, n)).tocsr()
        g.sum_duplicates()
        # Keep the largest strongly connected component.
        _, comp = connected_components(g, directed=True, connection="strong")
        keep = comp == np.bincount(comp).argmax()
        idx = np.nonzero(keep)[0]
        g = g[idx][:, idx].tocsr()
        x, y = area.to_local(lon=lon[idx], lat=lat[idx])
        pts = shapely.points(x, y)
        hull = shapely.convex_hull(shapely.multipoints(pts)).buffer(HULL_BUFFER_M)
        return cls(node_x=np.asarray(x), node_y=np.asarray(y), graph=g, network_type=network_type,
                   source=source, hull_m=hull)

    def check_covers(self, area: StudyArea, *, max_outside_share: float = 0.02) -> float:
        """Share of the area outside the network's hull; raise when above ``max_outside_share``."""
        inside = area.geometry_m.intersection(self.hull_m).area
        outside = 1.0 - inside / area.geometry_m.area
        if outside > max_outside_share:
            lon, lat = area.to_wgs84(x_m=self.node_x, y_m=self.node_y)
            raise ValidationError(
                f"road extract {self.source!r} does not cover {area.name}: {outside:.0%} of the area lies outside "
                f"its {self.network_type} network (network spans lon {lon.min():.3f}..{lon.max():.3f}, "
                f"lat {lat.min():.3f}..{lat.max():.3f}); use an extract that covers the area, "
                "or no extract for straight-line travel",
                [Problem("road_extract", self.source, f"leaves {outside:.0%} of the area uncovered",
                         f"at most {max_outside_share:.0%}")])
        return outside

    # ------------------------------------------------------------------ queries

    def _snap(self, x_m: np.ndarray, y_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not hasattr(self, "_tree"):
            self._tree = cKDTree(np.column_stack([self.node_x, self.node_y]))
        d, i = self._tree.query(np.column_stack([x_m, y_m]), k=1, workers=-1)
        return np.asarray(d), np.asarray(i, dtype=np.int64)

    def _reverse_with_sources(self, snap_node: np.ndarray, snap_w: np.ndarray) -> sp.csr_matrix:
        """Reversed graph plus one virtual node per source linked to its snap node."""
        n, s = self.n_nodes, len(snap_node)
        rev = self.graph.T.tocoo()
        rows = np.concatenate([rev.row, n + np.arange(s)])
        cols = np.concatenate([rev.col, snap_node])
        w = np.concatenate([rev.data, np.maximum(snap_w, 0.01)])
        return sp.coo_matrix((w, (rows, cols)), shape=(n + s, n + s)).tocsr()

    def _blocks(self, n_sources: int, width: int) -> range:
        step = max(1, MAX_BLOCK // max(width, 1))
        return range(0, n_sources, step)

    def node_two_nearest(self, travel: Travel, x_m: np.ndarray, y_m: np.ndarray, *,
                         limit_min: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per node: path metres (circuity-weighted snap included) to the nearest and
        second-nearest source, and the nearest source's index (-1 when none within limit)."""
        n, s = self.n_nodes, len(x_m)
        best1 = np.full(n, np.inf)
        best2 = np.full(n, np.inf)
        arg1 = np.full(n, -1, dtype=np.int64)
        if s == 0:
            return best1, best2, arg1
        snap_d, snap_node = self._snap(x_m, y_m)
        g = self._reverse_with_sources(snap_node, snap_d * travel.circuity)
        limit_m = limit_min * travel.speed_m_per_min
        cols = np.arange(n)
        for b0 in self._blocks(s, n + s):
            src = np.arange(b0, min(s, b0 + max(1, MAX_BLOCK // (n + s))))
            d = dijkstra(g, directed=True, indices=n + src, limit=limit_m)[:, :n]
            if len(src) == 1:
                m1, m2, a1 = d[0], np.full(n, np.inf), np.full(n, src[0])
            else:
                part = np.argpartition(d, 1, axis=0)[:2]
                v0, v1 = d[part[0], cols], d[part[1], cols]
                swap = v1 < v0
                m1, m2 = np.where(swap, v1, v0), np.where(swap, v0, v1)
                a1 = src[np.where(swap, part[1], part[0])]
            better = m1 < best1
            best2 = np.where(better, np.minimum(best1, m2), np.minimum(best2, m1))
            arg1 = np.where(better, a1, arg1)
            best1 = np.where(better, m1, best1)
        arg1[~np.isfinite(best1)] = -1
        return best1, best2, arg1

    def engine(self, travel: Travel, x_m: np.ndarray, y_m: np.ndarray, *,
               limit_min: float | None = None) -> "NetworkEngine":
        """A travel-time engine to the stations at ``(x_m, y_m)`` over this network."""
        return NetworkEngine(self, travel, np.asarray(x_m, float), np.asarray(y_m, float),
                             limit_min=limit_min if limit_min is not None else 4 * travel.minutes)

    def coverage_pairs(self, travel: Travel, cand_x: np.ndarray, cand_y: np.ndarray,
                       dem_x: np.ndarray, dem_y: np.ndarray) -> sp.csr_matrix:
        """Boolean ``(n_candidates, n_demand)`` matrix: demand point within the catchment of a
        candidate over the network."""
        nc, nd = len(cand_x), len(dem_x)
        if nc == 0 or nd == 0:
            return sp.csr_matrix((nc, nd), dtype=bool)
        snap_c, node_c = self._snap(cand_x, cand_y)
        snap_d, node_d = self._snap(dem_x, dem_y)
        g = self._reverse_with_sources(node_c, snap_c * travel.circuity)
        limit_m = travel.minutes * travel.speed_m_per_min
        n = self.n_nodes
        extra = snap_d * travel.circuity
        rows, cols = [], []
        step = max(1, MAX_BLOCK // max(n + nc, nd))
        for b0 in range(0, nc, step):
            src = np.arange(b0, min(nc, b0 + step))
            d = dijkstra(g, directed=True, indices=n + src, limit=limit_m)
            t = d[:, node_d] + extra[None, :]
            r, c = np.nonzero(t <= limit_m)
            rows.append(src[r])
            cols.append(c)
        r = np.concatenate(rows)
        c = np.concatenate(cols)
        return sp.csr_matrix((np.ones(len(r), bool), (r, c)), shape=(nc, nd))


class NetworkEngine:
    """Travel-time engine over a :class:`RoadNetwork` (same interface as
    :class:`~stations.planning.travel.StraightLine`)."""

    method = "road network"

    def __init__(self, net: RoadNetwork, travel: Travel, x_m: np.ndarray, y_m: np.ndarray, *, limit_min: float):
        self.net, self.travel, self.limit_min = net, travel, limit_min
        self.n = len(x_m)
        self._b1, self._b2, self._a1 = net.node_two_nearest(travel, x_m, y_m, limit_min=limit_min)

    def two_nearest(self, x_m, y_m):
        snap_d, node = self.net._snap(np.asarray(x_m, float), np.asarray(y_m, float))
        extra = snap_d * self.travel.circuity
        per_min = self.travel.speed_m_per_min
        t1 = (self._b1[node] + extra) / per_min
        t2 = (self._b2[node] + extra) / per_min
        t1[t1 > self.limit_min] = np.inf
        t2[t2 > self.limit_min] = np.inf
        i1 = np.where(np.isfinite(t1), self._a1[node], -1)
        return t1, t2, i1
