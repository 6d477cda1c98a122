"""oci_registry_info's parts "mirrors" and "replications" (issue 16): the export has the shape of
oci_registry_mirrors / oci_registry_replications, never a password, and goes back through the model;
a type whose backend cannot read them back fails saying so."""

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils._info import (
    export_mirror_entries,
    export_replication_entries,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._model import (
    ModelError,
    normalize_mirrors,
    normalize_replications,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")

# What a backend's mirror_get / replication_get return: the normalized shape (passwords None).
MIRRORS = normalize_mirrors([
    {"name": "quay", "url": "https://quay.io", "namespace": "quay", "repositories": ["coreos/*"], "ttl": "24h"},
    {"name": "hub", "url": "https://registry-1.docker.io", "namespace": "hub", "port": 5443, "username": "puller",
     "password": "Secret-upstream-1"},
])
REPLICATIONS = normalize_replications([
    {"name": "to-dr", "direction": "push", "remote": {"url": "https://dr.example.com", "username": "robot",
                                                      "password": "Secret-remote-2", "tls_verify": False},
     "repositories": ["provisioning-platform/**"], "trigger": "scheduled", "schedule": "0 3 * * *"},
])


def test_mirror_export_shape():
    exported = export_mirror_entries(MIRRORS)
    assert exported == [
        {"name": "hub", "url": "https://registry-1.docker.io", "username": "puller", "tls_verify": True,
         "repositories": ["**"], "namespace": "hub", "ttl": None, "port": 5443},
        {"name": "quay", "url": "https://quay.io", "username": None, "tls_verify": True,
         "repositories": ["coreos/*"], "namespace": "quay", "ttl": "24h", "port": None},
    ]
    assert "Secret-" not in json.dumps(exported)


def test_replication_export_shape():
    exported = export_replication_entries(REPLICATIONS)
    assert exported == [{
        "name": "to-dr", "direction": "push",
        "remote": {"url": "https://dr.example.com", "username": "robot", "tls_verify": False},
        "repositories": ["provisioning-platform/**"], "tags": ["*"], "destination_namespace": None,
        "trigger": "scheduled", "schedule": "0 3 * * *", "deletions": False}]
    assert "Secret-" not in json.dumps(exported)


def test_export_applies_again_once_passwords_are_added():
    mirrors = export_mirror_entries(MIRRORS)
    # Like a user, a mirror with a username needs its password back before it is applied.
    with pytest.raises(ModelError) as info:
        normalize_mirrors(mirrors)
    assert info.value.problems == ["oci_registry_mirrors[0]: give username and password together, or neither "
                                   "(anonymous access); only username is set"]
    mirrors[0]["password"] = "Secret-upstream-1"
    assert sorted(normalize_mirrors(mirrors), key=lambda m: m["name"]) == sorted(MIRRORS, key=lambda m: m["name"])
    replications = export_replication_entries(REPLICATIONS)
    replications[0]["remote"]["password"] = "Secret-remote-2"
    assert normalize_replications(replications) == REPLICATIONS


def _info(tmp_path, gather, mirrors=(), **options):
    directory = tmp_path / "front"
    directory.mkdir()
    (directory / "front.json").write_text(json.dumps({"htpasswd_path": str(tmp_path / "htpasswd"),
                                                      "upstream": "registry:5000", "mirrors": list(mirrors)}))
    args = tmp_path / "args.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {
        "registry_type": "distribution", "htpasswd_path": str(tmp_path / "htpasswd"),
        "front_config_path": str(directory / "nginx.conf"), "gather": gather, **options}}))
    process = subprocess.run(
        [sys.executable, "-m", "ansible_collections.provisioning.oci_registry.plugins.modules.oci_registry_info",
         str(args)], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=COLLECTIONS), timeout=120,
        check=False)
    return json.loads(process.stdout)


def test_distribution_replications_are_read_from_the_job_directory(tmp_path):
    result = _info(tmp_path, ["replications"], replication_dir=str(tmp_path / "no-jobs-yet"))
    assert result.get("failed") is not True, result
    assert result["oci_registry_replications"] == [], result


def test_distribution_reads_its_mirrors_back_from_the_fronts_settings(tmp_path):
    # front.json's entries, as the distribution role writes them (plugins/filter/distribution_mirrors.py).
    entry = {"name": "hub", "namespace": "cache/hub", "url": "https://registry-1.docker.io", "username": "bot",
             "tls_verify": True, "repositories": ["library/*"], "ttl": None, "port": 5443, "listen": 5100,
             "upstream": "registry-mirror-hub:5000"}
    result = _info(tmp_path, ["mirrors"], [entry])
    assert result.get("failed") is not True, result
    assert result["oci_registry_mirrors"] == [{"name": "hub", "url": "https://registry-1.docker.io", "username": "bot",
                                               "tls_verify": True, "repositories": ["library/*"],
                                               "namespace": "cache/hub", "ttl": None, "port": 5443}]


def test_unknown_part_lists_the_new_ones(tmp_path):
    result = _info(tmp_path, ["mirror"])
    assert result.get("failed") is True
    assert "mirrors" in result["msg"] and "replications" in result["msg"], result["msg"]
