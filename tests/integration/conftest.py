import pytest

from .registry import Registry


@pytest.fixture(scope="module")
def registry():
    """A running Distribution registry with htpasswd auth, shared by the tests of one file."""
    reg = Registry().start()
    yield reg
    reg.remove()


@pytest.fixture
def own_registry():
    """A registry of the test's own, for tests that stop or break it."""
    reg = Registry().start()
    yield reg
    reg.remove()
