"""The zot stand-in image (tests/bed/images/zot-standin) is part of the test bed: every test here that runs it
fails, never skips, when it is missing (a broken bed must not turn into skips)."""

import os

import docker
import pytest

IMAGE = os.environ.get("OCI_TEST_ZOT_STANDIN_IMAGE", "oci-registry-test/zot-standin:v2.1.20")


def _image_present():
    try:
        docker.from_env().images.get(IMAGE)
    except docker.errors.ImageNotFound:
        return False
    return True


@pytest.fixture(autouse=True)
def standin_image(request):
    if request.node.get_closest_marker("real_zot"):
        return  # a test of a real zot image (OCI_TEST_ZOT_IMAGE), not of the stand-in
    if not _image_present():
        pytest.fail("%s is not in the local Docker engine: the test bed is incomplete (run `make bed`)" % IMAGE,
                    pytrace=False)
