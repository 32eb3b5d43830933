"""The package as a user installs it (a wheel, not the source tree) serves its pages and writes maps.

Builds the sdist and, from it, the wheel (``python -m build --no-isolation``: nothing is
downloaded, the installed setuptools builds) out of a copy of the working tree, as it is after ``scripts/setup.sh`` (the npm
copies in ``stations/web/static/vendor`` included), installs the wheel into a fresh virtual
environment and runs that environment's ``stations`` command from a temporary folder, so the
repository is nowhere on ``sys.path``. The heavy dependencies are not installed again: the new
environment sees the system's site-packages and, when the tests run in a virtual environment
(``.venv``), that environment's site-packages too (a ``.pth`` line; the editable install
of the source tree there stays out, since ``.pth`` files of an added folder are not read).
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import urllib.error
import urllib.request
import venv
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from browser_util import serve
from conftest import ROOT, write_csv
from stations.mapping import assets as A

pytestmark = pytest.mark.slow

# Left out of the copy that is built: not part of the package, or large.
_NOT_BUILT = {".git", ".venv", "node_modules", "var", "build", "dist", "maps", "__pycache__", ".pytest_cache",
              ".hypothesis", "benchmarks", "docs"}
HEADER = ["站点编号", "站点名称", "地址", "经度", "纬度", "开放时间", "设施/服务", "服务对象", "状态", "状态原因"]
ROWS = [["CL-001", "昌黎县城驿站", "河北省秦皇岛市昌黎县", 119.1637, 39.7125, "24/7", "微波炉、厕所", "所有人", "正常", ""],
        ["CL-002", "碣石山驿站", "河北省秦皇岛市昌黎县", 119.17, 39.72, "Mo-Su 08:00-18:00", "饮用水", "所有人", "正常", ""]]


def _ignore(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if n in _NOT_BUILT or n.endswith(".egg-info") or fnmatch.fnmatch(n, "national_*.csv")}


def _run(cmd: list[str], **kwargs) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kwargs)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """The sdist and wheel built from a copy of the working tree."""
    assert A.VENDOR_DIR.is_dir(), f"{A.VENDOR_DIR} is missing: run scripts/setup.sh first"
    tmp = tmp_path_factory.mktemp("build")
    shutil.copytree(ROOT, tmp / "src", ignore=_ignore)
    # The installed setuptools builds (as `pip install -e` did); pyproject.toml asks isolated builds
    # for a newer one, which would warn on every import of cpca (pkg_resources) if installed here.
    _run([sys.executable, "-m", "build", "--no-isolation", "--skip-dependency-check", "--outdir", str(tmp / "dist"),
          str(tmp / "src")])
    return tmp / "dist"


@pytest.fixture(scope="module")
def env(dist, tmp_path_factory) -> dict:
    """A fresh virtual environment with the wheel installed (not editable); its paths and process env."""
    root = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(root)
    python = root / "bin" / "python"
    purelib = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip())
    if sys.prefix != sys.base_prefix:  # the tests run in a venv: its packages are the dependencies
        ours = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
        (purelib / "test-dependencies.pth").write_text("".join(f"{p}\n" for p in ours), encoding="utf-8")
    wheel = next(dist.glob("stations-*.whl"))
    process_env = {**os.environ, "PYTHONPATH": ""}
    _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", "--quiet",
          "--disable-pip-version-check", str(wheel)], env=process_env)
    work = tmp_path_factory.mktemp("work")
    return {"python": python, "stations": root / "bin" / "stations", "purelib": purelib, "cwd": work,
            "env": process_env}


@pytest.fixture(scope="module")
def store(env) -> Path:
    """A small store made by the installed command."""
    csv = write_csv(env["cwd"] / "small.csv", HEADER, ROWS)
    _run([str(env["stations"]), "--store", "small.gpkg", "import", str(csv), "--reason", "install test"],
         cwd=env["cwd"], env=env["env"])
    return env["cwd"] / "small.gpkg"


class _Refs(HTMLParser):
    """Every script, stylesheet and image URL of a page (src of script/img, href of link)."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "img") and a.get("src"):
            self.urls.append(a["src"])
        elif tag == "link" and a.get("href") and a.get("rel") in ("stylesheet", "icon", "preload"):
            self.urls.append(a["href"])


def _refs(html: str) -> list[str]:
    parser = _Refs()
    parser.feed(html)
    return parser.urls


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)""")


def test_the_sdist_and_the_wheel_carry_the_pages_files(dist):
    wheel = set(zipfile.ZipFile(next(dist.glob("stations-*.whl"))).namelist())
    with tarfile.open(next(dist.glob("stations-*.tar.gz"))) as tar:
        sdist = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    want = [f"stations/web/static/{rel}" for rel in A.default_assets().versions]
    want += ["stations/web/templates/locator.html", "stations/web/templates/docs.html",
             "stations/web/templates/sw.js"]
    want += [f"stations/web/templates/workspace/{name}" for name in ("base.html", "station.html", "upload.html")]
    assert any("/vendor/" in w for w in want)
    assert [w for w in want if w not in wheel] == []
    assert [w for w in want if w not in sdist] == []


def test_the_installed_package_is_imported_not_the_source_tree(env):
    out = _run([str(env["python"]), "-c", "import stations; print(stations.__file__)"], cwd=env["cwd"],
               env=env["env"])
    assert Path(out.strip()).is_relative_to(env["purelib"]), out
    assert not Path(out.strip()).is_relative_to(ROOT)


def test_the_installed_server_serves_every_page_and_everything_they_load(env, store):
    with serve(store, command=[str(env["stations"])], cwd=env["cwd"], env={"PYTHONPATH": "",
                                                                            "STATIONS_TILES": "none"}) as base:
        assets = set()
        for page in ("/", "/?lang=en", "/map", "/docs"):
            status, body = _get(base + page)
            assert status == 200, page
            refs = _refs(body.decode("utf-8"))
            assert refs, page
            assert [r for r in refs if urlsplit(r).netloc or not r.startswith("/static/")] == [], page
            assets.update(urljoin(base + page, r) for r in refs)
        status, sw = _get(base + "/sw.js")
        assert status == 200
        assets.update(urljoin(base, u) for u in re.findall(r'"(/static/[^"]+)"', sw.decode("utf-8")))
        failed = []
        for url in sorted(assets):
            status, body = _get(url)
            if status != 200:
                failed.append((url, status))
            if urlsplit(url).path.endswith(".css"):  # and what stylesheets load (images, fonts)
                for ref in _CSS_URL.findall(body.decode("utf-8")):
                    if not ref.startswith(("data:", "#")):
                        status, _ = _get(urljoin(url, ref))
                        if status != 200:
                            failed.append((urljoin(url, ref), status))
        assert failed == []
        assert len(assets) >= 10  # the locator's, the map's and the docs' scripts and styles


def test_the_installed_command_writes_a_map_with_its_assets_inside(env, store):
    out = env["cwd"] / "maps" / "county.html"
    _run([str(env["stations"]), "--store", str(store), "map", "--out", str(out)],
         cwd=env["cwd"], env=env["env"])
    html = out.read_text(encoding="utf-8")
    refs = _refs(html)
    assert refs and all(r.startswith("data:") and len(r) > 100 for r in refs), [r[:60] for r in refs]
    assert 'id="i-mug-hot"' in html  # the icon sprite, from the vendored Font Awesome
    assert "昌黎县城驿站" in html and "CL-002" in html  # both stations, embedded
