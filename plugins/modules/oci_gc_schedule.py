#!/usr/bin/python
# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
module: oci_gc_schedule
short_description: Set or remove the recurring garbage collection schedule of a Harbor registry
version_added: 0.1.0
description:
  - Makes Harbor's recurring garbage collection (C(GET), C(POST) and C(PUT /api/v2.0/system/gc/schedule)) run on
    O(cron) with O(delete_untagged) and O(workers), or, with O(state=absent), removes the schedule (type C(None)).
  - Nothing is written when Harbor already has that schedule, and nothing at all in check mode.
  - To run a garbage collection now and wait for it, use M(provisioning.oci_registry.oci_gc).
  - Only O(registry_type=harbor). zot collects garbage on its own interval (C(storage.gcInterval), set by the zot
    role and M(provisioning.oci_registry.oci_gc)); Distribution collects garbage only offline (C(playbooks/gc.yml)).
  - Needs a Harbor system administrator.
author:
  - provisioning.oci_registry maintainers (@provisioning)
extends_documentation_fragment:
  - provisioning.oci_registry._connection
  - provisioning.oci_registry._attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  cron:
    description:
      - When garbage collection runs, as Harbor's six-field cron (seconds minutes hours day-of-month month
        day-of-week), for example C(0 0 2 * * 6) for Saturdays at 02:00 (Harbor's time zone, UTC by default).
      - Required with O(state=present).
    type: str
  delete_untagged:
    description:
      - Whether each run also deletes untagged artifacts (Harbor's C(delete_untagged) job parameter).
    type: bool
    default: false
  workers:
    description:
      - How many workers delete blobs in parallel (Harbor accepts 1 to 10).
    type: int
    default: 1
  state:
    description:
      - V(present) sets the schedule, V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: Harbor collects garbage every Saturday at 02:00
  provisioning.oci_registry.oci_gc_schedule:
    registry_url: https://harbor.example.com
    registry_type: harbor
    username: admin
    password: "{{ vault_harbor_admin_password }}"
    cron: "0 0 2 * * 6"

- name: No recurring garbage collection
  provisioning.oci_registry.oci_gc_schedule:
    registry_url: https://harbor.example.com
    registry_type: harbor
    username: admin
    password: "{{ vault_harbor_admin_password }}"
    state: absent
"""

RETURN = r"""
schedule:
  description: The schedule Harbor has after the module (in check mode, the one it would have); null when none.
  returned: always
  type: dict
  sample: {type: Custom, cron: "0 0 2 * * 6", parameters: {delete_untagged: false, workers: 1}}
previous:
  description: The schedule Harbor had before the module; null when none.
  returned: always
  type: dict
  sample: null
diff:
  description: Before and after, with C(--diff).
  returned: when changed and in diff mode
  type: dict
  sample: {before: {schedule: null}, after: {schedule: {type: Custom, cron: "0 0 2 * * 6"}}}
"""

from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import backend_from_params
from ansible_collections.provisioning.oci_registry.plugins.module_utils._diff import add_diff
from ansible_collections.provisioning.oci_registry.plugins.module_utils._module import (
    registry_module,
    run_module,
)


def run(module):
    params = module.params
    backend = backend_from_params(params)
    cron = params["cron"] if params["state"] == "present" else None
    changed, before, after = backend.ensure_gc_schedule(cron=cron, delete_untagged=params["delete_untagged"],
                                                        workers=params["workers"], check_mode=module.check_mode)
    result = dict(changed=changed, schedule=after, previous=before)
    return add_diff(module, result, dict(schedule=before), dict(schedule=after), when_changed=True)


def main():
    module = registry_module(dict(cron=dict(type="str"), delete_untagged=dict(type="bool", default=False),
                                  workers=dict(type="int", default=1),
                                  state=dict(type="str", choices=["present", "absent"], default="present")),
                             required_if=[("state", "present", ("cron",))])
    run_module(module, run)


if __name__ == "__main__":
    main()
