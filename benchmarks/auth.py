"""Benchmark: what a logged-in client pays on the default secure Distribution (issue 13), in one run.

Deploys, with playbooks/deploy.yml, the default secure Distribution: TLS, the access front with its
authentication service (distribution_front_auth), users at bcrypt cost 12. Starts an open registry
next to it (the same Distribution image, no front, no auth, plain HTTP). With --auth-basic, a third
deployment keeps nginx's auth_basic (bcrypt on every request), the front as it was before.
Then measures, each with its ratio:

  per request      one manifest HEAD: anonymous (public namespace), logged in with Basic (verified
                   once, then cached), logged in with a token, open registry; and the first logged-in
                   request (the one bcrypt check)
  200 HEADs        200 manifest HEADs, one client (keep-alive), each of the same four ways
  24-layer image   skopeo copy of a 24-layer image: push as a logged-in user, pull logged in and
                   anonymously, against the same push and pull on the open registry (plain HTTP), and
                   against an open registry that serves TLS itself (what TLS alone costs)
  new connections  --fresh manifest HEADs each on a new connection, as skopeo and Docker send them
                   (both disable keep-alive), with the CPU each container spent per request (cgroup
                   counters: steadier than wall time on a loaded machine)

    .venv/bin/python benchmarks/auth.py [--heads 200] [--layers 24] [--fresh 100] [--repeat 3] [--auth-basic]

Each figure is the median of --repeat rounds, and the rounds of the ways compared alternate (open,
secure, open, secure...), so that load from other work on the machine falls on both sides of a ratio.
Nothing here is a test: times vary with the machine; the figures are for people to read.
"""

import argparse
import base64
import http.client
import json
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.integration.access.deployment import SecureDeployment as Secure  # noqa: E402  (after sys.path)
from tests.integration.oci_layout import Layout  # noqa: E402
from tests.integration.registry import CONFIG_PATH, IMAGE as REGISTRY_IMAGE  # noqa: E402
from tests.integration.registry import Registry, docker_client  # noqa: E402

ACCEPT = "application/vnd.oci.image.manifest.v1+json"
PUBLIC = "provisioning-test/bench"


class TlsRegistry(Registry):
    """The open registry serving TLS itself (Distribution's http.tls, the secure deployment's certificate):
    what TLS alone costs a client that opens a connection per request, as skopeo and Docker do
    (containers/image pkg/tlsclientconfig NewTransport and Docker's registry client set
    DisableKeepAlives)."""

    def __init__(self, certificate, key, ca):
        super().__init__(auth=False)
        self.certificate, self.key, self.ca = certificate, key, ca
        self.url = "https://127.0.0.1:%d" % self.port

    def _write_config(self):
        super()._write_config()
        path = os.path.join(self.dir, "config.yml")
        with open(path) as handle:
            config = json.load(handle)
        config["http"]["tls"] = {"certificate": "/tls/server.crt", "key": "/tls/server.key"}
        with open(path, "w") as handle:
            json.dump(config, handle)

    def start(self):
        self._write_config()
        volumes = {os.path.join(self.dir, "config.yml"): {"bind": CONFIG_PATH, "mode": "ro"},
                   self.certificate: {"bind": "/tls/server.crt", "mode": "ro"},
                   self.key: {"bind": "/tls/server.key", "mode": "ro"}}
        self.container = docker_client().containers.run(
            REGISTRY_IMAGE, detach=True, name="oci-it-%s" % uuid.uuid4().hex[:10], volumes=volumes,
            ports={"5000/tcp": ("127.0.0.1", self.port)}, labels={"oci-registry-test": "integration"})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(self.url + "/v2/", verify=self.ca, timeout=2)
                return self
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError("the TLS registry did not answer:\n%s" % self.container.logs(tail=20).decode())


def fresh_heads(url, path, count, ca=None, auth=None, token=None):
    """Seconds for ``count`` manifest HEADs, each on a new connection (a new TLS handshake on https),
    as skopeo and Docker send them; the client's TLS context is made once."""
    scheme, _sep, hostport = url.partition("://")
    host, _sep, port = hostport.rpartition(":")
    context = ssl.create_default_context(cafile=ca) if scheme == "https" else None
    headers = {"Accept": ACCEPT}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(("%s:%s" % auth).encode()).decode()
    if token:
        headers["Authorization"] = "Bearer " + token
    started = time.monotonic()
    for _request in range(count):
        if context:
            connection = http.client.HTTPSConnection(host, int(port), context=context, timeout=60)
        else:
            connection = http.client.HTTPConnection(host, int(port), timeout=60)
        connection.request("HEAD", path, headers=headers)
        status = connection.getresponse().status
        connection.close()
        if status != 200:
            raise RuntimeError("HEAD %s answered %d" % (path, status))
    return time.monotonic() - started


def cpu_nanoseconds(container):
    """CPU time a container has used so far (its cgroup's counter, v1 or v2), or None if not found.
    Under load, CPU per request is steadier than wall time: it does not count waiting for a core."""
    cid = subprocess.run(["docker", "inspect", "-f", "{{.Id}}", container], capture_output=True, text=True,
                         check=True).stdout.strip()
    for path in ("/sys/fs/cgroup/cpuacct/docker/%s/cpuacct.usage" % cid,
                 "/sys/fs/cgroup/docker/%s/cpu.stat" % cid,
                 "/sys/fs/cgroup/system.slice/docker-%s.scope/cpu.stat" % cid):
        if os.path.exists(path):
            with open(path) as handle:
                text = handle.read()
            if path.endswith("cpu.stat"):
                return int(dict(line.split() for line in text.splitlines())["usage_usec"]) * 1000
            return int(text)
    return None


def layout_with_layers(directory, layers):
    layout = Layout(directory)
    files = [{"layer-%02d.bin" % i: os.urandom(64 * 1024)} for i in range(layers)]
    layout.tag(layout.image({}, layers=files), "v1")
    return directory


def skopeo(*args, env=None):
    started = time.monotonic()
    result = subprocess.run(["skopeo", "--command-timeout", "600s"] + list(args), capture_output=True, text=True,
                            env=env, check=False, timeout=900)
    if result.returncode != 0:
        raise RuntimeError("skopeo %s failed: %s" % (args[0], result.stderr[-2000:]))
    return time.monotonic() - started


def heads(url, path, count, verify=True, auth=None, token=None):
    """Seconds for ``count`` manifest HEADs on one keep-alive session; every answer must be 200."""
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override the CA given here
    session.verify = verify
    session.headers["Accept"] = ACCEPT
    if auth:
        session.auth = auth
    if token:
        session.headers["Authorization"] = "Bearer " + token
    session.head(url + path, timeout=60)  # connection and TLS set up, outside the timing
    started = time.monotonic()
    for _request in range(count):
        status = session.head(url + path, timeout=60).status_code
        if status != 200:
            raise RuntimeError("HEAD %s answered %d" % (path, status))
    return time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--heads", type=int, default=200)
    parser.add_argument("--layers", type=int, default=24)
    parser.add_argument("--fresh", type=int, default=100,
                        help="manifest HEADs each on a new connection, as skopeo and Docker send them")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per figure (the median is shown)")
    parser.add_argument("--auth-basic", action="store_true",
                        help="also deploy the front with nginx's auth_basic (bcrypt per request), for comparison")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="oci-bench-auth-")
    user = ("ci", "Ci-" + uuid.uuid4().hex[:16])
    users = [{"name": user[0], "password": user[1]}]  # the default bcrypt cost (12)
    auth_file = os.path.join(work, "auth.json")
    with open(auth_file, "w") as handle:
        handle.write("{}")
    env = dict(os.environ, REGISTRY_AUTH_FILE=auth_file)
    deployments, rows = [], []
    open_registry = Registry(auth=False)

    def row(label, seconds, base=None, note=""):
        ratio = ("%6.2fx" % (seconds / base)) if base else "      "
        rows.append("  %-52s %10.1f ms  %s  %s" % (label, seconds * 1000, ratio, note))
        print(rows[-1], flush=True)

    try:
        print("deploying the default secure Distribution (TLS, front + auth service, bcrypt cost 12)...", flush=True)
        started = time.monotonic()
        secure = Secure(users)
        deployments.append(secure)
        run = secure.playbook("deploy.yml")
        if run.rc != 0:
            raise RuntimeError("deploy.yml failed:\n%s" % run)
        print("  deployed in %.0f s" % (time.monotonic() - started), flush=True)
        open_registry.start()
        tls_registry = TlsRegistry(os.path.join(secure.config_dir, "pki", "server.crt"),
                                   os.path.join(secure.config_dir, "pki", "server.key"), secure.ca)
        deployments.append(tls_registry)
        tls_registry.start()
        tls_target = "docker://127.0.0.1:%d/%s:v1" % (tls_registry.port, PUBLIC)
        certs = secure.cert_dir
        target = "docker://%s/%s:v1" % (secure.host, PUBLIC)
        open_target = "docker://127.0.0.1:%d/%s:v1" % (open_registry.port, PUBLIC)

        print("\n%d-layer image (skopeo copy --preserve-digests), median of %d, ratio to the open registry:"
              % (args.layers, args.repeat), flush=True)
        creds = "%s:%s" % user
        times = {"open push": [], "push": [], "open push 2": [], "push 2": [], "open pull": [], "pull": [],
                 "anonymous pull": [], "tls push": [], "tls pull": []}
        for rnd in range(args.repeat):
            # A new image per round (new layers): each push uploads every blob.
            image = layout_with_layers(os.path.join(work, "layout-%d" % rnd), args.layers)
            second = layout_with_layers(os.path.join(work, "layout2-%d" % rnd), args.layers)
            tag, tag2 = "r%d" % rnd, "r%d-2" % rnd
            times["open push"].append(skopeo("copy", "--preserve-digests", "--dest-tls-verify=false",
                                             "oci:%s:v1" % image, open_target.replace(":v1", ":" + tag), env=env))
            if rnd == 0:
                # The first logged-in push pays the one bcrypt check: restart the service (empty cache).
                subprocess.run(["docker", "restart", secure.name + "-auth"], capture_output=True, check=True)
                time.sleep(1.0)
            times["push"].append(skopeo("copy", "--preserve-digests", "--dest-cert-dir", certs, "--dest-creds",
                                        creds, "oci:%s:v1" % image, target.replace(":v1", ":" + tag), env=env))
            # A second image: the password is verified already (what every push but the first one costs).
            times["open push 2"].append(skopeo("copy", "--preserve-digests", "--dest-tls-verify=false",
                                               "oci:%s:v1" % second, open_target.replace(":v1", ":" + tag2),
                                               env=env))
            times["push 2"].append(skopeo("copy", "--preserve-digests", "--dest-cert-dir", certs, "--dest-creds",
                                          creds, "oci:%s:v1" % second, target.replace(":v1", ":" + tag2), env=env))
            times["tls push"].append(skopeo("copy", "--preserve-digests", "--dest-cert-dir", certs,
                                            "oci:%s:v1" % image, tls_target.replace(":v1", ":" + tag), env=env))
            times["tls pull"].append(skopeo("copy", "--preserve-digests", "--src-cert-dir", certs,
                                            tls_target.replace(":v1", ":" + tag),
                                            "oci:%s:v1" % os.path.join(work, "tls-pull-%d" % rnd), env=env))
            times["open pull"].append(skopeo("copy", "--preserve-digests", "--src-tls-verify=false",
                                             open_target.replace(":v1", ":" + tag),
                                             "oci:%s:v1" % os.path.join(work, "open-pull-%d" % rnd), env=env))
            times["pull"].append(skopeo("copy", "--preserve-digests", "--src-cert-dir", certs, "--src-creds", creds,
                                        target.replace(":v1", ":" + tag),
                                        "oci:%s:v1" % os.path.join(work, "pull-%d" % rnd), env=env))
            times["anonymous pull"].append(skopeo("copy", "--preserve-digests", "--src-cert-dir", certs,
                                                  "--src-no-creds", target.replace(":v1", ":" + tag),
                                                  "oci:%s:v1" % os.path.join(work, "anon-pull-%d" % rnd), env=env))
        median = dict((key, statistics.median(values)) for key, values in times.items())
        row("push, open registry", median["open push"])
        row("push, logged in (secure; round 1 with the bcrypt check)", median["push"], median["open push"])
        row("push, open registry, second image", median["open push 2"])
        row("push, logged in (secure), second image", median["push 2"], median["open push 2"])
        row("pull, open registry", median["open pull"])
        row("pull, logged in (secure)", median["pull"], median["open pull"])
        row("pull, anonymous (secure)", median["anonymous pull"], median["open pull"])
        row("pull, logged in against anonymous (the login's own share)", median["pull"], median["anonymous pull"])
        print("against the open registry serving TLS itself (what TLS alone costs these clients):")
        row("push, open registry with TLS", median["tls push"], median["open push"])
        row("push, logged in (secure) against the open TLS registry", median["push"], median["tls push"])
        row("pull, open registry with TLS", median["tls pull"], median["open pull"])
        row("pull, logged in (secure) against the open TLS registry", median["pull"], median["tls pull"])
        # Pushed once more under the name the HEADs below read.
        skopeo("copy", "--preserve-digests", "--dest-tls-verify=false", "oci:%s:v1" % image, open_target, env=env)
        skopeo("copy", "--preserve-digests", "--dest-cert-dir", certs, "oci:%s:v1" % image, tls_target, env=env)
        skopeo("copy", "--preserve-digests", "--dest-cert-dir", certs, "--dest-creds", creds, "oci:%s:v1" % image,
               target, env=env)

        path = "/v2/%s/manifests/v1" % PUBLIC
        # A fresh Basic credential: the first request pays the one bcrypt check.
        fresh = requests.Session()
        fresh.trust_env = False
        fresh.verify = secure.ca
        fresh.head(secure.url + "/v2/", timeout=60)
        # Restart the service so that its cache is empty (the push above verified the password already).
        subprocess.run(["docker", "restart", secure.name + "-auth"], capture_output=True, check=True)
        time.sleep(1.0)
        started = time.monotonic()
        status = fresh.head(secure.url + path, auth=user, headers={"Accept": ACCEPT}, timeout=60).status_code
        first = time.monotonic() - started
        if status != 200:
            raise RuntimeError("first logged-in HEAD answered %d" % status)
        params = {"service": secure.name, "scope": "repository:%s:pull" % PUBLIC}
        token = fresh.get(secure.url + "/token", params=params, auth=user, timeout=60).json()["token"]

        print("\n%d manifest HEADs on one connection (total, median of %d; per request), ratio to anonymous:"
              % (args.heads, args.repeat))
        ways = {
            "open registry (HTTP, no auth)": lambda: heads(open_registry.url, path, args.heads),
            "anonymous, public namespace (secure)": lambda: heads(secure.url, path, args.heads, verify=secure.ca),
            "logged in, Basic (secure)": lambda: heads(secure.url, path, args.heads, verify=secure.ca, auth=user),
            "logged in, token (secure)": lambda: heads(secure.url, path, args.heads, verify=secure.ca, token=token),
        }
        rounds = dict((label, []) for label in ways)
        for _round in range(args.repeat):
            for label, way in ways.items():
                rounds[label].append(way())
        timings = dict((label, statistics.median(values)) for label, values in rounds.items())
        anonymous = timings["anonymous, public namespace (secure)"]
        for label, seconds in timings.items():
            row(label, seconds, anonymous, "%.2f ms per request" % (seconds * 1000 / args.heads))
        print("\nper request (ms), ratio to anonymous:")
        for label, seconds in timings.items():
            row(label, seconds / args.heads, anonymous / args.heads)
        row("first logged-in request (the one bcrypt check)", first, anonymous / args.heads)

        print("\none manifest HEAD per new connection, as skopeo and Docker send them (%d, median of %d), per "
              "request, ratio to the open registry with TLS:" % (args.fresh, args.repeat))
        token = fresh.get(secure.url + "/token", params=params, auth=user, timeout=60).json()["token"]  # a new one
        ways = {
            "open registry (HTTP, no auth)": lambda: fresh_heads(open_registry.url, path, args.fresh),
            "open registry with TLS (no auth)": lambda: fresh_heads(tls_registry.url, path, args.fresh, ca=secure.ca),
            "anonymous, public namespace (secure)": lambda: fresh_heads(secure.url, path, args.fresh, ca=secure.ca),
            "logged in, Basic (secure)": lambda: fresh_heads(secure.url, path, args.fresh, ca=secure.ca, auth=user),
            "logged in, token (secure)": lambda: fresh_heads(secure.url, path, args.fresh, ca=secure.ca, token=token),
        }
        # Whose CPU each way uses: the front's three containers, or the open registry.
        parts = {"front (nginx)": secure.name + "-front", "auth service": secure.name + "-auth",
                 "registry": secure.name}
        owners = dict((label, {"registry": open_registry.container.name} if "HTTP" in label else
                       {"registry": tls_registry.container.name} if "TLS" in label else parts) for label in ways)
        rounds = dict((label, []) for label in ways)
        cpu = dict((label, dict((part, []) for part in owners[label])) for label in ways)
        for _round in range(args.repeat):
            for label, way in ways.items():
                before = dict((part, cpu_nanoseconds(name)) for part, name in owners[label].items())
                rounds[label].append(way())
                for part, name in owners[label].items():
                    after = cpu_nanoseconds(name)
                    if after is not None and before[part] is not None:
                        cpu[label][part].append((after - before[part]) / 1e6 / args.fresh)
        timings = dict((label, statistics.median(values) / args.fresh) for label, values in rounds.items())
        base = timings["open registry with TLS (no auth)"]
        for label, seconds in timings.items():
            row(label, seconds, base, "%.2fx the open registry over HTTP"
                % (seconds / timings["open registry (HTTP, no auth)"]))
        print("\nCPU per request on a new connection (ms; median of %d), the registry's own and the front's:"
              % args.repeat)
        for label in ways:
            shares = dict((part, statistics.median(values)) for part, values in cpu[label].items() if values)
            if not shares:
                print("  %-52s (no cgroup CPU counter found)" % label)
                continue
            total = sum(shares.values())
            print("  %-52s %6.2f ms  (%s)  %.2fx the registry's own" % (
                label, total, ", ".join("%s %.2f" % item for item in shares.items()), total / shares["registry"]))

        if args.auth_basic:
            print("\nfor comparison: the front with nginx's auth_basic (bcrypt on every request)...", flush=True)
            basic = Secure(users, front_auth=False)
            deployments.append(basic)
            run = basic.playbook("deploy.yml")
            if run.rc != 0:
                raise RuntimeError("deploy.yml (auth_basic) failed:\n%s" % run)
            basic_target = "docker://%s/%s:v1" % (basic.host, PUBLIC)
            basic_push = skopeo("copy", "--preserve-digests", "--dest-cert-dir", basic.cert_dir,
                                "--dest-creds", "%s:%s" % user, "oci:%s:v1" % image, basic_target, env=env)
            row("push, logged in (auth_basic front)", basic_push, median["open push"])
            count = 10
            seconds = heads(basic.url, path, count, verify=basic.ca, auth=user)
            row("logged-in HEAD (auth_basic front), per request", seconds / count, anonymous / args.heads)

        print("\nload average: %s" % " ".join("%.2f" % v for v in os.getloadavg()))
        print("(2 cores shared with other work: read ratios, not absolute times)")
    finally:
        open_registry.remove()
        for deployment in deployments:
            deployment.remove()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
