import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")


@pytest.fixture
def run_module(tmp_path):
    """Run a module of the collection as Ansible does (a subprocess reading ANSIBLE_MODULE_ARGS)."""

    def run(_module, check_mode=False, diff=True, **params):
        params = dict(params, _ansible_check_mode=check_mode, _ansible_diff=diff)
        args = tmp_path / ("args-%s.json" % _module)
        args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": params}))
        env = dict(os.environ, PYTHONPATH=COLLECTIONS)
        process = subprocess.run(
            [sys.executable, "-m", "ansible_collections.provisioning.oci_registry.plugins.modules." + _module, str(args)],
            capture_output=True, text=True, env=env, timeout=120, check=False)
        try:
            result = json.loads(process.stdout)
        except ValueError:
            raise AssertionError("module %s printed no JSON: %s %s" % (_module, process.stdout, process.stderr))
        result["_stdout"] = process.stdout
        return result

    return run


@pytest.fixture
def front_dir(tmp_path):
    """A front directory with its settings, as the distribution role writes it."""
    directory = tmp_path / "front"
    directory.mkdir()
    (directory / "front.json").write_text(json.dumps({"htpasswd_path": str(tmp_path / "htpasswd"),
                                                     "upstream": "registry:5000"}))
    return directory
