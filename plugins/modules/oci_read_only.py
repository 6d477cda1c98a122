#!/usr/bin/python
# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
module: oci_read_only
short_description: Read or set the read-only mode of a Harbor registry through its API
version_added: 0.1.0
description:
  - Reads Harbor's read-only mode (C(GET /api/v2.0/configurations), or C(GET /api/v2.0/systeminfo) for
    users who may not read the configuration) and, with O(read_only), sets it (C(PUT /api/v2.0/configurations)
    with the configuration C(read_only) true or false), then reads it back.
  - In read-only mode Harbor refuses pushes, deletions and garbage collection and keeps serving pulls.
    C(playbooks/backup.yml) sets it while it copies Harbor's data and dumps its database, and always puts
    back the mode Harbor had before.
  - Only O(registry_type=harbor). Distribution's read-only mode is C(storage.maintenance.readonly) in its
    C(config.yml) (role C(provisioning.oci_registry.distribution), C(tasks_from=maintenance.yml)); zot has none.
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
  read_only:
    description:
      - The mode Harbor must be in. Leave it out to only read the mode (never a change).
      - Setting it needs a system administrator.
    type: bool
"""

EXAMPLES = r"""
- name: Harbor read-only while its files are copied
  provisioning.oci_registry.oci_read_only:
    registry_url: https://harbor.example.com
    registry_type: harbor
    username: admin
    password: "{{ vault_harbor_admin_password }}"
    read_only: true
  register: harbor_mode

- name: Back in service (only if it was not read-only before)
  provisioning.oci_registry.oci_read_only:
    registry_url: https://harbor.example.com
    registry_type: harbor
    username: admin
    password: "{{ vault_harbor_admin_password }}"
    read_only: "{{ harbor_mode.previous }}"
"""

RETURN = r"""
read_only:
  description: The mode Harbor is in after the module (in check mode, the mode it would be in).
  returned: always
  type: bool
  sample: true
previous:
  description: The mode Harbor was in before the module.
  returned: always
  type: bool
  sample: false
diff:
  description: Before and after, with C(--diff).
  returned: when changed and in diff mode
  type: dict
  sample: {before: {read_only: false}, after: {read_only: true}}
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
    if params["read_only"] is None:
        before = backend.read_only()
        changed, after = False, before
    else:
        changed, before, after = backend.ensure_read_only(params["read_only"], check_mode=module.check_mode)
    result = dict(changed=changed, read_only=after, previous=before)
    return add_diff(module, result, dict(read_only=before), dict(read_only=after), when_changed=True)


def main():
    run_module(registry_module(dict(read_only=dict(type="bool"))), run)


if __name__ == "__main__":
    main()
