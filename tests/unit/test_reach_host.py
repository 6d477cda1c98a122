"""The reach_host filter: the one place that turns a bind address into the host a client connects to."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.provisioning.oci_registry.plugins.filter.reach_host import reach_host


@pytest.mark.parametrize("address,expected", [
    # Every wildcard spelling is reached on loopback of its own family, from the same host.
    ("0.0.0.0", "127.0.0.1"),
    ("", "127.0.0.1"),
    (None, "127.0.0.1"),
    ("*", "127.0.0.1"),
    ("::", "[::1]"),
    ("[::]", "[::1]"),
    ("0:0:0:0:0:0:0:0", "[::1]"),
    # Any other address is reached on itself, IPv6 in brackets for a URL.
    ("127.0.0.1", "127.0.0.1"),
    ("192.0.2.7", "192.0.2.7"),
    ("::1", "[::1]"),
    ("[::1]", "[::1]"),
    ("2001:db8:0:0::5", "[2001:db8::5]"),
    ("registry.example", "registry.example"),
    (" 10.0.0.1 ", "10.0.0.1"),
])
def test_reach_host_for_a_url(address, expected):
    assert reach_host(address) == expected


@pytest.mark.parametrize("address,expected", [
    ("::", "::1"),
    ("[::1]", "::1"),
    ("2001:db8::5", "2001:db8::5"),
    ("0.0.0.0", "127.0.0.1"),
])
def test_reach_host_without_brackets(address, expected):
    # wait_for, redis-cli style arguments and certificate names take a bare IPv6 address.
    assert reach_host(address, brackets=False) == expected


@pytest.mark.parametrize("address,wildcard,expected", [
    ("0.0.0.0", "registry-1", "registry-1"),
    ("::", "registry-1", "registry-1"),
    ("", "192.0.2.9", "192.0.2.9"),
    ("::", "2001:db8::9", "[2001:db8::9]"),
    ("0.0.0.0", "", ""),
    # A specific address is never replaced by the wildcard's value.
    ("192.0.2.7", "registry-1", "192.0.2.7"),
    ("::1", "registry-1", "[::1]"),
])
def test_reach_host_wildcard_value(address, wildcard, expected):
    assert reach_host(address, wildcard=wildcard) == expected


@pytest.mark.parametrize("address", ["::1::2", "a b", "http://registry", "300.1.1.1:5"])
def test_reach_host_refuses_what_is_not_an_address(address):
    with pytest.raises(AnsibleFilterError, match=r"reach_host: .* is not an IPv4 or IPv6 address or a host name"):
        reach_host(address)
