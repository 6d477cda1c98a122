"""The zot adapter's access-model side on real files: htpasswd and config.json written in place
(same inode), checked with zot's rules, round-tripping the model, reload vs restart reported."""

import copy
import json
import os

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_generate as zgen
from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_reload as zreload
from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_schema as zschema
from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import (
    AccessOptions,
    NamespaceNotEmptyError,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._client import ConnectionOptions, RegistryClient
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import OciRegistryError
from ansible_collections.provisioning.oci_registry.plugins.module_utils._htpasswd import password_matches
from ansible_collections.provisioning.oci_registry.plugins.module_utils._zot import ZotBackend

from ..fake_http import FakeServer
from ._authorize import authorize
from ._data import PLATFORM_NAMESPACES


def backend(files, url="http://127.0.0.1:9", validate_command=None, run_command=None):
    config_path, htpasswd_path = files
    client = RegistryClient(ConnectionOptions(url, username="admin", password="pw", retries=0, timeout=5))
    return ZotBackend(client).configure_access(AccessOptions(
        htpasswd_path=str(htpasswd_path), config_path=str(config_path), mode="0640", bcrypt_rounds=10,
        validate_command=validate_command, run_command=run_command))


def load(path):
    return json.loads(path.read_text())


def test_user_lifecycle_writes_in_place(files):
    config_path, htpasswd_path = files
    zot = backend(files)
    inodes = (os.stat(config_path).st_ino, os.stat(htpasswd_path).st_ino)

    result = zot.user_ensure({"name": "dev", "password": "dev-password-1", "admin": False}, check_mode=True)
    assert result.changed and htpasswd_path.read_text() == ""          # check mode writes nothing

    result = zot.user_ensure({"name": "dev", "password": "dev-password-1", "admin": False})
    assert result.changed and result.password_changed and not result.restart_required
    assert zot.user_get("dev") == {"name": "dev", "admin": False, "groups": []}
    stored = htpasswd_path.read_text().strip().split(":", 1)
    assert stored[0] == "dev" and password_matches(stored[1], "dev-password-1")

    again = zot.user_ensure({"name": "dev", "password": "dev-password-1", "admin": False}, update_password="always")
    assert not again.changed                                             # idempotent, hash verified

    promoted = zot.user_ensure({"name": "dev", "password": "dev-password-1", "admin": True, "groups": ["release"]})
    assert promoted.changed and not promoted.restart_required          # accessControl reloads
    config = load(config_path)
    assert config["http"]["accessControl"]["adminPolicy"]["users"] == ["admin", "dev"]
    assert config["http"]["accessControl"]["groups"] == {"release": {"users": ["dev"]}}
    assert zschema.check(config)[0] == []

    removed = zot.user_remove("dev")
    assert removed.changed
    assert zot.user_get("dev") is None
    config = load(config_path)
    assert config["http"]["accessControl"]["adminPolicy"]["users"] == ["admin"]
    assert "groups" not in config["http"]["accessControl"]
    assert not zot.user_remove("dev").changed
    assert (os.stat(config_path).st_ino, os.stat(htpasswd_path).st_ino) == inodes  # never replaced


def test_namespaces_round_trip_the_model(files):
    config_path, _h = files
    zot = backend(files)
    for namespace in PLATFORM_NAMESPACES:
        found = zot.namespace_get(namespace["name"])
        assert found["public"] == namespace["public"]
        assert found["retention"] == namespace["retention"]
        assert found["policies"] == namespace["policies"]
    assert zot.namespace_get("nothing-here") is None

    created = zot.namespace_ensure({"name": "team/apps", "description": "Apps", "public": False,
                                    "retention": {"keep_tags": 4, "max_age_days": None}, "quota_gb": 5})
    assert created.changed and not created.restart_required
    assert any("description" in w for w in created.warnings) and any("quota" in w for w in created.warnings)
    assert zot.namespace_get("team/apps")["retention"] == {"keep_tags": 4, "max_age_days": None}
    assert not zot.namespace_ensure({"name": "team/apps", "public": False,
                                     "retention": {"keep_tags": 4, "max_age_days": None}}).changed

    grants = [{"subjects": ["authenticated"], "actions": ["read"]},
              {"subjects": ["alice", "group:release"], "actions": ["read", "write"]}]
    result = zot.policies_ensure("team/apps", grants)
    assert result.changed and result.after == grants
    assert zot.policies_get("team/apps") == grants
    config = load(config_path)
    assert authorize(config, "team/apps/x", "create", "alice")[0]
    assert not authorize(config, "team/apps/x", "create", "bob")[0]
    assert zschema.check(config)[0] == []
    assert not zot.policies_ensure("team/apps", grants).changed


def test_namespace_remove_refuses_content_unless_forced(files):
    catalog = {"repositories": ["provisioning-kcl/app", "provisioning-kcl/lib", "other/x"]}
    deleted = []

    def handler(req):
        if req.path == "/v2/_catalog":
            return 200, {}, catalog
        if req.path.endswith("/tags/list"):
            return 200, {}, {"name": req.path[4:-10], "tags": ["v1"]}
        if req.method == "HEAD" and "/manifests/" in req.path:
            return 200, {"Docker-Content-Digest": "sha256:" + "a" * 64,
                         "Content-Type": "application/vnd.oci.image.manifest.v1+json"}, b""
        if req.method == "DELETE":
            deleted.append(req.path)
            return 202, {}, b""
        return 404, {}, {"errors": [{"code": "NAME_UNKNOWN", "message": "?"}]}

    with FakeServer(handler) as srv:
        zot = backend(files, url=srv.url)
        with pytest.raises(NamespaceNotEmptyError, match="2 repositories"):
            zot.namespace_remove("provisioning-kcl")
        assert zot.namespace_get("provisioning-kcl") is not None
        result = zot.namespace_remove("provisioning-kcl", force=True)
    assert result.changed
    assert sorted(deleted) == ["/v2/provisioning-kcl/app/manifests/sha256:" + "a" * 64,
                               "/v2/provisioning-kcl/lib/manifests/sha256:" + "a" * 64]
    assert zot.namespace_get("provisioning-kcl") is None
    config = load(files[0])
    assert "provisioning-kcl/**" not in config["http"]["accessControl"]["repositories"]
    assert all("provisioning-kcl" not in p["repositories"] for p in config["storage"]["retention"]["policies"])


def test_a_config_zot_would_refuse_is_not_written(files):
    config_path, _h = files
    config = load(config_path)
    del config["http"]["auth"]          # accessControl without authentication
    config_path.write_text(zgen.render(config))
    before = config_path.read_text()
    zot = backend(files)
    with pytest.raises(zschema.ZotConfigError, match="needs authentication"):
        zot.namespace_ensure({"name": "new", "public": True})
    assert config_path.read_text() == before


def test_validate_command_runs_on_the_candidate(files):
    calls = []

    def run_command(command):
        calls.append(command)
        return 1, "", "zot verify: invalid config"

    zot = backend(files, validate_command="zot verify %s", run_command=run_command)
    before = files[0].read_text()
    with pytest.raises(OciRegistryError, match="zot verify: invalid config"):
        zot.namespace_ensure({"name": "new", "public": True})
    assert files[0].read_text() == before
    assert calls and calls[0].startswith("zot verify ") and calls[0].endswith(".candidate")


def test_turning_access_control_on_needs_a_restart(files):
    config_path, _h = files
    config = load(config_path)
    del config["http"]["accessControl"]
    config_path.write_text(zgen.render(config))
    zot = backend(files)
    result = zot.namespace_ensure({"name": "fresh", "public": False})
    assert result.changed and result.restart_required
    assert any("restart" in w for w in result.warnings)


def test_policies_on_a_missing_namespace_fail(files):
    with pytest.raises(OciRegistryError, match="does not exist"):
        backend(files).policies_ensure("missing", [{"subjects": ["authenticated"], "actions": ["read"]}])


@pytest.mark.parametrize("namespace", copy.deepcopy(PLATFORM_NAMESPACES), ids=[n["name"] for n in PLATFORM_NAMESPACES])
def test_model_policies_inverts_namespace_group(namespace):
    public, policies = zgen.model_policies(zgen.namespace_group(namespace))
    assert public == namespace["public"]
    assert policies == namespace["policies"]


def test_adapter_and_role_agree_on_the_same_model(tmp_path, platform_options):
    """init (the adapter, namespace by namespace) and the role (the generator, all at once) must
    write the same accessControl and retention, or each run of one would undo the other."""
    from_role, _c, _w = zgen.generate(platform_options)
    start = dict(platform_options, namespaces=[])
    config, _c, _w = zgen.generate(start)
    paths = (tmp_path / "config.json", tmp_path / "htpasswd")
    paths[0].write_text(zgen.render(config))
    paths[1].write_text("")
    zot = backend(paths)
    for namespace in reversed(PLATFORM_NAMESPACES):      # another order than the role's
        zot.namespace_ensure(namespace)
        zot.policies_ensure(namespace["name"], namespace["policies"])
    from_adapter = load(paths[0])
    assert from_adapter["http"]["accessControl"]["repositories"] == from_role["http"]["accessControl"]["repositories"]
    assert from_adapter["storage"]["retention"]["policies"] == from_role["storage"]["retention"]["policies"]
    change = zreload.classify_change(from_adapter, from_role)
    assert change["action"] == "none", change


def test_adapter_keeps_the_roles_retention_switches(tmp_path, platform_options):
    options = dict(platform_options, retention_delete_untagged=False, retention_delete_referrers=True)
    config, _c, _w = zgen.generate(options)
    paths = (tmp_path / "config.json", tmp_path / "htpasswd")
    paths[0].write_text(zgen.render(config))
    paths[1].write_text("")
    backend(paths).namespace_ensure({"name": "extra", "retention": {"keep_tags": 2, "max_age_days": None}})
    policy = [p for p in load(paths[0])["storage"]["retention"]["policies"] if p["repositories"][0] == "extra"][0]
    assert (policy["deleteUntagged"], policy["deleteReferrers"]) == (False, True)


def test_verify_command_mounts_the_candidate():
    from ansible_collections.provisioning.oci_registry.plugins.module_utils._zot import verify_command

    command = verify_command("ghcr.io/project-zot/zot-linux-amd64:v2.1.20")
    assert command.replace("%s", "/etc/oci-registry/.config.json.x.candidate").split() == [
        "docker", "run", "--rm", "--network", "none", "-v",
        "/etc/oci-registry/.config.json.x.candidate:/tmp/zot-candidate.json:ro",
        "ghcr.io/project-zot/zot-linux-amd64:v2.1.20", "verify", "/tmp/zot-candidate.json"]
