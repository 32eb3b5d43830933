"""The staff workspace (``/workspace``): server-rendered pages, zh and en, no script needed.

Log in; the stations of my areas (search, open reports first, stale first); a station's page
(edit form, status, verify, history, reports); upload with the dry-run report, its problems
as CSV, and confirmation; the reports queue; the due-for-re-check list; the audit (admins).
Every form carries the CSRF token (:mod:`stations.web.auth`); every page is escaped by
Jinja's autoescaping and served with a strict Content-Security-Policy.
"""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, current_app, g, redirect, render_template, request, url_for

from ..accounts import (Unauthorized, accept_report, area_stations, authenticate, check_info, create_session,
                        due_list, end_session, etag, hit_rate_limit, list_reports, patch_station, reject_report,
                        set_status, upload_apply, upload_dry_run, verify_station)
from ..accounts.curation import FIELD_GROUPS, GROUP_LABELS, _station, require
from ..accounts.reports import KIND_LABELS
from ..amenities import AMENITY_CODES, AMENITY_VALUES, BY_CODE
from ..errors import StationsError, ValidationError
from ..records import ACCESS_VALUES, ENTRY_VALUES, STATUS_VALUES
from .auth import (CSRF_FIELD, SESSION_COOKIE, check_csrf, client_address, csrf_token, current_user,
                   set_session_cookie, settings, store)
from .writes import discard_upload, save_upload, upload_file

bp = Blueprint("workspace", __name__, url_prefix="/workspace", template_folder="templates")
LANGS = ("zh", "en")
LANG_COOKIE = "stations_lang"
EDIT_FIELDS = ("name", "name_en", "address", "province", "city", "county", "adcode", "opening_hours", "access",
               "entry", "operator", "contact", "notes")
T = {
    "title": ("驿站工作台", "Stations workspace"), "login": ("登录", "Log in"), "logout": ("退出", "Log out"),
    "user": ("用户名", "User name"), "password": ("密码", "Password"), "stations": ("我的站点", "My stations"),
    "upload": ("上传表格", "Upload"), "reports": ("工人报告", "Reports"), "due": ("待复核", "Due for re-check"),
    "audit": ("操作记录", "Audit"), "search": ("搜索", "Search"), "name": ("名称", "Name"),
    "county": ("区县", "County"), "status": ("状态", "Status"), "hours": ("开放时间", "Hours"),
    "checked": ("核实", "Checked"), "open_reports": ("未处理报告", "Open reports"), "save": ("保存", "Save"),
    "reason": ("原因", "Reason"), "edit": ("编辑", "Edit"), "history": ("修改历史", "History"),
    "verify": ("确认无误（今天已核实）", "Confirm as checked today"), "set_status": ("更改状态", "Change status"),
    "accept": ("采纳", "Accept"), "reject": ("驳回", "Reject"), "file": ("文件", "File"),
    "dry_run": ("预检（不写入）", "Check (writes nothing)"), "confirm": ("确认导入", "Confirm and apply"),
    "problems_csv": ("下载问题清单 (CSV)", "Download problems (CSV)"), "row": ("行", "Row"),
    "field": ("字段", "Field"), "value": ("值", "Value"), "none": ("无", "None"), "by": ("操作人", "By"),
    "when": ("时间", "When"), "changes": ("修改", "Changes"), "kind": ("类型", "Kind"), "text": ("内容", "Text"),
    "station": ("站点", "Station"), "stale": ("需复核", "stale"), "position": ("位置", "Position"),
    "crs": ("坐标系", "Coordinate system"), "unconfirmed": ("未核实", "unconfirmed"),
    "added": ("新增", "to add"), "updated": ("更新", "to update"), "unchanged": ("不变", "unchanged"),
    "rejected": ("拒收", "rejected"), "outside": ("不在您的辖区", "outside your areas"),
    "applied": ("已导入", "Applied"), "back": ("返回", "Back"), "error": ("出错了", "Something went wrong"),
    "drag": ("拖动地图上的标记可修改位置，保存后生效。", "Drag the pin on the map to move the station; saved with the form."),
}


def _lang() -> str:
    lang = request.args.get("lang") or request.cookies.get(LANG_COOKIE) or "zh"
    return lang if lang in LANGS else "zh"


def t(key: str) -> str:
    zh, en = T[key]
    return en if _lang() == "en" else zh


@bp.after_request
def _remember_lang(resp: Response) -> Response:
    if request.args.get("lang") in LANGS:
        resp.set_cookie(LANG_COOKIE, request.args["lang"], samesite="Lax", httponly=True, path="/workspace")
    return resp


@bp.before_request
def _csrf_on_every_form():
    if request.method == "POST":
        check_csrf()


def _render(template: str, **context) -> str:
    static = current_app.extensions["stations.static"]
    return render_template(f"workspace/{template}", t=t, lang=_lang(), csrf_field=CSRF_FIELD, csrf=csrf_token(),
                           user=g.get("user"), css=static.url("css/workspace.css"),
                           pin_script=static.url("js/workspace-pin.js"), **context)


def error_page(status: int, message: str) -> Response:
    return Response(_render("error.html", status=status, message=message), status=status, mimetype="text/html")


def _form_errors(exc: StationsError) -> list[str]:
    return [str(p) for p in exc.problems] or [str(exc)]


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        hit_rate_limit(store(), "login", client_address(), limit=settings().login_attempts_per_hour, window_s=3600)
        try:
            user = authenticate(store(), request.form.get("name", ""), request.form.get("password", ""))
        except Unauthorized as exc:
            error = str(exc)
        else:
            target = request.args.get("next") or ""
            resp = redirect(target if target.startswith("/workspace") and "//" not in target
                            else url_for("workspace.stations"))
            set_session_cookie(resp, create_session(store(), user))
            return resp
    return Response(_render("login.html", error=error), status=401 if error else 200, mimetype="text/html")


@bp.post("/logout")
def logout():
    if request.cookies.get(SESSION_COOKIE):
        end_session(store(), request.cookies[SESSION_COOKIE])
    resp = redirect(url_for("workspace.login"))
    set_session_cookie(resp, None)
    return resp


@bp.get("/")
def stations():
    user = current_user()
    q = (request.args.get("q") or "").strip()[:100]
    rows = area_stations(store(), user, search=q, stale_days=settings().check_stale_days)
    return _render("stations.html", rows=rows, q=q)


def _station_context(station_id: str, errors=None, message=None) -> dict:
    user = current_user()
    rec = _station(store(), station_id)
    require(user, "view", rec.get("adcode"))
    info = check_info(store(), station_id, stale_days=settings().check_stale_days, record=rec)
    return dict(rec=rec, pin=_pin(rec), etag=etag(rec), checks=info, groups=FIELD_GROUPS, group_labels=GROUP_LABELS,
                history=store().history(station_id, limit=100), errors=errors or [], message=message,
                reports=list_reports(store(), user, status="all", station_id=station_id)
                if _may_moderate(user) else [],
                kind_labels=KIND_LABELS, amenities=[(c, BY_CODE[c]) for c in AMENITY_CODES],
                amenity_values=AMENITY_VALUES, access_values=ACCESS_VALUES, entry_values=ENTRY_VALUES,
                status_values=STATUS_VALUES, edit_fields=EDIT_FIELDS)


def _pin(rec: dict) -> dict | None:
    """The station's marker for the page's map, in the tiles' coordinate system (the form then
    sends a dragged position with that system, and the server converts it to WGS-84)."""
    from ..mapping.tiles import resolve_tiles

    tiles = resolve_tiles(settings().tiles, settings().tiles_crs).to_js()
    lat, lon = rec.get("lat"), rec.get("lon")
    if lat is None or lon is None or lat != lat:
        return None
    if tiles["crs"] != "wgs84":
        from ..geo import from_wgs84

        lat, lon = (float(v) for v in from_wgs84(lat, lon, tiles["crs"]))
    static = current_app.extensions["stations.static"]
    return {"lat": lat, "lon": lon, "crs": tiles["crs"], "tiles": tiles, "api": "/api/v1",
            "css": static.url("vendor/leaflet/leaflet.css"), "js": static.url("vendor/leaflet/leaflet.js")}


def _may_moderate(user) -> bool:
    from ..accounts.scopes import PERMISSIONS

    return "moderate" in PERMISSIONS.get(user.role, ())


@bp.get("/stations/<station_id>")
def station(station_id: str):
    return _render("station.html", **_station_context(station_id, message=request.args.get("done")))


def _changed_fields(rec: dict, form) -> dict:
    """Only the fields the form changed (an unchanged field is not "checked" by saving)."""
    out = {}
    for name in EDIT_FIELDS + tuple(f"amenity_{c}" for c in AMENITY_CODES):
        if name not in form:
            continue
        value = form.get(name, "").strip()
        if value != ("" if rec.get(name) is None else str(rec.get(name))):
            out[name] = value
    lat, lon = form.get("lat", "").strip(), form.get("lon", "").strip()
    crs = form.get("crs", "wgs84")
    try:
        moved = crs != "wgs84" or (lat and lon and (float(lat) != rec.get("lat") or float(lon) != rec.get("lon")))
    except ValueError:
        moved = True
    if moved and (lat or lon):
        out.update(lat=lat, lon=lon)
    return out


@bp.post("/stations/<station_id>/edit")
def edit(station_id: str):
    user = current_user()
    rec = _station(store(), station_id)
    changes = _changed_fields(rec, request.form)
    try:
        if changes:
            patch_station(store(), user, station_id, changes, if_match=request.form.get("etag"),
                          reason=request.form.get("reason", ""), crs=request.form.get("crs") or "wgs84")
    except ValidationError as exc:
        return _station_page_with_errors(station_id, exc)
    return redirect(url_for("workspace.station", station_id=station_id, done="saved"))


def _station_page_with_errors(station_id: str, exc: ValidationError) -> Response:
    """The station page again (400) with the form's problems beside their fields."""
    return Response(_render("station.html", **_station_context(station_id, errors=_form_errors(exc))),
                    status=400, mimetype="text/html")


@bp.post("/stations/<station_id>/status")
def status(station_id: str):
    user = current_user()
    try:
        set_status(store(), user, station_id, request.form.get("status", ""), reason=request.form.get("reason", ""),
                   if_match=request.form.get("etag"))
    except ValidationError as exc:
        return _station_page_with_errors(station_id, exc)
    return redirect(url_for("workspace.station", station_id=station_id, done="status"))


@bp.post("/stations/<station_id>/verify")
def verify(station_id: str):
    user = current_user()
    groups = request.form.getlist("groups") or None
    verify_station(store(), user, station_id, groups, note=request.form.get("note", ""))
    return redirect(url_for("workspace.station", station_id=station_id, done="verified"))


@bp.route("/upload", methods=["GET", "POST"])
def upload():
    user = current_user()
    report = upload_id = None
    if request.method == "POST":
        file = request.files.get("file")
        if file is None or not file.filename:
            return Response(_render("upload.html", report=None, upload_id=None, errors=[t("file") + ": ?"]),
                            status=400, mimetype="text/html")
        try:
            upload_id = save_upload(file, user)
            with upload_file(upload_id, user) as path:
                report = upload_dry_run(store(), user, path, max_bytes=int(settings().import_max_mb * 1e6))
        except StationsError as exc:
            if upload_id:
                discard_upload(upload_id)
            return Response(_render("upload.html", report=None, upload_id=None, errors=_form_errors(exc)),
                            status=400, mimetype="text/html")
    return _render("upload.html", report=report, upload_id=upload_id, errors=[])


@bp.get("/upload/<upload_id>/problems.csv")
def upload_problems(upload_id: str):
    user = current_user()
    with upload_file(upload_id, user) as path:
        report = upload_dry_run(store(), user, path, max_bytes=int(settings().import_max_mb * 1e6))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["row", "severity", "field", "value", "reason", "allowed"])
    for severity, key in (("rejected", "rejected_rows"), ("outside your areas", "outside_areas"),
                          ("warning", "warnings")):
        for p in report[key]:
            w.writerow([p.get("row", ""), severity, p["field"], "" if p["value"] is None else p["value"],
                        p["reason"], p.get("allowed", "")])
    return Response("\ufeff" + buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=problems.csv"})


@bp.post("/upload/<upload_id>/confirm")
def upload_confirm(upload_id: str):
    user = current_user()
    with upload_file(upload_id, user) as path:
        report = upload_apply(store(), user, path, reason=request.form.get("reason", ""),
                              max_bytes=int(settings().import_max_mb * 1e6))
    discard_upload(upload_id)
    return _render("upload.html", report=None, upload_id=None, errors=[], applied=report.summary())


@bp.get("/reports")
def reports():
    user = current_user()
    rows = list_reports(store(), user, status=request.args.get("status", "open"))
    return _render("reports.html", rows=rows, kind_labels=KIND_LABELS)


@bp.post("/reports/<int:report_id>/<verdict>")
def resolve(report_id: int, verdict: str):
    user = current_user()
    if verdict == "accept":
        accept_report(store(), user, report_id, reason=request.form.get("reason", ""))
    elif verdict == "reject":
        try:
            reject_report(store(), user, report_id, reason=request.form.get("reason", ""))
        except ValidationError as exc:
            return error_page(400, "; ".join(_form_errors(exc)))
    else:
        return error_page(404, f"unknown action {verdict!r}: accept or reject")
    return redirect(url_for("workspace.reports"))


@bp.get("/due")
def due():
    user = current_user()
    return _render("due.html", rows=due_list(store(), user, stale_days=settings().check_stale_days),
                   stale_days=settings().check_stale_days)


@bp.get("/audit")
def audit():
    user = current_user()
    require(user, "admin", None, what="the audit")
    name = (request.args.get("user") or "").strip() or None
    return _render("audit.html", entries=store().history(None, limit=300, user=name), who=name or "")
