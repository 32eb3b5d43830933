"""Which stations count in a scenario: in service, positioned, open at an hour, with an amenity.

A station counts when all of these hold (each exclusion is recorded with its reason):

- it has a position (``lat``/``lon``, WGS-84);
- its ``status`` is ``open`` (``temporarily_closed`` and ``removed`` stations do not count);
- its position is precise enough to plan with: ``geocode_precision`` ``exact`` or ``street``
  (a county centre is not a station's position — DOMAIN.md). A frame without a
  ``geocode_precision`` column is taken as precise, with a note;
- with ``at``: its ``opening_hours`` say open at that time (``stations.hours.state_at``);
  hours that are missing or cannot be evaluated are *unknown* and do not count unless
  ``count_unknown=True`` — a night map must not promise a door that may be shut;
- with ``amenity``: ``amenity_<code>`` is ``yes`` (``unknown`` counts only with
  ``count_unknown=True``).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from ..errors import Problem, ValidationError

PRECISE = ("exact", "street")


@dataclass
class StationSet:
    """The stations of one scenario.

    ``frame`` has one row per input station with ``station_id``, ``name``, ``lat``, ``lon``,
    ``counted`` (bool) and ``reason`` (why it does not count, empty when it does).
    ``lat``/``lon`` arrays hold the counted stations only, in ``frame`` order.
    """

    frame: pd.DataFrame
    label: str = "all stations"
    notes: list[str] = field(default_factory=list)

    @property
    def counted(self) -> pd.DataFrame:
        return self.frame[self.frame["counted"]]

    @property
    def lat(self) -> np.ndarray:
        return self.counted["lat"].to_numpy(float)

    @property
    def lon(self) -> np.ndarray:
        return self.counted["lon"].to_numpy(float)

    def __len__(self) -> int:
        return int(self.frame["counted"].sum())


def stations_frame(stations: Any) -> pd.DataFrame:
    """Normalise stations given as a DataFrame, GeoDataFrame or iterable of record dicts.

    Returns a copy with numeric ``lat``/``lon`` (NaN where missing or unparsable) and a
    ``station_id`` (the row number when absent).
    """
    if isinstance(stations, pd.DataFrame):
        df = stations.copy()
    elif isinstance(stations, Mapping):
        df = pd.DataFrame([stations])
    elif isinstance(stations, Iterable):
        df = pd.DataFrame(list(stations))
    else:
        raise ValidationError.from_problems([Problem("stations", type(stations).__name__, "not a table of stations",
                                                     "a DataFrame or a list of station records")])
    if hasattr(df, "geometry") and ("lat" not in df.columns or "lon" not in df.columns):
        gdf = df if df.crs is None else df.to_crs(4326)
        df["lon"] = gdf.geometry.x
        df["lat"] = gdf.geometry.y
    for col in ("lat", "lon"):
        if col not in df.columns:
            df[col] = np.nan
        df[col] = pd.to_numeric(df[col], errors="coerce")
    if "station_id" not in df.columns:
        df["station_id"] = [str(i + 1) for i in range(len(df))]
    if "name" not in df.columns:
        df["name"] = df["station_id"].astype(str)
    df = pd.DataFrame(df.drop(columns=[c for c in ("geometry",) if c in df.columns]))
    return df.reset_index(drop=True)


def _amenity_column(amenity: str) -> tuple[str, str]:
    from ..amenities import AMENITY_CODES, amenity_code

    code = amenity_code(amenity)
    if code is None:
        raise ValidationError.from_problems([Problem("amenity", amenity, "unknown amenity",
                                                     ", ".join(AMENITY_CODES))], what="coverage query")
    return code, f"amenity_{code}"


def scenario_label(*, at: _dt.datetime | None = None, amenity: str | None = None) -> str:
    parts = []
    if at is not None:
        parts.append(f"open at {at:%Y-%m-%d %H:%M}")
    if amenity is not None:
        parts.append(f"with {_amenity_column(amenity)[0]}")
    return ", ".join(parts) if parts else "all stations"


def select_stations(stations: Any, *, at: _dt.datetime | None = None, amenity: str | None = None,
                    count_unknown: bool = False, include_imprecise: bool = False) -> StationSet:
    """Mark which stations count in a scenario (see the module docstring for the rules).

    Parameters
    ----------
    stations
        Station records (DataFrame, GeoDataFrame or list of dicts) in the
        :mod:`stations.records` schema. Only ``lat``, ``lon`` are required.
    at : datetime, optional
        Count only stations open then. A naive datetime is local time in each station's
        ``timezone`` (default Asia/Shanghai); an aware one is converted to it.
    amenity : str, optional
        Count only stations with this amenity (a code, Chinese name or alias, e.g.
        ``toilet`` / ``厕所``).
    count_unknown : bool
        Count stations whose hours or amenity are unknown (default: they do not count).
    include_imprecise : bool
        Count positions coarser than street level (default: they do not count).
    """
    df = stations_frame(stations)
    reason = pd.Series([""] * len(df), index=df.index, dtype=object)
    notes: list[str] = []

    def exclude(mask: pd.Series, why: str) -> None:
        nonlocal reason
        fresh = mask & (reason == "")
        reason = reason.where(~fresh, why)

    exclude(df["lat"].isna() | df["lon"].isna() | ~df["lat"].between(-90, 90) | ~df["lon"].between(-180, 180),
            "no position")
    if "status" in df.columns:
        status = df["status"].fillna("open").astype(str)
        exclude(status != "open", "status " + status)
    if "geocode_precision" in df.columns:
        if not include_imprecise:
            prec = df["geocode_precision"].astype(object).where(df["geocode_precision"].notna(), None)
            exclude(~prec.isin(PRECISE), "position precision " + prec.fillna("missing").astype(str))
    elif len(df):
        notes.append("no geocode_precision column: every position is taken as precise")
    if amenity is not None:
        code, col = _amenity_column(amenity)
        values = df[col].fillna("unknown").astype(str) if col in df.columns else pd.Series("unknown", index=df.index)
        ok = values.eq("yes") | (values.eq("unknown") if count_unknown else False)
        exclude(~ok, f"{code}: " + values)
        if col not in df.columns:
            notes.append(f"no {col} column: every station's {code} is unknown")
    if at is not None:
        states = _states_at(df, at)
        ok = states.eq("open") | (states.eq("unknown") if count_unknown else False)
        exclude(~ok, f"{at:%H:%M}: " + states)
    df["counted"] = reason.eq("")
    df["reason"] = reason
    label = scenario_label(at=at, amenity=amenity)
    n_unknown = int(reason.str.endswith(": unknown").sum())
    if n_unknown:
        notes.append(f"{n_unknown} station(s) with unknown hours or amenity not counted"
                     if not count_unknown else "")
    notes = [n for n in notes if n]
    return StationSet(frame=df, label=label, notes=notes)


def _states_at(df: pd.DataFrame, at: _dt.datetime) -> pd.Series:
    from .. import hours  # a colleague's module: imported only when an hour is asked for

    from ..records import DEFAULT_TIMEZONE

    oh = df["opening_hours"] if "opening_hours" in df.columns else pd.Series([None] * len(df), index=df.index)
    tz = df["timezone"] if "timezone" in df.columns else pd.Series([None] * len(df), index=df.index)
    cache: dict[tuple[Any, str], str] = {}
    out = []
    for value, zone in zip(oh, tz):
        zone = zone if isinstance(zone, str) and zone else DEFAULT_TIMEZONE
        if value is None or (isinstance(value, float) and value != value) or not str(value).strip():
            out.append("unknown")
            continue
        key = (value, zone)
        if key not in cache:
            try:
                cache[key] = str(hours.state_at(str(value), at, zone))
            except ValueError:
                cache[key] = "unknown"
        out.append(cache[key])
    return pd.Series(out, index=df.index, dtype=object)
