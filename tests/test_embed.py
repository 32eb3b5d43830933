"""/embed: the locator inside other sites' pages, framable only by the origins the operator allows.

The browser test serves two outer pages from two local HTTP servers on different loopback
ports, each with the same <iframe> of /embed; the service allows only the first origin.
"""

from __future__ import annotations

import contextlib
import html
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest

from browser_util import Browser, browser_missing, free_port, serve
from opendata_records import make_store
from stations.config import load_settings
from stations.errors import ValidationError
from stations.web import create_app


@pytest.fixture
def store_path(tmp_path):
    return make_store(tmp_path / "embed.gpkg")


def _client(store_path, tmp_path, **settings):
    return create_app({"store": str(store_path), "opendata_dir": str(tmp_path / "d"), **settings}).test_client()


def _config(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="locator-config">(.*?)</script>', page, re.S)
    return json.loads(match.group(1))


def test_by_default_only_the_service_itself_may_frame_it(store_path, tmp_path):
    resp = _client(store_path, tmp_path).get("/embed")
    assert resp.status_code == 200 and resp.headers["Content-Security-Policy"] == "frame-ancestors 'self'"


def test_the_operator_lists_the_origins_that_may_frame_it(store_path, tmp_path):
    client = _client(store_path, tmp_path, embed_origins="https://gonghui.example.org https://*.example.cn:8443")
    assert client.get("/embed").headers["Content-Security-Policy"] == \
        "frame-ancestors 'self' https://gonghui.example.org https://*.example.cn:8443"
    assert "Content-Security-Policy" not in client.get("/").headers  # the locator itself is unchanged


@pytest.mark.parametrize("origins", ["https://a.example.org; script-src *", "'none'", "*", "javascript:alert(1)",
                                     "https://a.example.org/path", "ftp://a.example.org", "https://"])
def test_a_setting_that_is_not_a_list_of_origins_is_refused_when_loaded(origins):
    with pytest.raises(ValidationError) as err:
        load_settings({"embed_origins": origins}, environ={})
    assert {p.field for p in err.value.problems} == {"embed_origins"}


def test_the_url_sets_language_filters_point_and_zoom(store_path, tmp_path):
    client = _client(store_path, tmp_path, data_attribution="昌黎县总工会")
    page = client.get("/embed?lang=en&lat=39.7063&lon=119.1860&crs=gcj02&zoom=15&amenities=toilet,microwave"
                      "&open=now&open_24h=true").get_data(as_text=True)
    config = _config(page)
    assert config["lang"] == "en"
    assert config["embed"] == {"centre": {"lat": 39.7063, "lon": 119.186, "crs": "gcj02"}, "zoom": 15,
                               "chips": {"toilet": True, "microwave": True, "open_now": True, "open_24h": True},
                               "attribution": "昌黎县总工会"}
    assert '<body class="embed">' in page and "<h1>" not in page  # no title bar
    assert "/static/css/embed.css?v=" in page and html.escape("昌黎县总工会") in page
    plain = _config(client.get("/").get_data(as_text=True))
    assert plain["embed"] is None  # the locator itself


@pytest.mark.parametrize("query,parameter", [("lat=39.7", "lon"), ("lon=119.1", "lat"), ("zoom=25", "zoom"),
                                             ("amenities=sauna", "amenities"), ("lang=fr", "lang"),
                                             ("open=later", "open"), ("crs=utm", "crs"), ("lat=95&lon=1", "lat"),
                                             ("x=1", "x")])
def test_bad_parameters_are_400_problems_naming_them(store_path, tmp_path, query, parameter):
    resp = _client(store_path, tmp_path).get(f"/embed?{query}")
    assert resp.status_code == 400 and resp.content_type == "application/problem+json"
    assert [e["parameter"] for e in resp.get_json()["errors"]] == [parameter]


# -- in headless Chromium, from two origins ------------------------------------------------------------

OUTER = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>工会网站</title></head><body>
<h1>某市总工会 · 附近的驿站</h1>
<script>window.messages = []; addEventListener('message', function (e) {
  window.messages.push({origin: e.origin, data: e.data}); });</script>
<iframe id="stations" src="{src}" width="420" height="760" style="border:0" allow="geolocation"></iframe>
</body></html>"""


@contextlib.contextmanager
def outer_page(port: int, src: str) -> Iterator[str]:
    """An HTTP server on 127.0.0.1:``port`` whose every page frames ``src``."""
    body = OUTER.replace("{src}", html.escape(src)).encode("utf-8")

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.mark.browser
@pytest.mark.skipif(browser_missing() is not None, reason=f"no browser: {browser_missing()}")
def test_framed_by_an_allowed_origin_it_works_and_by_another_it_is_refused(store_path, tmp_path):
    allowed_port, other_port = free_port(), free_port()
    env = {"STATIONS_EMBED_ORIGINS": f"http://127.0.0.1:{allowed_port}", "STATIONS_TILES": "none",
           "STATIONS_OPENDATA_DIR": str(tmp_path / "d")}
    with serve(store_path, env=env) as base:
        src = f"{base}/embed?lang=en&lat=39.715&lon=119.125&zoom=14&amenities=toilet"
        with outer_page(allowed_port, src) as allowed, outer_page(other_port, src) as other, Browser() as b:
            b.get(allowed + "/")
            messages = b.wait("window.messages.length && window.messages", timeout_s=30)
            assert messages[0]["origin"] == base
            assert messages[0]["data"]["type"] == "stations-embed" and messages[0]["data"]["count"] > 0
            b.driver.switch_to.frame("stations")
            assert b.js("return document.documentElement.lang") == "en"
            assert b.js("return document.querySelector('[data-chip=toilet]').getAttribute('aria-pressed')") == "true"
            cards = b.js("return Array.from(document.querySelectorAll('.card')).map(function (c) {"
                         " return !!c.querySelector('[data-amenity=toilet]'); })")
            assert len(cards) == messages[0]["data"]["count"] and all(cards)  # every result has a toilet
            assert b.js("return window.stationsLocator.map.getZoom()") == 14
            assert b.js("return document.querySelector('h1')") is None
            b.driver.switch_to.default_content()
            assert b.console() == []

            b.get(other + "/")
            b.driver.switch_to.frame("stations")
            b.wait("location.href.indexOf('chrome-error:') === 0", timeout_s=30)  # the browser's refusal page
            b.driver.switch_to.default_content()
            assert b.js("return window.messages") == []
            refusal = [m for m in b.console() if "frame-ancestors" in m]
            assert refusal and f"http://127.0.0.1:{allowed_port}" in refusal[0]
            assert b.collect().leaving() == []
