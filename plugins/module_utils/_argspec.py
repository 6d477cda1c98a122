# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""Shared argument specs: the connection options every module takes, with env fallbacks."""

from __future__ import annotations

import copy

from ansible.module_utils.basic import env_fallback

REGISTRY_TYPES = ("zot", "harbor", "distribution")

CONNECTION_ARGSPEC = dict(
    registry_url=dict(type="str", required=True, fallback=(env_fallback, ["OCI_REGISTRY_URL"])),
    registry_type=dict(type="str", default="zot", choices=list(REGISTRY_TYPES),
                       fallback=(env_fallback, ["OCI_REGISTRY_TYPE"])),
    username=dict(type="str", fallback=(env_fallback, ["OCI_REGISTRY_USERNAME"])),
    password=dict(type="str", no_log=True, fallback=(env_fallback, ["OCI_REGISTRY_PASSWORD"])),
    validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["OCI_REGISTRY_VALIDATE_CERTS"])),
    ca_path=dict(type="path"),
    client_cert=dict(type="path"),
    client_key=dict(type="path", no_log=False),
    timeout=dict(type="float", default=30),
    retries=dict(type="int", default=3),
)


def connection_argument_spec(**extra):
    """The connection options merged with a module's own options."""
    spec = copy.deepcopy(CONNECTION_ARGSPEC)
    spec.update(extra)
    return spec


CONNECTION_REQUIRED_TOGETHER = [["client_cert", "client_key"]]
