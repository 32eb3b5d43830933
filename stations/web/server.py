"""Run the app under gunicorn (a production WSGI server) from Python."""

from __future__ import annotations

from typing import Any, Mapping

from gunicorn.app.base import BaseApplication


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

        return create_app(self.overrides)


def serve(settings: Mapping[str, Any], *, overrides: Mapping[str, Any], access_log: bool = False) -> None:
    """Serve until interrupted on ``settings['host']:settings['port']`` with gunicorn."""
    options = {
        "bind": f"{settings['host']}:{settings['port']}",
        "workers": int(settings["workers"]),
        "worker_class": "sync",
        "timeout": 60,
        # gunicorn's own limit answers with plain text; keep it above the app's 4 KB limit so
        # the app answers long queries with a problem document.
        "limit_request_line": 8190,
        "preload_app": False,
        "accesslog": "-" if access_log else None,
    }
    _Gunicorn(options, overrides).run()
