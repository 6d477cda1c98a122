#!/usr/bin/python
# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
module: oci_health
short_description: Check that an OCI registry (Zot, Harbor, Distribution) is healthy
version_added: 0.1.0
description:
  - Checks that the registry answers the OCI distribution API, that it sends the API version header,
    that the credentials are accepted and that the catalog can be read.
  - Adds the checks of the registry type. Zot - C(/livez), C(/readyz), C(/startupz) and its metrics.
    Distribution - C(/debug/health) and C(/metrics) on its debug listener when O(debug_url) is given.
    Harbor - C(/api/v2.0/health) and each component it reports.
  - With O(write_probe=true), pushes a tiny image, pulls it back, compares digests and deletes it.
  - Never reports a change. Read-only checks run in check mode; the write probe does not.
author:
  - provisioning.oci_registry maintainers (@provisioning)
extends_documentation_fragment:
  - provisioning.oci_registry._connection
  - provisioning.oci_registry._attributes
  - provisioning.oci_registry._attributes.INFO_MODULE
options:
  debug_url:
    description:
      - Base URL of Distribution's debug listener (C(http.debug.addr)), for example C(http://127.0.0.1:5001).
      - Only used with O(registry_type=distribution).
    type: str
  metrics_path:
    description:
      - Path of zot's metrics (its C(extensions.metrics.prometheus.path)), read with the credentials given.
        zot serves it only to the users of its C(accessControl.metrics.users).
      - Only used with O(registry_type=zot). Must start with C(/).
    type: str
    default: /metrics
  write_probe:
    description:
      - Push a tiny image to O(write_probe_repository), pull it back, compare its digests, then delete it.
      - Skipped in check mode.
    type: bool
    default: false
  write_probe_repository:
    description:
      - Repository the write probe pushes to. The user needs push and delete rights there.
    type: str
    default: oci-health/probe
  fail_on_unhealthy:
    description:
      - Fail when any check fails, with a message that names the failing checks.
      - Set to V(false) to only report, for example in a retry loop.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Check a Distribution registry and its debug listener
  provisioning.oci_registry.oci_health:
    registry_url: https://registry.example.com:5000
    registry_type: distribution
    username: admin
    password: "{{ vault_registry_admin_password }}"
    debug_url: http://127.0.0.1:5001

- name: Wait until a freshly deployed zot answers, with a write round trip
  provisioning.oci_registry.oci_health:
    registry_url: http://127.0.0.1:5000
    registry_type: zot
    username: admin
    password: "{{ admin_password }}"
    write_probe: true
    fail_on_unhealthy: false
  register: health
  until: health.healthy
  retries: 30
  delay: 2
"""

RETURN = r"""
healthy:
  description: True when no check failed.
  returned: always
  type: bool
  sample: true
checks:
  description: Every check that was run or skipped, in order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the check, for example V(reachable), V(credentials), V(catalog), V(livez), V(write_probe).
      type: str
    status:
      description: V(ok), V(failed) or V(skipped).
      type: str
    message:
      description: What the check found, or why it failed or was skipped.
      type: str
    latency_ms:
      description: How long the check took, in milliseconds.
      type: float
  sample:
    - {name: reachable, status: ok, message: GET /v2/ answered 401, latency_ms: 3.2}
failed_checks:
  description: Names of the checks that failed.
  returned: always
  type: list
  elements: str
  sample: []
api_version:
  description: Value of the C(Docker-Distribution-API-Version) header, when the registry sent one.
  returned: always
  type: str
  sample: registry/2.0
version:
  description: Software version of the registry where it can be told (Harbor, zot with metrics), else null.
  returned: always
  type: str
  sample: v2.15.2
repositories:
  description: Number of repositories in the catalog, when it could be read.
  returned: when the catalog check passed
  type: int
  sample: 4
"""

from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import backend_from_params
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import OciRegistryError
from ansible_collections.provisioning.oci_registry.plugins.module_utils._health import run_health
from ansible_collections.provisioning.oci_registry.plugins.module_utils._module import registry_module


def main():
    module = registry_module(
        dict(
            debug_url=dict(type="str"),
            metrics_path=dict(type="str", default="/metrics"),
            write_probe=dict(type="bool", default=False),
            write_probe_repository=dict(type="str", default="oci-health/probe"),
            fail_on_unhealthy=dict(type="bool", default=True),
        ),
    )
    params = module.params
    if not params["metrics_path"].startswith("/"):
        module.fail_json(msg="metrics_path must start with / (zot's extensions.metrics.prometheus.path), got %r"
                         % params["metrics_path"], healthy=False)
    try:
        backend = backend_from_params(params)
        backend.metrics_path = params["metrics_path"]
        runner, facts = run_health(backend, debug_url=params["debug_url"], write_probe=params["write_probe"],
                                   probe_repository=params["write_probe_repository"], check_mode=module.check_mode)
        version = backend.version() if runner.healthy else None
    except OciRegistryError as exc:
        exc.fail(module, changed=False, healthy=False)
    result = dict(changed=False, healthy=runner.healthy, checks=runner.checks,
                  failed_checks=[c["name"] for c in runner.failed], api_version=facts.get("api_version"),
                  version=version)
    if "repositories" in facts:
        result["repositories"] = facts["repositories"]
    if params["fail_on_unhealthy"] and not runner.healthy:
        module.fail_json(msg="registry at %s is unhealthy: %s" % (
            backend.client.base_url,
            "; ".join("check '%s' failed: %s" % (c["name"], c["message"]) for c in runner.failed)), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
