"""The versioned HTTP API (``/api/v1``): a thin adapter over :mod:`stations.lookup`.

Each view parses its parameters (declared in :data:`NEAREST_PARAMS` etc.), calls one
library function and serialises the result. Each also declares, with
:func:`~.openapi.operation`, what it takes and answers: the OpenAPI document is made from
these declarations and the app's routes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from urllib.parse import urlencode

import orjson
from flask import Blueprint, Response, current_app, request
from gunicorn.http.errors import ParseException

from ..accounts import FIELD_GROUPS
from ..amenities import AMENITY_CODES, vocabulary
from ..errors import NotFoundError, Problem, ValidationError
from ..lookup import DETAILS, MODES, OPEN_FILTERS, OUTPUT_CRS, feature, nearest, select
from ..records import ACCESS_VALUES, STATUS_VALUES
from . import STORE_RETRY_AFTER_S
from .openapi import openapi_document, operation
from .reports import CHECKED_SCHEMA, REPORT_SUMMARY_SCHEMA
from .params import MAX_VALUE_LENGTH, SAFE_INTEGER, Param, json_schema, parse, parse_json, query, short_value
from .problems import problem_response

bp = Blueprint("api", __name__, url_prefix="/api/v1")

CRS_PARAM = Param("crs", "str", "Coordinate system of input and output positions.", default="wgs84",
                  enum=OUTPUT_CRS)
LANG_PARAM = Param("lang", "str", "Language of labels.", default="zh", enum=("zh", "en"))
NEAREST_PARAMS = (
    Param("lat", "float", "Latitude of the user, in `crs`.", required=True, minimum=-90, maximum=90, example=39.7125),
    Param("lon", "float", "Longitude of the user, in `crs`.", required=True, minimum=-180, maximum=180,
          example=119.1637),
    Param("k", "int", "How many stations (at most the setting `max_k`).", default=5, minimum=1,
          maximum_setting="max_k"),
    Param("amenities", "list", "Required amenities (all of them).", default=(), enum=AMENITY_CODES,
          example=["microwave", "toilet"]),
    Param("open", "str", "Only stations open now, at `at`, or on arrival (now + travel time by `mode`).",
          enum=OPEN_FILTERS),
    Param("at", "datetime", "Time for open=at."),
    Param("mode", "str", "Travel mode for minutes and arrival.", default="walk", enum=MODES),
    Param("max_distance_m", "float", "Only stations within this great-circle distance (metres).", minimum=0,
          maximum=20_000_000),
    Param("open_24h", "bool", "Only stations open 24/7 (true) or not (false)."),
    Param("access", "list", "Who may use it (any of).", enum=ACCESS_VALUES),
    Param("include_imprecise", "bool", "Include stations placed only at county level.", default=False),
    CRS_PARAM, LANG_PARAM,
    Param("detail", "str", "How much of each station: `lean` (what a phone's list shows: name, position, distance, "
          "minutes, status, address, amenities, open status, navigation links) or `full` (also every public field "
          "of the record, its labels and flags, and the bearing).", default="lean", enum=DETAILS),
)
STATIONS_PARAMS = (
    Param("bbox", "bbox", "min_lon,min_lat,max_lon,max_lat in `crs` (each min at most its max; latitudes within "
          "±90: else not a valid box).", example=[119.0, 39.6, 119.4, 39.9]),
    Param("amenities", "list", "Required amenities (all of them).", default=(), enum=AMENITY_CODES),
    Param("status", "list", "Statuses to include.", default=("open", "temporarily_closed"), enum=STATUS_VALUES),
    Param("county", "str", "Only stations whose county contains this text."),
    Param("limit", "int", "Page size (at most the setting `page_max`).", default=500, minimum=1,
          maximum_setting="page_max"),
    Param("offset", "int", "Page start.", default=0, minimum=0, maximum=10_000_000),
    Param("at", "datetime", "Moment of each station's open status (default now)."),
    CRS_PARAM, LANG_PARAM,
)
STATION_PARAMS = (CRS_PARAM, LANG_PARAM)
STATION_ID = Param("station_id", "str", "The station's id.", example="N100")
COVERAGE_PARAMS = (
    Param("area", "str", "Study area: admin unit name (昌黎县, 河北省) or adcode (130322).", required=True,
          example="昌黎县"),
    Param("mode", "str", "Travel mode of the service circle.", default="walk", enum=("walk", "ebike", "tricycle")),
    Param("minutes", "float", "Service circle in minutes.", default=15.0, minimum=1, maximum=60),
    Param("cell_m", "float", "Grid cell size in metres.", default=200.0, minimum=50, maximum=5000),
    Param("at", "datetime", "Count only stations open at this time."),
    Param("amenity", "str", "Count only stations with this amenity.", enum=AMENITY_CODES),
    Param("gap_level", "int", "Gaps in coverage by 1 station, or in cross coverage (2).", default=1, minimum=1,
          maximum=2),
    Param("crs", "str", "Coordinate system of the gaps' polygons and points (the map tiles' system).",
          default="wgs84", enum=OUTPUT_CRS),
)
# A batch point: its position (NEAREST_PARAMS' lat and lon) and the caller's id for it.
POINT_PARAMS = tuple(p for p in NEAREST_PARAMS if p.name in ("lat", "lon"))
BATCH_PARAMS = tuple(p for p in NEAREST_PARAMS if p.name not in ("lat", "lon", "lang", "detail"))  # answers: ids, positions, numbers
POINT_ID_SCHEMA = {"description": "The caller's id of the point, echoed (default: its index in `points`).",
                   "oneOf": [{"type": "string", "maxLength": MAX_VALUE_LENGTH},
                             {"type": "integer", "minimum": -SAFE_INTEGER, "maximum": SAFE_INTEGER}]}
# A request may not hold more than this much grid in memory (the CLI allows more).
COVERAGE_MEMORY_BYTES = 512 * 1024 ** 2

# --- the answers' shapes (JSON Schema, OpenAPI 3.0 dialect) -----------------------------------

_NUMBER, _TEXT, _BOOL = {"type": "number"}, {"type": "string"}, {"type": "boolean"}
_MAYBE_TEXT, _MAYBE_NUMBER = {"type": "string", "nullable": True}, {"type": "number", "nullable": True}
_COUNT = {"type": "integer", "minimum": 0}
POSITION_SCHEMA = {"type": "object", "required": ["lat", "lon", "crs"],
                   "properties": {"lat": _NUMBER, "lon": _NUMBER, "crs": {"type": "string", "enum": list(OUTPUT_CRS)}}}
MINUTES_SCHEMA = {"type": "object", "description": "Travel minutes by mode (straight line × circuity / speed).",
                  "required": list(MODES), "properties": {mode: _NUMBER for mode in MODES}}
OPEN_STATUS_SCHEMA = {
    "type": "object", "required": ["state", "open_24h", "next_change", "label", "closes_soon"],
    "properties": {"state": {"type": "string", "enum": ["open", "closed", "unknown"]}, "open_24h": _BOOL,
                   "next_change": _MAYBE_TEXT, "label": _TEXT, "closes_soon": _BOOL, "comment": _MAYBE_TEXT}}
LINKS_SCHEMA = {"type": "object", "description": "Navigation links by vendor (amap, baidu, tencent, apple, osm, geo).",
                "additionalProperties": _TEXT}
STATION_PROPERTIES_SCHEMA = {
    "type": "object", "description": "The station's public record, amenity summary, labels and open status.",
    "required": ["station_id", "name", "status", "access", "amenities", "labels", "flags", "open_status", "open_24h"],
    "properties": {
        "station_id": _TEXT, "name": _TEXT, "status": {"type": "string", "enum": list(STATUS_VALUES)},
        "access": {"type": "string", "enum": list(ACCESS_VALUES)}, "opening_hours": _MAYBE_TEXT,
        "amenities": {"type": "object", "required": list(AMENITY_CODES),
                      "properties": {code: {"type": "string", "enum": ["yes", "no", "unknown"]}
                                     for code in AMENITY_CODES}},
        "labels": {"type": "object", "additionalProperties": _TEXT}, "flags": {"type": "array", "items": _TEXT},
        "open_status": OPEN_STATUS_SCHEMA, "open_24h": _BOOL, "navigation": LINKS_SCHEMA}}
FEATURE_SCHEMA = {
    "type": "object", "required": ["type", "id", "geometry", "properties"],
    "properties": {"type": {"type": "string", "enum": ["Feature"]}, "id": _TEXT,
                   "geometry": {"type": "object", "nullable": True, "required": ["type", "coordinates"],
                                "properties": {"type": {"type": "string", "enum": ["Point"]},
                                               "coordinates": {"type": "array", "items": _NUMBER, "minItems": 2,
                                                               "maxItems": 2}}},
                   "properties": STATION_PROPERTIES_SCHEMA}}
LEAN_STATION_SCHEMA = {
    "type": "object", "description": "What a phone's list shows (detail=lean): status, address, amenities, the "
                                     "map's colour code and the open status.",
    "required": ["status", "address", "amenities", "map_status", "open_status"],
    "properties": {"status": STATION_PROPERTIES_SCHEMA["properties"]["status"], "address": _MAYBE_TEXT,
                   "amenities": STATION_PROPERTIES_SCHEMA["properties"]["amenities"],
                   "map_status": {"type": "string", "enum": ["open_24h", "open_now", "closed_now", "hours_unknown",
                                                             "temporarily_closed", "removed"]},
                   "open_status": OPEN_STATUS_SCHEMA}}
_DAY = {"type": "string", "nullable": True, "format": "date",
        "description": "Last confirmed (China Standard Time); null: never."}
LEAN_CHECKED_SCHEMA = {
    "type": "object", "description": "When each field group was last confirmed (detail=lean; labels in `lang`).",
    "required": [*FIELD_GROUPS, "stale", "label", "warning"],
    "properties": {**{g: _DAY for g in FIELD_GROUPS},
                   "stale": {"type": "boolean", "description": "Some field group never confirmed, or not within the "
                                                                "setting `check_stale_days`."},
                   "label": {"type": "string", "description": "e.g. 'checked 3 weeks ago'."},
                   "warning": {"type": "string", "nullable": True, "description": "Which groups are stale."}}}
LEAN_REPORTS_SCHEMA = {
    "type": "object", "nullable": True,
    "description": "Workers' open reports of the last 30 days, unconfirmed by staff (null: none); labels in `lang`.",
    "required": ["count", "kinds", "latest_at", "label", "unconfirmed"],
    "properties": {"count": {"type": "integer", "minimum": 1},
                   "kinds": {"type": "object", "description": "Count by kind.", "additionalProperties": {"type": "integer"}},
                   "latest_at": {"type": "string", "description": "When the newest was sent (UTC)."},
                   "label": {"type": "string", "description": "e.g. '2 reports: closed (today), unconfirmed'."},
                   "unconfirmed": {"type": "boolean", "enum": [True]}}}
NEAREST_RESPONSE = {
    "type": "object", "required": ["query", "crs", "count", "results"],
    "properties": {
        "query": {"type": "object", "description": "The query as understood, defaults filled in."},
        "crs": {"type": "string", "enum": list(OUTPUT_CRS)}, "count": _COUNT,
        "results": {"type": "array", "items": {
            "type": "object",
            "description": "`bearing_deg` and the full `station` record with detail=full.",
            "required": ["station_id", "name", "position", "distance_m", "minutes", "station", "navigation",
                         "checked", "reports"],
            "properties": {"station_id": _TEXT, "name": _TEXT, "position": POSITION_SCHEMA,
                           "distance_m": {"type": "number", "minimum": 0}, "bearing_deg": _NUMBER,
                           "minutes": MINUTES_SCHEMA,
                           "station": {"oneOf": [LEAN_STATION_SCHEMA, STATION_PROPERTIES_SCHEMA]},
                           "navigation": LINKS_SCHEMA,
                           "checked": {"description": "Check dates: the short form with detail=lean, every field "
                                                      "group's date, by whom and labels in both languages with full.",
                                       "anyOf": [LEAN_CHECKED_SCHEMA, {**CHECKED_SCHEMA,
                                                                       "required": ["groups", "stale", "label_en"]}]},
                           "reports": {"description": "Open reports, unconfirmed (null: none).", "nullable": True,
                                       "anyOf": [LEAN_REPORTS_SCHEMA, REPORT_SUMMARY_SCHEMA]}}}}}}
BATCH_RESPONSE = {
    "type": "object", "required": ["crs", "count", "points"],
    "properties": {"crs": {"type": "string", "enum": list(OUTPUT_CRS)}, "count": _COUNT, "points": {
        "type": "array", "items": {"type": "object", "required": ["id", "results"], "properties": {
            "id": POINT_ID_SCHEMA, "results": {"type": "array", "items": {
                "type": "object", "required": ["station_id", "name", "position", "distance_m", "minutes"],
                "properties": {"station_id": _TEXT, "name": _TEXT, "position": POSITION_SCHEMA,
                               "distance_m": {"type": "number", "minimum": 0}, "minutes": MINUTES_SCHEMA}}}}}}}}
FEATURE_COLLECTION_RESPONSE = {
    "type": "object", "required": ["type", "crs_name", "numberMatched", "numberReturned", "features", "at"],
    "properties": {"type": {"type": "string", "enum": ["FeatureCollection"]},
                   "crs_name": {"type": "string", "enum": list(OUTPUT_CRS)}, "numberMatched": _COUNT,
                   "numberReturned": _COUNT, "features": {"type": "array", "items": FEATURE_SCHEMA},
                   "at": {"type": "string", "description": "The moment of the open statuses."},
                   "links": {"type": "array", "items": {"type": "object", "required": ["rel", "href"],
                                                        "properties": {"rel": _TEXT, "href": _TEXT}}}}}
STATION_RESPONSE = {**FEATURE_SCHEMA, "required": [*FEATURE_SCHEMA["required"], "crs_name"],
                    "properties": {**FEATURE_SCHEMA["properties"],
                                   "crs_name": {"type": "string", "enum": list(OUTPUT_CRS)}}}
_EMPTY_OR_GEOJSON = {"type": "object", "required": ["type", "features"],
                     "properties": {"type": {"type": "string", "enum": ["FeatureCollection"]},
                                    "features": {"type": "array", "items": {"type": "object"}}}}
COVERAGE_RESPONSE = {
    "type": "object",
    "required": ["area", "adcode", "mode", "minutes", "cell_m", "n_cells", "area_km2", "n_stations",
                 "perc_area_covered", "perc_area_covered_2plus", "gaps", "districts"],
    "properties": {"area": _TEXT, "adcode": _MAYBE_TEXT, "mode": _TEXT, "minutes": _NUMBER, "cell_m": _NUMBER,
                   "n_cells": _COUNT, "area_km2": _NUMBER, "n_stations": _COUNT,
                   "perc_area_covered": _MAYBE_NUMBER, "perc_area_covered_2plus": _MAYBE_NUMBER,
                   "perc_demand_covered": _MAYBE_NUMBER, "perc_demand_covered_2plus": _MAYBE_NUMBER,
                   "notes": {"type": "array", "items": _TEXT},
                   "gaps": {**_EMPTY_OR_GEOJSON, "description": "Ranked gap polygons (GeoJSON, WGS-84)."},
                   "districts": {"type": "array", "items": {"type": "object"},
                                 "description": "Coverage per district."}}}
AMENITIES_RESPONSE = {
    "type": "object", "required": ["amenities", "values"],
    "properties": {"amenities": {"type": "array", "items": {
        "type": "object", "required": ["code", "zh", "en", "icon"],
        "properties": {"code": {"type": "string", "enum": list(AMENITY_CODES)}, "zh": _TEXT, "en": _TEXT,
                       "icon": _TEXT}}},
        "values": {"type": "array", "items": {"type": "string", "enum": ["yes", "no", "unknown"]}}}}
_INT = {"type": "integer", "minimum": 0}
_SECONDS = {"type": "number", "minimum": 0}
HEALTH_RESPONSE = {
    "type": "object", "required": ["status", "store", "snapshot", "lag"],
    "properties": {
        "status": _TEXT,
        "store": {"type": "object", "description": "The store this instance reads.",
                  "properties": {
                      "kind": {"type": "string", "enum": ["geopackage", "postgis"]},
                      "readable": {"type": "boolean", "description": "Whether its last check could read it."},
                      "checked_s_ago": {**_SECONDS, "description": "Seconds since that check (every `refresh_s`)."},
                      "schema_version": {**_INT, "description": "The store's schema version."},
                      "revision": {**_INT, "description": "The store's revision as last read: the number of "
                                                          "batches that changed stations."}}},
        "snapshot": {"type": "object", "description": "What this instance answers from (its own, in memory).",
                     "properties": {"revision": _INT, "stations": _INT, "indexed": _INT,
                                    "built_at": {"type": "string", "format": "date-time"},
                                    "age_s": _SECONDS, "build_s": _SECONDS,
                                    "build": {"type": "string", "enum": ["full", "changes"],
                                              "description": "How it was built: `full` from a whole read of "
                                                             "the store, `changes` from the previous snapshot and "
                                                             "the stations changed since (a few)."}}},
        "lag": {"type": "object", "description": "How far the snapshot is behind the store (0 and 0 when current; "
                                                 "another instance's write shows here until the next check builds "
                                                 "it).",
                "properties": {"revisions": {**_INT, "description": "Revisions the store has and the snapshot "
                                                                     "lacks."},
                               "seconds": {**_SECONDS, "description": "Seconds since the first of them was "
                                                                      "committed."}}}}}
PING_RESPONSE = {"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean", "enum": [True]}}}
OPENAPI_RESPONSE = {"type": "object", "required": ["openapi", "info", "paths"],
                    "description": "This document (OpenAPI 3.0)."}


def _batch_body(settings) -> dict:
    """The batch request's schema, with the settings' limit on points."""
    point = {"type": "object", "required": ["lat", "lon"], "additionalProperties": False,
             "properties": {**{p.name: json_schema(p, settings, in_query=False) for p in POINT_PARAMS},
                            "id": POINT_ID_SCHEMA}}
    for name in ("lat", "lon"):
        point["properties"][name].pop("nullable")
    return {"type": "object", "required": ["points"], "additionalProperties": False,
            "description": f"At most `batch_max_points` ({settings.batch_max_points}) points, and at most "
                           f"`batch_max_results` ({settings.batch_max_results}) results: points × k. "
                           "The other members are /nearest's parameters as JSON values (null: left out).",
            "properties": {"points": {"type": "array", "items": point, "maxItems": int(settings.batch_max_points)},
                           **{p.name: {**json_schema(p, settings, in_query=False), "description": p.description}
                              for p in BATCH_PARAMS}}}


def _settings():
    return current_app.config["STATIONS"]


def _service():
    return current_app.extensions["stations"]


def _now() -> dt.datetime:
    return current_app.extensions["stations.clock"]()


def _json_response(body, status: int = 200, *, headers=None) -> Response:
    # orjson: UTF-8 as is, NaN as null, about ten times faster than json on these bodies.
    return Response(orjson.dumps(body, default=str), status=status, content_type="application/json",
                    headers=headers)


def _travels():
    """One Travel per mode, from the settings (made by create_app)."""
    return current_app.extensions["stations.travels"]


def _links():
    """The navigation links' settings (made by create_app)."""
    return current_app.extensions["stations.links"]


def _nearest_kwargs(q: dict) -> dict:
    return dict(crs=q["crs"], k=q["k"], amenities=q["amenities"] or (), open=q["open"], at=q["at"], mode=q["mode"],
                max_distance_m=q["max_distance_m"], open_24h=q["open_24h"], access=q["access"],
                include_imprecise=bool(q["include_imprecise"]), lang=q["lang"])


@bp.get("/nearest")
@operation(summary="Nearest stations from a point, with filters", params=NEAREST_PARAMS, response=NEAREST_RESPONSE,
           description="Exact great-circle order (ties by station id). Distances in metres, minutes by mode "
                       "(straight line × circuity / speed). Positions in `crs`. Refused (400) though each value "
                       "is allowed: a gcj02 or bd09 point outside mainland China (those systems exist only "
                       "there), open=at without `at`.")
def nearest_view():
    app = current_app._get_current_object()  # one proxy lookup for the three below
    q = parse(NEAREST_PARAMS, request.args, settings=app.config["STATIONS"])
    # The parameters are lookup.nearest's own (NEAREST_PARAMS declares them, with its defaults).
    service = app.extensions["stations"]
    answer = nearest(service.snapshot(), travels=app.extensions["stations.travels"],
                     links=app.extensions["stations.links"], curation=service.curation(),
                     stale_days=app.config["STATIONS"].check_stale_days, **q)
    return Response(orjson.dumps(answer), content_type="application/json")


@bp.post("/nearest/batch")
@operation(summary="Nearest stations for many points", body=_batch_body, response=BATCH_RESPONSE,
           description="`{\"points\": [{\"lat\": .., \"lon\": .., \"id\": ..}, ...], \"k\": 3, ...}`: each point "
                       "gets its nearest stations (positions, distances and minutes). Refused as /nearest "
                       "refuses, and when points × k is over `batch_max_results`.")
def nearest_batch_view():
    """Nearest stations for many points: ``{"points": [{"lat":..,"lon":..}, ...], "k": 3, ...}``."""
    settings = _settings()
    doc = _json_body()
    if not isinstance(doc, dict):
        raise ValidationError.from_problems([Problem("body", type(doc).__name__, "not a JSON object",
                                                     '{"points": [{"lat": 39.7, "lon": 119.1}, ...]}')],
                                            what="request")
    points = doc.get("points")
    if not isinstance(points, list):
        raise ValidationError.from_problems([Problem("points", short_value(points), "missing or not a list",
                                                     '[{"lat": 39.7, "lon": 119.1}, ...]')], what="request")
    limit = int(settings.batch_max_points)
    if len(points) > limit:
        raise ValidationError.from_problems([Problem("points", len(points), "too many points",
                                                     f"at most {limit} per request (setting batch_max_points)")],
                                            what="request")
    q = parse_json(BATCH_PARAMS, {k: v for k, v in doc.items() if k != "points"}, settings=settings)
    results_max = int(settings.batch_max_results)
    if len(points) * q["k"] > results_max:
        raise ValidationError.from_problems([Problem(
            "points", len(points), f"{len(points)} points × k {q['k']} = {len(points) * q['k']} results",
            f"points × k at most {results_max} (setting batch_max_results)")], what="request")
    problems: list[Problem] = []
    coords = []
    for i, pt in enumerate(points):
        if not isinstance(pt, dict):
            problems.append(Problem(f"points[{i}]", short_value(pt), "not an object", '{"lat": .., "lon": ..}'))
            continue
        pid = pt.get("id", i)
        try:
            p = parse_json(POINT_PARAMS, {k: v for k, v in pt.items() if k != "id"}, settings=settings,
                           prefix=f"points[{i}].")
        except ValidationError as exc:
            problems.extend(exc.problems)
            p = None
        if not _valid_point_id(pid):
            problems.append(Problem(f"points[{i}].id", short_value(pid), "not a point id",
                                    f"a string of at most {MAX_VALUE_LENGTH} characters, or an integer from "
                                    f"-{SAFE_INTEGER} to {SAFE_INTEGER}"))
        elif p is not None:
            coords.append((p["lat"], p["lon"], pid))
    if problems:
        raise ValidationError.from_problems(problems[:100], what="request")
    snap, travels = _service().snapshot(), _travels()
    kwargs = _nearest_kwargs({**q, "lang": "zh"})
    results = []
    for lat, lon, pid in coords:
        body = nearest(snap, lat=lat, lon=lon, travels=travels, links=_links(), **kwargs)
        results.append({"id": pid, "results": [{"station_id": r["station_id"], "name": r["name"],
                                                "position": r["position"], "distance_m": r["distance_m"],
                                                "minutes": r["minutes"]} for r in body["results"]]})
    return _json_response({"crs": q["crs"], "count": len(results), "points": results})


def _json_body():
    """The request's JSON body (RFC 8259, at most 1,024 levels deep), or a 400 that says why not."""
    if not request.is_json:
        raise ValidationError.from_problems([Problem("Content-Type", request.content_type, "not JSON",
                                                     "application/json")], what="request")
    try:
        raw = request.get_data(cache=False)
    except (ParseException, OSError) as exc:  # gunicorn's or werkzeug's reading of a malformed (chunked) body
        raise ValidationError.from_problems([Problem("body", type(exc).__name__, "unreadable request body",
                                                     "a complete body (Content-Length or well-formed chunks)")],
                                            what="request") from None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ValidationError.from_problems([Problem("body", str(exc), "malformed JSON", "a JSON object")],
                                            what="request") from None


def _valid_point_id(pid) -> bool:
    if isinstance(pid, str):
        return len(pid) <= MAX_VALUE_LENGTH
    return isinstance(pid, int) and not isinstance(pid, bool) and abs(pid) <= SAFE_INTEGER


@bp.get("/stations")
@operation(summary="Stations as a GeoJSON FeatureCollection (bbox, filters, paging, ETag)", params=STATIONS_PARAMS,
           response=FEATURE_COLLECTION_RESPONSE, etag=True,
           description="Each station's open status is at `at` (default now); the ETag covers the data's revision, "
                       "the query and that minute, so a revalidation a minute later gets a fresh answer.")
def stations_view():
    q = query(STATIONS_PARAMS)
    snap = _service().snapshot()
    when = q["at"] or _now()
    minute = int(when.timestamp() // 60)  # open statuses change on whole minutes
    etag = hashlib.sha1(b"%d|%d|" % (snap.revision, minute) + request.query_string).hexdigest()
    if request.if_none_match.contains(etag):
        return Response(status=304, headers={"ETag": f'"{etag}"'})
    matched = select(snap, bbox=q["bbox"], crs=q["crs"], amenities=q["amenities"] or (), statuses=q["status"],
                     county=q["county"])
    page = matched[q["offset"]: q["offset"] + q["limit"]]
    links = _links()
    features = [feature(snap.record(int(pos)), crs=q["crs"], lang=q["lang"], when=when, links=links) for pos in page]
    body = {"type": "FeatureCollection", "crs_name": q["crs"], "numberMatched": len(matched),
            "numberReturned": len(features), "features": features, "at": when.isoformat(timespec="seconds")}
    if q["offset"] + q["limit"] < len(matched):
        args = request.args.to_dict()  # each name once: parse refuses repeats
        args["offset"] = str(q["offset"] + q["limit"])
        body["links"] = [{"rel": "next", "href": f"{request.path}?{urlencode(args)}"}]
    return _json_response(body, headers={"ETag": f'"{etag}"', "Cache-Control": "no-cache"})


@bp.get("/stations/<station_id>")
@operation(summary="One station as a GeoJSON Feature", path_params=(STATION_ID,), params=STATION_PARAMS,
           response=STATION_RESPONSE, not_found="No station has this id.")
def station_view(station_id: str):
    q = query(STATION_PARAMS)
    snap = _service().snapshot()
    pos = snap.by_id.get(station_id)
    if pos is None:
        raise NotFoundError(f"no station with id {station_id!r}",
                            [Problem("station_id", station_id[:40], "no station has this id", "a station's id")])
    rec = snap.record(pos)
    body = feature(rec, crs=q["crs"], lang=q["lang"], when=_now(), links=_links())
    body["crs_name"] = q["crs"]
    # When its facts were last confirmed, and what workers reported and staff have not yet confirmed.
    props = body["properties"]
    props["checked"], props["reports"] = _service().curation().public(
        station_id, last_verified=rec.get("last_verified"), stale_days=_settings().check_stale_days, now=_now())
    return _json_response(body)


@bp.get("/coverage")
@operation(summary="Coverage of an area by the service circle (planners)", params=COVERAGE_PARAMS,
           response=COVERAGE_RESPONSE, not_found="No province, city or county has this name or adcode.",
           description="Share of area and demand within `minutes` of 1 and of 2+ stations, ranked gap polygons "
                       "(GeoJSON, WGS-84) with area in km², and a per-district table. Refused (400): a grid over 512 MB "
                       "(the answer names a cell size that fits), an area with no station in or within reach of it, "
                       "a name several units share (give the adcode).")
def coverage_view():
    """Coverage of an area by the service circle: shares covered by 1 and 2+ stations, ranked gaps, districts."""
    q = query(COVERAGE_PARAMS)
    study = _study(q["area"], q["mode"], q["minutes"], q["cell_m"])
    snap = _service().snapshot()
    result = study.evaluate(snap.frame, at=q["at"], amenity=q["amenity"], gap_level=q["gap_level"])
    return _json_response(result.to_dict(crs=q["crs"]))


_STUDIES: dict = {}


def _study(area: str, mode: str, minutes: float, cell_m: float):
    """Studies are cached (grid, demand and districts are the costly part; stations are not in them).

    ``area`` is an admin unit's name or adcode only: a request never names a file on the server.
    """
    from ..planning import CoverageStudy, Travel
    from ..planning.area import find_unit

    unit = find_unit(area)
    settings = _settings()
    key = (unit.adcode, mode, minutes, cell_m, settings.circuity, getattr(settings, f"{mode}_speed_kmh"))
    study = _STUDIES.get(key)
    if study is None:
        study = CoverageStudy(unit, travel=Travel.from_settings(settings, mode=mode, minutes=minutes), cell_m=cell_m,
                              memory_limit_bytes=COVERAGE_MEMORY_BYTES)
        if len(_STUDIES) >= 8:
            _STUDIES.pop(next(iter(_STUDIES)))
        _STUDIES[key] = study
    return study


@bp.get("/amenities")
@operation(summary="The amenity vocabulary with Chinese and English labels", response=AMENITIES_RESPONSE,
           store=False)
def amenities_view():
    return _json_response({"amenities": vocabulary(), "values": ["yes", "no", "unknown"]})


@bp.get("/health")
@operation(summary="Health and store revision", response=HEALTH_RESPONSE)
def health_view():
    """The store's kind and state and the snapshot answers come from; 503 when the store cannot be read."""
    health = _service().health()
    report = health.as_dict()
    snap = report["snapshot"]
    if health.problem is not None:
        return problem_response(503, f"{health.problem}; answers come from the last good snapshot (revision "
                                     f"{snap['revision']}, {snap['stations']} stations, {snap['age_s']} s old)",
                                headers=[("Retry-After", str(STORE_RETRY_AFTER_S))], **report)
    return _json_response({"status": "ok", "stations": snap["stations"], "indexed": snap["indexed"],
                           "revision": snap["revision"], "index_build_s": snap["build_s"], **report})


@bp.get("/ping")
@operation(summary="A no-op: the baseline the load benchmark compares /nearest with", response=PING_RESPONSE,
           store=False)
def ping_view():
    """A no-op endpoint: the baseline the load benchmark compares /nearest with."""
    return _json_response({"ok": True})


@bp.get("/openapi.json")
@operation(summary="This OpenAPI document, made from the routes and the settings' limits", response=OPENAPI_RESPONSE,
           store=False)
def openapi_view():
    return _json_response(openapi_document(current_app._get_current_object()))
