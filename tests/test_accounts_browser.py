"""The report-to-correction loop in headless chromium against the real server (gunicorn):
a courier reports a station closed on the locator, a county editor logs in to the workspace,
uploads a spreadsheet with a bad row, confirms the good one, edits hours by form, accepts the
report; the locator then shows the station closed with the reason and the new check date."""

from __future__ import annotations

import json
import os
import time
import urllib.request

import pytest

from browser_util import Browser, browser_missing, drag_station_pin, serve, workspace_login
from conftest import ROOT, write_csv

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(browser_missing() is not None, reason=f"no browser: {browser_missing()}")]
PASSWORD = "correct horse battery"
# The README's screenshots: rewritten when STATIONS_SCREENSHOTS=1, else kept in the test's folder.
SHOTS_DIR = ROOT / "docs" / "screenshots"


def test_report_accept_upload_and_edit_in_the_browser(tmp_path):
    from stations.accounts import add_user
    from stations.records import empty_record
    from stations.store import Change, open_store

    path = tmp_path / "stations.gpkg"
    shots = SHOTS_DIR if os.environ.get("STATIONS_SCREENSHOTS") == "1" else tmp_path / "screenshots"
    rec = empty_record()
    rec.update(station_id="CL-A", name="昌黎测试驿站", adcode="130322", county="昌黎县", lat=39.7125, lon=119.1637,
               geocode_precision="exact", raw_lat=39.7125, raw_lon=119.1637, raw_crs="wgs84",
               opening_hours="Mo-Su 08:00-18:00", access="everyone")
    with open_store(path) as store:
        store.apply([Change("add", rec)], command="seed")
        add_user(store, "changli", role="editor", areas="130322", password=PASSWORD)
    upload = write_csv(tmp_path / "new.csv", ["站点编号", "站点名称", "行政区划代码", "区县", "经度", "纬度", "开放时间"],
                       [["CL-N", "新上传驿站", "130322", "昌黎县", "119.17", "39.72", "全天"],
                        ["CL-BAD", "坏行", "130322", "昌黎县", "abc", "39.72", ""]])
    env = {"STATIONS_TILES": "none"}
    with serve(path, env=env, workers=2) as base, Browser(width=390, height=844, mobile=True, scale=2) as phone, \
            Browser(width=1200, height=900) as desk:
        # a courier near the station reports it closed
        phone.geolocation(lat=39.7130, lon=119.1637)
        phone.get(base + "/")
        phone.js("document.getElementById('locate').click()")
        phone.wait("document.querySelector('#results .card details.report')", timeout_s=90)
        shots.mkdir(parents=True, exist_ok=True)
        phone.js("var d = document.querySelector('#results .card details.report'); d.open = true;"
                 "d.querySelector('select').value = 'closed';"
                 "d.querySelector('input[name=text]').value = '<b>门锁着</b>';"
                 "d.querySelector('button').click();")
        phone.wait("document.querySelector('.report-result').textContent.indexOf('谢谢') >= 0")
        # each worker's refresher reads the new report within its 0.5 s: wait until answers carry it
        seen, deadline = 0, time.monotonic() + 20
        while seen < 6 and time.monotonic() < deadline:
            with urllib.request.urlopen(base + "/api/v1/stations/CL-A") as resp:
                seen = seen + 1 if json.loads(resp.read())["properties"]["reports"] else 0
            time.sleep(0.1)
        # the card now says so, as unconfirmed; the station itself is unchanged
        phone.get(base + "/")
        phone.js("document.getElementById('locate').click()")
        unconfirmed = '#results .card[data-station-id="CL-A"] .reports-unconfirmed'
        phone.wait(f"document.querySelector('{unconfirmed}')", timeout_s=90)
        assert phone.js(f"return document.querySelector('{unconfirmed}').textContent") == "1条报告：关闭或锁门（今天），未核实"
        phone.screenshot(shots / "locator-unconfirmed-report.png")

        # the county editor logs in
        workspace_login(desk, base, "changli", PASSWORD)
        assert "昌黎测试驿站" in desk.js("return document.body.innerText")
        desk.screenshot(shots / "workspace-stations.png")

        # upload: the bad row is shown by its number, the good one is applied on confirmation
        desk.get(base + "/workspace/upload")
        desk.driver.find_element("css selector", "input[type=file]").send_keys(str(upload))
        desk.js("document.querySelector('form[enctype]').submit()")
        desk.wait("document.getElementById('problems')")
        rows = desk.js("return Array.from(document.querySelectorAll('#problems tbody tr td:first-child'))"
                       ".map(function (td) { return td.textContent; })")
        assert "2" in rows
        desk.screenshot(shots / "workspace-upload.png")
        desk.js("document.getElementById('confirm').click()")
        desk.wait("document.body.innerText.indexOf('已导入') >= 0")

        # edit the hours by form and the position by dragging the pin 80 px east
        drag_station_pin(desk, base, "CL-A", east_px=80)
        desk.fill("#edit-form input[name=opening_hours]", "Mo-Su 06:00-22:00")
        desk.fill("#edit-form input[name=reason]", "电话核实")
        desk.js("document.querySelector('#edit-form button[type=submit]').click()")
        desk.wait("location.search.indexOf('done=saved') >= 0")
        assert "Mo-Su 06:00-22:00" in desk.js("return document.querySelector('table').innerText")
        with open_store(path) as store:
            moved = store.get("CL-A")
        assert moved["lon"] > 119.1637 + 0.0005 and abs(moved["lat"] - 39.7125) < 0.0002
        assert (moved["geocode_precision"], moved["geocode_provider"]) == ("exact", "staff:changli")
        desk.screenshot(shots / "workspace-station.png")

        # the report is in the queue, shown as text; accept it
        desk.get(base + "/workspace/reports")
        desk.wait("document.querySelector('table tbody tr')")
        assert "<b>门锁着</b>" in desk.js("return document.querySelector('table tbody').innerText")
        assert desk.js("return document.querySelectorAll('table tbody b').length") == 0
        desk.screenshot(shots / "workspace-reports.png")
        desk.js("document.querySelector('table tbody form button').click()")
        desk.wait("document.querySelectorAll('table tbody tr').length === 0")

        # the station is closed with the report as its reason and checked today: the locator's
        # nearest list (in-service stations) leaves it out, its own answer says why. Each worker
        # swaps in the new snapshot within its refresher's 0.5 s: wait until the API says so.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with urllib.request.urlopen(base + "/api/v1/stations/CL-A") as resp:
                if json.loads(resp.read())["properties"]["status"] == "temporarily_closed":
                    break
            time.sleep(0.2)
        phone.get(base + "/")
        phone.js("document.getElementById('locate').click()")
        phone.wait("document.querySelector('#results .card[data-station-id=\"CL-N\"] .checked')", timeout_s=90)
        assert phone.js("return document.querySelectorAll('#results .card[data-station-id=\"CL-A\"]').length") == 0
        answer = phone.js("return fetch('/api/v1/stations/CL-A').then(function (r) { return r.json(); })")
        props = answer["properties"]
        assert answer["geometry"]["coordinates"][0] == pytest.approx(moved["lon"])  # the dragged position
        assert props["reports"] is None
        assert props["checked"]["groups"]["hours"]["label_en"] == "checked today"
        assert props["checked"]["groups"]["hours"]["by"] == "changli"
        state = phone.js("return fetch('/api/v1/checks?ids=CL-A').then(function (r) { return r.json(); })")
        a = state["stations"]["CL-A"]
        assert a["status"] == "temporarily_closed" and "门锁着" in a["status_reason"]
        assert a["checked"]["label_zh"] == "今天核实"
