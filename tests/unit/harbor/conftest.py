"""Fixtures: a fresh Harbor API double per test, and a client/backend bound to it.

Every test that uses the double fails if the double recorded a swagger violation (a request
the collection sent, or a response the double built, that does not match Harbor's swagger)
unless the test takes the violations itself (``double.violations.clear()``).
"""

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils._client import (
    ConnectionOptions,
    RegistryClient,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._harbor import HarborBackend

from tests.harbor.double import HarborDouble
from tests.harbor.swagger import Swagger

ADMIN_PASSWORD = "Harbor12345"


@pytest.fixture(scope="session")
def swagger():
    return Swagger()


@pytest.fixture
def double(swagger):
    server = HarborDouble(admin_password=ADMIN_PASSWORD, swagger=swagger).start()
    yield server
    server.stop()
    assert server.violations == [], "the Harbor double saw swagger violations:\n" + "\n".join(server.violations)


def make_backend(url, username="admin", password=ADMIN_PASSWORD, retries=3):
    client = RegistryClient(ConnectionOptions(url, username=username, password=password, retries=retries, timeout=10),
                            sleep=lambda _s: None)
    return HarborBackend(client)


@pytest.fixture
def backend(double):
    return make_backend(double.url)
