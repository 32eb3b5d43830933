"""Open data for the GIS world: what leaves the service, and the ways it leaves.

* :mod:`.public` — the published fields (an allow-list), one GeoJSON shape, the licence.
* :mod:`.dumps` — the whole data set as GeoJSON, CSV and GeoPackage, streamed, per revision.
* :mod:`.feed` — the changes since a revision, in order, paged, for copies kept in sync.
* :mod:`.ogc` — OGC API – Features documents and the items query, over a snapshot.

The web layer (:mod:`stations.web.ogc`, :mod:`stations.web.opendata`) only routes and
serialises what these return.
"""

from .dumps import FORMATS, DumpFiles, DumpMeta, snapshot_records, write_csv, write_dump, write_geojson, write_gpkg
from .feed import ChangeFeed, FeedPage, HistoryGoneError, read_changes
from .public import CSV_COLUMNS, PUBLIC_FIELDS, DataLicence, public_feature

__all__ = ["CSV_COLUMNS", "FORMATS", "PUBLIC_FIELDS", "ChangeFeed", "DataLicence", "DumpFiles", "DumpMeta",
           "FeedPage", "HistoryGoneError", "public_feature", "read_changes", "snapshot_records", "write_csv",
           "write_dump", "write_geojson", "write_gpkg"]
