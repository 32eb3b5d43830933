"""Try geocoders in order, through a cache, and build that chain from settings."""

from __future__ import annotations

import logging
import threading
from typing import Any, Iterable, Mapping

from .. import __version__
from ..errors import GeocodeError, Problem, ValidationError
from ..records import PRECISIONS, REVIEW_BELOW
from ._base import GeocodeResult, Geocoder, check_query, precision_rank
from .cache import GeocodeCache

logger = logging.getLogger(__name__)


class GeocoderChain:
    """Ask providers in order; stop at the first good-enough answer.

    Rule: the first result at ``accept_precision`` or better (default ``"street"``) is
    returned at once. Otherwise every provider is asked and the most precise result is
    returned (on a tie, the earlier provider's). A provider that raises
    :class:`~stations.errors.GeocodeError` is skipped and recorded in :attr:`last_errors`.
    When no provider answered at all (every one failed), the chain raises GeocodeError
    listing each failure; when some answered "no match" and the rest failed, it returns None.

    Parameters
    ----------
    providers : iterable of Geocoder
        Tried in this order. Names must be unique (they key the cache).
    cache : GeocodeCache or None
        Where answers of cacheable providers are looked up first and stored after.
    accept_precision : str
        Stop at the first result this precise or better; one of
        :data:`~stations.records.PRECISIONS`.

    Raises
    ------
    ValidationError
        For an empty provider list, duplicate names, an object without ``geocode`` or an
        unknown ``accept_precision``.
    """

    name = "chain"
    cacheable = False

    def __init__(self, providers: Iterable[Geocoder], *, cache: GeocodeCache | None = None,
                 accept_precision: str = REVIEW_BELOW) -> None:
        self.providers = list(providers)
        problems = []
        if not self.providers:
            problems.append(Problem("providers", [], "is empty", "at least one geocoder"))
        for p in self.providers:
            if not callable(getattr(p, "geocode", None)) or not isinstance(getattr(p, "name", None), str):
                problems.append(Problem("providers", p, "not a geocoder", "an object with .name and .geocode()"))
        names = [getattr(p, "name", None) for p in self.providers]
        for dup in sorted({n for n in names if isinstance(n, str) and names.count(n) > 1}):
            problems.append(Problem("providers", dup, "name used twice", "unique provider names"))
        if accept_precision not in PRECISIONS:
            problems.append(Problem("accept_precision", accept_precision, "not an allowed value",
                                    ", ".join(PRECISIONS)))
        if problems:
            raise ValidationError.from_problems(problems, what="geocoder chain")
        self.cache = cache
        self.accept_precision = accept_precision
        self._local = threading.local()

    @property
    def last_errors(self) -> list[tuple[str, GeocodeError]]:
        """``(provider name, error)`` for each provider that failed in this thread's last call."""
        return list(getattr(self._local, "errors", []))

    def geocode(self, address: str, *, province: str | None = None, city: str | None = None,
                county: str | None = None) -> GeocodeResult | None:
        """Geocode one address with the chain's rule (see the class docstring).

        Raises
        ------
        ValidationError
            When the address or a hint is not text.
        GeocodeError
            When every provider failed and none answered.
        """
        check_query(address, province, city, county)
        hints = {"province": province, "city": city, "county": county}
        accept = precision_rank(self.accept_precision)
        errors: list[tuple[str, GeocodeError]] = []
        self._local.errors = errors
        best: GeocodeResult | None = None
        answered = False
        for provider in self.providers:
            try:
                result = self._ask(provider, address, hints)
            except GeocodeError as exc:
                logger.info("geocoder %s failed: %s", provider.name, exc)
                errors.append((provider.name, exc))
                continue
            answered = True
            if result is None:
                continue
            if precision_rank(result.precision) <= accept:
                return result
            if best is None or precision_rank(result.precision) < precision_rank(best.precision):
                best = result
        if best is None and not answered:
            detail = "; ".join(f"{name}: {exc}" for name, exc in errors)
            raise GeocodeError(f"all {len(errors)} geocoder(s) failed for {address!r}: {detail}")
        return best

    def _ask(self, provider: Geocoder, address: str, hints: Mapping[str, str | None]) -> GeocodeResult | None:
        use_cache = self.cache is not None and getattr(provider, "cacheable", True)
        if use_cache:
            hit, result = self.cache.lookup(provider.name, address, **hints)
            if hit:
                return result
        result = provider.geocode(address, **hints)
        if use_cache:
            self.cache.store(provider.name, address, result, **hints)
        return result

    def __repr__(self) -> str:
        return f"GeocoderChain([{', '.join(p.name for p in self.providers)}], cache={self.cache!r})"


PROVIDER_CHOICES = ("nominatim", "amap", "offline")
DEFAULT_USER_AGENT = f"stations/{__version__} (outdoor-worker rest stations)"

# Settings build_chain reads: name -> (also accepted as, meaning). Other keys are ignored so
# that the whole central settings dict (stations.config.load_settings()) can be passed.
CHAIN_SETTINGS: dict[str, tuple[str | None, str]] = {
    "providers": ("geocoders", "Providers in order, a list or comma-separated text: nominatim, amap, offline "
                               "(default: offline)."),
    "cache_path": ("geocode_cache", "SQLite cache file; empty or None for no cache."),
    "timeout_s": ("geocode_timeout_s", "Timeout of one online request, seconds (default 5)."),
    "min_delay_s": ("geocode_min_interval_s", "Minimum interval between requests to one online provider, seconds "
                                              "(default: 1.0 for Nominatim, 0.35 for Amap)."),
    "nominatim_url": (None, "Base URL of a self-hosted Nominatim; required when nominatim is listed."),
    "nominatim_user_agent": (None, f"User-Agent sent to Nominatim (default {DEFAULT_USER_AGENT!r})."),
    "amap_key": (None, "Amap web-service key; required when amap is listed."),
    "amap_url": (None, "Amap geocode v3 endpoint (default https://restapi.amap.com/v3/geocode/geo)."),
}


def _setting(config: Mapping[str, Any], name: str) -> Any:
    value = config.get(name)
    alias = CHAIN_SETTINGS[name][0]
    if (value is None or value == "") and alias:
        value = config.get(alias)
    return None if value == "" else value


def _number(config: Mapping[str, Any], name: str, problems: list[Problem]) -> float | None:
    value = _setting(config, name)
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not number >= 0 or number == float("inf"):
        problems.append(Problem(name, value, "not a usable number of seconds", "a number >= 0"))
        return None
    return number


def build_chain(config: Mapping[str, Any]) -> GeocoderChain:
    """Build a :class:`GeocoderChain` (with its cache) from settings.

    Parameters
    ----------
    config : mapping
        Keys in :data:`CHAIN_SETTINGS`, e.g. ``{"providers": ["nominatim", "amap", "offline"],
        "nominatim_url": "http://127.0.0.1:8080", "amap_key": "...", "cache_path":
        "var/geocode-cache.sqlite"}``. The central settings names (``geocoders``,
        ``geocode_cache``, ``geocode_timeout_s``, ``geocode_min_interval_s``) are accepted too;
        other keys are ignored.

    Raises
    ------
    ValidationError
        Listing every problem: unknown provider names, a listed provider missing its URL or
        key, timeouts or intervals that are not numbers >= 0 (a zero timeout is then refused
        by the provider).
    """
    from .amap import DEFAULT_MIN_DELAY_S, DEFAULT_URL, AmapGeocoder
    from .nominatim import NominatimGeocoder
    from .offline import OfflineCountyGeocoder

    names = _setting(config, "providers") or ["offline"]
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    problems = [Problem("providers", n, "unknown geocoder", ", ".join(PROVIDER_CHOICES))
                for n in names if n not in PROVIDER_CHOICES]
    if "nominatim" in names and not _setting(config, "nominatim_url"):
        problems.append(Problem("nominatim_url", None, "required by the nominatim geocoder", "an http(s) URL"))
    if "amap" in names and not _setting(config, "amap_key"):
        problems.append(Problem("amap_key", None, "required by the amap geocoder", "an Amap web-service key"))
    timeout_s = _number(config, "timeout_s", problems)
    min_delay_s = _number(config, "min_delay_s", problems)
    if problems:
        raise ValidationError.from_problems(problems, what="geocoder settings")
    timeout_s = 5.0 if timeout_s is None else timeout_s
    providers: list[Any] = []
    for name in names:
        if name == "nominatim":
            providers.append(NominatimGeocoder(
                _setting(config, "nominatim_url"), timeout_s=timeout_s,
                user_agent=_setting(config, "nominatim_user_agent") or DEFAULT_USER_AGENT,
                min_delay_s=1.0 if min_delay_s is None else min_delay_s))
        elif name == "amap":
            providers.append(AmapGeocoder(
                _setting(config, "amap_key"), url=_setting(config, "amap_url") or DEFAULT_URL, timeout_s=timeout_s,
                min_delay_s=DEFAULT_MIN_DELAY_S if min_delay_s is None else min_delay_s))
        else:
            providers.append(OfflineCountyGeocoder())
    cache_path = _setting(config, "cache_path")
    return GeocoderChain(providers, cache=GeocodeCache(cache_path) if cache_path else None)
