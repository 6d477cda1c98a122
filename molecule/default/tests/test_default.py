"""Verify the `default` scenario: Distribution deployed by playbooks/deploy.yml, on the target host."""

import json

import pytest

CONTAINER = "oci-registry"
URL = "https://127.0.0.1:5000/v2/"
# Installed by deploy.yml's trust play on the registry host too (TLS is on by default).
CA = "/etc/docker/certs.d/127.0.0.1:5000/ca.crt"
CONFIG_DIR = "/etc/oci-registry"
DATA_DIR = "/var/lib/oci-registry"


@pytest.fixture(scope="module")
def inventory_vars(host):
    return host.ansible.get_variables()


def _status(host, *curl_args):
    """HTTP status of a curl run inside the target host (arguments quoted by testinfra)."""
    cmd = host.run("curl -sS -o /dev/null --cacert %s -w %s" + " %s" * len(curl_args), CA, "%{http_code}", *curl_args)
    assert cmd.rc == 0, cmd.stderr
    return cmd.stdout.strip()


def test_container_running(host):
    state = json.loads(host.check_output("docker inspect --format '{{json .State}}' %s", CONTAINER))
    assert state["Running"] is True
    assert state["Restarting"] is False


def test_container_settings(host, inventory_vars):
    info = json.loads(host.check_output("docker inspect %s", CONTAINER))[0]
    assert info["Config"]["Image"] == inventory_vars["oci_registry_image"]
    assert info["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    # Behind the access front the registry port is not published; only the metrics (debug) listener
    # is (deploy.yml turns metrics on by default), from a bridge network of the registry's own.
    assert info["HostConfig"]["PortBindings"] == {"5001/tcp": [{"HostIp": "127.0.0.1", "HostPort": "5001"}]}
    assert sorted(info["NetworkSettings"]["Networks"]) == [CONTAINER + "-debug", CONTAINER + "-internal"]
    assert info["Config"]["Labels"]["io.provisioning.oci_registry.type"] == "distribution"
    mounts = {m["Destination"]: m for m in info["Mounts"]}
    # The local 2.8 image names /etc/docker/registry/config.yml in its Cmd: the role follows it.
    assert mounts["/etc/docker/registry/config.yml"]["Source"] == CONFIG_DIR + "/config.yml"
    assert mounts["/etc/docker/registry/config.yml"]["RW"] is False
    assert mounts["/var/lib/registry"]["Source"] == DATA_DIR


def test_front_publishes_the_port(host, inventory_vars):
    info = json.loads(host.check_output("docker inspect %s", CONTAINER + "-front"))[0]
    assert info["State"]["Running"] is True
    assert info["Config"]["Image"] == inventory_vars["distribution_front_image"]
    assert info["HostConfig"]["PortBindings"] == {"5000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "5000"}]}


def test_port_listening(host):
    assert host.socket("tcp://127.0.0.1:5000").is_listening


def test_v2_requires_credentials(host):
    assert _status(host, URL) == "401"


def test_v2_accepts_admin(host, inventory_vars):
    password = inventory_vars["oci_registry_admin_password"]
    assert _status(host, "-u", "admin:" + password, URL) == "200"


def test_v2_rejects_wrong_password(host):
    assert _status(host, "-u", "admin:not-the-password", URL) == "401"


def test_files(host):
    htpasswd = host.file(CONFIG_DIR + "/htpasswd")
    assert htpasswd.mode == 0o640
    assert htpasswd.content_string.startswith("admin:$2")  # bcrypt
    config = host.file(CONFIG_DIR + "/config.yml")
    assert config.mode == 0o640
    assert "rootdirectory: /var/lib/registry" in config.content_string
    assert host.file(CONFIG_DIR).mode == 0o750
    assert host.file(DATA_DIR).is_directory
    # The password was given, so none was generated.
    assert not host.file(CONFIG_DIR + "/admin.password").exists


def test_tls_needs_the_generated_ca(host):
    # Without the CA the certificate is refused (curl: 60, peer certificate cannot be authenticated).
    assert host.run("curl -sS -o /dev/null %s", URL).rc == 60
    for path in (CA, "/etc/containers/certs.d/127.0.0.1:5000/ca.crt"):
        assert host.file(path).content_string == host.file(CONFIG_DIR + "/pki/ca.crt").content_string
    for key in ("/pki/ca.key", "/pki/server.key", "/front/tls/server.key", "/front/token.key"):
        assert host.file(CONFIG_DIR + key).mode == 0o600


def test_metrics_on_the_debug_listener(host):
    metrics = host.check_output("curl -sS --max-time 10 http://127.0.0.1:5001/metrics")
    assert "registry_" in metrics
    targets = json.loads(host.file(CONFIG_DIR + "/prometheus/" + host.backend.get_hostname() + ".json").content_string)
    assert targets[0]["targets"] == ["127.0.0.1:5001"]
