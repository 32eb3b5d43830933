"""The live service over a real GeoPackage file: restores, deleted or broken stores, builds beside the
old snapshot."""

from __future__ import annotations

import os
import shutil
import threading
import time

import pytest

from stations.errors import StoreError
from stations.io.importer import import_file
from stations.service import StationService, build_snapshot
from stations.store import open_store

from conftest import eventually, write_csv
from test_api import HEADER, Q_LAT, Q_LON, STATIONS

WAIT_S = 60.0  # a hang guard only: every wait below normally ends within a second


def _store(path, rows, header=HEADER):
    with open_store(path) as s:
        report = import_file(s, write_csv(path.with_suffix(".csv"), header, rows))
        assert report.rejected == 0, report.rejected_rows
    return path


def _ids(service) -> set[str]:
    return set(service.snapshot().frame["station_id"])


BACKUP = [["R001", "备份驿站", Q_LON + 0.001, Q_LAT, "24/7", "饮水", "所有人", "正常", ""]]


@pytest.fixture
def path(tmp_path):
    return _store(tmp_path / "live.gpkg", STATIONS)


def test_a_backup_moved_over_the_store_is_served(path, tmp_path):
    """`mv backup.gpkg stations.gpkg`: the service must leave the file it had open for the new one."""
    backup = _store(tmp_path / "backup.gpkg", BACKUP)
    with StationService(str(path), refresh_s=0.05) as service:
        assert _ids(service) == {r[0] for r in STATIONS}
        os.replace(backup, path)
        eventually(lambda: _ids(service) == {"R001"}, "the restored backup's stations")
        assert service.health().problem is None
        # And it keeps following the new file: an import into it shows up too.
        with open_store(path, create=False) as s:
            import_file(s, write_csv(tmp_path / "more.csv", HEADER, [["R002"] + BACKUP[0][1:]]))
        eventually(lambda: _ids(service) == {"R001", "R002"}, "an import into the restored file")


def test_a_backup_with_the_same_revision_is_served(path, tmp_path):
    """A restored file can carry the very revision number the old one had: the file changed, so
    the data must be read again."""
    backup = _store(tmp_path / "backup.gpkg", BACKUP)
    with open_store(backup) as b, open_store(path) as s:
        assert b.revision() == s.revision() == 1
    with StationService(str(path), refresh_s=0.05) as service:
        os.replace(backup, path)
        eventually(lambda: _ids(service) == {"R001"}, "the restored backup's stations")


def test_serving_never_creates_a_store(tmp_path):
    missing = tmp_path / "var" / "stations.gpkg"
    with pytest.raises(StoreError) as err:
        StationService(str(missing)).snapshot()
    assert str(missing) in str(err.value) and f"stations --store {missing} import" in str(err.value)
    assert not missing.exists() and not missing.parent.exists()


@pytest.mark.parametrize("content", [b"", b"not a database at all " * 200])
def test_an_empty_or_foreign_file_is_refused_and_left_alone(tmp_path, content):
    bad = tmp_path / "stations.gpkg"
    bad.write_bytes(content)
    with pytest.raises(StoreError, match="stations.gpkg"):
        StationService(str(bad)).snapshot()
    assert bad.read_bytes() == content  # not turned into an empty store


def test_a_deleted_store_keeps_the_last_snapshot_and_says_so(path, tmp_path):
    keep = tmp_path / "keep.gpkg"
    shutil.copyfile(path, keep)
    with StationService(str(path), refresh_s=0.05) as service:
        before = service.snapshot()
        path.unlink()
        health = eventually(lambda: (h := service.health()).problem and h, "the deletion to be noticed")
        assert str(path) in health.problem and "does not exist" in health.problem
        assert service.snapshot() is before  # still answering from the last good snapshot
        assert not path.exists()  # and never creating an empty store in its place
        os.replace(keep, path)
        eventually(lambda: service.health().problem is None, "the restored store to be read")
        assert _ids(service) == {r[0] for r in STATIONS}


def test_a_store_corrupted_while_serving_is_reported(path):
    with StationService(str(path), refresh_s=0.05) as service:
        before = service.snapshot()
        good = path.read_bytes()
        with open(path, "r+b") as fh:  # garbage over the header, in place
            fh.write(b"\x00garbage" * 16)
        health = eventually(lambda: (h := service.health()).problem and h, "the corruption to be noticed")
        assert str(path) in health.problem
        assert service.snapshot() is before
        path.write_bytes(good)
        eventually(lambda: service.health().problem is None, "the repaired store to be read")


def test_a_slow_build_does_not_hold_up_readers(path, tmp_path):
    """The new snapshot is built beside the old one; readers get the old one until the swap."""
    started, release = threading.Event(), threading.Event()
    calls = []

    def slow_build(frame, revision):
        calls.append(revision)
        if len(calls) > 1:  # the first build (at start) is not held
            started.set()
            release.wait(WAIT_S)
        return build_snapshot(frame, revision)

    with StationService(str(path), refresh_s=0.05, build=slow_build) as service:
        old = service.snapshot()
        with open_store(path) as s:
            import_file(s, write_csv(tmp_path / "n.csv", HEADER, [["N050"] + STATIONS[0][1:]]))
        assert started.wait(WAIT_S), "the refresher never started a build"
        answers = []
        reader = threading.Thread(target=lambda: answers.extend(service.snapshot() for _ in range(1000)))
        reader.start()
        reader.join(WAIT_S)
        alive = reader.is_alive()
        release.set()
        assert not alive, "snapshot() waited for the build"
        assert all(a is old for a in answers) and len(answers) == 1000
        new = eventually(lambda: (s := service.snapshot()) is not old and s, "the swap")
        assert new.revision == old.revision + 1 and "N050" in new.by_id


def test_refresh_builds_only_when_the_store_changed(path, tmp_path):
    calls = []

    def counting_build(frame, revision):
        calls.append(revision)
        return build_snapshot(frame, revision)

    with StationService(str(path), refresh_s=None, build=counting_build) as service:
        assert not service.refresh() and not service.refresh()
        with open_store(path) as s:
            import_file(s, write_csv(tmp_path / "n.csv", HEADER, [["N050"] + STATIONS[0][1:]]))
        assert service.refresh() and "N050" in service.snapshot().by_id
        assert not service.refresh()
        assert calls == [1, 2]


def test_close_stops_the_refresher(path):
    before = {t.ident for t in threading.enumerate()}
    service = StationService(str(path), refresh_s=0.05)
    mine = [t for t in threading.enumerate() if t.ident not in before]
    assert len(mine) == 1 and mine[0].is_alive()
    service.close()
    assert not mine[0].is_alive()


def test_health_names_the_store_kind_revision_and_snapshot(path):
    with StationService(str(path), refresh_s=None) as service:
        health = service.health()
        assert health.problem is None and health.kind == "geopackage"
        snap = health.snapshot
        assert snap.revision == 1 and len(snap.frame) == 5 and snap.built_s > 0 and snap.built_at_s <= time.time()


def test_a_missing_text_reads_as_none_when_others_have_one(tmp_path):
    """pandas reads a text column with some values as strings with NaN for the missing ones:
    a record must say None (and a station without an address still gets navigation links)."""
    from stations.config import load_settings
    from stations.lookup import nearest
    from stations.travel import travels_from_settings

    header = HEADER + ["地址"]
    rows = [STATIONS[0] + [""], STATIONS[1] + ["河北省秦皇岛市昌黎县某路1号"]]
    with StationService(str(_store(tmp_path / "a.gpkg", rows, header)), refresh_s=None) as service:
        snap = service.snapshot()
        assert snap.record(snap.by_id["N100"])["address"] is None
        assert snap.record(snap.by_id["N200"])["address"] == "河北省秦皇岛市昌黎县某路1号"
        answer = nearest(snap, lat=Q_LAT, lon=Q_LON, k=2, travels=travels_from_settings(load_settings()))
        assert [r["station_id"] for r in answer["results"]] == ["N100", "N200"]
        assert "amap" in answer["results"][0]["navigation"]


def test_a_replaced_snapshot_is_freed_without_the_garbage_collector(path, tmp_path):
    """The service freezes each new snapshot out of the cyclic collector's way: an old one must
    then be freed by reference counting alone, or every import would leak a snapshot."""
    import gc
    import weakref

    with StationService(str(path), refresh_s=None) as service:
        old = service.snapshot()
        refs = [weakref.ref(old.frame), weakref.ref(old.index)]
        del old
        with open_store(path) as s:
            import_file(s, write_csv(tmp_path / "n.csv", HEADER, [["N050"] + STATIONS[0][1:]]))
        gc.disable()
        try:
            assert service.refresh()
            assert [r() for r in refs] == [None, None]
        finally:
            gc.enable()


def test_a_replaced_snapshot_still_read_stays_whole(path, tmp_path, monkeypatch):
    """The service empties a replaced snapshot piece by piece, but never one a reader still holds."""
    import stations.service

    monkeypatch.setattr(stations.service, "_FREE_WAIT_S", 0.05)
    with StationService(str(path), refresh_s=None) as service:
        held = service.snapshot()
        with open_store(path) as s:
            import_file(s, write_csv(tmp_path / "n.csv", HEADER, [["N050"] + STATIONS[0][1:]]))
        assert service.refresh()
        assert held.record(held.by_id["N100"])["name"] == "北100米" and len(held.frame) == 5
        assert held.index.nearest(lat=Q_LAT, lon=Q_LON, k=1)[0].row == 0


def _same_revision_backup(path, tmp_path):
    """A backup whose revision and change counter are those of ``path``: only reading it tells them apart."""
    backup = _store(tmp_path / "backup.gpkg", BACKUP)
    with open_store(backup) as b, open_store(path) as s:
        assert b.revision() == s.revision() and b.change_token() == s.change_token()
    return backup


def test_a_failed_build_of_a_restored_file_is_retried(path, tmp_path):
    """A build that fails (here: the store is busy mid-read) is not the end of it: the refresher
    tries again, even when the restored file's revision and change counter look like the old ones."""
    from stations.store import StoreBusy

    calls = []

    def busy_once(frame, revision):
        calls.append(revision)
        if len(calls) == 2:  # the first build after the restore
            raise StoreBusy(f"store {str(path)!r} is locked by a writer")
        return build_snapshot(frame, revision)

    backup = _same_revision_backup(path, tmp_path)
    with StationService(str(path), refresh_s=None, build=busy_once, retry_s=0.0) as service:
        os.replace(backup, path)
        assert not service.refresh() and len(calls) == 2  # failed
        assert service.refresh() and _ids(service) == {"R001"}  # retried


def test_a_failing_build_is_retried_after_the_next_commit_and_periodically(path, tmp_path):
    calls = []

    def fail_twice(frame, revision):
        calls.append(revision)
        if len(calls) in (2, 3):
            raise RuntimeError("out of memory, say")
        return build_snapshot(frame, revision)

    with StationService(str(path), refresh_s=None, build=fail_twice, retry_s=3600.0) as service:
        with open_store(path) as s:
            import_file(s, write_csv(tmp_path / "n.csv", HEADER, [["N050"] + STATIONS[0][1:]]))
        assert not service.refresh() and calls == [1, 2]
        assert "out of memory" in service.health().problem
        assert not service.refresh() and calls == [1, 2]  # no new commit, and the retry is an hour away
        with open_store(path) as s:  # the next commit
            import_file(s, write_csv(tmp_path / "m.csv", HEADER, [["N051"] + STATIONS[0][1:]]))
        assert not service.refresh() and calls == [1, 2, 3]
        service.retry_s = 0.0  # and periodically, without a commit
        assert service.refresh() and calls == [1, 2, 3, 3] and {"N050", "N051"} <= _ids(service)
        assert service.health().problem is None


def test_a_store_restored_in_place_after_corruption_is_read_again(path, tmp_path):
    """Corrupted in place, then a backup copied over it in place (the same file, so not
    'replaced'), with the revision and change counter the old data had: the refresher must open
    the store again and read it, not go on serving the old snapshot."""
    backup = _same_revision_backup(path, tmp_path).read_bytes()
    with StationService(str(path), refresh_s=None) as service:
        with open(path, "r+b") as fh:
            fh.write(b"\x00garbage" * 16)
        service.refresh()
        assert str(path) in service.health().problem
        with open(path, "r+b") as fh:  # cp backup.gpkg stations.gpkg: the same inode
            fh.write(backup)
            fh.truncate()
        assert service.refresh() and _ids(service) == {"R001"}
        assert service.health().problem is None
