"""The map builder, server-side clusters, basemaps, outlines and the map API (no browser)."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from stations.amenities import AMENITIES
from stations.errors import ValidationError
from stations.io.importer import import_file
from stations.accounts.overlay import CurationOverlay
from stations.mapping import (EMBED_MAX, MapIndex, build_map, embed_data, grid_clusters, map_status_codes,
                              resolve_tiles)
from stations.mapping import assets as A
from stations.mapping.clusters import mercator_px
from stations.mapping.outlines import (CELL_DEG, county_outlines, decode_polyline, encode_polyline,
                                       province_outlines)
from stations.mapping.status import STATUS_CODES
from stations.records import empty_record
from stations.service import build_snapshot
from stations.store import open_store
from stations.web import create_app

from conftest import ROOT, write_csv

SHANGHAI = ZoneInfo("Asia/Shanghai")
XSS = "<img src=x onerror=alert(1)>"
HEADER = ["站点编号", "站点名称", "经度", "纬度", "开放时间", "设施/服务", "服务对象", "状态", "状态原因"]
EXTRA = [["XSS-1", XSS, 119.17, 39.72, "24/7", "微波炉、厕所", "所有人", "正常", ""],
         ["TMP-1", "暂停的驿站", 119.18, 39.73, "24/7", "", "所有人", "暂停开放", "装修"]]


def _frame(rows: list[dict]) -> pd.DataFrame:
    recs = []
    for i, row in enumerate(rows):
        rec = empty_record()
        rec.update(station_id=f"S{i}", name=f"站{i}", lat=39.7, lon=119.2, geocode_precision="exact")
        rec.update(row)
        recs.append(rec)
    return pd.DataFrame(recs)


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("map") / "sample.gpkg"
    with open_store(path) as store:
        from stations.geocode.offline import OfflineCountyGeocoder

        # five rows give only an address: placed at their county's centre, flagged approximate
        import_file(store, ROOT / "data" / "sample_stations.xlsx", geocoder=OfflineCountyGeocoder())
        import_file(store, write_csv(path.parent / "extra.csv", HEADER, EXTRA))
    return path


@pytest.fixture(scope="module")
def sample_frame(sample_store):
    with open_store(sample_store) as store:
        return store.frame()


@pytest.fixture(scope="module")
def client(sample_store):
    return create_app({"store": str(sample_store)}).test_client()


# ---------------------------------------------------------------- assets: nothing from a CDN

def _asset_refs(html: str) -> list[str]:
    return re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)


@pytest.mark.parametrize("mode", ["inline", "url"])
def test_rendered_maps_load_no_script_or_stylesheet_from_another_host(sample_frame, mode):
    for source in ("embed", "api"):
        m = build_map(sample_frame if source == "embed" else None, source=source, assets=mode)
        html = m.get_root().render()
        refs = _asset_refs(html)
        assert refs, "the page loads its scripts somehow"
        assert not [r for r in refs if r.startswith(("http:", "https:", "//"))]
        if mode == "inline":
            assert all(r.startswith("data:") for r in refs)
        else:
            assert all(r.startswith("/static/") for r in refs)
        assert "jquery" not in html.lower() and "bootstrap" not in html.lower()


def test_an_asset_with_no_local_copy_raises_instead_of_using_a_cdn(sample_frame):
    import folium.plugins

    m = build_map(sample_frame)
    folium.plugins.Search(folium.GeoJson({"type": "FeatureCollection", "features": []}).add_to(m)).add_to(m)
    with pytest.raises(A.AssetError, match="leaflet-search|Leaflet.Search|no local copy"):
        m.get_root().render()


def test_a_folium_icon_added_by_a_caller_gets_local_awesome_markers(sample_frame):
    import folium

    m = build_map(sample_frame, assets="url")
    folium.Marker([39.7, 119.2], icon=folium.Icon(icon="info-sign")).add_to(m)
    refs = _asset_refs(m.get_root().render())
    assert A.default_assets().url("vendor/awesome-markers/leaflet.awesome-markers.js") in refs
    assert not [r for r in refs if not r.startswith("/static/")]


def test_vendored_files_and_the_icon_sprite_are_in_place():
    for _, _, dest in A.VENDOR_FILES:
        assert (A.VENDOR_DIR / dest).is_file(), dest
    sprite = (A.VENDOR_DIR / A.SPRITE).read_text(encoding="utf-8")
    for amenity in AMENITIES:
        assert f'id="i-{amenity.icon}"' in sprite, amenity.code
    for name in A.UI_ICONS:
        assert f'id="i-{name}"' in sprite


def test_station_text_is_json_data_in_the_page_never_markup(sample_frame):
    html = build_map(sample_frame).get_root().render()
    assert XSS not in html
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in html
    # and the page's own JavaScript builds popups with the escaping helper
    js = (A.STATIC_DIR / "js" / "stations-common.js").read_text(encoding="utf-8")
    assert "esc(p.name)" in js


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def test_embedded_popups_say_when_checked_and_the_unconfirmed_reports(tmp_path):
    """`stations map` puts what /api/v1/stations/<id> says of checks and reports into each
    popup; a name and a report's text from outside stay data (the text is not shown at all)."""
    from click.testing import CliRunner

    from stations.cli import main
    from stations.store import Change

    path, now = tmp_path / "s.gpkg", dt.datetime.now(dt.timezone.utc)
    with open_store(path) as store:
        recs = []
        for sid, name, verified in (("XSS-1", XSS, None), ("OK-1", "检查过的驿站", "2025-01-01")):
            rec = empty_record()
            rec.update(station_id=sid, name=name, lat=39.7, lon=119.2, geocode_precision="exact",
                       last_verified=verified)
            recs.append(Change("add", rec))
        store.apply(recs, command="seed")
        with store.transaction() as db:
            db.execute("INSERT INTO station_reports (station_id, kind, text, created_at) VALUES (?, ?, ?, ?)",
                       ("XSS-1", "closed", "<script>alert(2)</script>", _iso(now - dt.timedelta(hours=1))))
            for group in ("position", "hours", "amenities"):  # access is left at last_verified: stale
                db.execute("INSERT INTO station_checks (station_id, field_group, checked_at, checked_by, via, "
                           "batch_id) VALUES (?, ?, ?, ?, ?, 1)",
                           ("OK-1", group, _iso(now - dt.timedelta(days=3, hours=1)), "ed", "visit"))
    out = tmp_path / "map.html"
    res = CliRunner().invoke(main, ["--store", str(path), "map", "--out", str(out)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    assert XSS not in html and "<script>alert(2)" not in html and "alert(2)" not in html
    config = json.loads(re.search(r'<script type="application/json" id="[^"]+_config">(.*?)</script>', html,
                                  re.S).group(1))
    details = config["data"]["details"]
    never, checked = details["XSS-1"]["checked"], details["OK-1"]["checked"]
    assert (never["label_en"], never["label_zh"], never["stale"]) == ("never checked", "从未核实", True)
    assert never["warning_en"] == ("position, hours, amenities, access: not checked in 180 days or never; "
                                   "may be out of date")
    assert details["XSS-1"]["reports"]["label_en"] == "1 report: closed (today), unconfirmed"
    assert details["XSS-1"]["reports"]["label_zh"] == "1条报告：关闭或锁门（今天），未核实"
    assert (checked["label_en"], checked["label_zh"], checked["stale"]) == ("checked 3 days ago", "3天前核实", True)
    assert checked["warning_en"].startswith("access: not checked in 180 days")  # 2025-01-01 is over 180 days ago
    assert details["OK-1"]["reports"] is None
    # without the overlay (a library caller that has none) the popups say neither
    plain = embed_data(_frame([{}]))["details"]["S0"]
    assert "checked" not in plain and "reports" not in plain
    with pytest.raises(ValidationError, match="check_stale_days"):
        build_map(_frame([{}]), curation=CurationOverlay())


def test_embedding_too_many_stations_is_refused_with_the_fix():
    frame = _frame([{"station_id": f"S{i}"} for i in range(EMBED_MAX + 1)])
    with pytest.raises(ValidationError, match=r"too many stations.*stations serve"):
        build_map(frame)


# ---------------------------------------------------------------- tiles

@pytest.mark.parametrize("tiles, tiles_crs, crs", [
    ("none", None, "wgs84"), ("osm", None, "wgs84"), ("OSM", "wgs84", "wgs84"), ("amap", None, "gcj02"),
    ("tencent", "gcj02", "gcj02"), ("https://t.example/{z}/{x}/{y}.png", None, "wgs84"),
    ("https://t.example/{z}/{x}/{-y}.png", "gcj02", "gcj02"), ("/tiles/{z}/{x}/{y}.png", "wgs84", "wgs84"),
])
def test_tile_sources_know_their_coordinate_system(tiles, tiles_crs, crs):
    assert resolve_tiles(tiles, tiles_crs).crs == crs


@pytest.mark.parametrize("tiles, tiles_crs, message", [
    ("google", None, "not a preset or a tile URL template"),
    ("https://t.example/tiles.png", None, "not a preset"),
    ("amap", "wgs84", "amap tiles are gcj02"),
    ("osm", "bd09", "unknown tile coordinate system"),
])
def test_bad_tile_settings_name_the_value_and_the_choices(tiles, tiles_crs, message):
    with pytest.raises(ValidationError, match=message):
        resolve_tiles(tiles, tiles_crs)


def test_an_amap_map_draws_stations_in_gcj02(sample_frame):
    from stations.geo import wgs84_to_gcj02

    m = build_map(sample_frame, tiles="amap")
    html = m.get_root().render()
    cfg = json.loads(re.search(r'id="[^"]*_config">(.*?)</script>', html, re.S).group(1))
    assert cfg["crs"] == "gcj02"
    rec = sample_frame.set_index("station_id").loc["CL-011"]
    row = next(r for r in cfg["data"]["stations"] if r[0] == "CL-011")
    glat, glon = wgs84_to_gcj02(lat=rec["lat"], lon=rec["lon"])
    assert (row[1], row[2]) == pytest.approx((glat, glon), abs=1e-6)
    assert abs(row[1] - rec["lat"]) + abs(row[2] - rec["lon"]) > 0.002  # a ~500 m shift was applied


# ---------------------------------------------------------------- statuses

def test_map_status_of_each_kind_at_a_fixed_time():
    frame = _frame([
        {"opening_hours": "24/7"},
        {"opening_hours": "Mo-Su 08:00-18:00"},
        {"opening_hours": "Mo-Su 20:00-23:00"},
        {"opening_hours": None},
        {"opening_hours": "24/7", "status": "temporarily_closed", "status_reason": "装修"},
        {"opening_hours": "24/7", "status": "removed", "status_reason": "拆除"},
    ])
    noon = dt.datetime(2026, 11, 23, 12, 0, tzinfo=SHANGHAI)  # a Monday
    codes = map_status_codes(frame, noon)
    assert [STATUS_CODES[c] if c >= 0 else "removed" for c in codes] == [
        "open_24h", "open_now", "closed_now", "hours_unknown", "temporarily_closed", "removed"]


# ---------------------------------------------------------------- clusters

def test_grid_clusters_by_hand_at_zoom_0():
    # At zoom 0 the world is 256 px: 64 px cells are 90 degrees of longitude wide
    # ([-180, -90), [-90, 0), ...) and split latitude at the equator and at about 66.5 N/S.
    lat = np.array([10.0, 20.0, 15.0, 10.0, -60.0])
    lon = np.array([-170.0, -80.0, -10.0, 10.0, 10.0])
    status = np.array([0, 1, 1, 2, 4])
    c = grid_clusters(lat, lon, status, 0)
    assert sorted(c.count.tolist()) == [1, 1, 1, 2]
    two = int(np.argmax(c.count))
    assert (c.lat[two], c.lon[two]) == pytest.approx((17.5, -45.0))
    assert c.by_status[two].tolist() == [0, 2, 0, 0, 0]
    assert (c.min_lon[two], c.max_lon[two]) == (-80.0, -10.0)


def test_grid_clusters_match_a_brute_force_count():
    rng = np.random.default_rng(1)
    lat, lon = rng.uniform(18, 50, 5000), rng.uniform(75, 130, 5000)
    status = rng.integers(0, 5, 5000)
    for zoom in (3, 6, 9):
        c = grid_clusters(lat, lon, status, zoom)
        x, y = mercator_px(lat, lon)
        cells = {}
        for xi, yi in zip(np.floor(x * 2 ** zoom / 64).astype(int), np.floor(y * 2 ** zoom / 64).astype(int)):
            cells[(xi, yi)] = cells.get((xi, yi), 0) + 1
        assert sorted(c.count.tolist()) == sorted(cells.values())
        assert c.count.sum() == 5000 and c.by_status.sum() == 5000


def test_view_counts_every_drawn_station_once(sample_frame):
    index = MapIndex(build_snapshot(sample_frame))
    drawn = int((sample_frame["status"].isin(["open", "temporarily_closed"]) & sample_frame["lat"].notna()).sum())
    assert drawn == 26
    china = (73, 18, 135, 54)
    for zoom in (4, 8, 12):
        v = index.view(bbox=china, zoom=zoom)
        assert sum(c[2] for c in v["clusters"]) + len(v["stations"]) == drawn == v["matched"]
    v = index.view(bbox=(119.0, 39.5, 119.4, 39.8), zoom=17)
    assert not v["clusters"] and {s[0] for s in v["stations"]} >= {"CL-011", "XSS-1"}
    approximate = {s[0] for s in v["stations"] if s[5]}
    assert approximate == {"CL-003", "CL-008", "CL-014"}  # placed at the county centre


def test_view_filters_by_status_and_amenity(sample_frame):
    index = MapIndex(build_snapshot(sample_frame))
    when = dt.datetime(2026, 11, 23, 12, 0, tzinfo=SHANGHAI)
    v = index.view(bbox=(73, 18, 135, 54), zoom=18, statuses=["temporarily_closed"], when=when)
    assert [s[0] for s in v["stations"]] == ["TMP-1"]
    v = index.view(bbox=(73, 18, 135, 54), zoom=18, amenities=["toilet", "microwave"], when=when)
    want = sample_frame[(sample_frame["amenity_toilet"] == "yes") & (sample_frame["amenity_microwave"] == "yes")
                        & sample_frame["status"].isin(["open", "temporarily_closed"])]["station_id"]
    assert sorted(s[0] for s in v["stations"]) == sorted(want)


def test_view_in_gcj02_returns_shifted_positions(sample_frame):
    from stations.geo import wgs84_to_gcj02

    index = MapIndex(build_snapshot(sample_frame))
    rec = sample_frame.set_index("station_id").loc["CL-011"]
    glat, glon = wgs84_to_gcj02(lat=rec["lat"], lon=rec["lon"])
    box = (glon - 0.001, glat - 0.001, glon + 0.001, glat + 0.001)
    v = index.view(bbox=box, zoom=18, crs="gcj02")
    row = next(s for s in v["stations"] if s[0] == "CL-011")
    assert (row[1], row[2]) == pytest.approx((glat, glon), abs=1e-6)


def test_search_ranks_names_that_start_with_the_text_first(sample_frame):
    index = MapIndex(build_snapshot(sample_frame))
    hits = index.search("蔚县", limit=3)
    assert hits and all(h["name"].startswith("蔚县") for h in hits)
    assert index.search("YX-003")[0]["station_id"] == "YX-003"
    assert index.search("   ") == []


# ---------------------------------------------------------------- outlines

def test_polyline_round_trip():
    lat, lon = [39.7, 39.712, -33.9, 0.0], [119.2, 119.19, 151.2, -0.001]
    back = decode_polyline(encode_polyline(lat, lon))
    assert np.allclose(back, list(zip(lat, lon)), atol=1e-9)


def test_outlines_cover_the_provinces_and_clip_counties_to_their_cell():
    prov = province_outlines()
    codes = {a["adcode"] for a in prov["areas"]}
    assert {"11", "13", "65", "46"} <= codes and len(codes) >= 31
    cell = county_outlines(59, 19)  # 118-120 E, 38-40 N: Changli is in it
    assert any(a["name"] == "昌黎县" for a in cell["areas"])
    for area in cell["areas"]:
        for line in area["lines"]:
            for lat, lon in decode_polyline(line):
                assert 118 - 1e-3 <= lon <= 118 + CELL_DEG + 1e-3 and 38 - 1e-3 <= lat <= 38 + CELL_DEG + 1e-3


# ---------------------------------------------------------------- API and pages

def test_clusters_api_answers_and_names_bad_parameters(client):
    body = client.get("/api/v1/clusters?bbox=73,18,135,54&zoom=4").get_json()
    assert body["cluster_fields"][:3] == ["lat", "lon", "count"] and body["matched"] == 26
    bad = client.get("/api/v1/clusters?bbox=1,2&zoom=99&status=open&amenities=sauna")
    assert bad.status_code == 400
    problems = {p["parameter"] for p in bad.get_json()["errors"]}
    assert problems == {"bbox", "zoom", "status", "amenities"}
    none = client.get("/api/v1/clusters?bbox=73,18,135,54&zoom=4&status=none").get_json()
    assert none["matched"] == 0


def test_clusters_api_etag(client):
    first = client.get("/api/v1/clusters?bbox=73,18,135,54&zoom=5")
    again = client.get("/api/v1/clusters?bbox=73,18,135,54&zoom=5", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code in (200, 304)  # 200 only when the minute changed in between


def test_search_places_outlines_and_transform_endpoints(client):
    assert client.get("/api/v1/search?q=YX-001").get_json()["results"][0]["station_id"] == "YX-001"
    places = client.get("/api/v1/places?q=昌黎县").get_json()
    assert places["areas"][0]["precision"] == "county" and "昌黎县" in places["areas"][0]["name"]
    assert client.get("/api/v1/outlines/province").headers["Cache-Control"].startswith("public")
    assert client.get("/api/v1/outlines/county?x=59&y=19").get_json()["areas"]
    bad = client.get("/api/v1/outlines/county?x=500&y=19")
    assert bad.status_code == 400 and bad.get_json()["errors"][0]["parameter"] == "x"
    t = client.get("/api/v1/transform?lat=39.7&lon=119.2&from=wgs84&to=gcj02").get_json()
    from stations.geo import wgs84_to_gcj02

    assert (t["lat"], t["lon"]) == pytest.approx(wgs84_to_gcj02(lat=39.7, lon=119.2), abs=1e-7)


def test_pages_use_only_local_versioned_assets_kept_for_a_year(client):
    for path in ("/", "/?lang=en", "/map", "/map?lang=en", "/docs"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        refs = _asset_refs(resp.get_data(as_text=True))
        assert refs and all(re.fullmatch(r"/static/[^?]+\?v=[0-9a-f]{12}", r) for r in refs), (path, refs)
        for ref in refs:
            got = client.get(ref)
            assert got.status_code == 200, ref
            assert got.headers["Cache-Control"] == "public, max-age=31536000, immutable", ref
    # the same file without its version, or with an old one, is revalidated at every use
    bare = refs[0].split("?")[0]
    assert client.get(bare).headers["Cache-Control"] == "no-cache"
    assert client.get(bare + "?v=000000000000").headers["Cache-Control"] == "no-cache"
    sw = client.get("/sw.js")
    assert sw.headers["Service-Worker-Allowed"] == "/" and sw.headers["Cache-Control"] == "no-cache"
    assert sw.mimetype == "text/javascript"


def test_an_asset_version_is_the_sha256_of_its_bytes(tmp_path):
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "a.js").write_bytes(b"abc")
    static = A.StaticAssets(tmp_path)
    # SHA-256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 b00361a3 96177a9c b410ff61 f20015ad (FIPS 180-2)
    assert static.url("js/a.js") == "/static/js/a.js?v=ba7816bf8f01"
    with pytest.raises(A.AssetError, match="'js/b.js'"):
        static.url("js/b.js")


def _served_assets(store) -> tuple[dict[str, str], str]:
    """The locator's asset URLs (by path) and the service worker, from a freshly started app."""
    client = create_app({"store": str(store)}).test_client()
    refs = _asset_refs(client.get("/").get_data(as_text=True))
    return {r.split("?")[0]: r for r in refs}, client.get("/sw.js").get_data(as_text=True)


def test_a_changed_asset_gets_a_new_url_and_a_new_service_worker_cache(sample_store, tmp_path, monkeypatch):
    static = tmp_path / "static"
    shutil.copytree(A.STATIC_DIR, static)
    monkeypatch.setattr(A, "STATIC_DIR", static)
    before, sw_before = _served_assets(sample_store)
    script = static / "js" / "locator.js"
    script.write_bytes(script.read_bytes() + b"\n// the next deploy\n")
    after, sw_after = _served_assets(sample_store)
    assert after["/static/js/locator.js"] != before["/static/js/locator.js"]
    assert after["/static/vendor/leaflet/leaflet.js"] == before["/static/vendor/leaflet/leaflet.js"]  # unchanged
    cache = re.compile(r"var CACHE = \"(stations-[0-9a-f]{12})\"")
    assert cache.search(sw_before)[1] != cache.search(sw_after)[1]
    # the worker keeps exactly what the page loads, under the new URLs
    assert set(json.loads(re.search(r"var SHELL = (\[.*?\]);", sw_after)[1])) == {"/", *after.values()}


def test_coverage_gaps_come_in_the_map_system_asked_for(client):
    from stations.geo import haversine_m, wgs84_to_gcj02

    query = {"area": "130726", "cell_m": 500}  # 蔚县, whose 9 sample stations leave gaps
    wgs = client.get("/api/v1/coverage", query_string=query).get_json()
    gcj = client.get("/api/v1/coverage", query_string={**query, "crs": "gcj02"}).get_json()
    assert (wgs["crs"], gcj["crs"]) == ("wgs84", "gcj02")
    assert wgs["gaps"]["features"] and len(gcj["gaps"]["features"]) == len(wgs["gaps"]["features"])
    for w, g in zip(wgs["gaps"]["features"], gcj["gaps"]["features"]):
        assert g["properties"]["gap_id"] == w["properties"]["gap_id"]
        ring_w, ring_g = w["geometry"]["coordinates"][0], g["geometry"]["coordinates"][0]
        if w["geometry"]["type"] == "MultiPolygon":
            ring_w, ring_g = ring_w[0], ring_g[0]
        for (lon, lat), got in zip(ring_w, ring_g):
            glat, glon = wgs84_to_gcj02(lat=lat, lon=lon)
            assert got == pytest.approx([glon, glat], abs=1e-9)
        p = g["properties"]  # the gap's label point moves with it
        assert (p["lat"], p["lon"]) == pytest.approx(wgs84_to_gcj02(lat=w["properties"]["lat"],
                                                                   lon=w["properties"]["lon"]), abs=1e-9)
        # in Hebei the GCJ-02 shift is some 500 m (DOMAIN.md)
        assert 300 < haversine_m(w["properties"]["lat"], w["properties"]["lon"], p["lat"], p["lon"]) < 800
    assert gcj["perc_area_covered"] == wgs["perc_area_covered"]  # the same study, drawn elsewhere
    bad = client.get("/api/v1/coverage", query_string={**query, "crs": "epsg3857"})
    assert bad.status_code == 400
    assert [(e["parameter"], e["value"]) for e in bad.get_json()["errors"]] == [("crs", "epsg3857")]
