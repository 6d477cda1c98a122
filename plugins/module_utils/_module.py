# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""The AnsibleModule of a module that talks to one registry."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.provisioning.oci_registry.plugins.module_utils._argspec import (
    CONNECTION_REQUIRED_TOGETHER,
    connection_argument_spec,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._client import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
)


def registry_module(options, **kwargs):
    """AnsibleModule with the shared connection options plus ``options``, check mode supported.

    ``kwargs`` go to AnsibleModule (required_if, mutually_exclusive, ...). Fails at once, naming
    the library, when ``requests`` is missing on the host that runs the module.
    """
    module = AnsibleModule(argument_spec=connection_argument_spec(**options),
                           required_together=CONNECTION_REQUIRED_TOGETHER + kwargs.pop("required_together", []),
                           supports_check_mode=True, **kwargs)
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=str(REQUESTS_IMPORT_ERROR))
    return module
