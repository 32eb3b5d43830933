"""The web layer: ``create_app`` builds the Flask application (API, pages, static assets).

Configuration is read here, from :func:`stations.config.load_settings` plus
``test_config`` — never at import time.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from ..config import load_settings
from ..errors import CoordinateError, NotFoundError, Problem, StationsError, ValidationError
from .problems import problem_response

MAX_QUERY_BYTES = 4096
MAX_BODY_BYTES = 2 * 1024 * 1024
log = logging.getLogger(__name__)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application. ``test_config`` overrides settings (e.g. ``{"store": path}``)."""
    from ..mapping.assets import STATIC_DIR  # here: stations.mapping loads folium (0.8 s), as the pages do
    from ..service import StationService

    # The package's own static folder (package data: an installed wheel serves it too).
    app = Flask(__name__, static_folder=str(STATIC_DIR), static_url_path="/static")
    settings = load_settings(test_config)
    app.config["STATIONS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["JSON_AS_ASCII"] = False
    app.extensions["stations"] = StationService(settings["store"])
    from ..lookup import Travel

    app.extensions["stations.travel"] = Travel.from_settings(settings)  # speeds and circuity, once

    from . import api, map_api, pages

    app.register_blueprint(api.bp)
    app.register_blueprint(map_api.bp)
    app.register_blueprint(pages.bp)
    from . import embed, ogc, opendata  # open data: OGC API - Features, dumps, change feed, /embed
    for blueprint in (ogc.bp, opendata.bp, opendata.changes_bp, embed.bp):
        app.register_blueprint(blueprint)
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
