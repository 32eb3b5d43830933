"""The OpenAPI document: made from the routes and their declarations, with the settings' limits."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import schemathesis

from stations.store import open_store
from stations.web import create_app
from stations.web.openapi import api_operations, openapi_document


@pytest.fixture
def app(tmp_path):
    open_store(tmp_path / "empty.gpkg").close()  # serving never creates a store
    return create_app({"store": str(tmp_path / "empty.gpkg")})


def _params(doc, path, method="get"):
    return {p["name"]: p for p in doc["paths"][path][method].get("parameters", [])}


def test_it_is_valid_openapi_3_0(app):
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    assert doc["openapi"] == "3.0.3"
    schemathesis.openapi.from_dict(doc).validate()  # the OpenAPI 3.0 meta-schema


def test_every_api_route_is_documented_and_nothing_else(app):
    doc = openapi_document(app)
    routes = {(re.sub(r"<(?:[a-z]+:)?(\w+)>", r"{\1}", rule), method.lower())
              for rule, method, _ in api_operations(app)}
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert documented == routes
    assert ("/api/v1/ping", "get") in documented and ("/api/v1/nearest/batch", "post") in documented
    assert ("/api/v1/reports/{report_id}/accept", "post") in documented


def test_a_new_route_is_documented_by_its_declaration(app):
    from flask import Blueprint

    from stations.web.openapi import operation
    from stations.web.params import Param

    bp = Blueprint("extra", __name__, url_prefix="/api/v1")

    @bp.get("/extra/<thing>")
    @operation(summary="An extra route", path_params=(Param("thing", "str", "A thing."),),
               params=(Param("n", "int", "How many.", maximum_setting="max_k"),),
               response={"type": "object"}, not_found="No such thing.", store=False)
    def extra_view(thing):
        return {}

    app.register_blueprint(bp)
    op = openapi_document(app)["paths"]["/api/v1/extra/{thing}"]["get"]
    assert op["summary"] == "An extra route" and op["operationId"] == "extra_view"
    assert [p["in"] for p in op["parameters"]] == ["path", "query"]
    assert op["parameters"][1]["schema"] == {"type": "integer", "maximum": 100}
    assert set(op["responses"]) == {"200", "400", "404", "405", "414", "431"}


def test_lists_are_arrays_of_allowed_values_sent_comma_separated(app):
    doc = openapi_document(app)
    amenities = _params(doc, "/api/v1/nearest")["amenities"]
    assert amenities["style"] == "form" and amenities["explode"] is False
    assert amenities["schema"]["type"] == "array" and "toilet" in amenities["schema"]["items"]["enum"]
    assert amenities["schema"]["minItems"] == 1 and amenities["schema"]["uniqueItems"] is True
    status = _params(doc, "/api/v1/stations")["status"]["schema"]
    assert status["items"]["enum"] == ["open", "temporarily_closed", "removed"]
    assert status["default"] == ["open", "temporarily_closed"]
    for path, ops in doc["paths"].items():
        for op in ops.values():
            for p in op.get("parameters", []):
                assert "Allowed:" not in p["description"], (path, p["name"])
                assert "allowEmptyValue" not in p  # an empty value is refused, as the server does


def test_limits_come_from_the_settings(tmp_path):
    open_store(tmp_path / "s.gpkg").close()
    app = create_app({"store": str(tmp_path / "s.gpkg"), "max_k": 42, "page_max": 77, "batch_max_points": 9,
                      "batch_max_results": 99})
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    assert _params(doc, "/api/v1/nearest")["k"]["schema"]["maximum"] == 42
    assert _params(doc, "/api/v1/stations")["limit"]["schema"]["maximum"] == 77
    body = doc["paths"]["/api/v1/nearest/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["points"]["maxItems"] == 9 and body["properties"]["k"]["maximum"] == 42
    assert "(99)" in body["description"]


def test_every_answer_has_a_schema_and_every_error_the_problem_shape(app):
    doc = openapi_document(app)
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            responses = op["responses"]
            ok = [s for s in responses if s.startswith("2")]
            assert len(ok) == 1 and responses[ok[0]]["content"]["application/json"]["schema"]["type"] == "object"
            assert {"400", "405", "414", "431"} <= set(responses), path
            assert "Allow" in responses["405"]["headers"]
            if method == "post":
                assert "413" in responses
            for status, answer in responses.items():
                if status.startswith(("4", "5")):
                    schema = answer["content"]["application/problem+json"]["schema"]
                    assert list(answer["content"]) == ["application/problem+json"], (path, status)
                    assert _is_problem(doc, schema), (path, status)
    assert "304" in doc["paths"]["/api/v1/stations"]["get"]["responses"]
    assert "ETag" in doc["paths"]["/api/v1/stations"]["get"]["responses"]["200"]["headers"]
    assert "404" in doc["paths"]["/api/v1/stations/{station_id}"]["get"]["responses"]
    assert "503" not in doc["paths"]["/api/v1/ping"]["get"]["responses"]


def _is_problem(doc, schema):
    """The Problem schema, or one that extends it (allOf with the Problem first)."""
    if schema == {"$ref": "#/components/schemas/Problem"}:
        return True
    name = schema.get("$ref", "").rsplit("/", 1)[-1]
    extended = doc["components"]["schemas"].get(name, {})
    return extended.get("allOf", [None])[0] == {"$ref": "#/components/schemas/Problem"}


WRITES = [("/api/v1/stations", "post"), ("/api/v1/stations/{station_id}", "patch"),
          ("/api/v1/stations/{station_id}/verify", "post"), ("/api/v1/stations/{station_id}/status", "post"),
          ("/api/v1/uploads", "post"), ("/api/v1/uploads/{upload_id}/confirm", "post"),
          ("/api/v1/reports/{report_id}/accept", "post"), ("/api/v1/reports/{report_id}/reject", "post")]


def test_write_routes_declare_credentials_bodies_and_their_errors(app):
    doc = openapi_document(app)
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer", "description": schemes["bearer"]["description"]}
    assert (schemes["session"]["in"], schemes["session"]["name"]) == ("cookie", "stations_session")
    assert (schemes["csrf"]["in"], schemes["csrf"]["name"]) == ("header", "X-CSRF-Token")
    for path, method in WRITES:
        op = doc["paths"][path][method]
        assert op["security"] == [{"bearer": []}, {"session": [], "csrf": []}], path
        assert {"401", "403"} <= set(op["responses"]), path
        assert "WWW-Authenticate" in op["responses"]["401"]["headers"]
        assert "requestBody" in op, path
    assert doc["paths"]["/api/v1/reports"]["get"]["security"] == [{"bearer": []}, {"session": []}]
    for path, method in [("/api/v1/stations/{station_id}/reports", "post"), ("/api/v1/checks", "get"),
                         ("/api/v1/stations/{station_id}/checks", "get"), ("/api/v1/nearest", "get")]:
        assert "security" not in doc["paths"][path][method] and "401" not in doc["paths"][path][method]["responses"]
    patch = doc["paths"]["/api/v1/stations/{station_id}"]["patch"]
    assert _params(doc, "/api/v1/stations/{station_id}", "patch")["If-Match"]["in"] == "header"
    assert {"412", "428"} <= set(patch["responses"])
    assert patch["responses"]["412"]["content"]["application/problem+json"]["schema"]["$ref"].endswith("StaleProblem")
    assert "ETag" in patch["responses"]["412"]["headers"] and "ETag" in patch["responses"]["200"]["headers"]
    create = doc["paths"]["/api/v1/stations"]["post"]
    assert "201" in create["responses"] and "Location" in create["responses"]["201"]["headers"]
    assert create["responses"]["409"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["required"] == ["record"]
    upload = doc["paths"]["/api/v1/uploads"]["post"]["requestBody"]["content"]
    assert upload["multipart/form-data"]["schema"]["properties"]["file"]["format"] == "binary"
    report = doc["paths"]["/api/v1/stations/{station_id}/reports"]["post"]["responses"]
    assert "Retry-After" in report["429"]["headers"] and "201" in report
    assert doc["paths"]["/api/v1/stations/{station_id}/verify"]["post"]["requestBody"]["required"] is False
    ids = _params(doc, "/api/v1/checks")["ids"]
    assert ids["required"] is True and ids["schema"]["type"] == "array"
    assert _params(doc, "/api/v1/reports")["status"]["schema"]["enum"] == ["open", "accepted", "rejected", "all"]


def test_no_import_circle_between_the_views_and_the_document():
    code = ("import sys; import stations.web.openapi; "
            "assert 'stations.web.api' not in sys.modules and 'stations.web.map_api' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
