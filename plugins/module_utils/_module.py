# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""The one way a module of this collection is built, run and reports a diff.

Every module: ``module = registry_module(options, ...)``, then ``run_module(module, function)``,
where ``function(module)`` returns the result dict and raises OciRegistryError on failure. So every
module gets the same checks: the connection options (or the access options of the file-based types),
check mode, the ``requests`` library check, secrets inside list options hidden from the output, and
errors turned into ``fail_json`` in one place. Diffs: _diff.add_diff.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.provisioning.oci_registry.plugins.module_utils._argspec import (
    CONNECTION_REQUIRED_TOGETHER,
    connection_argument_spec,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import access_argument_spec
from ansible_collections.provisioning.oci_registry.plugins.module_utils._client import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import OciRegistryError

CONNECTION = "connection"   # registry_url required, credentials, TLS (the default)
ACCESS = "access"           # connection options with registry_url optional, plus the htpasswd/config file options
NONE = None                 # the module's own options only


def registry_module(options, options_kind=CONNECTION, secrets_in=(), needs_requests=True, **kwargs):
    """AnsibleModule with the shared options of ``options_kind`` plus ``options``, check mode supported.

    ``secrets_in``: (list option, key) pairs whose values are secrets inside list elements that have no
    suboptions (e.g. ``("users", "password")``): they are added to no_log_values before anything runs.
    ``kwargs`` go to AnsibleModule (required_if, mutually_exclusive, ...). Fails at once, naming the
    library, when ``requests`` is missing on the host that runs the module and the module will talk to a
    registry: always for CONNECTION; for ACCESS when ``registry_url`` is set or the type is harbor (the
    file-based types edit files without it); never when ``needs_requests`` is false (a module that only
    validates input).
    """
    required_together = list(kwargs.pop("required_together", []))
    if options_kind == ACCESS:
        spec = access_argument_spec(**options)
        required_together += CONNECTION_REQUIRED_TOGETHER
    elif options_kind == CONNECTION:
        spec = connection_argument_spec(**options)
        required_together += CONNECTION_REQUIRED_TOGETHER
    else:
        spec = dict(options)
    module = AnsibleModule(argument_spec=spec, required_together=required_together or None,
                           supports_check_mode=True, **kwargs)
    for option, key in secrets_in:
        values = module.params.get(option)
        for item in values if isinstance(values, list) else []:
            if isinstance(item, dict) and isinstance(item.get(key), str) and item[key]:
                module.no_log_values.add(item[key])
    if options_kind == ACCESS:
        params = module.params
        needs_requests = needs_requests and bool(params.get("registry_url") or params.get("registry_type") == "harbor")
    if needs_requests and not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=str(REQUESTS_IMPORT_ERROR))
    return module


def run_module(module, function):
    """Run ``function(module)`` and exit with its result; an OciRegistryError fails the module unchanged."""
    try:
        result = function(module)
    except OciRegistryError as exc:
        exc.fail(module, changed=False)
    module.exit_json(**result)
