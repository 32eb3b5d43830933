"""The write API (``/api/v1``): staff create, edit, verify, close and upload stations.

Each view authenticates (:func:`stations.web.auth.writer`: a Bearer token, or the workspace
session with its CSRF token), parses the JSON body, calls one :mod:`stations.accounts`
function and answers the record with its ETag. Errors use the API's one problem shape: 401
without credentials, 403 outside the user's areas (nothing changed), 412 for a stale
``If-Match`` (with the current record), 428 without ``If-Match``, 400 naming every problem.
"""

from __future__ import annotations

import json

import orjson
from flask import Blueprint, Response, request
from werkzeug.utils import secure_filename

from ..accounts import FIELD_GROUPS, create_station, patch_station, set_status, upload_apply, upload_dry_run, \
    verify_station
from ..accounts import uploads
from ..accounts.curation import MAX_TEXT_CHARS, _station
from ..errors import Problem, ValidationError
from ..records import FIELDS, RAW_CRS_VALUES, STATUS_VALUES
from .auth import record_response, settings, store, writer
from .openapi import operation
from .params import Param

bp = Blueprint("writes", __name__, url_prefix="/api/v1")
UPLOAD_SUFFIXES = (".csv", ".xlsx", ".geojson", ".json", ".gpkg")


def json_body(*allowed: str) -> dict:
    """The request's JSON object; unknown keys (when ``allowed`` is given) are named."""
    if not request.is_json:
        raise ValidationError.from_problems([Problem("Content-Type", request.content_type, "not JSON",
                                                     "application/json")], what="request")
    try:
        doc = json.loads(request.get_data(as_text=True) or "null")
    except ValueError as exc:
        raise ValidationError.from_problems([Problem("body", str(exc), "malformed JSON", "a JSON object")],
                                            what="request") from None
    if not isinstance(doc, dict):
        raise ValidationError.from_problems([Problem("body", type(doc).__name__, "not a JSON object",
                                                     "a JSON object")], what="request")
    if allowed:
        unknown = [k for k in doc if k not in allowed]
        if unknown:
            raise ValidationError.from_problems([Problem(k, doc[k], "unknown field", ", ".join(allowed))
                                                 for k in unknown], what="request")
    return doc


# --- what the routes take and answer (for the OpenAPI document) ------------------------------
STATION_ID = Param("station_id", "str", "The station's id.", example="CL-001")
UPLOAD_ID = Param("upload_id", "str", "The id `POST /api/v1/uploads` answered.")
IF_MATCH = Param("If-Match", "str", "The station's ETag as last read (`GET .../record` or the last edit).")
_REASON = {"type": "string", "maxLength": MAX_TEXT_CHARS, "nullable": True,
           "description": "Why (kept in the history)."}
_FIELD_VALUES = {"description": "Record fields to set (see `stations/records.py`); an empty text clears one. The "
                                "record is then validated as an import row is (opening_hours syntax, adcode, "
                                "a position inside the station's area, ...): each problem is named in a 400.",
                 "type": "object", "additionalProperties": False,
                 "properties": {f.name: {"type": "number", "nullable": True} if f.kind == "float"
                                else {"type": "string", "nullable": True, "maxLength": MAX_TEXT_CHARS}
                                for f in FIELDS}}
_CRS = {"type": "string", "enum": list(RAW_CRS_VALUES), "default": "wgs84",
        "description": "Coordinate system of `lat` / `lon` given (kept as raw_lat, raw_lon, raw_crs)."}
CREATE_BODY = {"type": "object", "required": ["record"], "additionalProperties": False,
               "properties": {"record": _FIELD_VALUES, "reason": _REASON, "crs": _CRS}}
PATCH_BODY = {"type": "object", "required": ["changes"], "additionalProperties": False,
              "properties": {"changes": {**_FIELD_VALUES, "minProperties": 1}, "reason": _REASON, "crs": _CRS}}
VERIFY_BODY = {"type": "object", "additionalProperties": False,
               "properties": {"groups": {"type": "array", "minItems": 1, "nullable": True,
                                         "items": {"type": "string", "enum": list(FIELD_GROUPS)},
                                         "description": "Field groups confirmed (default: all)."},
                              "note": _REASON}}
STATUS_BODY = {"type": "object", "required": ["status", "reason"], "additionalProperties": False,
               "properties": {"status": {"type": "string", "enum": list(STATUS_VALUES)},
                              "reason": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT_CHARS,
                                         "pattern": r"[^\s\x00-\x1f]", "description": "Why (kept in the history)."}}}
CONFIRM_BODY = {"type": "object", "additionalProperties": False, "properties": {"reason": _REASON}}
UPLOAD_BODY = {"type": "object", "required": ["file"],
               "properties": {"file": {"type": "string", "format": "binary",
                                       "description": "A station file: " + ", ".join(UPLOAD_SUFFIXES)}}}
RECORD_RESPONSE = {"type": "object", "required": ["record", "etag"],
                   "properties": {"record": {"$ref": "#/components/schemas/StationRecord"},
                                  "etag": {"type": "string", "description": "The record's ETag (for `If-Match`)."}}}
IMPORT_REPORT = {"type": "object", "description": "The import report: rows added, updated, unchanged and rejected "
                                                  "(with row numbers and reasons).",
                 "properties": {"added": {"type": "integer"}, "updated": {"type": "integer"},
                                "unchanged": {"type": "integer"}, "rejected": {"type": "integer"}}}
UPLOAD_RESPONSE = {**IMPORT_REPORT, "required": ["upload_id", "confirm", "can_apply", "outside_areas"],
                   "properties": {**IMPORT_REPORT["properties"], "upload_id": {"type": "string"},
                                  "confirm": {"type": "string", "description": "Where to POST the confirmation."},
                                  "can_apply": {"type": "boolean"},
                                  "outside_areas": {"type": "array", "items": {"type": "object"}}}}
_RECORD_HEADERS = {"ETag": {"description": "The record's ETag: send it in `If-Match` to edit it.",
                            "schema": {"type": "string"}}}
_LOCATION = {"Location": {"description": "The new station's URL.", "schema": {"type": "string"}}}
FORBIDDEN = "The user's role may not do this, the station is outside their areas, or (with the session cookie) " \
            "the CSRF token is missing. Nothing was changed."
STALE = "`If-Match` is not the record's current ETag: the answer holds the current record (`current`)."


def _text(doc: dict, name: str) -> str:
    """The text member ``name`` of a body ("" when left out or null), at most MAX_TEXT_CHARS."""
    value = doc.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError.from_problems([Problem(name, value, "not a text", "a text")], what="request")
    if len(value) > MAX_TEXT_CHARS:
        raise ValidationError.from_problems([Problem(name, f"{value[:40]}… ({len(value)} characters)", "too long",
                                                     f"at most {MAX_TEXT_CHARS} characters")], what="request")
    return value


@bp.get("/stations/<station_id>/record")
@operation(summary="A station's stored record with its ETag (for If-Match)", path_params=(STATION_ID,),
           response=RECORD_RESPONSE, headers=_RECORD_HEADERS, not_found="No station with this id.")
def record_view(station_id: str):
    """The stored record with its ETag (for ``If-Match``)."""
    return record_response(_station(store(), station_id))


@bp.post("/stations")
@operation(summary="Create a station (staff)", body=CREATE_BODY, response=RECORD_RESPONSE, status=201,
           headers={**_RECORD_HEADERS, **_LOCATION}, auth="write",
           errors={"403": FORBIDDEN, "409": "A station with this `station_id` exists: PATCH it instead."})
def create_view():
    """Create a station: ``{"record": {...fields}, "reason": "...", "crs": "wgs84"}``."""
    user = writer()
    doc = json_body("record", "reason", "crs")
    if not isinstance(doc.get("record"), dict):
        raise ValidationError.from_problems([Problem("record", doc.get("record"), "missing or not an object",
                                                     '{"record": {"name": ..., "adcode": ...}}')], what="request")
    rec = create_station(store(), user, doc["record"], reason=_text(doc, "reason"), crs=doc.get("crs"))
    resp = record_response(rec, 201)
    resp.headers["Location"] = f"/api/v1/stations/{rec['station_id']}"
    return resp


@bp.patch("/stations/<station_id>")
@operation(summary="Change fields of a station (staff; needs If-Match)", path_params=(STATION_ID,),
           header_params=(IF_MATCH,), body=PATCH_BODY, response=RECORD_RESPONSE, headers=_RECORD_HEADERS,
           not_found="No station with this id.", auth="write",
           errors={"403": FORBIDDEN, "412": STALE, "428": "No `If-Match` header: an edit must name the ETag it "
                                                          "was made from."})
def patch_view(station_id: str):
    """Change fields: ``{"changes": {...}, "reason": "...", "crs": "wgs84"}`` with ``If-Match``."""
    user = writer()
    doc = json_body("changes", "reason", "crs")
    if not isinstance(doc.get("changes"), dict) or not doc["changes"]:
        raise ValidationError.from_problems([Problem("changes", doc.get("changes"), "missing or empty",
                                                     '{"changes": {"opening_hours": "24/7"}}')], what="request")
    rec = patch_station(store(), user, station_id, doc["changes"], if_match=request.headers.get("If-Match"),
                        reason=_text(doc, "reason"), crs=doc.get("crs"))
    return record_response(rec)


@bp.post("/stations/<station_id>/verify")
@operation(summary="Confirm a station's field groups as checked today (staff)", path_params=(STATION_ID,),
           body=VERIFY_BODY, body_required=False, response=RECORD_RESPONSE, headers=_RECORD_HEADERS,
           not_found="No station with this id.", auth="write", errors={"403": FORBIDDEN})
def verify_view(station_id: str):
    """Confirm field groups as checked today: ``{"groups": ["hours", ...], "note": "..."}`` (default all)."""
    user = writer()
    doc = json_body("groups", "note") if request.get_data() else {}
    groups = doc.get("groups")
    if groups is not None and not isinstance(groups, list):
        raise ValidationError.from_problems([Problem("groups", groups, "not a list",
                                                     '["position", "hours", "amenities", "access"]')])
    rec = verify_station(store(), user, station_id, groups, note=_text(doc, "note"))
    return record_response(rec)


@bp.post("/stations/<station_id>/status")
@operation(summary="Close a station temporarily, remove or reopen it, with a reason (staff)",
           path_params=(STATION_ID,), header_params=(IF_MATCH,), body=STATUS_BODY, response=RECORD_RESPONSE,
           headers=_RECORD_HEADERS, not_found="No station with this id.", auth="write",
           errors={"403": FORBIDDEN, "412": STALE})
def status_view(station_id: str):
    """Close temporarily, remove or reopen: ``{"status": "temporarily_closed", "reason": "..."}``."""
    user = writer()
    doc = json_body("status", "reason")
    rec = set_status(store(), user, station_id, doc.get("status"), reason=doc.get("reason"),
                     if_match=request.headers.get("If-Match"))
    return record_response(rec)


# -- uploads: dry run first, apply on confirmation -------------------------------------------
# The file waits in the store (stations.accounts.uploads), so that the confirmation may reach
# another instance or worker than the dry run.
def _max_upload_bytes() -> int:
    return int(settings().import_max_mb * 1e6)


def save_upload(file_storage, user) -> str:
    """Keep an uploaded file in the store until it is confirmed; its upload id."""
    name = secure_filename(file_storage.filename or "") or "upload.csv"
    if not name.lower().endswith(UPLOAD_SUFFIXES):
        raise ValidationError.from_problems([Problem("file", file_storage.filename, "not a station file",
                                                     ", ".join(UPLOAD_SUFFIXES))], what="upload")
    return uploads.save_upload(store(), user, name, file_storage.read(), max_bytes=_max_upload_bytes())


def upload_file(upload_id: str, user):
    """The upload of ``user`` as a temporary file (a context manager): 404 if there is none."""
    return uploads.upload_file(store(), upload_id, user)


def discard_upload(upload_id: str) -> None:
    uploads.discard_upload(store(), upload_id)


@bp.post("/uploads")
@operation(summary="Upload a station file: its dry-run report (nothing is written yet)", body=UPLOAD_BODY,
           body_media="multipart/form-data", response=UPLOAD_RESPONSE, auth="write",
           errors={"403": "The user's role may not upload, or (with the session cookie) the CSRF token is "
                          "missing."})
def upload_view():
    """Upload a spreadsheet (multipart field ``file``): answers the dry-run report and an
    ``upload_id``; nothing is written until ``POST /api/v1/uploads/{upload_id}/confirm``."""
    user = writer()
    file = request.files.get("file")
    if file is None:
        raise ValidationError.from_problems([Problem("file", None, "missing", "a multipart field 'file'")],
                                            what="upload")
    upload_id = save_upload(file, user)
    try:
        with upload_file(upload_id, user) as path:
            report = upload_dry_run(store(), user, path, max_bytes=_max_upload_bytes())
    except Exception:
        discard_upload(upload_id)
        raise
    report["upload_id"] = upload_id
    report["confirm"] = f"/api/v1/uploads/{upload_id}/confirm"
    return Response(orjson.dumps(report, default=str), content_type="application/json")


@bp.post("/uploads/<upload_id>/confirm")
@operation(summary="Apply an upload's good rows (one batch naming the user and reason)", path_params=(UPLOAD_ID,),
           body=CONFIRM_BODY, body_required=False, response=IMPORT_REPORT, auth="write",
           not_found="No upload of this user with this id is waiting (unknown, applied, or someone else's).",
           errors={"403": "Rows are outside the user's areas (nothing was written), the role may not upload, or "
                          "the CSRF token is missing."})
def confirm_view(upload_id: str):
    """Apply an upload's good rows (one batch with the user and reason): ``{"reason": "..."}``."""
    user = writer()
    doc = json_body("reason") if request.get_data() else {}
    with upload_file(upload_id, user) as path:
        report = upload_apply(store(), user, path, reason=_text(doc, "reason"), max_bytes=_max_upload_bytes())
    discard_upload(upload_id)
    return Response(orjson.dumps(report.to_dict(), default=str), content_type="application/json")
