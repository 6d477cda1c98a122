"""oci_registry_info on the files of a Distribution access front, and the front's TLS and request
limit: the export has exactly the shape of oci_registry_users / oci_registry_namespaces, and applying
it reproduces it."""

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils import _front
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import InvalidParameterError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")

USERS = [{"name": "bob", "password": "Bob-pass-1234", "groups": ["ops", "dev"]},
         {"name": "ann", "password": "Ann-pass-1234", "admin": True}]
NAMESPACES = [
    {"name": "team/b", "description": "B", "retention": {"keep_tags": 3},
     "policies": [{"subjects": ["group:dev"], "actions": ["write"]}, {"subjects": ["authenticated"], "actions": ["read"]}]},
    {"name": "pub", "public": True, "quota_gb": 5, "policies": []},
]


@pytest.fixture
def module(tmp_path):
    def run(name, **params):
        args = tmp_path / ("args-%s.json" % name)
        args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": params}))
        process = subprocess.run(
            [sys.executable, "-m", "ansible_collections.provisioning.oci_registry.plugins.modules." + name, str(args)],
            capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=COLLECTIONS), timeout=120, check=False)
        return json.loads(process.stdout)
    return run


def _front_files(tmp_path, name):
    directory = tmp_path / name
    directory.mkdir()
    htpasswd = tmp_path / (name + ".htpasswd")
    (directory / "front.json").write_text(json.dumps({"htpasswd_path": str(htpasswd), "upstream": "registry:5000"}))
    return {"registry_type": "distribution", "htpasswd_path": str(htpasswd),
            "front_config_path": str(directory / "nginx.conf"), "bcrypt_rounds": 10}


def _apply(module, files, users, namespaces):
    results = [module("oci_user", users=users, **files),
               module("oci_namespace", namespaces=namespaces, **files),
               module("oci_policy", namespaces=namespaces, **files)]
    for result in results:
        assert not result.get("failed"), result
    return [r["changed"] for r in results]


def test_export_has_the_input_shape_and_round_trips(module, tmp_path):
    first = _front_files(tmp_path, "first")
    _apply(module, first, USERS, NAMESPACES)
    exported = module("oci_registry_info", **first)
    assert exported["changed"] is False
    assert exported["oci_registry_users"] == [{"name": "ann", "admin": True, "groups": []},
                                              {"name": "bob", "admin": False, "groups": ["dev", "ops"]}]
    assert exported["oci_registry_namespaces"] == [
        {"name": "pub", "description": "", "public": True, "retention": None, "quota_gb": 5, "policies": [],
         "scan": None},
        {"name": "team/b", "description": "B", "public": False, "retention": {"keep_tags": 3, "max_age_days": None},
         "quota_gb": None, "policies": [{"subjects": ["group:dev"], "actions": ["write"]},
                                        {"subjects": ["authenticated"], "actions": ["read"]}],
         "scan": None},
    ]
    passwords = dict((u["name"], u["password"]) for u in USERS)
    users = [dict(u, password=passwords[u["name"]]) for u in exported["oci_registry_users"]]
    # Re-applied to the same files: nothing changes.
    assert _apply(module, first, users, exported["oci_registry_namespaces"]) == [False, False, False]
    # Applied to fresh files: the same export.
    second = _front_files(tmp_path, "second")
    _apply(module, second, users, exported["oci_registry_namespaces"])
    again = module("oci_registry_info", **second)
    assert (again["oci_registry_users"], again["oci_registry_namespaces"]) == (
        exported["oci_registry_users"], exported["oci_registry_namespaces"])


@pytest.mark.parametrize("exclude, names", [([], ["ann", "bob"]), (["ann"], ["bob"])])
def test_exclude_users(module, tmp_path, exclude, names):
    files = _front_files(tmp_path, "f")
    _apply(module, files, USERS, [])
    result = module("oci_registry_info", gather=["users"], exclude_users=exclude, **files)
    assert [u["name"] for u in result["oci_registry_users"]] == names
    assert "oci_registry_namespaces" not in result


def test_repositories_need_a_url(module, tmp_path):
    result = module("oci_registry_info", gather=["repositories"], **_front_files(tmp_path, "f"))
    assert result["failed"] and "registry_url" in result["msg"]


def test_gc_of_distribution_is_none(module, tmp_path):
    result = module("oci_registry_info", gather=["gc"], **_front_files(tmp_path, "f"))
    assert result["gc"] is None


SETTINGS = {"htpasswd_path": "/etc/h", "upstream": "r:5000"}


@pytest.mark.parametrize("extra, present, absent", [
    ({}, ["    listen 5000;"], ["ssl", "limit_req"]),
    ({"tls_certificate": "/t/server.crt", "tls_key": "/t/server.key"},
     ["    listen 5000 ssl;", "    ssl_certificate /t/server.crt;", "    ssl_certificate_key /t/server.key;"], ["limit_req"]),
    ({"rate_limit": 10, "rate_limit_burst": 5},
     ["limit_req_zone $binary_remote_addr zone=front_rate:10m rate=10r/s;", "    limit_req zone=front_rate burst=5 nodelay;",
      "limit_req_status 429;"], ["ssl"]),
])
def test_front_tls_and_rate_limit(extra, present, absent):
    text, _warnings = _front.render(dict(SETTINGS, **extra), _front.empty_access())
    for line in present:
        assert line in text.splitlines() or line in text
    for word in absent:
        assert word not in text


@pytest.mark.parametrize("extra, message", [
    ({"tls_certificate": "/t/server.crt"}, "go together"),
    ({"tls_certificate": "t.crt", "tls_key": "t.key"}, "absolute path"),
    ({"tls_certificate": "/t/a b.crt", "tls_key": "/t/k"}, "absolute path"),
    ({"rate_limit": -1}, "rate_limit"),
    ({"rate_limit_burst": True}, "rate_limit_burst"),
])
def test_front_settings_refused(extra, message):
    with pytest.raises(InvalidParameterError, match=message):
        _front.check_settings(dict(SETTINGS, **extra))
