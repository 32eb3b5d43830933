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

from urllib.parse import quote, quote_plus

APP_NAME = "stations"
VENDORS = ("amap", "baidu", "tencent", "apple", "osm", "geo")


def navigation_links(*, lat: float, lon: float, name: str, address: str | None = None,
                     from_lat: float | None = None, from_lon: float | None = None,
                     gcj_lat: float | None = None, gcj_lon: float | None = None) -> dict[str, str]:
    """Links for every vendor in :data:`VENDORS`, keyed by vendor.

    ``lat``/``lon`` are the station's WGS-84 position; ``from_lat``/``from_lon`` (WGS-84)
    the user's, used where a vendor takes a start point (OpenStreetMap directions).
    ``gcj_lat``/``gcj_lon``: the station's GCJ-02 position when the caller has it already
    (computed here otherwise).

    Query strings are encoded as :func:`urllib.parse.urlencode` does (``quote_plus`` per
    value); the name and address are encoded once and reused, since percent-encoding works
    character by character.
    """
    if gcj_lat is None or gcj_lon is None:
        from .geo import wgs84_to_gcj02

        gcj_lat, gcj_lon = wgs84_to_gcj02(lat=lat, lon=lon)
    g_lat, g_lon = f"{float(gcj_lat):.6f}", f"{float(gcj_lon):.6f}"
    w_lat, w_lon = f"{lat:.6f}", f"{lon:.6f}"
    name = name or "驿站"
    q_name = quote_plus(name)
    q_addr = quote_plus(address) if address else q_name
    links = {
        "amap": (f"https://uri.amap.com/marker?position={g_lon}%2C{g_lat}&name={q_name}&src={APP_NAME}"
                 f"&coordinate=gaode&callnative=1"),
        "baidu": (f"https://api.map.baidu.com/marker?location={g_lat}%2C{g_lon}&title={q_name}&content={q_addr}"
                  f"&coord_type=gcj02&output=html&src=webapp.{APP_NAME}"),
        "tencent": (f"https://apis.map.qq.com/uri/v1/marker?marker=coord%3A{g_lat}%2C{g_lon}%3Btitle%3A{q_name}"
                    f"%3Baddr%3A{q_addr}&coord_type=2&referer={APP_NAME}"),
        "apple": f"https://maps.apple.com/?daddr={w_lat}%2C{w_lon}&dirflg=w&q={q_name}",
        "geo": f"geo:{w_lat},{w_lon}?q={w_lat},{w_lon}({quote(name)})",
    }
    if from_lat is not None and from_lon is not None:
        links["osm"] = osm_directions(from_lat=from_lat, from_lon=from_lon, lat=lat, lon=lon)
    else:
        links["osm"] = f"https://www.openstreetmap.org/?mlat={w_lat}&mlon={w_lon}#map=17/{w_lat}/{w_lon}"
    return links


def osm_directions(*, from_lat: float, from_lon: float, lat: float, lon: float) -> str:
    """OpenStreetMap walking directions from the user to the station (WGS-84, latitude first)."""
    return osm_route(osm_point(from_lat, from_lon), osm_point(lat, lon))


def osm_point(lat: float, lon: float) -> str:
    """One end of an OpenStreetMap route, encoded (``LAT%2CLON``)."""
    return f"{lat:.6f}%2C{lon:.6f}"


def osm_route(origin: str, destination: str) -> str:
    """:func:`osm_directions` from encoded ends (:func:`osm_point`). The route ends with the
    destination, so the nearest answer formats ``osm_route(origin, "")`` once per request and
    appends each station's end."""
    return f"https://www.openstreetmap.org/directions?engine=fossgis_osrm_foot&route={origin}%3B{destination}"
