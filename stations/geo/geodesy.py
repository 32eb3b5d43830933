"""Distances and bearings on the sphere, for WGS-84 degrees.

Every distance is in metres on a sphere of radius :data:`EARTH_RADIUS_M`, within 0.5 % of the
ellipsoidal distance. Arguments are ``lat1, lon1, lat2, lon2`` (in that order); Python scalars
give Python floats, anything array-like gives numpy arrays, broadcast together; NaN gives NaN.
Also importable from :mod:`stations.geo`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._arrays import _as_arrays, _result

__all__ = ["EARTH_RADIUS_M", "haversine_m", "bearing_deg"]

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius R1 = (2a + b) / 3 of the WGS-84 ellipsoid, in metres (IUGG).

Used by :func:`haversine_m`; the spherical model is within 0.5 % of the ellipsoidal distance.
"""


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
