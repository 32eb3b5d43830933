"""Roles and areas: who may do what where.

The union hierarchy is national -> province -> city -> county and adcodes nest by prefix
(13 Hebei, 1303 Qinhuangdao, 130322 Changli), so a staff member's area is an adcode prefix:
a city editor ``1303`` covers every county of Qinhuangdao, a county editor ``130322`` only
Changli. A province's or city's own adcode names its whole area, as staff write it: ``130000``
is read as ``13`` and ``130300`` as ``1303`` (:func:`stations.records.adcode_prefix`). ``admin`` may do everything
everywhere; ``viewer`` may only look.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import Problem, ValidationError
from ..records import adcode_prefix

ROLES = ("admin", "editor", "moderator", "viewer")
# What each role may do (inside its areas; admin everywhere).
PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"view", "verify", "moderate", "edit", "admin"}),
    "editor": frozenset({"view", "verify", "moderate", "edit"}),
    "moderator": frozenset({"view", "verify", "moderate"}),
    "viewer": frozenset({"view"}),
}
ACTIONS = ("view", "verify", "moderate", "edit", "admin")
_ADCODE_PREFIX = re.compile(r"^[1-9][0-9]{1,5}$")


@dataclass(frozen=True)
class User:
    """An account as the rest of the code sees it (never its password hash)."""

    user_id: int
    name: str
    role: str
    areas: tuple[str, ...] = ()
    disabled: bool = False
    via: str = ""  # how the request was authenticated: "session", "token:<id>", "cli"

    @property
    def source(self) -> str:
        """The batch source of this user's writes: ``workspace`` or ``api-token:<id>``."""
        if self.via.startswith("token:"):
            return "api-token:" + self.via.split(":", 1)[1]
        return "workspace" if self.via == "session" else (self.via or "cli")

    def to_dict(self) -> dict:
        return {"user_id": self.user_id, "name": self.name, "role": self.role, "areas": list(self.areas),
                "disabled": self.disabled}


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValidationError.from_problems([Problem("role", role, "not an allowed value", ", ".join(ROLES))])
    return role


def parse_areas(areas, *, role: str) -> tuple[str, ...]:
    """Adcode prefixes (2 to 6 digits). Editors, moderators and viewers need at least one; admin none."""
    if isinstance(areas, str):
        areas = [a for a in re.split(r"[,\s]+", areas) if a]
    out, problems = [], []
    for a in areas or ():
        a = str(a).strip()
        if not _ADCODE_PREFIX.match(a):
            problems.append(Problem("area", a, "not an adcode prefix", "2 to 6 digits, e.g. 13, 1303, 130322 "
                                    "(a province's or city's adcode, 130000 or 130300, covers all of it)"))
        elif (prefix := adcode_prefix(a)) not in out:
            out.append(prefix)
    if role != "admin" and not out and not problems:
        problems.append(Problem("area", None, f"a {role} needs at least one area",
                                "an adcode prefix, e.g. --area 130322"))
    if problems:
        raise ValidationError.from_problems(problems, what="areas")
    return tuple(out)


def in_areas(user: User, adcode: str | None) -> bool:
    """True when ``adcode`` lies in one of the user's areas (admin: always). A station without
    an adcode belongs to no area: only an admin may touch it."""
    if user.role == "admin":
        return True
    if not adcode:
        return False
    return any(str(adcode).startswith(a) for a in user.areas)


def may(user: User | None, action: str, adcode: str | None = None) -> bool:
    """May ``user`` do ``action`` (view, verify, moderate, edit, admin) to a station in ``adcode``?"""
    if user is None or user.disabled:
        return False
    if action not in PERMISSIONS.get(user.role, ()):
        return False
    return in_areas(user, adcode)


def may_edit(user: User | None, adcode: str | None) -> bool:
    """May ``user`` edit a station whose adcode is ``adcode``?"""
    return may(user, "edit", adcode)


def area_sql(user: User, column: str = "adcode") -> tuple[str, list[str]]:
    """A SQL condition (and its parameters) selecting the rows inside the user's areas."""
    if user.role == "admin":  # "1 = 1", not "1": PostgreSQL wants a boolean
        return "1 = 1", []
    if not user.areas:
        return "1 = 0", []
    return "(" + " OR ".join(f"{column} LIKE ?" for _ in user.areas) + ")", [a + "%" for a in user.areas]
