"""Issue 3's acceptance on a live Distribution deployed by the role with its access front.
Real clients decide: skopeo pushes, pulls and deletes; curl checks statuses.

Some tests change users and policies; each starts from what it needs (the users as the last change left them in
deployment.vars, the content it reads pushed when no earlier test pushed it), so that they pass in any order."""

import hashlib
import os

import pytest

from .conftest import creds
from .deployment import make_layout

pytestmark = pytest.mark.integration

NAMESPACES = ("provisioning-extensions", "provisioning-kcl", "provisioning-platform", "provisioning-test")


@pytest.fixture(scope="module")
def image(deployment):
    return make_layout(os.path.join(deployment.dir, "layout"))


@pytest.fixture
def kcl_content(deployment, image):
    """provisioning-kcl holds lib:v1 and schemas:v1: pushed by alice (as the kcl tests do) when no earlier test
    pushed them or a forced delete of the namespace removed them."""
    for repository in ("provisioning-kcl/lib", "provisioning-kcl/schemas"):
        if deployment.curl("HEAD", "/v2/%s/manifests/v1" % repository, deployment.admin) != 200:
            pushed = deployment.push(image, "v1", repository, creds("alice"))
            assert pushed.returncode == 0, pushed.stderr


def test_api_root_needs_credentials(deployment):
    assert deployment.curl("GET", "/v2/") == 401
    assert deployment.curl("GET", "/v2/", creds("alice")) == 200
    assert deployment.curl("GET", "/v2/", ("alice", "wrong-password")) == 401
    assert deployment.curl("GET", "/v2/_catalog", creds("alice")) == 403
    assert deployment.curl("GET", "/v2/_catalog", deployment.admin) == 200


def test_anonymous_pull_from_public_namespace(deployment, image, tmp_path):
    pushed = deployment.push(image, "v1", "provisioning-test/app", creds("alice"))
    assert pushed.returncode == 0, pushed.stderr
    pulled = deployment.pull("provisioning-test/app", "v1", str(tmp_path / "out"))
    assert pulled.returncode == 0, pulled.stderr
    assert deployment.curl("GET", "/v2/provisioning-test/app/tags/list") == 200


def test_anonymous_read_of_private_namespace_is_refused(deployment, image, tmp_path):
    pushed = deployment.push(image, "v1", "provisioning-kcl/schemas", creds("alice"))
    assert pushed.returncode == 0, pushed.stderr
    assert deployment.curl("GET", "/v2/provisioning-kcl/schemas/tags/list") == 401
    pulled = deployment.pull("provisioning-kcl/schemas", "v1", str(tmp_path / "out"))
    assert pulled.returncode != 0


@pytest.mark.parametrize("namespace", NAMESPACES + ("elsewhere",))
def test_anonymous_push_is_refused(deployment, image, namespace):
    assert deployment.curl("POST", "/v2/%s/anon/blobs/uploads/" % namespace) == 401
    pushed = deployment.push(image, "v1", namespace + "/anon")
    assert pushed.returncode != 0
    assert deployment.curl("GET", "/v2/%s/anon/tags/list" % namespace, deployment.admin) == 404


def test_user_pushes_and_deletes_in_extensions(deployment, image):
    user = creds("alice")
    pushed = deployment.push(image, "v1", "provisioning-extensions/ext", user)
    assert pushed.returncode == 0, pushed.stderr
    assert deployment.curl("HEAD", "/v2/provisioning-extensions/ext/manifests/v1", user) == 200
    deleted = deployment.delete("provisioning-extensions/ext", "v1", user)
    assert deleted.returncode == 0, deleted.stderr
    assert deployment.curl("HEAD", "/v2/provisioning-extensions/ext/manifests/v1", user) == 404


def test_user_pushes_to_kcl_but_cannot_delete_there(deployment, image):
    user = creds("alice")
    pushed = deployment.push(image, "v1", "provisioning-kcl/lib", user)
    assert pushed.returncode == 0, pushed.stderr
    deleted = deployment.delete("provisioning-kcl/lib", "v1", user)
    assert deleted.returncode != 0
    assert "403" in deleted.stderr or "denied" in deleted.stderr.lower() or "unauthorized" in deleted.stderr.lower()
    assert deployment.curl("HEAD", "/v2/provisioning-kcl/lib/manifests/v1", user) == 200


def test_user_cannot_push_to_platform_but_admin_can(deployment, image):
    user = creds("alice")
    assert deployment.curl("POST", "/v2/provisioning-platform/base/blobs/uploads/", user) == 403
    pushed = deployment.push(image, "v1", "provisioning-platform/base", user)
    assert pushed.returncode != 0
    assert deployment.curl("HEAD", "/v2/provisioning-platform/base/manifests/v1", user) == 404
    admin = creds("boss")
    pushed = deployment.push(image, "v1", "provisioning-platform/base", admin)
    assert pushed.returncode == 0, pushed.stderr
    # Authenticated users read the platform's images.
    assert deployment.curl("HEAD", "/v2/provisioning-platform/base/manifests/v1", user) == 200
    assert deployment.curl("DELETE", "/v2/provisioning-platform/base/manifests/v1", user) == 403


def test_repository_outside_every_namespace_is_for_admins(deployment):
    assert deployment.curl("POST", "/v2/elsewhere/app/blobs/uploads/", creds("alice")) == 403
    assert deployment.curl("POST", "/v2/elsewhere/app/blobs/uploads/", creds("boss")) == 202


def test_init_twice_changes_nothing(deployment):
    # deploy.yml ran init.yml once already: this is the second run.
    run = deployment.playbook("init.yml")
    assert run.rc == 0, run
    assert run.changed == 0, run


def test_deploy_again_changes_nothing(deployment):
    run = deployment.playbook("deploy.yml")
    assert run.rc == 0, run
    assert run.changed == 0, run


def _front_files(deployment):
    digests = {}
    for name in ("access.json", "nginx.conf"):
        with open(os.path.join(deployment.front_dir, name), "rb") as handle:
            digests[name] = hashlib.sha256(handle.read()).hexdigest()
    return digests


def test_check_diff_shows_a_changed_policy_and_changes_nothing(deployment):
    namespaces = [
        {"name": "provisioning-kcl", "description": "KCL schemas", "retention": {"keep_tags": 20, "max_age_days": 180},
         "policies": [{"subjects": ["authenticated"], "actions": ["read", "write", "delete"]}]},
    ]
    from ansible_collections.provisioning.oci_registry.plugins.module_utils._model import PLATFORM_NAMESPACES
    changed = [ns for ns in PLATFORM_NAMESPACES if ns["name"] != "provisioning-kcl"] + namespaces
    before = _front_files(deployment)
    run = deployment.playbook("init.yml", "--check", "--diff", oci_registry_namespaces=changed)
    assert run.rc == 0, run
    assert run.changed >= 1, run
    assert "+        - delete" in run.output or "+    -   actions" in run.output, run
    assert _front_files(deployment) == before
    assert deployment.curl("DELETE", "/v2/provisioning-kcl/lib/manifests/v1", creds("alice")) == 403


def test_absent_user_can_no_longer_log_in(deployment):
    assert deployment.curl("GET", "/v2/", creds("bob")) == 200
    inode = os.stat(deployment.htpasswd).st_ino
    # From the users as the last change left them (carol's password may have changed already).
    users = [dict(u, state="absent") if u["name"] == "bob" else dict(u) for u in deployment.vars["oci_registry_users"]]
    run = deployment.playbook("init.yml", oci_registry_users=users)
    assert run.rc == 0, run
    assert run.changed >= 1, run
    assert deployment.curl("GET", "/v2/", creds("bob")) == 401
    assert deployment.curl("GET", "/v2/provisioning-test/app/tags/list", creds("bob")) == 401
    assert os.stat(deployment.htpasswd).st_ino == inode
    deployment.vars["oci_registry_users"] = users


def test_deleting_a_namespace_with_content_needs_force(deployment, kcl_content):
    from ansible_collections.provisioning.oci_registry.plugins.module_utils._model import PLATFORM_NAMESPACES
    kcl_absent = [dict(ns, state="absent") if ns["name"] == "provisioning-kcl" else ns for ns in PLATFORM_NAMESPACES]
    user = creds("alice")
    refused = deployment.playbook("init.yml", oci_registry_namespaces=kcl_absent)
    assert refused.rc != 0, refused
    assert "still holds" in refused.output and "force=true" in refused.output, refused
    assert deployment.curl("HEAD", "/v2/provisioning-kcl/lib/manifests/v1", user) == 200
    assert deployment.curl("POST", "/v2/provisioning-kcl/lib/blobs/uploads/", user) == 202

    forced = deployment.playbook("init.yml", oci_registry_namespaces=kcl_absent, oci_registry_namespaces_force=True)
    assert forced.rc == 0, forced
    assert deployment.curl("HEAD", "/v2/provisioning-kcl/lib/manifests/v1", deployment.admin) == 404
    assert deployment.curl("HEAD", "/v2/provisioning-kcl/schemas/manifests/v1", deployment.admin) == 404
    # Its rules went with it: the repositories are now in no namespace, for admins only.
    assert deployment.curl("POST", "/v2/provisioning-kcl/lib/blobs/uploads/", user) == 403

    restored = deployment.playbook("init.yml")
    assert restored.rc == 0, restored
    assert deployment.curl("POST", "/v2/provisioning-kcl/lib/blobs/uploads/", user) == 202


def test_changed_password_takes_effect_and_old_one_stops_working(deployment):
    old = creds("carol")
    new = (old[0], old[1] + "-New2")
    users = [dict(u, password=new[1]) if u["name"] == "carol" else u for u in deployment.vars["oci_registry_users"]]
    run = deployment.playbook("init.yml", "--diff", oci_registry_users=users)
    assert run.rc == 0, run
    assert "******** (changed)" in run.output, run
    assert old[1] not in run.output and new[1] not in run.output
    assert deployment.curl("GET", "/v2/", new) == 200
    assert deployment.curl("GET", "/v2/", old) == 401
    deployment.vars["oci_registry_users"] = users
    again = deployment.playbook("init.yml")
    assert again.rc == 0 and again.changed == 0, again
