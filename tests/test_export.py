"""Export -> import is lossless, in every export format."""

from __future__ import annotations

import json

import pytest

from stations.io.export import export
from stations.io.importer import import_file
from stations.records import FIELD_NAMES
from stations.store import open_store

from conftest import write_csv
from test_import import HEADER, ROWS


@pytest.fixture
def full_store(store, tmp_path):
    import openpyxl

    from stations.geo import wgs84_to_gcj02

    import_file(store, write_csv(tmp_path / "a.csv", HEADER, ROWS))
    glat, glon = wgs84_to_gcj02(lat=39.70, lon=119.15)
    rows = [["G1", "高德驿站", glon, glat, "GCJ-02", "看情况", "是", "2025-06-01", "暂停开放", "装修"],
            ["G2", "无坐标驿站", None, None, None, "Mo-Fr 08:00-18:00; PH off", "否", None, "正常", None]]
    wb = openpyxl.Workbook()
    wb.active.append(["站点编号", "站点名称", "经度", "纬度", "坐标系", "开放时间", "AED", "核实日期", "状态", "状态原因"])
    for r in rows:
        wb.active.append(r)
    wb.save(tmp_path / "b.xlsx")
    report = import_file(store, tmp_path / "b.xlsx")
    assert report.rejected == 0, report.rejected_rows
    return store


@pytest.mark.parametrize("suffix", ["geojson", "csv", "gpkg"])
def test_export_import_round_trip_is_lossless(full_store, tmp_path, suffix):
    original = full_store.frame()
    out = tmp_path / f"export.{suffix}"
    assert export(original, out) == len(original) == 5
    with open_store(tmp_path / f"again-{suffix}.gpkg") as again:
        report = import_file(again, out)
        assert report.rejected == 0, report.rejected_rows
        back = again.frame()
    cols = list(FIELD_NAMES)
    a = original[cols].astype(object).where(original[cols].notna(), None).to_dict("records")
    b = back[cols].astype(object).where(back[cols].notna(), None).to_dict("records")
    for ra, rb in zip(a, b):
        for k in cols:
            assert ra[k] == rb[k], (k, ra[k], rb[k])


def test_geojson_is_rfc7946(full_store, tmp_path):
    out = tmp_path / "s.geojson"
    export(full_store.frame(), out)
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection" and "crs" not in doc
    feats = {f["id"]: f for f in doc["features"]}
    lon, lat = feats["G1"]["geometry"]["coordinates"]
    assert 119 < lon < 120 and 39 < lat < 40  # longitude first
    assert feats["G2"]["geometry"] is None
    assert feats["G1"]["properties"]["raw_crs"] == "gcj02"
