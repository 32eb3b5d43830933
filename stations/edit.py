"""Edits to stored stations outside imports: status changes and re-geocoding.

Every edit goes through :meth:`StationStore.apply`, so it is transactional and lands in
the history with its reason.
"""

from __future__ import annotations

from typing import Callable

from .errors import NotFoundError, Problem, ValidationError
from .io.importer import diff_record
from .records import PRECISIONS, STATUS_VALUES, needs_review, validate_record
from .store import Change, StationStore


def set_status(store: StationStore, station_id: str, status: str, *, reason: str) -> dict:
    """Set a station's status (``open``, ``temporarily_closed`` or ``removed``) with a reason."""
    if status not in STATUS_VALUES:
        raise ValidationError.from_problems([Problem("status", status, "not an allowed value", ", ".join(STATUS_VALUES))])
    if not reason or not reason.strip():
        raise ValidationError.from_problems([Problem("reason", reason, "a status change needs a reason",
                                                     "a non-empty text")])
    old = store.get(station_id)
    if old is None:
        raise NotFoundError(f"no station with id {station_id!r}")
    new = {k: v for k, v in old.items() if k != "flags"}
    new.update(status=status, status_reason=reason.strip() if status != "open" else None)
    problems = validate_record(new)
    if problems:
        raise ValidationError.from_problems(problems)
    action = "remove" if status == "removed" else "update"
    store.apply([Change(action, new, changed=diff_record(old, new), flags=tuple(old.get("flags") or ()))],
                command=f"set-status {status}", reason=reason.strip())
    return new


def review_list(store: StationStore) -> list[dict]:
    """Stations whose position is missing or below street precision, by county then name."""
    frame = store.frame(statuses=("open", "temporarily_closed"))
    mask = frame["geocode_precision"].map(needs_review)
    rows = frame[mask].sort_values(["county", "name"], na_position="last")
    return rows[["station_id", "name", "address", "county", "geocode_precision", "geocode_provider"]].to_dict("records")


def geocode_store(store: StationStore, geocoder, *, progress: Callable | None = None) -> dict:
    """Re-geocode stations below street precision; keep a result only if it is more precise."""
    frame = store.frame(statuses=("open", "temporarily_closed"))
    todo = frame[frame["geocode_precision"].map(needs_review) & frame["address"].notna()]
    counts = {"tried": 0, "improved": 0, "unchanged": 0, "failed": 0}
    changes = []
    bar = progress(total=len(todo), desc="geocoding", unit="station") if progress else None
    for rec in todo.to_dict("records"):
        counts["tried"] += 1
        try:
            hit = geocoder.geocode(rec["address"], province=rec.get("province"), city=rec.get("city"),
                                   county=rec.get("county"))
        except ValueError:
            hit = None
            counts["failed"] += 1
        if bar:
            bar.update(1)
        old_rank = PRECISIONS.index(rec["geocode_precision"]) if rec.get("geocode_precision") in PRECISIONS else 99
        if hit is None or PRECISIONS.index(hit.precision) >= old_rank:
            counts["unchanged"] += hit is not None
            continue
        old = {k: (None if isinstance(v, float) and v != v else v) for k, v in rec.items()}
        new = {k: v for k, v in old.items() if k != "flags"}
        new.update(lat=hit.lat, lon=hit.lon, raw_lat=hit.raw_lat, raw_lon=hit.raw_lon, raw_crs=hit.raw_crs,
                   geocode_precision=hit.precision, geocode_provider=hit.provider)
        flags = tuple(f for f in (old.get("flags") or ()) if f != "needs_review")
        if needs_review(hit.precision):
            flags = tuple(sorted(set(flags) | {"needs_review"}))
        changes.append(Change("update", new, changed=diff_record(old, new), flags=flags))
        counts["improved"] += 1
    if bar:
        bar.close()
    if changes:
        store.apply(changes, command="geocode", reason="re-geocoded below-street positions")
    return counts
