"""Keeping stations true, seen in headless chromium against the real server (gunicorn): an
editor drags a station's pin, and the moved station shows in /map (the marker's position read
from the page) and in / (the locator's marker); a courier reports it closed on /, and the
report shows as unconfirmed in /map's popup and on the locator's card before staff act; once
accepted, the popup shows the station closed, with the report as its reason and checked today.
Station names and report texts carry markup: it must stay text everywhere."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from browser_util import Browser, browser_missing, drag_station_pin, serve, workspace_login

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(browser_missing() is not None, reason=f"no browser: {browser_missing()}")]
PASSWORD = "correct horse battery"
NAME = '昌黎"onerror=window.__xss=1 <script>window.__xss=2</script>驿站'
REPORT_TEXT = '<img src=x onerror="window.__xss=3">门锁着'
LAT, LON = 39.7125, 119.1637


def _map_marker(b: Browser, base: str, lat: float, lon: float) -> list:
    """Open /map at the point and return [lat, lon] of CL-A's marker as the page has it, and
    where its icon is drawn, turned back into a position by the map."""
    b.get(base + "/map")
    b.wait("window.stationsMapView && stationsMapView.ready")
    b.js(f"stationsMapView.map.setView([{lat}, {lon}], 17)")
    b.wait("stationsMapView.drawnZoom === 17")
    return b.wait("(function () {"
                  " var found = null;"
                  " stationsMapView.layer.eachLayer(function (l) { if (l.stationId === 'CL-A') found = l; });"
                  " if (!found || !found._icon) return null;"
                  " var r = found._icon.getBoundingClientRect(), box = stationsMapView.map.getContainer()"
                  ".getBoundingClientRect();"
                  " var drawn = stationsMapView.map.containerPointToLatLng([r.left + r.width / 2 - box.left,"
                  " r.top + r.height / 2 - box.top]);"
                  " return [found.getLatLng().lat, found.getLatLng().lng, drawn.lat, drawn.lng]; })()")


def _open_popup(b: Browser) -> str:
    b.js("stationsMapView.layer.eachLayer(function (l) { if (l.stationId === 'CL-A') l.openPopup(); })")
    b.wait("document.querySelector('.leaflet-popup .st-popup h3')")
    return b.js("return document.querySelector('.leaflet-popup .st-popup').innerText")


def _locate(b: Browser, base: str) -> None:
    b.get(base + "/")
    b.js("document.getElementById('locate').click()")
    b.wait("document.querySelector('#results .card')", timeout_s=90)


def _wait_api(base: str, test, timeout_s: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        with urllib.request.urlopen(base + "/api/v1/stations/CL-A") as resp:
            props = json.loads(resp.read())["properties"]
        if test(props) or time.monotonic() > deadline:
            return props
        time.sleep(0.2)


def test_moved_and_reported_station_in_map_and_locator(tmp_path):
    from stations.accounts import add_user
    from stations.records import empty_record
    from stations.store import Change, open_store

    path = tmp_path / "stations.gpkg"
    recs = []
    for sid, name, dlat in (("CL-A", NAME, 0.0), ("CL-B", "昌黎第二驿站", 0.004)):
        rec = empty_record()
        rec.update(station_id=sid, name=name, adcode="130322", county="昌黎县", lat=LAT + dlat, lon=LON,
                   geocode_precision="exact", raw_lat=LAT + dlat, raw_lon=LON, raw_crs="wgs84",
                   opening_hours="Mo-Su 00:00-24:00", access="everyone", last_verified="2025-01-10")
        recs.append(Change("add", rec))
    with open_store(path) as store:
        store.apply(recs, command="seed")
        add_user(store, "changli", role="editor", areas="130322", password=PASSWORD)
    env = {"STATIONS_TILES": "none"}
    with serve(path, env=env, workers=1) as base, Browser(width=390, height=844, mobile=True) as phone, \
            Browser(width=1200, height=900) as desk:
        # the editor logs in and drags the pin 80 px east (a real drag)
        workspace_login(desk, base, "changli", PASSWORD)
        drag_station_pin(desk, base, "CL-A", east_px=80)
        desk.fill("#edit-form input[name=reason]", "现场核实位置")
        desk.js("document.querySelector('#edit-form button[type=submit]').click()")
        desk.wait("location.search.indexOf('done=saved') >= 0")
        with open_store(path) as store:
            moved = store.get("CL-A")
        assert moved["lon"] > LON + 0.0005 and abs(moved["lat"] - LAT) < 0.0002
        _wait_api(base, lambda p: p["checked"]["groups"]["position"]["by"] == "changli")

        # /map draws the marker at the moved position (read from the page), not the old one
        lat, lon, drawn_lat, drawn_lon = _map_marker(desk, base, moved["lat"], moved["lon"])
        assert (lat, lon) == pytest.approx((moved["lat"], moved["lon"]), abs=1e-6)  # the map API sends 6 decimals
        assert (drawn_lat, drawn_lon) == pytest.approx((moved["lat"], moved["lon"]), abs=3e-5)  # within ~2 px
        # the locator too: its marker for the station, from the page's map
        phone.geolocation(lat=LAT + 0.0005, lon=LON)
        _locate(phone, base)
        card = '#results .card[data-station-id="CL-A"]'
        phone.wait(f"document.querySelector('{card}')")
        pos = phone.js("var p = null, name = arguments[0]; stationsLocator.map.eachLayer(function (l) {"
                       " if (l.options && l.options.title === name) p = l.getLatLng(); });"
                       " return p && [p.lat, p.lng];", NAME)
        assert pos == pytest.approx([moved["lat"], moved["lon"]], abs=1e-6)
        assert phone.js(f"return document.querySelector('{card} h3').textContent") == NAME  # the markup is text
        # checked dates come with the answer: the position was checked today by the editor's edit
        assert phone.js(f"return document.querySelector('{card} .checked').textContent") == "今天核实"

        # a courier reports it closed; the text carries markup
        phone.js(f"var d = document.querySelector('{card} details.report'); d.open = true;"
                 "d.querySelector('select').value = 'closed';"
                 "d.querySelector('input[name=text]').value = arguments[0];"
                 "d.querySelector('button').click();", REPORT_TEXT)
        phone.wait(f"document.querySelector('{card} .report-result').textContent.indexOf('谢谢') >= 0")
        _wait_api(base, lambda p: p["reports"] is not None)

        # before staff act: the report line, unconfirmed, in the locator and /map's popup
        label = "1条报告：关闭或锁门（今天），未核实"
        _locate(phone, base)
        phone.wait(f"document.querySelector('{card} .reports-unconfirmed')")
        assert phone.js(f"return document.querySelector('{card} .reports-unconfirmed').textContent") == label
        _map_marker(desk, base, moved["lat"], moved["lon"])
        text = _open_popup(desk)
        assert label in text and NAME in text
        assert desk.js("return document.querySelector('.leaflet-popup .st-reports').dataset.unconfirmed") == "true"
        assert "暂停" not in text and desk.js("return document.querySelectorAll('.leaflet-popup .st-reason').length") == 0

        # the editor accepts it: the station shows closed, with the report as its reason, checked today
        desk.get(base + "/workspace/reports")
        desk.wait("document.querySelector('table tbody tr form button')")
        desk.js("document.querySelector('table tbody tr form button').click()")
        desk.wait("document.querySelectorAll('table tbody tr').length === 0")
        _wait_api(base, lambda p: p["status"] == "temporarily_closed" and p["reports"] is None)
        _map_marker(desk, base, moved["lat"], moved["lon"])
        text = _open_popup(desk)
        reason = desk.js("return document.querySelector('.leaflet-popup .st-reason').textContent")
        assert REPORT_TEXT in reason  # the worker's words, as text
        assert desk.js("return document.querySelector('.leaflet-popup .st-checked').textContent").strip() == "今天核实"
        # the amenities were last confirmed by the record's date (2025-01-10): past 180 days, so a warning
        assert desk.js("return document.querySelector('.leaflet-popup .st-checked').classList.contains('st-stale')")
        assert desk.js("return document.querySelector('.leaflet-popup .st-checked-warning').textContent").startswith(
            "设施超过180天未核实")
        assert desk.js("return document.querySelectorAll('.leaflet-popup .st-reports').length") == 0
        assert desk.js("return document.querySelector('.leaflet-popup .st-status').className").endswith(
            "st-s-temporarily_closed")
        # nothing ran: no injected element, no handler
        for b in (phone, desk):
            assert b.js("return window.__xss === undefined")
            assert b.js("return document.querySelectorAll('.leaflet-popup img, #results img').length") == 0
