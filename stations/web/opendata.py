"""Open-data downloads (``/opendata/``) and the change feed (``/api/v1/changes``).

``/opendata/stations.geojson``, ``.csv`` and ``.gpkg`` are stable URLs for the whole public
data set at the current revision. The files are made once per revision
(:class:`~stations.opendata.DumpFiles`, in the folder of the setting ``opendata_dir``) and
sent as files: ``ETag`` (format, revision, licence) and ``Last-Modified`` (when the revision
was committed) make a copy that is still current cost a 304; ranges resume a broken
download. Each answer names its revision (``Stations-Revision``) and licence (``Link: <…>;
rel="license"``) in its headers, for the CSV, which cannot say it inside.

``/api/v1/changes?since=R`` pages through the changes after revision R
(:func:`stations.opendata.read_changes`); when it is complete it says which revision to ask
from next time. A ``since`` older than ``changes_keep_days`` is answered 410 Gone with the
dumps to reload from.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import orjson
from flask import Blueprint, Response, current_app, request
from werkzeug.wsgi import wrap_file

from ..opendata import FORMATS, ChangeFeed, DataLicence, DumpFiles, DumpMeta, HistoryGoneError
from ..opendata.dumps import TITLE
from .params import Param, parse
from .openapi import operation
from .problems import problem_response

bp = Blueprint("opendata", __name__, url_prefix="/opendata")
changes_bp = Blueprint("changes", __name__, url_prefix="/api/v1")

CHANGES_MAX = 5000
CHANGES_PARAMS = (
    Param("since", "int", "The revision your copy shows: a dump's revision (its Stations-Revision header, or "
                          "`revision` in the GeoJSON), or the `next_since` of the last complete answer; 0 for an "
                          "empty copy; a revision newer than the store's is refused (400).", required=True, minimum=0, example=0),
    Param("cursor", "str", "Continue a paged answer: the cursor of the previous page's next link."),
    Param("limit", "int", "Changes per page.", default=1000, minimum=1, maximum=CHANGES_MAX),
)

# The JSON Schema of a /api/v1/changes answer: for its entry in /api/v1's OpenAPI document.
_FEATURE = {"type": "object", "nullable": True, "required": ["type", "id", "geometry", "properties"], "properties": {
    "type": {"type": "string", "enum": ["Feature"]}, "id": {"type": "string"},
    "geometry": {"type": "object", "nullable": True}, "properties": {"type": "object"}}}
CHANGES_SCHEMA = {
    "type": "object", "required": ["since", "revision", "count", "complete", "next_since", "changes", "links"],
    "properties": {
        "since": {"type": "integer", "minimum": 0},
        "revision": {"type": "integer", "minimum": 0, "description": "The store's revision when this page was read."},
        "count": {"type": "integer", "minimum": 0},
        "complete": {"type": "boolean", "description": "False: follow the next link (it carries a cursor)."},
        "next_since": {"type": "integer", "nullable": True, "description": "When complete: ask from here next time."},
        "changes": {"type": "array", "items": {
            "type": "object", "required": ["revision", "at", "station_id", "action", "fields", "feature"],
            "properties": {"revision": {"type": "integer", "minimum": 1}, "at": {"type": "string"},
                           "station_id": {"type": "string"},
                           "action": {"type": "string", "enum": ["add", "update", "remove"]},
                           "fields": {"type": "array", "items": {"type": "string"}},
                           "feature": _FEATURE}}},
        "links": {"type": "array", "items": {"type": "object", "required": ["rel", "href"], "properties": {
            "rel": {"type": "string"}, "href": {"type": "string"}, "type": {"type": "string"},
            "title": {"type": "string"}}}},
    },
}


@bp.record_once
def _setup(state) -> None:
    settings = state.app.config["STATIONS"]
    folder = settings.opendata_dir or str(Path(settings.store).resolve().parent / "opendata")
    state.app.extensions["stations.dumps"] = DumpFiles(folder)
    state.app.extensions["stations.feed"] = ChangeFeed(settings.store)


def _feed() -> ChangeFeed:
    return current_app.extensions["stations.feed"]


def _licence() -> DataLicence:
    return DataLicence.from_settings(current_app.config["STATIONS"])


def _json(body, status: int = 200) -> Response:
    resp = Response(orjson.dumps(body), status=status, content_type="application/json")
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


def _meta():
    snapshot = current_app.extensions["stations"].snapshot()
    return snapshot, DumpMeta(snapshot.revision, _feed().revision_at(snapshot.revision), _licence())


def _site() -> str:
    return request.url_root.rstrip("/")


@bp.get("/")
def index_view():
    """What can be downloaded, at which revision, under which licence."""
    parse((), request.args)
    snapshot, meta = _meta()
    site = _site()
    return _json({
        "title": TITLE, "revision": meta.revision, "modified": meta.modified, "stations": int(len(snapshot.frame)),
        "licence": meta.licence.as_dict(),
        "files": [{"format": fmt, "url": f"{site}/opendata/stations.{fmt}", "media_type": media, "description": text}
                  for fmt, (media, text) in FORMATS.items()],
        "changes": f"{site}/api/v1/changes?since={meta.revision}",
        "ogc": f"{site}/ogc",
    })


@bp.get("/stations.<any(geojson, csv, gpkg):fmt>")
def dump_view(fmt: str):
    """The whole public data set in one format, at the current revision."""
    parse((), request.args)
    snapshot, meta = _meta()
    headers = {"Stations-Revision": str(meta.revision), "Access-Control-Allow-Origin": "*",
               "Access-Control-Expose-Headers": "ETag, Last-Modified, Stations-Revision, Link",
               "Content-Disposition": f'attachment; filename="stations.{fmt}"'}
    if meta.licence.url:
        headers["Link"] = f'<{meta.licence.url}>; rel="license"'
    modified = dt.datetime.fromisoformat(meta.modified.replace("Z", "+00:00")) if meta.modified else None
    etag = f"{fmt}-r{meta.revision}-{meta.fingerprint}"
    if request.if_none_match.contains(etag):  # the copy is current: no need to open (or write) the file
        resp = Response(status=304, headers=headers)
        resp.set_etag(etag)
        return resp
    fh = current_app.extensions["stations.dumps"].open(fmt, snapshot, meta)
    size = os.fstat(fh.fileno()).st_size
    resp = Response(wrap_file(request.environ, fh), content_type=FORMATS[fmt][0], headers=headers,
                    direct_passthrough=True)
    resp.content_length = size
    resp.set_etag(etag)
    if modified is not None:
        resp.last_modified = modified
    resp.cache_control.no_cache = True  # may be kept, but ask (ETag) before using it again
    return resp.make_conditional(request, accept_ranges=True, complete_length=size)


@changes_bp.get("/changes")
@operation(summary="Stations added, changed and removed since a revision (a change feed)", params=CHANGES_PARAMS,
           response=CHANGES_SCHEMA,
           description="From the append-only history, in commit order, a page at a time (follow `links` "
                       "rel=next). Apply the changes to a dump of revision `since` to get the current data.",
           errors={"410": "`since` is older than the history kept (`changes_keep_days`): reload a dump (the "
                          "problem's `dumps` lists them)."})
def changes_view():
    """The changes after revision ``since``, in commit order, a page at a time."""
    q = parse(CHANGES_PARAMS, request.args)
    settings = current_app.config["STATIONS"]
    page = _feed().read(q["since"], cursor=q["cursor"], limit=q["limit"], keep_days=settings.changes_keep_days)
    body = page.as_dict()
    extra = f"&limit={q['limit']}" if request.args.get("limit") else ""
    if page.cursor is not None:
        href = f"{request.path}?since={page.since}&cursor={page.cursor}{extra}"
    else:
        href = f"{request.path}?since={page.next_since}{extra}"
    body["links"] = [{"rel": "next", "href": href, "type": "application/json",
                      "title": "the next page" if page.cursor is not None else "ask from here next time"}]
    return _json(body)


@changes_bp.errorhandler(HistoryGoneError)
def _gone(exc: HistoryGoneError):
    site = _site()
    return problem_response(410, str(exc), exc.problems,
                            dumps=[f"{site}/opendata/stations.{fmt}" for fmt in FORMATS])
