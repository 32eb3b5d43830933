"""Tests for stations.geo: CRS names, the mainland gate, GCJ-02/BD-09 shifts, distances.

Oracles: published value pairs (eviltransform's fixture, wandergis/coordtransform's README),
``prcoords`` (scalar, public domain) for the formulas, and round trips for the inverses.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import prcoords
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from stations import geo as coords
from stations.geo import (
    CRS_NAMES,
    EARTH_RADIUS_M,
    bd09_to_gcj02,
    bd09_to_wgs84,
    bearing_deg,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    haversine_m,
    in_mainland_china,
    looks_swapped,
    parse_crs,
    to_wgs84,
    validate_lat_lon,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from stations.errors import CoordinateError, Problem

ROUND_TRIP_TOLERANCE_M = 0.01  # 1 cm
FORMULA_TOLERANCE_DEG = 1e-9

MAINLAND = {  # WGS-84 (lat, lon) of city centres
    "Beijing": (39.9042, 116.4074),
    "Shanghai": (31.2304, 121.4737),
    "Urumqi": (43.8256, 87.6168),
    "Lhasa": (29.6520, 91.1721),
    "Harbin": (45.8038, 126.5350),
    "Sanya": (18.2528, 109.5119),
    "Qinhuangdao": (39.9354, 119.6005),
    "Changli": (39.7127, 119.1624),
    "Yu County": (39.8406, 114.5689),
    "Shenzhen Luohu": (22.5400, 114.1200),  # across the river from Hong Kong
    "Zhuhai Gongbei": (22.2220, 113.5500),  # next to the Macau border gate
    "Zhuhai Hengqin": (22.1200, 113.5300),  # island across a narrow channel from Macau
}
# Coastal landmarks that the generalised outline misses by 0.2-0.9 km: the sea margin keeps them.
COAST = {
    "Qingdao Zhanqiao pier end": (36.0575, 120.3186),
    "Beidaihe Pigeon's Nest": (39.8297, 119.5319),
    "Laolongtou, Great Wall meets the sea": (39.9669, 119.7979),
    "Sanya Bay beach": (18.2700, 109.4700),
    "Xiamen Gulangyu": (24.4470, 118.0660),
    "Yantai seafront": (37.5500, 121.4000),
}
NOT_MAINLAND = {
    "Taipei": (25.0330, 121.5654),
    "Kaohsiung": (22.6273, 120.3014),
    "Hong Kong Central": (22.2793, 114.1628),
    "Kowloon": (22.3193, 114.1694),
    "Sheung Shui, Hong Kong": (22.5015, 114.1279),
    "Macau Senado Square": (22.1987, 113.5439),
    "Macau Border Gate": (22.2146, 113.5497),
    "Taipa, Macau": (22.1570, 113.5560),
    "Seoul": (37.5665, 126.9780),
    "Hanoi": (21.0285, 105.8542),
    "Ulaanbaatar": (47.8864, 106.9057),
    "Pyongyang": (39.0392, 125.7625),
    "Vladivostok": (43.1155, 131.8855),
    # 1-2 km from the Chinese outline across border rivers: land borders are not widened.
    "Blagoveshchensk": (50.2580, 127.5350),
    "Sinuiju": (40.1000, 124.4000),
    "Mong Cai": (21.5250, 107.9600),
    "Lao Cai": (22.4850, 103.9700),
    "Bohai Sea, 10 km off Qinhuangdao": (39.8500, 119.7000),
    "New York": (40.7128, -74.0060),
}
ALL_INSIDE = {**MAINLAND, **COAST}


def _latlon(table: dict[str, tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    lat, lon = zip(*table.values(), strict=True)
    return np.array(lat), np.array(lon)


@pytest.fixture(scope="module")
def mainland_sample() -> tuple[np.ndarray, np.ndarray]:
    """5,000 reproducible random points inside mainland China, plus the hand-picked ones."""
    rng = np.random.default_rng(20250101)
    lat, lon = rng.uniform(18, 54, 12_000), rng.uniform(73, 135, 12_000)
    keep = in_mainland_china(lat, lon)
    city_lat, city_lon = _latlon(ALL_INSIDE)
    return np.r_[lat[keep][:5000], city_lat], np.r_[lon[keep][:5000], city_lon]


# --- parse_crs ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("wgs84", "wgs84"), ("WGS-84", "wgs84"), ("WGS84", "wgs84"), ("wgs 84", "wgs84"),
        ("EPSG:4326", "wgs84"), ("epsg:4326", "wgs84"), ("GPS", "wgs84"), ("  gps ", "wgs84"),
        ("地球坐标系", "wgs84"),
        ("GCJ-02", "gcj02"), ("gcj02", "gcj02"), ("GCJ_02", "gcj02"), ("火星坐标", "gcj02"),
        ("火星坐标系", "gcj02"), ("高德", "gcj02"), ("高德地图", "gcj02"), ("腾讯", "gcj02"),
        ("Amap", "gcj02"), ("gaode", "gcj02"), ("Tencent", "gcj02"),
        ("BD-09", "bd09"), ("bd09", "bd09"), ("bd09ll", "bd09"), ("百度", "bd09"),
        ("百度坐标", "bd09"), ("Baidu", "bd09"),
        ("CGCS2000", "cgcs2000"), ("cgcs-2000", "cgcs2000"), ("EPSG:4490", "cgcs2000"),
        ("天地图", "cgcs2000"), ("国家2000", "cgcs2000"), ("Tianditu", "cgcs2000"),
    ],
)
def test_parse_crs_accepts_names_and_aliases(name, expected):
    assert parse_crs(name) == expected


@pytest.mark.parametrize("name", [None, "", "   "])
def test_parse_crs_returns_none_for_missing(name):
    assert parse_crs(name) is None


def test_every_canonical_name_parses_to_itself():
    assert [parse_crs(name) for name in CRS_NAMES] == list(CRS_NAMES)


@pytest.mark.parametrize("name", ["gcj03", "EPSG:3857", "bd09mc", "mercator", "北京54", "utm50n"])
def test_parse_crs_rejects_unknown_names_naming_value_and_allowed(name):
    with pytest.raises(CoordinateError) as caught:
        parse_crs(name)
    message = str(caught.value)
    assert repr(name) in message
    assert "wgs84, gcj02, bd09, cgcs2000" in message
    assert isinstance(caught.value, ValueError)
    [problem] = caught.value.problems
    assert (problem.field, problem.value) == ("crs", name)
    assert "wgs84" in problem.allowed


def test_parse_crs_explains_baidu_mercator():
    with pytest.raises(CoordinateError, match="Baidu Mercator metres"):
        parse_crs("BD09MC")


# --- in_mainland_china ----------------------------------------------------------------------

@pytest.mark.parametrize("place", list(ALL_INSIDE))
def test_in_mainland_china_true(place):
    assert in_mainland_china(*ALL_INSIDE[place]) is True


@pytest.mark.parametrize("place", list(NOT_MAINLAND))
def test_in_mainland_china_false(place):
    assert in_mainland_china(*NOT_MAINLAND[place]) is False


def test_in_mainland_china_is_vectorised_and_keyword_friendly():
    table = {**ALL_INSIDE, **NOT_MAINLAND}
    lat, lon = _latlon(table)
    result = in_mainland_china(lat=lat, lon=lon)
    assert result.dtype == bool and result.shape == lat.shape
    assert result.tolist() == [in_mainland_china(lat=a, lon=o) for a, o in table.values()]
    assert result.tolist() == [name in ALL_INSIDE for name in table]


def test_in_mainland_china_bad_values_are_false():
    result = in_mainland_china([np.nan, 39.9, 95.0, 39.9], [116.4, np.nan, 116.4, 400.0])
    assert result.tolist() == [False, False, False, False]


def test_in_mainland_china_on_200k_points_covers_its_share_of_the_box():
    # Its speed is in benchmarks/bench_coords.py.
    rng = np.random.default_rng(0)
    lat, lon = rng.uniform(18, 54, 200_000), rng.uniform(73, 135, 200_000)
    inside = in_mainland_china(lat, lon)
    assert 0.35 < inside.mean() < 0.5  # China is ~43 % of this box


# --- published values and the size of the shifts --------------------------------------------

# googollee/eviltransform's test fixture: (WGS-84, GCJ-02)
EVILTRANSFORM_PAIRS = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),  # Shanghai
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),  # Shenzhen
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),  # Beijing
]


@pytest.mark.parametrize(("wgs", "gcj"), EVILTRANSFORM_PAIRS)
def test_wgs84_to_gcj02_published_pairs(wgs, gcj):
    assert wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=FORMULA_TOLERANCE_DEG)
    back = gcj02_to_wgs84(*gcj)
    assert haversine_m(*back, *wgs) < ROUND_TRIP_TOLERANCE_M


def test_wandergis_tiananmen_values():
    # wandergis/coordtransform README, input (lat 39.915, lon 116.404) in each system.
    assert wgs84_to_gcj02(39.915, 116.404) == pytest.approx(
        (39.91640428150164, 116.41024449916938), abs=FORMULA_TOLERANCE_DEG)
    assert gcj02_to_bd09(39.915, 116.404) == pytest.approx(
        (39.92133699351021, 116.41036949371029), abs=FORMULA_TOLERANCE_DEG)
    # Their inverses are one-step approximations: ours differ by centimetres, and ours are
    # exact inverses of the forward formulas.
    gcj = bd09_to_gcj02(39.915, 116.404)
    assert haversine_m(*gcj, 39.90865673957631, 116.39762729119315) < 0.1
    assert gcj02_to_bd09(*gcj) == pytest.approx((39.915, 116.404), abs=FORMULA_TOLERANCE_DEG)
    wgs = gcj02_to_wgs84(39.915, 116.404)
    assert haversine_m(*wgs, 39.91359571849836, 116.39775550083061) < 0.1
    assert wgs84_to_gcj02(*wgs) == pytest.approx((39.915, 116.404), abs=FORMULA_TOLERANCE_DEG)


def test_shift_sizes_near_qinhuangdao_match_domain_note():
    lat, lon = 39.94, 119.6
    gcj_shift_m = haversine_m(lat, lon, *wgs84_to_gcj02(lat, lon))
    bd_shift_m = haversine_m(lat, lon, *wgs84_to_bd09(lat, lon))
    assert 500 <= gcj_shift_m <= 560  # measured 507 m
    assert 1300 <= bd_shift_m <= 1400  # measured 1306 m


def test_one_step_inverse_is_off_by_metres_ours_is_not(mainland_sample):
    lat, lon = mainland_sample
    g_lat, g_lon = wgs84_to_gcj02(lat, lon)
    f_lat, f_lon = wgs84_to_gcj02(g_lat, g_lon)
    one_step_m = haversine_m(2 * g_lat - f_lat, 2 * g_lon - f_lon, lat, lon)
    assert one_step_m.max() > 1.0  # up to ~4 m over China
    assert haversine_m(*gcj02_to_wgs84(g_lat, g_lon), lat, lon).max() < ROUND_TRIP_TOLERANCE_M


# --- agreement with prcoords (scalar reference) ---------------------------------------------

def _prc(function, lat, lon):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # prcoords warns outside its bounding box
        pairs = [function((a, o)) for a, o in zip(lat, lon, strict=True)]
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


@pytest.mark.parametrize(
    ("ours", "reference"),
    [
        (wgs84_to_gcj02, prcoords.wgs_gcj),
        (wgs84_to_bd09, prcoords.wgs_bd),
        (gcj02_to_bd09, prcoords.gcj_bd),
    ],
)
def test_vectorised_forward_matches_prcoords(mainland_sample, ours, reference):
    lat, lon = mainland_sample[0][:2000], mainland_sample[1][:2000]
    if ours is gcj02_to_bd09:
        lat, lon = wgs84_to_gcj02(lat, lon)
    got_lat, got_lon = ours(lat=lat, lon=lon)
    want_lat, want_lon = _prc(reference, lat, lon)
    assert np.abs(got_lat - want_lat).max() < FORMULA_TOLERANCE_DEG
    assert np.abs(got_lon - want_lon).max() < FORMULA_TOLERANCE_DEG


@pytest.mark.parametrize(
    ("forward", "ours", "reference"),
    [
        (wgs84_to_gcj02, gcj02_to_wgs84, prcoords.gcj_wgs_bored),
        (wgs84_to_bd09, bd09_to_wgs84, prcoords.bd_wgs_bored),
        (wgs84_to_bd09, bd09_to_gcj02, prcoords.bd_gcj_bored),
    ],
)
def test_inverses_agree_with_prcoords_and_are_more_exact(mainland_sample, forward, ours,
                                                         reference):
    # prcoords' iterative ("bored") inverses stop once a step is below 1e-5 degrees: measured
    # errors up to 4 mm (GCJ-02) and 2 cm (BD-09 -> WGS-84). Ours iterate to 1e-9 degrees.
    lat, lon = mainland_sample[0][:2000], mainland_sample[1][:2000]
    shifted = forward(lat, lon)
    if ours is bd09_to_gcj02:  # the truth for BD-09 -> GCJ-02 is the GCJ-02 position
        lat, lon = wgs84_to_gcj02(lat, lon)
    got_lat, got_lon = ours(*shifted)
    want_lat, want_lon = _prc(reference, *shifted)
    assert haversine_m(got_lat, got_lon, want_lat, want_lon).max() < 0.05
    ours_error_m = haversine_m(got_lat, got_lon, lat, lon)
    assert ours_error_m.max() < 1e-4
    assert ours_error_m.max() <= haversine_m(want_lat, want_lon, lat, lon).max()


# --- round trips ----------------------------------------------------------------------------

china_lat = st.floats(18.0, 54.0, allow_nan=False)
china_lon = st.floats(73.0, 135.0, allow_nan=False)


@settings(deadline=None, max_examples=300)
@given(lat=china_lat, lon=china_lon)
def test_round_trip_wgs_gcj_wgs_within_1_cm(lat, lon):
    assume(in_mainland_china(lat, lon))
    g_lat, g_lon = wgs84_to_gcj02(lat, lon)
    assert haversine_m(lat, lon, g_lat, g_lon) > 10  # really shifted
    assert haversine_m(*gcj02_to_wgs84(g_lat, g_lon), lat, lon) < ROUND_TRIP_TOLERANCE_M


@settings(deadline=None, max_examples=300)
@given(lat=china_lat, lon=china_lon)
def test_round_trip_wgs_bd_wgs_within_1_cm(lat, lon):
    assume(in_mainland_china(lat, lon))
    b_lat, b_lon = wgs84_to_bd09(lat, lon)
    assert haversine_m(*bd09_to_wgs84(b_lat, b_lon), lat, lon) < ROUND_TRIP_TOLERANCE_M
    g_lat, g_lon = wgs84_to_gcj02(lat, lon)
    assert gcj02_to_bd09(g_lat, g_lon) == pytest.approx((b_lat, b_lon), abs=1e-12)
    assert haversine_m(*bd09_to_gcj02(b_lat, b_lon), g_lat, g_lon) < ROUND_TRIP_TOLERANCE_M


def test_round_trips_over_arrays(mainland_sample):
    lat, lon = mainland_sample
    for crs in ("gcj02", "bd09"):
        back_lat, back_lon = to_wgs84(*from_wgs84(lat, lon, crs), crs)
        assert haversine_m(back_lat, back_lon, lat, lon).max() < ROUND_TRIP_TOLERANCE_M, crs


@pytest.mark.parametrize("lon", [105.0, 105.0 + 1e-12, 105.0 - 1e-7])
def test_inverse_converges_where_the_formula_has_sqrt_abs(lon):
    # The GCJ-02 shift has sqrt(|lon - 105|): its slope is unbounded at 105 E.
    lat = 35.0
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lat, lon))
    assert haversine_m(*back, lat, lon) < ROUND_TRIP_TOLERANCE_M


# --- outside mainland China -----------------------------------------------------------------

# Far enough from the border that no mainland point shifts onto them. (Within ~1.5 km of the
# border a "GCJ-02" point can be the shifted image of a mainland point: the Macau Border Gate
# read as GCJ-02 is a position in Zhuhai. Such points convert as mainland ones.)
NEAR_BORDER = {"Macau Border Gate", "Blagoveshchensk", "Sinuiju", "Mong Cai", "Lao Cai"}
OUTSIDE_CASES = [
    *(point for name, point in NOT_MAINLAND.items() if name not in NEAR_BORDER),
    (-33.8688, 151.2093), (89.9, 0.0), (-90.0, 180.0),
]
CONVERTERS = [wgs84_to_gcj02, gcj02_to_wgs84, wgs84_to_bd09, bd09_to_wgs84, gcj02_to_bd09,
              bd09_to_gcj02]


@pytest.mark.parametrize("convert", CONVERTERS, ids=lambda f: f.__name__)
def test_points_outside_mainland_are_unchanged(convert):
    lat, lon = map(np.array, zip(*OUTSIDE_CASES, strict=True))
    out_lat, out_lon = convert(lat, lon)
    np.testing.assert_array_equal(out_lat, lat)
    np.testing.assert_array_equal(out_lon, lon)


@settings(deadline=None, max_examples=200)
@given(lat=st.floats(-90, 90), lon=st.floats(-180, 180))
def test_forward_leaves_any_outside_point_unchanged(lat, lon):
    assume(not in_mainland_china(lat, lon))
    assert wgs84_to_gcj02(lat, lon) == (lat, lon)
    assert wgs84_to_bd09(lat, lon) == (lat, lon)


def test_mixed_array_shifts_only_mainland_points():
    lat, lon = _latlon({"Beijing": MAINLAND["Beijing"], "Taipei": NOT_MAINLAND["Taipei"]})
    g_lat, g_lon = wgs84_to_gcj02(lat, lon)
    assert haversine_m(g_lat[0], g_lon[0], lat[0], lon[0]) > 100
    assert (g_lat[1], g_lon[1]) == (lat[1], lon[1])


def test_scalars_give_python_floats_arrays_give_arrays():
    lat, lon = wgs84_to_gcj02(lat=39.9, lon=116.4)
    assert type(lat) is float and type(lon) is float
    lat_a, lon_a = wgs84_to_gcj02(lat=[39.9, 31.2], lon=121.47)  # broadcast
    assert isinstance(lat_a, np.ndarray) and lat_a.shape == (2,)
    nan_lat, nan_lon = gcj02_to_wgs84(math.nan, 116.4)
    assert math.isnan(nan_lat) and nan_lon == 116.4


# --- to_wgs84 / from_wgs84 ------------------------------------------------------------------

def test_to_wgs84_raises_for_gcj02_taipei_naming_the_point():
    with pytest.raises(CoordinateError) as caught:
        to_wgs84(25.033, 121.5654, "GCJ-02")
    message = str(caught.value)
    assert "25.033" in message and "121.5654" in message
    assert "GCJ-02" in message and "only exist inside mainland China" in message
    [problem] = caught.value.problems
    assert problem.value == (25.033, 121.5654)


def test_to_wgs84_raise_lists_every_outside_point_of_an_array():
    lat, lon = _latlon({"Beijing": MAINLAND["Beijing"], "HK": NOT_MAINLAND["Hong Kong Central"],
                        "Seoul": NOT_MAINLAND["Seoul"]})
    with pytest.raises(CoordinateError, match="BD-09") as caught:
        to_wgs84(lat, lon, "百度")
    assert [p.field for p in caught.value.problems] == ["lat,lon[1]", "lat,lon[2]"]


def test_to_wgs84_outside_nan_and_keep():
    lat, lon = _latlon({"Beijing": MAINLAND["Beijing"], "Taipei": NOT_MAINLAND["Taipei"]})
    nan_lat, nan_lon = to_wgs84(lat, lon, "gcj02", outside="nan")
    assert np.isnan(nan_lat[1]) and np.isnan(nan_lon[1])
    assert (nan_lat[0], nan_lon[0]) == pytest.approx(gcj02_to_wgs84(lat[0], lon[0]), abs=1e-12)
    keep_lat, keep_lon = to_wgs84(lat, lon, "gcj02", outside="keep")
    assert (keep_lat[1], keep_lon[1]) == (lat[1], lon[1])
    assert (keep_lat[0], keep_lon[0]) == (nan_lat[0], nan_lon[0])


@pytest.mark.parametrize("crs", ["wgs84", "WGS-84", "cgcs2000", "EPSG:4490", "天地图"])
def test_to_wgs84_identity_systems(crs):
    # Taipei is fine here: WGS-84 and CGCS2000 exist everywhere.
    assert to_wgs84(25.033, 121.5654, crs) == (25.033, 121.5654)
    assert from_wgs84(39.9, 116.4, crs) == (39.9, 116.4)


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_from_wgs84_matches_direct_functions(crs):
    lat, lon = _latlon(MAINLAND)
    direct = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}[crs]
    np.testing.assert_array_equal(from_wgs84(lat, lon, crs), direct(lat, lon))
    np.testing.assert_array_equal(from_wgs84(lat, lon, crs.upper()), direct(lat, lon))


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"crs": None}, "coordinate system is required"),
        ({"crs": "mars-2"}, "'mars-2'"),
        ({"crs": "gcj02", "outside": "drop"}, "outside='drop'"),
        ({"crs": "gcj02", "lat": 95.0}, "latitude out of range"),
        ({"crs": "wgs84", "lon": math.inf}, "infinite"),
    ],
)
def test_to_wgs84_bad_arguments(kwargs, fragment):
    arguments = {"lat": 39.9, "lon": 116.4, **kwargs}
    with pytest.raises(CoordinateError, match=fragment.replace("(", r"\(")):
        to_wgs84(**arguments)


def test_to_wgs84_passes_missing_values_through():
    lat, lon = to_wgs84([math.nan, 39.91640428150164], [116.4, 116.41024449916938], "gcj02")
    assert math.isnan(lat[0]) and lon[0] == 116.4
    assert haversine_m(lat[1], lon[1], 39.915, 116.404) < ROUND_TRIP_TOLERANCE_M


def test_from_wgs84_requires_a_known_crs():
    with pytest.raises(CoordinateError, match="'osgb36'"):
        from_wgs84(39.9, 116.4, "osgb36")


# --- validation -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("lat", "lon", "expected"),
    [
        (39.9, 116.4, []),
        ("39.9", "116.4", []),
        (-90, 180, []),
        (90.0001, 116.4, [("lat", "latitude out of range")]),
        (39.9, -180.5, [("lon", "longitude out of range")]),
        (math.nan, 116.4, [("lat", "is NaN (missing or unreadable)")]),
        (39.9, math.inf, [("lon", "is infinite")]),
        (None, "abc", [("lat", "missing"), ("lon", "not a number")]),
        (True, 116.4, [("lat", "not a number")]),
        (116.4, 39.9, [("lat", "latitude out of range")]),
    ],
)
def test_validate_lat_lon_table(lat, lon, expected):
    problems = validate_lat_lon(lat, lon)
    assert [(p.field, p.reason) for p in problems] == expected
    assert all(isinstance(p, Problem) and p.allowed.startswith("a number of degrees")
               for p in problems)


def test_validate_lat_lon_arrays_name_the_index():
    problems = validate_lat_lon([39.9, 91.0, math.nan], [116.4, 116.4, 200.0])
    assert [p.field for p in problems] == ["lat[1]", "lat[2]", "lon[2]"]
    assert [p.reason for p in problems] == [
        "latitude out of range", "is NaN (missing or unreadable)", "longitude out of range"]
    assert problems[0].value == 91.0


@pytest.mark.parametrize(
    ("lat", "lon", "expected"),
    [
        (116.4074, 39.9042, True),  # Beijing, swapped
        (87.6168, 43.8256, True),  # Urumqi, swapped
        (39.9042, 116.4074, False),  # Beijing, correct
        (48.8566, 2.3522, False),  # Paris: not China either way
        (121.5654, 25.0330, False),  # Taipei swapped: still not mainland
        (math.nan, 39.9, False),
    ],
)
def test_looks_swapped(lat, lon, expected):
    assert looks_swapped(lat, lon) is expected


def test_looks_swapped_vectorised():
    assert looks_swapped([116.4074, 39.9042], [39.9042, 116.4074]).tolist() == [True, False]


# --- distance and bearing -------------------------------------------------------------------

ONE_DEGREE_M = EARTH_RADIUS_M * math.pi / 180  # 111,195.08 m


@pytest.mark.parametrize(
    ("points", "expected_m"),
    [
        ((0, 0, 1, 0), ONE_DEGREE_M),  # along a meridian
        ((0, 0, 0, 1), ONE_DEGREE_M),  # along the equator
        ((60, 0, 60, 1), None),  # checked below: cos(60) of a degree, nearly
        ((0, 0, 0, 90), EARTH_RADIUS_M * math.pi / 2),
        ((10, 20, -10, -160), EARTH_RADIUS_M * math.pi),  # antipodes: haversine's worst case
        ((39.9, 116.4, 39.9, 116.4), 0.0),
    ],
)
def test_haversine_hand_values(points, expected_m):
    distance_m = haversine_m(*points)
    if expected_m is None:
        assert distance_m == pytest.approx(ONE_DEGREE_M * 0.5, rel=1e-4)
    else:
        # arcsin near 1 loses digits: 0.2 m in 20,000 km at the antipodes, nanometres here.
        assert distance_m == pytest.approx(expected_m, rel=1e-8, abs=1e-6)


def test_haversine_is_vectorised():
    distance_m = haversine_m([0, 0], [0, 0], [1, 0], [0, 2])
    np.testing.assert_allclose(distance_m, [ONE_DEGREE_M, 2 * ONE_DEGREE_M])


@pytest.mark.parametrize(
    ("points", "expected_deg"),
    [
        ((0, 0, 1, 0), 0.0),
        ((0, 0, 0, 1), 90.0),
        ((0, 0, -1, 0), 180.0),
        ((0, 0, 0, -1), 270.0),
        ((0, 0, 1, 1), 45.0),  # nearly: 44.996
        ((39.9, 116.4, 39.9, 116.4), 0.0),
        ((0, 0, -1e-300, 0), 180.0),
    ],
)
def test_bearing_hand_values(points, expected_deg):
    assert bearing_deg(*points) == pytest.approx(expected_deg, abs=0.01)


@given(st.floats(-89, 89), st.floats(-180, 180), st.floats(-89, 89), st.floats(-180, 180))
def test_bearing_range(lat1, lon1, lat2, lon2):
    assert 0.0 <= bearing_deg(lat1, lon1, lat2, lon2) < 360.0


def test_public_names():
    assert set(coords.__all__) >= {
        "CRS_NAMES", "parse_crs", "in_mainland_china", "wgs84_to_gcj02", "gcj02_to_wgs84",
        "gcj02_to_bd09", "bd09_to_gcj02", "wgs84_to_bd09", "bd09_to_wgs84", "to_wgs84",
        "from_wgs84", "validate_lat_lon", "looks_swapped", "haversine_m", "bearing_deg",
    }
    assert CRS_NAMES == ("wgs84", "gcj02", "bd09", "cgcs2000")


def test_geojson_from_wgs84_converts_every_position_and_keeps_the_rest():
    """The coverage gaps a map on Amap tiles asks for: each vertex shifted as a point would be."""
    beijing, taipei = [116.404, 39.915], [121.5, 25.03]  # [lon, lat], as GeoJSON has them
    gaps = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"gap_id": 1}, "geometry": {"type": "Point", "coordinates": beijing}},
        {"type": "Feature", "properties": {"gap_id": 2},
         "geometry": {"type": "LineString", "coordinates": [taipei, [*beijing, 50.0]]}},
        {"type": "Feature", "properties": {"gap_id": 3}, "geometry": None},
    ]}
    out = coords.geojson_from_wgs84(gaps, "gcj02")
    # wandergis/coordtransform README: WGS-84 (lon 116.404, lat 39.915) is GCJ-02 (116.41024449916938, 39.91640428150164)
    assert out["features"][0]["geometry"]["coordinates"] == pytest.approx(
        [116.41024449916938, 39.91640428150164], abs=FORMULA_TOLERANCE_DEG)
    line = out["features"][1]["geometry"]["coordinates"]
    assert line[0] == taipei  # outside mainland China: unchanged
    assert line[1] == pytest.approx([116.41024449916938, 39.91640428150164, 50.0], abs=FORMULA_TOLERANCE_DEG)
    assert out["features"][2]["geometry"] is None
    assert [f["properties"] for f in out["features"]] == [{"gap_id": 1}, {"gap_id": 2}, {"gap_id": 3}]
    assert gaps["features"][0]["geometry"]["coordinates"] == beijing  # the input is left as it was
    assert coords.geojson_from_wgs84(gaps, "wgs84") == gaps
    bd = coords.geojson_from_wgs84(gaps, "bd09")["features"][0]["geometry"]["coordinates"]
    assert (bd[1], bd[0]) == pytest.approx(wgs84_to_bd09(39.915, 116.404), abs=1e-12)
    with pytest.raises(CoordinateError, match="Web Mercator"):
        coords.geojson_from_wgs84(gaps, "EPSG:3857")


def test_one_point_in_the_contested_zone_near_macau_is_answered_like_an_array():
    # Regression: a single point that needs the contested-zone test raised TypeError.
    lat, lon = 22.10, 113.55
    assert in_mainland_china(lat, lon) is bool(in_mainland_china([lat], [lon])[0])
    assert from_wgs84(lat, lon, "gcj02") == tuple(float(v[0]) for v in from_wgs84([lat], [lon], "gcj02"))


def test_one_point_and_arrays_shift_alike():
    """One point is shifted with math's functions, arrays with numpy's: the same formula, so
    the answers agree to rounding, both ways, and match the independent prcoords."""
    rng = np.random.default_rng(7)
    lat = rng.uniform(18.5, 53.0, 400)
    lon = rng.uniform(74.0, 134.0, 400)
    g_lat, g_lon = coords.wgs84_to_gcj02(lat, lon)
    w_lat, w_lon = coords.gcj02_to_wgs84(lat, lon)
    for i in range(0, 400, 7):
        one = coords.wgs84_to_gcj02(float(lat[i]), float(lon[i]))
        assert one[0] == pytest.approx(g_lat[i], abs=1e-12) and one[1] == pytest.approx(g_lon[i], abs=1e-12)
        back = coords.gcj02_to_wgs84(float(lat[i]), float(lon[i]))
        assert back[0] == pytest.approx(w_lat[i], abs=1e-10) and back[1] == pytest.approx(w_lon[i], abs=1e-10)
    # Beijing, against prcoords (an independent implementation of the same published formula)
    ref = prcoords.wgs_gcj(prcoords.Coords(39.9042, 116.4074))
    one = coords.wgs84_to_gcj02(39.9042, 116.4074)
    assert one == pytest.approx((ref.lat, ref.lon), abs=1e-9)


def test_one_point_inverse_is_the_fixed_point_iteration_step_for_step():
    """One GCJ-02 point is inverted on floats (no numpy per step): exactly what the fixed-point
    iteration p <- p - (gcj(p) - target) gives with the one-point forward shift, from the
    guess 2 target - gcj(target), stopping at the first correction within 1e-9 degrees."""
    rng = np.random.default_rng(11)
    checked = 0
    for lat, lon in zip(rng.uniform(22.0, 45.0, 300), rng.uniform(100.0, 120.0, 300)):
        lat, lon = float(lat), float(lon)
        if not coords.in_mainland_china(lat, lon):
            continue
        g_lat, g_lon = coords.wgs84_to_gcj02(lat, lon)
        p_lat, p_lon = 2.0 * lat - g_lat, 2.0 * lon - g_lon
        for _ in range(30):
            f_lat, f_lon = coords.wgs84_to_gcj02(p_lat, p_lon)
            d_lat, d_lon = f_lat - lat, f_lon - lon
            p_lat, p_lon = p_lat - d_lat, p_lon - d_lon
            if abs(d_lat) <= 1e-9 and abs(d_lon) <= 1e-9:
                break
        assert coords.gcj02_to_wgs84(lat, lon) == (p_lat, p_lon)
        assert coords.to_wgs84(lat, lon, "gcj02") == (p_lat, p_lon)
        checked += 1
    assert checked > 100
