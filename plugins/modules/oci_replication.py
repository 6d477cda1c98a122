#!/usr/bin/python
# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
module: oci_replication
short_description: Make one replication (push to or pull from another registry) exist as given, or be absent
version_added: 0.2.0
description:
  - Applies one entry of C(oci_registry_replications) to the registry at O(registry_url).
  - V(distribution) - a job file on the registry host (the host the module runs on) that the collection's sync
    engine (the one of M(provisioning.oci_registry.oci_sync)) runs from; with O(trigger=scheduled), a systemd
    timer or a cron entry runs it on O(schedule). Each run writes a report and a Prometheus textfile. The
    connection options (O(registry_url), O(username), O(password), O(validate_certs), O(ca_path)) are those the
    job uses to reach this registry, from the registry host.
  - Other registry types apply it through their own backend where they have one, and fail saying so where not.
  - To run a replication now, use M(provisioning.oci_registry.oci_replication_run) (C(playbooks/replicate.yml)).
  - Passwords are never shown; the diff shows C(********) where one is set.
author:
  - provisioning.oci_registry maintainers (@provisioning)
extends_documentation_fragment:
  - provisioning.oci_registry._connection
  - provisioning.oci_registry._replication
  - provisioning.oci_registry._attributes
attributes:
  check_mode:
    support: full
    details: Reports what would be written (files, schedule) and writes nothing.
  diff_mode:
    support: full
    details: The entry before and after, passwords masked.
  idempotent:
    support: full
options:
  name:
    description:
      - Name of the replication, unique on the registry; 1 to 32 lowercase letters, digits or C(-), starting and
        ending with a letter or digit (it names files and units).
    type: str
    required: true
  direction:
    description:
      - V(pull) copies from O(remote) into this registry; V(push) copies from this registry to O(remote).
      - Required with O(state=present).
    type: str
    choices: [pull, push]
  remote:
    description:
      - The other registry.
      - Required with O(state=present).
    type: dict
    suboptions:
      url:
        description:
          - Its base URL, C(http://) or C(https://), without a path.
        type: str
        required: true
      username:
        description:
          - User on the remote registry. Give it with O(remote.password), or neither for anonymous access.
        type: str
      password:
        description:
          - Password of O(remote.username). Never shown in output, logs, diffs or errors; on V(distribution)
            it is stored only in the job file (mode C(0600)).
        type: str
      tls_verify:
        description:
          - Verify the remote's TLS certificate.
        type: bool
        default: true
  repositories:
    description:
      - Glob patterns of the source repositories to copy (for V(push), this registry's names). C(*) matches
        within one path component, C(**) across components, for example C(provisioning-platform/**).
    type: list
    elements: str
    default: ['**']
  tags:
    description:
      - Glob patterns of the tags to copy in each selected repository.
    type: list
    elements: str
    default: ['*']
  destination_namespace:
    description:
      - When set, a source repository C(<repo>) lands at C(<destination_namespace>/<repo>); else names are kept.
    type: str
  trigger:
    description:
      - V(manual) (run with M(provisioning.oci_registry.oci_replication_run)), V(scheduled) (on O(schedule)),
        or V(on_push) (each push, where the type can; V(distribution) cannot).
    type: str
    choices: [manual, scheduled, on_push]
    default: manual
  schedule:
    description:
      - With O(trigger=scheduled) only, and required there - a 5-field cron expression
        C(minute hour day-of-month month day-of-week) (numbers, C(*), ranges, steps and lists), for example
        C(30 2 * * *).
      - V(distribution) with systemd turns it into the timer's C(OnCalendar); a schedule that restricts both the
        day of month and the day of week cannot be expressed there and is refused.
    type: str
  deletions:
    description:
      - Whether deletions on the source are propagated. V(distribution) never deletes and refuses V(true).
    type: bool
    default: false
  state:
    description:
      - V(present) makes the replication exist as given; V(absent) removes it (on V(distribution) its job file and
        schedule; reports and metrics stay).
    type: str
    choices: [present, absent]
    default: present
  variable:
    description:
      - The name errors give to the entry, for example C(distribution_replications[2]) when a role applies a list.
    type: str
    default: oci_replication
notes:
  - The options are validated together, with every problem named, before anything is written.
seealso:
  - module: provisioning.oci_registry.oci_replication_run
  - module: provisioning.oci_registry.oci_sync
"""

EXAMPLES = r"""
- name: Pull the platform's release tags from the central registry every night at 02:30
  provisioning.oci_registry.oci_replication:
    registry_url: http://127.0.0.1:5000
    registry_type: distribution
    username: admin
    password: "{{ vault_registry_admin_password }}"
    name: from-central
    direction: pull
    remote:
      url: https://central.example.com
      username: replicator
      password: "{{ vault_central_password }}"
    repositories: ["provisioning-platform/**"]
    tags: ["v*"]
    destination_namespace: central
    trigger: scheduled
    schedule: "30 2 * * *"

- name: Remove it
  provisioning.oci_registry.oci_replication:
    registry_url: http://127.0.0.1:5000
    registry_type: distribution
    name: from-central
    state: absent
"""

RETURN = r"""
replication:
  description: The replication after the module (in check mode, as it would be); null when absent. Passwords are
    shown as C(********).
  returned: always
  type: dict
  sample:
    name: from-central
    direction: pull
    remote: {url: https://central.example.com, username: replicator, password: "********", tls_verify: true}
    repositories: ["provisioning-platform/**"]
    tags: ["v*"]
    destination_namespace: central
    trigger: scheduled
    schedule: "30 2 * * *"
    deletions: false
    state: present
previous:
  description: The replication before the module; null when it did not exist.
  returned: always
  type: dict
files:
  description: V(distribution) - the files written (or that would be).
  returned: when registry_type is distribution
  type: list
  elements: str
  sample: [/etc/oci-registry/replication/from-central.json, /etc/cron.d/oci-registry-replication-from-central]
removed:
  description: V(distribution) - the files removed (or that would be).
  returned: when registry_type is distribution
  type: list
  elements: str
commands:
  description: V(distribution) - the systemctl commands run (or that would be).
  returned: when registry_type is distribution
  type: list
  elements: str
scheduler:
  description: V(distribution) - what starts the replication on schedule, V(systemd) or V(cron).
  returned: when registry_type is distribution
  type: str
password_changed:
  description: Whether only a stored password changed (the entry itself did not).
  returned: always
  type: bool
"""

from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import backend_from_params
from ansible_collections.provisioning.oci_registry.plugins.module_utils._diff import add_diff
from ansible_collections.provisioning.oci_registry.plugins.module_utils._model import normalize_replication
from ansible_collections.provisioning.oci_registry.plugins.module_utils._module import registry_module, run_module
from ansible_collections.provisioning.oci_registry.plugins.module_utils._replication import (
    REPLICATION_FILE_ARGSPEC,
    options_from_params,
)

ENTRY_KEYS = ("name", "direction", "remote", "repositories", "tags", "destination_namespace", "trigger", "schedule",
              "deletions", "state")


def run(module):
    params = module.params
    entry = dict((key, params[key]) for key in ENTRY_KEYS)
    if entry["state"] == "absent":
        entry["remote"] = entry["remote"] or {"url": "http://absent.invalid"}
        entry["direction"] = entry["direction"] or "pull"
    replication = normalize_replication(entry, params["variable"], registry_type=params["registry_type"])
    backend = backend_from_params(params).configure_replication(
        options_from_params(params, run_command=module.run_command))
    change = backend.replication_ensure(replication, check_mode=module.check_mode).as_dict()
    for warning in change.pop("warnings"):
        module.warn(warning)
    before, after = change.pop("before"), change.pop("after")
    change.pop("restart_required", None)
    result = dict(change, replication=after, previous=before)
    return add_diff(module, result, before or {}, after or {})


def main():
    module = registry_module(
        dict(
            name=dict(type="str", required=True),
            direction=dict(type="str", choices=["pull", "push"]),
            remote=dict(type="dict", no_log=False, options=dict(
                url=dict(type="str", required=True),
                username=dict(type="str"),
                password=dict(type="str", no_log=True),
                tls_verify=dict(type="bool", default=True),
            )),
            repositories=dict(type="list", elements="str", default=["**"]),
            tags=dict(type="list", elements="str", default=["*"]),
            destination_namespace=dict(type="str"),
            trigger=dict(type="str", default="manual", choices=["manual", "scheduled", "on_push"]),
            schedule=dict(type="str"),
            deletions=dict(type="bool", default=False),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            variable=dict(type="str", default="oci_replication"),
            **REPLICATION_FILE_ARGSPEC
        ),
        required_if=[["state", "present", ["direction", "remote"]]],
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
