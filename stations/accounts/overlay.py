"""The curation overlay: open reports and check dates per station, kept beside the snapshot.

Workers' reports (``station_reports``) and check dates (``station_checks``) live in store
tables of their own, and a report makes no new store revision, so they are no part of a
:class:`~stations.service.Snapshot`. A :class:`CurationOverlay` is one read of both tables,
immutable, with what public answers need of them per station: the open reports (kind and
date) and, per field group, when it was last confirmed, by whom and how. Labels that depend on
the time of asking ("checked 3 weeks ago", "1 report: closed (today)") are made per answer
from it (:meth:`CurationOverlay.public`), by the same functions as :func:`~.curation.check_info`
and :func:`~.reports.summaries`, which read the store per call.

A :class:`CurationKeeper` holds the current overlay. Its :meth:`~CurationKeeper.refresh` (the
service's refresher thread calls it) runs one cheap token query — the largest report id, the
number of open reports, the number of check rows, the largest batch id and the latest date
among them — and reads the tables again only when the token moved. Readers take
:attr:`CurationKeeper.current` (one attribute read) and hold that object for their whole
answer; they never wait for a refresh.

The SQL is portable (qmark parameters, no SQLite-only syntax): it runs through the store's
``query()`` on a GeoPackage or a PostGIS store alike.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import Any, Mapping

from .curation import FIELD_GROUPS, TZ, _parse_when, checks_view
from .reports import RECENT_DAYS, report_summary

# Every part moves on a write that changes what the overlay holds: a new report raises the
# largest id; accepting or rejecting one lowers the open count; a check row written (new or
# replaced) carries the new batch's id, which only grows.
TOKEN_SQL = ("SELECT (SELECT max(report_id) FROM station_reports) AS max_report_id, "
             "(SELECT count(*) FROM station_reports WHERE status = 'open') AS open_reports, "
             "(SELECT count(*) FROM station_checks) AS checks, "
             "(SELECT max(batch_id) FROM station_checks) AS max_check_batch, "
             "(SELECT max(checked_at) FROM station_checks) AS max_checked_at")
REPORTS_SQL = ("SELECT station_id, kind, created_at FROM station_reports WHERE status = 'open' "
               "ORDER BY created_at, report_id")
CHECKS_SQL = "SELECT station_id, field_group, checked_at, checked_by, via FROM station_checks"
_DATE_GROUPS = tuple(FIELD_GROUPS)


@dataclass(frozen=True)
class CurationOverlay:
    """One read of the open reports and check dates: immutable, shared by the requests."""

    token: tuple = ()
    # station_id -> ((kind, created_at), ...) of its open reports, oldest first
    reports: Mapping[str, tuple] = field(default_factory=dict)
    # station_id -> {field_group: (checked_at, checked_by, via)}
    checks: Mapping[str, Mapping[str, tuple]] = field(default_factory=dict)
    loaded_at_s: float = 0.0

    @classmethod
    def read(cls, store, token: tuple = ()) -> "CurationOverlay":
        """Read both tables through ``store.query()``."""
        import time

        reports: dict[str, list] = {}
        for r in store.query(REPORTS_SQL):
            when = _parse_when(r["created_at"])
            if when is not None:
                reports.setdefault(r["station_id"], []).append((r["kind"], when))
        checks: dict[str, dict] = {}
        for r in store.query(CHECKS_SQL):
            checks.setdefault(r["station_id"], {})[r["field_group"]] = (_parse_when(r["checked_at"]), r["checked_by"],
                                                                        r["via"])
        return cls(token=tuple(token), reports={k: tuple(v) for k, v in reports.items()}, checks=checks,
                   loaded_at_s=time.time())

    def checked(self, station_id: str, *, last_verified: Any, stale_days: float, now: dt.datetime) -> dict:
        """What :func:`~.curation.check_info` answers for the station (the record's
        ``last_verified`` stands in for groups never checked)."""
        return checks_view(self.checks.get(station_id, {}), last_verified=last_verified, stale_days=stale_days,
                           now=now)

    def report_summary(self, station_id: str, *, now: dt.datetime, recent_days: float = RECENT_DAYS) -> dict | None:
        """What :func:`~.reports.summaries` answers for the station: its open reports of the last
        ``recent_days``, or None."""
        reports = self.reports.get(station_id)
        if not reports:
            return None
        since = now - dt.timedelta(days=recent_days)
        recent = [r for r in reports if r[1] >= since]
        return report_summary(recent, now=now) if recent else None

    def public(self, station_id: str, *, last_verified: Any, stale_days: float, now: dt.datetime,
               lang: str | None = None) -> tuple[dict, dict | None]:
        """``(checked, reports)`` for a public answer. ``lang`` None: everything, both languages
        (as ``GET /api/v1/stations/{id}/checks``); ``"zh"`` or ``"en"``: the short form a phone's
        list needs, labels in that language only:

        - ``checked``: each field group's last confirmation date (``YYYY-MM-DD``, China
          Standard Time, or None: never), ``stale`` (some group never checked or older than ``stale_days``),
          ``label`` ("checked 3 weeks ago") and ``warning`` (which groups are stale, or None);
        - ``reports``: None, or ``count``, ``kinds`` (count by kind), ``latest_at``, ``label``
          ("2 reports: closed (today), unconfirmed") and ``unconfirmed`` (always true).
        """
        info = self.checked(station_id, last_verified=last_verified, stale_days=stale_days, now=now)
        summary = self.report_summary(station_id, now=now)
        if lang is None:
            return info, summary
        suffix = "_en" if lang == "en" else "_zh"
        groups = info["groups"]
        checked = {g: _local_date(groups[g]["checked_at"]) for g in _DATE_GROUPS}
        checked.update(stale=info["stale"], label=info["label" + suffix], warning=info["warning" + suffix])
        if summary is not None:
            summary = {"count": summary["count"], "kinds": summary["kinds"], "latest_at": summary["latest_at"],
                       "label": summary["label" + suffix], "unconfirmed": True}
        return checked, summary


def _local_date(iso: str | None) -> str | None:
    return dt.datetime.fromisoformat(iso).astimezone(TZ).date().isoformat() if iso else None


class CurationKeeper:
    """Holds the current :class:`CurationOverlay` and brings it up to date when the tables changed."""

    def __init__(self) -> None:
        self.current = CurationOverlay()
        self._lock = threading.Lock()  # one refresh at a time; readers never take it

    def refresh(self, store) -> bool:
        """Run the token query; when it moved, read the tables and swap the new overlay in.
        Returns whether it did. The token is read before the tables, so a write landing
        between the two is read again at the next refresh."""
        with self._lock:
            row = store.query(TOKEN_SQL)[0]
            token = tuple(str(row[k]) for k in ("max_report_id", "open_reports", "checks", "max_check_batch",
                                                "max_checked_at"))
            if token == self.current.token:
                return False
            self.current = CurationOverlay.read(store, token)
            return True
