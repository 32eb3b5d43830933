"""Map data for the pages (``/api/v1``): server-side clusters, search, places and outlines.

A thin adapter over :mod:`stations.mapping`: each view parses its parameters (declared
with :class:`~stations.web.params.Param`, so errors have the API's one shape), calls one
library function and serialises, and declares what it takes and answers for the OpenAPI
document (:func:`~stations.web.openapi.operation`). The per-snapshot
:class:`~stations.mapping.MapIndex` is built on first use after each data change (a new
snapshot revision) and kept.
"""

from __future__ import annotations

import hashlib
import json as _json
import threading

from flask import Blueprint, Response, current_app, request

from ..amenities import AMENITY_CODES
from ..errors import ValidationError
from ..mapping.clusters import MAX_ZOOM, MapIndex
from ..mapping.outlines import CELL_DEG
from ..mapping.status import STATUS_CODES
from .openapi import operation
from .params import Param, query

bp = Blueprint("map_api", __name__, url_prefix="/api/v1")

MAP_CRS = ("wgs84", "gcj02")
CRS_PARAM = Param("crs", "str", "Coordinate system of the box and of every position returned: the map tiles' system.",
                  default="wgs84", enum=MAP_CRS)
CLUSTER_PARAMS = (
    Param("bbox", "bbox", "The view: min_lon,min_lat,max_lon,max_lat in `crs` (each min at most its max; latitudes "
          "within ±90: else not a valid box).", required=True,
          example=[73, 18, 135, 54]),
    Param("zoom", "int", "Map zoom (Web Mercator); sets the cluster grid.", required=True, minimum=0, maximum=MAX_ZOOM,
          example=4),
    Param("status", "list", "Map statuses to include (`none` for none).", default=STATUS_CODES,
          enum=(*STATUS_CODES, "none")),
    Param("amenities", "list", "Required amenities (all of them).", default=(), enum=AMENITY_CODES),
    Param("at", "datetime", "Moment of the open/closed status (default now)."),
    CRS_PARAM,
)
SEARCH_PARAMS = (
    Param("q", "str", "Text in the station's name, id or address.", required=True, example="昌黎"),
    Param("limit", "int", "How many results.", default=10, minimum=1, maximum=50),
    CRS_PARAM,
)
PLACES_PARAMS = (
    Param("q", "str", "A place: a county, city or province name, or a station's name.", required=True,
          example="昌黎县"),
    Param("limit", "int", "How many station results.", default=5, minimum=1, maximum=20),
    CRS_PARAM,
)
OUTLINE_PARAMS = (CRS_PARAM,)
_CELLS_X, _CELLS_Y = 180 // CELL_DEG, 90 // CELL_DEG
COUNTY_OUTLINE_PARAMS = (
    Param("x", "int", f"Cell column: longitude from x * {CELL_DEG} to (x + 1) * {CELL_DEG} degrees.", required=True,
          minimum=-_CELLS_X, maximum=_CELLS_X - 1, example=59),
    Param("y", "int", f"Cell row: latitude from y * {CELL_DEG} to (y + 1) * {CELL_DEG} degrees.", required=True,
          minimum=-_CELLS_Y, maximum=_CELLS_Y - 1, example=19),
    CRS_PARAM,
)
_lock = threading.Lock()
_NUMBER, _TEXT = {"type": "number"}, {"type": "string"}
_COUNT = {"type": "integer", "minimum": 0}
_BOX = {"type": "array", "items": _NUMBER, "minItems": 4, "maxItems": 4}
CLUSTERS_RESPONSE = {
    "type": "object", "description": "Rows of `cluster_fields` and of `station_fields` (positions in `crs`).",
    "required": ["revision", "zoom", "crs", "bbox", "matched", "statuses", "cluster_fields", "clusters",
                 "station_fields", "stations", "at"],
    "properties": {"revision": {"type": "integer"}, "zoom": _COUNT, "crs": {"type": "string", "enum": list(MAP_CRS)},
                   "bbox": _BOX, "matched": _COUNT, "statuses": {"type": "array", "items": _TEXT},
                   "cluster_fields": {"type": "array", "items": _TEXT}, "clusters": {"type": "array", "items": {
                       "type": "array", "minItems": 5, "maxItems": 5}},
                   "station_fields": {"type": "array", "items": _TEXT}, "stations": {"type": "array", "items": {
                       "type": "array", "minItems": 6, "maxItems": 6}},
                   "at": {"type": "string", "description": "The moment of the statuses."}}}
_FOUND = {"type": "object", "required": ["station_id", "name", "lat", "lon", "approximate"],
          "properties": {"station_id": _TEXT, "name": _TEXT, "address": {"type": "string", "nullable": True},
                         "lat": _NUMBER, "lon": _NUMBER, "approximate": {"type": "boolean"}}}
SEARCH_RESPONSE = {"type": "object", "required": ["q", "crs", "count", "results"],
                   "properties": {"q": _TEXT, "crs": {"type": "string", "enum": list(MAP_CRS)}, "count": _COUNT,
                                  "results": {"type": "array", "items": _FOUND}}}
PLACES_RESPONSE = {
    "type": "object", "required": ["q", "crs", "areas", "stations"],
    "properties": {"q": _TEXT, "crs": {"type": "string", "enum": list(MAP_CRS)}, "stations": {"type": "array",
                                                                                           "items": _FOUND},
                   "areas": {"type": "array", "maxItems": 1, "items": {
                       "type": "object", "required": ["name", "precision", "adcode", "lat", "lon"],
                       "properties": {"name": _TEXT, "precision": _TEXT, "adcode": {"type": "string",
                                                                                    "nullable": True},
                                      "lat": _NUMBER, "lon": _NUMBER}}}}}
OUTLINES_RESPONSE = {"type": "object", "required": ["level", "crs", "precision", "areas"],
             "properties": {"level": {"type": "string", "enum": ["province", "county"]},
                            "crs": {"type": "string", "enum": list(MAP_CRS)}, "precision": _COUNT,
                            "areas": {"type": "array", "items": {
                                "type": "object", "required": ["adcode", "name", "lines"],
                                "properties": {"adcode": _TEXT, "name": _TEXT,
                                               "lines": {"type": "array", "items": _TEXT,
                                                         "description": "Encoded polylines."}}}}}}
TRANSFORM_RESPONSE = {"type": "object", "required": ["lat", "lon", "crs"],
                      "properties": {"lat": _NUMBER, "lon": _NUMBER,
                                     "crs": {"type": "string", "enum": ["wgs84", "gcj02", "bd09"]}}}


def _json_response(body, status: int = 200, *, headers=None) -> Response:
    return Response(_json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str), status=status,
                    mimetype="application/json", headers=headers)


def map_index() -> MapIndex:
    """The :class:`MapIndex` of the current snapshot (built once per snapshot)."""
    snap = current_app.extensions["stations"].snapshot()
    holder = current_app.extensions.setdefault("stations_map", {})
    entry = holder.get("index")
    if entry is None or entry[0] is not snap:
        with _lock:
            entry = holder.get("index")
            if entry is None or entry[0] is not snap:
                entry = (snap, MapIndex(snap))
                holder["index"] = entry
    return entry[1]


@bp.get("/clusters")
@operation(summary="Stations in a box, clustered on the server at low zooms (the map's data)", params=CLUSTER_PARAMS,
           response=CLUSTERS_RESPONSE, etag=True)
def clusters_view():
    """Clusters and single stations in a view (see :meth:`stations.mapping.MapIndex.view`)."""
    q = query(CLUSTER_PARAMS)
    index = map_index()
    when = q["at"] or current_app.extensions["stations.clock"]()
    statuses = [s for s in q["status"] if s != "none"]
    minute = int(when.timestamp() // 60)  # statuses change on whole minutes
    etag = hashlib.sha1(b"%d|%d|" % (index.revision, minute) + request.query_string).hexdigest()
    if request.if_none_match.contains(etag):
        return Response(status=304, headers={"ETag": f'"{etag}"'})
    body = index.view(bbox=q["bbox"], zoom=q["zoom"], crs=q["crs"], statuses=statuses,
                      amenities=q["amenities"] or (), when=when)
    body["at"] = when.isoformat(timespec="seconds")
    return _json_response(body, headers={"ETag": f'"{etag}"', "Cache-Control": "no-cache"})


@bp.get("/search")
@operation(summary="Stations by name, id or address", params=SEARCH_PARAMS, response=SEARCH_RESPONSE)
def search_view():
    q = query(SEARCH_PARAMS)
    results = map_index().search(q["q"], crs=q["crs"], limit=q["limit"])
    return _json_response({"q": q["q"], "crs": q["crs"], "count": len(results), "results": results})


@bp.get("/places")
@operation(summary="Places (admin areas, offline, to their centre) and stations by name", params=PLACES_PARAMS,
           response=PLACES_RESPONSE)
def places_view():
    """Where a typed place is: an administrative area (offline, to its centre) and matching stations.

    ``areas`` holds at most one county, city or province (its centre point: never a
    station's position), ``stations`` stations whose name, id or address contains the text.
    """
    from ..geocode.offline import OfflineCountyGeocoder
    from ..lookup import from_wgs84_point

    q = query(PLACES_PARAMS)
    areas = []
    try:
        hit = OfflineCountyGeocoder().geocode(q["q"])
    except ValidationError:
        hit = None
    if hit is not None:
        lat, lon = from_wgs84_point(lat=hit.lat, lon=hit.lon, crs=q["crs"])
        name = "".join(dict.fromkeys(x for x in (hit.province, hit.city, hit.county) if x))
        areas.append({"name": name, "precision": hit.precision, "adcode": hit.adcode,
                      "lat": round(lat, 6), "lon": round(lon, 6)})
    stations = map_index().search(q["q"], crs=q["crs"], limit=q["limit"])
    return _json_response({"q": q["q"], "crs": q["crs"], "areas": areas, "stations": stations})


@bp.get("/outlines/province")
@operation(summary="Province outlines (offline basemap)", params=OUTLINE_PARAMS, response=OUTLINES_RESPONSE, store=False)
def province_outlines_view():
    from ..mapping.outlines import province_outlines

    q = query(OUTLINE_PARAMS)
    return _json_response(province_outlines(crs=q["crs"]), headers={"Cache-Control": "public, max-age=86400"})


@bp.get("/outlines/county")
@operation(summary="County outlines of one map cell (offline basemap)", params=COUNTY_OUTLINE_PARAMS,
           response=OUTLINES_RESPONSE, store=False)
def county_outlines_view():
    """County outlines in one grid cell (see :func:`stations.mapping.outlines.county_outlines`)."""
    from ..mapping.outlines import county_outlines

    q = query(COUNTY_OUTLINE_PARAMS)
    return _json_response(county_outlines(q["x"], q["y"], crs=q["crs"]),
                          headers={"Cache-Control": "public, max-age=86400"})


TRANSFORM_PARAMS = (
    Param("lat", "float", "Latitude in `from`.", required=True, minimum=-90, maximum=90, example=39.7),
    Param("lon", "float", "Longitude in `from`.", required=True, minimum=-180, maximum=180, example=119.2),
    Param("from", "str", "System of the point.", default="wgs84", enum=("wgs84", "gcj02", "bd09")),
    Param("to", "str", "System wanted.", default="gcj02", enum=("wgs84", "gcj02", "bd09")),
)


@bp.get("/transform")
@operation(summary="Convert a point between wgs84, gcj02 and bd09", params=TRANSFORM_PARAMS,
           response=TRANSFORM_RESPONSE, store=False,
           description="GCJ-02 and BD-09 exist only inside mainland China: a point given in them from outside it is "
                       "refused (400); a WGS-84 point outside comes back unchanged.")
def transform_view():
    """One point from one coordinate system to another (the locator draws a GPS fix on GCJ-02 tiles).

    GCJ-02 and BD-09 exist only inside mainland China: a WGS-84 point outside it comes back
    unchanged, a point given in GCJ-02 or BD-09 from outside it is refused.
    """
    from ..lookup import from_wgs84_point, to_wgs84_point

    q = query(TRANSFORM_PARAMS)
    wlat, wlon = to_wgs84_point(lat=q["lat"], lon=q["lon"], crs=q["from"])
    lat, lon = from_wgs84_point(lat=wlat, lon=wlon, crs=q["to"])
    return _json_response({"lat": round(lat, 7), "lon": round(lon, 7), "crs": q["to"]})
