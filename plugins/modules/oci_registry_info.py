#!/usr/bin/python
# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
module: oci_registry_info
short_description: Export a running OCI registry's users, namespaces, policies, content counts and GC settings
version_added: 0.1.0
description:
  - Reads a running registry (zot, Harbor or CNCF Distribution with its access front) and returns its access model
    in exactly the shape of the collection's input variables, C(oci_registry_users) and C(oci_registry_namespaces),
    so that the result can be applied elsewhere with C(playbooks/init.yml) or the modules
    M(provisioning.oci_registry.oci_user), M(provisioning.oci_registry.oci_namespace) and
    M(provisioning.oci_registry.oci_policy). Applied to the same registry it changes nothing.
  - Users are returned with their names and flags (C(admin), C(groups)) only. Passwords cannot be read back; add
    them (for example from a vault) before applying the export to another registry.
  - V(zot) and V(distribution) keep users and rules in files on the registry host (run the module there);
    V(harbor) is read through its API.
  - Also counts repositories and tags (catalog and tag lists, with O(registry_url)) and reports garbage-collection
    settings where the registry has them.
  - With O(gather) V(mirrors) and V(replications), exports the mirrors and replications in the shape of
    C(oci_registry_mirrors) and C(oci_registry_replications), without passwords; a registry type whose backend cannot
    read them back fails saying so. Each namespace carries its C(scan) settings (V(null) when not managed).
author:
  - provisioning.oci_registry maintainers (@provisioning)
extends_documentation_fragment:
  - provisioning.oci_registry._access
  - provisioning.oci_registry._connection
  - provisioning.oci_registry._attributes
  - provisioning.oci_registry._attributes.INFO_MODULE
options:
  gather:
    description:
      - What to read. V(users) and V(namespaces) give the access model, V(repositories) the content counts (needs
        O(registry_url) and credentials that may read the catalog), V(gc) the garbage-collection settings,
        V(mirrors) and V(replications) the pull-through caches and replications.
    type: list
    elements: str
    choices: [users, namespaces, repositories, gc, mirrors, replications]
    default: [users, namespaces]
  exclude_users:
    description:
      - User names left out of the export, typically the administrator the deployment manages itself.
    type: list
    elements: str
    default: []
  replication_dir:
    description:
      - V(distribution) - the directory of the replication job files on the registry host (the role's
        C(distribution_replication_dir)), read for O(gather=replications). Passwords are never read back.
      - Ignored by the other types.
    type: path
    default: /etc/oci-registry/replication
seealso:
  - module: provisioning.oci_registry.oci_user
  - module: provisioning.oci_registry.oci_namespace
  - module: provisioning.oci_registry.oci_policy
"""

EXAMPLES = r"""
- name: Export the access model of a Distribution registry (with its access front)
  provisioning.oci_registry.oci_registry_info:
    registry_type: distribution
    htpasswd_path: /etc/oci-registry/htpasswd
    front_config_path: /etc/oci-registry/front/nginx.conf
    exclude_users: [admin]
  register: exported

- name: Keep the export as the variables of another deployment (add the passwords before applying it)
  ansible.builtin.copy:
    content: "{{ {'oci_registry_users': exported.oci_registry_users,
                  'oci_registry_namespaces': exported.oci_registry_namespaces} | to_nice_yaml }}"
    dest: /srv/exports/registry-access.yml
    mode: "0640"

- name: Count repositories and tags of a zot registry
  provisioning.oci_registry.oci_registry_info:
    registry_url: https://registry.example.com:5000
    registry_type: zot
    username: admin
    password: "{{ vault_admin_password }}"
    config_path: /etc/oci-registry/config.json
    gather: [repositories, gc]
"""

RETURN = r"""
oci_registry_users:
  description: The users, in the shape of the C(oci_registry_users) variable (without passwords), sorted by name.
  returned: when O(gather) contains V(users)
  type: list
  elements: dict
  sample:
    - {name: ci, admin: false, groups: [builders]}
oci_registry_namespaces:
  description: The namespaces with their policies and retention, in the shape of the C(oci_registry_namespaces)
    variable, sorted by name.
  returned: when O(gather) contains V(namespaces)
  type: list
  elements: dict
  sample:
    - name: provisioning-kcl
      description: KCL schemas
      public: false
      retention: {keep_tags: 20, max_age_days: 180}
      quota_gb: null
      policies:
        - {subjects: [authenticated], actions: [read, write]}
      scan: {on_push: true, block_severity: high}
oci_registry_mirrors:
  description:
    - The mirrors, in the shape of the C(oci_registry_mirrors) variable without C(password) (add it before applying
      the export when C(username) is set), sorted by name.
  returned: when O(gather) contains V(mirrors)
  type: list
  elements: dict
  sample:
    - {name: hub, url: "https://registry-1.docker.io", username: null, tls_verify: true,
       repositories: ["library/**"], namespace: hub, ttl: null, port: null}
oci_registry_replications:
  description:
    - The replications, in the shape of the C(oci_registry_replications) variable without the remote's C(password),
      sorted by name.
  returned: when O(gather) contains V(replications)
  type: list
  elements: dict
  sample:
    - name: to-dr
      direction: push
      remote: {url: "https://dr.example.com", username: robot, tls_verify: true}
      repositories: ["provisioning-platform/**"]
      tags: ["*"]
      destination_namespace: null
      trigger: scheduled
      schedule: "0 3 * * *"
      deletions: false
repositories:
  description: Repositories and tags the registry holds.
  returned: when O(gather) contains V(repositories)
  type: dict
  contains:
    count:
      description: Number of repositories in the catalog.
      type: int
    tagged:
      description:
        - Number of repositories that hold at least one tag. Distribution keeps a repository in its catalog after
          its last tag is deleted (an oci_health write probe's, for example).
      type: int
    tags:
      description: Number of tags over all repositories.
      type: int
    items:
      description: Each repository with its tags.
      type: list
      elements: dict
  sample: {count: 1, tagged: 1, tags: 2, items: [{name: provisioning-kcl/app, tags: [v1, v2]}]}
gc:
  description:
    - Garbage-collection settings. zot - C(zot_gc), C(zot_gc_delay), C(zot_gc_interval) (the role's variables);
      Harbor - its schedule (C(type), C(cron)); Distribution - V(null) (it collects garbage only offline).
  returned: when O(gather) contains V(gc)
  type: dict
  sample: {zot_gc: true, zot_gc_delay: 1h, zot_gc_interval: 24h}
"""

from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import access_backend
from ansible_collections.provisioning.oci_registry.plugins.module_utils._info import GATHER, gather
from ansible_collections.provisioning.oci_registry.plugins.module_utils._module import (
    ACCESS,
    registry_module,
    run_module,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._replication import ReplicationOptions


def run(module):
    params = module.params
    backend = access_backend(module).configure_replication(ReplicationOptions(directory=params["replication_dir"]))
    return dict(gather(backend, params["gather"], params["exclude_users"]), changed=False)


def main():
    module = registry_module(
        dict(
            gather=dict(type="list", elements="str", choices=list(GATHER), default=["users", "namespaces"]),
            exclude_users=dict(type="list", elements="str", default=[]),
            replication_dir=dict(type="path", default="/etc/oci-registry/replication"),
        ),
        options_kind=ACCESS,
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
