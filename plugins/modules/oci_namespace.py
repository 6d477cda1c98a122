#!/usr/bin/python
# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
module: oci_namespace
short_description: Manage namespaces of an OCI registry (Zot, Harbor, Distribution)
version_added: 0.1.0
description:
  - Creates, updates and deletes namespaces - one with O(name), or a list with O(namespaces)
    (the shape of the C(oci_registry_namespaces) variable).
  - A namespace is a repository name prefix - V(provisioning-kcl) holds C(provisioning-kcl) and
    C(provisioning-kcl/...). Harbor calls it a project; zot and Distribution's access front hold it as rules.
  - Sets the description, whether anonymous users may pull (O(public)), the storage quota where the registry
    has one (Harbor) and the retention (Harbor, zot). What a registry cannot store or enforce is reported as a
    warning, never dropped silently.
  - Access grants are set with M(provisioning.oci_registry.oci_policy); this module keeps them as they are.
  - Deleting a namespace that still holds content fails unless O(force=true).
author:
  - provisioning.oci_registry maintainers (@provisioning)
extends_documentation_fragment:
  # _access first: its registry_url (not required) takes precedence over the one of _connection.
  - provisioning.oci_registry._access
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
  name:
    description:
      - Namespace name, following the OCI repository name rules (lowercase letters and digits; C(/) between
        path components; C(.), C(_), C(__) or C(-) inside one). Harbor takes one path component only.
      - Mutually exclusive with O(namespaces).
    type: str
  description:
    description:
      - What the namespace is for.
    type: str
    default: ''
  public:
    description:
      - Whether anyone may pull from it without credentials.
    type: bool
    default: false
  quota_gb:
    description:
      - Storage quota in GiB, V(-1) for unlimited. Harbor only; others warn.
      - Not set leaves the quota as it is.
    type: int
  retention:
    description:
      - Tag retention. Not set (or null) means keep everything.
    type: dict
    suboptions:
      keep_tags:
        description: Keep the N most recently pushed tags.
        type: int
      max_age_days:
        description: Keep tags pushed within the last N days.
        type: int
  state:
    description:
      - V(present) creates or updates it, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  namespaces:
    description:
      - Several namespaces at once, each with the keys C(name), C(description), C(public), C(quota_gb),
        C(retention), C(state) (C(policies) is accepted and left to M(provisioning.oci_registry.oci_policy)).
      - Mutually exclusive with O(name).
    type: list
    elements: dict
  force:
    description:
      - Delete a namespace even when it still holds content, and its content with it.
    type: bool
    default: false
seealso:
  - module: provisioning.oci_registry.oci_policy
  - module: provisioning.oci_registry.oci_user
"""

EXAMPLES = r"""
- name: The platform's namespaces on Distribution's access front
  provisioning.oci_registry.oci_namespace:
    registry_url: http://127.0.0.1:5000
    registry_type: distribution
    username: admin
    password: "{{ admin_password }}"
    htpasswd_path: /etc/oci-registry/htpasswd
    front_config_path: /etc/oci-registry/front/nginx.conf
    namespaces: "{{ oci_registry_namespaces }}"

- name: A public Harbor project with a quota and retention
  provisioning.oci_registry.oci_namespace:
    registry_url: https://harbor.example.com
    registry_type: harbor
    username: admin
    password: "{{ vault_harbor_admin_password }}"
    name: provisioning-test
    public: true
    quota_gb: 50
    retention:
      keep_tags: 3
      max_age_days: 7

- name: Delete a namespace and everything in it
  provisioning.oci_registry.oci_namespace:
    registry_url: https://harbor.example.com
    registry_type: harbor
    username: admin
    password: "{{ vault_harbor_admin_password }}"
    name: scratch
    state: absent
    force: true
"""

RETURN = r"""
namespaces:
  description: One entry per namespace handled, in order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Namespace name.
      type: str
    state:
      description: V(present) or V(absent).
      type: str
    changed:
      description: Whether this namespace was (or in check mode would be) changed.
      type: bool
    deleted_repositories:
      description: Repositories deleted with the namespace (O(force=true)).
      type: list
      elements: str
  sample:
    - {name: provisioning-kcl, state: present, changed: true, deleted_repositories: []}
restart_required:
  description: Whether the registry (or Distribution's front, with C(nginx -s reload)) must be restarted
    or reloaded to apply the change.
  returned: always
  type: bool
  sample: true
"""

from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import access_backend
from ansible_collections.provisioning.oci_registry.plugins.module_utils._diff import add_diff
from ansible_collections.provisioning.oci_registry.plugins.module_utils._model import (
    normalize_namespace,
    normalize_namespaces,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._module import (
    ACCESS,
    registry_module,
    run_module,
)


def wanted_namespaces(params):
    if params["namespaces"] is not None:
        return normalize_namespaces(params["namespaces"], "namespaces")
    return [normalize_namespace({"name": params["name"], "description": params["description"],
                                 "public": params["public"], "quota_gb": params["quota_gb"],
                                 "retention": params["retention"], "state": params["state"]}, "name")]


def _view(namespace):
    if namespace is None:
        return None
    return dict((k, namespace.get(k)) for k in ("description", "public", "quota_gb", "retention"))


def run(module):
    backend = access_backend(module)
    params = module.params
    results, before, after, warnings = [], {}, {}, []
    restart = False
    for namespace in wanted_namespaces(params):
        name = namespace["name"]
        if namespace["state"] == "present":
            change = backend.namespace_ensure(namespace, check_mode=module.check_mode)
        else:
            change = backend.namespace_remove(name, force=params["force"], check_mode=module.check_mode)
        restart = restart or change.restart_required
        warnings.extend(change.warnings)
        before[name], after[name] = _view(change.before), _view(change.after)
        results.append({"name": name, "state": namespace["state"], "changed": change.changed,
                        "deleted_repositories": change.extra.get("deleted_repositories", [])})
    for warning in dict.fromkeys(warnings):
        module.warn(warning)
    result = dict(changed=any(r["changed"] for r in results), namespaces=results, restart_required=restart)
    return add_diff(module, result, before, after, drop_none=True)


def main():
    module = registry_module(
        dict(
            name=dict(type="str"),
            description=dict(type="str", default=""),
            public=dict(type="bool", default=False),
            quota_gb=dict(type="int"),
            retention=dict(type="dict", options=dict(keep_tags=dict(type="int"), max_age_days=dict(type="int"))),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            namespaces=dict(type="list", elements="dict"),
            force=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("name", "namespaces")],
        required_one_of=[("name", "namespaces")],
        options_kind=ACCESS,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
