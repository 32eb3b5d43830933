"""Run the app under gunicorn (a production WSGI server) from Python.

Worker model: gunicorn's ``gevent`` worker, ``workers`` processes. Each connection costs a
greenlet, not a process or a thread, so clients that send their request slowly (or never
finish it) cannot hold up the others; the nearest queries themselves take microseconds of
CPU. Monkey patching leaves threads alone (``thread=False``): the store's refresher thread
(:class:`stations.service.StationService`) and the index's background builds stay real OS
threads, so a CPU-bound build never blocks a worker's event loop.

Each worker builds its app — and so its service, its first snapshot and its refresher
thread — after the fork (``preload_app`` is off), before it accepts a connection. What every
worker would otherwise load for itself — the modules, and numba's compiled kernels of the
nearest index (LLVM's heap) — the master loads once before it forks (:func:`preload`), so the
workers share those pages.
"""

from __future__ import annotations

import datetime as dt
import gc
import sys
from typing import Any, Mapping

import numpy as np
from gevent import monkey, socket
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.workers.ggevent import GeventWorker

from ..config import Settings
from ..errors import StoreError
from ..geo import in_mainland_china
from ..index import StationIndex
# The app's modules, imported here so that the master loads them before it forks (preload).
from . import api, auth, embed, map_api, ogc, opendata, pages, reports, workspace, writes  # noqa: F401

#: Connections one worker holds at most (gunicorn's default): slow or idle ones included.
WORKER_CONNECTIONS = 1000


class Worker(GeventWorker):
    """gunicorn's gevent worker, with real OS threads (see the module docstring)."""

    def init_process(self):
        # A build in the refresher thread holds the GIL for long stretches: make it hand the
        # GIL over after 1 ms instead of 5 when the event loop waits for it (a socket round
        # trip next to a thread building snapshots: p99 0.2 ms instead of 1-3 ms).
        sys.setswitchinterval(0.001)
        super().init_process()

    def patch(self):
        monkey.patch_all(thread=False)
        # As GeventWorker.patch: the inherited listening sockets, as gevent sockets.
        self.sockets = [socket.socket(s.FAMILY, socket.SOCK_STREAM, fileno=s.sock.detach()) for s in self.sockets]


class _Gunicorn(BaseApplication):
    def __init__(self, options: Mapping[str, Any], overrides: Mapping[str, Any]):
        self.options = dict(options)
        self.overrides = dict(overrides)
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from . import create_app

        try:
            return create_app(self.overrides)
        except StoreError as exc:
            # One clear line, and the exit code that makes gunicorn's master stop too.
            print(f"error: {exc}", file=sys.stderr, flush=True)
            sys.exit(Arbiter.WORKER_BOOT_ERROR)


def _worker_exit(server, worker) -> None:
    """Stop the worker's refresher thread and close its store."""
    app = getattr(worker, "wsgi", None)
    service = getattr(app, "extensions", {}).get("stations")
    if service is not None:
        service.close()


def preload() -> None:
    """Import the app's modules, build the mainland outline (:func:`stations.geo.in_mainland_china`,
    which GCJ-02 and BD-09 positions need) and load the nearest index's compiled kernels (from
    numba's cache) in this process, before gunicorn forks its workers: they then share these
    pages copy-on-write instead of each loading them again (at 200,000 stations, 2 workers: PSS
    330 -> 275 MB per worker for the modules and kernels, 277 -> 268 MB more for the outline).
    Nothing is opened or started here (no store, app or thread); ``gc.freeze()`` keeps these
    objects out of the workers' collections, which would otherwise write to (and so copy) their
    pages."""
    in_mainland_china(39.9, 116.4)  # builds the mainland outline for GCJ-02 and BD-09 (1.4 s, once)
    index = StationIndex.from_arrays(np.array([39.9, 31.2, 23.1]), np.array([116.4, 121.5, 113.3]))
    index.nearest(lat=30.0, lon=114.0, k=2)
    index.nearest(lat=30.0, lon=114.0, k=2, open_at=dt.datetime.now(dt.timezone.utc))
    del index
    gc.collect()
    gc.freeze()


def serve(settings: Settings, *, overrides: Mapping[str, Any], access_log: bool = False) -> None:
    """Serve until interrupted on ``settings.host:settings.port`` with gunicorn."""
    options = {
        "bind": f"{settings.host}:{settings.port}",
        "workers": int(settings.workers),
        "worker_class": f"{Worker.__module__}.{Worker.__qualname__}",
        "worker_connections": WORKER_CONNECTIONS,
        # One request per connection, as with the sync workers before: each request then goes
        # to whichever worker takes it first. Kept-alive connections stay with the worker that
        # accepted them, and a few busy ones pinned to one worker made p99 four times worse.
        "keepalive": 0,
        "timeout": 60,
        # gunicorn's own limit answers with plain text; keep it above the app's 4 KB limit so
        # the app answers long queries with a problem document.
        "limit_request_line": 8190,
        "preload_app": False,
        "worker_exit": _worker_exit,
        "accesslog": "-" if access_log else None,
    }
    preload()
    _Gunicorn(options, overrides).run()
