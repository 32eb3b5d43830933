"""Scripts, stylesheets and icons of the pages: local copies only, never a CDN.

Every file a page loads is either the project's own (``js/``, ``css/`` under
:data:`STATIC_DIR`, the package's ``stations/web/static/``) or a copy of an npm package's
file made by ``scripts/vendor_assets.py`` into ``vendor/`` there (:data:`VENDOR_FILES` is
the list it copies). The folder is package data: a wheel built after ``scripts/setup.sh``
carries the vendored copies too, so an installed (non-editable) package serves its pages.

folium's classes name their assets (``default_js`` / ``default_css``, each a
``(name, CDN url)`` pair); :func:`localise` points each name at its local copy
(:data:`FOLIUM_ASSETS`) and drops what the pages do not use (:data:`DROPPED`). An asset with
no local copy raises :class:`AssetError` naming it: a page never silently falls back to a CDN.

Two ways to reference a local asset (:class:`StaticAssets`):

* ``mode="url"``: ``<script src="/static/js/locator.js?v=3f2a9c0b1d4e">`` (the server's
  pages). ``v`` is the first 12 hex digits of the SHA-256 of the file's bytes, read once when
  the :class:`StaticAssets` is made (at app start): a deploy that changes a file changes its
  URL, so browsers and the locator's service worker may keep a versioned file for ever;
* ``mode="inline"``: the file's content as a ``data:`` URL, with the images and fonts a
  stylesheet refers to inlined too, so one HTML file works on its own, offline (``stations map``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import mimetypes
import re
from pathlib import Path
from typing import Iterable, Literal, Mapping

from ..errors import StationsError

STATIC_DIR = Path(__file__).resolve().parents[1] / "web" / "static"
"""The pages' static folder, inside the package (``stations/web/static``)."""
VENDOR_DIR = STATIC_DIR / "vendor"
"""Copies of npm packages' files (made by ``scripts/vendor_assets.py``; not in git)."""
HASH_DIGITS = 12
"""Hex digits of SHA-256 in a versioned asset URL (48 bits: no collision between deploys)."""

# (npm package, file inside the package, destination under vendor/)
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
"""The icon sprite under ``vendor/``: one ``<symbol id="i-NAME">`` per Font Awesome
solid icon in :func:`sprite_icons`, assembled by ``scripts/vendor_assets.py``."""

UI_ICONS: tuple[str, ...] = (
    "mug-hot", "clock", "moon", "circle-question", "ban", "location-crosshairs", "person-walking",
    "motorcycle", "diamond-turn-right", "magnifying-glass", "language", "map-location-dot", "wifi",
    "triangle-exclamation", "xmark", "list", "house", "phone", "user-group", "door-open", "layer-group",
)

# folium's asset names -> files under STATIC_DIR (None: the pages do not need it, leave it out).
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


class StaticAssets:
    """The files under a static folder, each with the hash of its bytes, read once.

    Parameters
    ----------
    root : pathlib.Path
        The folder (default :data:`STATIC_DIR`). Every file under it is read and hashed when
        the object is made (a few MB, milliseconds); later changes to the files are not seen:
        make a new one (the server makes one per start).
    base : str
        The URL path the folder is served under, ending in ``/``.

    Attributes
    ----------
    versions : Mapping[str, str]
        ``{rel: hash}`` for every file, ``rel`` a POSIX path under ``root`` (``"js/locator.js"``),
        ``hash`` the first :data:`HASH_DIGITS` hex digits of the SHA-256 of its bytes.
    version : str
        One hash over every file's path and hash: it changes when any file changes, is added
        or removed (the service worker's cache name).
    """

    def __init__(self, root: Path | str = STATIC_DIR, *, base: str = "/static/"):
        self.root = Path(root)
        self.base = base if base.endswith("/") else base + "/"
        versions = {}
        if self.root.is_dir():
            for path in sorted(p for p in self.root.rglob("*") if p.is_file()):
                versions[path.relative_to(self.root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
        self.versions: Mapping[str, str] = {rel: h[:HASH_DIGITS] for rel, h in versions.items()}
        whole = hashlib.sha256("".join(f"{rel}\0{h}\n" for rel, h in versions.items()).encode("utf-8"))
        self.version: str = whole.hexdigest()[:HASH_DIGITS]

    def path(self, rel: str) -> Path:
        """The file of the asset ``rel``; raise :class:`AssetError` if it was not there."""
        if rel not in self.versions:
            hint = ("run scripts/setup.sh (npm ci, then scripts/vendor_assets.py)" if rel.startswith("vendor/")
                    else f"the static folder {self.root} is incomplete")
            raise AssetError(f"missing asset {rel!r} (looked for {self.root / rel}); {hint}")
        return self.root / rel

    def url(self, rel: str, *, mode: Mode = "url") -> str:
        """How a page refers to the asset ``rel``: its versioned URL, or (``mode="inline"``) a ``data:`` URL."""
        if mode == "inline":
            return self.data_url(rel)
        self.path(rel)
        return f"{self.base}{rel}?v={self.versions[rel]}"

    def is_current(self, rel: str, v: str | None) -> bool:
        """True if ``v`` is the version of ``rel`` (a URL this object made): safe to cache for ever."""
        return v is not None and self.versions.get(rel) == v

    def data_url(self, rel: str) -> str:
        """The asset as a ``data:`` URL; a stylesheet's relative ``url(...)`` references inlined too."""
        return _data_url(self, rel)


@functools.cache
def default_assets() -> StaticAssets:
    """The package's :data:`STATIC_DIR`, hashed once per process (for maps built outside a server)."""
    return StaticAssets(STATIC_DIR)


@functools.lru_cache(maxsize=64)
def _data_url(assets: StaticAssets, rel: str) -> str:
    """``data:`` URL of one asset of ``assets`` (cached per :class:`StaticAssets` object)."""
    path = assets.path(rel)
    mime = _mime(path)
    data = path.read_bytes()
    if path.suffix == ".css":
        data = _inline_css_urls(data.decode("utf-8"), assets, Path(rel).parent).encode("utf-8")
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def _mime(path: Path) -> str:
    known = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".woff2": "font/woff2",
             ".ttf": "font/ttf", ".png": "image/png"}
    return known.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")


def _inline_css_urls(css: str, assets: StaticAssets, folder: Path) -> str:
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
        return f'url("{assets.data_url("/".join(parts))}")'

    return _CSS_URL.sub(repl, css)


def elements(root) -> Iterable:
    """Every element in the tree under ``root``, ``root`` first."""
    yield root
    for child in list(getattr(root, "_children", {}).values()):
        yield from elements(child)


def localise(root, *, mode: Mode = "url", assets: StaticAssets | None = None) -> None:
    """Point every folium asset in the tree under ``root`` at its local copy.

    Each element's ``default_js`` / ``default_css`` is replaced on the instance (folium's
    class lists stay untouched) by :meth:`StaticAssets.url` of ``assets`` (default: the
    package's :data:`STATIC_DIR`). Names in :data:`DROPPED` are removed.

    Raises
    ------
    AssetError
        An element names an asset that has no local copy, or a copy is missing on disk.
    """
    assets = assets or default_assets()
    for element in elements(root):
        for attr in ("default_js", "default_css"):
            pairs = getattr(element, attr, None)
            if not pairs:
                continue
            local = []
            for name, url in pairs:
                if name in DROPPED:
                    continue
                if url.startswith(("data:", assets.base)) and not url.startswith("//"):
                    local.append((name, url))
                    continue
                rel = FOLIUM_ASSETS.get(name)
                if rel is None:
                    raise AssetError(f"{type(element).__name__} loads {name!r} from {url}, which has no local copy; "
                                     "add the npm package to package.json, the file to "
                                     "stations.mapping.assets.VENDOR_FILES and the name to FOLIUM_ASSETS")
                local.append((name, assets.url(rel, mode=mode)))
            setattr(element, attr, local)


def sprite_markup(assets: StaticAssets | None = None) -> str:
    """The icon sprite as inline SVG markup (hidden), to paste once into a page."""
    text = (assets or default_assets()).path(f"vendor/{SPRITE}").read_text(encoding="utf-8")
    return text.replace("<svg ", '<svg aria-hidden="true" style="position:absolute;width:0;height:0" ', 1)
