"""zot on shared storage (issue 17): the s3 storageDriver, the Redis remote cache and the scale-out cluster
that the generator renders from zot_storage / zot_redis / zot_cluster_*, and the checker's rules for them,
each taken from zot v2.1.20's own code (cited in plugins/module_utils/_zot_generate.py and _zot_schema.py). The configs built
here by hand follow the shape of zot's examples/config-redis.json and
examples/scale-out-cluster-cloud/config-cluster-member0.json (v2.1.20)."""

import copy
import json

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_generate as zgen
from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_reload as zreload
from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_schema as zschema

from ._data import load_example

SECRET_KEY = "S3cr3t/Key+with=chars"
REDIS_PASSWORD = "p@ss:w/rd"
HASH_KEY = "0123456789abcdef"
STORAGE = {
    "type": "s3",
    "s3": {"endpoint": "http://rgw.example:7480", "region": "us-east-1", "bucket": "registry",
           "access_key": "AKIAEXAMPLE", "secret_key": SECRET_KEY, "path_style": True, "tls_verify": True,
           "ca_path": "", "chunk_size_mb": 10, "root_directory": "", "redirect": False},
}
REDIS = {"address": "10.0.0.5:6379", "password": REDIS_PASSWORD, "db": 0, "tls": False}
MEMBERS = ["10.0.0.1:5000", "10.0.0.2:5000", "10.0.0.3:5000"]


def _generate(platform_options, **extra):
    options = dict(platform_options)
    options.update(extra)
    return zgen.generate(options)


def test_s3_storage_with_redis_cache(platform_options):
    config, _credentials, _warnings = _generate(platform_options, storage=STORAGE, redis=REDIS)
    storage = config["storage"]
    assert storage["storageDriver"] == {
        "name": "s3", "region": "us-east-1", "bucket": "registry", "rootdirectory": "/zot",
        "regionendpoint": "http://rgw.example:7480", "forcepathstyle": True, "secure": False,
        "skipverify": False, "chunksize": 10 * 1024 * 1024,
    }
    assert storage["dedupe"] is True and storage["remoteCache"] is True
    assert storage["cacheDriver"] == {"name": "redis", "url": "redis://:p%40ss%3Aw%2Frd@10.0.0.5:6379/0",
                                      "keyprefix": "zot"}
    assert "redirectBlobURL" not in storage
    assert zschema.check(config) == ([], [])
    text = zgen.render(config)
    # the S3 credentials stay out of config.json: they go to the container's environment
    assert "AKIAEXAMPLE" not in text and SECRET_KEY not in text
    assert zgen.storage_environment(STORAGE, "/etc/zot-s3-ca/ca.pem") == {
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": SECRET_KEY}


def test_s3_variants(platform_options):
    storage = copy.deepcopy(STORAGE)
    storage["s3"].update(endpoint="https://s3.internal:9000/", tls_verify=False, path_style=False,
                         root_directory="/registry/", chunk_size_mb=64, redirect=True, ca_path="/etc/ca.pem")
    config, _c, _w = _generate(platform_options, storage=storage, redis=dict(REDIS, tls=True, db=3, password=""))
    driver = config["storage"]["storageDriver"]
    assert driver["secure"] is True and driver["skipverify"] is True and driver["forcepathstyle"] is False
    assert driver["rootdirectory"] == "/registry" and driver["chunksize"] == 64 * 1024 * 1024
    assert config["storage"]["redirectBlobURL"] is True
    assert config["storage"]["cacheDriver"]["url"] == "rediss://10.0.0.5:6379/3"
    assert zschema.check(config)[0] == []
    env = zgen.storage_environment(storage, "/etc/zot-s3-ca/ca.pem")
    assert env["AWS_CA_BUNDLE"] == "/etc/zot-s3-ca/ca.pem"
    aws = dict(STORAGE, s3=dict(STORAGE["s3"], endpoint=""))
    config, _c, _w = _generate(platform_options, storage=aws, redis=REDIS)
    assert "regionendpoint" not in config["storage"]["storageDriver"]
    assert config["storage"]["storageDriver"]["secure"] is True


def test_filesystem_keeps_todays_config(platform_options):
    before, _c, _w = _generate(platform_options)
    after, _c, _w = _generate(platform_options, storage={"type": "filesystem"}, redis={}, cluster_members=[],
                              cluster_hash_key="")
    assert before == after
    assert "storageDriver" not in after["storage"] and "cluster" not in after


def test_single_zot_on_filesystem_with_redis(platform_options):
    config, _c, _w = _generate(platform_options, storage={"type": "filesystem"}, redis=REDIS)
    assert config["storage"]["remoteCache"] is True and config["storage"]["cacheDriver"]["name"] == "redis"
    assert zschema.check(config)[0] == []


@pytest.mark.parametrize("extra,variable", [
    ({"storage": STORAGE, "redis": {}}, "zot_redis:"),
    ({"storage": dict(STORAGE, s3=dict(STORAGE["s3"], bucket="")), "redis": REDIS}, "zot_storage.s3.bucket:"),
    ({"storage": dict(STORAGE, s3=dict(STORAGE["s3"], chunk_size_mb=4)), "redis": REDIS},
     "zot_storage.s3.chunk_size_mb:"),
    ({"storage": dict(STORAGE, s3=dict(STORAGE["s3"], endpoint="rgw:7480")), "redis": REDIS},
     "zot_storage.s3.endpoint:"),
    ({"storage": {"type": "gcs"}, "redis": REDIS}, "zot_storage.type:"),
    ({"storage": STORAGE, "redis": dict(REDIS, address="redis")}, "zot_redis.address:"),
    ({"storage": STORAGE, "redis": dict(REDIS, db=-1)}, "zot_redis.db:"),
    ({"cluster_members": MEMBERS, "cluster_hash_key": "short"}, "zot_cluster_hash_key:"),
    ({"cluster_members": MEMBERS, "cluster_hash_key": HASH_KEY + "x"}, "zot_cluster_hash_key:"),
    ({"cluster_members": ["10.0.0.1", "10.0.0.2:5000"], "cluster_hash_key": HASH_KEY}, "zot_cluster_members[0]:"),
    ({"cluster_members": ["a:5000", "a:5000"], "cluster_hash_key": HASH_KEY}, "zot_cluster_members:"),
])
def test_bad_input_names_the_variable(platform_options, extra, variable):
    with pytest.raises(zschema.ZotConfigError) as info:
        _generate(platform_options, **extra)
    assert len(info.value.problems) == 1 and info.value.problems[0].startswith(variable), info.value.problems
    for secret in (SECRET_KEY, REDIS_PASSWORD, "short", HASH_KEY):
        assert secret not in info.value.msg


def test_redis_with_s3_key_mismatch_is_refused():
    with pytest.raises(zschema.ZotConfigError) as info:
        zgen.storage_environment(dict(STORAGE, s3=dict(STORAGE["s3"], secret_key="")))
    assert info.value.problems[0].startswith("zot_storage.s3.access_key:")


def test_cluster(platform_options):
    config, _c, _w = _generate(platform_options, storage=STORAGE, redis=REDIS, cluster_members=MEMBERS,
                               cluster_hash_key=HASH_KEY, cluster_tls_cacert="/etc/zot-tls/0/ca.pem")
    assert config["cluster"] == {"members": MEMBERS, "hashKey": HASH_KEY, "tls": {"cacert": "/etc/zot-tls/0/ca.pem"}}
    assert zschema.check(config) == ([], [])
    # one member is no cluster (pkg/api/config/config.go IsClustered: more than one member)
    config, _c, _w = _generate(platform_options, cluster_members=MEMBERS[:1], cluster_hash_key="")
    assert "cluster" not in config


def _cluster_member_config():
    """The shape of zot's examples/scale-out-cluster-cloud/config-cluster-member0.json, with Redis."""
    return {
        "distSpecVersion": "1.1.1",
        "storage": {"rootDirectory": "/tmp/zot", "dedupe": False, "remoteCache": True,
                    "storageDriver": {"name": "s3", "rootdirectory": "/zot", "region": "us-east-1",
                                      "regionendpoint": "localhost:4566", "bucket": "zot-storage",
                                      "forcepathstyle": True, "secure": False, "skipverify": False},
                    "cacheDriver": {"name": "redis", "url": "redis://localhost:6379", "keyprefix": "zot"}},
        "http": {"address": "127.0.0.1", "port": "9000"},
        "log": {"level": "debug"},
        "cluster": {"members": ["127.0.0.1:9000", "127.0.0.1:9001", "127.0.0.1:9002"], "hashKey": "loremipsumdolors"},
    }


def test_checker_accepts_upstream_shapes():
    assert zschema.check(_cluster_member_config()) == ([], [])
    # examples/config-redis.json: dedupe on s3 with a redis cacheDriver and no remoteCache key (zot's default
    # turns remoteCache on)
    config = _cluster_member_config()
    del config["cluster"]
    config["storage"].update(dedupe=True)
    del config["storage"]["remoteCache"]
    assert zschema.check(config) == ([], [])


@pytest.mark.parametrize("change,path,words", [
    (lambda c: c["cluster"].update(hashKey="tooshort"), "cluster.hashKey", "16 characters"),
    (lambda c: c["cluster"].update(members=[]), "cluster.members", "0 members"),
    (lambda c: c["cluster"].update(members=["node1", "node2:9000"]), "cluster.members[0]", "host:port"),
    (lambda c: c["storage"].update(dedupe=True) or c["storage"].pop("cacheDriver"), "storage.cacheDriver",
     "remote cache"),
    (lambda c: c["storage"]["cacheDriver"].update(name="memcached"), "storage.cacheDriver.name", "unsupported"),
    (lambda c: c["storage"]["cacheDriver"].update(url="http://redis:6379"), "storage.cacheDriver.url", "redis://"),
    (lambda c: c["storage"]["cacheDriver"].pop("url"), "storage.cacheDriver", "url or addr"),
    (lambda c: c["storage"]["storageDriver"].pop("bucket"), "storage.storageDriver.bucket", "bucket"),
    (lambda c: c["storage"]["storageDriver"].pop("regionendpoint") and c["storage"]["storageDriver"].pop("region"),
     "storage.storageDriver.region", "region"),
    (lambda c: c["storage"]["storageDriver"].update(chunksize=1024), "storage.storageDriver.chunksize", "5 MiB"),
    (lambda c: c["storage"]["storageDriver"].update(secure="yes"), "storage.storageDriver.secure", "boolean"),
])
def test_checker_refuses_what_zot_refuses(change, path, words):
    config = _cluster_member_config()
    change(config)
    errors, _warnings = zschema.check(config)
    assert len(errors) == 1, errors
    assert errors[0].startswith(path + ":") and words in errors[0], errors


def test_checker_never_shows_the_hash_key_or_redis_url():
    config = _cluster_member_config()
    config["cluster"]["hashKey"] = "s3cr3t-hash"
    config["storage"]["cacheDriver"]["url"] = "http://:hunter2@redis:6379"
    errors, _warnings = zschema.check(config)
    assert len(errors) == 2 and not any("s3cr3t-hash" in e or "hunter2" in e for e in errors), errors


def test_subpath_cache_rules_of_the_s3_example():
    """examples/config-s3.json passes; zot's subpath rules: only dynamodb, and remoteCache false ignores a cacheDriver."""
    example = load_example("config-s3.json")
    assert zschema.check(example)[0] == []
    redis_sub = copy.deepcopy(example)
    redis_sub["storage"]["subPaths"]["/c"]["cacheDriver"] = {"name": "redis", "url": "redis://r:6379"}
    errors = zschema.check(redis_sub)[0]
    assert errors == ['storage.subPaths["/c"].cacheDriver.name: a subpath\'s remote cache must be dynamodb, got '
                      "'redis'"]
    ignored = copy.deepcopy(example)
    ignored["storage"]["subPaths"]["/b"]["cacheDriver"] = {"name": "dynamodb", "cacheTablename": "t"}
    errors, warnings = zschema.check(ignored)
    assert errors == [] and any(w.startswith('storage.subPaths["/b"].cacheDriver: ignored') for w in warnings)
    no_cache = copy.deepcopy(example)
    del no_cache["storage"]["cacheDriver"]
    errors = zschema.check(no_cache)[0]
    assert len(errors) == 1 and errors[0].startswith("storage.cacheDriver: dedupe on a remote storage driver")


def test_checker_warnings():
    config = _cluster_member_config()
    config["storage"]["storageDriver"].update(accesskey="AKIDVALUE", secretkey="SECRETVALUE", bukcet="typo")
    config["http"]["tls"] = {"cert": "/c.pem", "key": "/k.pem"}
    errors, warnings = zschema.check(config)
    assert errors == []
    assert any("storageDriver.bukcet" in w and "does not read" in w for w in warnings)
    assert any("holds s3 credentials" in w for w in warnings)
    assert any(w.startswith("cluster.tls.cacert:") for w in warnings)
    assert not any("AKIDVALUE" in w or "SECRETVALUE" in w for w in warnings)


@pytest.mark.parametrize("change,expected", [
    (lambda c: c["storage"]["cacheDriver"].update(url="redis://other:6379"), "restart"),
    (lambda c: c["storage"]["storageDriver"].update(bucket="other"), "restart"),
    (lambda c: c["storage"].update(remoteCache=False), "restart"),
    (lambda c: c["cluster"].update(members=["127.0.0.1:9000", "127.0.0.1:9001"]), "restart"),
    (lambda c: c["cluster"].update(hashKey="fedcba9876543210"), "restart"),
    (lambda c: c["storage"].update(redirectBlobURL=True), "reload"),
    (lambda c: c["storage"].update(gcDelay="2h"), "reload"),
])
def test_reload_classifier(change, expected):
    old = _cluster_member_config()
    new = copy.deepcopy(old)
    change(new)
    result = zreload.classify_change(old, new)
    assert result["action"] == expected, result
    assert "fedcba9876543210" not in json.dumps(result["reasons"])


def test_turning_shared_storage_on_restarts(platform_options):
    old, _c, _w = _generate(platform_options)
    new, _c, _w = _generate(platform_options, storage=STORAGE, redis=REDIS, cluster_members=MEMBERS,
                            cluster_hash_key=HASH_KEY)
    result = zreload.classify_change(old, new)
    assert result["action"] == "restart"
    assert {"storage.storageDriver.bucket", "storage.cacheDriver.url", "cluster.hashKey"} <= set(result["changed"])
    assert REDIS_PASSWORD not in json.dumps(result) and HASH_KEY not in json.dumps(result)
