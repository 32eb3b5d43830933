"""All configuration in one place: one typed :class:`Settings` object.

Settings come from, in increasing priority: the defaults below, an optional INI file
(``[stations]`` section, path in ``STATIONS_CONFIG``), ``STATIONS_<NAME>`` environment
variables and the caller's overrides. :func:`load_settings` builds the object once — the CLI
and ``create_app`` call it, never at import time — and it is handed down to the app, the
service, the index and the CLI commands, which read its attributes (``settings.max_k``).
Nothing else repeats a default: speeds, modes, circuity, time zone and limits live here.

Every setting is documented by its field's ``help``; a test checks that each one is also
described in the README. ``Settings`` is also a read-only mapping (``settings["max_k"]``), so
code that takes a plain mapping of options (the geocoder chain) can be given it.
"""

from __future__ import annotations

import configparser
import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Iterator

from .errors import Problem, ValidationError
from .records import DEFAULT_TIMEZONE
from .travel import DEFAULT_CIRCUITY, MODES


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings(Mapping):
    """The service's settings (see the README's settings table)."""

    store: str = _setting("var/stations.gpkg", "Station store: the path of its GeoPackage file, or a PostGIS database URL "
                                                   "(postgresql://user@host:port/db).")
    geocoders: str = _setting("offline", "Geocoding chain, comma-separated, tried in order: nominatim, amap, offline.")
    geocode_cache: str = _setting("var/geocode-cache.sqlite", "On-disk geocoding cache (SQLite).")
    nominatim_url: str = _setting("", "Base URL of a self-hosted Nominatim, e.g. http://127.0.0.1:8080.")
    amap_key: str = _setting("", "Amap (高德) web-service key for the Amap geocoder.")
    amap_url: str = _setting("https://restapi.amap.com/v3/geocode/geo", "Amap geocode v3 endpoint.")
    geocode_timeout_s: float = _setting(5.0, "Timeout of one online geocoding request, seconds.")
    geocode_min_interval_s: float = _setting(1.0, "Minimum interval between requests to one online geocoder, seconds.")
    import_max_mb: float = _setting(200.0, "Largest import file accepted, megabytes.")
    walk_speed_kmh: float = _setting(MODES["walk"].speed_kmh, "Walking speed, km/h (" + MODES["walk"].source + ").")
    ebike_speed_kmh: float = _setting(MODES["ebike"].speed_kmh, "E-bike speed, km/h (" + MODES["ebike"].source + ").")
    tricycle_speed_kmh: float = _setting(MODES["tricycle"].speed_kmh,
                                         "Tricycle speed, km/h (" + MODES["tricycle"].source + ").")
    car_speed_kmh: float = _setting(MODES["car"].speed_kmh, "Car speed, km/h (" + MODES["car"].source + ").")
    circuity: float = _setting(DEFAULT_CIRCUITY, "Road distance / straight-line distance (DOMAIN: 1.2-1.4 in cities).")
    timezone: str = _setting(DEFAULT_TIMEZONE, "Time zone of stations and of times given without an offset.")
    max_k: int = _setting(100, "Largest k a nearest query may ask for.")
    batch_max_points: int = _setting(10000, "Largest number of points in one batch-nearest request.")
    batch_max_results: int = _setting(100000, "Largest batch-nearest answer: points × k results.")
    page_max: int = _setting(5000, "Largest page of stations in one GeoJSON response.")
    tiles: str = _setting("none", "Basemap: none (local county outlines only), osm, amap, tencent, or a URL template.")
    tiles_crs: str = _setting("wgs84", "Coordinate system of a custom tile URL template: wgs84 or gcj02.")
    baidu_src: str = _setting("webapp.stations.locator",
                              "Baidu navigation links' src (required by Baidu): webapp.<organisation>.<app>.")
    tencent_referer: str = _setting("stations", "Tencent navigation links' referer (required by Tencent): the app's name.")
    host: str = _setting("127.0.0.1", "Address `stations serve` listens on.")
    port: int = _setting(8000, "Port `stations serve` listens on.")
    workers: int = _setting(2, "Worker processes for `stations serve`.")
    check_stale_days: float = _setting(180.0, "A field group not confirmed for this many days is due for a re-check "
                                              "(the locator warns; staff see it in their due list).")
    reports_per_hour: int = _setting(10, "Workers' reports accepted from one client per hour (more get 429).")
    login_attempts_per_hour: int = _setting(20, "Workspace login attempts accepted from one client per hour.")
    store_pool_size: int = _setting(4, "Most database connections one worker process holds for requests (PostGIS; "
                                       "its refresher holds one more): workers × (store_pool_size + 1) × instances "
                                       "must stay under the server's max_connections.")
    refresh_s: float = _setting(0.25, "Seconds between two checks of the store by each worker process for what was "
                                     "written (by another worker, instance or the CLI): a write is served within this "
                                     "plus a build.")
    data_licence: str = _setting("", "Licence of the published data set (SPDX id such as CC-BY-4.0, ODbL-1.0, CC0-1.0, "
                                     "or a name); empty: the dumps and /ogc say no licence was set.")
    data_licence_url: str = _setting("", "URL of the licence text; empty: the SPDX licence's own page when "
                                         "data_licence is a known id.")
    data_attribution: str = _setting("", "Attribution that reusers must give, e.g. 某某市总工会; shown in the dumps' "
                                         "metadata, on /ogc and in /embed.")
    opendata_dir: str = _setting("", "Folder for the open-data dump files (one set per revision); empty: an "
                                      "`opendata` folder next to the store.")
    changes_keep_days: float = _setting(0.0, "Days of changes /api/v1/changes serves; an older `since` gets 410 and "
                                             "must reload a dump (0: every change since the store began).")
    embed_origins: str = _setting("", "Origins allowed to show /embed in a frame, space-separated "
                                      "(https://example.org https://*.example.org); the service's own origin always "
                                      "may. Empty: only its own.")
    proxy_hops: int = _setting(0, "Reverse proxies in front of the service whose X-Forwarded-For/-Proto/-Host headers "
                                  "are trusted (0: none; a client's own X-Forwarded-For is then ignored). Rate "
                                  "limits count the client address they give.")

    # A read-only mapping of the same values, for code that takes options as a mapping.
    def __getitem__(self, name: str) -> Any:
        if name not in BY_NAME:
            raise KeyError(name)
        return getattr(self, name)

    def __iter__(self) -> Iterator[str]:
        return iter(BY_NAME)

    def __len__(self) -> int:
        return len(BY_NAME)

    def replace(self, **changes: Any) -> "Settings":
        """A copy with ``changes`` (checked and coerced like any other source)."""
        return _build({**dict(self), **changes}, source="setting")

    @property
    def speeds_m_s(self) -> dict[str, float]:
        """Travel speeds by mode (walk, ebike, tricycle, car) in metres per second."""
        return {mode: getattr(self, f"{mode}_speed_kmh") / 3.6 for mode in MODES}


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    kind: type


SETTINGS: tuple[Setting, ...] = tuple(
    Setting(f.name, f.default, f.metadata["help"], type(f.default)) for f in dataclasses.fields(Settings))
BY_NAME = {s.name: s for s in SETTINGS}


def _coerce(setting: Setting, value: Any, problems: list[Problem]) -> Any:
    kind = setting.kind
    if isinstance(value, kind) and not isinstance(value, bool):
        return value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return kind(value.strip())
        except ValueError:
            pass
    problems.append(Problem(setting.name, value, "wrong type", f"a {kind.__name__}"))
    return setting.default


def _build(values: Mapping[str, Any], *, source: str) -> Settings:
    problems: list[Problem] = []
    unknown = [k for k in values if k not in BY_NAME]
    problems += [Problem(source, k, "unknown setting", ", ".join(BY_NAME)) for k in unknown]
    typed = {k: _coerce(BY_NAME[k], v, problems) for k, v in values.items() if k in BY_NAME}
    for name in ("max_k", "batch_max_points", "batch_max_results", "page_max", "workers", "reports_per_hour",
                 "login_attempts_per_hour", "store_pool_size"):
        if name in typed and typed[name] < 1:
            problems.append(Problem(name, typed[name], "out of range", "a whole number >= 1"))
    if "import_max_mb" in typed and not typed["import_max_mb"] > 0:
        problems.append(Problem("import_max_mb", typed["import_max_mb"], "out of range", "a number > 0"))
    for mode in MODES.values():
        name = f"{mode.code}_speed_kmh"
        if name in typed and not 0 < typed[name] <= mode.max_speed_kmh:
            problems.append(Problem(name, typed[name], "out of range", f"more than 0 and at most {mode.max_speed_kmh:g}"))
    if "circuity" in typed and not 1.0 <= typed["circuity"] <= 2.0:
        problems.append(Problem("circuity", typed["circuity"], "out of range", "1.0 to 2.0 (cities: 1.2-1.4)"))
    if "proxy_hops" in typed and not 0 <= typed["proxy_hops"] <= 5:
        problems.append(Problem("proxy_hops", typed["proxy_hops"], "out of range", "a whole number from 0 to 5"))
    if "refresh_s" in typed and not 0.05 <= typed["refresh_s"] <= 60:
        problems.append(Problem("refresh_s", typed["refresh_s"], "out of range", "0.05 to 60 seconds"))
    if "changes_keep_days" in typed and not typed["changes_keep_days"] >= 0:
        problems.append(Problem("changes_keep_days", typed["changes_keep_days"], "out of range", "a number >= 0"))
    if "embed_origins" in typed:
        problems += [Problem("embed_origins", origin, "not an origin", "scheme://host[:port], the host may start "
                             "with *. (e.g. https://*.example.org)") for origin in bad_origins(typed["embed_origins"])]
    if problems:
        raise ValidationError.from_problems(problems, what="settings")
    return Settings(**typed)


_ORIGIN = re.compile(r"^https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?$")


def bad_origins(text: str) -> list[str]:
    """The entries of a space-separated origin list (``embed_origins``) that are not
    ``scheme://host[:port]`` origins: what could not go into a CSP ``frame-ancestors``."""
    return [origin for origin in text.replace(",", " ").split() if not _ORIGIN.match(origin)]


def load_settings(overrides: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings: defaults < INI file < environment < ``overrides`` (``None`` values skipped).

    Raises :class:`~stations.errors.ValidationError` naming every unknown setting (with the
    known ones) and every value of the wrong type or out of range.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    path = env.get("STATIONS_CONFIG")
    if path:
        parser = configparser.ConfigParser()
        parser.read(path, encoding="utf-8")
        if parser.has_section("stations"):
            values.update({k: v for k, v in parser.items("stations") if k in BY_NAME})
    values.update({s.name: env[f"STATIONS_{s.name.upper()}"] for s in SETTINGS if f"STATIONS_{s.name.upper()}" in env})
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return _build(values, source="setting")
