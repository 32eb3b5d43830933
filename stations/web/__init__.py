"""The web layer: ``create_app`` builds the Flask application (API, pages, static assets).

Configuration is read here, from :func:`stations.config.load_settings` plus
``test_config`` — never at import time.

Every error the application answers is ``application/problem+json`` (RFC 9457; see
:mod:`.problems`). Its own request limits sit below gunicorn's so that the application, not
gunicorn, answers a request that goes over them:

============================  ==========================  ==============================
limit                         the app (414 / 431)         gunicorn (text/html 414 / 431)
============================  ==========================  ==============================
query string                  4,096 bytes                 request line 8,190 bytes
path                          2,048 bytes                 (the same request line)
header count                  64                          100 (``limit_request_fields``)
one header                    4,096 bytes                 8,190 (``limit_request_field_size``)
============================  ==========================  ==============================

What gunicorn refuses before the application sees it (a request line over 8,190 bytes,
over 100 headers, a header line over 8,190 bytes, a malformed request line) is answered
by gunicorn itself, in text/html: the one case outside the problem shape.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from typing import Any, Mapping

from flask import Flask, Response, current_app, request
from flask_compress import Compress
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.middleware.proxy_fix import ProxyFix

from ..config import load_settings
from ..errors import GeocodeError, NotFoundError, Problem, StationsError, StoreError
from ..store import StoreReadOnly
from .problems import problem_response

MAX_QUERY_BYTES = 4096
MAX_PATH_BYTES = 2048
MAX_HEADER_COUNT = 64
MAX_HEADER_BYTES = 4096
MAX_BODY_BYTES = 2 * 1024 * 1024
# What each library error means to a client: the user's input (400, the default), a thing
# that does not exist (404), or a failure on the server's side (the store cannot be read:
# 503) or of an upstream service (a geocoder: 502).
ERROR_STATUS: tuple[tuple[type[StationsError], int], ...] = ((NotFoundError, 404), (StoreError, 503),
                                                             (GeocodeError, 502))
log = logging.getLogger(__name__)
# What a script on another origin may send (preflight) and read (answers) through CORS.
CORS_ALLOW_HEADERS = "Authorization, Content-Type, If-Match, If-None-Match, X-CSRF-Token"
CORS_EXPOSE_HEADERS = "ETag, Location, Retry-After"
#: ``Retry-After`` of a 503 the store caused (it cannot be reached, a writer holds it): about
#: what a database restart takes; the pool reconnects by itself meanwhile.
STORE_RETRY_AFTER_S = 5


def utc_now() -> dt.datetime:
    """The application's clock (``app.extensions["stations.clock"]``; tests set their own)."""
    return dt.datetime.now(dt.timezone.utc)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application. ``test_config`` overrides settings (e.g. ``{"store": path}``)."""
    from ..mapping import assets  # STATIC_DIR read when the app is made (a test points it at a copy)
    from ..service import StationService, build_snapshot

    # The package's own static folder (package data: an installed wheel serves it too).
    app = Flask(__name__, static_folder=str(assets.STATIC_DIR), static_url_path="/static")
    settings = load_settings(test_config)
    app.config["STATIONS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["JSON_AS_ASCII"] = False
    if settings.proxy_hops > 0:
        # Behind reverse proxies: the client address (rate limits), scheme (Secure cookies,
        # links) and host come from the headers the trusted proxies set; no more hops than
        # configured, so a client cannot claim another address by sending the header itself.
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    from ..navigation import LinkSettings
    from ..travel import travels_from_settings

    travels = app.extensions["stations.travels"] = travels_from_settings(settings)  # speeds and circuity, once
    app.extensions["stations.links"] = LinkSettings.from_settings(settings)  # checked once: a bad one stops here
    # JSON, pages and static files compressed when the client accepts it (zstd, br, gzip, in that order;
    # static files too with gzip), answers under 500 bytes as they are. flask-compress adds
    # "Vary: Accept-Encoding", appends the encoding to a strong ETag and answers If-None-Match with 304.
    app.config["COMPRESS_ALGORITHM_STREAMING"] = ["zstd", "br", "gzip", "deflate"]
    # gzip at level 3, not flask-compress's 6: a k=5 /nearest answer (11.5 KB) takes 76 µs instead
    # of 119 and is 1,984 bytes instead of 1,874 (benchmarks/bench_http.py). zstd (level 3:
    # 34 µs, 1,877 bytes) and br (level 4: 145 µs, 1,821 bytes) keep their defaults.
    app.config["COMPRESS_LEVEL"] = 3
    Compress(app)
    # Opens the store (never creating one: a missing store raises StoreError), builds and warms
    # the first snapshot — in a gunicorn worker, before it accepts a connection — and starts
    # the thread that swaps in new snapshots.
    app.extensions["stations"] = StationService(
        settings.store, build=functools.partial(build_snapshot, max_k=settings.max_k),
        warm_up=functools.partial(_warm_up, travels=travels, k=min(5, settings.max_k)),
        pool_size=settings.store_pool_size, refresh_s=settings.refresh_s)

    from . import api, map_api, pages

    app.register_blueprint(api.bp)
    app.register_blueprint(map_api.bp)
    app.register_blueprint(pages.bp)
    from . import auth, embed, ogc, opendata, reports, workspace, writes

    # accounts: staff writes, workers' reports, the workspace; open data: OGC API - Features, dumps,
    # change feed, /embed
    for blueprint in (auth.bp, writes.bp, reports.bp, workspace.bp, ogc.bp, opendata.bp, opendata.changes_bp,
                      embed.bp):
        app.register_blueprint(blueprint)
    _errors(app)
    app.extensions["stations.clock"] = utc_now
    app.before_request(_check_limits)
    app.after_request(_cors)
    return app


def _check_limits() -> Response | None:
    """Refuse a request over the application's limits (see the module's table)."""
    query_bytes = len(request.query_string)
    if query_bytes > MAX_QUERY_BYTES:
        return problem_response(414, f"the query string is {query_bytes} bytes; at most {MAX_QUERY_BYTES} are "
                                     "accepted", [Problem("query", query_bytes, "too long",
                                                          f"at most {MAX_QUERY_BYTES} bytes")])
    try:  # werkzeug reads the query as UTF-8 and fails on a raw byte that is not
        request.query_string.decode()
    except UnicodeDecodeError as exc:
        return problem_response(400, "the query string is not UTF-8 (escape bytes as %XX)",
                                [Problem("query", repr(request.query_string[exc.start:exc.start + 8]),
                                         "not UTF-8", "UTF-8 text, other bytes percent-encoded")])
    environ = request.environ
    raw_path = environ.get("RAW_URI") or environ.get("PATH_INFO", "")
    path_bytes = len(raw_path.partition("?")[0])
    if path_bytes > MAX_PATH_BYTES:
        return problem_response(414, f"the path is {path_bytes} bytes; at most {MAX_PATH_BYTES} are accepted",
                                [Problem("path", path_bytes, "too long", f"at most {MAX_PATH_BYTES} bytes")])
    # The headers as the environ holds them (cheaper than building request.headers).
    count, longest, longest_name = 0, 0, ""
    for key, value in environ.items():
        if key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            count += 1
            if len(key) + len(value) > longest:
                longest, longest_name = len(key) + len(value), key
    if count > MAX_HEADER_COUNT:
        return problem_response(431, f"the request has {count} headers; at most {MAX_HEADER_COUNT} are accepted",
                                [Problem("headers", count, "too many", f"at most {MAX_HEADER_COUNT}")])
    if longest > MAX_HEADER_BYTES:
        name = longest_name.removeprefix("HTTP_").replace("_", "-").title()
        return problem_response(431, f"the header {name} is {longest} bytes; at most {MAX_HEADER_BYTES} are accepted",
                                [Problem(name, environ[longest_name][:40] + "…", "too long",
                                         f"at most {MAX_HEADER_BYTES} bytes")])
    return None


def _route_methods() -> str | None:
    """The methods of the request's path (also when its method was not one of them), across
    every rule of that path: ``GET /api/v1/stations`` and ``POST /api/v1/stations`` are two."""
    if request.url_rule is None and not isinstance(request.routing_exception, MethodNotAllowed):
        return None
    methods = current_app.url_map.bind_to_environ(request.environ).allowed_methods()
    return ", ".join(sorted(methods)) or None


def _cors(response: Response) -> Response:
    """CORS for /api/: every answer may be read from any origin; a preflight (OPTIONS) and a 405
    also say the route's methods (``Allow``, ``Access-Control-Allow-Methods``) and the request
    headers a script may send (a token, If-Match, the CSRF token; no cookies cross origins:
    no ``Allow-Credentials``)."""
    if request.path.startswith("/api/"):
        headers = response.headers
        headers["Access-Control-Allow-Origin"] = "*"
        headers["Access-Control-Expose-Headers"] = CORS_EXPOSE_HEADERS
        if request.method == "OPTIONS" or response.status_code == 405:
            methods = _route_methods()
            if methods:
                headers["Allow"] = methods
                headers["Access-Control-Allow-Methods"] = methods
            headers["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
    return response


# Queries run on every new snapshot before it answers: numba kernels compiled (or loaded
# from their cache), positions in each system, today's opening labels, arrival times.
_WARM_UP_QUERIES = ({}, {"crs": "gcj02"}, {"crs": "bd09", "lang": "en"}, {"open": "now"},
                    {"open": "arrival", "mode": "ebike"})


def _warm_up(snapshot, *, travels, k: int) -> None:
    from ..lookup import nearest  # as create_app: the web package imports its views' modules late

    for query in _WARM_UP_QUERIES:
        nearest(snapshot, lat=39.9042, lon=116.4074, k=k, travels=travels, **query)


def _errors(app: Flask) -> None:
    @app.errorhandler(StationsError)
    def _library(exc: StationsError):
        status = next((code for cls, code in ERROR_STATUS if isinstance(exc, cls)), 400)
        if status < 500:
            return problem_response(status, str(exc), exc.problems)
        # The server's or an upstream service's failure: the details (paths, hosts) go to the log.
        log.error("%s on %s: %s", type(exc).__name__, request.path, exc)
        if status != 503:
            return problem_response(status, "an upstream service failed; the error has been logged")
        # The one place a store failure becomes an answer: every such 503 says when to retry.
        retry = [("Retry-After", str(STORE_RETRY_AFTER_S))]
        if isinstance(exc, StoreReadOnly):
            return problem_response(503, f"this instance's database role {exc.role!r} may only read: it serves "
                                         "reads only; send writes to an instance whose role may write",
                                    headers=retry)
        return problem_response(503, "the station store cannot be read; the error has been logged", headers=retry)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        detail = exc.description or exc.name
        if isinstance(exc, MethodNotAllowed):
            allowed = ", ".join(sorted(exc.valid_methods or ()))
            detail = f"{request.method} is not allowed on {request.path}; allowed: {allowed}"
        return problem_response(exc.code or 500, detail, headers=headers)

    @app.errorhandler(Exception)
    def _crash(exc: Exception):  # the last resort: still the one error shape, and logged
        log.exception("unhandled error on %s", request.path)
        return problem_response(500, "an internal error occurred; it has been logged")
