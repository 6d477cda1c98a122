"""oci_webhook: Harbor webhook policies from oci_registry_webhooks, against the swagger-validating
Harbor double (check mode, real, idempotent, change, exclusive), and what it refuses."""

import json
import os
import subprocess
import sys

import pytest

from tests.harbor.double import HarborDouble
from tests.harbor.swagger import Swagger
from tests.unit.harbor.conftest import ADMIN_PASSWORD, run_module

COLLECTIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                           ".build", "collections")
SECRET = "Bearer s3cret-hook-token"
HOOKS = [{"name": "ci", "url": "https://ci.example.test/hook", "headers": {"Authorization": SECRET},
          "events": ["push", "delete"]},
         {"name": "audit", "url": "http://audit.example.test/in", "events": ["pull"]}]


@pytest.fixture(name="harbor")
def harbor_double():
    server = HarborDouble(admin_password=ADMIN_PASSWORD, swagger=Swagger()).start()
    server.project_id = server.project("library")["project_id"]
    yield server
    server.stop()
    assert server.violations == [], "\n".join(server.violations)


def run_other_type(kind, harbor, tmp_path, **args):
    """The module with another registry_type (the shared helper always passes harbor)."""
    path = os.path.join(COLLECTIONS, "ansible_collections", "provisioning", "oci_registry", "plugins", "modules",
                        "oci_webhook.py")
    args_file = tmp_path / "webhook-args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": dict(args, registry_url=harbor.url, registry_type=kind,
                                                                 username="admin", password=ADMIN_PASSWORD)}))
    process = subprocess.run([sys.executable, path, str(args_file)], capture_output=True, text=True, timeout=60,
                             env=dict(os.environ, PYTHONPATH=COLLECTIONS), check=False)
    return json.loads(process.stdout)


def policies(harbor):
    return dict((p["name"], p) for p in harbor.webhooks.get(harbor.project_id, {}).values())


def test_create_idempotent_change_exclusive(harbor, tmp_path):
    dry = run_module("oci_webhook", harbor, tmp_path, check=True, diff=True, namespaces=["library"], webhooks=HOOKS)
    assert dry["changed"] and not policies(harbor), dry
    assert dry["namespaces"] == [{"name": "library", "created": ["audit", "ci"], "updated": [], "deleted": []}]
    assert SECRET not in json.dumps(dry)
    real = run_module("oci_webhook", harbor, tmp_path, namespaces=["library"], webhooks=HOOKS)
    assert real["changed"] and not real.get("failed"), real
    made = policies(harbor)
    assert made["ci"]["event_types"] == ["DELETE_ARTIFACT", "PUSH_ARTIFACT"]
    assert made["ci"]["targets"] == [{"type": "http", "address": "https://ci.example.test/hook",
                                      "auth_header": SECRET, "skip_cert_verify": False}]
    assert made["audit"]["event_types"] == ["PULL_ARTIFACT"] and "auth_header" not in made["audit"]["targets"][0]
    again = run_module("oci_webhook", harbor, tmp_path, namespaces=["library"], webhooks=HOOKS)
    assert not again["changed"], again
    changed = [dict(HOOKS[0], events=["push"]), HOOKS[1]]
    update = run_module("oci_webhook", harbor, tmp_path, namespaces=["library"], webhooks=changed)
    assert update["namespaces"][0]["updated"] == ["ci"] and policies(harbor)["ci"]["event_types"] == ["PUSH_ARTIFACT"]
    kept = run_module("oci_webhook", harbor, tmp_path, namespaces=["library"], webhooks=changed[:1])
    assert not kept["changed"] and set(policies(harbor)) == {"ci", "audit"}
    exclusive = run_module("oci_webhook", harbor, tmp_path, namespaces=["library"], webhooks=changed[:1], exclusive=True)
    assert exclusive["namespaces"][0]["deleted"] == ["audit"] and set(policies(harbor)) == {"ci"}


@pytest.mark.parametrize("args, message", [
    ({"webhooks": [dict(HOOKS[0], headers={"X-Token": "token-value-123"})]}, "only an Authorization header"),
    ({"webhooks": [dict(HOOKS[0], url="ftp://x")]}, "http or https"),
    ({"webhooks": HOOKS, "namespaces": ["nope"]}, "does not exist"),
    ({"webhooks": HOOKS, "registry_type": "zot"}, "zot_webhooks, sinks of its events extension"),
    ({"webhooks": HOOKS, "registry_type": "distribution"}, "distribution_webhooks"),
])
def test_refused(harbor, tmp_path, args, message):
    args = dict({"namespaces": ["library"]}, **args)
    kind = args.pop("registry_type", "harbor")
    if kind == "harbor":
        result = run_module("oci_webhook", harbor, tmp_path, **args)
    else:
        result = run_other_type(kind, harbor, tmp_path, **args)
    assert result["failed"] and message in result["msg"], result
    assert not policies(harbor)
