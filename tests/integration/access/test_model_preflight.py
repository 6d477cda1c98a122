"""deploy.yml refuses a bad access model in its preflight, before anything is created: no config or
data directory, no container, no network. Distribution runs live on the test bed; zot and Harbor run the
same preflight (it fails before their roles, so their images are not needed)."""

import json
import os
import re
import subprocess
import textwrap
import uuid

import pytest
import yaml

from .deployment import Deployment

ALICE = {"name": "alice", "password": "Alice-" + uuid.uuid4().hex[:10]}

# (id, users, namespaces, what the message must say: the entry, then the reason)
BAD_MODELS = [
    ("action-push", [ALICE],
     [{"name": "team-a", "policies": [{"subjects": ["alice"], "actions": ["read", "push"]}]}],
     "oci_registry_namespaces[0].policies[0].actions[1]: unknown action 'push'"),
    ("namespace-name", [ALICE],
     [{"name": "Team_A", "policies": [{"subjects": ["alice"], "actions": ["read"]}]}],
     "oci_registry_namespaces[0].name: 'Team_A' (str) is not a valid namespace name"),
    ("empty-password", [{"name": "alice", "password": ""}],
     [{"name": "team-a", "policies": [{"subjects": ["alice"], "actions": ["read"]}]}],
     "oci_registry_users[0].password: is empty"),
    ("duplicate-user", [ALICE, dict(ALICE, password="Other-" + uuid.uuid4().hex[:8])],
     [{"name": "team-a"}],
     "oci_registry_users[1].name: user 'alice' is already listed at oci_registry_users[0]"),
    ("keep-tags-negative", [ALICE],
     [{"name": "team-a", "retention": {"keep_tags": -3}}],
     "oci_registry_namespaces[0].retention.keep_tags: must be a positive integer or null, got -3"),
    ("subject-group-empty", [ALICE],
     [{"name": "team-a", "policies": [{"subjects": ["group:"], "actions": ["read"]}]}],
     "oci_registry_namespaces[0].policies[0].subjects[0]: 'group:': a group name must be"),
]

FATAL = re.compile(r"^fatal: \[[^\]]+\]: FAILED! =>(.*)$", re.MULTILINE)


def _failed_task(output):
    """The name of the task that failed and its result (the first 'fatal:'; JSON or YAML callback)."""
    match = FATAL.search(output)
    assert match, output[-4000:]
    task = re.findall(r"^TASK \[(.+?)\]", output[:match.start()], re.MULTILINE)[-1]
    if match.group(1).strip():
        return task, json.loads(match.group(1))
    block = []
    for line in output[match.end() + 1:].splitlines():
        if line and not line.startswith(" "):
            break
        block.append(line)
    return task, yaml.safe_load(textwrap.dedent("\n".join(block)))


def _nothing_created(dep):
    assert not os.path.exists(dep.config_dir), "config dir %s was created" % dep.config_dir
    assert not os.path.exists(dep.vars["oci_registry_data_dir"]), "data dir was created"
    containers = subprocess.run(["docker", "ps", "-a", "--filter", "name=" + dep.name, "--format", "{{.Names}}"],
                                capture_output=True, text=True, check=True).stdout.split()
    assert containers == [], containers
    networks = subprocess.run(["docker", "network", "ls", "--filter", "name=" + dep.name, "--format", "{{.Name}}"],
                              capture_output=True, text=True, check=True).stdout.split()
    assert networks == [], networks


def _refused_in_preflight(dep, message):
    """deploy.yml fails in the task that checks the access model, with `message`; the run is returned."""
    run = dep.playbook("deploy.yml")
    assert run.rc != 0, run
    task, result = _failed_task(run.output)
    assert task.startswith("Preflight | Check the access model"), (task, run)
    assert message in result["msg"], result["msg"]
    return run


@pytest.mark.parametrize("users,namespaces,message", [m[1:] for m in BAD_MODELS], ids=[m[0] for m in BAD_MODELS])
def test_distribution_refuses_a_bad_model_before_anything_is_created(users, namespaces, message):
    dep = Deployment(users=users, namespaces=namespaces)
    try:
        run = _refused_in_preflight(dep, message)
        # Nothing past the preflight ran.
        assert "TASK [Deploy the registry with its role]" not in run.output, run
        _nothing_created(dep)
        # No password in the output, even the failing entry's.
        for user in users:
            if user.get("password"):
                assert user["password"] not in run.output
    finally:
        dep.remove()


@pytest.mark.parametrize("registry_type", ["zot", "harbor"])
@pytest.mark.parametrize("users,namespaces,message", [BAD_MODELS[0][1:], BAD_MODELS[3][1:]],
                         ids=[BAD_MODELS[0][0], BAD_MODELS[3][0]])
def test_zot_and_harbor_refuse_a_bad_model_in_the_same_preflight(registry_type, users, namespaces, message):
    dep = Deployment(users=users, namespaces=namespaces)
    # No admin password given: the first thing deploy.yml would create is its password file in the config dir.
    dep.vars.pop("oci_registry_admin_password")
    dep.vars["registry_type"] = registry_type
    dep.vars["oci_registry_image"] = "oci-registry-test/absent-%s:never-pulled" % registry_type
    try:
        run = _refused_in_preflight(dep, message)
        assert "Admin password | Create the config directory" not in run.output, run
        _nothing_created(dep)
    finally:
        dep.remove()


# -- mirrors and replications (issue 16): the same preflight, with Distribution's own checks --------
UPSTREAM_PASSWORD = "Upstream-" + uuid.uuid4().hex[:10]
BAD_MIRRORS = [
    ("mirror-without-port",
     {"oci_registry_mirrors": [{"name": "hub", "url": "https://registry-1.docker.io", "namespace": "hub",
                                "username": "puller", "password": UPSTREAM_PASSWORD}]},
     "oci_registry_mirrors[0].port: is required on Distribution"),
    ("replication-on-push",
     {"oci_registry_replications": [{"name": "to-dr", "direction": "push", "trigger": "on_push",
                                     "remote": {"url": "https://dr.example.com", "username": "robot",
                                                "password": UPSTREAM_PASSWORD}}]},
     "oci_registry_replications[0].trigger: Distribution cannot replicate on push"),
]


@pytest.mark.parametrize("overrides,message", [m[1:] for m in BAD_MIRRORS], ids=[m[0] for m in BAD_MIRRORS])
def test_distribution_refuses_a_bad_mirror_or_replication_before_anything_is_created(overrides, message):
    dep = Deployment(users=[ALICE], namespaces=[{"name": "team-a"}])
    dep.vars.update(overrides)
    try:
        run = _refused_in_preflight(dep, message)
        assert "TASK [Deploy the registry with its role]" not in run.output, run
        _nothing_created(dep)
        assert UPSTREAM_PASSWORD not in run.output
    finally:
        dep.remove()


def test_distribution_role_refuses_a_mirror_without_the_access_front():
    """A valid mirror passes the model; the distribution role's preflight then refuses it by name when the
    access front (which publishes mirrors) is off: no container, no password shown."""
    dep = Deployment(users=[ALICE], namespaces=[{"name": "team-a"}])
    dep.vars["oci_registry_mirrors"] = [{"name": "hub", "url": "https://registry-1.docker.io", "namespace": "hub",
                                         "port": 5443, "username": "puller", "password": UPSTREAM_PASSWORD}]
    try:
        run = dep.playbook("deploy.yml", "-e", "distribution_access_front=false")
        assert run.rc != 0, run
        task, result = _failed_task(run.output)
        assert task.endswith("Preflight | Mirrors need the access front"), (task, run)
        assert "present mirror(s) hub" in result["msg"], result["msg"]
        assert "distribution_access_front is false" in result["msg"], result["msg"]
        assert UPSTREAM_PASSWORD not in run.output
        containers = subprocess.run(["docker", "ps", "-a", "--filter", "name=" + dep.name, "--format", "{{.Names}}"],
                                    capture_output=True, text=True, check=True).stdout.split()
        assert containers == [], containers
    finally:
        dep.remove()
