"""The weekly slot table of opening hours, for the spatial index: :func:`week_slots`.

:func:`week_slots` turns an expression into open/closed for each slot of a typical week,
evaluating it with the parser day by day in local wall-clock time; :func:`week_slots_exact`
says whether that table is the whole truth, so that :mod:`stations.index` need not check with
:func:`stations.hours.state_at`. Both are also importable from :mod:`stations.hours`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import opening_hours as _oh

from ._core import (
    DEFAULT_COUNTRY,
    DEFAULT_TZ,
    TYPICAL_SHARE,
    _compiled,
    _normalized,
    _state_name,
    _tz_key,
    _zone,
)
from ..errors import Problem, ValidationError

__all__ = ["week_slots", "week_slots_exact"]

# --------------------------------------------------------------------------------------
# Weekly slot table for the spatial index
# --------------------------------------------------------------------------------------

# Selectors that make hours depend on the date: holidays, school holidays, months and dates,
# years, week numbers, nth weekday of a month, solar times. Searched in the parser's normal
# form with comments removed; it decides how much of the calendar must be evaluated.
_DATED = re.compile(r"\b(?:PH|SH|easter|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|week|"
                    r"sunrise|sunset|dawn|dusk)\b|\b\d{4}\b|\[", re.IGNORECASE)


@dataclass(frozen=True)
class _WeekProfile:
    segments: tuple[tuple[int, int, bool], ...]  # (start_s, end_s, open) from Monday 00:00, local
    exact: bool  # no dated selector and no day of the sampled calendar departs from the pattern


def week_slots(
    oh: str | None,
    tz: str | ZoneInfo = DEFAULT_TZ,
    *,
    slot_min: int = 15,
    week_of: date | None = None,
    country: str | None = DEFAULT_COUNTRY,
) -> np.ndarray | None:
    """Open/closed for each whole slot of a typical week, for a fast spatial index.

    Computed by evaluating the expression with the parser, day by day in local wall-clock
    time: over two weeks from the Monday of ``week_of`` when the expression has no dated
    selector, else over 53 weeks. A weekday's typical day is the pattern shared by at least
    :data:`TYPICAL_SHARE` of its ordinary days (not public holidays, the days after them or
    daylight-saving change days); holidays and other exceptions (``Dec 25 off``) may differ,
    and then :func:`week_slots_exact` is False and callers must check with :func:`state_at`.

    Parameters
    ----------
    oh : str or None
        OSM ``opening_hours``.
    tz : str or ZoneInfo
        The station's time zone; slots are local wall-clock time.
    slot_min : int
        Slot length in minutes; must divide a day (1440) evenly.
    week_of : date, optional
        Any day of the first reference week. Default: today in ``tz``.
    country : str or None
        Whose public holidays ``PH`` means.

    Returns
    -------
    numpy.ndarray of bool, shape (7 * 24 * 60 // slot_min,), or None
        A new array. Slot ``i`` covers ``[i * slot_min, (i + 1) * slot_min)`` minutes after
        Monday 00:00 and is True only when the station is open during the *whole* slot.
        ``None`` when the hours are unknown (``None``, invalid, or ``unknown`` /
        comment-only rules in a typical week) or when no typical week exists (seasons,
        sunrise/sunset, alternate weeks): callers then fall back to :func:`state_at`.

    Raises
    ------
    ValidationError
        ``slot_min`` does not divide 1440, or as in :func:`state_at`.
    """
    _check_slot_min(slot_min)
    profile = _profile_for(oh, tz, week_of, country)
    if profile is None:
        return None
    minutes = np.zeros(7 * 1440, dtype=bool)
    for start_s, end_s, is_open in profile.segments:
        if is_open:
            minutes[-(-start_s // 60): end_s // 60] = True  # whole minutes only
    return minutes.reshape(-1, slot_min).all(axis=1)


def week_slots_exact(
    oh: str | None,
    tz: str | ZoneInfo = DEFAULT_TZ,
    *,
    slot_min: int = 15,
    week_of: date | None = None,
    country: str | None = DEFAULT_COUNTRY,
) -> bool:
    """Whether :func:`week_slots` is exact, so the index need not check with :func:`state_at`.

    Exact means: a typical week exists, the expression has no holiday (``PH``), school
    holiday, month, date, year, week-number or solar selector, and every change of state
    falls on a slot boundary. Then every moment's state is its slot's value.

    Parameters
    ----------
    oh, tz, slot_min, week_of, country
        As in :func:`week_slots`.

    Returns
    -------
    bool
        False for unknown hours too.
    """
    _check_slot_min(slot_min)
    profile = _profile_for(oh, tz, week_of, country)
    if profile is None or not profile.exact:
        return False
    step = slot_min * 60
    return not any(a % step or b % step for a, b, _ in profile.segments)


def _check_slot_min(slot_min: int) -> None:
    if isinstance(slot_min, bool) or not isinstance(slot_min, int) or slot_min <= 0 or 1440 % slot_min:
        raise ValidationError.from_problems(
            [Problem("slot_min", slot_min, "slots must divide a day evenly", "a divisor of 1440, e.g. 5, 15, 60")],
            "slot length",
        )


def _profile_for(oh: str | None, tz: str | ZoneInfo, week_of: date | None, country: str | None) -> _WeekProfile | None:
    key = _tz_key(tz)
    zone = _zone(key)
    if not isinstance(oh, str) or not oh.strip():
        return None
    day = week_of if week_of is not None else datetime.now(zone).date()
    if isinstance(day, datetime):
        day = day.date()
    return _profile(oh, key, day - timedelta(days=day.weekday()), country)


@lru_cache(maxsize=8192)
def _profile(oh: str, tz: str, monday: date, country: str | None) -> _WeekProfile | None:
    compiled = _compiled(oh, tz, country)
    if compiled is None:
        return None
    dated = bool(_DATED.search(re.sub(r'"[^"]*"', "", _normalized(oh))))
    # Without dated selectors every week is the same; two are evaluated as a check.
    n_days = 53 * 7 if dated else 14
    by_day = _day_patterns(oh, compiled, _zone(tz), monday, n_days)
    holidays, dst = _special_days(tz, monday, n_days, country)
    typical: list[tuple[tuple[int, int, str], ...]] = []
    departs = False
    for wd in range(7):
        ordinary = [by_day[k] for k in range(wd, n_days, 7) if k not in holidays and k not in dst]
        pattern, count = Counter(ordinary).most_common(1)[0]
        if count < TYPICAL_SHARE * len(ordinary):
            return None  # seasons, alternate weeks, sunrise...: no typical week
        departs |= count < len(ordinary)
        typical.append(pattern)
    if any(state == "unknown" for day in typical for _, _, state in day):
        return None
    departs |= any(by_day[k] != typical[k % 7] for k in holidays if k < n_days)
    segments = tuple((wd * 86400 + a, wd * 86400 + b, state == "open")
                     for wd, day in enumerate(typical) for a, b, state in day)
    return _WeekProfile(segments, exact=not dated and not departs)


def _day_patterns(oh: str, compiled: _oh.OpeningHours, zone: ZoneInfo, monday: date, n_days: int):
    """For each day of the window, its (start_s, end_s, state) segments in local wall time."""
    start = datetime.combine(monday, time(0), zone)
    end = datetime.combine(monday + timedelta(days=n_days), time(0), zone)
    days: list[list[tuple[int, int, str]]] = [[] for _ in range(n_days)]
    for a, b, state, comment in compiled.intervals(start, end):
        name = _state_name(oh, state, comment)
        a, b = a.astimezone(zone), b.astimezone(zone)
        while a < b:
            k = (a.date() - monday).days
            next_midnight = datetime.combine(a.date() + timedelta(days=1), time(0), zone)
            stop = min(b, next_midnight)
            a_s = a.hour * 3600 + a.minute * 60 + a.second
            b_s = 86400 if stop == next_midnight else stop.hour * 3600 + stop.minute * 60 + stop.second
            if 0 <= k < n_days and b_s > a_s:
                segs = days[k]
                if segs and segs[-1][2] == name and segs[-1][1] == a_s:
                    segs[-1] = (segs[-1][0], b_s, name)
                else:
                    segs.append((a_s, b_s, name))
            a = stop
    return [tuple(d) for d in days]


@lru_cache(maxsize=256)
def _special_days(tz: str, monday: date, n_days: int, country: str | None) -> tuple[frozenset[int], frozenset[int]]:
    """Day indexes of the window that may depart from the weekly pattern.

    Returns (public holidays and the day after each, whose early hours belong to the
    holiday's overnight rule; daylight-saving change days and the day after).
    """
    zone = _zone(tz)
    holidays: set[int] = set()
    if country is not None:
        start = datetime.combine(monday, time(0), zone)
        end = datetime.combine(monday + timedelta(days=n_days), time(0), zone)
        for a, b, state, _ in _compiled("PH", tz, country).intervals(start, end):
            if state == _oh.State.OPEN:
                first = (a.astimezone(zone).date() - monday).days
                last = (b.astimezone(zone).date() - monday).days  # the day after the holiday
                holidays.update(range(first, last + 1))
    dst: set[int] = set()
    for k in range(n_days):
        d = monday + timedelta(days=k)
        if datetime.combine(d, time(0), zone).utcoffset() != datetime.combine(d, time(23, 59), zone).utcoffset():
            dst.update((k, k + 1))
    return frozenset(holidays), frozenset(dst)
