import pytest

from .installation import build_and_install


@pytest.fixture(scope="package")
def installed(tmp_path_factory):
    """The tarball built from this checkout, installed into an empty collections path (once for the directory)."""
    return build_and_install(str(tmp_path_factory.mktemp("installed")))
