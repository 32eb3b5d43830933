"""OGC API – Features under ``/ogc``: routes, JSON or HTML, and the OpenAPI document made from them.

Each route is declared once with :func:`operation` — its rule, summary, parameters
(:class:`~stations.web.params.Param`), the media type and schema of its answer and the error
statuses it can give — and :func:`openapi_document` is generated from those declarations,
so the document cannot drift from the routes (``tests/test_ogc.py`` checks both ways). The
views parse, call one function of :mod:`stations.opendata.ogc` and serialise.

Every answer is JSON (GeoJSON for features, JSON Schema for queryables, OpenAPI for the
definition) or HTML: ``f=json`` / ``f=html``, else the ``Accept`` header (a browser gets
HTML, GDAL and QGIS get JSON). Errors are the API's one shape (``application/problem+json``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import orjson
from flask import Blueprint, Response, current_app, render_template, request

from .. import __version__
from ..amenities import AMENITY_CODES
from ..config import Settings
from ..errors import NotFoundError, Problem
from ..opendata import ogc
from ..opendata.public import DataLicence, PROPERTY_NAMES, property_schema
from .params import Param, parse

bp = Blueprint("ogc", __name__, url_prefix="/ogc", template_folder="templates")

F_PARAM = Param("f", "str", "Format of the answer: json, or html for people (default: by the Accept header).",
                enum=("json", "html"))
F_ONLY = (F_PARAM,)


def _items_params(settings: Settings) -> tuple[Param, ...]:
    return (
        Param("limit", "int", f"Page size, at most {settings.page_max} (setting page_max); a larger value is "
                              "treated as the maximum, not refused.", default=ogc.LIMIT_DEFAULT, minimum=1,
              maximum=settings.page_max),
        Param("bbox", "str", "Only stations inside this box (WGS-84 min_lon,min_lat,max_lon,max_lat; six numbers "
                             "with heights also accepted; min_lon > max_lon crosses the antimeridian). Stations "
                             "without a position match too, as the standard requires.", example="119.0,39.6,119.4,39.9"),
        Param("datetime", "str", "RFC 3339 instant or interval. Stations have no temporal geometry: every station "
                                 "matches a valid value.", example="2026-01-01T00:00:00Z/.."),
        Param("cursor", "str", "Where the page starts: the cursor of the previous page's next link (the last "
                               "station id it held)."),
        Param("amenities", "list", "Only stations with all of these amenities (yes).", enum=AMENITY_CODES,
              example="microwave,toilet"),
        *(_queryable_param(name) for name in ogc.QUERYABLES),
        F_PARAM,
    )


def _queryable_param(name: str) -> Param:
    schema = property_schema(name)
    kind = "bool" if schema["type"] == "boolean" else "str"
    return Param(name, kind, f"Only stations whose {name} equals this ({schema['title']}).", enum=schema.get("enum"))


@dataclass(frozen=True)
class Operation:
    """One GET route of the service and what its OpenAPI operation says."""

    rule: str
    endpoint: str
    summary: str
    description: str
    params: Callable[[Settings], Sequence[Param]]
    media: str  # the JSON media type of a 200 answer (HTML is the other)
    schema: dict
    errors: tuple[int, ...]


OPERATIONS: dict[str, Operation] = {}
"""Every route of the blueprint, by endpoint name, in declaration order."""


def operation(rule: str, *, summary: str, schema: dict, description: str = "",
              params: Callable[[Settings], Sequence[Param]] = lambda settings: F_ONLY, media: str = ogc.JSON,
              errors: tuple[int, ...] = (400, 414, 500), strict_slashes: bool = True):
    """Register a GET view at ``rule`` and declare its OpenAPI operation."""
    def register(view):
        OPERATIONS[view.__name__] = Operation(rule, view.__name__, summary, description, params, media, schema, errors)
        bp.add_url_rule(rule, view.__name__, view, methods=["GET"], strict_slashes=strict_slashes)
        return view
    return register


# -- negotiation and answers ---------------------------------------------------------------------

_JSON_TYPES = (ogc.JSON, ogc.GEOJSON, ogc.SCHEMA_JSON, "application/vnd.oai.openapi+json")


def _format(f: str | None) -> str:
    """``f`` if given, else html when the client rates text/html above every JSON type
    (browsers do; GDAL, QGIS and ``*/*`` get JSON)."""
    if f:
        return f
    accept = request.accept_mimetypes
    return "html" if accept[ogc.HTML] > max(accept[t] for t in _JSON_TYPES) else "json"


def _f() -> str:
    """The format of a route whose only parameter is ``f``."""
    q, _ = _args(F_ONLY)
    return _format(q["f"])


def _settings() -> Settings:
    return current_app.config["STATIONS"]


def _licence() -> DataLicence:
    return DataLicence.from_settings(_settings())


def _site() -> str:
    return request.url_root.rstrip("/")


def _base() -> str:
    return _site() + bp.url_prefix


def _args(params: Sequence[Param]) -> tuple[dict[str, Any], dict[str, str]]:
    """(parsed, as given) query parameters; unknown ones are refused (Part 1 asks for a 400)."""
    raw = request.args
    return parse(params, raw), raw


def _answer(doc: dict, f: str, media: str, *, title: str, kind: str, links_header: Sequence[dict] = ()) -> Response:
    if f == "html":
        static = current_app.extensions["stations.static"]
        body = render_template("ogc.html", doc=doc, title=title, kind=kind, css=static.url("css/ogc.css"),
                               columns=PROPERTY_NAMES)
        resp = Response(body, mimetype=ogc.HTML)
    else:
        resp = Response(orjson.dumps(doc), content_type=media)
    resp.headers["Vary"] = "Accept"
    resp.headers["Access-Control-Allow-Origin"] = "*"
    if links_header:
        resp.headers["Link"] = ", ".join(f'<{lk["href"]}>; rel="{lk["rel"]}"; type="{lk["type"]}"'
                                         for lk in links_header)
    return resp


def _snapshot():
    return current_app.extensions["stations"].snapshot()


def _queryables_link() -> dict:
    return ogc.link(f"{_base()}/collections/{ogc.COLLECTION}/queryables", ogc.QUERYABLES_REL, ogc.SCHEMA_JSON)


# -- the routes ------------------------------------------------------------------------------------

def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


@operation("/", summary="Landing page: links to the API definition, conformance, collections and dumps",
           schema=_ref("LandingPage"), strict_slashes=False)
def landing_view():
    f = _f()
    doc = ogc.landing_page(_base(), _site(), _licence(), f=f)
    return _answer(doc, f, ogc.JSON, title=doc["title"], kind="landing")


@operation("/conformance", summary="The conformance classes the service implements", schema=_ref("Conformance"))
def conformance_view():
    f = _f()
    return _answer(ogc.conformance(_base(), f=f), f, ogc.JSON, title="Conformance", kind="conformance")


@operation("/api", summary="This API definition (OpenAPI 3.0): JSON, or HTML for people",
           schema={"type": "object", "description": "An OpenAPI 3.0 document"}, media=ogc.OPENAPI_TYPE)
def api_view():
    f = _f()
    doc = openapi_document(_settings(), _base())
    return _answer(doc, f, ogc.OPENAPI_TYPE, title="API definition (OpenAPI 3.0)", kind="api")


@operation("/collections", summary="The feature collections (one: stations)", schema=_ref("Collections"))
def collections_view():
    f = _f()
    doc = ogc.collections(_base(), _site(), _snapshot(), _licence(), f=f)
    return _answer(doc, f, ogc.JSON, title="Collections", kind="collections", links_header=[_queryables_link()])


@operation(f"/collections/{ogc.COLLECTION}", summary="The collection of stations: extent, links, how to filter",
           description=ogc.CRS_NOTE, schema=_ref("Collection"))
def collection_view():
    f = _f()
    doc = ogc.collection(_base(), _site(), _snapshot(), _licence(), f=f)
    return _answer(doc, f, ogc.JSON, title=doc["title"], kind="collection", links_header=[_queryables_link()])


@operation(f"/collections/{ogc.COLLECTION}/queryables", summary="Properties to filter on (each is also a "
           "query parameter of items, matched by equality)", schema={"type": "object"}, media=ogc.SCHEMA_JSON)
def queryables_view():
    f = _f()
    return _answer(ogc.queryables(_base(), f=f), f, ogc.SCHEMA_JSON, title="Queryables", kind="queryables")


@operation(f"/collections/{ogc.COLLECTION}/items", summary="Stations as GeoJSON, a page at a time",
           description="Station-id order; follow the next link to page (keyset on the station id, so imports "
                       "landing meanwhile neither repeat nor skip a station). numberMatched counts every match. "
                       + ogc.CRS_NOTE,
           params=_items_params, media=ogc.GEOJSON, schema=_ref("FeatureCollection"))
def items_view():
    settings = _settings()
    q, raw = _args(_parse_items_params(settings))
    f = _format(q["f"])
    query = ogc.ItemsQuery(
        limit=q["limit"], bbox=ogc.parse_bbox(q["bbox"]) if q["bbox"] is not None else None,
        equals={name: q[name] for name in ogc.QUERYABLES if q[name] is not None},
        amenities=tuple(q["amenities"] or ()), cursor=q["cursor"])
    if q["datetime"] is not None:
        ogc.parse_datetime(q["datetime"])
    page = ogc.select_items(_snapshot(), query, page_max=settings.page_max)
    doc = ogc.items_document(_base(), page, raw, f=f)
    return _answer(doc, f, ogc.GEOJSON, title="Stations", kind="items", links_header=[_queryables_link()])


def _parse_items_params(settings: Settings) -> tuple[Param, ...]:
    """The items parameters as parsed (made once per app): ``limit`` without its maximum,
    which clamps, never refuses."""
    params = current_app.extensions.get("stations.ogc.items_params")
    if params is None:
        params = tuple(Param(p.name, p.kind, p.description, default=p.default, minimum=p.minimum, enum=p.enum)
                       if p.name == "limit" else p for p in _items_params(settings))
        current_app.extensions["stations.ogc.items_params"] = params
    return params


@operation(f"/collections/{ogc.COLLECTION}/items/<path:featureId>", summary="One station as a GeoJSON Feature",
           media=ogc.GEOJSON, schema=_ref("Feature"), errors=(400, 404, 414, 500))
def item_view(featureId: str):  # noqa: N803 - the name the OpenAPI document shows
    f = _f()
    feature = ogc.find_item(_snapshot(), featureId)
    if feature is None:
        raise NotFoundError(f"no station with id {featureId!r}",
                            [Problem("featureId", featureId, "no such station", "an id of the collection's items")])
    doc = ogc.item_document(_base(), feature, f=f)
    return _answer(doc, f, ogc.GEOJSON, title=feature["properties"]["name"] or featureId, kind="item")


# -- the OpenAPI document, from the declarations above ----------------------------------------------

_ERRORS = {400: "Invalid or unknown query parameter (the problem names it, its value and what is allowed)",
           404: "No station with this id", 414: "Query string too long", 500: "Internal error (logged)"}


def _path(rule: str) -> tuple[str, list[str]]:
    """A Flask rule as an OpenAPI path, and its path parameters."""
    names = []
    out = rule
    while "<" in out:
        start, end = out.index("<"), out.index(">")
        name = out[start + 1:end].split(":")[-1]
        names.append(name)
        out = out[:start] + "{" + name + "}" + out[end + 1:]
    return out, names


_TYPES = {"int": "integer", "float": "number", "bool": "boolean", "str": "string"}


def _parameters(params: Sequence[Param]) -> list[dict]:
    """OpenAPI parameter objects of query parameters, in the OGC forms (``style: form,
    explode: false``; ``bbox`` an array of 4 or 6 numbers; lists arrays of their values)."""
    out = []
    for p in params:
        if p.name == "bbox":
            schema: dict[str, Any] = {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}
        elif p.kind == "list":
            schema = {"type": "array", "items": {"type": "string", **({"enum": list(p.enum)} if p.enum else {})}}
        else:
            schema = {"type": _TYPES[p.kind]}
            if p.enum:
                schema["enum"] = list(p.enum)
            if p.minimum is not None:
                schema["minimum"] = p.minimum
            if p.maximum is not None:
                schema["maximum"] = p.maximum
            if p.default is not None:
                schema["default"] = p.default
        entry = {"name": p.name, "in": "query", "required": p.required, "description": p.description,
                 "schema": schema, "style": "form", "explode": False}
        if p.example is not None:
            entry["example"] = p.example
        out.append(entry)
    return out


def openapi_document(settings: Settings, base: str) -> dict:
    """The OpenAPI 3.0 document of ``/ogc`` (``base``: its absolute URL), generated from
    :data:`OPERATIONS`: one GET per route, its parameters and every status it answers."""
    licence = DataLicence.from_settings(settings)
    problem = {"application/problem+json": {"schema": _ref("Problem")}}
    paths: dict[str, dict] = {}
    for op in OPERATIONS.values():
        path, path_params = _path(op.rule)
        responses: dict[str, Any] = {"200": {"description": op.summary, "content": {
            op.media: {"schema": op.schema}, ogc.HTML: {"schema": {"type": "string"}}}}}
        for status in op.errors:
            responses[str(status)] = {"description": _ERRORS[status], "content": problem}
        parameters = [{"name": name, "in": "path", "required": True, "description": "The station id.",
                       "schema": {"type": "string"}} for name in path_params]
        paths[path] = {"get": {"operationId": op.endpoint, "summary": op.summary,
                               **({"description": op.description} if op.description else {}),
                               "parameters": parameters + _parameters(op.params(settings)),
                               "responses": responses}}
    info: dict[str, Any] = {"title": ogc.TITLE + " — OGC API - Features", "version": __version__,
                            "description": f"{ogc.DESCRIPTION} {ogc.CRS_NOTE} {licence.statement()}"}
    if licence.licence:
        info["license"] = {"name": licence.title, **({"url": licence.url} if licence.url else {})}
    return {"openapi": "3.0.3", "info": info, "servers": [{"url": base}], "paths": paths,
            "components": {"schemas": _schemas()}}


# The shape of stations.web.problems.problem_body, the API's one error shape.
PROBLEM_SCHEMA = {
    "type": "object", "required": ["type", "title", "status", "detail"],
    "description": "RFC 9457 problem details; `errors` names each bad parameter, its value and what is allowed.",
    "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                   "detail": {"type": "string"},
                   "errors": {"type": "array", "items": {"type": "object", "properties": {
                       "parameter": {"type": "string"}, "value": {}, "reason": {"type": "string"},
                       "allowed": {"type": "string"}}}}},
}


def _schemas() -> dict:
    link = {"type": "object", "required": ["href", "rel"], "properties": {
        "href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"}, "title": {"type": "string"}}}
    links = {"type": "array", "items": _ref("Link")}
    properties = {name: {**property_schema(name), "nullable": True} for name in PROPERTY_NAMES}
    point = {"type": "object", "nullable": True, "required": ["type", "coordinates"], "properties": {
        "type": {"type": "string", "enum": ["Point"]},
        "coordinates": {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "number"}}}}
    return {
        "Problem": PROBLEM_SCHEMA,
        "Link": link,
        "LandingPage": {"type": "object", "required": ["links"], "properties": {
            "title": {"type": "string"}, "description": {"type": "string"}, "links": links}},
        "Conformance": {"type": "object", "required": ["conformsTo"], "properties": {
            "conformsTo": {"type": "array", "items": {"type": "string"}}}},
        "Collection": {"type": "object", "required": ["id", "links"], "properties": {
            "id": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"},
            "links": links, "itemType": {"type": "string"}, "crs": {"type": "array", "items": {"type": "string"}},
            "extent": {"type": "object"}}},
        "Collections": {"type": "object", "required": ["links", "collections"], "properties": {
            "links": links, "collections": {"type": "array", "items": _ref("Collection")}}},
        "Feature": {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
            "type": {"type": "string", "enum": ["Feature"]}, "id": {"type": "string"}, "geometry": point,
            "properties": {"type": "object", "properties": properties}, "links": links}},
        "FeatureCollection": {"type": "object", "required": ["type", "features"], "properties": {
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "features": {"type": "array", "items": _ref("Feature")}, "links": links,
            "numberMatched": {"type": "integer", "minimum": 0}, "numberReturned": {"type": "integer", "minimum": 0}}},
    }
