"""An on-disk SQLite cache of geocoding answers, so a re-run asks no provider twice."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from pathlib import Path

from ..errors import StoreError
from ._base import GeocodeResult, check_query

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS geocode_cache (
    provider  TEXT NOT NULL,
    query     TEXT NOT NULL,   -- JSON [address, province, city, county], normalised
    result    TEXT,            -- GeocodeResult as JSON; NULL = the provider had no match
    stored_at REAL NOT NULL,   -- Unix time, seconds
    PRIMARY KEY (provider, query)
)
"""


def cache_key(address: str | None, *, province: str | None = None, city: str | None = None,
              county: str | None = None) -> str:
    """The normalised query text a cache entry is keyed by (with the provider name).

    NFKC-folded (full-width ``１００号`` = ``100号``), trimmed, whitespace collapsed; the hints are
    part of the key, since they change the answer.
    """
    return json.dumps(list(check_query(address, province, city, county)), ensure_ascii=False)


class GeocodeCache:
    """Answers (results and "no match") by provider name and normalised query, in SQLite.

    Errors are never cached. The database runs in WAL mode; one connection is shared by all
    threads behind a lock, so one cache object can serve a thread pool.

    Parameters
    ----------
    path : str or Path
        Database file; its directory is created when missing. ``":memory:"`` for a
        throw-away cache.

    Raises
    ------
    StoreError
        When the file cannot be opened or is not a SQLite database.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open geocode cache {self.path!r}: {exc}") from exc

    def lookup(self, provider: str, address: str | None, *, province: str | None = None,
               city: str | None = None, county: str | None = None) -> tuple[bool, GeocodeResult | None]:
        """``(True, result)`` for a cached answer (result None = cached "no match"); ``(False, None)`` on a miss.

        An entry that no longer reads as a :class:`GeocodeResult` (written by an older
        version with other allowed values) counts as a miss.
        """
        key = cache_key(address, province=province, city=city, county=county)
        with self._lock:
            row = self._conn.execute("SELECT result FROM geocode_cache WHERE provider = ? AND query = ?",
                                     (provider, key)).fetchone()
        if row is None:
            return False, None
        if row[0] is None:
            return True, None
        try:
            return True, GeocodeResult.from_dict(json.loads(row[0]))
        except (ValueError, TypeError) as exc:  # written by an older version: ask again
            logger.info("ignoring unreadable cache entry %s %s: %s", provider, key, exc)
            return False, None

    def store(self, provider: str, address: str | None, result: GeocodeResult | None, *,
              province: str | None = None, city: str | None = None, county: str | None = None) -> None:
        """Keep ``result`` (None = "no match") for this provider and query, replacing any older answer."""
        key = cache_key(address, province=province, city=city, county=county)
        value = None if result is None else json.dumps(result.to_dict(), ensure_ascii=False)
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO geocode_cache (provider, query, result, stored_at) "
                               "VALUES (?, ?, ?, ?)", (provider, key, value, time.time()))

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM geocode_cache").fetchone()[0]

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> "GeocodeCache":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"GeocodeCache({self.path!r})"
