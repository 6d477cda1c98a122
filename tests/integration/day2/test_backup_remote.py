"""Backups kept on another host (backup.yml backup_host, restore.yml restore_host).

The registry runs on 127.0.0.1 (local connection); the backup host is a container of the Debian test image
reached with the community.docker.docker connection plugin: two hosts, two connection plugins, the archive
crossing through the controller. Checked on the backup host itself (docker exec): the archive is there with
mode 0600, its .sha256 checks, backup_keep pruned there; the registry host keeps no staging copy; a restore
from the backup host gives the same digests; a missing or damaged remote archive changes nothing."""

import os
import shutil
import subprocess
import tempfile
import uuid

import pytest
import yaml

from ..access.deployment import Deployment
from .seed import content, seed_registry

pytestmark = pytest.mark.integration

BASE_IMAGE = os.environ.get("OCI_TEST_BASE_IMAGE", "oci-registry-test/debian:bookworm")
REMOTE_DIR = "/srv/backups"


def in_store(store, *command):
    return subprocess.run(["docker", "exec", store] + list(command), capture_output=True, text=True, check=False)


def remote_archives(store):
    listing = in_store(store, "find", REMOTE_DIR, "-maxdepth", "1", "-name", "oci-registry-*", "-printf", "%f %m\n")
    assert listing.returncode == 0, listing.stderr
    return dict(line.split() for line in sorted(listing.stdout.splitlines()))


@pytest.fixture(scope="module")
def world():
    dep = Deployment(users=[])
    store = "oci-bk-store-" + uuid.uuid4().hex[:6]
    layout_dir = tempfile.mkdtemp(prefix="oci-bk-layout-")
    staging = os.path.join(dep.dir, "staging")
    os.makedirs(staging)
    inventory = os.path.join(dep.dir, "inventory.yml")
    with open(inventory, "w") as handle:
        yaml.safe_dump({
            "oci_registry": {"hosts": {"localhost": {
                "ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}},
            "backup_stores": {"hosts": {store: {
                "ansible_connection": "community.docker.docker", "ansible_python_interpreter": "/usr/bin/python3"}}},
        }, handle)
    try:
        started = subprocess.run(["docker", "run", "-d", "--name", store, "--network", "none", BASE_IMAGE,
                                  "sleep", "infinity"], capture_output=True, text=True, check=False)
        assert started.returncode == 0, started.stderr
        assert in_store(store, "mkdir", "-p", REMOTE_DIR).returncode == 0
        run = dep.playbook("deploy.yml")
        assert run.rc == 0, run
        api, before = seed_registry(dep, layout_dir)
        yield dep, api, before, staging, store, ["-i", inventory]
    finally:
        subprocess.run(["docker", "rm", "-f", store], capture_output=True, check=False)
        dep.remove()
        shutil.rmtree(layout_dir, ignore_errors=True)


def test_1_missing_remote_dir_fails_before_read_only(world):
    dep, api, before, staging, store, inventory = world
    config = os.path.join(dep.config_dir, "config.yml")
    with open(config) as handle:
        original = handle.read()
    run = dep.playbook("backup.yml", *inventory, backup_dir=staging, backup_host=store,
                       backup_remote_dir="/srv/nope")
    assert run.rc != 0
    assert "backup_remote_dir /srv/nope on backup_host %s does not exist" % store in run.output, run
    assert "Nothing was changed" in run.output
    assert "Make the registry read-only" not in run.output
    with open(config) as handle:
        assert handle.read() == original
    assert os.listdir(staging) == []
    assert remote_archives(store) == {}
    # A backup_host that is not in the inventory is named.
    run = dep.playbook("backup.yml", *inventory, backup_dir=staging, backup_host="no-such-host")
    assert run.rc != 0 and "backup_host must name another host of the inventory (it is 'no-such-host'" in run.output, run
    assert content(api) == before


def test_2_archives_land_on_the_backup_host_verified_and_pruned(world):
    dep, _api, before, staging, store, inventory = world
    names = []
    for attempt in range(3):
        run = dep.playbook("backup.yml", *inventory, backup_dir=staging, backup_host=store,
                           backup_remote_dir=REMOTE_DIR, backup_keep=2)
        assert run.rc == 0, run
        assert "(checksum verified there)" in run.output and "2 repositories, 3 tags recorded" in run.output, run
        names.append(run.output.split("backup of localhost: %s:%s/" % (store, REMOTE_DIR))[1].split(".tar")[0])
        # No staging copy stays on the registry host, nothing on the controller's temporary directory.
        assert os.listdir(staging) == [], attempt
    assert len(set(names)) == 3
    kept = remote_archives(store)
    # The newest two, each with its checksum file, readable by root only.
    assert kept == {n + suffix: "600" for n in names[1:] for suffix in (".tar", ".tar.sha256")}, kept
    for name in names[1:]:
        check = in_store(store, "sh", "-c", "cd %s && sha256sum --check --strict %s.tar.sha256" % (REMOTE_DIR, name))
        assert check.returncode == 0 and ": OK" in check.stdout, check
    # backup.json in the remote archive records what the registry served.
    listing = in_store(store, "tar", "-xOf", "%s/%s.tar" % (REMOTE_DIR, names[-1]), "backup.json")
    assert yaml.safe_load(listing.stdout)["content"] == before
    # backup_keep_staging keeps the registry host's copy too.
    run = dep.playbook("backup.yml", *inventory, backup_dir=staging, backup_host=store,
                       backup_remote_dir=REMOTE_DIR, backup_keep=2, backup_keep_staging=True)
    assert run.rc == 0, run
    assert len([n for n in os.listdir(staging) if n.endswith(".tar")]) == 1
    assert len(remote_archives(store)) == 4


def test_3_restore_from_the_backup_host_same_digests(world):
    dep, api, before, _staging, store, inventory = world
    newest = sorted(n for n in remote_archives(store) if n.endswith(".tar"))[-1]
    subprocess.run(["docker", "stop", dep.name], check=True, capture_output=True)
    shutil.rmtree(os.path.join(dep.dir, "data"))
    os.makedirs(os.path.join(dep.dir, "data"))
    subprocess.run(["docker", "start", dep.name], check=True, capture_output=True)
    api.wait_ready()
    assert api.tags("provisioning-platform/base") == []
    run = dep.playbook("restore.yml", *inventory, restore_host=store, restore_from="%s/%s" % (REMOTE_DIR, newest))
    assert run.rc == 0, run
    assert "verified: 3 of 3 tags in 2 repositories" in run.output, run
    assert content(api) == before
    assert api.whole("provisioning-extensions/tool", "multi")
    # The fetched copy is gone from the registry host.
    assert not os.path.exists(os.path.join(dep.dir, "data.restore.archive"))
    assert not os.path.exists(os.path.join(dep.dir, "data.restore"))


def test_4_damaged_or_missing_remote_archive_refused_nothing_touched(world):
    dep, api, before, _staging, store, inventory = world
    newest = sorted(n for n in remote_archives(store) if n.endswith(".tar"))[-1]
    started = subprocess.run(["docker", "inspect", "-f", "{{.State.StartedAt}}", dep.name],
                             capture_output=True, text=True, check=True).stdout
    run = dep.playbook("restore.yml", *inventory, restore_host=store, restore_from="%s/gone.tar" % REMOTE_DIR)
    assert run.rc != 0 and "restore_from %s/gone.tar does not exist on %s" % (REMOTE_DIR, store) in run.output, run
    assert in_store(store, "sh", "-c", "printf x >> %s/%s" % (REMOTE_DIR, newest)).returncode == 0
    run = dep.playbook("restore.yml", *inventory, restore_host=store, restore_from="%s/%s" % (REMOTE_DIR, newest))
    assert run.rc != 0
    assert "does not match its checksum file" in run.output, run
    assert subprocess.run(["docker", "inspect", "-f", "{{.State.StartedAt}}", dep.name],
                          capture_output=True, text=True, check=True).stdout == started  # never stopped
    assert not os.path.exists(os.path.join(dep.dir, "data.restore.archive"))
    assert content(api) == before
