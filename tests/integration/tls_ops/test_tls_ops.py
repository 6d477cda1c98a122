"""TLS, metrics, webhooks and day-to-day management on a live Distribution deployed by
playbooks/deploy.yml with its defaults (TLS on with a generated CA, metrics on), checked with real
clients: skopeo (trusting only the generated CA), curl/requests, and an HTTP receiver of this test.

The registry runs behind its access front; the webhook receiver listens on the Docker bridge's
gateway, an address of this machine the registry container can reach (traffic stays on it).
"""

import glob
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import docker
import pytest
import requests
import yaml

from ..access.deployment import Deployment, make_layout
from ..registry import free_port, run_module

SECRET = "Bearer hook-" + uuid.uuid4().hex
USERS = [
    {"name": "alice", "password": "Alice-" + uuid.uuid4().hex[:10], "groups": ["dev"]},
    {"name": "boss", "password": "Boss-" + uuid.uuid4().hex[:10], "admin": True},
]
NAMESPACES = [
    {"name": "team-a", "description": "Team A", "retention": {"keep_tags": 4, "max_age_days": 30},
     "policies": [{"subjects": ["group:dev"], "actions": ["read", "write"]},
                  {"subjects": ["authenticated"], "actions": ["read"]}]},
    {"name": "shared", "public": True, "policies": [{"subjects": ["alice"], "actions": ["read", "write", "delete"]}]},
]
PASSWORDS = dict((u["name"], u["password"]) for u in USERS)


class Receiver:
    """Records the requests Distribution POSTs to it (its notifications)."""

    def __init__(self, address):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((address, 0), Handler)
        self.url = "http://%s:%d/events" % (address, self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self):
        out = []
        for request in self.received:
            for event in json.loads(request["body"]).get("events", []):
                out.append((event, request["headers"]))
        return out

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def bridge_gateway():
    """This machine's address on Docker's default bridge (docker0)."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "dev", "docker0"], capture_output=True, text=True,
                         check=True).stdout
    match = re.search(r"inet (\d+\.\d+\.\d+\.\d+)/", out)
    assert match, out
    return match.group(1)


class OpsDeployment(Deployment):
    def __init__(self, users, namespaces, **variables):
        super().__init__(users, namespaces)
        for key in ("oci_registry_tls", "oci_registry_metrics"):
            self.vars.pop(key)  # deploy.yml's defaults: TLS and metrics on
        self.vars.update(variables)


def skopeo(*args):
    env = dict(os.environ, REGISTRY_AUTH_FILE=os.path.join(tempfile.gettempdir(), "oci-tls-empty-auth.json"))
    with open(env["REGISTRY_AUTH_FILE"], "w") as handle:
        handle.write("{}")
    return subprocess.run(["skopeo", "--command-timeout", "60s"] + list(args), capture_output=True, text=True,
                          env=env, timeout=120, check=False)


@pytest.fixture(scope="module")
def ops():
    receiver = Receiver(bridge_gateway())
    dep = OpsDeployment([dict(u) for u in USERS], NAMESPACES)
    dep.metrics_port = free_port()
    dep.vars.update({
        "oci_registry_metrics_port": dep.metrics_port,
        "oci_registry_webhooks": [{"name": "receiver", "url": receiver.url, "headers": {"Authorization": SECRET},
                                   "events": ["push"]}],
        "oci_registry_ca_docker_dir": os.path.join(dep.dir, "docker-certs.d"),
        "oci_registry_ca_containers_dir": os.path.join(dep.dir, "containers-certs.d"),
    })
    dep.receiver = receiver
    dep.ca_dir = os.path.join(dep.dir, "containers-certs.d", dep.host)
    try:
        dep.first = dep.playbook("deploy.yml")
        assert dep.first.rc == 0, dep.first
        yield dep
    finally:
        dep.remove()
        receiver.close()


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


def test_second_deploy_keeps_the_certificate(ops):
    pki = os.path.join(ops.config_dir, "pki")
    before = dict((name, read(os.path.join(pki, name))) for name in ("ca.crt", "server.crt", "server.key"))
    again = ops.playbook("deploy.yml")
    assert again.rc == 0 and again.changed == 0, "\n".join(l for l in again.output.splitlines() if l.startswith("changed:") or l.startswith("TASK"))[-6000:]
    assert before == dict((name, read(os.path.join(pki, name))) for name in before)
    # The front serves that very certificate.
    assert read(os.path.join(ops.front_dir, "tls", "server.crt")) == before["server.crt"]


def test_certificate_names_and_key_modes(ops):
    pki = os.path.join(ops.config_dir, "pki")
    text = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", os.path.join(pki, "server.crt")],
                          capture_output=True, text=True, check=True).stdout
    assert "IP Address:127.0.0.1" in text and "DNS:localhost" in text, text
    for key in (os.path.join(pki, "ca.key"), os.path.join(pki, "server.key"), os.path.join(ops.front_dir, "tls", "server.key")):
        assert os.stat(key).st_mode & 0o777 == 0o600, key
    # P-256 keys: the CA's signature is verified by the client at every handshake (benchmarks/auth.py).
    for key in (os.path.join(pki, "ca.key"), os.path.join(pki, "server.key")):
        assert key_curve(key) == "P-256", key
    # Installed where Docker and containers look for it, for host:port.
    for base in ("docker-certs.d", "containers-certs.d"):
        assert read(os.path.join(ops.dir, base, ops.host, "ca.crt")) == read(os.path.join(pki, "ca.crt"))


def test_skopeo_with_only_the_ca_pushes_and_pulls(ops):
    assert sorted(os.listdir(ops.ca_dir)) == ["ca.crt"]
    layout = make_layout(os.path.join(ops.dir, "layout"))
    boss = "boss:" + PASSWORDS["boss"]
    for repository in ("team-a/app", "shared/tool"):
        push = skopeo("copy", "--preserve-digests", "--dest-cert-dir", ops.ca_dir, "--dest-creds", boss,
                      "oci:%s:v1" % layout, "docker://%s/%s:v1" % (ops.host, repository))
        assert push.returncode == 0, push.stderr
    target = os.path.join(ops.dir, "pulled")
    pull = skopeo("copy", "--preserve-digests", "--src-cert-dir", ops.ca_dir, "--src-creds", boss,
                  "docker://%s/team-a/app:v1" % ops.host, "oci:%s:v1" % target)
    assert pull.returncode == 0, pull.stderr
    index = json.loads(read(os.path.join(target, "index.json")))
    assert index["manifests"][0]["digest"] == json.loads(read(os.path.join(layout, "index.json")))["manifests"][0]["digest"]


def test_a_client_without_the_ca_is_refused(ops):
    empty = tempfile.mkdtemp(prefix="oci-no-ca-")
    try:
        inspect = skopeo("inspect", "--cert-dir", empty, "--creds", "boss:" + PASSWORDS["boss"],
                         "docker://%s/team-a/app:v1" % ops.host)
    finally:
        shutil.rmtree(empty)
    assert inspect.returncode != 0
    assert "certificate signed by unknown authority" in inspect.stderr, inspect.stderr
    with pytest.raises(requests.exceptions.SSLError):
        requests.get("https://%s/v2/" % ops.host, timeout=10)
    # Plain HTTP is not served on the registry's port either.
    assert requests.get("http://%s/v2/" % ops.host, timeout=10).status_code == 400


def test_metrics_after_a_push(ops):
    text = requests.get("http://127.0.0.1:%d/metrics" % ops.metrics_port, timeout=10).text
    pushes = re.findall(r'^registry_http_requests_total\{code="201",handler="manifest",method="put"\} (\d+)', text, re.M)
    assert pushes and int(pushes[0]) >= 2, text[:2000]
    with open(os.path.join(ops.config_dir, "prometheus", "localhost.json")) as handle:
        targets = json.load(handle)
    assert targets[0]["targets"] == ["127.0.0.1:%d" % ops.metrics_port]
    assert targets[0]["labels"]["registry_type"] == "distribution"


def test_a_push_delivers_an_event(ops):
    deadline = time.monotonic() + 30
    found = []
    while time.monotonic() < deadline and not found:
        found = [(event, headers) for event, headers in ops.receiver.events()
                 if event.get("action") == "push" and event["target"].get("repository") == "team-a/app"
                 and event["target"].get("tag") == "v1"]
        time.sleep(0.5)
    assert found, ops.receiver.received
    assert found[0][1]["Authorization"] == SECRET
    # events: [push] is rendered as ignore.actions for the others. (Distribution 2.8.2 as built by Debian
    # still delivers them - measured - so receivers filter on "action"; docs/docsite/rst/guide_operations.rst says so.)
    with open(os.path.join(ops.config_dir, "config.yml")) as handle:
        endpoint = yaml.safe_load(handle)["notifications"]["endpoints"][0]
    assert endpoint["ignore"] == {"actions": ["pull", "delete"]} and endpoint["url"] == ops.receiver.url
    # The header's value never appears in the playbook's output.
    assert SECRET not in ops.first.output


def test_manage_status_reports_the_repositories(ops):
    report = os.path.join(ops.dir, "report")
    run = ops.playbook("manage.yml", "-e", "action=status", oci_registry_manage_report=report)
    assert run.rc == 0, run.output[-3000:]
    with open(os.path.join(report, "localhost.json")) as handle:
        status = json.load(handle)
    catalog = requests.get("https://%s/v2/_catalog" % ops.host, auth=("boss", PASSWORDS["boss"]),
                           verify=os.path.join(ops.ca_dir, "ca.crt"), timeout=10).json()
    assert (status["repositories"], status["tags"]) == (2, 2), (catalog, status)
    # deploy.yml's health gate leaves its write probe's (untagged) repository in the catalog.
    assert status["repositories_in_catalog"] == len(catalog["repositories"]), (catalog, status)
    assert status["healthy"] is True, status
    assert status["version"] and status["data_bytes"] > 0, status
    assert [c["name"] for c in status["containers"] if c["running"]] == [ops.name, ops.name + "-auth", ops.name + "-front"]
    logs = ops.playbook("manage.yml", oci_registry_action="logs", oci_registry_manage_log_lines=20)
    assert logs.rc == 0 and "response completed" in logs.output, logs


def export(dep):
    rc, result, output = run_module("oci_registry_info", {
        "registry_type": "distribution", "htpasswd_path": dep.htpasswd,
        "front_config_path": os.path.join(dep.front_dir, "nginx.conf"), "exclude_users": [dep.admin[0]]})
    assert rc == 0 and result.get("changed") is False, output
    return {"oci_registry_users": result["oci_registry_users"], "oci_registry_namespaces": result["oci_registry_namespaces"]}


def test_export_apply_export(ops):
    document = export(ops)
    assert [u["name"] for u in document["oci_registry_users"]] == ["alice", "boss"]
    assert document["oci_registry_users"][0] == {"name": "alice", "admin": False, "groups": ["dev"]}
    assert [n["name"] for n in document["oci_registry_namespaces"]] == ["shared", "team-a"]
    assert document["oci_registry_namespaces"][1]["retention"] == {"keep_tags": 4, "max_age_days": 30}
    users = [dict(u, password=PASSWORDS[u["name"]]) for u in document["oci_registry_users"]]

    # Re-applied to the same registry: nothing changes.
    same = ops.playbook("init.yml", oci_registry_users=users, oci_registry_namespaces=document["oci_registry_namespaces"])
    assert same.rc == 0 and same.changed == 0, "\n".join(
        line for line in same.output.splitlines() if line.startswith(("TASK", "changed")))

    # Applied to a fresh registry (plain HTTP is enough here), exported again: the same document.
    fresh = OpsDeployment(users, document["oci_registry_namespaces"], oci_registry_tls=False, oci_registry_metrics=False)
    try:
        run = fresh.playbook("deploy.yml")
        assert run.rc == 0, run
        assert yaml.safe_dump(export(fresh)) == yaml.safe_dump(document)
    finally:
        fresh.remove()


def served_certificate(ops):
    """The certificate the registry's port presents (DER)."""
    context = ssl.create_default_context(cafile=os.path.join(ops.ca_dir, "ca.crt"))
    with socket.create_connection(("127.0.0.1", ops.port), timeout=10) as sock:
        with context.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
            return tls.getpeercert(binary_form=True)


def pem_to_der(path):
    return ssl.PEM_cert_to_DER_cert(read(path).decode())


def key_curve(path):
    text = subprocess.run(["openssl", "pkey", "-in", path, "-noout", "-text"], capture_output=True, text=True,
                          check=True).stdout
    return re.search(r"NIST CURVE: (\S+)", text).group(1)


def test_rate_limit_and_certificate_renewal(ops):
    """Last: two more deploys. 1) a small request limit, one more name for the certificate, and the P-384 CA
    key of an earlier version (its CA certificate made again from it): requests above the limit get 429; the
    CA key is kept, not made again with the new curve; the certificate is renewed (new names, that CA), clients
    get that CA, nginx serves the new certificate. 2) no limit, and a renewal window longer than the
    certificate's life: renewed again, same names, the CA stays. 3) the same: only the certificate changes, and
    the registry container is not restarted for it (nginx, which alone reads it, is reloaded)."""
    pki = os.path.join(ops.config_dir, "pki")
    first = read(os.path.join(pki, "server.crt"))
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384",
                    "-out", os.path.join(pki, "ca.key")], capture_output=True, check=True)
    old_key = read(os.path.join(pki, "ca.key"))
    for name in ("ca.csr", "ca.crt"):
        os.remove(os.path.join(pki, name))
    run = ops.playbook("deploy.yml", oci_registry_rate_limit=2, oci_registry_rate_limit_burst=2,
                       oci_registry_tls_san=["registry.example.test"], distribution_config_backups_keep=1,
                       distribution_config_extra={"log": {"level": "warn"}})
    assert run.rc == 0, run.output[-3000:]
    assert read(os.path.join(pki, "ca.key")) == old_key and key_curve(os.path.join(pki, "ca.key")) == "P-384"
    ca = read(os.path.join(pki, "ca.crt"))
    assert read(os.path.join(ops.ca_dir, "ca.crt")) == ca  # what clients trust follows
    config_before_last = read(os.path.join(ops.config_dir, "config.yml"))
    nginx_conf = read(os.path.join(ops.front_dir, "nginx.conf")).decode()
    assert "rate=2r/s" in nginx_conf and "burst=2 nodelay" in nginx_conf
    with requests.Session() as session:
        codes = [session.get("https://%s/v2/" % ops.host, verify=os.path.join(ops.ca_dir, "ca.crt"),
                             timeout=10).status_code for attempt in range(15)]
    assert 429 in codes and 401 in codes, codes
    second = read(os.path.join(pki, "server.crt"))
    assert second != first
    verified = subprocess.run(["openssl", "verify", "-CAfile", os.path.join(pki, "ca.crt"), os.path.join(pki, "server.crt")],
                              capture_output=True, text=True, check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    names = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", os.path.join(pki, "server.crt")],
                           capture_output=True, text=True, check=True).stdout
    assert "DNS:registry.example.test" in names, names
    assert served_certificate(ops) == pem_to_der(os.path.join(pki, "server.crt"))

    run = ops.playbook("deploy.yml", oci_registry_tls_san=["registry.example.test"], oci_registry_tls_renew_days=400,
                       oci_registry_tls_valid_days=401, distribution_config_backups_keep=1)
    assert run.rc == 0 and "limit_req" not in read(os.path.join(ops.front_dir, "nginx.conf")).decode(), run
    # Each of the two deploys changed config.yml (log level warn, then back): one earlier file stays, the last one.
    backups = sorted(glob.glob(os.path.join(ops.config_dir, "config.yml.*~")))
    assert len(backups) == 1 and read(backups[0]) == config_before_last, backups
    third = read(os.path.join(pki, "server.crt"))
    assert third != second and read(os.path.join(pki, "ca.crt")) == ca
    assert served_certificate(ops) == pem_to_der(os.path.join(pki, "server.crt"))

    # 3) only the certificate is renewed (a window one day longer than what is left of it). Behind the access
    # front only nginx reads it, so nginx is reloaded and serves the new one while the registry container keeps
    # running (no restart, no outage).
    started = {name: docker.from_env().containers.get(name).attrs["State"]["StartedAt"]
               for name in (ops.name, ops.name + "-front")}
    run = ops.playbook("deploy.yml", oci_registry_tls_san=["registry.example.test"], oci_registry_tls_renew_days=401,
                       oci_registry_tls_valid_days=402, distribution_config_backups_keep=1)
    assert run.rc == 0, run.output[-3000:]
    assert read(os.path.join(pki, "server.crt")) != third
    assert served_certificate(ops) == pem_to_der(os.path.join(pki, "server.crt"))
    assert {name: docker.from_env().containers.get(name).attrs["State"]["StartedAt"] for name in started} == started
