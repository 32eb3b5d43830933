"""The baseline of bench_http.py: a plain Flask + pandas + scipy cKDTree app.

It answers ``GET /nearest?lat=..&lon=..&k=..`` with the same lean fields as
``/api/v1/nearest`` (station id, name, position, distance, minutes by mode, status, address,
amenities, open status, navigation links), written the plain way: the stations read into a
pandas frame, the fields an answer shows as arrays, a cKDTree of unit vectors, open status
cached per (hours, minute), ``jsonify``. (Rows read with ``frame.iloc[rows].to_dict("records")``
take some 15 ms for five stations of 43 columns under pandas 3: not a fair baseline.) No
filters: the stations in service with a precise position are the tree. Run it with gunicorn::

    STATIONS_STORE=var/stations.gpkg .venv/bin/gunicorn -w 2 -b 127.0.0.1:8001 \
        'benchmarks.plain_flask_app:create_app()'
"""

from __future__ import annotations

import datetime as dt
import os
from functools import lru_cache

import numpy as np
from flask import Flask, jsonify, request
from scipy.spatial import cKDTree

from stations.amenities import AMENITY_CODES
from stations.config import load_settings
from stations.geo import EARTH_RADIUS_M
from stations.hours import open_status
from stations.navigation import navigation_links
from stations.records import needs_review
from stations.store import open_store


def _unit(lat, lon):
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


@lru_cache(maxsize=4096)
def _status(hours, tz, minute):
    return open_status(hours, dt.datetime.fromtimestamp(minute * 60, dt.timezone.utc), tz)


def create_app(store: str | None = None) -> Flask:
    with open_store(store or os.environ["STATIONS_STORE"]) as s:
        frame = s.frame()
    keep = (frame["status"] == "open") & ~frame["geocode_precision"].map(needs_review) & frame["lat"].notna()
    frame = frame[keep].reset_index(drop=True)
    tree = cKDTree(_unit(frame["lat"].to_numpy(), frame["lon"].to_numpy()))
    fields = ["station_id", "name", "lat", "lon", "status", "address", "opening_hours", "timezone",
              *(f"amenity_{c}" for c in AMENITY_CODES)]
    columns = {name: frame[name].to_numpy(dtype=object) for name in fields}
    settings = load_settings({})
    per_m = {mode: settings.circuity / speed / 60 for mode, speed in settings.speeds_m_s.items()}
    app = Flask(__name__)

    @app.get("/nearest")
    def nearest():
        lat, lon = float(request.args["lat"]), float(request.args["lon"])
        k = int(request.args.get("k", 5))
        chords, rows = tree.query(_unit(lat, lon)[0], k)
        now = dt.datetime.now(dt.timezone.utc)
        results = []
        for chord, row in zip(chords, rows):
            rec = {name: values[row] for name, values in columns.items()}
            distance_m = 2 * EARTH_RADIUS_M * np.arcsin(min(chord / 2, 1.0))
            tz = rec["timezone"] or settings.timezone
            hours = rec["opening_hours"] if isinstance(rec["opening_hours"], str) else None
            address = rec["address"] if isinstance(rec["address"], str) else None
            results.append({
                "station_id": rec["station_id"], "name": rec["name"],
                "position": {"lat": rec["lat"], "lon": rec["lon"], "crs": "wgs84"},
                "distance_m": round(float(distance_m), 1),
                "minutes": {mode: round(float(distance_m) * f, 1) for mode, f in per_m.items()},
                "station": {"status": rec["status"], "address": address,
                            "amenities": {c: rec[f"amenity_{c}"] for c in AMENITY_CODES},
                            "open_status": _status(hours, tz, int(now.timestamp() // 60))},
                "navigation": navigation_links(lat=rec["lat"], lon=rec["lon"], name=rec["name"], address=address,
                                               from_lat=lat, from_lon=lon, baidu_src=settings.baidu_src,
                                               tencent_referer=settings.tencent_referer),
            })
        return jsonify({"count": len(results), "results": results})

    return app
