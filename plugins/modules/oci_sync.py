#!/usr/bin/python
# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
module: oci_sync
short_description: Copy repositories between OCI registries (Zot, Harbor, Distribution), bit for bit
version_added: 0.1.0
description:
  - Copies the selected repositories and tags from O(source) to O(destination), which may be registries of
    different types, each with its own credentials and TLS settings.
  - Manifests and blobs are copied as the bytes the source stored, never re-encoded, recompressed or converted,
    so every digest stays the same. Image indexes come with all their children. Referrers (signatures, SBOMs)
    are copied after their subject, through the referrers API where the source offers it, else through the
    C(sha256-<hex>) referrer tags of the OCI distribution specification.
  - Skips what the destination already has (manifests compared by digest, blobs checked with HEAD), mounts a
    blob from another destination repository instead of uploading it again, streams blobs (memory does not
    grow with blob size), and copies repositories, tags and blobs in parallel.
  - Resumable. A run that was interrupted, run again, finishes without sending again what already landed.
  - Ends with a verification of every repository:tag (source digest, destination digest, referrer counts), and
    fails if any differs or if any repository could not be copied. Errors name the repository.
  - In check mode, reads everything and writes nothing, and reports what would be copied (tags, manifests,
    blobs, bytes).
author:
  - provisioning.oci_registry maintainers (@provisioning)
extends_documentation_fragment:
  - provisioning.oci_registry._attributes
attributes:
  check_mode:
    support: full
    details: Reports what would be copied, how many blobs and bytes.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: A second run with the same arguments copies nothing and reports no change.
options:
  source:
    description:
      - The registry to copy from.
    type: dict
    required: true
    suboptions: &connection
      registry_url:
        description:
          - Base URL of the registry, for example C(https://registry.example.com:5000).
          - Credentials must not be part of the URL; use O(source.username) and O(source.password).
        type: str
        required: true
      registry_type:
        description:
          - Which registry software answers at this URL.
        type: str
        choices: [zot, harbor, distribution]
        default: zot
      username:
        description:
          - User name for basic authentication and for the token flow.
        type: str
      password:
        description:
          - Password for the user. Never shown in output, logs or error messages.
        type: str
      validate_certs:
        description:
          - Verify the registry's TLS certificate.
        type: bool
        default: true
      ca_path:
        description:
          - PEM file with the certificate authorities to trust instead of the system store.
        type: path
      client_cert:
        description:
          - PEM client certificate for mutual TLS. Requires the client key.
        type: path
      client_key:
        description:
          - PEM private key of the client certificate.
        type: path
      timeout:
        description:
          - Seconds to wait for the registry to answer one request.
        type: float
        default: 30
      retries:
        description:
          - How many times a request, or a blob transfer, is tried again after a connection error or an answer
            of 429, 502, 503 or 504, with exponential backoff between tries.
        type: int
        default: 3
  destination:
    description:
      - The registry to copy to. The same keys as O(source).
      - The user needs push rights on every destination repository.
    type: dict
    required: true
    suboptions: *connection
  repositories:
    description:
      - Glob patterns (C(*), C(?), C([...])) of the source repositories to copy. C(*) also matches C(/), so
        C(team/*) selects the namespace C(team) with everything below it.
      - Patterns without a glob character are taken as repository names and need no catalog access on the
        source; with any glob, the source's catalog is read.
    type: list
    elements: str
    default: ['*']
  tags:
    description:
      - Glob patterns of the tags to copy in each selected repository.
      - Referrer tags (C(sha256-<hex>)) are not selected by these patterns; they follow their subject.
    type: list
    elements: str
    default: ['*']
  destination_prefix:
    description:
      - Prepended to every repository name on the destination, with one C(/) between,
        for example V(mirror) copies C(team/app) to C(mirror/team/app).
    type: str
    default: ''
  workers:
    description:
      - How many tags and how many blobs are copied at the same time (two pools of this many threads).
    type: int
    default: 8
notes:
  - A moved tag on the destination is overwritten with the source's manifest. Nothing is ever deleted on the
    destination.
  - Docker schema 1 manifests are not supported.
seealso:
  - name: OCI distribution specification, referrers tag schema
    description: How referrers are listed by registries without the referrers API.
    link: https://github.com/opencontainers/distribution-spec/blob/main/spec.md#referrers-tag-schema
"""

EXAMPLES = r"""
- name: Migrate every repository from a Distribution registry to zot
  provisioning.oci_registry.oci_sync:
    source:
      registry_url: https://old-registry.example.com
      registry_type: distribution
      username: reader
      password: "{{ vault_old_registry_password }}"
    destination:
      registry_url: https://zot.example.com
      registry_type: zot
      username: admin
      password: "{{ vault_zot_password }}"
      ca_path: /etc/pki/internal-ca.pem
    workers: 16

- name: Plan the copy of one namespace's release tags under a prefix (check mode reports blobs and bytes)
  provisioning.oci_registry.oci_sync:
    source:
      registry_url: https://harbor.example.com
      registry_type: harbor
      username: robot$reader
      password: "{{ harbor_robot_secret }}"
    destination:
      registry_url: http://127.0.0.1:5000
      registry_type: distribution
    repositories: ["team-a/*"]
    tags: ["v*", "latest"]
    destination_prefix: mirror
  check_mode: true
  register: plan

- name: Show the plan
  ansible.builtin.debug:
    msg: "{{ plan.summary.blobs_uploaded }} blobs, {{ plan.summary.bytes_uploaded }} bytes to copy"
"""

RETURN = r"""
summary:
  description:
    - Counters of the run. In check mode, what would be copied.
  returned: always
  type: dict
  contains:
    repositories:
      description: Repositories selected on the source.
      type: int
    tags:
      description: Tags selected in those repositories.
      type: int
    tags_copied:
      description: Tags whose manifest was (or would be) pushed.
      type: int
    tags_unchanged:
      description: Tags the destination already had with the same digest.
      type: int
    manifests_copied:
      description: Manifests pushed (tags, index children, referrers, referrer tags).
      type: int
    blobs_uploaded:
      description: Blobs streamed from the source to the destination.
      type: int
    blobs_mounted:
      description: Blobs mounted from another destination repository instead of being uploaded.
      type: int
    blobs_present:
      description: Blobs the destination repository already had (HEAD before upload).
      type: int
    bytes_uploaded:
      description: Bytes of the blobs uploaded.
      type: int
    referrers_copied:
      description: Referrer manifests copied.
      type: int
    retries:
      description: Blob transfers started again after the source or destination broke off.
      type: int
  sample:
    repositories: 2
    tags: 3
    tags_copied: 3
    tags_unchanged: 0
    manifests_copied: 6
    blobs_uploaded: 7
    blobs_mounted: 2
    blobs_present: 0
    bytes_uploaded: 31457280
    referrers_copied: 1
    retries: 0
copied:
  description: The source C(repository:tag) that were (or in check mode would be) copied.
  returned: always
  type: list
  elements: str
  sample: [team-a/app:v1]
verification:
  description: One entry per selected repository:tag.
  returned: always
  type: list
  elements: dict
  contains:
    repository:
      description: Source repository.
      type: str
    destination_repository:
      description: Destination repository (with O(destination_prefix)).
      type: str
    tag:
      description: The tag.
      type: str
    source_digest:
      description: Digest of the tag on the source.
      type: str
    destination_digest:
      description: Digest of the tag on the destination after the copy (in check mode, before), or null.
      type: str
    source_referrers:
      description: Number of referrers of the tagged manifest on the source.
      type: int
    destination_referrers:
      description: Number of referrers of the tagged manifest on the destination (null in check mode).
      type: int
    status:
      description: V(match), V(mismatch), V(failed) (its repository failed); in check mode V(would copy) or V(unchanged).
      type: str
  sample:
    - repository: team-a/app
      destination_repository: mirror/team-a/app
      tag: v1
      source_digest: sha256:4b1e8e6fbb0b4c6e3f0e8b4f9c7f1b2a9d3e5c6f7a8b9c0d1e2f3a4b5c6d7e8f
      destination_digest: sha256:4b1e8e6fbb0b4c6e3f0e8b4f9c7f1b2a9d3e5c6f7a8b9c0d1e2f3a4b5c6d7e8f
      source_referrers: 1
      destination_referrers: 1
      status: match
errors:
  description: One message per repository that could not be copied, and per repository:tag that differs.
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible_collections.provisioning.oci_registry.plugins.module_utils._argspec import CONNECTION_ARGSPEC
from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import backend_from_params
from ansible_collections.provisioning.oci_registry.plugins.module_utils._module import registry_module, run_module
from ansible_collections.provisioning.oci_registry.plugins.module_utils._sync import SyncEngine


def endpoint_spec():
    """The connection options, for one nested dict (no environment fallback: source and destination differ)."""
    spec = dict((name, dict((k, v) for k, v in option.items() if k != "fallback"))
                for name, option in CONNECTION_ARGSPEC.items())
    return dict(type="dict", required=True, options=spec, required_together=[["client_cert", "client_key"]])


def run(module):
    params = module.params
    source = backend_from_params(params["source"])
    destination = backend_from_params(params["destination"])
    engine = SyncEngine(source.oci, destination.oci, repositories=params["repositories"], tags=params["tags"],
                        destination_prefix=params["destination_prefix"], workers=params["workers"],
                        check_mode=module.check_mode)
    result = engine.run()
    errors = result["errors"]
    if errors:
        module.fail_json(msg="oci_sync: %d problem%s: %s" % (len(errors), "" if len(errors) == 1 else "s", "; ".join(errors)),
                         **result)
    return result


def main():
    module = registry_module(
        dict(
            source=endpoint_spec(),
            destination=endpoint_spec(),
            repositories=dict(type="list", elements="str", default=["*"]),
            tags=dict(type="list", elements="str", default=["*"]),
            destination_prefix=dict(type="str", default=""),
            workers=dict(type="int", default=8),
        ),
        options_kind=None,  # two registries: each its own nested connection options
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
