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

from ..accounts import KINDS, accept_report, check_info, list_reports, reject_report, submit_report, summaries
from ..accounts.curation import FIELD_GROUPS, _station
from ..accounts.curation import MAX_TEXT_CHARS as MAX_TEXT_CHARS_STAFF
from ..accounts.reports import HONEYPOT_FIELD, MAX_TEXT_CHARS
from ..amenities import AMENITY_CODES
from ..errors import Problem, ValidationError
from .auth import client_address, current_user, settings, store, writer
from .openapi import operation
from .params import SAFE_INTEGER, Param, query
from .writes import FORBIDDEN, IF_MATCH, PATCH_BODY, STALE, STATION_ID, _text, json_body

bp = Blueprint("reports", __name__, url_prefix="/api/v1")


def _json(body, status: int = 200) -> Response:
    return Response(orjson.dumps(body, default=str), status=status, content_type="application/json",
                    headers={"Cache-Control": "no-store"})


MAX_STATE_IDS = 100
REPORT_ID = Param("report_id", "int", "The report's id (from `GET /api/v1/reports`).", minimum=0,
                  maximum=SAFE_INTEGER)
REPORTS_PARAMS = (
    Param("status", "str", "Reports in this state.", default="open", enum=("open", "accepted", "rejected", "all")),
    Param("station_id", "str", "Only the reports on this station."),
)
CHECKS_PARAMS = (
    Param("ids", "list", f"Station ids, comma-separated: 1 to {MAX_STATE_IDS}, each once, at most 200 characters "
          "in all (longer than 200 characters is refused). Unknown ids are left out of the answer.",
          required=True, example=["CL-001", "CL-002"]),
)
_TEXT, _MAYBE_TEXT = {"type": "string"}, {"type": "string", "nullable": True}
_MAYBE_NUMBER = {"type": "number", "nullable": True}
REPORT_BODY = {"type": "object", "required": ["kind"], "additionalProperties": False,
               "properties": {"kind": {"type": "string", "enum": list(KINDS)},
                              "text": {"type": "string", "maxLength": MAX_TEXT_CHARS, "nullable": True},
                              "amenity": {"type": "string", "enum": [*AMENITY_CODES, None], "nullable": True,
                                          "description": "Only with kind `amenity_missing`."},
                              HONEYPOT_FIELD: {"type": "string", "maxLength": 0, "nullable": True,
                                               "description": "Leave it out or empty (a trap for bots)."}}}
ACCEPT_BODY = {"type": "object", "additionalProperties": False,
               "properties": {"reason": {"type": "string", "maxLength": MAX_TEXT_CHARS_STAFF, "nullable": True},
                              "changes": {**PATCH_BODY["properties"]["changes"], "minProperties": 0,
                                          "description": "Fields to change as the report says (`If-Match` applies "
                                                         "to them)."}}}
REJECT_BODY = {"type": "object", "required": ["reason"], "additionalProperties": False,
               "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT_CHARS,
                                         "pattern": r"[^\s\x00-\x1f]"}}}
REPORT_SCHEMA = {"type": "object", "required": ["report_id", "station_id", "kind", "status"],
                 "properties": {"report_id": {"type": "integer"}, "station_id": _TEXT,
                                "kind": {"type": "string", "enum": list(KINDS)}, "amenity": _MAYBE_TEXT,
                                "text": _MAYBE_TEXT, "created_at": _TEXT,
                                "status": {"type": "string", "enum": ["open", "accepted", "rejected"]},
                                "resolved_at": _MAYBE_TEXT, "resolved_by": _MAYBE_TEXT,
                                "resolution_reason": _MAYBE_TEXT}}
SUBMITTED_SCHEMA = {"type": "object", "required": ["report_id", "station_id", "kind", "status", "note"],
                    "properties": {"report_id": {"type": "integer"}, "station_id": _TEXT,
                                   "kind": {"type": "string", "enum": list(KINDS)},
                                   "status": {"type": "string", "enum": ["open"]}, "note": _TEXT}}
REPORTS_RESPONSE = {"type": "object", "required": ["status", "count", "reports"],
                    "properties": {"status": _TEXT, "count": {"type": "integer", "minimum": 0},
                                   "reports": {"type": "array", "items": REPORT_SCHEMA}}}
REPORT_SUMMARY_SCHEMA = {"type": "object", "nullable": True, "description": "Open reports of the last 30 days, unconfirmed.",
                   "properties": {"count": {"type": "integer"}, "kinds": {"type": "object"},
                                  "latest_at": _TEXT, "label_en": _TEXT, "label_zh": _TEXT, "unconfirmed": {"type": "boolean"}}}
_CHECK_GROUP = {"type": "object", "properties": {"checked_at": _MAYBE_TEXT, "by": _MAYBE_TEXT, "via": _MAYBE_TEXT,
                                                  "days": _MAYBE_NUMBER, "label_en": _TEXT, "label_zh": _TEXT,
                                                  "stale": {"type": "boolean"}}}
CHECKED_SCHEMA = {"type": "object", "required": ["label_en", "label_zh", "stale"],
            "properties": {"groups": {"type": "object", "properties": {g: _CHECK_GROUP for g in FIELD_GROUPS}},
                           "stale_days": {"type": "number"}, "stale": {"type": "boolean"},
                           "oldest_days": _MAYBE_NUMBER, "latest_days": _MAYBE_NUMBER, "label_en": _TEXT,
                           "label_zh": _TEXT, "warning_en": _MAYBE_TEXT, "warning_zh": _MAYBE_TEXT}}
CHECKS_RESPONSE = {"type": "object", "required": ["station_id", "checked", "reports", "at"],
                   "properties": {"station_id": _TEXT, "checked": CHECKED_SCHEMA, "reports": REPORT_SUMMARY_SCHEMA, "at": _TEXT}}
CHECKS_MANY_RESPONSE = {"type": "object", "required": ["stations"], "properties": {"stations": {
    "type": "object", "description": "By station id; unknown ids are left out.",
    "additionalProperties": {"type": "object", "required": ["checked", "reports", "status"],
                             "properties": {"checked": CHECKED_SCHEMA, "reports": REPORT_SUMMARY_SCHEMA, "status": _TEXT,
                                            "status_reason": _MAYBE_TEXT}}}}}
NO_REPORT = "No report with this id."
RESOLVED = "The report is already accepted or rejected."


@bp.post("/stations/<station_id>/reports")
@operation(summary="Report a problem with a station (anyone, no login; rate-limited)", path_params=(STATION_ID,),
           body=REPORT_BODY, response=SUBMITTED_SCHEMA, status=201, not_found="No station with this id, or it "
           "is removed.", errors={"429": "Too many reports from this client in the last hour."})
def report_view(station_id: str):
    doc = json_body()
    rep = submit_report(store(), station_id, doc, client=client_address(),
                        limit_per_hour=settings().reports_per_hour)
    return _json(rep, 201)


@bp.get("/reports")
@operation(summary="Workers' reports on the stations of the user's areas (moderators, editors, admins)",
           params=REPORTS_PARAMS, response=REPORTS_RESPONSE, auth="read",
           errors={"403": "The user's role may not moderate."})
def reports_view():
    user = current_user()
    q = query(REPORTS_PARAMS)
    reports = list_reports(store(), user, status=q["status"], station_id=q["station_id"])
    return _json({"status": q["status"], "count": len(reports), "reports": reports})


@bp.post("/reports/<int:report_id>/accept")
@operation(summary="Accept a report: apply what it says and confirm its check dates (staff of the area)",
           path_params=(REPORT_ID,), header_params=(IF_MATCH,), body=ACCEPT_BODY, body_required=False,
           response=REPORT_SCHEMA, not_found=NO_REPORT, auth="write",
           errors={"403": FORBIDDEN, "409": RESOLVED, "412": STALE})
def accept_view(report_id: int):
    """Accept: ``{"reason"?, "changes"?: {...fields}}`` (``If-Match`` applies to ``changes``)."""
    user = writer()
    doc = json_body("reason", "changes") if request.get_data() else {}
    changes = doc.get("changes")
    if changes is not None and not isinstance(changes, dict):
        raise ValidationError.from_problems([Problem("changes", changes, "not an object", '{"opening_hours": ...}')])
    rep = accept_report(store(), user, report_id, reason=_text(doc, "reason"), changes=changes,
                        if_match=request.headers.get("If-Match"))
    return _json(rep)


@bp.post("/reports/<int:report_id>/reject")
@operation(summary="Reject a report with a reason (staff of the area)", path_params=(REPORT_ID,), body=REJECT_BODY,
           response=REPORT_SCHEMA, not_found=NO_REPORT, auth="write", errors={"403": FORBIDDEN, "409": RESOLVED})
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
@operation(summary="When each field group of a station was last checked, and its unconfirmed reports",
           path_params=(STATION_ID,), response=CHECKS_RESPONSE, not_found="No station with this id.")
def checks_view(station_id: str):
    return _json({"station_id": station_id, **public_state(station_id),
                  "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})


@bp.get("/checks")
@operation(summary="Check dates and unconfirmed reports of several stations (the locator's cards)",
           params=CHECKS_PARAMS, response=CHECKS_MANY_RESPONSE)
def checks_many_view():
    """Check dates and unconfirmed reports of several stations at once: ``?ids=A1,B2`` (at most
    100; 200 characters allow no more), for the locator's cards: ``{"stations": {id: {"checked":
    {...}, "reports": {...}|null}}}``."""
    ids = query(CHECKS_PARAMS)["ids"]
    if len(ids) > MAX_STATE_IDS:  # unreachable within 200 characters; kept should that limit grow
        raise ValidationError.from_problems([Problem("ids", len(ids), "too many",
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
