"""What the playbooks refuse with shared storage (issue 17), before anything changes on a host: what a registry
type cannot do with the HA model (deploy.yml, _storage_checks), garbage collection on Distribution replicas that
share a bucket unless every one is in the run (gc.yml and backup.yml make all read-only first, restore.yml verifies
all) or with a Redis cache it cannot clear, and archives of a registry whose data
is in the bucket (backup.yml and restore.yml). Two inventory hosts on this machine stand for two replicas behind a balancer; every
run must stop in its preflight, naming the variable, and leave the config and data directories uncreated."""

import os
import shutil
import subprocess
import tempfile
import uuid

import pytest
import yaml

from ..access.deployment import ROOT, PlaybookRun, remove_distribution
from ..registry import free_port

pytestmark = pytest.mark.integration

SECRET = "Shared-Secret-Key-0123456789"


def storage(bucket="replicas"):
    return {"type": "s3", "s3": {"endpoint": "http://127.0.0.1:9", "bucket": bucket, "access_key": "replicas",
                                 "secret_key": SECRET}}


@pytest.fixture
def host(tmp_path):
    """An inventory of two replicas (both this machine) and a runner of the collection's playbooks."""
    inventory = tmp_path / "hosts.yml"
    base = {"ansible_connection": "local", "ansible_python_interpreter": shutil.which("python3")}
    inventory.write_text(yaml.safe_dump({"oci_registry": {"hosts": {"replica-1": base, "replica-2": base}},
                                         "oci_registry_lb": {"hosts": {"balancer": base}}}))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"), ANSIBLE_NOCOLOR="1")

    name = "oci-guard-" + uuid.uuid4().hex[:8]

    def run(playbook, limit=None, **variables):
        # A name and port of its own: if a guard ever failed to stop a run, nothing else on the engine is touched.
        variables.setdefault("oci_registry_container_name", name)
        variables.setdefault("oci_registry_port", free_port())
        variables.setdefault("oci_registry_metrics_port", free_port())
        variables.setdefault("oci_registry_config_dir", str(tmp_path / "etc"))
        variables.setdefault("oci_registry_data_dir", str(tmp_path / "data"))
        variables.setdefault("oci_registry_admin_password", "Adm1n-guards-0123")
        path = tmp_path / "vars.yml"
        path.write_text(yaml.safe_dump(variables))
        command = ["ansible-playbook", "-i", str(inventory), os.path.join(ROOT, "playbooks", playbook),
                   "-e", "@%s" % path] + (["--limit", limit] if limit else [])
        return PlaybookRun(subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
                                          check=False))

    run.dir = tmp_path
    yield run
    remove_distribution(name)


def assert_refused(run, host, *expected):
    assert run.rc != 0, run
    text = " ".join(run.output.split())
    for sentence in expected:
        assert sentence in text, run
    assert SECRET not in run.output
    assert not (host.dir / "etc").exists() and not (host.dir / "data").exists()


@pytest.mark.parametrize("playbook, variables, why", [
    ("gc.yml", {}, "gc.yml makes every one read-only before the one collection"),
    ("backup.yml", {"backup_format": "oci-layout"},
     "backup.yml makes every one read-only while the first one exports the bucket"),
    ("restore.yml", {"restore_from": "/var/tmp/oci-registry-replica-1-20261207T000000Z.oci"},
     "restore.yml imports once through the first one and verifies every one"),
])
def test_a_batch_without_every_replica_on_the_bucket_is_refused(host, playbook, variables, why):
    """gc.yml, backup.yml and restore.yml act on the bucket once for all replicas: --limit must not cut them."""
    if playbook == "backup.yml":
        variables["backup_dir"] = str(host.dir / "backups")
    run = host(playbook, limit="replica-1", registry_type="distribution", oci_registry_storage=storage(), **variables)
    assert_refused(run, host, "The 2 hosts of oci_registry are Distribution replicas on one bucket: " + why,
                   "this batch has replica-1", "Run it without --limit")


def test_gc_refuses_an_external_redis_cache_it_cannot_clear(host):
    run = host("gc.yml", registry_type="distribution", oci_registry_storage=storage(),
               oci_registry_redis={"mode": "external", "address": "127.0.0.1:9", "password": SECRET})
    assert_refused(run, host, "oci_registry_redis.mode is external", "distribution/distribution#2945")


def test_backup_refuses_an_archive_of_data_in_a_bucket(host):
    run = host("backup.yml", limit="replica-1", registry_type="distribution", oci_registry_storage=storage(),
               backup_dir=str(host.dir / "backups"))
    assert_refused(run, host, "backup_format archive copies the registry's data directory, but "
                              "oci_registry_storage is type s3", "Use backup_format oci-layout")
    assert not (host.dir / "backups").exists()


def test_restore_refuses_an_archive_into_a_bucket(host):
    archive = tempfile.mkstemp(suffix=".tar", dir=str(host.dir))[1]
    run = host("restore.yml", limit="replica-1", registry_type="distribution", oci_registry_storage=storage(),
               restore_from=archive)
    assert_refused(run, host, "restore_from is an archive (.tar), which replaces the registry's data directory, "
                              "but oci_registry_storage is type s3")


def test_deploy_refuses_zot_on_s3_without_a_remote_cache(host):
    run = host("deploy.yml", limit="replica-1", registry_type="zot", oci_registry_storage=storage(),
               oci_registry_redis={"mode": "none"})
    assert_refused(run, host, "oci_registry_redis.mode: zot on s3 storage needs a remote cache")
    assert "TASK [Storage | Prove that the S3 bucket can be written" not in run.output


def test_deploy_refuses_distribution_replicas_on_their_own_disks(host):
    """Behind a balancer (group oci_registry_lb) the hosts are replicas of one registry; without one they are a
    fleet of independent registries, which the fleet scenario deploys on their own disks."""
    run = host("deploy.yml", limit="replica-1,replica-2", registry_type="distribution")
    assert_refused(run, host, "oci_registry_storage: 2 Distribution replicas need shared storage: set "
                              "oci_registry_storage.type: s3")


def test_deploy_checks_the_replicas_storage_before_it_deploys_their_redis(host):
    """With S3, deploy.yml deploys Redis (mode auto) in a play before the registries' own: a bad storage value must
    stop the run there, before the Redis host got a config directory, a password or a container."""
    bad = storage()
    bad["s3"]["chunk_size"] = 5
    run = host("deploy.yml", registry_type="distribution", oci_registry_storage=bad)
    assert_refused(run, host, "oci_registry_storage.s3: unknown key(s) chunk_size")
    assert "TASK [Shared cache | Check the first replica's registry_type and storage first" in run.output
    assert "Deploy Redis" not in run.output.split("Shared cache | Check the first replica's")[1]
