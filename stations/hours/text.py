"""Reading opening hours as people type them: :func:`normalize_hours`.

Union staff type hours in Chinese, English or OSM-ish text (``周一至周五8:00-18:00``,
``全天``, ``8点-18点``, ``Mo-Fr 8:00-18:00``). :func:`normalize_hours` returns a valid OSM
``opening_hours`` string, checked with the real parser, or says the hours are unknown: text it
does not understand gives ``opening_hours=None``, never a string that would evaluate as
closed. Times of day and time ranges are read by ``stations.hours._clock``. Both names are
also importable from :mod:`stations.hours`, which evaluates the result.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import opening_hours as _oh

from ._clock import _MOD, _POINT, _RANGE_SEP, _RANGE_SEP_RE, _match_time_range, _NotUnderstood
from ._core import _normalized

__all__ = ["HoursParse", "normalize_hours"]

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

_SEPARATORS = frozenset(" \t\r\n,;、/|&+。.()[]{}:：和及与")


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
