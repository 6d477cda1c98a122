"""Benchmark: pull throughput through the balancer with 1 and with 3 registry replicas, in one run (issue 17).

Starts, on this machine's engine, three Distribution replicas (the test image) sharing one storage (the same
host directory, so that they serve the same content as replicas on one S3 bucket do, and one REGISTRY_HTTP_SECRET)
and haproxy in front of them with the collection's own configuration (roles/haproxy/templates/haproxy.cfg.j2,
mode http, health checks on `/`). Pushes one image with skopeo, then pulls its blobs through the balancer with
--clients concurrent clients (keep-alive HTTP, every byte read) for --seconds, twice per round: once with two
replicas in maintenance (haproxy's admin socket, as playbooks/upgrade.yml drains them), once with all three.
Rounds alternate (1, 3, 1, 3...) so that load from other work falls on both sides; figures are medians.

    .venv/bin/python benchmarks/ha.py [--clients 6] [--seconds 8] [--repeat 3] [--layer-mb 4] [--layers 4]

Nothing here is a test: on a machine of few cores the replicas share the same CPUs, so the ratio says more about
the balancer's overhead and spreading than about capacity; the figures are for people to read.
Everything it starts (containers, network, directories) is removed at the end, also on failure.
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import jinja2
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.integration.oci_layout import Layout  # noqa: E402  (after sys.path)

REGISTRY_IMAGE = os.environ.get("OCI_TEST_DISTRIBUTION_IMAGE", "oci-registry-test/distribution:2.8")
HAPROXY_IMAGE = os.environ.get("OCI_TEST_HAPROXY_IMAGE", "oci-registry-test/haproxy:bookworm")
REPLICAS = 3


def docker(*args, check=True):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


def admin(sock_path, command):
    conn = socket.socket(socket.AF_UNIX)
    conn.connect(sock_path)
    conn.sendall(command.encode() + b"\n")
    data = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    conn.close()
    return data.decode()


def server_states(sock_path):
    lines = [line.split() for line in admin(sock_path, "show servers state registry").splitlines()
             if line and line[0].isdigit()]
    # The first line is the format's version ("1"); then one line per server.
    return {fields[3]: (fields[5], fields[6]) for fields in lines if len(fields) > 6}  # name: (op_state, admin_state)


def render_config(servers, run_dir):
    template = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(ROOT, "roles/haproxy/templates")),
                                  undefined=jinja2.StrictUndefined).get_template("haproxy.cfg.j2")
    return template.render(ansible_managed="benchmarks/ha.py", haproxy_mode="http", haproxy_run_dir=run_dir,
                           haproxy_retries=3, haproxy_timeout_s=60, haproxy_check_interval_ms=500,
                           haproxy_bind_address="0.0.0.0", haproxy_port=5000, haproxy_check_path="/",
                           haproxy_check_host="localhost", haproxy_check_ca_path="", haproxy_servers=servers)


def pull_round(base, blobs, clients, seconds):
    """Blob GETs through the balancer by `clients` threads for `seconds`; returns MiB/s and the error count.
    Each client opens a new connection every 8 requests, so that haproxy spreads them over the replicas."""
    total, errors, stop = [0], [0], time.monotonic() + seconds
    lock = threading.Lock()

    def client(index):
        n = index
        while time.monotonic() < stop:
            with requests.Session() as session:
                for _request in range(8):
                    digest = blobs[n % len(blobs)]
                    n += 1
                    try:
                        with session.get("%s/v2/bench/app/blobs/%s" % (base, digest), stream=True, timeout=30) as r:
                            r.raise_for_status()
                            size = sum(len(chunk) for chunk in r.iter_content(1 << 20))
                        with lock:
                            total[0] += size
                    except requests.RequestException:
                        with lock:
                            errors[0] += 1
                    if time.monotonic() >= stop:
                        break

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return total[0] / (1 << 20) / (time.monotonic() - started), errors[0]


def wait_for(predicate, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise RuntimeError("timed out waiting for %s" % what)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--layer-mb", type=int, default=4)
    args = parser.parse_args()

    suffix = uuid.uuid4().hex[:8]
    network = "oci-bench-ha-" + suffix
    names = ["oci-bench-ha-%s-r%d" % (suffix, i + 1) for i in range(REPLICAS)]
    lb = "oci-bench-ha-%s-lb" % suffix
    work = tempfile.mkdtemp(prefix="oci-bench-ha-")
    data, run_dir, conf_dir = (os.path.join(work, d) for d in ("data", "run", "conf"))
    for directory in (data, run_dir, conf_dir):
        os.makedirs(directory)
    started = []
    try:
        docker("network", "create", network)
        secret = uuid.uuid4().hex
        for name in names:
            docker("run", "-d", "--name", name, "--network", network, "-v", data + ":/var/lib/registry",
                   "-e", "REGISTRY_HTTP_SECRET=" + secret, REGISTRY_IMAGE)
            started.append(name)
        servers = [{"name": name.rsplit("-", 1)[1], "address": name, "port": 5000} for name in names]
        with open(os.path.join(conf_dir, "haproxy.cfg"), "w") as handle:
            handle.write(render_config(servers, run_dir))
        docker("run", "-d", "--name", lb, "--network", network, "--user", "0:0", "-p", "127.0.0.1::5000",
               "-v", conf_dir + ":/usr/local/etc/haproxy:ro", "-v", run_dir + ":" + run_dir, HAPROXY_IMAGE)
        started.append(lb)
        port = docker("port", lb, "5000").stdout.split("\n")[0].rsplit(":", 1)[1]
        base = "http://127.0.0.1:%s" % port
        sock = os.path.join(run_dir, "admin.sock")
        wait_for(lambda: os.path.exists(sock), "haproxy's admin socket")
        wait_for(lambda: [op for op, _admin in server_states(sock).values()] == ["2"] * REPLICAS, "three replicas up")

        layout = Layout(os.path.join(work, "image"))
        layers = [{"blob.bin": os.urandom(args.layer_mb << 20)} for _layer in range(args.layers)]
        layout.tag(layout.image(None, layers=layers, compress=False), "v1")
        subprocess.run(["skopeo", "copy", "--dest-tls-verify=false", "oci:%s:v1" % layout.path,
                        "docker://127.0.0.1:%s/bench/app:v1" % port], check=True, capture_output=True)
        manifest = requests.get(base + "/v2/bench/app/manifests/v1", timeout=30,
                                headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}).json()
        blobs = [layer["digest"] for layer in manifest["layers"]]

        results = {1: [], 3: []}
        errors = {1: 0, 3: 0}
        for _round in range(args.repeat):
            for count in (1, 3):
                for server in servers[1:]:
                    admin(sock, "set server registry/%s state %s" % (server["name"], "maint" if count == 1 else "ready"))
                wait_for(lambda: sum(1 for op, _admin in server_states(sock).values() if op == "2") == count,
                         "%d replica(s) in service" % count)
                rate, failed = pull_round(base, blobs, args.clients, args.seconds)
                results[count].append(rate)
                errors[count] += failed

        one, three = statistics.median(results[1]), statistics.median(results[3])
        print("Pull throughput through haproxy (http mode), %d clients, %d x %d MiB blobs, %d rounds of %gs, "
              "medians; %d CPU(s) on this machine"
              % (args.clients, args.layers, args.layer_mb, args.repeat, args.seconds, os.cpu_count() or 0))
        print("  1 replica : %8.1f MiB/s  (rounds: %s; failed requests: %d)"
              % (one, ", ".join("%.1f" % r for r in results[1]), errors[1]))
        print("  3 replicas: %8.1f MiB/s  (rounds: %s; failed requests: %d)"
              % (three, ", ".join("%.1f" % r for r in results[3]), errors[3]))
        print("  ratio 3/1 : %8.2f" % (three / one if one else float("nan")))
        return 0
    finally:
        for name in reversed(started):
            docker("rm", "-f", "-v", name, check=False)
        docker("network", "rm", network, check=False)
        # The registries wrote the data as root inside their containers.
        docker("run", "--rm", "-v", work + ":/work", "--entrypoint", "rm", REGISTRY_IMAGE, "-rf", "/work/data",
               "/work/run", check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
