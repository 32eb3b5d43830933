"""The OpenAPI 3 document, generated from the parameter declarations in :mod:`.api`."""

from __future__ import annotations

from .. import __version__
from .params import openapi_parameters

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details; `errors` names each bad parameter, its value and what is allowed.",
    "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                   "detail": {"type": "string"},
                   "errors": {"type": "array", "items": {"type": "object", "properties": {
                       "parameter": {"type": "string"}, "value": {}, "reason": {"type": "string"},
                       "allowed": {"type": "string"}}}}},
    "required": ["type", "title", "status", "detail"],
}


def _responses(ok: str) -> dict:
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {"200": {"description": ok, "content": {"application/json": {}}},
            "400": {"description": "Invalid parameters", "content": problem},
            "404": {"description": "Not found", "content": problem}}


def openapi_document() -> dict:
    from .api import COVERAGE_PARAMS, NEAREST_PARAMS, STATION_PARAMS, STATIONS_PARAMS

    paths = {
        "/api/v1/nearest": {"get": {
            "summary": "Nearest stations from a point, with filters",
            "description": "Exact great-circle order (ties by station id). Distances in metres, minutes by mode "
                           "(straight line × circuity / speed). Positions in `crs`.",
            "parameters": openapi_parameters(NEAREST_PARAMS), "responses": _responses("Nearest stations")}},
        "/api/v1/nearest/batch": {"post": {
            "summary": "Nearest stations for many points",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["points"],
                "properties": {"points": {"type": "array", "items": {"type": "object", "properties": {
                    "lat": {"type": "number"}, "lon": {"type": "number"}, "id": {}}}},
                    "k": {"type": "integer"}, "crs": {"type": "string"}, "amenities": {"type": "array"},
                    "open": {"type": "string"}, "mode": {"type": "string"}}}}}},
            "responses": _responses("Nearest stations per point")}},
        "/api/v1/stations": {"get": {
            "summary": "Stations as a GeoJSON FeatureCollection (bbox, filters, paging, ETag)",
            "parameters": openapi_parameters(STATIONS_PARAMS), "responses": _responses("FeatureCollection")}},
        "/api/v1/stations/{station_id}": {"get": {
            "summary": "One station as a GeoJSON Feature",
            "parameters": [{"name": "station_id", "in": "path", "required": True, "schema": {"type": "string"}},
                           *openapi_parameters(STATION_PARAMS)],
            "responses": _responses("Feature")}},
        "/api/v1/coverage": {"get": {
            "summary": "Coverage of an area by the service circle (planners)",
            "description": "Share of area and demand within `minutes` of 1 and of 2+ stations, ranked gap "
                           "polygons (GeoJSON, WGS-84) with area in km², and a per-district table.",
            "parameters": openapi_parameters(COVERAGE_PARAMS), "responses": _responses("Coverage result")}},
        "/api/v1/amenities": {"get": {"summary": "The amenity vocabulary with Chinese and English labels",
                                      "responses": _responses("Vocabulary")}},
        "/api/v1/health": {"get": {"summary": "Health and store revision", "responses": _responses("OK")}},
    }
    from . import map_api

    for path, summary, params in (
            ("/api/v1/clusters", "Stations in a box, clustered on the server at low zooms (the map's data)",
             map_api.CLUSTER_PARAMS),
            ("/api/v1/search", "Stations by name", map_api.SEARCH_PARAMS),
            ("/api/v1/places", "Places (admin areas) by name, offline", map_api.PLACES_PARAMS),
            ("/api/v1/outlines/county", "County outlines of one map cell (offline basemap)",
             map_api.COUNTY_OUTLINE_PARAMS),
            ("/api/v1/transform", "Convert a point between wgs84, gcj02 and bd09", map_api.TRANSFORM_PARAMS)):
        paths[path] = {"get": {"summary": summary, "parameters": openapi_parameters(params),
                               "responses": _responses("OK")}}
    paths["/api/v1/outlines/province"] = {"get": {"summary": "Province outlines (offline basemap)",
                                                  "responses": _responses("OK")}}
    return {"openapi": "3.0.3",
            "info": {"title": "stations API", "version": __version__,
                     "description": "Outdoor-worker rest stations (工会驿站): nearest lookup and records."},
            "paths": paths,
            "components": {"schemas": {"Problem": PROBLEM_SCHEMA}}}
