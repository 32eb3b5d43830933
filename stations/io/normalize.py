"""Turn raw cells into records: one pass per row, collecting every problem.

Each row ends as a :class:`RowResult`: a record (when it has no errors), its errors (the
row is rejected, with row number, field, value and reason) and its warnings (the row is
kept; something was not understood and was kept verbatim or left unknown).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from ..amenities import parse_amenity_list, parse_amenity_value
from ..errors import Problem
from ..records import (ACCESS_VALUES, AMENITY_FIELDS, ENTRY_VALUES, STATUS_VALUES, empty_record,
                       is_missing, validate_record)
from .columns import ColumnMap, header_crs
from .readers import RawTable


@dataclass(slots=True)
class RowResult:
    row: int  # 1-based data row (the header is not counted)
    record: dict | None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


_ACCESS = {
    "everyone": ("所有人", "全体", "公众", "社会公众", "全部", "不限", "public", "yes", "permissive", "everyone", "all"),
    "outdoor_workers": ("户外劳动者", "户外工作者", "户外职工", "新就业形态劳动者", "环卫工人", "快递员", "外卖员",
                        "外卖骑手", "outdoor workers", "outdoor_workers", "workers"),
    "members": ("工会会员", "会员", "职工", "members", "private"),
    "unknown": ("未知", "unknown"),
}
_ENTRY = {
    "staffed": ("有人值守", "人工值守", "专人值守", "值守", "staffed"),
    "qr_code": ("扫码", "扫码进入", "扫码开门", "二维码", "qr", "qr code", "qr_code"),
    "card": ("刷卡", "刷身份证", "身份证", "刷卡进入", "card"),
    "phone": ("手机号", "手机号开门", "电话", "phone"),
    "face": ("人脸识别", "刷脸", "face"),
    "open": ("自由进入", "开放式", "直接进入", "open", "walk in"),
    "unknown": ("未知", "unknown"),
}
_STATUS = {
    "open": ("正常", "运营中", "开放", "开放中", "启用", "在用", "正常运营", "open", "active", "operational"),
    "temporarily_closed": ("暂停", "暂停开放", "暂停使用", "维修", "维修中", "临时关闭", "装修", "temporarily closed",
                           "temporarily_closed", "closed temporarily"),
    "removed": ("撤销", "已撤销", "停用", "已停用", "拆除", "已拆除", "关闭", "removed", "demolished"),
}


def _lookup_table(mapping: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {alias.lower(): code for code, aliases in mapping.items() for alias in (code, *aliases)}


_ACCESS_T, _ENTRY_T, _STATUS_T = _lookup_table(_ACCESS), _lookup_table(_ENTRY), _lookup_table(_STATUS)
_OSM_AMENITY = {"drinking_water": "drinking_water", "toilets": "toilet", "charging_station": "ebike_charging",
                "shelter": "seating", "bench": "seating", "water_point": "drinking_water"}


def _text(value: Any) -> str | None:
    """A cell as stripped text; numbers without a spurious ".0"; None for empty."""
    if is_missing(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (_dt.datetime, pd.Timestamp)):
        return value.isoformat()
    return str(value).strip()


def _enum(value: str, table: dict[str, str], field_name: str, allowed, row: int) -> tuple[str | None, Problem | None]:
    code = table.get(value.lower())
    if code is None:
        # "扫码进入/刷身份证" — several ways: keep the first one recognised.
        for part in re.split(r"[、，,/;；\s]+", value):
            code = table.get(part.lower())
            if code:
                break
    if code is None:
        return None, Problem(field_name, value, "not understood; left as unknown" if "unknown" in allowed
                             else "not understood", ", ".join(allowed), row)
    return code, None


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T].*)?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


@lru_cache(maxsize=4096)
def parse_date(text: str) -> str | None:
    """ISO date from "2025-06-01", "2025/6/1", "2025年6月1日", "20250601"; None if not a date."""
    for pat in _DATE_PATTERNS:
        m = pat.match(text.strip())
        if m:
            try:
                return _dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
            except ValueError:
                return None
    return None


@lru_cache(maxsize=65536)
def _hours(text: str):
    from ..hours import normalize_hours

    return normalize_hours(text)


def _float_column(series: pd.Series | None, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Parse a coordinate column: (values with NaN for empty/bad, mask of non-numeric cells)."""
    if series is None:
        return np.full(n, np.nan), np.zeros(n, bool)
    cleaned = series.map(lambda v: v.strip().replace("，", ".").rstrip("°") if isinstance(v, str) else v)
    values = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype="float64")
    empty = cleaned.map(is_missing).to_numpy(dtype=bool)
    bad = np.isnan(values) & ~empty
    return values, bad


def _split_lonlat(series: pd.Series, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A combined "经纬度" cell "116.40,39.90" (Amap order). In China longitudes (73-135) and
    latitudes (18-54) do not overlap, so a reversed pair is recognised and put right."""
    lons, lats, bad = np.full(n, np.nan), np.full(n, np.nan), np.zeros(n, bool)
    for i, value in enumerate(series):
        if is_missing(value):
            continue
        parts = re.split(r"[,，\s;；]+", str(value).strip())
        try:
            a, b = float(parts[0]), float(parts[1])
        except (ValueError, IndexError):
            bad[i] = True
            continue
        if 73 <= b <= 135 and 3 <= a <= 54:
            a, b = b, a
        lons[i], lats[i] = a, b
    return lons, lats, bad


def _coordinates(raw: RawTable, cmap: ColumnMap, default_crs: str, results: list[RowResult]) -> None:
    """Fill lat/lon/raw_* of every row, vectorised; record coordinate problems per row."""
    from .. import geo

    frame, f = raw.frame, cmap.fields
    n = len(frame)
    if "lonlat" in f and not ("lat" in f and "lon" in f):
        lon, lat, bad = _split_lonlat(frame[f["lonlat"]], n)
        bad_lat = bad_lon = bad
        lat_field, lon_field = f["lonlat"], f["lonlat"]
    else:
        lat, bad_lat = _float_column(frame[f["lat"]] if "lat" in f else None, n)
        lon, bad_lon = _float_column(frame[f["lon"]] if "lon" in f else None, n)
        lat_field, lon_field = f.get("lat", "lat"), f.get("lon", "lon")
    if raw.geometry is not None:
        for i, pt in enumerate(raw.geometry):
            if pt is not None and np.isnan(lat[i]) and np.isnan(lon[i]):
                lon[i], lat[i] = pt[0], pt[1]
            kind = raw.geometry_kind[i]
            if kind not in (None, "Point"):
                results[i].warnings.append(Problem("geometry", kind, "not a point; its representative point is used",
                                                   "Point", results[i].row))
    file_crs = header_crs(f.get("lat")) or header_crs(f.get("lon")) or header_crs(f.get("lonlat")) or default_crs
    crs = np.array([file_crs] * n, dtype=object)
    # Our own export format: lat/lon are WGS-84 and raw_lat/raw_lon/raw_crs say what the
    # original source gave; keep both as they are.
    canonical = "raw_lat" in f and "raw_lon" in f
    if canonical:
        crs[:] = "wgs84"
    if "raw_crs" in f and not canonical:
        parsed: dict = {}
        for i, value in enumerate(frame[f["raw_crs"]]):
            text = _text(value)
            if text is None:
                continue
            try:
                if text not in parsed:
                    parsed[text] = geo.parse_crs(text) or file_crs
                crs[i] = parsed[text]
            except ValueError:
                results[i].errors.append(Problem("raw_crs", text, "unknown coordinate system",
                                                 ", ".join(geo.CRS_NAMES) + " (or 高德/GCJ-02, 百度/BD-09, WGS84)",
                                                 results[i].row))
                crs[i] = None
    has = ~np.isnan(lat) & ~np.isnan(lon)
    for i in np.flatnonzero(bad_lat | bad_lon):
        r = results[i]
        if bad_lat[i]:
            r.errors.append(Problem("lat", frame[lat_field].iloc[i], "not a number", "decimal degrees, e.g. 39.7125", r.row))
        if bad_lon[i] and (lon_field != lat_field or not bad_lat[i]):
            r.errors.append(Problem("lon", frame[lon_field].iloc[i], "not a number", "decimal degrees, e.g. 119.1637", r.row))
    half = (np.isnan(lat) != np.isnan(lon)) & ~bad_lat & ~bad_lon
    for i in np.flatnonzero(half):
        missing = "lat" if np.isnan(lat[i]) else "lon"
        results[i].errors.append(Problem(missing, None, "latitude and longitude must be given together",
                                         "both or neither", results[i].row))
    out_of_range = has & ((np.abs(lat) > 90) | (np.abs(lon) > 180))
    swapped = np.zeros(n, bool)
    if has.any():
        idx = np.flatnonzero(has & ~out_of_range)
        swapped_sub = geo.looks_swapped(lat[idx], lon[idx]) if len(idx) else np.zeros(0, bool)
        swapped[idx] = np.asarray(swapped_sub, bool)
        # 纬度 116, 经度 39: out of range one way, inside China the other.
        for i in np.flatnonzero(out_of_range):
            if abs(lon[i]) <= 90 and bool(geo.in_mainland_china(lon[i], lat[i])):
                swapped[i] = True
    for i in np.flatnonzero(swapped):
        r = results[i]
        r.errors.append(Problem("lat", lat[i], f"latitude and longitude look swapped (纬度 {lat[i]:g}, 经度 {lon[i]:g}; "
                                "swapped they fall in China)", "纬度 = latitude (3 to 54 in China), "
                                "经度 = longitude (73 to 135 in China)", r.row))
    for i in np.flatnonzero(out_of_range & ~swapped):
        r = results[i]
        if abs(lat[i]) > 90:
            r.errors.append(Problem("lat", lat[i], "latitude out of range", "-90 to 90", r.row))
        if abs(lon[i]) > 180:
            r.errors.append(Problem("lon", lon[i], "longitude out of range", "-180 to 180", r.row))
    ok = has & ~out_of_range & ~swapped & np.array([c is not None for c in crs])
    wlat, wlon = np.full(n, np.nan), np.full(n, np.nan)
    for name in set(c for c in crs[ok]):
        sel = ok & (crs == name)
        clat, clon = geo.to_wgs84(lat[sel], lon[sel], name, outside="nan")
        wlat[sel], wlon[sel] = clat, clon
    outside = ok & np.isnan(wlat)
    for i in np.flatnonzero(outside):
        r = results[i]
        r.errors.append(Problem("raw_crs", crs[i], f"a {crs[i]} coordinate ({lat[i]:g}, {lon[i]:g}) lies outside "
                                "mainland China, where that system does not exist",
                                "wgs84 for points outside mainland China", r.row))
    for i in np.flatnonzero(ok & ~outside):
        rec = results[i].record
        rec.update(lat=float(wlat[i]), lon=float(wlon[i]), raw_lat=float(lat[i]), raw_lon=float(lon[i]),
                   raw_crs=crs[i])
    if canonical:
        rlat, _ = _float_column(frame[f["raw_lat"]], n)
        rlon, _ = _float_column(frame[f["raw_lon"]], n)
        rcrs = frame[f["raw_crs"]].tolist() if "raw_crs" in f else [None] * n
        for i, res in enumerate(results):
            res.record.update(raw_lat=None if np.isnan(rlat[i]) else float(rlat[i]),
                              raw_lon=None if np.isnan(rlon[i]) else float(rlon[i]), raw_crs=_text(rcrs[i]))


def _station_id(rec: dict) -> str:
    """A stable id for a row that has none: the same name, address and raw position give
    the same id on every import, so importing a file twice changes nothing."""
    key = "|".join(str(rec.get(k) or "") for k in ("name", "address", "province", "city", "county"))
    if rec.get("raw_lat") is not None:
        key += f"|{rec['raw_lat']:.6f}|{rec['raw_lon']:.6f}"
    return "ST-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12].upper()


# Columns read as text once, up front (the per-row code then uses them as they are).
_TEXTUAL = ("station_id", "opening_hours", "opening_hours_raw", "open_24h", "access", "entry", "status",
            "geocode_precision")
_PLAIN = ("name", "name_en", "address", "province", "city", "county", "adcode", "status_reason", "operator",
          "contact", "notes", "geocode_provider", "timezone")


def normalize_rows(raw: RawTable, cmap: ColumnMap, *, default_crs: str = "wgs84") -> list[RowResult]:
    """Normalise every row of ``raw``; see the module docstring."""
    frame, f = raw.frame, cmap.fields
    n = len(frame)
    results = [RowResult(row=i + 1, record=empty_record()) for i in range(n)]
    _coordinates(raw, cmap, default_crs, results)
    columns = {name: frame[col].tolist() for name, col in f.items()}
    for name in _PLAIN + _TEXTUAL:
        if name in columns:
            columns[name] = _text_column(columns[name])
    amenity_cols = [name for name in f if name in AMENITY_FIELDS]
    amenity_values = {name: _amenity_column(columns[name]) for name in amenity_cols}
    for i, res in enumerate(results):
        rec, row = res.record, res.row
        for name in _PLAIN:
            if name in columns:
                rec[name] = columns[name][i]
        if rec.get("timezone") is None:
            rec["timezone"] = "Asia/Shanghai"
        if "station_id" in columns:
            rec["station_id"] = columns["station_id"][i]
        _amenities(rec, columns, amenity_values, i, res)
        _enums(rec, columns, i, res)
        _hours_fields(rec, columns, i, res)
        if "last_verified" in columns:
            value = columns["last_verified"][i]
            if is_missing(value):
                pass
            elif isinstance(value, (_dt.datetime, _dt.date)):
                rec["last_verified"] = value.date().isoformat() if isinstance(value, _dt.datetime) else value.isoformat()
            elif (text := _text(value)) is not None:
                iso = parse_date(text)
                if iso is None:
                    res.errors.append(Problem("last_verified", text, "not a date", "YYYY-MM-DD, 2025/6/1 or 2025年6月1日", row))
                rec["last_verified"] = iso
        if "geocode_precision" in columns and (text := columns["geocode_precision"][i]):
            rec["geocode_precision"] = text
        if rec.get("lat") is not None and rec.get("geocode_precision") is None:
            rec["geocode_precision"] = "exact"
            rec["geocode_provider"] = rec.get("geocode_provider") or "source"
        if rec.get("lat") is None and rec.get("geocode_precision") is not None and not res.errors:
            rec["geocode_precision"] = None  # a precision without a position means nothing
        if not rec.get("station_id"):
            rec["station_id"] = _station_id(rec)
        res.errors.extend(p for p in validate_record(rec, row=row)
                          if not any(e.field == p.field for e in res.errors))
        if res.errors:
            res.record = None
    return results


def _text_column(values: list) -> list:
    """:func:`_text` over a column, with a fast path for plain strings."""
    out = []
    for v in values:
        if type(v) is str:
            v = v.strip()
            out.append(v or None)
        else:
            out.append(_text(v))
    return out


def _amenity_column(values: list) -> list:
    """:func:`parse_amenity_value` over a column, once per distinct cell value."""
    cache: dict = {}
    out = []
    for v in values:
        try:
            out.append(cache[v])
        except KeyError:
            cache[v] = parse_amenity_value(v)
            out.append(cache[v])
        except TypeError:  # unhashable cell
            out.append(parse_amenity_value(v))
    return out


def _amenities(rec: dict, columns: dict, amenity_values: dict[str, list], i: int, res: RowResult) -> None:
    if "amenities" in columns:
        found, problems = parse_amenity_list(columns["amenities"][i], field="amenities")
        rec.update({f"amenity_{code}": value for code, value in found.items()})
        for p in problems:
            res.warnings.append(Problem(p.field, p.value, "unknown amenity; ignored", p.allowed, res.row))
    if "osm_amenity" in columns:
        code = _OSM_AMENITY.get(str(columns["osm_amenity"][i]).strip().lower())
        if code:
            rec[f"amenity_{code}"] = "yes"
    for name, values in amenity_values.items():
        value = values[i]
        if value is None:
            res.errors.append(Problem(name, columns[name][i], "not a yes/no value", "是/否/空 (yes/no/unknown)", res.row))
        elif value != "unknown" or rec[name] == "unknown":
            rec[name] = value


def _enums(rec: dict, columns: dict, i: int, res: RowResult) -> None:
    for name, table, allowed in (("access", _ACCESS_T, ACCESS_VALUES), ("entry", _ENTRY_T, ENTRY_VALUES),
                                 ("status", _STATUS_T, STATUS_VALUES)):
        if name not in columns or (text := columns[name][i]) is None:
            continue
        code, problem = _enum(text, table, name, allowed, res.row)
        if problem is None:
            rec[name] = code
        elif name == "status":  # a status nobody can read must not silently become "open"
            res.errors.append(problem)
        else:
            rec[name] = "unknown"
            res.warnings.append(problem)


_YES_24 = {"是", "yes", "y", "true", "1", "√", "✓", "24小时", "全天"}
_NO_24 = {"否", "no", "n", "false", "0", "×"}


def _hours_fields(rec: dict, columns: dict, i: int, res: RowResult) -> None:
    from ..hours import is_24_7

    text = columns["opening_hours"][i] if "opening_hours" in columns else None
    if text is not None:
        parsed = _hours(text)
        rec["opening_hours"] = parsed.opening_hours
        if parsed.opening_hours != text:
            rec["opening_hours_raw"] = text
        if parsed.status == "unknown":
            res.warnings.append(Problem("opening_hours", text, f"not understood ({parsed.note}); kept verbatim, "
                                        "hours shown as unknown",
                                        "OSM opening_hours such as 24/7, Mo-Fr 08:00-18:00, or 8:00-18:00", res.row))
    if "opening_hours_raw" in columns and (raw := columns["opening_hours_raw"][i]):
        rec["opening_hours_raw"] = raw
    flag = columns["open_24h"][i] if "open_24h" in columns else None
    if flag is None:
        return
    low = flag.lower()
    if low in _YES_24:
        if rec["opening_hours"] is None and text is None:
            rec["opening_hours"] = "24/7"
        elif not is_24_7(rec["opening_hours"]):
            res.errors.append(Problem("open_24h", flag, f"says open 24 hours but the hours say {text!r}",
                                      "a 24-hour flag that agrees with the hours, or leave one of them empty", res.row))
    elif low in _NO_24:
        if is_24_7(rec["opening_hours"]):
            res.errors.append(Problem("open_24h", flag, f"says not 24 hours but the hours say {text!r}",
                                      "a 24-hour flag that agrees with the hours, or leave one of them empty", res.row))
    else:
        res.errors.append(Problem("open_24h", flag, "not a yes/no value", "是/否 (yes/no)", res.row))
