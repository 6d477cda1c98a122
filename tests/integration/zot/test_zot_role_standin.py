"""The zot role end to end on the test bed's Docker engine, with the zot stand-in image in place of zot.

The stand-in (tests/bed/images/zot-standin/zot-standin.py) is not zot: it reproduces only what the role
sees of zot v2.1.20's process (config checked at start and on an in-place write, the listener with TLS,
the health routes, metrics only for accessControl.metrics.users, inotify watches on config.json and on
the certificate files), each from the upstream file its header names. What these tests show is what a
role run does with that: the published port, the mounts, the reload/restart decisions, the health gate.

One deployment, in order: first deploy on IPv6 loopback with TLS and a metrics list without the admin;
the same run again (changed=0); a renewed certificate replaced by a rename and served without a
restart; a change zot reloads (container not restarted, new metrics user let in); a change zot reads
only at start (container restarted, new metrics path served). Another test shows that the stand-in
reproduces the inode problem of a certificate mounted file by file (what the role did before).
"""

import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
import uuid

import docker
import pytest
import requests

from ..registry import ROOT
from .conftest import IMAGE

pytestmark = pytest.mark.integration

ADMIN_PASSWORD = "Admin-" + uuid.uuid4().hex[:12]
PROM_PASSWORD = "Prom-" + uuid.uuid4().hex[:12]
CAROL_PASSWORD = "Carol-" + uuid.uuid4().hex[:12]
ROBOT_SECRET = "Robot-" + uuid.uuid4().hex            # 38 characters: a machine user's random secret


def _ipv6_loopback_bind():
    """Whether ::1 can be bound here (the engine's published ports need it)."""
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


def free_port(family=socket.AF_INET6 if _ipv6_loopback_bind() else socket.AF_INET):
    with socket.socket(family) as sock:
        sock.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
        return sock.getsockname()[1]


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(directory):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=zot stand-in test CA", cwd=directory)


def issue(directory, name):
    """A server certificate for localhost, 127.0.0.1 and ::1, signed by the CA: <name>.pem, <name>.key."""
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
            "-subj", "/CN=localhost", cwd=directory)
    with open(os.path.join(directory, name + ".ext"), "w", encoding="utf-8") as handle:
        handle.write("subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n")
    openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext", cwd=directory)
    with open(os.path.join(directory, name + ".pem"), encoding="utf-8") as handle:
        return handle.read()


def replace_by_rename(source, target):
    """How community.crypto (and certbot) put a renewed file in place: a new file renamed over the old."""
    temporary = target + ".tmp-" + uuid.uuid4().hex[:6]
    shutil.copyfile(source, temporary)
    os.chmod(temporary, 0o644)
    os.rename(temporary, target)


def served_certificate(host, port):
    pem = ssl.get_server_certificate((host, port), timeout=5)
    return ssl.DER_cert_to_PEM_cert(ssl.PEM_cert_to_DER_cert(pem))


def same_cert(a, b):
    return ssl.PEM_cert_to_DER_cert(a) == ssl.PEM_cert_to_DER_cert(b)


def wait_for(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return predicate()


class Deployment:
    def __init__(self, tmp_path):
        self.name = "zsi-%s" % uuid.uuid4().hex[:8]
        self.ipv6 = _ipv6_loopback_bind()
        self.address = "::1" if self.ipv6 else "127.0.0.1"
        self.host = "[::1]" if self.ipv6 else "127.0.0.1"
        self.port = free_port()
        self.tmp = tmp_path
        self.tls_dir = str(tmp_path / "tls")
        os.makedirs(self.tls_dir)
        make_ca(self.tls_dir)
        self.first_cert = issue(self.tls_dir, "first")
        shutil.copyfile(os.path.join(self.tls_dir, "first.pem"), os.path.join(self.tls_dir, "cert.pem"))
        shutil.copyfile(os.path.join(self.tls_dir, "first.key"), os.path.join(self.tls_dir, "key.pem"))
        self.ca = os.path.join(self.tls_dir, "ca.pem")
        self.playbook = tmp_path / "play.yml"
        self.playbook.write_text(
            "- hosts: localhost\n  gather_facts: false\n"
            "  vars:\n    ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n"
            "  roles:\n    - provisioning.oci_registry.zot\n")
        self.client = docker.from_env()

    def variables(self, **extra):
        variables = {
            "zot_image": IMAGE, "zot_image_pull": False, "zot_container_name": self.name,
            "zot_bind_address": self.address, "zot_port": self.port,
            "zot_config_dir": str(self.tmp / "etc"), "zot_data_dir": str(self.tmp / "data"),
            "zot_admin_password": ADMIN_PASSWORD,
            "zot_users": [{"name": "prom", "password": PROM_PASSWORD}],
            "zot_namespaces": [{"name": "team", "policies": [{"subjects": ["authenticated"], "actions": ["read"]}]}],
            "zot_metrics_users": ["prom"],
            "zot_tls_cert": os.path.join(self.tls_dir, "cert.pem"), "zot_tls_key": os.path.join(self.tls_dir, "key.pem"),
            "zot_health_ca_path": self.ca, "zot_health_retries": 20, "zot_health_delay": 1,
        }
        variables.update(extra)
        return variables

    # Passwords that must appear in no playbook output.
    secrets = (ADMIN_PASSWORD, PROM_PASSWORD, CAROL_PASSWORD, ROBOT_SECRET)

    def play(self, **extra):
        """(return code, output) of the playbook with these variables (in a 0600 file, never on the command line)."""
        path = self.tmp / ("vars-%s.json" % uuid.uuid4().hex[:6])
        path.write_text(json.dumps(self.variables(**extra)))
        os.chmod(path, 0o600)
        proc = subprocess.run([shutil.which("ansible-playbook"), str(self.playbook), "-e", "@%s" % path],
                              cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
        output = proc.stdout + proc.stderr
        for secret in self.secrets:
            assert secret not in output
        return proc.returncode, output

    def run(self, **extra):
        """(changed count, output) of a playbook run that must succeed."""
        returncode, output = self.play(**extra)
        assert returncode == 0, output[-4000:]
        changed = int(re.search(r"localhost\s*:\s*ok=\d+\s+changed=(\d+)", output).group(1))
        return changed, output

    def started_at(self):
        return self.client.containers.get(self.name).attrs["State"]["StartedAt"]

    def url(self, path):
        return "https://%s:%d%s" % (self.host, self.port, path)

    def get(self, path, user=None, password=None):
        auth = (user, password) if user else None
        return requests.get(self.url(path), auth=auth, verify=self.ca, timeout=5).status_code

    def remove(self):
        for name in (self.name, self.name + "-verify"):
            try:
                self.client.containers.get(name).remove(force=True)
            except docker.errors.NotFound:
                pass


@pytest.fixture
def deployment(tmp_path):
    dep = Deployment(tmp_path)
    yield dep
    dep.remove()


def test_zot_role_end_to_end_on_the_stand_in(deployment):
    dep = deployment

    # First deployment: IPv6 loopback, TLS, zot_metrics_users without the admin.
    changed, output = dep.run()
    assert changed > 0
    container = dep.client.containers.get(dep.name)
    bindings = container.attrs["HostConfig"]["PortBindings"]["5000/tcp"]
    assert bindings == [{"HostIp": dep.address, "HostPort": str(dep.port)}]
    mounts = {m["Destination"]: m["Source"] for m in container.attrs["Mounts"]}
    assert mounts["/etc/zot-tls/0"] == dep.tls_dir                     # the directory, not the files
    assert dep.get("/livez") == 200
    assert dep.get("/v2/") == 401
    assert dep.get("/v2/", "admin", ADMIN_PASSWORD) == 200
    assert dep.get("/metrics", "admin", ADMIN_PASSWORD) == 200          # the admin was added for the health check
    assert dep.get("/metrics", "prom", PROM_PASSWORD) == 200
    config = json.loads((dep.tmp / "etc" / "config.json").read_text())
    assert config["http"]["accessControl"]["metrics"]["users"] == ["admin", "prom"]
    assert same_cert(served_certificate(dep.address, dep.port), dep.first_cert)
    started = dep.started_at()

    # The same run again changes nothing.
    changed, output = dep.run()
    assert changed == 0, output[-3000:]
    assert dep.started_at() == started

    # Certificate renewal: new files renamed over the old ones, served without a restart.
    second = issue(dep.tls_dir, "second")
    replace_by_rename(os.path.join(dep.tls_dir, "second.key"), os.path.join(dep.tls_dir, "key.pem"))
    replace_by_rename(os.path.join(dep.tls_dir, "second.pem"), os.path.join(dep.tls_dir, "cert.pem"))
    assert wait_for(lambda: same_cert(served_certificate(dep.address, dep.port), second), 10), \
        "the renewed certificate is not served"
    assert dep.started_at() == started

    # A change zot reloads (accessControl.metrics.users, a new htpasswd user): written in place, no restart.
    assert dep.get("/metrics", "carol", CAROL_PASSWORD) == 401
    changed, output = dep.run(zot_users=[{"name": "prom", "password": PROM_PASSWORD},
                                         {"name": "carol", "password": CAROL_PASSWORD}],
                              zot_metrics_users=["prom", "carol"])
    assert changed > 0
    assert "written in place, zot reloads it without a restart" in output
    assert dep.started_at() == started
    assert wait_for(lambda: dep.get("/metrics", "carol", CAROL_PASSWORD) == 200, 10)

    # A change zot reads only at start (dedupe, metrics path): the container restarts, the new path is served.
    changed, output = dep.run(zot_users=[{"name": "prom", "password": PROM_PASSWORD},
                                         {"name": "carol", "password": CAROL_PASSWORD}],
                              zot_metrics_users=["prom", "carol"], zot_dedupe=False, zot_metrics_path="/zot-metrics")
    assert changed > 0
    assert "the container restarts" in output and "storage.dedupe" in output
    assert dep.started_at() != started
    assert dep.get("/zot-metrics", "admin", ADMIN_PASSWORD) == 200
    assert dep.get("/metrics", "admin", ADMIN_PASSWORD) == 404


def _entry(dep, name):
    for line in (dep.tmp / "etc" / "htpasswd").read_text().splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1]
    return None


def test_machine_user_with_a_sha512_crypt_entry_logs_in(deployment):
    """issue 13: a CI robot stored as SHA-512 crypt ($6$, 5000 rounds, as zot v2.1.20's pkg/api/htpasswd.go
    verifies it) logs in; a wrong secret is refused; a second run changes nothing; a switch to bcrypt rehashes.
    A short secret is refused by the preflight before anything changes."""
    dep = deployment
    robot = {"name": "robot", "password": ROBOT_SECRET, "password_hash": "sha512_crypt"}
    users = [{"name": "prom", "password": PROM_PASSWORD}, robot]
    changed, _output = dep.run(zot_users=users)
    assert changed > 0
    entry = _entry(dep, "robot")
    assert entry.startswith("$6$") and "rounds=" not in entry
    assert _entry(dep, "prom").startswith("$2")                           # people stay bcrypt
    assert dep.get("/v2/", "robot", ROBOT_SECRET) == 200
    assert dep.get("/v2/", "robot", ROBOT_SECRET[:-1] + "x") == 401
    assert dep.get("/v2/", "prom", PROM_PASSWORD) == 200

    changed, output = dep.run(zot_users=users)
    assert changed == 0, output[-3000:]
    assert _entry(dep, "robot") == entry

    returncode, output = dep.play(zot_users=[{"name": "prom", "password": PROM_PASSWORD},
                                             dict(robot, password="Short-secret-1")])
    assert returncode != 0 and "zot_users[1].password_hash" in output and "at least 32 characters" in output
    assert "Short-secret-1" not in output and _entry(dep, "robot") == entry

    changed, _output = dep.run(zot_users=[{"name": "prom", "password": PROM_PASSWORD},
                                          dict(robot, password_hash="bcrypt")])
    assert changed > 0 and _entry(dep, "robot").startswith("$2")
    assert wait_for(lambda: dep.get("/v2/", "robot", ROBOT_SECRET) == 200, 10)


def test_stand_in_reproduces_the_inode_problem_of_single_file_mounts(tmp_path):
    """What the role did before: cert.pem and key.pem bind-mounted one by one. A renewal renamed over
    them on the host stays invisible in the container; the stand-in keeps serving the old certificate
    (zot does the same: its watcher reloads from the path, which still holds the old inode)."""
    tls = str(tmp_path)
    make_ca(tls)
    first = issue(tls, "first")
    shutil.copyfile(os.path.join(tls, "first.pem"), os.path.join(tls, "cert.pem"))
    shutil.copyfile(os.path.join(tls, "first.key"), os.path.join(tls, "key.pem"))
    config = {"distSpecVersion": "1.1.1", "storage": {"rootDirectory": "/var/lib/registry"},
              "http": {"address": "0.0.0.0", "port": "5000",
                       "tls": {"cert": "/etc/zot-tls/cert.pem", "key": "/etc/zot-tls/key.pem"}}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    port = free_port(socket.AF_INET)
    client = docker.from_env()
    name = "zsi-inode-%s" % uuid.uuid4().hex[:8]
    container = client.containers.run(
        IMAGE, ["serve", "/etc/zot/config.json"], name=name, detach=True,
        ports={"5000/tcp": ("127.0.0.1", port)},
        volumes={str(tmp_path / "config.json"): {"bind": "/etc/zot/config.json", "mode": "ro"},
                 os.path.join(tls, "cert.pem"): {"bind": "/etc/zot-tls/cert.pem", "mode": "ro"},
                 os.path.join(tls, "key.pem"): {"bind": "/etc/zot-tls/key.pem", "mode": "ro"}})
    try:
        def serving():
            try:
                return served_certificate("127.0.0.1", port)
            except OSError:
                return None
        assert wait_for(lambda: serving() is not None, 15), container.logs().decode()[-2000:]
        assert same_cert(serving(), first)
        second = issue(tls, "second")
        replace_by_rename(os.path.join(tls, "second.key"), os.path.join(tls, "key.pem"))
        replace_by_rename(os.path.join(tls, "second.pem"), os.path.join(tls, "cert.pem"))
        time.sleep(3)
        assert same_cert(serving(), first) and not same_cert(serving(), second)
        logs = container.logs().decode()
        assert "certificate file change detected" in logs                 # the watcher fired, on the old inode
    finally:
        container.remove(force=True)


def test_stand_in_refuses_an_invalid_config_as_zot_does(tmp_path):
    """zot serve exits when its config does not load; the stand-in runs the project's checker."""
    (tmp_path / "config.json").write_text(json.dumps({"distSpecVersion": "1.1.1", "http": {"port": 5000}}))
    client = docker.from_env()
    name = "zsi-bad-%s" % uuid.uuid4().hex[:8]
    container = client.containers.run(
        IMAGE, ["serve", "/etc/zot/config.json"], name=name, detach=True, network_mode="none",
        volumes={str(tmp_path / "config.json"): {"bind": "/etc/zot/config.json", "mode": "ro"}})
    try:
        assert container.wait(timeout=30)["StatusCode"] == 1
        assert "http.port: must be a string holding a port number" in container.logs().decode()
    finally:
        container.remove(force=True)
