"""The write API, workers' reports, moderation and the workspace, through HTTP (Flask's test client)."""

from __future__ import annotations

import io
import re

import pytest

from stations.accounts import add_user, create_token
from stations.store import Change, open_store
from stations.web import create_app

from conftest import snapshot, write_csv
from test_accounts import PASSWORD, station

XSS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')


@pytest.fixture
def env(tmp_path):
    path = tmp_path / "stations.gpkg"
    s = open_store(path)
    s.apply([Change("add", station("A1", "130322")), Change("add", station("B1", "130324"))], command="seed")
    add_user(s, "admin1", role="admin", password=PASSWORD)
    add_user(s, "changli", role="editor", areas="130322", password=PASSWORD)
    add_user(s, "yuxian", role="editor", areas="130726")
    add_user(s, "qhd", role="moderator", areas="1303", password=PASSWORD)
    tokens = {name: create_token(s, name)[1] for name in ("admin1", "changli", "yuxian", "qhd")}
    s.close()
    app = create_app({"store": str(path), "reports_per_hour": 5,
                      "login_attempts_per_hour": 4})
    app.testing = True
    return app, path, tokens


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def read_store(path):
    s = open_store(path)
    try:
        return snapshot(s), s.get("A1"), s.get("B1")
    finally:
        s.close()


def current_etag(client, sid="A1"):
    resp = client.get(f"/api/v1/stations/{sid}/record")
    assert resp.status_code == 200
    return resp.headers["ETag"]


# (method, url, json body) of every write route, on station A1 (in changli's area)
def write_routes(report_id=1):
    return [
        ("post", "/api/v1/stations", {"record": {"name": "新站", "adcode": "130322"}}),
        ("patch", "/api/v1/stations/A1", {"changes": {"opening_hours": "24/7"}}),
        ("post", "/api/v1/stations/A1/verify", {}),
        ("post", "/api/v1/stations/A1/status", {"status": "temporarily_closed", "reason": "维修"}),
        ("post", f"/api/v1/reports/{report_id}/accept", {}),
        ("post", f"/api/v1/reports/{report_id}/reject", {"reason": "no"}),
        ("post", "/api/v1/uploads/1-abc/confirm", {}),
    ]


def _report(client, sid="A1", kind="closed", text="门锁着", **kw):
    return client.post(f"/api/v1/stations/{sid}/reports", json={"kind": kind, "text": text}, **kw)


def test_every_write_route_needs_credentials(env):
    app, path, _ = env
    client = app.test_client()
    assert _report(client).status_code == 201
    before = read_store(path)
    for method, url, body in write_routes():
        resp = getattr(client, method)(url, json=body)
        assert resp.status_code == 401, (url, resp.get_json())
        assert resp.mimetype == "application/problem+json" and resp.headers["WWW-Authenticate"].startswith("Bearer")
        resp = getattr(client, method)(url, json=body, headers=bearer("stn_not-a-token"))
        assert resp.status_code == 401, url
    upload = client.post("/api/v1/uploads", data={"file": (io.BytesIO(b"a,b\n"), "x.csv")})
    assert upload.status_code == 401
    assert client.get("/api/v1/reports?status=open").status_code == 401
    assert read_store(path) == before


def test_every_write_route_outside_the_area_is_403_and_changes_nothing(env):
    app, path, tokens = env
    client = app.test_client()
    assert _report(client).status_code == 201
    before = read_store(path)
    tag = current_etag(client)
    for method, url, body in write_routes():
        if "uploads" in url:
            continue
        resp = getattr(client, method)(url, json=body, headers={**bearer(tokens["yuxian"]), "If-Match": tag})
        assert resp.status_code == 403, (url, resp.get_json())
        assert resp.get_json()["errors"][0]["parameter"] in ("adcode", "role")
    assert read_store(path) == before
    assert client.get("/api/v1/reports?status=open", headers=bearer(tokens["yuxian"])).get_json()["count"] == 0


def test_patch_with_if_match_and_a_stale_one(env):
    app, path, tokens = env
    client = app.test_client()
    h = bearer(tokens["changli"])
    resp = client.patch("/api/v1/stations/A1", json={"changes": {"opening_hours": "24/7"}}, headers=h)
    assert resp.status_code == 428
    old = current_etag(client)
    resp = client.patch("/api/v1/stations/A1", json={"changes": {"opening_hours": "24/7"}, "reason": "看过了"},
                        headers={**h, "If-Match": old})
    assert resp.status_code == 200 and resp.get_json()["record"]["opening_hours"] == "24/7"
    assert resp.headers["ETag"] != old
    stale = client.patch("/api/v1/stations/A1", json={"changes": {"name": "另一个"}}, headers={**h, "If-Match": old})
    assert stale.status_code == 412
    assert stale.get_json()["current"]["opening_hours"] == "24/7" and stale.headers["ETag"] == resp.headers["ETag"]
    _, a1, _ = read_store(path)
    assert a1["name"] == "驿站A1"
    s = open_store(path)
    entry = s.history("A1", limit=1)[0]
    s.close()
    assert (entry["user"], entry["reason"]) == ("changli", "看过了") and entry["source"].startswith("api-token:")


def test_write_validation_names_every_problem(env):
    app, _, tokens = env
    client = app.test_client()
    h = {**bearer(tokens["changli"]), "If-Match": current_etag(client)}
    resp = client.patch("/api/v1/stations/A1", json={"changes": {"opening_hours": "sometimes", "access": "cats",
                                                                 "status": "removed"}}, headers=h)
    body = resp.get_json()
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json"
    assert {e["parameter"] for e in body["errors"]} == {"opening_hours", "access", "status"}
    resp = client.post("/api/v1/stations", json={"record": {"name": "", "adcode": "130322", "lat": 300}},
                       headers=bearer(tokens["changli"]))
    assert resp.status_code == 400 and {"name", "lat"} <= {e["parameter"] for e in resp.get_json()["errors"]}
    resp = client.post("/api/v1/stations/A1/status", json={"status": "removed", "reason": ""},
                       headers=bearer(tokens["changli"]))
    assert resp.status_code == 400 and resp.get_json()["errors"][0]["parameter"] == "reason"


def test_create_verify_and_status_through_the_api(env):
    app, path, tokens = env
    client = app.test_client()
    h = bearer(tokens["changli"])
    resp = client.post("/api/v1/stations", json={"record": {"station_id": "N1", "name": "新站", "adcode": "130322",
                                                            "lat": 39.71, "lon": 119.17}}, headers=h)
    assert resp.status_code == 201 and resp.headers["Location"] == "/api/v1/stations/N1"
    assert resp.get_json()["record"]["geocode_precision"] == "exact"
    assert client.post("/api/v1/stations/A1/verify", json={"groups": ["hours"]}, headers=h).status_code == 200
    checks = client.get("/api/v1/stations/A1/checks").get_json()["checked"]
    assert checks["groups"]["hours"]["label_en"] == "checked today" and checks["groups"]["hours"]["by"] == "changli"
    resp = client.post("/api/v1/stations/A1/status", json={"status": "temporarily_closed", "reason": "装修"},
                       headers=h)
    assert resp.get_json()["record"]["status"] == "temporarily_closed"


def test_report_flood_gets_429_with_retry_after_and_others_still_report(env):
    app, path, _ = env
    client = app.test_client()
    codes = [_report(client).status_code for _ in range(7)]
    assert codes == [201] * 5 + [429, 429]
    flood = _report(client)
    assert flood.mimetype == "application/problem+json" and int(flood.headers["Retry-After"]) >= 1
    other = _report(client, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other.status_code == 201
    assert client.get("/api/v1/ping").status_code == 200
    _, a1, _ = read_store(path)
    assert a1["status"] == "open", "reports never change a record by themselves"


def test_reports_show_in_the_station_answer_as_unconfirmed(env):
    app, _, _ = env
    client = app.test_client()
    _report(client)
    _report(client, kind="closed", text="")
    app.extensions["stations"].refresh()  # what the refresher thread does within refresh_s
    props = client.get("/api/v1/stations/A1").get_json()["properties"]
    assert props["reports"]["label_en"] == "2 reports: closed (today), unconfirmed"
    assert props["reports"]["unconfirmed"] is True
    assert props["checked"]["label_en"] == "never checked"
    assert props["checked"]["warning_en"].startswith("position, hours, amenities, access: not checked in 180 days")


def test_moderation_accept_closed_then_reject(env):
    app, path, tokens = env
    client = app.test_client()
    rid = _report(client).get_json()["report_id"]
    rid2 = _report(client, kind="hours_wrong", text="写着8点开，9点还锁着").get_json()["report_id"]
    queue = client.get("/api/v1/reports?status=open", headers=bearer(tokens["qhd"])).get_json()
    assert {r["report_id"] for r in queue["reports"]} == {rid, rid2}
    resp = client.post(f"/api/v1/reports/{rid}/accept", headers=bearer(tokens["qhd"]))
    assert resp.status_code == 200 and resp.get_json()["status"] == "accepted"
    _, a1, _ = read_store(path)
    assert a1["status"] == "temporarily_closed" and f"#{rid}" in a1["status_reason"]
    assert client.post(f"/api/v1/reports/{rid}/accept", headers=bearer(tokens["qhd"])).status_code == 409
    resp = client.post(f"/api/v1/reports/{rid2}/reject", json={"reason": ""}, headers=bearer(tokens["qhd"]))
    assert resp.status_code == 400
    resp = client.post(f"/api/v1/reports/{rid2}/reject", json={"reason": "已电话核实"}, headers=bearer(tokens["qhd"]))
    assert resp.get_json()["status"] == "rejected"


def test_api_upload_answers_the_dry_run_then_applies_on_confirmation(env, tmp_path):
    app, path, tokens = env
    client = app.test_client()
    csv_path = write_csv(tmp_path / "up.csv", ["站点编号", "站点名称", "行政区划代码", "经度", "纬度"],
                         [["U1", "上传站", "130322", "119.17", "39.71"], ["U2", "坏", "130322", "abc", "39.7"]])
    before = read_store(path)
    resp = client.post("/api/v1/uploads", data={"file": (open(csv_path, "rb"), "up.csv")},
                       headers=bearer(tokens["changli"]))
    report = resp.get_json()
    assert resp.status_code == 200 and (report["added"], report["rejected"]) == (1, 1)
    assert report["rejected_rows"][0]["row"] == 2
    assert read_store(path) == before
    other = client.post(report["confirm"], headers=bearer(tokens["yuxian"]))
    assert other.status_code == 404, "an upload is its maker's only"
    resp = client.post(report["confirm"], json={"reason": "春季普查"}, headers=bearer(tokens["changli"]))
    assert resp.status_code == 200 and resp.get_json()["added"] == 1
    s = open_store(path)
    assert s.get("U1")["name"] == "上传站" and s.history("U1")[0]["user"] == "changli"
    s.close()
    assert client.post(report["confirm"], headers=bearer(tokens["changli"])).status_code == 404


# -- the workspace ------------------------------------------------------------------------------
def csrf_of(page: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()


def login(client, name="changli", password=PASSWORD):
    page = client.get("/workspace/login")
    token = csrf_of(page.data)
    return client.post("/workspace/login", data={"name": name, "password": password, "csrf_token": token})


def test_login_sets_a_safe_session_cookie_and_needs_csrf(env):
    app, _, _ = env
    client = app.test_client()
    assert client.get("/workspace/").status_code == 302
    no_csrf = client.post("/workspace/login", data={"name": "changli", "password": PASSWORD})
    assert no_csrf.status_code == 403
    resp = login(client)
    assert resp.status_code == 302
    cookie = [h for h in resp.headers.getlist("Set-Cookie") if h.startswith("stations_session=")][0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    page = client.get("/workspace/")
    assert page.status_code == 200 and "驿站A1".encode() in page.data and "驿站B1".encode() not in page.data
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    tls = app.test_client()
    page = tls.get("/workspace/login", base_url="https://localhost")
    resp = tls.post("/workspace/login", base_url="https://localhost",
                    data={"name": "changli", "password": PASSWORD, "csrf_token": csrf_of(page.data)})
    assert "Secure" in [h for h in resp.headers.getlist("Set-Cookie") if h.startswith("stations_session=")][0]


def test_login_is_rate_limited(env):
    app, _, _ = env
    client = app.test_client()
    codes = [login(client, password="wrong password!").status_code for _ in range(5)]
    assert codes == [401] * 4 + [429]


def test_workspace_forms_refuse_posts_without_csrf(env):
    app, path, _ = env
    client = app.test_client()
    login(client)
    before = read_store(path)
    tag = current_etag(client)
    for url, data in [("/workspace/stations/A1/edit", {"name": "改", "etag": tag}),
                      ("/workspace/stations/A1/status", {"status": "removed", "reason": "x", "etag": tag}),
                      ("/workspace/stations/A1/verify", {}),
                      ("/workspace/reports/1/reject", {"reason": "x"}),
                      ("/workspace/logout", {})]:
        resp = client.post(url, data=data)
        assert resp.status_code == 403, url
        resp = client.post(url, data={**data, "csrf_token": "forged"})
        assert resp.status_code == 403, url
    # the session cookie alone does not authorise API writes either
    resp = client.patch("/api/v1/stations/A1", json={"changes": {"name": "改"}}, headers={"If-Match": tag})
    assert resp.status_code == 403
    assert read_store(path) == before


def test_workspace_edit_status_and_stale_form(env):
    app, path, _ = env
    client = app.test_client()
    login(client)
    page = client.get("/workspace/stations/A1")
    token, tag = csrf_of(page.data), current_etag(client)
    resp = client.post("/workspace/stations/A1/edit", data={"csrf_token": token, "etag": tag, "name": "驿站A1",
                                                            "opening_hours": "Mo-Su 06:00-22:00", "reason": "电话核实"})
    assert resp.status_code == 302
    _, a1, _ = read_store(path)
    assert a1["opening_hours"] == "Mo-Su 06:00-22:00"
    stale = client.post("/workspace/stations/A1/edit", data={"csrf_token": token, "etag": tag, "name": "旧表单"})
    assert stale.status_code == 412
    bad = client.post("/workspace/stations/A1/edit", data={"csrf_token": token, "etag": current_etag(client),
                                                           "opening_hours": "whenever"})
    assert bad.status_code == 400 and b"opening_hours" in bad.data
    page = client.get("/workspace/stations/A1")
    assert "电话核实".encode() in page.data and b"Mo-Su 06:00-22:00" in page.data
    resp = client.get("/workspace/stations/B1")
    assert resp.status_code == 403


def test_workspace_upload_dry_run_problems_csv_and_confirm(env, tmp_path):
    app, path, _ = env
    client = app.test_client()
    login(client)
    token = csrf_of(client.get("/workspace/upload").data)
    csv_path = write_csv(tmp_path / "up.csv", ["站点编号", "站点名称", "行政区划代码", "经度", "纬度"],
                         [["W1", "表格站", "130322", "119.17", "39.71"], ["W2", "坏行", "130322", "x", "39.7"]])
    page = client.post("/workspace/upload", data={"csrf_token": token, "file": (open(csv_path, "rb"), "up.csv")},
                       content_type="multipart/form-data")
    assert page.status_code == 200 and b'id="problems"' in page.data and b"<td>2</td>" in page.data
    confirm = re.search(rb'action="(/workspace/upload/[^"]+/confirm)"', page.data).group(1).decode()
    problems = client.get(confirm.replace("/confirm", "/problems.csv"))
    assert problems.status_code == 200 and problems.data.decode("utf-8-sig").splitlines()[1].startswith("2,rejected")
    done = client.post(confirm, data={"csrf_token": token, "reason": "表格"})
    assert done.status_code == 200
    s = open_store(path)
    assert s.get("W1") is not None and s.history("W1")[0]["source"].startswith("workspace")
    s.close()


def test_xss_payloads_are_inert_in_every_page_and_answer(env):
    app, path, tokens = env
    s = open_store(path)
    add_user(s, "x_user", role="viewer", areas="13")  # names are restricted to letters, digits and . - _ @
    s.close()
    client = app.test_client()
    for payload in XSS:
        assert _report(client, text=payload).status_code == 201
    h = bearer(tokens["changli"])
    client.post("/api/v1/stations/A1/status", json={"status": "temporarily_closed", "reason": XSS[0]}, headers=h)
    client.patch("/api/v1/stations/A1", json={"changes": {"notes": XSS[1], "operator": XSS[0]}, "reason": XSS[1]},
                 headers={**h, "If-Match": current_etag(client)})
    reports = client.get("/api/v1/reports", headers=h).get_json()["reports"]
    client.post(f"/api/v1/reports/{reports[0]['report_id']}/reject", json={"reason": XSS[1]}, headers=h)
    bad_name = client.post("/workspace/login", data={"name": XSS[1], "password": "x" * 12,
                                                     "csrf_token": csrf_of(client.get("/workspace/login").data)})
    assert b"<img src=x" not in bad_name.data
    admin = app.test_client()
    login(admin, "admin1")
    pages = ["/workspace/", "/workspace/stations/A1", "/workspace/reports", "/workspace/reports?status=all",
             "/workspace/due", "/workspace/audit", f"/workspace/audit?user={XSS[1]}", "/workspace/upload"]
    for url in pages:
        body = admin.get(url).data.decode()
        assert "<script>alert(1)</script>" not in body and "<img src=x" not in body, url
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in admin.get("/workspace/stations/A1").data.decode()
    # JSON answers carry the text as data (the locator and map render it with textContent)
    resp = client.get("/api/v1/reports?status=all", headers=h)
    assert resp.mimetype == "application/json"


def test_history_cli_filters_by_user(env):
    from click.testing import CliRunner

    from stations.cli import main

    app, path, tokens = env
    client = app.test_client()
    client.post("/api/v1/stations/A1/verify", json={}, headers=bearer(tokens["changli"]))
    out = CliRunner().invoke(main, ["--store", str(path), "history", "--user", "changli"], obj={})
    assert out.exit_code == 0, out.output
    assert "A1" in out.output and "changli" in out.output and "seed" not in out.output


# --- found by schemathesis with an admin token (each was a 500 or an unchecked value) ---------------
def test_a_report_id_past_sqlites_integers_is_404_not_500(env):
    app, path, tokens = env
    client = app.test_client()
    before = read_store(path)
    for action, body in (("accept", {}), ("reject", {"reason": "no"})):
        resp = client.post(f"/api/v1/reports/{2 ** 64}/{action}", json=body, headers=bearer(tokens["admin1"]))
        assert resp.status_code == 404 and resp.mimetype == "application/problem+json", resp.get_json()
        assert resp.get_json()["errors"][0]["parameter"] == "report_id"
    assert read_store(path) == before


@pytest.mark.parametrize("body, parameter, reason", [
    ({"note": {}}, "note", "not a text"),
    ({"note": 0}, "note", "not a text"),
    ({"note": "x" * 501}, "note", "too long"),
])
def test_a_verify_note_that_is_not_a_short_text_is_400_and_changes_nothing(env, body, parameter, reason):
    app, path, tokens = env
    client = app.test_client()
    before = read_store(path)
    resp = client.post("/api/v1/stations/A1/verify", json=body, headers=bearer(tokens["admin1"]))
    assert resp.status_code == 400, resp.get_json()
    assert [(e["parameter"], e["reason"]) for e in resp.get_json()["errors"]] == [(parameter, reason)]
    assert read_store(path) == before


def test_an_edit_reason_over_500_characters_is_400(env):
    app, path, tokens = env
    client = app.test_client()
    h = {**bearer(tokens["admin1"]), "If-Match": current_etag(client)}
    before = read_store(path)
    resp = client.patch("/api/v1/stations/A1", json={"changes": {"opening_hours": "24/7"}, "reason": "r" * 501},
                        headers=h)
    assert resp.status_code == 400 and resp.get_json()["errors"][0]["parameter"] == "reason"
    assert read_store(path) == before


def test_checks_ids_are_parsed_as_the_document_says(env):
    app, _, _ = env
    client = app.test_client()
    assert set(client.get("/api/v1/checks?ids=A1,B1,nope").get_json()["stations"]) == {"A1", "B1"}
    for query, reason in (("", "is required"), ("ids=", "empty"), ("ids=A1,A1", "an item is given twice"),
                          ("ids=A1&idz=B1", "unknown parameter")):
        resp = client.get(f"/api/v1/checks?{query}")
        assert resp.status_code == 400 and reason in {e["reason"] for e in resp.get_json()["errors"]}, query


# --- CORS: a script on another origin may send a token and If-Match, and read ETag and Location ------
@pytest.mark.parametrize("url, methods", [
    ("/api/v1/stations", "GET, HEAD, OPTIONS, POST"),
    ("/api/v1/stations/A1", "GET, HEAD, OPTIONS, PATCH"),
    ("/api/v1/stations/A1/status", "OPTIONS, POST"),
    ("/api/v1/reports", "GET, HEAD, OPTIONS"),
])
def test_a_preflight_lists_the_paths_real_methods_and_the_write_headers(env, url, methods):
    app, _, _ = env
    resp = app.test_client().options(url, headers={"Origin": "https://example.org",
                                                   "Access-Control-Request-Method": "PATCH",
                                                   "Access-Control-Request-Headers": "authorization, if-match"})
    assert resp.status_code == 200
    assert resp.headers["Allow"] == methods == resp.headers["Access-Control-Allow-Methods"]
    allowed = {h.strip().lower() for h in resp.headers["Access-Control-Allow-Headers"].split(",")}
    assert allowed == {"authorization", "if-match", "content-type", "if-none-match", "x-csrf-token"}
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in resp.headers  # cookies never cross origins


def test_answers_expose_etag_location_and_retry_after_to_scripts(env):
    app, _, tokens = env
    client = app.test_client()
    resp = client.post("/api/v1/stations", json={"record": {"name": "新站", "adcode": "130322"}},
                       headers=bearer(tokens["admin1"]))
    assert resp.status_code == 201 and resp.headers["Location"] and resp.headers["ETag"]
    exposed = {h.strip() for h in resp.headers["Access-Control-Expose-Headers"].split(",")}
    assert exposed == {"ETag", "Location", "Retry-After"}


def test_verify_groups_that_are_not_texts_are_400_not_500(env):
    app, path, tokens = env
    client = app.test_client()
    before = read_store(path)
    resp = client.post("/api/v1/stations/A1/verify", json={"groups": [{}, "hours", ["x"]]},
                       headers=bearer(tokens["admin1"]))
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json", resp.get_json()
    assert [e["reason"] for e in resp.get_json()["errors"]] == ["unknown field group"] * 2
    assert read_store(path) == before


@pytest.mark.parametrize("website", [{}, 0, [], False, "x"])
def test_the_honeypot_refuses_any_value(env, website):
    app, path, _ = env
    client = app.test_client()
    resp = client.post("/api/v1/stations/A1/reports", json={"kind": "closed", "website": website})
    assert resp.status_code == 400 and resp.get_json()["errors"][0]["parameter"] == "website"
    assert client.get("/api/v1/stations/A1/checks").get_json()["reports"] is None


def test_behind_a_trusted_proxy_rate_limits_count_the_forwarded_client(tmp_path):
    """With ``proxy_hops=1`` (one nginx in front) each courier behind the proxy has their own
    report allowance; without it a client's own X-Forwarded-For changes nothing."""
    path = tmp_path / "s.gpkg"
    with open_store(path) as s:
        s.apply([Change("add", station("A1", "130322"))], command="seed")

    def codes(proxy_hops: int) -> list[int]:
        app = create_app({"store": str(path), "reports_per_hour": 2, "proxy_hops": proxy_hops})
        client = app.test_client()
        out = []
        for forwarded in ["10.0.0.1", "10.0.0.1", "10.0.0.1", "10.0.0.2"]:
            resp = client.post("/api/v1/stations/A1/reports", json={"kind": "closed"},
                               headers={"X-Forwarded-For": forwarded})
            out.append(resp.status_code)
        app.extensions["stations"].close()
        return out

    assert codes(1) == [201, 201, 429, 201]  # 10.0.0.2 is another courier
    # Without trusted proxies every request counts for the peer address (the test client's):
    # a client cannot buy a new allowance by sending another X-Forwarded-For.
    assert codes(0) == [201, 201, 429, 429]


def test_proxy_hops_out_of_range_is_refused():
    from stations.config import load_settings
    from stations.errors import ValidationError

    with pytest.raises(ValidationError, match="proxy_hops"):
        load_settings({"proxy_hops": -1})
