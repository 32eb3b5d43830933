"""A snapshot brought up to date with the stations changed since it was read (issue #11, item 4).

:meth:`StationStore.changed_frame` reads what changed after a revision; :func:`merge_changes`
merges it into the served frame. The reference is the plain path: a whole read of the store
(``consistent_frame``) built by :func:`build_snapshot`. After every step of random sequences
of writes, on both backends, the service's snapshot must equal it (values, dtypes, order)
and its nearest answers the brute-force oracle's; and a refresh takes the changes only when
they are few and the file is the same (``/health``'s ``snapshot.build``).
"""

from __future__ import annotations

import random
import shutil

import pandas as pd
import pytest

import stations.service as service_module
from stations.errors import ValidationError
from stations.index import nearest_bruteforce
from stations.records import ACCESS_VALUES, FIELD_NAMES, empty_record
from stations.service import StationService, build_snapshot, merge_changes
from stations.store import Change, open_store

from test_index_sequences import assert_same_up_to_ties

COLUMNS = [*FIELD_NAMES, "flags"]
# Ids whose order differs between code points and a language's collation (case, punctuation,
# Chinese): both stores read in code point order, and so must the merge.
ID_POOL = ("A1", "A-2", "a3", "A_4", "B10", "B9", "Z", "z", "驿站1", "站2", "0", "S 5", "S5", "S-5", "Ä")


def _location(store) -> str:
    return str(getattr(store, "path", None) or store.url)


def _station(station_id: str, rng: random.Random) -> dict:
    rec = empty_record()
    rec.update(station_id=station_id, name=f"驿站{station_id}", access=rng.choice(ACCESS_VALUES),
               amenity_toilet=rng.choice(("yes", "no", "unknown")),
               opening_hours=rng.choice(("24/7", "Mo-Fr 08:00-18:00", None)), contact=rng.choice(("12345", None)))
    if rng.random() < 0.85:
        lat, lon = 39.9 + rng.uniform(-0.05, 0.05), 116.4 + rng.uniform(-0.05, 0.05)
        rec.update(lat=lat, lon=lon, raw_lat=lat, raw_lon=lon, raw_crs="wgs84", geocode_precision="exact")
    return rec


def _update(store, station_id: str, action: str = "update", **fields) -> Change:
    rec = store.get(station_id)
    flags = tuple(rec.pop("flags"))
    changed = {k: [rec[k], v] for k, v in fields.items() if rec[k] != v}
    return Change(action, {**rec, **fields}, changed=changed, flags=flags)


def _changes(store, rng: random.Random, kind: str, ids: list[str]) -> list[Change]:
    """Changes of one ``kind`` to stations of ``ids`` (each taken from it: one change per station)."""
    def pick(having: str | None = None) -> str:
        """A station of ``ids``; one whose ``having`` is not missing if there is one (so that the
        last English name or status reason is cleared now and then)."""
        frame = store.frame()
        holders = set(frame.loc[frame[having].notna(), "station_id"]) if having else set()
        pool = [i for i in ids if i in holders] or ids
        station_id = rng.choice(pool)
        ids.remove(station_id)
        return station_id
    if kind == "add":
        taken = set(store.frame()["station_id"])
        free = [i for i in ID_POOL if i not in taken] or [f"N{len(taken)}"]
        return [Change("add", _station(i, rng), flags=("needs_review",) if rng.random() < 0.3 else ())
                for i in rng.sample(free, min(len(free), rng.randint(1, 2)))]
    if kind == "edit":
        field, value = rng.choice((("name", f"新名{rng.randrange(99)}"), ("name_en", "Rest stop"), ("name_en", None),
                                   ("opening_hours", rng.choice(("24/7", None))), ("access", rng.choice(ACCESS_VALUES)),
                                   ("amenity_toilet", rng.choice(("yes", "no"))), ("last_verified", "2025-06-01"),
                                   ("notes", rng.choice(("门口有台阶", None)))))
        return [_update(store, pick(field if value is None else None), **{field: value})]
    if kind == "move":
        lat, lon = 39.9 + rng.uniform(-0.05, 0.05), 116.4 + rng.uniform(-0.05, 0.05)
        return [_update(store, pick(), lat=lat, lon=lon, geocode_precision="street")]
    if kind == "unlocate":
        return [_update(store, pick(), lat=None, lon=None, raw_lat=None, raw_lon=None, raw_crs=None,
                        geocode_precision=None)]
    if kind == "close":
        return [_update(store, pick(), status="temporarily_closed", status_reason="装修")]
    if kind == "remove":
        return [_update(store, pick(), "remove", status="removed", status_reason="撤销")]
    if kind == "reopen":  # a removed or closed station back in service
        return [_update(store, pick("status_reason"), status="open", status_reason=None)]
    # "many": a batch touching a third of the stations
    return [_update(store, pick(), notes=f"批量{rng.randrange(99)}") for _ in range(len(ids) // 3)]


def _write(store, rng: random.Random) -> tuple[list[str], int]:
    """One batch: a third of the stations, or one to three small changes of different kinds.
    Returns its kinds and how many stations it touched."""
    kinds = ["many"] if rng.random() < 0.12 else rng.sample(
        ("add", "edit", "edit", "move", "unlocate", "close", "remove", "reopen"), rng.randint(1, 3))
    ids = sorted(store.frame()["station_id"])
    changes = [c for kind in kinds for c in _changes(store, rng, kind, ids)]
    store.apply(changes, command="test")
    return kinds, len({c.record["station_id"] for c in changes})


def _assert_like_a_whole_read(snap, store) -> None:
    revision, frame = store.consistent_frame()
    ref = build_snapshot(frame, revision)
    assert snap.revision == ref.revision
    pd.testing.assert_frame_equal(snap.frame, ref.frame, check_exact=True)
    assert snap.located.tolist() == ref.located.tolist()
    indexed = ref.frame.iloc[ref.located].reset_index(drop=True)
    if len(indexed):
        for lat, lon in ((39.9, 116.4), (39.95, 116.35), (0.0, 0.0)):
            for filters in ({}, {"statuses": None}, {"amenities": ("toilet",), "access": ("everyone",)}):
                got = snap.index.nearest(lat=lat, lon=lon, k=4, **filters)
                assert_same_up_to_ties(got, nearest_bruteforce(indexed, lat=lat, lon=lon, k=len(indexed),
                                                               **filters), 4)
    for station_id in frame["station_id"][:5]:
        assert snap.record(snap.by_id[station_id]) == ref.record(ref.by_id[station_id])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_writes_served_from_the_changes_equal_a_whole_read(any_store, seed, monkeypatch):
    monkeypatch.setattr(service_module, "CHANGES_MIN_STATIONS", 4)  # the "many" batches go past it
    rng = random.Random(seed)
    any_store.apply([Change("add", _station(f"S{i:02d}", rng)) for i in range(24)], command="import")
    builds = []
    with StationService(_location(any_store), refresh_s=None) as service:
        assert service.health().as_dict()["snapshot"]["build"] == "full"
        for step in range(20):
            limit = service_module.changes_limit(len(service.snapshot().frame))
            kinds, touched = _write(any_store, rng)
            assert service.refresh(), (step, kinds)
            snap = service.snapshot()
            assert snap.build == ("changes" if touched <= limit else "full"), (step, kinds, touched)
            _assert_like_a_whole_read(snap, any_store)
            builds.append(snap.build)
    assert "changes" in builds


def test_a_small_change_is_merged_and_a_big_one_read_whole(any_store, monkeypatch):
    monkeypatch.setattr(service_module, "CHANGES_MIN_STATIONS", 2)
    rng = random.Random(7)
    any_store.apply([Change("add", _station(f"S{i:02d}", rng)) for i in range(10)], command="import")
    with StationService(_location(any_store), refresh_s=None) as service:
        build = lambda: service.health().as_dict()["snapshot"]["build"]  # noqa: E731
        assert build() == "full"  # the first load
        any_store.apply([_update(any_store, "S03", name="三号")], command="edit")
        assert service.refresh() and build() == "changes"
        assert service.snapshot().record(service.snapshot().by_id["S03"])["name"] == "三号"
        any_store.apply([_update(any_store, f"S0{i}", notes="批量") for i in range(3)], command="edit")
        assert service.refresh() and build() == "full"  # 3 stations: more than the limit of 2
        any_store.apply([_update(any_store, "S04", notes="一"), _update(any_store, "S05", notes="二")],
                        command="edit")
        assert service.refresh() and build() == "changes"
        _assert_like_a_whole_read(service.snapshot(), any_store)


def test_a_replaced_file_and_a_restore_to_a_lower_revision_are_read_whole(tmp_path):
    rng = random.Random(8)
    path, backup = tmp_path / "live.gpkg", tmp_path / "backup.gpkg"
    with open_store(path) as store:
        store.apply([Change("add", _station(f"S{i:02d}", rng)) for i in range(10)], command="import")
    shutil.copy(path, backup)  # revision 1
    with StationService(str(path), refresh_s=None) as service, open_store(path) as store:
        store.apply([_update(store, "S01", name="一号")], command="edit")
        store.apply([_update(store, "S02", name="二号")], command="edit")
        assert service.refresh() and service.snapshot().build == "changes"
        assert service.snapshot().revision == 3
        shutil.copy(backup, tmp_path / "restore.gpkg")
        (tmp_path / "restore.gpkg").replace(path)  # what `mv backup.gpkg stations.gpkg` does
        assert service.refresh()
        snap = service.snapshot()
        assert (snap.revision, snap.build) == (1, "full")
        assert snap.record(snap.by_id["S01"])["name"] == "驿站S01"
        with open_store(path) as restored:
            _assert_like_a_whole_read(snap, restored)
            restored.apply([_update(restored, "S01", name="新一号")], command="edit")  # the restored file moves on
            assert service.refresh() and service.snapshot().build == "changes"
            _assert_like_a_whole_read(service.snapshot(), restored)


# -- the store's side ------------------------------------------------------------------------
def test_changed_frame_reads_each_changed_station_once_as_frame_reads_it(any_store):
    rng = random.Random(9)
    any_store.apply([Change("add", _station(i, rng)) for i in ("A", "B", "C")], command="import")  # revision 1
    any_store.apply([_update(any_store, "B", name="乙")], command="edit")
    any_store.apply([_update(any_store, "B", notes="两次"), Change("add", _station("D", rng))], command="edit")
    revision, ids, frame = any_store.changed_frame(1)
    assert revision == 3 and sorted(ids) == ["B", "D"]
    whole = any_store.frame()
    assert list(frame.columns) == COLUMNS == list(whole.columns)
    expected = whole[whole["station_id"].isin(["B", "D"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)
    assert frame["name"].tolist() == ["乙", "驿站D"] and frame["notes"].tolist()[0] == "两次"
    for name in ("lat", "lon", "raw_lat", "raw_lon"):
        assert frame[name].dtype == "float64"
    assert sorted(any_store.changed_frame(2)[1]) == ["B", "D"]  # B edited in both revisions: once
    assert sorted(any_store.changed_frame(0)[1]) == ["A", "B", "C", "D"]
    revision, ids, frame = any_store.changed_frame(3)  # nothing after the last revision
    assert (revision, ids, len(frame), list(frame.columns)) == (3, (), 0, COLUMNS)
    revision, ids, frame = any_store.changed_frame(1, max_stations=1)  # 2 changed: too many
    assert (revision, sorted(ids), frame) == (3, ["B", "D"], None)


@pytest.mark.parametrize("revision", [-1, 4, "1", 1.0, True, None])
def test_changed_frame_refuses_a_revision_the_store_does_not_have(any_store, revision):
    rng = random.Random(10)
    for i in range(3):
        any_store.apply([Change("add", _station(f"S{i}", rng))], command="edit")
    with pytest.raises(ValidationError) as err:
        any_store.changed_frame(revision)
    assert "revision" in str(err.value) and "0 to 3" in str(err.value)


# -- the merge alone -------------------------------------------------------------------------
def _frame(*records: dict) -> pd.DataFrame:
    """A store frame of ``records`` (as a whole read infers its columns), in id order."""
    rows = sorted(({**r, "flags": list(r.get("flags", []))} for r in records), key=lambda r: r["station_id"])
    df = pd.DataFrame(rows, columns=COLUMNS) if rows else pd.DataFrame(columns=COLUMNS, dtype=object)
    for name in ("lat", "lon", "raw_lat", "raw_lon"):
        df[name] = df[name].astype("float64")
    return df


def _rec(station_id: str, lat: float | None = None, **fields) -> dict:
    rec = empty_record()
    rec.update(station_id=station_id, name=f"驿站{station_id}", **fields)
    if lat is not None:
        rec.update(lat=lat, lon=116.0, geocode_precision="exact")
    return rec


def test_merge_replaces_adds_and_drops_in_id_order():
    a, c, e, g = _rec("A", 40.0), _rec("C", 40.1), _rec("E", 40.2), _rec("G")
    served = build_snapshot(_frame(a, c, e, g)).frame
    c2, b, h = _rec("C", None, status="removed"), _rec("B", 40.3, name_en="Rest stop"), _rec("H", 40.4)
    # E is gone from the store: changed, and no row.
    merged = merge_changes(served, ["C", "E", "B", "H"], _frame(c2, b, h))
    assert merged["station_id"].tolist() == ["A", "B", "C", "G", "H"]
    assert merged["status"].tolist() == ["open", "open", "removed", "open", "open"]
    assert merged["lat"].isna().tolist() == [False, False, True, True, False]
    assert merged["name_en"].tolist()[1] == "Rest stop"  # the first English name: a text column now
    reference = build_snapshot(_frame(a, b, c2, g, h))
    pd.testing.assert_frame_equal(build_snapshot(merged).frame, reference.frame, check_exact=True)


def test_merge_places_rows_by_id_whatever_their_order():
    served = build_snapshot(_frame(_rec("A"), _rec("C"))).frame
    rows = _frame(_rec("B"), _rec("D"))
    in_order = merge_changes(served, ["B", "D"], rows)
    assert in_order["station_id"].tolist() == ["A", "B", "C", "D"]
    pd.testing.assert_frame_equal(merge_changes(served, ["D", "B"], rows[::-1].reset_index(drop=True)), in_order)


def test_merge_of_no_changes_and_into_an_empty_frame():
    a = _rec("A", 40.0, name_en="Station A")
    served = build_snapshot(_frame(a)).frame
    pd.testing.assert_frame_equal(build_snapshot(merge_changes(served, [], _frame())).frame, served)
    # The last English name removed: a whole read gives a column of objects (None), not text.
    merged = build_snapshot(merge_changes(served, ["A"], _frame(_rec("A", 40.0)))).frame
    pd.testing.assert_frame_equal(merged, build_snapshot(_frame(_rec("A", 40.0))).frame)
    empty = build_snapshot(_frame()).frame
    merged = build_snapshot(merge_changes(empty, ["A"], _frame(a))).frame
    pd.testing.assert_frame_equal(merged, served)


def test_merge_refuses_what_a_whole_read_would_give_otherwise():
    served = build_snapshot(_frame(_rec("A"), _rec("C"))).frame
    outside = _frame(_rec("B", status="closed_for_good"))  # not in the status vocabulary
    assert merge_changes(served, ["B"], outside) is None
    twice = pd.concat([_frame(_rec("B")), _frame(_rec("B"))], ignore_index=True)
    assert merge_changes(served, ["B"], twice) is None
    assert merge_changes(served, ["B"], _frame(_rec("B")).drop(columns=["notes"])) is None
    as_text = served.assign(status=served["status"].astype(object))  # build_snapshot left it as text
    assert merge_changes(as_text, ["B"], _frame(_rec("B"))) is None


def test_changes_that_cannot_be_numbered_are_read_whole_at_once(any_store, caplog):
    """A revision with no batch behind it (a store edited by hand, say) makes the changes since
    the snapshot unreadable; the same refresh reads the store whole instead of waiting for the
    retry, and /health stays ok."""
    rng = random.Random(9)
    any_store.apply([Change("add", _station(f"S{i:02d}", rng)) for i in range(5)], command="import")
    with StationService(_location(any_store), refresh_s=None, retry_s=3600) as service:
        any_store.apply([_update(any_store, "S01", name="一号")], command="edit")  # revision 2
        assert service.refresh() and service.snapshot().revision == 2
        with any_store.transaction() as db:  # by hand: no batch, no history
            db.execute("UPDATE stations SET name = ? WHERE station_id = ?", ("二号", "S02"))
            db.execute("UPDATE station_meta SET value = ? WHERE key = 'revision'", ("3",))
        with pytest.raises(Exception, match="cannot be"):
            any_store.changed_frame(2)
        assert service.refresh()
        health = service.health().as_dict()
        assert health["store"]["readable"] and health["snapshot"]["build"] == "full"
        assert health["snapshot"]["revision"] == 3 and health["lag"]["revisions"] == 0
        names = {sid: service.snapshot().record(service.snapshot().by_id[sid])["name"] for sid in ("S01", "S02")}
        assert names == {"S01": "一号", "S02": "二号"}
        assert "reading the store whole" in caplog.text
        _assert_like_a_whole_read(service.snapshot(), any_store)
