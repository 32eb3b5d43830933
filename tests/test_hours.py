"""Tests for stations.hours: typed hours -> OSM opening_hours, evaluation, labels, week slots.

Reference week: Monday 2025-01-06 .. Sunday 2025-01-12 has no Chinese public holiday.
2025-10-01 (Wednesday) is National Day, a public holiday in the parser's CN calendar.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stations.errors import ValidationError
from stations.hours import (
    HoursParse,
    is_24_7,
    is_valid,
    next_change,
    normalize_hours,
    open_status,
    state_at,
    validation_problem,
    week_slots,
    week_slots_exact,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
MON = date(2025, 1, 6)  # a Monday; the week has no CN public holiday
NATIONAL_DAY = datetime(2025, 10, 1, 10, 0)  # Wednesday, public holiday


def at(day: int, hh: int, mm: int = 0) -> datetime:
    """Naive local time in the reference week; day 0 = Monday 2025-01-06."""
    return datetime(2025, 1, 6 + day, hh, mm)


# --------------------------------------------------------------------------------------
# normalize_hours: typed text -> OSM
# --------------------------------------------------------------------------------------

TYPED_OK = [
    # already OSM: passed through (tidied)
    ("24/7", "24/7"),
    ("Mo-Fr 08:00-18:00; Sa 09:00-12:00", "Mo-Fr 08:00-18:00; Sa 09:00-12:00"),
    ("Su-Mo 09:00-17:00; Tu-Sa 08:30-21:00", "Su-Mo 09:00-17:00; Tu-Sa 08:30-21:00"),
    ("Mo-Sa 08:30-12:00,14:30-18:00,19:00-21:30; Su off", "Mo-Sa 08:30-12:00,14:30-18:00,19:00-21:30; Su off"),
    ("  06:00-23:00  ", "06:00-23:00"),
    ("6:00-23:00", "06:00-23:00"),
    ("Mo-Fr 8:00-18:00 ;  Sa 9:00-12:00", "Mo-Fr 08:00-18:00; Sa 09:00-12:00"),
    ("mo-fr 08:00-18:00; ph off", "Mo-Fr 08:00-18:00; PH off"),
    ("Mo-Fr 08:00-18:00 \"预约 8:00\"", "Mo-Fr 08:00-18:00 \"预约 8:00\""),  # comment untouched
    ("sunrise-sunset", "sunrise-sunset"),
    # always open
    ("全天", "24/7"),
    ("24小时", "24/7"),
    ("24 小时", "24/7"),
    ("24h", "24/7"),
    ("24H", "24/7"),
    ("全天候", "24/7"),
    ("00:00-24:00", "24/7"),
    ("0:00-24:00", "24/7"),
    ("00:00-24:00", "24/7"),
    ("7x24小时", "24/7"),
    ("24小时自助", "24/7"),
    ("周一至周日 0点-24点", "24/7"),
    ("周一至周五全天，周六日全天", "24/7"),
    # times
    ("06：00 - 22：00", "06:00-22:00"),
    ("06：00- 22：00", "06:00-22:00"),
    ("08：00  -  22：00", "08:00-22:00"),
    ("８：００－１７：３０", "08:00-17:30"),
    ("8:00~17:30", "08:00-17:30"),
    ("8:00～17:30", "08:00-17:30"),
    ("8:00〜17:30", "08:00-17:30"),
    ("8:00—17:30", "08:00-17:30"),
    ("8点-18点", "08:00-18:00"),
    ("8点半-17点半", "08:30-17:30"),
    ("8时30分至17时", "08:30-17:00"),
    ("8:00至18:00", "08:00-18:00"),
    ("8:00到18:00", "08:00-18:00"),
    ("8.30-17.30", "08:30-17:30"),
    ("08:00:00-18:00:00", "08:00-18:00"),  # Excel time cells
    ("09-18", "09:00-18:00"),
    ("9-18点", "09:00-18:00"),
    ("15:00~22:00", "15:00-22:00"),
    ("上午8点-下午5点半", "08:00-17:30"),
    ("下午2-6点", "14:00-18:00"),
    ("7am-5:30pm", "07:00-17:30"),
    ("7am-midnight", "07:00-24:00"),
    ("开放时间：8:00-18:00", "08:00-18:00"),
    ("8:00-12:00，14:00-18:00", "08:00-12:00,14:00-18:00"),
    ("8:00-12:00/14:00-18:00", "08:00-12:00,14:00-18:00"),
    ("8:00-18:00（午休12:00-14:00）", "08:00-12:00,14:00-18:00"),
    # overnight
    ("20:00-次日8:00", "20:00-08:00"),
    ("晚上8点-次日6点", "20:00-06:00"),
    ("22:00-6:00", "22:00-06:00"),  # valid OSM: passed through
    ("20:00-次日0:00", "20:00-24:00"),
    ("晚上8点-12点", "20:00-24:00"),
    # days
    ("Mo-Fr 8:00~17:30", "Mo-Fr 08:00-17:30"),
    ("Mon-Fri 9am-5pm", "Mo-Fr 09:00-17:00"),
    ("Monday to Friday 09:00-17:00", "Mo-Fr 09:00-17:00"),
    ("周一至周五 8:00-18:00", "Mo-Fr 08:00-18:00"),
    ("周一至周五8:00-18:00", "Mo-Fr 08:00-18:00"),
    ("星期一到星期五 8:30-17:00", "Mo-Fr 08:30-17:00"),
    ("礼拜一至礼拜六 9:00-17:00", "Mo-Sa 09:00-17:00"),
    ("周一至周五8:00-18:00，周六9:00-12:00", "Mo-Fr 08:00-18:00; Sa 09:00-12:00"),
    ("周一至周五8:00-18:00；周六、周日9:00-12:00", "Mo-Fr 08:00-18:00; Sa-Su 09:00-12:00"),
    ("每天 7:00-21:00", "07:00-21:00"),
    ("每日7:00-21:00", "07:00-21:00"),
    ("全年无休 6:00-22:00", "06:00-22:00"),
    ("三~日 08:00~17:00", "We-Su 08:00-17:00"),
    ("一至五 8:00-17:00", "Mo-Fr 08:00-17:00"),
    ("周一、三、五 9:00-17:00", "Mo,We,Fr 09:00-17:00"),
    ("周六日 10:00-16:00", "Sa-Su 10:00-16:00"),
    ("周末 10:00-16:00", "Sa-Su 10:00-16:00"),
    ("周五至周一 10:00-14:00", "Mo,Fr-Su 10:00-14:00"),
    ("周一至周五全天", "Mo-Fr 00:00-24:00"),
    ("周一至周五 8:30-17:30 午休 12:00-13:30", "Mo-Fr 08:30-12:00,13:30-17:30"),
    # working days exclude statutory holidays
    ("工作日 8:30-17:30", "Mo-Fr 08:30-17:30; PH off"),
    ("工作日8:00-18:00，节假日9:00-12:00", "Mo-Fr 08:00-18:00; PH 09:00-12:00"),
    # holidays and closures
    ("周一至周五 8:00-18:00，节假日休息", "Mo-Fr 08:00-18:00; PH off"),
    ("周一至周五 8:00-18:00，法定节假日不开放", "Mo-Fr 08:00-18:00; PH off"),
    ("8:00-18:00 节假日除外", "08:00-18:00; PH off"),
    ("周一至周五8:00-18:00 周六、周日及节假日9:00-17:00", "Mo-Fr 08:00-18:00; Sa-Su 09:00-17:00; PH 09:00-17:00"),
    ("每天8:00-20:00，周日休息", "08:00-20:00; Su off"),
    ("周一闭馆，每天9:00-17:00", "09:00-17:00; Mo off"),  # the exception wins whatever the order
    ("周末休息，周六9:00-12:00", "Sa-Su off; Sa 09:00-12:00"),
    ("周一至周五8:00-12:00，周一至周五14:00-18:00", "Mo-Fr 08:00-12:00,14:00-18:00"),
    # only closures: the rest is unknown, not closed
    ("节假日休息", "Mo-Su unknown; PH off"),
    ("法定节假日不开放", "Mo-Su unknown; PH off"),
    ("礼拜天休息", "Mo-Su unknown; Su off"),
]


@pytest.mark.parametrize("typed, expected", TYPED_OK)
def test_typed_hours_become_canonical_osm(typed, expected):
    result = normalize_hours(typed)
    assert result == HoursParse(expected, typed, "ok", result.note)
    assert is_valid(result.opening_hours), validation_problem(result.opening_hours)


TYPED_UNKNOWN = [
    "看情况",
    "早上",
    "dawn-dusk?",
    "00; 00-24:00",  # a real typo from the Taiwan file: which was meant?
    "1-5",  # weekdays or hours?
    "周一至周五",  # days without hours
    "8:00",  # a single time
    "8:00-次日9:00",  # more than a day
    "8点-8点",
    "上午8-5点",
    "8点-26点",
    "25:00-26:00",
    "夏季6:00-22:00 冬季7:00-21:00",
    "暂停开放",
    "未开放",
    "非24小时",
    "周一至周五8:00-18:00，周一至周五休息",  # open and closed
    "休息",
    "节假日照常开放",
    "未知",
    "无",
    "see opening times Monday - Saturday",
    "dawn - dusk daily",
    "market days only",
    "automated unit 24 hours",
    "午休12-14",
    "2024",  # valid OSM (open all of 2024), but a stray spreadsheet value
    "Mo",
    "Jan",
]


@pytest.mark.parametrize("typed", TYPED_UNKNOWN)
def test_not_understood_is_unknown_never_closed(typed):
    result = normalize_hours(typed)
    assert result.status == "unknown"
    assert result.opening_hours is None
    assert result.raw == typed
    assert result.note  # says why
    for when in (at(2, 10), at(6, 3), NATIONAL_DAY):
        assert state_at(result.opening_hours, when) == "unknown"
        assert open_status(result.opening_hours, when)["label"] == "开放时间未知"


def test_notes_name_what_was_not_understood():
    assert "看情况" in normalize_hours("看情况").note
    assert "part of the day" in normalize_hours("早上").note
    assert "dawn" in normalize_hours("dawn-dusk?").note
    assert "weekdays or hours" in normalize_hours("1-5").note


@pytest.mark.parametrize("value", [None, float("nan"), np.nan, "", "   ", "\t\n", "-", "—", "/", "N/A", "null", "None"])
def test_empty_values(value):
    result = normalize_hours(value)
    assert result.status == "empty"
    assert result.opening_hours is None
    assert result.raw == ("" if value is None or isinstance(value, float) else value)


def test_pandas_na_is_empty():
    pd = pytest.importorskip("pandas")
    assert normalize_hours(pd.NA).status == "empty"
    assert normalize_hours(pd.NaT).status == "empty"


def test_non_string_values_are_read_as_text():
    assert normalize_hours(24).status == "unknown"
    assert normalize_hours(24).raw == "24"


def test_hours_parse_is_frozen():
    result = normalize_hours("24/7")
    with pytest.raises(AttributeError):
        result.status = "unknown"


def test_closures_only_are_unknown_on_other_days():
    oh = normalize_hours("节假日休息").opening_hours
    assert state_at(oh, at(2, 10)) == "unknown"
    assert state_at(oh, NATIONAL_DAY) == "closed"


def test_working_days_close_on_public_holidays():
    oh = normalize_hours("工作日 8:30-17:30").opening_hours
    assert state_at(oh, at(2, 10)) == "open"
    assert state_at(oh, NATIONAL_DAY) == "closed"
    assert state_at(oh, at(5, 10)) == "closed"


def test_exceptions_override_whatever_the_typed_order():
    for typed in ("每天9:00-17:00，周一闭馆", "周一闭馆，每天9:00-17:00"):
        oh = normalize_hours(typed).opening_hours
        assert state_at(oh, at(0, 10)) == "closed", typed
        assert state_at(oh, at(1, 10)) == "open", typed
    oh = normalize_hours("周末休息，周六9:00-12:00").opening_hours
    assert [state_at(oh, at(d, 10)) for d in (5, 6)] == ["open", "closed"]


# Property: typed schedules in many spellings evaluate exactly as meant.
DAY_SPELLINGS = [
    (frozenset(range(7)), ["每天", "", "每日", "周一至周日", "Mo-Su"]),
    (frozenset(range(5)), ["周一至周五", "星期一到星期五", "周一~周五", "一至五", "Mo-Fr", "Mon-Fri", "礼拜一至礼拜五"]),
    (frozenset({2, 3, 4, 5, 6}), ["三~日", "周三至周日", "星期三至星期天", "We-Su"]),
    (frozenset({5, 6}), ["周末", "周六、周日", "周六日", "Sa-Su", "Sat,Sun"]),
    (frozenset({0, 2, 4}), ["周一、三、五", "Mo,We,Fr", "周一，周三，周五"]),
    (frozenset({4, 5, 6, 0}), ["周五至周一", "Fr-Mo"]),
]
RANGE_SEPS = ["-", "~", "～", "至", " - ", "到", "－"]


def _spell_time(minute: int, style: str) -> str:
    h, m = divmod(minute, 60)
    if style == "点" and m == 0:
        return f"{h}点"
    if style == "点" and m == 30:
        return f"{h}点半"
    if style == "全角":
        return f"{h:02d}：{m:02d}"
    if style == "short":
        return f"{h}:{m:02d}"
    return f"{h:02d}:{m:02d}"


@st.composite
def typed_schedules(draw):
    days, spellings = draw(st.sampled_from(DAY_SPELLINGS))
    day_text = draw(st.sampled_from(spellings))
    start = draw(st.integers(0, 46)) * 30
    end = draw(st.integers(start // 30 + 1, 48)) * 30
    style = draw(st.sampled_from(["点", "全角", "short", "padded"]))
    text = (day_text + draw(st.sampled_from([" ", "", "：", "  "])) + _spell_time(start, style)
            + draw(st.sampled_from(RANGE_SEPS)) + _spell_time(end, style))
    return text, days, start, end


@settings(max_examples=300, deadline=None)
@given(typed_schedules(), st.integers(0, 7 * 1440 - 1))
def test_typed_schedules_evaluate_as_meant(schedule, minute_of_week):
    text, days, start, end = schedule
    result = normalize_hours(text)
    assert result.status == "ok", (text, result.note)
    day, minute = divmod(minute_of_week, 1440)
    when = datetime.combine(MON, datetime.min.time()) + timedelta(minutes=minute_of_week)
    expected = "open" if day in days and start <= minute < end else "closed"
    if start == 0 and end == 1440 and len(days) == 7:
        assert result.opening_hours == "24/7"
    assert state_at(result.opening_hours, when) == expected, (text, result.opening_hours, when)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("0123456789:：-~至到点半周一二三四五六日天每工作节假休息 ,，;；apm全24小时hMoFrSa")), max_size=30)
       | st.text(max_size=30))
def test_any_text_is_ok_and_valid_or_unknown_with_raw_kept(text):
    result = normalize_hours(text)
    assert result.raw == text
    assert result.status in ("ok", "unknown", "empty")
    if result.status == "ok":
        assert is_valid(result.opening_hours)
    else:
        assert result.opening_hours is None and result.note


# --------------------------------------------------------------------------------------
# validation and 24/7
# --------------------------------------------------------------------------------------


def test_is_valid_and_validation_problem():
    assert is_valid("Mo-Fr 08:00-18:00; PH off")
    assert validation_problem("Mo-Fr 08:00-18:00; PH off") is None
    for bad in ("24/24", "Mo-Fr 8:00~17:30", "看情况", "", None, 7):
        assert not is_valid(bad)
        assert validation_problem(bad)
    assert "24/24" in validation_problem("24/24")  # the parser's own message quotes the input


@pytest.mark.parametrize("oh, expected", [
    ("24/7", True),
    ("00:00-24:00", True),
    ("00:00-24:00", True),
    ("Mo-Fr 00:00-24:00; Sa-Su 00:00-24:00", True),
    ("00:00-12:00,12:00-24:00", True),
    ("24/7; PH off", False),
    ("Mo-Fr 00:00-24:00", False),
    ("Mo-Fr 08:00-18:00", False),
    ("24/7 \"by appointment\"", False),  # comment-only rule: unknown
    ("24/7 open \"staffed 8-18\"", True),
    ("Mo-Su unknown; PH off", False),
    (None, False),
    ("", False),
    ("garbage", False),
])
def test_is_24_7(oh, expected):
    assert is_24_7(oh) is expected


# --------------------------------------------------------------------------------------
# state_at / next_change
# --------------------------------------------------------------------------------------


def test_weekday_hours_at_hand_picked_times():
    oh = "Mo-Fr 08:00-18:00"
    wed_1745 = at(2, 17, 45)
    assert state_at(oh, wed_1745) == "open"
    assert next_change(oh, wed_1745) == datetime(2025, 1, 8, 18, 0, tzinfo=SHANGHAI)
    assert state_at(oh, at(2, 18)) == "closed"  # closing time itself is closed
    assert state_at(oh, at(2, 8)) == "open"
    assert state_at(oh, at(2, 7, 59)) == "closed"
    sunday = at(6, 12)
    assert state_at(oh, sunday) == "closed"
    assert next_change(oh, sunday) == datetime(2025, 1, 13, 8, 0, tzinfo=SHANGHAI)


def test_next_change_is_aware_in_station_zone():
    nxt = next_change("Mo-Fr 08:00-18:00", at(2, 10))
    assert nxt.tzinfo == SHANGHAI and nxt.utcoffset() == timedelta(hours=8)
    berlin = next_change("Mo-Fr 08:00-18:00", datetime(2025, 7, 9, 10), "Europe/Berlin")
    assert berlin == datetime(2025, 7, 9, 18, tzinfo=ZoneInfo("Europe/Berlin"))
    assert berlin.utcoffset() == timedelta(hours=2)


def test_overnight_range():
    oh = normalize_hours("20:00-次日8:00").opening_hours
    assert state_at(oh, at(2, 23)) == "open"
    assert state_at(oh, at(3, 3)) == "open"
    assert state_at(oh, at(3, 7, 59)) == "open"
    assert state_at(oh, at(3, 8)) == "closed"
    assert state_at(oh, at(3, 19, 59)) == "closed"
    assert next_change(oh, at(2, 23)) == datetime(2025, 1, 9, 8, tzinfo=SHANGHAI)
    # Friday night spills into Saturday morning even with weekday-only hours
    fri = "Fr 22:00-06:00"
    assert state_at(fri, at(5, 5)) == "open"
    assert state_at(fri, at(6, 5)) == "closed"


def test_utc_aware_datetime_is_converted_to_shanghai():
    utc_0945 = datetime(2025, 1, 8, 9, 45, tzinfo=timezone.utc)  # 17:45 in Shanghai
    assert state_at("Mo-Fr 08:00-18:00", utc_0945) == "open"
    assert state_at("Mo-Fr 08:00-18:00", utc_0945.replace(hour=10, minute=30)) == "closed"  # 18:30
    nxt = next_change("Mo-Fr 08:00-18:00", utc_0945)
    assert nxt == datetime(2025, 1, 8, 10, 0, tzinfo=timezone.utc)
    # Sunday 23:30 UTC is Monday 07:30 in Shanghai: closed, opens at 08:00 (30 min later)
    assert state_at("Mo-Fr 08:00-18:00", datetime(2025, 1, 12, 23, 30, tzinfo=timezone.utc)) == "closed"
    assert state_at("Mo-Fr 08:00-18:00", datetime(2025, 1, 13, 0, 30, tzinfo=ZoneInfo("UTC"))) == "open"
    fixed = timezone(timedelta(hours=-5))
    assert state_at("Mo-Fr 08:00-18:00", datetime(2025, 1, 8, 4, 59, tzinfo=fixed)) == "open"  # 17:59


def test_naive_datetime_is_local_in_given_zone():
    oh = "Mo-Fr 08:00-18:00"
    assert state_at(oh, at(2, 9), "Asia/Shanghai") == "open"
    assert state_at(oh, at(2, 9), "America/New_York") == "open"
    ny_9am = datetime(2025, 1, 8, 9, tzinfo=ZoneInfo("America/New_York"))
    assert state_at(oh, ny_9am) == "closed"  # 22:00 in Shanghai


def test_public_holidays_from_the_cn_calendar():
    oh = "Mo-Fr 08:00-18:00; PH off"
    assert state_at(oh, NATIONAL_DAY) == "closed"
    assert state_at(oh, NATIONAL_DAY, country=None) == "open"
    assert state_at(oh, datetime(2025, 10, 2, 10)) == "open"  # the calendar marks the first day only
    assert next_change(oh, datetime(2025, 9, 30, 12)) == datetime(2025, 9, 30, 18, tzinfo=SHANGHAI)
    assert next_change(oh, datetime(2025, 9, 30, 19)) == datetime(2025, 10, 2, 8, tzinfo=SHANGHAI)


def test_unknown_hours():
    for oh in (None, "", "garbage"):
        assert state_at(oh, at(2, 10)) == "unknown"
        assert next_change(oh, at(2, 10)) is None
    assert state_at("Mo-Fr 08:00-18:00; Sa unknown", at(5, 10)) == "unknown"
    # the specification makes a comment-only rule unknown (the parser says open)
    assert state_at('Mo-Fr 08:00-18:00 "by appointment"', at(2, 10)) == "unknown"
    assert state_at('Mo-Fr 08:00-18:00 "by appointment"', at(5, 10)) == "closed"
    assert state_at('Mo-Fr 08:00-18:00 open "staffed"', at(2, 10)) == "open"
    assert state_at('"看情况"', at(2, 10)) == "unknown"


def test_never_changes():
    assert next_change("24/7", at(2, 10)) is None
    assert next_change("off", at(2, 10)) is None


def test_bad_arguments_name_the_value():
    with pytest.raises(ValidationError, match="Mars/Olympus"):
        state_at("24/7", at(2, 10), "Mars/Olympus")
    with pytest.raises(ValidationError, match="when"):
        state_at("24/7", "2025-01-08 10:00")
    with pytest.raises(ValidationError, match="XX"):
        state_at("24/7", at(2, 10), country="XX")
    with pytest.raises(ValueError):  # callers may catch the built-in
        next_change("24/7", at(2, 10), "nowhere")


def test_default_when_is_now():
    assert state_at("24/7") == "open"
    assert state_at("off") == "closed"


# --------------------------------------------------------------------------------------
# open_status
# --------------------------------------------------------------------------------------


def test_open_status_closes_soon():
    status = open_status("Mo-Fr 08:00-18:00", at(2, 17, 45), lang="en")
    assert status == {
        "state": "open", "open_24h": False, "next_change": "2025-01-08T18:00:00+08:00",
        "label": "Open, closes at 18:00", "closes_soon": True, "comment": None,
    }
    zh = open_status("Mo-Fr 08:00-18:00", at(2, 17, 45))
    assert zh["label"] == "营业中，18:00 关闭" and zh["closes_soon"]
    assert not open_status("Mo-Fr 08:00-18:00", at(2, 17, 29))["closes_soon"]
    assert open_status("Mo-Fr 08:00-18:00", at(2, 17, 30))["closes_soon"]  # exactly 30 min
    assert not open_status("Mo-Fr 08:00-18:00", at(2, 17, 45), soon_min=10)["closes_soon"]
    assert open_status("Mo-Fr 08:00-18:00", at(2, 17, 0), soon_min=60)["closes_soon"]


def test_open_status_labels():
    assert open_status("07:00-21:00", at(2, 12))["label"] == "营业中，21:00 关闭"
    assert open_status("07:00-21:00", at(2, 12), lang="en")["label"] == "Open, closes at 21:00"
    assert open_status("07:00-21:00", at(2, 6))["label"] == "已关闭，07:00 开放"
    assert open_status("07:00-21:00", at(2, 6), lang="en")["label"] == "Closed, opens at 07:00"
    sunday = open_status("Mo-Fr 07:00-18:00", at(6, 12), lang="en")
    assert sunday["state"] == "closed" and not sunday["closes_soon"]
    assert sunday["label"] == "Closed, opens Mon 07:00"
    assert open_status("Mo-Fr 07:00-18:00", at(6, 12))["label"] == "已关闭，周一 07:00 开放"
    assert open_status("Mo-Fr 07:00-18:00", at(2, 20), lang="en")["label"] == "Closed, opens Thu 07:00"
    assert open_status("Mo-Fr 08:00-24:00", at(2, 20), lang="en")["label"] == "Open, closes at 24:00"
    overnight = open_status("20:00-08:00", at(2, 23), lang="en")
    assert overnight["label"] == "Open, closes Thu 08:00"
    far = open_status("24/7; PH off", at(2, 12), lang="en")  # next holiday: Spring Festival, 29 Jan
    assert far["label"] == "Open, closes 29 Jan 00:00" and not far["open_24h"]
    assert open_status("24/7; PH off", at(2, 12))["label"] == "营业中，1月29日 00:00 关闭"


def test_open_status_24h_and_unknown():
    for oh in ("24/7", "00:00-24:00", normalize_hours("全天").opening_hours):
        status = open_status(oh, at(2, 3))
        assert status["state"] == "open" and status["open_24h"] and status["next_change"] is None
        assert status["label"] == "24小时开放"
        assert open_status(oh, at(2, 3), lang="en")["label"] == "Open 24 hours"
    for oh in (None, "garbage", normalize_hours("看情况").opening_hours):
        status = open_status(oh, at(2, 12), lang="en")
        assert status == {"state": "unknown", "open_24h": False, "next_change": None,
                          "label": "Hours unknown", "closes_soon": False, "comment": None}
        assert open_status(oh, at(2, 12))["label"] == "开放时间未知"
    appointment = open_status('Mo-Fr 08:00-18:00 "预约"', at(2, 12))
    assert appointment["state"] == "unknown" and appointment["comment"] == "预约"
    assert appointment["label"] == "开放时间未知"


def test_open_status_then_unknown():
    status = open_status("Mo-Fr 08:00-18:00; Sa unknown", at(4, 20), lang="en")
    assert status["label"] == "Closed until Sat 00:00, then unknown"
    assert open_status("Mo 00:00-08:00", at(6, 20), lang="en")["label"] == "Closed, opens Mon 00:00"


def test_open_status_rejects_bad_arguments():
    with pytest.raises(ValidationError) as err:
        open_status("24/7", at(2, 12), lang="fr", soon_min=-5)
    assert {p.field for p in err.value.problems} == {"lang", "soon_min"}


def test_open_status_in_utc_input():
    status = open_status("Mo-Fr 08:00-18:00", datetime(2025, 1, 8, 9, 45, tzinfo=timezone.utc), lang="en")
    assert status["state"] == "open" and status["closes_soon"]
    assert status["next_change"] == "2025-01-08T18:00:00+08:00"


# --------------------------------------------------------------------------------------
# week_slots
# --------------------------------------------------------------------------------------


def slot(day: int, hh: int, mm: int = 0, slot_min: int = 15) -> int:
    return (day * 1440 + hh * 60 + mm) // slot_min


def test_week_slots_weekday_hours():
    slots = week_slots("Mo-Fr 08:00-18:00", week_of=MON)
    assert slots.shape == (672,) and slots.dtype == bool
    assert slots.sum() == 5 * 10 * 4
    assert slots[slot(0, 8)] and slots[slot(4, 17, 45)]
    assert not slots[slot(0, 7, 45)] and not slots[slot(0, 18)] and not slots[slot(5, 12)]
    assert week_slots_exact("Mo-Fr 08:00-18:00", week_of=MON)
    hourly = week_slots("Mo-Fr 08:00-18:00", slot_min=60, week_of=MON)
    assert hourly.shape == (168,) and hourly.sum() == 50


def test_week_slots_whole_slot_rule():
    slots = week_slots("Mo-Fr 08:07-18:00", week_of=MON)
    assert not slots[slot(0, 8)] and slots[slot(0, 8, 15)]
    assert not week_slots_exact("Mo-Fr 08:07-18:00", week_of=MON)
    assert week_slots_exact("Mo-Fr 08:07-18:00", slot_min=1, week_of=MON)


def test_week_slots_overnight_wraps_sunday_into_monday():
    slots = week_slots("Su 22:00-06:00", week_of=MON)
    assert slots[slot(6, 23)] and slots[slot(0, 0)] and slots[slot(0, 5, 45)]
    assert not slots[slot(0, 6)] and not slots[slot(6, 21, 45)]
    assert slots.sum() == 8 * 4
    assert week_slots("24/7", week_of=MON).all()


def test_week_slots_unknown_or_dated():
    assert week_slots(None) is None
    assert week_slots("garbage") is None
    assert week_slots("Mo-Fr 08:00-18:00; Sa unknown", week_of=MON) is None
    assert week_slots("Mo-Su unknown; PH off", week_of=MON) is None
    assert week_slots('Mo-Fr 08:00-18:00 "by appointment"', week_of=MON) is None
    assert week_slots("Apr-Oct 08:00-20:00; Nov-Mar 09:00-17:00", week_of=MON) is None
    assert week_slots("week 01-53/2 Mo 08:00-10:00", week_of=MON) is None
    assert not week_slots_exact(None)
    assert not week_slots_exact("Apr-Oct 08:00-20:00; Nov-Mar 09:00-17:00", week_of=MON)


def test_week_slots_with_holidays_is_typical_but_not_exact():
    slots = week_slots("Mo-Fr 08:00-18:00; PH off", week_of=MON)
    assert np.array_equal(slots, week_slots("Mo-Fr 08:00-18:00", week_of=MON))
    assert not week_slots_exact("Mo-Fr 08:00-18:00; PH off", week_of=MON)
    assert not week_slots_exact("Sa-Su 10:00-12:00; PH off", week_of=MON)  # PH never hit, still dated


def test_week_slots_with_date_exceptions_and_seasons():
    christmas = "Mo-Fr 08:00-18:00; Dec 25 off"
    assert np.array_equal(week_slots(christmas, week_of=MON), week_slots("Mo-Fr 08:00-18:00", week_of=MON))
    assert not week_slots_exact(christmas, week_of=MON)
    assert week_slots("Mo-Fr 08:00-18:00; Jul-Aug off", week_of=MON) is None  # a season, not an exception
    assert week_slots("Mo-Fr 08:00-18:00; 2024 off", week_of=MON) is not None  # a past year
    assert not week_slots_exact("Mo-Fr 08:00-18:00; 2030 off", week_of=MON)  # a future year


def test_week_slots_other_time_zone_with_daylight_saving():
    slots = week_slots("Mo-Fr 08:00-18:00", "Europe/Berlin", week_of=date(2025, 3, 3))
    assert slots is not None and slots.sum() == 200
    assert week_slots_exact("Mo-Fr 08:00-18:00", "Europe/Berlin", week_of=date(2025, 3, 3))


@pytest.mark.parametrize("bad", [0, -15, 7, 1.5, True, "15"])
def test_week_slots_rejects_bad_slot_length(bad):
    with pytest.raises(ValidationError, match="slot_min"):
        week_slots("24/7", slot_min=bad)


def test_week_slots_returns_a_fresh_array():
    first = week_slots("Mo-Fr 08:00-18:00", week_of=MON)
    first[:] = True
    assert week_slots("Mo-Fr 08:00-18:00", week_of=MON).sum() == 200


EXACT_PATTERNS = [
    "24/7",
    "Mo-Fr 08:00-18:00",
    "Mo-Fr 08:00-18:00; Sa 09:00-12:00",
    "20:00-08:00",
    "Su 22:00-06:00",
    "Mo-Sa 08:30-12:00,14:30-18:00,19:00-21:30; Su off",
    "Su-Mo 09:00-17:00; Tu-Sa 08:30-21:00",
    "06:00-23:00",
    "We-Su 08:00-17:00",
]


@st.composite
def random_weekly_patterns(draw):
    rules = []
    for _ in range(draw(st.integers(1, 3))):
        days = sorted(draw(st.sets(st.integers(0, 6), min_size=1)))
        a = draw(st.integers(0, 95)) * 15
        b = draw(st.integers(1, 96)) * 15
        if a == b:
            b = a + 15
        day_text = ",".join(("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")[d] for d in days)
        rules.append(f"{day_text} {a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}")
    return "; ".join(rules)


moments = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(EXACT_PATTERNS) | random_weekly_patterns(), moments)
def test_exact_week_slots_agree_with_state_at(oh, when):
    assert week_slots_exact(oh), oh
    slots = week_slots(oh)
    index = (when.weekday() * 1440 + when.hour * 60 + when.minute) // 15
    assert bool(slots[index]) == (state_at(oh, when) == "open"), (oh, when)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(EXACT_PATTERNS), moments)
def test_exact_week_slots_agree_in_utc_too(oh, when):
    aware = when.replace(tzinfo=timezone.utc)
    local = aware.astimezone(SHANGHAI)
    index = (local.weekday() * 1440 + local.hour * 60 + local.minute) // 15
    assert bool(week_slots(oh)[index]) == (state_at(oh, aware) == "open")


# --------------------------------------------------------------------------------------
# Real data
# --------------------------------------------------------------------------------------


def _opening_hours_values(path: Path) -> list:
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    return [(f.get("properties") or {}).get("opening_hours") for f in features
            if "opening_hours" in (f.get("properties") or {})]


def test_taiwan_drinking_water_opening_hours(shared_data):
    values = _opening_hours_values(shared_data / "osm" / "taiwan_drinking_water.geojson")
    counts: Counter[str] = Counter()
    for value in values:
        result = normalize_hours(value)
        counts[result.status] += 1
        assert result.raw == value
        if result.status == "ok":
            assert is_valid(result.opening_hours), (value, result)
            assert state_at(result.opening_hours, at(2, 12)) in ("open", "closed")
            assert week_slots(result.opening_hours, week_of=MON) is not None
        else:
            assert result.status == "unknown" and result.opening_hours is None and result.note
    print(f"\ntaiwan_drinking_water.geojson opening_hours: {len(values)} values, {dict(counts)}")
    assert len(values) == 249
    assert counts == {"ok": 248, "unknown": 1}
    expected = {"06：00 - 22：00": "06:00-22:00", "三~日 08:00~17:00": "We-Su 08:00-17:00",
                "Mo-Fr 8:00~17:30": "Mo-Fr 08:00-17:30", "09-18": "09:00-18:00", "6:00-23:00": "06:00-23:00",
                "15:00~22:00": "15:00-22:00", "04:00-24:00": "04:00-24:00"}
    for typed, osm in expected.items():
        assert typed in values and normalize_hours(typed).opening_hours == osm


def test_bergen_osm_values_pass_through_unchanged(shared_data):
    values = [v for v in _opening_hours_values(shared_data / "osm" / "bergen_toilets.geojson") if v]
    assert values
    for value in values:
        assert normalize_hours(value).opening_hours == value


def test_london_toilet_hours_are_read_or_left_unknown(shared_data):
    values = []
    for path in sorted((shared_data / "tfl").glob("processed_data_*.json")):
        values += [r.get("opening_hours") for r in json.loads(path.read_text(encoding="utf-8"))]
    counts: Counter[str] = Counter()
    for value in values:
        result = normalize_hours(value)
        counts[result.status] += 1
        assert result.status == "ok" and is_valid(result.opening_hours) or result.opening_hours is None
    print(f"\nLondon toilets opening_hours: {dict(counts)}")
    assert normalize_hours("7am-5:30pm").opening_hours == "07:00-17:30"
    assert normalize_hours("dawn - dusk daily").status == "unknown"
