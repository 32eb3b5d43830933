"""Times of day and time ranges as people type them, for :mod:`stations.hours.text`.

Reads ``8:00``, ``8点半``, ``下午5点``, ``7am``, ``noon``, ``次日8:00`` and ranges of two of them
(``上午8点-下午5点半``, ``20:00-次日8:00``, ``1-5pm``) into minutes after midnight, or raises
:class:`_NotUnderstood` when the text is ambiguous or impossible (``09-09``, ``1-5`` that
could be weekdays, a range that opens at 24:00).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class _NotUnderstood(Exception):
    """Internal: the typed text cannot be read with confidence; the message says why."""


_RANGE_SEP = r"(?:\s*(?:-|~|至|到)\s*|\s+to\s+)"
_RANGE_SEP_RE = re.compile(_RANGE_SEP, re.IGNORECASE)
_MOD = r"上午|早上|早晨|清晨|凌晨|中午|下午|傍晚|晚上|晚间|夜间|夜里|夜晚|早|晚"
_POINT = re.compile(
    rf"(?P<nd>次日|第二天|翌日|隔天)?\s*(?P<mod>{_MOD})?\s*"
    r"(?:(?P<word>midnight|noon|午夜)"
    r"|(?P<h>\d{1,2})(?:(?P<colon>[:.])(?P<m>\d{2})(?::00)?(?!\d)"
    r"|(?P<dian>[点时])(?P<half>半)?(?:(?P<m2>\d{1,2})分?)?)?"
    r"(?:\s*(?P<ap>[ap]\.?m\.?)(?![a-z]))?)",
    re.IGNORECASE,
)
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
