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
  - Also checks the mirrors (C(oci_registry_mirrors)) and replications (C(oci_registry_replications)) of the
    same model, and with O(registry_type) what that type cannot express (for example a Distribution mirror
    without a port); a setting the type only ignores is a warning.
  - Never shows a password; the returned users, mirrors and replications carry a mask instead.
author:
  - provisioning.oci_registry maintainers (@provisioning)
extends_documentation_fragment:
  - provisioning.oci_registry._attributes
  - provisioning.oci_registry._attributes.INFO_MODULE
options:
  users:
    description:
      - The users, a list of mappings each with the keys C(name), C(password), C(admin), C(groups), C(state),
        C(email) and C(password_hash) (V(bcrypt) or V(sha512_crypt), see
        O(provisioning.oci_registry.oci_user#module:password_hash)).
      - With O(registry_type), C(password_hash=sha512_crypt) is refused on V(distribution) and V(harbor), and
        everywhere with a password shorter than 32 characters.
      - Anything but a list is refused with a message naming O(users_variable).
    type: raw
    default: []
  namespaces:
    description:
      - The namespaces, each with the keys C(name), C(description), C(public), C(retention), C(quota_gb),
        C(policies) (a list of C(subjects) and C(actions)), C(scan) (V(null) or C(on_push) and C(block_severity))
        and C(state).
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
  mirrors:
    description:
      - The mirrors (pull-through caches), the shape of C(oci_registry_mirrors); see the mirrors guide for each
        key. Values are checked by the model, which names the entry (C(oci_registry_mirrors[0].url)).
      - The mirror whose C(namespace) equals a namespace of O(namespaces) takes that namespace's access rules,
        which may grant read only.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Unique name (lowercase letters, digits, C(-); at most 32 characters).
        type: raw
      url:
        description: The upstream registry, C(http://) or C(https://), a host and an optional port, no path.
        type: raw
      username:
        description: User name at the upstream registry (with O(mirrors[].password), or neither).
        type: raw
      password:
        description: Password at the upstream registry. Never shown.
        type: raw
      tls_verify:
        description: Whether the upstream's certificate is verified (default V(true)).
        type: raw
      repositories:
        description: Upstream repository globs that may be pulled through (default V(["**"])).
        type: raw
      namespace:
        description: The local namespace the mirror appears under.
        type: raw
      ttl:
        description: How long a cached manifest is trusted, a Go duration such as V(168h) (Distribution).
        type: raw
      port:
        description: The port the access front publishes the mirror on (Distribution, required there).
        type: raw
      state:
        description: V(present) or V(absent) (default V(present)).
        type: raw
  replications:
    description:
      - The replications, the shape of C(oci_registry_replications); see the mirrors guide for each key.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Unique name (lowercase letters, digits, C(-); at most 32 characters).
        type: raw
      direction:
        description: V(pull) (from the remote registry) or V(push) (to it).
        type: raw
      remote:
        description: The other registry.
        type: dict
        suboptions:
          url:
            description: C(http://) or C(https://), a host and an optional port, no path.
            type: raw
          username:
            description: User name at the remote registry (with O(replications[].remote.password), or neither).
            type: raw
          password:
            description: Password at the remote registry. Never shown.
            type: raw
          tls_verify:
            description: Whether the remote's certificate is verified (default V(true)).
            type: raw
      repositories:
        description: Source repository globs (default V(["**"])).
        type: raw
      tags:
        description: Tag globs (default V(["*"])).
        type: raw
      destination_namespace:
        description: Namespace the copies go under (default none, names kept).
        type: raw
      trigger:
        description: V(manual), V(scheduled) or V(on_push) (default V(manual)).
        type: raw
      schedule:
        description: 5-field cron expression, required with trigger V(scheduled) and only then.
        type: raw
      deletions:
        description: Whether deletions propagate (default V(false)).
        type: raw
      state:
        description: V(present) or V(absent) (default V(present)).
        type: raw
  registry_type:
    description:
      - When set, also what this registry type cannot express is refused (errors) or reported (warnings), as
        C(playbooks/deploy.yml) does with C(registry_type).
    type: str
    choices: [zot, harbor, distribution]
  mirrors_variable:
    description:
      - The name errors give to O(mirrors).
    type: str
    default: oci_registry_mirrors
  replications_variable:
    description:
      - The name errors give to O(replications).
    type: str
    default: oci_registry_replications
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

- name: Check the mirrors and replications too, with what Distribution cannot express
  provisioning.oci_registry.oci_access_model:
    users: "{{ oci_registry_users | default([]) }}"
    namespaces: "{{ oci_registry_namespaces | default(omit) }}"
    mirrors: "{{ oci_registry_mirrors | default([]) }}"
    replications: "{{ oci_registry_replications | default([]) }}"
    registry_type: distribution

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
mirrors:
  description: The mirrors, normalized, passwords masked.
  returned: success
  type: list
  elements: dict
  sample:
    - {name: hub, url: "https://registry-1.docker.io", username: null, password: null, tls_verify: true,
       repositories: ["library/**"], namespace: hub, ttl: 168h, port: 5443, state: present}
replications:
  description: The replications, normalized, passwords masked.
  returned: success
  type: list
  elements: dict
  sample:
    - name: to-dr
      direction: push
      remote: {url: "https://dr.example.com", username: robot, password: "********", tls_verify: true}
      repositories: ["provisioning-platform/**"]
      tags: ["*"]
      destination_namespace: null
      trigger: scheduled
      schedule: "0 3 * * *"
      deletions: false
      state: present
problems:
  description: Every problem found (on failure), each naming the entry, for example
    C(oci_registry_users[1].name).
  returned: failure
  type: list
  elements: str
  sample: ["oci_registry_users[1].name: user 'ci' is already listed at oci_registry_users[0]"]
"""

from ansible_collections.provisioning.oci_registry.plugins.module_utils._model import (
    ModelError,
    normalize_mirrors,
    normalize_model,
    normalize_replications,
    public_view,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._module import registry_module, run_module


def _raw(*keys):
    return dict((key, dict(type="raw")) for key in keys)


# Every key is raw: the model checks the values and names the entry; passwords are no_log.
MIRROR_OPTIONS = dict(_raw("name", "url", "username", "tls_verify", "repositories", "namespace", "ttl", "port",
                           "state"), password=dict(type="raw", no_log=True))
REPLICATION_OPTIONS = dict(_raw("name", "direction", "repositories", "tags", "destination_namespace", "trigger",
                                "schedule", "deletions", "state"),
                           remote=dict(type="dict", options=dict(_raw("url", "username", "tls_verify"),
                                                                 password=dict(type="raw", no_log=True))))


def _given(entries):
    """The keys a user wrote (Ansible fills the others with None, which the model reads as its default)."""
    out = []
    for entry in entries or []:
        if isinstance(entry, dict):
            entry = dict((k, _given([v])[0] if isinstance(v, dict) else v) for k, v in entry.items() if v is not None)
        out.append(entry)
    return out


def check_model(params, warnings):
    """Every list at once; all their problems are reported together."""
    problems, result = [], {}
    kind = params["registry_type"]
    try:
        result["users"], result["namespaces"] = normalize_model(
            params["users"], params["namespaces"], params["users_variable"], params["namespaces_variable"],
            require_password=params["require_passwords"], registry_type=kind, warnings=warnings)
    except ModelError as exc:
        problems.extend(exc.problems)
        result["namespaces"] = None
    try:
        result["mirrors"] = normalize_mirrors(_given(params["mirrors"]), params["mirrors_variable"],
                                              namespaces=result["namespaces"], registry_type=kind, warnings=warnings)
    except ModelError as exc:
        problems.extend(exc.problems)
    try:
        result["replications"] = normalize_replications(_given(params["replications"]),
                                                        params["replications_variable"], registry_type=kind,
                                                        warnings=warnings)
    except ModelError as exc:
        problems.extend(exc.problems)
    if problems:
        raise ModelError(problems)
    return result


def run(module):
    warnings = []
    model = check_model(module.params, warnings)
    for warning in warnings:
        module.warn(warning)
    return dict(changed=False, users=public_view(model["users"]), namespaces=model["namespaces"],
                mirrors=public_view(model["mirrors"]), replications=public_view(model["replications"]))


def main():
    module = registry_module(
        dict(
            users=dict(type="raw", default=[]),
            namespaces=dict(type="raw"),
            require_passwords=dict(type="bool", default=False),
            users_variable=dict(type="str", default="oci_registry_users"),
            namespaces_variable=dict(type="str", default="oci_registry_namespaces"),
            mirrors=dict(type="list", elements="dict", default=[], options=MIRROR_OPTIONS),
            replications=dict(type="list", elements="dict", default=[], options=REPLICATION_OPTIONS),
            registry_type=dict(type="str", choices=["zot", "harbor", "distribution"]),
            mirrors_variable=dict(type="str", default="oci_registry_mirrors"),
            replications_variable=dict(type="str", default="oci_registry_replications"),
        ),
        options_kind=None,  # it validates input only: no registry, no requests
        needs_requests=False,
        secrets_in=[("users", "password")],
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
