"""The web layer: ``create_app`` builds the Flask application (API, pages, static assets).

Configuration is read here, from :func:`stations.config.load_settings` plus
``test_config`` — never at import time.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any, Mapping

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from ..config import load_settings
from ..errors import CoordinateError, NotFoundError, Problem, StationsError, ValidationError
from .problems import problem_response

ROOT = Path(__file__).resolve().parents[2]
MAX_QUERY_BYTES = 4096
MAX_BODY_BYTES = 2 * 1024 * 1024
log = logging.getLogger(__name__)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application. ``test_config`` overrides settings (e.g. ``{"store": path}``)."""
    from ..service import StationService

    app = Flask(__name__, static_folder=str(ROOT / "static"), static_url_path="/static")
    settings = load_settings(test_config)
    app.config["STATIONS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["JSON_AS_ASCII"] = False
    from ..lookup import Travel

    travel = app.extensions["stations.travel"] = Travel.from_settings(settings)  # speeds and circuity, once
    # Opens the store (never creating one: a missing store raises StoreError), builds and warms
    # the first snapshot — in a gunicorn worker, before it accepts a connection — and starts
    # the thread that swaps in new snapshots.
    app.extensions["stations"] = StationService(settings["store"], warm_up=functools.partial(_warm_up, travel=travel))

    from . import api, map_api, pages

    app.register_blueprint(api.bp)
    app.register_blueprint(map_api.bp)
    app.register_blueprint(pages.bp)
    _errors(app)

    @app.before_request
    def _limit_query():
        if len(request.query_string) > MAX_QUERY_BYTES:
            return problem_response(414, f"the query string is {len(request.query_string)} bytes; "
                                         f"at most {MAX_QUERY_BYTES} are accepted",
                                    [Problem("query", len(request.query_string), "too long",
                                             f"at most {MAX_QUERY_BYTES} bytes")])
        if request.method == "OPTIONS" and request.path.startswith("/api/"):
            return app.make_default_options_response()
        return None

    @app.after_request
    def _cors(response):
        if request.path.startswith("/api/"):
            response.headers["Access-Control-Allow-Origin"] = "*"
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = "Content-Type, If-None-Match"
            response.headers["Access-Control-Expose-Headers"] = "ETag"
        return response

    return app


# Queries run on every new snapshot before it answers: numba kernels compiled (or loaded
# from their cache), positions in each system, today's opening labels, arrival times.
_WARM_UP_QUERIES = ({}, {"crs": "gcj02"}, {"crs": "bd09", "lang": "en"}, {"open": "now"},
                    {"open": "arrival", "mode": "ebike"})


def _warm_up(snapshot, *, travel) -> None:
    from ..lookup import nearest_json

    for query in _WARM_UP_QUERIES:
        nearest_json(snapshot, lat=39.9042, lon=116.4074, travel=travel, **query)


def _errors(app: Flask) -> None:
    @app.errorhandler(ValidationError)
    @app.errorhandler(CoordinateError)
    def _invalid(exc: StationsError):
        return problem_response(400, str(exc), exc.problems)

    @app.errorhandler(NotFoundError)
    def _not_found(exc: NotFoundError):
        return problem_response(404, str(exc), exc.problems)

    @app.errorhandler(StationsError)
    def _other(exc: StationsError):
        return problem_response(400, str(exc), exc.problems)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return problem_response(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(Exception)
    def _crash(exc: Exception):  # the last resort: still the one error shape, and logged
        log.exception("unhandled error on %s", request.path)
        return problem_response(500, "an internal error occurred; it has been logged")
