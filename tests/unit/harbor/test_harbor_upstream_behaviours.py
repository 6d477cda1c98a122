"""Harbor behaviours the double reproduces from Harbor v2.15.2's source (issue 12, Harbor items 2-8),
and the collection's handling of each, run as Ansible runs the modules. Every test here failed on the
collection as it was before these fixes; the upstream file of each behaviour is cited in
tests/harbor/double.py where the double reproduces it."""

import json
import re
from pathlib import Path

import pytest
import requests

from tests.unit.module_runner import run_module_file

from .conftest import ADMIN_PASSWORD, make_backend, run_module

ROOT = Path(__file__).resolve().parents[3]
AUTH = ("admin", ADMIN_PASSWORD)


def writes(double):
    return list(double.writes())


def api_get(double, path, auth=AUTH):
    return requests.get(double.url + "/api/v2.0" + path, auth=auth, timeout=5)


# -- 2. false booleans left out of GET responses: oci_webhook settles ----------------------------
HOOK = {"name": "ci", "url": "https://ci.example.test/hook", "headers": {"Authorization": "Bearer t0ken-value"},
        "events": ["push"]}


def test_double_leaves_false_booleans_out_but_keeps_x_omitempty_false(double, backend):
    backend.namespace_ensure({"name": "apps"})
    run = backend.webhooks_ensure("apps", backend.webhook_policies([HOOK]))
    assert run[0]["created"] == ["ci"]
    project_id = double.project("apps")["project_id"]
    listed = api_get(double, "/projects/%d/webhook/policies" % project_id).json()
    assert "skip_cert_verify" not in listed[0]["targets"][0]  # WebhookTargetObject: plain bool, omitempty
    assert listed[0]["enabled"] is True
    robot = backend.ensure_robot("ci", project="apps",
                                 permissions=[{"access": [{"resource": "repository", "action": "pull"}]}])
    got = api_get(double, "/robots/%d" % robot["after"]["id"]).json()
    assert got["disable"] is False and got["editable"] is True  # Robot.disable has x-omitempty: false
    users = api_get(double, "/users/1").json()
    assert users["sysadmin_flag"] is True


def test_webhook_second_run_sends_nothing(double, backend, tmp_path):
    backend.namespace_ensure({"name": "apps"})
    first = run_module("oci_webhook", double, tmp_path, namespaces=["apps"], webhooks=[HOOK])
    assert first["changed"] and not first.get("failed"), first
    count = len(writes(double))
    again = run_module("oci_webhook", double, tmp_path, namespaces=["apps"], webhooks=[HOOK])
    assert not again.get("failed") and not again["changed"], again
    assert len(writes(double)) == count, writes(double)[count:]


# -- 3. Harbor keeps scheme, host and path of a webhook address ------------------------------------
@pytest.mark.parametrize("url, lost", [
    ("https://hooks.example.test/in?token=abc", "a query string"),
    ("https://hooks.example.test/in#frag", "a fragment"),
    ("https://user:pw@hooks.example.test/in", "user info"),
])
def test_webhook_address_harbor_would_cut_is_refused(double, backend, tmp_path, url, lost):
    backend.namespace_ensure({"name": "apps"})
    before = len(writes(double))
    result = run_module("oci_webhook", double, tmp_path, namespaces=["apps"], webhooks=[dict(HOOK, url=url)])
    assert result.get("failed") and "webhooks[0].url" in result["msg"] and lost in result["msg"], result
    assert "scheme, host and path" in result["msg"]
    assert len(writes(double)) == before


def test_double_keeps_only_scheme_host_and_path(double, backend):
    backend.namespace_ensure({"name": "apps"})
    project_id = double.project("apps")["project_id"]
    body = {"name": "raw", "event_types": ["PUSH_ARTIFACT"], "enabled": True,
            "targets": [{"type": "http", "address": "https://h.example.test/in/?token=abc#x"}]}
    response = requests.post(double.url + "/api/v2.0/projects/%d/webhook/policies" % project_id, json=body,
                             auth=AUTH, timeout=5)
    assert response.status_code == 201
    stored = api_get(double, "/projects/%d/webhook/policies" % project_id).json()[0]
    # the trailing "/" is trimmed from the whole string before parsing, so this one stays
    assert stored["targets"][0]["address"] == "https://h.example.test/in/"


def test_webhook_trailing_slash_compared_as_harbor_keeps_it(double, backend, tmp_path):
    backend.namespace_ensure({"name": "apps"})
    hook = dict(HOOK, url="https://ci.example.test/hook/")
    first = run_module("oci_webhook", double, tmp_path, namespaces=["apps"], webhooks=[hook])
    assert first["changed"], first
    count = len(writes(double))
    again = run_module("oci_webhook", double, tmp_path, namespaces=["apps"], webhooks=[hook])
    assert not again["changed"] and len(writes(double)) == count, again


# -- 4. CreateRobot does not read "disable" ------------------------------------------------------
def test_robot_created_disabled_is_disabled(double, backend, tmp_path):
    backend.namespace_ensure({"name": "apps"})
    perms = [{"access": [{"resource": "repository", "action": "pull"}]}]
    result = run_module("oci_robot", double, tmp_path, name="ci", level="project", project="apps",
                        permissions=perms, disable=True)
    assert result["changed"] and not result.get("failed"), result
    robot = next(r for r in double.robots.values() if r["name"] == "robot$apps+ci")
    assert robot["disable"] is True
    assert result["robot"]["disable"] is True, result
    again = run_module("oci_robot", double, tmp_path, name="ci", level="project", project="apps",
                       permissions=perms, disable=True)
    assert not again["changed"], again


# -- 5. the built-in admin (user id 1) is not listed ------------------------------------------------
def test_double_hides_user_1_from_the_list(double):
    listed = api_get(double, "/users", auth=AUTH).json()
    assert [u["username"] for u in listed] == []
    assert api_get(double, "/users?q=username%3Dadmin").json() == []
    assert api_get(double, "/users/1").json()["username"] == "admin"


def test_admin_password_rotated_by_admin_himself(double, tmp_path):
    new = "Rotated-Adm1n"
    dry = run_module("oci_user", double, tmp_path, check=True, diff=True, name="admin", user_password=new,
                     admin=True, update_password="always")
    assert dry["changed"] and not dry.get("failed"), dry
    assert dry["diff"]["before"].get("admin") is not None, dry  # found, not "would create"
    assert writes(double) == []
    real = run_module("oci_user", double, tmp_path, name="admin", user_password=new, admin=True,
                      update_password="always")
    assert real["changed"] and real["users"][0]["password_changed"], real
    assert double.users[1]["password"] == new
    assert [w[0] for w in writes(double)] == ["PUT"] and writes(double)[0][1].endswith("/users/1/password")
    assert new not in json.dumps(real) and ADMIN_PASSWORD not in json.dumps(real)
    again = run_module("oci_user", double, tmp_path, password=new, name="admin", user_password=new, admin=True,
                       update_password="always")
    assert not again["changed"], again


def test_admin_password_rotated_by_another_system_admin(double, backend, tmp_path):
    backend.user_ensure({"name": "ops", "password": "Ops-Passw0rd", "admin": True})
    count = len(writes(double))
    params = dict(registry_url=double.url, registry_type="harbor", username="ops", password="Ops-Passw0rd",
                  retries=0, name="admin", user_password="Other-Adm1n", admin=True, update_password="always")
    result = run_module_file("oci_user", params, tmp_path)
    assert result["changed"] and not result.get("failed"), result
    assert double.users[1]["password"] == "Other-Adm1n" and len(writes(double)) == count + 1


def test_admin_cannot_be_deleted_and_says_so(double, backend, tmp_path):
    backend.user_ensure({"name": "ops", "password": "Ops-Passw0rd", "admin": True})
    count = len(writes(double))
    params = dict(registry_url=double.url, registry_type="harbor", username="ops", password="Ops-Passw0rd",
                  retries=0, name="admin", state="absent")
    result = run_module_file("oci_user", params, tmp_path)
    assert result.get("failed") and "built-in admin" in result["msg"] and "never deletes" in result["msg"], result
    assert 1 in double.users and len(writes(double)) == count


def test_admin_cannot_lose_its_admin_flag(double, tmp_path):
    result = run_module("oci_user", double, tmp_path, name="admin", admin=False)
    assert result.get("failed") and "admin: true" in result["msg"], result
    assert writes(double) == []


# -- 6. Harbor's e-mail rule ------------------------------------------------------------------------
@pytest.mark.parametrize("name, email", [
    ("alice@corp", "alice-corp@oci-registry.invalid"),
    ("bob@example.com", "bob@example.com"),
    ("carol", "carol@oci-registry.invalid"),
])
def test_derived_email_is_one_harbor_accepts(double, tmp_path, name, email):
    result = run_module("oci_user", double, tmp_path, name=name, user_password="User-Passw0rd")
    assert result["changed"] and not result.get("failed"), result
    assert double.user(name)["email"] == email


def test_email_option_and_model_entries(double, tmp_path):
    result = run_module("oci_user", double, tmp_path, name="dave", user_password="User-Passw0rd",
                        email="dave@corp.example")
    assert result["changed"] and double.user("dave")["email"] == "dave@corp.example", result
    moved = run_module("oci_user", double, tmp_path, name="dave", email="d.ave@corp.example")
    assert moved["changed"] and double.user("dave")["email"] == "d.ave@corp.example", moved
    count = len(writes(double))
    same = run_module("oci_user", double, tmp_path, name="dave", email="d.ave@corp.example")
    assert not same["changed"] and len(writes(double)) == count, same
    listed = run_module("oci_user", double, tmp_path, users=[
        {"name": "erin", "password": "User-Passw0rd", "email": "erin@corp.example"}])
    assert listed["changed"] and double.user("erin")["email"] == "erin@corp.example", listed


def test_bad_email_refused_before_anything_is_sent(double, tmp_path):
    for args in (dict(name="frank", user_password="User-Passw0rd", email="frank@corp@x.example"),
                 dict(users=[{"name": "frank", "password": "User-Passw0rd", "email": "frank@localhost"}])):
        result = run_module("oci_user", double, tmp_path, **args)
        assert result.get("failed") and "email" in result["msg"] and "two or more letters" in result["msg"], result
    assert writes(double) == [] and double.user("frank") is None


def test_double_applies_harbors_email_rule(double):
    response = requests.post(double.url + "/api/v2.0/users", auth=AUTH, timeout=5, json={
        "username": "x@corp", "password": "User-Passw0rd", "realname": "x", "email": "x@corp@oci-registry.invalid"})
    assert response.status_code == 400 and "email with illegal format" in response.text


# -- 7. /systeminfo for anonymous callers has no read_only: a refused login fails -----------------
def test_read_only_with_a_refused_login_fails(double, tmp_path):
    double.config["read_only"] = True
    anonymous = requests.get(double.url + "/api/v2.0/systeminfo", auth=("admin", "wrong-Passw0rd"), timeout=5)
    assert anonymous.status_code == 200 and "read_only" not in anonymous.json()
    result = run_module("oci_read_only", double, tmp_path, password="wrong-Passw0rd")
    assert result.get("failed") and "401" in result["msg"], result
    assert result.get("read_only") is None
    assert "wrong-Passw0rd" not in json.dumps(result)
    assert writes(double) == []


def test_read_only_as_a_user_who_is_no_admin(double, backend, tmp_path):
    backend.user_ensure({"name": "viewer", "password": "View-Passw0rd"})
    double.config["read_only"] = True
    params = dict(registry_url=double.url, registry_type="harbor", username="viewer", password="View-Passw0rd",
                  retries=0)
    result = run_module_file("oci_read_only", params, tmp_path)
    assert not result.get("failed") and result["read_only"] is True, result


# -- 8. oci_gc on Harbor: check mode writes nothing; changed only when something is deleted -------
@pytest.fixture
def team(double, backend):
    backend.namespace_ensure({"name": "team", "retention": {"keep_tags": 2}})
    double.add_repository("team", "app", artifacts=5)
    double.add_repository("team", "small", artifacts=1)
    double.requests.clear()
    return [{"name": "team", "retention": {"keep_tags": 2}}, {"name": "free"}]


def test_gc_check_mode_writes_nothing_and_says_what_may_go(double, team, tmp_path):
    dry = run_module("oci_gc", double, tmp_path, check=True, namespaces=team)
    assert not dry.get("failed"), dry
    assert writes(double) == [], writes(double)
    assert dry["changed"] and dry["retention_candidates"] == [
        {"namespace": "team", "repository": "team/app", "artifacts": 5, "beyond_keep": 3}], dry


def test_gc_check_mode_before_the_first_init(double, tmp_path):
    namespaces = [{"name": "new-team", "retention": {"keep_tags": 2}}]
    dry = run_module("oci_gc", double, tmp_path, check=True, namespaces=namespaces)
    assert not dry.get("failed") and not dry["changed"] and "new-team" in dry["message"], dry
    assert writes(double) == []
    real = run_module("oci_gc", double, tmp_path, namespaces=namespaces)
    assert real.get("failed") and "has no retention policy" in real["msg"], real
    assert writes(double) == []


def test_gc_changed_only_when_something_was_deleted(double, team, tmp_path):
    real = run_module("oci_gc", double, tmp_path, namespaces=team, wait_timeout=30)
    assert real["changed"] and not real.get("failed"), real
    execution = real["retention_executions"][0]["execution"]
    assert execution["deleted"] == 3 and execution["status"] == "Success", execution
    assert real["harbor_gc"]["deleted"] == {"blobs": 3, "manifests": 3}, real["harbor_gc"]
    assert double.repositories[double.project("team")["project_id"]]["app"]["artifact_count"] == 2
    again = run_module("oci_gc", double, tmp_path, namespaces=team, wait_timeout=30)
    assert not again.get("failed") and not again["changed"], again
    assert again["harbor_gc"]["deleted"] == {"blobs": 0, "manifests": 0}
    double.requests.clear()
    dry = run_module("oci_gc", double, tmp_path, check=True, namespaces=team)
    assert not dry["changed"] and writes(double) == [], dry


def test_gc_schedule_as_asked_is_no_change(double, backend):
    changed, _before, _after = backend.ensure_gc_schedule("0 0 3 * * *")
    assert changed
    count = len(writes(double))
    for check_mode in (True, False):
        again, before, after = backend.ensure_gc_schedule("0 0 3 * * *", check_mode=check_mode)
        assert not again and before == after
    assert len(writes(double)) == count


# -- every Harbor operation the collection calls is one the double serves -----------------------
_CALL = re.compile(r'(?:_write\("(?P<verb>[A-Z]+)", |_get\(|_list\(|request\("(?P<verb2>[A-Z]+)", API \+ |'
                   r'get_json\(API \+ )"(?P<path>/[^"]*)"')


def collection_calls():
    calls = set()
    for source in ("plugins/module_utils/_harbor_api.py", "plugins/module_utils/_harbor_replication.py"):
        for found in _CALL.finditer((ROOT / source).read_text()):
            verb = found.group("verb") or found.group("verb2") or "GET"
            calls.add((verb, re.sub(r"%[ds]", "1", found.group("path"))))
    return sorted(calls)


def test_every_operation_the_collection_calls_is_served(double, swagger):
    calls = collection_calls()
    assert len(calls) >= 30, calls
    missing = []
    for verb, path in calls:
        _route, op, _params = swagger.match(verb, "/api/v2.0" + path)
        if not hasattr(double, "op_" + op["operationId"]):
            missing.append("%s %s (%s)" % (verb, path, op["operationId"]))
    assert missing == []


def test_registry_side_v2_and_catalog(double, backend):
    backend.namespace_ensure({"name": "team"})
    double.add_repository("team", "app")
    from ansible_collections.provisioning.oci_registry.plugins.module_utils._oci import OciApi

    oci = OciApi(make_backend(double.url).client)
    assert oci.catalog() == ["team/app"]
