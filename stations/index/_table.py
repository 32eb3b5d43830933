"""Station columns -> what the index searches: unit vectors, filter bits and station classes.

Every station gets a packed ``uint32`` of the attributes a query can filter on
(:data:`BIT_AMENITY` ... :data:`BIT_24_7`) and an opening-hours *pattern* (one per distinct
``(opening_hours, timezone)`` pair, see :mod:`._hours`). A *class* is one distinct
``(bits, pattern)`` pair: any filter, static or "open at t", is a yes/no per class, so
"how many stations pass" is a sum over the (few thousand) classes, and "which stations"
is one gather ``class_ok[station_class]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ..amenities import AMENITY_CODES
from ..errors import Problem, ValidationError
from ..records import ACCESS_VALUES, DEFAULT_TIMEZONE, PRECISIONS, STATUS_VALUES, needs_review
from ._geometry import unit_vectors
from ._hours import HoursTable

BIT_AMENITY: dict[str, int] = {code: 1 << i for i, code in enumerate(AMENITY_CODES)}  # bits 0-14: "yes"
BIT_STATUS: dict[str, int] = {s: 1 << (16 + i) for i, s in enumerate(STATUS_VALUES)}
BIT_ACCESS: dict[str, int] = {a: 1 << (20 + i) for i, a in enumerate(ACCESS_VALUES)}
BIT_PRECISE = 1 << 24  # not stations.records.needs_review(geocode_precision)
BIT_24_7 = 1 << 25  # stations.hours.is_24_7(opening_hours)
assert len(AMENITY_CODES) <= 16 and len(STATUS_VALUES) <= 4 and len(ACCESS_VALUES) <= 4

_MAX_BAD_ROWS_SHOWN = 5


@dataclass
class StationTable:
    """The indexed stations. Row numbers are positions in the input (0-based)."""

    n_rows: int
    station_id: np.ndarray | None  # object array, or None: ids are the row numbers as text
    lat: np.ndarray
    lon: np.ndarray
    xyz: np.ndarray  # (n_rows, 3); NaN rows are unlocated
    located_rows: np.ndarray | None  # rows in the main tree, in tree order; None = all rows
    bits: np.ndarray  # uint32 (n_rows,)
    station_class: np.ndarray  # int32 (n_rows,); unlocated rows get the sentinel class n_classes
    class_bits: np.ndarray  # uint32 (n_classes + 1,), sentinel 0
    class_pattern: np.ndarray  # int32 (n_classes + 1,) into hours.labels(); sentinel = unknown hours
    class_count: np.ndarray  # int64 (n_classes + 1,): located stations per class, sentinel 0
    hours: HoursTable

    @property
    def n_classes(self) -> int:
        return len(self.class_bits) - 1

    @property
    def n_located(self) -> int:
        return self.n_rows if self.located_rows is None else len(self.located_rows)

    def station_id_of(self, row: int) -> str:
        return str(row) if self.station_id is None else self.station_id[row]


def _bad_rows_problem(field: str, bad: np.ndarray, values: Any, reason: str, allowed: str) -> Problem:
    rows = np.flatnonzero(bad)
    shown = ", ".join(f"row {int(r)}: {values[int(r)]!r}" for r in rows[:_MAX_BAD_ROWS_SHOWN])
    more = f" and {len(rows) - _MAX_BAD_ROWS_SHOWN} more" if len(rows) > _MAX_BAD_ROWS_SHOWN else ""
    return Problem(field, f"{shown}{more}", reason, allowed)


def _factorize(values: Any, n: int) -> tuple[np.ndarray, list[Any]]:
    """Codes (-1 for missing) and distinct values of a column (pandas' hash factorize: O(n))."""
    import pandas as pd

    if values is None:
        return np.full(n, -1, dtype=np.int64), []
    codes, uniques = pd.factorize(np.asarray(values, dtype=object) if not hasattr(values, "dtype") else values,
                                  use_na_sentinel=True)
    codes = np.asarray(codes, dtype=np.int64)
    if len(codes) != n:
        raise ValidationError.from_problems([Problem("columns", len(codes), "column lengths differ", f"{n} values")],
                                            "stations")
    return codes, list(uniques)


def _enum_bits(field: str, values: Any, n: int, bit_of: Mapping[str, int], problems: list[Problem],
               *, if_absent: str) -> np.ndarray:
    """Bits of an enumerated column. A column not given at all counts as ``if_absent`` for
    every row; a missing value in a given column gets no bit (matches no filter on it)."""
    if values is None:
        return np.full(n, bit_of[if_absent], dtype=np.uint32)
    codes, uniques = _factorize(values, n)
    unknown = [u for u in uniques if u not in bit_of]
    if unknown:
        problems.append(Problem(field, ", ".join(map(repr, unknown[:_MAX_BAD_ROWS_SHOWN])), "not an allowed value",
                                ", ".join(bit_of)))
    table = np.array([bit_of.get(u, 0) for u in uniques] + [0], dtype=np.uint32)
    return table[codes]  # code -1 (missing) picks the trailing 0


def _yes_mask(field: str, values: Any, n: int) -> np.ndarray:
    arr = np.asarray(values)
    if len(arr) != n:
        raise ValidationError.from_problems([Problem(field, len(arr), "column length differs", f"{n} values")],
                                            "stations")
    if arr.dtype == bool:
        return arr
    return arr == "yes"  # only "yes" counts: "no" and "unknown" both fail a required amenity


def build_table(
    *,
    lat: Any,
    lon: Any,
    station_id: Any = None,
    amenities: Mapping[str, Any] | None = None,
    opening_hours: Sequence[str | None] | None = None,
    timezone: Any = None,
    access: Any = None,
    status: Any = None,
    geocode_precision: Any = None,
) -> StationTable:
    """Check and pack the columns; see :meth:`stations.index.StationIndex.from_arrays`."""
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    n = len(lat)
    problems: list[Problem] = []
    if lat.ndim != 1 or lon.shape != lat.shape:
        raise ValidationError.from_problems(
            [Problem("lon", lon.shape, "lat and lon must be 1-D and of the same length", f"shape {lat.shape}")],
            "stations")
    missing = np.isnan(lat) | np.isnan(lon)
    for name, values, lo, hi in (("lat", lat, -90.0, 90.0), ("lon", lon, -180.0, 180.0)):
        bad = ~missing & ~((values >= lo) & (values <= hi))
        if bad.any():
            problems.append(_bad_rows_problem(name, bad, values, "out of range (NaN marks an unlocated station)",
                                              f"a number from {lo:g} to {hi:g}"))
    bits = np.zeros(n, dtype=np.uint32)
    for code, values in (amenities or {}).items():
        if code not in BIT_AMENITY:
            problems.append(Problem("amenities", code, "unknown amenity", ", ".join(AMENITY_CODES)))
            continue
        bits[_yes_mask(f"amenity_{code}", values, n)] |= np.uint32(BIT_AMENITY[code])
    bits |= _enum_bits("status", status, n, BIT_STATUS, problems, if_absent="open")
    bits |= _enum_bits("access", access, n, BIT_ACCESS, problems, if_absent="everyone")
    # A missing precision needs review, like records.needs_review(None).
    precise_of = {p: 0 if needs_review(p) else BIT_PRECISE for p in PRECISIONS}
    bits |= _enum_bits("geocode_precision", geocode_precision, n, precise_of, problems, if_absent="exact")
    hours = HoursTable.from_columns(opening_hours, timezone, n, DEFAULT_TIMEZONE, problems)
    if station_id is not None and len(station_id) != n:
        problems.append(Problem("station_id", len(station_id), "column length differs", f"{n} values"))
    if problems:
        raise ValidationError.from_problems(problems, "stations")
    bits |= np.where(hours.station_is_24_7(), np.uint32(BIT_24_7), np.uint32(0))
    station_pattern = hours.station_pattern

    station_class, class_bits, class_pattern = _classes(bits, station_pattern, missing, hours.n_patterns)
    n_classes = len(class_bits) - 1
    class_count = np.bincount(station_class, minlength=n_classes + 1).astype(np.int64)
    class_count[n_classes] = 0
    located_rows = None if not missing.any() else np.flatnonzero(~missing)
    return StationTable(
        n_rows=n,
        station_id=None if station_id is None else np.asarray(station_id, dtype=object),
        lat=lat, lon=lon,
        xyz=unit_vectors(lat, lon),
        located_rows=located_rows,
        bits=bits,
        station_class=station_class,
        class_bits=class_bits,
        class_pattern=class_pattern,
        class_count=class_count,
        hours=hours,
    )


def _classes(bits: np.ndarray, pattern: np.ndarray, missing: np.ndarray, n_patterns: int):
    import pandas as pd

    key = (bits.astype(np.uint64) << np.uint64(32)) | pattern.astype(np.uint64)
    codes, uniques = pd.factorize(key)
    codes = codes.astype(np.int32)
    n_classes = len(uniques)
    uniques = np.asarray(uniques, dtype=np.uint64)
    class_bits = np.append((uniques >> np.uint64(32)).astype(np.uint32), np.uint32(0))
    class_pattern = np.append((uniques & np.uint64(0xFFFFFFFF)).astype(np.int32), np.int32(n_patterns))
    if missing.any():
        codes[missing] = n_classes
    return codes, class_bits, class_pattern
