"""HTML pages: the courier's locator (``/``), the stations map (``/map``) and the API docs.

Pages load scripts and styles only from ``/static/`` (the package's ``stations/web/static``:
copies of npm packages made by ``scripts/vendor_assets.py``, and the project's own); nothing
is fetched from another host at page load, so with no network everything but map tiles works.

Every asset URL carries the hash of the file's bytes (``/static/js/locator.js?v=3f2a9c0b1d4e``,
:class:`~stations.mapping.assets.StaticAssets`, hashed once when the app starts). A request
with the current hash is answered ``Cache-Control: public, max-age=31536000, immutable``;
any other (no ``v``, or an old one) ``no-cache``. The locator's service worker (``/sw.js``)
names its cache after the hash of all the files, so a deploy that changes any of them
replaces the worker and its cache: it never serves stale code.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, render_template, request

from ..amenities import vocabulary
from ..mapping.assets import StaticAssets, sprite_markup
from ..mapping.status import status_legend
from ..mapping.tiles import resolve_tiles

bp = Blueprint("pages", __name__, template_folder="templates")

IMMUTABLE = "public, max-age=31536000, immutable"
# What the locator page loads (its template and the service worker's offline copy use these).
LOCATOR_CSS = ("vendor/leaflet/leaflet.css", "css/map.css", "css/locator.css")
LOCATOR_JS = ("vendor/leaflet/leaflet.js", "js/stations-common.js", "js/station-reports.js", "js/locator.js")

LANGS = ("zh", "en")
# Filter chips of the locator, in order: (key, API parameter, value, icon)
CHIPS = (
    ("open_24h", "open_24h", "true", "clock"),
    ("open_now", "open", "now", "mug-hot"),
    ("toilet", "amenities", "toilet", "restroom"),
    ("microwave", "amenities", "microwave", "bowl-food"),
    ("drinking_water", "amenities", "drinking_water", "glass-water"),
    ("phone_charging", "amenities", "phone_charging", "mobile-screen-button"),
    ("ebike_charging", "amenities", "ebike_charging", "charging-station"),
    ("air_conditioning", "amenities", "air_conditioning", "snowflake"),
    ("heating", "amenities", "heating", "fire"),
)


@bp.record_once
def _hash_static_files(state) -> None:
    """Hash every file of the app's static folder once, when the app is made."""
    app = state.app
    app.extensions["stations.static"] = StaticAssets(app.static_folder, base=app.static_url_path + "/")


def _static() -> StaticAssets:
    return current_app.extensions["stations.static"]


@bp.after_app_request
def _static_cache_control(resp: Response) -> Response:
    """Versioned static files may be kept for ever; anything else is revalidated."""
    if request.endpoint == "static" and resp.status_code in (200, 304):
        rel = (request.view_args or {}).get("filename", "")
        resp.headers["Cache-Control"] = IMMUTABLE if _static().is_current(rel, request.args.get("v")) else "no-cache"
    return resp


def _lang() -> str:
    lang = request.args.get("lang", "zh")
    return lang if lang in LANGS else "zh"


def _tiles():
    settings = current_app.config["STATIONS"]
    return resolve_tiles(settings.tiles, settings.tiles_crs)


@bp.get("/docs")
def docs_page():
    return render_template("docs.html", asset=_static().url)


@bp.get("/")
def locator_page():
    """The locator: nearest stations to the user, mobile-first, Chinese by default."""
    return render_template("locator.html", **locator_context(lang=_lang()))


def locator_context(*, lang: str, embed: dict | None = None, css: tuple[str, ...] = ()) -> dict:
    """What ``locator.html`` needs: its config, assets and icons. ``embed`` (for ``/embed``)
    asks for the page without its chrome, with the view and filters it gives; ``css`` adds
    stylesheets."""
    settings = current_app.config["STATIONS"]
    config = {"lang": lang, "api": "/api/v1", "tiles": _tiles().to_js(), "statuses": status_legend(),
              "amenities": vocabulary(), "k": 10, "chips": [list(c) for c in CHIPS],
              "speeds_kmh": {"walk": settings.walk_speed_kmh, "ebike": settings.ebike_speed_kmh},
              "embed": embed}
    static = _static()
    return dict(config_json=_json_for_html(config), lang=lang, embed=embed, sprite=sprite_markup(static),
                css=[static.url(rel) for rel in LOCATOR_CSS + css], js=[static.url(rel) for rel in LOCATOR_JS])


@bp.get("/map")
def map_page():
    """The stations map for any number of stations: the page fetches what is in view from the API."""
    settings = current_app.config["STATIONS"]
    lang = _lang()
    key = (settings.tiles, settings.tiles_crs, lang)
    cache = current_app.extensions.setdefault("stations_map_pages", {})
    if key not in cache:
        from ..mapping import build_map

        m = build_map(None, source="api", tiles=settings.tiles, tiles_crs=settings.tiles_crs, lang=lang,
                      assets="url", static_assets=_static(), api_base="/api/v1")
        cache[key] = m.get_root().render()
    return Response(cache[key], mimetype="text/html")


@bp.get("/sw.js")
def service_worker():
    """The service worker (at the root so its scope covers ``/``): keeps the locator's page and assets for offline use.

    Its cache is named after :attr:`StaticAssets.version`: when any static file changes,
    this script's bytes change, so browsers install the new worker, which drops the old cache.
    """
    static = _static()
    body = render_template("sw.js", cache_name=f"stations-{static.version}",
                           shell=["/", *(static.url(rel) for rel in LOCATOR_CSS + LOCATOR_JS)])
    resp = Response(body, mimetype="text/javascript")
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["Service-Worker-Allowed"] = "/"
    return resp


def _json_for_html(value) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@bp.get("/favicon.ico")
def favicon():
    """No icon: answer at once instead of a 404 in every browser console."""
    return Response(status=204)
