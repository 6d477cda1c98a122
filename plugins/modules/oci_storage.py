#!/usr/bin/python
# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
module: oci_storage
short_description: Validate a registry's storage backend and prove that an S3 bucket can be written
version_added: 0.1.0
description:
  - Checks O(storage) (the value of C(oci_registry_storage)) and returns it with every default filled in. Each
    problem is reported at once, naming the exact key, for example C(oci_registry_storage.s3.bucket).
  - With O(storage.type=s3) and O(probe=true), proves from the host that runs the module (run it on the
    registry host) that the registry will be able to use the bucket - it writes an object with a random key under
    O(storage.s3.root_directory), reads it back and compares its content, then deletes it. A bucket that
    does not exist, credentials that are unknown or may not write, a wrong secret key, an endpoint that
    cannot be reached and a TLS failure each fail with a message naming the key to fix.
  - In check mode the probe only reads (C(HEAD) of the bucket, and a listing of at most one key when the
    store refuses it) and writes nothing.
  - C(playbooks/deploy.yml) runs it on every registry host before anything changes.
  - The access key and the secret key are never shown - not in the result, not in messages.
author:
  - provisioning.oci_registry maintainers (@provisioning)
extends_documentation_fragment:
  - provisioning.oci_registry._attributes
attributes:
  check_mode:
    support: full
    details: Validates, and probes the bucket read-only.
  diff_mode:
    support: N/A
    details: This action does not modify state (the probe object is deleted again).
  idempotent:
    support: full
requirements:
  - botocore (on the host that runs the module, for O(storage.type=s3) with O(probe=true))
options:
  storage:
    description:
      - The storage backend of the registry, as C(oci_registry_storage).
    type: dict
    default: {type: filesystem}
    suboptions:
      type:
        description:
          - C(filesystem) - the registry's data on the host's disk (one replica).
          - C(s3) - the registry's data in the S3 bucket O(storage.s3.bucket), which several replicas can share.
        type: raw
        default: filesystem
      s3:
        description: The S3 store, with O(storage.type=s3).
        type: dict
        suboptions:
          endpoint:
            description:
              - The URL of an S3-compatible store (C(http://) or C(https://), host, port; no path), for example
                C(http://rgw.example:7480). Empty for AWS S3.
            type: raw
            default: ""
          region:
            description: The store's region (Distribution's C(region)).
            type: raw
            default: us-east-1
          bucket:
            description: The bucket, which must exist (the registry does not create it). Required.
            type: raw
          access_key:
            description:
              - The S3 access key. Give O(storage.s3.secret_key) with it, or neither (the host's own credentials,
                such as an instance role). Never shown.
            type: str
          secret_key:
            description: The S3 secret key. Never shown, logged nor written to a diff.
            type: str
          path_style:
            description: Path-style requests (C(<endpoint>/<bucket>/<key>)), which most S3-compatible stores need.
            type: raw
            default: true
          tls_verify:
            description: Verify the store's TLS certificate (with C(https://)).
            type: raw
            default: true
          ca_path:
            description: The path of a PEM CA file on the registry host that signed the store's certificate; empty for the system's CAs.
            type: raw
            default: ""
          chunk_size_mb:
            description: The size of the parts of multipart uploads, in MiB (at least 5).
            type: raw
            default: 10
          root_directory:
            description: A key prefix under which the registry keeps everything; empty for the bucket's root.
            type: raw
            default: ""
          redirect:
            description:
              - Let the registry send clients to presigned URLs on the store for blob downloads. Only when every client
                can reach the store; by default clients never talk to the store.
            type: raw
            default: false
  probe:
    description:
      - With O(storage.type=s3), prove that the bucket can be written (read-only in check mode).
      - False only validates O(storage).
    type: bool
    default: true
  timeout:
    description: Seconds to wait for the store to connect and to answer each request of the probe.
    type: int
    default: 10
  variable:
    description: The name given to the storage value in messages.
    type: str
    default: oci_registry_storage
"""

EXAMPLES = r"""
- name: Check the storage and prove the bucket can be written, on every registry host
  provisioning.oci_registry.oci_storage:
    storage:
      type: s3
      s3:
        endpoint: http://rgw.example:7480
        bucket: registry
        access_key: "{{ vault_s3_access_key }}"
        secret_key: "{{ vault_s3_secret_key }}"
  register: storage_check

- name: Only validate the value (no request to the store)
  provisioning.oci_registry.oci_storage:
    storage: "{{ oci_registry_storage }}"
    probe: false
"""

RETURN = r"""
storage:
  description: O(storage) with every default filled in; the access key and the secret key are C(********).
  returned: always
  type: dict
  sample:
    type: s3
    s3: {endpoint: "http://rgw.example:7480", region: us-east-1, bucket: registry, access_key: "********",
         secret_key: "********", path_style: true, tls_verify: true, ca_path: "", chunk_size_mb: 10,
         root_directory: "", redirect: false}
probe:
  description: What the probe did; empty when it did not run (type filesystem, or O(probe=false)).
  returned: always
  type: dict
  contains:
    bucket:
      description: The bucket probed.
      type: str
      sample: registry
    endpoint:
      description: The endpoint probed (empty for AWS S3).
      type: str
      sample: http://rgw.example:7480
    wrote:
      description: Whether an object was written, read back and deleted (false in check mode).
      type: bool
      sample: true
    key:
      description: The key of the object written and deleted; null in check mode.
      type: str
      sample: .oci-registry-probe-3f2a0c8e9b7d4e6fa1c2b3d4e5f60718
"""

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.provisioning.oci_registry.plugins.module_utils._module import (
    NONE,
    registry_module,
    run_module,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._storage import (
    BOTOCORE_IMPORT_ERROR,
    HAS_BOTOCORE,
    normalize_storage,
    probe_s3,
    public_storage,
)

S3_OPTIONS = dict(
    endpoint=dict(type="raw", default=""),
    region=dict(type="raw", default="us-east-1"),
    bucket=dict(type="raw"),
    access_key=dict(type="str", no_log=True),
    secret_key=dict(type="str", no_log=True),
    path_style=dict(type="raw", default=True),
    tls_verify=dict(type="raw", default=True),
    ca_path=dict(type="raw", default=""),
    chunk_size_mb=dict(type="raw", default=10),
    root_directory=dict(type="raw", default=""),
    redirect=dict(type="raw", default=False),
)


def run(module):
    params = module.params
    storage = normalize_storage(params["storage"], params["variable"])
    result = dict(changed=False, storage=public_storage(storage), probe={})
    if storage["type"] == "s3" and params["probe"]:
        if not HAS_BOTOCORE:
            module.fail_json(msg=missing_required_lib("botocore"), exception=str(BOTOCORE_IMPORT_ERROR),
                             storage=result["storage"])
        result["probe"] = probe_s3(storage, params["variable"], check_mode=module.check_mode,
                                   timeout=params["timeout"])
    return result


def main():
    options = dict(
        storage=dict(type="dict", default=dict(type="filesystem"), options=dict(
            type=dict(type="raw", default="filesystem"),
            s3=dict(type="dict", options=S3_OPTIONS),
        )),
        probe=dict(type="bool", default=True),
        timeout=dict(type="int", default=10),
        variable=dict(type="str", default="oci_registry_storage"),
    )
    run_module(registry_module(options, options_kind=NONE, needs_requests=False), run)


if __name__ == "__main__":
    main()
