"""One error family for the whole library.

Every error names the bad value and what is allowed. All subclass :class:`ValueError`
so callers can still catch the built-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input value.

    ``field`` is the field or parameter name, ``value`` the offending value (as given),
    ``allowed`` a short human description of what would have been accepted, and
    ``row`` the 1-based data row number in a source file when there is one (the header
    is not counted).
    """

    field: str
    value: Any
    reason: str
    allowed: str = ""
    row: int | None = None

    def __post_init__(self) -> None:
        # numpy scalars (np.float64(95.0)) print and serialise as plain Python numbers.
        if hasattr(self.value, "item") and getattr(self.value, "ndim", 1) == 0:
            object.__setattr__(self, "value", self.value.item())
        if self.row is not None and hasattr(self.row, "item"):
            object.__setattr__(self, "row", int(self.row))

    def __str__(self) -> str:
        where = f"row {self.row}: " if self.row is not None else ""
        allowed = f" (allowed: {self.allowed})" if self.allowed else ""
        return f"{where}{self.field}={self.value!r}: {self.reason}{allowed}"

    def as_dict(self) -> dict[str, Any]:
        out = {"field": self.field, "value": _jsonable(self.value), "reason": self.reason}
        if self.allowed:
            out["allowed"] = self.allowed
        if self.row is not None:
            out["row"] = self.row
        return out


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


class StationsError(ValueError):
    """Base class of every error this library raises on bad input."""

    def __init__(self, message: str, problems: Iterable[Problem] = ()):  # noqa: D107
        self.problems: list[Problem] = list(problems)
        super().__init__(message)


class ValidationError(StationsError):
    """A record (or query) has one or more invalid values; ``problems`` lists them all."""

    @classmethod
    def from_problems(cls, problems: Iterable[Problem], what: str = "record") -> "ValidationError":
        problems = list(problems)
        detail = "; ".join(str(p) for p in problems)
        return cls(f"invalid {what}: {detail}", problems)


class ImportFileError(StationsError):
    """A whole input file cannot be read (encoding, format, missing columns, empty...)."""


class CoordinateError(StationsError):
    """A coordinate or coordinate-system name is invalid for the requested operation."""


class GeocodeError(StationsError):
    """A geocoding provider failed or is unreachable: an upstream failure, not the caller's
    input (the API answers 502)."""


class NotFoundError(StationsError):
    """A station (or other named thing) does not exist."""


class StoreError(StationsError):
    """The station store cannot be opened or written: a failure on the server's side, not the
    caller's input (the API answers 503)."""
