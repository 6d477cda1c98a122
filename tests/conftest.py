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
