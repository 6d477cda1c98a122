"""oci_mirror and oci_scan run as Ansible runs them, against the Harbor API double."""

import json

import pytest

from .conftest import run_module

SECRET = "Upstream-S3cret"
MIRROR = dict(name="hub", url="https://registry-1.docker.io", upstream_username="puller", upstream_password=SECRET,
              namespace="dockerhub")


def test_oci_mirror_check_then_apply_then_idempotent(double, tmp_path):
    result = run_module("oci_mirror", double, tmp_path, check=True, diff=True, **MIRROR)
    assert result["changed"] and result["diff"]["before"] is None, result
    assert result["diff"]["after"]["namespace"] == "dockerhub" and double.registries == {}
    result = run_module("oci_mirror", double, tmp_path, diff=True, **MIRROR)
    assert result["changed"] and result["password_changed"], result
    assert double.project("dockerhub")["registry_id"] == next(iter(double.registries))
    again = run_module("oci_mirror", double, tmp_path, diff=True, **MIRROR)
    assert again["changed"] is False and again["diff"]["before"] == again["diff"]["after"], again
    assert again["mirror"]["username"] == "puller" and again["mirror"]["password"] is None
    for output in (result, again):
        assert SECRET not in json.dumps(output)
    gone = run_module("oci_mirror", double, tmp_path, name="hub", state="absent")
    assert gone["changed"] and double.registries == {} and double.project("dockerhub") is None


@pytest.mark.parametrize("args, message", [
    (dict(MIRROR, name="Hub_1"), "oci_mirror.name: 'Hub_1' (str) is not a valid name"),
    (dict(MIRROR, url="https://registry-1.docker.io/v2/library"), "no path"),
    (dict(MIRROR, upstream_password=None), "give username and password together"),
    (dict(MIRROR, repositories=["library/*"]), "every repository"),
])
def test_oci_mirror_refuses_bad_input_before_any_change(double, tmp_path, args, message):
    result = run_module("oci_mirror", double, tmp_path, **args)
    assert result.get("failed") and message in result["msg"], result
    assert double.writes() == []


@pytest.mark.parametrize("registry_type, variable", [("zot", "zot_mirrors"), ("distribution", "distribution_mirrors")])
def test_oci_mirror_names_the_role_variable_elsewhere(double, tmp_path, registry_type, variable):
    from tests.unit.module_runner import run_module_file

    params = dict(MIRROR, registry_url=double.url, registry_type=registry_type, retries=0)
    result = run_module_file("oci_mirror", params, tmp_path)
    assert result.get("failed") and variable in result["msg"] and SECRET not in json.dumps(result), result
    assert double.requests == []


def test_oci_mirror_ttl_warns(double, tmp_path):
    result = run_module("oci_mirror", double, tmp_path, check=True, **dict(MIRROR, ttl="168h"))
    assert "168h is not applied" in json.dumps(result.get("warnings")), result


def _apps(double):
    double.register_scanner()
    double._new_project("apps", owner=double.user("admin"))
    double.add_artifact("apps", "web", "1.0", vulnerabilities={"High": 2, "Low": 1})
    double.add_artifact("apps", "api", "2.0", vulnerabilities={"Medium": 3})


def test_oci_scan_image_and_fail_on_gate(double, tmp_path):
    _apps(double)
    result = run_module("oci_scan", double, tmp_path, image="apps/web:1.0", timeout=60)
    assert result["changed"] and not result.get("failed"), result
    assert result["vulnerabilities"] == {"critical": 0, "high": 2, "medium": 0, "low": 1, "unknown": 0}
    assert result["images"][0]["status"] == "Success"
    gated = run_module("oci_scan", double, tmp_path, image="apps/web:1.0", fail_on="high", timeout=60)
    assert gated.get("failed") and "high 2" in gated["msg"] and gated["vulnerabilities"]["high"] == 2, gated
    passed = run_module("oci_scan", double, tmp_path, image="apps/web:1.0", fail_on="critical", timeout=60)
    assert not passed.get("failed"), passed


def test_oci_scan_namespace_and_check_mode(double, tmp_path):
    _apps(double)
    check = run_module("oci_scan", double, tmp_path, check=True, namespace="apps")
    assert check["changed"] is False and [i["status"] for i in check["images"]] == ["Not scanned", "Not scanned"]
    result = run_module("oci_scan", double, tmp_path, namespace="apps", fail_on="medium", timeout=60)
    assert result.get("failed") and "high 2, medium 3" in result["msg"], result
    assert sorted(i["repository"] for i in result["images"]) == ["apps/api", "apps/web"]


def test_oci_scan_without_a_scanner_fails_as_harbor(double, tmp_path):
    double._new_project("apps", owner=double.user("admin"))
    double.add_artifact("apps", "web", "1.0")
    result = run_module("oci_scan", double, tmp_path, image="apps/web:1.0")
    assert result.get("failed") and "no available scanner" in result["msg"], result


def test_oci_scan_all_schedule(double, tmp_path):
    refused = run_module("oci_scan", double, tmp_path, scan_all_schedule="0 3 * * 6")
    assert refused.get("failed") and "no scanner is configured" in refused["msg"], refused
    double.register_scanner()
    check = run_module("oci_scan", double, tmp_path, check=True, diff=True, scan_all_schedule="0 3 * * 6")
    assert check["changed"] and check["diff"] == {"before": {"schedule": None}, "after": {"schedule": "0 3 * * 6"}}
    assert double.scan_all_schedule is None
    result = run_module("oci_scan", double, tmp_path, scan_all_schedule="0 3 * * 6")
    assert result["changed"] and double.scan_all_schedule["schedule"] == {"type": "Custom", "cron": "0 0 3 * * 6"}
    again = run_module("oci_scan", double, tmp_path, scan_all_schedule="0 3 * * 6")
    assert again["changed"] is False and again["schedule"] == "0 3 * * 6", again
    changed = run_module("oci_scan", double, tmp_path, scan_all_schedule="15 1 * * *")
    assert changed["changed"] and double.scan_all_schedule["schedule"]["cron"] == "0 15 1 * * *"
    removed = run_module("oci_scan", double, tmp_path, scan_all_schedule="")
    assert removed["changed"] and double.scan_all_schedule is None
    assert run_module("oci_scan", double, tmp_path, scan_all_schedule="")["changed"] is False


def test_oci_scan_on_distribution_says_it_has_no_scanner(double, tmp_path):
    """Distribution has no scanner: the module fails saying so and how to scan instead, with no report."""
    from tests.unit.module_runner import run_module_file

    params = dict(registry_url=double.url, registry_type="distribution", retries=0, image="apps/web:1.0")
    result = run_module_file("oci_scan", params, tmp_path)
    assert result.get("failed") and "Distribution has no vulnerability scanner" in result["msg"], result
    assert "vulnerabilities" not in result and "images" not in result, result
    assert double.requests == []
