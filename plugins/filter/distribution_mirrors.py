# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
name: distribution_mirrors
short_description: Check the distribution role's mirrors and plan their containers and front ports
version_added: 0.1.0
description:
  - Validates O(_input) (C(distribution_mirrors), the entries of C(oci_registry_mirrors)) with the collection's
    access model for registry type C(distribution), and fails naming every bad entry
    (C(distribution_mirrors[1].port) ...) before anything changes.
  - Returns the normalized mirrors (defaults filled in), each with what the distribution role needs to deploy
    it - the container's name, its port inside the access front's container, the published port, and the
    entry the front keeps in its C(front.json) (without the password).
  - Present mirrors come first, sorted by name; the C(listen) ports follow that order.
options:
  _input:
    description: The mirrors (C(distribution_mirrors)).
    type: list
    elements: dict
    required: true
  container_name:
    description: The registry's container name (C(distribution_container_name)); a mirror's container is
      C(<container_name>-mirror-<name>).
    type: str
    required: true
  bind_address:
    description: The host address the front publishes the mirrors' ports on (C(distribution_bind_address)).
    type: str
    required: true
  first_port:
    description: The port inside the front's container of the first mirror; the next ones follow.
    type: int
    default: 5100
author:
  - provisioning.oci_registry contributors
"""

EXAMPLES = r"""
- name: Plan the mirrors
  ansible.builtin.set_fact:
    _mirrors: >-
      {{ distribution_mirrors | provisioning.oci_registry.distribution_mirrors(distribution_container_name,
                                                                                distribution_bind_address) }}
"""

RETURN = r"""
_value:
  description:
    - The normalized mirrors (keys of C(oci_registry_mirrors) with defaults), each with C(container) (its
      container name), and for present mirrors C(listen) (the port in the front's container), C(published)
      (the front's published port, C(<address>:<port>:<listen>)) and C(front) (its C(front.json) entry, no
      password).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.provisioning.oci_registry.plugins.filter.published_port import published_port
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import InvalidParameterError
from ansible_collections.provisioning.oci_registry.plugins.module_utils._model import normalize_mirrors

_CONTAINER_PORT = 5000


def distribution_mirrors(mirrors, container_name, bind_address, first_port=5100):
    try:
        normal = normalize_mirrors(mirrors, "distribution_mirrors", registry_type="distribution", warnings=[])
    except InvalidParameterError as exc:
        raise AnsibleFilterError(str(exc))
    present = sorted((m for m in normal if m["state"] == "present"), key=lambda m: m["name"])
    absent = sorted((m for m in normal if m["state"] != "present"), key=lambda m: m["name"])
    out = []
    for index, mirror in enumerate(present):
        entry = dict(mirror)
        entry["container"] = "%s-mirror-%s" % (container_name, mirror["name"])
        entry["listen"] = int(first_port) + index
        entry["published"] = published_port(bind_address, mirror["port"], entry["listen"])
        entry["front"] = dict((key, mirror[key]) for key in (
            "name", "namespace", "url", "username", "tls_verify", "repositories", "ttl", "port"))
        entry["front"].update(listen=entry["listen"], upstream="%s:%d" % (entry["container"], _CONTAINER_PORT))
        out.append(entry)
    for mirror in absent:
        out.append(dict(mirror, container="%s-mirror-%s" % (container_name, mirror["name"])))
    return out


class FilterModule:
    """Distribution mirror filters."""

    def filters(self):
        return {"distribution_mirrors": distribution_mirrors}
