# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
name: published_port
short_description: Format a host address and ports as a published port of community.docker.docker_container
version_added: 0.1.0
description:
  - Returns C(<address>:<host port>:<container port>) for the C(published_ports) option of
    C(community.docker.docker_container), with an IPv6 address in brackets (C([::1]:5000:5000));
    community.docker refuses C(::1:5000:5000).
  - An empty address, C(*) or C(0.0.0.0) publishes on every IPv4 address (C(0.0.0.0:<host>:<container>));
    C(::) publishes on every IPv6 address.
  - Fails naming the value when the address is not an IPv4 or IPv6 address or a host name, or a port is
    not 1-65535.
options:
  _input:
    description: The host address, for example C(127.0.0.1), C(::1) or C([::1]).
    type: str
    required: true
  host_port:
    description: The port on the host.
    type: int
    required: true
  container_port:
    description: The port in the container.
    type: int
    required: true
author:
  - provisioning.oci_registry contributors
"""

EXAMPLES = r"""
- name: Publish zot on IPv6 loopback
  community.docker.docker_container:
    name: oci-registry
    image: ghcr.io/project-zot/zot-linux-amd64:v2.1.20
    published_ports:
      - "{{ '::1' | provisioning.oci_registry.published_port(5000, 5000) }}"   # [::1]:5000:5000
"""

RETURN = r"""
_value:
  description: The published port, C(<address>:<host port>:<container port>), IPv6 addresses in brackets.
  type: str
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.provisioning.oci_registry.plugins.plugin_utils._address import Address


def _port(value, what):
    try:
        port = int(str(value))
    except ValueError:
        port = None
    if port is None or isinstance(value, bool) or not 1 <= port <= 65535:
        raise AnsibleFilterError("published_port: %s must be a port number 1-65535, got %r" % (what, value))
    return port


def published_port(address, host_port, container_port):
    try:
        host = Address(address).formatted()
    except ValueError as exc:
        raise AnsibleFilterError("published_port: %s" % exc) from None
    return "%s:%d:%d" % (host, _port(host_port, "the host port"), _port(container_port, "the container port"))


class FilterModule:
    def filters(self):
        return {"published_port": published_port}
