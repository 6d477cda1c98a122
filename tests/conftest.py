"""Test-wide setup: import the collection as ansible_collections.provisioning.oci_registry."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "provisioning", "oci_registry")

if not os.path.exists(LINK):
    raise RuntimeError("%s is missing: run `make link` (the Makefile's test targets do)" % LINK)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def s3_store():
    """One real S3 store (radosgw) per run, shared by xdist workers: see tests/s3store.py.

    Yields a dict {endpoint, container, network_address, access_key, secret_key, region} with
    .bucket(name) (a fresh bucket per call), .keys(bucket, prefix) and .client() (botocore).
    """
    from tests import s3store

    store = s3store.acquire()
    try:
        yield store
    finally:
        s3store.release(store)


# -- the order of the tests within each file (issue 15: every file passes alone and in any order) -------
def pytest_addoption(parser):
    parser.addoption("--order-within-files", choices=("file", "reverse", "random"), default="file",
                     help="run each file's tests in file order (default), reversed, or shuffled; files keep their "
                          "order, so module fixtures are still made once")
    parser.addoption("--order-seed", type=int, default=None,
                     help="the seed of --order-within-files=random (default: a new one, printed in the header)")


def pytest_configure(config):
    """The seed is chosen once, in the process that starts the run, and handed to pytest-xdist's workers (which
    inherit its environment) because they must all collect the same order."""
    if config.getoption("order_within_files") != "random" or config.getoption("order_seed") is not None:
        return
    seed = os.environ.get("OCI_TEST_ORDER_SEED")
    if seed is None:
        import random
        seed = os.environ["OCI_TEST_ORDER_SEED"] = str(random.SystemRandom().randrange(1 << 30))
    config.option.order_seed = int(seed)


def pytest_report_header(config):
    if config.getoption("order_within_files") == "random":
        return "order within files: random, --order-seed %d" % config.getoption("order_seed")
    return None


def pytest_collection_modifyitems(config, items):
    order = config.getoption("order_within_files")
    if order == "file":
        return
    import random
    shuffle = random.Random(config.getoption("order_seed")).shuffle if order == "random" else None
    files = {}
    for item in items:
        files.setdefault(item.nodeid.split("::", 1)[0], []).append(item)
    reordered = []
    for group in files.values():
        group = list(reversed(group)) if shuffle is None else group[:]
        if shuffle is not None:
            shuffle(group)
        reordered.extend(group)
    items[:] = reordered
