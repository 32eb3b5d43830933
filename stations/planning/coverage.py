"""Coverage of a study area by stations: the 15-minute service circle and cross coverage.

The model (spopt's vocabulary): *demand* sits in the cells of a grid over the area; a
cell is *covered* when its travel time to a counted station is at most the catchment
(``t_ij <= S``, see :mod:`stations.planning.travel`), and *cross-covered* when a second,
different station is also within the catchment (the "双15" cross coverage).

``perc_area_covered`` is covered cells / cells (each cell is ``cell_m²`` of an equal-area
projection); ``perc_demand_covered`` weighs cells by demand (uniform by default: then it
equals the area share). Percentages are 0-100, like spopt's ``perc_cov``.

Usage::

    study = CoverageStudy("蔚县", travel=Travel("walk", 15), cell_m=50)
    base = study.evaluate(stations)                        # all stations in service
    night = study.evaluate(stations, at=datetime(2025, 7, 1, 22, 0))
    toilets = study.evaluate(stations, amenity="toilet")
    base.perc_area_covered, base.perc_area_covered_2plus, base.gaps, base.districts

or in one call: :func:`analyse_coverage`.
"""

from __future__ import annotations

import datetime as _dt
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import Problem, ValidationError
from ..geo import from_wgs84, geojson_from_wgs84
from .area import AdminUnit, StudyArea, load_area, unit_geometry
from .demand import DemandRaster, demand_raster, load_demand, uniform_demand
from .gaps import gap_table
from .grid import MEMORY_LIMIT_BYTES, Grid, make_grid
from .selection import StationSet, select_stations
from .travel import StraightLine, Travel
from ..travel import DEFAULT_CIRCUITY

DEFAULT_CELL_M = 100.0


@dataclass
class Surface:
    """Travel time from every cell to its nearest and second-nearest counted station.

    ``nearest_min`` and ``second_min`` are float32 rasters on ``grid`` (north-up, row 0 at
    the top), minutes; ``NaN`` outside the area, ``inf`` where there is no (second) station
    or, with a road network, none within its search limit.
    """

    grid: Grid
    area: StudyArea
    nearest_min: np.ndarray
    second_min: np.ndarray

    def to_frame(self, *, max_cells: int = 2_000_000) -> pd.DataFrame:
        """One row per in-area cell: ``row, col, x_m, y_m, lat, lon, nearest_min, second_min``.

        Refuses grids of more than ``max_cells`` cells (use a coarser grid for tables).
        """
        if self.grid.n_cells > max_cells:
            raise ValidationError.from_problems(
                [Problem("max_cells", max_cells, f"the surface has {self.grid.n_cells:,} cells",
                         "a coarser grid or a larger max_cells")], what="surface export")
        r, c = np.nonzero(self.grid.mask)
        x, y = self.grid.centres(r, c)
        lon, lat = self.area.to_wgs84(x_m=x, y_m=y)
        return pd.DataFrame({"row": r, "col": c, "x_m": x, "y_m": y, "lat": lat, "lon": lon,
                             "nearest_min": self.nearest_min[r, c], "second_min": self.second_min[r, c]})


@dataclass
class CoverageResult:
    """Coverage of one scenario (a set of counted stations) over a study area.

    Percentages are 0-100. Demand is in the demand file's unit, or km² when uniform.

    Attributes
    ----------
    perc_area_covered, perc_area_covered_2plus : float
        Share of the area within the catchment of >= 1 / >= 2 stations.
    perc_demand_covered, perc_demand_covered_2plus : float
        The same, weighted by demand.
    demand_total, demand_covered, demand_covered_2plus, demand_uncovered, demand_outside : float
        Demand inside the area, covered, cross-covered, uncovered; and demand of the file
        that fell outside the area (not in any share).
    gaps : geopandas.GeoDataFrame
        Uncovered areas, dissolved, ranked by uncovered demand (WGS-84; ``area_km2``).
        With ``gap_level=2`` the areas lacking cross coverage (fewer than 2 stations).
    n_gaps : int
        Number of gaps in total (``gaps`` holds the top ``max_gaps``).
    surface : Surface
        Minutes to the nearest and second-nearest station per cell.
    districts : pandas.DataFrame
        The same shares per county (or city) of the area.
    n_stations, n_stations_in_area : int
        Counted stations within reach of the area (inside it or within one catchment
        radius of its edge: they serve it), and those inside it. Stations farther away
        still count for the travel-time surface but are not listed.
    station_table : pandas.DataFrame
        Per counted station within reach: demand for which it is the nearest within the
        catchment (``demand_nearest``) and demand only it covers (``demand_unique``).
    stations : StationSet
        Which stations counted and why the others did not.
    """

    area_name: str
    adcode: str | None
    scenario: str
    travel: Travel
    method: str
    cell_m: float
    n_cells: int
    area_km2: float
    n_stations: int
    n_stations_in_area: int
    perc_area_covered: float
    perc_area_covered_2plus: float
    perc_demand_covered: float
    perc_demand_covered_2plus: float
    area_covered_km2: float
    area_covered_2plus_km2: float
    demand_total: float
    demand_covered: float
    demand_covered_2plus: float
    demand_outside: float
    uniform_demand: bool
    gaps: Any
    n_gaps: int
    surface: Surface
    districts: pd.DataFrame
    station_table: pd.DataFrame
    stations: StationSet
    gap_level: int = 1
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def demand_uncovered(self) -> float:
        return self.demand_total - self.demand_covered

    @property
    def perc_area_uncovered(self) -> float:
        return 100.0 - self.perc_area_covered

    def summary(self) -> dict[str, Any]:
        """The headline numbers as a JSON-ready dict (no geometry, no rasters)."""
        def num(x: float, digits: int | None = None) -> float:
            x = float(x)
            return round(x, digits) if digits is not None else x

        return {
            "area": self.area_name, "adcode": self.adcode, "scenario": self.scenario,
            "mode": self.travel.mode, "minutes": self.travel.minutes, "speed_kmh": self.travel.speed_kmh,
            "circuity": self.travel.circuity, "radius_m": num(self.travel.radius_m, 1), "method": self.method,
            "cell_m": self.cell_m, "n_cells": int(self.n_cells), "area_km2": num(self.area_km2, 3),
            "n_stations": int(self.n_stations), "n_stations_in_area": int(self.n_stations_in_area),
            "perc_area_covered": num(self.perc_area_covered, 3),
            "perc_area_covered_2plus": num(self.perc_area_covered_2plus, 3),
            "perc_demand_covered": num(self.perc_demand_covered, 3),
            "perc_demand_covered_2plus": num(self.perc_demand_covered_2plus, 3),
            "area_covered_km2": num(self.area_covered_km2, 3),
            "area_covered_2plus_km2": num(self.area_covered_2plus_km2, 3),
            "demand_total": num(self.demand_total), "demand_covered": num(self.demand_covered),
            "demand_covered_2plus": num(self.demand_covered_2plus), "demand_uncovered": num(self.demand_uncovered),
            "demand_outside": num(self.demand_outside), "uniform_demand": bool(self.uniform_demand),
            "n_gaps": int(self.n_gaps), "gap_level": int(self.gap_level), "notes": list(self.notes),
            "elapsed_s": num(self.elapsed_s, 3),
        }

    def to_dict(self, *, max_gaps: int | None = 20, crs: str = "wgs84") -> dict[str, Any]:
        """Summary plus the gaps (GeoJSON FeatureCollection) and the district table (records).

        This is the body of the coverage API answer. ``crs`` (``wgs84``, ``gcj02`` or ``bd09``;
        named in the answer's ``crs``) is the system of the gaps' polygons and of their
        ``lat``/``lon`` point: a map on Amap tiles asks for ``gcj02`` and draws them as they come.
        Only positions inside mainland China shift (:func:`stations.geo.from_wgs84`).
        """
        import json

        gaps = self.gaps if max_gaps is None else self.gaps.head(max_gaps)
        if crs != "wgs84" and len(gaps):
            lat, lon = from_wgs84(gaps["lat"].to_numpy(float), gaps["lon"].to_numpy(float), crs)
            gaps = gaps.assign(lat=lat, lon=lon)
        out = self.summary()
        out["crs"] = crs
        out["gaps"] = geojson_from_wgs84(json.loads(gaps.to_json(drop_id=True)), crs) if len(gaps) else {
            "type": "FeatureCollection", "features": []}
        out["districts"] = json.loads(self.districts.to_json(orient="records", force_ascii=False))
        return out


class CoverageStudy:
    """A study area on a grid, with its demand and districts, ready to evaluate scenarios.

    Building the grid, spreading the demand and labelling districts happen once here;
    :meth:`evaluate` then runs one scenario (a set of counted stations) in a pass over the
    grid, band by band.

    Parameters
    ----------
    area
        Name, adcode, polygon file, shapely polygon (WGS-84) or :class:`StudyArea`.
    travel : Travel
        Mode, minutes, circuity (default: 15 minutes' walk).
    cell_m : float
        Grid cell side, metres (default 100).
    demand
        ``None`` for uniform demand, or a :class:`Demand`, a path (CSV / GeoJSON) or a
        (Geo)DataFrame accepted by :func:`~stations.planning.demand.load_demand` (bad
        rows raise; to skip them, pass ``load_demand(path, on_bad_rows="skip")``).
    demand_weight : str, optional
        The demand file's weight column (default: recognised names, else 1 per row).
    road_network
        ``None`` for straight-line travel, an .osm.pbf path, or a
        :class:`~stations.planning.network.RoadNetwork`.
    district_level : str or None
        ``"county"`` (default), ``"city"``, or ``None`` for no per-district table.
    memory_limit_bytes : int
        Refuse grids whose estimated working memory exceeds this (default 4 GB).
    """

    def __init__(self, area: Any, *, travel: Travel | None = None, cell_m: float = DEFAULT_CELL_M,
                 demand: Any = None, road_network: Any = None, district_level: str | None = "county",
                 memory_limit_bytes: int = MEMORY_LIMIT_BYTES, demand_weight: str | None = None):
        t0 = time.perf_counter()
        self.area: StudyArea = load_area(area)
        self.travel = travel or Travel()
        self.grid: Grid = make_grid(self.area.geometry_m, cell_m, limit_bytes=memory_limit_bytes)
        self.notes: list[str] = []
        if demand is None:
            self.demand: DemandRaster = uniform_demand(self.grid)
            self.demand_source = None
        else:
            d = load_demand(demand, weight=demand_weight)
            self.demand_source = d
            self.demand = demand_raster(d, self.area, self.grid)
            if d.problems:
                self.notes.append(f"{len(d.problems)} bad demand row(s) skipped")
            if self.demand.outside > 0:
                self.notes.append(f"demand {self.demand.outside:,.6g} of {d.total:,.6g} lies outside the area "
                                  "and is not counted")
            if self.demand.total <= 0:
                raise ValidationError.from_problems(
                    [Problem("demand", d.source, "no demand inside the area",
                             f"points, lines or polygons inside {self.area.name}")], what="demand")
        self.network = None
        if road_network is not None:
            from .network import RoadNetwork

            self.network = (road_network if isinstance(road_network, RoadNetwork)
                            else RoadNetwork.from_pbf(road_network, self.area, mode=self.travel.mode))
            self.network.check_covers(self.area)
        self.district_units: list[AdminUnit] = []
        self.district_labels: np.ndarray | None = None
        if district_level is not None:
            self._label_districts(district_level)
        self.setup_s = time.perf_counter() - t0

    # ------------------------------------------------------------------ set-up

    def _label_districts(self, level: str) -> None:
        units = self.area.sub_units(level)
        if not units:
            return
        labels = np.full(self.grid.shape, -1, dtype=np.int16)
        for k, u in enumerate(units):
            gm = self.area.geometry_to_local(unit_geometry(u))
            got = self.grid.rasterize_window(gm)
            if got is None:
                continue
            (rs, cs), sub = got
            view = labels[rs, cs]
            view[sub & self.grid.mask[rs, cs]] = k
        self.district_units = units
        self.district_labels = labels

    # ------------------------------------------------------------------ scenarios

    def _station_xy(self, st: StationSet) -> tuple[np.ndarray, np.ndarray]:
        return self.area.to_local(lon=st.lon, lat=st.lat)

    def engine(self, x_m: np.ndarray, y_m: np.ndarray):
        """The travel-time engine (straight line or road network) to stations at ``(x_m, y_m)``."""
        if self.network is not None:
            return self.network.engine(self.travel, x_m, y_m)
        return StraightLine(self.travel, x_m, y_m)

    def evaluate(self, stations: Any, *, at: _dt.datetime | None = None, amenity: str | None = None,
                 count_unknown: bool = False, include_imprecise: bool = False, max_gaps: int = 100,
                 min_gap_km2: float = 0.0, gap_level: int = 1, require_stations: bool = True) -> CoverageResult:
        """Coverage of one scenario.

        Parameters
        ----------
        stations
            Station records (see :func:`~stations.planning.selection.select_stations`).
        at, amenity, count_unknown, include_imprecise
            Which stations count: open at ``at``; with ``amenity``; see
            :func:`~stations.planning.selection.select_stations`.
        max_gaps, min_gap_km2
            How many gap polygons to build, and the smallest gap kept.
        gap_level : {1, 2}
            Gaps are cells covered by fewer than this many stations: 1 = uncovered
            (default), 2 = lacking cross coverage.
        require_stations
            Raise when no station is within reach of the area at all (default). Scenario
            filters (``at``, ``amenity``) that leave none give 0 % coverage instead, with
            a note.

        Raises
        ------
        ValidationError
            no station within reach of the area (with ``require_stations``).
        """
        if gap_level not in (1, 2):
            raise ValidationError.from_problems([Problem("gap_level", gap_level, "not a coverage level", "1, 2")])
        t0 = time.perf_counter()
        st = select_stations(stations, at=at, amenity=amenity, count_unknown=count_unknown,
                             include_imprecise=include_imprecise)
        notes = list(self.notes) + list(st.notes)
        x, y = self._station_xy(st)
        reach = self._within_reach(x, y)
        if require_stations and at is None and amenity is None and not reach.any():
            n_all = len(st.frame)
            raise ValidationError(
                f"{self.area.name} has no stations: none of the {len(st)} station(s) in service "
                f"(of {n_all} given) lies inside it or within {self.travel.radius_m:,.0f} m of it; "
                "coverage is 0 % — use `stations suggest` to site stations from scratch",
                [Problem("stations", f"{len(st)} in service", f"none within reach of {self.area.name}",
                         "stations inside or near the area")])
        if not reach.any():
            notes.append(f"no station counts within reach of the area in this scenario ({st.label}): "
                         "coverage is 0 %")
        engine = self.engine(x, y)
        result = self._pass(engine, st, x, y, reach, notes, max_gaps=max_gaps, min_gap_km2=min_gap_km2,
                            gap_level=gap_level)
        result.elapsed_s = time.perf_counter() - t0
        return result

    def _within_reach(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        import shapely

        if len(x) == 0:
            return np.zeros(0, bool)
        # Over a network a station reaches at most speed x minutes (no circuity) away.
        reach_m = self.travel.radius_m * (self.travel.circuity if self.network is not None else 1.0)
        reach = self.area.geometry_m.buffer(reach_m, quad_segs=4)
        shapely.prepare(reach)
        return shapely.contains_xy(reach, x, y)

    def _pass(self, engine, st: StationSet, sx: np.ndarray, sy: np.ndarray, reach: np.ndarray, notes: list[str], *,
              max_gaps: int, min_gap_km2: float, gap_level: int = 1) -> CoverageResult:
        g = self.grid
        T = self.travel.minutes
        nearest = np.full(g.shape, np.nan, dtype=np.float32)
        second = np.full(g.shape, np.nan, dtype=np.float32)
        cover = np.zeros(g.shape, dtype=np.uint8)  # number of stations within the catchment, capped at 2
        n_st = len(sx)
        nd = len(self.district_units)
        acc = {k: np.zeros(nd + 1) for k in ("cells", "cells1", "cells2", "dem", "dem1", "dem2", "tsum", "tn")}
        st_nearest = np.zeros(n_st)
        st_unique = np.zeros(n_st)
        values = self.demand.values
        unit = g.cell_km2
        for r0, r1, rows, cols in g.bands():
            if len(rows) == 0:
                continue
            x, y = g.centres(rows, cols)
            t1, t2, i1 = engine.two_nearest(x, y)
            c1 = t1 <= T
            c2 = t2 <= T
            nearest[rows, cols] = t1
            second[rows, cols] = t2
            cover[rows, cols] = c1.astype(np.uint8) + c2
            w = values[rows, cols].astype(np.float64) if values is not None else np.full(len(rows), unit)
            lab = (self.district_labels[rows, cols].astype(np.int64) + 1 if self.district_labels is not None
                   else np.zeros(len(rows), np.int64))
            fin = np.isfinite(t1)
            for key, sel, wt in (("cells", None, None), ("cells1", c1, None), ("cells2", c2, None),
                                 ("dem", None, w), ("dem1", c1, w), ("dem2", c2, w), ("tn", fin, None),
                                 ("tsum", fin, t1)):
                lb = lab if sel is None else lab[sel]
                ww = None if wt is None else (wt if sel is None else wt[sel])
                acc[key] += np.bincount(lb, weights=ww, minlength=nd + 1)
            if n_st:
                st_nearest += np.bincount(i1[c1], weights=w[c1], minlength=n_st)
                only = c1 & ~c2
                st_unique += np.bincount(i1[only], weights=w[only], minlength=n_st)
        cells, cells1, cells2 = (acc[k].sum() for k in ("cells", "cells1", "cells2"))
        dem, dem1, dem2 = (acc[k].sum() for k in ("dem", "dem1", "dem2"))
        pct = (lambda a, b: 100.0 * a / b if b > 0 else 0.0)
        names = [u.name for u in self.district_units]
        uncovered = g.mask & (cover < gap_level)
        gaps, n_gaps = gap_table(self.area, g, uncovered, demand=values, nearest_min=nearest,
                                 district_labels=self.district_labels, district_names=names,
                                 max_gaps=max_gaps, min_gap_km2=min_gap_km2)
        del uncovered
        surface = Surface(grid=g, area=self.area, nearest_min=nearest, second_min=second)
        districts = self._district_table(acc, st, sx, sy)
        counted = st.counted
        station_table = pd.DataFrame({
            "station_id": counted["station_id"].to_numpy(), "name": counted["name"].to_numpy(),
            "lat": counted["lat"].to_numpy(), "lon": counted["lon"].to_numpy(),
            "demand_nearest": st_nearest, "demand_unique": st_unique})[reach].reset_index(drop=True)
        inside = self._inside_area(sx, sy)
        return CoverageResult(
            area_name=self.area.name, adcode=self.area.adcode, scenario=st.label, travel=self.travel,
            method=engine.method + (f" ({self.network.source})" if self.network is not None else ""),
            cell_m=g.cell_m, n_cells=int(cells), area_km2=cells * unit, n_stations=int(reach.sum()),
            n_stations_in_area=int(inside.sum()),
            perc_area_covered=pct(cells1, cells), perc_area_covered_2plus=pct(cells2, cells),
            perc_demand_covered=pct(dem1, dem), perc_demand_covered_2plus=pct(dem2, dem),
            area_covered_km2=cells1 * unit, area_covered_2plus_km2=cells2 * unit,
            demand_total=float(dem), demand_covered=float(dem1), demand_covered_2plus=float(dem2),
            demand_outside=float(self.demand.outside), uniform_demand=self.demand.uniform,
            gaps=gaps, n_gaps=n_gaps, surface=surface, districts=districts, station_table=station_table,
            stations=st, gap_level=gap_level, notes=notes)

    def _inside_area(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        import shapely

        if len(x) == 0:
            return np.zeros(0, bool)
        geom = self.area.geometry_m
        shapely.prepare(geom)
        return shapely.contains_xy(geom, x, y)

    def _district_table(self, acc: dict[str, np.ndarray], st: StationSet, sx: np.ndarray,
                        sy: np.ndarray) -> pd.DataFrame:
        cols = ["adcode", "name", "area_km2", "demand", "perc_area_covered", "perc_area_covered_2plus",
                "perc_demand_covered", "perc_demand_covered_2plus", "demand_uncovered", "n_stations",
                "mean_nearest_min"]
        if not self.district_units:
            return pd.DataFrame(columns=cols)
        nd = len(self.district_units)
        n_in = np.zeros(nd + 1)
        if len(sx):
            r, c, ok = self.grid.cell_of(sx, sy)
            lab = np.zeros(len(sx), np.int64)
            lab[ok] = self.district_labels[r[ok], c[ok]].astype(np.int64) + 1
            lab[ok & ~self.grid.mask[np.clip(r, 0, self.grid.nrows - 1), np.clip(c, 0, self.grid.ncols - 1)]] = -1
            n_in = np.bincount(lab[lab >= 0], minlength=nd + 1).astype(float)
            n_in[0] = 0  # stations outside every district are not listed
        unit = self.grid.cell_km2
        rows = []
        entries = [(k + 1, u.adcode, u.name) for k, u in enumerate(self.district_units)]
        if acc["cells"][0] > 0:
            entries.append((0, None, "(outside the listed districts)"))
        with np.errstate(invalid="ignore", divide="ignore"):
            for k, code, name in entries:
                cells, dem = acc["cells"][k], acc["dem"][k]
                rows.append({
                    "adcode": code, "name": name, "area_km2": cells * unit, "demand": dem,
                    "perc_area_covered": 100 * acc["cells1"][k] / cells if cells else np.nan,
                    "perc_area_covered_2plus": 100 * acc["cells2"][k] / cells if cells else np.nan,
                    "perc_demand_covered": 100 * acc["dem1"][k] / dem if dem else np.nan,
                    "perc_demand_covered_2plus": 100 * acc["dem2"][k] / dem if dem else np.nan,
                    "demand_uncovered": dem - acc["dem1"][k], "n_stations": int(n_in[k]),
                    "mean_nearest_min": acc["tsum"][k] / acc["tn"][k] if acc["tn"][k] else np.inf,
                })
        table = pd.DataFrame(rows, columns=cols)
        table = table[table["area_km2"] > 0]
        return table.sort_values(["demand_uncovered", "adcode"], ascending=[False, True],
                                 na_position="last").reset_index(drop=True)


def analyse_coverage(stations: Any, area: Any, *, mode: str = "walk", minutes: float = 15.0,
                     circuity: float = DEFAULT_CIRCUITY, speed_kmh: float | None = None, cell_m: float = DEFAULT_CELL_M,
                     demand: Any = None, demand_weight: str | None = None, road_network: Any = None,
                     at: _dt.datetime | None = None, amenity: str | None = None, count_unknown: bool = False,
                     district_level: str | None = "county", max_gaps: int = 100,
                     memory_limit_bytes: int = MEMORY_LIMIT_BYTES) -> CoverageResult:
    """Coverage of ``area`` by ``stations`` in one call (see :class:`CoverageStudy`).

    Returns the scenario for ``at`` / ``amenity`` when given, else for every station in
    service. To compare scenarios on one grid use :func:`coverage_scenarios`.
    """
    study = CoverageStudy(area, travel=Travel(mode, minutes, circuity, speed_kmh), cell_m=cell_m, demand=demand,
                          demand_weight=demand_weight, road_network=road_network, district_level=district_level,
                          memory_limit_bytes=memory_limit_bytes)
    return study.evaluate(stations, at=at, amenity=amenity, count_unknown=count_unknown, max_gaps=max_gaps)


def coverage_scenarios(stations: Any, area: Any, *, at: _dt.datetime | None = None,
                       amenity: str | None = None, study: CoverageStudy | None = None,
                       **study_kwargs: Any) -> list[CoverageResult]:
    """The base scenario plus, when asked, the hour and the amenity variants, on one grid.

    Returns ``[all stations, open at <at>, with <amenity>]`` (those asked for). Extra
    keyword arguments go to :class:`CoverageStudy` (``travel``, ``cell_m``, ``demand``...).
    """
    study = study or CoverageStudy(area, **study_kwargs)
    out = [study.evaluate(stations)]
    if at is not None:
        out.append(study.evaluate(stations, at=at))
    if amenity is not None:
        out.append(study.evaluate(stations, amenity=amenity))
    return out


def scenario_table(results: list[CoverageResult]) -> pd.DataFrame:
    """One row per scenario with the headline shares (for reports and the CLI)."""
    return pd.DataFrame([{
        "scenario": r.scenario, "n_stations": r.n_stations,
        "perc_area_covered": r.perc_area_covered, "perc_area_covered_2plus": r.perc_area_covered_2plus,
        "perc_demand_covered": r.perc_demand_covered, "perc_demand_covered_2plus": r.perc_demand_covered_2plus,
        "demand_uncovered": r.demand_uncovered, "n_gaps": r.n_gaps} for r in results])
