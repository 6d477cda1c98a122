"""The checker and the generator against zot's own example configurations (v2.1.20).

Every upstream example must pass the checker; every example the role's variables can
express is rebuilt from variables and compared with it after zot's defaults are applied.
"""

import copy

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_generate as zgen
from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_reload as zreload
from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_schema as zschema

from ._data import example_names, load_example, pinned_example_names

# Options (zot_* role variables without the prefix) that rebuild each expressible example.
EXPRESSIBLE = {
    "config-minimal.json": {
        "root_directory": "/tmp/zot", "http_address": "127.0.0.1", "http_port": 8080, "log_level": "debug",
    },
    "config-tls.json": {
        "root_directory": "/tmp/zot", "http_address": "127.0.0.1", "http_port": "8080", "realm": "zot",
        "tls_cert": "test/data/server.cert", "tls_key": "test/data/server.key", "log_level": "debug",
    },
    "config-gc.json": {
        "root_directory": "/tmp/zot", "gc": True, "gc_delay": "2h", "gc_interval": "1h",
        "gc_time_window": "01:00-08:00", "http_address": "127.0.0.1", "http_port": 8080, "log_level": "debug",
    },
    "config-metrics.json": {
        "root_directory": "/tmp/zot", "http_address": "127.0.0.1", "http_port": 8080, "log_level": "debug",
        "metrics_enabled": True, "metrics_path": "/metrics",
    },
    "config-metrics-authn-anonymous-access.json": {
        "root_directory": "/tmp/zot", "http_address": "127.0.0.1", "http_port": 8080, "log_level": "debug",
        "htpasswd_path": "/tmp/zot-test-htpasswd", "access_control": True, "metrics_enabled": True,
        "metrics_path": "/metrics", "metrics_anonymous": True,
    },
    "config-search.json": {
        "root_directory": "/tmp/zot", "http_address": "127.0.0.1", "http_port": 5000, "log_level": "debug",
        "search_enabled": True, "cve_enabled": True, "cve_update_interval": "24h",
    },
    "config-ui.json": {
        "root_directory": "/tmp/zot", "http_address": "0.0.0.0", "http_port": 8080, "log_level": "debug",
        "search_enabled": True, "cve_enabled": True, "cve_update_interval": "2h", "ui_enabled": True,
    },
    "config-scrub.json": {
        "root_directory": "/tmp/zot", "http_address": "127.0.0.1", "http_port": 8080, "log_level": "debug",
        "scrub_enabled": True, "scrub_interval": "24h",
    },
    "config-lint.json": {
        "root_directory": "/tmp/zot", "http_address": "127.0.0.1", "http_port": 8080, "log_level": "debug",
        "lint_enabled": True, "lint_mandatory_annotations": ["annot1", "annot2", "annot3"],
    },
    "config-sync.json": {
        "root_directory": "/tmp/zot", "http_address": "127.0.0.1", "http_port": 8080, "log_level": "debug",
        "sync_enabled": True, "sync_credentials_file": "./examples/sync-auth-filepath.json",
        "sync_registries": [
            {
                "urls": ["https://registry1:5000"], "on_demand": False, "poll_interval": "6h", "tls_verify": True,
                "cert_dir": "/home/user/certs", "max_retries": 3, "retry_delay": "5m", "only_signed": True,
                "content": [
                    {"prefix": "/repo1/repo", "tags": {"regex": "4.*", "semver": True}},
                    {"prefix": "/repo2/repo", "destination": "/repo", "strip_prefix": True},
                    {"prefix": "/repo3/**"},
                    {"prefix": "/repo4/**", "tags": {"exclude_regex": ".*-(amd64|arm64)$"}},
                ],
            },
            {
                "urls": ["https://registry2:5000", "https://registry3:5000"], "poll_interval": "12h",
                "tls_verify": False, "on_demand": False,
                "content": [{"prefix": "**", "tags": {"semver": True}}],
            },
            {
                "urls": ["https://index.docker.io"], "on_demand": True, "tls_verify": True, "max_retries": 5,
                "retry_delay": "1s", "max_retry_delay": "30s", "sync_timeout": "10m",
            },
            {
                "urls": ["https://demo.goharbor.io"], "poll_interval": "12h", "content": [{"prefix": "zot/**"}],
                "on_demand": True, "tls_verify": True, "max_retries": 5, "retry_delay": "1m",
            },
        ],
    },
    "config-allextensions.json": {
        "root_directory": "/tmp/zot", "http_address": "127.0.0.1", "http_port": 8080, "log_level": "debug",
        "metrics_enabled": True, "search_enabled": True, "cve_enabled": True, "cve_update_interval": "2h",
        "scrub_enabled": True, "scrub_interval": "24h", "sync_enabled": True,
        "sync_credentials_file": "./examples/sync-auth-filepath.json",
        "sync_registries": [
            {
                "urls": ["https://registry1:5000"], "on_demand": False, "poll_interval": "6h", "tls_verify": True,
                "cert_dir": "/home/user/certs", "max_retries": 3, "retry_delay": "15m",
                "content": [{"prefix": "/repo1/repo", "tags": {"regex": "4.*", "semver": True}},
                            {"prefix": "/repo2/repo"}],
            },
        ],
    },
}

NOT_EXPRESSIBLE = {
    "config-example.json": "LDAP authentication and log.output/audit files: the role manages htpasswd users only "
                           "and logs to the container's stdout",
    "config-ldap.json": "LDAP authentication and accessControl entries for LDAP groups on '**': the role manages "
                        "htpasswd users only",
    "config-mtls.json": "mTLS client identities (http.auth.mtls) and user policies on '**': the access model grants "
                        "per namespace, not registry-wide",
    "config-policy.json": "single-level globs (infra/*), CEL conditions and user/group policies on '**': the model "
                          "grants per namespace (<ns> and <ns>/**) without conditions",
    "config-anonymous-authz.json": "'create' without 'update' (the model's write is create+update), exact-only "
                                   "repository keys (the role always emits <ns> and <ns>/**)",
    "config-metrics-authz.json": "defaultPolicy ['read','create'] on '**' ('create' without 'update' is not a "
                                 "model action set)",
    "config-retention.json": "tag-pattern rules, pulledWithin, keepUntagged and subPaths: namespace retention is "
                             "keep_tags (mostRecentlyPushedCount) and max_age_days (pushedWithin) only",
    "config-gc-periodic.json": "storage.subPaths (a second store): the role runs one filesystem store",
    "config-s3.json": "DynamoDB cache drivers and subPaths: the role runs one store, filesystem or s3 with a Redis "
                      "remote cache (zot_storage, zot_redis; tests/unit/zot/test_zot_ha.py)",
}


def test_every_example_is_classified():
    """A new upstream example must be added to one list or the other, not silently ignored."""
    assert sorted(set(EXPRESSIBLE) | set(NOT_EXPRESSIBLE)) == example_names()
    assert example_names() == pinned_example_names()  # and tests/reference/pins.json lists each one
    assert not set(EXPRESSIBLE) & set(NOT_EXPRESSIBLE)


@pytest.mark.parametrize("name", pinned_example_names())
def test_upstream_example_passes_checker(name):
    errors, _warnings = zschema.check(load_example(name))
    assert errors == []


def _reproduction_params():
    for name in pinned_example_names():
        if name in NOT_EXPRESSIBLE:
            yield pytest.param(name, marks=pytest.mark.skip(reason="not expressible: " + NOT_EXPRESSIBLE[name]), id=name)
        else:
            yield pytest.param(name, id=name)


@pytest.mark.parametrize("name", list(_reproduction_params()))
def test_example_reproduced_from_variables(name):
    config, _credentials, warnings = zgen.generate(copy.deepcopy(EXPRESSIBLE[name]))
    assert zreload.normalise(config) == zreload.normalise(load_example(name))
    assert warnings == []
    assert zschema.check(config) == ([], [])


def test_normalise_is_not_the_identity_on_a_difference():
    """The comparison can fail: a one-value change in the variables breaks equality."""
    options = copy.deepcopy(EXPRESSIBLE["config-gc.json"])
    options["gc_interval"] = "2h"
    config, _c, _w = zgen.generate(options)
    assert zreload.normalise(config) != zreload.normalise(load_example("config-gc.json"))


# -- broken variants: each must fail with a message that names the key ---------------------
def _set_path(config, path, value):
    node = config
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


BROKEN = [
    ("unknown top-level key", "config-minimal.json", ("listen",), "0.0.0.0:5000", "listen", "does not know"),
    ("unknown nested key", "config-minimal.json", ("storage", "rootDir"), "/x", "storage.rootDir", "does not know"),
    ("unknown extension key", "config-metrics.json", ("extensions", "metrics", "prometheus", "port"), "9",
     "extensions.metrics.prometheus.port", "does not know"),
    ("port as int", "config-minimal.json", ("http", "port"), 8080, "http.port", "a string holding a port"),
    ("port out of range", "config-minimal.json", ("http", "port"), "70000", "http.port", "port number"),
    ("bad duration", "config-gc.json", ("storage", "gcDelay"), "1 hour", "storage.gcDelay", "Go duration"),
    ("duration as number", "config-gc.json", ("storage", "gcInterval"), 3600, "storage.gcInterval", "Go duration"),
    ("negative gc delay", "config-gc.json", ("storage", "gcDelay"), "-1h", "storage.gcDelay", "negative"),
    ("bad gc time window", "config-gc.json", ("storage", "gcTimeWindow"), "1-8", "storage.gcTimeWindow", "HH:MM"),
    ("bool as string", "config-minimal.json", ("storage", "dedupe"), "true", "storage.dedupe", "boolean"),
    ("ui without search", "config-minimal.json", ("extensions",), {"ui": {"enable": True}}, "extensions.ui",
     "needs the search extension"),
    ("ui with search disabled", "config-ui.json", ("extensions", "search", "enable"), False, "extensions.ui",
     "needs the search extension"),
    ("metrics path /v2", "config-metrics.json", ("extensions", "metrics", "prometheus", "path"), "/v2",
     "extensions.metrics.prometheus.path", "must not be"),
    ("metrics path /", "config-metrics.json", ("extensions", "metrics", "prometheus", "path"), "/",
     "extensions.metrics.prometheus.path", "must not be"),
    ("metrics path relative", "config-metrics.json", ("extensions", "metrics", "prometheus", "path"), "metrics",
     "extensions.metrics.prometheus.path", "start with /"),
    ("scrub interval 1h", "config-scrub.json", ("extensions", "scrub", "interval"), "1h",
     "extensions.scrub.interval", "at least 2h"),
    ("cve interval 1h", "config-search.json", ("extensions", "search", "cve", "updateInterval"), "1h",
     "extensions.search.cve.updateInterval", "at least 2h"),
    ("accessControl without auth", "config-minimal.json", ("http", "accessControl"),
     {"repositories": {"**": {"defaultPolicy": ["read"]}}}, "http.accessControl", "needs authentication"),
    ("unknown action", "config-metrics-authz.json", ("http", "accessControl", "repositories", "**", "defaultPolicy"),
     ["read", "push"], 'http.accessControl.repositories["**"].defaultPolicy', "unknown actions"),
    ("bad repository glob", "config-policy.json", ("http", "accessControl", "repositories", "tmp/[**"),
     {"defaultPolicy": ["read"]}, 'http.accessControl.repositories["tmp/[**"]', "not a valid glob"),
    ("retention keepTags count as string", "config-retention.json", None, None,
     "storage.retention.policies[2].keepTags[0].mostRecentlyPushedCount", "an integer"),
    ("retention bad regex", "config-retention.json", None, None,
     "storage.retention.policies[0].keepTags[0].patterns", "regular expression"),
    ("sync maxRetries without retryDelay", "config-sync.json", None, None,
     "extensions.sync.registries[0].retryDelay", "required when maxRetries"),
    ("sync maxRetryDelay below retryDelay", "config-sync.json", None, None,
     "extensions.sync.registries[2].maxRetryDelay", "greater than or equal"),
    ("unknown log level", "config-minimal.json", ("log", "level"), "verbose", "log.level", "unknown log level"),
    ("storage driver unknown", "config-s3.json", ("storage", "storageDriver", "name"), "ftp",
     "storage.storageDriver.name", "unsupported storage driver"),
]


def _broken_config(example, path, value, case):
    config = load_example(example)
    if path is not None:
        _set_path(config, path, value)
    elif case == "retention keepTags count as string":
        config["storage"]["retention"]["policies"][2]["keepTags"][0]["mostRecentlyPushedCount"] = "10"
    elif case == "retention bad regex":
        config["storage"]["retention"]["policies"][0]["keepTags"][0]["patterns"] = ["v2.(*"]
    elif case == "sync maxRetries without retryDelay":
        del config["extensions"]["sync"]["registries"][0]["retryDelay"]
    elif case == "sync maxRetryDelay below retryDelay":
        config["extensions"]["sync"]["registries"][2]["maxRetryDelay"] = "500ms"
    return config


@pytest.mark.parametrize("case,example,path,value,where,what", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_variant_fails_naming_the_key(case, example, path, value, where, what):
    config = _broken_config(example, path, value, case)
    errors, _warnings = zschema.check(config)
    assert errors, "%s was accepted" % case
    assert any(e.startswith(where + ":") and what in e for e in errors), errors
    with pytest.raises(zschema.ZotConfigError) as info:
        zschema.validate(config)
    assert where in str(info.value)


def test_keys_are_matched_case_insensitively_like_zot():
    """zot reads keys case-insensitively: the docs' "KeepTags" spelling loads."""
    config = load_example("config-retention.json")
    policy = config["storage"]["retention"]["policies"][0]
    policy["KeepTags"] = policy.pop("keepTags")
    assert zschema.check(config)[0] == []
    policy["keepTags"] = []
    assert any("duplicate" in e for e in zschema.check(config)[0])


def test_gc_disabled_with_delay_warns():
    config = load_example("config-gc.json")
    config["storage"]["gc"] = False
    errors, warnings = zschema.check(config)
    assert errors == []
    assert any(w.startswith("storage.gcDelay:") and "ignored" in w for w in warnings)
