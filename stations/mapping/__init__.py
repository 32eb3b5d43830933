"""Maps of stations: the folium map builder, server-side clusters, basemaps and outlines.

* :func:`build_map` -> :class:`folium.Map` (``stations map`` saves it; the server's ``/map``).
* :class:`MapIndex` -> what a map view shows, clustered on the server (``/api/v1/clusters``).
* :func:`resolve_tiles` -> the basemap and the coordinate system to draw in.
* :mod:`~stations.mapping.outlines` -> province and county outlines (the offline basemap).
* :mod:`~stations.mapping.assets` -> local copies of every script and stylesheet.
"""

from __future__ import annotations

import importlib
from typing import Any

from .clusters import MapIndex, grid_clusters
from .status import MAP_STATUSES, STATUS_CODES, map_status_codes, status_legend
from .tiles import PRESETS, TileSource, resolve_tiles

# The builder's names are imported on first use, not here: the builder imports folium (with
# branca, jinja2's templates, requests and xyzservices), 17-20 MB of RSS in every serving
# worker (benchmarks/bench_memory.py), and the API and the locator page never build a folium
# map; `/map` and `stations map` load it when they do.
_BUILDER_NAMES = ("EMBED_MAX", "StationsMap", "build_map", "embed_data")


def __getattr__(name: str) -> Any:
    if name in _BUILDER_NAMES:
        return getattr(importlib.import_module(".builder", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["EMBED_MAX", "MAP_STATUSES", "PRESETS", "STATUS_CODES", "MapIndex", "StationsMap", "TileSource",
           "build_map", "embed_data", "grid_clusters", "map_status_codes", "resolve_tiles", "status_legend"]
