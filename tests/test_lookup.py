"""Pieces under the nearest answer: travel times, the store's frame and the snapshot's one
copy of the records.

The answers themselves are checked against a reference builder in tests/test_answers.py.
"""

import contextlib
import json
import math
import sqlite3

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from stations.io.export import records_of
from stations.lookup import tenths
from stations.service import VOCABULARIES, StationPositions, build_snapshot
from stations.synthetic import national_stations
from stations.travel import Travel


def test_minutes_by_hand():
    # 1,300 m at 1.3 circuity = 1,690 m of road; walking 4.5 km/h = 1.25 m/s: 1,352 s, 22.5 minutes.
    walk, car = Travel("walk", circuity=1.3, speed_kmh=4.5), Travel("car", circuity=1.3, speed_kmh=30.0)
    assert walk.seconds_for(1300.0) == pytest.approx(1352.0)
    assert (walk.minutes_to_tenth(1300.0), car.minutes_to_tenth(1300.0)) == (22.5, 3.4)


@settings(max_examples=300)
@given(x=st.one_of(st.floats(0, 2.1e7), st.sampled_from([0.0, 0.04, 0.05, 0.15, 0.95, 99.95, 1509.15, 2.5e6])))
def test_tenths_round_to_the_nearest_tenth(x):
    got = tenths(x)
    assert abs(got - x) <= 0.05 + 1e-9 * max(1.0, x)  # the nearest tenth (either one on a half)
    assert got == round(got, 1) and (got == round(x, 1) or abs(x * 10 % 1 - 0.5) < 1e-6)
    assert json.dumps(got) == json.dumps(round(got, 1))  # no "1e-05", no "26.200000000000003"


def test_tenths_by_hand():
    assert [tenths(x) for x in (0.0, 0.04, 0.05, 0.96, 99.95, 1509.149)] == [0.0, 0.0, 0.1, 1.0, 100.0, 1509.1]


@settings(max_examples=100)
@given(distance_m=st.floats(0, 2.1e7))
def test_minutes_are_distance_times_circuity_over_speed(distance_m):
    for travel, speed_m_s in ((Travel("walk", circuity=1.3, speed_kmh=4.5), 1.25),
                              (Travel("ebike", circuity=1.3, speed_kmh=15.0), 15 / 3.6)):
        minutes, exact = travel.minutes_to_tenth(distance_m), distance_m * 1.3 / speed_m_s / 60
        assert abs(minutes - exact) <= 0.05 + 1e-9 * max(1.0, exact) and minutes == round(minutes, 1)
        assert travel.minutes_for(distance_m) == pytest.approx(exact)


@pytest.fixture(scope="module")
def frame():
    frame = national_stations(300, seed=5)
    frame.loc[3, "address"] = None
    frame.loc[4, ["lat", "lon"]] = np.nan
    frame.loc[5, "opening_hours"] = None
    return frame


def test_record_reads_each_field_back_as_python_values(frame):
    snap = build_snapshot(frame)
    for pos in (0, 3, 4, 5, 299):
        want = records_of(frame.iloc[[pos]])[0]
        got = snap.record(pos)
        assert got.keys() == want.keys()
        for name, value in want.items():
            if value is None or (isinstance(value, float) and math.isnan(value)):
                assert got[name] is None, name
            else:
                assert got[name] == value and type(got[name]) is type(value), name


def test_record_reads_only_the_fields_asked_for(frame):
    snap = build_snapshot(frame)
    assert snap.record(3, ("name", "address", "lat", "amenity_toilet")) == {
        "name": frame.loc[3, "name"], "address": None, "lat": frame.loc[3, "lat"],
        "amenity_toilet": frame.loc[3, "amenity_toilet"]}


def test_enumerated_fields_are_categoricals_of_their_vocabulary(frame):
    snap = build_snapshot(frame)
    for name, vocabulary in VOCABULARIES.items():
        assert list(snap.frame[name].cat.categories) == list(vocabulary)
    assert (snap.frame["amenity_toilet"] == "yes").sum() == (frame["amenity_toilet"] == "yes").sum()
    # A value outside the vocabulary: the column is kept as it is, not emptied.
    odd = frame.copy()
    odd.loc[0, "entry"] = "drawbridge"
    snap = build_snapshot(odd)
    assert snap.frame["entry"].dtype == odd["entry"].dtype and snap.record(0)["entry"] == "drawbridge"


def test_located_rows_and_the_index_agree(frame):
    snap = build_snapshot(frame)
    assert 4 not in snap.located and len(snap.located) == len(frame) - 1
    row = int(np.flatnonzero(snap.located == 7)[0])
    hit = snap.index.nearest(lat=frame.loc[7, "lat"], lon=frame.loc[7, "lon"], k=1, statuses=None,
                             include_imprecise=True)[0]
    assert hit.row == row and hit.station_id == frame.loc[7, "station_id"]


@pytest.mark.parametrize("ids", [["A1", "A2", "B7", "C0"], ["C0", "A2", "B7", "A1"], ["Z"], []])
def test_station_positions_map_ids_to_rows(ids):
    positions = StationPositions(np.array(ids, dtype=object))
    assert dict(positions) == {sid: i for i, sid in enumerate(ids)} and len(positions) == len(ids)
    assert list(positions) == ids
    for missing in ("A", "A10", "Zz", "", 3, None):
        assert positions.get(missing) is None
        with pytest.raises(KeyError):
            positions[missing]


def test_snapshot_by_id_matches_the_frame(frame):
    snap = build_snapshot(frame.sample(frac=1, random_state=1))  # ids out of order
    ids = snap.frame["station_id"]
    assert all(snap.by_id[sid] == i for i, sid in enumerate(ids)) and len(snap.by_id) == len(ids)
    assert snap.by_id.get("SYN-999999") is None
    assert isinstance(snap.frame, pd.DataFrame)


def _plain_reading(path, statuses) -> pd.DataFrame:
    """The frame of the GeoPackage at ``path`` read the plain way: every row at once with
    Python's sqlite3 (a GeoPackage is an SQLite file), then the store's conversions."""
    from stations.records import FIELD_NAMES

    cols = [*FIELD_NAMES, "flags"]
    where = "" if statuses is None else f"WHERE status IN ({', '.join('?' * len(statuses))})"
    with contextlib.closing(sqlite3.connect(path)) as db:
        rows = db.execute(f"SELECT {', '.join(cols)} FROM stations {where} ORDER BY station_id",
                          statuses or ()).fetchall()
    frame = pd.DataFrame.from_records(rows, columns=cols)
    frame["flags"] = [json.loads(f) if isinstance(f, str) and f else [] for f in frame["flags"]]
    for name in ("lat", "lon", "raw_lat", "raw_lon"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    return frame


@pytest.mark.parametrize("statuses", [None, ("open",), ("removed",)])
def test_store_frame_read_in_blocks_is_the_plain_reading(tmp_path, frame, statuses):
    """The store reads in blocks, one copy of each repeated text: the same frame as reading
    every row at once, also with no rows (object columns, not floats)."""
    from stations.store import Change, open_store

    with open_store(tmp_path / "s.gpkg") as store:
        pd.testing.assert_frame_equal(store.frame(statuses=statuses), _plain_reading(tmp_path / "s.gpkg", statuses))
        assert store.frame()["station_id"].dtype == object
        store.apply([Change("add", r) for r in records_of(frame)], command="test")
        got = store.frame(statuses=statuses)
        pd.testing.assert_frame_equal(got, _plain_reading(tmp_path / "s.gpkg", statuses))
    assert len(got) == (len(frame) if statuses is None else int(frame["status"].isin(statuses).sum()))
