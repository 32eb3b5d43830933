"""The real files in ../shared/data: every row stored or reported, hours handled, no shift outside China."""

from __future__ import annotations

import json

import pytest

from stations.io.importer import import_file


def _check_no_shift(store):
    frame = store.frame()
    positioned = frame[frame["lat"].notna()]
    assert len(positioned)
    # WGS-84 in, WGS-84 out: outside mainland China nothing is shifted.
    assert (positioned["lat"] == positioned["raw_lat"]).all()
    assert (positioned["lon"] == positioned["raw_lon"]).all()
    assert set(positioned["raw_crs"]) == {"wgs84"}
    return frame


def _hours_kept(frame, report):
    typed = frame[frame["opening_hours_raw"].notna() | frame["opening_hours"].notna()]
    unknown = typed[typed["opening_hours"].isna()]
    # Every value nobody could read is kept verbatim and was reported as a warning.
    assert unknown["opening_hours_raw"].notna().all()
    warned = {p.value for p in report.warnings if p.field == "opening_hours"}
    assert set(unknown["opening_hours_raw"]) <= warned
    return len(typed), len(unknown)


def test_taiwan_drinking_water(store, shared_data):
    path = shared_data / "osm" / "taiwan_drinking_water.geojson"
    n = len(json.loads(path.read_text(encoding="utf-8"))["features"])
    report = import_file(store, path)
    assert report.rows == n == 708
    assert report.added + report.rejected == n
    frame = _check_no_shift(store)
    # 155 features have no properties at all: no name, so they are reported, not invented.
    nameless = [p for p in report.rejected_rows if p.field == "name"]
    assert len(nameless) == report.rejected >= 155
    assert all(p.row is not None for p in report.rejected_rows)
    typed, unknown = _hours_kept(frame, report)
    assert typed > 0
    # The features carry only name/opening_hours/description: nothing else is invented.
    assert (frame["amenity_toilet"] == "unknown").all()
    # Full-width colons as typed by a mapper are understood.
    fw = frame[frame["opening_hours_raw"] == "06：00 - 22：00"]
    if len(fw):
        assert set(fw["opening_hours"]) == {"06:00-22:00"}


def test_bergen_toilets(store, shared_data):
    path = shared_data / "osm" / "bergen_toilets.geojson"
    report = import_file(store, path)
    assert report.rows == 40
    assert report.added + report.rejected == 40
    frame = _check_no_shift(store) if report.added else store.frame()
    polygons = [p for p in report.warnings if p.field == "geometry"]
    assert len(polygons) == 3  # the three polygons are placed at a representative point, and said so
    assert (frame["amenity_toilet"] == "yes").all()
    _hours_kept(frame, report)


@pytest.mark.parametrize("name,count", [("processed_data_tfl.json", 89), ("processed_data_kingston.json", 10),
                                        ("processed_data_havering.json", 7)])
def test_london_toilets(store, shared_data, name, count):
    path = shared_data / "tfl" / name
    report = import_file(store, path)
    assert report.rows == count
    assert report.added + report.rejected == count
    frame = _check_no_shift(store)
    assert frame["county"].notna().any()  # borough -> county/district
    # London is in no Chinese county: nothing is filled and the boroughs are not questioned.
    assert report.admin_filled == 0 and not [w for w in report.warnings if w.field == "county"]
    _hours_kept(frame, report)
    again = import_file(store, path)
    assert (again.added, again.updated, again.unchanged) == (0, 0, report.added)
