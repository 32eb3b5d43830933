"""How workers get to a station: travel modes, their speeds, circuity and travel time.

Straight-line travel time::

    minutes = distance_m * circuity / speed_m_per_min

Speeds (km/h), each documented; the settings ``<mode>_speed_kmh`` override them:

========  =====  ===========================================================================
mode      speed  source
========  =====  ===========================================================================
walk      4.5    DOMAIN.md: walking about 4.5-5 km/h; the lower end, since workers carry tools
tricycle  10     assumption: sanitation tricycles, between walking and an e-bike
ebike     15     DOMAIN.md: 12-18 km/h realistic city average; GB 17761-2018 caps 25 km/h
car       30     assumption: city traffic
========  =====  ===========================================================================

Circuity (road distance / straight-line distance) defaults to 1.3 (DOMAIN.md: 1.2-1.4 in
cities). One :class:`Travel` is one mode at one speed and circuity, with the catchment
minutes a planner measures (the "15-minute service circle"); :func:`travels_from_settings`
gives one per mode for the nearest-station answers. Planning with a road network
(:mod:`stations.planning.network`) uses network paths instead of circuity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import Problem, ValidationError

if TYPE_CHECKING:
    from .config import Settings


@dataclass(frozen=True)
class Mode:
    """A way of travelling to a station."""

    code: str
    speed_kmh: float
    zh: str
    en: str
    source: str
    network: str  # pyrosm network type used with a road extract
    max_speed_kmh: float


MODES: dict[str, Mode] = {
    "walk": Mode("walk", 4.5, "步行", "Walking", "DOMAIN.md: 4.5-5 km/h", "walking", 7.0),
    "ebike": Mode("ebike", 15.0, "电动自行车", "E-bike",
                  "DOMAIN.md: 12-18 km/h city average; GB 17761-2018 caps 25 km/h", "cycling", 25.0),
    "tricycle": Mode("tricycle", 10.0, "三轮车", "Tricycle",
                     "assumption: between walking and an e-bike", "cycling", 20.0),
    "car": Mode("car", 30.0, "汽车", "Car", "assumption: city traffic", "driving", 120.0),
}
_ALIASES = {"walking": "walk", "foot": "walk", "步行": "walk", "e-bike": "ebike", "e_bike": "ebike",
            "电动车": "ebike", "电动自行车": "ebike", "三轮车": "tricycle", "trike": "tricycle"}
DEFAULT_MODE = "walk"
DEFAULT_MINUTES = 15.0
DEFAULT_CIRCUITY = 1.3


def mode_code(name: str) -> str:
    """Normalise a mode name (``walk``, ``e-bike``, ``步行``...) to a key of :data:`MODES`."""
    key = str(name).strip().lower()
    key = _ALIASES.get(key, key)
    if key not in MODES:
        raise ValidationError.from_problems([Problem("mode", name, "unknown travel mode", ", ".join(MODES))],
                                            what="travel")
    return key


@dataclass(frozen=True)
class Travel:
    """How far a catchment reaches: mode, minutes, circuity and (optionally) a speed override.

    Parameters
    ----------
    mode : str
        ``walk``, ``tricycle`` or ``ebike`` (see :data:`MODES`).
    minutes : float
        Catchment, minutes (default 15: the "15-minute service circle").
    circuity : float
        Road distance / straight-line distance, 1.0-2.0 (default 1.3).
    speed_kmh : float, optional
        Override the mode's documented speed; must not exceed its cap (e-bike 25 km/h).
        After construction it always holds the speed in use.
    """

    mode: str = DEFAULT_MODE
    minutes: float = DEFAULT_MINUTES
    circuity: float = DEFAULT_CIRCUITY
    speed_kmh: float | None = None

    def __post_init__(self) -> None:
        problems = []
        try:
            object.__setattr__(self, "mode", mode_code(self.mode))
        except ValidationError as exc:
            problems.extend(exc.problems)
        if not _positive(self.minutes) or self.minutes > 240:
            problems.append(Problem("minutes", self.minutes, "out of range", "more than 0 and at most 240"))
        if not _positive(self.circuity) or not 1.0 <= self.circuity <= 2.0:
            problems.append(Problem("circuity", self.circuity, "out of range", "1.0 to 2.0 (cities: 1.2-1.4)"))
        if self.speed_kmh is not None and not problems:
            cap = MODES[self.mode].max_speed_kmh
            if not _positive(self.speed_kmh) or self.speed_kmh > cap:
                problems.append(Problem("speed_kmh", self.speed_kmh, f"out of range for {self.mode}",
                                        f"more than 0 and at most {cap:g} km/h"))
        if problems:
            raise ValidationError.from_problems(problems, what="travel")
        if self.speed_kmh is None:
            object.__setattr__(self, "speed_kmh", MODES[self.mode].speed_kmh)
        object.__setattr__(self, "speed_kmh", float(self.speed_kmh))

    @property
    def speed_m_per_min(self) -> float:
        return self.speed_kmh * 1000.0 / 60.0

    @property
    def speed_m_s(self) -> float:
        """Speed, metres per second."""
        return self.speed_kmh / 3.6

    @property
    def radius_m(self) -> float:
        """Straight-line service radius, metres: ``speed * minutes / circuity``."""
        return self.speed_m_per_min * self.minutes / self.circuity

    def minutes_for(self, distance_m: Any) -> Any:
        """Straight-line distance (m) to travel minutes: ``d * circuity / speed``."""
        return distance_m * (self.circuity / self.speed_m_per_min)

    def seconds_for(self, distance_m: Any) -> Any:
        """Straight-line distance (m) to travel seconds: ``d * circuity / speed``."""
        return distance_m * self.circuity / self.speed_m_s

    def minutes_to_tenth(self, distance_m: float) -> float:
        """:meth:`minutes_for` a straight-line distance (m), to the nearest tenth of a minute,
        halves up (``int(10 x + 0.5) / 10``, as in the nearest answers)."""
        return int(distance_m * (self.circuity / self.speed_m_s / 6.0) + 0.5) / 10.0

    def describe(self) -> str:
        m = MODES[self.mode]
        return (f"{self.minutes:g} min {m.en.lower()} at {self.speed_kmh:g} km/h, circuity {self.circuity:g} "
                f"(straight-line radius {self.radius_m:,.0f} m)")

    @classmethod
    def from_settings(cls, settings: "Settings", *, mode: str = DEFAULT_MODE,
                      minutes: float = DEFAULT_MINUTES) -> "Travel":
        """One mode at the speed and circuity of the project settings."""
        code = mode_code(mode)
        return cls(mode=code, minutes=minutes, circuity=settings.circuity,
                   speed_kmh=getattr(settings, f"{code}_speed_kmh"))


def travels_from_settings(settings: "Settings") -> dict[str, Travel]:
    """One :class:`Travel` per mode (walk, ebike, tricycle, car), in that order, from the
    settings: what :func:`stations.lookup.nearest` takes for its minutes and arrival times."""
    return {code: Travel.from_settings(settings, mode=code) for code in MODES}


def _positive(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0
