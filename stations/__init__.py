"""stations: find and plan outdoor-worker rest stations (工会驿站 / 户外劳动者服务站点).

Library first: records, storage, import/export, coordinates, geocoding, opening hours,
nearest-station lookup, maps and coverage planning are plain Python modules; the CLI
(``stations.cli``) and the HTTP API (``stations.web``) are thin layers over them.
"""

__version__ = "0.1.0"
