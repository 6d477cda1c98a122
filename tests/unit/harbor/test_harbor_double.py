"""The double itself: proof that its swagger validation bites (unknown fields, wrong types,
unknown parameters, undeclared paths) and that it behaves as the adapter tests assume."""

import pytest
import requests

from tests.harbor.swagger import Swagger, SwaggerViolation

AUTH = ("admin", "Harbor12345")


def _post(double, path, body, **kwargs):
    return requests.post(double.url + "/api/v2.0" + path, json=body, auth=AUTH, timeout=5, **kwargs)


def _take(double):
    found = list(double.violations)
    double.violations.clear()
    return found


def test_unknown_field_is_rejected_and_recorded(double):
    response = _post(double, "/projects", {"project_name": "x", "metadata": {"public": "true", "description": "d"}})
    assert response.status_code == 400
    assert "unknown property 'description'" in response.json()["errors"][0]["message"]
    violations = _take(double)
    assert len(violations) == 1 and "body.metadata" in violations[0]
    assert double.project("x") is None


def test_wrong_type_is_rejected_and_recorded(double):
    response = _post(double, "/projects", {"project_name": "x", "metadata": {"public": True}})
    assert response.status_code == 400 and "expected a string" in response.text
    response = _post(double, "/projects", {"project_name": "x", "storage_limit": "10"})
    assert response.status_code == 400 and "expected an integer" in response.text
    assert len(_take(double)) == 2


def test_nested_ref_is_resolved(double):
    response = _post(double, "/robots", {"name": "r", "level": "system", "duration": -1,
                                         "permissions": [{"kind": "system", "namespace": "/",
                                                          "access": [{"resource": "project", "verb": "list"}]}]})
    assert response.status_code == 400 and "body.permissions[0].access[0]: unknown property 'verb'" in response.text
    assert len(_take(double)) == 1


def test_read_only_property_is_rejected(double):
    response = requests.put(double.url + "/api/v2.0/system/gc/schedule", auth=AUTH, timeout=5,
                            json={"schedule": {"type": "None"}, "status": "x"})
    assert response.status_code == 400 and "read-only" in response.text
    assert len(_take(double)) == 1


def test_unknown_and_badly_typed_query_parameters(double):
    response = requests.get(double.url + "/api/v2.0/projects", params={"pagesize": 5}, auth=AUTH, timeout=5)
    assert response.status_code == 400 and "unknown query parameter 'pagesize'" in response.text
    response = requests.get(double.url + "/api/v2.0/projects", params={"page": "two"}, auth=AUTH, timeout=5)
    assert response.status_code == 400 and "not an integer" in response.text
    response = requests.get(double.url + "/api/v2.0/projects", params={"page_size": 500}, auth=AUTH, timeout=5)
    assert response.status_code == 400 and "maximum 100" in response.text
    assert len(_take(double)) == 3


def test_undeclared_path_and_method(double):
    assert requests.get(double.url + "/api/v2.0/nothing-here", auth=AUTH, timeout=5).status_code == 404
    assert requests.delete(double.url + "/api/v2.0/systeminfo", auth=AUTH, timeout=5).status_code == 405
    assert len(_take(double)) == 2


def test_session_cookie_on_a_write_is_refused(double):
    session = requests.Session()
    assert session.get(double.url + "/api/v2.0/projects", auth=AUTH, timeout=5).status_code == 200
    assert "sid" in session.cookies
    response = session.post(double.url + "/api/v2.0/projects", json={"project_name": "csrf"}, auth=AUTH, timeout=5)
    assert response.status_code == 403 and double.project("csrf") is None
    assert "CSRF" in _take(double)[0]


def test_missing_required_body(double):
    response = requests.post(double.url + "/api/v2.0/projects", auth=AUTH, timeout=5)
    assert response.status_code == 400 and "required" in response.text
    assert len(_take(double)) == 1


def test_response_validation_bites(double, monkeypatch):
    monkeypatch.setattr(double, "op_getPing", lambda **_: __import__("tests.harbor.double", fromlist=["Reply"])
                        .Reply(200, {"pong": 1}))
    response = requests.get(double.url + "/api/v2.0/ping", timeout=5)
    assert response.status_code == 500 and "DOUBLE_RESPONSE_INVALID" in response.text
    assert "expected a string" in _take(double)[0]


def test_auth(double):
    assert requests.get(double.url + "/api/v2.0/projects", timeout=5).status_code == 401
    assert requests.get(double.url + "/api/v2.0/projects", auth=("admin", "nope"), timeout=5).status_code == 401
    assert requests.get(double.url + "/api/v2.0/health", timeout=5).status_code == 200
    assert requests.get(double.url + "/api/v2.0/ping", timeout=5).text == "Pong"


def test_pagination_headers(double):
    for index in range(25):
        double._new_project("p%02d" % index, owner=double.users[1])
    response = requests.get(double.url + "/api/v2.0/projects", params={"page": 2, "page_size": 10}, auth=AUTH,
                            timeout=5)
    assert response.headers["X-Total-Count"] == "26" and len(response.json()) == 10
    assert response.links["next"]["url"].endswith("page=3&page_size=10")
    assert response.links["prev"]["url"].endswith("page=1&page_size=10")


@pytest.mark.parametrize("schema,value,fragment", [
    ({"type": "integer", "format": "int32"}, 2 ** 31, "int32 range"),
    ({"type": "integer"}, True, "expected an integer"),
    ({"type": "boolean"}, "true", "expected a boolean"),
    ({"type": "string", "format": "date-time"}, "yesterday", "date-time"),
    ({"$ref": "#/definitions/ScheduleObj"}, {"type": "Sometimes"}, "not one of"),
    ({"$ref": "#/definitions/UserSysAdminFlag"}, {"sysadmin_flag": None}, "null is not allowed"),
    ({"$ref": "#/definitions/QuotaUpdateReq"}, {"hard": {"storage": "1G"}}, "expected an integer"),
])
def test_schema_validator_cases(swagger, schema, value, fragment):
    errors = swagger.validate(schema, value, "x")
    assert errors and fragment in errors[0]


def test_schema_validator_accepts_valid(swagger):
    assert swagger.validate({"$ref": "#/definitions/ProjectReq"},
                            {"project_name": "a", "storage_limit": None, "metadata": {"public": "true"}}, "x") == []
    # go-swagger reads a bare {type: object} as interface{}: retention params hold integers
    assert swagger.validate({"$ref": "#/definitions/RetentionRule"},
                            {"params": {"latestPushedK": 10}, "template": "latestPushedK"}, "x") == []


def test_route_matching_prefers_literal_segments(swagger):
    _route, op, _params = swagger.match("GET", "/api/v2.0/users/current")
    assert op["operationId"] == "getCurrentUserInfo"
    _route, op, params = swagger.match("GET", "/api/v2.0/users/7")
    assert op["operationId"] == "getUser" and params == {"user_id": "7"}
    with pytest.raises(SwaggerViolation):
        swagger.check_request("GET", "/api/v2.0/users/seven", {}, {}, None, False)


def test_swagger_is_harbors(swagger):
    assert isinstance(swagger, Swagger) and swagger.base_path == "/api/v2.0"
    assert swagger.doc["swagger"] == "2.0" and "/projects" in swagger.doc["paths"]
