"""Opening hours of stations, in OpenStreetMap ``opening_hours`` syntax.

Hours are stored as OSM ``opening_hours`` strings (``24/7``, ``Mo-Fr 08:00-18:00; PH off``)
and evaluated by the real parser, `opening-hours-py`_ (import name ``opening_hours``), in
the station's time zone (default ``"Asia/Shanghai"``) with a country's public holidays
(default ``"CN"``).

Three rules hold everywhere in this module:

- **Unknown is unknown, never closed.** Missing or unreadable hours give the state
  ``"unknown"``; text that :func:`normalize_hours` does not understand gives
  ``opening_hours=None``, never a string that would evaluate as closed.
- **"Open 24 hours" is derived** from the hours (:func:`is_24_7`), never a separate flag.
- **The parser decides.** Validity, states, next changes and the weekly slot table
  (:func:`week_slots`) all come from evaluating the expression with the parser.

What the parser does, and where this module deliberately differs
------------------------------------------------------------------
- Public holidays: ``OpeningHours(..., country="CN")`` loads a Chinese holiday calendar, so
  ``PH off`` works. That calendar marks only the *first* day of each statutory holiday
  (New Year, Spring Festival, Labour Day, Dragon Boat, Mid-Autumn, National Day); neither
  the rest of the official break (e.g. 1-8 October) nor the make-up working days (调休)
  are in it. There is no school-holiday (``SH``) calendar for China.
- Comments: the OSM specification says a rule whose only modifier is a comment
  (``Mo-Fr 08:00-18:00 "by appointment"``) evaluates as *unknown*; the parser reports
  *open*. :func:`state_at` follows the specification: open-with-a-comment is reported as
  ``"unknown"`` unless the rule says ``open "..."`` explicitly.
- Far changes: a change more than :data:`MAX_INTERVAL_DAYS` days away is reported as no
  change (``None``); this bounds the cost of odd expressions such as ``2099 Mo 10:00-12:00``.

Layout
------
This module validates and evaluates hours: :func:`is_valid`, :func:`validation_problem`,
:func:`state_at`, :func:`next_change`, :func:`is_24_7` and :func:`open_status`. It re-exports,
so that ``stations.hours`` stays the one import: :func:`normalize_hours` and
:class:`HoursParse` (reading typed text, :mod:`stations.hours.text`), :func:`week_slots` and
:func:`week_slots_exact` (the weekly slot table, :mod:`stations.hours.week`), and the settings
:data:`DEFAULT_TZ`, :data:`DEFAULT_COUNTRY`, :data:`MAX_INTERVAL_DAYS` and
:data:`TYPICAL_SHARE` (documented where they are defined, with the parser wrapper, in
``stations.hours._core``).

.. _opening-hours-py: https://github.com/remi-dupre/opening-hours-rs
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import opening_hours as _oh

from ._core import (
    DEFAULT_COUNTRY,
    DEFAULT_TZ,
    MAX_INTERVAL_DAYS,
    TYPICAL_SHARE,
    State,
    _evaluate,
    _normalized,
    _state_name,
    _tz_key,
    _zone,
)
from ..errors import Problem, ValidationError
from .text import HoursParse, normalize_hours
from .text import _normalize_cached as _normalize_cached  # re-exported: tests clear its cache
from .week import _profile as _profile  # re-exported: tests clear its cache
from .week import week_slots, week_slots_exact

__all__ = [
    "DEFAULT_COUNTRY",
    "DEFAULT_TZ",
    "HoursParse",
    "MAX_INTERVAL_DAYS",
    "TYPICAL_SHARE",
    "is_24_7",
    "is_valid",
    "next_change",
    "normalize_hours",
    "open_status",
    "state_at",
    "validation_problem",
    "week_slots",
    "week_slots_exact",
]

# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------


def is_valid(oh: str) -> bool:
    """Whether ``oh`` is a valid OSM ``opening_hours`` expression for the parser.

    Parameters
    ----------
    oh : str
        The expression. Non-strings and ``""`` are not valid.

    Returns
    -------
    bool
    """
    return isinstance(oh, str) and bool(oh.strip()) and _oh.validate(oh)


def validation_problem(oh: str) -> str | None:
    """The parser's message for an invalid expression, or ``None`` when ``oh`` is valid.

    Parameters
    ----------
    oh : str
        The expression.

    Returns
    -------
    str or None
        E.g. ``"Failed to parse expression: ... expected ..."``; a short message for
        non-strings and blank text.
    """
    if not isinstance(oh, str):
        return f"opening_hours must be a string, got {type(oh).__name__}"
    if not oh.strip():
        return "opening_hours is blank"
    try:
        _oh.OpeningHours(oh)
    except _oh.ParserError as exc:
        return str(exc)
    return None


# --------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------


def state_at(
    oh: str | None,
    when: datetime | None = None,
    tz: str | ZoneInfo = DEFAULT_TZ,
    *,
    country: str | None = DEFAULT_COUNTRY,
) -> State:
    """Whether a station is open at a moment.

    Parameters
    ----------
    oh : str or None
        OSM ``opening_hours``. ``None``, blank or invalid strings mean unknown hours.
    when : datetime, optional
        The moment. Naive datetimes are local wall-clock time in ``tz``; aware ones are
        converted to ``tz``. Default: now.
    tz : str or ZoneInfo
        The station's IANA time zone.
    country : str or None
        Whose public holidays ``PH`` means (default ``"CN"``).

    Returns
    -------
    {"open", "closed", "unknown"}
        ``"unknown"`` for unknown hours, for ``unknown`` rules, and for rules that only
        carry a comment (``"by appointment"``); never ``"closed"`` for unknown hours.

    Raises
    ------
    ValidationError
        ``when`` is not a datetime, or ``tz`` / ``country`` is unknown.
    """
    compiled, local = _evaluate(oh, when, tz, country)
    if compiled is None:
        return "unknown"
    state, comment = compiled.state(local)
    return _state_name(oh, state, comment)


def next_change(
    oh: str | None,
    when: datetime | None = None,
    tz: str | ZoneInfo = DEFAULT_TZ,
    *,
    country: str | None = DEFAULT_COUNTRY,
) -> datetime | None:
    """The next moment after ``when`` at which the state changes.

    Parameters
    ----------
    oh, when, tz, country
        As in :func:`state_at`.

    Returns
    -------
    datetime or None
        Aware datetime in ``tz``; ``None`` when the state never changes (``24/7``, ``off``),
        changes more than :data:`MAX_INTERVAL_DAYS` days away, or the hours are unknown.
    """
    compiled, local = _evaluate(oh, when, tz, country)
    if compiled is None:
        return None
    nxt = compiled.next_change(local)
    return None if nxt is None else nxt.astimezone(_zone(_tz_key(tz)))


def is_24_7(oh: str | None, *, tz: str | ZoneInfo = DEFAULT_TZ, country: str | None = DEFAULT_COUNTRY) -> bool:
    """Whether the schedule is open all the time, every day (derived from the hours).

    True for ``24/7``, ``Mo-Su 00:00-24:00``, ``00:00-24:00`` and anything the parser
    normalises to ``24/7``; also for expressions that are open now and never change (within
    :data:`MAX_INTERVAL_DAYS`). False for ``None``, invalid strings, ``24/7; PH off`` and
    ``24/7 "comment"`` (a comment-only rule is unknown, see the module notes).

    Parameters
    ----------
    oh : str or None
        OSM ``opening_hours``.
    tz, country
        As in :func:`state_at`.

    Returns
    -------
    bool
    """
    if not is_valid(oh):
        return False
    if _normalized(oh) == "24/7":
        return True
    return state_at(oh, None, tz, country=country) == "open" and next_change(oh, None, tz, country=country) is None


# --------------------------------------------------------------------------------------
# Status for the API and maps
# --------------------------------------------------------------------------------------

_WEEKDAYS = {"zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
             "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LABELS = {
    "zh": {"24h": "24小时开放", "unknown": "开放时间未知", "open": "营业中", "closed": "已关闭",
           "closes": "营业中，{t} 关闭", "opens": "已关闭，{t} 开放",
           "open_until": "营业中，{t} 后未知", "closed_until": "已关闭，{t} 后未知"},
    "en": {"24h": "Open 24 hours", "unknown": "Hours unknown", "open": "Open", "closed": "Closed",
           "closes": "Open, closes {at}{t}", "opens": "Closed, opens {at}{t}",
           "open_until": "Open until {t}, then unknown", "closed_until": "Closed until {t}, then unknown"},
}


def open_status(
    oh: str | None,
    when: datetime | None = None,
    tz: str | ZoneInfo = DEFAULT_TZ,
    lang: Literal["zh", "en"] = "zh",
    *,
    soon_min: int = 30,
    country: str | None = DEFAULT_COUNTRY,
) -> dict[str, Any]:
    """Open / closed / unknown now, with a label for people, for the API and maps.

    Parameters
    ----------
    oh, when, tz, country
        As in :func:`state_at`.
    lang : {"zh", "en"}
        Language of ``label``.
    soon_min : int
        ``closes_soon`` is True when an open station closes within this many minutes.

    Returns
    -------
    dict
        ``state`` (``"open"``/``"closed"``/``"unknown"``); ``open_24h`` (bool, from
        :func:`is_24_7`); ``next_change`` (ISO 8601 string with offset, or ``None``);
        ``label`` (e.g. ``"营业中，21:00 关闭"``, ``"Closed, opens Mon 07:00"``,
        ``"24小时开放"``, ``"Hours unknown"``; the next change is given as a time if it is
        today or, for closing, at the coming midnight (``24:00``), with the weekday within a
        week, else with the date); ``closes_soon`` (bool); ``comment`` (the OSM comment in force, or
        ``None``).

    Raises
    ------
    ValidationError
        Unknown ``lang`` or negative ``soon_min``, and as in :func:`state_at`.
    """
    problems = []
    if lang not in _LABELS:
        problems.append(Problem("lang", lang, "unsupported language", "'zh' or 'en'"))
    if isinstance(soon_min, bool) or not isinstance(soon_min, (int, float)) or soon_min < 0:
        problems.append(Problem("soon_min", soon_min, "not a non-negative number of minutes", "e.g. 30"))
    if problems:
        raise ValidationError.from_problems(problems, "open_status arguments")
    words = _LABELS[lang]
    compiled, local = _evaluate(oh, when, tz, country)
    out: dict[str, Any] = {"state": "unknown", "open_24h": False, "next_change": None,
                           "label": words["unknown"], "closes_soon": False, "comment": None}
    if compiled is None:
        return out
    raw_state, comment = compiled.state(local)
    state = _state_name(oh, raw_state, comment)
    out.update(state=state, comment=comment or None)
    if is_24_7(oh, tz=tz, country=country):
        out.update(state="open", open_24h=True, label=words["24h"])
        return out
    nxt = compiled.next_change(local)
    if nxt is not None:
        nxt = nxt.astimezone(local.tzinfo)
        out["next_change"] = nxt.isoformat()
    if state == "unknown":
        return out
    if nxt is None:
        out["label"] = words[state]
        return out
    after_state, after_comment = compiled.state(nxt)
    after = _state_name(oh, after_state, after_comment)
    if state == "open":
        key = "closes" if after == "closed" else "open_until"
        out["closes_soon"] = after == "closed" and (nxt - local) <= timedelta(minutes=soon_min)
    else:
        key = "opens" if after == "open" else "closed_until"
    at, t = _when_label(local, nxt, lang, midnight_as_24=key == "closes")
    out["label"] = words[key].format(at=at, t=t)
    return out


def _when_label(now: datetime, nxt: datetime, lang: str, *, midnight_as_24: bool) -> tuple[str, str]:
    """("at " or "", time text) for the next change, relative to ``now`` (both local).

    Closing at the coming midnight reads "24:00" (today); everything else on another day
    names the weekday (within a week) or the date.
    """
    hhmm = nxt.strftime("%H:%M")
    days = (nxt.date() - now.date()).days
    if days == 0:
        return "at ", hhmm
    if days == 1 and nxt.time() == time(0, 0) and midnight_as_24:
        return "at ", "24:00"
    if days < 7:
        return "", f"{_WEEKDAYS[lang][nxt.weekday()]} {hhmm}"
    if lang == "zh":
        return "", f"{nxt.month}月{nxt.day}日 {hhmm}"
    return "", f"{nxt.day} {_MONTHS_EN[nxt.month - 1]} {hhmm}"
