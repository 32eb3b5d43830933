"""The map builder: a :class:`folium.Map` of stations, offline-capable, in the tiles' system.

:func:`build_map` returns the map; the caller saves it (``m.save(path)``) or renders it
(``m.get_root().render()``). Two ways to get the stations into it:

* ``source="embed"`` (a county, up to :data:`EMBED_MAX` stations): every station, its
  popup content and the county outlines around it go into the page; with
  ``assets="inline"`` the scripts and styles do too, so the one HTML file works offline.
  Stations are clustered in the browser (leaflet.markercluster).
* ``source="api"`` (a province or the whole country): the page asks the server's
  ``/api/v1/clusters`` for what is in view, clustered on the server, and
  ``/api/v1/stations/<id>`` for a popup when it is opened.

Either way the page has: stations coloured (and iconed) by status, a popup per station
(name, address, amenities in Chinese and English, hours and open status, who may use it,
navigation links; when it was last checked, with a warning when that is too long ago, and
workers' unconfirmed reports), a layer control (basemap, outlines, one toggle per status, amenity
filters), a legend, a scale bar, a locate-me control, search by name and fullscreen. All
station text is escaped in the browser (``textContent`` or an escaping helper), never
pasted in as HTML.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any, Literal

import folium
import folium.plugins
import numpy as np
import pandas as pd
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template

from ..amenities import vocabulary
from ..errors import Problem, ValidationError
from ..navigation import LinkSettings
from . import assets as _assets
from .status import STATUS_CODES, map_status_codes, status_legend
from .tiles import TileSource, resolve_tiles

if TYPE_CHECKING:
    from ..accounts.overlay import CurationOverlay

EMBED_MAX = 3000
"""Most stations :func:`build_map` puts into one page; beyond it use ``source="api"``."""

CHINA_CENTER = (35.0, 104.0)  # lat, lon: the national view
CHINA_ZOOM = 4
SOURCES = ("embed", "api")
LANGS = ("zh", "en")
_DETAIL_FIELDS = ("station_id", "name", "name_en", "address", "county", "city", "province", "amenities",
                  "open_status", "labels", "status", "status_reason", "access", "entry", "opening_hours",
                  "opening_hours_raw", "contact", "last_verified", "geocode_precision", "navigation")


class StationsMap(folium.Map):
    """A :class:`folium.Map` that loads every script and stylesheet from local copies.

    Assets are localised when the map renders (:func:`stations.mapping.assets.localise`), so
    elements a caller adds after :func:`build_map` are covered too; an asset with no local
    copy raises :class:`~stations.mapping.assets.AssetError` instead of reaching for a CDN.
    """

    def __init__(self, *args, asset_mode: _assets.Mode = "inline", static_assets: _assets.StaticAssets | None = None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.asset_mode = asset_mode
        self.static_assets = static_assets or _assets.default_assets()

    def render(self, **kwargs):
        if not any(isinstance(e, folium.Icon) for e in _assets.elements(self)):
            # folium's Map loads Awesome Markers and the Font Awesome font for folium.Icon; this
            # map's own markers use an inline SVG sprite, so without an Icon they are dead weight.
            self.default_js = [p for p in self.default_js if p[0] != "awesome_markers"]
            self.default_css = [p for p in self.default_css
                                if p[0] not in ("awesome_markers_css", "awesome_markers_font_css")]
        _assets.localise(self, mode=self.asset_mode, assets=self.static_assets)
        return super().render(**kwargs)


class _Raw(Element):
    """Markup inserted as it is (branca's Element would read it as a template)."""

    _template = Template("{{ this.text|safe }}")

    def __init__(self, text: str):
        super().__init__()
        self.text = text


def _json_for_html(value: Any) -> str:
    """JSON safe inside a <script> element: <, > and & escaped as JavaScript escapes."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class StationLayer(JSCSSMixin, MacroElement):
    """Draws the stations and the map's own controls (``js/stations-map.js`` of the static folder)."""

    _template = Template("""
        {% macro header(this, kwargs) %}
            <title>{{ this.title }}</title>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = StationsMap.init({{ this._parent.get_name() }},
                {{ this.layer_control.get_name() if this.layer_control else 'null' }},
                JSON.parse(document.getElementById("{{ this.get_name() }}_config").textContent));
        {% endmacro %}
    """)

    def __init__(self, config: dict, *, title: str, layer_control: folium.LayerControl | None, cluster_js: bool,
                 planning_js: bool = False):
        super().__init__()
        self._name = "StationLayer"
        self.config = config
        self.title = title
        self.layer_control = layer_control
        self.default_js = [("stations_common_js", "stations_common_js"), ("stations_map_js", "stations_map_js")]
        self.default_css = [("stations_map_css", "stations_map_css")]
        if planning_js:  # the coverage control (js/planning.js): it needs the server's API
            self.default_js.append(("stations_planning_js", "stations_planning_js"))
        if cluster_js:
            self.default_js.insert(0, ("markerclusterjs", "markerclusterjs"))
            self.default_css[:0] = [("markerclustercss", "markerclustercss"),
                                    ("markerclusterdefaultcss", "markerclusterdefaultcss")]

    def render(self, **kwargs):
        figure = self.get_root()
        figure.html.add_child(_Raw(_assets.sprite_markup(getattr(self._parent, "static_assets", None))),
                              name="stations_icon_sprite")
        # The configuration (with embedded stations) goes in as JSON data, not as script text:
        # branca re-reads script text as a template, and data may contain "{{" or "{#".
        figure.html.add_child(_Raw(f'<script type="application/json" id="{self.get_name()}_config">'
                                   f'{_json_for_html(self.config)}</script>'), name=f"{self.get_name()}_config")
        super().render(**kwargs)


def build_map(frame: pd.DataFrame | None = None, *, tiles: str = "none", tiles_crs: str | None = None,
              source: Literal["embed", "api"] = "embed", api_base: str = "/api/v1", lang: str = "zh",
              assets: _assets.Mode = "inline", static_assets: _assets.StaticAssets | None = None,
              title: str | None = None, when: dt.datetime | None = None, links: LinkSettings | None = None,
              curation: CurationOverlay | None = None, check_stale_days: float | None = None) -> StationsMap:
    """Build the stations map.

    Parameters
    ----------
    frame : pandas.DataFrame, optional
        Station records (a store's frame). Required for ``source="embed"``; with
        ``source="api"`` only used to frame the first view (default: all of China).
        Removed stations and stations without a position are not drawn.
    tiles, tiles_crs : str
        The basemap, as the settings of the same names (:func:`stations.mapping.tiles.resolve_tiles`):
        ``none`` (outlines only), ``osm``, ``amap``, ``tencent`` or a URL template. Stations,
        outlines and the user's position are drawn in the tiles' system (GCJ-02 for Amap and Tencent).
    source : {"embed", "api"}
        Put the stations into the page, or fetch them from the server's API (see module notes).
    api_base : str
        Where the API is, for ``source="api"``: a path on the serving host (``/api/v1``) or a URL.
    lang : {"zh", "en"}
        Language of the page's labels; popups give amenities in both.
    assets : {"inline", "url"}
        ``inline``: scripts, styles, fonts and icons inside the HTML (a file that works alone);
        ``url``: ``<script src="/static/...?v=HASH">`` links to the server's copies.
    static_assets : StaticAssets, optional
        The static folder, its URL path and its files' hashes (default: the package's own,
        :func:`stations.mapping.assets.default_assets`); the server passes the one it serves.
    title : str, optional
        The page title.
    when : datetime, optional
        The moment whose open/closed status an embedded map shows (default: now); the
        legend says when that was. API maps ask the server for the status at each request.
    links : LinkSettings, optional
        The navigation links' settings (``baidu_src``, ``tencent_referer``) for an embedded
        map's popups; default: their documented defaults.
    curation, check_stale_days : CurationOverlay, float, optional
        The store's check dates and open reports (:meth:`CurationOverlay.read
        <stations.accounts.overlay.CurationOverlay.read>`) and the setting ``check_stale_days``:
        an embedded map's popups then say when each station was last checked (with a warning
        for parts older than ``check_stale_days`` days) and its unconfirmed reports, as ``/map``'s
        do (the same words as ``/api/v1/stations/<id>``). Without them the popups say neither.

    Returns
    -------
    StationsMap
        A :class:`folium.Map`; call ``.save(path)`` to write it.

    Raises
    ------
    ValidationError
        Bad ``tiles``/``tiles_crs``/``source``/``lang``/``assets``, no frame to embed, or
        more than :data:`EMBED_MAX` stations to embed (naming the count and the fix).
    AssetError
        A local asset is missing (run ``scripts/setup.sh``).
    """
    problems = []
    if source not in SOURCES:
        problems.append(Problem("source", source, "unknown source", ", ".join(SOURCES)))
    if lang not in LANGS:
        problems.append(Problem("lang", lang, "unsupported language", ", ".join(LANGS)))
    if assets not in ("inline", "url"):
        problems.append(Problem("assets", assets, "unknown asset mode", "inline, url"))
    if source == "embed" and frame is None:
        problems.append(Problem("frame", None, "an embedded map needs the stations", "a station frame"))
    if curation is not None and check_stale_days is None:
        problems.append(Problem("check_stale_days", None, "check dates need the days after which they are stale",
                                "the setting check_stale_days"))
    if problems:
        raise ValidationError.from_problems(problems, what="map options")
    tile = resolve_tiles(tiles, tiles_crs)
    when = when or dt.datetime.now(dt.timezone.utc)
    drawn = _drawn(frame) if frame is not None else None
    if source == "embed" and len(drawn) > EMBED_MAX:
        raise ValidationError.from_problems(
            [Problem("frame", len(drawn), "too many stations for one page",
                     f"at most {EMBED_MAX}: select a county or city, or serve the map (`stations serve`, /map)")],
            what="map options")
    title = title or ("工会驿站地图" if lang == "zh" else "Rest stations map")
    m = StationsMap(location=list(CHINA_CENTER), zoom_start=CHINA_ZOOM, tiles=None, max_zoom=tile.max_zoom,
                    min_zoom=3, control_scale=True, asset_mode=assets, static_assets=static_assets,
                    world_copy_jump=False)
    if tile.url:
        folium.TileLayer(tiles=tile.url, attr=tile.attribution or tile.url, name=_tile_label(tile, lang),
                         max_zoom=tile.max_zoom, subdomains=tile.subdomains, overlay=False, control=True).add_to(m)
    if drawn is not None and len(drawn):
        lat, lon = _positions(drawn, tile.crs)
        ok = np.isfinite(lat) & np.isfinite(lon)
        if ok.any():
            m.fit_bounds([[float(lat[ok].min()), float(lon[ok].min())], [float(lat[ok].max()), float(lon[ok].max())]],
                         padding=(30, 30), max_zoom=14)
    folium.plugins.LocateControl(position="topleft", flyTo=True, keepCurrentZoomLevel=False,
                                 strings={"title": "显示我的位置" if lang == "zh" else "Show my location"},
                                 locateOptions={"enableHighAccuracy": True, "maxZoom": 15}).add_to(m)
    folium.plugins.Fullscreen(position="topleft", title="全屏" if lang == "zh" else "Full screen",
                              title_cancel="退出全屏" if lang == "zh" else "Exit full screen").add_to(m)
    control = folium.LayerControl(collapsed=True, position="topright")
    control.add_to(m)
    config = _config(drawn, tile=tile, source=source, api_base=api_base, lang=lang, when=when, links=links,
                     curation=curation, check_stale_days=check_stale_days)
    StationLayer(config, title=title, layer_control=control, cluster_js=source == "embed",
                 planning_js=source == "api").add_to(m)
    return m


def _tile_label(tile: TileSource, lang: str) -> str:
    names = {"osm": ("OpenStreetMap", "OpenStreetMap"), "amap": ("高德地图", "Amap"), "tencent": ("腾讯地图", "Tencent"),
             "custom": ("底图", "Basemap")}
    return names.get(tile.name, ("底图", "Basemap"))[0 if lang == "zh" else 1]


def _drawn(frame: pd.DataFrame) -> pd.DataFrame:
    keep = frame["status"].isin(["open", "temporarily_closed"]) & frame["lat"].notna() & frame["lon"].notna()
    return frame[keep].reset_index(drop=True)


def _positions(frame: pd.DataFrame, crs: str) -> tuple[np.ndarray, np.ndarray]:
    lat, lon = frame["lat"].to_numpy(float), frame["lon"].to_numpy(float)
    if crs == "wgs84" or len(frame) == 0:
        return lat, lon
    from ..geo import from_wgs84

    glat, glon = from_wgs84(lat, lon, crs)
    return np.asarray(glat, float), np.asarray(glon, float)


def _config(drawn: pd.DataFrame | None, *, tile: TileSource, source: str, api_base: str, lang: str,
            when: dt.datetime, links: LinkSettings | None, curation: CurationOverlay | None = None,
            check_stale_days: float | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {
        "lang": lang, "crs": tile.crs, "tiles": tile.to_js(), "statuses": status_legend(),
        "amenities": vocabulary(), "source": source, "api": api_base.rstrip("/"),
        "center": list(CHINA_CENTER), "zoom": CHINA_ZOOM,
    }
    if source == "embed":
        config["data"] = embed_data(drawn, crs=tile.crs, lang=lang, when=when, links=links, curation=curation,
                                    check_stale_days=check_stale_days)
    else:  # the "规划 / Planning" control: coverage from the API's /coverage (defaults of its form)
        config["planning"] = {"minutes": 15, "cell_m": 200}
    return config


def embed_data(frame: pd.DataFrame, *, crs: str = "wgs84", lang: str = "zh",
               when: dt.datetime | None = None, links: LinkSettings | None = None,
               curation: CurationOverlay | None = None, check_stale_days: float | None = None) -> dict[str, Any]:
    """Stations and outlines for an embedded map, in ``crs``.

    Returns ``{"generated", "station_fields", "stations", "details", "outlines"}``:
    ``stations`` rows as in :meth:`stations.mapping.clusters.MapIndex.view`, ``details`` the
    popup content per station id (the API's feature properties, trimmed; with ``curation``,
    also its ``checked`` and ``reports`` as of ``when``, as ``/api/v1/stations/<id>`` gives
    them), ``outlines`` the county outlines around the stations
    (:func:`stations.mapping.outlines.outlines_near`).
    """
    from ..io.export import records_of
    from ..lookup import feature
    from ..records import needs_review
    from .outlines import outlines_near

    when = when or dt.datetime.now(dt.timezone.utc)
    frame = _drawn(frame)
    lat, lon = _positions(frame, crs)
    status = map_status_codes(frame, when)
    approx = frame["geocode_precision"].map(needs_review).to_numpy(bool)
    rows, details = [], {}
    for i, rec in enumerate(records_of(frame)):
        rows.append([rec["station_id"], round(float(lat[i]), 6), round(float(lon[i]), 6), int(status[i]),
                     rec.get("name") or "", int(approx[i])])
        props = feature(rec, crs=crs, lang=lang, when=when, links=links)["properties"]
        details[rec["station_id"]] = detail = {k: props.get(k) for k in _DETAIL_FIELDS}
        if curation is not None:
            detail["checked"], detail["reports"] = curation.public(
                rec["station_id"], last_verified=rec.get("last_verified"), stale_days=check_stale_days, now=when)
    return {"generated": when.astimezone(dt.timezone(dt.timedelta(hours=8))).isoformat(timespec="minutes"),
            "station_fields": ["id", "lat", "lon", "status", "name", "approximate"], "stations": rows,
            "details": json.loads(json.dumps(details, default=str)),
            "outlines": outlines_near(lat=frame["lat"], lon=frame["lon"], crs=crs)}


__all__ = ["EMBED_MAX", "STATUS_CODES", "StationsMap", "build_map", "embed_data"]
