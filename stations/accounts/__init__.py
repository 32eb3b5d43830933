"""Accounts, scoped roles, staff edits, workers' reports and check dates.

Library first: everything here works on a store without Flask; the web layer
(:mod:`stations.web.writes`, :mod:`stations.web.reports`, :mod:`stations.web.workspace`) and the
CLI (``stations users``, ``stations tokens``) are thin adapters.
"""

from .curation import (FIELD_GROUPS, ago, area_stations, check_info, create_station, due_list, etag,
                       patch_station, set_status, upload_apply, upload_dry_run, verify_station)
from .errors import Conflict, Forbidden, PreconditionFailed, PreconditionRequired, RateLimited, Unauthorized
from .reports import KINDS, accept_report, get_report, list_reports, reject_report, submit_report, summaries
from .scopes import ROLES, User, in_areas, may, may_edit
from .users import (add_user, authenticate, create_session, create_token, disable_user, end_session, get_user,
                    hit_rate_limit, list_tokens, list_users, revoke_token, user_for_session, user_for_token)

__all__ = [
    "FIELD_GROUPS", "KINDS", "ROLES", "Conflict", "Forbidden", "PreconditionFailed", "PreconditionRequired",
    "RateLimited", "Unauthorized", "User", "accept_report", "add_user", "ago", "area_stations", "authenticate",
    "check_info", "create_session", "create_station", "create_token", "disable_user", "due_list", "end_session",
    "etag", "get_report", "get_user", "hit_rate_limit", "in_areas", "list_reports", "list_tokens", "list_users",
    "may", "may_edit", "patch_station", "reject_report", "revoke_token", "set_status", "submit_report",
    "summaries", "upload_apply", "upload_dry_run", "user_for_session", "user_for_token", "verify_station",
]
