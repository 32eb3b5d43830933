"""Amap (高德) web-service geocoding, v3 protocol; answers are GCJ-02, converted to WGS-84.

Request: ``GET {url}?key=KEY&address=ADDRESS&city=CITY&output=JSON``. Answer::

    {"status": "1", "info": "OK", "infocode": "10000", "count": "1",
     "geocodes": [{"formatted_address": "...", "province": "...", "city": "...", "district": "...",
                   "adcode": "130322", "location": "LNG,LAT", "level": "门牌号"}]}

``status`` ``"0"`` is an error named by ``info``/``infocode`` (``INVALID_USER_KEY``/10001,
``DAILY_QUERY_OVER_LIMIT``/10003, ``CUQPS_HAS_EXCEEDED_THE_LIMIT``/10021 ...). Fields Amap
has no value for come back as ``[]``, not as ``""``.

Precision from ``level`` (Amap's documented values plus the room-level ones some answers use):

====================================================  ==========
level                                                 precision
====================================================  ==========
门牌号, 单元号, 楼层, 房间, 兴趣点                    street [1]_
道路, 道路交叉路口, 公交站台, 公交地铁站点, 地铁站    street
乡镇, 村庄, 开发区, 热点商圈, 公交线路, 地铁线路 [2]_ town
区县                                                  county
市                                                    city
省                                                    province
国家                                                  no match
未知 or anything else                                 from the fields: county if ``district``,
                                                      else city, else province
====================================================  ==========

.. [1] Geocoded, not surveyed: the schema keeps ``"exact"`` for surveyed or GPS positions.
   ``level`` keeps Amap's own word, so a house number and a road midpoint stay distinguishable.
.. [2] A line's point says little more than the area it runs through.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from ..errors import GeocodeError, Problem, ValidationError
from ._base import (GeocodeResult, MinInterval, check_query, check_timeout, compose_query, gcj02_to_wgs84,
                    root_cause, url_host)

PROVIDER_NAME = "amap"
DEFAULT_URL = "https://restapi.amap.com/v3/geocode/geo"
# Amap's free personal quota allows a few requests per second for geocoding; stay under 3/s.
DEFAULT_MIN_DELAY_S = 0.35

AMAP_LEVEL_PRECISION: dict[str, str | None] = {
    **dict.fromkeys(("门牌号", "单元号", "楼层", "房间", "兴趣点", "道路", "道路交叉路口", "公交站台",
                     "公交地铁站点", "地铁站"), "street"),
    **dict.fromkeys(("乡镇", "村庄", "开发区", "热点商圈", "公交线路", "地铁线路", "公交地铁线路"), "town"),
    "区县": "county",
    "市": "city",
    "省": "province",
    "国家": None,
}


def _text(value: Any) -> str | None:
    # Amap writes a missing value as [] (or "").
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _municipality(province: str | None) -> str | None:
    # Amap leaves ``city`` empty for Beijing, Tianjin, Shanghai and Chongqing (and for counties
    # run by their province); a municipality is its own city, the others have none.
    return province if province in ("北京市", "天津市", "上海市", "重庆市") else None


def amap_precision(geocode: Mapping[str, Any]) -> str | None:
    """Precision of one Amap ``geocodes`` entry (see the module table); None = too coarse."""
    level = _text(geocode.get("level"))
    if level in AMAP_LEVEL_PRECISION:
        return AMAP_LEVEL_PRECISION[level]
    if _text(geocode.get("district")):
        return "county"
    if _text(geocode.get("city")):
        return "city"
    return "province" if _text(geocode.get("province")) else None


class AmapGeocoder:
    """Geocode with Amap's web service (``restapi.amap.com``, geocode v3).

    Parameters
    ----------
    key : str
        Amap web-service key (``Web服务`` type). It never appears in error messages.
    url : str
        Endpoint; change it for a proxy or a test server.
    timeout_s : float
        Connect and read timeout of one request, seconds. No retries.
    min_delay_s : float
        Minimum interval between two requests from this geocoder, seconds.
    name : str
        Provider name written into results and cache keys.

    Raises
    ------
    ValidationError
        For an empty key, a URL that is not http(s) or a bad timeout/interval.
    """

    cacheable = True

    def __init__(self, key: str, *, url: str = DEFAULT_URL, timeout_s: float = 5.0,
                 min_delay_s: float = DEFAULT_MIN_DELAY_S, name: str = PROVIDER_NAME) -> None:
        import requests

        problems = []
        if not isinstance(key, str) or not key.strip():
            problems.append(Problem("amap_key", "<empty>" if not key else "<not text>", "is required",
                                    "an Amap web-service key"))
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            problems.append(Problem("amap_url", url, "not an http(s) URL", DEFAULT_URL))
        if problems:
            raise ValidationError.from_problems(problems, what="Amap geocoder")
        self.name = name
        self.url = url
        self.host = url_host(url)
        self.timeout_s = check_timeout(timeout_s)
        self._key = key.strip()
        self._limit = MinInterval(min_delay_s)
        self._session = requests.Session()

    def _fail(self, cause: str) -> GeocodeError:
        return GeocodeError(f"amap geocoder at {self.host} failed: {cause.replace(self._key, '***')}")

    def geocode(self, address: str, *, province: str | None = None, city: str | None = None,
                county: str | None = None) -> GeocodeResult | None:
        """Geocode one address; ``city`` also goes to Amap's ``city`` parameter to narrow the search.

        Returns None when Amap finds nothing (``count`` 0) or only a country.

        Raises
        ------
        GeocodeError
            When Amap cannot be reached, times out, answers with an HTTP error, with
            ``status`` ``"0"`` (the message names ``info`` and ``infocode``), or with
            something that is not a geocode answer.
        """
        import requests

        address, province, city, county = check_query(address, province, city, county)
        query = compose_query(address, province, city, county)
        if not query:
            return None
        params = {"key": self._key, "address": query, "output": "JSON"}
        if city:
            params["city"] = city
        self._limit.wait()
        try:
            response = self._session.get(self.url, params=params, timeout=self.timeout_s)
        except requests.Timeout:
            raise self._fail(f"no answer within {self.timeout_s:g} s") from None
        except requests.ConnectionError as exc:
            raise self._fail(f"cannot connect ({root_cause(exc)})") from None
        except requests.RequestException as exc:
            raise self._fail(f"{type(exc).__name__}: {exc}") from None
        if response.status_code != 200:
            raise self._fail(f"HTTP {response.status_code} {response.reason}")
        try:
            body = response.json()
        except ValueError:
            raise self._fail(f"answer is not JSON: {response.text[:120]!r}") from None
        if not isinstance(body, dict) or "status" not in body:
            raise self._fail(f"answer is not an Amap geocode answer: {str(body)[:120]!r}")
        if str(body["status"]) != "1":
            raise self._fail(f"Amap error {body.get('info')} (infocode {body.get('infocode')})")
        geocodes = body.get("geocodes") or []
        if not geocodes:
            return None
        return self._result(geocodes[0])

    def _result(self, geocode: Mapping[str, Any]) -> GeocodeResult | None:
        precision = amap_precision(geocode)
        if precision is None:
            return None
        try:
            lng_text, lat_text = str(geocode["location"]).split(",")
            raw_lon, raw_lat = float(lng_text), float(lat_text)
            if not (math.isfinite(raw_lat) and math.isfinite(raw_lon)):
                raise ValueError
        except (KeyError, ValueError):
            raise self._fail(f"unreadable location {geocode.get('location')!r}") from None
        lat, lon = gcj02_to_wgs84(lat=raw_lat, lon=raw_lon)
        province = _text(geocode.get("province"))
        return GeocodeResult(lat=lat, lon=lon, precision=precision, provider=self.name, raw_lat=raw_lat,
                             raw_lon=raw_lon, raw_crs="gcj02", province=province,
                             city=_text(geocode.get("city")) or _municipality(province),
                             county=_text(geocode.get("district")), adcode=_text(geocode.get("adcode")),
                             matched=_text(geocode.get("formatted_address")), level=_text(geocode.get("level")))

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

    def __repr__(self) -> str:
        return f"AmapGeocoder(url={self.url!r}, name={self.name!r})"

