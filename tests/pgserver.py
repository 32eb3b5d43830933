"""A throwaway PostgreSQL + PostGIS server for the tests: ``initdb`` into a temporary directory,
``pg_ctl`` on a free loopback port, a template database with the postgis extension, a fresh
database per test, and ``pg_ctl stop -m immediate`` plus the directory removed at the end.

Debian's server binaries live in ``/usr/lib/postgresql/<version>/bin`` (packages
``postgresql`` and ``postgresql-15-postgis-3``, installed by ``make test``). ``initdb``
refuses to run as root: as root the cluster is made and run by the ``postgres`` user
(``runuser``), in a directory that user owns.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

TEMPLATE = "stations_template"
_PACKAGES = "postgresql postgresql-15-postgis-3 (Debian); `make test` installs them"


def server_bindir() -> Path:
    """The directory of ``initdb``/``pg_ctl``/``postgres``; a clear error if there is none."""
    candidates = [Path(os.environ["STATIONS_PG_BINDIR"])] if os.environ.get("STATIONS_PG_BINDIR") else []
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for path in candidates:
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    raise RuntimeError(f"no PostgreSQL server binaries (initdb, pg_ctl) found in /usr/lib/postgresql/*/bin "
                       f"(or $STATIONS_PG_BINDIR): install {_PACKAGES}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PGServer:
    """One running cluster; :meth:`stop` stops it and removes its directory."""

    def __init__(self) -> None:
        self.bindir = server_bindir()
        self.root = Path(tempfile.mkdtemp(prefix="stations-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self._counter = itertools.count(1)
        self.running = False
        try:
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                      "--locale=C.UTF-8", "--no-sync")
            with open(self.data / "postgresql.conf", "a") as fh:
                fh.write(f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                         f"unix_socket_directories = '{self.root}'\nfsync = off\nsynchronous_commit = off\n"
                         "full_page_writes = off\nmax_connections = 200\nshared_buffers = 128MB\n"
                         "max_wal_size = 2GB\nlog_min_messages = fatal\n"
                         # pg_xact_commit_timestamp(): when a write committed (tests measure lags from it)
                         "track_commit_timestamp = on\n")
            self.start()
            with self.admin() as db:
                db.execute(f"CREATE DATABASE {TEMPLATE}")
            with psycopg.connect(self.url(TEMPLATE), autocommit=True) as db:
                db.execute("CREATE EXTENSION postgis")
        except BaseException:
            self.stop()
            raise

    def _run(self, tool: str, *args: str) -> None:
        out = subprocess.run([*self._as, str(self.bindir / tool), *args], capture_output=True, text=True,
                             timeout=120, cwd=self.root)
        if out.returncode != 0:
            raise RuntimeError(f"{tool} failed ({out.returncode}): {out.stderr[-2000:]}")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60", "start")
        self.running = True

    def stop_server(self, mode: str = "fast") -> None:
        """Stop the server (and keep its data, to :meth:`start` it again)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")
        self.running = False

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.url(), autocommit=True)

    def new_database(self) -> str:
        """A fresh database made from the PostGIS template; its URL."""
        name = f"t{os.getpid()}_{next(self._counter)}"
        with self.admin() as db:
            db.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE} STRATEGY FILE_COPY")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with self.admin() as db:
            db.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        """Stop immediately and remove the directory (also after a failed start)."""
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            self.running = False
            shutil.rmtree(self.root, ignore_errors=True)
