"""Real CNCF Distribution registries in Docker containers, for integration tests.

Uses the image named by OCI_TEST_DISTRIBUTION_IMAGE (built by tests/bed/images.sh).
Every port is published on 127.0.0.1 only.
"""

import json
import os
import socket
import subprocess
import tempfile
import time
import uuid

import docker
import requests
from passlib.hash import bcrypt

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMAGE = os.environ.get("OCI_TEST_DISTRIBUTION_IMAGE", "oci-registry-test/distribution:2.8")
CONFIG_PATH = "/etc/docker/registry/config.yml"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def docker_client():
    client = docker.from_env()
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001
        raise RuntimeError("no Docker engine answers (%s): run `make bed`" % exc)
    try:
        client.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        raise RuntimeError("image %s is missing: run `make bed` (tests/bed/images.sh builds it)" % IMAGE)
    return client


class Registry:
    """A Distribution container with htpasswd auth, delete enabled and a Prometheus debug listener."""

    def __init__(self, users=None, auth=True):
        self.users = users if users is not None else {"admin": "Adm1n-" + uuid.uuid4().hex[:12]}
        self.auth = auth
        self.dir = tempfile.mkdtemp(prefix="oci-it-")
        self.port = free_port()
        self.debug_port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.debug_url = "http://127.0.0.1:%d" % self.debug_port
        self.container = None

    @property
    def admin(self):
        return next(iter(self.users.items()))

    def _write_config(self):
        config = {
            "version": "0.1",
            "log": {"level": "info"},
            "storage": {"filesystem": {"rootdirectory": "/var/lib/registry"}, "delete": {"enabled": True}},
            "http": {"addr": ":5000", "debug": {"addr": ":5001", "prometheus": {"enabled": True, "path": "/metrics"}},
                     "headers": {"X-Content-Type-Options": ["nosniff"]}},
        }
        if self.auth:
            config["auth"] = {"htpasswd": {"realm": "oci-it", "path": "/auth/htpasswd"}}
            with open(os.path.join(self.dir, "htpasswd"), "w") as fh:
                for user, password in self.users.items():
                    fh.write("%s:%s\n" % (user, bcrypt.using(rounds=10).hash(password)))
        with open(os.path.join(self.dir, "config.yml"), "w") as fh:
            json.dump(config, fh)  # JSON is YAML

    def start(self):
        client = docker_client()
        self._write_config()
        volumes = {os.path.join(self.dir, "config.yml"): {"bind": CONFIG_PATH, "mode": "ro"}}
        if self.auth:
            volumes[os.path.join(self.dir, "htpasswd")] = {"bind": "/auth/htpasswd", "mode": "ro"}
        self.container = client.containers.run(
            IMAGE, detach=True, name="oci-it-%s" % uuid.uuid4().hex[:10], volumes=volumes,
            ports={"5000/tcp": ("127.0.0.1", self.port), "5001/tcp": ("127.0.0.1", self.debug_port)},
            labels={"oci-registry-test": "integration"},
        )
        self.wait()
        return self

    def wait(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/v2/", timeout=2).status_code in (200, 401):
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        logs = self.container.logs(tail=30).decode(errors="replace")
        raise RuntimeError("registry at %s did not answer within %ss:\n%s" % (self.url, timeout, logs))

    def stop(self):
        self.container.stop(timeout=2)

    def remove(self):
        if self.container is not None:
            self.container.remove(force=True, v=True)
        subprocess.run(["rm", "-rf", self.dir], check=True)

    def tags(self, repository):
        user, password = self.admin
        response = requests.get("%s/v2/%s/tags/list" % (self.url, repository), auth=(user, password), timeout=10)
        if response.status_code == 404:
            return []
        response.raise_for_status()
        return response.json().get("tags") or []


def run_module(module, args, check=False, timeout=300):
    """Run one of the collection's modules on localhost with ansible; returns (rc, result, output)."""
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    cmd = [os.path.join(os.path.dirname(_python()), "ansible"), "localhost", "-i", "localhost,", "-c", "local", "-m", "provisioning.oci_registry." + module,
           "-a", json.dumps(args), "-e", "ansible_python_interpreter=%s" % _python()]
    if check:
        cmd.append("--check")
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    output = proc.stdout + proc.stderr
    try:
        data = json.loads(proc.stdout)
        result = data["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        raise AssertionError("could not read the module result (rc %s):\n%s" % (proc.returncode, output))
    return proc.returncode, result, output


def _python():
    import sys
    return sys.executable
