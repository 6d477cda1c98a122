"""The distribution role's entry points for the task files the playbooks run with include_role + tasks_from
(maintenance, gc, snapshot, rollback): each declares the variables its file reads, and ansible-playbook refuses
wrong input with a message naming the variable before the file's first task runs."""

import json
import os
import re

import pytest
import yaml

from tests.unit.harbor.test_harbor_playbooks import ROOT, _failed_tasks, _task_name, run_playbook

ROLE = os.path.join(ROOT, "roles", "distribution")
# What each file sets for its caller (not an input).
SETS = {"maintenance": {"distribution_maintenance"}, "gc": {"distribution_gc", "distribution_gc_cache_stale"},
        "snapshot": {"distribution_snapshot"}, "rollback": {"distribution_rollback"}}
# Variables a file reads through the role's internal ones (vars/main.yml).
THROUGH_INTERNAL = {"_distribution_config_file": {"distribution_config_dir"},
                    "_distribution_health_url": {"distribution_bind_address", "distribution_port"},
                    "_distribution_webhooks_secret": {"distribution_webhooks"}}


def specs():
    with open(os.path.join(ROLE, "meta", "argument_specs.yml")) as handle:
        return yaml.safe_load(handle)["argument_specs"]


def reads(entry):
    """Public variables tasks/<entry>.yml reads, directly or through the internal ones above."""
    with open(os.path.join(ROLE, "tasks", entry + ".yml")) as handle:
        text = handle.read()
    names = set(re.findall(r"(?<![_\w])distribution_[a-z_]+", text)) - SETS[entry]
    for internal, public in THROUGH_INTERNAL.items():
        if internal in text:
            names |= public
    return names


@pytest.mark.parametrize("entry", sorted(SETS))
def test_every_variable_the_file_reads_is_declared(entry):
    options = specs()[entry + ".yml"]["options"]
    assert specs()[entry] == specs()[entry + ".yml"]
    if entry == "gc":  # gc.yml runs maintenance.yml and sets distribution_maintenance_read_only itself
        expected = (reads("gc") | reads("maintenance")) - {"distribution_maintenance_read_only"}
    elif entry == "rollback":  # rollback.yml runs run.yml with the main entry point's options
        expected = reads("rollback") - {"distribution_image"}
    else:
        expected = reads(entry)
    assert sorted(expected - set(options)) == [], "tasks/%s.yml reads undeclared variables" % entry
    # A shared option is the main entry point's, word for word.
    for name, spec in options.items():
        if name in specs()["main"]["options"]:
            assert spec == specs()["main"]["options"][name], name


def entry_play(entry, variables, tmp_path=None, suffix=".yml"):
    # Never the machine's own registry: a container name and a config directory of the test's own.
    variables = dict({"distribution_container_name": "oci-entry-point-none",
                      "distribution_config_dir": str(tmp_path / "etc") if tmp_path else "/nonexistent/oci-entry-point"},
                     **variables)
    return {"name": "Entry point", "hosts": "localhost", "gather_facts": False, "connection": "local",
            "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
            "tasks": [{"name": "Run " + entry, "ansible.builtin.include_role": {
                "name": "provisioning.oci_registry.distribution", "tasks_from": entry + suffix}, "vars": variables}]}


@pytest.mark.parametrize("entry,variables,fragment", [
    ("maintenance", {"distribution_admin_password": "S3cret-pass", "distribution_maintenance_read_only": "sometimes"},
     "distribution_maintenance_read_only"),
    ("maintenance", {"distribution_admin_password": "S3cret-pass"}, "distribution_maintenance_read_only"),
    ("gc", {"distribution_admin_password": "S3cret-pass", "distribution_gc_delete_untagged": "perhaps"},
     "distribution_gc_delete_untagged"),
    ("gc", {"distribution_admin_password": "S3cret-pass", "distribution_health_retries": "many"},
     "distribution_health_retries"),
    ("rollback", {"distribution_admin_password": "S3cret-pass", "distribution_gate_url": "http://127.0.0.1:1",
                  "distribution_snapshot": "registry:2"}, "distribution_snapshot"),
    ("rollback", {"distribution_admin_password": "S3cret-pass", "distribution_gate_url": "http://127.0.0.1:1",
                  "distribution_snapshot": {"image": "registry:2"}}, "config"),
    ("rollback", {"distribution_admin_password": "S3cret-pass", "distribution_snapshot": {"image": "", "config": ""}},
     "distribution_gate_url"),
])
def test_wrong_input_refused_before_the_first_task(tmp_path, entry, variables, fragment):
    refused(tmp_path, entry, variables, fragment)


def test_without_the_extension_too(tmp_path):
    refused(tmp_path, "maintenance", {"distribution_admin_password": "S3cret-pass",
                                      "distribution_maintenance_read_only": "sometimes"},
            "distribution_maintenance_read_only", suffix="")


def refused(tmp_path, entry, variables, fragment, suffix=".yml"):
    code, output = run_playbook(tmp_path, [entry_play(entry, variables, tmp_path, suffix)])
    assert code != 0
    tasks = [_task_name(t) for p in output["plays"] for t in p["tasks"]]
    failed = _failed_tasks(output)
    assert failed == [tasks[-1]] and "argument" in tasks[-1].lower(), tasks
    message = json.dumps([t["hosts"]["localhost"].get("msg") for p in output["plays"] for t in p["tasks"]
                          if t["hosts"].get("localhost", {}).get("failed")])
    assert fragment in message, message
    assert "arg spec '%s%s'" % (entry, suffix) in tasks[-1], tasks[-1]
    assert not any(name.split(" | ")[0] in ("Maintenance", "GC", "Snapshot", "Rollback") for name in tasks), tasks
    assert "S3cret-pass" not in json.dumps(output)


def test_right_input_passes(tmp_path):
    # snapshot only reads: a container and a config.yml that do not exist give an empty snapshot; rollback of an
    # empty snapshot (a first deployment) has nothing to put back. Both as deploy.yml calls them.
    play = entry_play("snapshot", {}, tmp_path)
    play["tasks"] += entry_play("rollback", {"distribution_admin_password": "S3cret-pass",
                                             "distribution_gate_url": "http://127.0.0.1:1",
                                             "distribution_gate_ca_path": ""}, tmp_path)["tasks"]
    play["tasks"].append({"name": "Show", "ansible.builtin.debug": {"var": "distribution_rollback"}})
    code, output = run_playbook(tmp_path, [play])
    assert code == 0, output
    tasks = [_task_name(t) for p in output["plays"] for t in p["tasks"]]
    for entry in ("snapshot", "rollback"):
        assert [t for t in tasks if t.startswith("Validating arguments against arg spec '%s.yml'" % entry)], tasks
    last = output["plays"][0]["tasks"][-1]["hosts"]["localhost"]
    assert last["distribution_rollback"]["image"] == "" and last["distribution_rollback"]["config"] is False
