"""Query arguments: validation (every problem at once), the filter's normalised value, and
the static filter it selects.

Every cache of the index is keyed on a :class:`FilterKey`: the filter's arguments as
sorted, de-duplicated tuples. Two queries share cached structures exactly when they ask for
the same thing, whatever order or container their arguments came in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import numpy as np

from ..amenities import AMENITY_CODES
from ..errors import Problem, ValidationError
from ..records import ACCESS_VALUES, STATUS_VALUES
from ._table import BIT_24_7, BIT_ACCESS, BIT_AMENITY, BIT_PRECISE, BIT_STATUS, StationTable


class FilterKey(NamedTuple):
    """The value of a query's static filter: what the cached structures are keyed on.

    Tuples are sorted and hold each value once; ``None`` means "any" (not the same as every
    value listed: a station with a missing ``access`` passes ``access=None`` only).
    """

    amenities: tuple[str, ...]  # required as "yes"; () for none
    open_24h: bool | None
    statuses: tuple[str, ...] | None
    access: tuple[str, ...] | None
    include_imprecise: bool


DEFAULT_FILTER = FilterKey((), None, ("open",), None, False)


def _values(values: Any) -> tuple | None:
    """``None``, or the values as a sorted tuple of distinct items (a string is one value)."""
    if values is None:
        return None
    if values.__class__ is tuple and len(values) < 2:  # the usual case, already normalised
        return values
    if isinstance(values, str):
        return (values,)
    items = tuple(values)
    return items if len(items) < 2 else tuple(sorted(set(items)))


def _yes_no(value: Any) -> bool | None:
    """``True``/``False`` for a yes/no flag (``bool``, numpy ``bool_``, 1, 0), else None."""
    try:
        return bool(value) if value in (True, False) else None
    except (TypeError, ValueError):  # e.g. an array
        return None


def filter_key(amenities: Any, open_24h: Any, statuses: Any, access: Any, include_imprecise: Any) -> FilterKey | None:
    """The normalised value of a query's static-filter arguments (not checked against the
    allowed values: see :func:`query_problems`).

    ``amenities=None`` is the same as ``()``; a ``str`` is one value; ``open_24h`` and
    ``include_imprecise`` become ``bool`` (``open_24h`` may stay ``None``).

    Returns
    -------
    FilterKey or None
        None when the arguments cannot be normalised (not iterable, unhashable or
        unorderable items, flags that are not yes/no): :func:`query_problems` then reports
        them. A key may still be unhashable (one item that is, e.g. ``[["toilet"]]``):
        such values never pass validation.
    """
    if not (open_24h is None or open_24h is True or open_24h is False):
        open_24h = _yes_no(open_24h)
        if open_24h is None:
            return None
    if not (include_imprecise is True or include_imprecise is False):
        if not isinstance(include_imprecise, np.bool_):
            return None
        include_imprecise = bool(include_imprecise)
    try:
        return tuple.__new__(FilterKey, (_values(amenities) or (), open_24h, _values(statuses), _values(access),
                                         include_imprecise))
    except TypeError:
        return None


@dataclass(frozen=True, eq=False)
class StaticFilter:
    """The non-time part of a query, as bit tests, and which station classes pass it."""

    key: FilterKey  # its value: the key of its cached structures
    need: int  # all of these bits
    forbid: int  # none of these bits
    any_of: tuple[int, ...]  # for each group (status, access): at least one of these bits
    class_ok: np.ndarray  # bool per class (+ sentinel False)


def _as_tuple(value: Any) -> tuple:
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _choice_problems(field: str, values: Any, allowed: tuple[str, ...], *, may_be_none: bool) -> list[Problem]:
    what = ", ".join(allowed)
    if values is None:
        return [] if may_be_none else [Problem(field, None, "is required", what)]
    try:
        items = _as_tuple(values)
    except TypeError:
        return [Problem(field, values, "not a list of values", what)]
    problems = [Problem(field, v, f"unknown {field.rstrip('s')} value" if field != "amenities" else "unknown amenity",
                        what) for v in items if v not in allowed]
    if not items and field != "amenities":
        problems.append(Problem(field, values, "empty: nothing could match", f"one or more of {what}, or None for any"))
    return problems


def _number_problem(field: str, value: Any, *, low: float, allow_none: bool, low_inclusive: bool = True,
                    allowed: str) -> Problem | None:
    if value is None:
        return None if allow_none else Problem(field, value, "is required", allowed)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return Problem(field, value, "not a number", allowed)
    v = float(value)
    if math.isnan(v):
        return Problem(field, value, "is NaN", allowed)
    if v < low or (v == low and not low_inclusive):
        return Problem(field, value, "out of range", allowed)
    return None


def query_problems(*, lat: Any, lon: Any, k: Any, max_k: int, amenities: Any, open_at: Any,
                   arrival_speed_m_s: Any, circuity: Any, open_24h: Any, statuses: Any, access: Any,
                   max_distance_m: Any, include_imprecise: Any) -> list[Problem]:
    """Every problem of one query's arguments (the slow path, after a fast check failed)."""
    from ..geo import validate_lat_lon

    problems = list(validate_lat_lon(lat, lon))
    problems += validate_k(k, max_k)
    problems += _choice_problems("amenities", amenities, AMENITY_CODES, may_be_none=True)
    problems += _choice_problems("statuses", statuses, STATUS_VALUES, may_be_none=True)
    problems += _choice_problems("access", access, ACCESS_VALUES, may_be_none=True)
    if open_at is not None and not isinstance(open_at, datetime):
        problems.append(Problem("open_at", open_at, "not a datetime",
                                "a datetime (aware: an instant; naive: wall-clock time at each station) or None"))
    for p in (
        _number_problem("arrival_speed_m_s", arrival_speed_m_s, low=0.0, low_inclusive=False, allow_none=True,
                        allowed="a speed in metres per second > 0 (walking ~1.3, e-bike ~4.2), or None"),
        _number_problem("circuity", circuity, low=1.0, allow_none=False,
                        allowed="road distance / straight-line distance >= 1 (cities: 1.2-1.4)"),
        _number_problem("max_distance_m", max_distance_m, low=0.0, allow_none=True,
                        allowed="a distance in metres >= 0, or None for no limit"),
    ):
        if p is not None:
            problems.append(p)
    if arrival_speed_m_s is not None and isinstance(arrival_speed_m_s, (int, float)) and math.isinf(arrival_speed_m_s):
        problems.append(Problem("arrival_speed_m_s", arrival_speed_m_s, "is infinite", "a finite speed > 0"))
    if isinstance(circuity, (int, float)) and math.isinf(circuity):
        problems.append(Problem("circuity", circuity, "is infinite", "a finite factor >= 1"))
    if open_24h is not None and _yes_no(open_24h) is None:
        problems.append(Problem("open_24h", open_24h, "not a yes/no flag", "True, False or None (either)"))
    if not isinstance(include_imprecise, (bool, np.bool_)):
        problems.append(Problem("include_imprecise", include_imprecise, "not a yes/no flag", "True or False"))
    return problems


def validate_k(k: Any, max_k: int) -> list[Problem]:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= max_k:
        return [Problem("k", k, "not a whole number in range", f"an integer from 1 to {max_k}")]
    return []


def raise_problems(problems: list[Problem], what: str = "nearest-station query") -> None:
    """Raise a :class:`ValidationError` of every problem, if there are any."""
    if problems:
        raise ValidationError.from_problems(problems, what)


def static_filter(table: StationTable, key: FilterKey) -> StaticFilter:
    """The bit tests of a validated filter, evaluated for every station class."""
    need = 0
    for code in key.amenities:
        need |= BIT_AMENITY[code]
    if not key.include_imprecise:
        need |= BIT_PRECISE
    forbid = 0
    if key.open_24h is True:
        need |= BIT_24_7
    elif key.open_24h is False:
        forbid |= BIT_24_7
    any_of = []
    if key.statuses is not None:
        any_of.append(sum(BIT_STATUS[s] for s in key.statuses))
    if key.access is not None:
        any_of.append(sum(BIT_ACCESS[a] for a in key.access))
    cb = table.class_bits
    ok = ((cb & np.uint32(need)) == np.uint32(need)) & ((cb & np.uint32(forbid)) == 0)
    for bits in any_of:
        ok &= (cb & np.uint32(bits)) != 0
    ok[-1] = False  # sentinel class of unlocated stations
    return StaticFilter(key, need, forbid, tuple(any_of), ok)
