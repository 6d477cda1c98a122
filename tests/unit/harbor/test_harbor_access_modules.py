"""oci_user, oci_namespace and oci_policy with registry_type harbor, run as Ansible runs them,
against the swagger-validating double: check mode, real, idempotent, change, delete."""

import json

from .conftest import GIB_BYTES, run_module

USERS = [{"name": "provisioning", "password": "Prov-Passw0rd"},
         {"name": "ops", "password": "Ops-Passw0rd1", "admin": True}]
NAMESPACES = [
    {"name": "provisioning-extensions", "description": "Extension packages", "quota_gb": 10,
     "retention": {"keep_tags": 10, "max_age_days": 90}},
    {"name": "provisioning-test", "public": True, "retention": {"keep_tags": 3, "max_age_days": 7}},
]
POLICIES = [
    {"name": "provisioning-extensions",
     "policies": [{"subjects": ["authenticated"], "actions": ["read", "write", "delete"]}]},
    {"name": "provisioning-test",
     "policies": [{"subjects": ["authenticated"], "actions": ["read", "write"]},
                  {"subjects": ["anonymous"], "actions": ["read"]}]},
]


def test_users(double, tmp_path):
    dry = run_module("oci_user", double, tmp_path, check=True, users=USERS)
    assert dry["changed"] and double.user("provisioning") is None, dry
    real = run_module("oci_user", double, tmp_path, users=USERS)
    assert real["changed"] and not real.get("failed"), real
    assert double.user("ops")["sysadmin_flag"] is True
    assert "Prov-Passw0rd" not in json.dumps(real)
    again = run_module("oci_user", double, tmp_path, users=USERS)
    assert not again["changed"], again
    changed = run_module("oci_user", double, tmp_path, name="provisioning", user_password="New-Passw0rd2")
    assert changed["changed"] and double.user("provisioning")["password"] == "New-Passw0rd2"
    gone = run_module("oci_user", double, tmp_path, name="provisioning", state="absent")
    assert gone["changed"] and double.user("provisioning") is None
    weak = run_module("oci_user", double, tmp_path, users=[{"name": "weak", "password": "weakpassword"}])
    assert weak["failed"] and double.user("weak") is None


def test_namespaces(double, tmp_path):
    dry = run_module("oci_namespace", double, tmp_path, check=True, diff=True, namespaces=NAMESPACES)
    assert dry["changed"] and double.project("provisioning-test") is None, dry
    real = run_module("oci_namespace", double, tmp_path, namespaces=NAMESPACES)
    assert real["changed"] and not real.get("failed"), real
    assert "has no description field" in json.dumps(real.get("warnings"))
    ext = double.project("provisioning-extensions")
    assert double.quotas[ext["quota_id"]]["hard"]["storage"] == 10 * GIB_BYTES
    assert double.project("provisioning-test")["metadata"]["public"] == "true"
    again = run_module("oci_namespace", double, tmp_path, namespaces=NAMESPACES)
    assert not again["changed"], again
    double.add_repository("provisioning-test", "img")
    refused = run_module("oci_namespace", double, tmp_path, name="provisioning-test", state="absent")
    assert refused["failed"] and "force" in refused["msg"]
    forced = run_module("oci_namespace", double, tmp_path, name="provisioning-test", state="absent", force=True)
    assert forced["changed"] and double.project("provisioning-test") is None


def test_policies(double, tmp_path):
    run_module("oci_user", double, tmp_path, users=USERS)
    run_module("oci_namespace", double, tmp_path, namespaces=NAMESPACES)
    managed = [u["name"] for u in USERS]
    real = run_module("oci_policy", double, tmp_path, diff=True, namespaces=POLICIES, managed_users=managed)
    assert real["changed"] and not real.get("failed"), real
    members = double.members[double.project("provisioning-test")["project_id"]].values()
    assert sorted((m["entity_name"], m["role_id"]) for m in members) == [
        ("admin", 1), ("ops", 2), ("provisioning", 2)]
    again = run_module("oci_policy", double, tmp_path, namespaces=POLICIES, managed_users=managed)
    assert not again["changed"], again
    narrowed = run_module("oci_policy", double, tmp_path, namespace="provisioning-extensions",
                          policies=[{"subjects": ["provisioning"], "actions": ["read"]}], managed_users=managed)
    assert narrowed["changed"]
    members = double.members[double.project("provisioning-extensions")["project_id"]].values()
    assert sorted((m["entity_name"], m["role_id"]) for m in members) == [("admin", 1), ("provisioning", 3)]
