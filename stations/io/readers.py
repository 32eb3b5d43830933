"""Read a user's file into a table of raw cells, whatever its format and encoding.

The readers do not interpret values: every cell comes back as the text (or number) the
file held, with the file's own column names. :mod:`stations.io.columns` maps the names,
:mod:`stations.io.normalize` interprets the values.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import ImportFileError

FORMATS = ("csv", "xlsx", "geojson", "json", "gpkg")
_SUFFIX = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".geojson": "geojson",
           ".json": "json", ".gpkg": "gpkg"}
# Encodings tried in order. GB18030 is a superset of GBK and GB2312 (what Excel in China
# writes for "CSV"); UTF-8 is tried first because valid UTF-8 is almost never valid by
# accident, while GB18030 would accept many UTF-8 byte sequences as mojibake.
ENCODINGS = ("utf-8-sig", "gb18030")


@dataclass
class RawTable:
    """Cells as read, one row per record, plus what was learned about the file."""

    frame: pd.DataFrame
    format: str
    encoding: str | None = None
    # Geometry per row when the file had one: (lon, lat) or None; "kind" notes non-points.
    geometry: list | None = None
    geometry_kind: list | None = None
    warnings: list[str] = field(default_factory=list)
    truncated_rows: set[int] = field(default_factory=set)  # 1-based data rows cut short


def detect_format(path: Path, fmt: str | None = None) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise ImportFileError(f"unknown format {fmt!r}; allowed: {', '.join(FORMATS)}")
        return fmt
    found = _SUFFIX.get(path.suffix.lower())
    if found is None:
        raise ImportFileError(f"{path.name}: cannot tell the format from the extension {path.suffix!r}; "
                              f"allowed: {', '.join(sorted(_SUFFIX))} (or pass --format)")
    return found


def read_table(path: str | Path, *, fmt: str | None = None, max_bytes: int | None = None,
               sheet: str | int | None = None) -> RawTable:
    """Read ``path`` into a :class:`RawTable`.

    Raises :class:`~stations.errors.ImportFileError` for a missing, empty, oversized,
    truncated or undecodable file, naming the file and what is allowed.
    """
    path = Path(path)
    if not path.exists():
        raise ImportFileError(f"{path}: no such file")
    size = path.stat().st_size
    if size == 0:
        raise ImportFileError(f"{path.name}: the file is empty (0 bytes); expected a header row and station rows")
    if max_bytes is not None and size > max_bytes:
        raise ImportFileError(
            f"{path.name}: the file is {size / 1e6:.1f} MB, above the import limit of {max_bytes / 1e6:.0f} MB; "
            "split the file, or raise the limit with --max-mb or STATIONS_IMPORT_MAX_MB")
    fmt = detect_format(path, fmt)
    reader = {"csv": read_csv, "xlsx": read_xlsx, "geojson": read_geojson, "json": read_json,
              "gpkg": read_gpkg}[fmt]
    table = reader(path, sheet=sheet) if fmt == "xlsx" else reader(path)
    if table.frame.empty:
        raise ImportFileError(f"{path.name}: the file has no data rows")
    return table


def _implausible_gb(text: str) -> bool:
    """True when GB18030-decoded text is mostly rare characters: another encoding read wrong.

    Big5 (Taiwan, Hong Kong) byte pairs are valid GBK too, but decode to characters outside
    the 6,763 common ones of GB2312; real mainland text is nearly all inside it.
    """
    cjk = [c for c in text[:20000] if "\u4e00" <= c <= "\u9fff"]
    if len(cjk) < 10:
        return False
    rare = 0
    for c in cjk:
        try:
            c.encode("gb2312")
        except UnicodeEncodeError:
            rare += 1
    return rare / len(cjk) > 0.25


def decode_bytes(data: bytes, name: str) -> tuple[str, str]:
    """Decode ``data`` with the first encoding of :data:`ENCODINGS` that reads it all.

    NUL bytes (UTF-16, binary files) and GB18030 readings that are mostly rare characters
    (Big5 read as GBK) are refused rather than guessed.
    """
    where = None
    if b"\x00" not in data[:65536]:
        for enc in ENCODINGS:
            try:
                text = data.decode(enc)
            except UnicodeDecodeError as exc:
                if enc == "utf-8-sig" and exc.reason == "unexpected end of data" and exc.end == len(data):
                    # Cut off inside the last character: a truncated file, not another encoding.
                    return data[:exc.start].decode(enc), "utf-8"
                where = exc.start if where is None else where
                continue
            if enc == "gb18030" and _implausible_gb(text):
                break
            return text, ("utf-8" if enc == "utf-8-sig" else enc)
    else:
        where = data.index(b"\x00")
    guess = ""
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[:65536]).best()
        if best is not None:
            guess = f" (it looks like {best.encoding})"
    except Exception:  # pragma: no cover - the detector is only a hint
        pass
    raise ImportFileError(
        f"{name}: unknown text encoding{guess}: byte {where} is neither UTF-8 nor GBK/GB18030; "
        "allowed encodings: UTF-8, UTF-8 with BOM, GBK/GB18030 — re-save the file as "
        "'CSV UTF-8' in Excel")


def read_csv(path: Path) -> RawTable:
    data = path.read_bytes()
    text, encoding = decode_bytes(data, path.name)
    if not text.strip():
        raise ImportFileError(f"{path.name}: the file is empty; expected a header row and station rows")
    sample = text[:65536]
    try:
        dialect = csv.Sniffer().sniff(sample.split("\n", 1)[0], delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    while rows and not any(c.strip() for c in rows[-1]):
        rows.pop()
    if not rows:
        raise ImportFileError(f"{path.name}: the file is empty")
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        raise ImportFileError(f"{path.name}: duplicate column names {dupes}; each column needs a unique header")
    body = rows[1:]
    truncated: set[int] = set()
    extra_rows: list[int] = []
    width = len(header)
    fixed = []
    for i, row in enumerate(body, start=1):
        if len(row) < width:
            # A short last row in a file that does not end with a newline: cut off mid-row.
            if i == len(body) and not text.endswith(("\n", "\r")):
                truncated.add(i)
            row = row + [""] * (width - len(row))
        elif len(row) > width:
            if any(c.strip() for c in row[width:]):
                extra_rows.append(i)
            row = row[:width]
        fixed.append(row)
    frame = pd.DataFrame(fixed, columns=header, dtype=object)
    table = RawTable(frame=frame, format="csv", encoding=encoding, truncated_rows=truncated)
    if extra_rows:
        table.warnings.append(f"rows {extra_rows[:10]} have more cells than the header; the extra cells were ignored")
    if not text.endswith(("\n", "\r")) and truncated:
        table.warnings.append("the file ends in the middle of a row: it looks truncated")
    return table


def read_xlsx(path: Path, *, sheet: str | int | None = None) -> RawTable:
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise ImportFileError(f"{path.name}: the XLSX file is damaged (member {bad!r} fails its check)")
    except zipfile.BadZipFile as exc:
        raise ImportFileError(f"{path.name}: not a readable XLSX file ({exc}); it may be truncated, "
                              "or an old .xls — save it as .xlsx or CSV UTF-8") from None
    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=object, engine="openpyxl")
    except Exception as exc:
        raise ImportFileError(f"{path.name}: cannot read the workbook: {exc}") from None
    if sheet is None:
        # The first sheet with data rows.
        name = next((n for n, df in sheets.items() if not df.empty), next(iter(sheets)))
    elif isinstance(sheet, int):
        name = list(sheets)[sheet]
    else:
        if sheet not in sheets:
            raise ImportFileError(f"{path.name}: no sheet {sheet!r}; sheets: {', '.join(sheets)}")
        name = sheet
    frame = sheets[name]
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.dropna(how="all").reset_index(drop=True)
    return RawTable(frame=frame, format="xlsx")


def _feature_point(geom: dict | None) -> tuple[tuple[float, float] | None, str | None]:
    """(lon, lat) for a GeoJSON geometry: points as is, other shapes by a representative point."""
    if not geom:
        return None, None
    kind = geom.get("type")
    if kind == "Point":
        coords = geom.get("coordinates") or []
        if len(coords) >= 2:
            return (coords[0], coords[1]), "Point"
        return None, "Point"
    try:
        from shapely.geometry import shape

        shp = shape(geom)
        if shp.is_empty:
            return None, kind
        pt = shp.representative_point()
        return (pt.x, pt.y), kind
    except Exception:
        return None, kind


def _load_json(path: Path):
    text, _ = decode_bytes(path.read_bytes(), path.name)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"{path.name}: not valid JSON at line {exc.lineno} column {exc.colno} "
                              f"({exc.msg}); the file may be truncated") from None


def _from_features(path: Path, features: list, fmt: str) -> RawTable:
    props, geoms, kinds = [], [], []
    for feat in features:
        if not isinstance(feat, dict):
            props.append({})
            geoms.append(None)
            kinds.append("invalid")
            continue
        props.append(feat.get("properties") or {})
        pt, kind = _feature_point(feat.get("geometry"))
        geoms.append(pt)
        kinds.append(kind)
        if "id" in feat and "id" not in props[-1] and "@id" not in props[-1]:
            props[-1] = {**props[-1], "@id": feat["id"]}
    frame = pd.DataFrame.from_records(props) if props else pd.DataFrame()
    frame = frame.astype(object).reindex(range(len(features)))
    return RawTable(frame=frame, format=fmt, geometry=geoms, geometry_kind=kinds)


def read_geojson(path: Path) -> RawTable:
    doc = _load_json(path)
    if isinstance(doc, list):
        return _from_records(path, doc)
    if not isinstance(doc, dict) or doc.get("type") not in ("FeatureCollection", "Feature"):
        raise ImportFileError(f"{path.name}: expected a GeoJSON FeatureCollection (or a JSON array of records), "
                              f"got {type(doc).__name__} with type {doc.get('type') if isinstance(doc, dict) else None!r}")
    features = doc.get("features", []) if doc["type"] == "FeatureCollection" else [doc]
    crs = (doc.get("crs") or {}).get("properties", {}).get("name", "")
    table = _from_features(path, features, "geojson")
    if crs and "4326" not in crs and "CRS84" not in crs:
        raise ImportFileError(f"{path.name}: GeoJSON in {crs!r}; allowed: WGS-84 longitude/latitude (RFC 7946)")
    return table


def _from_records(path: Path, records: list) -> RawTable:
    if not all(isinstance(r, dict) for r in records):
        raise ImportFileError(f"{path.name}: a JSON array must hold one object per station")
    frame = pd.DataFrame.from_records(records).astype(object)
    return RawTable(frame=frame, format="json")


def read_json(path: Path) -> RawTable:
    doc = _load_json(path)
    if isinstance(doc, dict) and doc.get("type") in ("FeatureCollection", "Feature"):
        return read_geojson(path)
    if isinstance(doc, list):
        return _from_records(path, doc)
    raise ImportFileError(f"{path.name}: expected a JSON array of station objects or a GeoJSON FeatureCollection")


def read_gpkg(path: Path) -> RawTable:
    import pyogrio

    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:
        raise ImportFileError(f"{path.name}: not a readable GeoPackage ({exc})") from None
    names = [str(n) for n, kind in layers if kind is not None]
    if not names:
        raise ImportFileError(f"{path.name}: the GeoPackage has no point layer")
    layer = "stations" if "stations" in names else names[0]
    gdf = pyogrio.read_dataframe(path, layer=layer)
    if gdf.crs is not None and gdf.crs.to_epsg() not in (4326, 4490):
        gdf = gdf.to_crs(4326)
    geoms, kinds = [], []
    for geom in gdf.geometry:
        if geom is None or geom.is_empty:
            geoms.append(None)
            kinds.append(None)
        elif geom.geom_type == "Point":
            geoms.append((geom.x, geom.y))
            kinds.append("Point")
        else:
            pt = geom.representative_point()
            geoms.append((pt.x, pt.y))
            kinds.append(geom.geom_type)
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype(object)
    for col in ("fid", "updated_at"):
        if col in frame.columns:
            frame = frame.drop(columns=col)
    return RawTable(frame=frame, format="gpkg", geometry=geoms, geometry_kind=kinds)
