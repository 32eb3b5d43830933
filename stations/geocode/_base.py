"""What every geocoder shares: the result type, the provider interface, query checks and a rate limiter."""

from __future__ import annotations

import math
import re
import threading
import time
import unicodedata
from dataclasses import asdict, dataclass, fields
from typing import Any, Callable, Mapping, Protocol, runtime_checkable
from urllib.parse import urlsplit

from ..errors import Problem, ValidationError
from ..records import PRECISIONS, RAW_CRS_VALUES


@dataclass(frozen=True)
class GeocodeResult:
    """One geocoded position.

    Attributes
    ----------
    lat, lon : float
        WGS-84 degrees: the canonical position.
    precision : str
        How fine the position is, one of :data:`stations.records.PRECISIONS`
        (``"exact"``, ``"street"``, ``"town"``, ``"county"``, ``"city"``, ``"province"``).
        Geocoders in this package never claim ``"exact"``: the schema reserves it for a
        surveyed or GPS position given by the source, and a geocoded house number is not one.
    provider : str
        Name of the provider that answered, e.g. ``"offline-county"``, ``"nominatim"``, ``"amap"``.
    raw_lat, raw_lon : float
        The position as the provider gave it, in ``raw_crs``.
    raw_crs : str
        The provider's coordinate system, one of :data:`stations.records.RAW_CRS_VALUES`.
    province, city, county, adcode : str or None
        Administrative areas when known; ``adcode`` is the 6-digit county (or city/province) code.
    matched : str or None
        The text the provider matched (its formatted address or the recognised place names).
    level : str or None
        The provider's own granularity label (Amap ``level`` such as ``"门牌号"``, Nominatim
        ``addresstype``, or ``"county"``/``"city"``/``"province"`` offline), kept because
        ``precision`` buckets several of them together.
    """

    lat: float
    lon: float
    precision: str
    provider: str
    raw_lat: float
    raw_lon: float
    raw_crs: str
    province: str | None = None
    city: str | None = None
    county: str | None = None
    adcode: str | None = None
    matched: str | None = None
    level: str | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.precision not in PRECISIONS:
            problems.append(Problem("precision", self.precision, "not an allowed value", ", ".join(PRECISIONS)))
        if self.raw_crs not in RAW_CRS_VALUES:
            problems.append(Problem("raw_crs", self.raw_crs, "not an allowed value", ", ".join(RAW_CRS_VALUES)))
        for name, hi in (("lat", 90.0), ("lon", 180.0), ("raw_lat", 90.0), ("raw_lon", 180.0)):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or abs(v) > hi:
                problems.append(Problem(name, v, "out of range", f"a number from {-hi:g} to {hi:g}"))
        if problems:
            raise ValidationError.from_problems(problems, what="geocode result")

    def to_record_fields(self) -> dict[str, Any]:
        """The station-record fields this result fills (``lat``, ``geocode_precision``, ...)."""
        return {"lat": self.lat, "lon": self.lon, "raw_lat": self.raw_lat, "raw_lon": self.raw_lon,
                "raw_crs": self.raw_crs, "geocode_precision": self.precision,
                "geocode_provider": self.provider, "province": self.province, "city": self.city,
                "county": self.county, "adcode": self.adcode}

    def to_dict(self) -> dict[str, Any]:
        """All attributes as a JSON-ready dict (see :meth:`from_dict`)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "GeocodeResult":
        """Rebuild a result from :meth:`to_dict` output; unknown keys are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@runtime_checkable
class Geocoder(Protocol):
    """The interface every provider (and :class:`~stations.geocode.GeocoderChain`) offers.

    ``geocode`` returns a :class:`GeocodeResult`, ``None`` when the provider has no match,
    and raises :class:`~stations.errors.GeocodeError` when it fails or cannot be reached.
    ``cacheable`` says whether answers are worth keeping in a :class:`GeocodeCache`.
    """

    name: str
    cacheable: bool

    def geocode(self, address: str, *, province: str | None = None, city: str | None = None,
                county: str | None = None) -> GeocodeResult | None: ...


def precision_rank(precision: str) -> int:
    """Position of ``precision`` in :data:`~stations.records.PRECISIONS` (0 = best)."""
    return PRECISIONS.index(precision)


_SPACES = re.compile(r"\s+")


def normalise_text(text: str | None) -> str:
    """NFKC-fold (full-width digits and letters to ASCII), trim and collapse whitespace; None -> ''."""
    if text is None:
        return ""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def check_query(address: Any, province: Any, city: Any, county: Any) -> tuple[str, str, str, str]:
    """Validate one query and return its normalised parts (address, province, city, county).

    None and NaN (a pandas empty cell) count as missing. Raises
    :class:`~stations.errors.ValidationError` naming every other part that is not text.
    """
    parts, problems = [], []
    for name, value in (("address", address), ("province", province), ("city", city), ("county", county)):
        if isinstance(value, float) and math.isnan(value):
            value = None
        if not (value is None or isinstance(value, str)):
            problems.append(Problem(name, value, "not text", "a string or None"))
        parts.append(normalise_text(value) if not problems else "")
    if problems:
        raise ValidationError.from_problems(problems, what="geocode query")
    return parts[0], parts[1], parts[2], parts[3]


def compose_query(address: str, province: str, city: str, county: str) -> str:
    """Address prefixed with those hints it does not already contain, largest area first.

    Chinese addresses read from the largest area down, so ``("碣阳大街100号", "河北省",
    "", "昌黎县")`` becomes ``"河北省昌黎县碣阳大街100号"``.
    """
    prefix = "".join(h for h in (province, city, county) if h and h not in address)
    return prefix + address


def url_host(url: str) -> str:
    """The host (and port) part of ``url``, for error messages."""
    return urlsplit(url).netloc or url


class MinInterval:
    """A thread-safe minimum interval between successive calls.

    ``wait()`` blocks until at least ``interval_s`` seconds have passed since the previous
    ``wait()`` returned (callers are served one at a time). ``interval_s=0`` never waits.
    """

    def __init__(self, interval_s: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not isinstance(interval_s, (int, float)) or not math.isfinite(interval_s) or interval_s < 0:
            raise ValidationError.from_problems(
                [Problem("min_delay_s", interval_s, "not a usable interval", "a number of seconds >= 0")],
                what="rate limit")
        self.interval_s = float(interval_s)
        self._clock, self._sleep = clock, sleep  # injectable, so tests need not measure real time
        self._lock = threading.Lock()
        self._next_s = -math.inf

    def wait(self) -> None:
        """Sleep as long as needed to keep the interval, then claim the next slot."""
        if self.interval_s == 0:
            return
        with self._lock:
            delay_s = self._next_s - self._clock()
            if delay_s > 0:
                self._sleep(delay_s)
            self._next_s = self._clock() + self.interval_s


def check_timeout(timeout_s: Any) -> float:
    """Return ``timeout_s`` as a positive float or raise ValidationError naming it."""
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) \
            or not math.isfinite(timeout_s) or timeout_s <= 0:
        raise ValidationError.from_problems(
            [Problem("timeout_s", timeout_s, "not a usable timeout", "a number of seconds > 0")], what="geocoder")
    return float(timeout_s)


def gcj02_to_wgs84(*, lat: float, lon: float) -> tuple[float, float]:
    """GCJ-02 -> WGS-84 as ``(lat, lon)``, delegated to :mod:`stations.geo`.

    Outside mainland China GCJ-02 equals WGS-84 and the point comes back unchanged.
    """
    from .. import geo  # imported late: geo pulls in numpy and boundary data

    wgs_lat, wgs_lon = geo.gcj02_to_wgs84(lat=lat, lon=lon)
    return float(wgs_lat), float(wgs_lon)


def root_cause(exc: BaseException) -> str:
    """The innermost cause of a network error, as ``"Type: message"``."""
    # requests wraps urllib3 wraps socket errors; the innermost message is the useful one
    # ("Connection refused", "Name or service not known").
    inner: BaseException | None = exc
    seen = set()
    while inner is not None and id(inner) not in seen:
        seen.add(id(inner))
        nxt = inner.__cause__ or inner.__context__ or getattr(inner, "reason", None)
        if not isinstance(nxt, BaseException):
            break
        inner = nxt
    return f"{type(inner).__name__}: {inner}" if inner is not None else str(exc)
