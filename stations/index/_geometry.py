"""Unit-sphere geometry: degrees to 3-D unit vectors, chord <-> metres, batch order.

Why unit vectors: the straight-line (chord) distance between two points on the unit
sphere is ``c = 2 sin(theta / 2)`` for a central angle ``theta``, strictly increasing on
``[0, pi]``. Ordering stations by chord is therefore *exactly* ordering them by
great-circle distance, and an ordinary Euclidean k-d tree over ``(x, y, z)`` answers
great-circle k-nearest queries exactly. Metres come back as ``2 R asin(c / 2)`` with the
radius of :func:`stations.geo.haversine_m`.
"""

from __future__ import annotations

import math

import numpy as np

# Mean Earth radius (IUGG), the one stations.geo.haversine_m uses (tests check they agree).
EARTH_RADIUS_M = 6_371_008.8
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


def chord_to_m1(chord: float) -> float:
    """Great-circle metres of a unit-sphere chord length."""
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

    The k-d tree keeps only points strictly closer than the bound, and ``asin``/``sin`` round
    trips are not exact: the bound is widened by a relative 1e-9 (about 1 mm at 1,000 km)
    and callers filter the metres again with ``<=``, so a station exactly at the limit is in.
    """
    if max_distance_m is None:
        return math.inf
    chord = m_to_chord(max_distance_m)
    return chord * (1.0 + 1e-9) + 1e-15 if chord < 2.0 else math.inf


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
