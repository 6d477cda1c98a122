"""restore.yml checks every container of the deployment before it stops anything, on every registry type
(zot and Harbor here: nothing of theirs runs on this machine, so each refusal names what is missing)."""

import os
import subprocess
import tarfile
import uuid

import pytest

from ..access.deployment import Deployment

pytestmark = pytest.mark.integration


@pytest.fixture
def undeployed():
    dep = Deployment(users=[])
    archive = os.path.join(dep.dir, "oci-registry-x.tar")
    with tarfile.open(archive, "w"):
        pass
    try:
        yield dep, archive
    finally:
        dep.remove()


def test_distribution_without_its_containers_names_each_one(undeployed):
    dep, archive = undeployed
    run = dep.playbook("restore.yml", registry_type="distribution", restore_from=archive)
    assert run.rc != 0, run
    assert "Deploy first" in run.output, run
    for name, role in ((dep.name, "the registry"), (dep.name + "-front", "the access front"),
                       (dep.name + "-auth", "the access front's authentication service")):
        assert "container %s (%s)" % (name, role) in run.output, run
    assert not os.path.exists(os.path.join(dep.dir, "data.restore")), run


def test_zot_without_its_container_says_deploy_first(undeployed):
    dep, archive = undeployed
    run = dep.playbook("restore.yml", registry_type="zot", restore_from=archive)
    assert run.rc != 0, run
    assert "Deploy first" in run.output and "container %s (the registry)" % dep.name in run.output, run
    assert not os.path.exists(os.path.join(dep.dir, "data.restore")), run


def test_harbor_without_its_containers_says_deploy_first(undeployed):
    dep, archive = undeployed
    db = "oci-hb-db-" + uuid.uuid4().hex[:8]
    project = "oci-hb-" + uuid.uuid4().hex[:8]
    run = dep.playbook("restore.yml", registry_type="harbor", restore_from=archive, harbor_db_container=db,
                       harbor_compose_project=project)
    assert run.rc != 0, run
    assert "Deploy first" in run.output, run
    assert "container %s (Harbor's database)" % db in run.output, run
    assert "Harbor's Compose service core (project %s)" % project in run.output, run


def test_harbor_with_its_database_but_without_core_says_deploy_first(undeployed):
    dep, archive = undeployed
    db = "oci-hb-db-" + uuid.uuid4().hex[:8]
    project = "oci-hb-" + uuid.uuid4().hex[:8]
    image = os.environ.get("OCI_TEST_BASE_IMAGE", "oci-registry-test/debian:bookworm")
    subprocess.run(["docker", "run", "-d", "--name", db, "--label", "com.docker.compose.project=" + project,
                    "--label", "com.docker.compose.service=postgresql", image, "sleep", "infinity"],
                   check=True, capture_output=True)
    try:
        started = subprocess.run(["docker", "inspect", "-f", "{{.State.StartedAt}}", db],
                                 capture_output=True, text=True, check=True).stdout
        run = dep.playbook("restore.yml", registry_type="harbor", restore_from=archive, harbor_db_container=db,
                           harbor_compose_project=project)
        assert run.rc != 0, run
        assert "Harbor's Compose service core (project %s)" % project in run.output, run
        assert "(Harbor's database)" not in run.output, run
        assert subprocess.run(["docker", "inspect", "-f", "{{.State.StartedAt}}", db],
                              capture_output=True, text=True, check=True).stdout == started
    finally:
        subprocess.run(["docker", "rm", "-f", db], capture_output=True, check=False)
