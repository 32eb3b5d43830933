"""Station storage behind one small interface.

:func:`open_store` picks the backend from the location: a file path opens (or creates) a
GeoPackage; a ``postgresql://`` URL is reserved for the PostGIS backend.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import StoreError
from .base import BatchResult, Change, HistoryEntry, HistoryPage, StationStore
from .gpkg import GeoPackageStore

__all__ = ["BatchResult", "Change", "GeoPackageStore", "HistoryEntry", "HistoryPage", "StationStore", "open_store"]


def open_store(location: str | Path, *, create: bool = True) -> StationStore:
    """Open the store at ``location`` (GeoPackage path; PostGIS URLs are not built yet)."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        raise StoreError(f"store {text!r}: the PostGIS backend is not available yet; "
                         "use a GeoPackage path such as var/stations.gpkg")
    return GeoPackageStore(Path(text), create=create)
