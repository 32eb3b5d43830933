"""The API against its own OpenAPI document, with schemathesis (in-process WSGI, every check).

Every operation is fuzzed from the document: values it allows (each must be accepted, or
refused only for a reason the document states in words), values it forbids (each must be a
4xx), boundary values, missing parameters and methods the route lacks (405 with Allow).
Every answer must match its documented status, media type, headers and schema, and none may
be a 5xx. The coverage endpoint computes a grid per request: its runs take a small district.

Two runs: every operation without credentials (the write routes must answer 401, never a
5xx), then the operations that need credentials again with an admin's API token, so that
their bodies, headers and ids are validated for real (a documented 2xx or 4xx each).
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest
import schemathesis

from stations.accounts import add_user, create_token
from stations.io.importer import import_file
from stations.store import open_store
from stations.web import create_app

from conftest import ROOT, write_csv
from test_api import HEADER, STATIONS

EXAMPLES_PER_OPERATION = 30
EXAMPLES_PER_WRITE = 15
CASES: Counter = Counter()
AUTH_CASES: Counter = Counter()
# schemathesis.pytest.from_fixture (4.32) fails under pytest 9 (it reads Node._nodeid), so the
# schema is loaded when the module is: from an app whose store the fixture below fills. Only
# the document is read here, and it does not touch the store.
STORE = Path(tempfile.mkdtemp(prefix="stations-schemathesis-")) / "st.gpkg"
# Refusals of values the document allows, for reasons a schema cannot state (it says them in
# words): a point outside mainland China in gcj02/bd09, a box with min above max or past the
# poles, open=at without at, a day the calendar lacks. The check below holds every refusal of
# an allowed value to this list; any other reason fails.
SECURED = ("create_view", "patch_view", "verify_view", "status_view", "upload_view", "confirm_view", "accept_view",
           "reject_view", "reports_view")
STATED_REASONS = ("outside mainland China", "not a valid box", "open=at needs a time", "no such date",
                  "longer than 200 characters", "only with kind amenity_missing",
                  # /changes: a cursor is one the feed handed out; `since` at most the store's revision
                  "not a cursor of this feed", "newer than this service's revision")
CONFIG = schemathesis.Config.from_dict({
    "seed": 20261202,
    "generation": {"max-examples": EXAMPLES_PER_OPERATION, "mode": "all"},
    # Without credentials a write route answers 401 before it reads the request (the public
    # routes document no 401, so one there fails the status check).
    "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "304", "400", "401", "404"]},
               # A 414 or 431 (over the app's limits) refuses a request as a 400 does.
               "negative_data_rejection": {"expected-statuses": ["400", "401", "404", "405", "413", "414", "431"]}},
    # Duplicate query parameters: the API refuses them (400), so let the coverage phase send them.
    "phases": {"coverage": {"generate-duplicate-query-parameters": True}},
    # Coverage computes a grid per request: a small district (北京市东城区, 42 km², 16,662 cells at 50 m).
    "operations": [{"include-path": "/api/v1/coverage", "parameters": {"query.area": "110101"},
                    "generation": {"max-examples": 10}},
                   # Without credentials the routes that need them answer 401 whatever else is sent:
                   # a few cases show it (and no 5xx); their bodies are fuzzed in the second run.
                   {"include-operation-id": list(SECURED), "generation": {"max-examples": 5}}],
})
def _fill(path):
    """32 stations: the sample data of two counties (mixed input as staff type it), five by hand in
    Changli and three (synthetic) in 北京市东城区, the coverage runs' district."""
    dongcheng = [["DC1", "东城一", 116.410, 39.925, "24/7", "厕所", "所有人", "正常", ""],
                 ["DC2", "东城二", 116.420, 39.910, "Mo-Fr 08:00-18:00", "微波炉", "户外劳动者", "正常", ""],
                 ["DC3", "东城三", 116.400, 39.940, "", "", "所有人", "暂停开放", "装修"]]
    with open_store(path) as store:
        assert import_file(store, ROOT / "data" / "sample_stations.csv").rejected == 0
        assert import_file(store, write_csv(path.parent / "s.csv", HEADER, STATIONS + dongcheng)).rejected == 0


_fill(STORE)
# Workers' reports are rate-limited per client: high enough here that the run is not throttled.
APP = create_app({"store": str(STORE), "reports_per_hour": 100_000})
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", APP, config=CONFIG)
# The routes that need credentials, run with an admin's token. A valid request may still meet
# a station or report that does not exist (404), an If-Match that is not the record's (412),
# a PATCH without one (428), a report already resolved or a station id taken (409).
WRITE_CONFIG = schemathesis.Config.from_dict({
    "seed": 20261203,
    "generation": {"max-examples": EXAMPLES_PER_WRITE, "mode": "all"},
    "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "404", "409", "412", "428"]},
               # An If-Match the schema forbids (empty, too long) is not the record's ETag: 412.
               "negative_data_rejection": {"expected-statuses": ["400", "404", "405", "412", "413", "414", "428",
                                                                 "431"]},
               # The token is sent by the test: schemathesis' own auth checks belong to the first run.
               "ignored_auth": {"enabled": False}},
})
writes = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", APP, config=WRITE_CONFIG).include(
    operation_id=list(SECURED))


@pytest.fixture(scope="module", autouse=True)
def stations_store():
    """The store the app serves (filled before the app was made: serving never creates a store)."""
    yield STORE
    APP.extensions["stations"].close()
    shutil.rmtree(STORE.parent)


@pytest.fixture(scope="module")
def admin_headers(stations_store):
    """An admin's API token, made with stations.accounts as `stations tokens create` does."""
    with open_store(stations_store) as store:
        add_user(store, "fuzz-admin", role="admin")
        token = create_token(store, "fuzz-admin", label="schemathesis")[1]
    return {"Authorization": f"Bearer {token}"}


@schemathesis.check
def allowed_values_are_refused_only_for_stated_reasons(ctx, response, case):
    """A 400 to a request the document allows must give one of :data:`STATED_REASONS`."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code != 400:
        return None
    if not case.operation.path.startswith("/api/"):  # a global check: /ogc's own run (test_ogc) has its rules
        return None
    if "requestBody" in case.operation.definition.raw and "security" in case.operation.definition.raw:
        # A staff write's record is validated as an import row is (opening_hours syntax, adcode,
        # a position inside the area): its body schema says so in words, the 400 names each rule.
        return None
    reasons = [f"{e['parameter']}: {e['reason']}" for e in response.json().get("errors", [])] or \
        [response.json()["detail"]]
    unstated = [r for r in reasons if not any(s in r for s in STATED_REASONS)]
    if unstated:
        raise AssertionError(f"an allowed request refused: {'; '.join(unstated)}")
    return None


# The in-process client hands back the bytes as sent: ask for them uncompressed (compression is
# tested in tests/test_answers.py).
IDENTITY = {"Accept-Encoding": "identity"}


@schema.parametrize()
def test_api_conforms_to_its_document(case):
    CASES[case.operation.label] += 1
    case.call_and_validate(headers=IDENTITY)


@writes.parametrize()
def test_writes_with_an_admin_token_conform_to_the_document(case, admin_headers):
    AUTH_CASES[case.operation.label] += 1
    case.call_and_validate(headers={**admin_headers, **IDENTITY})


def test_enough_cases_ran():
    if not CASES or not AUTH_CASES:
        pytest.skip("counts the cases of the two runs above: run them together")
    assert sum(CASES.values()) >= 1000, CASES
    assert set(AUTH_CASES) == {op for op in CASES if "security" in schema[op.split()[1]][op.split()[0]].definition.raw}
    assert len(AUTH_CASES) == len(SECURED) and min(AUTH_CASES.values()) >= 10, AUTH_CASES
