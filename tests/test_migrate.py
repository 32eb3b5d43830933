"""`stations migrate`: a whole store moved GeoPackage -> PostGIS -> GeoPackage, losslessly,
in one transaction on a new target (real GeoPackage files, a real PostgreSQL + PostGIS server)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from stations.accounts import (accept_report, add_user, create_token, create_session, etag, get_user, list_reports,
                               list_tokens, list_users, patch_station, reject_report, submit_report, verify_station)
from stations.cli import main
from stations.edit import set_status
from stations.errors import StoreError
from stations.io.export import export
from stations.io.importer import import_file
from stations.records import empty_record
from stations.store import Change, open_store
from stations.store.copy import NOT_MOVED, copy_store

from test_accounts import PASSWORD, station
from test_migrations import make_v1_store

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample_stations.csv"


def everything(store, out: Path) -> dict:
    """Every export a user or an operator can take of a store, as text or plain values."""
    out.mkdir(parents=True, exist_ok=True)
    export(store.frame(), out / "stations.csv")
    export(store.frame(), out / "stations.geojson")
    feed, after = [], 0
    while True:
        page = store.changes_since(0, after=after, limit=7)
        feed += page.entries
        if not page.more:
            break
        after = page.entries[-1].history_id
    admin = get_user(store, "admin1")
    return {
        "csv": (out / "stations.csv").read_bytes(),
        "geojson": (out / "stations.geojson").read_bytes(),
        "revision": store.revision(),
        "revision_at": [store.revision_at(r) for r in range(store.revision() + 1)],
        "history": store.history(limit=10**9),
        "batches": store.batches(limit=10**9),
        "feed": feed,
        "feed_from_2": store.changes_since(2, limit=10**6).entries,
        "users": list_users(store),
        "password_hashes": store.query("SELECT name, password_hash FROM users ORDER BY name"),
        "tokens": list_tokens(store),
        "token_hashes": store.query("SELECT token_id, token_sha256 FROM api_tokens ORDER BY token_id"),
        "reports": list_reports(store, admin, status="all"),
        "report_rows": store.query("SELECT * FROM station_reports ORDER BY report_id"),
        "checks": store.query("SELECT * FROM station_checks ORDER BY station_id, field_group"),
        "secrets": store.query("SELECT * FROM app_secrets ORDER BY name"),
    }


def _curate(store) -> None:
    """Sample data plus edits, reports, users, tokens and a session, all through the library."""
    import_file(store, SAMPLE, max_bytes=None)
    store.apply([Change("add", station("A1", "130322")), Change("add", station("B1", "130324"))], command="seed")
    add_user(store, "admin1", role="admin", password=PASSWORD)
    add_user(store, "changli", role="editor", areas="130322", password=PASSWORD)
    add_user(store, "qhd", role="moderator", areas=["1303"])
    create_token(store, "changli", label="county sync")
    create_session(store, get_user(store, "changli"))
    editor, mod = get_user(store, "changli"), get_user(store, "qhd")
    patch_station(store, editor, "A1", {"opening_hours": "24/7", "name": "昌黎驿站"}, if_match=etag(store.get("A1")),
                  reason="phoned them")
    verify_station(store, editor, "A1", note="visited")
    first = submit_report(store, "B1", {"kind": "closed", "text": "门锁着"}, client="10.0.0.1", limit_per_hour=5)
    second = submit_report(store, "A1", {"kind": "still_correct"}, client="10.0.0.2", limit_per_hour=5)
    submit_report(store, "A1", {"kind": "amenity_missing", "amenity": "toilet"}, client="10.0.0.3", limit_per_hour=5)
    accept_report(store, mod, first["report_id"], reason="confirmed by phone")
    reject_report(store, mod, second["report_id"], reason="duplicate")
    set_status(store, store.frame()["station_id"].iloc[0], "removed", reason="building demolished")


@pytest.fixture
def curated(tmp_path):
    with open_store(tmp_path / "source.gpkg") as s:
        _curate(s)
    return tmp_path / "source.gpkg"


def test_gpkg_to_postgis_to_gpkg_keeps_every_export(curated, pg_url, tmp_path):
    back = tmp_path / "back" / "again.gpkg"
    with open_store(curated, create=False) as src:
        original = everything(src, tmp_path / "x0")
        to_pg = copy_store(src, pg_url)
    assert to_pg.kind == "postgis" and to_pg.revision == original["revision"] == 6  # import, seed, patch, verify, accept, remove
    assert to_pg.rows["users"] == 3 and to_pg.rows["api_tokens"] == 1 and to_pg.rows["station_reports"] == 3
    with open_store(pg_url, create=False) as pg:
        assert everything(pg, tmp_path / "x1") == original
        assert pg.query("SELECT count(*) AS n FROM sessions") == [{"n": 0}], "sessions do not move"
        copy_store(pg, back)
    with open_store(back, create=False) as again:
        assert everything(again, tmp_path / "x2") == original
        assert again.query("SELECT count(*) AS n FROM sessions") == [{"n": 0}]
    assert set(NOT_MOVED) == {"sessions", "rate_events", "uploads"}
    assert sorted(p.name for p in back.parent.iterdir()) == ["again.gpkg"], "no temporary file left"


def test_the_copy_takes_new_writes_after_the_copied_ids(curated, pg_url):
    with open_store(curated, create=False) as src:
        top_batch = src.batches(limit=1)[0]["batch_id"]
        top_history = src.history(limit=1)[0]["history_id"]
        revision = src.revision()
        copy_store(src, pg_url)
    with open_store(pg_url, create=False) as pg:
        rec = empty_record()
        rec.update(station_id="NEW1", name="新驿站", lat=39.9, lon=116.4)
        result = pg.apply([Change("add", rec)], command="after-migrate")
        assert (result.batch_id, result.revision) == (top_batch + 1, revision + 1)
        assert pg.history(limit=1)[0]["history_id"] == top_history + 1
        assert [e.station_id for e in pg.changes_since(revision).entries] == ["NEW1"]
        add_user(pg, "later", role="viewer", areas="13")
        assert max(u["user_id"] for u in list_users(pg)) == 4


def _batches_store(location, n_batches: int = 6) -> None:
    """A store whose history has several batches: adds, updates, removals, one empty batch."""
    with open_store(location) as s:
        for b in range(n_batches):
            changes = []
            for i in range(10):
                rec = empty_record()
                rec.update(station_id=f"S{b:02d}{i:02d}", name=f"站{b}-{i}", lat=30 + b + i / 100, lon=110 + i / 7,
                           status="open", adcode="130322", geocode_precision="exact")
                changes.append(Change("add", rec, flags=("needs_review",) if i % 3 == 0 else ()))
            if b:
                old = s.get(f"S{b - 1:02d}03")
                new = {**old, "name": old["name"] + "改", "lat": None, "lon": None}
                new.pop("flags")
                changes.append(Change("update", new, {"name": [old["name"], new["name"]],
                                                      "lat": [old["lat"], None], "lon": [old["lon"], None]}))
            s.apply(changes, command="import", source=f"batch{b}.csv", source_sha256=f"{b:064x}",
                    summary={"added": 10, "note": "第几批"}, user="changli" if b % 2 else "")
            if b == 2:
                s.apply([], command="import", source="unchanged.csv", summary={"unchanged": 10})
                set_status(s, "S0001", "removed", reason="拆除")


@pytest.mark.parametrize("first", ["geopackage", "postgis"])
def test_several_batches_both_directions_in_small_chunks(first, pg_server, tmp_path):
    a, b = pg_server.new_database(), pg_server.new_database()
    try:
        if first == "geopackage":  # gpkg -> PostGIS -> gpkg
            start, middle, end = tmp_path / "start.gpkg", a, tmp_path / "end.gpkg"
        else:  # PostGIS -> gpkg -> PostGIS
            start, middle, end = a, tmp_path / "middle.gpkg", b
        _batches_store(start)
        with open_store(start, create=False) as s:
            add_user(s, "admin1", role="admin", password=PASSWORD)
            original = everything(s, tmp_path / "x0")
            seen: dict[str, int] = {}
            copy_store(s, middle, chunk_rows=7, progress=lambda t, n: seen.__setitem__(t, seen.get(t, 0) + n))
        assert seen["stations"] == 60 and seen["station_history"] == 60 + 5 + 1
        assert seen["station_batches"] == 8
        with open_store(middle, create=False) as m:
            assert everything(m, tmp_path / "x1") == original
            copy_store(m, end, chunk_rows=3)
        with open_store(end, create=False) as e:
            assert everything(e, tmp_path / "x2") == original
    finally:
        pg_server.drop_database(a)
        pg_server.drop_database(b)


def test_a_failure_leaves_no_gpkg_target(curated, tmp_path):
    target = tmp_path / "out" / "new.gpkg"

    def fail(table, rows):
        if table == "station_history":
            raise RuntimeError("disk full (simulated)")

    with open_store(curated, create=False) as src, pytest.raises(RuntimeError, match="disk full"):
        copy_store(src, target, progress=fail)
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_a_failure_leaves_the_postgis_target_as_it_was(curated, pg_url, tmp_path):
    def fail(table, rows):
        if table == "users":
            raise RuntimeError("connection lost (simulated)")

    with open_store(curated, create=False) as src, pytest.raises(RuntimeError, match="connection lost"):
        copy_store(src, pg_url, progress=fail)
    import psycopg

    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT to_regclass('public.stations')").fetchone()[0] is None, "no table left behind"
    # The empty tables of a new store are an empty target too.
    open_store(pg_url).close()
    with open_store(curated, create=False) as src:
        assert copy_store(src, pg_url).rows["stations"] == src.count()


def test_refusals_name_the_target(curated, pg_url, tmp_path):
    with open_store(curated, create=False) as src:
        with pytest.raises(StoreError, match="is the source store itself"):
            copy_store(src, curated)
        (tmp_path / "taken.gpkg").write_bytes(b"")
        with pytest.raises(StoreError, match=r"'.*taken\.gpkg' already exists"):
            copy_store(src, tmp_path / "taken.gpkg")
        with pytest.raises(StoreError, match=r"unknown scheme; allowed: a new \.gpkg path"):
            copy_store(src, "mysql://root@localhost/stations")
        with pytest.raises(StoreError, match=r"'new\.sqlite' is not a \.gpkg path"):
            copy_store(src, "new.sqlite")
        copy_store(src, pg_url)
        with pytest.raises(StoreError, match=r"is not empty \(it holds station_batches: 6, stations: \d+, station_history: \d+, users: 3, api_tokens: 1, "
                                             r"station_reports: 3"):
            copy_store(src, pg_url)
    with open_store(pg_url, create=False) as pg:
        with pytest.raises(StoreError, match="is the source store itself"):
            copy_store(pg, pg_url.replace("127.0.0.1", "localhost"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with open_store(curated, create=False) as src, pytest.raises(StoreError, match="cannot be reached"):
        copy_store(src, f"postgresql://postgres:secret@127.0.0.1:{port}/nowhere")


def _cli(store, *args):
    return CliRunner().invoke(main, ["--store", str(store), *map(str, args)], catch_exceptions=False)


def test_cli_migrates_and_prints_what_moved(curated, pg_url, tmp_path):
    res = _cli(curated, "migrate", "--to", pg_url)
    assert res.exit_code == 0, res.output
    assert "(postgis, revision" in res.output and "3 users" in res.output
    assert "not copied: sessions, rate_events" in res.output
    res = _cli(pg_url, "migrate", "--to", tmp_path / "back.gpkg")
    assert res.exit_code == 0, res.output
    res = _cli(pg_url, "export", tmp_path / "pg.csv")
    res = _cli(tmp_path / "back.gpkg", "export", tmp_path / "back.csv")
    assert (tmp_path / "pg.csv").read_bytes() == (tmp_path / "back.csv").read_bytes()


@pytest.mark.parametrize("to, message", [
    ("{target}", "already exists"),
    ("{source}", "is the source store itself"),
    ("ftp://example.org/x.gpkg", "unknown scheme"),
    ("postgresql://postgres:hunter2@127.0.0.1:{port}/x", "cannot be reached"),
])
def test_cli_bad_targets_exit_2_with_one_line(curated, tmp_path, to, message):
    target = tmp_path / "exists.gpkg"
    target.write_bytes(b"x")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    res = _cli(curated, "migrate", "--to", to.format(target=target, source=curated, port=port))
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], res.output
    assert "hunter2" not in res.output


def test_cli_refuses_an_older_source_with_the_upgrade_command(tmp_path):
    old = make_v1_store(tmp_path / "old.gpkg")
    res = _cli(old, "migrate", "--to", tmp_path / "new.gpkg")
    assert res.exit_code == 2 and "schema version 1" in res.output and "db upgrade" in res.output
    assert not (tmp_path / "new.gpkg").exists()


def test_the_export_files_are_real_exports(curated, tmp_path):
    """The comparison above compares something: the CSV holds every station, the GeoJSON parses."""
    with open_store(curated, create=False) as src:
        got = everything(src, tmp_path / "x")
        n = src.count()
    assert got["csv"].decode("utf-8-sig").count("\n") == n + 1
    assert len(json.loads(got["geojson"])["features"]) == n
    assert len(got["feed"]) == len(got["history"]) > n
