# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
name: ha_model_check
short_description: What a registry type can do with the high-availability model (storage, Redis, several hosts)
version_added: 0.1.0
description:
  - Checks a registry type against C(oci_registry_storage), C(oci_registry_redis) and the number of registry
    hosts (the inventory group C(oci_registry)), with the rules each registry's own code sets (for example zot
    needs a remote cache on S3, Harbor and Distribution replicas need shared storage).
  - Returns C({errors, warnings}), two lists of sentences, each naming the variable to change. Nothing is
    refused here; C(playbooks/deploy.yml) fails on the errors before anything changes.
  - No secret is ever part of a message.
options:
  _input:
    description: The registry type, C(distribution), C(zot) or C(harbor).
    type: str
    required: true
  storage:
    description: The value of C(oci_registry_storage).
    type: dict
    default: {}
  redis:
    description: The value of C(oci_registry_redis).
    type: dict
    default: {}
  replicas:
    description: The number of registry hosts.
    type: int
    default: 1
  external_database:
    description: Harbor only, the role's C(harbor_external_database) (required with several Harbor hosts).
    type: dict
"""

EXAMPLES = r"""
- name: Refuse what the registry type cannot do
  ansible.builtin.assert:
    that: (checked.errors | length) == 0
    fail_msg: "{{ checked.errors | join('; ') }}"
  vars:
    checked: "{{ 'zot' | provisioning.oci_registry.ha_model_check(storage=oci_registry_storage,
                 redis=oci_registry_redis, replicas=groups['oci_registry'] | length) }}"
"""

RETURN = r"""
_value:
  description: C(errors) and C(warnings), lists of sentences.
  type: dict
"""

from ansible_collections.provisioning.oci_registry.plugins.module_utils._storage_checks import check


def ha_model_check(registry_type, storage=None, redis=None, replicas=1, external_database=None):
    errors, warnings = check(registry_type, storage or {}, redis or {}, int(replicas or 1),
                             external_database=external_database)
    return {"errors": errors, "warnings": warnings}


class FilterModule:
    def filters(self):
        return {"ha_model_check": ha_model_check}
