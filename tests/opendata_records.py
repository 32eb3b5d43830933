"""Stations whose every answer can be checked by hand, for the open-data tests.

A grid of stations 0.01 degrees apart (rows north, columns east of 39.70 N 119.10 E), each
with a Chinese name; counties, adcodes, hours, amenities and statuses follow the station's
number so that any filter's answer can be worked out from the number alone. Two more sit on
either side of the antimeridian and one has no position yet.
"""

from __future__ import annotations

from pathlib import Path

from stations.records import check_record, empty_record
from stations.store import Change, open_store

ROWS, COLS = 5, 6
LAT0, LON0, STEP = 39.70, 119.10, 0.01


def grid_record(row: int, col: int) -> dict:
    n = row * COLS + col
    rec = empty_record()
    lat, lon = round(LAT0 + row * STEP, 6), round(LON0 + col * STEP, 6)
    rec.update(
        station_id=f"G{row}{col}", name=f"昌黎测试驿站{n}号", address=f"河北省秦皇岛市昌黎县测试路{n}号",
        province="河北省", city="秦皇岛市", county="昌黎县" if n % 2 else "蔚县", adcode="130322" if n % 2 else "130726",
        lat=lat, lon=lon, raw_lat=lat, raw_lon=lon, raw_crs="wgs84", geocode_precision="exact",
        geocode_provider="source", opening_hours="24/7" if n % 3 == 0 else "Mo-Su 08:00-18:00",
        amenity_toilet="yes" if n % 4 == 0 else "no", amenity_microwave="yes" if n % 5 == 0 else "unknown",
        access="everyone" if n % 2 else "outdoor_workers", entry="staffed", operator="昌黎县总工会",
        last_verified=f"2026-0{1 + n % 9}-15", notes="合成测试数据 synthetic test data", source="test")
    if n % 7 == 6:
        rec.update(status="temporarily_closed", status_reason="装修 renovation")
    if n % 11 == 10:
        rec.update(status="removed", status_reason="拆除 demolished")
    return rec


def edge_records() -> list[dict]:
    """Two stations beside the antimeridian (for bbox) and one without a position."""
    out = []
    for sid, lon in (("E1", 179.9), ("E2", -179.9)):
        rec = empty_record()
        rec.update(station_id=sid, name=f"日界线测试{sid}", lat=10.0, lon=lon, raw_lat=10.0, raw_lon=lon,
                   raw_crs="wgs84", geocode_precision="exact", opening_hours="24/7")
        out.append(rec)
    rec = empty_record()
    rec.update(station_id="NOPOS", name="尚未定位的驿站", county="昌黎县", adcode="130322")
    out.append(rec)
    return out


def all_records() -> list[dict]:
    records = [grid_record(r, c) for r in range(ROWS) for c in range(COLS)] + edge_records()
    for rec in records:
        check_record(rec)
    return records


def make_store(path: Path, records: list[dict] | None = None) -> Path:
    with open_store(path) as store:
        store.apply([Change("add", r) for r in (records if records is not None else all_records())], command="test")
    return path
