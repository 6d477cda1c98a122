"""The Distribution front: nginx.conf generated from the model, and what its rules decide."""

import re

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils import _front
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import InvalidParameterError
from ansible_collections.provisioning.oci_registry.plugins.module_utils._model import normalize_namespaces

SETTINGS = {"htpasswd_path": "/etc/oci-registry/htpasswd", "upstream": "oci-registry:5000"}


def platform_access(users=(("admin", True), ("alice", False))):
    access = _front.empty_access()
    for name, admin in users:
        access = _front.set_user(access, name, admin)
    for namespace in normalize_namespaces(None):
        access = _front.set_namespace(access, namespace, keep_policies=False)
    return access


def test_config_is_complete_and_deterministic():
    text, warnings = _front.render(SETTINGS, platform_access())
    assert text == _front.render(SETTINGS, platform_access())[0]
    assert warnings == []
    assert text.count("{") == text.count("}")
    assert "auth_basic $front_realm;" in text
    assert "auth_basic_user_file /etc/oci-registry/htpasswd;" in text
    assert "set $front_upstream http://oci-registry:5000;" in text
    assert "listen 5000;" in text and "listen 127.0.0.1:8081;" in text
    # The user name the internal server trusts is set by nginx, never taken from the client.
    assert "proxy_set_header X-Oci-Front-User $remote_user;" in text


def test_rules_of_the_platform():
    text, _w = _front.render(SETTINGS, platform_access())
    assert '"provisioning-test:read" 1;' in text                       # anonymous read of the public one
    assert '"~^admin:" 1;' in text                                     # admin everywhere
    assert '"~^[^:]+:provisioning-kcl:write$" 1;' in text
    assert '"~^[^:]+:provisioning-kcl:delete$" 1;' not in text
    assert '"~^[^:]+:provisioning-platform:write$" 1;' not in text
    assert '"~^alice:' not in text                                     # alice gets nothing of her own


@pytest.mark.parametrize("user, method, path, expected", [
    (None, "GET", "/v2/", "challenge"),
    ("alice", "GET", "/v2/", "allow"),
    ("alice", "GET", "/v2/_catalog", "deny"),
    ("admin", "GET", "/v2/_catalog", "allow"),
    (None, "GET", "/v2/provisioning-test/app/manifests/v1", "allow"),
    (None, "HEAD", "/v2/provisioning-test/app/blobs/sha256:00", "allow"),
    (None, "POST", "/v2/provisioning-test/app/blobs/uploads/", "challenge"),
    (None, "GET", "/v2/provisioning-kcl/app/manifests/v1", "challenge"),
    ("alice", "POST", "/v2/provisioning-extensions/app/blobs/uploads/", "allow"),
    ("alice", "DELETE", "/v2/provisioning-extensions/app/manifests/sha256:00", "allow"),
    ("alice", "PUT", "/v2/provisioning-kcl/app/manifests/v1", "allow"),
    ("alice", "PATCH", "/v2/provisioning-kcl/app/blobs/uploads/abc", "allow"),
    ("alice", "DELETE", "/v2/provisioning-kcl/app/manifests/sha256:00", "deny"),
    ("alice", "POST", "/v2/provisioning-platform/app/blobs/uploads/", "deny"),
    ("alice", "GET", "/v2/provisioning-platform/app/manifests/v1", "allow"),
    ("admin", "POST", "/v2/provisioning-platform/app/blobs/uploads/", "allow"),
    ("alice", "GET", "/v2/elsewhere/manifests/v1", "deny"),
    ("admin", "DELETE", "/v2/elsewhere/manifests/v1", "allow"),
    ("alice", "OPTIONS", "/v2/provisioning-extensions/app/manifests/v1", "deny"),
    # The namespace itself as a repository, and a look-alike prefix that is not the namespace.
    ("alice", "PUT", "/v2/provisioning-kcl/manifests/v1", "allow"),
    ("alice", "PUT", "/v2/provisioning-kclx/app/manifests/v1", "deny"),
])
def test_decisions(user, method, path, expected):
    assert _front.decide(platform_access(), user, method, path) == expected


def test_deepest_namespace_wins_and_comes_first_in_the_map():
    access = _front.empty_access()
    access = _front.set_user(access, "dev", False)
    for namespace in normalize_namespaces([
            {"name": "team", "policies": [{"subjects": ["authenticated"], "actions": ["read", "write"]}]},
            {"name": "team/locked", "policies": [{"subjects": ["authenticated"], "actions": ["read"]}]}]):
        access = _front.set_namespace(access, namespace, keep_policies=False)
    assert _front.decide(access, "dev", "PUT", "/v2/team/app/manifests/v1") == "allow"
    assert _front.decide(access, "dev", "PUT", "/v2/team/locked/app/manifests/v1") == "deny"
    text, _w = _front.render(SETTINGS, access)
    assert text.index("/v2/team/locked/") < text.index("/v2/team/(?:")


def test_users_groups_and_names_are_matched_exactly():
    access = _front.empty_access()
    access = _front.set_user(access, "a.b", False, groups=["dev"])
    access = _front.set_user(access, "axb", False)
    namespace = normalize_namespaces([{"name": "ns", "policies": [
        {"subjects": ["group:dev"], "actions": ["write"]}]}])[0]
    access = _front.set_namespace(access, namespace, keep_policies=False)
    text, _w = _front.render(SETTINGS, access)
    assert '"~^a\\.b:ns:write$" 1;' in text             # '.' escaped: 'axb' does not match it
    assert _front.decide(access, "a.b", "PUT", "/v2/ns/manifests/v1") == "allow"
    assert _front.decide(access, "axb", "PUT", "/v2/ns/manifests/v1") == "deny"


@pytest.mark.parametrize("policies, warning", [
    ([{"subjects": ["group:nobody"], "actions": ["read"]}], "group 'nobody' has no members"),
    ([{"subjects": ["stranger"], "actions": ["read"]}], "user 'stranger' is not among the front's users"),
    ([{"subjects": ["authenticated"], "actions": ["admin"]}], "'admin' for authenticated is enforced as read, write"),
])
def test_what_the_front_cannot_express_is_a_warning(policies, warning):
    access = _front.set_namespace(_front.empty_access(), {"name": "ns", "policies": policies}, keep_policies=False)
    _text, warnings = _front.render(SETTINGS, access)
    assert any(warning in w for w in warnings), warnings


@pytest.mark.parametrize("settings, message", [
    ({"listen_port": 0}, "listen_port must be a port"),
    ({"listen_port": 8081}, "must differ"),
    ({"realm": 'a"b'}, "realm must be"),
    ({"realm": "off"}, "realm must be"),
    ({"htpasswd_path": "relative"}, "htpasswd_path must be absolute"),
    ({"upstream": "host; evil"}, "upstream"),
    ({"colour": "blue"}, "unknown key(s) colour"),
])
def test_bad_settings(settings, message):
    with pytest.raises(InvalidParameterError) as err:
        _front.render(dict(SETTINGS, **settings), _front.empty_access())
    assert message in str(err.value)


def test_empty_basic_credentials_count_as_none():
    text, _w = _front.render(SETTINGS, platform_access())
    block = re.search(r"map \$http_authorization \$front_credentials \{(.*?)\}", text, re.S).group(1)
    pattern = re.search(r'"~\*(.+?)" 0;', block).group(1)
    assert re.match(pattern, "Basic Og==", re.I) and re.match(pattern, "basic ", re.I)
    assert not re.match(pattern, "Basic YWxpY2U6cHc=", re.I)


def test_access_json_round_trip():
    access = platform_access()
    assert _front.access_from_text(_front.access_to_text(access)) == access
    with pytest.raises(InvalidParameterError):
        _front.access_from_text("[1, 2]")


def test_a_public_namespace_is_read_by_logged_in_users_without_a_grant():
    """public (or an anonymous read) means anyone may pull, logged in or not; pushing still needs a grant."""
    access = _front.empty_access()
    access = _front.set_user(access, "alice", False)
    access = _front.set_user(access, "bob", False)
    for namespace in normalize_namespaces([
            {"name": "shared", "public": True, "policies": [{"subjects": ["alice"], "actions": ["write"]}]},
            {"name": "docs", "policies": [{"subjects": ["anonymous"], "actions": ["read"]}]},
            {"name": "closed", "policies": [{"subjects": ["alice"], "actions": ["read"]}]}]):
        access = _front.set_namespace(access, namespace, keep_policies=False)
    text, _w = _front.render(SETTINGS, access)
    assert '"~^[^:]+:shared:read$" 1;' in text
    assert '"~^[^:]+:docs:read$" 1;' in text
    assert '"~^[^:]+:closed:read$" 1;' not in text
    for user in (None, "bob", "alice"):
        assert _front.decide(access, user, "GET", "/v2/shared/app/manifests/v1") == "allow", user
        assert _front.decide(access, user, "HEAD", "/v2/docs/app/blobs/sha256:00") == "allow", user
    assert _front.decide(access, "bob", "POST", "/v2/shared/app/blobs/uploads/") == "deny"
    assert _front.decide(access, "bob", "DELETE", "/v2/shared/app/manifests/sha256:00") == "deny"
    assert _front.decide(access, "alice", "POST", "/v2/shared/app/blobs/uploads/") == "allow"
    assert _front.decide(access, "bob", "GET", "/v2/closed/app/manifests/v1") == "deny"
    assert _front.decide(access, None, "GET", "/v2/closed/app/manifests/v1") == "challenge"


@pytest.mark.parametrize("auth_service", ["", "oci-registry-auth:5001"])
def test_health_location_for_load_balancers(auth_service):
    """The main public server answers /_front/health without login with the registry's own status for GET /v2/,
    credentials stripped; the mirrors' public servers have no such location."""
    settings = dict(SETTINGS, auth_service=auth_service, tls_certificate="/etc/pki/s.crt", tls_key="/etc/pki/s.key")
    text = _front.render(settings, platform_access())[0]
    assert text.count("location = %s {" % _front.HEALTH_PATH) == 1
    block = text[text.index("location = %s {" % _front.HEALTH_PATH):]
    block = block[:block.index("\n    }\n")]
    assert "auth_basic" not in block and "auth_request" not in block
    assert "limit_except GET { deny all; }" in block
    assert "set $front_health_upstream http://oci-registry:5000;" in block
    assert "rewrite ^ /v2/ break;" in block
    assert 'proxy_set_header Authorization "";' in block
    assert 'proxy_set_header X-Oci-Front-User "";' in block
    # In the TLS server of the main port (the one haproxy's check-ssl reaches), before its catch-all 404.
    server = text[text.index("listen 5000 ssl;"):]
    assert server.index("location = %s {" % _front.HEALTH_PATH) < server.index("location / {\n      return 404;")
