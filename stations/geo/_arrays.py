"""Scalar-or-array plumbing shared by the coordinate modules.

Every public function of :mod:`stations.geo`, :mod:`stations.geo.shift` and
:mod:`stations.geo.geodesy` takes Python scalars or anything array-like: scalars give Python
floats (or bools) back, arrays give numpy arrays, broadcast together.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _as_arrays(*values: Any) -> tuple[list[np.ndarray], bool]:
    """Broadcast float64 arrays of the inputs, and whether they were all scalars."""
    scalar = all(np.ndim(v) == 0 for v in values)
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in values))
    return [np.array(a, dtype=np.float64) for a in arrays], scalar


def _result(value: np.ndarray, scalar: bool) -> Any:
    if not scalar:
        return value
    return value.item()
