"""Station storage behind one small interface.

:func:`open_store` picks the backend from the location: a file path opens (or, with
``create=True``, creates) a GeoPackage; a ``postgresql://`` URL a PostGIS database
(:mod:`stations.store.postgis`). Both keep the same tables and the same schema versions
(:mod:`stations.store.migrations`).
"""

from __future__ import annotations

from pathlib import Path

from .base import BatchResult, Change, HistoryEntry, HistoryPage, StationStore, StoreBusy
from .gpkg import GeoPackageStore
from .migrations import SCHEMA_VERSION
from .postgis import PostGISStore

__all__ = ["BatchResult", "Change", "GeoPackageStore", "HistoryEntry", "HistoryPage", "PostGISStore", "SCHEMA_VERSION",
           "StationStore", "StoreBusy", "open_store"]


def open_store(location: str | Path, *, create: bool = True, for_upgrade: bool = False) -> StationStore:
    """Open the store at ``location``: a GeoPackage path, or a PostGIS database URL
    (``postgresql://user@host:port/db``; a password is never repeated in messages).

    ``create=False`` opens an existing store only (what serving does): a missing or foreign
    file, or a database without the stations tables, raises :class:`~stations.errors.StoreError`
    and is left as it was. A store of another schema version than
    :data:`~stations.store.migrations.SCHEMA_VERSION` raises :class:`StoreError` (older: with the
    `stations db upgrade` command to run; newer: upgrade stations), unless ``for_upgrade=True``,
    which opens it as it is for :meth:`StationStore.schema_version` and
    :meth:`StationStore.upgrade` only. Opening never alters an existing store."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        return PostGISStore(text, create=create, for_upgrade=for_upgrade)
    return GeoPackageStore(Path(text), create=create, for_upgrade=for_upgrade)
