"""Run the harbor role's render step (tasks/render.yml) on this machine, for the tests of the harbor.yml it writes."""

import os
import shutil
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def play(name, tasks):
    return [{"name": name, "hosts": "localhost", "gather_facts": False, "connection": "local",
             "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"}, "tasks": tasks}]


def run_playbook(playbook, directory, transform=None):
    """ansible-playbook on localhost with the checkout's collection; ``transform`` edits the YAML text first."""
    text = yaml.safe_dump(playbook, sort_keys=False)
    path = directory / "play.yml"
    path.write_text(transform(text) if transform else text)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"),
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    playbook_bin = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    if not os.path.exists(playbook_bin):
        playbook_bin = shutil.which("ansible-playbook")
    return subprocess.run([playbook_bin, "-i", "localhost,", str(path)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def render_cases(cases, base, out, title, transform=None):
    """harbor.yml of each case (its variables over ``base``) rendered by the role into ``out``/<case>.yml.
    Returns the finished ansible-playbook run (it must have succeeded) and the files by case."""
    tasks = []
    for name, case in cases.items():
        variables = dict(base, **case)
        variables["_harbor_render_dest"] = str(out / ("%s.yml" % name))
        tasks.append({"name": "Render %s" % name,
                      "ansible.builtin.include_role": {"name": "provisioning.oci_registry.harbor",
                                                       "tasks_from": "render.yml"},
                      "vars": variables})
    proc = run_playbook(play(title, tasks), out, transform)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc, dict((name, out / ("%s.yml" % name)) for name in cases)
