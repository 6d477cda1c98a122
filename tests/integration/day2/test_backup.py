"""Backup and restore (playbooks/backup.yml, playbooks/restore.yml) of a Distribution registry deployed by
playbooks/deploy.yml on 127.0.0.1: nothing lost, every digest the same, a damaged archive refused."""

import glob
import json
import os
import shutil
import subprocess
import tarfile
import tempfile

import pytest

from ..access.deployment import Deployment
from .seed import Api, seed_registry

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def world():
    dep = Deployment(users=[])
    layout_dir = tempfile.mkdtemp(prefix="oci-bk-layout-")
    backups = os.path.join(dep.dir, "backups")
    os.makedirs(backups)
    try:
        run = dep.playbook("deploy.yml")
        assert run.rc == 0, run
        api, before = seed_registry(dep, layout_dir)
        yield dep, api, before, backups
    finally:
        dep.remove()
        shutil.rmtree(layout_dir, ignore_errors=True)


def _archives(backups):
    return sorted(glob.glob(os.path.join(backups, "oci-registry-*.tar")))


@pytest.fixture
def archive(world):
    """The newest archive of backup.yml; one is made when no test made one before."""
    dep, _api, _before, backups = world
    if not _archives(backups):
        run = dep.playbook("backup.yml", backup_dir=backups, backup_keep=2)
        assert run.rc == 0, run
    return _archives(backups)[-1]


def test_1_missing_backup_dir_fails_before_read_only(world):
    dep, _api, _before, backups = world
    config = os.path.join(dep.config_dir, "config.yml")
    with open(config) as handle:
        original = handle.read()
    run = dep.playbook("backup.yml", backup_dir=os.path.join(backups, "nope"))
    assert run.rc != 0
    assert "does not exist" in run.output and "Nothing was changed" in run.output, run
    assert "Make the registry read-only" not in run.output
    with open(config) as handle:
        assert handle.read() == original


def test_2_backup_destroy_restore_same_digests(world):
    dep, api, before, backups = world
    earlier = _archives(backups)  # other tests may have made some
    run = dep.playbook("backup.yml", backup_dir=backups, backup_keep=2)
    assert run.rc == 0, run
    assert "2 repositories, 3 tags recorded" in run.output, run
    archives = [a for a in _archives(backups) if a not in earlier]
    assert len(archives) == 1
    # It holds the htpasswd file and the admin password: root only.
    assert [os.stat(p).st_mode & 0o777 for p in (archives[0], archives[0] + ".sha256")] == [0o600, 0o600]
    with tarfile.open(archives[0]) as tar:
        names = tar.getnames()
        meta = json.load(tar.extractfile("backup.json"))
    assert meta["content"] == before
    assert "config/htpasswd" in names and "config/config.yml" in names and "SHA256SUMS" in names
    assert any(n.startswith("data/docker/registry/v2/blobs/") for n in names)
    # Back in service after the backup.
    assert not os.path.exists(os.path.join(dep.config_dir, "config.yml.maintenance"))
    # Destroy the data, then restore.
    subprocess.run(["docker", "stop", dep.name], check=True, capture_output=True)
    shutil.rmtree(os.path.join(dep.dir, "data"))
    os.makedirs(os.path.join(dep.dir, "data"))
    subprocess.run(["docker", "start", dep.name], check=True, capture_output=True)
    api.wait_ready()
    assert api.tags("provisioning-platform/base") == []
    run = dep.playbook("restore.yml", restore_from=archives[0])
    assert run.rc == 0, run
    assert "verified: 3 of 3 tags in 2 repositories" in run.output, run
    after = {r: {t: api.digest(r, t) for t in api.tags(r)} for r in before}
    assert after == before
    assert api.whole("provisioning-extensions/tool", "multi")


def test_3_damaged_archive_refused_nothing_touched(world, archive):
    dep, api, before, backups = world
    damaged_dir = tempfile.mkdtemp(prefix="oci-bk-damaged-", dir=backups)
    with tarfile.open(archive) as tar:
        tar.extractall(damaged_dir)
    blob = sorted(glob.glob(os.path.join(damaged_dir, "data/docker/registry/v2/blobs/sha256/*/*/data")))[0]
    with open(blob, "ab") as handle:
        handle.write(b"tampered")
    damaged = os.path.join(backups, "damaged.tar")
    with tarfile.open(damaged, "w") as tar:
        for name in sorted(os.listdir(damaged_dir)):
            tar.add(os.path.join(damaged_dir, name), arcname=name)
    container_before = subprocess.run(["docker", "inspect", "-f", "{{.State.StartedAt}}", dep.name],
                                      capture_output=True, text=True, check=True).stdout
    run = dep.playbook("restore.yml", restore_from=damaged)
    assert run.rc != 0
    assert "do not match the checksums recorded at backup time" in run.output, run
    container_after = subprocess.run(["docker", "inspect", "-f", "{{.State.StartedAt}}", dep.name],
                                     capture_output=True, text=True, check=True).stdout
    assert container_after == container_before  # never stopped
    assert not os.path.exists(os.path.join(dep.dir, "data.restore"))
    assert {r: {t: api.digest(r, t) for t in api.tags(r)} for r in before} == before


def test_4_keep_prunes_old_archives(world, archive):
    dep, _api, _before, backups = world
    assert os.path.exists(archive)  # at least one before, three after the two backups: one to prune
    for _attempt in range(2):
        run = dep.playbook("backup.yml", backup_dir=backups, backup_keep=2)
        assert run.rc == 0, run
    archives = _archives(backups)
    assert len(archives) == 2, archives
    assert sorted(glob.glob(os.path.join(backups, "oci-registry-*.tar.sha256"))) == [a + ".sha256" for a in archives]


def test_5_logical_export_restored_into_a_second_empty_registry(world):
    dep, api, before, backups = world
    run = dep.playbook("backup.yml", backup_dir=backups, backup_format="oci-layout")
    assert run.rc == 0, run
    layouts = sorted(glob.glob(os.path.join(backups, "oci-registry-*.oci")))
    assert len(layouts) == 1, layouts
    with open(os.path.join(layouts[0], "backup.json")) as handle:
        assert json.load(handle)["content"] == before
    # Other tools read it: skopeo finds <repository>:<tag> in the layout.
    inspected = subprocess.run(["skopeo", "inspect", "--raw", "oci:%s:provisioning-extensions/tool:multi" % layouts[0]],
                               capture_output=True, text=True, check=False)
    assert inspected.returncode == 0, inspected.stderr
    second = Deployment(users=[])
    try:
        run = second.playbook("deploy.yml")
        assert run.rc == 0, run
        other = Api(second.url, second.admin)
        assert other.tags("provisioning-platform/base") == []
        # A damaged layout is refused before anything is imported.
        damaged = layouts[0] + "-damaged.oci"
        shutil.copytree(layouts[0], damaged)
        blob = sorted(glob.glob(os.path.join(damaged, "blobs/sha256/*")))[0]
        with open(blob, "ab") as handle:
            handle.write(b"x")
        run = second.playbook("restore.yml", restore_from=damaged)
        assert run.rc != 0 and "do not match the checksums recorded at backup time" in run.output, run
        assert other.tags("provisioning-platform/base") == []
        run = second.playbook("restore.yml", restore_from=layouts[0])
        assert run.rc == 0, run
        assert "verified: 3 of 3 tags in 2 repositories" in run.output, run
        assert {r: {t: other.digest(r, t) for t in other.tags(r)} for r in before} == before
        assert other.whole("provisioning-extensions/tool", "multi")
    finally:
        second.remove()


def _tree(path):
    """Every file under path with its size and modification time."""
    out = {}
    for root, _dirs, files in os.walk(path):
        for name in files:
            stat = os.lstat(os.path.join(root, name))
            out[os.path.relpath(os.path.join(root, name), path)] = (stat.st_size, stat.st_mtime_ns)
    return out


def test_6_restore_refuses_an_incomplete_deployment_before_stopping_anything(world, archive):
    """The front's container gone, the registry's still there: restore.yml says 'deploy first', naming the
    front, and never stops the registry or touches the data; deploy.yml then brings the front back."""
    dep, api, before, _backups = world
    front = dep.name + "-front"
    subprocess.run(["docker", "rm", "-f", front], check=True, capture_output=True)
    started = subprocess.run(["docker", "inspect", "-f", "{{.State.StartedAt}}", dep.name],
                             capture_output=True, text=True, check=True).stdout
    data, config = os.path.join(dep.dir, "data"), dep.config_dir
    data_before, config_before = _tree(data), _tree(config)
    run = dep.playbook("restore.yml", restore_from=archive)
    assert run.rc != 0, run
    assert "Deploy first" in run.output and "container %s (the access front)" % front in run.output, run
    assert "Restore | Stop the registry" not in run.output, run
    assert subprocess.run(["docker", "inspect", "-f", "{{.State.StartedAt}} {{.State.Running}}", dep.name],
                          capture_output=True, text=True, check=True).stdout == started.strip() + " true\n"
    assert _tree(data) == data_before and _tree(config) == config_before
    assert not glob.glob(os.path.join(dep.dir, "data.*")) and not glob.glob(config + ".pre-restore-*")
    # Deployed again, the registry serves the same content: nothing was lost.
    run = dep.playbook("deploy.yml")
    assert run.rc == 0, run
    assert {r: {t: api.digest(r, t) for t in api.tags(r)} for r in before} == before
