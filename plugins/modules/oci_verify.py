#!/usr/bin/python
# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
module: oci_verify
short_description: List every repository:tag of an OCI registry with its digest, or prove it matches a backup
version_added: 0.1.0
description:
  - Reads every tagged repository of the registry (or those matching O(repositories)) and the digest of the
    manifest each tag resolves to.
  - With O(expected), compares - every expected repository:tag must resolve to the same digest. Any difference
    fails the module with every difference named (unless O(fail_on_difference=false)).
  - Never changes the registry.
author:
  - provisioning.oci_registry maintainers (@provisioning)
extends_documentation_fragment:
  - provisioning.oci_registry._connection
  - provisioning.oci_registry._attributes
  - provisioning.oci_registry._attributes.INFO_MODULE
options:
  repositories:
    description:
      - Glob patterns of the repositories to read. Default is every repository of the catalog.
    type: list
    elements: str
  expected:
    description:
      - What the registry must hold, a mapping of repository to a mapping of tag to digest, for example the
        RV(content) of an earlier run kept in a backup.
    type: dict
  allow_extra:
    description:
      - Whether tags that O(expected) does not list are accepted.
    type: bool
    default: true
  fail_on_difference:
    description:
      - Fail when the registry differs from O(expected).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Record what the registry holds
  provisioning.oci_registry.oci_verify:
    registry_url: https://registry.example.com:5000
    registry_type: distribution
    username: admin
    password: "{{ vault_registry_admin_password }}"
  register: before

- name: After a restore, every repository:tag resolves to the same digest
  provisioning.oci_registry.oci_verify:
    registry_url: https://registry.example.com:5000
    registry_type: distribution
    username: admin
    password: "{{ vault_registry_admin_password }}"
    expected: "{{ before.content }}"
"""

RETURN = r"""
content:
  description: Every tagged repository, a mapping of repository to a mapping of tag to digest.
  returned: always
  type: dict
  sample: {provisioning-test/app: {v1: "sha256:4f3c..."}}
counts:
  description: Numbers of repositories and tags read.
  returned: always
  type: dict
  sample: {repositories: 2, tags: 5}
expected_counts:
  description: Numbers of repositories and tags in O(expected).
  returned: when O(expected) is given
  type: dict
differences:
  description: Every difference from O(expected), one sentence each.
  returned: always
  type: list
  elements: str
matched:
  description: Number of expected repository:tag that resolve to the expected digest.
  returned: when O(expected) is given
  type: int
"""

from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import backend_from_params
from ansible_collections.provisioning.oci_registry.plugins.module_utils._backup import (
    check_expected,
    compare,
    counts,
    inventory,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import OciRegistryError
from ansible_collections.provisioning.oci_registry.plugins.module_utils._module import registry_module


def main():
    module = registry_module(
        dict(
            repositories=dict(type="list", elements="str"),
            expected=dict(type="dict"),
            allow_extra=dict(type="bool", default=True),
            fail_on_difference=dict(type="bool", default=True),
        ),
    )
    params = module.params
    try:
        expected = check_expected(params["expected"]) if params["expected"] is not None else None
        backend = backend_from_params(params)
        content = inventory(backend.oci, params["repositories"])
    except OciRegistryError as exc:
        exc.fail(module, changed=False)
    result = dict(changed=False, content=content, counts=counts(content), differences=[])
    if expected is not None:
        differences = compare(expected, content, extra_ok=params["allow_extra"])
        total = counts(expected)
        result.update(differences=differences, expected_counts=total, matched=total["tags"] - len(
            [d for d in differences if "was not expected" not in d]))
        if differences and params["fail_on_difference"]:
            module.fail_json(msg="the registry differs from what was expected: %d of %d repository:tag match; %s" % (
                result["matched"], total["tags"], "; ".join(differences[:20])
                + (" (and %d more)" % (len(differences) - 20) if len(differences) > 20 else "")), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
