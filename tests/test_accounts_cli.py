"""The users/tokens commands, and a staff write killed with -9 mid-transaction."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from click.testing import CliRunner

from stations.accounts import authenticate, user_for_token
from stations.cli import main
from stations.store import Change, open_store

from conftest import ROOT, snapshot
from test_accounts import PASSWORD, station


def run(store_path, *args, stdin=None):
    return CliRunner().invoke(main, ["--store", str(store_path), *args], obj={}, input=stdin)


def test_users_and_tokens_commands(tmp_path):
    path = tmp_path / "s.gpkg"
    out = run(path, "users", "add", "li", "--role", "editor", "--area", "130322", "--area", "130324",
              "--password-stdin", stdin=PASSWORD + "\n")
    assert out.exit_code == 0, out.output
    out = run(path, "users", "add", "boss", "--role", "admin")
    one_time = out.output.strip().splitlines()[-1]
    out = run(path, "users", "add", "nobody", "--role", "editor")
    assert out.exit_code == 2 and "needs at least one area" in out.output
    out = run(path, "tokens", "create", "li", "--label", "county system")
    token = out.output.strip().splitlines()[-1]
    listing = run(path, "users", "list").output
    assert "li\teditor\t130322,130324\tactive" in listing
    with open_store(path) as store:
        assert authenticate(store, "li", PASSWORD).areas == ("130322", "130324")
        assert authenticate(store, "boss", one_time).role == "admin"
        assert user_for_token(store, token).name == "li"
    tokens = run(path, "tokens", "list").output
    assert "county system" in tokens and token not in tokens and "last used 20" in tokens
    assert run(path, "tokens", "revoke", "1").exit_code == 0
    assert "revoked" in run(path, "tokens", "list").output
    assert run(path, "tokens", "revoke", "99").exit_code == 2
    assert run(path, "users", "disable", "li").exit_code == 0
    assert "li\teditor\t130322,130324\tdisabled" in run(path, "users", "list").output


def test_kill_9_during_a_staff_edit_leaves_the_store_as_before(tmp_path):
    path = tmp_path / "s.gpkg"
    marker = tmp_path / "inside-transaction"
    with open_store(path) as store:
        store.apply([Change("add", station("A1", "130322"))], command="seed")
        from stations.accounts import add_user

        add_user(store, "li", role="editor", areas="130322")
        before = snapshot(store), store.query("SELECT * FROM station_checks")
    script = textwrap.dedent(f"""
        import pathlib, time
        from stations.accounts import etag, get_user, patch_station
        from stations.store import open_store
        store = open_store({str(path)!r})
        def stall(db, batch_id):  # the edit, its history and check dates are written, not committed
            pathlib.Path({str(marker)!r}).write_text("in")
            time.sleep(120)
        patch_station(store, get_user(store, "li"), "A1", {{"opening_hours": "24/7"}},
                      if_match=etag(store.get("A1")), after=stall)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert marker.exists(), proc.stderr.read().decode()[-2000:]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with open_store(path, create=False) as store:
        assert (snapshot(store), store.query("SELECT * FROM station_checks")) == before
        assert store.get("A1")["opening_hours"] == "Mo-Fr 08:00-18:00"
