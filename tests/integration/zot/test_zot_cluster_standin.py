"""The zot role for a two-member scale-out cluster on s3 storage with a Redis remote cache (issue 17), run by
ansible-playbook on the test bed's Docker engine with the zot stand-in image in place of zot.

The stand-in is not zot (tests/bed/images/zot-standin): it checks config.json with the collection's checker
(zot v2.1.20's rules, the cluster, cache and s3 driver ones included) at start, listens on
http.address:http.port and answers the health routes. It does not reach the object store or Redis, so what
this shows is what a role run does on the hosts: two inventory hosts of the group oci_registry (both on this
machine, each with its own container, directories and oci_registry_port, passed as zot_port the way deploy.yml
does) get the same cluster section with the members taken from the inventory and one hash key generated on the
first host and kept there 0600; zot runs on the host's network, listening on the member's own address and
port; the S3 keys are in the container's environment and not in config.json, which is 0600 because it holds
the Redis password; no secret appears in the playbook's output; a second run changes nothing.
"""

import json
import os
import re
import shutil
import socket
import stat
import subprocess
import uuid

import docker
import pytest
import requests
import yaml

from ..registry import ROOT
from .conftest import IMAGE

pytestmark = pytest.mark.integration

ADMIN_PASSWORD = "Admin-" + uuid.uuid4().hex[:12]
SECRET_KEY = "Sk/" + uuid.uuid4().hex
ACCESS_KEY = "AK" + uuid.uuid4().hex[:14].upper()
REDIS_PASSWORD = "Redis-" + uuid.uuid4().hex[:12]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def cluster(tmp_path):
    suffix = uuid.uuid4().hex[:8]
    members = {}
    for index in (1, 2):
        members["m%d" % index] = {
            "ansible_host": "127.0.0.1", "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            "oci_registry_port": free_port(), "zot_container_name": "zcl-%s-%d" % (suffix, index),
            "zot_config_dir": str(tmp_path / ("m%d" % index) / "etc"),
            "zot_data_dir": str(tmp_path / ("m%d" % index) / "data"),
        }
    inventory = {"all": {"children": {"oci_registry": {"hosts": members}}}}
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (tmp_path / "play.yml").write_text(
        "- hosts: oci_registry\n  gather_facts: false\n  roles:\n    - role: provisioning.oci_registry.zot\n"
        "      vars:\n        zot_port: \"{{ oci_registry_port }}\"\n")  # as playbooks/deploy.yml passes it
    secrets = {
        "zot_image": IMAGE, "zot_image_pull": False, "zot_bind_address": "127.0.0.1",
        "zot_admin_password": ADMIN_PASSWORD, "zot_health_retries": 20, "zot_health_delay": 1,
        "zot_storage": {"type": "s3", "s3": {
            "endpoint": "http://rgw.invalid:7480", "region": "us-east-1", "bucket": "zot-cluster",
            "access_key": ACCESS_KEY, "secret_key": SECRET_KEY, "path_style": True, "tls_verify": True,
            "ca_path": "", "chunk_size_mb": 10, "root_directory": "", "redirect": False}},
        "zot_redis": {"address": "redis.invalid:6379", "password": REDIS_PASSWORD, "db": 0, "tls": False},
    }
    variables = tmp_path / "vars.json"
    variables.write_text(json.dumps(secrets))
    os.chmod(variables, 0o600)
    client = docker.from_env()
    yield {"tmp": tmp_path, "members": members, "client": client, "vars": variables}
    for member in members.values():
        for name in (member["zot_container_name"], member["zot_container_name"] + "-verify"):
            try:
                client.containers.get(name).remove(force=True)
            except docker.errors.NotFound:
                pass


def _run(cluster):
    proc = subprocess.run([shutil.which("ansible-playbook"), "-i", str(cluster["tmp"] / "inventory.yml"),
                           str(cluster["tmp"] / "play.yml"), "-e", "@%s" % cluster["vars"]],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-5000:]
    return output


def test_two_member_cluster_on_s3_with_redis(cluster):
    output = _run(cluster)
    members = cluster["members"]
    expected_members = ["127.0.0.1:%d" % members[name]["oci_registry_port"] for name in ("m1", "m2")]
    configs = {}
    for name, member in members.items():
        path = os.path.join(member["zot_config_dir"], "config.json")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, name
        text = open(path, encoding="utf-8").read()
        assert SECRET_KEY not in text and ACCESS_KEY not in text
        configs[name] = json.loads(text)
        config = configs[name]
        assert config["cluster"]["members"] == expected_members
        assert config["http"]["address"] == "127.0.0.1" and config["http"]["port"] == str(member["oci_registry_port"])
        assert config["storage"]["storageDriver"]["bucket"] == "zot-cluster"
        assert config["storage"]["remoteCache"] is True
        assert config["storage"]["cacheDriver"]["url"].startswith("redis://:")
        container = cluster["client"].containers.get(member["zot_container_name"])
        assert container.attrs["HostConfig"]["NetworkMode"] == "host"
        env = dict(item.split("=", 1) for item in container.attrs["Config"]["Env"])
        assert env["AWS_ACCESS_KEY_ID"] == ACCESS_KEY and env["AWS_SECRET_ACCESS_KEY"] == SECRET_KEY
        # the member answers on its own address and port (host network)
        assert requests.get("http://127.0.0.1:%d/livez" % member["oci_registry_port"], timeout=5).status_code == 200
    hash_key = configs["m1"]["cluster"]["hashKey"]
    assert len(hash_key) == 16 and configs["m2"]["cluster"]["hashKey"] == hash_key
    key_file = os.path.join(members["m1"]["zot_config_dir"], "cluster.hashkey")
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert open(key_file, encoding="utf-8").read().strip() == hash_key
    assert not os.path.exists(os.path.join(members["m2"]["zot_config_dir"], "cluster.hashkey"))
    for secret in (SECRET_KEY, REDIS_PASSWORD, ADMIN_PASSWORD, hash_key):
        assert secret not in output

    # A second run keeps the key and changes nothing.
    output = _run(cluster)
    for name in ("m1", "m2"):
        assert int(re.search(r"%s\s*:\s*ok=\d+\s+changed=(\d+)" % name, output).group(1)) == 0, output[-4000:]
    config = json.loads(open(os.path.join(members["m2"]["zot_config_dir"], "config.json"), encoding="utf-8").read())
    assert config["cluster"]["hashKey"] == hash_key
    for secret in (SECRET_KEY, REDIS_PASSWORD, ADMIN_PASSWORD, hash_key):
        assert secret not in output
