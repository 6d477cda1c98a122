# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
name: distribution_storage
short_description: The storage and Redis part of Distribution's configuration, from the collection's storage model
version_added: 0.1.0
description:
  - Validates a storage value (the model of C(oci_registry_storage), see the module
    M(provisioning.oci_registry.oci_storage)) and a Redis value (C({address, password, db, tls}) or C({})) and
    returns the part of Distribution's C(config.yml) they decide, to merge into the rest.
  - C(filesystem) gives C(storage.filesystem.rootdirectory). C(s3) gives C(storage.s3) (accesskey, secretkey,
    region, regionendpoint, bucket, secure, skipverify, v4auth, chunksize, rootdirectory, and forcepathstyle for
    Distribution 3) and C(storage.redirect.disable) (true unless C(redirect) is true).
  - A Redis gives C(storage.cache.blobdescriptor=redis) and the C(redis) section (C(addr) for Distribution 2,
    C(addrs) for 3; password, db, and C(tls.enabled) when set).
  - Fails listing every bad key by its full name; the secret key and the Redis password are never shown.
options:
  _input:
    description: The storage value.
    type: dict
    required: true
  redis:
    description: The Redis value, C({}) for none.
    type: dict
    default: {}
  v2:
    description: The image is Distribution 2.x (C(registry:2)), whose configuration keys differ from 3.x.
    type: bool
    default: false
  rootdirectory:
    description: The data directory inside the container, for C(filesystem).
    type: str
    default: /var/lib/registry
  name:
    description: The name of the storage variable, for messages.
    type: str
    default: distribution_storage
  redis_name:
    description: The name of the Redis variable, for messages.
    type: str
    default: distribution_redis
author:
  - provisioning.oci_registry contributors
"""

EXAMPLES = r"""
- name: Build the storage part of config.yml
  ansible.builtin.set_fact:
    storage_part: >-
      {{ distribution_storage | provisioning.oci_registry.distribution_storage(redis=distribution_redis, v2=false) }}
"""

RETURN = r"""
_value:
  description: A dict with C(storage) (and C(redis) when a Redis is given), to merge into Distribution's configuration.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.provisioning.oci_registry.plugins.module_utils._storage import (
    StorageError,
    distribution_config,
)


def distribution_storage(storage, redis=None, v2=False, rootdirectory="/var/lib/registry",
                         name="distribution_storage", redis_name="distribution_redis"):
    try:
        return distribution_config(storage, redis or {}, v2=bool(v2), rootdirectory=rootdirectory, name=name,
                                   redis_name=redis_name)
    except StorageError as exc:
        # The messages never carry a credential (module_utils/_storage.py).
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {"distribution_storage": distribution_storage}
