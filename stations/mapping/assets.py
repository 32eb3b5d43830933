"""Scripts, stylesheets and icons of the pages: local copies only, never a CDN.

Every file a page loads is either the project's own (``static/js``, ``static/css``) or a
copy of an npm package's file made by ``scripts/vendor_assets.py`` into ``static/vendor/``
(:data:`VENDOR_FILES` is the list it copies). folium's classes name their assets
(``default_js`` / ``default_css``, each a ``(name, CDN url)`` pair);
:func:`localise` points each name at its local copy (:data:`FOLIUM_ASSETS`) and drops
what the pages do not use (:data:`DROPPED`). An asset with no local copy raises
:class:`AssetError` naming it: a page never silently falls back to a CDN.

Two ways to reference a local asset:

* ``mode="url"``: ``<script src="/static/vendor/leaflet/leaflet.js">`` (the server's pages);
* ``mode="inline"``: the file's content as a ``data:`` URL, with the images and fonts a
  stylesheet refers to inlined too, so one HTML file works on its own, offline (``stations map``).
"""

from __future__ import annotations

import base64
import functools
import mimetypes
import re
from pathlib import Path
from typing import Iterable, Literal

from ..errors import StationsError

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"
VENDOR_DIR = STATIC_DIR / "vendor"

# (npm package, file inside the package, destination under static/vendor/)
VENDOR_FILES: tuple[tuple[str, str, str], ...] = (
    ("leaflet", "dist/leaflet.js", "leaflet/leaflet.js"),
    ("leaflet", "dist/leaflet.css", "leaflet/leaflet.css"),
    ("leaflet", "dist/images/layers.png", "leaflet/images/layers.png"),
    ("leaflet", "dist/images/layers-2x.png", "leaflet/images/layers-2x.png"),
    ("leaflet", "dist/images/marker-icon.png", "leaflet/images/marker-icon.png"),
    ("leaflet", "dist/images/marker-icon-2x.png", "leaflet/images/marker-icon-2x.png"),
    ("leaflet", "dist/images/marker-shadow.png", "leaflet/images/marker-shadow.png"),
    ("leaflet.markercluster", "dist/leaflet.markercluster.js", "markercluster/leaflet.markercluster.js"),
    ("leaflet.markercluster", "dist/MarkerCluster.css", "markercluster/MarkerCluster.css"),
    ("leaflet.markercluster", "dist/MarkerCluster.Default.css", "markercluster/MarkerCluster.Default.css"),
    ("leaflet.locatecontrol", "dist/L.Control.Locate.min.js", "locatecontrol/L.Control.Locate.min.js"),
    ("leaflet.locatecontrol", "dist/L.Control.Locate.min.css", "locatecontrol/L.Control.Locate.min.css"),
    ("leaflet.fullscreen", "Control.FullScreen.js", "fullscreen/Control.FullScreen.js"),
    ("leaflet.fullscreen", "Control.FullScreen.css", "fullscreen/Control.FullScreen.css"),
    ("leaflet.fullscreen", "icon-fullscreen.svg", "fullscreen/icon-fullscreen.svg"),
    ("leaflet.awesome-markers", "dist/leaflet.awesome-markers.js", "awesome-markers/leaflet.awesome-markers.js"),
    ("leaflet.awesome-markers", "dist/leaflet.awesome-markers.css", "awesome-markers/leaflet.awesome-markers.css"),
    *(("leaflet.awesome-markers", f"dist/images/{n}", f"awesome-markers/images/{n}")
      for n in ("markers-soft.png", "markers-soft@2x.png", "markers-shadow.png", "markers-shadow@2x.png")),
    ("@fortawesome/fontawesome-free", "css/all.min.css", "fontawesome/css/all.min.css"),
    *(("@fortawesome/fontawesome-free", f"webfonts/{n}.{ext}", f"fontawesome/webfonts/{n}.{ext}")
      for n in ("fa-solid-900", "fa-regular-400", "fa-brands-400", "fa-v4compatibility") for ext in ("woff2", "ttf")),
)

SPRITE = "icons.svg"
"""The icon sprite under ``static/vendor/``: one ``<symbol id="i-NAME">`` per Font Awesome
solid icon in :func:`sprite_icons`, assembled by ``scripts/vendor_assets.py``."""

UI_ICONS: tuple[str, ...] = (
    "mug-hot", "clock", "moon", "circle-question", "ban", "location-crosshairs", "person-walking",
    "motorcycle", "diamond-turn-right", "magnifying-glass", "language", "map-location-dot", "wifi",
    "triangle-exclamation", "xmark", "list", "house", "phone", "user-group", "door-open", "layer-group",
)

# folium's asset names -> files under static/ (None: the pages do not need it, leave it out).
FOLIUM_ASSETS: dict[str, str] = {
    "leaflet": "vendor/leaflet/leaflet.js",
    "leaflet_css": "vendor/leaflet/leaflet.css",
    "awesome_markers": "vendor/awesome-markers/leaflet.awesome-markers.js",
    "awesome_markers_css": "vendor/awesome-markers/leaflet.awesome-markers.css",
    "awesome_markers_font_css": "vendor/fontawesome/css/all.min.css",
    "markerclusterjs": "vendor/markercluster/leaflet.markercluster.js",
    "markerclustercss": "vendor/markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": "vendor/markercluster/MarkerCluster.Default.css",
    "Control_locate_min_js": "vendor/locatecontrol/L.Control.Locate.min.js",
    "Control_locate_min_css": "vendor/locatecontrol/L.Control.Locate.min.css",
    "Control.Fullscreen.js": "vendor/fullscreen/Control.FullScreen.js",
    "Control.FullScreen.css": "vendor/fullscreen/Control.FullScreen.css",
    # the project's own
    "stations_common_js": "js/stations-common.js",
    "stations_map_js": "js/stations-map.js",
    "stations_planning_js": "js/planning.js",
    "stations_map_css": "css/map.css",
}
# Loaded by folium's Map by default but used by nothing on these pages (jQuery and Bootstrap
# serve folium's notebook integration; the rotate rules only Icon(angle=...)).
DROPPED: frozenset[str] = frozenset({"jquery", "bootstrap", "bootstrap_css", "glyphicons_css",
                                     "awesome_rotate_css"})

Mode = Literal["url", "inline"]


class AssetError(StationsError):
    """A page needs an asset that has no local copy (or the copy is missing)."""


def sprite_icons() -> tuple[str, ...]:
    """Font Awesome (solid) icon names in the sprite: the amenity vocabulary's and the pages'."""
    from ..amenities import AMENITIES

    return tuple(dict.fromkeys([*(a.icon for a in AMENITIES if a.icon), *UI_ICONS]))


def asset_path(rel: str) -> Path:
    """The file of a local asset (``rel`` under ``static/``); raise if it is missing."""
    path = STATIC_DIR / rel
    if not path.is_file():
        hint = ("run scripts/setup.sh (npm ci, then scripts/vendor_assets.py)" if rel.startswith("vendor/")
                else "the project's static/ folder is incomplete")
        raise AssetError(f"missing asset {rel!r} (looked for {path}); {hint}")
    return path


def asset_url(rel: str, *, mode: Mode = "url", base: str = "/static/") -> str:
    """How a page refers to the asset ``rel`` (a path under ``static/``)."""
    if mode == "inline":
        return _data_url(rel)
    asset_path(rel)
    return base + rel


@functools.lru_cache(maxsize=64)
def _data_url_cached(rel: str, mtime_ns: int) -> str:
    path = asset_path(rel)
    mime = _mime(path)
    data = path.read_bytes()
    if path.suffix == ".css":
        data = _inline_css_urls(data.decode("utf-8"), Path(rel).parent).encode("utf-8")
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def _data_url(rel: str) -> str:
    return _data_url_cached(rel, asset_path(rel).stat().st_mtime_ns)


def _mime(path: Path) -> str:
    known = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".woff2": "font/woff2",
             ".ttf": "font/ttf", ".png": "image/png"}
    return known.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")


def _inline_css_urls(css: str, folder: Path) -> str:
    """Replace relative ``url(...)`` references of a stylesheet by ``data:`` URLs."""

    def repl(m: re.Match) -> str:
        target = m.group(2).split("?")[0].split("#")[0]
        if m.group(2).startswith(("data:", "#", "http:", "https:", "//")) or not target:
            return m.group(0)
        rel = (folder / target).as_posix()
        parts: list[str] = []
        for part in rel.split("/"):  # resolve "../" without touching the file system
            if part == "..":
                parts.pop()
            elif part not in ("", "."):
                parts.append(part)
        return f'url("{_data_url("/".join(parts))}")'

    return _CSS_URL.sub(repl, css)


def elements(root) -> Iterable:
    """Every element in the tree under ``root``, ``root`` first."""
    yield root
    for child in list(getattr(root, "_children", {}).values()):
        yield from elements(child)


def localise(root, *, mode: Mode = "url", base: str = "/static/") -> None:
    """Point every folium asset in the tree under ``root`` at its local copy.

    Each element's ``default_js`` / ``default_css`` is replaced on the instance (folium's
    class lists stay untouched). Names in :data:`DROPPED` are removed.

    Raises
    ------
    AssetError
        An element names an asset that has no local copy, or a copy is missing on disk.
    """
    for element in elements(root):
        for attr in ("default_js", "default_css"):
            pairs = getattr(element, attr, None)
            if not pairs:
                continue
            local = []
            for name, url in pairs:
                if name in DROPPED:
                    continue
                if url.startswith(("data:", base)) and not url.startswith("//"):
                    local.append((name, url))
                    continue
                rel = FOLIUM_ASSETS.get(name)
                if rel is None:
                    raise AssetError(f"{type(element).__name__} loads {name!r} from {url}, which has no local copy; "
                                     "add the npm package to package.json, the file to "
                                     "stations.mapping.assets.VENDOR_FILES and the name to FOLIUM_ASSETS")
                local.append((name, asset_url(rel, mode=mode, base=base)))
            setattr(element, attr, local)


def sprite_markup() -> str:
    """The icon sprite as inline SVG markup (hidden), to paste once into a page."""
    text = asset_path(f"vendor/{SPRITE}").read_text(encoding="utf-8")
    return text.replace("<svg ", '<svg aria-hidden="true" style="position:absolute;width:0;height:0" ', 1)
