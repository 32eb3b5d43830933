"""The versioned HTTP API (``/api/v1``): a thin adapter over :mod:`stations.lookup`.

Each view parses its parameters (declared in :data:`NEAREST_PARAMS` etc., which also
produce the OpenAPI document), calls one library function and serialises the result.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json as _json

import orjson
from flask import Blueprint, Response, current_app, request

from ..amenities import AMENITY_CODES, vocabulary
from ..errors import NotFoundError, Problem, ValidationError
from ..lookup import MODES, OPEN_FILTERS, OUTPUT_CRS, feature, nearest, nearest_json, select
from ..records import ACCESS_VALUES, STATUS_VALUES
from .params import Param, parse, query_args
from .problems import problem_response

bp = Blueprint("api", __name__, url_prefix="/api/v1")

CRS_PARAM = Param("crs", "str", "Coordinate system of input and output positions.", default="wgs84",
                  enum=OUTPUT_CRS)
LANG_PARAM = Param("lang", "str", "Language of labels.", default="zh", enum=("zh", "en"))
NEAREST_PARAMS = (
    Param("lat", "float", "Latitude of the user, in `crs`.", required=True, minimum=-90, maximum=90, example=39.7125),
    Param("lon", "float", "Longitude of the user, in `crs`.", required=True, minimum=-180, maximum=180,
          example=119.1637),
    Param("k", "int", "How many stations.", default=5, minimum=1, maximum=100),
    Param("amenities", "list", "Required amenities (all of them).", default=(), enum=AMENITY_CODES,
          example="microwave,toilet"),
    Param("open", "str", "Only stations open now, at `at`, or on arrival (now + travel time by `mode`).",
          enum=OPEN_FILTERS),
    Param("at", "datetime", "Time for open=at (default offset Asia/Shanghai)."),
    Param("mode", "str", "Travel mode for minutes and arrival.", default="walk", enum=MODES),
    Param("max_distance_m", "float", "Only stations within this great-circle distance (metres).", minimum=0,
          maximum=20_000_000),
    Param("open_24h", "bool", "Only stations open 24/7 (true) or not (false)."),
    Param("access", "list", "Who may use it (any of).", enum=ACCESS_VALUES),
    Param("include_imprecise", "bool", "Include stations placed only at county level.", default=False),
    CRS_PARAM, LANG_PARAM,
)
STATIONS_PARAMS = (
    Param("bbox", "bbox", "min_lon,min_lat,max_lon,max_lat in `crs`.", example="119.0,39.6,119.4,39.9"),
    Param("amenities", "list", "Required amenities (all of them).", default=(), enum=AMENITY_CODES),
    Param("status", "list", "Statuses to include.", default=("open", "temporarily_closed"), enum=STATUS_VALUES),
    Param("county", "str", "Only stations whose county contains this text."),
    Param("limit", "int", "Page size.", default=500, minimum=1, maximum=5000),
    Param("offset", "int", "Page start.", default=0, minimum=0, maximum=10_000_000),
    CRS_PARAM, LANG_PARAM,
)
STATION_PARAMS = (CRS_PARAM, LANG_PARAM)
COVERAGE_PARAMS = (
    Param("area", "str", "Study area: admin unit name (昌黎县, 河北省) or adcode (130322).", required=True,
          example="昌黎县"),
    Param("mode", "str", "Travel mode of the service circle.", default="walk", enum=("walk", "ebike", "tricycle")),
    Param("minutes", "float", "Service circle in minutes.", default=15.0, minimum=1, maximum=60),
    Param("cell_m", "float", "Grid cell size in metres.", default=200.0, minimum=50, maximum=5000),
    Param("at", "datetime", "Count only stations open at this time (default offset Asia/Shanghai)."),
    Param("amenity", "str", "Count only stations with this amenity.", enum=AMENITY_CODES),
    Param("gap_level", "int", "Gaps in coverage by 1 station, or in cross coverage (2).", default=1, minimum=1,
          maximum=2),
)
# A request may not hold more than this much grid in memory (the CLI allows more).
COVERAGE_MEMORY_BYTES = 512 * 1024 ** 2


def _settings():
    return current_app.config["STATIONS"]


def _service():
    return current_app.extensions["stations"]


def _json_response(body, status: int = 200, *, headers=None) -> Response:
    # orjson: UTF-8 as is, NaN as null, about ten times faster than json on these bodies.
    return Response(orjson.dumps(body, default=str), status=status, content_type="application/json",
                    headers=headers)


def _travel():
    """Speeds and circuity from the settings (made by create_app)."""
    return current_app.extensions["stations.travel"]


def _nearest_kwargs(q: dict) -> dict:
    return dict(crs=q["crs"], k=q["k"], amenities=q["amenities"] or (), open=q["open"], at=q["at"], mode=q["mode"],
                max_distance_m=q["max_distance_m"], open_24h=q["open_24h"], access=q["access"],
                include_imprecise=bool(q["include_imprecise"]), lang=q["lang"])


@bp.get("/nearest")
def nearest_view():
    q = parse(NEAREST_PARAMS, query_args(request.query_string))
    app = current_app._get_current_object()  # one proxy lookup for the three below
    max_k = app.config["STATIONS"]["max_k"]
    if q["k"] > max_k:
        raise ValidationError.from_problems([Problem("k", q["k"], "above the limit", f"1 to {max_k}")], what="query")
    # The parameters are nearest_json's own (NEAREST_PARAMS declares them, with its defaults).
    body = nearest_json(app.extensions["stations"].snapshot(), travel=app.extensions["stations.travel"], **q)
    return Response(body, content_type="application/json")


BATCH_FIELDS = {p.name for p in NEAREST_PARAMS} - {"lat", "lon", "lang"}


@bp.post("/nearest/batch")
def nearest_batch_view():
    """Nearest stations for many points: ``{"points": [{"lat":..,"lon":..}, ...], "k": 3, ...}``."""
    if not request.is_json:
        raise ValidationError.from_problems([Problem("Content-Type", request.content_type, "not JSON",
                                                     "application/json")], what="request")
    try:
        doc = _json.loads(request.get_data(as_text=True))
    except ValueError as exc:
        raise ValidationError.from_problems([Problem("body", str(exc), "malformed JSON", "a JSON object")],
                                            what="request") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("points"), list):
        raise ValidationError.from_problems([Problem("points", type(doc).__name__, "missing or not a list",
                                                     '{"points": [{"lat": 39.7, "lon": 119.1}, ...]}')],
                                            what="request")
    limit = int(_settings()["batch_max_points"])
    points = doc["points"]
    if len(points) > limit:
        raise ValidationError.from_problems([Problem("points", len(points), "too many points",
                                                     f"at most {limit} per request")], what="request")
    options = {k: v for k, v in doc.items() if k != "points"}
    unknown = [k for k in options if k not in BATCH_FIELDS]
    if unknown:
        raise ValidationError.from_problems([Problem(k, options[k], "unknown field", ", ".join(sorted(BATCH_FIELDS)))
                                             for k in unknown], what="request")
    args = {k: (",".join(v) if isinstance(v, list) else str(v).lower() if isinstance(v, bool) else str(v))
            for k, v in options.items() if v is not None}
    problems = []
    coords = []
    for i, pt in enumerate(points):
        if not isinstance(pt, dict):
            problems.append(Problem(f"points[{i}]", pt, "not an object", '{"lat": .., "lon": ..}'))
            continue
        try:
            q = parse([p for p in NEAREST_PARAMS if p.name in ("lat", "lon")],
                      {"lat": str(pt.get("lat", "")), "lon": str(pt.get("lon", ""))})
            coords.append((q["lat"], q["lon"], pt.get("id", i)))
        except ValidationError as exc:
            problems.extend(Problem(f"points[{i}].{p.field}", p.value, p.reason, p.allowed) for p in exc.problems)
    if problems:
        raise ValidationError.from_problems(problems[:100], what="request")
    q = parse([p for p in NEAREST_PARAMS if p.name not in ("lat", "lon")], args)
    snap, travel = _service().snapshot(), _travel()
    results = []
    for lat, lon, pid in coords:
        body = nearest(snap, lat=lat, lon=lon, travel=travel, **_nearest_kwargs(q))
        results.append({"id": pid, "results": [{"station_id": r["station_id"], "name": r["name"],
                                                "position": r["position"], "distance_m": r["distance_m"],
                                                "minutes": r["minutes"]} for r in body["results"]]})
    return _json_response({"crs": q["crs"], "count": len(results), "points": results})


@bp.get("/stations")
def stations_view():
    q = parse(STATIONS_PARAMS, query_args(request.query_string))
    snap = _service().snapshot()
    etag = hashlib.sha1(f"{snap.revision}|{request.query_string.decode()}".encode()).hexdigest()
    if request.if_none_match.contains(etag):
        return Response(status=304, headers={"ETag": f'"{etag}"'})
    matched = select(snap, bbox=q["bbox"], crs=q["crs"], amenities=q["amenities"] or (), statuses=q["status"],
                     county=q["county"])
    page = matched[q["offset"]: q["offset"] + q["limit"]]
    now = dt.datetime.now(dt.timezone.utc)
    features = [feature(snap.record(int(pos)), crs=q["crs"], lang=q["lang"], when=now) for pos in page]
    body = {"type": "FeatureCollection", "crs_name": q["crs"], "numberMatched": len(matched),
            "numberReturned": len(features), "features": features}
    if q["offset"] + q["limit"] < len(matched):
        args = query_args(request.query_string)
        args["offset"] = str(q["offset"] + q["limit"])
        from urllib.parse import urlencode

        body["links"] = [{"rel": "next", "href": f"{request.path}?{urlencode(args)}"}]
    return _json_response(body, headers={"ETag": f'"{etag}"', "Cache-Control": "no-cache"})


@bp.get("/stations/<station_id>")
def station_view(station_id: str):
    q = parse(STATION_PARAMS, query_args(request.query_string))
    snap = _service().snapshot()
    pos = snap.by_id.get(station_id)
    if pos is None:
        raise NotFoundError(f"no station with id {station_id!r}")
    body = feature(snap.record(pos), crs=q["crs"], lang=q["lang"])
    body["crs_name"] = q["crs"]
    return _json_response(body)


@bp.get("/coverage")
def coverage_view():
    """Coverage of an area by the service circle: shares covered by 1 and 2+ stations, ranked gaps, districts."""
    q = parse(COVERAGE_PARAMS, query_args(request.query_string))
    study = _study(q["area"], q["mode"], q["minutes"], q["cell_m"])
    snap = _service().snapshot()
    result = study.evaluate(snap.frame, at=q["at"], amenity=q["amenity"], gap_level=q["gap_level"])
    return _json_response(result.to_dict())


_STUDIES: dict = {}


def _study(area: str, mode: str, minutes: float, cell_m: float):
    """Studies are cached (grid, demand and districts are the costly part; stations are not in them)."""
    from ..planning import CoverageStudy, Travel

    settings = _settings()
    key = (area, mode, minutes, cell_m, settings["circuity"], settings.get(f"{mode}_speed_kmh"))
    study = _STUDIES.get(key)
    if study is None:
        study = CoverageStudy(area, travel=Travel.from_settings(settings, mode=mode, minutes=minutes), cell_m=cell_m,
                              memory_limit_bytes=COVERAGE_MEMORY_BYTES)
        if len(_STUDIES) >= 8:
            _STUDIES.pop(next(iter(_STUDIES)))
        _STUDIES[key] = study
    return study


@bp.get("/amenities")
def amenities_view():
    return _json_response({"amenities": vocabulary(), "values": ["yes", "no", "unknown"]})


@bp.get("/health")
def health_view():
    """The store's kind and state and the snapshot answers come from; 503 when the store cannot be read."""
    health = _service().health()
    report = health.as_dict()
    snap = report["snapshot"]
    if health.problem is not None:
        return problem_response(503, f"{health.problem}; answers come from the last good snapshot (revision "
                                     f"{snap['revision']}, {snap['stations']} stations, {snap['age_s']} s old)",
                                **report)
    return _json_response({"status": "ok", "stations": snap["stations"], "indexed": snap["indexed"],
                           "revision": snap["revision"], "index_build_s": snap["build_s"], **report})


@bp.get("/ping")
def ping_view():
    """A no-op endpoint: the baseline the load benchmark compares /nearest with."""
    return _json_response({"ok": True})


@bp.get("/openapi.json")
def openapi_view():
    from .openapi import openapi_document

    return _json_response(openapi_document())
