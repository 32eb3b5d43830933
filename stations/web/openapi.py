"""The OpenAPI 3 document, made from the routes themselves.

Each API view declares what it takes and answers next to its code, with the
:func:`operation` decorator (summary, query parameters as :class:`~.params.Param`, request
body, the JSON Schema of its 2xx answer, the errors it may give and the credentials it needs). :func:`openapi_document` walks the application's
URL map and documents every route that has a declaration, with the limits of the running
app's settings (``max_k``, ``page_max``, ``batch_max_points``), so the document cannot
list a path the server lacks nor a limit it does not apply. This module imports nothing
from the views: they import it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from flask import Flask

from .. import __version__
from ..config import Settings
from ..records import FIELDS
from . import MAX_BODY_BYTES, MAX_HEADER_BYTES, MAX_HEADER_COUNT, MAX_PATH_BYTES, MAX_QUERY_BYTES
from .params import Param, openapi_parameter

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details; `errors` names each bad parameter, its value and what is allowed.",
    "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                   "detail": {"type": "string"},
                   "errors": {"type": "array", "items": {"type": "object", "required": ["parameter", "reason"],
                                                         "properties": {
                                                             "parameter": {"type": "string"}, "value": {},
                                                             "reason": {"type": "string"},
                                                             "allowed": {"type": "string"},
                                                             "row": {"type": "integer"}}}}},
    "required": ["type", "title", "status", "detail"],
}
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_PROBLEM = {"application/problem+json": {"schema": _PROBLEM_REF}}
# A station's stored record: every field of stations.records, null when unknown.
RECORD_SCHEMA = {
    "type": "object", "description": "The station's stored record (see `stations/records.py`); null when unknown.",
    "required": ["station_id", "name", "status"],
    "properties": {f.name: {"type": "number", "nullable": True} if f.kind == "float"
                   else {"type": "string", "nullable": True} for f in FIELDS}}
RECORD_SCHEMA["properties"]["flags"] = {"type": "array", "items": {"type": "string"}}
STALE_PROBLEM_SCHEMA = {"allOf": [_PROBLEM_REF, {
    "type": "object", "required": ["current"],
    "properties": {"current": {"allOf": [{"$ref": "#/components/schemas/StationRecord"}],
                               "nullable": True,
                               "description": "The record as it is now (its ETag is in the `ETag` header)."}}}]}
RATE_PROBLEM_SCHEMA = {"allOf": [_PROBLEM_REF, {
    "type": "object", "required": ["retry_after_s"],
    "properties": {"retry_after_s": {"type": "integer", "minimum": 1,
                                     "description": "Seconds until a request is accepted again (as `Retry-After`)."}}}]}
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "An API token (`stations tokens create USER`): `Authorization: Bearer stn_...`."},
    "session": {"type": "apiKey", "in": "cookie", "name": "stations_session",
                "description": "The workspace's login session (made by logging in at `/workspace/login`)."},
    "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token",
             "description": "With the session cookie, a write must echo the `stations_csrf` cookie's value in this "
                            "header (a Bearer token needs none)."},
}
# Who may call a route: a write needs a token, or the session with its CSRF token; a read
# (GET) a token or the session.
SECURITY = {"write": [{"bearer": []}, {"session": [], "csrf": []}], "read": [{"bearer": []}, {"session": []}]}
# Statuses an operation may declare in ``errors`` (beyond 400, 404 and 503, which have their own flags).
ERROR_STATUSES = ("401", "403", "409", "410", "412", "428", "429")
_ERROR_CONTENT = {"412": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/StaleProblem"}}},
                  "429": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/RateLimited"}}}}
_ERROR_HEADERS = {
    "401": {"WWW-Authenticate": {"description": "`Bearer realm=\"stations\"`.", "schema": {"type": "string"}}},
    "412": {"ETag": {"description": "The current record's ETag: retry with it in `If-Match`.",
                     "schema": {"type": "string"}}},
    "429": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer", "minimum": 1}}},
}
# Answers every route may give, whatever it declares (see stations.web.create_app).
_ALWAYS = {
    "405": "Method not allowed: the `Allow` header lists the route's methods.",
    "414": f"The query string (over {MAX_QUERY_BYTES:,} bytes) or the path (over {MAX_PATH_BYTES:,} bytes) is "
           "too long.",
    "431": f"Too many request headers (over {MAX_HEADER_COUNT}), or one longer than {MAX_HEADER_BYTES:,} bytes.",
}
_ETAG_HEADER = {"ETag": {"description": "Validator of this answer: send it back in `If-None-Match`.",
                         "schema": {"type": "string"}}}
_ALLOW_HEADER = {"Allow": {"description": "The methods of this route.", "schema": {"type": "string"}}}


@dataclass(frozen=True)
class Operation:
    """What one API route takes and answers, for the OpenAPI document.

    ``response`` is the JSON Schema of the success answer (``application/json``, status
    ``status``, with ``headers``); ``body`` the schema of a request body (``body_media``, and
    optional unless ``body_required``), or a callable ``(settings) -> schema`` when it shows
    limits from the settings. ``header_params`` are request headers (``If-Match``).
    ``not_found`` says the route answers 404 for an unknown thing, ``etag`` that it answers
    304 to a matching ``If-None-Match``, ``store`` that it reads the station store (503 when
    the store cannot be read). ``auth`` is ``"write"`` or ``"read"`` for a route that needs
    credentials (see :data:`SECURITY`; it answers 401 without them), and ``errors`` maps each
    further status it may give (:data:`ERROR_STATUSES`) to when.
    """

    summary: str
    response: Mapping[str, Any]
    description: str = ""
    params: Sequence[Param] = ()
    path_params: Sequence[Param] = ()
    body: Mapping[str, Any] | Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None
    not_found: str = ""
    etag: bool = False
    store: bool = True
    status: int = 200
    headers: Mapping[str, Any] | None = None
    header_params: Sequence[Param] = ()
    body_media: str = "application/json"
    body_required: bool = True
    auth: str | None = None
    errors: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        if self.auth not in (None, *SECURITY):
            raise ValueError(f"operation {self.summary!r}: auth {self.auth!r}; allowed: None, {', '.join(SECURITY)}")
        wrong = [s for s in self.errors or () if s not in ERROR_STATUSES]
        if wrong:
            raise ValueError(f"operation {self.summary!r}: errors {wrong}; allowed: {', '.join(ERROR_STATUSES)}")


def operation(**declaration: Any) -> Callable:
    """Decorator: declare a view's :class:`Operation` (put it under the route decorator)."""
    op = Operation(**declaration)

    def declare(view: Callable) -> Callable:
        view.operation = op
        return view

    return declare


def api_operations(app: Flask) -> list[tuple[str, str, Callable]]:
    """(rule, method, view) of every ``/api/`` route of ``app``, in path order."""
    out = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.rule.startswith("/api/"):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                out.append((rule.rule, method, app.view_functions[rule.endpoint]))
    return out


def openapi_document(app: Flask) -> dict:
    """The OpenAPI 3.0 document of ``app``'s declared API routes, with its settings' limits."""
    settings = app.config["STATIONS"]
    paths: dict[str, dict] = {}
    for rule, method, view in api_operations(app):
        op: Operation | None = getattr(view, "operation", None)
        if op is not None:
            path = re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule)
            paths.setdefault(path, {})[method.lower()] = _operation(op, view, method, settings)
    return {"openapi": "3.0.3",
            "info": {"title": "stations API", "version": __version__,
                     "description": "Outdoor-worker rest stations (工会驿站): nearest lookup, records, maps and "
                                    "coverage. Every error is `application/problem+json` (RFC 9457) with `errors: "
                                    "[{parameter, value, reason, allowed}]`. Query parameters: leave one out for "
                                    "its default (an empty value is refused), give each once, lists comma-"
                                    "separated."},
            "paths": paths,
            "components": {"schemas": {"Problem": PROBLEM_SCHEMA, "StaleProblem": STALE_PROBLEM_SCHEMA,
                                       "RateLimited": RATE_PROBLEM_SCHEMA, "StationRecord": RECORD_SCHEMA},
                           "securitySchemes": SECURITY_SCHEMES}}


def _operation(op: Operation, view: Callable, method: str, settings: Settings) -> dict:
    out: dict[str, Any] = {"operationId": view.__name__, "summary": op.summary}
    if op.description:
        out["description"] = op.description
    params = [openapi_parameter(p, settings, location="path") for p in op.path_params]
    params += [openapi_parameter(p, settings) for p in op.params]
    params += [openapi_parameter(p, settings, location="header") for p in op.header_params]
    if params:
        out["parameters"] = params
    if op.body is not None:
        body = op.body(settings) if callable(op.body) else op.body
        out["requestBody"] = {"required": op.body_required, "content": {op.body_media: {"schema": body}}}
    if op.auth is not None:
        out["security"] = SECURITY[op.auth]
    ok: dict[str, Any] = {"description": "Created" if op.status == 201 else "OK",
                          "content": {"application/json": {"schema": op.response}}}
    if op.etag or op.headers:
        ok["headers"] = {**(_ETAG_HEADER if op.etag else {}), **(op.headers or {})}
    responses: dict[str, Any] = {str(op.status): ok}
    if op.etag:
        responses["304"] = {"description": "Not modified: the `If-None-Match` ETag is still current.",
                            "headers": _ETAG_HEADER}
    responses["400"] = {"description": "Invalid request: each bad parameter is named in `errors` (every route "
                                       "refuses a query string that is not UTF-8).", "content": _PROBLEM}
    if op.not_found:
        responses["404"] = {"description": op.not_found, "content": _PROBLEM}
    errors = dict(op.errors or {})
    if op.auth is not None:
        errors.setdefault("401", "No credentials, or a token that is unknown, revoked or of a disabled user.")
    for status, text in errors.items():
        responses[status] = {"description": text, "content": _ERROR_CONTENT.get(status, _PROBLEM)}
        if status in _ERROR_HEADERS:
            responses[status]["headers"] = _ERROR_HEADERS[status]
    for status, text in _ALWAYS.items():
        responses[status] = {"description": text, "content": _PROBLEM}
    responses["405"]["headers"] = _ALLOW_HEADER
    if op.body is not None:
        responses["413"] = {"description": f"The request body is over {MAX_BODY_BYTES // 1024 ** 2} MB.",
                            "content": _PROBLEM}
    if op.store:
        responses["503"] = {"description": "The station store cannot be read (a server-side failure).",
                            "content": _PROBLEM}
    out["responses"] = dict(sorted(responses.items()))
    return out
