"""Straight-line travel time for planning: a k-d tree over projected station positions.

A demand point is *covered* by a station when ``minutes <= catchment minutes`` (spopt's
``d_ij <= S``), with minutes from :class:`stations.travel.Travel` (mode, speed, circuity).
Equivalently the straight-line service radius is ``radius_m = speed_m_per_min * minutes /
circuity``. With a road network (:mod:`stations.planning.network`) travel time is the
network path instead and circuity is not applied.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..travel import MODES, Mode, Travel, mode_code

if TYPE_CHECKING:
    import numpy as np

__all__ = ["MODES", "Mode", "Travel", "mode_code", "StraightLine"]


class StraightLine:
    """Travel-time engine on straight lines: a k-d tree over the station positions.

    ``two_nearest(x_m, y_m)`` returns the minutes to the nearest and second-nearest
    station and the index of the nearest (``inf`` / ``-1`` when there are not enough
    stations). Ties between equidistant stations go to the lower index.
    """

    method = "straight-line"

    def __init__(self, travel: Travel, x_m: "np.ndarray", y_m: "np.ndarray"):
        import numpy as np
        from scipy.spatial import cKDTree

        self.travel = travel
        self.n = len(x_m)
        self._tree = cKDTree(np.column_stack([x_m, y_m])) if self.n else None

    def two_nearest(self, x_m, y_m):
        import numpy as np

        n = len(x_m)
        if self.n == 0:
            inf = np.full(n, np.inf)
            return inf, inf.copy(), np.full(n, -1, dtype=np.int64)
        pts = np.column_stack([x_m, y_m])
        if self.n == 1:
            d1, i1 = self._tree.query(pts, k=1, workers=-1)
            d2 = np.full(n, np.inf)
        else:
            d, i = self._tree.query(pts, k=2, workers=-1)
            d1, d2, i1 = d[:, 0], d[:, 1], i[:, 0]
        return self.travel.minutes_for(d1), self.travel.minutes_for(d2), np.asarray(i1, dtype=np.int64)
