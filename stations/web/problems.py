"""One error shape for the whole API: RFC 9457 ``application/problem+json``.

Every error response is ``{"type", "title", "status", "detail", "errors"?}`` where
``errors`` lists ``{"parameter", "value", "reason", "allowed"}`` — the parameter, the bad
value and what is allowed.
"""

from __future__ import annotations

from typing import Any, Iterable

from flask import Response, json

from ..errors import Problem

PROBLEM_TYPES = {
    400: ("invalid-request", "Invalid request"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("payload-too-large", "Payload too large"),
    414: ("uri-too-long", "Query string too long"),
    415: ("unsupported-media-type", "Unsupported media type"),
    500: ("internal-error", "Internal server error"),
    503: ("service-unavailable", "Service unavailable"),
}


def problem_body(status: int, detail: str, problems: Iterable[Problem] = (), **extra: Any) -> dict:
    slug, title = PROBLEM_TYPES.get(status, ("error", "Error"))
    body: dict[str, Any] = {"type": f"/api/v1/problems#{slug}", "title": title, "status": status, "detail": detail}
    errors = []
    for p in problems:
        d = p.as_dict()
        d["parameter"] = d.pop("field")
        errors.append(d)
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


def problem_response(status: int, detail: str, problems: Iterable[Problem] = (), **extra: Any) -> Response:
    body = problem_body(status, detail, problems, **extra)
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json")
