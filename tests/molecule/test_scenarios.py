"""Every Molecule scenario under molecule/: `molecule test -s NAME`, one test per scenario.

A scenario is a directory of molecule/ with a molecule.yml; molecule/config.yml is the shared
base every scenario is merged onto. A scenario may list what it needs in molecule/NAME/requires.yml:

    env: [OCI_TEST_ZOT_IMAGE]                  # environment variables that must be set
    images:                                    # images that must be in the local Docker engine
      - ${OCI_TEST_HOST_IMAGE:-oci-registry-test/host:bookworm}
      - ${OCI_TEST_ZOT_IMAGE}

    s3: true                                   # the pytest run's S3 store (see s3_environment)

An environment variable that is not set names a part that cannot be had on every machine (the zot
image, Harbor's installer): the scenario is skipped with the reason (never passed). An image that
is missing from the local engine is a broken test bed (`make bed` builds every image the tests
need, and an image named by a variable that is set must be there): the test fails with the reason.
The whole output of each run is kept in tests/output/molecule-NAME.log.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MOLECULE_DIR = ROOT / "molecule"
BASE_CONFIG = MOLECULE_DIR / "config.yml"
OUTPUT_DIR = ROOT / "tests" / "output"
TAIL_LINES = int(os.environ.get("OCI_MOLECULE_TAIL_LINES", "150"))
TIMEOUT = int(os.environ.get("OCI_MOLECULE_TIMEOUT", "1800"))

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|\x1b\]8;;[^\x1b]*\x1b\\")


# Scenarios long enough to get a test file of their own (test_scenario_<name>.py): with --dist loadfile
# pytest-xdist hands out whole files, and this lets it give such a scenario to a worker apart from the others.
OWN_FILE = ("ha",)


def _scenarios():
    return sorted(path.parent.name for path in MOLECULE_DIR.glob("*/molecule.yml")
                  if path.parent.name not in OWN_FILE)


def interpolate(text, env):
    """${VAR} and ${VAR:-default}, as Molecule reads them (the default also replaces an empty value)."""
    return _VARIABLE.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), text)


def missing_requirements(scenario, env=None):
    """What `scenario` lacks on this machine: (reasons to skip, reasons to fail), both empty when it can run.

    Unset environment variables are reasons to skip; images missing from the engine are reasons to fail.
    """
    env = os.environ if env is None else env
    path = MOLECULE_DIR / scenario / "requires.yml"
    if not path.exists():
        return [], []
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict) or set(data) - {"env", "images", "s3"}:
        raise ValueError("%s: expected a mapping with the keys env, images and s3, got %r" % (path, data))
    skip = ["environment variable %s is not set" % name for name in data.get("env") or [] if not env.get(name)]
    if skip:
        return skip, []
    images = [interpolate(raw, env).strip() for raw in data.get("images") or []]
    if images and shutil.which("docker") is None:
        return [], ["no docker client on PATH to look for the images"]
    fail = []
    for raw, image in zip(data.get("images") or [], images):
        if not image:
            fail.append("image %s names no image (its variable is unset or empty)" % raw)
            continue
        found = subprocess.run(["docker", "image", "inspect", image], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, check=False)
        if found.returncode != 0:
            fail.append("image %s is not in the local Docker engine (run `make bed`)" % image)
    return [], fail


def needs_s3(scenario):
    path = MOLECULE_DIR / scenario / "requires.yml"
    return path.exists() and bool((yaml.safe_load(path.read_text()) or {}).get("s3"))


@contextlib.contextmanager
def s3_environment(request, scenario):
    """For a scenario whose requires.yml says `s3: true`: the run's S3 store (the s3_store fixture, Ceph's radosgw)
    on a Docker network of the scenario's own, and a fresh bucket. Yields the OCI_HA_* variables molecule.yml reads:
    OCI_HA_NETWORK (a unique name; the scenario's platforms join it, Molecule neither makes nor removes it),
    OCI_HA_S3_ENDPOINT (the store's address on that network), OCI_HA_S3_BUCKET, _ACCESS_KEY, _SECRET_KEY, _REGION.
    The store leaves the network afterwards and the network is removed."""
    store = request.getfixturevalue("s3_store")
    network = "oci-%s-%s" % (scenario, uuid.uuid4().hex[:8])
    subprocess.run(["docker", "network", "create", "--label", "oci-registry-test=" + scenario, network],
                   stdout=subprocess.DEVNULL, check=True)
    try:
        subprocess.run(["docker", "network", "connect", network, store["container"]], check=True)
        address = subprocess.run(
            ["docker", "inspect", "-f", '{{ (index .NetworkSettings.Networks "%s").IPAddress }}' % network,
             store["container"]], stdout=subprocess.PIPE, text=True, check=True).stdout.strip()
        yield {
            "OCI_HA_NETWORK": network,
            "OCI_HA_S3_ENDPOINT": "http://%s:7480" % address,
            "OCI_HA_S3_BUCKET": store.bucket(scenario),
            "OCI_HA_S3_ACCESS_KEY": store["access_key"],
            "OCI_HA_S3_SECRET_KEY": store["secret_key"],
            "OCI_HA_S3_REGION": store["region"],
        }
    finally:
        subprocess.run(["docker", "network", "disconnect", "--force", network, store["container"]],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        subprocess.run(["docker", "network", "rm", network], stdout=subprocess.DEVNULL, check=False)


def _tail(output):
    if isinstance(output, bytes):
        output = output.decode("utf-8", "replace")
    lines = _ANSI.sub("", output or "").splitlines()
    return "\n".join(lines[-TAIL_LINES:])


@pytest.mark.integration
@pytest.mark.parametrize("scenario", _scenarios())
def test_molecule_scenario(scenario, request):
    run_scenario(scenario, request)


def run_scenario(scenario, request):
    """`molecule test -s scenario`, with the run's S3 store when the scenario asks for it."""
    with contextlib.ExitStack() as stack:
        env = dict(os.environ)
        if needs_s3(scenario):
            env.update(stack.enter_context(s3_environment(request, scenario)))
        _run_scenario(scenario, env)


def _run_scenario(scenario, env):
    skip, fail = missing_requirements(scenario, env)
    if skip:
        pytest.skip("molecule scenario %r cannot run here: %s" % (scenario, "; ".join(skip)))
    if fail:
        pytest.fail("molecule scenario %r: the test bed is incomplete: %s" % (scenario, "; ".join(fail)),
                    pytrace=False)

    command = [sys.executable, "-m", "molecule", "--base-config", str(BASE_CONFIG), "test", "-s", scenario]
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    log = OUTPUT_DIR / ("molecule-%s.log" % scenario)
    try:
        run = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, timeout=TIMEOUT, check=False, env=env)
    except subprocess.TimeoutExpired as exc:
        log.write_text(exc.output.decode("utf-8", "replace") if isinstance(exc.output, bytes) else exc.output or "")
        pytest.fail("`%s` did not finish within %ss (OCI_MOLECULE_TIMEOUT); last %d lines (all in %s):\n%s"
                    % (" ".join(command[2:]), TIMEOUT, TAIL_LINES, log, _tail(exc.output)), pytrace=False)
    log.write_text(run.stdout)
    if run.returncode != 0:
        pytest.fail("`%s` exited with %d; last %d lines (all in %s):\n%s"
                    % (" ".join(command[2:]), run.returncode, TAIL_LINES, log, _tail(run.stdout)), pytrace=False)
