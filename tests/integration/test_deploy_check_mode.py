"""deploy.yml --check on a host where nothing is deployed yet: it succeeds and creates nothing."""

import os
import shutil
import subprocess
import uuid

import docker
import pytest

from .registry import ROOT, free_port

pytestmark = pytest.mark.integration


def test_check_mode_before_the_first_deployment_changes_nothing(tmp_path):
    name = "chk-%s" % uuid.uuid4().hex[:8]
    config_dir, data_dir = tmp_path / "etc", tmp_path / "data"
    proc = subprocess.run(
        [shutil.which("ansible-playbook"), "playbooks/deploy.yml", "--check",
         "-e", "registry_type=distribution",
         "-e", "oci_registry_image=%s" % os.environ.get("OCI_TEST_DISTRIBUTION_IMAGE", "oci-registry-test/distribution:2.8"),
         "-e", "distribution_front_image=%s" % os.environ.get("OCI_TEST_NGINX_IMAGE", "oci-registry-test/nginx:bookworm"),
         "-e", "distribution_front_auth_image=%s" % os.environ.get(
             "OCI_TEST_FRONT_AUTH_IMAGE", "oci-registry-test/front-auth:bookworm"),
         "-e", "oci_registry_port=%d" % free_port(), "-e", "oci_registry_metrics_port=%d" % free_port(),
         "-e", "oci_registry_container_name=%s" % name,
         "-e", "oci_registry_config_dir=%s" % config_dir, "-e", "oci_registry_data_dir=%s" % data_dir],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert "failed=0" in output
    assert not config_dir.exists() and not data_dir.exists()
    client = docker.from_env()
    assert client.containers.list(all=True, filters={"name": name}) == []
    assert client.networks.list(names=["%s-internal" % name, "%s-front" % name]) == []
