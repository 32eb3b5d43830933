"""The GCJ-02 and BD-09 shifts: forward formulas and their iterative inverses.

``"gcj02"`` (Amap 高德, Tencent 腾讯, WeChat) is WGS-84 plus a public, non-linear shift of
several hundred metres (500-560 m in Hebei); ``"bd09"`` (Baidu 百度, ``bd09ll`` degrees) is
GCJ-02 plus a further rotation and offset (1.3-1.4 km from WGS-84 in Hebei). Every function
takes ``lat`` and ``lon`` (in that order, best passed by keyword) and returns ``(lat, lon)``;
Python scalars give Python floats, anything array-like gives numpy arrays; NaN stays NaN. All
of them are also importable from :mod:`stations.geo`, which adds :func:`~stations.geo.to_wgs84`
and :func:`~stations.geo.from_wgs84` for any system by name.

* The shifts exist only inside mainland China, decided by
  :func:`~stations.geo.in_mainland_china` on the WGS-84 position. Outside it the three
  systems coincide: converting leaves the point unchanged, which is what the vendors do.
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

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ._arrays import _as_arrays, _result
from ._boundary import _in_mainland, _near_china

__all__ = [
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "gcj02_to_bd09",
    "bd09_to_gcj02",
    "wgs84_to_bd09",
    "bd09_to_wgs84",
]

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


def _gcj_shift(lat, lon, sin, cos, sqrt, radians):
    """The GCJ-02 shift of (lat, lon) in degrees, written once for both evaluators: numpy's
    ufuncs for arrays, :mod:`math`'s functions for one point (40 numpy calls on a one-element
    array cost ~170 µs; the same arithmetic on floats ~5 µs, and a GCJ-02 request shifts its
    point five times to invert it and each answer once)."""
    x, y = lon - 105.0, lat - 35.0
    dlat_m = (
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt(abs(x))
        + (
            2.0 * sin(x * 6.0 * math.pi) + 2.0 * sin(x * 2.0 * math.pi)
            + 2.0 * sin(y * math.pi) + 4.0 * sin(y / 3.0 * math.pi)
            + 16.0 * sin(y / 12.0 * math.pi) + 32.0 * sin(y / 30.0 * math.pi)
        ) * 20.0 / 3.0
    )
    dlon_m = (
        300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt(abs(x))
        + (
            2.0 * sin(x * 6.0 * math.pi) + 2.0 * sin(x * 2.0 * math.pi)
            + 2.0 * sin(x * math.pi) + 4.0 * sin(x / 3.0 * math.pi)
            + 15.0 * sin(x / 12.0 * math.pi) + 30.0 * sin(x / 30.0 * math.pi)
        ) * 20.0 / 3.0
    )
    lat_rad = radians(lat)
    magic = 1.0 - _GCJ_EE * sin(lat_rad) ** 2
    # Metres per degree of latitude and of longitude on the Krasovsky ellipsoid.
    lat_deg_m = radians(_GCJ_A_M * (1.0 - _GCJ_EE) / magic**1.5)
    lon_deg_m = radians(_GCJ_A_M * cos(lat_rad) / sqrt(magic))
    return lat + dlat_m / lat_deg_m, lon + dlon_m / lon_deg_m


def _wgs_to_gcj_raw(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if lat.size == 1 and lon.size == 1:
        one_lat, one_lon = float(lat.reshape(-1)[0]), float(lon.reshape(-1)[0])
        if math.isfinite(one_lat) and math.isfinite(one_lon):  # math raises on inf where numpy gives NaN
            g_lat, g_lon = _gcj_shift(one_lat, one_lon, math.sin, math.cos, math.sqrt, math.radians)
            shape = np.broadcast_shapes(lat.shape, lon.shape)
            return np.full(shape, g_lat), np.full(shape, g_lon)
    return _gcj_shift(lat, lon, np.sin, np.cos, np.sqrt, np.radians)


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
    if lat.size == 1 and lon.size == 1:
        one_lat, one_lon = float(lat.reshape(-1)[0]), float(lon.reshape(-1)[0])
        if math.isfinite(one_lat) and math.isfinite(one_lon):
            w_lat, w_lon = _gcj_to_wgs_one(one_lat, one_lon)
            shape = np.broadcast_shapes(lat.shape, lon.shape)
            return np.full(shape, w_lat), np.full(shape, w_lon)
    g_lat, g_lon = _wgs_to_gcj_raw(lat, lon)
    return _invert(_wgs_to_gcj_raw, lat, lon, 2.0 * lat - g_lat, 2.0 * lon - g_lon)


def _gcj_to_wgs_one(lat: float, lon: float) -> tuple[float, float]:
    """:func:`_invert` of the GCJ-02 shift for one finite point, on floats: the same steps
    (a one-element array is shifted with math's functions too), so the same result, without
    a dozen numpy calls per step (a GCJ-02 /nearest request: ~200 µs of its ~1 ms)."""
    g_lat, g_lon = _gcj_shift(lat, lon, math.sin, math.cos, math.sqrt, math.radians)
    p_lat, p_lon = 2.0 * lat - g_lat, 2.0 * lon - g_lon
    for _ in range(_INVERSE_MAX_ITERATIONS):
        f_lat, f_lon = _gcj_shift(p_lat, p_lon, math.sin, math.cos, math.sqrt, math.radians)
        d_lat, d_lon = f_lat - lat, f_lon - lon
        p_lat, p_lon = p_lat - d_lat, p_lon - d_lon
        if not (abs(d_lat) > _INVERSE_TOLERANCE_DEG or abs(d_lon) > _INVERSE_TOLERANCE_DEG):
            break
    return p_lat, p_lon


def _bd_to_gcj_raw(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _invert(_gcj_to_bd_raw, lat, lon, *_bd_to_gcj_rough(lat, lon))


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
