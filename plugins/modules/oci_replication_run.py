#!/usr/bin/python
# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
module: oci_replication_run
short_description: Run a replication now and report what it copied
version_added: 0.2.0
description:
  - Runs the replication O(name) (applied before with M(provisioning.oci_registry.oci_replication) or the roles)
    now, waits for it and returns what it copied, by digest. Fails when anything failed, naming it.
  - V(distribution) - runs the same command as its timer or cron entry, on the registry host (the host the module
    runs on), and reads the report that run wrote.
  - Other registry types run it through their own backend where they can, and fail saying so where not.
  - C(playbooks/replicate.yml) runs one replication or all of them with this module.
author:
  - provisioning.oci_registry maintainers (@provisioning)
extends_documentation_fragment:
  - provisioning.oci_registry._connection
  - provisioning.oci_registry._replication
  - provisioning.oci_registry._attributes
attributes:
  check_mode:
    support: partial
    details: A replication cannot be run without copying; in check mode the module runs nothing and says so.
  diff_mode:
    support: none
  idempotent:
    support: none
    details: Each run copies what the destination lacks; a second run right after copies nothing and reports no
      change.
options:
  name:
    description:
      - Name of the replication.
    type: str
    required: true
  wait_timeout:
    description:
      - Seconds to wait for the run to finish.
    type: int
    default: 600
"""

EXAMPLES = r"""
- name: Run the nightly replication now
  provisioning.oci_registry.oci_replication_run:
    registry_url: http://127.0.0.1:5000
    registry_type: distribution
    username: admin
    password: "{{ vault_registry_admin_password }}"
    name: from-central
  register: run

- name: Show what it copied
  ansible.builtin.debug:
    msg: "{{ run.copied | map(attribute='repository') | list }}"
"""

RETURN = r"""
status:
  description: How the run ended, V(succeeded) or V(failed) (the type's own word where it has one).
  returned: always
  type: str
  sample: succeeded
copied:
  description:
    - The tags copied by this run.
    - V(harbor) - Harbor's replication tasks report a repository and how many items it copied, not which tags;
      there RV(copied[].tag) and RV(copied[].digest) are null and C(items) holds the count.
  returned: always
  type: list
  elements: dict
  contains:
    repository:
      description: Source repository.
      type: str
    destination_repository:
      description: Destination repository (with the destination namespace).
      type: str
    tag:
      description: The tag.
      type: str
    digest:
      description: Digest of the copied manifest, the same on both sides.
      type: str
  sample: [{repository: team/app, destination_repository: mirror/team/app, tag: v1, digest: "sha256:4b1e..."}]
failed:
  description: How many repositories or tags failed.
  returned: always
  type: int
  sample: 0
errors:
  description: One message per failure.
  returned: when the type reports them
  type: list
  elements: str
report_path:
  description: V(distribution) - the report file of the run on the registry host.
  returned: when registry_type is distribution
  type: str
metrics_path:
  description: V(distribution) - the Prometheus textfile the run wrote.
  returned: when registry_type is distribution
  type: str
"""

from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import backend_from_params
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import OciRegistryError
from ansible_collections.provisioning.oci_registry.plugins.module_utils._module import registry_module
from ansible_collections.provisioning.oci_registry.plugins.module_utils._replication import (
    REPLICATION_FILE_ARGSPEC,
    options_from_params,
)


def main():
    module = registry_module(dict(
        name=dict(type="str", required=True),
        wait_timeout=dict(type="int", default=600),
        **REPLICATION_FILE_ARGSPEC
    ))
    params = module.params
    if module.check_mode:
        module.exit_json(changed=False, skipped=True, msg="a replication cannot be run in check mode",
                         status="not run", copied=[], failed=0)
    try:
        backend = backend_from_params(params).configure_replication(options_from_params(params))
        result = backend.replication_run(params["name"], wait=True, timeout=params["wait_timeout"])
    except OciRegistryError as exc:
        exc.fail(module, changed=False)
    result = dict(result, changed=bool(result.get("copied")))
    if result.get("failed"):
        module.fail_json(msg="replication %r: %d failure(s): %s"
                         % (params["name"], result["failed"], "; ".join(result.get("errors") or [])), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
