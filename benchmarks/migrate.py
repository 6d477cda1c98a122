"""Benchmark: oci_sync against `skopeo sync --all --preserve-digests`, on the same data, in one run.

Starts local CNCF Distribution registries in containers on 127.0.0.1 (htpasswd auth; the image of
`make bed`): one source and one fresh destination per copier, so that no copier profits from
another's work. Builds its own dataset in the source (many repositories sharing base layers, a
multi-arch index, an image with a referrer that has a referrer of its own, an image with
uncompressed layers, one large uncompressed layer), then times:

  full copy         skopeo sync | the oci_sync engine (a child process) | the oci_sync module (ansible)
  re-run, no work   the same three again, on the now complete destinations

and prints the times, the ratios, the requests each copier sent and the CPU time the registries
spent answering them (both registries' containers, from their cgroups), the engine's own CPU time and
the part of its wall time that is process start-up (interpreter and imports) and exit, the peak memory
(VmHWM) of the engine process, the load average before and after, and whether every tag has the same
digest on the source and on each destination.

Then (unless --skip-secure) the engine copies the same source once more into the default secure
deployment (playbooks/deploy.yml: TLS, the access front with its authentication service, the
administrator at bcrypt cost 12), full copy and re-run, next to the medians above.

    .venv/bin/python benchmarks/migrate.py [--apps 40] [--big-mb 256] [--workers 8]

Nothing here is a test: times vary with the machine; the figures are for people to read.
"""

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
for path in (COLLECTIONS, ROOT):
    if path not in sys.path:
        sys.path.insert(0, path)

os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", COLLECTIONS)

TARGET_FULL = 3.0
TARGET_NOOP = 5.0
TARGET_MEMORY_MB = 200


def api_for(url, user, password, retries=3, ca_path=None):
    from ansible_collections.provisioning.oci_registry.plugins.module_utils._client import (
        ConnectionOptions,
        RegistryClient,
    )
    from ansible_collections.provisioning.oci_registry.plugins.module_utils._oci import OciApi

    return OciApi(RegistryClient(ConnectionOptions(url, username=user, password=password, retries=retries,
                                                   ca_path=ca_path)))


# -- the engine in a process of its own (for its wall time and its peak memory) -----------------------------


def peak_rss_kb():
    """Peak resident memory of this process: VmHWM, which exec resets (ru_maxrss does not: after fork and
    exec it still holds the parent's size, here the benchmark's copy of the dataset)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(args):
    from ansible_collections.provisioning.oci_registry.plugins.module_utils._sync import SyncEngine

    spec = json.loads(args.child)
    source = api_for(*spec["source"])
    destination = api_for(*spec["destination"], ca_path=spec.get("destination_ca"))
    started = time.monotonic()
    result = SyncEngine(source, destination, workers=spec["workers"]).run()
    result["run_s"] = time.monotonic() - started
    result["maxrss_kb"] = peak_rss_kb()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu_s"] = usage.ru_utime + usage.ru_stime
    result.pop("verification")
    print(json.dumps(result))


def run_engine(source, destination, workers, destination_ca=None):
    spec = json.dumps({"source": [source.url] + list(source.admin), "destination": [destination.url] + list(destination.admin),
                       "workers": workers, "destination_ca": destination_ca})
    started = time.monotonic()
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", spec], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit("the engine failed:\n%s" % proc.stderr[-3000:])
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["errors"]:
        raise SystemExit("the engine reported errors: %s" % result["errors"])
    return elapsed, result


def run_module(source, destination, workers):
    from tests.integration.registry import run_module as ansible_module

    started = time.monotonic()
    rc, result, output = ansible_module("oci_sync", {"source": source.endpoint(), "destination": destination.endpoint(),
                                                     "workers": workers}, timeout=1800)
    elapsed = time.monotonic() - started
    if rc != 0:
        raise SystemExit("the module failed:\n%s" % output[-3000:])
    return elapsed, result


def run_skopeo(source, destination, repositories, workdir):
    """`skopeo sync` keeps only the last path component of a repository at the destination; one run per
    namespace (the destination named after it) keeps the names, as a migration script would.
    Returns (seconds, the refs skopeo could not copy)."""
    user, password = source.admin
    dest_user, dest_password = destination.admin
    namespaces = {}
    for repository in repositories:
        namespace = repository.rsplit("/", 1)[0] if "/" in repository else ""
        namespaces.setdefault(namespace, []).append(repository)
    failures = []
    elapsed = 0.0
    for namespace, members in sorted(namespaces.items()):
        config = {source.host: {"images": dict((repository, []) for repository in members), "tls-verify": False,
                                "credentials": {"username": user, "password": password}}}
        path = os.path.join(workdir, "skopeo-sync.yml")
        with open(path, "w") as fh:
            json.dump(config, fh)  # JSON is YAML
        command = ["skopeo", "sync", "--all", "--preserve-digests", "--keep-going", "--src", "yaml", "--dest", "docker",
                   "--dest-tls-verify=false", "--dest-creds", "%s:%s" % (dest_user, dest_password), path,
                   destination.host + ("/" + namespace if namespace else "")]
        started = time.monotonic()
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        elapsed += time.monotonic() - started
        errors = re.findall(r'msg="Error copying ref \\"docker://[^/]+/([^"\\]+)\\"', proc.stderr)
        failures.extend(errors)
        if proc.returncode != 0 and not errors:
            raise SystemExit("skopeo sync failed:\n%s" % proc.stderr[-3000:])
    return elapsed, failures


def container_cpu(registry):
    """CPU seconds the registry's container has used (cgroup v1 or v2), or None where they cannot be read."""
    cid = registry.container.id
    for path, scale in (("/sys/fs/cgroup/cpuacct/docker/%s/cpuacct.usage" % cid, 1e-9),
                        ("/sys/fs/cgroup/system.slice/docker-%s.scope/cpu.stat" % cid, 1e-6),
                        ("/sys/fs/cgroup/docker/%s/cpu.stat" % cid, 1e-6)):
        try:
            with open(path) as fh:
                text = fh.read()
        except OSError:
            continue
        if path.endswith("cpu.stat"):
            text = dict(line.split() for line in text.splitlines() if line.strip()).get("usage_usec", "")
        if text.strip().isdigit():
            return int(text) * scale
    return None


def median(values):
    return statistics.median(values)


def settled_log(registry):
    """The registry's access log once it stops growing (docker delivers log lines a little later)."""
    previous = None
    while True:
        log = registry.requests_log()
        if log == previous:
            return log
        previous = log
        time.sleep(0.2)


def digests(api, repositories):
    """{repo:tag: digest} of every tag (referrer tags included)."""
    found = {}
    for repository in repositories:
        for tag in api.tags(repository, page_size=1000):
            head = api.head_manifest(repository, tag)
            found["%s:%s" % (repository, tag)] = head.digest if head else None
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--apps", type=int, default=40, help="repositories sharing the base layers (default 40)")
    parser.add_argument("--tags-per-app", type=int, default=2, help="tags in each of them (default 2)")
    parser.add_argument("--big-mb", type=int, default=256, help="size of the large uncompressed layer in MiB (default 256)")
    parser.add_argument("--workers", type=int, default=8, help="oci_sync workers (default 8)")
    parser.add_argument("--bcrypt-cost", type=int, default=4,
                        help="bcrypt cost of the registries' htpasswd entries, checked on every request (default 4)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of every measurement (default 3)")
    parser.add_argument("--no-auth", action="store_true",
                        help="registries without authentication (what is left is the copiers' own work)")
    parser.add_argument("--quiet-registries", action="store_true",
                        help="registries log errors only (their access log stays on: requests are counted from it)")
    parser.add_argument("--skip-module", action="store_true", help="do not time the module through ansible")
    parser.add_argument("--skip-secure", action="store_true",
                        help="do not time the engine into the default secure deployment (TLS, access front, cost 12)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)

    from tests.integration.sync import dataset
    from tests.integration.sync.registries import SyncRegistry

    extra = {"log": {"level": "error"}} if args.quiet_registries else None
    tools = ["skopeo", "engine"] + ([] if args.skip_module else ["module"])
    registries = {}
    workdir = tempfile.mkdtemp(prefix="oci-bench-")
    try:
        source = registries["source"] = SyncRegistry(bcrypt_cost=args.bcrypt_cost, auth=not args.no_auth, config_extra=extra).start()
        started = time.monotonic()
        expected = dataset.build(api_for(source.url, *source.admin), apps=args.apps, app_tags=args.tags_per_app,
                                 big_blob_size=args.big_mb * 1024 * 1024)[0]
        repositories = sorted(set(key.rsplit(":", 1)[0] for key in expected))
        source_digests = digests(api_for(source.url, *source.admin), repositories)
        print("dataset: %d repositories, %d tags (%d referrer tags), large layer %d MiB, built in %.1f s"
              % (len(repositories), len(source_digests), sum(1 for k in source_digests if ":sha256-" in k),
                 args.big_mb, time.monotonic() - started))
        print("registries: CNCF Distribution 2.8 (%s), %s; oci_sync workers %d; %d CPUs, load average %.1f; "
              "%d repetitions, medians shown"
              % (os.environ.get("OCI_TEST_DISTRIBUTION_IMAGE", "oci-registry-test/distribution:2.8"),
                 ("no authentication" if args.no_auth else "htpasswd auth, bcrypt cost %d" % args.bcrypt_cost)
                 + (", logging errors only" if args.quiet_registries else ""),
                 args.workers, os.cpu_count(), os.getloadavg()[0], args.repeat))

        phases = ("full copy", "re-run, nothing to do")
        seconds = dict((phase, dict((tool, []) for tool in tools)) for phase in phases)
        sent = dict((phase, dict((tool, []) for tool in tools)) for phase in phases)
        served = dict((phase, dict((tool, []) for tool in tools)) for phase in phases)
        engine_results = dict((phase, []) for phase in phases)
        skopeo_failed = set()
        for repetition in range(args.repeat):
            for tool in tools:
                old = registries.pop(tool, None)
                if old is not None:
                    old.remove()
                registries[tool] = SyncRegistry(bcrypt_cost=args.bcrypt_cost, auth=not args.no_auth, config_extra=extra).start()
            order = tools[repetition % len(tools):] + tools[:repetition % len(tools)]  # load drift hits each alike
            for phase in phases:
                for tool in order:
                    destination = registries[tool]
                    before = len(settled_log(source)) + len(settled_log(destination))
                    cpu_before = [container_cpu(source), container_cpu(destination)]
                    if tool == "skopeo":
                        elapsed, failed = run_skopeo(source, destination, repositories, workdir)
                        skopeo_failed.update(failed)
                    elif tool == "engine":
                        elapsed, result = run_engine(source, destination, args.workers)
                        engine_results[phase].append(result)
                    else:
                        elapsed = run_module(source, destination, args.workers)[0]
                    seconds[phase][tool].append(elapsed)
                    cpu_after = [container_cpu(source), container_cpu(destination)]
                    if None not in cpu_before + cpu_after:
                        served[phase][tool].append(sum(cpu_after) - sum(cpu_before))
                    sent[phase][tool].append(len(settled_log(source)) + len(settled_log(destination)) - before)

        print()
        header = "%-22s %10s %12s %7s" % ("", "skopeo s", "oci_sync s", "ratio")
        if "module" in tools:
            header += " %10s %7s" % ("module s", "ratio")
        print(header + "   requests skopeo / oci_sync   registry CPU s skopeo / oci_sync")
        for phase, target in zip(phases, (TARGET_FULL, TARGET_NOOP)):
            skopeo_s, engine_s = median(seconds[phase]["skopeo"]), median(seconds[phase]["engine"])
            ratio = skopeo_s / engine_s
            line = "%-22s %10.2f %12.2f %6.1fx" % (phase, skopeo_s, engine_s, ratio)
            if "module" in tools:
                module_s = median(seconds[phase]["module"])
                line += " %10.2f %6.1fx" % (module_s, skopeo_s / module_s)
            line += "   %d / %d" % (median(sent[phase]["skopeo"]), median(sent[phase]["engine"]))
            if served[phase]["skopeo"] and served[phase]["engine"]:
                line += "   %.2f / %.2f" % (median(served[phase]["skopeo"]), median(served[phase]["engine"]))
            line += "   target >= %.0fx: %s" % (target, "met" if ratio >= target else "MISSED")
            print(line)
            print("%-22s %s" % ("", "  all runs: " + "; ".join(
                "%s %s" % (tool, " ".join("%.2f" % v for v in seconds[phase][tool])) for tool in tools)))
        if skopeo_failed:
            print("skopeo could not copy (in every run): %s" % ", ".join(sorted(skopeo_failed)))
        full, noop = engine_results[phases[0]][-1], engine_results[phases[1]][-1]
        print("oci_sync full copy: %s" % json.dumps(full["summary"], sort_keys=True))
        print("oci_sync re-run:    changed=%s %s" % (noop["changed"], json.dumps(noop["summary"], sort_keys=True)))
        peak = max(r["maxrss_kb"] for rs in engine_results.values() for r in rs) / 1024.0
        print("oci_sync peak memory (VmHWM of the engine process): %.1f MB, with a %d MiB layer   target < %d MB: %s"
              % (peak, args.big_mb, TARGET_MEMORY_MB, "met" if peak < TARGET_MEMORY_MB else "MISSED"))
        print("oci_sync CPU time (its own process): full copy %.2f s, re-run %.2f s"
              % (median([r["cpu_s"] for r in engine_results[phases[0]]]),
                 median([r["cpu_s"] for r in engine_results[phases[1]]])))
        print("oci_sync process start-up and exit (wall time outside SyncEngine.run, included above): "
              "full copy %.2f s, re-run %.2f s"
              % tuple(median([elapsed - r["run_s"] for elapsed, r in zip(seconds[phase]["engine"], engine_results[phase])])
                      for phase in phases))
        if not args.skip_secure:
            secure_row(source, args.workers, seconds, repositories, source_digests)
        print("load average after the runs: %.1f %.1f %.1f" % os.getloadavg())

        ok = True
        for tool in tools:
            registry = registries[tool]
            got = digests(api_for(registry.url, *registry.admin), repositories)
            same = sum(1 for key, digest in source_digests.items() if got.get(key) == digest)
            ok = ok and (same == len(source_digests) or tool == "skopeo")
            print("digests identical, source vs %-7s %d/%d" % (tool + ":", same, len(source_digests)))
        return 0 if ok else 1
    finally:
        for registry in registries.values():
            registry.remove()
        subprocess.run(["rm", "-rf", workdir], check=False)


def secure_row(source, workers, seconds, repositories, source_digests):
    """The engine into the default secure deployment: deploy.yml with TLS, the access front and its
    authentication service, the administrator's password at the default bcrypt cost (12)."""
    from tests.integration.access.deployment import Deployment

    secure = Deployment(users=[])
    secure.vars["oci_registry_tls"] = True
    secure.vars["oci_registry_ca_docker_dir"] = os.path.join(secure.dir, "docker-certs.d")
    secure.vars["oci_registry_ca_containers_dir"] = os.path.join(secure.dir, "containers-certs.d")
    try:
        started = time.monotonic()
        run = secure.playbook("deploy.yml")
        if run.rc != 0:
            raise SystemExit("deploy.yml (secure destination) failed:\n%s" % run)
        print("secure destination deployed in %.0f s (TLS, access front + authentication service, bcrypt cost 12)"
              % (time.monotonic() - started))
        secure.url = "https://" + secure.host
        ca = os.path.join(secure.config_dir, "pki", "ca.crt")
        rows = []
        for phase in ("full copy", "re-run, nothing to do"):
            elapsed = run_engine(source, secure, workers, destination_ca=ca)[0]
            rows.append((phase, elapsed, median(seconds[phase]["engine"])))
        print("%-22s %12s %14s %7s" % ("oci_sync engine", "secure s", "as above s", "ratio"))
        for phase, elapsed, plain in rows:
            print("%-22s %12.2f %14.2f %6.2fx" % (phase, elapsed, plain, elapsed / plain))
        got = digests(api_for(secure.url, *secure.admin, ca_path=ca), repositories)
        same = sum(1 for key, digest in source_digests.items() if got.get(key) == digest)
        print("digests identical, source vs secure: %d/%d" % (same, len(source_digests)))
    finally:
        secure.remove()


if __name__ == "__main__":
    sys.exit(main())
