"""Workers' reports on stations: anyone may send one, only staff act on them.

A report never changes a record by itself. It is kept with its kind, an optional short text
and a salted hash of the client (for rate limiting; no other personal data). Staff of the
station's area accept it — an edit with history (a ``closed`` report closes the station
temporarily with the report as reason) that refreshes the check dates of what was
confirmed — or reject it with a reason.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Mapping, Sequence

from ..amenities import AMENITY_CODES
from ..errors import NotFoundError, Problem, ValidationError
from .curation import FIELD_GROUPS, _clean_text, _parse_when, _station, _write_checks, ago, patch_station, \
    require, require_role, set_status, verify_station
from .errors import Conflict
from .scopes import User, area_sql
from .users import hit_rate_limit, client_hash, now_iso

KINDS = ("still_correct", "closed", "hours_wrong", "amenity_missing", "moved", "other")
KIND_LABELS = {"still_correct": ("信息无误", "still correct"), "closed": ("关闭或锁门", "closed"),
               "hours_wrong": ("开放时间不对", "hours wrong"), "amenity_missing": ("设施缺失或损坏", "amenity missing"),
               "moved": ("不在这里", "moved"), "other": ("其他", "other")}
# What accepting a report of each kind confirms.
KIND_GROUPS = {"still_correct": tuple(FIELD_GROUPS), "closed": ("hours", "access"), "hours_wrong": ("hours",),
               "amenity_missing": ("amenities",), "moved": ("position",), "other": ()}
MAX_TEXT_CHARS = 200
HONEYPOT_FIELD = "website"
RECENT_DAYS = 30


def submit_report(store, station_id: str, doc: Mapping[str, Any], *, client: str, limit_per_hour: int) -> dict:
    """Store a worker's report ``{"kind", "text"?, "amenity"?}`` on a station.

    Raises :class:`ValidationError` naming every bad field (unknown kind, text over 200
    characters, the honeypot field filled), :class:`NotFoundError` for an unknown or removed
    station, and :class:`RateLimited` past ``limit_per_hour`` reports from one client."""
    problems: list[Problem] = []
    if not isinstance(doc, Mapping):
        raise ValidationError.from_problems([Problem("body", type(doc).__name__, "not an object",
                                                     '{"kind": "closed", "text": "..."}')], what="report")
    unknown = [k for k in doc if k not in ("kind", "text", "amenity", HONEYPOT_FIELD)]
    problems += [Problem(k, doc[k], "unknown field", "kind, text, amenity") for k in unknown]
    kind = doc.get("kind")
    if kind not in KINDS:
        problems.append(Problem("kind", kind, "not an allowed value", ", ".join(KINDS)))
    text = _clean_text(doc.get("text"), "text", problems, limit=MAX_TEXT_CHARS)
    amenity = doc.get("amenity")
    if amenity is not None and (kind != "amenity_missing" or amenity not in AMENITY_CODES):
        problems.append(Problem("amenity", amenity, "only with kind amenity_missing, one of the amenity codes",
                                ", ".join(AMENITY_CODES)))
    if doc.get(HONEYPOT_FIELD) not in (None, ""):  # any value: {} and 0 are filled in too
        problems.append(Problem(HONEYPOT_FIELD, doc.get(HONEYPOT_FIELD), "must be empty", "nothing"))
    if problems:
        raise ValidationError.from_problems(problems, what="report")
    rec = store.get(station_id)
    if rec is None or rec.get("status") == "removed":
        raise NotFoundError(f"no station with id {station_id!r}",
                            [Problem("station_id", station_id, "unknown or removed station", "an existing station id")])
    hit_rate_limit(store, "report", client, limit=limit_per_hour, window_s=3600)
    with store.transaction() as db:
        cur = db.execute("INSERT INTO station_reports (station_id, kind, amenity, text, client_hash, created_at) "
                         "VALUES (?, ?, ?, ?, ?, ?) RETURNING report_id",
                         (station_id, kind, amenity, text, client_hash(store, client), now_iso()))
        report_id = cur.fetchall()[0][0]
    return {"report_id": report_id, "station_id": station_id, "kind": kind, "status": "open",
            "note": "Thank you. Staff will check it; the station's record is not changed until they do."}


_PUBLIC = "report_id, station_id, kind, amenity, text, created_at, status, resolved_at, resolved_by, resolution_reason"


MAX_REPORT_ID = 2 ** 63 - 1  # SQLite's largest integer


def get_report(store, report_id: int) -> dict:
    """The report ``report_id``; :class:`NotFoundError` for an unknown id (also one past SQLite's integers)."""
    report_id = int(report_id)
    rows = [] if not 0 <= report_id <= MAX_REPORT_ID else \
        store.query(f"SELECT {_PUBLIC}, batch_id FROM station_reports WHERE report_id = ?", (report_id,))
    if not rows:
        raise NotFoundError(f"no report with id {report_id}",
                            [Problem("report_id", report_id, "unknown report", "an id from GET /api/v1/reports")])
    return rows[0]


def list_reports(store, user: User | None, *, status: str = "open", station_id: str | None = None,
                 limit: int = 500) -> list[dict]:
    """Reports on stations in the user's areas (moderators, editors, admins), newest first;
    each with the station's name and the other open reports on it grouped."""
    if status not in ("open", "accepted", "rejected", "all"):
        raise ValidationError.from_problems([Problem("status", status, "not an allowed value",
                                                     "open, accepted, rejected, all")], what="query")
    require_role(user, "moderate", what="the reports queue")
    cond, params = area_sql(user, "s.adcode")
    sql = (f"SELECT {', '.join('r.' + c.strip() for c in _PUBLIC.split(','))}, s.name AS station_name, "
           f"s.adcode FROM station_reports r JOIN stations s USING (station_id) WHERE {cond}")
    if status != "all":
        sql += " AND r.status = ?"
        params.append(status)
    if station_id is not None:
        sql += " AND r.station_id = ?"
        params.append(station_id)
    return store.query(sql + " ORDER BY r.station_id, r.report_id DESC LIMIT ?", (*params, int(limit)))


def _resolve(db, report_ids: Iterable[int], *, status: str, user: User, reason: str, batch_id: int | None) -> None:
    db.executemany("UPDATE station_reports SET status = ?, resolved_at = ?, resolved_by = ?, resolution_reason = ?, "
                   "batch_id = ? WHERE report_id = ? AND status = 'open'",
                   [(status, now_iso(), user.name, reason, batch_id, rid) for rid in report_ids])


def accept_report(store, user: User, report_id: int, *, reason: str = "", changes: Mapping[str, Any] | None = None,
                  if_match: str | None = None) -> dict:
    """Accept a report: one batch (source ``report:<id>``) that applies what it says and
    refreshes the check dates of what it confirmed. A ``closed`` report closes the station
    temporarily with the report as reason; other kinds apply ``changes`` if given (e.g. the
    hours the worker saw). Open reports of the same kind on the station are accepted with it."""
    rep = get_report(store, report_id)
    station = _station(store, rep["station_id"])
    require(user, "moderate", station.get("adcode"))
    if rep["status"] != "open":
        raise Conflict(f"report {report_id} is already {rep['status']}",
                       [Problem("report_id", report_id, f"already {rep['status']}", "an open report")])
    same = [r["report_id"] for r in store.query("SELECT report_id FROM station_reports WHERE station_id = ? "
                                                 "AND kind = ? AND status = 'open'", (rep["station_id"], rep["kind"]))]
    label = KIND_LABELS[rep["kind"]][0]
    why = (reason or "").strip() or f"工人报告 #{report_id}: {label}" + (f" — {rep['text']}" if rep["text"] else "")
    source = f"report:{report_id}"
    groups = KIND_GROUPS[rep["kind"]]

    via = f"report #{report_id}"

    def after(db, batch_id):
        _write_checks(db, rep["station_id"], groups, by=user.name, via=via, batch_id=batch_id)
        _resolve(db, same, status="accepted", user=user, reason=why, batch_id=batch_id)

    if rep["kind"] == "closed":
        if changes:
            patch_station(store, user, rep["station_id"], changes, if_match=if_match, reason=why, source=source,
                          require_if_match=False, action="moderate")
        set_status(store, user, rep["station_id"], "temporarily_closed", reason=why, source=source,
                   command="accept report closed", after=after, action="moderate")
    elif changes:
        patch_station(store, user, rep["station_id"], changes, if_match=if_match, reason=why, source=source,
                      require_if_match=False, after=after, action="moderate")
    elif groups:
        verify_station(store, user, rep["station_id"], groups, note=why, source=source, via=via, after=after)
    else:  # "other" without changes: noted, nothing confirmed
        with store.transaction() as db:
            after(db, None)
    return get_report(store, report_id)


def reject_report(store, user: User, report_id: int, *, reason: str) -> dict:
    """Reject a report with a reason; the station is not changed."""
    rep = get_report(store, report_id)
    station = _station(store, rep["station_id"])
    require(user, "moderate", station.get("adcode"))
    problems: list[Problem] = []
    text = _clean_text(reason, "reason", problems, limit=MAX_TEXT_CHARS)
    if not text:
        problems.append(Problem("reason", reason, "a rejection needs a reason", "a non-empty text"))
    if problems:
        raise ValidationError.from_problems(problems)
    if rep["status"] != "open":
        raise Conflict(f"report {report_id} is already {rep['status']}",
                       [Problem("report_id", report_id, f"already {rep['status']}", "an open report")])
    with store.transaction() as db:
        _resolve(db, [report_id], status="rejected", user=user, reason=text, batch_id=None)
    return get_report(store, report_id)


def summaries(store, station_ids: Iterable[str] | None = None, *, now: dt.datetime | None = None,
              recent_days: float = RECENT_DAYS) -> dict[str, dict]:
    """Open reports of the last ``recent_days`` per station, for public answers: counts by kind
    and a label such as "2 reports: closed (today)" — always marked unconfirmed."""
    now = now or dt.datetime.now(dt.timezone.utc)
    since = (now - dt.timedelta(days=recent_days)).isoformat(timespec="seconds").replace("+00:00", "Z")
    sql = "SELECT station_id, kind, created_at FROM station_reports WHERE status = 'open' AND created_at >= ?"
    params: list[Any] = [since]
    if station_ids is not None:
        ids = list(station_ids)
        sql += f" AND station_id IN ({', '.join('?' * len(ids))})"
        params += ids
    rows: dict[str, list[tuple[str, dt.datetime]]] = {}
    for r in store.query(sql + " ORDER BY created_at, report_id", params):
        rows.setdefault(r["station_id"], []).append((r["kind"], _parse_when(r["created_at"])))
    return {sid: report_summary(reps, now=now) for sid, reps in rows.items()}


def report_summary(reports: Sequence[tuple[str, dt.datetime]], *, now: dt.datetime) -> dict:
    """The public summary of a station's open reports, ``(kind, created_at)`` oldest first
    (already limited to the recent ones): counts by kind, the newest date and a label such as
    "2 reports: closed (today), unconfirmed"."""
    kinds: dict[str, int] = {}
    for kind, _ in reports:
        kinds[kind] = kinds.get(kind, 0) + 1
    latest = reports[-1][1]
    top = max(kinds, key=lambda k: (kinds[k], k != "still_correct"))
    days = (now - latest).total_seconds() / 86400
    n = len(reports)
    return {"count": n, "kinds": kinds, "latest_at": latest.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "unconfirmed": True,
            "label_en": f"{n} report{'s' if n != 1 else ''}: {KIND_LABELS[top][1]} ({ago(days, 'en')}), unconfirmed",
            "label_zh": f"{n}条报告：{KIND_LABELS[top][0]}（{ago(days, 'zh')}），未核实"}
