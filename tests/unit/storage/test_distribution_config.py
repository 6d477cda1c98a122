"""What Distribution's config.yml gets from the storage model (module_utils/_storage.distribution_config),
for Distribution 2.8 (the test bed) and 3.x (the role's default image): storage-driver-s3.md, configuration.md."""

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils._storage import (
    StorageError,
    distribution_config,
    normalize_redis,
)

SECRET = "Sup3r-s3cret-VALUE"
REDIS_PASSWORD = "R3dis-pass-VALUE"


def s3(**keys):
    base = dict(endpoint="http://rgw.example:7480", bucket="registry", access_key="AKIDEXAMPLE", secret_key=SECRET)
    base.update(keys)
    return {"type": "s3", "s3": base}


def test_filesystem_keeps_the_data_directory():
    assert distribution_config({"type": "filesystem"}, rootdirectory="/var/lib/registry") == {
        "storage": {"filesystem": {"rootdirectory": "/var/lib/registry"}}}


def test_s3_on_distribution_2():
    out = distribution_config(s3(root_directory="team", chunk_size_mb=16), v2=True)
    assert out == {"storage": {
        "s3": {"region": "us-east-1", "bucket": "registry", "v4auth": True, "chunksize": 16 * 1024 * 1024,
               "accesskey": "AKIDEXAMPLE", "secretkey": SECRET, "regionendpoint": "http://rgw.example:7480",
               "secure": False, "rootdirectory": "/team"},
        "redirect": {"disable": True}}}


def test_s3_on_distribution_3_forces_path_style_with_an_endpoint():
    driver = distribution_config(s3(endpoint="https://s3.example"))["storage"]["s3"]
    assert driver["forcepathstyle"] is True and driver["secure"] is True
    assert "skipverify" not in driver


def test_no_tls_verify_redirect_and_host_credentials():
    out = distribution_config({"type": "s3", "s3": {"bucket": "registry", "endpoint": "https://s3.example",
                                                    "tls_verify": False, "redirect": True}}, v2=True)
    assert out["storage"]["s3"]["skipverify"] is True
    assert "accesskey" not in out["storage"]["s3"] and "secretkey" not in out["storage"]["s3"]
    assert out["storage"]["redirect"] == {"disable": False}


def test_aws_has_no_endpoint_keys():
    driver = distribution_config({"type": "s3", "s3": {"bucket": "registry", "region": "eu-west-1"}},
                                 v2=True)["storage"]["s3"]
    assert "regionendpoint" not in driver and "secure" not in driver and driver["region"] == "eu-west-1"


@pytest.mark.parametrize("v2, address_key, address", [
    (True, "addr", "redis.example:6379"), (False, "addrs", ["redis.example:6379"])])
def test_redis_is_the_blob_descriptor_cache(v2, address_key, address):
    out = distribution_config(s3(), {"address": "redis.example:6379", "password": REDIS_PASSWORD, "db": "2",
                                     "tls": True}, v2=v2)
    assert out["storage"]["cache"] == {"blobdescriptor": "redis"}
    assert out["redis"] == {address_key: address, "password": REDIS_PASSWORD, "db": 2, "tls": {"enabled": True}}


def test_no_redis_leaves_the_cache_alone():
    out = distribution_config(s3(), {})
    assert "redis" not in out and "cache" not in out["storage"]


@pytest.mark.parametrize("value, expected", [
    ({"address": "redis.example"}, "distribution_redis.address: must be host:port"),
    ({"address": "redis.example:70000"}, "distribution_redis.address: must be host:port"),
    ({"address": "r:6379", "db": 16}, "distribution_redis.db: must be a Redis database number 0-15, got 16"),
    ({"address": "r:6379", "tls": "maybe"}, "distribution_redis.tls: must be true or false"),
    ({"address": "r:6379", "password": 42}, "distribution_redis.password: must be a string (its value is not shown)"),
    ({"address": "r:6379", "port": 1}, "distribution_redis: unknown key(s) port"),
    ("redis:6379", "distribution_redis: must be a dict"),
])
def test_bad_redis_values_are_named(value, expected):
    with pytest.raises(StorageError) as raised:
        normalize_redis(value)
    assert any(p.startswith(expected) for p in raised.value.problems), raised.value.problems


def test_errors_of_both_never_show_the_secrets():
    with pytest.raises(StorageError) as raised:
        distribution_config(s3(bucket="Bad_Bucket"), {"address": "nowhere", "password": REDIS_PASSWORD})
    assert "distribution_storage.s3.bucket" in str(raised.value)
    assert SECRET not in str(raised.value) and REDIS_PASSWORD not in str(raised.value)
