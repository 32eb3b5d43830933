"""Errors of accounts and curation: each maps to one HTTP status and prints as one CLI line."""

from __future__ import annotations

from typing import Any

from ..errors import StationsError


class Unauthorized(StationsError):
    """No credentials, or credentials that are unknown, revoked or of a disabled user (HTTP 401)."""

    status = 401


class Forbidden(StationsError):
    """The user's role or areas do not allow this (HTTP 403). Nothing was changed."""

    status = 403


class PreconditionFailed(StationsError):
    """The record changed since the caller read it (HTTP 412); ``current`` is the record now."""

    status = 412

    def __init__(self, message: str, current: dict[str, Any] | None = None, etag: str = ""):
        super().__init__(message)
        self.current = current
        self.etag = etag


class PreconditionRequired(StationsError):
    """An edit without ``If-Match`` (HTTP 428): without it a stale edit would go unnoticed."""

    status = 428


class Conflict(StationsError):
    """The request contradicts the stored state (HTTP 409), e.g. a report already resolved."""

    status = 409


class RateLimited(StationsError):
    """Too many requests from one client (HTTP 429); ``retry_after_s`` says when to try again."""

    status = 429

    def __init__(self, message: str, retry_after_s: int):
        super().__init__(message)
        self.retry_after_s = retry_after_s
