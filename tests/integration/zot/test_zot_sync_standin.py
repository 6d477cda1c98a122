"""zot_mirrors and zot_replications through the zot role, on the test bed's engine with the zot stand-in
(tests/bed/images/zot-standin: zot's process as the role sees it; it loads config.json with the project's
checker at start and on an in-place write, as zot serve does with its own rules).

One deployment: mirrors and a replication rendered (credentials file 0600 holding the credentials, config.json
and the entries file without them, nothing secret in the output), read back by the zot backend the way
oci_registry_info does, the same run again (changed=0), the mirror made absent and a schedule changed, written
in place (zot reloads sync, no restart; the mirror's credentials gone from the file), and what zot cannot do
(a push replication) refused before anything changes, naming the entry.
"""

import json
import os
import stat
import uuid

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_sync as zs
from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import AccessOptions
from ansible_collections.provisioning.oci_registry.plugins.module_utils._client import ConnectionOptions, RegistryClient
from ansible_collections.provisioning.oci_registry.plugins.module_utils._zot import ZotBackend

from .test_zot_role_standin import Deployment

pytestmark = pytest.mark.integration

MIRROR_SECRET = "Mirror-" + uuid.uuid4().hex[:12]
REPL_SECRET = "Repl-" + uuid.uuid4().hex[:12]
MIRROR = {"name": "hub", "url": "https://registry-1.docker.io", "username": "puller", "password": MIRROR_SECRET,
          "tls_verify": True, "repositories": ["library/**"], "namespace": "dockerhub", "ttl": None, "port": None,
          "state": "present"}
REPLICATION = {"name": "tools", "direction": "pull",
               "remote": {"url": "https://ghcr.io", "username": "bot", "password": REPL_SECRET, "tls_verify": True},
               "repositories": ["acme/**"], "tags": ["v*"], "destination_namespace": "upstream",
               "trigger": "scheduled", "schedule": "*/30 * * * *", "deletions": False, "state": "present"}


class SyncDeployment(Deployment):
    """The stand-in deployment without TLS (not what is tested here), refusing any secret in the output."""

    secrets = Deployment.secrets + (MIRROR_SECRET, REPL_SECRET)

    def variables(self, **extra):
        # zot_verify_with_image off: the stand-in loads every config with the checker itself (at start and on an
        # in-place write), which is what this test relies on; the throwaway verify container only costs time here.
        variables = super().variables(zot_tls_cert="", zot_tls_key="", zot_health_ca_path="", zot_verify_with_image=False)
        variables.update(extra)
        return variables


@pytest.fixture
def deployment(tmp_path):
    dep = SyncDeployment(tmp_path)
    yield dep
    dep.remove()


def test_mirrors_and_replications_on_the_stand_in(deployment):
    dep = deployment
    etc = dep.tmp / "etc"
    changed, output = dep.run(zot_mirrors=[MIRROR], zot_replications=[REPLICATION])
    assert changed > 0
    assert dep.client.containers.get(dep.name).status == "running"
    started = dep.started_at()

    credentials_path = etc / zs.CREDENTIALS_FILE
    assert stat.S_IMODE(os.stat(credentials_path).st_mode) == 0o600
    assert json.loads(credentials_path.read_text()) == {
        "registry-1.docker.io": {"username": "puller", "password": MIRROR_SECRET},
        "ghcr.io": {"username": "bot", "password": REPL_SECRET}}
    config_text = (etc / "config.json").read_text()
    assert stat.S_IMODE(os.stat(etc / "config.json").st_mode) == 0o640
    assert MIRROR_SECRET not in config_text and REPL_SECRET not in config_text
    sync = json.loads(config_text)["extensions"]["sync"]
    assert sync["credentialsFile"] == "/etc/zot/sync-credentials.json"      # the mounted config directory
    assert [(r["urls"], r["onDemand"], r.get("pollInterval")) for r in sync["registries"]] == [
        (["https://registry-1.docker.io"], True, None), (["https://ghcr.io"], False, "30m")]
    entries_text = (etc / zs.ENTRIES_FILE).read_text()
    assert MIRROR_SECRET not in entries_text and REPL_SECRET not in entries_text

    # What oci_registry_info reads back: the input shape, passwords never.
    zot = ZotBackend(RegistryClient(ConnectionOptions("http://127.0.0.1:9", retries=0, timeout=5))).configure_access(
        AccessOptions(config_path=str(etc / "config.json"), htpasswd_path=str(etc / "htpasswd")))
    assert zot.mirror_get("hub") == dict(MIRROR, password=None)
    assert zot.replication_get("tools") == dict(REPLICATION, remote=dict(REPLICATION["remote"], password=None))

    # The same run again changes nothing.
    changed, output = dep.run(zot_mirrors=[MIRROR], zot_replications=[REPLICATION])
    assert changed == 0, output[-3000:]

    # The mirror made absent and a new schedule: sync changes, which zot re-reads (config.go UpdateReloadableConfig
    # copies Extensions.Sync); the mirror's credentials leave the credentials file.
    hourly = dict(REPLICATION, schedule="0 */1 * * *")
    changed, output = dep.run(zot_mirrors=[dict(MIRROR, state="absent")], zot_replications=[hourly])
    assert changed > 0 and "written in place, zot reloads it without a restart" in output
    assert dep.started_at() == started
    registries = json.loads((etc / "config.json").read_text())["extensions"]["sync"]["registries"]
    assert [(r["urls"], r.get("pollInterval")) for r in registries] == [(["https://ghcr.io"], "1h")]
    assert json.loads(credentials_path.read_text()) == {"ghcr.io": {"username": "bot", "password": REPL_SECRET}}
    assert zot.mirror_names() == [] and zot.replication_get("tools")["schedule"] == "0 */1 * * *"

    # What zot cannot do fails before anything changes, naming the entry.
    before = (etc / "config.json").read_text()
    returncode, output = dep.play(zot_replications=[dict(hourly, direction="push")])
    assert returncode != 0
    assert "zot_replications[0] (tools): zot's sync extension only pulls" in output
    assert (etc / "config.json").read_text() == before and dep.started_at() == started
