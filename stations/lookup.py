"""Answers to "where is the closest open station with a microwave, from here?".

Library functions over a :class:`~stations.service.Snapshot`; the HTTP API is a thin
adapter around them. Positions come in and go out in the caller's coordinate system
(``wgs84``, ``gcj02`` or ``bd09``); distances are great-circle metres, times minutes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import OrderedDict
from functools import lru_cache
from typing import Any, Iterable, Mapping, NamedTuple

from .amenities import AMENITY_CODES
from .errors import Problem, ValidationError
from .mapping.status import map_status
from .navigation import VENDORS, LinkSettings, navigation_links, osm_point, osm_route
from .records import ACCESS_LABELS, DEFAULT_TIMEZONE, ENTRY_LABELS, STATUS_LABELS
from .service import Snapshot
from .travel import MODES as TRAVEL_MODES, Travel

MODES = tuple(TRAVEL_MODES)  # walk, ebike, tricycle, car
OUTPUT_CRS = ("wgs84", "gcj02", "bd09")
OPEN_FILTERS = ("now", "at", "arrival")
LANGS = ("zh", "en")
#: How much of each station a nearest answer carries: ``lean`` (what a phone's list shows)
#: or ``full`` (every public field); see :func:`nearest`.
DETAILS = ("lean", "full")


def tenths(x: float) -> float:
    """A non-negative number to the nearest tenth, halves up (``int(10x + 0.5) / 10``): what
    ``round(x, 1)`` gives but where ``10x`` lands on a half, at a fifth of its cost (answers
    carry 25 such numbers)."""
    return int(x * 10.0 + 0.5) / 10.0


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
    tz = rec.get("timezone") or DEFAULT_TIMEZONE
    props["open_status"] = dict(_open_status_at_minute(rec.get("opening_hours"), tz, lang, _minute_of(when, tz)))
    props["open_24h"] = props["open_status"]["open_24h"]


@lru_cache(maxsize=4096)
def _open_status_at_minute(oh: str | None, tz: str, lang: str, minute: int) -> dict:
    """:func:`stations.hours.open_status` at the start of a minute (hours change on whole
    minutes), kept by value: callers copy the dict before handing it out."""
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


def nearest(snapshot: Snapshot, *, lat: float, lon: float, crs: str = "wgs84", k: int = 5,
            amenities: Iterable[str] = (), open: str | None = None, at: dt.datetime | None = None,
            mode: str = "walk", max_distance_m: float | None = None, open_24h: bool | None = None,
            access: Iterable[str] | None = None, include_imprecise: bool = False, travels: Mapping[str, Travel],
            lang: str = "zh", detail: str = "lean", now: dt.datetime | None = None,
            links: LinkSettings | None = None, curation: Any = None, stale_days: float = 180.0) -> dict:
    """The ``k`` stations nearest to (``lat``, ``lon``) that pass every filter.

    Parameters
    ----------
    crs
        System of the input point and of every output position: wgs84, gcj02, bd09.
    open
        ``None`` (no opening filter), ``"now"``, ``"at"`` (open at ``at``) or ``"arrival"``
        (open when the user gets there travelling by ``mode``: now + travel time).
    mode
        Travel mode whose speed sets arrival times: walk, ebike, tricycle, car.
    travels
        One :class:`~stations.travel.Travel` per mode (speed and circuity):
        :func:`stations.travel.travels_from_settings`.
    lang
        Language of labels: zh, en.
    detail
        ``"lean"``: what a phone's list of results needs; ``"full"``: every public field of
        each station as well (see Returns).
    now
        The time of asking (default: the clock); open status and "open now" use it.
    curation
        The open reports and check dates
        (:class:`stations.accounts.overlay.CurationOverlay`), or None for answers without them.
    stale_days
        A field group not confirmed for longer is ``stale`` (the setting ``check_stale_days``).

    Returns
    -------
    dict
        ``query`` (the normalised query), ``crs``, ``count`` and ``results``, nearest first
        by great-circle distance (ties by index row). Each result has ``station_id``,
        ``name``, ``position`` (``lat``, ``lon`` in ``crs``, 7 decimals, and ``crs``),
        ``distance_m`` (to 0.1 m), ``minutes`` by mode (``distance_m * circuity / speed``, to
        0.1), ``station`` and ``navigation`` (links by vendor; OpenStreetMap's are directions
        from the user). ``station`` holds ``status``, ``address``, ``amenities`` (every code:
        yes/no/unknown), ``map_status`` (the map's colour code:
        :func:`stations.mapping.status.map_status`) and ``open_status`` (:func:`stations.hours.open_status` at the minute
        of ``now``, ``at``, or the station's arrival time). With ``detail="full"``, a result
        also has ``bearing_deg``, and ``station`` is every public property of the record
        (:func:`station_properties`: fields, amenities, labels, flags, ``open_status`` and
        ``open_24h``).

        With ``curation``, each result also has ``checked`` and ``reports`` (None when no
        recent report is open): with ``detail="lean"`` the short form of
        :meth:`~stations.accounts.overlay.CurationOverlay.public` (confirmation date per field
        group, ``stale``, ``label``, ``warning``; report ``count``, ``kinds``, ``latest_at``,
        ``label``) in ``lang``; with ``"full"`` its long form (as ``/api/v1/stations/{id}/checks``).

    Raises
    ------
    ValidationError
        Unknown ``crs``, ``mode``, ``open``, ``lang`` or ``detail``; ``open="at"`` without
        ``at``; and what :meth:`stations.index.StationIndex.nearest` refuses.
    CoordinateError
        A GCJ-02 or BD-09 point outside mainland China.

    Notes
    -----
    What an answer shows of a station apart from the request's numbers is made once per
    station and kept on the snapshot (at most :data:`STATION_VIEWS_MAX`, oldest out first);
    open status once per (hours, time zone, language, minute). Every dict of the answer is
    new: a caller may change it.
    """
    _check_query(crs=crs, open=open, at=at, mode=mode, lang=lang, detail=detail)
    now = now or dt.datetime.now(dt.timezone.utc)
    wlat, wlon = to_wgs84_point(lat=lat, lon=lon, crs=crs)
    travel = travels[mode]
    when = at if open == "at" else now if open in ("now", "arrival") else None
    hits = snapshot.index.nearest(
        lat=wlat, lon=wlon, k=k, amenities=tuple(amenities), open_at=when, open_24h=open_24h,
        access=tuple(access) if access else None, max_distance_m=max_distance_m, include_imprecise=include_imprecise,
        arrival_speed_m_s=travel.speed_m_s if open == "arrival" else None, circuity=travel.circuity)
    route_from = osm_route(osm_point(wlat, wlon), "")  # the user's end of every OpenStreetMap route
    olat, olon = positions_in(snapshot, crs) if crs != "wgs84" else (None, None)
    status_at = when or now
    # One minute of open status for every result, unless it depends on the station.
    minute = None if open == "arrival" or status_at.tzinfo is None else int(status_at.timestamp() // 60)
    links = links or LinkSettings.defaults()
    results = []
    for hit in hits:
        view = _station_view(snapshot, hit.row, links)
        if minute is None:  # the station's own arrival time, or a wall-clock time in its zone
            status_at = now + dt.timedelta(seconds=travel.seconds_for(hit.distance_m)) if open == "arrival" \
                else when
            at_minute = _minute_of(status_at, view.timezone)
        else:
            at_minute = minute
        status = dict(_open_status_at_minute(view.opening_hours, view.timezone, lang, at_minute))
        result = {"station_id": view.station_id, "name": view.name,
                  "position": ({"lat": view.lat, "lon": view.lon, "crs": crs} if crs == "wgs84" else
                               {"lat": round(float(olat[view.pos]), 7), "lon": round(float(olon[view.pos]), 7),
                                "crs": crs}),
                  "distance_m": tenths(hit.distance_m)}
        if detail == "full":
            result["bearing_deg"] = round(hit.bearing_deg, 1) + 0.0  # never -0.0
            station = _static_properties(snapshot.record(view.pos), lang=lang)
            station["open_status"] = status
            station["open_24h"] = status["open_24h"]
        else:
            station = {"status": view.status, "address": view.address, "amenities": view.amenities.copy(),
                       "map_status": map_status(view.status, status), "open_status": status}
        result["minutes"] = {code: t.minutes_to_tenth(hit.distance_m) for code, t in travels.items()}
        result["station"] = station
        if curation is not None:
            result["checked"], result["reports"] = curation.public(
                view.station_id, last_verified=view.last_verified, stale_days=stale_days, now=now,
                lang=None if detail == "full" else lang)
        result["navigation"] = navigation = dict(zip(_MARKER_VENDORS, view.links))
        navigation["osm"] = route_from + view.osm_end
        results.append(result)
    query = {"lat": lat, "lon": lon, "crs": crs, "k": k, "amenities": list(amenities), "open": open,
             "at": when.isoformat(timespec="seconds") if when else None, "mode": mode,
             "max_distance_m": max_distance_m, "include_imprecise": include_imprecise, "detail": detail}
    return {"query": query, "crs": crs, "count": len(results), "results": results}


def _check_query(*, crs: str, open: str | None, at: dt.datetime | None, mode: str, lang: str, detail: str) -> None:
    problems = []
    for name, value, allowed in (("crs", crs, OUTPUT_CRS), ("mode", mode, MODES), ("lang", lang, LANGS),
                                 ("detail", detail, DETAILS)):
        if value not in allowed:
            problems.append(Problem(name, value, f"unknown {name}", ", ".join(allowed)))
    if open not in (None, *OPEN_FILTERS):
        problems.append(Problem("open", open, "unknown opening filter", ", ".join(OPEN_FILTERS)))
    if open == "at" and at is None:
        problems.append(Problem("at", None, "open=at needs a time", "ISO 8601, e.g. 2026-11-22T21:30+08:00"))
    if problems:
        raise ValidationError.from_problems(problems, what="query")


#: Station views kept per snapshot (about 2 KB each, most of it navigation links).
STATION_VIEWS_MAX = 16384


class _StationView(NamedTuple):
    """What an answer shows of one station, apart from the request's numbers."""

    pos: int  # position in the snapshot's frame
    station_id: str
    name: str
    lat: float  # WGS-84, 7 decimals
    lon: float
    osm_end: str  # the station as the end of an OpenStreetMap route (osm_point)
    opening_hours: str | None
    timezone: str
    status: str | None
    address: str | None
    amenities: dict[str, str]  # yes/no/unknown by amenity code: one shared dict per combination, copied out
    links: tuple[str, ...]  # navigation links of _MARKER_VENDORS (OpenStreetMap's go from the user)
    last_verified: Any  # the record's date, for field groups never checked


_MARKER_VENDORS = tuple(vendor for vendor in VENDORS if vendor != "osm")


def _station_view(snapshot: Snapshot, row: int, links: LinkSettings) -> _StationView:
    """The view of the station at index ``row``, kept on the snapshot (a new import makes a new
    snapshot, so views never go stale); at most :data:`STATION_VIEWS_MAX`, oldest out first: no
    upkeep on a hit, and one pushed out is made again in some tens of microseconds."""
    key = ("nearest.views", links)
    views = snapshot.cache.get(key)
    if views is None:
        views = snapshot.cache.setdefault(key, OrderedDict())
    view = views.get(row)
    if view is None:
        view = views[row] = _new_station_view(snapshot, row, links)
        if len(views) > STATION_VIEWS_MAX:
            try:
                views.popitem(last=False)
            except KeyError:  # emptied meanwhile by another thread
                pass
    return view


_VIEW_FIELDS = ("station_id", "name", "lat", "lon", "address", "status", "opening_hours", "timezone", "last_verified",
                *(f"amenity_{code}" for code in AMENITY_CODES))


def _new_station_view(snapshot: Snapshot, row: int, links: LinkSettings) -> _StationView:
    pos = int(snapshot.located[row])
    rec = snapshot.record(pos, _VIEW_FIELDS)
    lat, lon = rec["lat"], rec["lon"]
    glat, glon = positions_in(snapshot, "gcj02")
    nav = _links(rec, links, gcj_lat=float(glat[pos]), gcj_lon=float(glon[pos]))
    values = tuple(rec.get(f"amenity_{code}") or "unknown" for code in AMENITY_CODES)
    combinations = snapshot.cache.setdefault("nearest.amenities", {})  # a few hundred in practice
    amenities = combinations.get(values)
    if amenities is None:
        amenities = combinations.setdefault(values, dict(zip(AMENITY_CODES, values)))
    return _StationView(pos, rec["station_id"], rec["name"], round(lat, 7), round(lon, 7), osm_point(lat, lon),
                        rec.get("opening_hours"), rec.get("timezone") or DEFAULT_TIMEZONE, rec.get("status"),
                        rec.get("address"), amenities, tuple(nav[vendor] for vendor in _MARKER_VENDORS),
                        rec.get("last_verified"))


def _minute_of(when: dt.datetime, timezone: str) -> int:
    """Minutes since the epoch of ``when`` (naive: wall-clock time in ``timezone``)."""
    if when.tzinfo is None:
        from zoneinfo import ZoneInfo

        when = when.replace(tzinfo=ZoneInfo(timezone))
    return int(when.timestamp() // 60)


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
    """Every station's (lat, lon) arrays in ``crs``, converted once per snapshot and cached
    (200,000 stations: 3.2 MB and a fraction of a second per system)."""
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

