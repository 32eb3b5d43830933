"""Navigation links that open a station in the user's map app.

Each vendor wants its own coordinate system and its own order of latitude and longitude;
this module is the one place that knows them. Inputs are WGS-84 (``lat``, ``lon``); the
GCJ-02 conversion is applied only inside mainland China (outside it the systems agree).

=========  ==================================================================  ============
vendor     link                                                                coordinates
=========  ==================================================================  ============
amap       uri.amap.com/marker?position=LON,LAT&coordinate=gaode               GCJ-02, lon first
baidu      api.map.baidu.com/marker?location=LAT,LON&coord_type=gcj02          GCJ-02, lat first
tencent    apis.map.qq.com/uri/v1/marker?marker=coord:LAT,LON&coord_type=2     GCJ-02, lat first
apple      maps.apple.com/?daddr=LAT,LON&dirflg=w                              WGS-84, lat first
osm        openstreetmap.org/directions?route=FROM;TO (or ?mlat=&mlon=)        WGS-84, lat first
geo        geo:LAT,LON?q=LAT,LON(NAME)  (RFC 5870)                             WGS-84, lat first
=========  ==================================================================  ============
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

APP_NAME = "stations"
VENDORS = ("amap", "baidu", "tencent", "apple", "osm", "geo")


def _fmt(x: float) -> str:
    return f"{x:.6f}"


def navigation_links(*, lat: float, lon: float, name: str, address: str | None = None,
                     from_lat: float | None = None, from_lon: float | None = None) -> dict[str, str]:
    """Links for every vendor in :data:`VENDORS`, keyed by vendor.

    ``lat``/``lon`` are the station's WGS-84 position; ``from_lat``/``from_lon`` (WGS-84)
    the user's, used where a vendor takes a start point (OpenStreetMap directions).
    """
    from .coords import wgs84_to_gcj02

    glat, glon = wgs84_to_gcj02(lat=lat, lon=lon)
    glat, glon = float(glat), float(glon)
    name = name or "驿站"
    addr = address or name
    links = {
        "amap": "https://uri.amap.com/marker?" + urlencode(
            {"position": f"{_fmt(glon)},{_fmt(glat)}", "name": name, "src": APP_NAME, "coordinate": "gaode",
             "callnative": 1}),
        "baidu": "https://api.map.baidu.com/marker?" + urlencode(
            {"location": f"{_fmt(glat)},{_fmt(glon)}", "title": name, "content": addr, "coord_type": "gcj02",
             "output": "html", "src": f"webapp.{APP_NAME}"}),
        "tencent": "https://apis.map.qq.com/uri/v1/marker?" + urlencode(
            {"marker": f"coord:{_fmt(glat)},{_fmt(glon)};title:{name};addr:{addr}", "coord_type": 2,
             "referer": APP_NAME}),
        "apple": "https://maps.apple.com/?" + urlencode({"daddr": f"{_fmt(lat)},{_fmt(lon)}", "dirflg": "w",
                                                          "q": name}),
        "geo": f"geo:{_fmt(lat)},{_fmt(lon)}?q={_fmt(lat)},{_fmt(lon)}({quote(name)})",
    }
    if from_lat is not None and from_lon is not None:
        links["osm"] = osm_directions(from_lat=from_lat, from_lon=from_lon, lat=lat, lon=lon)
    else:
        links["osm"] = (f"https://www.openstreetmap.org/?mlat={_fmt(lat)}&mlon={_fmt(lon)}"
                        f"#map=17/{_fmt(lat)}/{_fmt(lon)}")
    return links


def osm_directions(*, from_lat: float, from_lon: float, lat: float, lon: float) -> str:
    """OpenStreetMap walking directions from the user to the station (WGS-84, latitude first).

    Formatted directly rather than with ``urlencode``: the nearest answer builds one per
    result on every request, and only this link depends on where the user is.
    """
    return (f"https://www.openstreetmap.org/directions?engine=fossgis_osrm_foot"
            f"&route={from_lat:.6f}%2C{from_lon:.6f}%3B{lat:.6f}%2C{lon:.6f}")
