"""Drive Debian's headless chromium against a real server: for the browser tests and benchmarks.

* :func:`serve` starts ``stations serve`` (gunicorn) on a free 127.0.0.1 port with a given
  store and settings, waits until it answers, and stops it (by its process id) at the end;
  by default the source tree's package, or any installed ``stations`` command.
* :class:`Browser` is chromium through selenium and Debian's chromedriver (never a
  downloaded browser), with a fresh profile, every network request recorded from the
  DevTools performance log, and geolocation faked through DevTools.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping, Sequence
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
                  "--disable-extensions", "--no-default-browser-check", "--disable-dev-shm-usage",
                  "--lang=zh-CN", "--hide-scrollbars")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not installed (Debian package chromium; `scripts/setup.sh --test` installs it)"
    if not Path(CHROMEDRIVER).exists():
        return f"{CHROMEDRIVER} not installed (Debian package chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the selenium package is not installed"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(store: str | Path, *, env: Mapping[str, str] | None = None, workers: int = 1,
          timeout_s: float = 60.0, command: Sequence[str] = (sys.executable, "-m", "stations.cli"),
          cwd: str | Path = ROOT) -> Iterator[str]:
    """Run ``stations --store STORE serve`` on a free loopback port; yield its base URL.

    ``command`` is the ``stations`` command (default: this interpreter's ``-m stations.cli``,
    which from ``cwd``, the repository, imports the source tree), run in ``cwd``.
    """
    port = free_port()
    full_env = {**os.environ, **(env or {})}
    cmd = [*command, "--store", str(store), "serve", "--host", "127.0.0.1",
           "--port", str(port), "--workers", str(workers)]
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, cwd=cwd, env=full_env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(base + "/api/v1/health", timeout=5) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"server did not start: {log.read().decode(errors='replace')[-2000:]}")
            time.sleep(0.2)
        yield base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # gunicorn's master and its workers: our own group
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        log.close()


@dataclass
class Request:
    url: str
    type: str = ""
    bytes: int = 0  # encoded (on the wire) bytes, when loading finished
    status: int | None = None
    from_cache: bool = False


@dataclass
class NetworkLog:
    """Every request the page made, from the DevTools ``Network.*`` events."""

    requests: dict[str, Request] = field(default_factory=dict)

    def feed(self, entries: list[dict]) -> None:
        for entry in entries:
            msg = json.loads(entry["message"])["message"]
            method, p = msg.get("method", ""), msg.get("params", {})
            rid = p.get("requestId")
            if method == "Network.requestWillBeSent":
                self.requests[rid] = Request(url=p["request"]["url"], type=p.get("type", ""))
            elif method == "Network.responseReceived" and rid in self.requests:
                self.requests[rid].status = p["response"].get("status")
                self.requests[rid].from_cache = bool(p["response"].get("fromDiskCache")
                                                     or p["response"].get("fromServiceWorker"))
            elif method == "Network.loadingFinished" and rid in self.requests:
                self.requests[rid].bytes = int(p.get("encodedDataLength") or 0)

    def urls(self) -> list[str]:
        return [r.url for r in self.requests.values()]

    def leaving(self) -> list[str]:
        """Requests to anywhere but this machine (``data:``, ``blob:`` and ``about:`` stay local)."""
        out = []
        for url in self.urls():
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob", "about", "chrome", "file"):
                continue
            if parts.hostname not in LOCAL_HOSTS:
                out.append(url)
        return out

    def total_bytes(self) -> int:
        return sum(r.bytes for r in self.requests.values())


class Browser:
    """Headless chromium (selenium + Debian's chromedriver) with a fresh profile."""

    def __init__(self, *, width: int = 1200, height: int = 800, mobile: bool = False, scale: float = 1.0):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix="stations-chromium-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for flag in CHROMIUM_FLAGS:
            opts.add_argument(flag)
        opts.add_argument(f"--user-data-dir={self.profile}")
        opts.add_argument(f"--window-size={width},{height}")
        opts.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        self.network = NetworkLog()
        self.driver.execute_cdp_cmd("Network.enable", {})
        if mobile:
            self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
                "width": width, "height": height, "deviceScaleFactor": scale, "mobile": True})
            self.driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True})

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    # -- network
    def collect(self) -> NetworkLog:
        self.network.feed(self.driver.get_log("performance"))
        return self.network

    def offline(self, on: bool = True) -> None:
        self.driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
            "offline": on, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})

    def geolocation(self, *, lat: float, lon: float, accuracy_m: float = 10.0) -> None:
        self.driver.execute_cdp_cmd("Browser.grantPermissions", {"permissions": ["geolocation"]})
        self.driver.execute_cdp_cmd("Emulation.setGeolocationOverride",
                                    {"latitude": lat, "longitude": lon, "accuracy": accuracy_m})

    # -- page
    def get(self, url: str) -> None:
        self.driver.get(url)

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def fill(self, selector: str, value: str) -> None:
        """Set the value of the form field ``selector``."""
        self.js("var n = document.querySelector(arguments[0]); n.value = arguments[1];", selector, value)

    def wait(self, script: str, *, timeout_s: float = 15.0, interval_s: float = 0.05):
        """Poll ``return (script)`` until it is truthy; return its value (raise on timeout)."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = self.driver.execute_script(f"return ({script});")
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {timeout_s} s for: {script}; console: {self.console()[-5:]}")
            time.sleep(interval_s)

    def console(self) -> list[str]:
        return [f"{e['level']}: {e['message']}" for e in self.driver.get_log("browser")]

    def screenshot(self, path: str | Path) -> None:
        self.driver.save_screenshot(str(path))


def workspace_login(b: Browser, base: str, name: str, password: str) -> None:
    """Log in to the staff workspace with the login form, as a person would."""
    b.get(base + "/workspace/")
    b.wait("document.querySelector('input[name=password]')")
    b.fill("input[name=name]", name)
    b.fill("input[name=password]", password)
    b.js("document.querySelector('form.stack').submit()")
    b.wait("location.pathname === '/workspace/' && document.querySelector('table')")


def drag_station_pin(b: Browser, base: str, station_id: str, *, east_px: int = 80) -> None:
    """Open the station's workspace page and drag its pin ``east_px`` pixels east with the
    mouse (a real drag, in two moves), until the page says it moved; the form is not sent."""
    from selenium.webdriver.common.action_chains import ActionChains  # the selenium check is browser_missing()

    b.get(f"{base}/workspace/stations/{station_id}")
    b.wait("window.stationsPin && document.querySelector('#pin-map .leaflet-marker-icon')")
    icon = b.driver.find_element("css selector", "#pin-map .leaflet-marker-icon")
    ActionChains(b.driver).click_and_hold(icon).move_by_offset(east_px // 2, 0) \
        .move_by_offset(east_px - east_px // 2, 0).release().perform()
    b.wait("document.getElementById('pin-map').getAttribute('data-moved') === 'true'")
