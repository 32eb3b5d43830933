"""Importing what union staff hand over: encodings, formats, Chinese headers, typed hours."""

from __future__ import annotations

import json

import openpyxl
import pytest

from stations.geo import haversine_m, wgs84_to_gcj02
from stations.io.importer import import_file

from conftest import snapshot, write_csv

HEADER = ["站点名称", "地址", "经度", "纬度", "坐标系", "开放时间", "设施/服务", "服务对象", "状态"]
ROWS = [
    ["碣阳大街环卫驿站", "河北省秦皇岛市昌黎县碣阳大街1号", "119.1637", "39.7125", "WGS84", "06：00 - 22：00",
     "空调、饮水、微波炉", "户外劳动者", "正常"],
    ["民生路快递驿站", "河北省秦皇岛市昌黎县民生路8号", "119.1702", "39.7089", "WGS84", "全天", "手机充电、厕所",
     "所有人", "运营中"],
    ["蔚州镇工会驿站", "河北省张家口市蔚县蔚州镇南关街", "114.5886", "39.8402", "WGS84", "周一至周五 8:00-18:00",
     "饮水机、桌椅、医药箱", "户外劳动者", "正常"],
]


def _by_name(store):
    frame = store.frame()
    return {r["name"]: r for r in frame.to_dict("records")}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_every_encoding_excel_writes(store, tmp_path, encoding):
    path = write_csv(tmp_path / "stations.csv", HEADER, ROWS, encoding=encoding)
    report = import_file(store, path)
    assert report.encoding == ("utf-8" if encoding.startswith("utf") else "gb18030")
    assert (report.added, report.rejected) == (3, 0)
    recs = _by_name(store)
    first = recs["碣阳大街环卫驿站"]
    assert (first["lat"], first["lon"]) == (39.7125, 119.1637)
    assert first["address"] == "河北省秦皇岛市昌黎县碣阳大街1号"
    assert first["opening_hours"] == "06:00-22:00" and first["opening_hours_raw"] == "06：00 - 22：00"
    assert first["amenity_air_conditioning"] == "yes" and first["amenity_microwave"] == "yes"
    assert first["amenity_toilet"] == "unknown"  # a list says what is there, not what is missing
    assert first["access"] == "outdoor_workers" and first["status"] == "open"
    assert recs["民生路快递驿站"]["opening_hours"] == "24/7"
    assert recs["蔚州镇工会驿站"]["opening_hours"] == "Mo-Fr 08:00-18:00"


def test_xlsx_with_amenity_columns_and_gcj02(store, tmp_path):
    wgs_lat, wgs_lon = 39.7125, 119.1637
    gcj_lat, gcj_lon = wgs84_to_gcj02(lat=wgs_lat, lon=wgs_lon)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "站点"
    ws.append(["站点编号", "站点名称", "经度", "纬度", "坐标系", "开放时间", "空调", "微波炉", "厕所", "核实日期"])
    ws.append(["CL-001", "高德坐标驿站", gcj_lon, gcj_lat, "GCJ-02", "8:00~17:30", "是", "否", None, "2025/6/1"])
    wb.save(tmp_path / "s.xlsx")
    report = import_file(store, tmp_path / "s.xlsx")
    assert (report.added, report.rejected) == (1, 0), report.rejected_rows
    rec = store.get("CL-001")
    assert haversine_m(rec["lat"], rec["lon"], wgs_lat, wgs_lon) < 0.01  # centimetres
    # Excel keeps 15 significant digits: the raw coordinate is what the workbook holds.
    assert rec["raw_lat"] == pytest.approx(gcj_lat, abs=1e-12) and rec["raw_lon"] == pytest.approx(gcj_lon, abs=1e-12)
    assert rec["raw_crs"] == "gcj02"
    assert 400 < haversine_m(gcj_lat, gcj_lon, wgs_lat, wgs_lon) < 700  # the shift really was applied
    assert (rec["amenity_air_conditioning"], rec["amenity_microwave"], rec["amenity_toilet"]) == ("yes", "no", "unknown")
    assert rec["opening_hours"] == "08:00-17:30" and rec["last_verified"] == "2025-06-01"


def test_importing_the_same_file_twice_changes_nothing(store, tmp_path):
    path = write_csv(tmp_path / "s.csv", HEADER, ROWS)
    import_file(store, path)
    before = (store.frame().to_csv(), len(store.history(limit=1000)), store.revision())
    report = import_file(store, path)
    assert (report.added, report.updated, report.unchanged) == (0, 0, 3)
    assert (store.frame().to_csv(), len(store.history(limit=1000)), store.revision()) == before


def test_changed_row_is_an_update_with_history(store, tmp_path):
    header = ["站点编号", *HEADER]
    import_file(store, write_csv(tmp_path / "a.csv", header, [["X1", *ROWS[0]]]))
    changed = ["X1", *ROWS[0]]
    changed[6] = "24小时"
    report = import_file(store, write_csv(tmp_path / "b.csv", header, [changed]))
    assert report.updated == 1
    entry = store.history("X1")[0]
    assert entry["action"] == "update"
    assert entry["changes"]["opening_hours"] == ["06:00-22:00", "24/7"]
    assert entry["source"] == "b.csv"


def test_the_same_rows_from_a_file_with_another_name_change_nothing(store, tmp_path):
    """Where a row came from belongs to the import batch, not to the station: the same rows
    saved under another name are unchanged, and no station gets a history entry."""
    import_file(store, write_csv(tmp_path / "A.csv", HEADER, ROWS))
    before = (store.frame().to_csv(), len(store.history(limit=1000)))
    report = import_file(store, write_csv(tmp_path / "B.csv", HEADER, ROWS))
    assert (report.added, report.updated, report.unchanged) == (0, 0, 3)
    assert (store.frame().to_csv(), len(store.history(limit=1000))) == before
    # A station's provenance is its history's batches (what `stations history ID` prints).
    sid = store.frame()["station_id"].iloc[0]
    assert [(h["action"], h["source"]) for h in store.history(sid)] == [("add", "A.csv")]
    assert [b["source"] for b in store.batches()] == ["B.csv", "A.csv"]


@pytest.mark.parametrize("header", ["数据来源", "来源", "源", "source"])
def test_a_source_column_in_a_file_is_ignored_with_a_note(store, tmp_path, header):
    path = write_csv(tmp_path / "s.csv", [*HEADER, header], [[*ROWS[0], "2024年普查表"]])
    report = import_file(store, path)
    assert (report.added, report.rejected) == (1, 0), report.rejected_rows
    assert header in report.ignored_columns
    note = [w for w in report.file_warnings if header in w]
    assert note and "batch" in note[0], report.file_warnings
    rec = store.frame().iloc[0]
    assert "source" not in rec.index and "2024年普查表" not in rec.astype(str).tolist()


def test_a_store_made_with_a_source_column_opens_and_imports(tmp_path):
    """Stores written before `source` left the record have a `source` column: it is ignored."""
    import sqlite3

    from stations.records import FIELD_NAMES
    from stations.store import open_store

    path = tmp_path / "old.gpkg"
    header = ["站点编号", *HEADER]
    rows = [[f"X{i}", *r] for i, r in enumerate(ROWS)]
    with open_store(path) as s:
        import_file(s, write_csv(tmp_path / "a.csv", header, rows))
    with sqlite3.connect(path) as db:  # what the old schema held: a source column, filled, and its history
        db.execute("ALTER TABLE stations ADD COLUMN source TEXT")
        db.execute("UPDATE stations SET source = 'a.csv'")
        batch = db.execute("INSERT INTO station_batches (at, command, source) "
                           "VALUES ('2025-01-02T00:00:00.000Z', 'import', 'a2.csv')").lastrowid
        db.execute("INSERT INTO station_history (station_id, at, action, changes, batch_id) VALUES "
                   "('X0', '2025-01-02T00:00:00.000Z', 'update', '{\"source\": [\"a.csv\", \"a2.csv\"]}', ?)",
                   (batch,))
    changed = [list(r) for r in rows]
    changed[0][6] = "24小时"
    changed.append(["X9", "新驿站", "", "119.1800", "39.7000", "WGS84", "", "", "", "正常"])
    with open_store(path, create=False) as s:
        report = import_file(s, write_csv(tmp_path / "b.csv", header, changed))
        assert (report.added, report.updated, report.unchanged, report.rejected) == (1, 1, 2, 0)
        assert set(s.history("X0")[0]["changes"]) == {"opening_hours", "opening_hours_raw"}
        assert set(s.get("X9")) == {*FIELD_NAMES, "flags"}
        past = s.record_as_of("X0", 1)
        assert past["opening_hours"] == "06:00-22:00" and set(past) == {*FIELD_NAMES, "flags"}
        out = tmp_path / "out.csv"
        from stations.io.export import export

        assert export(s.frame(), out) == 4
    with open_store(tmp_path / "copy.gpkg") as copy:
        assert import_file(copy, out).added == 4


def test_hours_nobody_can_read_stay_unknown_not_closed(store, tmp_path):
    rows = [[*ROWS[0][:5], "看情况", *ROWS[0][6:]]]
    report = import_file(store, write_csv(tmp_path / "s.csv", HEADER, rows))
    assert report.added == 1
    rec = store.frame().iloc[0]
    assert rec["opening_hours"] is None and rec["opening_hours_raw"] == "看情况"
    assert any(w.field == "opening_hours" and w.row == 1 for w in report.warnings)


def test_24h_flag_is_derived_and_a_contradiction_is_reported(store, tmp_path):
    header = ["站点名称", "经度", "纬度", "开放时间", "是否24小时"]
    rows = [["一号", "119.16", "39.71", "", "是"],
            ["二号", "119.17", "39.72", "8:00-18:00", "是"],
            ["三号", "119.18", "39.73", "24小时", "是"]]
    report = import_file(store, write_csv(tmp_path / "s.csv", header, rows))
    assert (report.added, report.rejected) == (2, 1)
    bad = [p for p in report.rejected_rows if p.row == 2]
    assert bad and bad[0].field == "open_24h" and "8:00-18:00" in bad[0].reason
    assert set(store.frame()["opening_hours"]) == {"24/7"}


def test_duplicates_are_flagged(store, tmp_path):
    header = ["站点名称", "经度", "纬度"]
    # 0.0003 degrees of latitude is about 33 m: the same name that close is a likely duplicate.
    rows = [["环卫驿站", "119.1637", "39.7125"], ["环卫驿站", "119.1637", "39.7128"], ["另一个", "119.1637", "39.7128"],
            ["环卫驿站", "119.1637", "39.7200"]]
    report = import_file(store, write_csv(tmp_path / "s.csv", header, rows))
    reasons = sorted(d["reason"] for d in report.duplicates)
    assert reasons == ["same name within 50 m", "same position"]
    assert report.added == 4  # flagged, not dropped
    flags = {r["station_id"]: r["flags"] for r in store.frame().to_dict("records")}
    assert sum(any(f.startswith("possible_duplicate:") for f in fl) for fl in flags.values()) == 2


def test_a_row_with_a_repeated_id_is_rejected_before_any_geocoder_request(store, tmp_path):
    """Online geocoders are slow and metered: a row rejected for its repeated id is not sent."""
    from stations.geocode import build_chain

    asked = []

    class Counting:
        def geocode(self, address, *, province=None, city=None, county=None):
            asked.append(address)
            return build_chain({"geocoders": "offline", "geocode_cache": str(tmp_path / "c.sqlite")}).geocode(
                address, province=province, city=city, county=county)

    header = ["站点编号", "站点名称", "地址", "经度", "纬度"]
    rows = [["S1", "碣阳驿站", "河北省秦皇岛市昌黎县碣阳大街1号", "", ""],
            ["S1", "碣阳驿站二", "河北省秦皇岛市昌黎县碣阳大街2号", "", ""]]
    report = import_file(store, write_csv(tmp_path / "s.csv", header, rows), geocoder=Counting())
    assert (report.added, report.rejected, report.geocoded) == (1, 1, 1)
    assert asked == ["河北省秦皇岛市昌黎县碣阳大街1号"]
    assert [p.field for p in report.rejected_rows] == ["station_id"]


def test_address_only_rows_are_geocoded_to_county_and_flagged(store, tmp_path):
    from stations.geocode import build_chain

    header = ["站点名称", "地址", "经度", "纬度"]
    rows = [["碣阳驿站", "河北省秦皇岛市昌黎县碣阳大街与民生路交叉口", "", ""]]
    chain = build_chain({"geocoders": "offline", "geocode_cache": str(tmp_path / "cache.sqlite")})
    report = import_file(store, write_csv(tmp_path / "s.csv", header, rows), geocoder=chain)
    assert (report.added, report.geocoded, report.needs_review) == (1, 1, 1)
    rec = store.frame().iloc[0]
    assert rec["geocode_precision"] == "county" and rec["county"] == "昌黎县"
    assert "needs_review" in rec["flags"]


def test_address_only_rows_without_a_geocoder_are_kept_unpositioned(store, tmp_path):
    header = ["站点名称", "地址"]
    report = import_file(store, write_csv(tmp_path / "s.csv", header, [["驿站", "河北省张家口市蔚县"]]))
    assert (report.added, report.needs_review) == (1, 1)
    assert store.frame().iloc[0]["lat"] != store.frame().iloc[0]["lat"]  # NaN: no position


def test_combined_coordinate_column_in_either_order(store, tmp_path):
    header = ["站点名称", "经纬度"]
    rows = [["甲", "119.1637,39.7125"], ["乙", "39.7125, 119.1700"]]
    report = import_file(store, write_csv(tmp_path / "s.csv", header, rows))
    assert report.added == 2
    lons = sorted(store.frame()["lon"])
    assert lons == [119.1637, 119.17]


# --- bad input: a clear message, and nothing already stored is lost -----------------------------

@pytest.fixture
def stocked(store, tmp_path):
    import_file(store, write_csv(tmp_path / "good.csv", HEADER, ROWS))
    return store


def _expect_file_error(store, path, *match, **kwargs):
    from stations.errors import ImportFileError

    before = snapshot(store)
    with pytest.raises(ImportFileError) as info:
        import_file(store, path, **kwargs)
    for m in match:
        assert m in str(info.value), str(info.value)
    assert snapshot(store) == before
    return str(info.value)


def _expect_rejected(store, path, field, *match, **kwargs):
    before = snapshot(store)
    report = import_file(store, path, **kwargs)
    bad = [p for p in report.rejected_rows if p.field == field]
    assert bad, report.rejected_rows
    text = str(bad[0])
    for m in match:
        assert m in text, text
    assert bad[0].row is not None
    assert snapshot(store)[1] == before[1]  # no record lost or added
    return bad[0]


def test_unknown_encoding_utf16(stocked, tmp_path):
    path = tmp_path / "utf16.csv"
    path.write_bytes("站点名称,经度,纬度\n驿站,119.1,39.7\n".encode("utf-16"))
    _expect_file_error(stocked, path, "encoding", "UTF-8", "GBK")


def test_unknown_encoding_big5_is_not_read_as_gbk(stocked, tmp_path):
    path = tmp_path / "big5.csv"
    text = "站點名稱,地址,經度,緯度\n" + "".join(f"臺北市環衛驛站{i},臺灣臺北市信義區{i}號,121.5,25.0\n" for i in range(20))
    path.write_bytes(text.encode("big5"))
    _expect_file_error(stocked, path, "encoding")


def test_missing_required_column(stocked, tmp_path):
    path = write_csv(tmp_path / "s.csv", ["地址", "经度", "纬度"], [["某地", "119.1", "39.7"]])
    _expect_file_error(stocked, path, "missing required column", "站点名称")


def test_out_of_range_coordinates(stocked, tmp_path):
    path = write_csv(tmp_path / "s.csv", ["站点名称", "经度", "纬度"], [["坏点", "119.1", "95.3"]])
    p = _expect_rejected(stocked, path, "lat", "95.3", "-90 to 90")
    assert p.row == 1


def test_swapped_latitude_and_longitude(stocked, tmp_path):
    path = write_csv(tmp_path / "s.csv", ["站点名称", "经度", "纬度"], [["反了", "39.7125", "119.1637"]])
    _expect_rejected(stocked, path, "lat", "swapped")
    path = write_csv(tmp_path / "s2.csv", ["站点名称", "经度", "纬度"], [["悉尼", "151.2093", "-33.8688"]])
    # Sydney read the other way round is no place at all: it is not called swapped.
    report = import_file(stocked, path, dry_run=True)
    assert report.rejected == 0


def test_unknown_coordinate_system(stocked, tmp_path):
    path = write_csv(tmp_path / "s.csv", ["站点名称", "经度", "纬度", "坐标系"], [["点", "119.1", "39.7", "火星2000"]])
    _expect_rejected(stocked, path, "raw_crs", "火星2000", "gcj02", "bd09")


def test_gcj02_point_outside_china(stocked, tmp_path):
    path = write_csv(tmp_path / "s.csv", ["站点名称", "经度", "纬度", "坐标系"], [["台北", "121.5654", "25.0330", "GCJ-02"]])
    _expect_rejected(stocked, path, "raw_crs", "outside mainland China")


def test_empty_files(stocked, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    _expect_file_error(stocked, empty, "empty")
    header_only = write_csv(tmp_path / "header.csv", HEADER, [])
    _expect_file_error(stocked, header_only, "no data rows")


def test_truncated_csv_reports_the_cut_row(stocked, tmp_path):
    path = write_csv(tmp_path / "s.csv", HEADER, ROWS)
    data = path.read_bytes()
    path.write_bytes(data[: data.rindex(b"WGS84")])  # cut inside the last row
    before = snapshot(stocked)
    report = import_file(stocked, path)
    assert report.rejected == 1 and report.rejected_rows[0].row == 3
    assert "truncated" in report.rejected_rows[0].reason
    assert snapshot(stocked)[1] == before[1]


def test_truncated_xlsx_and_geojson(stocked, tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(HEADER)
    for r in ROWS:
        wb.active.append(r)
    wb.save(tmp_path / "s.xlsx")
    data = (tmp_path / "s.xlsx").read_bytes()
    (tmp_path / "cut.xlsx").write_bytes(data[: len(data) // 2])
    _expect_file_error(stocked, tmp_path / "cut.xlsx", "truncated")
    doc = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [119.1, 39.7]}, "properties": {"name": "x"}}]})
    (tmp_path / "cut.geojson").write_text(doc[:-20])
    _expect_file_error(stocked, tmp_path / "cut.geojson", "not valid JSON", "truncated")


def test_a_100_mb_file_is_refused_with_the_limit(stocked, tmp_path):
    path = tmp_path / "big.csv"
    row = ",".join(ROWS[0]) + "\n"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(",".join(HEADER) + "\n")
        fh.write(row * (100_000_000 // len(row.encode()) + 1))
    assert path.stat().st_size >= 100_000_000
    _expect_file_error(stocked, path, "MB", "limit", "--max-mb", max_bytes=50_000_000)


def test_bad_amenity_value_names_the_allowed_ones(stocked, tmp_path):
    path = write_csv(tmp_path / "s.csv", ["站点名称", "经度", "纬度", "微波炉"], [["点", "119.1", "39.7", "也许"]])
    _expect_rejected(stocked, path, "amenity_microwave", "也许", "是/否")


def test_every_problem_of_a_row_is_reported(stocked, tmp_path):
    path = write_csv(tmp_path / "s.csv", ["站点名称", "经度", "纬度", "状态", "核实日期"],
                     [["", "119.1", "95", "不知道", "昨天"]])
    report = import_file(stocked, path, dry_run=True)
    fields = {p.field for p in report.rejected_rows}
    assert {"name", "lat", "status", "last_verified"} <= fields


# --- admin areas from the position -----------------------------------------------------------

def test_positions_without_an_admin_area_get_it_from_the_county_boundaries(store, tmp_path):
    header = ["站点编号", "站点名称", "经度", "纬度", "区县"]
    rows = [["CL", "昌黎驿站", "119.1637", "39.7125", ""],    # in Changli county
            ["YX", "蔚县驿站", "114.5886", "39.8402", "蔚县"],  # in Yu county, which the file names
            ["SEA", "渤海中", "120.0", "38.8", ""],            # the middle of the Bohai Sea
            ["LDN", "London", "-0.1276", "51.5072", ""]]      # abroad
    report = import_file(store, write_csv(tmp_path / "s.csv", header, rows))
    assert (report.added, report.rejected, report.admin_filled) == (4, 0, 2)
    assert report.summary()["admin_filled"] == 2 and not report.warnings
    admin = {sid: tuple(store.get(sid)[k] for k in ("province", "city", "county", "adcode"))
             for sid in ("CL", "YX", "SEA", "LDN")}
    assert admin["CL"] == ("河北省", "秦皇岛市", "昌黎县", "130322")
    assert admin["YX"] == ("河北省", "张家口市", "蔚县", "130726")
    assert admin["SEA"] == admin["LDN"] == (None, None, None, None)
    again = import_file(store, write_csv(tmp_path / "s.csv", header, rows))
    assert (again.updated, again.unchanged) == (0, 4)


def test_a_county_that_disagrees_with_the_position_is_kept_and_reported(store, tmp_path):
    header = ["站点编号", "站点名称", "经度", "纬度", "省份", "区县", "行政区划代码"]
    rows = [["A", "写错县的驿站", "119.1637", "39.7125", "", "抚宁区", ""],      # the point is in 昌黎县
            ["B", "简称驿站", "119.1637", "39.7125", "河北", "昌黎", ""],          # short names agree
            ["C", "市级代码驿站", "119.1637", "39.7125", "", "", "130300"],      # Qinhuangdao's code agrees
            ["D", "别省驿站", "119.1637", "39.7125", "山东省", "历下区", "370102"]]  # every level disagrees
    report = import_file(store, write_csv(tmp_path / "s.csv", header, rows))
    assert (report.added, report.rejected) == (4, 0)
    first, fourth = report.warnings  # one per row, on its deepest disagreeing field
    assert (first.row, first.field, first.value) == (1, "county", "抚宁区")
    assert "抚宁区" in first.reason and "河北省秦皇岛市昌黎县 (130322)" in first.reason
    assert (fourth.row, fourth.field, fourth.value) == (4, "county", "历下区")
    assert "山东省历下区 (370102)" in fourth.reason and "河北省秦皇岛市昌黎县 (130322)" in fourth.reason
    a = store.get("A")
    assert (a["province"], a["city"], a["county"], a["adcode"]) == (None, None, "抚宁区", None)
    b, c = store.get("B"), store.get("C")
    assert (b["province"], b["city"], b["county"], b["adcode"]) == ("河北", "秦皇岛市", "昌黎", "130322")
    assert (c["province"], c["city"], c["county"], c["adcode"]) == ("河北省", "秦皇岛市", "昌黎县", "130300")
    d = store.get("D")
    assert (d["province"], d["city"], d["county"], d["adcode"]) == ("山东省", None, "历下区", "370102")
    assert report.admin_filled == 2


def test_a_city_centre_does_not_name_a_county(store, tmp_path):
    from stations.geocode import build_chain

    chain = build_chain({"geocoders": "offline", "geocode_cache": str(tmp_path / "cache.sqlite")})
    path = write_csv(tmp_path / "s.csv", ["站点名称", "地址"], [["某驿站", "河北省秦皇岛市某路"]])
    report = import_file(store, path, geocoder=chain)
    rec = store.frame().iloc[0]
    assert rec["geocode_precision"] == "city" and rec["city"] == "秦皇岛市"
    assert rec["county"] is None and report.admin_filled == 0


def test_admin_areas_at_agrees_with_a_brute_force_search():
    """Random points over China's bounding box (land, sea and abroad) against every county
    polygon whose bounding box holds the point, tested one by one."""
    import numpy as np
    import shapely

    from stations.io.admin_areas import admin_areas_at
    from stations.planning.area import admin_units, unit_geometry

    rng = np.random.default_rng(3)
    lat, lon = rng.uniform(18, 54, 400), rng.uniform(73, 135, 400)
    got = admin_areas_at(lat=lat, lon=lon)["adcode"].tolist()
    units = admin_units("county")
    geoms = [unit_geometry(u) for u in units]
    x0, y0, x1, y1 = shapely.bounds(geoms).T
    for i in range(len(lat)):
        near = np.flatnonzero((x0 <= lon[i]) & (lon[i] <= x1) & (y0 <= lat[i]) & (lat[i] <= y1))
        inside = sorted(units[j].adcode for j in near if geoms[j].contains(shapely.Point(lon[i], lat[i])))
        assert got[i] == (inside[0] if inside else None), (lat[i], lon[i])
    assert 100 < sum(c is not None for c in got) < 300  # both kinds of point were tried


def _fill_row_by_row(rows):
    """The admin fill written plainly, one row at a time: the reference for fill_admin_areas."""
    from stations.io.admin_areas import _ADMIN_DEPTH, ADMIN_FIELDS, _same_area, admin_areas_at

    filled, warned = 0, []
    for res in rows:
        rec = res.record
        if rec is None or rec.get("lat") is None or rec.get("geocode_precision") not in _ADMIN_DEPTH:
            continue
        area = admin_areas_at(lat=[rec["lat"]], lon=[rec["lon"]]).iloc[0].to_dict()
        names = ADMIN_FIELDS[:_ADMIN_DEPTH[rec["geocode_precision"]]]
        clashes = [n for n in names if rec.get(n) and area[n] is not None and not _same_area(n, rec[n], area[n])]
        if clashes:
            deepest = min(clashes, key=("county", "city", "province", "adcode").index)
            warned.append((res.row, deepest, rec[deepest]))
            continue
        empty = [n for n in names if not rec.get(n) and area[n] is not None]
        for n in empty:
            rec[n] = area[n]
        filled += bool(empty)
    return filled, warned


def test_the_admin_fill_agrees_with_a_row_by_row_reference():
    import copy

    import numpy as np

    from stations.io.admin_areas import fill_admin_areas
    from stations.io.normalize import RowResult
    from stations.synthetic import national_stations

    rng = np.random.default_rng(11)
    frame = national_stations(1_500, seed=11)
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for rec in records:  # blank some fields, shorten some names, vary the precision, move some out to sea
        for name in ("province", "city", "county", "adcode"):
            u = rng.random()
            if u < 0.3:
                rec[name] = None
            elif u < 0.4 and rec[name] and name != "adcode":
                rec[name] = rec[name][:-1]
        rec["geocode_precision"] = rng.choice(["exact", "exact", "county", "city", "province"])
        if rng.random() < 0.05:
            rec["lat"], rec["lon"] = 38.8, 120.0  # the Bohai Sea
        if rng.random() < 0.05:
            rec["lat"] = rec["lon"] = None
    rows = [RowResult(row=i + 1, record=rec) for i, rec in enumerate(records)]
    reference = [RowResult(row=r.row, record=copy.deepcopy(r.record)) for r in rows]
    got = fill_admin_areas(rows)
    filled, warned = _fill_row_by_row(reference)
    assert [r.record for r in rows] == [r.record for r in reference]
    assert got == filled > 100
    assert [(w.row, w.field, w.value) for r in rows for w in r.warnings] == warned and len(warned) > 100
