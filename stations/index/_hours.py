"""Opening hours for the index: patterns, time-window labels and on-arrival checks.

A *pattern* is one distinct ``(opening_hours, timezone)`` pair; national data has a few
dozen to a few thousand of them, so everything here works per pattern, not per station.

* **Exact patterns** (:func:`stations.hours.week_slots_exact` at 1-minute slots): the week
  is a list of open intervals in local wall-clock minutes from Monday 00:00. OSM hours are
  whole minutes, so the state at any second is the state of its minute.
* **Other known patterns** (holidays ``PH off``, dates, seasons, sunrise...): evaluated with
  :func:`stations.hours.state_at` / :func:`~stations.hours.next_change`, once per pattern
  per snapshot, and per candidate only when a time window makes them "mixed".
* **Unknown hours** (``None``/invalid): never open. An "open" filter leaves them out.

A :class:`Snapshot` labels every pattern for a time window ``[t, t + W]``: 0 closed
throughout, 1 open throughout, 2 mixed (changes inside the window; checked per candidate).
``W = 0`` is "open at t" and has no mixed labels. Labels never claim more than is true:
"mixed" is always safe, so a stale "mixed" costs a check, never a wrong answer. A
snapshot is valid until the first moment any label could change, and the label vector
itself is the cache key of the filtered sub-trees, so "open now" queries all day long
reuse the few sub-trees of the day's distinct open sets.

Time zones: an aware ``when`` is an instant, converted to each station's zone; a naive one
is wall-clock time at each station (what :func:`stations.hours.state_at` does).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Sequence
from zoneinfo import ZoneInfo

import numpy as np

from ..errors import Problem
from ._kdtree import WeeklyHours

WEEK_MIN = 7 * 1440
WEEK_S = WEEK_MIN * 60
_EPOCH_NAIVE = datetime(1970, 1, 1)

CLOSED, OPEN, MIXED = 0, 1, 2


def _wall_seconds_of_week(local: datetime) -> float:
    return local.weekday() * 86400 + local.hour * 3600 + local.minute * 60 + local.second + local.microsecond * 1e-6


def _fixed_offset(zone: ZoneInfo) -> bool:
    """Whether the zone keeps one UTC offset from two years ago to ten years ahead (China: yes)."""
    year = datetime.now().year
    offsets = {datetime(y, m, 1, tzinfo=zone).utcoffset() for y in range(year - 2, year + 11) for m in range(1, 13)}
    offsets |= {datetime(y, m, 15, 12, tzinfo=zone).utcoffset() for y in range(year - 2, year + 11)
                for m in range(1, 13)}
    return len(offsets) == 1


def time_key(when: datetime) -> float:
    """Seconds on one axis per kind of time: POSIX seconds if aware, wall seconds if naive."""
    if when.tzinfo is None:
        return (when - _EPOCH_NAIVE).total_seconds()
    return when.timestamp()


@dataclass(frozen=True)
class Snapshot:
    """Pattern labels for ``[t, t + window_s]`` and the times ``t`` they hold for."""

    labels: np.ndarray  # int8 (n_patterns + 1,); the last one is "unknown hours": CLOSED
    key: bytes  # labels.tobytes(): the cache key of the open set
    window_s: float
    naive: bool
    valid_from: float  # time_key() range over which the labels hold
    valid_until: float


class HoursTable:
    """Opening-hours patterns of the indexed stations."""

    def __init__(self, oh: list[str], tz: list[str], station_pattern: np.ndarray):
        from .. import hours

        self.oh, self.tz = oh, tz
        self.n_patterns = len(oh)
        self.station_pattern = station_pattern  # int32 per station; n_patterns = unknown hours
        zone_names = sorted(set(tz))
        self.zones = [ZoneInfo(z) for z in zone_names]
        # Wall-clock arithmetic (seconds-of-week + travel time) is only valid without UTC
        # offset changes; zones with daylight saving are converted time by time instead.
        self.fixed = [_fixed_offset(z) for z in self.zones]
        self.group = np.array([zone_names.index(z) for z in tz], dtype=np.int32)
        self.is_24_7 = np.zeros(self.n_patterns + 1, dtype=bool)
        self.exact = np.zeros(self.n_patterns + 1, dtype=bool)
        starts, ends, owners = [], [], []
        for p, (o, z) in enumerate(zip(oh, tz)):
            self.is_24_7[p] = hours.is_24_7(o, tz=z)
            slots = hours.week_slots(o, z, slot_min=1) if hours.week_slots_exact(o, z, slot_min=1) else None
            if slots is None:
                continue
            self.exact[p] = True
            edges = np.diff(np.concatenate(([False], slots, [False])).astype(np.int8))
            a, b = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
            starts.append(a)
            ends.append(b)
            owners.append(np.full(len(a), p, dtype=np.int64))
        cat = (lambda parts, dt: np.concatenate(parts).astype(dt) if parts else np.zeros(0, dt))
        self.iv_start, self.iv_end, self.iv_pat = cat(starts, np.int64), cat(ends, np.int64), cat(owners, np.int64)
        # Sorted by (pattern, start): a point lookup is one searchsorted on this key.
        self.iv_key = self.iv_pat * WEEK_MIN + self.iv_start
        self.inexact = [p for p in range(self.n_patterns) if not self.exact[p]]
        # Unknown hours (the sentinel pattern) need no special case: no interval is theirs.
        self._one_fixed_zone = len(self.zones) == 1 and self.fixed[0] and not self.inexact and len(self.iv_key) > 0
        self._weekly: WeeklyHours | None = None
        # Per zone: its exact intervals and the sorted minutes at which any of them changes.
        self._group_iv = []
        self._group_edges = []
        for g in range(len(self.zones)):
            sel = self.group[self.iv_pat] == g if len(self.iv_pat) else np.zeros(0, dtype=bool)
            self._group_iv.append((self.iv_start[sel], self.iv_end[sel], self.iv_pat[sel]))
            edges = np.unique(np.concatenate((self.iv_start[sel], self.iv_end[sel])) % WEEK_MIN)
            self._group_edges.append(edges)

    @classmethod
    def from_columns(cls, opening_hours: Sequence[str | None] | None, timezone: Any, n: int, default_tz: str,
                     problems: list[Problem]) -> "HoursTable":
        """Distinct ``(opening_hours, timezone)`` pairs of the columns (``None`` hours: unknown)."""
        import pandas as pd

        if opening_hours is None:
            return cls([], [], np.zeros(n, dtype=np.int32))
        oh_codes, oh_uniques = pd.factorize(np.asarray(opening_hours, dtype=object), use_na_sentinel=True)
        if timezone is None:
            tz_codes, tz_uniques = np.zeros(n, dtype=np.int64), [default_tz]
        else:
            tz_codes, tz_uniques = pd.factorize(np.asarray(timezone, dtype=object), use_na_sentinel=True)
            tz_uniques = list(tz_uniques) + [default_tz]
            tz_codes = np.where(tz_codes < 0, len(tz_uniques) - 1, tz_codes)
        bad_tz = []
        for z in tz_uniques:
            try:
                ZoneInfo(str(z))
            except Exception:
                bad_tz.append(z)
        if bad_tz:
            problems.append(Problem("timezone", ", ".join(map(repr, bad_tz)), "unknown time zone",
                                    "an IANA name such as Asia/Shanghai"))
            return cls([], [], np.zeros(n, dtype=np.int32))
        known = oh_codes >= 0
        pair = np.where(known, oh_codes * len(tz_uniques) + tz_codes, -1)
        pat_codes, pat_uniques = pd.factorize(pair, use_na_sentinel=False)
        pairs = [int(u) for u in pat_uniques]
        keep = [u for u in pairs if u >= 0]
        remap = np.array([keep.index(u) if u >= 0 else len(keep) for u in pairs], dtype=np.int32)
        oh = [str(oh_uniques[u // len(tz_uniques)]) for u in keep]
        tz = [str(tz_uniques[u % len(tz_uniques)]) for u in keep]
        return cls(oh, tz, remap[pat_codes])

    def station_is_24_7(self) -> np.ndarray:
        return self.is_24_7[self.station_pattern]

    # ----------------------------------------------------------------------- snapshots

    def snapshot(self, when: datetime, window_s: float) -> Snapshot:
        """Label every pattern for ``[when, when + window_s]`` (``window_s`` may be ``inf``)."""
        from .. import hours

        naive = when.tzinfo is None
        labels = np.full(self.n_patterns + 1, CLOSED, dtype=np.int8)
        valid_s = math.inf
        full_week = window_s >= WEEK_S
        end = None if full_week or not math.isfinite(window_s) else when + timedelta(seconds=window_s)
        for g, zone in enumerate(self.zones):
            start_l = when if naive else when.astimezone(zone)
            s0 = _wall_seconds_of_week(start_l)
            if full_week:
                wall_span = WEEK_S
            else:
                end_l = end if naive else end.astimezone(zone)
                wall_span = (end_l.replace(tzinfo=None) - start_l.replace(tzinfo=None)).total_seconds()
            labels_g, valid_g = self._exact_labels(g, s0, wall_span)
            if not naive and not self.fixed[g]:
                # Labels over wall minutes stay safe across a daylight-saving change (a skipped
                # hour only makes "open/closed throughout" stricter), but the validity
                # arithmetic does not: recompute for every query.
                valid_g = 0.0
            labels[labels_g[0]] = labels_g[1]
            valid_s = min(valid_s, valid_g)
        for p in self.inexact:
            state = hours.state_at(self.oh[p], when, self.tz[p])
            nxt = hours.next_change(self.oh[p], when, self.tz[p])
            if nxt is None:
                until = math.inf
            else:
                until = ((nxt.replace(tzinfo=None) - when) if naive else (nxt - when)).total_seconds()
            if until == math.inf or until > window_s:  # one state over the whole window
                labels[p] = OPEN if state == "open" else CLOSED
                if math.isfinite(until):
                    valid_s = min(valid_s, until - window_s)
            else:
                labels[p] = MIXED
        tkey = time_key(when)
        return Snapshot(labels, labels.tobytes(), window_s, naive, tkey, tkey + max(valid_s, 0.0))

    def _exact_labels(self, g: int, s0: float, wall_span_s: float) -> tuple[tuple[np.ndarray, np.ndarray], float]:
        """Labels of zone ``g``'s exact patterns for wall seconds-of-week ``[s0, s0 + span]``."""
        a, b, owner = self._group_iv[g]
        patterns = np.flatnonzero(self.exact[:-1] & (self.group == g))
        m0 = int(s0 // 60)
        m1 = int((s0 + wall_span_s) // 60)
        length = min(m1 - m0 + 1, WEEK_MIN)
        lo, hi = m0, m0 + length
        overlap = (np.clip(np.minimum(b, hi) - np.maximum(a, lo), 0, None)
                   + np.clip(np.minimum(b + WEEK_MIN, hi) - np.maximum(a + WEEK_MIN, lo), 0, None))
        open_min = np.bincount(owner, weights=overlap, minlength=self.n_patterns + 1)[patterns]
        labels = np.where(open_min >= length, OPEN, np.where(open_min == 0, CLOSED, MIXED)).astype(np.int8)
        edges = self._group_edges[g]
        if length >= WEEK_MIN or len(edges) == 0:
            return (patterns, labels), math.inf
        # The labels change only when the window's first or last minute reaches an edge.
        valid = math.inf
        for m, s in ((m0, s0), (m1, s0 + wall_span_s)):
            mw = m % WEEK_MIN
            j = int(np.searchsorted(edges, mw, side="right"))
            nxt = int(edges[j]) if j < len(edges) else int(edges[0]) + WEEK_MIN
            valid = min(valid, (m - mw + nxt) * 60.0 - s)
        return (patterns, labels), valid

    # ------------------------------------------------------------------- per candidate

    def weekly(self) -> WeeklyHours | None:
        """The weekly intervals by station row, for the compiled open-on-arrival search; only
        in the usual case (one time zone without daylight saving, weekly hours only), else None."""
        if not self._one_fixed_zone:
            return None
        if self._weekly is None:
            offsets = np.searchsorted(self.iv_pat, np.arange(self.n_patterns + 2)).astype(np.int64)
            self._weekly = WeeklyHours(self.station_pattern, offsets, self.iv_start, self.iv_end)
        return self._weekly

    def departure_s(self, when: datetime) -> float:
        """Wall seconds of the week at ``when`` in the one zone of :meth:`weekly` (naive: as is)."""
        return _wall_seconds_of_week(when if when.tzinfo is None else when.astimezone(self.zones[0]))

    def open_on_arrival(self, pattern: np.ndarray, when: datetime, travel_s: np.ndarray) -> np.ndarray:
        """Whether stations of ``pattern`` are open at ``when + travel_s`` (exact, per candidate)."""
        from .. import hours

        naive = when.tzinfo is None
        if self._one_fixed_zone:  # the usual case (China): one zone, no daylight saving, all weekly
            start = when if naive else when.astimezone(self.zones[0])
            minute = ((_wall_seconds_of_week(start) + travel_s) // 60.0).astype(np.int64) % WEEK_MIN
            j = np.searchsorted(self.iv_key, pattern * WEEK_MIN + minute, side="right") - 1
            return (self.iv_pat.take(j, mode="clip") == pattern) & (self.iv_end.take(j, mode="clip") > minute) \
                & (j >= 0)
        out = np.zeros(len(pattern), dtype=bool)
        known = pattern < self.n_patterns
        exact = known & self.exact[pattern]
        if exact.any():
            idx = np.flatnonzero(exact)
            p, travel = pattern[idx], travel_s[idx]
            minute = np.empty(len(idx), dtype=np.int64)
            groups = self.group[p]
            for g in np.unique(groups):
                zone = self.zones[g]
                sel = groups == g
                if naive or self.fixed[g]:
                    start_l = when if naive else when.astimezone(zone)
                    s = _wall_seconds_of_week(start_l) + travel[sel]
                    minute[sel] = np.floor(s / 60.0).astype(np.int64) % WEEK_MIN
                else:  # a daylight-saving change on the way: convert one by one
                    minute[sel] = [int(_wall_seconds_of_week((when + timedelta(seconds=float(t))).astimezone(zone))
                                       // 60) for t in travel[sel]]
            j = np.searchsorted(self.iv_key, p * WEEK_MIN + minute, side="right") - 1
            jj = np.maximum(j, 0)
            out[idx] = (j >= 0) & (self.iv_pat[jj] == p) & (self.iv_end[jj] > minute)
        for i in np.flatnonzero(known & ~self.exact[pattern]):
            p = int(pattern[i])
            arrival = when + timedelta(seconds=float(travel_s[i]))
            out[i] = hours.state_at(self.oh[p], arrival, self.tz[p]) == "open"
        return out
