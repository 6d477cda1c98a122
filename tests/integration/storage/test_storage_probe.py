"""oci_storage's write probe against the real S3 store (radosgw): each failure names the key to fix."""

import json

import pytest

from ..registry import run_module

pytestmark = pytest.mark.integration


def storage(store, bucket, **keys):
    s3 = dict(endpoint=store["endpoint"], bucket=bucket, access_key=store["access_key"],
              secret_key=store["secret_key"])
    s3.update(keys)
    return {"type": "s3", "s3": s3}


def probe(store, value, check=False):
    rc, result, output = run_module("oci_storage", {"storage": value}, check=check, timeout=120)
    # Neither key ever appears: not in the result, not in what ansible printed.
    assert store["secret_key"] not in output
    assert value["s3"]["secret_key"] not in output
    return rc, result


def test_a_good_bucket_passes_and_keeps_nothing(s3_store):
    bucket = s3_store.bucket("probe-good")
    rc, result = probe(s3_store, storage(s3_store, bucket, root_directory="/registry"))
    assert rc == 0, result
    assert result["changed"] is False
    assert result["probe"]["wrote"] is True
    assert result["probe"]["key"].startswith("registry/.oci-registry-probe-")
    assert result["storage"]["s3"]["secret_key"] == "********"
    assert result["storage"]["s3"]["root_directory"] == "/registry"
    # The probe object was read back and deleted: the bucket is as it was.
    assert s3_store.keys(bucket) == []


def test_a_missing_bucket_fails_naming_the_bucket(s3_store):
    for check in (False, True):
        rc, result = probe(s3_store, storage(s3_store, "no-such-bucket-oci-test"), check=check)
        assert rc != 0
        expected = "oci_registry_storage.s3.bucket: bucket 'no-such-bucket-oci-test' at %s does not exist" % (
            s3_store["endpoint"])
        assert result["msg"].startswith(expected), result["msg"]


def test_a_wrong_secret_key_fails_naming_it_without_showing_it(s3_store):
    bucket = s3_store.bucket("probe-secret")
    wrong = "Wr0ng-" + s3_store["secret_key"][::-1]
    for check in (False, True):
        rc, result = probe(s3_store, storage(s3_store, bucket, secret_key=wrong), check=check)
        assert rc != 0
        assert result["msg"].startswith("oci_registry_storage.s3.secret_key: the store refused the request signature")
        assert wrong not in json.dumps(result)


def test_an_unknown_access_key_fails_naming_it(s3_store):
    bucket = s3_store.bucket("probe-access")
    rc, result = probe(s3_store, storage(s3_store, bucket, access_key="AKNOSUCHKEY0000"))
    assert rc != 0
    assert result["msg"].startswith("oci_registry_storage.s3.access_key: the store does not know this access key")


def test_an_unreachable_endpoint_fails_naming_it(s3_store):
    bucket = s3_store.bucket("probe-endpoint")
    # A port on loopback that nothing listens on: the port of the store's own endpoint, plus nothing in
    # between, is not guaranteed free, so take one the kernel just handed out and released.
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    rc, result = probe(s3_store, storage(s3_store, bucket, endpoint="http://127.0.0.1:%d" % port))
    assert rc != 0
    assert result["msg"].startswith("oci_registry_storage.s3.endpoint: the S3 endpoint is unreachable from this host")


def test_tls_to_a_plain_http_store_fails_naming_tls_verify(s3_store):
    bucket = s3_store.bucket("probe-tls")
    rc, result = probe(s3_store, storage(s3_store, bucket, endpoint=s3_store["endpoint"].replace("http:", "https:")))
    assert rc != 0
    assert result["msg"].startswith("oci_registry_storage.s3.tls_verify: TLS with https://127.0.0.1:")


def test_check_mode_only_reads(s3_store):
    """A bucket that refuses every write: check mode passes (it never writes), the real probe fails."""
    bucket = s3_store.bucket("probe-readonly")
    s3_store.client().put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": ["s3:PutObject"],
                       "Resource": ["arn:aws:s3:::%s/*" % bucket]}]}))
    rc, result = probe(s3_store, storage(s3_store, bucket), check=True)
    assert rc == 0, result
    assert result["probe"] == {"bucket": bucket, "endpoint": s3_store["endpoint"], "wrote": False, "key": None}
    rc, result = probe(s3_store, storage(s3_store, bucket))
    assert rc != 0
    assert result["msg"].startswith("oci_registry_storage.s3.access_key: access denied to bucket %r" % bucket)
    assert s3_store.keys(bucket) == []
