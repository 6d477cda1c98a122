"""_storage_checks.check: what each registry type can do with oci_registry_storage, oci_registry_redis and the
number of hosts (issue 17). Each refusal names the variable to change."""

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils._storage_checks import check, redis_mode

S3 = {"type": "s3", "s3": {"bucket": "registry", "endpoint": "http://rgw:7480", "redirect": False}}
FS = {"type": "filesystem"}
DB = {"host": "pg", "username": "harbor", "password": "x"}


@pytest.mark.parametrize("storage,redis,expected", [
    (FS, {"mode": "auto"}, "none"),
    (S3, {"mode": "auto"}, "deploy"),
    (S3, {}, "deploy"),
    (S3, None, "deploy"),
    (S3, {"mode": "external", "address": "r:6379"}, "external"),
    (FS, {"mode": "deploy"}, "deploy"),
])
def test_auto_mode(storage, redis, expected):
    assert redis_mode(storage, redis) == expected


@pytest.mark.parametrize("registry_type,storage,redis,replicas", [
    ("distribution", FS, {"mode": "auto"}, 1),
    ("distribution", S3, {"mode": "auto"}, 3),
    ("zot", FS, {"mode": "auto"}, 1),
    ("zot", S3, {"mode": "auto"}, 1),
    ("zot", S3, {"mode": "external", "address": "redis:6379"}, 3),
    ("harbor", FS, {"mode": "auto"}, 1),
    ("harbor", S3, {"mode": "none"}, 1),
])
def test_accepted_without_warnings(registry_type, storage, redis, replicas):
    assert check(registry_type, storage, redis, replicas) == ([], [])


def test_harbor_several_hosts_with_everything_shared_is_accepted():
    assert check("harbor", S3, {"mode": "deploy"}, 3, external_database=DB) == ([], [])


@pytest.mark.parametrize("registry_type,storage,redis,replicas,variable", [
    ("zot", S3, {"mode": "none"}, 1, "oci_registry_redis.mode"),
    ("zot", S3, {"mode": "none"}, 3, "oci_registry_redis.mode"),
    ("zot", FS, {"mode": "deploy"}, 2, "oci_registry_redis.mode"),
    ("harbor", FS, {"mode": "deploy"}, 2, "oci_registry_storage"),
    ("distribution", FS, {"mode": "auto"}, 2, "oci_registry_storage"),
])
def test_refused_naming_the_variable(registry_type, storage, redis, replicas, variable):
    errors, _warnings = check(registry_type, storage, redis, replicas, external_database=DB)
    assert len(errors) == 1, errors
    assert errors[0].startswith(variable + ":"), errors


def test_zot_s3_without_redis_says_why_and_what_is_valid():
    errors = check("zot", S3, {"mode": "none"}, 1)[0]
    assert "remote cache" in errors[0] and "auto, deploy or external" in errors[0]


def test_harbor_several_hosts_need_shared_redis_and_database():
    errors = check("harbor", S3, {"mode": "none"}, 2)[0]
    assert [e.split(":")[0] for e in errors] == ["oci_registry_redis.mode", "harbor_external_database"]


def test_harbor_filesystem_several_hosts_lists_every_missing_part():
    errors = check("harbor", FS, {"mode": "auto"}, 3)[0]
    assert [e.split(":")[0] for e in errors] == ["oci_registry_storage", "oci_registry_redis.mode",
                                                 "harbor_external_database"]


def test_warnings():
    warnings = check("zot", FS, {"mode": "none"}, 3)[1]
    assert len(warnings) == 1 and warnings[0].startswith("oci_registry_storage:") and "owns it" in warnings[0]
    warnings = check("zot", FS, {"mode": "deploy"}, 1)[1]
    assert len(warnings) == 1 and warnings[0].startswith("oci_registry_redis.mode:")
    warnings = check("distribution", S3, {"mode": "none"}, 2)[1]
    assert len(warnings) == 1 and "in-memory" in warnings[0]
    warnings = check("harbor", {"type": "s3", "s3": {"bucket": "b", "redirect": True}}, {"mode": "auto"}, 1)[1]
    assert len(warnings) == 1 and warnings[0].startswith("oci_registry_storage.s3.redirect:")


@pytest.mark.parametrize("args,variable", [
    (("quay", FS, {}, 1), "oci_registry_type"),
    (("zot", {"type": "nfs"}, {}, 1), "oci_registry_storage.type"),
    (("zot", "s3", {}, 1), "oci_registry_storage"),
    (("zot", FS, {"mode": "sentinel"}, 1), "oci_registry_redis.mode"),
    (("zot", FS, [], 1), "oci_registry_redis"),
    (("zot", FS, {}, 0), "oci_registry"),
    (("zot", FS, {}, True), "oci_registry"),
])
def test_bad_input_names_the_variable_and_what_is_valid(args, variable):
    errors, warnings = check(*args)
    assert len(errors) == 1 and errors[0].startswith(variable + ":"), errors
    assert warnings == []


def test_harbor_redis_database_must_be_zero():
    errors = check("harbor", S3, {"mode": "external", "address": "r:6379", "db": 2}, 1)[0]
    assert len(errors) == 1 and errors[0].startswith("oci_registry_redis.db:") and "database 0" in errors[0]
    assert check("harbor", S3, {"mode": "external", "address": "r:6379", "db": 0}, 1) == ([], [])
    # no Redis of the collection: the database number is not used
    assert check("harbor", FS, {"mode": "none", "db": 2}, 1) == ([], [])


def test_harbor_cannot_turn_path_style_off_on_a_custom_endpoint():
    storage = {"type": "s3", "s3": dict(S3["s3"], path_style=False)}
    warnings = check("harbor", storage, {"mode": "auto"}, 1)[1]
    assert len(warnings) == 1 and warnings[0].startswith("oci_registry_storage.s3.path_style:")
    assert check("zot", storage, {"mode": "auto"}, 1) == ([], [])
