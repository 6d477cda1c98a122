"""Harbor on shared storage with a shared Redis (issue 17): the harbor role's harbor.yml for harbor_storage
(s3) and harbor_redis, rendered by the role's own template task (ansible-playbook on localhost, tasks_from
render.yml), and the role's checks of those variables (tasks_from ha_checks.yml), each refusal naming the
variable and never showing a secret.

What the rendered file is checked against:
- Harbor's installer template harbor/harbor.yml.tmpl (reference files): storage_service (ca_bundle,
  redirect.disable) and external_redis keys and types;
- the s3 driver's documented parameters (distribution/docs/storage-driver-s3.md, reference files) for
  storage_service.s3, minus forcepathstyle: Harbor v2.15.2 builds its registry from distribution
  v2.8.3-harbor.1 (Harbor's Makefile REGISTRY_SRC_TAG), whose registry/storage/driver/s3-aws/s3.go has no such
  parameter (it uses path-style exactly when regionendpoint is set);
- what Harbor's installer does with them: make/photon/prepare/utils/registry.py get_storage_provider_info writes
  each storage_service.s3 entry as an unquoted ``key: value`` line of the registry's config.yml (True as
  ``true``, anything else as Python's str()); ``installer_line`` below does the same, and the result must load
  back to the values the role meant.
"""

import json
import re
import stat

import pytest
import yaml

from tests import reference
from tests.harbor.installer_config import check, known_tree, missing

from .render import play, render_cases, run_playbook

BASE = {"harbor_hostname": "harbor.example.com", "harbor_admin_password": "Adm1n-Passw0rd",
        "harbor_database_password": "Db-Passw0rd"}
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY+x="
REDIS_PASSWORD = "R3dis p@ss:w/rd"
S3 = {"endpoint": "http://rgw.example:7480", "region": "us-east-1", "bucket": "harbor-registry",
      "access_key": "AKIAIOSFODNN7EXAMPLE", "secret_key": SECRET_KEY, "path_style": True, "tls_verify": True,
      "ca_path": "", "chunk_size_mb": 10, "root_directory": "", "redirect": False}
DB = {"host": "pg.example.com", "username": "harbor", "password": "Pg-Secret1"}
CASES = {
    "s3_redis": {"harbor_storage": {"type": "s3", "s3": S3},
                 "harbor_redis": {"address": "10.0.0.5:6379", "password": REDIS_PASSWORD, "db": 0, "tls": False},
                 "harbor_external_database": DB},
    "s3_aws_tls_redis": {"harbor_storage": {"type": "s3", "s3": dict(
        S3, endpoint="", region="eu-west-1", tls_verify=False, ca_path="/etc/ssl/certs/store-ca.pem",
        chunk_size_mb=64, root_directory="/harbor", redirect=True, access_key="", secret_key="")},
        "harbor_redis": {"address": "redis.example:6380", "password": "", "db": 0, "tls": True},
        "harbor_external_database": DB},
    "https_endpoint": {"harbor_storage": {"type": "s3", "s3": dict(S3, endpoint="https://s3.internal:9000/")}},
    "external_redis_wins": {"harbor_redis": {"address": "10.0.0.5:6379", "password": "x", "db": 0, "tls": False},
                            "harbor_external_redis": {"host": "sentinel-1:26379", "sentinel_master_set": "m",
                                                      "password": "y"}},
    "filesystem": {"harbor_storage": {"type": "filesystem"}, "harbor_redis": {}},
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    proc, files = render_cases(CASES, BASE, tmp_path_factory.mktemp("harbor-ha"), "Render harbor.yml for HA")
    return {"configs": dict((name, yaml.safe_load(path.read_text())) for name, path in files.items()),
            "modes": dict((name, stat.S_IMODE(path.stat().st_mode)) for name, path in files.items()),
            "output": proc.stdout + proc.stderr}


@pytest.fixture(scope="module")
def s3_parameters():
    """The parameter names of distribution's s3 driver documentation table (reference files)."""
    text = reference.require("distribution/docs/storage-driver-s3.md").read_text(encoding="utf-8")
    names = set(re.findall(r"^\|\s*`([a-z0-9]+)`\s*\|", text, re.M))
    assert {"bucket", "region", "regionendpoint", "chunksize", "v4auth"} <= names
    return names - {"forcepathstyle"}  # not in distribution v2.8.3, Harbor's registry


def installer_line(key, value):
    """One line of the registry's config.yml as Harbor's prepare writes it (utils/registry.py
    get_storage_provider_info: None -> '', True -> 'true', anything else str(value), unquoted)."""
    if value is None:
        text = ""
    elif value is True:
        text = "true"
    else:
        text = str(value)
    return "%s: %s" % (key, text)


@pytest.mark.parametrize("case", sorted(CASES))
def test_keys_and_types_harbor_knows(rendered, s3_parameters, case):
    tree, active = known_tree()
    config = json.loads(json.dumps(rendered["configs"][case]))
    s3 = (config.get("storage_service") or {}).pop("s3", None)
    assert check(config, tree) == []
    assert missing(active, config) == []
    if s3 is not None:
        assert sorted(set(s3) - s3_parameters) == []


def test_s3_storage_service(rendered):
    service = rendered["configs"]["s3_redis"]["storage_service"]
    assert service == {"s3": {"accesskey": "AKIAIOSFODNN7EXAMPLE", "secretkey": SECRET_KEY, "region": "us-east-1",
                              "regionendpoint": "http://rgw.example:7480", "bucket": "harbor-registry",
                              "secure": False, "skipverify": False, "v4auth": True, "chunksize": 10485760},
                       "redirect": {"disable": True}}
    aws = rendered["configs"]["s3_aws_tls_redis"]["storage_service"]
    assert aws == {"ca_bundle": "/etc/ssl/certs/store-ca.pem",
                   "s3": {"region": "eu-west-1", "bucket": "harbor-registry", "secure": True, "skipverify": True,
                          "v4auth": True, "chunksize": 64 * 1048576, "rootdirectory": "/harbor"},
                   "redirect": {"disable": False}}
    https = rendered["configs"]["https_endpoint"]["storage_service"]["s3"]
    assert https["regionendpoint"] == "https://s3.internal:9000" and https["secure"] is True
    assert "storage_service" not in rendered["configs"]["filesystem"]


@pytest.mark.parametrize("case", ["s3_redis", "s3_aws_tls_redis", "https_endpoint"])
def test_installer_writes_the_values_back_unchanged(rendered, case):
    s3 = rendered["configs"][case]["storage_service"]["s3"]
    registry_yaml = "s3:\n" + "".join("    %s\n" % installer_line(k, v) for k, v in s3.items())
    assert yaml.safe_load(registry_yaml) == {"s3": s3}


def test_external_redis(rendered):
    redis = rendered["configs"]["s3_redis"]["external_redis"]
    assert redis == {"host": "10.0.0.5:6379", "password": REDIS_PASSWORD, "registry_db_index": 1,
                     "jobservice_db_index": 2, "trivy_db_index": 5, "idle_timeout_seconds": 30}
    tls = rendered["configs"]["s3_aws_tls_redis"]["external_redis"]
    # prepare's get_redis_configs reads tlsOptions.rootCA whenever TLS is on: the key is always there
    assert tls["tlsOptions"] == {"enable": True, "rootCA": ""} and tls["password"] == ""
    wins = rendered["configs"]["external_redis_wins"]["external_redis"]
    assert wins["host"] == "sentinel-1:26379" and wins["sentinel_master_set"] == "m" and wins["password"] == "y"
    assert "external_redis" not in rendered["configs"]["filesystem"]
    assert "database" not in rendered["configs"]["s3_redis"]
    assert rendered["configs"]["s3_redis"]["external_database"]["harbor"]["host"] == "pg.example.com"


def test_secrets_stay_in_the_0600_file(rendered):
    assert set(rendered["modes"].values()) == {0o600}
    for secret in (SECRET_KEY, REDIS_PASSWORD, "Pg-Secret1"):
        assert secret not in rendered["output"]


BAD = {
    "type": ({"harbor_storage": {"type": "gcs"}}, "harbor_storage.type must be filesystem or s3"),
    "bucket": ({"harbor_storage": {"type": "s3", "s3": dict(S3, bucket="")}}, "harbor_storage.s3 needs a bucket"),
    "chunk": ({"harbor_storage": {"type": "s3", "s3": dict(S3, chunk_size_mb=4)}}, "chunk_size_mb from 5"),
    "endpoint": ({"harbor_storage": {"type": "s3", "s3": dict(S3, endpoint="rgw:7480")}}, "endpoint empty"),
    "half_keys": ({"harbor_storage": {"type": "s3", "s3": dict(S3, secret_key="")}}, "access_key and secret_key"),
    "unsafe_secret": ({"harbor_storage": {"type": "s3", "s3": dict(S3, secret_key="abc #def")}},
                      "would not read secretkey back"),
    "numeric_bucket": ({"harbor_storage": {"type": "s3", "s3": dict(S3, bucket="12345")}},
                       "would not read bucket back"),
    "ca_missing": ({"harbor_storage": {"type": "s3", "s3": dict(S3, ca_path="/nonexistent/ca.pem")}},
                   "harbor_storage.s3.ca_path (/nonexistent/ca.pem) must be a file"),
    "redis_db": ({"harbor_redis": {"address": "r:6379", "password": "", "db": 3, "tls": False}},
                 "harbor_redis needs address as host:port (got \"r:6379\") and db 0 (got 3)"),
    "redis_address": ({"harbor_redis": {"address": "redis", "password": "", "db": 0, "tls": False}},
                      "harbor_redis needs address as host:port"),
}
GOOD = {
    "s3": {"harbor_storage": {"type": "s3", "s3": S3},
           "harbor_redis": {"address": "10.0.0.5:6379", "password": REDIS_PASSWORD, "db": 0, "tls": False}},
    "filesystem": {},
    "redis_db_with_explicit_external": {"harbor_redis": {"address": "r:6379", "db": 3},
                                        "harbor_external_redis": {"host": "r:6379", "registry_db_index": 4}},
}


def test_checks_refuse_bad_input_naming_the_variable(tmp_path):
    tasks = []
    for name, (variables, _expected) in list(BAD.items()) + [(n, (v, None)) for n, v in GOOD.items()]:
        tasks.append({"name": "Case %s" % name, "block": [
            {"name": "Checks %s" % name, "ansible.builtin.include_role": {
                "name": "provisioning.oci_registry.harbor", "tasks_from": "ha_checks.yml"}, "vars": variables},
            {"name": "Passed %s" % name, "ansible.builtin.set_fact": {
                "results": "{{ results | default({}) | combine({%r: 'passed'}) }}" % name}},
        ], "rescue": [{"name": "Refused %s" % name, "ansible.builtin.set_fact": {
            "results": "{{ results | default({}) | combine({%r: ansible_failed_result.msg}) }}" % name}}]})
    tasks.append({"name": "Save", "ansible.builtin.copy": {"content": "{{ results | to_json }}",
                                                           "dest": str(tmp_path / "results.json"), "mode": "0600"}})
    proc = run_playbook(play("HA checks", tasks), tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    for name, (_variables, expected) in BAD.items():
        assert expected in results[name], (name, results[name])
    for name in GOOD:
        assert results[name] == "passed", (name, results[name])
    for secret in (SECRET_KEY, REDIS_PASSWORD, "abc #def"):
        assert secret not in proc.stdout + proc.stderr
    assert "abc #def" not in json.dumps(results)
