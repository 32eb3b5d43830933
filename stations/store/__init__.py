"""Station storage behind one small interface.

:func:`open_store` picks the backend from the location: a file path opens (or, with
``create=True``, creates) a GeoPackage. There is no other backend yet: a ``postgresql://``
URL is refused with a clear error.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import StoreError
from .base import BatchResult, Change, HistoryEntry, HistoryPage, StationStore, StoreBusy
from .gpkg import GeoPackageStore

__all__ = ["BatchResult", "Change", "GeoPackageStore", "HistoryEntry", "HistoryPage", "StationStore", "StoreBusy",
           "open_store"]


def open_store(location: str | Path, *, create: bool = True) -> StationStore:
    """Open the store at ``location`` (a GeoPackage path; PostGIS URLs are not built yet).

    ``create=False`` opens an existing store only (what serving does): a missing or foreign
    file raises :class:`StoreError` and is left as it was."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        raise StoreError(f"store {text!r}: the PostGIS backend is not available yet; "
                         "use a GeoPackage path such as var/stations.gpkg")
    return GeoPackageStore(Path(text), create=create)
