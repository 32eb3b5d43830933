"""What a map shows about each station right now: one of five statuses, vectorised.

=====================  =====================  =======================  =========  =================
code                   中文                   English                  colour     icon (Font Awesome)
=====================  =====================  =======================  =========  =================
``open_24h``           24小时开放             Open 24 hours            blue       clock
``open_now``           营业中                 Open now                 green      mug-hot
``closed_now``         已关闭                 Closed now               grey       moon
``hours_unknown``      开放时间未知           Hours unknown            amber      circle-question
``temporarily_closed`` 暂停开放               Temporarily closed       red        ban
=====================  =====================  =======================  =========  =================

Colour is never the only cue: each status also has its own icon (colour-blind readers,
grey-scale prints). Removed stations (``status == "removed"``) are not drawn at all.
Unknown hours are shown as unknown, never as closed (DOMAIN, "Opening hours").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..records import DEFAULT_TIMEZONE


@dataclass(frozen=True)
class MapStatus:
    code: str
    zh: str
    en: str
    color: str  # marker fill
    text_color: str  # glyph on the marker, readable on ``color``
    icon: str  # Font Awesome solid icon name


MAP_STATUSES: tuple[MapStatus, ...] = (
    MapStatus("open_24h", "24小时开放", "Open 24 hours", "#1f5fbf", "#ffffff", "clock"),
    MapStatus("open_now", "营业中", "Open now", "#2e7d32", "#ffffff", "mug-hot"),
    MapStatus("closed_now", "已关闭", "Closed now", "#6b6b6b", "#ffffff", "moon"),
    MapStatus("hours_unknown", "开放时间未知", "Hours unknown", "#f2b705", "#222222", "circle-question"),
    MapStatus("temporarily_closed", "暂停开放", "Temporarily closed", "#c62828", "#ffffff", "ban"),
)
STATUS_CODES: tuple[str, ...] = tuple(s.code for s in MAP_STATUSES)
BY_STATUS: dict[str, MapStatus] = {s.code: s for s in MAP_STATUSES}
DRAWN_RECORD_STATUSES = ("open", "temporarily_closed")  # record statuses that appear on maps


def status_legend() -> list[dict[str, str]]:
    """The statuses as plain dicts (code, zh, en, color, text_color, icon), in legend order."""
    return [dict(code=s.code, zh=s.zh, en=s.en, color=s.color, text_color=s.text_color, icon=s.icon)
            for s in MAP_STATUSES]


def map_status_codes(frame: pd.DataFrame, when: dt.datetime) -> np.ndarray:
    """Index into :data:`MAP_STATUSES` for every row of a station frame, at ``when``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Station records (columns ``status``, ``opening_hours``, ``timezone``).
    when : datetime.datetime
        The moment (aware; naive means Asia/Shanghai wall-clock time).

    Returns
    -------
    numpy.ndarray of int8, shape (len(frame),)
        ``STATUS_CODES[i]`` for each row. Removed stations get ``-1``.

    Notes
    -----
    Hours are evaluated once per distinct (``opening_hours``, ``timezone``) pair, not once
    per row: a national set of 200,000 stations has a few dozen distinct values, so the
    whole frame takes milliseconds.
    """
    n = len(frame)
    out = np.full(n, STATUS_CODES.index("hours_unknown"), dtype=np.int8)
    if n == 0:
        return out
    hours = frame["opening_hours"].astype(object).where(frame["opening_hours"].notna(), None)
    tz = frame["timezone"].astype(object).where(frame["timezone"].notna(), DEFAULT_TIMEZONE)
    keys = pd.Series(list(zip(hours, tz)), dtype=object)
    codes, uniques = pd.factorize(keys, use_na_sentinel=False)
    per_unique = np.empty(len(uniques), dtype=np.int8)
    for i, (oh, zone) in enumerate(uniques):
        per_unique[i] = _hours_status(oh, zone, when)
    out[:] = per_unique[codes]
    status = frame["status"].to_numpy()
    out[status == "temporarily_closed"] = STATUS_CODES.index("temporarily_closed")
    out[status == "removed"] = -1
    return out


def _hours_status(oh: str | None, zone: str, when: dt.datetime) -> int:
    from ..hours import open_status

    return _status_index(open_status(oh, when, zone or DEFAULT_TIMEZONE))


def _status_index(st: dict) -> int:
    if st["open_24h"]:
        return STATUS_CODES.index("open_24h")
    return STATUS_CODES.index({"open": "open_now", "closed": "closed_now"}.get(st["state"], "hours_unknown"))


def record_status(rec: dict, when: dt.datetime) -> str:
    """The map status code of one record (see :func:`map_status_codes`); ``"removed"`` if removed."""
    if rec.get("status") in ("removed", "temporarily_closed"):
        return rec["status"]
    return STATUS_CODES[_hours_status(rec.get("opening_hours"), rec.get("timezone") or DEFAULT_TIMEZONE, when)]


def map_status(status: str | None, open_status: dict) -> str:
    """The map status code of a station from its record ``status`` and its
    :func:`stations.hours.open_status` at some moment: ``removed`` and ``temporarily_closed``
    first, then ``open_24h``, ``open_now``, ``closed_now``, or ``hours_unknown``. The same rule
    as :func:`record_status`, for callers that have the open status already."""
    if status in ("removed", "temporarily_closed"):
        return status
    return STATUS_CODES[_status_index(open_status)]
