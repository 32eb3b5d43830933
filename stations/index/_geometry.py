"""Unit-sphere geometry: degrees to 3-D unit vectors, chord <-> metres, bearings.

Why unit vectors: the straight-line (chord) distance between two points on the unit
sphere is ``c = 2 sin(theta / 2)`` for a central angle ``theta``, strictly increasing on
``[0, pi]``. Ordering stations by chord is therefore *exactly* ordering them by
great-circle distance, and an ordinary Euclidean k-d tree over ``(x, y, z)`` answers
great-circle k-nearest queries exactly. Metres come back as ``2 R asin(c / 2)`` with the
radius of :func:`stations.coords.haversine_m`.
"""

from __future__ import annotations

import math

import numpy as np

# Mean Earth radius (IUGG), the one stations.coords.haversine_m uses (tests check they agree).
EARTH_RADIUS_M = 6_371_008.8
_RAD = math.pi / 180.0
_DEG = 180.0 / math.pi
_TWO_R = 2.0 * EARTH_RADIUS_M


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """``(n, 3)`` float64 unit vectors of WGS-84 degrees (treated as spherical)."""
    lat_r = np.radians(np.asarray(lat, dtype=np.float64))
    lon_r = np.radians(np.asarray(lon, dtype=np.float64))
    out = np.empty((lat_r.shape[0], 3), dtype=np.float64)
    cos_lat = np.cos(lat_r)
    np.multiply(cos_lat, np.cos(lon_r), out=out[:, 0])
    np.multiply(cos_lat, np.sin(lon_r), out=out[:, 1])
    np.sin(lat_r, out=out[:, 2])
    return out


def unit_vector(lat: float, lon: float) -> tuple[float, float, float]:
    """One unit vector, in plain floats (the single-query hot path avoids numpy)."""
    la, lo = lat * _RAD, lon * _RAD
    cos_lat = math.cos(la)
    return (cos_lat * math.cos(lo), cos_lat * math.sin(lo), math.sin(la))


def chord_to_m(chord: np.ndarray) -> np.ndarray:
    """Great-circle metres of unit-sphere chord lengths (``inf`` stays ``inf``)."""
    with np.errstate(invalid="ignore"):
        half = np.minimum(np.asarray(chord, dtype=np.float64) * 0.5, 1.0)
        out = _TWO_R * np.arcsin(half)
    return np.where(np.isinf(chord), np.inf, out)


def chord_to_m1(chord: float) -> float:
    """:func:`chord_to_m` for one float."""
    half = chord * 0.5
    return _TWO_R * math.asin(half if half < 1.0 else 1.0)


def m_to_chord(distance_m: float) -> float:
    """The chord of a great-circle distance; 2.0 (the whole sphere) from half the circumference on."""
    theta = distance_m / EARTH_RADIUS_M
    if theta >= math.pi:
        return 2.0
    return 2.0 * math.sin(theta * 0.5)


def search_radius_chord(max_distance_m: float | None) -> float:
    """The ``distance_upper_bound`` for a k-d tree query limited to ``max_distance_m``.

    cKDTree keeps only points strictly closer than the bound, and ``asin``/``sin`` round
    trips are not exact: the bound is widened by a relative 1e-9 (about 1 mm at 1,000 km)
    and callers filter the metres again with ``<=``, so a station exactly at the limit is in.
    """
    if max_distance_m is None:
        return math.inf
    chord = m_to_chord(max_distance_m)
    return chord * (1.0 + 1e-9) + 1e-15 if chord < 2.0 else math.inf


class Basis:
    """A query point with its local east and north unit vectors, for bearings."""

    __slots__ = ("x", "y", "z", "ex", "ey", "nx", "ny", "nz")

    def __init__(self, lat: float, lon: float):
        la, lo = lat * _RAD, lon * _RAD
        sin_la, cos_la, sin_lo, cos_lo = math.sin(la), math.cos(la), math.sin(lo), math.cos(lo)
        self.x, self.y, self.z = cos_la * cos_lo, cos_la * sin_lo, sin_la
        self.ex, self.ey = -sin_lo, cos_lo  # east: (-sin lon, cos lon, 0)
        self.nx, self.ny, self.nz = -sin_la * cos_lo, -sin_la * sin_lo, cos_la

    @property
    def xyz(self) -> tuple[float, float, float]:
        return (self.x, self.y, self.z)

    def bearing_deg(self, px: float, py: float, pz: float) -> float:
        """Initial great-circle bearing to unit vector ``p``: degrees clockwise from north, [0, 360).

        The tangent of the great circle at the query point towards ``p`` is the part of
        ``p - q`` orthogonal to ``q``; its east and north components give the bearing. Using
        ``p - q`` (not ``p``) makes an identical point exactly 0 and keeps close points exact.
        """
        dx, dy, dz = px - self.x, py - self.y, pz - self.z
        east = dx * self.ex + dy * self.ey
        north = dx * self.nx + dy * self.ny + dz * self.nz
        b = math.atan2(east, north) * _DEG
        if b < 0.0:
            b += 360.0
            if b >= 360.0:  # -tiny + 360 rounds to 360
                b = 0.0
        return b


def bearings_deg(q: np.ndarray, p: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Vectorised :meth:`Basis.bearing_deg`: ``q`` ``(m, 3)`` query vectors, ``p`` ``(m, k, 3)``."""
    la, lo = np.radians(lat)[:, None], np.radians(lon)[:, None]
    d = p - q[:, None, :]
    east = -np.sin(lo) * d[..., 0] + np.cos(lo) * d[..., 1]
    north = -np.sin(la) * np.cos(lo) * d[..., 0] - np.sin(la) * np.sin(lo) * d[..., 1] + np.cos(la) * d[..., 2]
    b = np.mod(np.degrees(np.arctan2(east, north)), 360.0)
    return np.where(b >= 360.0, 0.0, b)


def _spread_bits(v: np.ndarray) -> np.ndarray:
    """Put a zero bit between the bits of 16-bit integers (for a Morton code)."""
    v = (v | (v << np.uint64(16))) & np.uint64(0x0000FFFF0000FFFF)
    v = (v | (v << np.uint64(8))) & np.uint64(0x00FF00FF00FF00FF)
    v = (v | (v << np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    v = (v | (v << np.uint64(2))) & np.uint64(0x3333333333333333)
    return (v | (v << np.uint64(1))) & np.uint64(0x5555555555555555)


def spatial_order(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """A permutation that puts nearby points next to each other (Morton / Z-order on degrees).

    Querying a batch in this order keeps the k-d tree's nodes in the CPU cache: a million
    clustered points go about 5x faster than in random order.
    """
    a = ((np.asarray(lat, dtype=np.float64) + 90.0) * (65535.0 / 180.0)).astype(np.uint64)
    b = ((np.asarray(lon, dtype=np.float64) + 180.0) * (65535.0 / 360.0)).astype(np.uint64)
    return np.argsort(_spread_bits(a) | (_spread_bits(b) << np.uint64(1)))
