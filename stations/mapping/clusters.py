"""Server-side clusters for national and provincial map views, vectorised with numpy.

Drawing 130,000 markers froze a browser for minutes (DOMAIN, "Maps: facts measured"); a page
that asks for what is in view, clustered on the server, stays usable in well under a second.
At zoom ``z`` the stations are binned on a grid of :data:`CELL_PX`-pixel cells in Web
Mercator pixel space (the grid Leaflet draws in), each cell becoming one cluster at the mean
position of its stations, with its count, its bounding box and its count per map status. A
cell holding one station is sent as that station. Above :data:`MAX_CLUSTER_ZOOM`, or when a
view holds at most :data:`MAX_POINTS` stations, stations are sent one by one.

:class:`MapIndex` holds one snapshot's arrays (positions per coordinate system, amenities,
statuses per minute) and caches the clusters of each zoom and filter, so a pan at the same
zoom costs a bounding-box test. The service keeps one index per snapshot revision.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from ..amenities import AMENITY_CODES
from ..errors import Problem, ValidationError
from .status import STATUS_CODES, map_status_codes

TILE_PX = 256
CELL_PX = 64
MAX_CLUSTER_ZOOM = 15
MAX_POINTS = 1500
MAX_ZOOM = 20
CACHE_ENTRIES = 256
MAX_LAT = 85.05112878


def mercator_px(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Web Mercator pixel coordinates at zoom 0 (a 256 px world), x to the east, y to the south."""
    lat = np.clip(np.asarray(lat, float), -MAX_LAT, MAX_LAT)
    x = (np.asarray(lon, float) + 180.0) / 360.0 * TILE_PX
    s = np.sin(np.radians(lat))
    y = (0.5 - np.log((1 + s) / (1 - s)) / (4 * math.pi)) * TILE_PX
    return x, y


@dataclass(frozen=True)
class Clusters:
    """Grid clusters of some points at one zoom; arrays have one entry per non-empty cell.

    ``member`` is the index (into the clustered points) of one member: for a cell of one
    point, that point. ``by_status`` has shape (cells, len(STATUS_CODES)).
    """

    lat: np.ndarray
    lon: np.ndarray
    count: np.ndarray
    min_lat: np.ndarray
    min_lon: np.ndarray
    max_lat: np.ndarray
    max_lon: np.ndarray
    by_status: np.ndarray
    member: np.ndarray

    def __len__(self) -> int:
        return len(self.count)


def grid_clusters(lat: np.ndarray, lon: np.ndarray, status: np.ndarray, zoom: int, *,
                  cell_px: int = CELL_PX) -> Clusters:
    """Bin points on a ``cell_px`` grid at ``zoom`` (see the module notes).

    Parameters
    ----------
    lat, lon : numpy.ndarray
        Degrees, in the system the map draws in (NaN not allowed: drop them first).
    status : numpy.ndarray of int
        Index into :data:`STATUS_CODES` per point.
    zoom : int
        Map zoom, 0 or more.

    Returns
    -------
    Clusters
        Ordered by cell (row-major from the north-west): deterministic for equal input.
    """
    n = len(lat)
    if n == 0:
        e = np.empty(0)
        return Clusters(e, e, np.empty(0, np.int64), e, e, e, e, np.empty((0, len(STATUS_CODES)), np.int64),
                        np.empty(0, np.int64))
    x, y = mercator_px(lat, lon)
    scale = float(2 ** zoom) / cell_px
    cx = np.floor(x * scale).astype(np.int64)
    cy = np.floor(y * scale).astype(np.int64)
    key = cy * (2 ** (zoom + 1) * TILE_PX // cell_px + 1) + cx
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    count = np.diff(np.r_[starts, n])
    lat_s, lon_s = lat[order], lon[order]
    mean_lat = np.add.reduceat(lat_s, starts) / count
    mean_lon = np.add.reduceat(lon_s, starts) / count
    cell_of = np.repeat(np.arange(len(starts)), count)
    by_status = np.zeros((len(starts), len(STATUS_CODES)), np.int64)
    np.add.at(by_status, (cell_of, status[order].astype(np.int64)), 1)
    return Clusters(lat=mean_lat, lon=mean_lon, count=count,
                    min_lat=np.minimum.reduceat(lat_s, starts), min_lon=np.minimum.reduceat(lon_s, starts),
                    max_lat=np.maximum.reduceat(lat_s, starts), max_lon=np.maximum.reduceat(lon_s, starts),
                    by_status=by_status, member=order[starts])


def _in_box(lat: np.ndarray, lon: np.ndarray, bbox: Sequence[float]) -> np.ndarray:
    min_lon, min_lat, max_lon, max_lat = bbox
    return (lon >= min_lon) & (lon <= max_lon) & (lat >= min_lat) & (lat <= max_lat)


class MapIndex:
    """One snapshot's stations as arrays for maps; answers :meth:`view` queries.

    Only stations that are drawn are kept: status ``open`` or ``temporarily_closed`` with a
    position. Stations placed only at county level or coarser are kept and flagged
    ``approximate`` (the map draws them hollow and says so), never passed off as exact.
    """

    def __init__(self, snapshot):
        from ..records import needs_review

        frame = snapshot.frame
        drawn = frame["status"].isin(["open", "temporarily_closed"]).to_numpy() & frame["lat"].notna().to_numpy() \
            & frame["lon"].notna().to_numpy()
        self.revision = snapshot.revision
        self.rows = np.flatnonzero(drawn)
        self.frame = frame.iloc[self.rows].reset_index(drop=True)
        self.ids = self.frame["station_id"].to_numpy(object)
        self.names = self.frame["name"].fillna("").to_numpy(object)
        self.approximate = self.frame["geocode_precision"].map(needs_review).to_numpy(bool)
        self.amenity = {c: (self.frame[f"amenity_{c}"] == "yes").to_numpy() for c in AMENITY_CODES}
        self._lat_w = self.frame["lat"].to_numpy(float)
        self._lon_w = self.frame["lon"].to_numpy(float)
        self._lock = threading.Lock()
        self._positions: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._statuses: tuple[str, np.ndarray] | None = None
        self._clusters: OrderedDict = OrderedDict()

    def __len__(self) -> int:
        return len(self.rows)

    def positions(self, crs: str) -> tuple[np.ndarray, np.ndarray]:
        """(lat, lon) of every kept station in ``crs`` (computed once per system)."""
        with self._lock:
            if crs not in self._positions:
                if crs == "wgs84":
                    self._positions[crs] = (self._lat_w, self._lon_w)
                else:
                    from ..geo import from_wgs84

                    lat, lon = from_wgs84(self._lat_w, self._lon_w, crs)
                    self._positions[crs] = (np.asarray(lat, float), np.asarray(lon, float))
            return self._positions[crs]

    def statuses(self, when: dt.datetime) -> np.ndarray:
        """Map status index per kept station at ``when`` (cached for the minute)."""
        minute = when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M")
        cached = self._statuses
        if cached is not None and cached[0] == minute:
            return cached[1]
        codes = map_status_codes(self.frame, when)
        self._statuses = (minute, codes)
        return codes

    def mask(self, *, statuses: Iterable[str], amenities: Iterable[str], when: dt.datetime) -> np.ndarray:
        status = self.statuses(when)
        wanted = [STATUS_CODES.index(s) for s in statuses]
        mask = np.isin(status, wanted)
        for code in amenities:
            mask &= self.amenity[code]
        return mask

    def view(self, *, bbox: Sequence[float], zoom: int, crs: str = "wgs84", statuses: Iterable[str] = STATUS_CODES,
             amenities: Iterable[str] = (), when: dt.datetime | None = None, max_points: int = MAX_POINTS) -> dict:
        """Clusters and single stations in ``bbox`` (min_lon, min_lat, max_lon, max_lat in ``crs``) at ``zoom``.

        Returns a dict: ``clusters`` (rows of ``cluster_fields``: lat, lon, count, by_status
        (counts in :data:`STATUS_CODES` order), bbox [min_lon, min_lat, max_lon, max_lat]),
        ``stations`` (rows of ``station_fields``: id, lat, lon, status index, name,
        approximate 0/1), ``matched`` (stations in view), and the query echoed. Positions
        are in ``crs``, rounded to 6 decimals (0.1 m).
        """
        when = when or dt.datetime.now(dt.timezone.utc)
        statuses, amenities = tuple(statuses), tuple(sorted(set(amenities)))
        lat, lon = self.positions(crs)
        status = self.statuses(when)
        mask_key = (statuses, amenities)
        clusters, idx = self._cached_clusters(zoom, crs, mask_key, when)
        # The cell grid covers the whole set; a view takes the cells whose stations it touches.
        min_lon, min_lat, max_lon, max_lat = bbox
        touch = (clusters.max_lon >= min_lon) & (clusters.min_lon <= max_lon) & \
                (clusters.max_lat >= min_lat) & (clusters.min_lat <= max_lat)
        matched = int(clusters.count[touch].sum())
        station_rows: list[list] = []
        cluster_rows: list[list] = []
        if zoom > MAX_CLUSTER_ZOOM and matched <= max_points:
            sel = idx[_in_box(lat[idx], lon[idx], bbox)]
            station_rows = [self._station_row(i, lat, lon, status) for i in sel[:max_points]]
            matched = len(sel)
        else:
            for c in np.flatnonzero(touch):
                if clusters.count[c] == 1:
                    station_rows.append(self._station_row(idx[clusters.member[c]], lat, lon, status))
                else:
                    cluster_rows.append([round(float(clusters.lat[c]), 6), round(float(clusters.lon[c]), 6),
                                         int(clusters.count[c]), clusters.by_status[c].tolist(),
                                         [round(float(clusters.min_lon[c]), 6), round(float(clusters.min_lat[c]), 6),
                                          round(float(clusters.max_lon[c]), 6), round(float(clusters.max_lat[c]), 6)]])
        return {"revision": self.revision, "zoom": zoom, "crs": crs, "bbox": list(bbox), "matched": matched,
                "statuses": list(STATUS_CODES),
                "cluster_fields": ["lat", "lon", "count", "by_status", "bbox"], "clusters": cluster_rows,
                "station_fields": ["id", "lat", "lon", "status", "name", "approximate"], "stations": station_rows}

    def _station_row(self, i: int, lat: np.ndarray, lon: np.ndarray, status: np.ndarray) -> list:
        return [self.ids[i], round(float(lat[i]), 6), round(float(lon[i]), 6), int(status[i]), self.names[i],
                int(self.approximate[i])]

    def _cached_clusters(self, zoom: int, crs: str, mask_key: tuple, when: dt.datetime) -> tuple[Clusters, np.ndarray]:
        minute = when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M")
        key = (zoom, crs, mask_key, minute)
        with self._lock:
            hit = self._clusters.get(key)
            if hit is not None:
                self._clusters.move_to_end(key)
                return hit
        statuses, amenities = mask_key
        idx = np.flatnonzero(self.mask(statuses=statuses, amenities=amenities, when=when))
        lat, lon = self.positions(crs)
        status = self.statuses(when)
        result = (grid_clusters(lat[idx], lon[idx], status[idx], zoom), idx)
        with self._lock:
            self._clusters[key] = result
            while len(self._clusters) > CACHE_ENTRIES:
                self._clusters.popitem(last=False)
        return result

    def search(self, text: str, *, crs: str = "wgs84", limit: int = 10) -> list[dict]:
        """Stations whose name, id or address contains ``text`` (case-insensitive), best first.

        Names that start with the text come first, then shorter names; ties by station id.
        """
        text = text.strip().lower()
        if not text:
            return []
        names = self.frame["name"].fillna("").str.lower()
        hay = names + "\n" + self.frame["station_id"].str.lower() + "\n" + \
            self.frame["address"].fillna("").str.lower()
        hit = np.flatnonzero(hay.str.contains(text, regex=False).to_numpy())
        if len(hit) == 0:
            return []
        starts = names.iloc[hit].str.startswith(text).to_numpy()
        lengths = names.iloc[hit].str.len().to_numpy()
        order = np.lexsort((self.ids[hit].astype(str), lengths, ~starts))
        lat, lon = self.positions(crs)
        out = []
        for i in hit[order][:limit]:
            out.append({"station_id": self.ids[i], "name": self.names[i],
                        "address": self.frame["address"].iloc[i] if isinstance(self.frame["address"].iloc[i], str)
                        else None, "lat": round(float(lat[i]), 6), "lon": round(float(lon[i]), 6),
                        "approximate": bool(self.approximate[i])})
        return out


def check_view_query(*, zoom: int, statuses: Iterable[str], amenities: Iterable[str]) -> None:
    """Raise :class:`ValidationError` naming every bad value of a view query."""
    problems = []
    if not 0 <= zoom <= MAX_ZOOM:
        problems.append(Problem("zoom", zoom, "out of range", f"0 to {MAX_ZOOM}"))
    problems += [Problem("status", s, "unknown map status", ", ".join(STATUS_CODES)) for s in statuses
                 if s not in STATUS_CODES]
    problems += [Problem("amenities", a, "unknown amenity", ", ".join(AMENITY_CODES)) for a in amenities
                 if a not in AMENITY_CODES]
    if problems:
        raise ValidationError.from_problems(problems, what="query")
