"""One Harbor API double per test module, and a runner for the collection's playbooks against it.

The playbooks run as a user runs them (ansible-playbook, the shipped inventory's group ``oci_registry``
with localhost on the local connection and the venv's python), with ``oci_registry_url`` pointing at
the double. Nothing here needs Docker: the double is the only stand-in (Harbor's API, validated
against Harbor v2.15.2's swagger by tests/harbor/swagger.py)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid

import pytest
import yaml

from tests.harbor.double import HarborDouble

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ADMIN_PASSWORD = "Harbor-Adm1n-" + uuid.uuid4().hex[:6]


class PlaybookResult:
    def __init__(self, process):
        self.rc = process.returncode
        self.stderr = process.stderr
        try:
            self.data = json.loads(process.stdout)
        except ValueError:
            raise AssertionError("ansible-playbook did not print JSON:\n%s\n%s"
                                 % (process.stdout[-3000:], process.stderr[-3000:]))
        self.text = process.stdout + process.stderr
        stats = self.data.get("stats", {}).get("localhost", {})
        self.changed = stats.get("changed")
        self.failed = stats.get("failures", 0) + stats.get("unreachable", 0)

    def tasks(self, status):
        """Names of the tasks whose result on localhost has ``status`` (changed, failed, skipped)."""
        return [t["task"]["name"] for p in self.data["plays"] for t in p["tasks"]
                if t["hosts"].get("localhost", {}).get(status)]

    def result(self, name):
        for play in self.data["plays"]:
            for task in play["tasks"]:
                if task["task"]["name"] == name and "localhost" in task["hosts"]:
                    return task["hosts"]["localhost"]
        raise AssertionError("task %r did not run; ran: %s" % (name, [t["task"]["name"] for p in self.data["plays"]
                                                                      for t in p["tasks"]]))

    def warnings(self):
        out = []
        for play in self.data["plays"]:
            for task in play["tasks"]:
                for warning in task["hosts"].get("localhost", {}).get("warnings") or []:
                    out.append(warning["event"]["msg"] if isinstance(warning, dict) else warning)
        return out

    def __repr__(self):
        return "PlaybookResult(rc=%s, changed=%s, failed tasks=%s)\n%s" % (
            self.rc, self.changed, self.tasks("failed"), self.text[-5000:])


class HarborPlaybooks:
    """A double started once, a scratch directory, and ``run(playbook, *args, **extra_vars)``."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="oci-harbor-play-")
        self.double = HarborDouble(admin_password=ADMIN_PASSWORD).start()
        self.vars = {
            "registry_type": "harbor",
            "oci_registry_url": self.double.url,
            "oci_registry_admin_password": ADMIN_PASSWORD,
            "oci_registry_tls": False,
            "oci_registry_metrics": False,
            "oci_registry_data_dir": os.path.join(self.dir, "data"),
            "oci_registry_config_dir": os.path.join(self.dir, "etc"),
            "ansible_python_interpreter": sys.executable,
        }

    def run(self, playbook, *args, **overrides):
        path = os.path.join(self.dir, "vars-%s.yml" % uuid.uuid4().hex[:6])
        with open(path, "w") as handle:
            yaml.safe_dump(dict(self.vars, **overrides), handle)
        os.chmod(path, 0o600)
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
                   ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"))
        binary = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
        if not os.path.exists(binary):
            binary = shutil.which("ansible-playbook") or "ansible-playbook"
        process = subprocess.run([binary, os.path.join(ROOT, "playbooks", playbook), "-e", "@" + path] + list(args),
                                 cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
        return PlaybookResult(process)

    def writes(self):
        return self.double.writes()

    def remove(self):
        self.double.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def harbor_playbooks():
    """One double for every test of a module: the tests of a module run in order on the same Harbor."""
    host = HarborPlaybooks()
    try:
        yield host
        assert host.double.violations == [], "the Harbor double saw swagger violations:\n" + "\n".join(
            host.double.violations)
    finally:
        host.remove()
