"""Navigation links that open a station in the user's map app.

Each vendor wants its own coordinate system and its own order of latitude and longitude;
this module is the one place that knows them (checked against the vendors' documentation,
DOMAIN.md "Navigation links"). Inputs are WGS-84 (``lat``, ``lon``).

Inside mainland China (:func:`stations.geo.in_mainland_china`) the Chinese vendors and
Apple get GCJ-02: Apple has no coordinate-system parameter, and its map data there is
AutoNavi's, where a WGS-84 point lands about 500 m off. Outside it every link carries
WGS-84, and Amap, Baidu and Tencent are told so with their documented parameter, so that
near Hong Kong, Macau or Kinmen each vendor applies its own (undocumented) gate.

=========  ====================================================================  ======================
vendor     link                                                                  coordinates
=========  ====================================================================  ======================
amap       uri.amap.com/marker?position=LON,LAT&name=&src=&coordinate=gaode      GCJ-02 (wgs84 outside)
baidu      api.map.baidu.com/marker?location=LAT,LON&title=&content=&output=html  GCJ-02 (wgs84 outside)
           &coord_type=gcj02&src=webapp.ORG.APP
tencent    apis.map.qq.com/uri/v1/marker?marker=coord:LAT,LON;title:;addr:       GCJ-02 (1 = GPS outside)
           &coord_type=2&referer=APP
apple      maps.apple.com/?daddr=LAT,LON&dirflg=w                                GCJ-02 in the mainland,
                                                                                 else WGS-84
osm        openstreetmap.org/directions?route=FROM;TO (or ?mlat=&mlon=)          WGS-84, lat first
geo        geo:LAT,LON?q=LAT,LON(NAME)  (RFC 5870; the label is Android's)       WGS-84, lat first
=========  ====================================================================  ======================

Tencent's marker value has no escaping: a ``;``, ``:`` or ``|`` inside a name or an address
would end the title early or start a new marker, so they are replaced by their full-width
forms ``；``, ``：``, ``｜`` (which read the same to a person). Baidu requires ``src`` of the form
``webapp.<organisation>.<app>`` and Tencent a ``referer``: both come from the settings
``baidu_src`` and ``tencent_referer`` (:class:`LinkSettings`), handed in by the caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

from .config import Settings
from .geo import wgs84_to_gcj02
from .errors import Problem, ValidationError

APP_NAME = "stations"
VENDORS = ("amap", "baidu", "tencent", "apple", "osm", "geo")
_BAIDU_SRC = re.compile(r"webapp\.[A-Za-z0-9_-]+\.[A-Za-z0-9_.-]*[A-Za-z0-9_-]")
_TENCENT_MARKER = str.maketrans({";": "；", ":": "：", "|": "｜"})


@dataclass(frozen=True)
class LinkSettings:
    """How this service names itself to the map vendors (settings ``baidu_src`` and
    ``tencent_referer``), checked once when made.

    Raises
    ------
    ValidationError
        ``baidu_src`` not of the form ``webapp.<organisation>.<app>`` (letters, digits, ``_``,
        ``-``), or an empty ``tencent_referer``.
    """

    baidu_src: str
    tencent_referer: str

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.baidu_src, str) or not _BAIDU_SRC.fullmatch(self.baidu_src):
            problems.append(Problem("baidu_src", self.baidu_src, "not of the form Baidu requires",
                                    "webapp.<organisation>.<app>, e.g. webapp.stations.locator"))
        if not isinstance(self.tencent_referer, str) or not self.tencent_referer.strip():
            problems.append(Problem("tencent_referer", self.tencent_referer, "is empty",
                                    "the app's name (or, for the qqmap:// app scheme, a Tencent developer key)"))
        if problems:
            raise ValidationError.from_problems(problems, what="setting")

    @classmethod
    def from_settings(cls, settings: Settings) -> "LinkSettings":
        return cls(baidu_src=settings.baidu_src, tencent_referer=settings.tencent_referer)

    @classmethod
    def defaults(cls) -> "LinkSettings":
        """The settings' documented defaults (:data:`stations.config.SETTINGS`), for callers
        that have no settings at hand."""
        return cls.from_settings(Settings())


def navigation_links(*, lat: float, lon: float, name: str, address: str | None = None,
                     from_lat: float | None = None, from_lon: float | None = None,
                     gcj_lat: float | None = None, gcj_lon: float | None = None,
                     baidu_src: str, tencent_referer: str) -> dict[str, str]:
    """Links for every vendor in :data:`VENDORS`, keyed by vendor.

    Parameters
    ----------
    lat, lon
        The station's WGS-84 position.
    name, address
        Shown by the vendor; an empty name becomes ``驿站``, a missing address is replaced by
        the name where a vendor requires one (Baidu's ``content``, Tencent's ``addr``).
    from_lat, from_lon
        The user's WGS-84 position, for the vendors that take a start (OpenStreetMap).
    gcj_lat, gcj_lon
        The station's position as :func:`stations.geo.wgs84_to_gcj02` gives it (GCJ-02 inside
        mainland China, the WGS-84 position unchanged outside), when the caller has it
        already; computed otherwise. Whether it differs from ``lat``/``lon`` decides which
        system the links carry.
    baidu_src, tencent_referer
        The settings of the same names (see :class:`LinkSettings`); no defaults here.

    Query values are encoded as :func:`urllib.parse.urlencode` does (``quote_plus`` per
    value); the name and address are encoded once and reused.
    """
    if gcj_lat is None or gcj_lon is None:
        gcj_lat, gcj_lon = wgs84_to_gcj02(lat=lat, lon=lon)
    # wgs84_to_gcj02 shifts exactly the points that in_mainland_china admits (by 18 to 700 m
    # over 200,000 random points of the region, checked) and returns the others unchanged; a
    # second test of the gate would add a quarter to the cost of a link set.
    mainland = (float(gcj_lat), float(gcj_lon)) != (float(lat), float(lon))
    w_lat, w_lon = f"{lat:.6f}", f"{lon:.6f}"
    c_lat, c_lon = (f"{float(gcj_lat):.6f}", f"{float(gcj_lon):.6f}") if mainland else (w_lat, w_lon)
    amap_crs, baidu_crs, tencent_crs = ("gaode", "gcj02", "2") if mainland else ("wgs84", "wgs84", "1")
    name = name or "驿站"
    address = address or name
    q_name, q_addr = quote_plus(name), quote_plus(address)
    marker = quote_plus(f"coord:{c_lat},{c_lon};title:{name.translate(_TENCENT_MARKER)};"
                        f"addr:{address.translate(_TENCENT_MARKER)}")
    links = {
        "amap": (f"https://uri.amap.com/marker?position={c_lon}%2C{c_lat}&name={q_name}&src={quote_plus(APP_NAME)}"
                 f"&coordinate={amap_crs}&callnative=1"),
        "baidu": (f"https://api.map.baidu.com/marker?location={c_lat}%2C{c_lon}&title={q_name}&content={q_addr}"
                  f"&coord_type={baidu_crs}&output=html&src={quote_plus(baidu_src)}"),
        "tencent": (f"https://apis.map.qq.com/uri/v1/marker?marker={marker}&coord_type={tencent_crs}"
                    f"&referer={quote_plus(tencent_referer)}"),
        "apple": f"https://maps.apple.com/?daddr={c_lat}%2C{c_lon}&dirflg=w",
        "geo": f"geo:{w_lat},{w_lon}?q={w_lat},{w_lon}({quote(name, safe='')})",
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
