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

.. _opening-hours-py: https://github.com/remi-dupre/opening-hours-rs
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import opening_hours as _oh

from .errors import Problem, ValidationError

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
# Settings
# --------------------------------------------------------------------------------------

#: Time zone used when a station does not name one (all stations in China).
DEFAULT_TZ: str = "Asia/Shanghai"
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
# Parsing typed text: normalize_hours
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HoursParse:
    """The result of reading one typed opening-hours value.

    Attributes
    ----------
    opening_hours : str or None
        A valid OSM ``opening_hours`` string, or ``None`` when the text was empty or not
        understood.
    raw : str
        The text exactly as given (``""`` for ``None``/NaN).
    status : {"ok", "unknown", "empty"}
        ``"ok"``: ``opening_hours`` holds the hours; ``"unknown"``: there was text but it was
        not understood (or was ambiguous), so the hours are unknown; ``"empty"``: no value.
    note : str
        English explanation: why the text was not understood, or what an ``"ok"`` result
        could not express. ``""`` when there is nothing to say.
    """

    opening_hours: str | None
    raw: str
    status: Literal["ok", "unknown", "empty"]
    note: str = ""


class _NotUnderstood(Exception):
    """Internal: the typed text cannot be read with confidence; the message says why."""


# Placeholders that mean "no value" in spreadsheets.
_EMPTY_PLACEHOLDERS = frozenset({"-", "--", "---", "—", "/", "n/a", "na", "null", "none", "nan", "nil"})
# Text that explicitly says the hours are not known.
_SAYS_UNKNOWN = frozenset({"无", "暂无", "未知", "不详", "不清楚", "待定", "unknown", "?", "??"})

# A parser-valid string must show times, 24/7, a solar event, a state or a comment to be
# taken as OSM: "2024", "Mo" or "Jan" alone are valid but read as stray spreadsheet values.
_SAYS_WHEN = re.compile(r'\d:\d\d|24/7|sunrise|sunset|dawn|dusk|\b(?:off|closed|open|unknown)\b|"', re.IGNORECASE)
# Dash-like characters that NFKC leaves alone, all meaning a range.
_DASHES = str.maketrans({c: "-" for c in "〜～—–―‐‑−﹣⁓"})

_CN_NUM = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}
_EN_DAY = {"mo": 0, "tu": 1, "we": 2, "th": 3, "fr": 4, "sa": 5, "su": 6}
_OSM_DAY = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_CASE = {w.lower(): w for w in (*_OSM_DAY, "PH", "SH")}
_ALL_DAYS = frozenset(range(7))

_RANGE_SEP = r"(?:\s*(?:-|~|至|到)\s*|\s+to\s+)"
_CN_PREFIX = r"(?:星期|礼拜|禮拜|周|週)"
_CN_DAY = rf"(?:{_CN_PREFIX}[一二三四五六日天七]|[一二三四五六日])"
_EN_DAY_RE = (r"(?:mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?"
              r"|sat(?:urday)?|sun(?:day)?|mo|tu|we|th|fr|sa|su)(?![a-z])")

# Token patterns, tried in this order at each position (longest / most specific first).
_TOKENS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        ("allday", r"24\s*/\s*7|(?:7\s*[x×*]\s*24|24\s*[x×*]\s*7)(?:\s*(?:小时|h(?![a-z])))?"
                   r"|全天候|全天24小时|24\s*小时|24\s*h(?:rs?|ours?)?(?![a-z])|全天|整天"),
        ("everyday", r"每天|每日|天天|全周|全年无休|每周七天|一周七天|daily(?![a-z])|every\s*day(?![a-z])"),
        ("workday", r"工作日"),
        ("weekend", r"周末|双休日|weekends?(?![a-z])"),
        ("weekdays", r"weekdays?(?![a-z])"),
        ("ph", r"法定节假日|法定假日|国定假日|节假日|公众假期|节日|假日"
               r"|ph(?![a-z])|public\s+holidays?(?![a-z])"),
        ("off", r"不对外开放|不开放|不营业|休息|闭馆|休馆|关闭|关门|停业|歇业|闭店|除外|休(?!假)"
                r"|off(?![a-z])|closed(?![a-z])"),
        ("same", r"照常(?:开放|营业)?"),
        ("break", r"午休(?:时间)?|中午休息(?:时间)?|lunch\s+break"),
        ("filler", r"对外开放|开放时间|营业时间|服务时间|办公时间|工作时间|开门时间|时间|开放|营业|开门|服务|办公|自助"
                   r"|全年|均为|均|都|为|opening\s+hours|open(?![a-z])|hours(?![a-z])"),
    )
)
# A list or range of Chinese weekdays: 周一至周五, 周一、三、五, 周六日, 三~日 (a bare numeral
# must not be followed by 点/时, which would make it a Chinese-numeral hour).
_DAYS_CN = re.compile(rf"{_CN_DAY}(?:(?:{_RANGE_SEP}|\s*[,、/和及与]?\s*)"
                      rf"(?:{_CN_PREFIX}[一二三四五六日天七]|[一二三四五六日](?![点时])))*")
_DAYS_EN = re.compile(rf"{_EN_DAY_RE}(?:(?:{_RANGE_SEP}|\s*[,/&]\s*){_EN_DAY_RE})*", re.IGNORECASE)
_DAY_ITEM = re.compile(rf"({_RANGE_SEP}|\s*[,、/&和及与]?\s*)({_CN_PREFIX}?([一二三四五六日天七])|{_EN_DAY_RE})",
                       re.IGNORECASE)

_MOD = r"上午|早上|早晨|清晨|凌晨|中午|下午|傍晚|晚上|晚间|夜间|夜里|夜晚|早|晚"
_POINT = re.compile(
    rf"(?P<nd>次日|第二天|翌日|隔天)?\s*(?P<mod>{_MOD})?\s*"
    r"(?:(?P<word>midnight|noon|午夜)"
    r"|(?P<h>\d{1,2})(?:(?P<colon>[:.])(?P<m>\d{2})(?::00)?(?!\d)"
    r"|(?P<dian>[点时])(?P<half>半)?(?:(?P<m2>\d{1,2})分?)?)?"
    r"(?:\s*(?P<ap>[ap]\.?m\.?)(?![a-z]))?)",
    re.IGNORECASE,
)
_RANGE_SEP_RE = re.compile(_RANGE_SEP, re.IGNORECASE)
_SEPARATORS = frozenset(" \t\r\n,;、/|&+。.()[]{}:：和及与")
_PM_MODS = frozenset({"下午", "傍晚", "晚上", "晚间", "夜间", "夜里", "夜晚", "晚"})
_AM_MODS = frozenset({"上午", "早上", "早晨", "清晨", "早", "凌晨"})


@dataclass
class _Point:
    h: int
    m: int
    mod: str  # Chinese part-of-day word, "" if none
    ap: str  # "am" / "pm" / ""
    next_day: bool
    bare: bool  # a plain number: no colon, no 点/时, no modifier
    text: str


@dataclass
class _Selection:
    days: set[int]
    ph: bool = False
    workday: bool = False
    times: list[tuple[int, int]] | None = None
    off: bool = False
    same: bool = False  # "照常": as usual, no rule of its own

    @property
    def used(self) -> bool:
        return self.times is not None or self.off or self.same


def normalize_hours(text: Any) -> HoursParse:
    """Read opening hours as people type them and return valid OSM syntax, or say unknown.

    Accepted, besides any string the OSM parser already accepts (passed through, with
    ``H:MM`` times zero-padded and spaces tidied; but a valid string with neither times nor a
    state, such as ``2024`` or ``Mo``, is unknown):

    - always open: ``24/7``, ``全天``, ``全天候``, ``24小时``, ``24h``, ``00:00-24:00``,
      ``0:00-24:00``, ``7x24`` -> ``24/7``;
    - times: ``06：00 - 22：00`` (full-width), ``8:00~17:30``, ``8:00～17:30``, ``8点-18点``,
      ``8点半``, ``8:00至18:00``, ``09-18`` (bare hours), ``上午8点-下午5点半``, ``7am-5:30pm``;
      overnight ``20:00-次日8:00`` -> ``20:00-08:00``;
    - days: ``Mo-Fr``, ``Mon-Fri``, ``周一至周五``, ``星期一~五``, ``三~日``, ``周一、三、五``,
      ``每天``, ``周末``, ``工作日`` (Mo-Fr and, unless the text says otherwise about
      holidays, ``PH off``: working days exclude statutory holidays);
    - closures: ``周一休息`` -> ``Mo off``; ``节假日休息``, ``法定节假日不开放`` -> ``PH off``.

    Rules are joined with ``"; "``, where, as in OSM, a later rule replaces an earlier one
    for the same day. A rule for fewer days is read as an exception to a rule for more days
    and goes after it, whatever the typed order (``周一闭馆，每天9:00-17:00`` ->
    ``09:00-17:00; Mo off``); consecutive rules for the same days add up; holiday
    rules go last. Hours for every day are written without days (``06:00-22:00``, as the
    parser normalises ``Mo-Su 06:00-22:00``), so that the same hours give the same string.
    Output is canonical and zero-padded, e.g. ``Mo-Fr 08:00-18:00; Sa 09:00-12:00``. If
    only closures are given (``节假日休息``) the other days are written ``Mo-Su unknown``,
    never closed.

    Parameters
    ----------
    text : str, None or float
        The typed value. ``None``, NaN, pandas ``NA``, ``""`` and placeholders such as
        ``"-"`` or ``"N/A"`` are empty. Other non-string values are read via ``str()``.

    Returns
    -------
    HoursParse
        ``status="ok"`` with a valid ``opening_hours``; ``"unknown"`` (``opening_hours=None``,
        ``note`` says what was not understood) for text that is ambiguous or not understood
        (``看情况``, ``早上``, ``dawn-dusk?``); ``"empty"`` for no value. Never raises on
        bad text.

    Examples
    --------
    >>> normalize_hours("周一至周五8:00-18:00，周六9:00-12:00").opening_hours
    'Mo-Fr 08:00-18:00; Sa 09:00-12:00'
    >>> normalize_hours("看情况").status
    'unknown'
    """
    if _is_null(text):
        return HoursParse(None, "", "empty", "no value")
    raw = text if isinstance(text, str) else str(text)
    return _normalize_cached(raw)


@lru_cache(maxsize=16384)
def _normalize_cached(raw: str) -> HoursParse:
    stripped = raw.strip()
    folded = stripped.casefold()
    if not stripped:
        return HoursParse(None, raw, "empty", "blank text")
    if folded in _EMPTY_PLACEHOLDERS:
        return HoursParse(None, raw, "empty", f"placeholder {stripped!r} means no value")
    if folded in _SAYS_UNKNOWN:
        return HoursParse(None, raw, "unknown", f"the text {stripped!r} says the hours are not known")
    if _oh.validate(stripped):
        if not _SAYS_WHEN.search(stripped):
            return HoursParse(None, raw, "unknown", f"{stripped!r} is valid OSM syntax but gives no times or state "
                              "(it would mean open all day on those dates), so it is taken as unknown")
        return HoursParse(_tidy_osm(stripped), raw, "ok", "")
    try:
        osm, note = _read_loose(stripped)
    except _NotUnderstood as exc:
        return HoursParse(None, raw, "unknown", str(exc))
    if not _oh.validate(osm):  # a bug here must not leak an invalid string
        return HoursParse(None, raw, "unknown", f"could not write {stripped!r} as valid opening_hours")
    if _normalized(osm) == "24/7":
        osm = "24/7"
    return HoursParse(osm, raw, "ok", note)


def _is_null(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return type(value).__name__ in {"NAType", "NaTType"}


def _tidy_osm(text: str) -> str:
    """Zero-pad ``H:MM``, spell ``Mo``/``PH`` in canonical case and tidy spaces outside
    comments; ``24/7`` if always open.

    These edits are lexical no-ops for the OSM grammar; the result is re-validated.
    """
    parts = text.split('"')
    for i in range(0, len(parts), 2):  # even parts are outside "comments"
        part = re.sub(r"(?<![\d:])(\d):(\d\d)(?!\d)", r"0\1:\2", parts[i])
        part = re.sub(r"(?i)\b(mo|tu|we|th|fr|sa|su|ph|sh)\b", lambda m: _CASE[m.group().lower()], part)
        part = re.sub(r"\s*;\s*", "; ", re.sub(r"\s+", " ", part))
        parts[i] = part
    tidy = '"'.join(parts).strip().rstrip(";").strip()
    if not _oh.validate(tidy):
        tidy = text
    return "24/7" if _normalized(tidy) == "24/7" else tidy


@lru_cache(maxsize=16384)
def _normalized(oh: str) -> str:
    """The parser's normal form of a valid expression (used to recognise ``24/7``)."""
    return str(_oh.OpeningHours(oh).normalize())


def _prepare(text: str) -> str:
    # NFKC folds full-width forms: "０６：００" -> "06:00", "～" -> "~", "，" -> ",".
    return unicodedata.normalize("NFKC", text).translate(_DASHES)


def _read_loose(text: str) -> tuple[str, str]:
    """Read typed (mostly Chinese) hours; return (OSM string, note) or raise _NotUnderstood."""
    s = _prepare(text)
    selections: list[_Selection] = []
    i = 0
    while i < len(s):
        if s[i] in _SEPARATORS:
            i += 1
            continue
        i = _read_token(s, i, selections)
    if not selections:
        raise _NotUnderstood(f"no days or times found in {text!r}")
    return _build(selections, text)


def _read_token(s: str, i: int, selections: list[_Selection]) -> int:
    """Read one token at ``s[i]``, update ``selections``, return the next position."""
    for kind, pattern in _TOKENS:
        m = pattern.match(s, i)
        if not m:
            continue
        if kind == "allday":
            _add_times(selections, [(0, 1440)])
        elif kind in ("everyday", "workday", "weekend", "weekdays", "ph"):
            days = {"everyday": _ALL_DAYS, "workday": range(5), "weekdays": range(5),
                    "weekend": (5, 6), "ph": ()}[kind]
            _add_days(selections, set(days), ph=kind == "ph", workday=kind == "workday")
        elif kind in ("off", "same"):
            _mark(selections, kind, m.group())
        elif kind == "break":
            return _read_break(s, m.end(), selections, m.group())
        return m.end()
    m = _DAYS_CN.match(s, i) or _DAYS_EN.match(s, i)
    if m and (m.group()[0] not in _CN_NUM or _RANGE_SEP_RE.search(m.group())):
        # A bare Chinese numeral ("三") counts as a day only in a range ("三~日").
        _add_days(selections, _parse_days(m.group()))
        return m.end()
    span = _match_time_range(s, i)
    if span is not None:
        end, minutes = span
        _add_times(selections, [minutes])
        return end
    raise _NotUnderstood(_explain(s, i))


def _read_break(s: str, i: int, selections: list[_Selection], word: str) -> int:
    """``午休12:00-14:00``: take the break out of the current hours."""
    while i < len(s) and s[i] in _SEPARATORS:
        i += 1
    span = _match_time_range(s, i)
    cur = _current(selections)
    if span is None or cur is None or not cur.times:
        raise _NotUnderstood(f"{word!r} (a break) needs opening hours before it and its own time range")
    end, (a, b) = span
    if a > b or any(x > y for x, y in cur.times):
        raise _NotUnderstood(f"{word!r}: a break in overnight hours is not supported")
    kept: list[tuple[int, int]] = []
    for x, y in cur.times:
        kept += [(lo, hi) for lo, hi in ((x, min(y, a)), (max(x, b), y)) if lo < hi]
    if not kept:
        raise _NotUnderstood(f"{word!r}: the break covers all the opening hours")
    cur.times = kept
    return end


def _explain(s: str, i: int) -> str:
    j = i
    while j < len(s) and s[j] not in _SEPARATORS and j - i < 12:
        j += 1
    fragment = s[i:j] or s[i]
    mod = re.match(_MOD, fragment)
    if mod and mod.end() == len(fragment):
        return f"{fragment!r} is a part of the day, not a clock time"
    point = _POINT.match(s, i)
    if point and point.group("h") is not None:
        return f"{point.group().strip()!r} is a single time, not a range (opening-closing)"
    where = "" if fragment == s.strip() else f" in {s!r}"
    return f"not understood: {fragment!r}{where}"


def _parse_days(text: str) -> set[int]:
    """Weekday numbers (Mo=0) of a day list such as ``周一至周五``, ``三~日``, ``Mo,We-Fr``."""
    days: set[int] = set()
    prev: int | None = None
    for m in _DAY_ITEM.finditer(text):
        sep, item, cn = m.group(1), m.group(2), m.group(3)
        d = _CN_NUM[cn] if cn else _EN_DAY[item[:2].lower()]
        if prev is not None and _RANGE_SEP_RE.fullmatch(sep):
            days.update((prev + k) % 7 for k in range((d - prev) % 7 + 1))  # may wrap: 五至一
        else:
            days.add(d)
        prev = d
    return days


def _current(selections: list[_Selection]) -> _Selection | None:
    return selections[-1] if selections else None


def _add_days(selections: list[_Selection], days: set[int], *, ph: bool = False, workday: bool = False) -> None:
    cur = _current(selections)
    if cur is not None and not cur.used:  # "周六及节假日": one selection
        cur.days |= days
        cur.ph |= ph
        cur.workday |= workday
    else:
        selections.append(_Selection(set(days), ph, workday))


def _add_times(selections: list[_Selection], times: list[tuple[int, int]]) -> None:
    cur = _current(selections)
    if cur is None or cur.off or cur.same:
        cur = _Selection(set(_ALL_DAYS))  # times before any day: every day
        selections.append(cur)
    cur.times = (cur.times or []) + [t for t in times if t not in (cur.times or [])]


def _mark(selections: list[_Selection], kind: str, word: str) -> None:
    cur = _current(selections)
    if cur is None or cur.used:
        raise _NotUnderstood(f"{word!r} does not say which days it applies to")
    setattr(cur, kind, True)


def _match_time_range(s: str, i: int) -> tuple[int, tuple[int, int]] | None:
    a = _POINT.match(s, i)
    if not a or (a.group("h") is None and a.group("word") is None):
        return None
    sep = _RANGE_SEP_RE.match(s, a.end())
    b = _POINT.match(s, sep.end()) if sep else None
    if not b or (b.group("h") is None and b.group("word") is None):
        return None
    return b.end(), _resolve_range(_point(a), _point(b))


def _point(m: re.Match[str]) -> _Point:
    word = (m.group("word") or "").lower()
    if word:
        h, mi = (12, 0) if word == "noon" else (24, 0)
    else:
        h = int(m.group("h"))
        mi = int(m.group("m") or m.group("m2") or (30 if m.group("half") else 0))
    ap = (m.group("ap") or "").replace(".", "").lower()
    bare = not (m.group("colon") or m.group("dian") or m.group("mod") or ap or word or m.group("nd"))
    if mi > 59 or h > 24 or (h == 24 and mi):
        raise _NotUnderstood(f"{m.group().strip()!r} is not a valid time of day")
    return _Point(h, mi, m.group("mod") or "", ap, bool(m.group("nd")), bare, m.group().strip())


def _clock(p: _Point, mod: str, ap: str) -> int:
    """Minutes after midnight of a point read with part-of-day ``mod`` / ``ap``."""
    h = p.h
    if ap == "pm" and h < 12:
        h += 12
    elif ap == "am" and h == 12:
        h = 0
    elif mod in _PM_MODS and h < 12:
        h += 12
    elif mod in _PM_MODS and h == 12 and mod != "下午":
        h = 24  # 晚上12点: midnight
    elif mod == "中午" and h < 3:
        h += 12
    elif mod == "凌晨" and h == 12:
        h = 0
    return h * 60 + p.m


def _resolve_range(a: _Point, b: _Point) -> tuple[int, int]:
    where = f"{a.text}-{b.text}"
    if a.next_day:
        raise _NotUnderstood(f"{where!r}: the opening time is marked as the next day")
    if a.bare and b.bare and a.h <= 7 and b.h <= 7:
        raise _NotUnderstood(f"{where!r}: bare numbers this small could be weekdays or hours")
    start = _clock(a, a.mod, a.ap)
    if start >= 1440:
        raise _NotUnderstood(f"{where!r}: a range cannot open at 24:00")
    end = _clock(b, b.mod, b.ap)
    if not (b.mod or b.ap or b.next_day) and (a.mod or a.ap):
        inherited = _clock(b, a.mod, a.ap)  # "下午2-6点": 6 is in the afternoon too
        if start < inherited <= 1440:
            end = inherited
        elif a.mod in _AM_MODS or a.ap == "am":
            raise _NotUnderstood(f"{where!r}: unclear whether the closing time is in the afternoon")
    if not (a.mod or a.ap) and b.ap == "pm" and start + 720 < end:
        start += 720  # "1-5pm"
    if end == 0 and start > 0:
        end = 1440  # "20:00-0:00" and "20:00-次日0:00" close at midnight
    if b.next_day and start < end < 1440:
        raise _NotUnderstood(f"{where!r}: closes the next day but later than it opens")
    if end == start:
        raise _NotUnderstood(f"{where!r}: opening and closing times are the same")
    if end > 1440:
        raise _NotUnderstood(f"{where!r}: closes after 24:00")
    return start, end


def _build(selections: list[_Selection], text: str) -> tuple[str, str]:
    """Join the selections into canonical OSM rules; return (string, note)."""
    week_rules: list[tuple[frozenset[int], list[tuple[int, int]] | None]] = []
    ph_rules: list[str] = []
    ph_said = any(sel.ph for sel in selections)
    for sel in selections:
        if not sel.used:
            what = _format_days(frozenset(sel.days)) or "holidays"
            raise _NotUnderstood(f"{text!r}: days ({what}) without hours")
        if sel.same:
            continue
        times = None if sel.off else sorted(sel.times or [])
        if sel.days:
            days = frozenset(sel.days)
            if week_rules and week_rules[-1][0] == days and week_rules[-1][1] is not None and times is not None:
                week_rules[-1] = (days, sorted(set(week_rules[-1][1]) | set(times)))  # same days again: add
            else:
                week_rules.append((days, times))
        if sel.ph:
            ph_rules.append("PH " + (_format_times(times) if times is not None else "off"))
    if any(sel.workday and not sel.off for sel in selections) and not ph_said:
        ph_rules.append("PH off")
    if not week_rules and not ph_rules:
        raise _NotUnderstood(f"{text!r} gives no hours")
    for k, (days, times) in enumerate(week_rules):
        if any(d == days and (t is None) != (times is None) for d, t in week_rules[k + 1:]):
            raise _NotUnderstood(f"{text!r}: {_format_days(days)} is said to be both open and closed")
    # A rule for fewer days is an exception to one for more days ("每天…，周一休息",
    # "周末休息，周六9-12"), so it goes later and overrides; ties keep the typed order.
    week_rules.sort(key=lambda rule: -len(rule[0]))
    rules = [_format_rule(days, times) for days, times in week_rules]
    note = ""
    if not any(times for _, times in week_rules) and not any(r != "PH off" for r in ph_rules):
        rules.insert(0, "Mo-Su unknown")  # only closures given: other days are unknown, not closed
        note = "only closures were given; hours on other days are unknown"
    return "; ".join(rules + ph_rules), note


def _format_rule(days: frozenset[int], times: list[tuple[int, int]] | None) -> str:
    if times == [(0, 1440)] and days == _ALL_DAYS:
        return "24/7"
    if times is not None and days == _ALL_DAYS:
        return _format_times(times)  # every day: no day selector, as in the parser's normal form
    return f"{_format_days(days)} {_format_times(times) if times is not None else 'off'}"


def _format_days(days: frozenset[int]) -> str:
    runs: list[list[int]] = []
    for d in sorted(days):
        if runs and d == runs[-1][-1] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    return ",".join(_OSM_DAY[r[0]] if len(r) == 1 else f"{_OSM_DAY[r[0]]}-{_OSM_DAY[r[-1]]}" for r in runs)


def _format_times(times: list[tuple[int, int]]) -> str:
    return ",".join(f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in times)


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
