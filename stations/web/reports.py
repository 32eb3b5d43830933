"""Workers' reports and moderation (``/api/v1``), and what the public sees of both.

* ``POST /stations/{id}/reports`` — anyone, no login: ``{"kind", "text"?, "amenity"?}``;
  rate-limited per client (429 with ``Retry-After``), a honeypot field, 200 characters.
* ``GET /reports?status=open`` — staff of the stations' areas.
* ``POST /reports/{id}/accept`` / ``/reject`` — moderators, editors, admins of the area.
* ``GET /stations/{id}/checks`` and ``GET /checks?ids=`` — public: check dates per field group
  and unconfirmed reports.
"""

from __future__ import annotations

import datetime as dt

import orjson
from flask import Blueprint, Response, request

from ..accounts import accept_report, check_info, list_reports, reject_report, submit_report, summaries
from ..accounts.curation import _station
from ..errors import Problem, ValidationError
from .auth import client_address, current_user, settings, store, writer
from .writes import json_body

bp = Blueprint("reports", __name__, url_prefix="/api/v1")


def _json(body, status: int = 200) -> Response:
    return Response(orjson.dumps(body, default=str), status=status, content_type="application/json",
                    headers={"Cache-Control": "no-store"})


@bp.post("/stations/<station_id>/reports")
def report_view(station_id: str):
    doc = json_body()
    rep = submit_report(store(), station_id, doc, client=client_address(),
                        limit_per_hour=settings().reports_per_hour)
    return _json(rep, 201)


@bp.get("/reports")
def reports_view():
    user = current_user()
    status = request.args.get("status", "open")
    reports = list_reports(store(), user, status=status, station_id=request.args.get("station_id"))
    return _json({"status": status, "count": len(reports), "reports": reports})


@bp.post("/reports/<int:report_id>/accept")
def accept_view(report_id: int):
    """Accept: ``{"reason"?, "changes"?: {...fields}}`` (``If-Match`` applies to ``changes``)."""
    user = writer()
    doc = json_body("reason", "changes") if request.get_data() else {}
    changes = doc.get("changes")
    if changes is not None and not isinstance(changes, dict):
        raise ValidationError.from_problems([Problem("changes", changes, "not an object", '{"opening_hours": ...}')])
    rep = accept_report(store(), user, report_id, reason=doc.get("reason") or "", changes=changes,
                        if_match=request.headers.get("If-Match"))
    return _json(rep)


@bp.post("/reports/<int:report_id>/reject")
def reject_view(report_id: int):
    """Reject: ``{"reason": "..."}`` (required)."""
    user = writer()
    doc = json_body("reason")
    return _json(reject_report(store(), user, report_id, reason=doc.get("reason")))


def public_state(station_id: str, record: dict | None = None) -> dict:
    """Check dates and unconfirmed reports of one station, for public answers."""
    rec = record if record is not None else _station(store(), station_id)
    checks = check_info(store(), station_id, stale_days=settings().check_stale_days, record=rec)
    reports = summaries(store(), [station_id]).get(station_id)
    return {"checked": checks, "reports": reports}


@bp.get("/stations/<station_id>/checks")
def checks_view(station_id: str):
    return _json({"station_id": station_id, **public_state(station_id),
                  "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})


MAX_STATE_IDS = 100


@bp.get("/checks")
def checks_many_view():
    """Check dates and unconfirmed reports of several stations at once: ``?ids=A1,B2`` (at most
    100), for the locator's cards: ``{"stations": {id: {"checked": {...}, "reports": {...}|null}}}``."""
    ids = [i for i in (request.args.get("ids") or "").split(",") if i][:MAX_STATE_IDS + 1]
    if not ids or len(ids) > MAX_STATE_IDS:
        raise ValidationError.from_problems([Problem("ids", request.args.get("ids"), "missing or too many",
                                                     f"1 to {MAX_STATE_IDS} comma-separated station ids")],
                                            what="query")
    out = {}
    for sid in ids:
        rec = store().get(sid)
        if rec is not None:
            state = public_state(sid, rec)
            checked = state["checked"]
            out[sid] = {"checked": {k: checked[k] for k in ("label_en", "label_zh", "warning_en", "warning_zh",
                                                            "stale", "latest_days", "oldest_days")},
                        "reports": state["reports"], "status": rec.get("status"),
                        "status_reason": rec.get("status_reason")}
    return _json({"stations": out})
