"""The test bed's S3 store (the s3_store fixture, radosgw from OCI_TEST_RGW_IMAGE) is real S3."""

import uuid

import botocore.exceptions
import pytest

from tests.s3store import s3_client

pytestmark = pytest.mark.integration


def test_objects_round_trip_in_a_fresh_bucket(s3_store):
    bucket = s3_store.bucket("round-trip")
    assert s3_store.keys(bucket) == []
    client = s3_store.client()
    body = uuid.uuid4().bytes * 1000
    client.put_object(Bucket=bucket, Key="dir/object", Body=body)
    assert client.get_object(Bucket=bucket, Key="dir/object")["Body"].read() == body
    assert s3_store.keys(bucket) == ["dir/object"]
    assert s3_store.keys(bucket, prefix="other/") == []
    # A second bucket from the helper is another, empty one.
    assert s3_store.keys(s3_store.bucket("round-trip")) == []


def test_a_wrong_secret_key_is_refused(s3_store):
    client = s3_client(s3_store["endpoint"], s3_store["access_key"], "not-" + s3_store["secret_key"])
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        client.list_buckets()
    assert raised.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_the_store_has_an_address_on_the_default_bridge(s3_store):
    assert s3_store["network_address"].count(".") == 3
    assert s3_store["endpoint"].startswith("http://127.0.0.1:")
    assert s3_store["container"].startswith("oci-test-rgw-")
