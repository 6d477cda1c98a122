"""oci_robot, run as Ansible runs a module (a subprocess with ANSIBLE_MODULE_ARGS), against the double."""

import json
import os
import subprocess
import sys

import pytest

from .conftest import ADMIN_PASSWORD

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
MODULE = os.path.join(COLLECTIONS, "ansible_collections", "provisioning", "oci_registry", "plugins", "modules",
                      "oci_robot.py")
PULL = [{"access": [{"resource": "repository", "action": "pull"}]}]
ALL_PULL = [{"namespace": "*", "access": [{"resource": "repository", "action": "pull"}]}]
PUSH = [{"access": [{"resource": "repository", "action": "pull"}, {"resource": "repository", "action": "push"}]}]


def run_module(double, tmp_path, check=False, diff=False, password=ADMIN_PASSWORD, **args):
    params = dict(registry_url=double.url, registry_type=args.pop("registry_type_", "harbor"), username="admin",
                  password=password, retries=0, **args)
    params["_ansible_check_mode"] = check
    params["_ansible_diff"] = diff
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": params}))
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    proc = subprocess.run([sys.executable, MODULE, str(path)], capture_output=True, text=True, env=env, timeout=60,
                          check=False)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("module printed no JSON: %s %s" % (proc.stdout, proc.stderr))


@pytest.fixture
def apps(double, backend):
    backend.namespace_ensure({"name": "apps"})
    return "apps"


def test_create_check_then_real_then_idempotent(double, tmp_path, apps):
    dry = run_module(double, tmp_path, check=True, diff=True, name="ci", project=apps, permissions=PULL)
    assert dry["changed"] and dry["robot"]["name"] == "robot$apps+ci" and dry["secret"] is None
    assert dry["diff"]["before"] == {} and dry["diff"]["after"]["name"] == "robot$apps+ci"
    assert double.robots == {}

    created = run_module(double, tmp_path, diff=True, name="ci", project=apps, permissions=PULL,
                         description="CI pulls")
    assert created["changed"] and created["secret_changed"] and created["secret"]
    stored = next(iter(double.robots.values()))
    assert created["secret"] == stored["secret"] and created["robot"]["id"] == stored["id"]
    assert "secret" not in json.dumps(created["diff"])

    again = run_module(double, tmp_path, diff=True, name="robot$apps+ci", project=apps, permissions=PULL,
                       description="CI pulls")
    assert not again["changed"] and again["secret"] is None
    assert again["diff"]["before"] == again["diff"]["after"]


def test_update_and_delete(double, tmp_path, apps):
    run_module(double, tmp_path, name="ci", project=apps, permissions=PULL)
    writes = len(double.writes())
    dry = run_module(double, tmp_path, check=True, diff=True, name="ci", project=apps, permissions=PUSH, duration=7)
    assert dry["changed"] and len(double.writes()) == writes
    assert dry["diff"]["before"]["duration"] == -1 and dry["diff"]["after"]["duration"] == 7
    updated = run_module(double, tmp_path, name="ci", project=apps, permissions=PUSH, duration=7)
    assert updated["changed"] and updated["secret"] is None
    assert len(next(iter(double.robots.values()))["permissions"][0]["access"]) == 2
    assert not run_module(double, tmp_path, name="ci", project=apps, permissions=PUSH, duration=7)["changed"]

    gone = run_module(double, tmp_path, check=True, name="ci", project=apps, state="absent")
    assert gone["changed"] and double.robots
    gone = run_module(double, tmp_path, name="ci", project=apps, state="absent")
    assert gone["changed"] and gone["name"] == "robot$apps+ci" and double.robots == {}
    again = run_module(double, tmp_path, name="ci", project=apps, state="absent")
    assert not again["changed"] and again["robot"] is None


def test_given_secret_is_set_and_masked(double, tmp_path, apps):
    result = run_module(double, tmp_path, name="deploy", project=apps, permissions=PULL, secret="Deploy-Secr3t")
    assert result["changed"] and next(iter(double.robots.values()))["secret"] == "Deploy-Secr3t"
    assert "Deploy-Secr3t" not in json.dumps(result)


def test_bad_secret_fails_before_sending(double, tmp_path, apps):
    writes = len(double.writes())
    result = run_module(double, tmp_path, name="deploy", project=apps, permissions=PULL, secret="weak")
    assert result["failed"] and "Harbor's rule" in result["msg"] and len(double.writes()) == writes


def test_missing_project_is_a_clear_error(double, tmp_path):
    result = run_module(double, tmp_path, name="ci", project="nope", permissions=PULL)
    assert result["failed"] and "project 'nope' does not exist" in result["msg"]


@pytest.mark.parametrize("status,fragment", [(401, "HTTP 401"), (403, "HTTP 403"), (409, "HTTP 409"),
                                             (500, "HTTP 500")])
def test_errors_are_reported(double, tmp_path, apps, status, fragment):
    double.inject("POST", r"/robots$", status)
    result = run_module(double, tmp_path, name="ci", project=apps, permissions=PULL)
    assert result["failed"] and fragment in result["msg"] and ADMIN_PASSWORD not in json.dumps(result)
    assert double.robots == {}
    retried = run_module(double, tmp_path, name="ci", project=apps, permissions=PULL)
    assert retried["changed"] and not retried.get("failed")


def test_wrong_credentials(double, tmp_path, apps):
    result = run_module(double, tmp_path, password="Wrong-Passw0rd", name="ci", project=apps, permissions=PULL)
    assert result["failed"] and "401" in result["msg"] and "Wrong-Passw0rd" not in json.dumps(result)


def test_system_robot(double, tmp_path):
    args = dict(name="mirror", level="system", permissions=ALL_PULL)
    result = run_module(double, tmp_path, **args)
    assert result["changed"] and result["name"] == "robot$mirror"
    assert not run_module(double, tmp_path, **args)["changed"]
    assert run_module(double, tmp_path, **dict(args, state="absent"))["changed"]


def test_system_robot_needs_a_namespace(double, tmp_path):
    result = run_module(double, tmp_path, name="mirror", level="system", permissions=PULL)
    assert result["failed"] and "needs a namespace" in result["msg"] and double.writes() == []


def test_only_harbor(double, tmp_path):
    result = run_module(double, tmp_path, name="ci", level="system", permissions=ALL_PULL, registry_type_="zot")
    assert result["failed"] and "robot accounts is not supported on registry_type zot" in result["msg"], result
    assert "oci_user" in result["msg"]
    assert double.requests == []


def test_system_robot_pagination(double, tmp_path, backend):
    for index in range(120):
        backend.ensure_robot("bulk%03d" % index, level="system", permissions=ALL_PULL)
    result = run_module(double, tmp_path, name="bulk119", level="system", permissions=ALL_PULL)
    assert not result["changed"] and result["robot"]["name"] == "robot$bulk119"
    listing = [p for m, p, _s in double.requests if m == "GET" and p.startswith("/api/v2.0/robots")]
    assert any("page=2" in p for p in listing)
