"""OGC API – Features (Part 1: Core, GeoJSON, HTML, OpenAPI 3.0; Part 3: Queryables) over a snapshot.

The documents of the service as plain dicts, and the one query it answers: the stations of
the collection ``stations`` that pass the filters, a page at a time. The web layer
(:mod:`stations.web.ogc`) routes, negotiates JSON or HTML and serialises; everything here
works without Flask. ``base`` is the absolute URL of the service's landing page
(``http://host/ogc``).

What the standard asks and how it is met, in short:

* positions are WGS-84 longitude/latitude (CRS84); ``bbox`` is four or six numbers in CRS84,
  may cross the antimeridian (min longitude > max longitude), and — as Part 1 requires —
  also matches stations that have no position yet;
* ``datetime`` is checked (RFC 3339 instant or interval, ``..`` open ends) and, since
  stations have no temporal geometry, matches every station (Part 1: "features not
  associated with a temporal geometry" are matched);
* ``limit`` above the maximum (setting ``page_max``) is clamped to it, never refused;
* paging is by ``next`` links only, keyed on the station id (``cursor`` = the last id of the
  page): an import landing between two pages cannot make a station appear twice or be
  skipped, as an offset could; ``numberMatched`` counts the matches of the page's revision;
* every queryable of ``/queryables`` is also a query parameter, matched by equality.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import quote, urlencode

import numpy as np

from ..errors import Problem, ValidationError
from ..records import AMENITY_FIELDS
from ..service import Snapshot
from ._snapshot import id_order, open_24h_flags
from .dumps import FORMATS
from .public import DataLicence, public_feature, property_schema

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
COLLECTION = "stations"
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
)
OPENAPI_TYPE = "application/vnd.oai.openapi+json;version=3.0"
GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
SCHEMA_JSON = "application/schema+json"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
QUERYABLES: tuple[str, ...] = ("province", "city", "county", "adcode", "status", "access", "entry",
                               "geocode_precision", "open_24h", *AMENITY_FIELDS)
"""Properties a client may filter on, each by equality (``?county=昌黎县&amenity_toilet=yes``)."""
LIMIT_DEFAULT = 100
TITLE = "工会驿站 / Outdoor-worker rest stations"
DESCRIPTION = ("Union-run rest stations (工会驿站 / 户外劳动者服务站点) for sanitation workers, couriers, delivery "
               "riders and drivers: position, opening hours, amenities (yes / no / unknown), who may use them, "
               "status.")
CRS_NOTE = ("Positions are WGS-84 longitude/latitude (CRS84), as OGC API - Features requires. GCJ-02 (Amap, "
            "Tencent) and BD-09 (Baidu) have no EPSG code; for positions to draw on those maps ask this "
            "service's own API: /api/v1/stations?crs=gcj02 (or crs=bd09) for a box or a page of stations, "
            "/api/v1/stations/{id}?crs=gcj02 for one.")


@dataclass(frozen=True)
class ItemsQuery:
    """A parsed items request. ``bbox`` is (min_lon, min_lat, max_lon, max_lat) in CRS84;
    ``equals`` maps queryables to the value they must have; ``amenities`` must all be yes."""

    limit: int = LIMIT_DEFAULT
    bbox: tuple[float, float, float, float] | None = None
    equals: Mapping[str, Any] = field(default_factory=dict)
    amenities: tuple[str, ...] = ()
    cursor: str | None = None


@dataclass(frozen=True)
class ItemsPage:
    features: list[dict]
    matched: int
    next_cursor: str | None


def parse_bbox(raw: str) -> tuple[float, float, float, float]:
    """``bbox`` as four or six comma-separated numbers (CRS84, heights ignored)."""
    allowed = "min_lon,min_lat,max_lon,max_lat (or six numbers with heights), WGS-84 degrees"
    try:
        parts = [float(s) for s in raw.split(",")]
    except ValueError:
        parts = []
    if len(parts) not in (4, 6) or not all(math.isfinite(x) for x in parts):
        raise ValidationError.from_problems([Problem("bbox", raw, "not four or six numbers", allowed)], what="query")
    min_lon, min_lat, max_lon, max_lat = parts if len(parts) == 4 else (parts[0], parts[1], parts[3], parts[4])
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise ValidationError.from_problems([Problem(
            "bbox", raw, "outside -180..180 / -90..90, or min latitude above max", allowed
            + " (min_lon > max_lon crosses the antimeridian)")], what="query")
    return min_lon, min_lat, max_lon, max_lat


def _instant(text: str) -> dt.datetime | dt.date:
    if "T" in text or "t" in text:
        # A space where the offset's "+" was: a client left it unencoded in the URL.
        value = dt.datetime.fromisoformat(text.replace(" ", "+").replace("z", "Z").replace("Z", "+00:00"))
        if value.tzinfo is None:
            raise ValueError("no time zone")
        return value
    return dt.date.fromisoformat(text)


def parse_datetime(raw: str) -> str:
    """Check ``datetime``: an RFC 3339 date or date-time (with offset), or an interval
    ``start/end`` with ``..`` or nothing for an open end. Returns it unchanged."""
    parts = raw.split("/")
    try:
        if len(parts) == 1 and parts[0] not in ("", ".."):
            _instant(parts[0])
            return raw
        if len(parts) == 2 and any(p not in ("", "..") for p in parts):
            ends = [None if p in ("", "..") else _instant(p) for p in parts]
            if ends[0] is not None and ends[1] is not None:
                if isinstance(ends[0], dt.datetime) != isinstance(ends[1], dt.datetime) or ends[0] > ends[1]:
                    raise ValueError("start after end")
            return raw
    except ValueError:
        pass
    raise ValidationError.from_problems([Problem(
        "datetime", raw, "not an RFC 3339 date-time or interval",
        "2026-11-22T08:00:00Z, 2026-11-22, 2026-01-01T00:00:00Z/.., ../2026-12-31")], what="query")


def _clamp(limit: int, page_max: int) -> int:
    return max(1, min(int(limit), int(page_max)))


def select_items(snapshot: Snapshot, query: ItemsQuery, *, page_max: int) -> ItemsPage:
    """The page of matching stations after ``query.cursor``, in station-id order.

    ``query.limit`` is clamped to ``page_max``. ``matched`` counts every match in this
    snapshot; ``next_cursor`` is the last id of the page when more matches follow it.
    """
    limit = _clamp(query.limit, page_max)
    frame = snapshot.frame
    mask = np.ones(len(frame), dtype=bool)
    for name, value in query.equals.items():
        column = open_24h_flags(snapshot) if name == "open_24h" else frame[name].to_numpy(dtype=object)
        mask &= np.asarray(column == value, dtype=bool)
    for code in query.amenities:
        mask &= (frame[f"amenity_{code}"] == "yes").to_numpy(dtype=bool)
    if query.bbox is not None:
        min_lon, min_lat, max_lon, max_lat = query.bbox
        lat, lon = frame["lat"].to_numpy(), frame["lon"].to_numpy()
        with np.errstate(invalid="ignore"):
            in_lon = (lon >= min_lon) & (lon <= max_lon) if min_lon <= max_lon else (lon >= min_lon) | (lon <= max_lon)
            inside = in_lon & (lat >= min_lat) & (lat <= max_lat)
        mask &= inside | np.isnan(lat) | np.isnan(lon)  # Part 1: stations without a position match too
    order, ids = id_order(snapshot)
    in_order = mask[order]
    start = int(np.searchsorted(ids, query.cursor, side="right")) if query.cursor is not None else 0
    hits = np.flatnonzero(in_order[start:])[: limit + 1] + start
    more = len(hits) > limit
    hits = hits[:limit]
    features = [public_feature(snapshot.record(int(order[i]))) for i in hits]
    return ItemsPage(features=features, matched=int(mask.sum()), next_cursor=str(ids[hits[-1]]) if more else None)


def find_item(snapshot: Snapshot, feature_id: str) -> dict | None:
    """One station's feature, or None."""
    pos = snapshot.by_id.get(feature_id)
    return None if pos is None else public_feature(snapshot.record(pos))


def spatial_extent(snapshot: Snapshot) -> list[float] | None:
    """[min_lon, min_lat, max_lon, max_lat] of every positioned station, or None."""
    key = ("opendata", "extent")
    if key not in snapshot.cache:
        lat, lon = snapshot.frame["lat"].to_numpy(), snapshot.frame["lon"].to_numpy()
        ok = ~(np.isnan(lat) | np.isnan(lon))
        snapshot.cache[key] = ([float(lon[ok].min()), float(lat[ok].min()), float(lon[ok].max()),
                                float(lat[ok].max())] if ok.any() else None)
    return snapshot.cache[key]


# -- documents ---------------------------------------------------------------------------------

def link(href: str, rel: str, type: str | None = None, title: str | None = None) -> dict:
    out = {"href": href, "rel": rel}
    if type:
        out["type"] = type
    if title:
        out["title"] = title
    return out


def url(base: str, path: str = "", args: Mapping[str, str] | None = None) -> str:
    """``base + path`` with ``args`` as its query (in the given order)."""
    query = urlencode([(k, v) for k, v in (args or {}).items() if v is not None])
    return base + path + (f"?{query}" if query else "")


def _self_and_alternate(base: str, path: str, args: Mapping[str, str], json_type: str, f: str) -> list[dict]:
    """``self`` in the format answered (``f``), ``alternate`` in the other one."""
    as_json = {**args, "f": "json"}
    as_html = {**args, "f": "html"}
    json_link = url(base, path, as_json)
    html_link = url(base, path, as_html)
    if f == "html":
        return [link(html_link, "self", HTML, "This document"), link(json_link, "alternate", json_type, "As JSON")]
    return [link(json_link, "self", json_type, "This document"), link(html_link, "alternate", HTML, "As HTML")]


def _licence_links(licence: DataLicence) -> list[dict]:
    return [link(licence.url, "license", HTML, licence.title)] if licence.url else []


def _dump_links(site: str) -> list[dict]:
    return [link(f"{site}/opendata/stations.{fmt}", "enclosure", media, f"The whole data set: {text}")
            for fmt, (media, text) in FORMATS.items()]


def landing_page(base: str, site: str, licence: DataLicence, *, f: str = "json") -> dict:
    """The landing page: links to the API definition, conformance, collections, dumps."""
    return {
        "title": TITLE + " — OGC API - Features",
        "description": f"{DESCRIPTION} {CRS_NOTE} {licence.statement()}",
        "attribution": licence.attribution or None,
        "licence": licence.as_dict(),
        "links": [
            *_self_and_alternate(base, "", {}, JSON, f),
            link(url(base, "/api", {"f": "json"}), "service-desc", OPENAPI_TYPE, "The API definition (OpenAPI 3.0)"),
            link(url(base, "/api", {"f": "html"}), "service-doc", HTML, "The API documentation"),
            link(url(base, "/conformance"), "conformance", JSON, "Conformance classes implemented"),
            link(url(base, "/collections"), "data", JSON, "The feature collections"),
            *_licence_links(licence),
            *_dump_links(site),
            link(f"{site}/api/v1/changes?since=0", "related", JSON, "Change feed: what changed since a revision"),
        ],
    }


def conformance(base: str, *, f: str = "json") -> dict:
    return {"conformsTo": list(CONFORMANCE), "links": _self_and_alternate(base, "/conformance", {}, JSON, f)}


def collection(base: str, site: str, snapshot: Snapshot, licence: DataLicence, *, f: str = "json") -> dict:
    """The collection ``stations``: description, extent (CRS84) and its links."""
    path = f"/collections/{COLLECTION}"
    doc = {
        "id": COLLECTION,
        "title": TITLE,
        "description": (f"{DESCRIPTION} Every station of the directory, temporarily closed and removed ones "
                        f"included (see status and status_reason). {CRS_NOTE} Stations have no temporal "
                        "geometry: datetime is accepted and matches every station. Filters: bbox, each "
                        "queryable by equality (see queryables), amenities=a,b (all yes). "
                        f"{licence.statement()}"),
        "itemType": "feature",
        "crs": [CRS84],
        "attribution": licence.attribution or None,
        "links": [
            *_self_and_alternate(base, path, {}, JSON, f),
            link(url(base, path + "/items", {"f": "json"}), "items", GEOJSON, "The stations as GeoJSON"),
            link(url(base, path + "/items", {"f": "html"}), "items", HTML, "The stations as HTML"),
            link(url(base, path + "/queryables"), QUERYABLES_REL, SCHEMA_JSON, "Properties to filter on"),
            *_licence_links(licence),
            *_dump_links(site),
        ],
    }
    extent = spatial_extent(snapshot)
    if extent is not None:
        doc["extent"] = {"spatial": {"bbox": [extent], "crs": CRS84}}
    return doc


def collections(base: str, site: str, snapshot: Snapshot, licence: DataLicence, *, f: str = "json") -> dict:
    return {"links": _self_and_alternate(base, "/collections", {}, JSON, f),
            "collections": [collection(base, site, snapshot, licence, f="json")]}


def queryables(base: str, *, f: str = "json") -> dict:
    """The queryables (JSON Schema 2020-12): each one is also a query parameter of items."""
    path = f"/collections/{COLLECTION}/queryables"
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": base + path, "type": "object",
            "title": TITLE, "properties": {name: property_schema(name) for name in QUERYABLES},
            "additionalProperties": False, "links": _self_and_alternate(base, path, {}, SCHEMA_JSON, f)}


def items_document(base: str, page: ItemsPage, args: Mapping[str, str], *, f: str = "json") -> dict:
    """The FeatureCollection of one page, with self, alternate, collection and next links."""
    path = f"/collections/{COLLECTION}/items"
    args = {k: v for k, v in args.items() if k != "f"}
    links = _self_and_alternate(base, path, args, GEOJSON, f)
    links.append(link(url(base, f"/collections/{COLLECTION}"), "collection", JSON, "The collection"))
    if page.next_cursor is not None:
        links.append(link(url(base, path, {**args, "cursor": page.next_cursor, "f": f}), "next",
                          HTML if f == "html" else GEOJSON, "Next page"))
    return {"type": "FeatureCollection", "numberMatched": page.matched, "numberReturned": len(page.features),
            "features": page.features, "links": links}


def item_document(base: str, feature: dict, *, f: str = "json") -> dict:
    path = f"/collections/{COLLECTION}/items/{quote(str(feature['id']), safe='')}"
    return {**feature, "links": [*_self_and_alternate(base, path, {}, GEOJSON, f),
                                 link(url(base, f"/collections/{COLLECTION}"), "collection", JSON, "The collection")]}
