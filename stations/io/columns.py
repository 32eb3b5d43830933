"""Map a file's column names (Chinese, English, OpenStreetMap tags) to record fields."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..amenities import AMENITIES
from ..errors import ImportFileError
from ..records import FIELD_NAMES

# Canonical field -> names seen in union spreadsheets, open data and OSM exports.
# Matching ignores case, spaces, brackets and what is inside them ("经度(WGS84)" -> "经度").
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "station_id": ("站点编号", "编号", "驿站编号", "站点id", "站点代码", "id", "stationid", "@id", "osmid", "ref"),
    "name": ("站点名称", "名称", "驿站名称", "站名", "站点", "服务站点名称", "name", "name:zh", "stationname"),
    "name_en": ("英文名称", "英文名", "name:en", "nameen", "englishname"),
    "address": ("地址", "详细地址", "站点地址", "具体位置", "位置", "address", "addr:full", "addr", "location"),
    "province": ("省", "省份", "所属省份", "省级", "province", "addr:province"),
    "city": ("市", "城市", "地市", "所属城市", "所属地市", "city", "addr:city"),
    "county": ("区县", "县区", "区/县", "县/区", "所属区县", "区", "县", "county", "district", "borough",
               "addr:district"),
    "adcode": ("行政区划代码", "区划代码", "行政代码", "adcode"),
    "lon": ("经度", "lng", "lon", "long", "longitude", "x", "东经"),
    "lat": ("纬度", "lat", "latitude", "y", "北纬"),
    "lonlat": ("经纬度", "坐标", "lnglat", "lonlat", "coordinates", "位置坐标"),
    "raw_crs": ("坐标系", "坐标系统", "坐标类型", "crs", "coordsystem", "coordinatesystem", "coordtype", "raw_crs"),
    "opening_hours": ("开放时间", "营业时间", "服务时间", "开放时段", "开放时间段", "openinghours", "opening_hours",
                      "hours"),
    "open_24h": ("是否24小时", "24小时", "24小时开放", "是否24小时开放", "全天开放", "open24h", "24h"),
    "amenities": ("设施/服务", "设施", "服务", "服务项目", "配套设施", "服务内容", "服务功能", "设施服务", "amenities",
                  "facilities", "services"),
    "access": ("服务对象", "开放对象", "适用人群", "服务人群", "access"),
    "entry": ("进入方式", "开门方式", "入站方式", "entry"),
    "status": ("状态", "运营状态", "站点状态", "status"),
    "status_reason": ("状态原因", "停用原因", "关闭原因", "撤销原因", "statusreason", "status_reason"),
    "operator": ("运营单位", "管理单位", "建设单位", "运营方", "主管单位", "operator"),
    "contact": ("联系电话", "电话", "联系方式", "联系人电话", "contact", "phone", "contact:phone"),
    "last_verified": ("核实日期", "更新日期", "最后核实", "最近核实日期", "核查日期", "lastverified", "last_verified",
                      "checkdate", "check_date"),
    "notes": ("备注", "说明", "notes", "note", "description"),
    "geocode_precision": ("定位精度", "geocode_precision", "precision"),
    "geocode_provider": ("定位来源", "geocode_provider"),
    "timezone": ("时区", "timezone"),
    "osm_amenity": ("amenity",),
}
EXTRA_FIELDS = ("lonlat", "open_24h", "amenities", "osm_amenity")
# Columns that say where a row came from. That is not a station's field: the import batch
# records the file (name and SHA-256), and a station's history names its batches. Ignored
# with a note, so that files exported by older versions (with a `source` column) still import.
PROVENANCE_HEADERS = ("数据来源", "来源", "源", "source")


def _key(name: str) -> str:
    name = re.sub(r"[（(【\[].*?[)）】\]]", "", str(name))
    return re.sub(r"[\s_\-]", "", name).lower()


def _build() -> dict[str, str]:
    table: dict[str, str] = {}
    for canonical in FIELD_NAMES:
        table[_key(canonical)] = canonical
    for canonical, aliases in FIELD_ALIASES.items():
        for alias in aliases:
            table.setdefault(_key(alias), canonical)
    for a in AMENITIES:
        for alias in (a.zh, a.en, *a.aliases, f"amenity_{a.code}"):
            table.setdefault(_key(alias), f"amenity_{a.code}")
    return table


_TABLE = _build()
_PROVENANCE = frozenset(_key(h) for h in PROVENANCE_HEADERS)


@dataclass
class ColumnMap:
    """Which source column feeds which field; ``ignored`` columns matched nothing."""

    fields: dict[str, str] = field(default_factory=dict)  # field -> source column
    ignored: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # why a known column was ignored


def map_columns(columns, *, file_name: str, has_geometry: bool) -> ColumnMap:
    """Map source ``columns`` to fields; raise if the file lacks what every record needs.

    A file must have a name column and a way to place stations: longitude and latitude
    columns, a combined coordinate column, a geometry, or an address to geocode.
    """
    cmap = ColumnMap()
    for col in columns:
        if _key(col) in _PROVENANCE:
            cmap.ignored.append(str(col))
            cmap.notes.append(f"column {str(col)!r} (where the rows came from) is ignored: the import batch records "
                              f"the file {file_name!r} and its SHA-256, and `stations history ID` shows them")
            continue
        canonical = _TABLE.get(_key(col))
        # lat/lon columns with a unit suffix, e.g. "经度(GCJ-02)": the bracket names the CRS.
        if canonical is None or canonical in cmap.fields:
            cmap.ignored.append(str(col))
            continue
        cmap.fields[canonical] = str(col)
    f = cmap.fields
    if "name" not in f:
        raise ImportFileError(
            f"{file_name}: missing required column for the station name; accepted headers: "
            f"{', '.join(FIELD_ALIASES['name'][:6])} (found: {', '.join(map(str, columns)) or 'none'})")
    has_coords = ("lat" in f and "lon" in f) or "lonlat" in f
    if ("lat" in f) != ("lon" in f):
        have, lack = ("lat", "lon") if "lat" in f else ("lon", "lat")
        raise ImportFileError(
            f"{file_name}: column {f[have]!r} has no matching {'longitude' if lack == 'lon' else 'latitude'} column; "
            f"accepted headers: {', '.join(FIELD_ALIASES[lack][:5])}")
    if not (has_coords or has_geometry or "address" in f):
        raise ImportFileError(
            f"{file_name}: no way to place the stations: add 经度 and 纬度 (longitude, latitude) columns "
            f"or an address column ({', '.join(FIELD_ALIASES['address'][:4])})")
    return cmap


def header_crs(column: str | None) -> str | None:
    """The coordinate system named in a header's brackets, e.g. "经度(GCJ-02)" -> "gcj02"."""
    if not column:
        return None
    m = re.search(r"[（(【\[](.*?)[)）】\]]", column)
    if not m:
        return None
    from ..geo import parse_crs

    try:
        return parse_crs(m.group(1))
    except ValueError:
        return None
