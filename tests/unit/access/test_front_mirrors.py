"""Distribution mirrors in the access front: the plan the role deploys from (filter distribution_mirrors), the
checks on front.json's ``mirrors`` and the server blocks generated for them. The live behaviour (nginx, the
proxy-mode registry, skopeo) is tested in tests/integration/mirrors/."""

import re

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.provisioning.oci_registry.plugins.filter.distribution_mirrors import distribution_mirrors
from ansible_collections.provisioning.oci_registry.plugins.module_utils import _front
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import InvalidParameterError

SETTINGS = {"htpasswd_path": "/etc/oci-registry/htpasswd", "upstream": "oci-registry:5000"}
HUB = {"name": "hub", "url": "https://registry-1.docker.io", "username": "bot", "password": "S3cret-upstream",
       "namespace": "cache/hub", "port": 5443, "repositories": ["library/*", "team/**"]}
GHCR = {"name": "ghcr", "url": "https://ghcr.io", "namespace": "cache/ghcr", "port": 5444}


def plan(mirrors, container="oci-registry", address="127.0.0.1"):
    return distribution_mirrors(mirrors, container, address)


def test_plan_normalizes_and_orders_by_name():
    out = plan([HUB, GHCR, {"name": "old", "url": "http://old:5000", "namespace": "old", "port": 5445,
                            "state": "absent"}])
    assert [(m["name"], m["state"]) for m in out] == [("ghcr", "present"), ("hub", "present"), ("old", "absent")]
    ghcr, hub, old = out
    assert ghcr["container"] == "oci-registry-mirror-ghcr" and ghcr["listen"] == 5100
    assert hub["listen"] == 5101 and hub["published"] == "127.0.0.1:5443:5101"
    assert ghcr["repositories"] == ["**"] and ghcr["tls_verify"] is True and ghcr["username"] is None
    assert hub["password"] == "S3cret-upstream"          # for the mirror's config.yml (a no_log task)
    assert "password" not in hub["front"]                  # front.json never holds it
    assert hub["front"]["upstream"] == "oci-registry-mirror-hub:5000"
    assert old["container"] == "oci-registry-mirror-old" and "listen" not in old


@pytest.mark.parametrize("mirror, message", [
    (dict(GHCR, port=None), "distribution_mirrors[0].port: is required on Distribution"),
    (dict(GHCR, tls_verify=False), "distribution_mirrors[0].tls_verify: false cannot be done on Distribution"),
    (dict(GHCR, password="x"), "distribution_mirrors[0]: give username and password together"),
    (dict(GHCR, namespace="Bad Name"), "distribution_mirrors[0].namespace"),
])
def test_plan_refuses_bad_entries_naming_them(mirror, message):
    with pytest.raises(AnsibleFilterError) as info:
        plan([mirror])
    assert message in str(info.value)
    assert "S3cret" not in str(info.value)


def test_tls_verify_false_is_fine_for_a_plain_http_upstream():
    assert plan([dict(GHCR, url="http://upstream:5000", tls_verify=False)])[0]["tls_verify"] is False


@pytest.mark.parametrize("glob, repository, served", [
    ("library/*", "library/alpine", True),
    ("library/*", "library/a/b", False),
    ("library/*", "other/alpine", False),
    ("team/**", "team/a/b/c", True),
    ("**", "anything/at/all", True),
    ("app.v1", "appxv1", False),          # '.' is literal
])
def test_glob_regex(glob, repository, served):
    regex = _front.mirror_repository_regex({"namespace": "hub", "repositories": [glob]})
    assert bool(re.match(regex, "/v2/hub/%s/manifests/v1" % repository)) is served


def front_settings(**extra):
    return dict(SETTINGS, mirrors=[m["front"] for m in plan([HUB, GHCR])], **extra)


def test_server_blocks_of_a_mirror():
    text, _w = _front.render(front_settings(), _front.empty_access())
    assert text.count("{") == text.count("}")
    hub = text[text.index("# Mirror hub"):]
    assert "listen 5101;" in hub and "listen 127.0.0.1:8101;" in hub
    assert "proxy_pass http://front_internal_8101;" in hub                 # public -> its own internal server
    assert 'location ~ "^/v2/cache/hub/(?:library/[^/]*|team/.*)/(?:manifests|blobs|tags|referrers)/"' in hub
    # the upstream variable is set before the rewrite, whose break ends the rewrite directives
    assert re.search(r"set \$front_mirror_upstream http://oci-registry-mirror-hub:5000;\n\s+rewrite "
                     r'"\^/v2/cache/hub/\(\.\*\)\$" /v2/\$1 break;', hub)
    assert "return 405" in hub and "mirror hub is read-only" in hub
    assert "mirror hub serves only cache/hub/<repository> for repositories matching library/* team/**" in hub
    # authorization first: the same allow map as the registry's
    assert hub.index("if ($front_allow = 0)") < hub.index("if ($request_method !~ ^(GET|HEAD)$)")
    assert "S3cret" not in text


def test_mirrors_use_the_fronts_tls_and_authentication_service():
    text, _w = _front.render(front_settings(tls_certificate="/p/server.crt", tls_key="/p/server.key",
                                            auth_service="oci-registry-auth:5001"), _front.empty_access())
    hub = text[text.index("# Mirror hub"):]
    assert "listen 5101 ssl;" in hub and "ssl_certificate /p/server.crt;" in hub
    assert "auth_request /_front_auth;" in hub and "location = /token {" in hub


@pytest.mark.parametrize("change, message", [
    ({"listen": 8081}, "already the front's internal_port"),
    ({"listen": 5000}, "already the front's listen_port"),
    ({"repositories": ["Library/*"]}, "repositories must be a list of globs"),
    ({"upstream": "a b"}, "upstream must be"),
    ({"password": "x"}, "unknown key(s) password"),
])
def test_front_settings_refuse_bad_mirrors(change, message):
    settings = front_settings()
    settings["mirrors"][0].update(change)
    with pytest.raises(InvalidParameterError) as info:
        _front.check_settings(settings)
    assert message in str(info.value)


def test_no_mirrors_no_mirror_blocks():
    text, _w = _front.render(SETTINGS, _front.empty_access())
    assert "# Mirror" not in text and "front_mirror_upstream" not in text
