"""Staff edits with scope, ETags, check dates and history.

Every write goes through :meth:`GeoPackageStore.apply` as one batch that names the user,
the reason and the source (``workspace``, ``api-token:<id>``, ``report:<id>``): it lands whole
or not at all, and check dates and report states are written in the same transaction.

Check dates are kept per field group (:data:`FIELD_GROUPS`): when a group was last
confirmed, by whom and how. A group is only refreshed when someone checked it: an edit of
the hours refreshes ``hours``, a verify of the amenities ``amenities``; nothing else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from pathlib import Path
from typing import Any, Iterable, Mapping
from zoneinfo import ZoneInfo

import orjson

from ..errors import NotFoundError, Problem, ValidationError
from ..records import AMENITY_FIELDS, BY_NAME, FIELD_NAMES, STATUS_VALUES, empty_record, needs_review, \
    validate_record
from ..store import Change
from .errors import Forbidden, PreconditionFailed, PreconditionRequired
from .scopes import User, area_sql, in_areas, may
from .users import now_iso

FIELD_GROUPS: dict[str, tuple[str, ...]] = {
    "position": ("lat", "lon", "raw_lat", "raw_lon", "raw_crs", "geocode_precision", "geocode_provider", "address"),
    "hours": ("opening_hours", "opening_hours_raw", "timezone"),
    "amenities": AMENITY_FIELDS,
    "access": ("access", "entry"),
}
GROUP_LABELS = {"position": ("位置", "position"), "hours": ("开放时间", "hours"),
                "amenities": ("设施", "amenities"), "access": ("服务对象与进入方式", "access")}
# Fields an edit may not set directly: the id is the key; status goes through set_status.
READ_ONLY_FIELDS = ("station_id",)
MAX_TEXT_CHARS = 500
TZ = ZoneInfo("Asia/Shanghai")


def etag(record: Mapping[str, Any] | None) -> str:
    """The ETag of a stored record: a hash of every field's value (quoted, as HTTP sends it)."""
    if record is None:
        return ""
    values = [record.get(n) for n in FIELD_NAMES]
    values = [None if isinstance(v, float) and math.isnan(v) else v for v in values]
    return '"' + hashlib.sha256(orjson.dumps(values, default=str)).hexdigest()[:24] + '"'


def today() -> str:
    return dt.datetime.now(TZ).date().isoformat()


def _station(store, station_id: str) -> dict:
    rec = store.get(station_id)
    if rec is None:
        raise NotFoundError(f"no station with id {station_id!r}",
                            [Problem("station_id", station_id, "unknown station", "an existing station id")])
    return rec


def require(user: User | None, action: str, adcode: str | None, *, what: str = "this station") -> None:
    """Raise :class:`Forbidden` unless ``user`` may do ``action`` in ``adcode``."""
    if may(user, action, adcode):
        return
    areas = ", ".join(user.areas) if user and user.areas else "none"
    if user is not None and action in _permissions(user):
        raise Forbidden(f"{what} (adcode {adcode or 'none'}) is outside {user.name}'s areas ({areas})",
                        [Problem("adcode", adcode, "outside your areas", f"adcodes starting with {areas}")])
    raise Forbidden(f"a {user.role if user else 'visitor'} may not {action}",
                    [Problem("role", user.role if user else None, f"may not {action}", _roles_allowed(action))])


def require_role(user: User | None, action: str, *, what: str) -> None:
    """Raise :class:`Forbidden` unless ``user``'s role allows ``action`` somewhere (the area
    filter is applied by the query that follows)."""
    if user is None or user.disabled or action not in _permissions(user):
        raise Forbidden(f"a {user.role if user else 'visitor'} may not see {what}",
                        [Problem("role", user.role if user else None, f"may not {action}", _roles_allowed(action))])


def _permissions(user: User) -> frozenset[str]:
    from .scopes import PERMISSIONS

    return PERMISSIONS.get(user.role, frozenset())


def _roles_allowed(action: str) -> str:
    from .scopes import PERMISSIONS

    return ", ".join(r for r, p in PERMISSIONS.items() if action in p)


def _clean_text(value: Any, name: str, problems: list[Problem], *, limit: int = MAX_TEXT_CHARS) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(Problem(name, value, "not a text", "a text"))
        return None
    text = "".join(ch for ch in value if ch >= " " or ch in "\n\t").strip()
    if len(text) > limit:
        problems.append(Problem(name, f"{text[:40]}… ({len(text)} characters)", "too long",
                                f"at most {limit} characters"))
    return text or None


def _coerce_fields(fields: Mapping[str, Any], *, for_create: bool) -> tuple[dict, list[Problem]]:
    """Typed record values from a JSON object or a form; every problem named."""
    out: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, value in fields.items():
        spec = BY_NAME.get(name)
        if spec is None:
            problems.append(Problem(name, value, "unknown field", "a record field: " + ", ".join(FIELD_NAMES)))
            continue
        if name in READ_ONLY_FIELDS and not for_create:
            problems.append(Problem(name, value, "cannot be changed", "leave it out"))
            continue
        if name in ("status", "status_reason") and not for_create:
            problems.append(Problem(name, value, "status changes go through their own request",
                                    "POST /api/v1/stations/{id}/status with status and reason"))
            continue
        if isinstance(value, str) and not value.strip():
            value = None
        if spec.kind == "float":
            if value is None:
                out[name] = None
            elif isinstance(value, bool):
                problems.append(Problem(name, value, "not a number", "a number"))
            else:
                try:
                    out[name] = float(value)
                except (TypeError, ValueError):
                    problems.append(Problem(name, value, "not a number", "a number"))
        else:
            text = _clean_text(value, name, problems)
            out[name] = text
    return out, problems


def _position_fields(new: dict, changed_fields: Iterable[str], user: User, crs: str | None) -> list[Problem]:
    """A position set by staff: kept as given (raw) and in WGS-84, precision ``exact``."""
    if not {"lat", "lon"} & set(changed_fields):
        return []
    lat, lon = new.get("lat"), new.get("lon")
    if lat is None or lon is None:
        return []
    from ..geo import parse_crs, to_wgs84

    system = parse_crs(crs or "wgs84")
    if system is None:
        return [Problem("crs", crs, "unknown coordinate system", "wgs84, gcj02, bd09, cgcs2000")]
    try:
        wlat, wlon = to_wgs84(lat, lon, system)
    except ValueError as exc:
        return [Problem("lat", lat, str(exc), "a position inside the station's area")]
    new.update(lat=float(wlat), lon=float(wlon), raw_lat=lat, raw_lon=lon, raw_crs=system,
               geocode_precision="exact", geocode_provider=f"staff:{user.name}")
    return []


def _groups_of(changed: Iterable[str]) -> list[str]:
    changed = set(changed)
    return [g for g, names in FIELD_GROUPS.items() if changed & set(names)]


def _write_checks(db, station_id: str, groups: Iterable[str], *, by: str, via: str, batch_id: int) -> None:
    at = now_iso()
    # Upsert syntax both SQLite (3.24+) and PostgreSQL take.
    db.executemany("INSERT INTO station_checks VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (station_id, field_group) "
                   "DO UPDATE SET checked_at = excluded.checked_at, checked_by = excluded.checked_by, "
                   "via = excluded.via, batch_id = excluded.batch_id",
                   [(station_id, g, at, by, via, batch_id) for g in groups])


def _guard_etag(store, station_id: str, expected: str | None):
    def guard() -> None:
        if expected is None:
            return
        current = store.get(station_id)
        if etag(current) != expected:
            raise PreconditionFailed(f"station {station_id!r} changed since it was read; "
                                     "re-read it and apply the edit again", current=current, etag=etag(current))
    return guard


def _flags(old: dict, new: dict) -> tuple[str, ...]:
    flags = set(old.get("flags") or ())
    flags.discard("needs_review")
    if needs_review(new.get("geocode_precision")):
        flags.add("needs_review")
    return tuple(sorted(flags))


def create_station(store, user: User, fields: Mapping[str, Any], *, reason: str = "", crs: str | None = None,
                   source: str | None = None) -> dict:
    """Add a station (its adcode must be in the user's areas); every given group counts as checked."""
    values, problems = _coerce_fields(fields, for_create=True)
    rec = empty_record()
    rec.update(values)
    if not rec.get("station_id"):
        import secrets

        rec["station_id"] = "ws-" + secrets.token_hex(6)
    problems += _position_fields(rec, values, user, crs)
    problems += validate_record(rec)
    if problems:
        raise ValidationError.from_problems(problems)
    require(user, "edit", rec.get("adcode"), what=f"a new station in adcode {rec.get('adcode')}")
    if store.get(rec["station_id"]) is not None:
        from .errors import Conflict

        raise Conflict(f"a station with id {rec['station_id']!r} exists; PATCH it instead",
                       [Problem("station_id", rec["station_id"], "already exists", "a new id, or leave it out")])
    groups = _groups_of(values)

    def after(db, batch_id):
        _write_checks(db, rec["station_id"], groups, by=user.name, via="staff", batch_id=batch_id)

    def guard():
        if store.get(rec["station_id"]) is not None:
            from .errors import Conflict

            raise Conflict(f"a station with id {rec['station_id']!r} exists")

    store.apply([Change("add", rec, flags=_flags({}, rec))], command="create", source=source or user.source,
                reason=(reason or "").strip(), user=user.name, guard=guard, after=after)
    return _station(store, rec["station_id"])


def patch_station(store, user: User, station_id: str, fields: Mapping[str, Any], *, if_match: str | None,
                  reason: str = "", crs: str | None = None, source: str | None = None,
                  require_if_match: bool = True, after=None, action: str = "edit") -> dict:
    """Change some fields of a station. ``if_match`` must be the record's current :func:`etag`.

    Both the stored and the new adcode must be in the user's areas. The changed field
    groups count as checked by the user."""
    old = _station(store, station_id)
    require(user, action, old.get("adcode"))
    if if_match is None and require_if_match:
        raise PreconditionRequired("an edit needs If-Match with the station's ETag (from GET or the last edit)",
                                   [Problem("If-Match", None, "missing", "the station's ETag, e.g. " + etag(old))])
    if if_match is not None and if_match != etag(old):
        raise PreconditionFailed(f"station {station_id!r} changed since it was read", current=old, etag=etag(old))
    values, problems = _coerce_fields(fields, for_create=False)
    new = {k: v for k, v in old.items() if k != "flags"}
    new.update(values)
    problems += _position_fields(new, values, user, crs)
    problems += validate_record(new)
    if problems:
        raise ValidationError.from_problems(problems)
    require(user, action, new.get("adcode"), what=f"adcode {new.get('adcode')}")
    from ..io.importer import diff_record

    changed = diff_record(old, new)
    groups = _groups_of(values)
    changes = [Change("update", new, changed=changed, flags=_flags(old, new))] if changed else []
    also = after

    def after(db, batch_id):
        _write_checks(db, station_id, groups, by=user.name, via="staff", batch_id=batch_id)
        if also is not None:
            also(db, batch_id)

    store.apply(changes, command="edit", source=source or user.source, reason=(reason or "").strip(),
                user=user.name, guard=_guard_etag(store, station_id, etag(old)), after=after)
    return _station(store, station_id)


def verify_station(store, user: User, station_id: str, groups: Iterable[str] | None = None, *,
                   note: str = "", source: str | None = None, via: str = "staff", after=None) -> dict:
    """Confirm the given field groups (default all) as checked today by ``user``; sets
    ``last_verified`` to today when every group is confirmed."""
    old = _station(store, station_id)
    require(user, "verify", old.get("adcode"))
    groups = list(FIELD_GROUPS) if groups is None else list(groups)
    bad = [g for g in groups if not isinstance(g, str) or g not in FIELD_GROUPS]
    if bad or not groups:
        raise ValidationError.from_problems([Problem("groups", g, "unknown field group", ", ".join(FIELD_GROUPS))
                                             for g in bad or [None]])
    changes = []
    if set(groups) == set(FIELD_GROUPS) and old.get("last_verified") != today():
        new = {k: v for k, v in old.items() if k != "flags"}
        new["last_verified"] = today()
        from ..io.importer import diff_record

        changes.append(Change("update", new, changed=diff_record(old, new), flags=tuple(old.get("flags") or ())))
    also = after

    def after(db, batch_id):
        _write_checks(db, station_id, groups, by=user.name, via=via, batch_id=batch_id)
        if also is not None:
            also(db, batch_id)

    store.apply(changes, command="verify " + ",".join(groups), source=source or user.source,
                reason=(note or "").strip(), user=user.name, after=after)
    return _station(store, station_id)


def set_status(store, user: User, station_id: str, status: str, *, reason: str, if_match: str | None = None,
               source: str | None = None, command: str | None = None, after=None, action: str = "edit") -> dict:
    """Close temporarily, remove or reopen a station, with a reason (kept in the history)."""
    problems: list[Problem] = []
    if status not in STATUS_VALUES:
        problems.append(Problem("status", status, "not an allowed value", ", ".join(STATUS_VALUES)))
    reason = _clean_text(reason, "reason", problems)
    if not reason:
        problems.append(Problem("reason", reason, "a status change needs a reason", "a non-empty text"))
    if problems:
        raise ValidationError.from_problems(problems)
    old = _station(store, station_id)
    require(user, action, old.get("adcode"))
    if if_match is not None and if_match != etag(old):
        raise PreconditionFailed(f"station {station_id!r} changed since it was read", current=old, etag=etag(old))
    new = {k: v for k, v in old.items() if k != "flags"}
    new.update(status=status, status_reason=reason if status != "open" else None)
    from ..io.importer import diff_record

    changed = diff_record(old, new)
    action = "remove" if status == "removed" else "update"
    changes = [Change(action, new, changed=changed, flags=tuple(old.get("flags") or ()))] if changed else []
    store.apply(changes, command=command or f"status {status}", source=source or user.source, reason=reason,
                user=user.name, guard=_guard_etag(store, station_id, etag(old)), after=after)
    return _station(store, station_id)


# -- check dates ----------------------------------------------------------------------------
def ago(days: float, lang: str = "en") -> str:
    """'today', 'yesterday', '3 days ago', '3 weeks ago', '5 months ago', '2 years ago' (or Chinese)."""
    d = int(days)
    if d < 1:
        return "今天" if lang == "zh" else "today"
    if d < 2:
        return "昨天" if lang == "zh" else "yesterday"
    for limit, size, zh, en in ((14, 1, "天", "day"), (60, 7, "周", "week"), (730, 30, "个月", "month"),
                                (10**9, 365, "年", "year")):
        if d < limit:
            n = d // size
            return f"{n}{zh}前" if lang == "zh" else f"{n} {en}{'s' if n != 1 else ''} ago"
    raise AssertionError("unreachable")


def _parse_when(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=TZ)


def check_info(store, station_id: str, *, stale_days: float, now: dt.datetime | None = None,
               record: Mapping[str, Any] | None = None) -> dict:
    """When each field group was last confirmed, by whom, how long ago, and whether it is past
    ``stale_days``. Groups never checked fall back to the record's ``last_verified`` date."""
    rec = record if record is not None else _station(store, station_id)
    rows = {r["field_group"]: (_parse_when(r["checked_at"]), r["checked_by"], r["via"]) for r in store.query(
        "SELECT field_group, checked_at, checked_by, via FROM station_checks WHERE station_id = ?", (station_id,))}
    return checks_view(rows, last_verified=rec.get("last_verified"), stale_days=stale_days,
                       now=now or dt.datetime.now(dt.timezone.utc))


def checks_view(rows: Mapping[str, tuple], *, last_verified: Any, stale_days: float, now: dt.datetime) -> dict:
    """:func:`check_info` from what is stored: ``rows`` maps a field group to ``(checked_at
    (an aware datetime or None), checked_by, via)``; ``last_verified`` is the record's."""
    groups, ages = {}, []
    fallback = _parse_when(last_verified) if last_verified else None
    for g in FIELD_GROUPS:
        row = rows.get(g)
        when = row[0] if row else fallback
        entry: dict[str, Any] = {"checked_at": when.isoformat() if when else None,
                                 "by": row[1] if row else None,
                                 "via": row[2] if row else ("last_verified" if when else None)}
        if when is None:
            entry.update(days=None, label_en="never checked", label_zh="从未核实", stale=True)
        else:
            days = max(0.0, (now - when).total_seconds() / 86400)
            entry.update(days=round(days, 1), label_en="checked " + ago(days, "en"), label_zh=ago(days, "zh") + "核实",
                         stale=days > stale_days)
        ages.append(entry["days"])
        groups[g] = entry
    known = [a for a in ages if a is not None]
    oldest = None if len(known) < len(ages) else max(known)
    latest = min(known) if known else None
    stale = [g for g, e in groups.items() if e["stale"]]
    out = {"groups": groups, "stale_days": stale_days, "stale": bool(stale), "oldest_days": oldest,
           "latest_days": latest}
    if latest is None:
        out.update(label_en="never checked", label_zh="从未核实")
    else:
        out.update(label_en="checked " + ago(latest, "en"), label_zh=ago(latest, "zh") + "核实")
    if stale:
        out["warning_en"] = (", ".join(stale) + f": not checked in {stale_days:g} days or never; may be out of date")
        out["warning_zh"] = ("、".join(GROUP_LABELS[g][0] for g in stale) + f"超过{stale_days:g}天未核实或从未核实，可能已过时")
    else:
        out["warning_en"] = out["warning_zh"] = None
    return out


def due_list(store, user: User, *, stale_days: float, now: dt.datetime | None = None, limit: int = 500) -> list[dict]:
    """Stations in the user's areas due for a re-check (a group never checked or older than
    ``stale_days``), never-checked first, then the oldest."""
    require_role(user, "verify", what="the re-check list")
    cond, params = area_sql(user)
    rows = store.query(f"SELECT station_id, name, county, adcode, status, last_verified FROM stations "
                       f"WHERE status != 'removed' AND {cond} ORDER BY station_id", params)
    out = []
    for r in rows:
        info = check_info(store, r["station_id"], stale_days=stale_days, now=now, record=r)
        if info["stale"]:
            oldest = info["oldest_days"]
            out.append({**r, "oldest_days": oldest,
                        "label_en": "never checked" if oldest is None else "checked " + ago(oldest, "en"),
                        "label_zh": "从未核实" if oldest is None else ago(oldest, "zh") + "核实",
                        "stale_groups": [g for g, e in info["groups"].items() if e["stale"]]})
    out.sort(key=lambda r: (r["oldest_days"] is not None, -(r["oldest_days"] or 0), r["station_id"]))
    return out[:limit]


def area_stations(store, user: User, *, search: str = "", stale_days: float, limit: int = 500) -> list[dict]:
    """The user's area's stations for the workspace table: open reports first, then stale
    ones, then by name; ``search`` matches id, name, address or county."""
    require_role(user, "view", what="the stations list")
    cond, params = area_sql(user)
    sql = (f"SELECT s.station_id, s.name, s.address, s.county, s.adcode, s.status, s.opening_hours, "
           f"s.last_verified, (SELECT count(*) FROM station_reports r WHERE r.station_id = s.station_id "
           f"AND r.status = 'open') AS open_reports FROM stations s WHERE {cond}")
    if search:
        # lower() on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
        sql += (" AND (lower(s.station_id) LIKE ? OR lower(s.name) LIKE ? OR lower(s.address) LIKE ? "
                "OR lower(s.county) LIKE ?)")
        params = params + [f"%{search.lower()}%"] * 4
    rows = store.query(sql + " ORDER BY s.name LIMIT ?", (*params, int(limit)))
    for r in rows:
        info = check_info(store, r["station_id"], stale_days=stale_days, record=r)
        r.update(stale=info["stale"], check_en=info["label_en"], check_zh=info["label_zh"],
                 warning_en=info["warning_en"], warning_zh=info["warning_zh"])
    rows.sort(key=lambda r: (-r["open_reports"], not r["stale"], r["name"] or ""))
    return rows


# -- uploads --------------------------------------------------------------------------------
class _Attributed:
    """The store as seen by an import made by a user: every batch names the user and source."""

    def __init__(self, store, user: User, source: str):
        self._store, self._user, self._source = store, user, source

    def __getattr__(self, name):
        return getattr(self._store, name)

    def apply(self, changes, **kwargs):
        kwargs["user"] = self._user.name
        kwargs["source"] = f"{self._source}: {kwargs.get('source') or ''}".rstrip(": ")
        return self._store.apply(changes, **kwargs)


def _scope_problems(store, user: User, path: Path, **options) -> tuple[list[Problem], Any]:
    from ..io.importer import prepare

    results, report = prepare(path, **options)
    problems = []
    for res in results:
        rec = res.record
        if rec is None:
            continue
        stored = store.get(rec["station_id"])
        for adcode in {rec.get("adcode"), (stored or {}).get("adcode")} if stored else {rec.get("adcode")}:
            if not in_areas(user, adcode):
                problems.append(Problem("adcode", adcode, "outside your areas",
                                        "adcodes starting with " + (", ".join(user.areas) or "none"), res.row))
    return problems, report


def upload_dry_run(store, user: User, path: str | Path, *, max_bytes: int | None = None) -> dict:
    """What an upload would do, writing nothing: the import report (rows to add, update,
    unchanged, rejected with row numbers and reasons) plus rows outside the user's areas.
    ``can_apply`` is false while any row is outside the areas."""
    from ..io.importer import import_file

    require_role(user, "edit", what="uploads")
    path = Path(path)
    outside, _ = _scope_problems(store, user, path, max_bytes=max_bytes)
    report = import_file(store, path, dry_run=True, max_bytes=max_bytes)
    body = report.to_dict()
    body["outside_areas"] = [p.as_dict() for p in outside]
    body["can_apply"] = not outside and (report.added + report.updated) > 0
    return body


def upload_apply(store, user: User, path: str | Path, *, reason: str = "", source: str | None = None,
                 max_bytes: int | None = None):
    """Apply an upload whose dry run was shown: the good rows land in one batch naming the user;
    rejected rows are left out. Refused (nothing written) if any row is outside the areas."""
    from ..io.importer import import_file

    require_role(user, "edit", what="uploads")
    path = Path(path)
    outside, _ = _scope_problems(store, user, path, max_bytes=max_bytes)
    if outside:
        raise Forbidden(f"{len(outside)} rows are outside {user.name}'s areas; nothing was written", outside)
    return import_file(_Attributed(store, user, source or user.source), path, command="upload",
                       reason=reason, max_bytes=max_bytes)
