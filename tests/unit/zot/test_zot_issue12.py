"""Issue 12, zot items: each test fails on the code before the fix.

Upstream behaviour (zot v2.1.20) each one reproduces is cited next to it."""

import copy
import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.provisioning.oci_registry.plugins.filter.published_port import published_port
from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_generate as zgen
from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_reload as zreload
from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_schema as zschema
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import InvalidParameterError

from .test_zot_backend import backend, load


# -- 1. published ports: community.docker needs IPv6 addresses in brackets ---------------------------
@pytest.mark.parametrize("address,expected", [
    ("127.0.0.1", "127.0.0.1:5000:5000"),
    ("::1", "[::1]:5000:5000"),
    ("[::1]", "[::1]:5000:5000"),
    ("::", "[::]:5000:5000"),
    ("0:0:0:0:0:0:0:1", "[::1]:5000:5000"),
    ("0.0.0.0", "0.0.0.0:5000:5000"),
    ("", "0.0.0.0:5000:5000"),
    ("registry.example", "registry.example:5000:5000"),
])
def test_published_port(address, expected):
    assert published_port(address, 5000, 5000) == expected


@pytest.mark.parametrize("address,ports,message", [
    ("::1::2", (5000, 5000), "not an IPv4 or IPv6 address"),
    ("a b", (5000, 5000), "not an IPv4 or IPv6 address"),
    ("127.0.0.1", (0, 5000), "host port must be a port number 1-65535"),
    ("127.0.0.1", (5000, "x"), "container port must be a port number"),
])
def test_published_port_refuses(address, ports, message):
    with pytest.raises(AnsibleFilterError, match=message):
        published_port(address, *ports)


# -- 2. metrics: zot serves them only to metrics.users (pkg/api/authz.go MetricsAuthzHandler) ------------
def test_admins_always_read_metrics(platform_options):
    options = dict(platform_options, metrics_users=["prometheus"],
                   users=[{"name": "admin", "password": "x", "admin": True},
                          {"name": "prometheus", "password": "y"}])
    config = zgen.generate(options)[0]
    assert config["http"]["accessControl"]["metrics"]["users"] == ["admin", "prometheus"]
    allowed_default = zgen.generate(dict(options, metrics_users=None))[0]
    assert allowed_default["http"]["accessControl"]["metrics"]["users"] == ["admin"]
    off = zgen.generate(dict(options, metrics_enabled=False))[0]
    assert "metrics" not in off["http"]["accessControl"]


# -- 4. reload vs restart -------------------------------------------------------------------------
def test_turning_cve_on_while_search_is_on_needs_a_restart(platform_options):
    old = zgen.generate(dict(platform_options, search_enabled=True, cve_enabled=False))[0]
    new = zgen.generate(dict(platform_options, search_enabled=True, cve_enabled=True, cve_update_interval="24h"))[0]
    change = zreload.classify_change(old, new)
    assert change["action"] == "restart"
    assert any("CVE" in reason for reason in change["reasons"])
    assert zreload.classify_change(old=new, new=old)["action"] == "restart"


def test_dedupe_needs_a_restart(platform_options):
    old = zgen.generate(platform_options)[0]
    new = zgen.generate(dict(platform_options, dedupe=False))[0]
    change = zreload.classify_change(old, new)
    assert change["action"] == "restart" and "storage.dedupe" in change["reasons"][0]


# -- 5. overrides checked like the rest: LDAP (pkg/cli/server/root.go validateLDAP), event sinks -----
@pytest.mark.parametrize("missing", ["address", "baseDN", "userAttribute"])
def test_ldap_required_keys(platform_options, missing):
    ldap = {"address": "ldap.example", "port": 389, "baseDN": "ou=people,dc=example", "userAttribute": "uid"}
    del ldap[missing]
    with pytest.raises(zschema.ZotConfigError) as info:
        zgen.generate(dict(platform_options, config_overrides={"http": {"auth": {"ldap": ldap}}}))
    assert "zot_config_overrides (http.auth.ldap.%s)" % missing in str(info.value)
    assert "required: address, baseDN, userAttribute" in str(info.value)


def test_complete_ldap_passes(platform_options):
    ldap = {"address": "ldap.example", "port": 389, "baseDN": "ou=people,dc=example", "userAttribute": "uid"}
    zgen.generate(dict(platform_options, config_overrides={"http": {"auth": {"ldap": ldap}}}))


@pytest.mark.parametrize("sink,message", [
    ({"type": "generic", "address": "http://h/in"}, "unsupported event sink type 'generic'; zot supports http, nats"),
    ({"type": "http"}, "an event sink needs an address"),
    ({"type": "http", "address": "ftp://h"}, "must be an http:// or https:// URL"),
    ({"type": "http", "address": "http://h/in", "timeout": "soon"}, "Go duration"),
    ({"type": "http", "address": "http://h/in", "secret": "x"}, "zot does not know this key"),
])
def test_event_sinks_checked(platform_options, sink, message):
    with pytest.raises(zschema.ZotConfigError, match=message):
        zgen.generate(dict(platform_options, config_overrides={"extensions": {"events": {"enable": True, "sinks": [sink]}}}))


def test_nats_sink_with_credentials_passes(platform_options):
    sink = {"type": "nats", "address": "nats://127.0.0.1:4222", "channel": "alerts", "timeout": "10s",
            "credentials": {"username": "u", "password": "p"}, "tlsconfig": {"cacertfile": "/ca.pem"}}
    zgen.generate(dict(platform_options, config_overrides={"extensions": {"events": {"enable": True, "sinks": [sink]}}}))


# -- 6. webhooks -> extensions.events HTTP sinks ------------------------------------------------------
def test_webhooks_render_http_sinks(platform_options):
    hooks = [{"name": "ci", "url": "https://ci.example/hook", "headers": {"Authorization": "Bearer t"},
              "events": ["push"]},
             {"name": "audit", "url": "http://audit.example/in"}]
    config = zgen.generate(dict(platform_options, webhooks=hooks))[0]
    assert config["extensions"]["events"] == {"enable": True, "sinks": [
        {"type": "http", "address": "https://ci.example/hook", "headers": {"Authorization": "Bearer t"}},
        {"type": "http", "address": "http://audit.example/in"}]}
    assert "events" not in zgen.generate(platform_options)[0]["extensions"]


@pytest.mark.parametrize("hooks,message", [
    ([{"name": "a", "url": "hooks.example"}], r"zot_webhooks\[0\].url: must be an http"),
    ([{"name": "a", "url": "http://h"}, {"name": "a", "url": "http://i"}], "listed twice"),
    ([{"url": "http://h"}], r"zot_webhooks\[0\].name"),
    ([{"name": "a", "url": "http://h", "headers": ["x"]}], "must map header names"),
    ([{"name": "a", "url": "http://h", "secret": 1}], "unknown keys secret"),
])
def test_webhooks_refused(platform_options, hooks, message):
    with pytest.raises(InvalidParameterError, match=message):
        zgen.generate(dict(platform_options, webhooks=hooks))


# -- 7. role and modules agree -------------------------------------------------------------------------
def test_delete_untagged_false_protects_every_repository(platform_options):
    """pkg/retention/retention.go HasDeleteUntagged: a repository no policy matches loses its untagged
    manifests. The catch-all comes last, so each namespace's own policy still decides first."""
    namespaces = [{"name": "with-retention", "retention": {"keep_tags": 3}},
                  {"name": "without-retention", "retention": None}]
    config = zgen.generate(dict(platform_options, namespaces=namespaces, retention_delete_untagged=False))[0]
    policies = config["storage"]["retention"]["policies"]
    assert policies[-1] == {"repositories": ["**"], "deleteUntagged": False, "keepTags": [{"patterns": [".*"]}]}
    assert policies[0]["repositories"] == ["with-retention", "with-retention/**"]
    assert policies[0]["deleteUntagged"] is False
    true_config = zgen.generate(dict(platform_options, namespaces=namespaces, retention_delete_untagged=True))[0]
    assert not any(zgen.is_untagged_guard(p) for p in true_config["storage"]["retention"]["policies"])
    off = zgen.generate(dict(platform_options, namespaces=namespaces, retention_enabled=False,
                             retention_delete_untagged=False))[0]
    assert off["storage"]["retention"]["policies"] == [zgen.untagged_guard_policy()]


def test_gc_off_with_retention_refused_by_the_role(platform_options):
    with pytest.raises(InvalidParameterError, match="zot_gc: namespace retention runs with garbage collection"):
        zgen.generate(dict(platform_options, gc=False))
    # without any namespace retention, gc off with the untagged guard alone is fine
    zgen.generate(dict(platform_options, gc=False, namespaces=[{"name": "a"}], retention_delete_untagged=False))


def test_oci_gc_refuses_gc_off_with_retention_like_the_role(files):
    config_path, _htpasswd = files
    before = config_path.read_text()
    zot = backend(files)
    with pytest.raises(InvalidParameterError, match="namespace retention runs with garbage collection"):
        zot.gc_ensure([{"name": "provisioning-test", "retention": {"keep_tags": 3, "max_age_days": 7}}],
                      {"gc": False})
    assert config_path.read_text() == before                          # nothing written


def test_oci_gc_delete_untagged_false_adds_the_guard_as_the_role_does(files, platform_options):
    config_path, _htpasswd = files
    zot = backend(files)
    namespaces = copy.deepcopy(platform_options["namespaces"])
    result = zot.gc_ensure(namespaces, {"delete_untagged": False})
    assert result.changed
    policies = load(config_path)["storage"]["retention"]["policies"]
    assert zgen.is_untagged_guard(policies[-1]) and all(p["deleteUntagged"] is False for p in policies)
    role = zgen.generate(dict(platform_options, users=[{"name": "admin", "password": "x", "admin": True}],
                              retention_delete_untagged=False))[0]
    assert policies == role["storage"]["retention"]["policies"]       # the next role run changes nothing
    assert not zot.gc_ensure(namespaces, {"delete_untagged": False}).changed


def test_oci_user_admin_reads_metrics_as_the_role_renders_it(files, platform_options):
    config_path, _htpasswd = files
    zot = backend(files)
    result = zot.user_ensure({"name": "ops", "password": "ops-password-1", "admin": True})
    assert result.changed and not result.restart_required
    written = load(config_path)
    assert written["http"]["accessControl"]["metrics"]["users"] == ["admin", "ops"]
    users = [{"name": "admin", "password": "x", "admin": True}, {"name": "ops", "password": "y", "admin": True}]
    role = zgen.generate(dict(platform_options, users=users))[0]
    assert zreload.classify_change(written, role)["action"] == "none"     # the next role run changes nothing
    zot.user_remove("ops")
    assert load(config_path)["http"]["accessControl"]["metrics"]["users"] == ["admin"]
    assert json.dumps(load(config_path)).count('"ops"') == 0


# -- 2. the health check reads zot's metrics at the configured path, as zot answers it -------------------
def _zot_like(metrics_path, metrics_users):
    """Answers as zot v2.1.20 does for the health check's requests: /v2/ refused without credentials by
    authFail, without the API-version header (pkg/api/authn.go), which only the /v2/ handler sets
    (pkg/api/routes.go CheckVersionSupport); metrics only for metrics.users (pkg/api/authz.go)."""
    def handler(req):
        if req.path in ("/livez", "/readyz", "/startupz"):
            return 200, {}, b""
        if req.basic_user is None:
            return 401, {"WWW-Authenticate": 'Basic realm="zot"'}, {"errors": [{"code": "UNAUTHORIZED"}]}
        if req.path == "/v2/":
            return 200, {"Docker-Distribution-API-Version": "registry/2.0"}, b""
        if req.path == "/v2/_catalog":
            return 200, {}, {"repositories": []}
        if req.path == metrics_path:
            if req.basic_user not in metrics_users:
                return 403, {}, {"errors": [{"code": "DENIED"}]}
            return 200, {"Content-Type": "text/plain"}, b"# TYPE zot_info gauge\nzot_info{version=\"v2.1.20\"} 1\n"
        return 404, {}, b""
    return handler


def _health(srv, tmp_path, **params):
    from ..module_runner import run_module_file
    return run_module_file("oci_health", dict({"registry_url": srv.url, "registry_type": "zot", "username": "admin",
                                               "password": "pw", "retries": 0, "fail_on_unhealthy": False},
                                              **params), tmp_path)


def test_health_reads_metrics_at_the_configured_path(tmp_path):
    from ..fake_http import FakeServer
    with FakeServer(_zot_like("/zot-metrics", ["admin"])) as srv:
        default = _health(srv, tmp_path)
        custom = _health(srv, tmp_path, metrics_path="/zot-metrics")
    metrics = {c["name"]: c for c in default["checks"]}["metrics"]
    assert metrics["status"] == "skipped"                             # /metrics answered 404 here
    assert custom["healthy"], custom
    metrics = {c["name"]: c for c in custom["checks"]}["metrics"]
    assert metrics["status"] == "ok" and metrics["message"] == "1 metric families", metrics
    assert {c["name"]: c for c in custom["checks"]}["api_version"]["status"] == "ok"


def test_health_fails_when_the_admin_may_not_read_metrics(tmp_path):
    from ..fake_http import FakeServer
    with FakeServer(_zot_like("/metrics", ["prometheus"])) as srv:
        result = _health(srv, tmp_path)
    assert not result["healthy"] and result["failed_checks"] == ["metrics"], result
