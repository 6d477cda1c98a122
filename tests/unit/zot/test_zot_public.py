"""public: true on zot means anyone may pull, logged in or not.

zot v2.1.20 (pkg/api/authz.go, AccessController.isPermitted) applies a repository group's
anonymousPolicy only to requests without a user and its defaultPolicy only to requests with one,
so a public namespace needs read in both. authorize evaluates that same decision over the
generated config (role) and over the file the adapter writes (oci_namespace / oci_policy)."""

import json
import os

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_generate as zgen
from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_schema as zschema
from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import AccessOptions
from ansible_collections.provisioning.oci_registry.plugins.module_utils._client import ConnectionOptions, RegistryClient
from ansible_collections.provisioning.oci_registry.plugins.module_utils._zot import ZotBackend

from ._authorize import authorize

USERS = [{"name": "alice", "password": "a"}, {"name": "bob", "password": "b"}, {"name": "root", "password": "r",
                                                                                "admin": True}]
NAMESPACES = [
    # Public, alice writes; bob has no grant of his own.
    {"name": "shared", "public": True, "policies": [{"subjects": ["alice"], "actions": ["read", "write"]}]},
    # An anonymous read grant is public too.
    {"name": "docs", "policies": [{"subjects": ["anonymous"], "actions": ["read"]}]},
    # Private: alice only.
    {"name": "private", "public": False, "policies": [{"subjects": ["alice"], "actions": ["read", "write"]}]},
]

# (who, action, repository, allowed); who None: no credentials
MATRIX = [
    (None, "read", "shared/app", True),
    ("bob", "read", "shared/app", True),        # logged in, no grant of his own: still reads a public namespace
    ("bob", "read", "shared", True),
    ("bob", "create", "shared/app", False),     # ... but cannot push there
    ("bob", "delete", "shared/app", False),
    ("alice", "create", "shared/app", True),
    (None, "create", "shared/app", False),
    ("bob", "read", "docs/x", True),
    (None, "read", "docs/x", True),
    ("bob", "read", "private/app", False),     # and still gets 403 on a private one
    (None, "read", "private/app", False),
    ("alice", "read", "private/app", True),
]
IDS = ["%s-%s-%s" % (m[0] or "anonymous", m[1], m[2]) for m in MATRIX]


@pytest.fixture(scope="module")
def generated():
    return {"http": {"auth": {"htpasswd": {"path": "/etc/zot/htpasswd"}},
                     "accessControl": zgen.access_control(NAMESPACES, USERS)}}


@pytest.mark.parametrize("who,action,repository,allowed", MATRIX, ids=IDS)
def test_generated_access_control(generated, who, action, repository, allowed):
    assert authorize(generated, repository, action, username=who)[0] is allowed


def test_public_read_is_in_both_policies_and_the_config_passes_the_checker(generated):
    repositories = generated["http"]["accessControl"]["repositories"]
    for name in ("shared", "shared/**", "docs/**"):
        assert repositories[name]["anonymousPolicy"] == ["read"]
        assert repositories[name]["defaultPolicy"] == ["read"]
    assert repositories["private/**"]["defaultPolicy"] == []
    problems, _warnings = zschema.check(generated)
    assert problems == []


def test_the_model_reads_back_unchanged(generated):
    repositories = generated["http"]["accessControl"]["repositories"]
    assert zgen.model_policies(repositories["shared/**"]) == (True, NAMESPACES[0]["policies"])
    assert zgen.model_policies(repositories["private/**"]) == (False, NAMESPACES[2]["policies"])
    # An explicit authenticated write in a public namespace stays a policy.
    group = zgen.namespace_group({"name": "t", "public": True,
                                  "policies": [{"subjects": ["authenticated"], "actions": ["read", "write"]}]})
    assert group["defaultPolicy"] == ["read", "create", "update"]
    assert zgen.model_policies(group) == (True, [{"subjects": ["authenticated"], "actions": ["read", "write"]}])


@pytest.fixture
def adapter(tmp_path):
    config_path = tmp_path / "config.json"
    config_path.write_text(zgen.render({"storage": {"rootDirectory": "/var/lib/registry"},
                                        "http": {"address": "0.0.0.0", "port": "5000",
                                                 "auth": {"htpasswd": {"path": "/etc/zot/htpasswd"}},
                                                 "accessControl": zgen.access_control([], USERS)}}))
    htpasswd_path = tmp_path / "htpasswd"
    htpasswd_path.write_text("")
    os.chmod(config_path, 0o640)
    os.chmod(htpasswd_path, 0o640)
    client = RegistryClient(ConnectionOptions("http://127.0.0.1:9", username="root", password="r", retries=0,
                                              timeout=5))
    zot = ZotBackend(client).configure_access(AccessOptions(
        htpasswd_path=str(htpasswd_path), config_path=str(config_path), mode="0640", bcrypt_rounds=10))
    return zot, config_path


def test_the_adapter_gives_logged_in_users_read_on_a_public_namespace(adapter):
    zot, config_path = adapter
    for namespace in NAMESPACES:
        zot.namespace_ensure(dict(namespace, description="", retention=None, quota_gb=None, state="present"))
        zot.policies_ensure(namespace["name"], namespace["policies"])
    config = json.loads(config_path.read_text())
    for who, action, repository, allowed in MATRIX:
        assert authorize(config, repository, action, username=who)[0] is allowed, (who, action, repository)
    # Applying the same model again changes nothing (idempotent). ("docs", public: false with an anonymous
    # read, flips on every run as before this change: oci_namespace takes its public: false at its word.)
    for namespace in (NAMESPACES[0], NAMESPACES[2]):
        again = zot.namespace_ensure(dict(namespace, description="", retention=None, quota_gb=None, state="present"))
        assert not again.changed, namespace["name"]
        assert not zot.policies_ensure(namespace["name"], namespace["policies"]).changed, namespace["name"]
    assert zot.namespace_get("shared")["public"] is True
    assert zot.policies_get("shared") == NAMESPACES[0]["policies"]


def test_made_private_again_logged_in_users_lose_the_read(adapter):
    zot, config_path = adapter
    zot.namespace_ensure({"name": "shared", "description": "", "public": True, "retention": None, "quota_gb": None})
    zot.policies_ensure("shared", NAMESPACES[0]["policies"])
    assert authorize(json.loads(config_path.read_text()), "shared/app", "read", "bob")[0] is True
    zot.namespace_ensure({"name": "shared", "description": "", "public": False, "retention": None, "quota_gb": None})
    config = json.loads(config_path.read_text())
    assert authorize(config, "shared/app", "read", "bob")[0] is False
    assert authorize(config, "shared/app", "read", None)[0] is False
    assert authorize(config, "shared/app", "read", "alice")[0] is True
