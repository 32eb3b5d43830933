"""Answers to "where is the closest open station with a microwave, from here?".

Library functions over a :class:`~stations.service.Snapshot`; the HTTP API is a thin
adapter around them. Positions come in and go out in the caller's coordinate system
(``wgs84``, ``gcj02`` or ``bd09``); distances are great-circle metres, times minutes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Mapping, NamedTuple

import orjson

from .amenities import AMENITY_CODES
from .config import Settings
from .errors import Problem, ValidationError
from .navigation import LinkSettings, navigation_links, osm_point, osm_route
from .records import ACCESS_LABELS, ENTRY_LABELS, STATUS_LABELS
from .service import Snapshot

MODES = ("walk", "ebike", "tricycle", "car")
OUTPUT_CRS = ("wgs84", "gcj02", "bd09")
OPEN_FILTERS = ("now", "at", "arrival")


@dataclass(frozen=True)
class Travel:
    """Speeds (m/s) by mode and the circuity factor (road distance / straight line)."""

    speeds_m_s: Mapping[str, float]
    circuity: float = 1.3

    @classmethod
    def from_settings(cls, settings: Settings) -> "Travel":
        return cls(speeds_m_s=settings.speeds_m_s, circuity=settings.circuity)

    def __post_init__(self) -> None:
        # Minutes per great-circle metre, by mode: the hot path multiplies once per mode.
        per_m = {mode: self.circuity / speed / 60.0 for mode, speed in self.speeds_m_s.items()}
        object.__setattr__(self, "_min_per_m", per_m)
        object.__setattr__(self, "_factors", tuple(per_m.values()))
        # The numbers of one nearest result as JSON: "%.1f" writes the text of round(x, 1)
        # (correctly rounded), in one formatting operation per result.
        minutes = ",".join(orjson.dumps(mode).decode().replace("%", "%%") + ":%.1f" for mode in per_m)
        object.__setattr__(self, "_numbers_format",
                           ',"distance_m":%.1f,"bearing_deg":%.1f,"minutes":{' + minutes + "}")

    def minutes(self, distance_m: float, mode: str | None = None) -> dict[str, float] | float:
        """Travel minutes by mode, to a tenth: ``distance_m * circuity / speed``; one mode's
        minutes if ``mode`` is given."""
        if mode is not None:
            return round(distance_m * self._min_per_m[mode], 1)
        return {mode: round(distance_m * per_m, 1) for mode, per_m in self._min_per_m.items()}

    def numbers_json(self, distance_m: float, bearing_deg: float) -> str:
        """``,"distance_m":..,"bearing_deg":..,"minutes":{..}`` of one result, each rounded to
        a tenth as :func:`round` does."""
        return self._numbers_format % (distance_m, bearing_deg, *[distance_m * f for f in self._factors])


def to_wgs84_point(*, lat: float, lon: float, crs: str) -> tuple[float, float]:
    """One input point in ``crs`` as WGS-84; GCJ-02/BD-09 outside China raise."""
    if crs == "wgs84":
        return lat, lon
    from .geo import to_wgs84

    wlat, wlon = to_wgs84(lat, lon, crs, outside="raise")
    return float(wlat), float(wlon)


def from_wgs84_point(*, lat: float, lon: float, crs: str) -> tuple[float, float]:
    if crs == "wgs84":
        return lat, lon
    from .geo import from_wgs84

    olat, olon = from_wgs84(lat, lon, crs)
    return float(olat), float(olon)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def station_properties(rec: Mapping[str, Any], *, lang: str = "zh", when: dt.datetime | None = None) -> dict:
    """The public view of a record: fields, amenity summary, open status, labels."""
    out = _static_properties(rec, lang=lang)
    _add_open_status(out, rec, when or dt.datetime.now(dt.timezone.utc), lang)
    return out


def _add_open_status(props: dict, rec: Mapping[str, Any], when: dt.datetime, lang: str) -> None:
    tz = rec.get("timezone") or "Asia/Shanghai"
    # Hours change on whole minutes: one evaluation per (hours, zone, language, minute).
    props["open_status"] = _open_status_at_minute(rec.get("opening_hours"), tz, lang, _minute_of(when, tz))
    props["open_24h"] = props["open_status"]["open_24h"]


@lru_cache(maxsize=65536)
def _open_status_at_minute(oh: str | None, tz: str, lang: str, minute: int) -> dict:
    from .hours import open_status

    when = dt.datetime.fromtimestamp(minute * 60, dt.timezone.utc)
    return open_status(oh, when, tz, lang=lang)


def _static_properties(rec: Mapping[str, Any], *, lang: str) -> dict:
    """What of the public view does not depend on the time of asking."""
    out = {k: _clean(v) for k, v in rec.items() if k not in ("lat", "lon", "flags") and not k.startswith("amenity_")}
    out["amenities"] = {code: rec.get(f"amenity_{code}") or "unknown" for code in AMENITY_CODES}
    i = 0 if lang == "zh" else 1
    out["labels"] = {"status": STATUS_LABELS.get(rec.get("status"), ("", ""))[i],
                     "access": ACCESS_LABELS.get(rec.get("access"), ("", ""))[i],
                     "entry": ENTRY_LABELS.get(rec.get("entry"), ("", ""))[i]}
    out["flags"] = list(rec.get("flags") or [])
    return out


def position(rec: Mapping[str, Any], crs: str) -> dict | None:
    lat, lon = _clean(rec.get("lat")), _clean(rec.get("lon"))
    if lat is None or lon is None:
        return None
    olat, olon = from_wgs84_point(lat=lat, lon=lon, crs=crs)
    return {"lat": round(olat, 7), "lon": round(olon, 7), "crs": crs}


def nearest(snapshot: Snapshot, **query: Any) -> dict:
    """The ``k`` nearest stations to (``lat``, ``lon``) that pass every filter, as a dict.

    The arguments and the answer are those of :func:`nearest_json`, which the HTTP API
    sends as is.
    """
    return orjson.loads(nearest_json(snapshot, **query))


def nearest_json(snapshot: Snapshot, *, lat: float, lon: float, crs: str = "wgs84", k: int = 5,
                 amenities: Iterable[str] = (), open: str | None = None, at: dt.datetime | None = None,
                 mode: str = "walk", max_distance_m: float | None = None, open_24h: bool | None = None,
                 access: Iterable[str] | None = None, include_imprecise: bool = False, travel: Travel,
                 lang: str = "zh", now: dt.datetime | None = None, links: LinkSettings | None = None) -> bytes:
    """The ``k`` nearest stations to (``lat``, ``lon``) that pass every filter, as JSON.

    Parameters
    ----------
    crs
        System of the input point and of every output position.
    open
        ``None`` (no opening filter), ``"now"``, ``"at"`` (open at ``at``) or ``"arrival"``
        (open when the user gets there travelling by ``mode``: now + travel time).
    mode
        Travel mode whose speed sets arrival times: walk, ebike, tricycle, car.
    links
        The navigation links' settings (``baidu_src``, ``tencent_referer``); None: their
        documented defaults.

    Returns a JSON object with ``query`` (the normalised query), ``crs``, ``count`` and
    ``results`` in order of great-circle distance (ties by row). Each result: ``station_id``, ``name``,
    ``position``, ``distance_m``, ``bearing_deg``, ``minutes`` (by mode), ``station`` (its
    public properties with ``open_status`` and ``open_24h``) and ``navigation`` (links by
    vendor).

    The answer is assembled from JSON cached per station (:func:`_new_view`) and the few
    values of this request, in one buffer: microseconds per station.
    """
    problems = []
    if mode not in MODES:
        problems.append(Problem("mode", mode, "unknown travel mode", ", ".join(MODES)))
    if open not in (None, *OPEN_FILTERS):
        problems.append(Problem("open", open, "unknown opening filter", ", ".join(OPEN_FILTERS)))
    if open == "at" and at is None:
        problems.append(Problem("at", None, "open=at needs a time", "ISO 8601, e.g. 2026-11-22T21:30+08:00"))
    if problems:
        raise ValidationError.from_problems(problems, what="query")
    now = now or dt.datetime.now(dt.timezone.utc)
    wlat, wlon = to_wgs84_point(lat=lat, lon=lon, crs=crs)
    when = None
    if open == "now" or open == "arrival":
        when = now
    elif open == "at":
        when = at
    hits = snapshot.index.nearest(
        lat=wlat, lon=wlon, k=k, amenities=tuple(amenities), open_at=when, open_24h=open_24h,
        access=tuple(access) if access else None, max_distance_m=max_distance_m, include_imprecise=include_imprecise,
        arrival_speed_m_s=travel.speeds_m_s[mode] if open == "arrival" else None, circuity=travel.circuity)
    status_at = when or now
    # One open-status minute for every result, unless it depends on the station (its
    # arrival time, or its time zone for a wall-clock time).
    minute = None if open == "arrival" or status_at.tzinfo is None else int(status_at.timestamp() // 60)
    # The OpenStreetMap route up to its destination (osm_route joins the two ends with "%3B").
    route_from = b',"osm":"' + osm_route(osm_point(wlat, wlon), "").encode()
    links = links or LinkSettings.defaults()
    views = _views(snapshot, crs, lang, links)
    query = {"lat": lat, "lon": lon, "crs": crs, "k": k, "amenities": list(amenities), "open": open,
             "at": (_iso_seconds(when) if when else None), "mode": mode, "max_distance_m": max_distance_m,
             "include_imprecise": include_imprecise}
    parts = [b'{"query":', orjson.dumps(query), b',"crs":', orjson.dumps(crs),
             f',"count":{len(hits)},"results":['.encode()]
    for j, hit in enumerate(hits):
        view = views.get(hit.row)
        if view is None:
            view = _new_view(snapshot, views, hit.row, crs, lang, links)
        if minute is not None:
            at_minute = minute
        elif open == "arrival":
            at_minute = _minute_of(now + dt.timedelta(minutes=travel.minutes(hit.distance_m, mode)), view.timezone)
        else:
            at_minute = _minute_of(status_at, view.timezone)
        parts += (
            view.head_json if j == 0 else b"," + view.head_json,
            travel.numbers_json(hit.distance_m, hit.bearing_deg).encode(),
            b',"station":',
            view.station_json,
            _open_status_members(view.opening_hours, view.timezone, lang, at_minute),
            b'},"navigation":',
            view.links_json,
            # The one link that depends on the user: ASCII only, nothing to escape in JSON.
            route_from,
            view.osm_to,
            b'"}}',
        )
    parts.append(b"]}")
    return b"".join(parts)


_VIEW_CACHE_MAX = 20_000


class _View(NamedTuple):
    """What answers need of one station that does not change between requests."""

    opening_hours: str | None
    timezone: str
    osm_to: bytes  # the station as the end of an OpenStreetMap route (osm_point)
    # Serialised JSON objects left open (no closing brace), for the answer to complete:
    head_json: bytes  # '{"station_id":..,"name":..,"position":{..}'
    station_json: bytes  # the public properties, without the open status
    links_json: bytes  # the navigation links that do not depend on the user


def _views(snapshot: Snapshot, crs: str, lang: str, links: LinkSettings) -> OrderedDict:
    """The cached views of one answer's (crs, language, link settings), by index row, on the
    snapshot: a new import makes a new snapshot, so they never go stale."""
    key = ("views", crs, lang, links)
    views = snapshot.cache.get(key)
    if views is None:
        views = snapshot.cache.setdefault(key, OrderedDict())
    return views


def _new_view(snapshot: Snapshot, views: OrderedDict, row: int, crs: str, lang: str, links: LinkSettings) -> _View:
    """Make and cache the time-independent view of the station at index ``row``. Each
    (crs, language) keeps at most ``_VIEW_CACHE_MAX`` views, oldest out first: no upkeep on
    a hit, and a popular station pushed out is remade in some 50 microseconds."""
    pos = int(snapshot.located[row])
    rec = snapshot.record(pos)
    olat, olon = positions_in(snapshot, crs)
    glat, glon = positions_in(snapshot, "gcj02")
    nav = _links(rec, links, gcj_lat=float(glat[pos]), gcj_lon=float(glon[pos]))
    del nav["osm"]  # directions from the user: per request
    head = {"station_id": rec["station_id"], "name": rec["name"],
            "position": {"lat": round(float(olat[pos]), 7), "lon": round(float(olon[pos]), 7), "crs": crs}}
    view = _View(rec.get("opening_hours"), rec.get("timezone") or "Asia/Shanghai",
                 osm_point(rec["lat"], rec["lon"]).encode(), orjson.dumps(head)[:-1],
                 orjson.dumps(_static_properties(rec, lang=lang), default=str)[:-1], orjson.dumps(nav)[:-1])
    views[row] = view
    while len(views) > _VIEW_CACHE_MAX:
        try:
            views.popitem(last=False)
        except KeyError:
            break
    return view


_last_iso: tuple[float, dt.tzinfo | None, str] = (math.nan, None, "")


def _iso_seconds(when: dt.datetime) -> str:
    """ISO 8601 to the second; "now" (many requests a second) is formatted once a second."""
    global _last_iso
    second = when.timestamp() // 1 if when.tzinfo is not None else math.nan
    last = _last_iso
    if last[0] == second and last[1] is when.tzinfo:
        return last[2]
    text = when.isoformat(timespec="seconds")
    if second == second:  # not NaN: aware, cacheable
        _last_iso = (second, when.tzinfo, text)
    return text


def _minute_of(when: dt.datetime, timezone: str) -> int:
    """Minutes since the epoch of ``when`` (naive: wall-clock time in ``timezone``)."""
    if when.tzinfo is None:
        from zoneinfo import ZoneInfo

        when = when.replace(tzinfo=ZoneInfo(timezone))
    return int(when.timestamp() // 60)


@lru_cache(maxsize=65536)
def _open_status_members(oh: str | None, tz: str, lang: str, minute: int) -> bytes:
    """``,"open_status":{...},"open_24h":...`` to close a station's properties: one
    evaluation per (hours, zone, language, minute)."""
    status = _open_status_at_minute(oh, tz, lang, minute)
    return b',"open_status":' + orjson.dumps(status) + b',"open_24h":' + orjson.dumps(status["open_24h"])


def _links(rec: Mapping[str, Any], links: LinkSettings, **gcj: float) -> dict:
    """A record's navigation links (``gcj_lat``/``gcj_lon``: its GCJ-02 position, if known)."""
    return navigation_links(lat=rec["lat"], lon=rec["lon"], name=rec.get("name") or "", address=rec.get("address"),
                            baidu_src=links.baidu_src, tencent_referer=links.tencent_referer, **gcj)


def feature(rec: Mapping[str, Any], *, crs: str = "wgs84", lang: str = "zh", when: dt.datetime | None = None,
            links: LinkSettings | None = None) -> dict:
    """A GeoJSON Feature for the API (geometry in ``crs``; RFC 7946 readers expect wgs84).
    ``links``: the navigation links' settings (None: their documented defaults)."""
    pos = position(rec, crs)
    geom = {"type": "Point", "coordinates": [pos["lon"], pos["lat"]]} if pos else None
    props = station_properties(rec, lang=lang, when=when)
    if pos:
        props["navigation"] = _links(rec, links or LinkSettings.defaults())
    return {"type": "Feature", "id": rec["station_id"], "geometry": geom, "properties": props}


def positions_in(snapshot: Snapshot, crs: str):
    """Every station's (lat, lon) arrays in ``crs``, converted once per snapshot and cached."""
    frame = snapshot.frame
    if crs == "wgs84":
        return frame["lat"].to_numpy(), frame["lon"].to_numpy()
    key = ("positions", crs)
    if key not in snapshot.cache:
        from .geo import from_wgs84

        snapshot.cache[key] = from_wgs84(frame["lat"].to_numpy(), frame["lon"].to_numpy(), crs)
    return snapshot.cache[key]


def select(snapshot: Snapshot, *, bbox: tuple[float, float, float, float] | None = None, crs: str = "wgs84",
           amenities: Iterable[str] = (), statuses: Iterable[str] | None = ("open", "temporarily_closed"),
           county: str | None = None) -> list[int]:
    """Positions in the snapshot's frame of the stations that match, in station-id order.

    ``bbox`` is (min_lon, min_lat, max_lon, max_lat) in ``crs``.
    """
    import numpy as np

    frame = snapshot.frame
    mask = np.ones(len(frame), bool)
    if statuses is not None:
        mask &= frame["status"].isin(list(statuses)).to_numpy()
    for code in amenities:
        mask &= (frame[f"amenity_{code}"] == "yes").to_numpy()
    if county:
        mask &= frame["county"].fillna("").str.contains(county, regex=False).to_numpy()
    if bbox is not None:
        min_lon, min_lat, max_lon, max_lat = bbox
        olat, olon = positions_in(snapshot, crs)
        with np.errstate(invalid="ignore"):
            mask &= (olon >= min_lon) & (olon <= max_lon) & (olat >= min_lat) & (olat <= max_lat)
    return list(np.flatnonzero(mask))

