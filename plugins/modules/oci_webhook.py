#!/usr/bin/python
# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
module: oci_webhook
short_description: Set the webhook policies of Harbor projects from oci_registry_webhooks
version_added: 0.1.0
description:
  - Makes the webhook policies named in O(webhooks) exist, as given, in every project of O(namespaces), through
    Harbor's API (C(/projects/{id}/webhook/policies)). With O(exclusive=true) it also deletes the policies of
    those projects that O(webhooks) does not name.
  - Each webhook is C({name, url, headers, events}), the shape of C(oci_registry_webhooks). Events C(push),
    C(pull) and C(delete) become Harbor's C(PUSH_ARTIFACT), C(PULL_ARTIFACT) and C(DELETE_ARTIFACT).
    Harbor sends one header of a webhook's choice, C(Authorization) (its C(auth_header)); any other header is
    refused, never dropped silently.
  - Only for O(registry_type=harbor). CNCF Distribution takes webhooks in its configuration (the distribution
    role's C(distribution_webhooks), set by playbooks/deploy.yml from C(oci_registry_webhooks)); so does zot (the zot
    role's C(zot_webhooks), rendered as HTTP sinks of its events extension, also set by playbooks/deploy.yml).
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
  namespaces:
    description:
      - Names of the Harbor projects whose webhook policies are set. Each must exist.
    type: list
    elements: str
    required: true
  webhooks:
    description:
      - The webhooks, as in C(oci_registry_webhooks).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the policy in each project.
        type: str
        required: true
      url:
        description: http or https URL Harbor posts the events to.
        type: str
        required: true
      headers:
        description:
          - Headers to send. Harbor supports only C(Authorization); its value is a secret (not logged, masked in diff).
        type: dict
        default: {}
      events:
        description: Events that trigger the webhook.
        type: list
        elements: str
        choices: [push, pull, delete]
        default: [push, delete]
  exclusive:
    description:
      - Delete the webhook policies of the projects that O(webhooks) does not name.
    type: bool
    default: false
seealso:
  - module: provisioning.oci_registry.oci_registry_info
"""

EXAMPLES = r"""
- name: Tell CI about pushes to two projects
  provisioning.oci_registry.oci_webhook:
    registry_url: https://harbor.example.com
    registry_type: harbor
    username: admin
    password: "{{ vault_harbor_admin_password }}"
    namespaces: [provisioning-extensions, provisioning-kcl]
    webhooks: "{{ oci_registry_webhooks }}"
"""

RETURN = r"""
namespaces:
  description: One entry per project, with the webhook policies created, updated and deleted there.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Project name.
      type: str
    created:
      description: Names of the policies created.
      type: list
      elements: str
    updated:
      description: Names of the policies updated.
      type: list
      elements: str
    deleted:
      description: Names of the policies deleted (O(exclusive=true)).
      type: list
      elements: str
  sample:
    - {name: provisioning-kcl, created: [ci], updated: [], deleted: []}
"""

from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import backend_from_params
from ansible_collections.provisioning.oci_registry.plugins.module_utils._diff import add_diff
from ansible_collections.provisioning.oci_registry.plugins.module_utils._module import (
    registry_module,
    run_module,
)

EVENTS = ("push", "pull", "delete")


def run(module):
    params = module.params
    backend = backend_from_params(params)
    wanted = backend.webhook_policies(params["webhooks"])
    results, before, after = [], {}, {}
    for namespace in params["namespaces"]:
        entry, before[namespace], after[namespace] = backend.webhooks_ensure(
            namespace, wanted, exclusive=params["exclusive"], check_mode=module.check_mode)
        results.append(entry)
    changed = any(e["created"] or e["updated"] or e["deleted"] for e in results)
    return add_diff(module, dict(changed=changed, namespaces=results), before, after)


def main():
    module = registry_module(
        dict(
            namespaces=dict(type="list", elements="str", required=True),
            webhooks=dict(type="list", elements="dict", default=[], no_log=False, options=dict(
                name=dict(type="str", required=True),
                url=dict(type="str", required=True),
                headers=dict(type="dict", default={}, no_log=True),
                events=dict(type="list", elements="str", choices=list(EVENTS), default=["push", "delete"]),
            )),
            exclusive=dict(type="bool", default=False),
        ),
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
