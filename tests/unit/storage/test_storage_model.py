"""oci_registry_storage's model (_storage.normalize_storage): defaults, and one message per bad key naming it."""

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils._storage import (
    StorageError,
    normalize_storage,
    public_storage,
)

SECRET = "Sup3r-s3cret-VALUE"


def s3(**keys):
    base = dict(bucket="registry", access_key="AKIDEXAMPLE", secret_key=SECRET)
    base.update(keys)
    return {"type": "s3", "s3": base}


def problems(value, name="oci_registry_storage"):
    with pytest.raises(StorageError) as raised:
        normalize_storage(value, name)
    assert SECRET not in str(raised.value)
    return raised.value.problems


@pytest.mark.parametrize("value", [None, {}, {"type": "filesystem"}, {"type": None}])
def test_filesystem_is_the_default(value):
    assert normalize_storage(value) == {"type": "filesystem"}


def test_s3_defaults_are_filled_in():
    assert normalize_storage(s3(endpoint="http://rgw.example:7480/")) == {"type": "s3", "s3": {
        "endpoint": "http://rgw.example:7480", "region": "us-east-1", "bucket": "registry",
        "access_key": "AKIDEXAMPLE", "secret_key": SECRET, "path_style": True, "tls_verify": True, "ca_path": "",
        "chunk_size_mb": 10, "root_directory": "", "redirect": False}}


def test_strings_from_extra_vars_are_accepted():
    out = normalize_storage(s3(chunk_size_mb="16", path_style="false", redirect="yes", root_directory="team/a/"))
    assert out["s3"]["chunk_size_mb"] == 16
    assert out["s3"]["path_style"] is False and out["s3"]["redirect"] is True
    assert out["s3"]["root_directory"] == "/team/a"


def test_aws_needs_no_endpoint_and_may_use_the_hosts_credentials():
    out = normalize_storage({"type": "s3", "s3": {"bucket": "my.registry-bucket", "region": "eu-west-1"}})
    assert out["s3"]["endpoint"] == "" and out["s3"]["access_key"] is None and out["s3"]["secret_key"] is None


@pytest.mark.parametrize("value, expected", [
    ("nas", "oci_registry_storage: must be a dict"),
    ({"type": "gcs"}, "oci_registry_storage.type: must be one of filesystem, s3, got 'gcs'"),
    ({"type": "filesystem", "bukket": 1}, "oci_registry_storage: unknown key(s) bukket; valid keys: type, s3"),
    ({"type": "s3"}, "oci_registry_storage.s3: required with type s3"),
    (s3(bucket=None), "oci_registry_storage.s3.bucket: required with type s3"),
    (s3(bucket="Registry_Data"), "oci_registry_storage.s3.bucket: 'Registry_Data' (str) is not a bucket name: 3 to 63"),
    (s3(bucket="ab"), "oci_registry_storage.s3.bucket: 'ab' (str) is not a bucket name"),
    (s3(endpoint="rgw.example:7480"), "oci_registry_storage.s3.endpoint: 'rgw.example:7480' must start with http:// or https://"),
    (s3(endpoint="http://rgw.example:7480/registry"), "oci_registry_storage.s3.endpoint: 'http://rgw.example:7480/registry' must have no path"),
    (s3(endpoint="http://rgw.example:99999"), "oci_registry_storage.s3.endpoint: 'http://rgw.example:99999' is not a valid URL"),
    (s3(endpoint="http://u:p@rgw.example"), "oci_registry_storage.s3.endpoint: must not carry credentials in the URL"),
    (s3(region="US East"), "oci_registry_storage.s3.region: must be a region name such as us-east-1"),
    (s3(chunk_size_mb=4), "oci_registry_storage.s3.chunk_size_mb: must be between 5 and 5120"),
    (s3(chunk_size_mb="ten"), "oci_registry_storage.s3.chunk_size_mb: must be a whole number, got 'ten'"),
    (s3(chunk_size_mb=True), "oci_registry_storage.s3.chunk_size_mb: must be a whole number, got True"),
    (s3(tls_verify="maybe"), "oci_registry_storage.s3.tls_verify: must be true or false, got 'maybe'"),
    (s3(path_style=2), "oci_registry_storage.s3.path_style: must be true or false, got 2"),
    (s3(redirect="sometimes"), "oci_registry_storage.s3.redirect: must be true or false"),
    (s3(ca_path="ca.pem"), "oci_registry_storage.s3.ca_path: must be the absolute path of a PEM CA file"),
    (s3(ca_path="/etc/ca.pem", endpoint="http://rgw.example"), "oci_registry_storage.s3.ca_path: is set but oci_registry_storage.s3.endpoint is plain http://"),
    (s3(root_directory="a/../b"), "oci_registry_storage.s3.root_directory: must be a key prefix"),
    (s3(root_directory="a b"), "oci_registry_storage.s3.root_directory: must be a key prefix"),
    (s3(secret_key=None), "oci_registry_storage.s3: give access_key and secret_key together, or neither"),
    (s3(access_key=None), "only secret_key is set"),
    (s3(secret_key=" " + SECRET), "oci_registry_storage.s3.secret_key: must be a non-empty string without surrounding spaces (its value is not shown)"),
    (s3(secret_key=12345), "oci_registry_storage.s3.secret_key: must be a non-empty string"),
    (s3(acces_key="x"), "oci_registry_storage.s3: unknown key(s) acces_key; valid keys: endpoint, region, bucket"),
])
def test_each_bad_key_is_named(value, expected):
    found = problems(value)
    assert any(p.startswith(expected) or expected in p for p in found), found


def test_every_problem_is_reported_at_once_under_the_given_name():
    found = problems(s3(bucket="X", chunk_size_mb=1, tls_verify="perhaps"), name="zot_storage")
    assert [p.split(":")[0] for p in found] == ["zot_storage.s3.bucket", "zot_storage.s3.tls_verify",
                                                "zot_storage.s3.chunk_size_mb"]


def test_public_view_masks_both_keys_and_leaves_the_input_alone():
    value = normalize_storage(s3())
    shown = public_storage(value)
    assert shown["s3"]["access_key"] == "********" and shown["s3"]["secret_key"] == "********"
    assert SECRET not in repr(shown)
    assert value["s3"]["secret_key"] == SECRET
    assert public_storage({"type": "filesystem"}) == {"type": "filesystem"}


def test_subclassed_values_are_described_by_their_plain_type():
    """Ansible 2.19 passes tagged str subclasses to filters: messages name 'str', not the subclass."""
    class TaggedStr(str):
        pass

    found = problems(s3(bucket=TaggedStr("Bad_Bucket")))
    assert "oci_registry_storage.s3.bucket: 'Bad_Bucket' (str) is not a bucket name" in found[0], found
