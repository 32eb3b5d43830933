#!/usr/bin/env python3
"""Copy the front-end files the pages use from node_modules/ into stations/web/static/vendor/.

Run by scripts/setup.sh after ``npm ci``. Copies exactly the files listed in
``stations.mapping.assets.VENDOR_FILES`` into ``VENDOR_DIR`` (inside the package, so a
wheel or sdist built afterwards carries them; git ignores them) and assembles
``icons.svg`` there, a sprite of the Font Awesome (solid) icons the pages use
(``sprite_icons()``), so pages load a few kilobytes of icons instead of the whole icon font.
Fails, naming the file, if a package or file is missing (run ``npm ci`` first). Writes
``VERSIONS.txt`` there (package versions, for the record).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stations.mapping.assets import SPRITE, VENDOR_DIR, VENDOR_FILES, sprite_icons  # noqa: E402

NODE_MODULES = ROOT / "node_modules"
FA_SOLID = NODE_MODULES / "@fortawesome" / "fontawesome-free" / "svgs" / "solid"
_SVG = re.compile(r'<svg[^>]*viewBox="([^"]+)"[^>]*>(.*)</svg>', re.S)


def _sprite(names: tuple[str, ...]) -> str:
    symbols = []
    for name in names:
        path = FA_SOLID / f"{name}.svg"
        if not path.is_file():
            raise SystemExit(f"vendor_assets: Font Awesome has no solid icon {name!r} ({path})")
        text = re.sub(r"<!--.*?-->", "", path.read_text(encoding="utf-8"), flags=re.S)
        m = _SVG.search(text)
        if m is None:
            raise SystemExit(f"vendor_assets: cannot read {path}")
        symbols.append(f'<symbol id="i-{name}" viewBox="{m.group(1)}">{m.group(2).strip()}</symbol>')
    licence = "Font Awesome Free icons (CC BY 4.0), https://fontawesome.com/license/free"
    return (f'<svg xmlns="http://www.w3.org/2000/svg"><!-- {licence} -->' + "".join(symbols) + "</svg>\n")


def main() -> int:
    if not NODE_MODULES.is_dir():
        print(f"vendor_assets: {NODE_MODULES} not found; run `npm ci` first", file=sys.stderr)
        return 1
    if VENDOR_DIR.exists():
        shutil.rmtree(VENDOR_DIR)
    versions = {}
    for package, src, dest in VENDOR_FILES:
        source = NODE_MODULES / package / src
        if not source.is_file():
            print(f"vendor_assets: {source} not found; run `npm ci`", file=sys.stderr)
            return 1
        target = VENDOR_DIR / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        meta = json.loads((NODE_MODULES / package / "package.json").read_text(encoding="utf-8"))
        versions[package] = meta["version"]
    (VENDOR_DIR / SPRITE).write_text(_sprite(sprite_icons()), encoding="utf-8")
    (VENDOR_DIR / "VERSIONS.txt").write_text("".join(f"{p} {v}\n" for p, v in sorted(versions.items())),
                                             encoding="utf-8")
    print(f"vendor_assets: {len(VENDOR_FILES)} files and {SPRITE} ({len(sprite_icons())} icons) in {VENDOR_DIR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
