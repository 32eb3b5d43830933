"""Basemaps and the coordinate system they are drawn in.

The setting ``tiles`` is ``none``, ``osm``, ``amap``, ``tencent`` or a URL template
(``https://example.org/{z}/{x}/{y}.png``); ``tiles_crs`` is the system of a template's tiles.
OpenStreetMap-style tiles are WGS-84; Amap (高德) and Tencent (腾讯) tiles are GCJ-02. A map
draws every station, outline and user position in its tiles' system, so a marker sits on
the street it is on: WGS-84 markers on Amap tiles land about 500 m off in Hebei (DOMAIN,
"Coordinates in China"). ``none`` draws no tiles (only the local admin outlines) in WGS-84.

The Amap and Tencent templates are the ones their own web maps request (the same as in
Leaflet.ChineseTmsProviders); they are not a documented API and may change.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import Problem, ValidationError

TILE_CRS = ("wgs84", "gcj02")
MAX_ZOOM = 18


@dataclass(frozen=True)
class TileSource:
    """A basemap: ``url`` is None for ``none`` (no tiles, outlines only)."""

    name: str
    url: str | None
    crs: str  # "wgs84" or "gcj02": the system markers must be drawn in
    attribution: str = ""
    subdomains: str = "abc"
    max_zoom: int = MAX_ZOOM

    def to_js(self) -> dict:
        return {"name": self.name, "url": self.url, "crs": self.crs, "attribution": self.attribution,
                "subdomains": self.subdomains, "maxZoom": self.max_zoom}


PRESETS: dict[str, TileSource] = {
    "none": TileSource("none", None, "wgs84"),
    "osm": TileSource("osm", "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "wgs84",
                      '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
                      "abc", 19),
    "amap": TileSource("amap", "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
                               "&x={x}&y={y}&z={z}", "gcj02", "&copy; 高德地图 AutoNavi", "1234", 18),
    "tencent": TileSource("tencent", "https://rt{s}.map.gtimg.com/tile?z={z}&x={x}&y={-y}&type=vector&styleid=3",
                          "gcj02", "&copy; 腾讯地图 Tencent", "0123", 18),
}


def resolve_tiles(tiles: str | None = "none", tiles_crs: str | None = None) -> TileSource:
    """The basemap for the settings ``tiles`` and ``tiles_crs``.

    Parameters
    ----------
    tiles : str
        ``none``, ``osm``, ``amap``, ``tencent`` or a URL template with ``{z}``, ``{x}`` and
        ``{y}`` (or ``{-y}``); http(s) or a path on this server (``/tiles/{z}/{x}/{y}.png``).
    tiles_crs : str, optional
        ``wgs84`` or ``gcj02``: the system of a template's tiles. Presets know their own; a
        value given with a preset must agree with it.

    Raises
    ------
    ValidationError
        Naming the bad value and the allowed ones.
    """
    name = (tiles or "none").strip()
    crs = (tiles_crs or "").strip().lower() or None
    problems = []
    if crs is not None and crs not in TILE_CRS:
        problems.append(Problem("tiles_crs", tiles_crs, "unknown tile coordinate system", ", ".join(TILE_CRS)))
    preset = PRESETS.get(name.lower())
    if preset is not None:
        if crs is not None and crs != preset.crs and name.lower() != "none" and not problems:
            problems.append(Problem("tiles_crs", tiles_crs, f"{name} tiles are {preset.crs}", preset.crs))
        if problems:
            raise ValidationError.from_problems(problems, what="tiles setting")
        return preset
    is_template = name.startswith(("http://", "https://", "/")) and all(k in name for k in ("{z}", "{x}")) \
        and ("{y}" in name or "{-y}" in name)
    if not is_template:
        problems.append(Problem("tiles", tiles, "not a preset or a tile URL template",
                                "none, osm, amap, tencent, or a URL with {z}, {x} and {y}"))
    if problems:
        raise ValidationError.from_problems(problems, what="tiles setting")
    return TileSource("custom", name, crs or "wgs84", "", "abc", MAX_ZOOM)
