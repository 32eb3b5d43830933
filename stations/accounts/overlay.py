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
among them — when the store's change token moved (or every few seconds anyway), and reads the
tables again only when that token moved. Readers take
:attr:`CurationKeeper.current` (one attribute read) and hold that object for their whole
answer; they never wait for a refresh.

The SQL is portable (qmark parameters, no SQLite-only syntax): it runs through the store's
``query()`` on a GeoPackage or a PostGIS store alike.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Mapping

from .curation import FIELD_GROUPS, GROUP_LABELS, TZ, _parse_when, ago, checks_view
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
    # station_id -> {field_group: (checked_at, checked_by, via, its date in China Standard Time,
    #                             checked_at in seconds since the epoch)}
    checks: Mapping[str, Mapping[str, tuple]] = field(default_factory=dict)
    loaded_at_s: float = 0.0

    @classmethod
    def read(cls, store, token: tuple = ()) -> "CurationOverlay":
        """Read both tables through ``store.query()``."""
        import time

        parsed: dict[str, tuple] = {}  # one parse per distinct date text (a batch writes one for every group)

        def when(text):
            got = parsed.get(text)
            if got is None:
                moment = _parse_when(text)
                got = parsed[text] = (moment, _local_date(moment))
            return got

        reports: dict[str, list] = {}
        for r in store.query(REPORTS_SQL):
            moment = when(r["created_at"])[0]
            if moment is not None:
                reports.setdefault(r["station_id"], []).append((r["kind"], moment))
        checks: dict[str, dict] = {}
        for r in store.query(CHECKS_SQL):
            moment, day = when(r["checked_at"])
            checks.setdefault(r["station_id"], {})[r["field_group"]] = (
                moment, r["checked_by"], r["via"], day, None if moment is None else moment.timestamp())
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
        summary = self.report_summary(station_id, now=now)
        if lang is None:
            return self.checked(station_id, last_verified=last_verified, stale_days=stale_days, now=now), summary
        if summary is not None:
            summary = {"count": summary["count"], "kinds": summary["kinds"], "latest_at": summary["latest_at"],
                       "label": summary["label_" + lang], "unconfirmed": True}
        return self._lean_checked(station_id, last_verified, stale_days, now, lang), summary

    def _lean_checked(self, station_id: str, last_verified: Any, stale_days: float, now: dt.datetime,
                      lang: str) -> dict:
        """The short form of :func:`~.curation.checks_view` (same days, rounding and labels),
        without building the long one: this runs for every result of every /nearest answer."""
        rows = self.checks.get(station_id)
        fallback = _fallback(last_verified) if last_verified else None
        now_s = now.timestamp()
        out: dict[str, Any] = {}
        stale: list[str] = []
        latest = None
        if rows is None:  # never checked by staff (most stations): every group as the record's date
            day = fallback[2] if fallback else None
            out.update(position=day, hours=day, amenities=day, access=day)
            if fallback is None:
                stale = list(_DATE_GROUPS)
            else:
                days = max(0.0, (now_s - fallback[1]) / 86400)
                stale = list(_DATE_GROUPS) if days > stale_days else []
                latest = round(days, 1)
        else:
            for g in _DATE_GROUPS:
                row = rows.get(g)
                moment_s, day = (row[4], row[3]) if row else (fallback[1], fallback[2]) if fallback else (None, None)
                out[g] = day
                if moment_s is None:
                    stale.append(g)
                    continue
                days = max(0.0, (now_s - moment_s) / 86400)
                if days > stale_days:
                    stale.append(g)
                days = round(days, 1)
                if latest is None or days < latest:
                    latest = days
        out["stale"] = bool(stale)
        out["label"] = _label(latest, lang)
        out["warning"] = _warning(tuple(stale), stale_days, lang) if stale else None
        return out


@lru_cache(maxsize=1024)
def _fallback(last_verified: Any) -> tuple | None:
    """A record's ``last_verified`` as (moment, seconds since the epoch, local date), or None
    when it is no date."""
    moment = _parse_when(last_verified)
    return (moment, moment.timestamp(), _local_date(moment)) if moment is not None else None


@lru_cache(maxsize=4096)
def _label(latest_days: float | None, lang: str) -> str:
    if latest_days is None:
        return "never checked" if lang == "en" else "从未核实"
    return "checked " + ago(latest_days, "en") if lang == "en" else ago(latest_days, "zh") + "核实"


@lru_cache(maxsize=256)
def _warning(stale: tuple, stale_days: float, lang: str) -> str:
    if lang == "en":
        return ", ".join(stale) + f": not checked in {stale_days:g} days or never; may be out of date"
    return "、".join(GROUP_LABELS[g][0] for g in stale) + f"超过{stale_days:g}天未核实或从未核实，可能已过时"


def _local_date(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(TZ).date().isoformat() if moment is not None else None


class CurationKeeper:
    """Holds the current :class:`CurationOverlay` and brings it up to date when the tables changed.

    The store's change token (:meth:`~stations.store.StationStore.change_token`: for a
    GeoPackage, four bytes of its header that every commit moves) gates the token query: while
    it stands still the tables cannot have changed, so a refresh costs a ``pread``. As a
    backend's change token may follow only its revision (which a report does not move), the
    token query runs anyway at least every ``recheck_s`` seconds.
    """

    def __init__(self, *, recheck_s: float = 5.0) -> None:
        self.current = CurationOverlay()
        self.recheck_s = recheck_s
        self._gate: Any = object()  # the store's change token at the last token query
        self._queried_at_s = float("-inf")
        self._lock = threading.Lock()  # one refresh at a time; readers never take it

    def refresh(self, store) -> bool:
        """Run the token query (unless the store's change token and ``recheck_s`` say nothing
        can have changed); when it moved, read the tables and swap the new overlay in. Returns
        whether it did. The tokens are read before the tables, so a write landing in between is
        read again at the next refresh."""
        import time

        with self._lock:
            gate, now_s = store.change_token(), time.monotonic()
            if gate == self._gate and now_s - self._queried_at_s < self.recheck_s:
                return False
            self._gate, self._queried_at_s = gate, now_s
            row = store.query(TOKEN_SQL)[0]
            token = tuple(str(row[k]) for k in ("max_report_id", "open_reports", "checks", "max_check_batch",
                                                "max_checked_at"))
            if token == self.current.token:
                return False
            self.current = CurationOverlay.read(store, token)
            return True
