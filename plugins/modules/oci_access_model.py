#!/usr/bin/python
# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
module: oci_access_model
short_description: Check an access model (users, namespaces, policies) without touching any registry
version_added: 0.1.0
description:
  - Validates and normalizes the users and namespaces of the access model (the shapes of the C(oci_registry_users)
    and C(oci_registry_namespaces) variables) with the same code that M(provisioning.oci_registry.oci_user),
    M(provisioning.oci_registry.oci_namespace) and M(provisioning.oci_registry.oci_policy) use, and fails naming
    every bad entry (for example C(oci_registry_namespaces[1].policies[0].actions[0])) and what would be valid.
  - Reads no file and contacts no registry, so it runs before anything exists; C(playbooks/deploy.yml) runs it in
    its preflight, for every registry type, before a directory is created or an image is pulled.
  - Never shows a password; the returned users carry a mask instead.
author:
  - provisioning.oci_registry maintainers (@provisioning)
extends_documentation_fragment:
  - provisioning.oci_registry._attributes
  - provisioning.oci_registry._attributes.INFO_MODULE
options:
  users:
    description:
      - The users, a list of mappings each with the keys C(name), C(password), C(admin), C(groups), C(state).
      - Anything but a list is refused with a message naming O(users_variable).
    type: raw
    default: []
  namespaces:
    description:
      - The namespaces, each with the keys C(name), C(description), C(public), C(retention), C(quota_gb),
        C(policies) (a list of C(subjects) and C(actions)) and C(state).
      - When not given, the platform's four namespaces (the default of C(oci_registry_namespaces)).
      - Anything but a list is refused with a message naming O(namespaces_variable).
    type: raw
  require_passwords:
    description:
      - Whether every present user must have a password. When V(false), a user without the key C(password)
        passes (the registry may already have it); an empty password is refused either way.
    type: bool
    default: false
  users_variable:
    description:
      - The name errors give to O(users).
    type: str
    default: oci_registry_users
  namespaces_variable:
    description:
      - The name errors give to O(namespaces).
    type: str
    default: oci_registry_namespaces
seealso:
  - module: provisioning.oci_registry.oci_user
  - module: provisioning.oci_registry.oci_namespace
  - module: provisioning.oci_registry.oci_policy
"""

EXAMPLES = r"""
- name: Refuse a bad access model before anything changes
  provisioning.oci_registry.oci_access_model:
    users: "{{ oci_registry_users | default([]) }}"
    namespaces: "{{ oci_registry_namespaces | default(omit) }}"

- name: Check a model kept under other variable names
  provisioning.oci_registry.oci_access_model:
    users: "{{ team_users }}"
    namespaces: "{{ team_namespaces }}"
    users_variable: team_users
    namespaces_variable: team_namespaces
    require_passwords: true
"""

RETURN = r"""
users:
  description: The users as the modules apply them (normalized), passwords masked.
  returned: success
  type: list
  elements: dict
  sample:
    - {name: ci, password: "********", admin: false, groups: [], state: present}
namespaces:
  description: The namespaces as the modules apply them (normalized).
  returned: success
  type: list
  elements: dict
  sample:
    - name: team-a
      description: ""
      public: true
      retention: {keep_tags: 5, max_age_days: null}
      quota_gb: null
      policies: [{subjects: [ci], actions: [read, write]}]
      state: present
problems:
  description: Every problem found (on failure), each naming the entry, for example
    C(oci_registry_users[1].name).
  returned: failure
  type: list
  elements: str
  sample: ["oci_registry_users[1].name: user 'ci' is already listed at oci_registry_users[0]"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import OciRegistryError
from ansible_collections.provisioning.oci_registry.plugins.module_utils._model import (
    normalize_model,
    public_view,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            users=dict(type="raw", default=[]),
            namespaces=dict(type="raw"),
            require_passwords=dict(type="bool", default=False),
            users_variable=dict(type="str", default="oci_registry_users"),
            namespaces_variable=dict(type="str", default="oci_registry_namespaces"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    # Passwords inside ``users`` are secrets.
    for user in params["users"] if isinstance(params["users"], list) else []:
        if isinstance(user, dict) and isinstance(user.get("password"), str) and user["password"]:
            module.no_log_values.add(user["password"])
    try:
        users, namespaces = normalize_model(params["users"], params["namespaces"], params["users_variable"],
                                            params["namespaces_variable"],
                                            require_password=params["require_passwords"])
    except OciRegistryError as exc:
        exc.fail(module, changed=False)
    module.exit_json(changed=False, users=public_view(users), namespaces=namespaces)


if __name__ == "__main__":
    main()
