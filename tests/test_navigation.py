"""Navigation links, read back the way each vendor reads them (DOMAIN.md, "Navigation links")."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from stations.geo import wgs84_to_gcj02
from stations.config import load_settings
from stations.errors import ValidationError
from stations.navigation import LinkSettings, navigation_links

from conftest import write_csv

APPS = {"baidu_src": "webapp.acme.finder", "tencent_referer": "acme-finder"}
HEBEI = {"lat": 39.7125, "lon": 119.1637}       # Changli county: GCJ-02 is about 500 m off
HONG_KONG = {"lat": 22.2819, "lon": 114.1582}   # Central: no GCJ-02 outside mainland China
TAIPEI = {"lat": 25.0330, "lon": 121.5654}
NAMES = ["昌黎县碣阳大街驿站", "环卫驿站; 二号:东|西", "A&B 驿站 #3", "站名 100% = 好?", "（括号）(paren) + plus"]


def _query(link: str) -> dict[str, str]:
    """The query parameters as the vendor's server reads them: each given once, decoded."""
    params = parse_qs(urlsplit(link).query, keep_blank_values=True, strict_parsing=True)
    assert all(len(v) == 1 for v in params.values()), params
    return {k: v[0] for k, v in params.items()}


def _marker(value: str) -> dict[str, str]:
    """Tencent's marker value: ``coord:..;title:..;addr:..``, split as Tencent does."""
    parts = value.split(";")
    assert len(parts) == 3, value
    pairs = [p.split(":") for p in parts]
    assert all(len(p) == 2 for p in pairs), value
    return dict(pairs)


def _links(where, name="驿站", address="河北省秦皇岛市昌黎县民生路8号", **kwargs):
    return navigation_links(**where, name=name, address=address, **APPS, **kwargs)


def test_hebei_gets_gcj02_everywhere_but_osm_and_geo():
    glat, glon = wgs84_to_gcj02(**HEBEI)
    g, w = f"{glat:.6f},{glon:.6f}", f"{HEBEI['lat']:.6f},{HEBEI['lon']:.6f}"
    links = _links(HEBEI)
    amap, baidu, tencent, apple = (_query(links[v]) for v in ("amap", "baidu", "tencent", "apple"))
    assert amap["position"] == f"{glon:.6f},{glat:.6f}" and amap["coordinate"] == "gaode"  # longitude first
    assert baidu["location"] == g and baidu["coord_type"] == "gcj02"
    assert _marker(tencent["marker"])["coord"] == g and tencent["coord_type"] == "2"
    assert apple["daddr"] == g  # Apple's map data in mainland China is AutoNavi's: GCJ-02
    assert links["geo"].startswith(f"geo:{w}?")
    assert _query(links["osm"])["mlat"] == f"{HEBEI['lat']:.6f}"


@pytest.mark.parametrize("where", [HONG_KONG, TAIPEI], ids=["hong_kong", "taipei"])
def test_outside_mainland_china_every_link_is_wgs84_and_says_so(where):
    w = f"{where['lat']:.6f},{where['lon']:.6f}"
    links = _links(where)
    amap, baidu, tencent, apple = (_query(links[v]) for v in ("amap", "baidu", "tencent", "apple"))
    assert amap["position"] == f"{where['lon']:.6f},{where['lat']:.6f}" and amap["coordinate"] == "wgs84"
    assert baidu["location"] == w and baidu["coord_type"] == "wgs84"
    assert _marker(tencent["marker"])["coord"] == w and tencent["coord_type"] == "1"
    assert apple["daddr"] == w
    assert links["geo"].startswith(f"geo:{w}?")


def test_each_vendor_gets_its_required_parameters():
    links = _links(HEBEI, name="碣阳驿站", address="民生路8号")
    amap = _query(links["amap"])
    assert urlsplit(links["amap"]).netloc == "uri.amap.com" and urlsplit(links["amap"]).path == "/marker"
    assert {"position", "name", "src", "coordinate", "callnative"} <= set(amap) and amap["name"] == "碣阳驿站"
    baidu = _query(links["baidu"])
    assert urlsplit(links["baidu"]).netloc == "api.map.baidu.com" and urlsplit(links["baidu"]).path == "/marker"
    assert (baidu["title"], baidu["content"], baidu["output"], baidu["src"]) == \
        ("碣阳驿站", "民生路8号", "html", "webapp.acme.finder")
    tencent = _query(links["tencent"])
    assert urlsplit(links["tencent"]).path == "/uri/v1/marker" and tencent["referer"] == "acme-finder"
    marker = _marker(tencent["marker"])
    assert (marker["title"], marker["addr"]) == ("碣阳驿站", "民生路8号")
    apple = _query(links["apple"])
    assert set(apple) == {"daddr", "dirflg"} and apple["dirflg"] == "w"  # no q= beside daddr=


def test_without_an_address_the_name_stands_in_where_one_is_required():
    links = _links(HEBEI, name="碣阳驿站", address=None)
    assert _query(links["baidu"])["content"] == "碣阳驿站"
    assert _marker(_query(links["tencent"])["marker"])["addr"] == "碣阳驿站"


@pytest.mark.parametrize("name", NAMES)
def test_any_name_reads_back_as_it_was(name):
    address = name + " 路1号"
    links = _links(HEBEI, name=name, address=address)
    assert _query(links["amap"])["name"] == name
    baidu = _query(links["baidu"])
    assert (baidu["title"], baidu["content"]) == (name, address)
    # Tencent's marker value cannot escape ";", ":" or "|": they become their full-width forms.
    marker = _marker(_query(links["tencent"])["marker"])
    full_width = str.maketrans({";": "；", ":": "：", "|": "｜"})
    assert (marker["title"], marker["addr"]) == (name.translate(full_width), address.translate(full_width))
    # geo: the label in brackets after the point (an Android convention); one query parameter.
    geo = links["geo"]
    assert geo.count("?") == 1 and "#" not in geo and "&" not in geo
    assert unquote(geo.split("(", 1)[1][:-1]) == name
    for link in links.values():
        assert " " not in link and "#" not in link.replace("#map=", "")


def test_osm_directions_from_the_user():
    links = _links(HEBEI, from_lat=39.70, from_lon=119.15)
    q = _query(links["osm"])
    assert q["route"] == f"39.700000,119.150000;{HEBEI['lat']:.6f},{HEBEI['lon']:.6f}"
    assert q["engine"] == "fossgis_osrm_foot"


def test_link_settings_are_checked_once_with_what_is_allowed():
    assert LinkSettings.from_settings(load_settings({"baidu_src": "webapp.acme.finder", "tencent_referer": "acme"},
                                                      environ={})) == \
        LinkSettings(baidu_src="webapp.acme.finder", tencent_referer="acme")
    for bad in ("stations", "webapp.stations", "webapp..x", "webapp.a.b c", "web.a.b"):
        with pytest.raises(ValidationError) as info:
            LinkSettings(baidu_src=bad, tencent_referer="acme")
        [p] = info.value.problems
        assert (p.field, p.value) == ("baidu_src", bad) and "webapp." in p.allowed
    with pytest.raises(ValidationError, match="tencent_referer"):
        LinkSettings(baidu_src="webapp.acme.finder", tencent_referer=" ")


def test_the_builder_reads_no_settings():
    with pytest.raises(TypeError):
        navigation_links(**HEBEI, name="驿站")  # baidu_src and tencent_referer come from the caller


def test_the_service_sends_the_configured_names(tmp_path):
    from stations.io.importer import import_file
    from stations.store import open_store
    from stations.web import create_app

    path = tmp_path / "s.gpkg"
    with open_store(path) as store:
        import_file(store, write_csv(tmp_path / "s.csv", ["站点编号", "站点名称", "经度", "纬度"],
                                     [["A1", "碣阳驿站", HEBEI["lon"], HEBEI["lat"]]]))
    client = create_app({"store": str(path), **APPS}).test_client()
    nearest = client.get(f"/api/v1/nearest?lat={HEBEI['lat']}&lon={HEBEI['lon']}&k=1").get_json()
    one = client.get("/api/v1/stations/A1").get_json()
    for nav in (nearest["results"][0]["navigation"], one["properties"]["navigation"]):
        assert _query(nav["baidu"])["src"] == "webapp.acme.finder"
        assert _query(nav["tencent"])["referer"] == "acme-finder"
    default = create_app({"store": str(path)}).test_client().get("/api/v1/stations/A1").get_json()
    assert _query(default["properties"]["navigation"]["baidu"])["src"] == "webapp.stations.locator"


def test_a_map_file_carries_the_configured_names(store, tmp_path):
    from stations.io.importer import import_file
    from stations.mapping import embed_data

    import_file(store, write_csv(tmp_path / "s.csv", ["站点编号", "站点名称", "经度", "纬度"],
                                 [["A1", "碣阳驿站", HEBEI["lon"], HEBEI["lat"]]]))
    data = embed_data(store.frame(), links=LinkSettings(**APPS))
    nav = data["details"]["A1"]["navigation"]
    assert _query(nav["tencent"])["referer"] == "acme-finder"


@pytest.mark.parametrize("where", [HEBEI, HONG_KONG], ids=["hebei", "hong_kong"])
def test_a_gcj02_position_from_the_caller_gives_the_same_links(where):
    glat, glon = wgs84_to_gcj02(**where)
    assert _links(where, gcj_lat=glat, gcj_lon=glon) == _links(where)


def test_the_shift_moves_exactly_the_points_of_the_mainland_gate():
    """navigation_links tells mainland points by their GCJ-02 shift: pin that it is the gate."""
    import numpy as np

    from stations.geo import in_mainland_china

    rng = np.random.default_rng(5)
    lat, lon = rng.uniform(15, 56, 5000), rng.uniform(70, 140, 5000)
    glat, glon = wgs84_to_gcj02(lat=lat, lon=lon)
    inside = in_mainland_china(lat, lon)
    assert 500 < inside.sum() < 4500
    assert (((glat != lat) | (glon != lon)) == inside).all()
