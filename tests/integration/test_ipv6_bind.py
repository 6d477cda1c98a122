"""deploy.yml on IPv6 loopback (issue 12): Distribution behind its access front with the debug listener,
published as [::1]:<port> (community.docker refuses ::1:<port>:<port>), answering real requests there."""

import socket
import uuid

import docker
import pytest
import requests

from .access.deployment import Deployment

pytestmark = pytest.mark.integration


def _free_ipv6_port():
    with socket.socket(socket.AF_INET6) as sock:
        sock.bind(("::1", 0))
        return sock.getsockname()[1]


def _ipv6_loopback():
    try:
        _free_ipv6_port()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="this machine has no IPv6 loopback (::1) to publish on")
def test_deploy_distribution_on_ipv6_loopback():
    dep = Deployment(users=[{"name": "dev", "password": "Dev-" + uuid.uuid4().hex[:10]}])
    port, debug_port = _free_ipv6_port(), _free_ipv6_port()
    try:
        run = dep.playbook("deploy.yml", oci_registry_port=port, oci_registry_bind_address="::1",
                           oci_registry_metrics=True, oci_registry_metrics_bind_address="::1",
                           oci_registry_metrics_port=debug_port, oci_registry_metrics_file_sd_dir="")
        assert run.rc == 0 and run.failed == 0, run
        client = docker.from_env()
        front = client.containers.get(dep.name + "-front").attrs["HostConfig"]["PortBindings"]
        registry = client.containers.get(dep.name).attrs["HostConfig"]["PortBindings"]
        assert [{"HostIp": "::1", "HostPort": str(port)}] in front.values()
        assert [{"HostIp": "::1", "HostPort": str(debug_port)}] in registry.values()
        assert requests.get("http://[::1]:%d/v2/" % port, timeout=5).status_code == 401
        assert requests.get("http://[::1]:%d/v2/" % port, auth=dep.admin, timeout=5).status_code == 200
        assert requests.get("http://[::1]:%d/metrics" % debug_port, timeout=5).status_code == 200
        again = dep.playbook("deploy.yml", oci_registry_port=port, oci_registry_bind_address="::1",
                             oci_registry_metrics=True, oci_registry_metrics_bind_address="::1",
                             oci_registry_metrics_port=debug_port, oci_registry_metrics_file_sd_dir="")
        assert again.rc == 0 and again.changed == 0, again
    finally:
        dep.remove()
