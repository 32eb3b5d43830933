"""Request parameters declared once: parsed, validated and documented by the same rules.

A :class:`Param` declares one parameter: its kind, limits and allowed values. :func:`parse`
reads a request's query (werkzeug's ``request.args``) by a tuple of them, :func:`parse_json`
the same options from a JSON body, and :func:`openapi_parameter` / :func:`json_schema`
document them, so the OpenAPI document says exactly what the server accepts:

* A parameter left out takes its default. An empty value (``k=``) is refused: the API never
  guesses whether it meant "absent".
* A parameter given twice (``k=3&k=9``) is refused. A list is one value, comma-separated
  (``amenities=toilet,microwave``: OpenAPI ``style: form, explode: false``), each item once.
* Numbers are written as in JSON (``-1.5``, ``2e3``; ASCII digits, leading zeros allowed),
  integers as digits, booleans ``true`` or ``false``, date-times as RFC 3339
  (:data:`DATETIME_PATTERN`; years 1970-2099, the offset optional and Asia/Shanghai when
  left out).
* A limit may come from a setting (``maximum_setting="max_k"``): it is read from the app's
  settings when a request is parsed and when the document is made.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence
from zoneinfo import ZoneInfo

from flask import current_app, request
from werkzeug.datastructures import MultiDict

from ..config import Settings
from ..errors import Problem, ValidationError
from ..records import DEFAULT_TIMEZONE

# Longest value of any parameter, in characters. 200 characters of 4-byte UTF-8, percent-
# encoded, are 2,400 bytes: a query with one free-text value stays under the app's 4 KB limit.
MAX_VALUE_LENGTH = 200
DEFAULT_TZ = ZoneInfo(DEFAULT_TIMEZONE)
# RFC 3339 date-time with an optional offset, years 1970-2099 (so that no offset can carry
# a time out of the calendar). A space in the offset's place is a "+" a client left
# unencoded in the URL (it reads as a space). The server matches it whole (re.fullmatch), as
# JSON Schema's ECMA-262 reading of ``$`` does.
DATETIME_PATTERN = (r"^(19[7-9][0-9]|20[0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
                    r"T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
                    r"(Z|[+ -]([01][0-9]|2[0-3]):?[0-5][0-9])?$")
_DATETIME = re.compile(DATETIME_PATTERN)
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"-?[0-9]+")
# JSON-safe integers (what a JavaScript client reads back exactly).
SAFE_INTEGER = 2 ** 53 - 1
KINDS = ("float", "int", "str", "bool", "datetime", "list", "bbox")


@dataclass(frozen=True)
class Param:
    """One request parameter.

    ``kind`` is one of :data:`KINDS`. ``maximum_setting`` names the setting that holds the
    maximum (it wins over ``maximum``). ``enum`` lists the allowed values of a ``str``, or of
    each item of a ``list``.
    """

    name: str
    kind: str
    description: str
    required: bool = False
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    maximum_setting: str | None = None
    enum: Sequence[str] | None = None
    example: Any = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"parameter {self.name!r}: unknown kind {self.kind!r}; allowed: {', '.join(KINDS)}")

    def bounds(self, settings: Settings | None) -> tuple[float | None, float | None]:
        """(minimum, maximum), the maximum read from ``settings`` when it is a setting's."""
        if self.maximum_setting is None:
            return self.minimum, self.maximum
        if settings is None:
            raise ValueError(f"parameter {self.name!r}: its maximum is the setting {self.maximum_setting!r}; "
                             "pass the settings")
        return self.minimum, getattr(settings, self.maximum_setting)

    def allowed(self, settings: Settings | None = None) -> str:
        if self.kind == "list" and self.enum:
            return "comma-separated, each once: " + ", ".join(self.enum)
        if self.enum:
            return ", ".join(self.enum)
        lo, hi = self.bounds(settings)
        if self.kind in ("float", "int"):
            what = "a number" if self.kind == "float" else "an integer"
            if lo is not None and hi is not None:
                return f"{what} from {_number(lo)} to {_number(hi)}"
            if lo is not None:
                return f"{what} of at least {_number(lo)}"
            return what
        if self.kind == "bool":
            return "true or false"
        if self.kind == "datetime":
            return ("RFC 3339 date-time from 1970 to 2099, e.g. 2026-11-22T21:30:00+08:00 "
                    "(no offset: Asia/Shanghai)")
        if self.kind == "bbox":
            return "min_lon,min_lat,max_lon,max_lat"
        return f"text of 1 to {MAX_VALUE_LENGTH} characters"


def _number(x: float) -> str:
    """A limit as people write it: 20000000, not 2e+07."""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


# --- reading values ---------------------------------------------------------------------------

def parse(specs: Sequence[Param], args: Mapping[str, str] | MultiDict, *, settings: Settings | None = None,
          what: str = "query") -> dict[str, Any]:
    """Parse ``args`` (``request.args``, or a plain mapping of text) by ``specs``.

    Returns every declared parameter by name (its default when left out). Raises
    :class:`~stations.errors.ValidationError` listing every problem at once: unknown names
    (so a typo such as ``amenity=`` for ``amenities=`` is not silently ignored), repeated
    or empty values, and values that are not allowed.
    """
    problems: list[Problem] = []
    by_name = _by_name(specs)
    out: dict[str, Any] = {}
    lists = args.lists() if isinstance(args, MultiDict) else ((name, [raw]) for name, raw in args.items())
    for name, values in lists:
        p = by_name.get(name)
        raw = values[0]
        if p is None:
            problems.append(Problem(name, raw[:40], "unknown parameter", ", ".join(sorted(by_name))))
        elif len(values) > 1:
            problems.append(Problem(name, [v[:40] for v in values], "given more than once",
                                    "once; a list is one value, comma-separated (a,b)"))
        elif raw == "":
            problems.append(Problem(name, raw, "empty", "leave it out for the default, or " + p.allowed(settings)))
        else:
            out[name] = _from_text(p, raw, problems, settings)
    _defaults(specs, out, problems, settings)
    if problems:
        raise ValidationError.from_problems(problems, what=what)
    return out


def query(specs: Sequence[Param]) -> dict[str, Any]:
    """The current request's query parsed by ``specs``, with the app's settings' limits."""
    return parse(specs, request.args, settings=current_app.config["STATIONS"])


def parse_json(specs: Sequence[Param], doc: Mapping[str, Any], *, settings: Settings | None = None,
               what: str = "request", prefix: str = "") -> dict[str, Any]:
    """Parse the members of a JSON object by ``specs``, as :func:`parse` does a query.

    Values have their JSON types (``"k": 5``, ``"amenities": ["toilet"]``, ``"open_24h":
    true``); ``null`` is the same as leaving the member out. ``prefix`` goes before each
    problem's name (``points[3].``).
    """
    problems: list[Problem] = []
    by_name = _by_name(specs)
    out: dict[str, Any] = {}
    for name, value in doc.items():
        p = by_name.get(name)
        if p is None:
            problems.append(Problem(prefix + name, short_value(value), "unknown field", ", ".join(sorted(by_name))))
        elif value is not None:
            out[name] = _from_json(p, value, problems, settings, prefix)
    _defaults(specs, out, problems, settings, prefix)
    if problems:
        raise ValidationError.from_problems(problems, what=what)
    return out


def _defaults(specs: Sequence[Param], out: dict, problems: list[Problem], settings, prefix: str = "") -> None:
    for p in specs:
        if p.name not in out:
            if p.required:
                problems.append(Problem(prefix + p.name, None, "is required", p.allowed(settings)))
            out[p.name] = p.default


def _from_text(p: Param, raw: str, problems: list[Problem], settings, name: str | None = None) -> Any:
    """A query value (text) as ``p`` reads it, or None with a problem added (under ``name``,
    default ``p.name``)."""
    name = name or p.name

    def bad(reason: str, value: Any = raw) -> None:
        problems.append(Problem(name, value, reason, p.allowed(settings)))

    if len(raw) > MAX_VALUE_LENGTH:
        return bad(f"longer than {MAX_VALUE_LENGTH} characters", raw[:40] + "…")
    kind = p.kind
    if kind == "float":
        return _in_range(p, float(raw), bad, settings) if _NUMBER.fullmatch(raw) else bad(_not_a_number(raw))
    if kind == "int":
        return bad("not an integer") if _INTEGER.fullmatch(raw) is None else _in_range(p, int(raw), bad, settings)
    if kind == "bool":
        if raw in ("true", "false"):
            return raw == "true"
        return bad("not a boolean")
    if kind == "datetime":
        return _datetime(raw, bad)
    if kind == "list":
        return _items(p, raw.split(","), bad)
    if kind == "bbox":
        parts = raw.split(",")
        if len(parts) != 4 or any(_NUMBER.fullmatch(s) is None for s in parts):
            return bad("not four numbers")
        return _box([float(s) for s in parts], bad)
    if p.enum and raw not in p.enum:
        return bad("not an allowed value")
    return raw


def _not_a_number(raw: str) -> str:
    try:
        value = float(raw)
    except ValueError:
        return "not a number"
    return "not a finite number" if not math.isfinite(value) else "not a number as JSON writes it (e.g. -12.5, 3e2)"


def _from_json(p: Param, value: Any, problems: list[Problem], settings, prefix: str) -> Any:
    """A JSON value as ``p`` reads it, or None with a problem added."""
    def bad(reason: str, quoted: Any = None) -> None:
        problems.append(Problem(prefix + p.name, short_value(value if quoted is None else quoted), reason,
                                p.allowed(settings)))

    kind = p.kind
    if kind in ("float", "int"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return bad("not a JSON number")
        if kind == "int" and not isinstance(value, int):
            return bad("not an integer")
        if isinstance(value, int) and abs(value) > SAFE_INTEGER:  # also keeps float() from overflowing
            return bad("out of range")
        return _in_range(p, float(value) if kind == "float" else value, bad, settings)
    if kind == "bool":
        return value if isinstance(value, bool) else bad("not true or false")
    if kind == "list":
        if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
            return bad("not a list of strings")
        return _items(p, value, bad)
    if not isinstance(value, str):
        return bad("not a string")
    return _from_text(p, value, problems, settings, prefix + p.name)


def _in_range(p: Param, value: float, bad, settings) -> Any:
    lo, hi = p.bounds(settings)
    if not math.isfinite(value):
        return bad("not a finite number")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        return bad("out of range")
    return value


def _items(p: Param, items: list[str], bad) -> list[str] | None:
    if any(s == "" for s in items):
        return bad("has an empty item")
    if p.enum:
        wrong = [s for s in items if s not in p.enum]
        for s in wrong:
            bad("not an allowed value", s)
        if wrong:
            return None
    if len(set(items)) != len(items):
        return bad("an item is given twice")
    return list(items)


def _datetime(raw: str, bad) -> dt.datetime | None:
    if _DATETIME.fullmatch(raw) is None:
        try:
            year = dt.datetime.fromisoformat(raw.replace("Z", "+00:00")).year
        except ValueError:
            return bad("not a date-time")
        return bad(f"the year {year} is outside 1970 to 2099" if not 1970 <= year <= 2099
                   else "not an RFC 3339 date-time")
    try:  # the pattern allows a space only in the offset's sign
        value = dt.datetime.fromisoformat(raw.replace(" ", "+").replace("Z", "+00:00"))
    except ValueError:  # the pattern checks the form; the calendar has no 30 February
        return bad("no such date")
    return value if value.tzinfo is not None else value.replace(tzinfo=DEFAULT_TZ)


def _box(parts: list[float], bad) -> tuple | None:
    min_lon, min_lat, max_lon, max_lat = parts
    if not all(math.isfinite(x) for x in parts):
        return bad("not four finite numbers")
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        return bad("not a valid box (min before max, within -180..180 and -90..90)")
    return tuple(parts)


def short_value(value: Any) -> Any:
    """A JSON value to quote in a problem: scalars as they are, containers by their text (cut)."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:40] + "…"


_BY_NAME: dict[int, tuple[Sequence[Param], dict[str, Param]]] = {}


def _by_name(specs: Sequence[Param]) -> dict[str, Param]:
    """Specs by name; kept for the module-level declarations (tuples), by identity."""
    hit = _BY_NAME.get(id(specs))
    if hit is not None and hit[0] is specs:
        return hit[1]
    table = {p.name: p for p in specs}
    if isinstance(specs, tuple) and len(_BY_NAME) < 64:
        _BY_NAME[id(specs)] = (specs, table)
    return table


# --- documenting them ---------------------------------------------------------------------------

def json_schema(p: Param, settings: Settings | None = None, *, in_query: bool = True) -> dict:
    """The JSON Schema (OpenAPI 3.0 dialect) of ``p``'s values: as a query parameter, or as a
    member of a JSON body (``in_query=False``: an empty list is allowed, null means "left out")."""
    lo, hi = p.bounds(settings)
    kind = p.kind
    if kind in ("float", "int"):
        schema: dict[str, Any] = {"type": "number" if kind == "float" else "integer"}
        if lo is not None:
            schema["minimum"] = lo
        if hi is not None:
            schema["maximum"] = hi
    elif kind == "bool":
        schema = {"type": "boolean"}
    elif kind == "datetime":
        schema = {"type": "string", "pattern": DATETIME_PATTERN}
    elif kind == "list":
        items: dict[str, Any] = {"type": "string", "enum": list(p.enum)} if p.enum else \
            {"type": "string", "minLength": 1, "pattern": "^[^,]*$"}
        schema = {"type": "array", "items": items, "uniqueItems": True, "minItems": 1 if in_query else 0}
        if p.enum:
            schema["maxItems"] = len(p.enum)
    elif kind == "bbox":
        schema = {"type": "array", "minItems": 4, "maxItems": 4,
                  "items": {"type": "number", "minimum": -180, "maximum": 180}}
    elif p.enum:
        schema = {"type": "string", "enum": list(p.enum)}
    else:
        schema = {"type": "string", "minLength": 1, "maxLength": MAX_VALUE_LENGTH}
    if p.default is not None and p.default != ():
        schema["default"] = list(p.default) if isinstance(p.default, tuple) else p.default
    if not in_query:
        schema["nullable"] = True
        if "enum" in schema:  # OpenAPI 3.0.3: nullable does not add null to an enum
            schema["enum"] = [*schema["enum"], None]
    return schema


def openapi_parameter(p: Param, settings: Settings | None = None, *, location: str = "query") -> dict:
    """The OpenAPI 3.0 Parameter Object of ``p``."""
    schema = json_schema(p, settings)
    entry: dict[str, Any] = {"name": p.name, "in": location, "required": p.required or location == "path",
                             "description": p.description, "schema": schema}
    if schema["type"] == "array":
        entry["style"], entry["explode"] = "form", False
    if p.kind == "datetime":
        entry["description"] += f" {p.allowed(settings)}."
    if p.example is not None:
        entry["example"] = p.example
    return entry
