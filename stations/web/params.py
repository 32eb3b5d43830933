"""Query parameters declared once: parsed and validated from a request, and documented in OpenAPI."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence
from urllib.parse import unquote_plus

from ..errors import Problem, ValidationError

MAX_VALUE_LENGTH = 512


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # float, int, str, bool, datetime, list, bbox
    description: str
    required: bool = False
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    enum: Sequence[str] | None = None
    example: Any = None

    def allowed(self) -> str:
        if self.enum:
            return ", ".join(self.enum)
        if self.kind == "float":
            lo = "" if self.minimum is None else f"{self.minimum:g}"
            hi = "" if self.maximum is None else f"{self.maximum:g}"
            return f"a number from {lo} to {hi}" if lo and hi else "a number"
        if self.kind == "int":
            return f"an integer from {self.minimum:g} to {self.maximum:g}" if self.maximum is not None else "an integer"
        if self.kind == "bool":
            return "true or false"
        if self.kind == "datetime":
            return "ISO 8601 date-time, e.g. 2026-11-22T21:30:00+08:00 (no offset: Asia/Shanghai)"
        if self.kind == "bbox":
            return "min_lon,min_lat,max_lon,max_lat"
        return "text"


def _parse_one(p: Param, raw: str, problems: list[Problem]) -> Any:
    def bad(reason: str):
        problems.append(Problem(p.name, raw, reason, p.allowed()))

    if len(raw) > MAX_VALUE_LENGTH:
        problems.append(Problem(p.name, raw[:40] + "…", f"longer than {MAX_VALUE_LENGTH} characters", p.allowed()))
        return None
    if p.kind in ("float", "int"):
        try:
            value = float(raw) if p.kind == "float" else int(raw)
        except ValueError:
            return bad("not a number" if p.kind == "float" else "not an integer")
        if isinstance(value, float) and not math.isfinite(value):
            return bad("not a finite number")
        if (p.minimum is not None and value < p.minimum) or (p.maximum is not None and value > p.maximum):
            return bad("out of range")
        return value
    if p.kind == "bool":
        low = raw.strip().lower()
        if low in ("true", "1", "yes"):
            return True
        if low in ("false", "0", "no"):
            return False
        return bad("not a boolean")
    if p.kind == "datetime":
        try:
            value = dt.datetime.fromisoformat(raw.strip().replace("Z", "+00:00").replace(" ", "+", 1)
                                              if raw.count(" ") == 1 and "T" in raw else raw.strip().replace("Z", "+00:00"))
        except ValueError:
            return bad("not a date-time")
        if value.tzinfo is None:
            from zoneinfo import ZoneInfo

            value = value.replace(tzinfo=ZoneInfo("Asia/Shanghai"))
        return value
    if p.kind == "list":
        items = [s.strip() for s in raw.split(",") if s.strip()]
        if p.enum:
            wrong = [s for s in items if s not in p.enum]
            for s in wrong:
                problems.append(Problem(p.name, s, "not an allowed value", p.allowed()))
            if wrong:
                return None
        return items
    if p.kind == "bbox":
        try:
            parts = [float(s) for s in raw.split(",")]
        except ValueError:
            return bad("not four numbers")
        if len(parts) != 4 or not all(math.isfinite(x) for x in parts):
            return bad("not four numbers")
        min_lon, min_lat, max_lon, max_lat = parts
        if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
            return bad("not a valid box (min before max, within -180..180 and -90..90)")
        return tuple(parts)
    if p.enum and raw not in p.enum:
        return bad("not an allowed value")
    return raw


def query_args(query_string: bytes) -> dict[str, str]:
    """A request's query parameters as text, as ``urllib.parse.parse_qsl`` reads them (``+``
    and ``%XX`` decoded as UTF-8, bad bytes replaced, blank values kept); a repeated name
    keeps its first value, as ``request.args.to_dict()`` does. A quarter of their cost, for
    the usual query that needs no decoding (this runs on every nearest-station request)."""
    out: dict[str, str] = {}
    for piece in query_string.decode("utf-8", "replace").split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        if "%" in piece or "+" in piece:
            name, value = unquote_plus(name, errors="replace"), unquote_plus(value, errors="replace")
        if name not in out:
            out[name] = value
    return out


def parse(specs: Sequence[Param], args: Mapping[str, str], *, what: str = "query") -> dict[str, Any]:
    """Parse ``args`` (a request's query) by ``specs``; raise listing every problem at once.

    Unknown parameter names are problems too, so a typo (``amenity=`` for ``amenities=``)
    is not silently ignored.
    """
    problems: list[Problem] = []
    by_name = _by_name(specs)
    out: dict[str, Any] = {}
    for name, raw in args.items():
        p = by_name.get(name)
        if p is None:
            problems.append(Problem(name, raw[:40], "unknown parameter", ", ".join(sorted(by_name))))
        elif raw != "":
            out[name] = _parse_one(p, raw, problems)
    for p in specs:
        if p.name not in out:
            if p.required:
                problems.append(Problem(p.name, args.get(p.name), "is required", p.allowed()))
            out[p.name] = p.default
    if problems:
        raise ValidationError.from_problems(problems, what=what)
    return out


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


def openapi_parameters(specs: Sequence[Param]) -> list[dict]:
    types = {"float": {"type": "number"}, "int": {"type": "integer"}, "str": {"type": "string"},
             "bool": {"type": "boolean"}, "datetime": {"type": "string", "format": "date-time"},
             "list": {"type": "string", "description": "comma-separated"}, "bbox": {"type": "string"}}
    out = []
    for p in specs:
        schema = dict(types[p.kind])
        if p.minimum is not None:
            schema["minimum"] = p.minimum
        if p.maximum is not None:
            schema["maximum"] = p.maximum
        if p.enum and p.kind != "list":
            schema["enum"] = list(p.enum)
        if p.default is not None:
            schema["default"] = list(p.default) if isinstance(p.default, tuple) else p.default
        entry = {"name": p.name, "in": "query", "required": p.required, "description": p.description,
                 "schema": schema}
        if p.enum and p.kind == "list":
            entry["description"] += f" Allowed: {', '.join(p.enum)}."
        if p.example is not None:
            entry["example"] = p.example
        out.append(entry)
    return out
