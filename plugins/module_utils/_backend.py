# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""One backend interface; an adapter per registry type (zot, harbor, distribution).

Modules ask ``get_backend()`` for the adapter of ``registry_type`` and call the
interface; every protocol detail lives in the adapters and in _oci / _client.
"""

from __future__ import annotations

from ansible_collections.provisioning.oci_registry.plugins.module_utils._argspec import REGISTRY_TYPES
from ansible_collections.provisioning.oci_registry.plugins.module_utils._client import (
    ConnectionOptions,
    RegistryClient,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import (
    InvalidParameterError,
    OciRegistryError,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._oci import OciApi


class Backend:
    """What every registry type offers. Adapters override what their registry has."""

    registry_type = None

    def __init__(self, client):
        self.client = client
        self.oci = OciApi(client)

    # -- health ------------------------------------------------------------------
    def health_checks(self, runner, debug_url=None):
        """Run this type's own checks on ``runner`` (a _health.HealthRunner)."""

    def version(self):
        """The registry's software version, or None where it cannot be told."""
        return None

    def not_supported(self, what):
        raise OciRegistryError("%s is not supported on registry_type %s" % (what, self.registry_type))


def get_backend(registry_type, client):
    if registry_type not in REGISTRY_TYPES:
        raise InvalidParameterError("registry_type must be one of %s, got %r" % (", ".join(REGISTRY_TYPES), registry_type))
    # Imported here, not at the top: the adapters subclass Backend. Static import lines, so that
    # Ansible ships every adapter with the module.
    from ansible_collections.provisioning.oci_registry.plugins.module_utils import _distribution, _harbor, _zot

    adapters = {"zot": _zot.BACKEND, "harbor": _harbor.BACKEND, "distribution": _distribution.BACKEND}
    return adapters[registry_type](client)


def backend_from_params(params, prefix=""):
    """Client and backend from a module's connection options."""
    client = RegistryClient(ConnectionOptions.from_params(params, prefix))
    return get_backend(params[prefix + "registry_type"], client)
