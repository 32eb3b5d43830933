"""``/embed``: the locator for other sites' pages (a union's website, a WeChat article's page).

The same page as ``/`` without its title bar and footer, its language, filters, the point
to search from and the zoom taken from the URL::

    /embed?lang=zh&lat=39.7089&lon=119.1702&zoom=14&amenities=toilet,microwave&open=now

Only the origins the operator lists in the setting ``embed_origins`` may show it in a frame
(``Content-Security-Policy: frame-ancestors 'self' <origins>``): browsers refuse it inside
any other site's page. Bad parameters get the API's problem answer naming them.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request

from ..config import bad_origins
from ..errors import Problem, ValidationError
from ..lookup import OUTPUT_CRS
from ..opendata import DataLicence
from .pages import CHIPS, LANGS, locator_context
from .params import Param, parse

bp = Blueprint("embed", __name__, template_folder="templates")

CHIP_AMENITIES = tuple(value for _key, param, value, _icon in CHIPS if param == "amenities")
EMBED_PARAMS = (
    Param("lang", "str", "Language of the page.", default="zh", enum=LANGS),
    Param("lat", "float", "Latitude of the point to search from (with lon), in `crs`.", minimum=-90, maximum=90),
    Param("lon", "float", "Longitude of the point to search from (with lat), in `crs`.", minimum=-180, maximum=180),
    Param("crs", "str", "Coordinate system of lat/lon (gcj02: a point copied from Amap).", default="wgs84",
          enum=OUTPUT_CRS),
    Param("zoom", "int", "Map zoom to keep (3: all of China, 18: a street); default: fit the results.", minimum=3,
          maximum=18),
    Param("amenities", "list", "Filter chips switched on.", enum=CHIP_AMENITIES),
    Param("open", "str", "open=now: only stations open now.", enum=("now",)),
    Param("open_24h", "bool", "Only stations open 24 hours."),
)


def frame_ancestors(origins: str) -> str:
    """The CSP ``frame-ancestors`` directive: this service, and the origins of the setting."""
    bad = bad_origins(origins)
    if bad:  # settings are checked when loaded; this is the last guard before a header
        raise ValueError(f"embed_origins: not origins: {bad}")
    return " ".join(["frame-ancestors 'self'", *origins.replace(",", " ").split()])


def embed_options(q: dict) -> dict:
    """The locator's ``embed`` config from the parsed parameters."""
    if (q["lat"] is None) != (q["lon"] is None):
        missing = "lon" if q["lon"] is None else "lat"
        raise ValidationError.from_problems([Problem(missing, None, "lat and lon go together", "both or neither")],
                                            what="query")
    chips = {key: True for key, param, value, _icon in CHIPS
             if (param == "amenities" and value in (q["amenities"] or ()))
             or (param == "open" and q["open"] == value) or (param == "open_24h" and q["open_24h"] is True)}
    centre = None if q["lat"] is None else {"lat": q["lat"], "lon": q["lon"], "crs": q["crs"]}
    return {"centre": centre, "zoom": q["zoom"], "chips": chips}


@bp.get("/embed")
def embed_page():
    q = parse(EMBED_PARAMS, request.args)
    settings = current_app.config["STATIONS"]
    options = embed_options(q)
    options["attribution"] = DataLicence.from_settings(settings).attribution
    body = render_template("locator.html", **locator_context(lang=q["lang"], embed=options, css=("css/embed.css",)))
    resp = Response(body, mimetype="text/html")
    resp.headers["Content-Security-Policy"] = frame_ancestors(settings.embed_origins)
    return resp
