"""What of a station leaves the service, in which shape, under which licence.

:data:`PUBLIC_FIELDS` is an allow-list: a field added to the record is not published until
it is listed here (``tests/test_opendata.py`` makes every record field be either here or in
:data:`PRIVATE_FIELDS`). Review flags, the history's reasons and import file names, and
anything in other tables of the store (users, tokens, reports) never leave.

One shape for every way out (dumps, OGC API items, the change feed): a GeoJSON Feature
(RFC 7946) whose id is the station id, whose geometry is the WGS-84 point (longitude,
latitude; null when the station has no position yet), and whose properties are the public
fields but ``lat``/``lon`` plus ``open_24h``, derived from ``opening_hours``. Nothing in it
depends on the time of asking, so a dump or a page is the same for a given revision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping

from ..amenities import AMENITY_VALUES
from ..config import Settings
from ..records import (ACCESS_VALUES, AMENITY_FIELDS, BY_NAME, DEFAULT_TIMEZONE, ENTRY_VALUES, FIELD_NAMES,
                       PRECISIONS, RAW_CRS_VALUES, STATUS_VALUES)

PUBLIC_FIELDS: tuple[str, ...] = (
    "station_id", "name", "name_en", "address", "province", "city", "county", "adcode", "lat", "lon",
    "raw_lat", "raw_lon", "raw_crs", "geocode_precision", "geocode_provider", *AMENITY_FIELDS,
    "opening_hours", "opening_hours_raw", "timezone", "access", "entry", "status", "status_reason",
    "operator", "contact", "last_verified", "notes",
)
"""Record fields that are published, in record order."""
PRIVATE_FIELDS: frozenset[str] = frozenset()
"""Record fields that are never published (none yet: the record holds station facts only)."""
PROPERTY_NAMES: tuple[str, ...] = tuple(n for n in PUBLIC_FIELDS if n not in ("lat", "lon")) + ("open_24h",)
"""A feature's properties, in order."""
CSV_COLUMNS: tuple[str, ...] = PUBLIC_FIELDS + ("open_24h",)
"""Columns of the CSV dump (the record's English field names, as ``stations export`` writes)."""

_ENUMS: dict[str, tuple[str, ...]] = {"raw_crs": RAW_CRS_VALUES, "geocode_precision": PRECISIONS,
                                      "access": ACCESS_VALUES, "entry": ENTRY_VALUES, "status": STATUS_VALUES,
                                      **{name: AMENITY_VALUES for name in AMENITY_FIELDS}}


def property_schema(name: str) -> dict:
    """JSON Schema of one feature property (title from the record's Chinese and English
    labels, type, enum, format), for the OGC queryables and OpenAPI documents."""
    if name == "open_24h":
        return {"title": "24小时开放 / Open 24 hours (derived from opening_hours)", "type": "boolean"}
    field = BY_NAME[name]
    schema: dict[str, Any] = {"title": f"{field.zh} / {field.en}",
                              "type": "number" if field.kind == "float" else "string"}
    if name in _ENUMS:
        schema["enum"] = list(_ENUMS[name])
    if field.kind == "date":
        schema["format"] = "date"
    return schema


@lru_cache(maxsize=4096)
def _open_24h(opening_hours: str | None, timezone: str) -> bool:
    from ..hours import is_24_7

    return bool(is_24_7(opening_hours, tz=timezone))


def _clean(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


_PROPERTY_FIELDS = PROPERTY_NAMES[:-1]


def public_feature(rec: Mapping[str, Any]) -> dict:
    """The published GeoJSON Feature of a record (a store, snapshot or history record)."""
    props = {}
    for name in _PROPERTY_FIELDS:  # the hot loop of a dump: inline NaN (a frame's empty cell) to None
        value = rec.get(name)
        props[name] = None if value.__class__ is float and value != value else value
    props["open_24h"] = _open_24h(props["opening_hours"], props["timezone"] or DEFAULT_TIMEZONE)
    lat, lon = _clean(rec.get("lat")), _clean(rec.get("lon"))
    geometry = None if lat is None or lon is None else {"type": "Point", "coordinates": [lon, lat]}
    return {"type": "Feature", "id": rec["station_id"], "geometry": geometry, "properties": props}


def csv_row(rec: Mapping[str, Any]) -> list:
    """One CSV dump row, for :mod:`csv` (which writes None as an empty cell and a float as
    its ``repr``, so it reads back bit for bit): the public fields, then ``open_24h``."""
    row = []
    for name in PUBLIC_FIELDS:
        value = rec.get(name)
        row.append(None if value.__class__ is float and value != value else value)
    hours, zone = rec.get("opening_hours"), rec.get("timezone")
    row.append("true" if _open_24h(hours if isinstance(hours, str) else None,
                                   zone if isinstance(zone, str) and zone else DEFAULT_TIMEZONE) else "false")
    return row


# SPDX ids of common open-data licences and their pages: a known id needs no URL setting.
KNOWN_LICENCES = {
    "CC-BY-4.0": ("Creative Commons Attribution 4.0 International", "https://creativecommons.org/licenses/by/4.0/"),
    "CC-BY-SA-4.0": ("Creative Commons Attribution-ShareAlike 4.0 International",
                     "https://creativecommons.org/licenses/by-sa/4.0/"),
    "CC0-1.0": ("Creative Commons Zero 1.0 Universal", "https://creativecommons.org/publicdomain/zero/1.0/"),
    "ODbL-1.0": ("Open Data Commons Open Database License 1.0", "https://opendatacommons.org/licenses/odbl/1-0/"),
    "PDDL-1.0": ("Open Data Commons Public Domain Dedication and License 1.0",
                 "https://opendatacommons.org/licenses/pddl/1-0/"),
}
NO_LICENCE = "No licence was set by the operator: ask before reuse."


@dataclass(frozen=True)
class DataLicence:
    """The licence and attribution of the published data, as the operator set them.

    ``licence`` is an SPDX id or a name ("" when not set), ``url`` its text, ``attribution``
    what reusers must credit.
    """

    licence: str = ""
    url: str = ""
    attribution: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> "DataLicence":
        licence = str(settings.data_licence).strip()
        url = str(settings.data_licence_url).strip() or KNOWN_LICENCES.get(licence, ("", ""))[1]
        return cls(licence=licence, url=url, attribution=str(settings.data_attribution).strip())

    @property
    def title(self) -> str:
        """The licence's full name when known, else as set."""
        return KNOWN_LICENCES.get(self.licence, (self.licence, ""))[0]

    def statement(self) -> str:
        """One line for people: the licence and whom to credit (or that none was set)."""
        if not self.licence:
            text = NO_LICENCE
        else:
            text = f"Licence: {self.title}" + (f" ({self.url})" if self.url else "") + "."
        if self.attribution:
            text += f" Attribution: {self.attribution}."
        return text

    def as_dict(self) -> dict[str, str | None]:
        return {"licence": self.licence or None, "licence_title": self.title or None, "licence_url": self.url or None,
                "attribution": self.attribution or None, "statement": self.statement()}


def check_public_fields() -> list[str]:
    """Record fields that are neither published nor declared private (should be empty)."""
    return [name for name in FIELD_NAMES if name not in PUBLIC_FIELDS and name not in PRIVATE_FIELDS]
