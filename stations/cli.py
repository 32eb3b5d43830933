"""The ``stations`` command line: a thin layer over the library.

Each command reads settings (:func:`stations.config.load_settings`), calls one library
function and prints the result. Errors of the library (``StationsError``) are printed as
one clear line and exit with status 2; nothing else is caught.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .config import load_settings
from .errors import Problem, StationsError


def _settings(ctx: click.Context) -> dict:
    return ctx.obj["settings"]


def _store(ctx: click.Context, *, create: bool = True):
    from .store import open_store

    return open_store(_settings(ctx)["store"], create=create)


def _progress():
    from tqdm import tqdm

    def factory(**kwargs):
        return tqdm(disable=not sys.stderr.isatty(), **kwargs)

    return factory


def _geocoder(settings: dict):
    from .geocode import build_chain

    return build_chain(settings)


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except StationsError as exc:
            click.echo(f"error: {exc}", err=True)
            for p in exc.problems[:50]:
                click.echo(f"  - {p}", err=True)
            ctx.exit(2)


@click.group(cls=_Group)
@click.option("--store", "store", default=None, help="Store location: a GeoPackage path, or a PostGIS URL "
              "postgresql://user@host:port/db. Default: setting `store`.")
@click.pass_context
def main(ctx: click.Context, store: str | None) -> None:
    """Outdoor-worker rest stations (工会驿站): records, lookup, maps and coverage."""
    ctx.ensure_object(dict)
    ctx.obj["settings"] = load_settings({"store": store})


def _print_report(report, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2, default=str))
        return
    s = report.summary()
    enc = f", encoding {report.encoding}" if report.encoding else ""
    click.echo(f"{report.source}: {report.rows} rows ({report.format}{enc})")
    click.echo("  added {added}, updated {updated}, unchanged {unchanged}, rejected {rejected}; "
               "geocoded {geocoded}, needs review {needs_review}, possible duplicates {duplicates}, "
               "admin areas filled {admin_filled}".format(**s))
    if report.dry_run:
        click.echo("  dry run: nothing was written")
    for w in report.file_warnings:
        click.echo(f"  warning: {w}")
    if report.ignored_columns:
        click.echo(f"  ignored columns: {', '.join(report.ignored_columns)}")
    for p in report.rejected_rows[:30]:
        click.echo(f"  rejected {p}")
    if len(report.rejected_rows) > 30:
        click.echo(f"  ... {len(report.rejected_rows) - 30} more problems (use --problems FILE.csv)")
    for p in report.warnings[:15]:
        click.echo(f"  warning {p}")
    if len(report.warnings) > 15:
        click.echo(f"  ... {len(report.warnings) - 15} more warnings (use --problems FILE.csv)")
    for d in report.duplicates[:15]:
        click.echo(f"  possible duplicate: {d['station_id']} ~ {d['other_id']} ({d['reason']}, {d['distance_m']} m)")


@main.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "geojson", "json", "gpkg"]), default=None)
@click.option("--crs", "default_crs", default="wgs84", show_default=True,
              help="Coordinate system of rows that do not name one: wgs84, gcj02 (高德/腾讯), bd09 (百度), cgcs2000.")
@click.option("--sheet", default=None, help="XLSX sheet name (default: the first with data).")
@click.option("--geocode/--no-geocode", default=True, show_default=True, help="Geocode rows that have only an address.")
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@click.option("--all-or-nothing", is_flag=True, help="Write nothing if any row is rejected.")
@click.option("--reason", default="", help="Why this import is made (kept in the history).")
@click.option("--problems", "problems_csv", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write rejected rows and warnings to this CSV.")
@click.option("--max-mb", type=float, default=None, help="Largest file accepted (default: setting import_max_mb).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def import_cmd(ctx, path, fmt, default_crs, sheet, geocode, dry_run, all_or_nothing, reason, problems_csv, max_mb,
               as_json):
    """Import stations from a CSV, XLSX, GeoJSON, JSON or GeoPackage file."""
    from .geo import parse_crs
    from .io.importer import import_file

    settings = _settings(ctx)
    crs = parse_crs(default_crs) or "wgs84"
    max_bytes = int((max_mb if max_mb is not None else settings.import_max_mb) * 1e6)
    with _store(ctx) as store:
        report = import_file(store, path, fmt=fmt, default_crs=crs, geocoder=_geocoder(settings) if geocode else None,
                             dry_run=dry_run, max_bytes=max_bytes, sheet=sheet, reason=reason,
                             progress=_progress(), fail_on_rejected=all_or_nothing)
    if problems_csv:
        report.write_problems_csv(problems_csv)
    _print_report(report, as_json)
    if all_or_nothing and report.rejected:
        click.echo("nothing was written: some rows were rejected (--all-or-nothing)", err=True)
        ctx.exit(1)


@main.command("validate")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "geojson", "json", "gpkg"]), default=None)
@click.option("--crs", "default_crs", default="wgs84", show_default=True)
@click.option("--problems", "problems_csv", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def validate_cmd(ctx, path, fmt, default_crs, problems_csv, as_json):
    """Check a file as an import would, without geocoding or writing. Exit 1 if rows are rejected."""
    from .geo import parse_crs
    from .io.importer import prepare

    settings = _settings(ctx)
    _results, report = prepare(path, fmt=fmt, default_crs=parse_crs(default_crs) or "wgs84",
                              max_bytes=int(settings.import_max_mb * 1e6))
    report.dry_run = True
    if problems_csv:
        report.write_problems_csv(problems_csv)
    _print_report(report, as_json)
    if report.rejected:
        ctx.exit(1)


@main.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["geojson", "csv", "gpkg"]), default=None)
@click.option("--status", "statuses", multiple=True, help="Only these statuses (default: all).")
@click.pass_context
def export_cmd(ctx, path, fmt, statuses):
    """Export every station to GeoJSON, CSV or GeoPackage."""
    from .io.export import export

    with _store(ctx, create=False) as store:
        n = export(store.frame(statuses=statuses or None), path, fmt=fmt)
    click.echo(f"wrote {n} stations to {path}")


@main.command("list")
@click.option("--county", default=None, help="Only stations whose county contains this text.")
@click.option("--status", default=None)
@click.option("--review", is_flag=True, help="Only stations flagged for review.")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_cmd(ctx, county, status, review, limit, as_json):
    """List stations: id, name, county, position precision, status, hours."""
    with _store(ctx, create=False) as store:
        frame = store.frame()
    if county:
        frame = frame[frame["county"].fillna("").str.contains(county, regex=False)]
    if status:
        frame = frame[frame["status"] == status]
    if review:
        frame = frame[frame["flags"].map(lambda f: "needs_review" in f)]
    total = len(frame)
    frame = frame.head(limit)
    if as_json:
        from .io.export import records_of

        click.echo(json.dumps(records_of(frame), ensure_ascii=False, indent=2, default=str))
        return
    for rec in frame.itertuples():
        pos = f"{rec.lat:.5f},{rec.lon:.5f}" if rec.lat == rec.lat else "(no position)"
        click.echo(f"{rec.station_id}\t{rec.name}\t{rec.county or ''}\t{pos}\t{rec.geocode_precision or '-'}\t"
                   f"{rec.status}\t{rec.opening_hours or rec.opening_hours_raw or 'hours unknown'}")
    click.echo(f"{min(total, limit)} of {total} stations")


@main.command("show")
@click.argument("station_id")
@click.pass_context
def show_cmd(ctx, station_id):
    """Show one station with every field and its open status now."""
    from .errors import NotFoundError
    from .hours import open_status

    with _store(ctx, create=False) as store:
        rec = store.get(station_id)
    if rec is None:
        raise NotFoundError(f"no station with id {station_id!r}; `stations list` shows the ids")
    for key, value in rec.items():
        if value not in (None, "", []):
            click.echo(f"{key:20} {value}")
    import datetime as dt

    status = open_status(rec.get("opening_hours"), dt.datetime.now(dt.timezone.utc), rec.get("timezone") or
                         ctx.obj["settings"].timezone, lang="en")
    click.echo(f"{'open now':20} {status['label']}")


@main.command("history")
@click.argument("station_id", required=False)
@click.option("--limit", type=int, default=30, show_default=True)
@click.option("--user", "user", default=None, help="Only what this user did (the audit of one account).")
@click.pass_context
def history_cmd(ctx, station_id, limit, user):
    """The change history: of one station, or the latest changes and imports."""
    with _store(ctx, create=False) as store:
        entries = store.history(station_id, limit=limit, user=user)
        batches = ({b["batch_id"]: b for b in store.batches(limit=1000, user=user)}
                   if station_id is None else {})
    if station_id is None and batches:
        click.echo("batches:")
        for b in list(batches.values())[:10]:
            click.echo(f"  #{b['batch_id']} {b['at']} {b['command']} {b['source'] or ''} {b['summary']}")
        click.echo("changes:")
    for e in entries:
        fields = ", ".join(e["changes"]) if e["action"] != "add" else "new station"
        why = f" — {e['reason']}" if e["reason"] else ""
        who = f" [{e['user']}]" if e.get("user") else ""
        click.echo(f"  {e['at']} {e['station_id']} {e['action']} ({fields}) by {e['command']}{who} "
                   f"{e['source'] or ''} batch #{e['batch_id']}{why}")


@main.group("users", cls=_Group)
def users_group():
    """Accounts of the staff workspace and the write API."""


@users_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "editor", "moderator", "viewer"]), required=True)
@click.option("--area", "areas", multiple=True,
              help="Adcode prefix of an area (repeat for several): 13, 1303, 130322; a province's or city's "
                   "adcode (130000, 130300) covers all of it.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (one line).")
@click.pass_context
def users_add_cmd(ctx, name, role, areas, password_stdin):
    """Add an account. Without --password-stdin a random one-time password is printed."""
    import secrets

    from .accounts import add_user

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else secrets.token_urlsafe(12)
    with _store(ctx) as store:
        user = add_user(store, name, role=role, areas=areas, password=password)
    click.echo(f"added {user.name} ({user.role}{': ' + ', '.join(user.areas) if user.areas else ''})")
    if not password_stdin:
        click.echo("password (shown once):")
        click.echo(password)


@users_group.command("list")
@click.pass_context
def users_list_cmd(ctx):
    """List accounts: name, role, areas, state, last login."""
    from .accounts import list_users

    with _store(ctx) as store:
        rows = list_users(store)
    for r in rows:
        click.echo(f"{r['user_id']}\t{r['name']}\t{r['role']}\t{','.join(r['areas']) or '*'}\t"
                   f"{'disabled' if r['disabled'] else 'active'}\tlast login {r['last_login_at'] or 'never'}")
    click.echo(f"{len(rows)} users")


@users_group.command("disable")
@click.argument("name")
@click.pass_context
def users_disable_cmd(ctx, name):
    """Disable an account: its sessions end and its API tokens stop working."""
    from .accounts import disable_user

    with _store(ctx) as store:
        disable_user(store, name)
    click.echo(f"{name}: disabled")


@main.group("tokens", cls=_Group)
def tokens_group():
    """API tokens for integrators (stored hashed; shown once)."""


@tokens_group.command("create")
@click.argument("name")
@click.option("--label", default="", help="What the token is for.")
@click.pass_context
def tokens_create_cmd(ctx, name, label):
    """Create an API token for user NAME; the token is printed alone on the last line, once."""
    from .accounts import create_token

    with _store(ctx) as store:
        token_id, token = create_token(store, name, label=label)
    click.echo(f"token #{token_id} for {name} (scoped like the user; `stations tokens revoke {token_id}` ends it):")
    click.echo(token)


@tokens_group.command("list")
@click.option("--user", "name", default=None)
@click.pass_context
def tokens_list_cmd(ctx, name):
    """List API tokens: id, user, label, created, last used, revoked."""
    from .accounts import list_tokens

    with _store(ctx) as store:
        rows = list_tokens(store, name)
    for r in rows:
        click.echo(f"{r['token_id']}\t{r['user']}\t{r['label'] or ''}\tcreated {r['created_at']}\t"
                   f"last used {r['last_used_at'] or 'never'}\t{'revoked ' + r['revoked_at'] if r['revoked_at'] else 'live'}")


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
@click.pass_context
def tokens_revoke_cmd(ctx, token_id):
    """Revoke an API token (it stays listed)."""
    from .accounts import revoke_token

    with _store(ctx) as store:
        revoke_token(store, token_id)
    click.echo(f"token #{token_id}: revoked")


@main.command("remove")
@click.argument("station_id")
@click.option("--reason", required=True, help="Why the station is removed (required; kept in the history).")
@click.option("--temporary", is_flag=True, help="Temporarily closed rather than removed.")
@click.pass_context
def remove_cmd(ctx, station_id, reason, temporary):
    """Mark a station removed (or temporarily closed) with a reason. Nothing is deleted."""
    from .edit import set_status

    with _store(ctx, create=False) as store:
        set_status(store, station_id, "temporarily_closed" if temporary else "removed", reason=reason)
    click.echo(f"{station_id}: {'temporarily closed' if temporary else 'removed'} ({reason})")


@main.command("geocode")
@click.option("--review", is_flag=True, help="List stations whose position is below street precision; change nothing.")
@click.option("--limit", type=int, default=200, show_default=True)
@click.pass_context
def geocode_cmd(ctx, review, limit):
    """Geocode stations without a precise position with the configured providers."""
    from .edit import geocode_store, review_list

    settings = _settings(ctx)
    with _store(ctx, create=False) as store:
        if review:
            rows = review_list(store)
            for r in rows[:limit]:
                click.echo(f"{r['station_id']}\t{r['name']}\t{r['address'] or ''}\t"
                           f"{r['geocode_precision'] or 'no position'}\t{r['geocode_provider'] or '-'}")
            click.echo(f"{len(rows)} stations below street precision")
            return
        result = geocode_store(store, _geocoder(settings), progress=_progress())
    click.echo(f"tried {result['tried']}, improved {result['improved']}, unchanged {result['unchanged']}, "
               f"failed {result['failed']}")


@main.command("map")
@click.option("--county", default=None, help="Only stations whose county contains this text.")
@click.option("--tiles", default=None, help="Basemap: none, osm, amap, tencent or a URL template (default: setting).")
@click.option("--tiles-crs", default=None, help="System of a URL-template basemap: wgs84 or gcj02.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("maps/stations.html"),
              show_default=True)
@click.pass_context
def map_cmd(ctx, county, tiles, tiles_crs, lang, out):
    """Write a self-contained interactive map (one HTML file that works offline) under maps/."""
    from .accounts.overlay import CurationOverlay
    from .mapping import build_map
    from .navigation import LinkSettings

    settings = _settings(ctx)
    links = LinkSettings.from_settings(settings)
    with _store(ctx, create=False) as store:
        frame = store.frame(statuses=("open", "temporarily_closed"))
        curation = CurationOverlay.read(store)  # check dates and open reports for the popups
    if county:
        frame = frame[frame["county"].fillna("").str.contains(county, regex=False)]
    m = build_map(frame, tiles=tiles or settings.tiles, tiles_crs=tiles_crs or settings.tiles_crs, lang=lang,
                  links=links, curation=curation, check_stale_days=settings.check_stale_days)
    out.parent.mkdir(parents=True, exist_ok=True)
    m.save(str(out))
    click.echo(f"wrote a map of {len(frame)} stations to {out}")


def _planning_options(fn):
    for opt in reversed([
        click.argument("area"),
        click.option("--mode", type=click.Choice(["walk", "ebike", "tricycle"]), default="walk", show_default=True),
        click.option("--minutes", type=float, default=15.0, show_default=True, help="Service circle in minutes."),
        click.option("--cell-m", type=float, default=100.0, show_default=True, help="Grid cell size, metres."),
        click.option("--demand", type=click.Path(exists=True, dir_okay=False), default=None,
                     help="Demand points or polygons (CSV or GeoJSON); default: uniform over the area."),
        click.option("--weight", default=None, help="Demand weight column (default: one per row)."),
        click.option("--roads", type=click.Path(exists=True, dir_okay=False), default=None,
                     help="An OpenStreetMap extract (.osm.pbf) for road-network travel times."),
        click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("maps"),
                     show_default=True, help="Folder for the report (HTML, GeoJSON, CSV)."),
    ]):
        fn = opt(fn)
    return fn


def _study(settings, area, mode, minutes, cell_m, demand, weight, roads):
    from .planning import CoverageStudy, Travel

    return CoverageStudy(area, travel=Travel.from_settings(settings, mode=mode, minutes=minutes), cell_m=cell_m,
                         demand=demand, demand_weight=weight, road_network=roads)


def _parse_at(at: str | None):
    if at is None:
        return None
    from .web.params import Param, parse

    return parse([Param("at", "datetime", "")], {"at": at})["at"]


@main.command("coverage")
@_planning_options
@click.option("--at", default=None, help="Also evaluate at this time (only stations open then count), ISO 8601.")
@click.option("--amenity", default=None, help="Also evaluate counting only stations with this amenity (e.g. toilet).")
@click.pass_context
def coverage_cmd(ctx, area, mode, minutes, cell_m, demand, weight, roads, out, at, amenity):
    """Coverage of AREA (admin name, adcode or polygon file) by the 15-minute service circle."""
    from .planning import build_report, coverage_scenarios

    settings = _settings(ctx)
    with _store(ctx, create=False) as store:
        stations = store.frame()
    study = _study(settings, area, mode, minutes, cell_m, demand, weight, roads)
    results = coverage_scenarios(stations, None, study=study, at=_parse_at(at), amenity=amenity)
    for r in results:
        s = r.summary()
        click.echo(f"{s['scenario']:>28}: {s['perc_area_covered']:6.2f}% of area, {s['perc_demand_covered']:6.2f}% of "
                   f"demand within {minutes:g} min ({mode}); by 2+ stations {s['perc_demand_covered_2plus']:.2f}%; "
                   f"{s['n_gaps']} gaps")
    paths = build_report(results).write(out)
    click.echo(f"report: {paths[0]}")


@main.command("suggest")
@_planning_options
@click.option("--n", "n_sites", type=int, default=None, help="Suggest this many new stations (maximal covering).")
@click.option("--target-pct", type=float, default=None,
              help="Instead: the fewest new stations reaching this share of demand (set covering).")
@click.option("--candidates", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Candidate sites (CSV/GeoJSON); default: the grid.")
@click.option("--exact", is_flag=True, help="Also solve exactly with spopt (small instances) and report the gap.")
@click.pass_context
def suggest_cmd(ctx, area, mode, minutes, cell_m, demand, weight, roads, out, n_sites, target_pct, candidates, exact):
    """Where new stations in AREA would add the most covered demand."""
    from .errors import ValidationError
    from .planning import build_report, fewest_sites, suggest_sites

    if (n_sites is None) == (target_pct is None):
        raise ValidationError.from_problems([Problem("--n/--target-pct", None, "give exactly one of them",
                                                     "--n 5, or --target-pct 95")], what="options")
    settings = _settings(ctx)
    with _store(ctx, create=False) as store:
        stations = store.frame()
    study = _study(settings, area, mode, minutes, cell_m, demand, weight, roads)
    if n_sites is not None:
        res = suggest_sites(stations, None, n_sites, study=study, candidates=candidates, compare_exact=exact)
    else:
        res = fewest_sites(stations, None, target_pct, study=study, candidates=candidates, compare_exact=exact)
    d = res.to_dict()
    click.echo(f"{d['model']}: {d['n_sites']} new stations; demand covered {d['perc_demand_covered_before']:.2f}% -> "
               f"{d['perc_demand_covered_after']:.2f}% ({d['candidates']}, heuristic {d['heuristic_s']:.2f} s)")
    for site in d["sites"]["features"] if isinstance(d.get("sites"), dict) else []:
        lon, lat = site["geometry"]["coordinates"]
        props = site["properties"]
        click.echo(f"  #{props.get('rank', '?')} {lat:.5f},{lon:.5f}  +{props.get('added_demand', 0):.1f} demand")
    if d.get("comparison"):
        click.echo(f"exact comparison: {json.dumps(d['comparison'], ensure_ascii=False, default=str)}")
    for note in d.get("notes", []):
        click.echo(f"note: {note}")
    base = study.evaluate(stations)
    paths = build_report([base], siting=res).write(out)
    click.echo(f"report: {paths[0]}")


@main.command("serve")
@click.option("--host", default=None, help="Listen address (default: setting host, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default: setting port, 8000).")
@click.option("--workers", type=int, default=None, help="gunicorn worker processes.")
@click.option("--access-log", is_flag=True, help="Log every request to stdout.")
@click.pass_context
def serve_cmd(ctx, host, port, workers, access_log):
    """Serve the API, the locator page and the map with gunicorn (the store must exist)."""
    from .web.server import serve

    settings = load_settings({"store": _settings(ctx)["store"], "host": host, "port": port, "workers": workers})
    with _store(ctx, create=False) as store:  # serving never creates a store
        n = store.count()
    click.echo(f"serving {n} stations from {settings.store} on http://{settings.host}:{settings.port}/")
    serve(settings, overrides={"store": settings.store}, access_log=access_log)


@main.group("db")
def db_group():
    """The store's schema version, and upgrading an older store (back it up first)."""


@db_group.command("version")
@click.pass_context
def db_version_cmd(ctx):
    """Print the store's schema version, this stations' and the store kind."""
    from .store import SCHEMA_VERSION, open_store

    location = _settings(ctx)["store"]
    with open_store(location, create=False, for_upgrade=True) as store:
        found = store.schema_version()
        click.echo(f"store {location} ({store.kind}): schema version {found}")
    click.echo(f"this stations: schema version {SCHEMA_VERSION}")
    if found != SCHEMA_VERSION:
        click.echo("newer than this stations: upgrade stations" if found > SCHEMA_VERSION else
                   f"older: back it up, then run `stations --store {location} db upgrade`")


@db_group.command("upgrade")
@click.pass_context
def db_upgrade_cmd(ctx):
    """Bring the store to this stations' schema version, one step (one transaction) at a time.

    Back the store up first (copy the .gpkg file while nothing writes to it)."""
    from .store import SCHEMA_VERSION, open_store

    location = _settings(ctx)["store"]
    with open_store(location, create=False, for_upgrade=True) as store:
        applied = store.upgrade()
    for description in applied:
        click.echo(f"applied {description}")
    click.echo(f"store {location} is now at schema version {SCHEMA_VERSION}" if applied
               else f"already at version {SCHEMA_VERSION}")


@main.command("migrate")
@click.option("--to", "target", required=True,
              help="The new store: a .gpkg path that does not exist, or postgresql://user@host:port/db (an empty "
                   "database).")
@click.pass_context
def migrate_cmd(ctx, target):
    """Copy the whole store (--store) into a new store at --to, GeoPackage <-> PostGIS.

    Stations, history, batches, revision, users, API tokens, reports, check dates and app
    secrets move with their ids, in one transaction on the target; sessions and rate-limit
    events do not (users sign in again). Stop writers first: the copy reads one snapshot."""
    from .store.copy import NOT_MOVED, copy_store
    from .store.postgis import public_location

    bars: dict = {}
    make_bar = _progress()

    def progress(table: str, rows: int) -> None:
        if table not in bars:
            for bar in bars.values():
                bar.close()
            bars[table] = make_bar(desc=table, unit=" rows")
        bars[table].update(rows)

    try:
        with _store(ctx, create=False) as store:
            result = copy_store(store, target, progress=progress)
    finally:
        for bar in bars.values():
            bar.close()
    counts = ", ".join(f"{n} {table}" for table, n in result.rows.items())
    click.echo(f"copied {public_location(str(_settings(ctx)['store']))} to {result.target} ({result.kind}, revision {result.revision}): "
               f"{counts}")
    click.echo(f"not copied: {', '.join(NOT_MOVED)} (short-lived; users sign in again)")


def run() -> None:  # pragma: no cover
    main(obj={})


if __name__ == "__main__":  # pragma: no cover
    main(obj={})
