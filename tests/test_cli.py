"""The `stations` command line on the sample spreadsheet, as union staff would use it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from stations.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample_stations.xlsx"


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("STATIONS_GEOCODE_CACHE", str(tmp_path / "cache.sqlite"))
    store = tmp_path / "cli.gpkg"
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, ["--store", str(store), *map(str, args)], catch_exceptions=False)

    return invoke


def test_import_sample_list_show_history(run, tmp_path):
    res = run("import", SAMPLE, "--reason", "sample data")
    assert res.exit_code == 0, res.output
    assert "added 24, updated 0, unchanged 0, rejected 0; geocoded 5, needs review 5" in res.output
    # The sample has no 行政区划代码 column: the 19 positioned rows get their adcode from the boundaries.
    assert "admin areas filled 19" in res.output and "warning" not in res.output
    again = run("import", SAMPLE)
    assert "added 0, updated 0, unchanged 24, rejected 0" in again.output
    listing = run("list", "--county", "昌黎", "--limit", "100")
    assert "15 of 15 stations" in listing.output
    review = run("geocode", "--review")
    assert "5 stations below street precision" in review.output and "CL-003" in review.output
    show = run("show", "CL-011")
    assert "24/7" in show.output and "Open 24 hours" in show.output
    hist = run("history", "CL-001")
    assert "add (new station) by import sample_stations.xlsx" in hist.output


def test_remove_needs_a_reason_and_keeps_history(run):
    run("import", SAMPLE)
    res = CliRunner().invoke(main, ["--store", "x", "remove", "CL-001"])
    assert res.exit_code == 2 and "--reason" in res.output
    res = run("remove", "CL-001", "--reason", "拆除")
    assert res.exit_code == 0
    hist = run("history", "CL-001")
    assert "remove (status, status_reason)" in hist.output and "拆除" in hist.output
    shown = run("show", "CL-001")
    assert "removed" in shown.output


def test_export_and_validate(run, tmp_path):
    run("import", SAMPLE)
    out = tmp_path / "all.geojson"
    res = run("export", out)
    assert "wrote 24 stations" in res.output
    assert len(json.loads(out.read_text(encoding="utf-8"))["features"]) == 24
    bad = tmp_path / "bad.csv"
    bad.write_text("站点名称,经度,纬度\n好,119.1,39.7\n坏,119.1,95\n", encoding="utf-8")
    res = run("validate", bad, "--problems", tmp_path / "p.csv")
    assert res.exit_code == 1 and "rejected row 2: lat=95.0" in res.output
    assert "row,severity,field" in (tmp_path / "p.csv").read_text(encoding="utf-8-sig")


def test_errors_are_one_clear_line(run, tmp_path):
    res = run("show", "NOPE")
    store = tmp_path / "cli.gpkg"
    assert res.exit_code == 2 and res.output == (
        f"error: store {str(store)!r} does not exist; create it with `stations --store {store} import FILE`, "
        "or set --store (setting `store`) to an existing store\n")
    assert not store.exists()  # reading never creates a store
    run("import", SAMPLE)
    res = run("show", "NOPE")
    assert res.exit_code == 2 and "no station with id 'NOPE'" in res.output
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    res = run("import", empty)
    assert res.exit_code == 2 and "empty" in res.output
    res = run("import", SAMPLE, "--crs", "utm50")
    assert res.exit_code == 2 and "utm50" in res.output and "gcj02" in res.output


def test_coverage_and_suggest_write_reports(run, tmp_path):
    run("import", SAMPLE)
    res = run("coverage", "蔚县", "--cell-m", "200", "--amenity", "toilet", "--at", "2026-11-23T23:00:00+08:00",
              "--out", tmp_path / "rep")
    assert res.exit_code == 0, res.output
    assert "all stations" in res.output and "with toilet" in res.output
    html = (tmp_path / "rep" / "coverage-130726.html").read_text(encoding="utf-8")
    assert 'src="http' not in html and 'href="http' not in html  # offline like every page
    assert (tmp_path / "rep" / "coverage-130726_gaps.geojson").exists()
    res = run("suggest", "蔚县", "--n", "2", "--cell-m", "300", "--out", tmp_path / "rep2")
    assert res.exit_code == 0, res.output
    assert "MCLP: 2 new stations" in res.output
    res = run("suggest", "蔚县", "--cell-m", "300")
    assert res.exit_code == 2 and "--target-pct" in res.output
    res = run("coverage", "蔚具")
    assert res.exit_code == 2 and "蔚县" in res.output  # close matches suggested
