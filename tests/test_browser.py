"""The map and the locator in Debian's headless chromium, against the real server (gunicorn).

Every test records every network request (DevTools performance log) and checks that none
leaves 127.0.0.1: the pages bring their own scripts, styles and icons, and the basemap is
the local outline layer (``tiles=none``). Skipped only when chromium is not installed.
"""

from __future__ import annotations

import math
import time

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
]
DEG_PER_M = 1 / 111_194.93  # degrees of latitude per metre on the mean sphere


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    from stations.geocode.offline import OfflineCountyGeocoder
    from stations.importer import import_file
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
    assert browser.js("return stationsMapView.matched") == 26  # 24 sample stations and 2 XSS ones
    assert browser.js("return typeof L") == "object"
    urls = browser.collect().urls()
    assert any("/static/vendor/leaflet/leaflet.js" in u for u in urls)
    assert any("/api/v1/clusters?" in u for u in urls)
    # the outline basemap is drawn (canvas) in place of tiles
    assert browser.wait("document.querySelectorAll('.leaflet-overlay-pane canvas').length")


def test_map_popup_shows_the_station(server, browser, frame):
    from stations.coords import wgs84_to_gcj02

    rec = frame.loc["CL-011"]
    _open_map_at(browser, server, lat=rec["lat"], lon=rec["lon"])
    text = _click_marker(browser, rec["name"])
    assert rec["name"] in text and "24小时开放" in text
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
    from stations.coords import wgs84_to_gcj02

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
    assert f"daddr={rec['lat']:.6f}%2C{rec['lon']:.6f}" in apple  # WGS-84, latitude first
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


def test_a_saved_county_map_works_alone_from_a_file(tmp_path, browser, frame):
    from stations.mapping import build_map

    path = tmp_path / "county.html"
    build_map(frame[frame["county"] == "昌黎县"].reset_index(drop=True)).save(str(path))
    browser.get(path.as_uri())
    browser.wait("window.stationsMapView && stationsMapView.ready")
    assert browser.js("return stationsMapView.matched") == 15  # the 15 Changli stations
    browser.js("stationsMapView.map.setView([39.702008, 119.215601], 18)")
    rec = frame.loc["CL-012"]
    text = _click_marker(browser, rec["name"])
    assert rec["name"] in text and "Microwave" in text
    urls = browser.collect().urls()
    assert all(u.startswith(("data:", "file:", "chrome:", "about:")) for u in urls), urls
    assert not math.isnan(rec["lat"])
