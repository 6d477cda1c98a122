"""The generator over a matrix of inputs, variable-named errors, sync credentials, and the
reload/restart classification."""

import copy
import itertools
import json

import pytest

from ansible_collections.provisioning.oci_registry.plugins.filter.zot_config import zot_config
from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_generate as zgen
from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_reload as zreload
from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_schema as zschema

from ._data import PLATFORM_NAMESPACES, PLATFORM_USERS

SYNC_REGISTRIES = [
    {"urls": ["https://upstream.example:5000"], "on_demand": True, "tls_verify": True, "max_retries": 3,
     "retry_delay": "30s", "content": [{"prefix": "library/**", "tags": {"semver": True}}],
     "username": "mirror", "password": "mirror-secret-9"},
    {"urls": ["http://plain.example"], "poll_interval": "6h", "content": [{"prefix": "tools/*"}]},
]

AXES = {
    "auth": [
        {},
        {"htpasswd_path": "/etc/zot/htpasswd", "fail_delay": 5, "access_control": True,
         "users": PLATFORM_USERS, "namespaces": PLATFORM_NAMESPACES},
        {"htpasswd_path": "/etc/zot/htpasswd", "access_control": True, "users": PLATFORM_USERS,
         "namespaces": PLATFORM_NAMESPACES, "access_default_policy": ["read"], "access_anonymous_default": ["read"]},
    ],
    "tls": [{}, {"tls_cert": "/etc/zot/tls/cert.pem", "tls_key": "/etc/zot/tls/key.pem"},
            {"tls_cert": "/c", "tls_key": "/k", "tls_cacert": "/ca"}],
    "storage": [
        {"gc": True, "gc_delay": "1h", "gc_interval": "24h", "dedupe": True, "retention_enabled": True,
         "retention_dry_run": True, "retention_delay": "24h", "retention_delete_untagged": False,
         "retention_delete_referrers": True},
        {"gc": False, "dedupe": False, "retention_enabled": False, "max_repos": 100},
        {"gc": True, "gc_time_window": "22:00-06:00", "retention_enabled": True},
    ],
    "extensions": [
        {},
        {"search_enabled": True, "ui_enabled": True, "metrics_enabled": True, "metrics_path": "/metrics"},
        {"search_enabled": True, "cve_enabled": True, "cve_update_interval": "24h", "scrub_enabled": True,
         "scrub_interval": "48h", "lint_enabled": True, "lint_mandatory_annotations": ["org.opencontainers.image.source"],
         "metrics_enabled": True, "metrics_path": "/zot/metrics", "metrics_users": ["provisioning"]},
        {"sync_enabled": True, "sync_registries": SYNC_REGISTRIES, "sync_credentials_file": "/etc/zot/sync-credentials.json"},
    ],
    "http": [
        {"http_address": "0.0.0.0", "http_port": 5000, "realm": "zot", "http_compat": ["docker2s2"]},
        {"http_address": "127.0.0.1", "http_port": "8080", "ratelimit_rate": 10,
         "ratelimit_methods": [{"method": "GET", "rate": 5}], "allow_origin": "*",
         "external_url": "https://zot.example"},
    ],
    "log": [{"log_level": "info"}, {"log_level": "debug", "log_audit": "/var/log/zot/audit.log"}],
}
MATRIX = [dict(itertools.chain.from_iterable(d.items() for d in combo)) for combo in itertools.product(*AXES.values())]


@pytest.mark.parametrize("options", MATRIX, ids=["combo%d" % i for i in range(len(MATRIX))])
def test_matrix_passes_the_contract(options):
    options = dict(copy.deepcopy(options), root_directory="/var/lib/registry")
    config, credentials, _warnings = zgen.generate(options)
    assert zschema.check(config)[0] == []
    # the types zot declares, whatever the input types were
    assert isinstance(config["http"]["port"], str) and config["http"]["port"].isdigit()
    flat = zreload._flatten(config)
    for path, value in flat.items():
        if path and path[-1] in ("gcDelay", "gcInterval", "delay", "pushedWithin", "interval", "updateInterval",
                                 "pollInterval", "retryDelay"):
            zschema.parse_duration(value)
    text = zgen.render(config)
    assert json.loads(text) == config
    for registry in SYNC_REGISTRIES:
        if registry.get("password"):
            assert registry["password"] not in text
    if options.get("sync_enabled"):
        assert credentials == {"upstream.example:5000": {"username": "mirror", "password": "mirror-secret-9"}}
        assert config["extensions"]["sync"]["credentialsFile"] == "/etc/zot/sync-credentials.json"
    else:
        assert credentials == {}
    if not options.get("search_enabled"):
        assert "search" not in config.get("extensions", {})
    if options.get("search_enabled") and not options.get("cve_enabled"):
        assert "cve" not in config["extensions"]["search"]   # CVE scanning stays off unless asked for


@pytest.mark.parametrize("options,variable,what", [
    ({"ui_enabled": True}, "zot_ui_enabled (extensions.ui)", "needs the search extension"),
    ({"search_enabled": False, "ui_enabled": True}, "zot_ui_enabled", "search"),
    ({"metrics_enabled": True, "metrics_path": "/v2"}, "zot_metrics_path (extensions.metrics.prometheus.path)", "must not be"),
    ({"metrics_enabled": True, "metrics_path": "/"}, "zot_metrics_path", "must not be"),
    ({"scrub_enabled": True, "scrub_interval": "1h"}, "zot_scrub_interval (extensions.scrub.interval)", "at least 2h"),
    ({"gc_delay": "1 hour"}, "zot_gc_delay (storage.gcDelay)", "Go duration"),
    ({"gc_interval": 3600}, "zot_gc_interval (storage.gcInterval)", "Go duration"),
    ({"retention_delay": "a day"}, None, None),   # no namespaces with retention: nothing generated, nothing wrong
    ({"http_port": "http"}, "zot_http_port", "port number"),
    ({"http_port": 0}, "zot_http_port", "port number"),
    ({"http_port": True}, "zot_http_port", "port number"),
    ({"dedupe": "yes"}, "zot_dedupe (storage.dedupe)", "boolean"),
    ({"log_level": "loud"}, "zot_log_level (log.level)", "unknown log level"),
    ({"gc_time_window": "8-9"}, "zot_gc_time_window (storage.gcTimeWindow)", "HH:MM"),
    ({"cve_enabled": True}, "zot_cve_enabled", "search extension"),
    ({"search_enabled": True, "cve_enabled": True, "cve_update_interval": "30m"},
     "zot_cve_update_interval (extensions.search.cve.updateInterval)", "at least 2h"),
    ({"access_control": True, "namespaces": PLATFORM_NAMESPACES, "users": PLATFORM_USERS},
     "zot_namespaces (http.accessControl)", "needs authentication"),
    ({"tls_cert": "/c"}, "zot_tls_cert", "zot_tls_key"),
    ({"gc": False, "retention_enabled": True, "namespaces": PLATFORM_NAMESPACES}, "zot_gc", "garbage collection"),
    ({"sync_enabled": True, "sync_registries": [{"urls": []}]}, "zot_sync_registries[0].urls", "non-empty"),
    ({"sync_enabled": True, "sync_registries": [{"urls": ["https://a"], "pollInterval": "1h"}]},
     "zot_sync_registries[0]", "unknown keys pollInterval"),
    ({"sync_enabled": True, "sync_registries": [{"urls": ["https://a"], "max_retries": 2}]},
     "zot_sync_registries / zot_mirrors / zot_replications (extensions.sync.registries[0].retryDelay)", "required when maxRetries"),
    ({"sync_enabled": True, "sync_registries": [{"urls": ["https://a"], "username": "u", "password": "p"}]},
     "zot_sync_credentials_file", "credentials file"),
    ({"config_overrides": {"http": {"port": 5000}}}, "zot_config_overrides (http.port)", "a string holding a port"),
    ({"config_overrides": {"http": {"listen": ":5000"}}}, "zot_config_overrides (http.listen)", "does not know"),
    ({"config_overrides": {"extensions": {"scrub": {"interval": "1h"}}}},
     "zot_config_overrides (extensions.scrub.interval)", "at least 2h"),
    ({"nonsense": 1}, "zot_nonsense", "not an option"),
])
def test_bad_variables_fail_naming_the_variable(options, variable, what):
    base = {"root_directory": "/var/lib/registry", "http_address": "0.0.0.0", "http_port": 5000}
    base.update(copy.deepcopy(options))
    if variable is None:
        zgen.generate(base)
        return
    with pytest.raises(zschema.ZotConfigError) as info:
        zgen.generate(base)
    message = str(info.value)
    assert any(p.startswith(variable) and what in p for p in info.value.problems), message


def test_config_overrides_merge_and_are_checked():
    config, _c, _w = zgen.generate({"root_directory": "/r", "http_port": 5000,
                                    "config_overrides": {"http": {"readTimeout": "2m"}, "scheduler": {"numWorkers": 4}}})
    assert config["http"]["readTimeout"] == "2m"
    assert config["http"]["port"] == "5000"
    assert config["scheduler"] == {"numWorkers": 4}


def test_filter_returns_config_json_and_change(platform_options):
    first = zot_config(platform_options, running="")
    assert first["change"]["action"] == "restart"
    assert json.loads(first["json"]) == first["config"]
    same = zot_config(platform_options, running=first["json"])
    assert same["change"]["action"] == "none"
    changed = dict(platform_options, gc_delay="2h")
    assert zot_config(changed, running=first["json"])["change"]["action"] == "reload"
    moved = dict(platform_options, http_port=5001)
    assert zot_config(moved, running=first["config"])["change"]["action"] == "restart"
    assert zot_config(platform_options, running="{not json")["change"]["action"] == "restart"
    assert "change" not in zot_config(platform_options)


def test_filter_error_names_the_variable(platform_options):
    from ansible.errors import AnsibleFilterError

    with pytest.raises(AnsibleFilterError, match=r"zot_metrics_path \(extensions.metrics.prometheus.path\)"):
        zot_config(dict(platform_options, metrics_path="/v2"))


# -- reload or restart ----------------------------------------------------------------------
def _mutate(config, change):
    config = copy.deepcopy(config)
    change(config)
    return config


def _delete(path):
    def change(config):
        node = config
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return change


def _put(path, value):
    def change(config):
        node = config
        for key in path[:-1]:
            node = node[key] if isinstance(node, list) else node.setdefault(key, {})
        node[path[-1]] = copy.deepcopy(value)
    return change


# Checked against zot v2.1.20: pkg/cli/server/config_reloader.go (reload on an in-place write),
# pkg/api/controller.go LoadNewConfig, pkg/api/config/config.go UpdateReloadableConfig (what is copied),
# pkg/storage/storage.go New (dedupe baked into the image store), pkg/extensions/extension_search.go
# SetupSearchRoutes (CVE info wired into search at start).
CLASSIFICATION = [
    ("nothing", lambda c: None, "none"),
    ("same duration spelled differently", _put(("storage", "gcDelay"), "1h0m0s"), "none"),
    ("search enable made explicit", _put(("extensions", "search", "enable"), True), "none"),
    ("gc off", _put(("storage", "gc"), False), "reload"),
    ("dedupe off", _put(("storage", "dedupe"), False), "restart"),
    ("gcDelay", _put(("storage", "gcDelay"), "2h"), "reload"),
    ("gcInterval", _put(("storage", "gcInterval"), "12h"), "reload"),
    ("retention keep count (retention on at start)",
     _put(("storage", "retention", "policies", 0, "keepTags", 0, "mostRecentlyPushedCount"), 11), "reload"),
    ("retention dry run", _put(("storage", "retention", "dryRun"), True), "reload"),
    ("htpasswd path", _put(("http", "auth", "htpasswd", "path"), "/etc/zot/htpasswd2"), "reload"),
    ("accessControl policy", _put(("http", "accessControl", "repositories", "provisioning-kcl/**", "defaultPolicy"),
                                  ["read"]), "reload"),
    ("new namespace", _put(("http", "accessControl", "repositories", "new/**"), {"defaultPolicy": ["read"]}), "reload"),
    ("admin users", _put(("http", "accessControl", "adminPolicy", "users"), ["admin", "root"]), "reload"),
    ("sync registries (sync on)", _put(("extensions", "sync", "registries", 0, "pollInterval"), "12h"), "reload"),
    ("scrub interval (scrub on)", _put(("extensions", "scrub", "interval"), "48h"), "reload"),
    ("cve interval (search on)", _put(("extensions", "search", "cve", "updateInterval"), "12h"), "restart"),
    ("cve turned off (search on)", _delete(("extensions", "search", "cve")), "restart"),
    ("redirectBlobURL", _put(("storage", "redirectBlobURL"), False), "reload"),
    ("metrics users", _put(("http", "accessControl", "metrics", "users"), ["admin", "prom"]), "reload"),
    ("events turned on", _put(("extensions", "events"), {"enable": True, "sinks": [
        {"type": "http", "address": "http://hooks.example/in"}]}), "restart"),
    ("port", _put(("http", "port"), "5001"), "restart"),
    ("address", _put(("http", "address"), "127.0.0.1"), "restart"),
    ("tls", _put(("http", "tls"), {"cert": "/c", "key": "/k"}), "restart"),
    ("rootDirectory", _put(("storage", "rootDirectory"), "/data"), "restart"),
    ("storage driver", _put(("storage", "storageDriver"), {"name": "s3", "bucket": "b"}), "restart"),
    ("log level", _put(("log", "level"), "debug"), "restart"),
    ("audit log", _put(("log", "audit"), "/tmp/audit.log"), "restart"),
    ("gcTimeWindow", _put(("storage", "gcTimeWindow"), "01:00-05:00"), "reload"),
    ("failDelay", _put(("http", "auth", "failDelay"), 3), "restart"),
    ("auth turned off", _delete(("http", "auth")), "restart"),
    ("accessControl removed", _delete(("http", "accessControl")), "restart"),
    ("metrics turned off", _put(("extensions", "metrics", "enable"), False), "restart"),
    ("ui turned off", _delete(("extensions", "ui")), "restart"),
    ("lint turned on", _put(("extensions", "lint"), {"enable": True}), "restart"),
    ("scrub turned off", _put(("extensions", "scrub", "enable"), False), "restart"),
    ("sync turned off", _delete(("extensions", "sync")), "restart"),
    ("metrics path", _put(("extensions", "metrics", "prometheus", "path"), "/zot-metrics"), "restart"),
    ("reload and restart together", lambda c: (c["storage"].update(gcDelay="3h"), c["http"].update(port="1")), "restart"),
]


@pytest.fixture
def running(platform_options):
    options = dict(platform_options, scrub_enabled=True, scrub_interval="24h", cve_enabled=True,
                   cve_update_interval="24h", sync_enabled=True, sync_credentials_file="/etc/zot/sync.json",
                   sync_registries=[{"urls": ["https://up.example"], "poll_interval": "6h",
                                     "content": [{"prefix": "lib/**"}]}])
    return zgen.generate(options)[0]


@pytest.mark.parametrize("name,change,expected", CLASSIFICATION, ids=[c[0] for c in CLASSIFICATION])
def test_reload_or_restart(running, name, change, expected):
    new = _mutate(running, change)
    result = zreload.classify_change(running, new)
    assert result["action"] == expected, result
    if expected != "none":
        assert result["reasons"] and result["changed"]


def test_retention_not_on_at_start_needs_restart(running):
    old = _mutate(running, _delete(("storage", "retention")))
    result = zreload.classify_change(old, running)
    assert result["action"] == "restart"
    assert any("retention" in r for r in result["reasons"])


def test_no_running_config_is_a_restart(running):
    assert zreload.classify_change(None, running)["action"] == "restart"
    assert zreload.classify_change({}, running)["action"] == "restart"


@pytest.mark.parametrize("text,ns", [("1h", 3600 * 10 ** 9), ("24h0m0s", 86400 * 10 ** 9), ("1.5h", 5400 * 10 ** 9),
                                     ("90m", 5400 * 10 ** 9), ("300ms", 3 * 10 ** 8), ("-5s", -5 * 10 ** 9),
                                     ("0", 0), ("1h1m1s1ms", 3661001000000)])
def test_go_durations(text, ns):
    assert zschema.parse_duration(text) == ns
    assert zschema.parse_duration(zschema.format_duration(ns)) == ns


@pytest.mark.parametrize("text", ["", "1", "h", "1 h", "1x", "1h-", "--1h", "1.h.5", 3600])
def test_bad_go_durations(text):
    with pytest.raises(ValueError):
        zschema.parse_duration(text)


def test_duration_formatting():
    assert zschema.format_duration(zschema.parse_duration("24h")) == "24h0m0s"
    assert zschema.format_duration(zschema.parse_duration("1.5s")) == "1.5s"
    assert zgen.hours(90) == "2160h"
