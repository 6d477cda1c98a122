# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""Host addresses as the roles and playbooks take them: one parser for the filters that format them."""

from __future__ import annotations

import ipaddress
import re

_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")

# What a listener bound to "every address" is reached on from its own host, per family.
LOOPBACK = {4: "127.0.0.1", 6: "::1"}


class Address:
    """A bind or host address: an IP (IPv6 with or without brackets), a host name, or a wildcard.

    An empty address and ``*`` mean every IPv4 address, as ``0.0.0.0`` does; ``::`` means every IPv6 address.
    Raises ValueError naming the value for anything else.
    """

    def __init__(self, value):
        text = "" if value is None else str(value).strip()
        if text in ("", "*"):
            text = "0.0.0.0"
        bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
        try:
            self.ip = ipaddress.ip_address(bare)
        except ValueError:
            self.ip = None
        if self.ip is None and (":" in bare or not _HOSTNAME.match(bare)):
            raise ValueError("%r is not an IPv4 or IPv6 address or a host name "
                             "(for example 127.0.0.1, 0.0.0.0, ::1 or ::)" % (value,))
        self.host = self.ip.compressed if self.ip is not None else bare

    @property
    def wildcard(self):
        return self.ip is not None and self.ip.is_unspecified

    @property
    def loopback(self):
        """The loopback address of this address's family (127.0.0.1 for a host name)."""
        return LOOPBACK[self.ip.version if self.ip is not None else 4]

    def formatted(self, brackets=True):
        """The host as a URL or a published port writes it: an IPv6 address in brackets when brackets is true."""
        return format_host(self.host, brackets)


def format_host(host, brackets=True):
    """host, in brackets when it is an IPv6 address and brackets is true (a name or IPv4 address as it is)."""
    text = "" if host is None else str(host).strip()
    if brackets and ":" in text and not text.startswith("["):
        return "[%s]" % text
    return text
