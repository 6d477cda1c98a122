#!/usr/bin/python
# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
module: oci_layout
short_description: Export an OCI registry's repositories to an OCI image layout, or import them back
version_added: 0.1.0
description:
  - O(action=export) copies every selected repository:tag from the registry into one OCI image layout directory
    on the host running the module; O(action=import) copies every repository:tag of such a layout into the
    registry.
  - The layout stores each blob once, by digest, and names each tagged manifest
    C(<repository>:<tag>) with the C(org.opencontainers.image.ref.name) annotation, so other tools read it
    too (for example C(skopeo copy oci:DIR:REPOSITORY:TAG ...)). It is portable across registry types.
  - The copy is the collection's sync engine (the one of M(provisioning.oci_registry.oci_sync)) - manifests and
    blobs as the bytes they are, image indexes with every child, each blob checked against its digest - so
    every digest stays the same. A second run copies nothing.
  - Every repository:tag ends in a verification (source and destination digest); any difference fails.
author:
  - provisioning.oci_registry maintainers (@provisioning)
extends_documentation_fragment:
  - provisioning.oci_registry._connection
  - provisioning.oci_registry._attributes
attributes:
  check_mode:
    support: full
    details: Reads everything and writes nothing; reports what would be copied.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  action:
    description:
      - V(export) from the registry into O(path); V(import) from O(path) into the registry.
    type: str
    choices: [export, import]
    required: true
  path:
    description:
      - The OCI image layout directory. O(action=export) creates it (its parent must exist).
    type: path
    required: true
  repositories:
    description:
      - Glob patterns of the repositories to copy.
    type: list
    elements: str
    default: ['*']
  workers:
    description:
      - Parallel transfers.
    type: int
    default: 4
"""

EXAMPLES = r"""
- name: Export every repository to a layout
  provisioning.oci_registry.oci_layout:
    registry_url: http://127.0.0.1:5000
    registry_type: distribution
    username: admin
    password: "{{ admin_password }}"
    action: export
    path: /srv/backups/registry.oci

- name: Import it into another registry
  provisioning.oci_registry.oci_layout:
    registry_url: https://zot.example.com
    registry_type: zot
    username: admin
    password: "{{ zot_admin_password }}"
    action: import
    path: /srv/backups/registry.oci
"""

RETURN = r"""
summary:
  description: The sync engine's counters (repositories, tags, tags_copied, manifests_copied, blobs_uploaded, bytes_uploaded, ...).
  returned: always
  type: dict
content:
  description: Every repository:tag copied, a mapping of repository to a mapping of tag to digest.
  returned: always
  type: dict
counts:
  description: Numbers of repositories and tags in RV(content).
  returned: always
  type: dict
verification:
  description: One entry per repository:tag (repository, tag, source_digest, destination_digest, status).
  returned: always
  type: list
  elements: dict
"""

import os

from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import backend_from_params
from ansible_collections.provisioning.oci_registry.plugins.module_utils._backup import LayoutApi, counts
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import (
    InvalidParameterError,
    OciRegistryError,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._module import registry_module
from ansible_collections.provisioning.oci_registry.plugins.module_utils._sync import SyncEngine


def main():
    module = registry_module(
        dict(
            action=dict(type="str", choices=["export", "import"], required=True),
            path=dict(type="path", required=True),
            repositories=dict(type="list", elements="str", default=["*"]),
            workers=dict(type="int", default=4),
        ),
    )
    params = module.params
    try:
        backend = backend_from_params(params)
        if params["action"] == "export":
            if not os.path.isdir(os.path.dirname(os.path.abspath(params["path"]))):
                raise InvalidParameterError("the parent directory of path %s does not exist" % params["path"])
            if module.check_mode and not os.path.exists(params["path"]):
                layout = None
            else:
                layout = LayoutApi(params["path"], create=True)
            source, destination = backend.oci, layout
        else:
            source, destination = LayoutApi(params["path"]), backend.oci
        if destination is None:
            content = {}
            engine_result = dict(changed=True, summary={}, verification=[], errors=[])
        else:
            engine = SyncEngine(source, destination, repositories=params["repositories"], workers=params["workers"],
                                check_mode=module.check_mode)
            engine_result = engine.run()
            content = {}
            for entry in engine_result["verification"]:
                content.setdefault(entry["repository"], {})[entry["tag"]] = entry["source_digest"]
    except OciRegistryError as exc:
        exc.fail(module, changed=False)
    result = dict(changed=engine_result["changed"], summary=engine_result["summary"],
                  verification=engine_result["verification"], content=content, counts=counts(content))
    if engine_result["errors"]:
        module.fail_json(msg="%s %s: %s" % (params["action"], params["path"], "; ".join(engine_result["errors"][:20])),
                         errors=engine_result["errors"], **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
