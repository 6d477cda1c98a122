"""oci_access_model: the model check deploy.yml runs in its preflight, as a real module process."""

import pytest

from ..module_runner import run_module_file

GOOD_USERS = [{"name": "alice", "password": "Secret-alice-1"}, {"name": "bob", "password": "Secret-bob-2"}]


def test_a_good_model_is_normalized_without_passwords(tmp_path):
    result = run_module_file("oci_access_model", {
        "users": GOOD_USERS,
        "namespaces": [{"name": "team-a", "public": "yes", "retention": {"keep_tags": "5"},
                        "policies": [{"subjects": "alice", "actions": "write"}]}],
    }, tmp_path)
    assert not result.get("failed"), result
    assert result["changed"] is False
    assert [u["name"] for u in result["users"]] == ["alice", "bob"]
    assert "Secret-" not in str(result)
    assert result["namespaces"][0]["public"] is True
    assert result["namespaces"][0]["retention"] == {"keep_tags": 5, "max_age_days": None}
    assert result["namespaces"][0]["policies"] == [{"subjects": ["alice"], "actions": ["write"]}]


def test_no_namespaces_means_the_platform_four(tmp_path):
    result = run_module_file("oci_access_model", {"users": []}, tmp_path)
    assert [n["name"] for n in result["namespaces"]] == [
        "provisioning-extensions", "provisioning-kcl", "provisioning-platform", "provisioning-test"]


@pytest.mark.parametrize("params, expected", [
    ({"users": "alice"}, "oci_registry_users: must be a list"),
    ({"users": [{"name": "alice", "password": ""}]}, "oci_registry_users[0].password: is empty"),
    ({"users": GOOD_USERS + [dict(GOOD_USERS[0])]},
     "oci_registry_users[2].name: user 'alice' is already listed at oci_registry_users[0]"),
    ({"users": [{"name": "alice"}], "require_passwords": True}, "oci_registry_users[0].password: is required"),
    ({"namespaces": [{"name": "t", "policies": [{"subjects": ["group:"], "actions": ["read"]}]}]},
     "oci_registry_namespaces[0].policies[0].subjects[0]: 'group:'"),
    ({"namespaces": [{"name": "t", "retention": {"keep_tags": -3}}], "namespaces_variable": "team_ns"},
     "team_ns[0].retention.keep_tags: must be a positive integer"),
])
def test_bad_models_fail_naming_the_entry(tmp_path, params, expected):
    result = run_module_file("oci_access_model", params, tmp_path)
    assert result.get("failed") is True, result
    assert expected in result["msg"], result["msg"]
    assert any(expected in p for p in result["problems"]), result["problems"]
    assert "Secret-" not in str(result)


def test_several_problems_are_reported_at_once(tmp_path):
    result = run_module_file("oci_access_model", {
        "users": [{"name": "a:b", "password": "x"}],
        "namespaces": [{"name": "team-a", "policies": [{"subjects": ["alice"], "actions": ["push"]}]}],
    }, tmp_path)
    assert len(result["problems"]) == 2, result["problems"]


# -- mirrors and replications (issue 16) ------------------------------------------------------
MIRROR = {"name": "hub", "url": "https://registry-1.docker.io", "namespace": "hub", "port": 5443,
          "username": "puller", "password": "Secret-upstream-1"}
REPLICATION = {"name": "to-dr", "direction": "push",
               "remote": {"url": "https://dr.example.com", "username": "robot", "password": "Secret-remote-2"}}


def test_mirrors_and_replications_are_normalized_with_passwords_masked(tmp_path):
    result = run_module_file("oci_access_model", {"mirrors": [MIRROR], "replications": [REPLICATION],
                                                  "registry_type": "distribution"}, tmp_path)
    assert not result.get("failed"), result
    assert result["mirrors"] == [dict(MIRROR, password="********", tls_verify=True, repositories=["**"], ttl=None,
                                      state="present")]
    assert result["replications"][0]["remote"] == {"url": "https://dr.example.com", "username": "robot",
                                                   "password": "********", "tls_verify": True}
    assert result["replications"][0]["tags"] == ["*"]
    assert "Secret-" not in str(result)


def test_bad_mirror_and_replication_fail_together_naming_each_entry(tmp_path):
    result = run_module_file("oci_access_model", {
        "namespaces": [{"name": "hub", "policies": [{"subjects": ["ci"], "actions": ["write"]}]}],
        "mirrors": [dict(MIRROR, port=None), dict(MIRROR, name="q", namespace="q", port=6000, url="ftp://x")],
        "replications": [dict(REPLICATION, trigger="on_push")],
        "registry_type": "distribution",
    }, tmp_path)
    assert result.get("failed") is True, result
    prefixes = sorted(p.split(": ")[0] for p in result["problems"])
    assert prefixes == ["oci_registry_mirrors[0].namespace", "oci_registry_mirrors[0].port",
                        "oci_registry_mirrors[1].url", "oci_registry_replications[0].trigger"], result["problems"]
    assert "Secret-" not in str(result)


def test_distribution_scan_setting_is_a_warning(tmp_path):
    result = run_module_file("oci_access_model", {"namespaces": [{"name": "a", "scan": {"on_push": True}}],
                                                  "registry_type": "distribution"}, tmp_path)
    assert not result.get("failed"), result
    assert "Distribution has no vulnerability scanner" in str(result.get("warnings")), result


def test_unknown_mirror_key_is_refused(tmp_path):
    result = run_module_file("oci_access_model", {"mirrors": [dict(MIRROR, upstream="x")]}, tmp_path)
    assert result.get("failed") is True, result
    assert "mirrors.upstream" in result["msg"] or "upstream" in result["msg"], result["msg"]
    assert "Secret-" not in str(result)
