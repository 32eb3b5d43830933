"""All configuration in one place.

Settings come from, in increasing priority: the defaults below, an optional INI file
(``[stations]`` section, path in ``STATIONS_CONFIG``), and ``STATIONS_<NAME>`` environment
variables. They are read by :func:`load_settings`, which the CLI and ``create_app`` call —
never at import time. Every setting is documented in :data:`SETTINGS`; a test checks that
each one is also described in the README.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass
from typing import Any, Mapping


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("store", "var/stations.gpkg", "Station store: the path of its GeoPackage file."),
    Setting("geocoders", "offline", "Geocoding chain, comma-separated, tried in order: nominatim, amap, offline."),
    Setting("geocode_cache", "var/geocode-cache.sqlite", "On-disk geocoding cache (SQLite)."),
    Setting("nominatim_url", "", "Base URL of a self-hosted Nominatim, e.g. http://127.0.0.1:8080."),
    Setting("amap_key", "", "Amap (高德) web-service key for the Amap geocoder."),
    Setting("amap_url", "https://restapi.amap.com/v3/geocode/geo", "Amap geocode v3 endpoint."),
    Setting("geocode_timeout_s", 5.0, "Timeout of one online geocoding request, seconds."),
    Setting("geocode_min_interval_s", 1.0, "Minimum interval between requests to one online geocoder, seconds."),
    Setting("import_max_mb", 200.0, "Largest import file accepted, megabytes."),
    Setting("walk_speed_kmh", 4.5, "Walking speed (DOMAIN: 4.5-5 km/h; the lower end: workers carry tools)."),
    Setting("ebike_speed_kmh", 15.0, "E-bike speed (DOMAIN: 12-18 km/h city average; legal cap 25)."),
    Setting("tricycle_speed_kmh", 10.0, "Tricycle speed (assumption: between walking and e-bike)."),
    Setting("car_speed_kmh", 30.0, "Car speed in city traffic (assumption)."),
    Setting("circuity", 1.3, "Road distance / straight-line distance (DOMAIN: 1.2-1.4 in cities)."),
    Setting("max_k", 100, "Largest k a nearest query may ask for."),
    Setting("batch_max_points", 10000, "Largest number of points in one batch-nearest request."),
    Setting("page_max", 5000, "Largest page of stations in one GeoJSON response."),
    Setting("tiles", "none", "Basemap: none (local county outlines only), osm, amap, tencent, or a URL template."),
    Setting("tiles_crs", "wgs84", "Coordinate system of a custom tile URL template: wgs84 or gcj02."),
    Setting("host", "127.0.0.1", "Address `stations serve` listens on."),
    Setting("port", 8000, "Port `stations serve` listens on."),
    Setting("workers", 2, "gunicorn worker processes for `stations serve`."),
)
BY_NAME = {s.name: s for s in SETTINGS}


def _coerce(setting: Setting, value: Any) -> Any:
    kind = type(setting.default)
    if isinstance(value, kind):
        return value
    try:
        return kind(value)
    except (TypeError, ValueError):
        from .errors import ValidationError, Problem

        raise ValidationError.from_problems(
            [Problem(setting.name, value, "wrong type", f"a {kind.__name__}")], what="setting") from None


def load_settings(overrides: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None) -> dict:
    """Return the settings dict: defaults < INI file < environment < ``overrides``.

    Unknown names in ``overrides`` raise :class:`~stations.errors.ValidationError` listing
    the known ones.
    """
    from .errors import Problem, ValidationError

    env = os.environ if environ is None else environ
    out = {s.name: s.default for s in SETTINGS}
    path = env.get("STATIONS_CONFIG")
    if path:
        parser = configparser.ConfigParser()
        parser.read(path, encoding="utf-8")
        if parser.has_section("stations"):
            for key, value in parser.items("stations"):
                if key in BY_NAME:
                    out[key] = _coerce(BY_NAME[key], value)
    for s in SETTINGS:
        key = f"STATIONS_{s.name.upper()}"
        if key in env:
            out[s.name] = _coerce(s, env[key])
    bad = [k for k in (overrides or {}) if k not in BY_NAME]
    if bad:
        raise ValidationError.from_problems(
            [Problem("setting", k, "unknown setting", ", ".join(BY_NAME)) for k in bad], what="settings")
    for key, value in (overrides or {}).items():
        if value is not None:
            out[key] = _coerce(BY_NAME[key], value)
    return out


def speeds_m_s(settings: Mapping[str, Any]) -> dict[str, float]:
    """Travel speeds by mode in metres per second."""
    return {mode: float(settings[f"{mode}_speed_kmh"]) / 3.6 for mode in ("walk", "ebike", "tricycle", "car")}
