"""oci_read_only (Harbor's read-only mode through PUT /api/v2.0/configurations), run as Ansible runs it,
against the swagger-validating double: read, check mode, set, idempotent, back, refused input."""

import json

from tests.unit.module_runner import run_module_file

from .conftest import ADMIN_PASSWORD, run_module


def run_as(double, tmp_path, **params):
    return run_module_file("oci_read_only", dict(dict(registry_url=double.url, registry_type="harbor", username="admin",
                                                      password=ADMIN_PASSWORD, retries=0), **params), tmp_path)


def configuration_writes(double):
    return [r for r in double.requests if r[0] == "PUT" and r[1].endswith("/configurations")]


def test_read_set_idempotent_and_back(double, tmp_path):
    read = run_module("oci_read_only", double, tmp_path)
    assert read == dict(read, changed=False, read_only=False, previous=False), read
    dry = run_module("oci_read_only", double, tmp_path, check=True, diff=True, read_only=True)
    assert dry["changed"] and dry["read_only"] is True and dry["previous"] is False, dry
    assert dry["diff"] == {"before": {"read_only": False}, "after": {"read_only": True}}
    assert double.config["read_only"] is False and configuration_writes(double) == []
    real = run_module("oci_read_only", double, tmp_path, read_only=True)
    assert real["changed"] and real["read_only"] is True and real["previous"] is False, real
    assert double.config["read_only"] is True and len(configuration_writes(double)) == 1
    again = run_module("oci_read_only", double, tmp_path, read_only=True)
    assert not again["changed"] and again["previous"] is True, again
    assert len(configuration_writes(double)) == 1
    back = run_module("oci_read_only", double, tmp_path, read_only=False)
    assert back["changed"] and back["read_only"] is False and double.config["read_only"] is False, back
    assert ADMIN_PASSWORD not in json.dumps([read, dry, real, again, back])


def test_a_harbor_left_read_only_is_seen(double, tmp_path):
    double.gc_fails = True
    double.config["read_only"] = True  # as a failed GC or an interrupted backup leaves it
    read = run_module("oci_read_only", double, tmp_path)
    assert read["read_only"] is True and not read["changed"], read


def test_other_registry_types_refused_with_the_way(double, tmp_path):
    result = run_as(double, tmp_path, registry_type="distribution", read_only=True)
    assert result["failed"] and "not supported on registry_type distribution" in result["msg"], result
    assert "maintenance.yml" in result["msg"]
    assert configuration_writes(double) == []


def test_wrong_type_refused_before_any_request(double, tmp_path):
    result = run_module("oci_read_only", double, tmp_path, read_only="sometimes")
    assert result["failed"] and "read_only" in result["msg"], result
    assert double.requests == []


def test_non_admin_refused_mode_unchanged(double, backend, tmp_path):
    backend.user_ensure({"name": "dev", "password": "Dev-Passw0rd1"})
    result = run_as(double, tmp_path, username="dev", password="Dev-Passw0rd1", read_only=True)
    assert result["failed"] and "403" in result["msg"], result
    assert double.config["read_only"] is False
