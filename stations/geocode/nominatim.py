"""A self-hosted Nominatim (OpenStreetMap) geocoder, through geopy.

geopy sends ``GET {url}/search?q=...&format=json&limit=1&countrycodes=cn&addressdetails=1
&accept-language=zh-CN`` and reads ``lat``, ``lon`` (WGS-84), ``display_name``, ``class``,
``type``, ``addresstype``, ``place_rank`` and ``address`` from the first result.

Precision, from ``addresstype`` (Nominatim 4.x), else ``class``/``type``, else ``place_rank``:

=========================================================  =============
Nominatim                                                  precision
=========================================================  =============
house, building, a POI (amenity, shop, office, ...)        street [1]_
road, street; highway class; place_rank 26-30              street
suburb, quarter, neighbourhood, village, town, hamlet ...  town
county, district, city_district                            county
city, state_district (a prefecture-level city)             city
state, province, region                                    province
country, continent, anything coarser                      no match
=========================================================  =============

.. [1] A geocoded house number is not a surveyed position, which is what the schema's
   ``"exact"`` means; ``level`` keeps Nominatim's own word (``"house"`` vs ``"road"``).
"""

from __future__ import annotations

import functools
from typing import Any, Mapping
from urllib.parse import urlsplit

from ..errors import GeocodeError, Problem, ValidationError
from ._base import GeocodeResult, MinInterval, check_query, check_timeout, compose_query, root_cause

PROVIDER_NAME = "nominatim"

_ADDRESSTYPE_PRECISION = {
    **dict.fromkeys(("house", "building", "house_number", "amenity", "shop", "office", "tourism", "leisure",
                     "craft", "emergency", "healthcare", "historic", "man_made", "railway", "aeroway",
                     "public_transport", "road", "street", "highway", "square"), "street"),
    **dict.fromkeys(("suburb", "quarter", "neighbourhood", "city_block", "residential", "village", "town",
                     "hamlet", "isolated_dwelling", "farm", "allotments", "locality", "croft", "township",
                     "subdistrict"), "town"),
    **dict.fromkeys(("county", "district", "city_district", "borough"), "county"),
    **dict.fromkeys(("city", "municipality", "state_district"), "city"),
    **dict.fromkeys(("state", "province", "region"), "province"),
}
_TOO_COARSE = frozenset({"country", "continent", "country_code", "ocean", "sea"})
_POI_CLASSES = frozenset({"amenity", "shop", "office", "tourism", "leisure", "craft", "emergency",
                          "healthcare", "building", "highway", "railway", "public_transport", "man_made"})


def nominatim_precision(place: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``(precision, level)`` of one Nominatim result; precision None means too coarse to use.

    See the module table. ``level`` is the word the precision was read from.
    """
    addresstype = place.get("addresstype")
    if addresstype in _TOO_COARSE:
        return None, addresstype
    if addresstype in _ADDRESSTYPE_PRECISION:
        return _ADDRESSTYPE_PRECISION[addresstype], addresstype
    cls, typ = place.get("class") or place.get("category"), place.get("type")
    if typ in _TOO_COARSE:
        return None, typ
    if cls == "place" or cls == "boundary":
        if typ in _ADDRESSTYPE_PRECISION:
            return _ADDRESSTYPE_PRECISION[typ], typ
    elif cls in _POI_CLASSES:
        return "street", f"{cls}={typ}"
    try:
        rank = int(place.get("place_rank"))
    except (TypeError, ValueError):
        return None, None
    level = f"place_rank={rank}"
    for low, precision in ((26, "street"), (17, "town"), (13, "city"), (10, "county"), (5, "province")):
        if rank >= low:
            return precision, level
    return None, level


def _trim(admin: dict[str, str | None] | None, precision: str) -> dict[str, str | None] | None:
    # A city-level point lies in some district; that district is not what was found.
    if admin is None or admin["adcode"] is None:
        return admin
    if precision == "city":
        return {**admin, "county": None, "adcode": admin["adcode"][:4] + "00"}
    if precision == "province":
        return {**admin, "city": None, "county": None, "adcode": admin["adcode"][:2] + "0000"}
    return admin


class NominatimGeocoder:
    """Geocode with a (self-hosted) Nominatim server; positions are WGS-84.

    Parameters
    ----------
    url : str
        Base URL of the server, e.g. ``"http://127.0.0.1:8080"`` or
        ``"https://geo.example.org/nominatim"`` (a trailing ``/search`` is accepted).
    user_agent : str
        Sent as ``User-Agent``; Nominatim's usage policy requires one naming the application.
    timeout_s : float
        Connect and read timeout of one request, seconds. Failed requests are not retried:
        the chain moves on to its next provider instead.
    min_delay_s : float
        Minimum interval between two requests from this geocoder, seconds (the public
        server's policy is 1 request/s; a self-hosted one may allow 0).
    country_codes : str or None
        ISO 3166-1 alpha-2 codes, comma-separated, to restrict results to; None for anywhere.
    language : str
        ``accept-language`` for names in results.
    fill_admin : bool
        Fill province/city/county/adcode from the offline boundaries at the result's point
        (OpenStreetMap's address fields carry no adcode and vary in form). When the point is
        outside every boundary the names from Nominatim's ``address`` are kept.
    name : str
        Provider name written into results and cache keys.

    Raises
    ------
    ValidationError
        For a URL that is not http(s), an empty ``user_agent`` or a bad timeout/interval.
    """

    cacheable = True

    def __init__(self, url: str, *, user_agent: str, timeout_s: float = 5.0, min_delay_s: float = 1.0,
                 country_codes: str | None = "cn", language: str = "zh-CN", fill_admin: bool = True,
                 name: str = PROVIDER_NAME) -> None:
        from geopy.adapters import RequestsAdapter
        from geopy.geocoders import Nominatim

        parts = urlsplit(url if isinstance(url, str) else "")
        problems = []
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append(Problem("nominatim_url", url, "not an http(s) URL", "e.g. http://127.0.0.1:8080"))
        if not isinstance(user_agent, str) or not user_agent.strip():
            problems.append(Problem("user_agent", user_agent, "is required", "a text naming the application"))
        if problems:
            raise ValidationError.from_problems(problems, what="Nominatim geocoder")
        self.name = name
        self.url = url
        self.host = parts.netloc
        self.timeout_s = check_timeout(timeout_s)
        self.country_codes = country_codes
        self.language = language
        self.fill_admin = fill_admin
        self._limit = MinInterval(min_delay_s)
        path = parts.path.rstrip("/").removesuffix("/search")
        self._geopy = Nominatim(domain=parts.netloc + path, scheme=parts.scheme, user_agent=user_agent,
                                timeout=self.timeout_s,
                                adapter_factory=functools.partial(RequestsAdapter, max_retries=0))

    def geocode(self, address: str, *, province: str | None = None, city: str | None = None,
                county: str | None = None) -> GeocodeResult | None:
        """Geocode one address; hints are prefixed to it when it does not contain them.

        Returns None when Nominatim finds nothing or only something coarser than a province.

        Raises
        ------
        GeocodeError
            When the server cannot be reached, times out, answers with an HTTP error or with
            something that is not a Nominatim result. The message names the host and cause.
        """
        from geopy.exc import GeocoderTimedOut, GeocoderUnavailable, GeopyError

        query = compose_query(*check_query(address, province, city, county))
        if not query:
            return None
        self._limit.wait()
        try:
            location = self._geopy.geocode(query, exactly_one=True, addressdetails=True, language=self.language,
                                           country_codes=self.country_codes, timeout=self.timeout_s)
        except GeocoderTimedOut as exc:
            raise GeocodeError(f"nominatim geocoder at {self.host}: no answer within {self.timeout_s:g} s "
                               f"({exc})") from exc
        except GeocoderUnavailable as exc:
            raise GeocodeError(f"nominatim geocoder at {self.host} failed: cannot connect ({root_cause(exc)})") from exc
        except GeopyError as exc:
            raise GeocodeError(f"nominatim geocoder at {self.host} failed: {type(exc).__name__}: {exc}") from exc
        if location is None:
            return None
        return self._result(location.raw)

    def _result(self, place: Mapping[str, Any]) -> GeocodeResult | None:
        precision, level = nominatim_precision(place)
        if precision is None:
            return None
        try:
            lat, lon = float(place["lat"]), float(place["lon"])
        except (KeyError, TypeError, ValueError):
            raise GeocodeError(f"nominatim geocoder at {self.host}: unexpected answer without lat/lon: "
                               f"{dict(place)!r:.200}") from None
        address = place.get("address") or {}
        admin = {"province": address.get("state") or address.get("province"),
                 "city": address.get("city") or address.get("state_district"),
                 "county": address.get("county") or address.get("city_district") or address.get("district"),
                 "adcode": None}
        if self.fill_admin:
            from .offline import admin_area_at

            admin = _trim(admin_area_at(lat=lat, lon=lon), precision) or admin
        return GeocodeResult(lat=lat, lon=lon, precision=precision, provider=self.name, raw_lat=lat, raw_lon=lon,
                             raw_crs="wgs84", matched=place.get("display_name"), level=level, **admin)

    def __repr__(self) -> str:
        return f"NominatimGeocoder({self.url!r}, name={self.name!r})"
