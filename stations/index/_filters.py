"""Query arguments: validation (every problem at once) and the static filter they select."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

import numpy as np

from ..amenities import AMENITY_CODES
from ..errors import Problem, ValidationError
from ..records import ACCESS_VALUES, STATUS_VALUES
from ._table import BIT_24_7, BIT_ACCESS, BIT_AMENITY, BIT_PRECISE, BIT_STATUS, StationTable


@dataclass(frozen=True)
class StaticFilter:
    """The non-time part of a query, as bit tests, and which station classes pass it."""

    need: int  # all of these bits
    forbid: int  # none of these bits
    any_of: tuple[int, ...]  # for each group (status, access): at least one of these bits
    class_ok: np.ndarray  # bool per class (+ sentinel False)
    key: int  # the tests packed in one int: equal filters share cached structures, and hash fast


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
    if open_24h not in (None, True, False):
        problems.append(Problem("open_24h", open_24h, "not a yes/no flag", "True, False or None (either)"))
    if not isinstance(include_imprecise, (bool, np.bool_)):
        problems.append(Problem("include_imprecise", include_imprecise, "not a yes/no flag", "True or False"))
    return problems


def validate_k(k: Any, max_k: int) -> list[Problem]:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= max_k:
        return [Problem("k", k, "not a whole number in range", f"an integer from 1 to {max_k}")]
    return []


def raise_problems(problems: list[Problem]) -> None:
    if problems:
        raise ValidationError.from_problems(problems, "nearest-station query")


def static_filter(table: StationTable, amenities: Iterable[str], open_24h: bool | None,
                  statuses: Iterable[str] | None, access: Iterable[str] | None,
                  include_imprecise: bool) -> StaticFilter:
    """The bit tests of already-validated arguments, evaluated for every station class."""
    need = 0
    for code in amenities:
        need |= BIT_AMENITY[code]
    if not include_imprecise:
        need |= BIT_PRECISE
    forbid = 0
    if open_24h is True:
        need |= BIT_24_7
    elif open_24h is False:
        forbid |= BIT_24_7
    any_of = []
    key = need | (forbid << 26)
    if statuses is not None:
        any_of.append(sum(BIT_STATUS[s] for s in set(statuses)))
        key |= (any_of[-1] | (1 << 23)) << 52  # the status bits are bits 16-18 of a station
    if access is not None:
        any_of.append(sum(BIT_ACCESS[a] for a in set(access)))
        key |= (any_of[-1] | (1 << 23)) << 80  # the access bits are bits 20-22
    cb = table.class_bits
    ok = ((cb & np.uint32(need)) == np.uint32(need)) & ((cb & np.uint32(forbid)) == 0)
    for bits in any_of:
        ok &= (cb & np.uint32(bits)) != 0
    ok[-1] = False  # sentinel class of unlocated stations
    return StaticFilter(need, forbid, tuple(any_of), ok, key)
