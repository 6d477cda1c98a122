"""Run one of the collection's modules as Ansible does: a subprocess that reads ANSIBLE_MODULE_ARGS from a file."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")


def run_module_file(module, params, tmp_path, check=False, diff=False):
    """The module's JSON result for ``params`` (check and diff mode as Ansible passes them)."""
    path = os.path.join(COLLECTIONS, "ansible_collections", "provisioning", "oci_registry", "plugins", "modules",
                        module + ".py")
    params = dict(params, _ansible_check_mode=check, _ansible_diff=diff)
    args_file = tmp_path / ("%s-args.json" % module)
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": params}))
    proc = subprocess.run([sys.executable, path, str(args_file)], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=COLLECTIONS), check=False)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("%s printed no JSON: %s %s" % (module, proc.stdout, proc.stderr))
