"""Benchmark: what deploy.yml costs against a hand-written playbook for the same registry (issue 15), in one run.

Compares, on this machine and in one run:

  deploy.yml        playbooks/deploy.yml -e registry_type=distribution, the default secure deployment
                    (TLS, the access front with its authentication service, metrics, users at bcrypt cost 12),
                    from an empty host
  by hand           benchmarks/baseline/distribution.yml: the same Distribution image with TLS of its own and
                    bcrypt users, written the way a user would without the collection (no preflight, front,
                    rollback or health gate)

each as a first deploy (nothing there yet) and as a re-run that changes nothing, with the ratio of
deploy.yml to the hand-written playbook. The issue's aim: at most 1.5x on a first deploy and 2x on a re-run.

    .venv/bin/python benchmarks/deploy.py [--repeat 3]

Each figure is the median of --repeat rounds; within a round the two sides alternate (by hand, deploy.yml,
by hand again, deploy.yml again), so that load from other work on the machine falls on both. Every run must
succeed and a re-run must report no change, or the benchmark stops. Nothing here is a test.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.integration.access.deployment import RECAP, SecureDeployment  # noqa: E402  (after sys.path)
from tests.integration.registry import free_port  # noqa: E402

BASELINE = os.path.join(ROOT, "benchmarks", "baseline", "distribution.yml")


class ByHand:
    """One deployment of the hand-written playbook."""

    def __init__(self, image, users):
        self.dir = tempfile.mkdtemp(prefix="oci-bench-hand-")
        self.name = "oci-bench-hand-" + uuid.uuid4().hex[:8]
        self.vars = {"base_dir": self.dir, "registry_port": free_port(), "registry_name": self.name, "image": image,
                     "users": users}
        self.env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")

    def run(self):
        path = os.path.join(self.dir, "vars.yml")
        with open(path, "w") as handle:
            yaml.safe_dump(self.vars, handle)
        started = time.monotonic()
        process = subprocess.run(["ansible-playbook", BASELINE, "-e", "@" + path], cwd=ROOT, env=self.env,
                                 capture_output=True, text=True, timeout=600, check=False)
        seconds = time.monotonic() - started
        output = process.stdout + process.stderr
        match = RECAP.search(output)
        if process.returncode != 0 or match is None:
            raise RuntimeError("the hand-written playbook failed:\n%s" % output[-4000:])
        return seconds, int(match.group(2))

    def remove(self):
        subprocess.run(["docker", "rm", "-f", "-v", self.name], capture_output=True, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


class Collection:
    """One deployment of deploy.yml, the default secure Distribution."""

    def __init__(self, users):
        self.dep = SecureDeployment(users)
        self.dep.vars.pop("oci_registry_metrics")  # deploy.yml's default: metrics on
        self.dep.vars["oci_registry_metrics_port"] = free_port()

    def run(self):
        started = time.monotonic()
        run = self.dep.playbook("deploy.yml")
        seconds = time.monotonic() - started
        if run.rc != 0:
            raise RuntimeError("deploy.yml failed:\n%s" % run)
        return seconds, run.changed

    def remove(self):
        self.dep.remove()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds per figure (the median is shown)")
    args = parser.parse_args()
    image = os.environ.get("OCI_TEST_DISTRIBUTION_IMAGE", "oci-registry-test/distribution:2.8")
    users = [{"name": "ci", "password": "Ci-" + uuid.uuid4().hex[:16]}]  # the default bcrypt cost (12)
    times = dict((key, []) for key in ("hand first", "hand again", "deploy first", "deploy again"))
    made = []
    try:
        for rnd in range(args.repeat):
            hand, collection = ByHand(image, users), Collection(users)
            made += [hand, collection]
            for label, side in (("hand", hand), ("deploy", collection)):
                seconds, _changed = side.run()
                times[label + " first"].append(seconds)
            for label, side in (("hand", hand), ("deploy", collection)):
                seconds, changed = side.run()
                if changed:
                    raise RuntimeError("%s changed %d things on a re-run" % (label, changed))
                times[label + " again"].append(seconds)
            print("round %d: %s" % (rnd + 1, ", ".join("%s %.1f s" % (k, v[-1]) for k, v in times.items())),
                  flush=True)
            hand.remove()
            collection.remove()
    finally:
        for side in made:
            side.remove()
    median = dict((key, statistics.median(values)) for key, values in times.items())
    print("\ndeploy.yml (default secure Distribution) against a hand-written playbook, median of %d:" % args.repeat)
    for kind, aim in (("first", 1.5), ("again", 2.0)):
        ratio = median["deploy " + kind] / median["hand " + kind]
        print("  %-28s deploy.yml %6.1f s   by hand %6.1f s   %5.2fx  (aim: at most %.1fx)"
              % ("first deploy" if kind == "first" else "re-run, nothing to change", median["deploy " + kind],
                 median["hand " + kind], ratio, aim))


if __name__ == "__main__":
    main()
