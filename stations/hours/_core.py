"""Settings and the opening-hours parser wrapper shared by the hours modules.

Private plumbing of :mod:`stations.hours`, :mod:`stations.hours.text` and
:mod:`stations.hours.week`: the settings (re-exported by :mod:`stations.hours`), time zones,
compiling an expression once per (hours, zone, country) with the real parser
(``opening_hours``), and state names, where a rule whose only modifier is a comment is
``"unknown"`` as the OSM specification says (see :mod:`stations.hours`).
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import opening_hours as _oh

from ..errors import Problem, ValidationError
from ..records import DEFAULT_TIMEZONE

# --------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------

#: Time zone used when a station does not name one (all stations in China).
DEFAULT_TZ: str = DEFAULT_TIMEZONE
#: ISO country code whose public holidays ``PH`` means; ``None`` evaluates without holidays.
DEFAULT_COUNTRY: str | None = "CN"
#: Changes further away than this many days are reported as "no change" (``None``).
MAX_INTERVAL_DAYS: int = 5 * 366
#: :func:`week_slots`: share of a weekday's ordinary days in the reference year that must
#: share one pattern for it to be the typical day (the rest are exceptions, ``Dec 25 off``).
TYPICAL_SHARE: float = 0.9

State = Literal["open", "closed", "unknown"]
_STATE_NAMES = {_oh.State.OPEN: "open", _oh.State.CLOSED: "closed", _oh.State.UNKNOWN: "unknown"}

# --------------------------------------------------------------------------------------
# The parser
# --------------------------------------------------------------------------------------


@lru_cache(maxsize=16384)
def _normalized(oh: str) -> str:
    """The parser's normal form of a valid expression (used to recognise ``24/7``)."""
    return str(_oh.OpeningHours(oh).normalize())


@lru_cache(maxsize=512)
def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValidationError.from_problems(
            [Problem("tz", tz, "unknown time zone", "an IANA name such as 'Asia/Shanghai'")], "time zone"
        ) from exc


def _tz_key(tz: str | ZoneInfo) -> str:
    return tz.key if isinstance(tz, ZoneInfo) else tz


@lru_cache(maxsize=8192)
def _compiled(oh: str, tz: str, country: str | None) -> _oh.OpeningHours | None:
    """The parsed expression in ``tz`` with ``country``'s holidays, or ``None`` if invalid."""
    zone = _zone(tz)
    try:
        return _oh.OpeningHours(oh, timezone=zone, country=country, max_interval_days=MAX_INTERVAL_DAYS)
    except _oh.ParserError:
        return None
    except _oh.UnknownCountryError as exc:
        raise ValidationError.from_problems(
            [Problem("country", country, "no public-holiday calendar for this country",
                     "an ISO code such as 'CN', or None")],
            "country",
        ) from exc


@lru_cache(maxsize=8192)
def _open_comments(oh: str) -> frozenset[str]:
    """Comments written after an explicit ``open`` modifier (``open "..."``)."""
    return frozenset(m.group(1) for m in re.finditer(r'(?i)\bopen\s*"([^"]*)"', oh))


def _state_name(oh: str, state: Any, comment: str) -> State:
    # Spec: a comment as the only modifier means unknown; the parser says open.
    if state == _oh.State.OPEN and comment and comment not in _open_comments(oh):
        return "unknown"
    return _STATE_NAMES[state]


def _local(when: datetime | None, zone: ZoneInfo) -> datetime:
    if when is None:
        return datetime.now(zone)
    if not isinstance(when, datetime):
        raise ValidationError.from_problems(
            [Problem("when", when, "not a datetime", "a datetime, naive (local) or aware")], "time"
        )
    return when.replace(tzinfo=zone) if when.tzinfo is None else when.astimezone(zone)


def _evaluate(oh: str | None, when: datetime | None, tz: str | ZoneInfo, country: str | None):
    """(compiled expression or None, aware local time)."""
    key = _tz_key(tz)
    local = _local(when, _zone(key))
    if not isinstance(oh, str) or not oh.strip():
        return None, local
    return _compiled(oh, key, country), local
