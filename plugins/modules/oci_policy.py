#!/usr/bin/python
# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
module: oci_policy
short_description: Set who may read, write, delete in a namespace of an OCI registry
version_added: 0.1.0
description:
  - Makes a namespace's grants exactly O(policies) - for one O(namespace), or for every entry of O(namespaces)
    (the C(oci_registry_namespaces) variable, each with its C(policies)).
  - Subjects are user names, C(group:<name>), C(authenticated) (any user who logged in) and C(anonymous)
    (no credentials; read only). Actions are V(read), V(write), V(delete) and V(admin); V(write) and V(delete)
    include V(read), since clients read to push or delete.
  - V(zot) - C(http.accessControl) in its config.json (longest matching repository glob wins).
    V(harbor) - project members with roles (read = guest, +write = developer, +delete = maintainer,
    admin = projectAdmin; C(authenticated) = every user in O(managed_users)).
    V(distribution) - the rules of its access front (nginx), by path and HTTP method.
  - A policy may carry C(harbor_role=limitedGuest) with C(actions=[read]) - on Harbor the subjects get the
    limitedGuest role (they pull, but cannot see the project's members, logs or robots) instead of guest; the
    other registry types ignore it. Harbor's limitedGuest members are exported the same way.
  - On Harbor, anonymous read exists only as a public project; a namespace with C(public=false) and an anonymous
    read policy is public (M(provisioning.oci_registry.oci_namespace) warns once). In check mode, a namespace
    that does not exist yet (it is created by the same run) is reported with every grant it would get.
  - Where a registry cannot express a grant exactly (for example delete without write on Harbor), the
    module says so in a warning; it never drops a grant silently.
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
  namespace:
    description:
      - The namespace whose grants are set. It must exist (M(provisioning.oci_registry.oci_namespace)).
      - Mutually exclusive with O(namespaces).
    type: str
  policies:
    description:
      - The grants, each with C(subjects) and C(actions). An empty list removes every grant.
    type: list
    elements: dict
    default: []
  namespaces:
    description:
      - Several namespaces at once, each with C(name) and C(policies) (other keys are ignored; entries with
        C(state=absent) are skipped). Mutually exclusive with O(namespace).
    type: list
    elements: dict
  managed_users:
    description:
      - The users the C(authenticated) subject stands for where a registry must list them one by one (Harbor).
      - Typically the names in C(oci_registry_users) that are present.
    type: list
    elements: str
seealso:
  - module: provisioning.oci_registry.oci_namespace
  - module: provisioning.oci_registry.oci_user
"""

EXAMPLES = r"""
- name: Users may push to provisioning-kcl but not delete there (Distribution's front)
  provisioning.oci_registry.oci_policy:
    registry_type: distribution
    htpasswd_path: /etc/oci-registry/htpasswd
    front_config_path: /etc/oci-registry/front/nginx.conf
    validate_command: >-
      docker run --rm --network none -v /etc/oci-registry:/etc/oci-registry:ro
      nginx:bookworm nginx -t -q -c %s
    namespace: provisioning-kcl
    policies:
      - subjects: [authenticated]
        actions: [read, write]

- name: Every namespace of the access model (zot)
  provisioning.oci_registry.oci_policy:
    registry_type: zot
    htpasswd_path: /etc/oci-registry/htpasswd  # zot_config_dir on the host
    config_path: /etc/oci-registry/config.json
    namespaces: "{{ oci_registry_namespaces }}"
"""

RETURN = r"""
namespaces:
  description: One entry per namespace handled.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Namespace name.
      type: str
    changed:
      description: Whether its grants were (or in check mode would be) changed.
      type: bool
  sample:
    - {name: provisioning-kcl, changed: false}
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
    check_namespace_name,
    check_user_name,
    normalize_namespaces,
    normalize_policies,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._module import (
    ACCESS,
    registry_module,
    run_module,
)


def wanted(params):
    if params["namespaces"] is not None:
        return [(n["name"], n["policies"]) for n in normalize_namespaces(params["namespaces"], "namespaces")
                if n["state"] == "present"]
    return [(check_namespace_name(params["namespace"], "namespace"), normalize_policies(params["policies"],
                                                                                        "policies"))]


def run(module):
    backend = access_backend(module)
    params = module.params
    managed = None
    if params["managed_users"] is not None:
        managed = [check_user_name(n, "managed_users[%d]" % i) for i, n in enumerate(params["managed_users"])]
    results, before, after, warnings = [], {}, {}, []
    restart = False
    for name, policies in wanted(params):
        change = backend.policies_ensure(name, policies, managed_users=managed, check_mode=module.check_mode)
        restart = restart or change.restart_required
        warnings.extend(change.warnings)
        before[name], after[name] = change.before, change.after
        results.append({"name": name, "changed": change.changed})
    for warning in dict.fromkeys(warnings):
        module.warn(warning)
    result = dict(changed=any(r["changed"] for r in results), namespaces=results, restart_required=restart)
    return add_diff(module, result, before, after)


def main():
    module = registry_module(
        dict(
            namespace=dict(type="str"),
            policies=dict(type="list", elements="dict", default=[]),
            namespaces=dict(type="list", elements="dict"),
            managed_users=dict(type="list", elements="str"),
        ),
        mutually_exclusive=[("namespace", "namespaces")],
        required_one_of=[("namespace", "namespaces")],
        options_kind=ACCESS,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
