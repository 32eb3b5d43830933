"""The controlled amenity vocabulary, with Chinese and English labels.

Each amenity of a station is one of :data:`AMENITY_VALUES`: ``"yes"``, ``"no"`` or
``"unknown"``. Unknown is not no: a station whose microwave nobody has checked is shown as
unknown, never as lacking one.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import Problem

AMENITY_VALUES = ("yes", "no", "unknown")


@dataclass(frozen=True)
class Amenity:
    code: str
    zh: str
    en: str
    aliases: tuple[str, ...] = ()  # other spellings seen in spreadsheets and OSM tags
    icon: str = ""  # Font Awesome icon name used by maps and the locator


AMENITIES: tuple[Amenity, ...] = (
    Amenity("air_conditioning", "空调", "Air conditioning / cooling",
            ("纳凉", "降温", "冷气", "空调设备", "ac", "cooling", "air conditioning"), "snowflake"),
    Amenity("heating", "取暖", "Heating", ("驱寒", "暖气", "供暖", "heating", "heater"), "fire"),
    Amenity("drinking_water", "饮用水", "Drinking water",
            ("饮水", "饮水机", "热水", "喝水", "开水", "water", "drinking water", "water dispenser"), "glass-water"),
    Amenity("microwave", "微波炉", "Microwave / food heating",
            ("餐食加热", "热饭", "加热", "微波", "microwave", "food heating"), "bowl-food"),
    Amenity("seating", "桌椅", "Seats / rest",
            ("休息", "座椅", "桌椅板凳", "休憩", "歇脚", "seats", "seating", "rest", "tables"), "chair"),
    Amenity("phone_charging", "手机充电", "Phone charging",
            ("充电", "充电设备", "充电器", "charging", "phone charging"), "mobile-screen-button"),
    Amenity("first_aid", "急救药品", "First aid",
            ("医药箱", "药箱", "急救", "应急药品", "常用药品", "药品", "first aid", "medicine"), "kit-medical"),
    Amenity("toilet", "厕所", "Toilet", ("如厕", "卫生间", "洗手间", "公厕", "toilet", "toilets", "wc"), "restroom"),
    Amenity("wifi", "无线网络", "Wi-Fi", ("wifi", "wi-fi", "无线上网", "网络", "internet"), "wifi"),
    Amenity("reading", "读书阅览", "Reading",
            ("阅读", "书报", "图书", "书籍", "阅览", "reading", "books"), "book-open"),
    Amenity("ebike_charging", "电动车充换电", "E-bike charging / battery swap",
            ("换电", "电动车充电", "电瓶充电", "充换电", "ebike charging", "battery swap"), "charging-station"),
    Amenity("discount_meals", "优惠餐食", "Discounted meals",
            ("爱心餐", "餐食", "优惠餐", "discounted meals", "meals"), "utensils"),
    Amenity("legal_aid", "法律服务", "Legal aid", ("法律援助", "维权", "legal aid", "legal"), "scale-balanced"),
    Amenity("aed", "AED", "AED (defibrillator)", ("除颤仪", "自动体外除颤器", "aed", "defibrillator"), "heart-pulse"),
    Amenity("parking", "停车", "E-bike / truck parking",
            ("停车位", "车辆停放", "停放", "parking"), "square-parking"),
)

AMENITY_CODES: tuple[str, ...] = tuple(a.code for a in AMENITIES)
BY_CODE: dict[str, Amenity] = {a.code: a for a in AMENITIES}


def _alias_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for a in AMENITIES:
        for name in (a.code, a.zh, a.en, *a.aliases):
            table[name.strip().lower()] = a.code
    return table


ALIASES: dict[str, str] = _alias_table()

_TRUE = {"yes", "y", "true", "t", "1", "是", "有", "√", "✓", "✔", "○", "提供", "具备"}
_FALSE = {"no", "n", "false", "f", "0", "否", "无", "没有", "×", "✗", "不提供"}
_UNKNOWN = {"", "unknown", "?", "未知", "不详", "待核实", "nan", "none", "null"}


def amenity_code(name: str) -> str | None:
    """Return the vocabulary code for an amenity name in Chinese, English or code form.

    Returns ``None`` when the name is not in the vocabulary.
    """
    return ALIASES.get(str(name).strip().lower())


def parse_amenity_value(value: object) -> str | None:
    """Normalise a yes/no/unknown cell (``是``/``否``/``✓``/``1``/``true``...).

    Returns ``"yes"``, ``"no"`` or ``"unknown"``, or ``None`` when the value means none of
    them (the caller reports it).
    """
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        if value != value:  # NaN: an empty spreadsheet cell
            return "unknown"
        if value in (0, 1):
            return "yes" if value == 1 else "no"
        return None
    text = str(value).strip().lower()
    if text in _TRUE:
        return "yes"
    if text in _FALSE:
        return "no"
    if text in _UNKNOWN:
        return "unknown"
    return None


# Separators people use in one "设施/服务" list cell: 、，,;；/ | and spaces.
LIST_SEPARATORS = "、，,;；/|\n\t "


def parse_amenity_list(text: str, *, field: str = "amenities") -> tuple[dict[str, str], list[Problem]]:
    """Parse a list cell such as ``"空调、饮水、微波炉"`` into ``{code: "yes"}``.

    Amenities named in the list are ``"yes"``; the caller decides what unnamed ones are
    (``"unknown"`` — a list says what is there, not what is missing). Unknown names are
    returned as problems naming the value and the vocabulary.
    """
    import re

    found: dict[str, str] = {}
    problems: list[Problem] = []
    if text is None or (isinstance(text, float) and text != text):
        return found, problems
    parts = [p for p in re.split(r"[、，,;；/|\n\t]+", str(text)) if p.strip()]
    for part in parts:
        code = amenity_code(part)
        if code is None:
            # "空调 饮水" typed with spaces: try the words one by one.
            words = part.split()
            codes = [amenity_code(w) for w in words]
            if len(words) > 1 and all(codes):
                for c in codes:
                    found[c] = "yes"
                continue
            problems.append(Problem(field, part.strip(), "unknown amenity",
                                    allowed=", ".join(f"{a.zh} ({a.code})" for a in AMENITIES)))
        else:
            found[code] = "yes"
    return found, problems


def vocabulary() -> list[dict[str, str]]:
    """The vocabulary as plain dicts (code, zh, en, icon), in display order."""
    return [{"code": a.code, "zh": a.zh, "en": a.en, "icon": a.icon} for a in AMENITIES]
