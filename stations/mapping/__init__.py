"""Maps of stations: the folium map builder, server-side clusters, basemaps and outlines.

* :func:`build_map` -> :class:`folium.Map` (``stations map`` saves it; the server's ``/map``).
* :class:`MapIndex` -> what a map view shows, clustered on the server (``/api/v1/clusters``).
* :func:`resolve_tiles` -> the basemap and the coordinate system to draw in.
* :mod:`~stations.mapping.outlines` -> province and county outlines (the offline basemap).
* :mod:`~stations.mapping.assets` -> local copies of every script and stylesheet.
"""

from .builder import EMBED_MAX, StationsMap, build_map, embed_data
from .clusters import MapIndex, grid_clusters
from .status import MAP_STATUSES, STATUS_CODES, map_status_codes, status_legend
from .tiles import PRESETS, TileSource, resolve_tiles

__all__ = ["EMBED_MAX", "MAP_STATUSES", "PRESETS", "STATUS_CODES", "MapIndex", "StationsMap", "TileSource",
           "build_map", "embed_data", "grid_clusters", "map_status_codes", "resolve_tiles", "status_legend"]
