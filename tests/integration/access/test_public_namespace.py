"""public: true means anyone may pull, logged in or not (live, on the package's Distribution deployment,
with skopeo and curl). Two namespaces are added for the test and removed afterwards."""

import os

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils._model import PLATFORM_NAMESPACES

from .deployment import make_layout

pytestmark = pytest.mark.integration

EXTRA = [
    {"name": "team-public", "public": True, "policies": [{"subjects": ["alice"], "actions": ["read", "write"]}]},
    {"name": "team-private", "public": False, "policies": [{"subjects": ["alice"], "actions": ["read", "write"]}]},
]


def _user(deployment, name):
    user = next(u for u in deployment.vars["oci_registry_users"] if u["name"] == name)
    return user["name"], user["password"]


@pytest.fixture(scope="module")
def public_namespaces(deployment):
    run = deployment.playbook("init.yml", oci_registry_namespaces=PLATFORM_NAMESPACES + EXTRA)
    assert run.rc == 0, run
    layout = make_layout(os.path.join(deployment.dir, "layout-public"))
    alice = _user(deployment, "alice")
    for namespace in ("team-public", "team-private"):
        pushed = deployment.push(layout, "v1", namespace + "/app", alice)
        assert pushed.returncode == 0, pushed.stderr
    try:
        yield layout
    finally:
        removed = deployment.playbook("init.yml", oci_registry_namespaces_force=True,
                                      oci_registry_namespaces=PLATFORM_NAMESPACES + [dict(n, state="absent")
                                                                                     for n in EXTRA])
        assert removed.rc == 0, removed


def test_logged_in_user_without_a_grant_pulls_from_a_public_namespace(deployment, public_namespaces, tmp_path):
    carol = _user(deployment, "carol")          # logged in, no grant of her own in team-public
    pulled = deployment.pull("team-public/app", "v1", str(tmp_path / "out"), carol)
    assert pulled.returncode == 0, pulled.stderr
    assert deployment.curl("GET", "/v2/team-public/app/tags/list", carol) == 200
    assert deployment.curl("HEAD", "/v2/team-public/app/manifests/v1", carol) == 200
    # and anonymously, as before
    assert deployment.pull("team-public/app", "v1", str(tmp_path / "anon")).returncode == 0


def test_logged_in_user_without_a_grant_cannot_push_to_a_public_namespace(deployment, public_namespaces):
    carol = _user(deployment, "carol")
    assert deployment.curl("POST", "/v2/team-public/app/blobs/uploads/", carol) == 403
    pushed = deployment.push(public_namespaces, "v1", "team-public/carol", carol)
    assert pushed.returncode != 0
    assert deployment.curl("GET", "/v2/team-public/carol/tags/list", deployment.admin) == 404


def test_logged_in_user_without_a_grant_still_gets_403_on_a_private_namespace(deployment, public_namespaces, tmp_path):
    carol = _user(deployment, "carol")
    assert deployment.curl("GET", "/v2/team-private/app/tags/list", carol) == 403
    assert deployment.pull("team-private/app", "v1", str(tmp_path / "out"), carol).returncode != 0
    assert deployment.curl("GET", "/v2/team-private/app/tags/list") == 401
    assert deployment.curl("GET", "/v2/team-private/app/tags/list", _user(deployment, "alice")) == 200
