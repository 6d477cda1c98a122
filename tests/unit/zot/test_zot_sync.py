"""Mirrors and replications on zot (issue 16): rendered into extensions.sync as zot v2.1.20 reads it,
checked by the config checker, credentials only in the credentials file, zot's per-type checks, and
the read-back of oci_registry_info (ZotBackend.mirror_* / replication_*)."""

import copy
import json
import os
import re

import pytest

from ansible_collections.provisioning.oci_registry.plugins.filter.zot_config import zot_config
from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_generate as zgen
from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_reload as zreload
from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_schema as zschema
from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_sync as zs
from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import AccessOptions
from ansible_collections.provisioning.oci_registry.plugins.module_utils._client import ConnectionOptions, RegistryClient
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import OciRegistryError
from ansible_collections.provisioning.oci_registry.plugins.module_utils._zot import ZotBackend

SECRET = "upstream-Secret-0xF00D"
REPL_SECRET = "ghcr-Secret-0xBEEF"

MIRROR = {"name": "hub", "url": "https://registry-1.docker.io", "username": "puller", "password": SECRET,
          "tls_verify": True, "repositories": ["library/**", "bitnami/*"], "namespace": "dockerhub", "ttl": None,
          "port": None, "state": "present"}
REPLICATION = {"name": "ghcr-tools", "direction": "pull",
               "remote": {"url": "https://ghcr.io", "username": "bot", "password": REPL_SECRET, "tls_verify": False},
               "repositories": ["acme/tools/**"], "tags": ["v*", "stable"], "destination_namespace": "upstream",
               "trigger": "scheduled", "schedule": "*/30 * * * *", "deletions": False, "state": "present"}


def options(platform_options, mirrors=(), replications=(), **extra):
    opts = dict(platform_options, mirrors=copy.deepcopy(list(mirrors)), replications=copy.deepcopy(list(replications)),
                sync_credentials_file="/etc/zot/sync-credentials.json")
    opts.update(extra)
    return opts


# -- rendering ---------------------------------------------------------------------------------------------
def test_mirror_and_replication_render_into_sync(platform_options):
    config, credentials, warnings = zgen.generate(options(platform_options, [MIRROR], [REPLICATION]))
    sync = config["extensions"]["sync"]
    assert sync["enable"] is True and sync["credentialsFile"] == "/etc/zot/sync-credentials.json"
    mirror, replication = sync["registries"]
    # mirror: on demand, every repository glob a content entry under /<namespace> (content.go getRepoDestination)
    assert mirror == {"urls": ["https://registry-1.docker.io"], "onDemand": True, "tlsVerify": True,
                      "content": [{"prefix": "library/**", "destination": "/dockerhub"},
                                  {"prefix": "bitnami/*", "destination": "/dockerhub"}]}
    # replication: periodic (content + pollInterval, extension_sync.go), tag globs as tags.regex
    assert replication == {"urls": ["https://ghcr.io"], "onDemand": False, "pollInterval": "30m", "tlsVerify": False,
                           "content": [{"prefix": "acme/tools/**", "destination": "/upstream",
                                        "tags": {"regex": "^(?:v.*|stable)$"}}]}
    # credentials by host without scheme (the credentials file's keys), never in config.json
    assert credentials == {"registry-1.docker.io": {"username": "puller", "password": SECRET},
                           "ghcr.io": {"username": "bot", "password": REPL_SECRET}}
    text = zgen.render(config)
    assert SECRET not in text and REPL_SECRET not in text and "puller" not in text
    assert zschema.check(config) == ([], [])
    assert warnings == []


def test_no_entries_leave_sync_off(platform_options):
    config, credentials, _w = zgen.generate(options(platform_options, [dict(MIRROR, state="absent")]))
    assert "sync" not in config.get("extensions", {}) and credentials == {}


def test_merged_with_zot_sync_registries(platform_options):
    own = {"urls": ["https://quay.io"], "on_demand": True, "content": [{"prefix": "coreos/**"}],
           "username": "q", "password": "quay-pw"}
    config, credentials, _w = zgen.generate(options(platform_options, [MIRROR], sync_enabled=True, sync_registries=[own]))
    urls = [r["urls"] for r in config["extensions"]["sync"]["registries"]]
    assert urls == [["https://quay.io"], ["https://registry-1.docker.io"]]
    assert set(credentials) == {"quay.io", "registry-1.docker.io"}


def test_duplicate_of_zot_sync_registries_names_both(platform_options):
    same = {"urls": ["https://registry-1.docker.io"], "on_demand": True, "tls_verify": True,
            "content": [{"prefix": "library/**", "destination": "/dockerhub"},
                        {"prefix": "bitnami/*", "destination": "/dockerhub"}]}
    with pytest.raises(zschema.ZotConfigError) as err:
        zgen.generate(options(platform_options, [dict(MIRROR, username=None, password=None)], sync_enabled=True,
                              sync_registries=[same]))
    assert "zot_sync_registries[0] and zot_mirrors[0] (hub)" in str(err.value)


def test_one_host_two_credentials_is_an_error(platform_options):
    other = dict(REPLICATION, remote=dict(REPLICATION["remote"], url="https://registry-1.docker.io"))
    with pytest.raises(zschema.ZotConfigError) as err:
        zgen.generate(options(platform_options, [MIRROR], [other]))
    message = str(err.value)
    assert "zot_mirrors[0] (hub) and zot_replications[0] (ghcr-tools)" in message
    assert "registry-1.docker.io" in message and SECRET not in message and REPL_SECRET not in message


@pytest.mark.parametrize("entry, needle", [
    (dict(MIRROR, name="Bad_Name"), "zot_mirrors[0].name"),
    (dict(MIRROR, url="registry-1.docker.io"), "zot_mirrors[0].url"),
    (dict(MIRROR, url="https://host/path"), "zot_mirrors[0].url"),
    ({k: v for k, v in MIRROR.items() if k != "namespace"}, "zot_mirrors[0].namespace"),
])
def test_bad_role_entries_name_the_variable(platform_options, entry, needle):
    with pytest.raises(zschema.ZotConfigError) as err:
        zgen.generate(options(platform_options, [entry]))
    assert needle in str(err.value)


@pytest.mark.parametrize("mirrors, replications, needle", [
    ({"name": "hub"}, [], "zot_mirrors: must be a list"),
    (["hub"], [], "zot_mirrors[0]: must be an object"),
    ([], [REPLICATION, dict(REPLICATION)], "zot_replications[1].name: 'ghcr-tools' is already zot_replications[0]"),
    ([dict(MIRROR, password=None)], [], "zot_mirrors[0] (hub): username and password go together"),
])
def test_malformed_role_input_names_the_variable(platform_options, mirrors, replications, needle):
    with pytest.raises(zschema.ZotConfigError) as err:
        zgen.generate(dict(options(platform_options), mirrors=mirrors, replications=replications))
    assert needle in str(err.value)


def test_mirror_ttl_and_port_are_warnings(platform_options):
    _c, _cred, warnings = zgen.generate(options(platform_options, [dict(MIRROR, ttl="168h", port=5010)]))
    assert any("zot_mirrors[0] (hub)" in w and "ttl 168h" in w for w in warnings)
    assert any("zot_mirrors[0] (hub)" in w and "port 5010" in w for w in warnings)


@pytest.mark.parametrize("schedule, interval", [
    ("*/30 * * * *", "30m"), ("*/5 * * * *", "5m"), ("* * * * *", "1m"), ("0 */6 * * *", "6h"),
    ("15 */1 * * *", "1h"), ("30 2 * * *", "24h"),
    ("*/7 * * * *", None), ("0 */5 * * *", None), ("0 2 * * 1", None), ("0 2 1 * *", None), ("0,30 * * * *", None),
    ("61 2 * * *", None), ("@daily", None), (None, None),
])
def test_schedule_interval(schedule, interval):
    assert zs.schedule_interval(schedule) == interval


@pytest.mark.parametrize("globs, tags, matched", [
    (["v*", "stable"], ["v1", "v2.0.1", "stable", "latest", "xv1"], ["v1", "v2.0.1", "stable"]),
    (["1.?"], ["1.2", "1.22", "1x2"], ["1.2"]),
    (["release-1.0"], ["release-1.0", "release-100"], ["release-1.0"]),   # '.' and '-' are literal
])
def test_tag_regex_matches_like_the_globs(globs, tags, matched):
    # zot applies it with Go's regexp (RE2); this regex uses only syntax RE2 and Python share.
    regex = re.compile(zs.tag_regex(globs))
    assert [t for t in tags if regex.search(t)] == matched


def test_every_tag_needs_no_filter():
    assert zs.tag_regex(["*"]) is None and zs.tag_regex(None) is None


# -- the checker: what zot does with a sync registry -----------------------------------------------------------
def test_checker_warns_about_a_registry_zot_never_syncs(platform_options):
    config, _c, _w = zgen.generate(platform_options)
    config.setdefault("extensions", {})["sync"] = {"enable": True, "registries": [
        {"urls": ["https://ghcr.io"], "content": [{"prefix": "**"}]},                   # no pollInterval
        {"urls": ["https://quay.io"], "pollInterval": "1h"},                           # no content
        {"urls": ["https://gcr.io"], "onDemand": True},                                # fine
        {"urls": ["https://ecr.aws"], "pollInterval": "1h", "content": [{"prefix": "**"}]},  # fine
    ]}
    errors, warnings = zschema.check(config)
    assert errors == []
    never = [w for w in warnings if "never syncs" in w]
    assert len(never) == 2 and "registries[0]" in never[0] and "registries[1]" in never[1]


def test_checker_warns_when_retention_covers_a_mirror_namespace(platform_options):
    """validate_sync_enabled.go validateRetentionSyncOverlaps: zot warns when a retention policy lists the
    content's destination pattern; the platform's namespaces carry retention."""
    mirror = dict(MIRROR, namespace="provisioning-test", repositories=["**"])
    _config, _cred, warnings = zgen.generate(options(platform_options, [mirror]))
    assert any("retention policy for 'provisioning-test/**'" in w for w in warnings), warnings
    _config, _cred, warnings = zgen.generate(options(platform_options, [dict(mirror, namespace="dockerhub")]))
    assert not any("retention policy" in w for w in warnings)


def test_sync_change_reloads(platform_options):
    old, _c, _w = zgen.generate(options(platform_options, [MIRROR]))
    new, _c, _w = zgen.generate(options(platform_options, [MIRROR], [REPLICATION]))
    change = zreload.classify_change(old, new)
    assert change["action"] == "reload", change
    first = zreload.classify_change(zgen.generate(platform_options)[0], old)
    assert first["action"] == "restart" and any("sync extension on or off" in r for r in first["reasons"])


def test_filter_gives_entries_without_passwords(platform_options):
    result = zot_config(options(platform_options, [MIRROR], [REPLICATION]))
    entries = json.loads(result["entries_json"])
    assert [m["name"] for m in entries["mirrors"]] == ["hub"]
    assert entries["mirrors"][0]["password"] is None and entries["replications"][0]["remote"]["password"] is None
    assert SECRET not in result["entries_json"] and REPL_SECRET not in result["entries_json"]
    assert SECRET not in result["json"] and SECRET in result["credentials_json"]


# -- zot's per-type checks (the model's TYPE_CHECKS["zot"]) -----------------------------------------------------
@pytest.mark.parametrize("change, needle", [
    ({"direction": "push"}, "direction push"),
    ({"trigger": "on_push", "schedule": None}, "trigger on_push"),
    ({"trigger": "manual", "schedule": None}, "trigger manual"),
    ({"deletions": True}, "deletions true"),
    ({"schedule": "0 2 * * 1"}, "not a fixed interval"),
])
def test_model_checks_refuse_what_zot_cannot_do(change, needle):
    errors, _warnings = zs.model_checks(replications=[dict(REPLICATION), dict(REPLICATION, name="r2", **change)])
    assert len(errors) == 1 and errors[0].startswith("oci_registry_replications[1] (r2): ") and needle in errors[0]


def test_model_checks_accept_an_interval_pull():
    assert zs.model_checks([MIRROR], [REPLICATION]) == ([], [])


def test_model_checks_scan_settings():
    namespaces = [{"name": "a", "scan": {"on_push": True, "block_severity": "none"}},
                  {"name": "b", "scan": {"on_push": False, "block_severity": "high"}},
                  {"name": "c", "scan": None}]
    errors, warnings = zs.model_checks(namespaces=namespaces, cve_enabled=False)
    assert errors == ["oci_registry_namespaces[0] (a): scan.on_push needs zot's CVE scanning "
                      "(extensions.search.cve): set zot_cve_enabled: true"]
    assert len(warnings) == 1 and warnings[0].startswith("oci_registry_namespaces[1] (b)") and "high" in warnings[0]
    assert zs.model_checks(namespaces=namespaces, cve_enabled=True)[0] == []


def test_role_refuses_scan_on_push_without_cve(platform_options):
    namespaces = json.loads(json.dumps(platform_options["namespaces"]))
    namespaces[0]["scan"] = {"on_push": True, "block_severity": "none"}
    with pytest.raises(zschema.ZotConfigError, match=r"zot_namespaces\[0\].*zot_cve_enabled"):
        zgen.generate(dict(platform_options, namespaces=namespaces, cve_enabled=False))
    config, _c, _w = zgen.generate(dict(platform_options, namespaces=namespaces, search_enabled=True, cve_enabled=True))
    assert "cve" in config["extensions"]["search"]


# -- read back for oci_registry_info ---------------------------------------------------------------------------
@pytest.fixture
def deployed(tmp_path, platform_options):
    """config.json, sync-credentials.json and sync-entries.json as the role writes them."""
    result = zot_config(options(platform_options, [MIRROR], [REPLICATION]))
    (tmp_path / "config.json").write_text(result["json"])
    (tmp_path / zs.CREDENTIALS_FILE).write_text(result["credentials_json"])
    (tmp_path / zs.ENTRIES_FILE).write_text(result["entries_json"])
    (tmp_path / "htpasswd").write_text("")
    client = RegistryClient(ConnectionOptions("http://127.0.0.1:9", retries=0, timeout=5))
    return tmp_path, ZotBackend(client).configure_access(AccessOptions(
        config_path=str(tmp_path / "config.json"), htpasswd_path=str(tmp_path / "htpasswd")))


def test_read_back_in_the_input_shape(deployed):
    _path, zot = deployed
    assert zot.mirror_names() == ["hub"] and zot.replication_names() == ["ghcr-tools"]
    assert zot.mirror_get("hub") == dict(MIRROR, password=None)
    assert zot.replication_get("ghcr-tools") == dict(REPLICATION, remote=dict(REPLICATION["remote"], password=None))
    assert zot.mirror_get("nope") is None
    assert SECRET not in json.dumps(zot.mirror_get("hub"))


def test_read_back_reports_only_what_config_json_holds(deployed):
    path, zot = deployed
    config = json.loads((path / "config.json").read_text())
    config["extensions"]["sync"]["registries"] = config["extensions"]["sync"]["registries"][:1]
    (path / "config.json").write_text(zgen.render(config))
    assert zot.mirror_names() == ["hub"] and zot.replication_names() == []
    os.remove(path / zs.CREDENTIALS_FILE)
    assert zot.mirror_get("hub")["username"] is None


def test_replication_run_says_why_not(deployed):
    _path, zot = deployed
    with pytest.raises(OciRegistryError, match=r"polls each registry on its own interval.*restart or a reload"):
        zot.replication_run("ghcr-tools")
    with pytest.raises(OciRegistryError, match="zot_mirrors"):
        zot.mirror_ensure(MIRROR)
