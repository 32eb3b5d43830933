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
from .migrations import SCHEMA_VERSION

__all__ = ["BatchResult", "Change", "GeoPackageStore", "HistoryEntry", "HistoryPage", "SCHEMA_VERSION", "StationStore",
           "StoreBusy", "open_store"]


def open_store(location: str | Path, *, create: bool = True, for_upgrade: bool = False) -> StationStore:
    """Open the store at ``location`` (a GeoPackage path; PostGIS URLs are not built yet).

    ``create=False`` opens an existing store only (what serving does): a missing or foreign
    file raises :class:`StoreError` and is left as it was. A store of another schema version
    than :data:`~stations.store.migrations.SCHEMA_VERSION` raises :class:`StoreError` (older:
    with the `stations db upgrade` command to run; newer: upgrade stations), unless
    ``for_upgrade=True``, which opens it as it is for :meth:`StationStore.schema_version` and
    :meth:`StationStore.upgrade` only. Opening never alters an existing store."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        raise StoreError(f"store {text!r}: the PostGIS backend is not available yet; "
                         "use a GeoPackage path such as var/stations.gpkg")
    return GeoPackageStore(Path(text), create=create, for_upgrade=for_upgrade)
