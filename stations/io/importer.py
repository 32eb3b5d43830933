"""Import a station file into a store: read, map columns, normalise, geocode, flag, write.

The whole file lands in one transaction or not at all. Rows with errors are rejected and
reported (row number, field, value, reason); the rest are added, updated or left
unchanged, so importing the same file twice changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from ..errors import Problem
from .admin_areas import fill_admin_areas
from .columns import map_columns
from .normalize import RowResult, normalize_rows
from .readers import read_table
from ..records import FIELD_NAMES, needs_review
from ..store import Change, StationStore

DUPLICATE_RADIUS_M = 50.0
SAME_POSITION_M = 1.0
EARTH_RADIUS_M = 6_371_008.8


@dataclass
class ImportReport:
    """What an import did. ``rejected_rows`` lists every problem of every rejected row."""

    source: str
    format: str = ""
    encoding: str | None = None
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    geocoded: int = 0
    admin_filled: int = 0
    needs_review: int = 0
    duplicates: list[dict] = field(default_factory=list)
    rejected_rows: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    file_warnings: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    batch_id: int | None = None
    dry_run: bool = False

    def summary(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("rows", "added", "updated", "unchanged", "rejected", "geocoded",
                                              "admin_filled", "needs_review")} | {"duplicates": len(self.duplicates)}

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["rejected_rows"] = [p.as_dict() for p in self.rejected_rows]
        out["warnings"] = [p.as_dict() for p in self.warnings]
        return out

    def write_problems_csv(self, path: str | Path) -> None:
        """Rejected rows and warnings as a CSV (UTF-8 with BOM so Excel shows Chinese)."""
        with open(path, "w", newline="", encoding="utf-8-sig") as fh:
            w = csv.writer(fh)
            w.writerow(["row", "severity", "field", "value", "reason", "allowed"])
            for sev, problems in (("rejected", self.rejected_rows), ("warning", self.warnings)):
                for p in problems:
                    w.writerow([p.row, sev, p.field, "" if p.value is None else p.value, p.reason, p.allowed])


def _unit_xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)))


def _chord(distance_m: float) -> float:
    return 2.0 * np.sin(distance_m / (2.0 * EARTH_RADIUS_M))


def find_duplicates(incoming: list[dict], others: Iterable[dict]) -> list[dict]:
    """Likely duplicates: the same position (within 1 m), or the same name within 50 m.

    Each incoming record is compared with the other incoming records and with ``others``
    (stored records not in this import). Positions below street precision (a county centre
    standing in for an unknown address) say nothing about where a station is, so they are
    not compared. Returns ``{"station_id", "other_id", "distance_m",
    "reason"}`` dicts, one per pair.
    """
    from scipy.spatial import cKDTree

    from ..geo import haversine_m

    def usable(r: dict) -> bool:
        return r.get("lat") is not None and not needs_review(r.get("geocode_precision"))

    pool = [r for r in incoming if usable(r)]
    n_in = len(pool)
    pool += [r for r in others if usable(r)]
    if n_in == 0 or len(pool) < 2:
        return []
    lat = np.array([r["lat"] for r in pool], float)
    lon = np.array([r["lon"] for r in pool], float)
    tree = cKDTree(_unit_xyz(lat, lon))
    pairs = tree.query_pairs(_chord(DUPLICATE_RADIUS_M), output_type="ndarray")
    out = []
    for a, b in pairs:
        if a >= n_in and b >= n_in:
            continue  # both already stored: not this import's business
        d = float(haversine_m(lat[a], lon[a], lat[b], lon[b]))
        if d <= SAME_POSITION_M:
            reason = "same position"
        elif (pool[a].get("name") or "") == (pool[b].get("name") or "") and d <= DUPLICATE_RADIUS_M:
            reason = f"same name within {DUPLICATE_RADIUS_M:g} m"
        else:
            continue
        first, second = (a, b) if a < n_in else (b, a)
        out.append({"station_id": pool[first]["station_id"], "other_id": pool[second]["station_id"],
                    "distance_m": round(d, 1), "reason": reason})
    return sorted(out, key=lambda d: (d["station_id"], d["other_id"]))


def _geocode(results: list[RowResult], geocoder, report: ImportReport, progress) -> None:
    todo = [r for r in results if r.record is not None and r.record.get("lat") is None
            and (r.record.get("address") or r.record.get("county") or r.record.get("city"))]
    if not todo or geocoder is None:
        return
    bar = progress(total=len(todo), desc="geocoding", unit="row") if progress else None
    for res in todo:
        rec = res.record
        query = rec.get("address") or ""
        try:
            hit = geocoder.geocode(query, province=rec.get("province"), city=rec.get("city"), county=rec.get("county"))
        except ValueError as exc:  # GeocodeError: every provider failed
            res.warnings.append(Problem("address", query, f"geocoding failed: {exc}", "", res.row))
            hit = None
        if bar:
            bar.update(1)
        if hit is None:
            res.warnings.append(Problem("address", query, "no geocoder found this address; stored without a position",
                                        "an address with province, city and county (省/市/县)", res.row))
            continue
        rec.update(lat=hit.lat, lon=hit.lon, raw_lat=hit.raw_lat, raw_lon=hit.raw_lon, raw_crs=hit.raw_crs,
                   geocode_precision=hit.precision, geocode_provider=hit.provider)
        for name in ("province", "city", "county", "adcode"):
            if not rec.get(name) and getattr(hit, name, None):
                rec[name] = getattr(hit, name)
        report.geocoded += 1
    if bar:
        bar.close()


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        try:
            return float(a) == float(b)
        except (TypeError, ValueError):
            return False
    return str(a) == str(b)


def diff_record(old: dict, new: dict) -> dict[str, list]:
    """Changed fields as ``{field: [old, new]}``."""
    return {n: [old.get(n), new.get(n)] for n in FIELD_NAMES if not _same(old.get(n), new.get(n))}


def _stored_values(store: StationStore, ids: list[str]) -> dict:
    """Stored records for ``ids`` as ``{id: (values tuple in FIELD_NAMES order, flags)}``,
    plus, under the key None, the stored records not among ``ids`` that have a position
    (for duplicate checks). One read of the store; tuples compare fast and cheaply."""
    if not ids or store.count() == 0:
        return {}
    frame = store.frame()
    wanted = frame["station_id"].isin(ids).to_numpy()
    sub = frame[wanted]
    values = sub[list(FIELD_NAMES)].astype(object)
    values = values.where(values.notna(), None)
    out: dict = {sid: (vals, tuple(flags)) for sid, vals, flags in
                 zip(sub["station_id"], values.itertuples(index=False, name=None), sub["flags"])}
    rest = frame[~wanted & frame["lat"].notna().to_numpy()]
    out[None] = rest[["station_id", "name", "lat", "lon", "geocode_precision"]].to_dict("records")
    return out


def _plan_changes(store: StationStore, good: list[dict], report: ImportReport) -> list[Change]:
    """Compare the good records with the store: adds, updates (with the changed fields) and
    unchanged ones, each with its flags (possible duplicates, needs review); counts go to
    ``report``."""
    stored = _stored_values(store, [r["station_id"] for r in good])
    report.duplicates = find_duplicates(good, stored.pop(None, []))
    dup_flags: dict[str, set[str]] = {}
    for d in report.duplicates:
        dup_flags.setdefault(d["station_id"], set()).add(f"possible_duplicate:{d['other_id']}")
    changes: list[Change] = []
    for rec in good:
        flags = set(dup_flags.get(rec["station_id"], ()))
        if needs_review(rec.get("geocode_precision")):
            flags.add("needs_review")
            report.needs_review += 1
        flags = tuple(sorted(flags))
        old = stored.get(rec["station_id"])
        if old is None:
            changes.append(Change("add", rec, flags=flags))
            report.added += 1
            continue
        old_values, old_flags = old
        same_flags = tuple(old_flags) == flags
        if same_flags and tuple(rec.get(n) for n in FIELD_NAMES) == old_values:  # the fast, common case
            report.unchanged += 1
            continue
        changed = diff_record(dict(zip(FIELD_NAMES, old_values)), rec)
        if not changed and same_flags:
            report.unchanged += 1
            continue
        changes.append(Change("update", rec, changed=changed, flags=flags))
        report.updated += 1
    return changes


def prepare(path: str | Path, *, fmt: str | None = None, default_crs: str = "wgs84", geocoder=None,
            max_bytes: int | None = None, sheet=None,
            progress: Callable | None = None) -> tuple[list[RowResult], ImportReport]:
    """Read and normalise ``path`` without touching any store; the report counts the rows
    rejected and carries every problem and warning."""
    path = Path(path)
    raw = read_table(path, fmt=fmt, max_bytes=max_bytes, sheet=sheet)
    cmap = map_columns(list(raw.frame.columns), file_name=path.name, has_geometry=raw.geometry is not None)
    report = ImportReport(source=str(path), format=raw.format, encoding=raw.encoding, rows=len(raw.frame),
                          ignored_columns=cmap.ignored, file_warnings=[*raw.warnings, *cmap.notes])
    results = normalize_rows(raw, cmap, default_crs=default_crs)
    for row in sorted(raw.truncated_rows):
        res = results[row - 1]
        res.errors.insert(0, Problem("row", None, "the row is cut short: the file looks truncated",
                                     "a complete row with every column", res.row))
        res.record = None
    # Repeated ids are rejected first, so that no geocoder request is spent on a rejected row.
    seen: dict[str, int] = {}
    for res in results:
        if res.record is None:
            continue
        sid = res.record["station_id"]
        if sid in seen:
            res.errors.append(Problem("station_id", sid, f"the same id is already on row {seen[sid]}",
                                      "a unique id per station", res.row))
            res.record = None
        else:
            seen[sid] = res.row
    _geocode(results, geocoder, report, progress)
    report.admin_filled = fill_admin_areas(results)
    for res in results:
        report.warnings.extend(res.warnings)
        if res.record is None:
            report.rejected += 1
            report.rejected_rows.extend(res.errors)
    return results, report


def import_file(store: StationStore, path: str | Path, *, fmt: str | None = None, default_crs: str = "wgs84",
                geocoder=None, dry_run: bool = False, source: str | None = None, max_bytes: int | None = None,
                sheet=None, command: str = "import", reason: str = "", progress: Callable | None = None,
                fail_on_rejected: bool = False) -> ImportReport:
    """Import ``path`` into ``store`` in one transaction and return the report.

    Parameters
    ----------
    default_crs
        Coordinate system of rows that do not name one (a ``坐标系`` column or a header
        such as ``经度(GCJ-02)`` overrides it).
    geocoder
        A geocoder chain (:mod:`stations.geocode`) for rows with an address and no
        position; None stores them unpositioned and flagged for review.
    dry_run
        Report what would change; write nothing.
    source
        What the batch records as where the rows came from (default: the file's name). It is
        not a field of the stations: their history names the batch.
    fail_on_rejected
        Write nothing when any row is rejected (the default writes the good rows and
        reports the rest).
    """
    path = Path(path)
    results, report = prepare(path, fmt=fmt, default_crs=default_crs, geocoder=geocoder,
                              max_bytes=max_bytes, sheet=sheet, progress=progress)
    report.dry_run = dry_run
    good = [r.record for r in results if r.record is not None]
    changes = _plan_changes(store, good, report)
    if dry_run or (fail_on_rejected and report.rejected):
        return report
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    bar = progress(total=len(changes), desc="writing", unit="station") if progress and changes else None
    result = store.apply(changes, command=command, source=source or path.name, reason=reason,
                         summary=report.summary(), source_sha256=sha,
                         progress=(bar.update if bar else None))
    if bar:
        bar.close()
    report.batch_id = result.batch_id
    return report
