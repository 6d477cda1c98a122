"""oci_health against a real Distribution registry (and a stopped one)."""

import re

import pytest

from .registry import run_module

pytestmark = pytest.mark.integration


def health_args(reg, **extra):
    user, password = reg.admin
    args = dict(registry_url=reg.url, registry_type="distribution", username=user, password=password,
                debug_url=reg.debug_url, retries=1, timeout=5)
    args.update(extra)
    return args


def by_name(result):
    return {c["name"]: c for c in result["checks"]}


def test_healthy_registry(registry):
    rc, result, _output = run_module("oci_health", health_args(registry))
    assert rc == 0, result
    assert result["healthy"] is True and result["changed"] is False
    checks = by_name(result)
    for name in ("reachable", "api_version", "credentials", "catalog", "debug_health", "metrics"):
        assert checks[name]["status"] == "ok", checks[name]
        assert checks[name]["latency_ms"] >= 0
    assert result["api_version"] == "registry/2.0"
    assert result["failed_checks"] == []
    match = re.match(r"^(\d+) metric families, (\d+) from the registry$", checks["metrics"]["message"])
    assert match and int(match.group(2)) >= 1, checks["metrics"]["message"]


def test_wrong_password_is_unhealthy_with_clear_message(registry):
    wrong = "Wr0ng-password-never-shown"
    rc, result, output = run_module("oci_health", health_args(registry, password=wrong))
    assert rc != 0
    assert result["healthy"] is False
    assert result["failed_checks"] == ["credentials", "catalog"]
    assert "check 'credentials' failed" in result["msg"]
    assert "refused the credentials of user 'admin'" in result["msg"]
    assert wrong not in output


def test_wrong_password_reported_without_failing(registry):
    rc, result, _output = run_module("oci_health", health_args(registry, password="nope", fail_on_unhealthy=False))
    assert rc == 0
    assert result["healthy"] is False and "credentials" in result["failed_checks"]


def test_stopped_registry_is_unhealthy(own_registry):
    own_registry.stop()
    rc, result, _output = run_module("oci_health", health_args(own_registry))
    assert rc != 0
    assert result["failed_checks"] == ["reachable"]
    assert "check 'reachable' failed: GET %s/v2/ failed: Connection refused" % own_registry.url in result["msg"]
    assert by_name(result)["credentials"]["status"] == "skipped"


def test_write_probe_round_trip(registry):
    rc, result, _output = run_module("oci_health", health_args(registry, write_probe=True))
    assert rc == 0, result
    probe = by_name(result)["write_probe"]
    assert probe["status"] == "ok"
    assert probe["message"].startswith("pushed, pulled and deleted oci-health/probe@sha256:")
    # the probe's manifest is gone again: no tag left behind
    assert registry.tags("oci-health/probe") == []


def test_write_probe_is_skipped_in_check_mode(registry):
    rc, result, _output = run_module("oci_health", health_args(registry, write_probe=True), check=True)
    assert rc == 0, result
    checks = by_name(result)
    assert checks["write_probe"]["status"] == "skipped"
    assert checks["catalog"]["status"] == "ok"


def test_unreadable_ca_file_fails_before_any_request(registry, tmp_path):
    missing = str(tmp_path / "missing-ca.pem")
    rc, result, _output = run_module("oci_health", health_args(registry, ca_path=missing, registry_url="https://127.0.0.1:1"))
    assert rc != 0
    assert result["msg"].startswith("ca_path '%s' is not a readable file" % missing)


@pytest.mark.parametrize("args,fragment", [
    (dict(registry_type="quay"), "value of registry_type must be one of: zot, harbor, distribution"),
    (dict(registry_url="registry.local:5000"), "registry_url must be an http:// or https:// URL"),
])
def test_bad_input_is_named(registry, args, fragment):
    rc, result, _output = run_module("oci_health", health_args(registry, **args))
    assert rc != 0
    assert fragment in result["msg"]
