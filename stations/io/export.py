"""Export stations to GeoJSON (RFC 7946), CSV and GeoPackage.

Every export carries every record field, so export → import gives back the same records.
GeoJSON puts the WGS-84 position in the geometry (longitude, latitude) and the rest in
properties; CSV and GeoPackage keep ``lat``/``lon`` columns. ``open_24h`` is added as a
derived, read-only property for convenience; on import it is checked against the hours.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from ..errors import ImportFileError
from ..records import FIELD_NAMES

EXPORT_FORMATS = ("geojson", "csv", "gpkg")


def _value(v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return v


def records_of(frame: pd.DataFrame) -> list[dict]:
    cols = [c for c in (*FIELD_NAMES, "flags") if c in frame.columns]
    return [{c: _value(v) for c, v in zip(cols, row)} for row in frame[cols].itertuples(index=False, name=None)]


def feature(rec: dict, *, derived: bool = True) -> dict:
    """One GeoJSON Feature for a record (RFC 7946: [longitude, latitude], WGS-84)."""
    from ..hours import is_24_7

    props = {k: rec.get(k) for k in FIELD_NAMES if k not in ("lat", "lon")}
    if derived:
        props["open_24h"] = is_24_7(rec.get("opening_hours"))
        props["flags"] = list(rec.get("flags") or [])
    geom = None
    if rec.get("lat") is not None and rec.get("lon") is not None:
        geom = {"type": "Point", "coordinates": [rec["lon"], rec["lat"]]}
    return {"type": "Feature", "id": rec["station_id"], "geometry": geom, "properties": props}


def to_geojson(records: Iterable[dict]) -> dict:
    return {"type": "FeatureCollection", "features": [feature(r) for r in records]}


def write_geojson(records: Iterable[dict], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(to_geojson(records), fh, ensure_ascii=False)


def write_csv(records: Iterable[dict], path: Path) -> None:
    """CSV with the canonical English headers, UTF-8 with BOM (Excel then shows Chinese).

    Floats are written with ``repr`` so they read back bit for bit.
    """
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh)
        w.writerow(FIELD_NAMES)
        for rec in records:
            w.writerow(["" if rec.get(k) is None else (repr(rec[k]) if isinstance(rec[k], float) else rec[k])
                        for k in FIELD_NAMES])


def write_gpkg(records: Iterable[dict], path: Path) -> None:
    """A fresh GeoPackage with the same layout as the store (one "export" batch of adds)."""
    from ..store import Change, GeoPackageStore

    if path.exists():
        path.unlink()
    store = GeoPackageStore(path)
    try:
        store.apply([Change("add", r, flags=tuple(r.get("flags") or ())) for r in records], command="export")
    finally:
        store.close()


def export(frame: pd.DataFrame, path: str | Path, *, fmt: str | None = None) -> int:
    """Write ``frame`` (a store frame) to ``path``; the format comes from ``fmt`` or the suffix.

    Returns the number of stations written.
    """
    path = Path(path)
    fmt = fmt or {".geojson": "geojson", ".json": "geojson", ".csv": "csv", ".gpkg": "gpkg"}.get(path.suffix.lower())
    if fmt not in EXPORT_FORMATS:
        raise ImportFileError(f"cannot export to {path.name!r}: unknown format {fmt!r}; "
                              f"allowed: {', '.join(EXPORT_FORMATS)} (.geojson, .csv, .gpkg)")
    records = records_of(frame)
    {"geojson": write_geojson, "csv": write_csv, "gpkg": write_gpkg}[fmt](records, path)
    return len(records)
