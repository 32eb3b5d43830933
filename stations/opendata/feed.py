"""The change feed: what changed since a revision, for apps that keep a copy of the data.

A copy starts from a dump (which says its revision) and then asks for the changes since that
revision, in commit order, page by page, until the feed says it is complete and which
revision to ask from next time. Each change carries the station's whole published feature
as it was right after that change (:func:`~stations.opendata.public.public_feature`), so a
copy applies a change by putting the feature under its id: the data at revision r plus the
changes since r is the data now (``tests/test_feed.py`` replays a feed onto a dump and
compares it with a fresh dump). Nothing is ever deleted: a removed station comes as a change
with ``action`` ``remove`` and ``status`` ``removed``.

The cursor of a page is the last change's place in the history (the store's append-only
``station_history``), so paging is not disturbed by imports landing meanwhile: their changes
simply come at the end. The store keeps every change; the feed serves those of the last
``changes_keep_days`` days (setting; 0: all), and a copy older than that gets
:class:`HistoryGoneError` (HTTP 410) and reloads a dump.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from dataclasses import dataclass

from ..errors import Problem, StationsError, ValidationError
from ..store import StationStore, open_store
from .public import public_feature

_CURSOR = re.compile(r"^h([0-9]{1,18})$")


class HistoryGoneError(StationsError):
    """The changes a copy needs are older than what the feed serves: reload a dump."""


@dataclass(frozen=True)
class FeedPage:
    """One page of the feed.

    ``revision`` is the store's revision when the page was read. While ``cursor`` is set
    the feed is not complete: ask again with the same ``since`` and this cursor. When it is
    None, the page was the last one and ``next_since`` is the revision to ask from next time.
    """

    since: int
    revision: int
    changes: tuple[dict, ...]
    cursor: str | None
    next_since: int | None

    def as_dict(self) -> dict:
        return {"since": self.since, "revision": self.revision, "count": len(self.changes),
                "complete": self.cursor is None, "next_since": self.next_since, "changes": list(self.changes)}


def parse_cursor(cursor: str | None) -> int:
    """The history id a cursor points after (0 for none); a malformed one raises."""
    if cursor is None or cursor == "":
        return 0
    match = _CURSOR.match(cursor)
    if not match:
        raise ValidationError.from_problems([Problem("cursor", cursor[:40], "not a cursor of this feed",
                                                     "the cursor of a page's next link, e.g. h1234")], what="query")
    return int(match.group(1))


def read_changes(store: StationStore, since: int, *, cursor: str | None = None, limit: int = 1000,
                 keep_days: float = 0.0, now: dt.datetime | None = None) -> FeedPage:
    """The changes after revision ``since``, at most ``limit``, from ``cursor`` on.

    Parameters
    ----------
    since
        The revision the caller's copy shows (0: an empty copy).
    cursor
        The previous page's cursor, to continue; None for the first page.
    keep_days
        How many days back the feed serves (0: all). Checked on the first page only.
    now
        The time to count ``keep_days`` back from (default: now).

    Raises
    ------
    ValidationError
        ``since`` is negative or newer than the store's revision, or ``cursor`` is malformed.
    HistoryGoneError
        The first change after ``since`` is older than ``keep_days``.
    """
    after = parse_cursor(cursor)
    if not isinstance(since, int) or isinstance(since, bool) or since < 0:
        raise ValidationError.from_problems([Problem("since", since, "not a revision", "a whole number >= 0")],
                                            what="query")
    current = store.revision()
    if since > current:
        raise ValidationError.from_problems([Problem(
            "since", since, f"newer than this service's revision ({current}): the copy is from another store",
            f"0 to {current}; reload a dump")], what="query")
    page = store.changes_since(since, after=after, limit=limit)
    if keep_days > 0 and after == 0 and page.entries:
        _check_kept(since, page.entries[0].at, keep_days, now or dt.datetime.now(dt.timezone.utc))
    changes = tuple({"revision": e.revision, "at": e.at, "station_id": e.station_id, "action": e.action,
                     "fields": list(e.changed),
                     "feature": public_feature(e.record) if e.record is not None else None}
                    for e in page.entries)
    if page.more:
        return FeedPage(since, page.revision, changes, f"h{page.entries[-1].history_id}", None)
    return FeedPage(since, page.revision, changes, None, page.revision)


def _check_kept(since: int, first_at: str, keep_days: float, now: dt.datetime) -> None:
    cutoff = now - dt.timedelta(days=keep_days)
    when = dt.datetime.fromisoformat(first_at.replace("Z", "+00:00"))
    if when < cutoff:
        raise HistoryGoneError(
            f"revision {since} is too old: the next change ({first_at}) is older than the {keep_days:g} days of "
            "changes this feed keeps; download a full dump, which says its revision, and ask for the changes "
            "since that revision",
            [Problem("since", since, f"older than {keep_days:g} days", "the revision of a recent dump")])


class ChangeFeed:
    """The feed over the store at ``location``, for a web worker: its own connection (so its
    reads never interleave with the snapshot's), opened on first use, one reader at a time."""

    def __init__(self, location: str):
        self.location = location
        self._store: StationStore | None = None
        self._lock = threading.Lock()

    def _open(self) -> StationStore:
        if self._store is None:
            self._store = open_store(self.location, create=True)
        return self._store

    def read(self, since: int, **options) -> FeedPage:
        """:func:`read_changes` on this store."""
        with self._lock:
            return read_changes(self._open(), since, **options)

    def revision_at(self, revision: int) -> str | None:
        """When ``revision`` was committed (ISO 8601 UTC), None for 0."""
        with self._lock:
            return self._open().revision_at(revision)

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
