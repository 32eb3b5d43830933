"""The map and the locator in Debian's headless chromium, against the real server (gunicorn).

Every test records every network request (DevTools performance log) and checks that none
leaves 127.0.0.1: the pages bring their own scripts, styles and icons, and the basemap is
the local outline layer (``tiles=none``). Skipped only when chromium is not installed.
"""

from __future__ import annotations

import json
import math
import re
import time
import urllib.request

import pytest

from browser_util import Browser, browser_missing, serve
from conftest import ROOT, write_csv

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(browser_missing() is not None, reason=f"no browser: {browser_missing()}")]

XSS = "<img src=x onerror=alert(1)>"
XSS2 = '<svg onload="window.__pwned=1">'
HEADER = ["站点编号", "站点名称", "地址", "经度", "纬度", "开放时间", "设施/服务", "服务对象", "状态", "状态原因"]
EXTRA = [
    ["XSS-1", XSS, '<script>window.__pwned=2</script>', 119.17, 39.72, "24/7", "微波炉、厕所", "所有人", "正常", ""],
    ["XSS-2", XSS2, "昌黎县", 119.1705, 39.7205, "24/7", "厕所", "所有人", "正常", ""],
    ["TMP-1", "暂停的驿站", "昌黎县", 119.18, 39.73, "24/7", "厕所", "所有人", "暂停开放", "装修"],
]
DEG_PER_M = 1 / 111_194.93  # degrees of latitude per metre on the mean sphere


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    from stations.geocode.offline import OfflineCountyGeocoder
    from stations.io.importer import import_file
    from stations.store import open_store

    path = tmp_path_factory.mktemp("browser") / "stations.gpkg"
    with open_store(path) as store:
        import_file(store, ROOT / "data" / "sample_stations.xlsx", geocoder=OfflineCountyGeocoder())
        import_file(store, write_csv(path.parent / "xss.csv", HEADER, EXTRA))
    return path


@pytest.fixture(scope="module")
def frame(store_path):
    from stations.store import open_store

    with open_store(store_path) as store:
        return store.frame().set_index("station_id", drop=False)


@pytest.fixture(scope="module")
def server(store_path):
    with serve(store_path, env={"STATIONS_TILES": "none"}, workers=2) as base:
        yield base


@pytest.fixture
def browser():
    with Browser(width=1280, height=860) as b:
        yield b
        assert b.collect().leaving() == [], "a request left 127.0.0.1"
        severe = [m for m in b.console() if m.startswith("SEVERE")]
        assert severe == []


@pytest.fixture
def phone():
    with Browser(width=390, height=844, mobile=True, scale=2) as b:
        yield b
        assert b.collect().leaving() == [], "a request left 127.0.0.1"


def _no_alert(b: Browser) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        b.driver.switch_to.alert.text  # noqa: B018


def _open_map_at(b: Browser, base: str, *, lat: float, lon: float, zoom: int = 17) -> None:
    b.get(base + "/map")
    b.wait("window.stationsMapView && stationsMapView.ready")
    b.js(f"stationsMapView.map.setView([{lat}, {lon}], {zoom})")
    b.wait(f"stationsMapView.drawnZoom === {zoom}")


def _click_marker(b: Browser, title: str) -> str:
    """Click the marker whose title is ``title``; return the popup's text once loaded."""
    el = b.wait("Array.from(document.querySelectorAll('.leaflet-marker-icon')).find(e => e.title === arguments[0])"
                .replace("arguments[0]", repr(title)))
    el.click()
    b.wait("document.querySelector('.leaflet-popup .st-popup h3')")
    return b.js("return document.querySelector('.leaflet-popup .st-popup').innerText")


def test_map_loads_offline_and_draws_clusters(server, browser):
    browser.get(server + "/map")
    browser.wait("window.stationsMapView && stationsMapView.ready")
    assert browser.js("return document.querySelectorAll('.st-cl').length") >= 2  # Changli and Yu county
    assert browser.js("return stationsMapView.matched") == 27  # 24 sample stations, 2 XSS ones and TMP-1
    assert browser.js("return typeof L") == "object"
    urls = browser.collect().urls()
    assert any("/static/vendor/leaflet/leaflet.js" in u for u in urls)
    assert any("/api/v1/clusters?" in u for u in urls)
    # the outline basemap is drawn (canvas) in place of tiles
    assert browser.wait("document.querySelectorAll('.leaflet-overlay-pane canvas').length")


def test_map_popup_shows_the_station(server, browser, frame):
    from stations.geo import wgs84_to_gcj02

    rec = frame.loc["CL-011"]
    _open_map_at(browser, server, lat=rec["lat"], lon=rec["lon"])
    text = _click_marker(browser, rec["name"])
    assert rec["name"] in text and "24小时开放" in text
    # the status the server gave the marker (stations.mapping.status) colours the popup
    assert "st-s-open_24h" in browser.js("return document.querySelector('.leaflet-popup .st-status').className")
    assert "微波炉" in text and "Microwave" in text  # amenities in Chinese and English
    assert "所有人" in text or "户外劳动者" in text  # who may use it
    amap = browser.js("return document.querySelector('.leaflet-popup a.st-nav-amap').href")
    glat, glon = wgs84_to_gcj02(lat=rec["lat"], lon=rec["lon"])
    assert f"position={glon:.6f}%2C{glat:.6f}" in amap


def test_xss_named_stations_render_as_text_everywhere(server, browser, frame):
    rec = frame.loc["XSS-1"]
    _open_map_at(browser, server, lat=rec["lat"], lon=rec["lon"], zoom=18)
    _click_marker(browser, XSS)
    assert browser.js("return document.querySelector('.leaflet-popup h3').textContent") == XSS
    assert browser.js("return document.querySelectorAll('.leaflet-popup img, .leaflet-popup script').length") == 0
    assert "<script>window.__pwned=2</script>" in browser.js(
        "return document.querySelector('.leaflet-popup .st-address').textContent")
    _no_alert(browser)
    # the search box lists them as text too
    box = browser.driver.find_element("css selector", ".st-search input")
    box.send_keys("onerror")
    browser.wait("document.querySelector('.st-search-results button')")
    assert browser.js("return document.querySelector('.st-search-results button').textContent") == XSS
    # and the locator's list
    browser.geolocation(lat=rec["lat"] + 5 * DEG_PER_M, lon=rec["lon"])
    browser.get(server + "/")
    browser.js("document.getElementById('locate').click()")
    browser.wait("document.querySelectorAll('#results .card').length")
    names = browser.js("return Array.from(document.querySelectorAll('#results .card h3')).map(e => e.textContent)")
    assert names[:2] == [XSS, XSS2]
    assert browser.js("return document.querySelectorAll('#results img, #results script').length") == 0
    _no_alert(browser)
    assert browser.js("return window.__pwned === undefined")


def test_locator_lists_the_nearest_station_with_a_navigation_link(server, phone, frame):
    from stations.geo import wgs84_to_gcj02

    rec = frame.loc["CL-012"]
    phone.geolocation(lat=rec["lat"] + 60 * DEG_PER_M, lon=rec["lon"])  # 60 m due north of CL-012
    phone.get(server + "/")
    phone.js("document.getElementById('locate').click()")
    phone.wait("document.querySelectorAll('#results .card').length")
    first = phone.js("return document.querySelector('#results .card').dataset.stationId")
    assert first == "CL-012"
    card = phone.js("return document.querySelector('#results .card').innerText")
    assert "60 米" in card and "24小时开放" in card and "步行 1 分钟" in card
    href = phone.js("return document.querySelector('#results .card a.nav-btn').href")
    glat, glon = wgs84_to_gcj02(lat=rec["lat"], lon=rec["lon"])
    assert href.startswith("https://uri.amap.com/marker?") and f"position={glon:.6f}%2C{glat:.6f}" in href
    apple = phone.js("return document.querySelector('#results .card a[data-vendor=apple]').href")
    assert f"daddr={glat:.6f}%2C{glon:.6f}" in apple  # GCJ-02 in mainland China (AutoNavi's data), latitude first
    # a filter chip asks again: only stations with a toilet
    phone.js("document.querySelector('[data-chip=toilet]').click()")
    phone.wait("document.querySelector('[data-chip=toilet]').getAttribute('aria-pressed') === 'true' && "
               "document.querySelectorAll('#results .card [data-amenity=toilet]').length === "
               "document.querySelectorAll('#results .card').length")


def test_english_switch_changes_the_labels(server, phone, frame):
    rec = frame.loc["CL-012"]
    phone.geolocation(lat=rec["lat"] + 60 * DEG_PER_M, lon=rec["lon"])
    phone.get(server + "/")
    phone.js("document.getElementById('locate').click()")
    phone.wait("document.querySelectorAll('#results .card').length")
    assert phone.js("return document.getElementById('locate').innerText").strip() == "使用我的位置"
    phone.js("document.getElementById('lang-switch').click()")
    phone.wait("document.documentElement.lang === 'en'")
    assert phone.js("return document.getElementById('locate').innerText").strip() == "Use my location"
    assert phone.js("return document.querySelector('h1').innerText").strip() == "Rest stations near you"
    phone.wait("document.querySelector('#results .card') && "
               "document.querySelector('#results .card').innerText.indexOf('Open 24 hours') >= 0")
    card = phone.js("return document.querySelector('#results .card').innerText")
    assert "60 m" in card and "Walk 1 min" in card and "Navigate" in card
    assert phone.js("return document.getElementById('lang-switch').innerText").strip() == "中文"


def test_locator_shows_saved_stations_when_the_network_drops(server, phone, frame):
    rec = frame.loc["YX-002"]
    phone.geolocation(lat=rec["lat"], lon=rec["lon"] + 0.001)
    phone.get(server + "/")
    phone.js("document.getElementById('locate').click()")
    phone.wait("document.querySelectorAll('#results .card').length")
    before = phone.js("return Array.from(document.querySelectorAll('#results .card')).map(e => e.dataset.stationId)")
    phone.offline(True)
    phone.js("document.querySelector('[data-chip=open_24h]').click()")  # asks again: fails
    notice = phone.wait("!document.getElementById('notice').hidden && "
                        "document.getElementById('notice').textContent.indexOf('网络不可用') >= 0 && "
                        "document.getElementById('notice').textContent")
    assert "保存" in notice
    after = phone.js("return Array.from(document.querySelectorAll('#results .card')).map(e => e.dataset.stationId)")
    assert after == before
    phone.offline(False)


def test_locator_page_weight_is_under_300_kb(server, phone):
    phone.get(server + "/")
    phone.wait("window.stationsLocator && document.querySelectorAll('.leaflet-overlay-pane canvas').length")
    time.sleep(0.5)  # let the outline request finish
    log = phone.collect()
    local = [r for r in log.requests.values() if r.url.startswith(server)]
    weight = sum(r.bytes for r in local)
    assert 100_000 < weight <= 300_000, [(r.url, r.bytes) for r in local]


def test_a_saved_county_map_works_alone_from_a_file(tmp_path, browser, frame, store_path):
    from stations.accounts.overlay import CurationOverlay
    from stations.mapping import build_map
    from stations.store import open_store

    path = tmp_path / "county.html"
    with open_store(store_path) as store:  # no check yet: every popup says "never checked" (or the record's date)
        curation = CurationOverlay.read(store)
    build_map(frame[frame["county"] == "昌黎县"].reset_index(drop=True), curation=curation,
              check_stale_days=180).save(str(path))
    browser.get(path.as_uri())
    browser.wait("window.stationsMapView && stationsMapView.ready")
    assert browser.js("return stationsMapView.matched") == 18  # 15 Changli sample stations, the 2 XSS ones and TMP-1 (county filled from the boundaries)
    browser.js("stationsMapView.map.setView([39.702008, 119.215601], 18)")
    rec = frame.loc["CL-012"]
    text = _click_marker(browser, rec["name"])
    assert rec["name"] in text and "Microwave" in text
    assert browser.js("return document.querySelector('.leaflet-popup .st-checked').classList.contains('st-stale')")
    assert browser.js("return document.querySelector('.leaflet-popup .st-checked-warning').textContent").endswith(
        "超过180天未核实或从未核实，可能已过时")
    urls = browser.collect().urls()
    assert all(u.startswith(("data:", "file:", "chrome:", "about:")) for u in urls), urls
    assert not math.isnan(rec["lat"])


def _run_coverage(b: Browser, base: str, area: str, *, cell_m: int = 200, query: str = "") -> None:
    """Open /map (plus ``query``), fill the planning control with ``area`` and run it; wait for the answer."""
    b.get(base + "/map" + query)
    b.wait("window.stationsMapView && stationsMapView.ready && !!stationsMapView.planning")
    b.js("document.querySelector('.st-plan summary').click()")
    form = ".st-plan-form"
    b.driver.find_element("css selector", f"{form} input[name=area]").send_keys(area)
    cell = b.driver.find_element("css selector", f"{form} input[name=cell_m]")
    cell.clear()
    cell.send_keys(str(cell_m))
    b.driver.find_element("css selector", f"{form} button[type=submit]").click()
    b.wait("stationsMapView.planning.runs >= 1", timeout_s=60)


def test_map_planning_control_draws_coverage_gaps(server, browser):
    _run_coverage(browser, server, "130726", cell_m=500)  # 蔚县
    assert browser.js("return document.querySelector('.st-plan-error')") is None
    # gap polygons are drawn (SVG paths styled in JavaScript from their properties) and the view fits them
    assert browser.js("return document.querySelectorAll('path.st-gap').length") >= 1
    assert browser.js("return stationsMapView.planning.layer.getLayers().length") >= 1
    center = browser.js("var c = stationsMapView.map.getCenter(); return [c.lat, c.lng]")
    assert 39.5 < center[0] < 40.3 and 114.1 < center[1] < 115.2, center
    summary = browser.js("return document.querySelector('.st-plan-out').innerText")
    assert "蔚县" in summary and "130726" in summary
    for row in (".st-plan-c1", ".st-plan-c2"):  # >= 1 and >= 2 stations: area and demand shares
        cells = browser.js(f"return Array.from(document.querySelectorAll('{row} td')).map(e => e.textContent)")
        assert len(cells) == 2 and all(c.endswith("%") for c in cells), cells
    # the gap's popup: rank, area, uncovered demand, district (escaped text)
    browser.js("stationsMapView.planning.layer.getLayers()[0].openPopup()")
    popup = browser.wait("document.querySelector('.leaflet-popup .st-gap-popup') && "
                         "document.querySelector('.leaflet-popup .st-gap-popup').innerText")
    assert "排名" in popup and "平方公里" in popup and "未覆盖需求" in popup and "蔚县" in popup
    # the gap layer is in the layer control
    assert "覆盖缺口" in browser.js("return document.querySelector('.leaflet-control-layers').textContent")
    urls = browser.collect().urls()
    assert any("/api/v1/coverage?area=130726" in u and "cell_m=500" in u for u in urls)


def test_map_planning_control_shows_the_problem_detail_for_an_unknown_area(server, browser):
    _run_coverage(browser, server, "不存在县", cell_m=500, query="?lang=en")
    error = browser.wait("document.querySelector('.st-plan-error') && "
                         "document.querySelector('.st-plan-error').textContent")
    assert "unknown area '不存在县'" in error  # the problem document's detail, as text
    assert browser.js("return document.querySelectorAll('path.st-gap').length") == 0
    assert browser.js("return document.querySelector('.st-plan summary').textContent").strip() == "Planning"
    # the API's 404 shows in the console as a failed resource (the fixture allows no other SEVERE message)
    severe = [m for m in browser.console() if m.startswith("SEVERE")]
    assert all("/api/v1/coverage?" in m and "404" in m for m in severe), severe


def test_map_popup_of_a_temporarily_closed_station_says_so(server, browser, frame):
    rec = frame.loc["TMP-1"]  # its hours say 24/7: only the server's status says it is closed
    _open_map_at(browser, server, lat=rec["lat"], lon=rec["lon"])
    text = _click_marker(browser, rec["name"])
    assert "暂停开放" in text and "装修" in text and "24小时开放" not in text
    assert "st-s-temporarily_closed" in browser.js(
        "return document.querySelector('.leaflet-popup .st-status').className")


@pytest.fixture(scope="module")
def gcj_server(store_path):
    """A server whose basemap is GCJ-02 (local tiles: the Leaflet layers icon, so nothing leaves 127.0.0.1)."""
    tiles = "/static/vendor/leaflet/images/layers.png?z={z}&x={x}&y={y}"
    with serve(store_path, env={"STATIONS_TILES": tiles, "STATIONS_TILES_CRS": "gcj02"}, workers=1) as base:
        yield base


def test_map_planning_draws_gaps_where_the_server_puts_them_in_the_tiles_system(gcj_server, browser):
    _run_coverage(browser, gcj_server, "130726", cell_m=500)
    urls = [u for u in browser.collect().urls() if "/api/v1/coverage?" in u]
    assert urls and all("crs=gcj02" in u for u in urls)
    with urllib.request.urlopen(urls[-1], timeout=60) as resp:
        answer = json.load(resp)
    assert answer["crs"] == "gcj02"
    drawn = browser.js("return stationsMapView.planning.layer.getLayers().map(function (l) {"
                       " var ll = l.getLatLngs(); while (Array.isArray(ll[0])) ll = ll[0];"
                       " return [l.feature.properties.gap_id, ll[0].lat, ll[0].lng]; })")
    by_id = {f["properties"]["gap_id"]: f["geometry"] for f in answer["gaps"]["features"]}
    assert len(drawn) == len(by_id) >= 1
    for gap_id, lat, lon in drawn:  # the first vertex of each gap, as the server sent it
        ring = by_id[gap_id]["coordinates"][0]
        first = ring[0][0] if by_id[gap_id]["type"] == "MultiPolygon" else ring[0]
        assert (lon, lat) == pytest.approx(tuple(first), abs=1e-9)


def test_locator_cards_take_the_servers_map_status(server, phone, frame):
    rec = frame.loc["CL-012"]  # open 24 hours
    lat = rec["lat"] + 60 * DEG_PER_M
    with urllib.request.urlopen(f"{server}/api/v1/nearest?lat={lat}&lon={rec['lon']}&k=1", timeout=30) as resp:
        station = json.load(resp)["results"][0]["station"]
    if "map_status" not in station:
        pytest.skip("/api/v1/nearest results do not carry station.map_status yet (the locator colours by it)")
    assert station["map_status"] == "open_24h"
    phone.geolocation(lat=lat, lon=rec["lon"])
    phone.get(server + "/")
    phone.js("document.getElementById('locate').click()")
    phone.wait("document.querySelectorAll('#results .card').length")
    assert "st-s-open_24h" in phone.js("return document.querySelector('#results .card').className")
    assert phone.js("return document.querySelectorAll('.leaflet-marker-icon.st-mk.st-s-open_24h').length") >= 1


def test_locator_opens_from_its_service_worker_when_the_server_is_gone(store_path, phone):
    with serve(store_path, env={"STATIONS_TILES": "none"}) as base:
        with urllib.request.urlopen(base + "/sw.js", timeout=30) as resp:
            cache = re.search(r'var CACHE = "([^"]+)"', resp.read().decode("utf-8"))[1]
        phone.get(base + "/")
        phone.wait("navigator.serviceWorker && navigator.serviceWorker.controller", timeout_s=30)
        phone.js("caches.keys().then(function (k) { window.__cacheKeys = k; })")
        assert phone.wait("window.__cacheKeys") == [cache]  # one cache, named after this deploy's assets
    # the server has stopped: the page and its scripts come from the worker's cache
    phone.get(base + "/")
    phone.wait("window.stationsLocator && typeof L === 'object'", timeout_s=30)
    assert phone.js("return document.getElementById('locate').innerText").strip() == "使用我的位置"
