"""Who is asking: API tokens, workspace sessions, CSRF, and the HTTP face of the accounts' errors.

* ``Authorization: Bearer <token>`` (integrators) or the workspace's session cookie.
* The session cookie (``stations_session``) is ``HttpOnly``, ``SameSite=Lax``, and ``Secure``
  when the request came over TLS; the store keeps only its SHA-256.
* CSRF: a random per-browser token in the ``stations_csrf`` cookie that every form must echo
  in its ``csrf_token`` field (and a script in an ``X-CSRF-Token`` header, for API writes made
  with the session cookie). Another site can neither read the cookie nor make a browser send
  a matching field; requests with a Bearer token carry no ambient credentials and need none.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Blueprint, current_app, g, redirect, request, url_for
from werkzeug.wrappers import Response

from ..accounts import Forbidden, PreconditionFailed, RateLimited, Unauthorized, etag, user_for_session, user_for_token
from ..accounts.errors import Conflict, PreconditionRequired
from ..accounts.scopes import User
from .problems import problem_response

SESSION_COOKIE = "stations_session"
CSRF_COOKIE = "stations_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"

bp = Blueprint("auth", __name__)


def store():
    """The store of the running app (the service's own connection)."""
    return current_app.extensions["stations"].store()


def settings():
    return current_app.config["STATIONS"]


def client_address() -> str:
    """The client's address, for rate limits (hashed with a salt before it is stored)."""
    return request.remote_addr or "unknown"


def current_user(*, required: bool = True) -> User | None:
    """The user of this request (Bearer token first, then the session cookie); raises
    :class:`Unauthorized` when ``required`` and there is none."""
    if "user" in g:
        return g.user
    user = None
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must be 'Bearer <token>'")
        user = user_for_token(store(), token.strip())
    elif request.cookies.get(SESSION_COOKIE):
        try:
            user = user_for_session(store(), request.cookies[SESSION_COOKIE])
        except Unauthorized:
            user = None
    if user is None and required:
        raise Unauthorized("credentials needed: 'Authorization: Bearer <token>' or a workspace login")
    g.user = user
    return user


def csrf_token() -> str:
    """This browser's CSRF token (set as a cookie by :func:`_set_csrf_cookie` if new)."""
    token = request.cookies.get(CSRF_COOKIE) or g.get("new_csrf")
    if not token:
        token = g.new_csrf = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """Refuse a state-changing request made with cookies unless it echoes the CSRF token."""
    if request.headers.get("Authorization"):
        return  # a Bearer token is not sent by browsers on their own
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not cookie or not hmac.compare_digest(cookie, sent):
        raise Forbidden("the form's CSRF token is missing or does not match; reload the page and try again")


def writer() -> User:
    """The user of a write request: authenticated, and CSRF-checked when it came with a cookie."""
    user = current_user()
    if user.via == "session":
        check_csrf()
    return user


def set_session_cookie(resp: Response, sid: str | None) -> None:
    if sid is None:
        resp.delete_cookie(SESSION_COOKIE, path="/")
        return
    resp.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="Lax", secure=request.is_secure, path="/",
                    max_age=12 * 3600)


@bp.after_app_request
def _set_csrf_cookie(resp: Response) -> Response:
    new = g.get("new_csrf")
    if new:
        resp.set_cookie(CSRF_COOKIE, new, httponly=True, samesite="Lax", secure=request.is_secure, path="/")
    if request.path.startswith("/workspace"):
        resp.headers.setdefault("Cache-Control", "no-store")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Content-Security-Policy", "default-src 'self'; img-src 'self' data: https:; "
                                                           "style-src 'self'; script-src 'self'; frame-ancestors 'none'")
    return resp


def _is_page() -> bool:
    return request.path.startswith("/workspace")


@bp.app_errorhandler(Unauthorized)
def _unauthorized(exc: Unauthorized):
    if _is_page():
        return redirect(url_for("workspace.login", next=request.full_path if request.method == "GET" else None))
    resp = problem_response(401, str(exc), exc.problems)
    resp.headers["WWW-Authenticate"] = 'Bearer realm="stations"'
    return resp


@bp.app_errorhandler(Forbidden)
@bp.app_errorhandler(Conflict)
@bp.app_errorhandler(PreconditionRequired)
def _refused(exc):
    if _is_page():
        from .workspace import error_page

        return error_page(exc.status, str(exc))
    return problem_response(exc.status, str(exc), exc.problems)


@bp.app_errorhandler(PreconditionFailed)
def _stale(exc: PreconditionFailed):
    if _is_page():
        from .workspace import error_page

        return error_page(412, str(exc))
    resp = problem_response(412, str(exc), exc.problems, current=_public_record(exc.current))
    resp.headers["ETag"] = exc.etag
    return resp


@bp.app_errorhandler(RateLimited)
def _limited(exc: RateLimited):
    if _is_page():
        from .workspace import error_page

        resp = error_page(429, str(exc))
    else:
        resp = problem_response(429, str(exc), exc.problems, retry_after_s=exc.retry_after_s)
    resp.headers["Retry-After"] = str(exc.retry_after_s)
    return resp


def _public_record(rec: dict | None) -> dict | None:
    if rec is None:
        return None
    return {k: (None if isinstance(v, float) and v != v else v) for k, v in rec.items()}


def record_response(rec: dict, status: int = 200, **extra) -> Response:
    """A stored record as JSON with its ETag (what PATCH's If-Match needs)."""
    import orjson

    body = {"record": _public_record(rec), "etag": etag(rec), **extra}
    return Response(orjson.dumps(body, default=str), status=status, content_type="application/json",
                    headers={"ETag": etag(rec), "Cache-Control": "no-store"})
