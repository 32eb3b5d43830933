"""The station record: its fields, allowed values and validation.

A record is a plain ``dict`` keyed by :data:`FIELDS` (one flat row: that is what a
GeoPackage table, a CSV file and a GeoDataFrame hold). Positions are WGS-84 degrees in
``lat``/``lon``; what the source said is kept next to them in ``raw_lat``/``raw_lon``/
``raw_crs``. Amenities are one column each, ``amenity_<code>``, valued
``"yes"``/``"no"``/``"unknown"``. Whether a station is open 24 hours is derived from
``opening_hours`` (see :func:`stations.hours.is_24_7`), never stored as a second flag.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Mapping

from .amenities import AMENITY_CODES, AMENITY_VALUES
from .errors import Problem, ValidationError

ACCESS_VALUES = ("everyone", "outdoor_workers", "members", "unknown")
ACCESS_LABELS = {"everyone": ("所有人", "Everyone"),
                 "outdoor_workers": ("户外劳动者", "Outdoor workers"),
                 "members": ("工会会员", "Union members"), "unknown": ("未知", "Unknown")}
ENTRY_VALUES = ("staffed", "qr_code", "card", "phone", "face", "open", "unknown")
ENTRY_LABELS = {"staffed": ("有人值守", "Staffed"), "qr_code": ("扫码进入", "QR code"),
                "card": ("刷卡/身份证", "Card / ID card"), "phone": ("手机号", "Phone number"),
                "face": ("人脸识别", "Face recognition"), "open": ("自由进入", "Walk in"),
                "unknown": ("未知", "Unknown")}
STATUS_VALUES = ("open", "temporarily_closed", "removed")
STATUS_LABELS = {"open": ("运营中", "In service"), "temporarily_closed": ("暂停开放", "Temporarily closed"),
                 "removed": ("已撤销", "Removed")}
RAW_CRS_VALUES = ("wgs84", "gcj02", "bd09", "cgcs2000")
# Geocode precision, best first. "exact" is a surveyed or GPS position given by the source.
PRECISIONS = ("exact", "street", "town", "county", "city", "province")
# Positions below this precision are kept out of nearest results unless asked and are
# listed by ``stations geocode --review``.
REVIEW_BELOW = "street"
DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # "str", "float", "date", "amenity"
    zh: str
    en: str
    required: bool = False


def _amenity_fields() -> tuple[Field, ...]:
    from .amenities import BY_CODE

    return tuple(Field(f"amenity_{c}", "amenity", BY_CODE[c].zh, BY_CODE[c].en) for c in AMENITY_CODES)


FIELDS: tuple[Field, ...] = (
    Field("station_id", "str", "站点编号", "Station id", True),
    Field("name", "str", "站点名称", "Name (Chinese)", True),
    Field("name_en", "str", "英文名称", "Name (English)"),
    Field("address", "str", "地址", "Address"),
    Field("province", "str", "省份", "Province"),
    Field("city", "str", "城市", "City"),
    Field("county", "str", "区县", "County / district"),
    Field("adcode", "str", "行政区划代码", "Admin code (adcode)"),
    Field("lat", "float", "纬度(WGS-84)", "Latitude (WGS-84)"),
    Field("lon", "float", "经度(WGS-84)", "Longitude (WGS-84)"),
    Field("raw_lat", "float", "原始纬度", "Latitude as given"),
    Field("raw_lon", "float", "原始经度", "Longitude as given"),
    Field("raw_crs", "str", "原始坐标系", "Coordinate system as given"),
    Field("geocode_precision", "str", "定位精度", "Position precision"),
    Field("geocode_provider", "str", "定位来源", "Position provider"),
    *_amenity_fields(),
    Field("opening_hours", "str", "开放时间(OSM)", "Opening hours (OSM syntax)"),
    Field("opening_hours_raw", "str", "开放时间(原文)", "Opening hours as typed"),
    Field("timezone", "str", "时区", "Time zone"),
    Field("access", "str", "服务对象", "Who may use it"),
    Field("entry", "str", "进入方式", "How to get in"),
    Field("status", "str", "状态", "Status", True),
    Field("status_reason", "str", "状态原因", "Status reason"),
    Field("operator", "str", "运营单位", "Operator"),
    Field("contact", "str", "联系电话", "Contact"),
    Field("last_verified", "date", "核实日期", "Last verified"),
    Field("notes", "str", "备注", "Notes"),
)
# Where a row came from is not a field: it belongs to the import batch (``station_batches``
# keeps the file name and its SHA-256), so a station's provenance is its history's batches.
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)
BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
AMENITY_FIELDS: tuple[str, ...] = tuple(f"amenity_{c}" for c in AMENITY_CODES)
FLOAT_FIELDS = tuple(f.name for f in FIELDS if f.kind == "float")


def _empty_template() -> dict[str, Any]:
    rec: dict[str, Any] = {f.name: None for f in FIELDS}
    for name in AMENITY_FIELDS:
        rec[name] = "unknown"
    rec.update(timezone=DEFAULT_TIMEZONE, status="open", access="unknown", entry="unknown")
    return rec


_EMPTY = _empty_template()


def empty_record() -> dict[str, Any]:
    """A record with every field at its "not known" value."""
    return _EMPTY.copy()


def is_missing(value: Any) -> bool:
    """True for None, NaN and blank strings: an empty cell."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, str):
        return not value.strip()
    # pandas' NaT and NA (empty date cells read from a GeoPackage or a workbook)
    return type(value).__name__ in ("NaTType", "NAType")


def adcode_prefix(code: str) -> str:
    """The adcode prefix an area's code stands for: a province's or city's adcode names all of
    it (``510000`` -> ``51``, ``130300`` -> ``1303``; county adcodes never end in 00); a county's
    adcode (``130322``) and a prefix (``13``, ``1303``) stay as they are."""
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


_REVIEW = {p: i > PRECISIONS.index(REVIEW_BELOW) for i, p in enumerate(PRECISIONS)}


def needs_review(precision: str | None) -> bool:
    """True when a position is missing or too coarse to show as the station's real position."""
    return _REVIEW.get(precision, True)


def _enum_problem(rec: Mapping[str, Any], name: str, allowed: Iterable[str], row: int | None) -> Problem | None:
    value = rec.get(name)
    allowed = tuple(allowed)
    if value is None or value in allowed:
        return None
    return Problem(name, value, "not an allowed value", ", ".join(allowed), row)


_AMENITY_OK = frozenset((None, *AMENITY_VALUES))


@lru_cache(maxsize=1024)
def _tz_ok(tz: str) -> bool:
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(tz)
        return True
    except Exception:
        return False


@lru_cache(maxsize=65536)
def _hours_problem(oh: str) -> str | None:
    from . import hours

    return hours.validation_problem(oh)


def validate_record(rec: Mapping[str, Any], *, row: int | None = None) -> list[Problem]:
    """Every problem of one normalised record (empty list when it is valid).

    Checks required fields, allowed values of every enumerated field, latitude/longitude
    ranges (both or neither), the opening-hours syntax, the last-verified date, and that a
    removed or temporarily closed station says why.
    """
    problems: list[Problem] = []
    for name in ("station_id", "name"):
        v = rec.get(name)
        if type(v) is not str or not v.strip():
            problems.append(Problem(name, rec.get(name), "is required", "a non-empty text", row))
    for name, allowed in (("access", ACCESS_VALUES), ("entry", ENTRY_VALUES), ("status", STATUS_VALUES),
                          ("raw_crs", RAW_CRS_VALUES), ("geocode_precision", PRECISIONS)):
        p = _enum_problem(rec, name, allowed, row)
        if p:
            problems.append(p)
    if rec.get("status") is None:
        problems.append(Problem("status", None, "is required", ", ".join(STATUS_VALUES), row))
    for name in AMENITY_FIELDS:
        if rec.get(name) not in _AMENITY_OK:
            problems.append(Problem(name, rec.get(name), "not an allowed value", ", ".join(AMENITY_VALUES), row))
    lat, lon = rec.get("lat"), rec.get("lon")
    if (lat is None) != (lon is None):
        problems.append(Problem("lat" if lat is None else "lon", None,
                                "latitude and longitude must be given together", "both or neither", row))
    for name, lo, hi in (("lat", -90.0, 90.0), ("lon", -180.0, 180.0)):
        v = rec.get(name)
        if v is None:
            continue
        if not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
            problems.append(Problem(name, v, "out of range", f"a number from {lo:g} to {hi:g}", row))
    if lat is not None and rec.get("geocode_precision") is None:
        problems.append(Problem("geocode_precision", None, "a position needs its precision",
                                ", ".join(PRECISIONS), row))
    oh = rec.get("opening_hours")
    if oh is not None:
        msg = _hours_problem(oh)
        if msg:
            problems.append(Problem("opening_hours", oh, f"not valid opening_hours syntax ({msg})",
                                    "OpenStreetMap opening_hours, e.g. '24/7' or 'Mo-Fr 08:00-18:00'", row))
    lv = rec.get("last_verified")
    if lv is not None:
        try:
            _dt.date.fromisoformat(str(lv))
        except ValueError:
            problems.append(Problem("last_verified", lv, "not a date", "YYYY-MM-DD", row))
    if rec.get("status") in ("removed", "temporarily_closed") and is_missing(rec.get("status_reason")):
        problems.append(Problem("status_reason", rec.get("status_reason"),
                                f"a {rec.get('status')} station needs a reason", "a non-empty text", row))
    tz = rec.get("timezone")
    if tz is not None:
        if not _tz_ok(str(tz)):
            problems.append(Problem("timezone", tz, "unknown time zone", "an IANA name such as Asia/Shanghai", row))
    return problems


def check_record(rec: Mapping[str, Any], *, row: int | None = None) -> None:
    """Raise :class:`ValidationError` listing every problem of ``rec``, if any."""
    problems = validate_record(rec, row=row)
    if problems:
        raise ValidationError.from_problems(problems)
