"""Nearest answers (stations.lookup.nearest) against a reference builder written out by hand.

The reference reads each station back from the store (``store.get``), and builds what the
answer should say of it from public pieces a reader can check one by one: the great-circle
distance (``haversine_m``), minutes as distance x circuity / speed, the position in the
answer's system (``from_wgs84``), the open status (``stations.hours.open_status`` at the
minute of the time asked about), the navigation links (``navigation_links`` with the user's
point). Which stations, and in which order, comes from the brute-force oracle.

Requests come in random sequences on one snapshot, so the snapshot's caches (station views
made per (station, crs), open status per minute) are used across requests, with a small
bound so that views are also pushed out and made again. Then: the lean answer carries
exactly what the locator page reads and stays under 2.5 KB gzipped on the sample data; and
responses are compressed when the client accepts it.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import math
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import stations.lookup as lookup
from stations.amenities import AMENITY_CODES
from stations.errors import CoordinateError
from stations.geo import from_wgs84, haversine_m, to_wgs84
from stations.hours import open_status
from stations.index import nearest_bruteforce
from stations.io.export import records_of
from stations.lookup import DETAILS, MODES, OUTPUT_CRS, nearest
from stations.navigation import LinkSettings, navigation_links
from stations.records import ACCESS_LABELS, ACCESS_VALUES, ENTRY_LABELS, STATUS_LABELS
from stations.service import build_snapshot
from stations.store import Change, open_store
from stations.synthetic import national_stations
from stations.travel import Travel

from conftest import ROOT

SPEEDS_KMH = {"walk": 4.5, "ebike": 15.0, "tricycle": 10.0, "car": 30.0}
SPEEDS_M_S = {mode: kmh / 3.6 for mode, kmh in SPEEDS_KMH.items()}
CIRCUITY = 1.3
LINKS = LinkSettings.defaults()  # what nearest uses when given no link settings
TRAVELS = {mode: Travel(mode, circuity=CIRCUITY, speed_kmh=kmh) for mode, kmh in SPEEDS_KMH.items()}
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _edge_cases(recs: list[dict]) -> list[dict]:
    """Stations that have tripped answers before, or could: changed in place."""
    beijing = recs[0]
    recs[1].update(name='名;称:|<b>&"\' 100%+#1', address=None)  # to escape in every link, no address
    recs[2].update(opening_hours=None, opening_hours_raw="看情况")  # hours unknown
    recs[3].update(status="temporarily_closed", status_reason="装修")
    recs[4].update(geocode_precision="county", geocode_provider="offline")  # only with include_imprecise
    recs[5].update(lat=22.2819, lon=114.1580, raw_lat=22.2819, raw_lon=114.1580, name="香港驿站")  # outside mainland
    recs[6].update(lat=22.1987, lon=113.5439, raw_lat=22.1987, raw_lon=113.5439, name="澳门驿站")
    for twin in recs[7:9]:  # two stations at one point: ties go by row
        twin.update(lat=beijing["lat"] + 0.001, lon=beijing["lon"], raw_lat=beijing["lat"] + 0.001,
                    raw_lon=beijing["lon"])
    recs[9].update(opening_hours="Mo-Fr 08:00-18:00; PH off", timezone="Asia/Urumqi", access="members",
                   entry="qr_code", contact=None, last_verified=None, county=None)
    recs[10].update(opening_hours="24/7", name_en="Rest stop", address="北京市东城区 No. 1")
    return recs


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One store and one snapshot of it: 1,500 synthetic stations and the edge cases."""
    recs = _edge_cases(records_of(national_stations(1500, seed=11)))
    path = tmp_path_factory.mktemp("answers") / "stations.gpkg"
    with open_store(path) as store:
        store.apply([Change("add", r) for r in recs], command="test")
        revision, frame = store.consistent_frame()
        records = {sid: store.get(sid) for sid in frame["station_id"]}
    # Small enough that a sequence of requests pushes views out and makes them again.
    saved, lookup.STATION_VIEWS_MAX = lookup.STATION_VIEWS_MAX, 12
    try:
        yield build_snapshot(frame, revision), frame, records
    finally:
        lookup.STATION_VIEWS_MAX = saved


# ---------------------------------------------------------------------------------------------
# The reference builder
# ---------------------------------------------------------------------------------------------


def expected_answer(records: dict, frame, q: dict) -> dict:
    """What ``nearest(**q)`` must answer, built field by field from the store's records."""
    user_lat, user_lon = (float(v) for v in to_wgs84(q["lat"], q["lon"], q["crs"]))
    when = {"now": q["now"], "arrival": q["now"], "at": q["at"], None: None}[q["open"]]
    hits = nearest_bruteforce(
        frame, lat=user_lat, lon=user_lon, k=q["k"], amenities=q["amenities"], open_at=when,
        arrival_speed_m_s=SPEEDS_M_S[q["mode"]] if q["open"] == "arrival" else None, circuity=CIRCUITY,
        open_24h=q["open_24h"], access=q["access"], max_distance_m=q["max_distance_m"],
        include_imprecise=q["include_imprecise"])
    results = [expected_result(records[hit.station_id], user_lat=user_lat, user_lon=user_lon, q=q) for hit in hits]
    query = {"lat": q["lat"], "lon": q["lon"], "crs": q["crs"], "k": q["k"], "amenities": list(q["amenities"]),
             "open": q["open"], "at": when.isoformat(timespec="seconds") if when else None, "mode": q["mode"],
             "max_distance_m": q["max_distance_m"], "include_imprecise": q["include_imprecise"],
             "detail": q["detail"]}
    return {"query": query, "crs": q["crs"], "count": len(results), "results": results}


def expected_map_status(status: str, open_status: dict) -> str:
    """The map's colour code, as the map legend defines it."""
    if status in ("temporarily_closed", "removed"):
        return status
    if open_status["open_24h"]:
        return "open_24h"
    return {"open": "open_now", "closed": "closed_now"}.get(open_status["state"], "hours_unknown")


def expected_result(rec: dict, *, user_lat: float, user_lon: float, q: dict) -> dict:
    distance_m = float(haversine_m(user_lat, user_lon, rec["lat"], rec["lon"]))
    # The open status is the one at the start of the minute asked about: the time of asking,
    # the time given, or the time of arrival at this station.
    tz = rec["timezone"] or "Asia/Shanghai"
    status_time = {"at": q["at"], "arrival": q["now"] + dt.timedelta(
        seconds=distance_m * CIRCUITY / SPEEDS_M_S[q["mode"]])}.get(q["open"], q["now"])
    if status_time.tzinfo is None:  # wall-clock time at the station
        status_time = status_time.replace(tzinfo=ZoneInfo(tz))
    status = open_status(rec["opening_hours"], status_time.replace(second=0, microsecond=0), tz, lang=q["lang"])
    lat, lon = _from_wgs84(rec["lat"], rec["lon"], q["crs"])
    amenities = {code: rec[f"amenity_{code}"] for code in AMENITY_CODES}
    out = {"station_id": rec["station_id"], "name": rec["name"],
           "position": {"lat": round(float(lat), 7), "lon": round(float(lon), 7), "crs": q["crs"]},
           "distance_m": round(distance_m, 1),
           "minutes": {mode: round(distance_m * CIRCUITY / speed / 60, 1) for mode, speed in SPEEDS_M_S.items()},
           "navigation": navigation_links(lat=rec["lat"], lon=rec["lon"], name=rec["name"], address=rec["address"],
                                          from_lat=user_lat, from_lon=user_lon, baidu_src=LINKS.baidu_src,
                                          tencent_referer=LINKS.tencent_referer)}
    if q["detail"] == "lean":
        out["station"] = {"status": rec["status"], "address": rec["address"], "amenities": amenities,
                          "map_status": expected_map_status(rec["status"], status), "open_status": status}
        return out
    out["bearing_deg"] = round(_bearing_deg(user_lat, user_lon, rec["lat"], rec["lon"]), 1)
    i = 0 if q["lang"] == "zh" else 1
    station = {k: v for k, v in rec.items() if k not in ("lat", "lon", "flags") and not k.startswith("amenity_")}
    station.update(amenities=amenities, flags=list(rec["flags"]), open_status=status, open_24h=status["open_24h"],
                   labels={"status": STATUS_LABELS[rec["status"]][i], "access": ACCESS_LABELS[rec["access"]][i],
                           "entry": ENTRY_LABELS[rec["entry"]][i]})
    out["station"] = station
    return out


def _from_wgs84(lat: float, lon: float, crs: str) -> tuple[float, float]:
    """One point through stations.geo.from_wgs84, as an array of one: with plain floats, a point
    near the Macau and Hong Kong borders raises TypeError in the mainland test (a bug of
    stations.geo: in_mainland_china(22.10, 113.55))."""
    a, b = from_wgs84(np.array([lat]), np.array([lon]), crs)
    return float(a[0]), float(b[0])


def _bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial great-circle bearing from point 1 to point 2, degrees clockwise from north."""
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(y, x)) % 360


def assert_same(got: dict, want: dict) -> None:
    """Equal, but for numbers that the index and the reference each round from their own
    float distance: those may differ by one step of 0.1 at a rounding boundary. A bearing
    to a station less than a metre away says nothing, and is not compared."""
    got, want = json.loads(orjson.dumps(got)), json.loads(orjson.dumps(want))
    assert [r["station_id"] for r in got["results"]] == [r["station_id"] for r in want["results"]]
    for g, w in zip(got["results"], want["results"]):
        if "bearing_deg" in w:
            diff = abs(g.pop("bearing_deg") - w.pop("bearing_deg"))
            assert min(diff, 360 - diff) <= 0.1 + 1e-9 or w["distance_m"] < 1, g["station_id"]
        assert abs(g.pop("distance_m") - w.pop("distance_m")) <= 0.1 + 1e-9, g["station_id"]
        g_min, w_min = g.pop("minutes"), w.pop("minutes")
        assert g_min.keys() == w_min.keys() and all(abs(g_min[m] - w_min[m]) <= 0.1 + 1e-9 for m in w_min)
    assert got == want


# ---------------------------------------------------------------------------------------------
# Random sequences of requests on one snapshot
# ---------------------------------------------------------------------------------------------

TIMES = st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 31))


@st.composite
def requests(draw, stations: list[tuple[float, float]]):
    if draw(st.booleans()):  # near one of a few stations, so that answers share stations
        lat, lon = draw(st.sampled_from(stations[:25]))
        lat, lon = lat + draw(st.floats(-0.03, 0.03)), lon + draw(st.floats(-0.03, 0.03))
    else:  # anywhere in and around China
        lat, lon = draw(st.floats(18.0, 53.5)), draw(st.floats(73.0, 135.0))
    crs = draw(st.sampled_from(OUTPUT_CRS))
    qlat, qlon = _from_wgs84(lat, lon, crs)
    open_ = draw(st.sampled_from([None, "now", "at", "arrival"]))
    at = None
    if open_ == "at":
        at = draw(TIMES)
        if draw(st.booleans()):  # an instant; naive: wall-clock time at each station
            at = at.replace(tzinfo=SHANGHAI)
    return {
        "lat": qlat, "lon": qlon, "crs": crs, "k": draw(st.integers(1, 10)),
        "amenities": draw(st.lists(st.sampled_from(["toilet", "microwave", "drinking_water", "wifi"]),
                                   max_size=2, unique=True)),
        "open": open_, "at": at, "mode": draw(st.sampled_from(MODES)),
        "max_distance_m": draw(st.one_of(st.none(), st.floats(50, 300_000))),
        "open_24h": draw(st.sampled_from([None, None, True, False])),
        "access": draw(st.one_of(st.none(), st.lists(st.sampled_from(ACCESS_VALUES), min_size=1, max_size=2,
                                                     unique=True))),
        "include_imprecise": draw(st.booleans()), "lang": draw(st.sampled_from(["zh", "en"])),
        "detail": draw(st.sampled_from(DETAILS)),
        "now": draw(TIMES).replace(tzinfo=dt.timezone.utc),
    }


def _ask(snapshot, q: dict) -> dict:
    return nearest(snapshot, travels=TRAVELS, **q)


def test_random_sequences_of_requests_match_the_reference(world):
    snapshot, frame, records = world
    # The edge cases first: the points the random requests gather around.
    stations = [(r["lat"], r["lon"]) for r in list(records.values())[:12]]
    stations += [(r["lat"], r["lon"]) for r in list(records.values())[12:40]]

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(sequence=st.lists(requests(stations), min_size=1, max_size=6))
    def check(sequence):
        for q in sequence:
            try:
                to_wgs84(q["lat"], q["lon"], q["crs"], outside="raise")
            except CoordinateError:  # GCJ-02 / BD-09 exist only in mainland China
                with pytest.raises(CoordinateError):
                    _ask(snapshot, q)
                continue
            assert_same(_ask(snapshot, q), expected_answer(records, frame, q))

    check()
    assert 0 < len(snapshot.cache[("nearest.views", LINKS)]) <= 12


@pytest.mark.parametrize("detail", DETAILS)
@pytest.mark.parametrize("crs", OUTPUT_CRS)
def test_each_edge_case_station_answers_as_the_reference(world, crs, detail):
    """Every hand-made station, asked for from its own position, in every system and detail."""
    snapshot, frame, records = world
    now = dt.datetime(2026, 11, 23, 19, 45, 30, tzinfo=SHANGHAI)
    for rec in list(records.values())[:12]:
        if crs != "wgs84" and rec["name"] in ("香港驿站", "澳门驿站"):
            continue  # no GCJ-02 / BD-09 input outside mainland China
        lat, lon = _from_wgs84(rec["lat"], rec["lon"], crs)
        q = {"lat": lat, "lon": lon, "crs": crs, "k": 3, "amenities": [], "open": None, "at": None, "mode": "walk",
             "max_distance_m": None, "open_24h": None, "access": None, "include_imprecise": True, "lang": "zh",
             "detail": detail, "now": now}
        assert_same(_ask(snapshot, q), expected_answer(records, frame, q))


def test_outside_mainland_positions_stay_as_they_are_in_gcj02(world):
    snapshot, _, records = world
    hk = next(r for r in records.values() if r["name"] == "香港驿站")
    got = nearest(snapshot, lat=hk["lat"], lon=hk["lon"], k=1, crs="wgs84", travels=TRAVELS)
    assert got["results"][0]["position"] == {"lat": hk["lat"], "lon": hk["lon"], "crs": "wgs84"}
    assert f"position={hk['lon']:.6f}%2C{hk['lat']:.6f}" in got["results"][0]["navigation"]["amap"]


def test_a_station_without_an_address_among_others_is_answered(world):
    """A missing text field read from the store is NaN in a column of strings; it was passed on
    as the address of the navigation links and the answer failed (TypeError, a 500 over HTTP)."""
    snapshot, _, records = world
    rec = next(r for r in records.values() if r["address"] is None)
    assert any(r["address"] for r in records.values())
    got = nearest(snapshot, lat=rec["lat"], lon=rec["lon"], k=1, travels=TRAVELS, include_imprecise=True)
    first = got["results"][0]
    assert first["station_id"] == rec["station_id"] and first["station"]["address"] is None
    assert f"&content={quote_plus(rec['name'])}&" in first["navigation"]["baidu"]  # the name stands in


def test_answers_do_not_share_their_parts_with_the_caches(world):
    """Changing an answer (a library caller may) does not change the next one."""
    snapshot, frame, records = world
    rec = list(records.values())[10]
    q = {"lat": rec["lat"], "lon": rec["lon"], "crs": "wgs84", "k": 2, "amenities": [], "open": "now", "at": None,
         "mode": "walk", "max_distance_m": None, "open_24h": None, "access": None, "include_imprecise": False,
         "lang": "zh", "now": dt.datetime(2026, 11, 23, 12, 0, tzinfo=SHANGHAI)}
    for detail in DETAILS:
        q["detail"] = detail
        first = _ask(snapshot, q)
        for r in first["results"]:
            r["position"]["lat"] = 0.0
            r["station"]["amenities"]["toilet"] = "changed"
            r["station"]["open_status"]["label"] = "changed"
            r["navigation"]["amap"] = "changed"
            if detail == "full":
                r["station"]["labels"]["status"] = "changed"
                r["station"]["flags"].append("changed")
        assert_same(_ask(snapshot, q), expected_answer(records, frame, q))


def test_bad_query_values_are_named(world):
    snapshot, _, _ = world
    from stations.errors import ValidationError

    with pytest.raises(ValidationError) as err:
        nearest(snapshot, lat=39.9, lon=116.4, travels=TRAVELS, detail="everything", lang="fr", mode="boat")
    assert {p.field for p in err.value.problems} == {"detail", "lang", "mode"}
    assert any(p.allowed == "lean, full" for p in err.value.problems)


# ---------------------------------------------------------------------------------------------
# Light answers
# ---------------------------------------------------------------------------------------------

# What static/js/locator.js and stations-common.js read of each result (renderCard, render;
# map_status is the colour the server decides): the lean answer carries these and nothing more.
LOCATOR_RESULT = {"station_id", "name", "position", "distance_m", "minutes", "station", "navigation"}
LOCATOR_STATION = {"status", "address", "amenities", "map_status", "open_status"}
LOCATOR_LINKS = {"amap", "baidu", "tencent", "apple", "osm", "geo"}  # the main link and "other map apps"


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory):
    from stations.geocode.offline import OfflineCountyGeocoder
    from stations.io.importer import import_file

    path = tmp_path_factory.mktemp("sample") / "stations.gpkg"
    with open_store(path) as store:
        import_file(store, ROOT / "data" / "sample_stations.xlsx", geocoder=OfflineCountyGeocoder())
    return path


def test_lean_answer_has_what_the_locator_reads_and_is_under_2_5_kb_gzipped(sample_store):
    """From every sample station's position, the default k=5 answer (gzip level 6, as served)."""
    with open_store(sample_store) as store:
        revision, frame = store.consistent_frame()
    snapshot = build_snapshot(frame, revision)
    now = dt.datetime(2026, 11, 23, 19, 45, tzinfo=SHANGHAI)
    sizes = []
    for lat, lon in zip(frame["lat"], frame["lon"]):
        answer = nearest(snapshot, lat=lat, lon=lon, travels=TRAVELS, now=now)
        assert answer["count"] == 5
        for r in answer["results"]:
            assert set(r) == LOCATOR_RESULT and set(r["station"]) == LOCATOR_STATION
            assert set(r["navigation"]) == LOCATOR_LINKS and set(r["minutes"]) >= {"walk", "ebike"}
            assert set(r["station"]["open_status"]) >= {"state", "open_24h", "label"}
        sizes.append(len(gzip.compress(orjson.dumps(answer), compresslevel=6)))
    assert max(sizes) <= 2560, max(sizes)
    full = nearest(snapshot, lat=lat, lon=lon, travels=TRAVELS, now=now, detail="full")
    assert len(orjson.dumps(full)) > len(orjson.dumps(answer)) + 5 * 600  # the full record is behind detail=full


@pytest.fixture(scope="module")
def client(sample_store):
    from stations.web import create_app

    return create_app({"store": str(sample_store)}).test_client()


def test_json_is_compressed_when_the_client_accepts_it(client):
    plain = client.get("/api/v1/nearest?lat=39.7125&lon=119.1637")
    assert "Content-Encoding" not in plain.headers and "Accept-Encoding" in plain.headers["Vary"]
    for encoding in ("gzip", "br", "zstd"):
        packed = client.get("/api/v1/nearest?lat=39.7125&lon=119.1637", headers={"Accept-Encoding": encoding})
        assert packed.headers["Content-Encoding"] == encoding and "Accept-Encoding" in packed.headers["Vary"]
        assert int(packed.headers["Content-Length"]) == len(packed.data) < len(plain.data) / 3
    body = json.loads(gzip.decompress(client.get("/api/v1/nearest?lat=39.7125&lon=119.1637",
                                                 headers={"Accept-Encoding": "gzip"}).data))
    assert [r["station_id"] for r in body["results"]] == [r["station_id"] for r in plain.get_json()["results"]]


def test_tiny_answers_are_not_compressed(client):
    resp = client.get("/api/v1/ping", headers={"Accept-Encoding": "gzip, br"})
    assert "Content-Encoding" not in resp.headers and resp.get_json() == {"ok": True}


def test_static_assets_are_compressed_and_revalidate_with_304(client):
    raw = (ROOT / "stations" / "web" / "static" / "js" / "locator.js").read_bytes()
    resp = client.get("/static/js/locator.js", headers={"Accept-Encoding": "gzip"})
    assert resp.headers["Content-Encoding"] == "gzip" and gzip.decompress(resp.data) == raw
    etag = resp.headers["ETag"]
    assert etag.endswith(':gzip"')  # another representation than the identity one: another ETag
    again = client.get("/static/js/locator.js", headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    identity = client.get("/static/js/locator.js", headers={"If-None-Match": etag})
    assert identity.status_code == 200 and identity.data == raw  # the gzip ETag does not match identity


def test_stations_etag_revalidates_with_304_when_compressed(client):
    url = "/api/v1/stations?limit=20"
    first = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert first.headers["Content-Encoding"] == "gzip"
    again = client.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304

