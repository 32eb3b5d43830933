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
    from .api import NEAREST_PARAMS, STATION_PARAMS, STATIONS_PARAMS

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
        "/api/v1/amenities": {"get": {"summary": "The amenity vocabulary with Chinese and English labels",
                                      "responses": _responses("Vocabulary")}},
        "/api/v1/health": {"get": {"summary": "Health and store revision", "responses": _responses("OK")}},
    }
    return {"openapi": "3.0.3",
            "info": {"title": "stations API", "version": __version__,
                     "description": "Outdoor-worker rest stations (工会驿站): nearest lookup and records."},
            "paths": paths,
            "components": {"schemas": {"Problem": PROBLEM_SCHEMA}}}
