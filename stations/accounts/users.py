"""Accounts, API tokens and login sessions, stored in the station store.

Passwords are hashed with argon2id (argon2-cffi); API tokens and session ids are 32 random
bytes shown once and stored only as their SHA-256. Every function takes the store (a
:class:`~stations.store.GeoPackageStore`), so the command line, the API and the workspace
share one implementation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..errors import NotFoundError, Problem, ValidationError
from ..records import adcode_prefix
from .errors import Conflict, Unauthorized
from .scopes import User, check_role, parse_areas

TOKEN_PREFIX = "stn_"
SESSION_LIFETIME_S = 12 * 3600
MIN_PASSWORD_CHARS = 10
MAX_NAME_CHARS = 64
_NAME = re.compile(r"^[\w.\-@]+$")
_hasher = PasswordHasher()
# Verifying against this keeps an unknown user name as slow as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _user(row: dict, via: str = "") -> User:
    return User(user_id=row["user_id"], name=row["name"], role=row["role"],
                # adcode_prefix: accounts stored before it read 130000 as one adcode
                areas=tuple(adcode_prefix(a) for a in (row["areas"] or "").split(",") if a),
                disabled=bool(row["disabled"]), via=via)


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_CHARS or not _NAME.match(name):
        raise ValidationError.from_problems([Problem("name", name, "not a usable user name",
                                                     f"1 to {MAX_NAME_CHARS} letters, digits, '.', '-', '_' or '@'")])
    return name


def _check_password(password: str | None) -> None:
    if password is not None and len(password) < MIN_PASSWORD_CHARS:
        raise ValidationError.from_problems([Problem("password", "(hidden)", "too short",
                                                     f"at least {MIN_PASSWORD_CHARS} characters")])


def add_user(store, name: str, *, role: str, areas=(), password: str | None = None) -> User:
    """Create an account. Without a password it can use API tokens only."""
    name = _check_name(name)
    check_role(role)
    area_codes = parse_areas(areas, role=role)
    _check_password(password)
    pw_hash = _hasher.hash(password) if password is not None else None
    with store.transaction() as db:
        if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
            raise Conflict(f"a user named {name!r} already exists", [Problem("name", name, "already exists",
                                                                                "a new name")])
        cur = db.execute("INSERT INTO users (name, role, areas, password_hash, created_at) VALUES (?, ?, ?, ?, ?) "
                         "RETURNING user_id", (name, role, ",".join(area_codes), pw_hash, now_iso()))
        user_id = cur.fetchall()[0][0]  # fetchall: the statement ends before COMMIT
    return User(user_id, name, role, area_codes)


def get_user(store, name: str) -> User:
    rows = store.query("SELECT * FROM users WHERE name = ?", (name,))
    if not rows:
        raise NotFoundError(f"no user named {name!r}; `stations users list` shows them")
    return _user(rows[0])


def list_users(store) -> list[dict]:
    rows = store.query("SELECT user_id, name, role, areas, disabled, created_at, last_login_at, "
                       "password_hash IS NOT NULL AS has_password FROM users ORDER BY name")
    for r in rows:
        r["areas"] = [a for a in (r["areas"] or "").split(",") if a]
        r["disabled"] = bool(r["disabled"])
        r["has_password"] = bool(r["has_password"])
    return rows


def disable_user(store, name: str) -> User:
    """Disable an account: its sessions end and its tokens stop working (they stay listed)."""
    user = get_user(store, name)
    with store.transaction() as db:
        db.execute("UPDATE users SET disabled = 1 WHERE user_id = ?", (user.user_id,))
        db.execute("DELETE FROM sessions WHERE user_id = ?", (user.user_id,))
    return get_user(store, name)


def set_password(store, name: str, password: str) -> None:
    user = get_user(store, name)
    _check_password(password)
    with store.transaction() as db:
        db.execute("UPDATE users SET password_hash = ? WHERE user_id = ?", (_hasher.hash(password), user.user_id))


def authenticate(store, name: str, password: str) -> User:
    """The user with this name and password; :class:`Unauthorized` otherwise (one message for
    an unknown name, a wrong password or a disabled account)."""
    rows = store.query("SELECT * FROM users WHERE name = ?", ((name or "").strip(),))
    row = rows[0] if rows else None
    try:
        _hasher.verify(row["password_hash"] if row and row["password_hash"] else _DUMMY_HASH, password or "")
        ok = row is not None and row["password_hash"] is not None and not row["disabled"]
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok:
        raise Unauthorized("wrong user name or password, or the account is disabled")
    with store.transaction() as db:
        db.execute("UPDATE users SET last_login_at = ? WHERE user_id = ?", (now_iso(), row["user_id"]))
        if _hasher.check_needs_rehash(row["password_hash"]):
            db.execute("UPDATE users SET password_hash = ? WHERE user_id = ?",
                       (_hasher.hash(password), row["user_id"]))
    return _user(row, via="session")


# -- API tokens ---------------------------------------------------------------------------
def create_token(store, name: str, *, label: str = "") -> tuple[int, str]:
    """A new API token for user ``name``: (token id, the token). The token is shown only now;
    the store keeps its SHA-256."""
    user = get_user(store, name)
    if user.disabled:
        raise Conflict(f"user {name!r} is disabled")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.transaction() as db:
        cur = db.execute("INSERT INTO api_tokens (user_id, token_sha256, label, created_at) VALUES (?, ?, ?, ?) "
                         "RETURNING token_id", (user.user_id, sha256_hex(token), label or None, now_iso()))
        token_id = cur.fetchall()[0][0]
    return token_id, token


def list_tokens(store, name: str | None = None) -> list[dict]:
    sql = ("SELECT t.token_id, u.name AS user, t.label, t.created_at, t.last_used_at, t.revoked_at "
           "FROM api_tokens t JOIN users u USING (user_id)")
    params: tuple = ()
    if name is not None:
        sql += " WHERE u.name = ?"
        params = (name,)
    return store.query(sql + " ORDER BY t.token_id", params)


def revoke_token(store, token_id: int) -> None:
    with store.transaction() as db:
        row = db.execute("SELECT revoked_at FROM api_tokens WHERE token_id = ?", (int(token_id),)).fetchone()
        if row is None:
            raise NotFoundError(f"no API token with id {token_id}; `stations tokens list` shows them")
        if row[0] is None:
            db.execute("UPDATE api_tokens SET revoked_at = ? WHERE token_id = ?", (now_iso(), int(token_id)))


def user_for_token(store, token: str) -> User:
    """The user of a live API token (and its last-used time is set); :class:`Unauthorized` otherwise."""
    rows = store.query("SELECT u.*, t.token_id, t.revoked_at FROM api_tokens t JOIN users u USING (user_id) "
                       "WHERE t.token_sha256 = ?", (sha256_hex(token or ""),))
    if not rows or rows[0]["revoked_at"] or rows[0]["disabled"]:
        raise Unauthorized("the API token is unknown, revoked, or its user is disabled")
    row = rows[0]
    with store.transaction() as db:
        db.execute("UPDATE api_tokens SET last_used_at = ? WHERE token_id = ?", (now_iso(), row["token_id"]))
    return _user(row, via=f"token:{row['token_id']}")


# -- sessions -----------------------------------------------------------------------------
def create_session(store, user: User, *, lifetime_s: float = SESSION_LIFETIME_S) -> str:
    """A new login session for ``user``: the session id for the cookie (stored hashed)."""
    sid = secrets.token_urlsafe(32)
    with store.transaction() as db:
        db.execute("DELETE FROM sessions WHERE expires_at < ?", (time.time(),))
        db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)",
                   (sha256_hex(sid), user.user_id, now_iso(), time.time() + lifetime_s))
    return sid


def user_for_session(store, sid: str) -> User:
    rows = store.query("SELECT u.*, s.expires_at FROM sessions s JOIN users u USING (user_id) "
                       "WHERE s.session_sha256 = ?", (sha256_hex(sid or ""),))
    if not rows or rows[0]["expires_at"] < time.time() or rows[0]["disabled"]:
        raise Unauthorized("not logged in, or the session has expired")
    return _user(rows[0], via="session")


def end_session(store, sid: str) -> None:
    with store.transaction() as db:
        db.execute("DELETE FROM sessions WHERE session_sha256 = ?", (sha256_hex(sid or ""),))


# -- secrets and rate limits ----------------------------------------------------------------
def app_secret(store, name: str) -> str:
    """A random secret kept in the store (made on first use), shared by every process."""
    rows = store.query("SELECT value FROM app_secrets WHERE name = ?", (name,))
    if rows:
        return rows[0]["value"]
    with store.transaction() as db:
        db.execute("INSERT INTO app_secrets VALUES (?, ?) ON CONFLICT DO NOTHING", (name, secrets.token_hex(32)))
    return store.query("SELECT value FROM app_secrets WHERE name = ?", (name,))[0]["value"]


def client_hash(store, client: str) -> str:
    """A salted hash of a client address: the only trace of a client the store keeps."""
    return sha256_hex(app_secret(store, "client_salt") + "|" + (client or ""))[:32]


def hit_rate_limit(store, bucket: str, client: str, *, limit: int, window_s: float) -> None:
    """Count one request of ``client`` in ``bucket``; raise :class:`RateLimited` (with the
    seconds until the oldest counted request leaves the window) past ``limit`` per ``window_s``.
    The counters live in the store, so every server process shares them."""
    from .errors import RateLimited

    who = client_hash(store, client)
    now = time.time()
    with store.transaction() as db:
        db.execute("DELETE FROM rate_events WHERE at < ?", (now - 86400,))
        n, oldest = db.execute("SELECT count(*), min(at) FROM rate_events WHERE bucket = ? AND client_hash = ? "
                               "AND at > ?", (bucket, who, now - window_s)).fetchone()
        if n >= limit:
            retry = max(1, int(oldest + window_s - now) + 1)
            raise RateLimited(f"too many requests ({n} in {window_s:g} s); try again in {retry} s", retry)
        db.execute("INSERT INTO rate_events VALUES (?, ?, ?)", (bucket, who, now))
