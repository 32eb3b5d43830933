"""Per-snapshot arrays the open-data views share, computed once and kept on the snapshot."""

from __future__ import annotations

import numpy as np

from ..records import DEFAULT_TIMEZONE
from ..service import Snapshot
from .public import _open_24h


def id_order(snapshot: Snapshot) -> tuple[np.ndarray, np.ndarray]:
    """(positions in the frame sorted by station id, the sorted ids): keyset paging and
    dumps go in id order. The store's frame is already in that order (SQLite compares text
    by UTF-8 bytes, Python by code points: the same order), so this is usually the identity."""
    key = ("opendata", "id_order")
    hit = snapshot.cache.get(key)
    if hit is None:
        ids = snapshot.frame["station_id"].to_numpy(dtype=object)
        if len(ids) < 2 or all(ids[i] < ids[i + 1] for i in range(len(ids) - 1)):
            order = np.arange(len(ids))
        else:
            order = np.array(sorted(range(len(ids)), key=ids.__getitem__), dtype=np.int64)
        hit = snapshot.cache.setdefault(key, (order, ids[order]))
    return hit


def open_24h_flags(snapshot: Snapshot) -> np.ndarray:
    """Whether each station (frame order) is open 24 hours, derived from its hours."""
    key = ("opendata", "open_24h")
    hit = snapshot.cache.get(key)
    if hit is None:
        frame = snapshot.frame
        hours = frame["opening_hours"].to_numpy(dtype=object)
        zones = frame["timezone"].to_numpy(dtype=object)
        hit = snapshot.cache.setdefault(key, np.array(
            [_open_24h(h if isinstance(h, str) else None, z if isinstance(z, str) and z else DEFAULT_TIMEZONE)
             for h, z in zip(hours, zones)], dtype=bool))
    return hit
