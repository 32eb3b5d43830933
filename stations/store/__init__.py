"""Station storage behind one small interface.

:func:`open_store` picks the backend from the location: a file path opens (or, with
``create=True``, creates) a GeoPackage; a ``postgresql://`` URL a PostGIS database
(:mod:`stations.store.postgis`). Both keep the same tables and the same schema versions
(:mod:`stations.store.migrations`).
"""

from __future__ import annotations

from pathlib import Path

from .base import BatchResult, Change, HistoryEntry, HistoryPage, StationStore, StoreBusy, StoreReadOnly
from .gpkg import GeoPackageStore
from .migrations import SCHEMA_VERSION
from .postgis import PostGISStore

__all__ = ["BatchResult", "Change", "GeoPackageStore", "HistoryEntry", "HistoryPage", "PostGISStore", "SCHEMA_VERSION",
           "StationStore", "StoreBusy", "StoreReadOnly", "is_database_url",
           "open_store"]


def is_database_url(location: str | Path) -> bool:
    """Whether ``location`` names a PostGIS database (``postgresql://`` or ``postgres://``)
    rather than a GeoPackage file."""
    return str(location).startswith(("postgresql://", "postgres://"))


def open_store(location: str | Path, *, create: bool = True, for_upgrade: bool = False,
               pool_size: int = 4) -> StationStore:
    """Open the store at ``location``: a GeoPackage path, or a PostGIS database URL
    (``postgresql://user@host:port/db``; a password is never repeated in messages).

    ``create=False`` opens an existing store only (what serving does): a missing or foreign
    file, or a database without the stations tables, raises :class:`~stations.errors.StoreError`
    and is left as it was. A store of another schema version than
    :data:`~stations.store.migrations.SCHEMA_VERSION` raises :class:`StoreError` (older: with the
    `stations db upgrade` command to run; newer: upgrade stations), unless ``for_upgrade=True``,
    which opens it as it is for :meth:`StationStore.schema_version` and
    :meth:`StationStore.upgrade` only. Opening never alters an existing store.

    ``pool_size``: the most connections a PostGIS store holds at once (its pool's bound, per
    process); a GeoPackage has one connection and ignores it."""
    if not isinstance(pool_size, int) or isinstance(pool_size, bool) or pool_size < 1:
        raise ValueError(f"pool_size {pool_size!r} is not allowed; allowed: a whole number from 1")
    text = str(location)
    if is_database_url(text):
        return PostGISStore(text, create=create, for_upgrade=for_upgrade, max_size=pool_size)
    return GeoPackageStore(Path(text), create=create, for_upgrade=for_upgrade)
