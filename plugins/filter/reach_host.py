# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
name: reach_host
short_description: The host to reach a listener on, given the address it is bound to
version_added: 0.1.0
description:
  - Returns the host a client uses to reach a listener bound to the input address, formatted for a URL
    (an IPv6 address in brackets) unless O(brackets=false).
  - A wildcard address (empty, C(*), C(0.0.0.0) or C(::)) is reached on the loopback address of its family
    (C(127.0.0.1), or C(::1) for C(::)) when the client runs on the same host, as health checks do; with
    O(wildcard) set it becomes that value instead (for example the host's inventory address, for a URL shown
    to users or scraped by Prometheus from elsewhere).
  - Any other address is returned as it is; a host name is allowed.
  - Fails naming the value when the address is not an IPv4 or IPv6 address or a host name.
  - Every role and playbook of this collection derives its health, gate and access URLs with this filter.
options:
  _input:
    description: The bind address, for example C(0.0.0.0), C(127.0.0.1), C(::1) or C([::1]).
    type: str
    required: true
  wildcard:
    description:
      - What a wildcard address becomes. When unset, the loopback address of its family.
      - An empty string makes a wildcard address reach nothing (an empty result), for lists of names.
    type: str
  brackets:
    description: Whether an IPv6 result is written in brackets, as a URL needs (C([::1])).
    type: bool
    default: true
author:
  - provisioning.oci_registry contributors
"""

EXAMPLES = r"""
- name: Check the registry from its own host
  ansible.builtin.uri:
    url: "http://{{ '0.0.0.0' | provisioning.oci_registry.reach_host }}:5000/v2/"   # http://127.0.0.1:5000/v2/

- name: Wait for a listener on every IPv6 address
  ansible.builtin.wait_for:
    host: "{{ '::' | provisioning.oci_registry.reach_host(brackets=false) }}"      # ::1
    port: 5000

- name: The URL users are shown
  ansible.builtin.debug:
    msg: "http://{{ '0.0.0.0' | provisioning.oci_registry.reach_host(wildcard=inventory_hostname) }}:5000"
"""

RETURN = r"""
_value:
  description: The host to connect to, an IPv6 address in brackets unless O(brackets=false).
  type: str
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.provisioning.oci_registry.plugins.plugin_utils._address import Address, format_host


def reach_host(address, wildcard=None, brackets=True):
    try:
        parsed = Address(address)
    except ValueError as exc:
        raise AnsibleFilterError("reach_host: %s" % exc) from None
    if not parsed.wildcard:
        return parsed.formatted(brackets)
    return format_host(parsed.loopback if wildcard is None else wildcard, brackets)


class FilterModule:
    def filters(self):
        return {"reach_host": reach_host}
