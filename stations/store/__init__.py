"""Station storage behind one small interface.

:func:`open_store` picks the backend from the location: a file path opens (or, with
``create=True``, creates) a GeoPackage. There is no other backend yet: a ``postgresql://``
URL is refused with a clear error.
"""

from __future__ import annotations

from pathlib import Path

from .base import BatchResult, Change, HistoryEntry, HistoryPage, StationStore, StoreBusy
from .gpkg import GeoPackageStore
from .postgis import PostGISStore

__all__ = ["BatchResult", "Change", "GeoPackageStore", "HistoryEntry", "HistoryPage", "PostGISStore", "StationStore", "StoreBusy",
           "open_store"]


def open_store(location: str | Path, *, create: bool = True) -> StationStore:
    """Open the store at ``location``: a GeoPackage path, or a PostGIS database URL
    (``postgresql://user@host:port/db``; a password is never repeated in messages).

    ``create=False`` opens an existing store only (what serving does): a missing or foreign
    file, or a database without the stations tables, raises :class:`~stations.errors.StoreError` and is left
    as it was."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        return PostGISStore(text, create=create)
    return GeoPackageStore(Path(text), create=create)
