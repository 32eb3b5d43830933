"""The HTTP API through Flask's test client: answers, freshness, one error shape."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import time

import pytest
import shapely

from stations.io.importer import import_file
from stations.store import open_store
from stations.web import create_app
from stations.web.api import NEAREST_PARAMS, _nearest_kwargs
from stations.web.params import parse

from conftest import write_csv

# A query point in Changli county and stations due north of it, 1 metre of latitude apart
# being 1/111,195 degrees: distances are easy to check by hand.
Q_LAT, Q_LON = 39.70, 119.16
DEG_PER_M = 1 / 111_194.93  # great-circle metres per degree on a sphere of 6,371,008.8 m
HEADER = ["站点编号", "站点名称", "经度", "纬度", "开放时间", "设施/服务", "服务对象", "状态", "状态原因"]
STATIONS = [
    ["N100", "北100米", Q_LON, Q_LAT + 100 * DEG_PER_M, "24/7", "空调、饮水", "所有人", "正常", ""],
    ["N200", "北200米", Q_LON, Q_LAT + 200 * DEG_PER_M, "Mo-Su 08:00-18:00", "微波炉、厕所", "户外劳动者", "正常", ""],
    ["N300", "北300米", Q_LON, Q_LAT + 300 * DEG_PER_M, "Mo-Su 20:00-06:00", "微波炉", "所有人", "正常", ""],
    ["N400", "北400米", Q_LON, Q_LAT + 400 * DEG_PER_M, "", "微波炉、厕所", "所有人", "正常", ""],
    ["N500", "北500米", Q_LON, Q_LAT + 500 * DEG_PER_M, "24/7", "微波炉", "所有人", "暂停开放", "装修"],
]


@pytest.fixture
def store_path(tmp_path):
    path = tmp_path / "api.gpkg"
    with open_store(path) as store:
        report = import_file(store, write_csv(tmp_path / "s.csv", HEADER, STATIONS))
        assert report.rejected == 0, report.rejected_rows
    return path


@pytest.fixture
def client(store_path):
    app = create_app({"store": str(store_path)})
    return app.test_client()


def _nearest(client, **params):
    params.setdefault("lat", Q_LAT)
    params.setdefault("lon", Q_LON)
    resp = client.get("/api/v1/nearest", query_string=params)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_nearest_in_distance_order_with_hand_checkable_distances(client):
    body = _nearest(client, k=3, detail="full")  # the bearing is in the full answer
    assert [r["station_id"] for r in body["results"]] == ["N100", "N200", "N300"]
    assert [r["distance_m"] for r in body["results"]] == pytest.approx([100, 200, 300], abs=0.2)
    first = body["results"][0]
    assert first["bearing_deg"] == pytest.approx(0, abs=0.1)  # due north
    # 100 m x circuity 1.3 at 4.5 km/h = 1.733 min; at 15 km/h = 0.52 min
    assert first["minutes"]["walk"] == pytest.approx(1.7, abs=0.05)
    assert first["minutes"]["ebike"] == pytest.approx(0.5, abs=0.05)
    assert body["crs"] == "wgs84" and first["position"]["crs"] == "wgs84"


def test_temporarily_closed_stations_are_left_out(client):
    ids = [r["station_id"] for r in _nearest(client, k=10)["results"]]
    assert "N500" not in ids and len(ids) == 4


def test_amenity_and_open_filters(client):
    ids = [r["station_id"] for r in _nearest(client, k=5, amenities="microwave,toilet")["results"]]
    assert ids == ["N200", "N400"]
    at_noon = "2026-11-23T12:00:00+08:00"
    ids = [r["station_id"] for r in _nearest(client, k=5, open="at", at=at_noon)["results"]]
    assert ids == ["N100", "N200"]  # N300 opens at 20:00, N400's hours are unknown: not "open"
    ids = [r["station_id"] for r in _nearest(client, k=5, open="at", at="2026-11-23T23:00:00+08:00")["results"]]
    assert ids == ["N100", "N300"]
    ids = [r["station_id"] for r in _nearest(client, k=5, open_24h="true")["results"]]
    assert ids == ["N100"]
    ids = [r["station_id"] for r in _nearest(client, k=5, max_distance_m=250)["results"]]
    assert ids == ["N100", "N200"]


def test_open_status_says_when_it_changes(client):
    body = _nearest(client, k=3, open="at", at="2026-11-23T17:45:00+08:00", lang="en")
    n200 = next(r for r in body["results"] if r["station_id"] == "N200")
    status = n200["station"]["open_status"]
    assert status["state"] == "open" and "18:00" in status["label"]


def test_gcj02_in_and_out(client):
    from stations.geo import wgs84_to_gcj02

    glat, glon = wgs84_to_gcj02(lat=Q_LAT, lon=Q_LON)
    body = _nearest(client, lat=glat, lon=glon, crs="gcj02", k=1)
    first = body["results"][0]
    assert first["station_id"] == "N100" and first["distance_m"] == pytest.approx(100, abs=0.2)
    slat, slon = wgs84_to_gcj02(lat=Q_LAT + 100 * DEG_PER_M, lon=Q_LON)
    assert first["position"] == {"lat": pytest.approx(slat, abs=1e-7), "lon": pytest.approx(slon, abs=1e-7),
                                 "crs": "gcj02"}


def test_navigation_links_carry_each_vendors_coordinates(client):
    from stations.geo import wgs84_to_gcj02

    r = _nearest(client, k=1)["results"][0]
    lat, lon = Q_LAT + 100 * DEG_PER_M, Q_LON
    glat, glon = wgs84_to_gcj02(lat=lat, lon=lon)
    nav = r["navigation"]
    assert f"position={glon:.6f}%2C{glat:.6f}" in nav["amap"] and "coordinate=gaode" in nav["amap"]
    assert f"location={glat:.6f}%2C{glon:.6f}" in nav["baidu"] and "coord_type=gcj02" in nav["baidu"]
    assert f"coord%3A{glat:.6f}%2C{glon:.6f}" in nav["tencent"] and "coord_type=2" in nav["tencent"]
    assert f"daddr={glat:.6f}%2C{glon:.6f}" in nav["apple"]  # Apple's data in mainland China is GCJ-02
    assert nav["geo"].startswith(f"geo:{lat:.6f},{lon:.6f}")


def test_freshness_after_import_without_restart(client, store_path, tmp_path):
    assert _nearest(client, k=1)["results"][0]["station_id"] == "N100"
    with open_store(store_path) as store:
        import_file(store, write_csv(tmp_path / "new.csv", HEADER,
                                     [["N050", "北50米", Q_LON, Q_LAT + 50 * DEG_PER_M, "24/7", "", "所有人", "正常", ""]]))
    # The service's refresher thread notices the commit within a poll and swaps the new snapshot in.
    deadline = time.monotonic() + 60
    while _nearest(client, k=1)["results"][0]["station_id"] != "N050":
        assert time.monotonic() < deadline, "the import was never served"
        time.sleep(0.05)


def test_stations_geojson_with_bbox_paging_and_etag(client):
    resp = client.get("/api/v1/stations", query_string={"bbox": f"{Q_LON - 0.01},{Q_LAT},{Q_LON + 0.01},{Q_LAT + 0.0025}",
                                                        "limit": 1})
    body = resp.get_json()
    assert body["type"] == "FeatureCollection" and body["numberMatched"] == 2 and body["numberReturned"] == 1
    assert body["links"][0]["rel"] == "next"
    assert body["features"][0]["geometry"]["coordinates"][0] == pytest.approx(Q_LON)
    etag = resp.headers["ETag"]
    again = client.get(resp.request.full_path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert resp.headers["Access-Control-Allow-Origin"] == "*"


def test_one_station_amenities_health_openapi(client):
    one = client.get("/api/v1/stations/N200").get_json()
    assert one["properties"]["name"] == "北200米" and one["properties"]["amenities"]["microwave"] == "yes"
    vocab = client.get("/api/v1/amenities").get_json()["amenities"]
    assert {"code": "microwave", "zh": "微波炉"}.items() <= vocab[3].items()
    health = client.get("/api/v1/health").get_json()
    assert health["stations"] == 5 and health["status"] == "ok"
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.") and "/api/v1/nearest" in spec["paths"]
    names = {p["name"] for p in spec["paths"]["/api/v1/nearest"]["get"]["parameters"]}
    assert {"lat", "lon", "k", "amenities", "open", "at", "mode", "max_distance_m", "crs"} <= names
    assert client.get("/docs").status_code == 200


def test_batch_nearest(client):
    resp = client.post("/api/v1/nearest/batch", json={"points": [{"lat": Q_LAT, "lon": Q_LON, "id": "a"},
                                                                 {"lat": Q_LAT + 450 * DEG_PER_M, "lon": Q_LON}],
                                                      "k": 1})
    body = resp.get_json()
    assert resp.status_code == 200, body
    assert [p["results"][0]["station_id"] for p in body["points"]] == ["N100", "N400"]
    assert body["points"][0]["id"] == "a"


# --- one error shape, and no input ever produces a 500 ------------------------------------------

BAD = [
    ({"lon": Q_LON}, "lat", "is required"),
    ({"lat": "nan", "lon": Q_LON}, "lat", "finite"),
    ({"lat": "95", "lon": Q_LON}, "lat", "out of range"),
    ({"lat": Q_LAT, "lon": "abc"}, "lon", "not a number"),
    ({"lat": Q_LAT, "lon": Q_LON, "k": "0"}, "k", "out of range"),
    ({"lat": Q_LAT, "lon": Q_LON, "k": "1000"}, "k", "out of range"),
    ({"lat": Q_LAT, "lon": Q_LON, "amenities": "microwave,jacuzzi"}, "amenities", "jacuzzi"),
    ({"lat": Q_LAT, "lon": Q_LON, "open": "at", "at": "tomorrow-ish"}, "at", "not a date-time"),
    ({"lat": Q_LAT, "lon": Q_LON, "crs": "mars"}, "crs", "not an allowed value"),
    ({"lat": 25.033, "lon": 121.5654, "crs": "gcj02"}, None, "mainland China"),
    ({"lat": Q_LAT, "lon": Q_LON, "amenity": "microwave"}, "amenity", "unknown parameter"),
]


def _assert_problem(resp, status, parameter=None, text=None):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert {"type", "title", "status", "detail"} <= body.keys() and body["status"] == status
    if parameter:
        params = [e["parameter"] for e in body["errors"]]
        assert parameter in params, body
        err = next(e for e in body["errors"] if e["parameter"] == parameter)
        assert "allowed" in err and "value" in err
    if text:
        assert text in resp.get_data(as_text=True)
    return body


@pytest.mark.parametrize("params,parameter,text", BAD)
def test_bad_nearest_queries_are_400_problems(client, params, parameter, text):
    body = _assert_problem(client.get("/api/v1/nearest", query_string=params), 400, parameter, text)
    if parameter == "amenities":
        assert "microwave" in body["errors"][0]["allowed"]  # the answer lists the valid ones


def test_bad_batches(client):
    _assert_problem(client.post("/api/v1/nearest/batch", data="{not json", content_type="application/json"), 400,
                    "body", "malformed JSON")
    _assert_problem(client.post("/api/v1/nearest/batch", json={"points": [{"lat": 0, "lon": 0}] * 10_001}), 400,
                    "points", "too many points")
    _assert_problem(client.post("/api/v1/nearest/batch", json={"points": [{"lat": "x", "lon": 0}]}), 400,
                    "points[0].lat")
    _assert_problem(client.post("/api/v1/nearest/batch", data="a=b"), 400, "Content-Type")


def test_huge_query_string_unknown_station_and_wrong_method(client):
    _assert_problem(client.get("/api/v1/nearest?lat=1&lon=1&pad=" + "x" * 10_000), 414, "query")
    _assert_problem(client.get("/api/v1/stations/NOPE"), 404, None, "NOPE")
    _assert_problem(client.get("/api/v1/nope"), 404)
    _assert_problem(client.delete("/api/v1/nearest"), 405)


def test_every_api_route_answers_errors_in_the_one_shape(client):
    """datasette-style: walk the URL map so a new route cannot skip the error shape."""
    app = client.application
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1")]
    assert len(rules) >= 7
    for rule in rules:
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "N100" if m.group(1) == "station_id" else "1", rule.rule)
        wrong = "DELETE"
        _assert_problem(client.open(path, method=wrong), 405)
        if "GET" in rule.methods and rule.endpoint in ("api.nearest_view", "api.stations_view", "api.station_view"):
            _assert_problem(client.get(path, query_string={"bogus": "1"}), 400, "bogus", "unknown parameter")


def test_coverage_endpoint_by_hand(tmp_path):
    """One station in the middle of a county: covered share = circle area / county area (to the grid)."""
    from stations.planning import load_area

    area = load_area("昌黎县")
    pt = area.geometry.representative_point()
    path = tmp_path / "cov.gpkg"
    with open_store(path) as store:
        import_file(store, write_csv(tmp_path / "c.csv", ["站点编号", "站点名称", "经度", "纬度", "开放时间", "设施/服务"],
                                     [["C1", "中心", pt.x, pt.y, "Mo-Su 08:00-18:00", "厕所"]]))
    client = create_app({"store": str(path)}).test_client()
    resp = client.get("/api/v1/coverage", query_string={"area": "130322", "cell_m": 100, "minutes": 15})
    body = resp.get_json()
    assert resp.status_code == 200, body
    radius_m = 15 / 60 * 4500 / 1.3  # 15 minutes at 4.5 km/h over a circuity of 1.3
    circle_km2 = math.pi * (radius_m / 1000) ** 2
    summary = body["summary"] if "summary" in body else body
    expected = 100 * circle_km2 / summary["area_km2"]
    assert summary["perc_area_covered"] == pytest.approx(expected, rel=0.05)
    assert summary["perc_area_covered_2plus"] == 0
    night = client.get("/api/v1/coverage", query_string={"area": "130322", "at": "2026-11-23T23:00:00+08:00"})
    assert (night.get_json().get("summary") or night.get_json())["perc_area_covered"] == 0
    _assert_problem(client.get("/api/v1/coverage", query_string={"area": "昌黎具"}), 404, None, "昌黎县")
    _assert_problem(client.get("/api/v1/coverage", query_string={"area": "130322", "cell_m": "10"}), 400, "cell_m")


def test_queries_during_an_import_see_old_or_new_data_never_half(store_path, tmp_path):
    """A reader thread hammers the service while a 3,000-station import commits."""
    import threading

    from stations.service import StationService

    service = StationService(str(store_path))
    rows = [[f"B{i:04d}", f"批量{i}", Q_LON + 0.01 + i * 1e-4, Q_LAT, "24/7", "", "所有人", "正常", ""]
            for i in range(3000)]
    big = write_csv(tmp_path / "big.csv", HEADER, rows)
    seen, stop = set(), threading.Event()

    def reader():
        while not stop.is_set():
            snap = service.snapshot()
            n = len(snap.frame)
            seen.add(n)
            assert n == len(snap.by_id) == len(snap.located)

    t = threading.Thread(target=reader)
    t.start()
    with open_store(store_path) as s:
        import_file(s, big)
    deadline = time.monotonic() + 60  # the refresher swaps the new snapshot in within a poll or so
    while 3005 not in seen and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    t.join()
    assert seen <= {5, 3005} and 3005 in seen


@pytest.mark.parametrize("params", [
    {},
    {"crs": "gcj02", "lang": "en", "k": 3},
    {"crs": "bd09", "open": "at", "at": "2026-11-23T21:30:00+08:00", "amenities": "microwave"},
    {"open": "arrival", "mode": "ebike", "k": 4},
    {"max_distance_m": 120, "k": 10},
])
def test_the_answer_is_valid_json_and_the_library_gives_the_same(client, params):
    """The HTTP answer is assembled from cached JSON pieces; the library's dict must equal it."""
    from stations.lookup import nearest
    from stations.travel import travels_from_settings

    app = client.application
    with app.app_context():
        got = _nearest(client, **params)
        q = parse(NEAREST_PARAMS, {"lat": str(Q_LAT), "lon": str(Q_LON), **{k: str(v) for k, v in params.items()}},
                  settings=app.config["STATIONS"])
        now = dt.datetime.fromisoformat(got["query"]["at"]) if got["query"]["at"] else None
        service = app.extensions["stations"]
        mine = nearest(service.snapshot(), lat=q["lat"], lon=q["lon"], now=now,
                       travels=travels_from_settings(app.config["STATIONS"]), curation=service.curation(),
                       stale_days=app.config["STATIONS"].check_stale_days, **_nearest_kwargs(q))
    assert got["count"] == len(got["results"]) > 0
    for a, b in zip(got["results"], mine["results"]):
        a["station"].pop("open_status"), b["station"].pop("open_status")  # "now" moved on in between
        assert a == b
    assert {r["position"]["crs"] for r in got["results"]} == {q["crs"]}
    assert all(set(r["navigation"]) == {"amap", "baidu", "tencent", "apple", "osm", "geo"} for r in got["results"])
    if q["crs"] == "wgs84":  # directions from the user's point to each station
        from stations.navigation import osm_directions

        frame = app.extensions["stations"].snapshot().frame.set_index("station_id")
        for r in got["results"]:
            lat, lon = frame.loc[r["station_id"], ["lat", "lon"]]
            assert r["navigation"]["osm"] == osm_directions(from_lat=Q_LAT, from_lon=Q_LON, lat=lat, lon=lon)


# --- no input gives a 5xx: wrong JSON types, deep nesting, odd ids, times off the calendar ---------

BATCH_POINT = {"lat": Q_LAT, "lon": Q_LON}


@pytest.mark.parametrize("body,parameter,text", [
    ({"points": [BATCH_POINT], "amenities": [None]}, "amenities", "not a list of strings"),
    ({"points": [BATCH_POINT], "k": [5]}, "k", "not a JSON number"),
    ({"points": [BATCH_POINT], "k": True}, "k", "not a JSON number"),
    ({"points": [BATCH_POINT], "access": [1]}, "access", "not a list of strings"),
    ({"points": [BATCH_POINT], "open_24h": "yes"}, "open_24h", "not true or false"),
    ({"points": [BATCH_POINT], "at": 20261122}, "at", "not a string"),
    ({"points": [{"lat": Q_LAT, "lon": Q_LON, "id": {"a": 1}}]}, "points[0].id", "not a point id"),
    ({"points": [{"lat": Q_LAT, "lon": Q_LON, "id": 2 ** 70}]}, "points[0].id", "not a point id"),
    ({"points": [{"lat": [Q_LAT], "lon": Q_LON}]}, "points[0].lat", "not a JSON number"),
    ({"points": [{"lat": Q_LAT, "lon": Q_LON, "name": "x"}]}, "points[0].name", "unknown field"),
    ({"points": [BATCH_POINT], "lang": "en"}, "lang", "unknown field"),
    ({"points": "here"}, "points", "not a list"),
    ([BATCH_POINT], "body", "not a JSON object"),
])
def test_batch_values_of_the_wrong_json_type_are_400(client, body, parameter, text):
    _assert_problem(client.post("/api/v1/nearest/batch", json=body), 400, parameter, text)


@pytest.mark.parametrize("raw,text", [
    ("[" * 100_000 + "]" * 100_000, "depth limit"),  # json.loads: RecursionError
    ('{"points": [{"lat": 39.7, "lon": 119.16, "id": "\\ud800"}]}', "surrogate"),  # not Unicode
    ('{"points": [{"lat": 39.7, "lon": 119.16, "id": 36893488147419103232}]}', "not a point id"),  # 65 bits
    ('{"points": [{"lat": NaN, "lon": 119.16}]}', "malformed JSON"),
    (b'{"points": [{"lat": 39.7, "lon": 119.16, "id": "\xff"}]}', "malformed JSON"),  # not UTF-8
])
def test_batch_bodies_json_cannot_carry_are_400(client, raw, text):
    _assert_problem(client.post("/api/v1/nearest/batch", data=raw, content_type="application/json"), 400, None, text)


@pytest.mark.parametrize("path", ["/api/v1/nearest?lat=39.7&lon=119.16&open=at&at={at}",
                                  "/api/v1/clusters?bbox=119,39,120,40&zoom=5&at={at}",
                                  "/api/v1/coverage?area=130322&cell_m=2000&at={at}",
                                  "/api/v1/stations?at={at}"])
@pytest.mark.parametrize("at", ["0001-01-01T00:00:00%2B08:00", "9999-12-31T23:59:59-08:00"])
def test_times_whose_utc_leaves_the_calendar_are_400(client, path, at):
    body = _assert_problem(client.get(path.format(at=at)), 400, "at", "outside 1970 to 2099")
    assert body["errors"][0]["value"] == at.replace("%2B", "+")


def test_query_bytes_that_are_not_utf8_are_400(client):
    """werkzeug reads the query as UTF-8; a raw byte that is not (clients must escape it) is the client's error."""
    for path in ("/api/v1/search", "/api/v1/stations", "/api/v1/nearest"):
        resp = client.get(path, environ_overrides={"QUERY_STRING": "q=\xff"})
        _assert_problem(resp, 400, "query", "not UTF-8")


def _raw_request(port: int, request: bytes) -> tuple[bytes, bytes]:
    """Send ``request`` as is (no client library tidies it) and read the whole answer: (head, body)."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return head, body


def test_under_gunicorn_the_app_answers_first_in_the_problem_shape(store_path):
    """Bodies are decoded and limits first applied by the server, so this needs a real one: the app's
    limits sit below gunicorn's, so it is the app that answers, in the one error shape."""
    from browser_util import serve

    post = (b"POST /api/v1/nearest/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    many = b"".join(b"X-Header-%d: v\r\n" % i for i in range(70))
    with serve(store_path) as base:
        port = int(base.rsplit(":", 1)[1])
        for chunks in (b"ZZ\r\n{}\r\n0\r\n\r\n", b"2\r\n{}}}}\r\n0\r\n\r\n"):  # bad size; no chunk end
            head, body = _raw_request(port, post + chunks)
            assert head.startswith(b"HTTP/1.1 400") and b"application/problem+json" in head, head
            assert b"unreadable request body" in body
        for request, status, text in (
                (b"GET /api/v1/ping HTTP/1.1\r\nHost: x\r\n" + many + b"Connection: close\r\n\r\n", b"431",
                 b"at most 64"),
                (b"GET /api/v1/ping HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * 5000 + b"\r\nConnection: close\r\n\r\n",
                 b"431", b"X-Big"),
                (b"GET /api/v1/stations/" + b"x" * 3000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                 b"414", b"path")):
            head, body = _raw_request(port, request)
            assert head.startswith(b"HTTP/1.1 " + status) and b"application/problem+json" in head, head
            assert text in body
        # The residual case (stations.web's docstring): past gunicorn's own limits, gunicorn answers in HTML.
        head, _ = _raw_request(port, b"GET /api/v1/ping HTTP/1.1\r\nHost: x\r\n" + many * 2 + b"\r\n")
        assert head.startswith(b"HTTP/1.1 431") and b"text/html" in head


# --- the methods of a route: 405 with Allow, OPTIONS, CORS --------------------------------------

def test_405_names_the_routes_methods_in_allow(client):
    resp = client.delete("/api/v1/nearest")
    _assert_problem(resp, 405, None, "DELETE is not allowed")
    assert resp.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert resp.headers["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"
    resp = client.get("/api/v1/nearest/batch")
    _assert_problem(resp, 405)
    assert resp.headers["Allow"] == "OPTIONS, POST" == resp.headers["Access-Control-Allow-Methods"]


def test_options_answers_for_a_route_and_404_elsewhere(client):
    resp = client.options("/api/v1/stations/N100")
    assert resp.status_code == 200 and resp.headers["Allow"] == "GET, HEAD, OPTIONS, PATCH"  # PATCH: staff edits
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    _assert_problem(client.options("/api/v1/nope"), 404)
    _assert_problem(client.options("/api/v1/nearest/batch/x"), 404)


# --- what an error means: the caller's input (4xx) or the server's side (5xx) --------------------

def test_an_unreadable_store_stops_the_start_and_a_store_failure_is_503_naming_no_path(tmp_path, store_path):
    from stations.errors import StoreError

    bad = tmp_path / "broken.gpkg"
    bad.write_bytes(b"this is not a GeoPackage" * 100)
    with pytest.raises(StoreError, match="broken.gpkg"):  # the operator is told which file
        create_app({"store": str(bad)})
    app = create_app({"store": str(store_path)})
    service = app.extensions["stations"]

    def unreadable():
        raise StoreError(f"store {str(store_path)!r} cannot be read: file is not a database")

    service.store = unreadable  # the request's own connection fails, as after a disk error
    # (a station's own answer comes from the snapshot and the curation overlay: its check dates read the store)
    body = _assert_problem(app.test_client().get("/api/v1/stations/N100/checks"), 503, None,
                           "station store cannot be read")
    assert str(tmp_path) not in body["detail"]  # the client is not told the server's paths
    assert app.test_client().get("/api/v1/amenities").status_code == 200  # what needs no store still answers
    service.close()


def test_a_geocoder_failure_is_502_and_bad_input_stays_400(store_path):
    from stations.errors import GeocodeError, ImportFileError

    app = create_app({"store": str(store_path)})
    failures = {"geocode": GeocodeError("amap geocoder at restapi.amap.com failed: HTTP 500"),
                "file": ImportFileError("cannot read polygon file 'x.geojson'")}

    def fail(what):
        raise failures[what]

    app.add_url_rule("/api/v1/test-failure/<what>", view_func=fail)
    client = app.test_client()
    body = _assert_problem(client.get("/api/v1/test-failure/geocode"), 502, None, "upstream service failed")
    assert "amap" not in body["detail"]
    _assert_problem(client.get("/api/v1/test-failure/file"), 400, None, "x.geojson")


# --- /stations: the ETag changes when the answer does (open status by the minute) ----------------

def test_stations_etag_changes_when_open_status_does(store_path):
    """N200 is open 08:00-18:00: at 17:59 it is open, a minute later it is not, so the ETag of 17:59 is stale."""
    app = create_app({"store": str(store_path)})
    client = app.test_client()
    shanghai = dt.timezone(dt.timedelta(hours=8))
    app.extensions["stations.clock"] = lambda: dt.datetime(2026, 11, 23, 17, 59, 30, tzinfo=shanghai)
    query = {"bbox": f"{Q_LON - 0.01},{Q_LAT + 150 * DEG_PER_M},{Q_LON + 0.01},{Q_LAT + 250 * DEG_PER_M}"}

    def n200(resp):
        return resp.get_json()["features"][0]["properties"]["open_status"]["state"]

    first = client.get("/api/v1/stations", query_string=query)
    assert n200(first) == "open"
    etag = first.headers["ETag"]
    assert client.get("/api/v1/stations", query_string=query, headers={"If-None-Match": etag}).status_code == 304
    app.extensions["stations.clock"] = lambda: dt.datetime(2026, 11, 23, 18, 0, 5, tzinfo=shanghai)
    later = client.get("/api/v1/stations", query_string=query, headers={"If-None-Match": etag})
    assert later.status_code == 200 and n200(later) == "closed"
    assert later.headers["ETag"] != etag
    # An explicit time: the answer (and its ETag) no longer depends on the clock.
    at = {**query, "at": "2026-11-23T17:59:00+08:00"}
    pinned = client.get("/api/v1/stations", query_string=at)
    assert n200(pinned) == "open" and pinned.get_json()["at"] == "2026-11-23T17:59:00+08:00"
    assert client.get("/api/v1/stations", query_string=at,
                      headers={"If-None-Match": pinned.headers["ETag"]}).status_code == 304


# --- settings that set limits, read at request time --------------------------------------------

def test_page_max_sets_the_largest_page(store_path):
    small = create_app({"store": str(store_path), "page_max": 2}).test_client()
    _assert_problem(small.get("/api/v1/stations", query_string={"limit": 3}), 400, "limit", "from 1 to 2")
    assert small.get("/api/v1/stations", query_string={"limit": 2}).get_json()["numberReturned"] == 2
    big = create_app({"store": str(store_path), "page_max": 6000}).test_client()
    assert big.get("/api/v1/stations", query_string={"limit": 5500}).get_json()["numberReturned"] == 5


def test_max_k_sets_the_largest_k(store_path):
    small = create_app({"store": str(store_path), "max_k": 3}).test_client()
    body = _assert_problem(small.get("/api/v1/nearest", query_string={"lat": Q_LAT, "lon": Q_LON, "k": 4}), 400, "k")
    assert body["errors"][0]["allowed"] == "an integer from 1 to 3"
    _assert_problem(small.post("/api/v1/nearest/batch", json={"points": [BATCH_POINT], "k": 4}), 400, "k", "1 to 3")


def test_max_k_above_100_is_answered(store_path):
    client = create_app({"store": str(store_path), "max_k": 150}).test_client()
    assert _nearest(client, k=120)["count"] == 4


def test_batch_answers_are_bounded_by_points_times_k(store_path):
    client = create_app({"store": str(store_path), "batch_max_results": 10}).test_client()
    points = [BATCH_POINT] * 4
    assert client.post("/api/v1/nearest/batch", json={"points": points, "k": 2}).status_code == 200
    body = _assert_problem(client.post("/api/v1/nearest/batch", json={"points": points, "k": 3}), 400, "points")
    assert body["errors"][0]["reason"] == "4 points × k 3 = 12 results"
    assert "at most 10" in body["errors"][0]["allowed"] and "batch_max_results" in body["errors"][0]["allowed"]


# --- query parameters: empty and repeated values ---------------------------------------------

@pytest.mark.parametrize("query,parameter,reason", [
    ("k=", "k", "empty"),
    ("amenities=", "amenities", "empty"),
    ("k=3&k=9", "k", "given more than once"),
    ("amenities=toilet&amenities=microwave", "amenities", "given more than once"),
    ("amenities=toilet,,microwave", "amenities", "has an empty item"),
    ("amenities=toilet,toilet", "amenities", "an item is given twice"),
    ("open_24h=yes", "open_24h", "not a boolean"),
    ("k=5.0", "k", "not an integer"),
    ("max_distance_m=1_000", "max_distance_m", "not a number as JSON writes it"),
])
def test_empty_repeated_and_loose_values_are_400(client, query, parameter, reason):
    body = _assert_problem(client.get(f"/api/v1/nearest?lat={Q_LAT}&lon={Q_LON}&{query}"), 400, parameter, reason)
    assert len(body["errors"]) == 1


def test_coverage_area_is_never_a_file_on_the_server(client, tmp_path):
    """The CLI reads polygon files; the API takes admin names and adcodes only."""
    from stations.planning import load_area

    polygon = tmp_path / "secret.geojson"
    polygon.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {},
        "geometry": json.loads(shapely.to_geojson(load_area("130322").geometry.envelope))}]}))
    _assert_problem(client.get("/api/v1/coverage", query_string={"area": str(polygon), "cell_m": 2000}), 404, "area")


def test_stations_with_and_without_an_address_in_one_store(tmp_path):
    """The store reads a text column with some values missing as NaN; no answer may trip on it."""
    path = tmp_path / "mixed.gpkg"
    with open_store(path) as store:
        import_file(store, write_csv(tmp_path / "a.csv", [*HEADER, "地址"], [[*STATIONS[0], "昌黎镇环卫站院内"]]))
        import_file(store, write_csv(tmp_path / "b.csv", HEADER, STATIONS[1:2]))
    client = create_app({"store": str(path)}).test_client()
    assert [r["station_id"] for r in _nearest(client, k=2)["results"]] == ["N100", "N200"]
    features = client.get("/api/v1/stations").get_json()["features"]
    assert [f["properties"]["address"] for f in features] == ["昌黎镇环卫站院内", None]
    assert client.get("/api/v1/stations/N200").get_json()["properties"]["navigation"]["baidu"]
