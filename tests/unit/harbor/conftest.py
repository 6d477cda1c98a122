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
GIB_BYTES = 1024 ** 3


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


def run_module(module, double, tmp_path, check=False, diff=False, password=ADMIN_PASSWORD, **args):
    """Run a module of the collection as Ansible does against the double; returns its JSON result."""
    from tests.unit.module_runner import run_module_file

    params = dict(registry_url=double.url, registry_type="harbor", username="admin", password=password,
                  retries=0, **args)
    return run_module_file(module, params, tmp_path, check=check, diff=diff)
