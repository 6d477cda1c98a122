#!/usr/bin/python
# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
module: oci_mirror
short_description: Make a pull-through cache (mirror) of an upstream registry exist on Harbor
version_added: 0.1.0
description:
  - Applies one entry of C(oci_registry_mirrors) through Harbor's API, as a registry endpoint (C(/registries),
    named O(name)) and a proxy-cache project (O(namespace), created with that endpoint's C(registry_id)).
    Pulling C(<namespace>/<repository>) from Harbor then fetches C(<repository>) from O(url) once and serves
    the cached copy afterwards.
  - Harbor never returns a stored secret (it shows C(*****)), so a changed O(password) alone cannot be seen;
    it is sent when the endpoint is created, and on every run with O(update_password=always).
  - Harbor makes a project a proxy cache only when it creates it, and never moves one to another endpoint;
    a O(namespace) that exists as a regular project, or a new O(namespace) for an existing mirror, is
    refused with a clear error before anything changes. O(state=absent) deletes the proxy-cache project
    with its cached copies, then the endpoint.
  - Only for O(registry_type=harbor). zot's mirrors are its sync extension (the zot role's C(zot_mirrors)),
    Distribution's are proxy-mode registries beside the main one (the distribution role's
    C(distribution_mirrors)); C(playbooks/deploy.yml) sets both from C(oci_registry_mirrors).
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
    details: With O(update_password=always) and an O(upstream_username), the password is sent again and the task reports a change.
options:
  name:
    description:
      - Name of the mirror, and of Harbor's registry endpoint. Lower-case letters, digits and C(-), 1 to 32
        characters, starting and ending with a letter or digit.
    type: str
    required: true
  url:
    description:
      - The upstream registry, C(http://) or C(https://) with no path, for example C(https://registry-1.docker.io).
      - Required with O(state=present).
    type: str
  upstream_username:
    description:
      - User name at the upstream registry (the mirror's C(username) in C(oci_registry_mirrors); O(username) is
        the Harbor user this module connects as). Give O(upstream_password) with it.
    type: str
  upstream_password:
    description: Password at the upstream registry (the mirror's C(password)); never logged nor returned.
    type: str
  tls_verify:
    description: Verify the upstream registry's TLS certificate.
    type: bool
    default: true
  repositories:
    description:
      - Upstream repositories that may be pulled through. A Harbor proxy cache serves every repository of its
        upstream, so only V(["**"]) is accepted on Harbor.
    type: list
    elements: str
    default: ["**"]
  namespace:
    description:
      - The Harbor project the mirror appears under (created as a proxy-cache project). Required with O(state=present).
    type: str
  ttl:
    description: How long a cached manifest is trusted. Harbor has no such setting; a value gives a warning.
    type: str
  port:
    description: Used by Distribution only; a value gives a warning on Harbor.
    type: int
  update_password:
    description:
      - V(on_create) sends O(upstream_password) only when the endpoint is created; V(always) sends it on every run
        (Harbor never returns it, so it cannot be compared).
    type: str
    choices: [on_create, always]
    default: on_create
  state:
    description: V(present) makes the mirror exist as given; V(absent) removes its project and endpoint.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: provisioning.oci_registry.oci_namespace
  - module: provisioning.oci_registry.oci_registry_info
"""

EXAMPLES = r"""
- name: Cache Docker Hub under the project dockerhub
  provisioning.oci_registry.oci_mirror:
    registry_url: https://harbor.example.com
    registry_type: harbor
    username: admin
    password: "{{ vault_harbor_admin_password }}"
    name: hub
    url: https://registry-1.docker.io
    namespace: dockerhub

- name: A private upstream with credentials
  provisioning.oci_registry.oci_mirror:
    registry_url: https://harbor.example.com
    registry_type: harbor
    username: admin
    password: "{{ vault_harbor_admin_password }}"
    name: vendor
    url: https://registry.vendor.example
    upstream_username: puller
    upstream_password: "{{ vault_vendor_password }}"
    namespace: vendor-cache
"""

RETURN = r"""
mirror:
  description:
    - The mirror after the task (in check mode, as it would be), in the shape of C(oci_registry_mirrors); never a password.
    - V(null) after O(state=absent).
  returned: always
  type: dict
  sample:
    name: hub
    url: https://registry-1.docker.io
    username: null
    password: null
    tls_verify: true
    repositories: ["**"]
    namespace: dockerhub
    ttl: null
    port: null
    state: present
password_changed:
  description: Whether the upstream password was sent (a new endpoint, or O(update_password=always)).
  returned: always
  type: bool
"""

from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import backend_from_params
from ansible_collections.provisioning.oci_registry.plugins.module_utils._diff import add_diff
from ansible_collections.provisioning.oci_registry.plugins.module_utils._model import check_entry_name, normalize_mirror
from ansible_collections.provisioning.oci_registry.plugins.module_utils._module import registry_module, run_module


def mirror_entry(params):
    """The normalized mirror of the module's options (the model's rules, every problem named at once, before
    anything changes); with state absent only the name matters."""
    if params["state"] == "absent":
        return {"name": check_entry_name(params["name"]), "url": None, "username": None, "password": None,
                "tls_verify": True, "repositories": ["**"], "namespace": params["namespace"], "ttl": None,
                "port": None, "state": "absent"}
    return normalize_mirror({
        "name": params["name"], "url": params["url"], "username": params["upstream_username"],
        "password": params["upstream_password"], "tls_verify": params["tls_verify"],
        "repositories": params["repositories"], "namespace": params["namespace"], "ttl": params["ttl"],
        "port": params["port"], "state": "present"}, "oci_mirror")


def run(module, backend):
    params = module.params
    entry = mirror_entry(params)
    change = backend.mirror_ensure(entry, check_mode=module.check_mode, update_password=params["update_password"])
    for warning in change.warnings:
        module.warn(warning)
    result = dict(changed=change.changed, mirror=change.after, password_changed=change.password_changed)
    return add_diff(module, result, change.before, change.after)


def main():
    module = registry_module(dict(
        name=dict(type="str", required=True),
        url=dict(type="str"),
        upstream_username=dict(type="str"),
        upstream_password=dict(type="str", no_log=True),
        tls_verify=dict(type="bool", default=True),
        repositories=dict(type="list", elements="str", default=["**"]),
        namespace=dict(type="str"),
        ttl=dict(type="str"),
        port=dict(type="int"),
        update_password=dict(type="str", default="on_create", choices=["on_create", "always"], no_log=False),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    ))
    run_module(module, lambda module: run(module, backend_from_params(module.params)))


if __name__ == "__main__":
    main()
