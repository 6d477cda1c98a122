# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations


class ModuleDocFragment:
    """Connection options shared by every module that talks to a registry."""

    DOCUMENTATION = r"""
options:
  registry_url:
    description:
      - Base URL of the registry, for example C(https://registry.example.com:5000).
      - If not set, the environment variable E(OCI_REGISTRY_URL) is used.
      - Credentials must not be part of the URL; use O(username) and O(password).
    type: str
    required: true
  registry_type:
    description:
      - Which registry software answers at O(registry_url).
      - Selects the backend used for everything beyond the OCI distribution API.
      - If not set, the environment variable E(OCI_REGISTRY_TYPE) is used.
    type: str
    choices: [zot, harbor, distribution]
    default: zot
  username:
    description:
      - User name for basic authentication and for the token flow.
      - If not set, the environment variable E(OCI_REGISTRY_USERNAME) is used.
    type: str
  password:
    description:
      - Password for O(username).
      - If not set, the environment variable E(OCI_REGISTRY_PASSWORD) is used.
      - Never shown in output, logs or error messages.
    type: str
  validate_certs:
    description:
      - Verify the registry's TLS certificate.
      - If not set, the environment variable E(OCI_REGISTRY_VALIDATE_CERTS) is used.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file with the certificate authorities to trust instead of the system store.
    type: path
  client_cert:
    description:
      - PEM client certificate for mutual TLS. Requires O(client_key).
    type: path
  client_key:
    description:
      - PEM private key of O(client_cert).
    type: path
  timeout:
    description:
      - Seconds to wait for the registry to answer one request.
    type: float
    default: 30
  retries:
    description:
      - How many times a request is tried again after a connection error or an
        answer of 429, 502, 503 or 504, with exponential backoff between tries.
    type: int
    default: 3
requirements:
  - requests >= 2.20 (on the host that runs the module)
"""
