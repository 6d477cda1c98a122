"""accessControl and retention generated from the access model, checked by evaluating
zot's documented decision (longest matching glob, then adminPolicy) over the result."""

import copy

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_generate as zgen
from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_reload as zreload
from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_schema as zschema

from ._authorize import authorize, glob_match
from ._data import PLATFORM_NAMESPACES, PLATFORM_USERS


# -- the glob matcher follows doublestar (the library zot matches repositories with) ------
@pytest.mark.parametrize("pattern,name,expected", [
    ("**", "a", True),
    ("**", "a/b/c", True),
    ("a/**", "a", True),          # a trailing /** also matches the directory itself
    ("a/**", "a/b", True),
    ("a/**", "a/b/c", True),
    ("a/**", "ab", False),
    ("a/**", "b/a", False),
    ("a", "a/b", False),
    ("infra/*", "infra/x", True),
    ("infra/*", "infra/x/y", False),  # * stays within one path segment
    ("a/**/z", "a/z", True),
    ("a/**/z", "a/b/c/z", True),
    ("repo?", "repo1", True),
    ("repo?", "repo12", False),
    ("{a,b}/x", "b/x", True),
    ("[ab]/x", "c/x", False),
])
def test_glob_match(pattern, name, expected):
    assert glob_match(pattern, name) is expected


@pytest.mark.parametrize("pattern,valid", [
    ("a/**", True), ("a/[b", False), ("a/{b,c", False), ("a\\", False), ("a/}", False), ("a/[!b]", True),
])
def test_glob_validity(pattern, valid):
    assert zschema.glob_is_valid(pattern) is valid


# -- the platform's four namespaces -------------------------------------------------------
@pytest.fixture
def platform_config(platform_options):
    config, _credentials, warnings = zgen.generate(platform_options)
    assert warnings == []
    return config


ALLOW, DENY = True, False
# (who, action, repository, expected); who: None = anonymous
PLATFORM_MATRIX = [
    (None, "read", "provisioning-test/x", ALLOW),
    (None, "read", "provisioning-test", ALLOW),
    (None, "read", "provisioning-test/deep/x", ALLOW),
    (None, "create", "provisioning-test/x", DENY),
    (None, "read", "provisioning-kcl/x", DENY),
    (None, "read", "provisioning-extensions/x", DENY),
    (None, "read", "provisioning-platform/x", DENY),
    (None, "read", "elsewhere/x", DENY),
    ("provisioning", "read", "provisioning-extensions/x", ALLOW),
    ("provisioning", "create", "provisioning-extensions/x", ALLOW),
    ("provisioning", "update", "provisioning-extensions/x", ALLOW),
    ("provisioning", "delete", "provisioning-extensions/x", ALLOW),
    ("provisioning", "create", "provisioning-kcl/x", ALLOW),
    ("provisioning", "update", "provisioning-kcl/x", ALLOW),
    ("provisioning", "delete", "provisioning-kcl/x", DENY),
    ("provisioning", "read", "provisioning-platform/x", ALLOW),
    ("provisioning", "create", "provisioning-platform/x", DENY),
    ("provisioning", "delete", "provisioning-platform/x", DENY),
    ("provisioning", "delete", "provisioning-test/x", ALLOW),
    ("provisioning", "read", "elsewhere/x", DENY),
    ("provisioning", "read", "provisioning-testing/x", DENY),   # a prefix that is not the namespace
    ("admin", "create", "provisioning-platform/x", ALLOW),
    ("admin", "delete", "provisioning-kcl/x", ALLOW),
    ("admin", "create", "elsewhere/x", ALLOW),
    ("gone", "read", "provisioning-platform/x", ALLOW),         # any authenticated user reads: zot never sees
    ("gone", "create", "provisioning-platform/x", DENY),       # "gone" (absent from htpasswd), and it is no admin
]


@pytest.mark.parametrize("who,action,repository,expected", PLATFORM_MATRIX,
                         ids=["%s-%s-%s" % (m[0] or "anonymous", m[1], m[2]) for m in PLATFORM_MATRIX])
def test_platform_access_matrix(platform_config, who, action, repository, expected):
    allowed, _pattern = authorize(platform_config, repository, action, username=who)
    assert allowed is expected


def test_platform_globs_and_policies(platform_config):
    access = platform_config["http"]["accessControl"]
    repositories = access["repositories"]
    for namespace in PLATFORM_NAMESPACES:
        assert repositories[namespace["name"]] == repositories[namespace["name"] + "/**"]
    assert "**" not in repositories
    assert repositories["provisioning-test/**"]["anonymousPolicy"] == ["read"]
    assert "anonymousPolicy" not in repositories["provisioning-kcl/**"]
    assert repositories["provisioning-kcl/**"]["defaultPolicy"] == ["read", "create", "update"]
    assert repositories["provisioning-platform/**"]["defaultPolicy"] == ["read"]
    assert access["adminPolicy"] == {"users": ["admin"], "actions": ["read", "create", "update", "delete"]}
    assert access["metrics"] == {"users": ["admin"]}
    assert platform_config["http"]["auth"] == {"htpasswd": {"path": "/etc/zot/htpasswd"}}


def test_longest_glob_decides(platform_config):
    """A repository under provisioning-test is decided by 'provisioning-test/**', never by a catch-all."""
    config = copy.deepcopy(platform_config)
    config["http"]["accessControl"]["repositories"]["**"] = {"defaultPolicy": ["read", "create", "update", "delete"]}
    assert authorize(config, "provisioning-platform/x", "create", "provisioning") == (False, "provisioning-platform/**")
    assert authorize(config, "elsewhere/x", "create", "provisioning") == (True, "**")


def test_nested_namespace_wins_for_its_repositories():
    namespaces = [
        {"name": "team", "public": False, "retention": {"keep_tags": 5, "max_age_days": None},
         "policies": [{"subjects": ["authenticated"], "actions": ["read", "write", "delete"]}]},
        {"name": "team/locked", "public": True, "retention": None,
         "policies": [{"subjects": ["authenticated"], "actions": ["read"]},
                      {"subjects": ["alice", "group:release"], "actions": ["write"]}]},
    ]
    users = [{"name": "alice", "password": "a"}, {"name": "bob", "password": "b", "groups": ["release"]},
             {"name": "carol", "password": "c"}]
    config, _c, _w = zgen.generate({"htpasswd_path": "/etc/zot/htpasswd", "access_control": True,
                                    "namespaces": namespaces, "users": users, "retention_enabled": True, "gc": True})
    assert authorize(config, "team/x", "delete", "carol")[0] is True
    assert authorize(config, "team/locked", "create", "carol") == (False, "team/locked/**")
    assert authorize(config, "team/locked/app", "delete", "carol")[0] is False
    assert authorize(config, "team/locked/app", "create", "alice")[0] is True
    assert authorize(config, "team/locked/app", "create", "bob")[0] is True   # via group release
    assert authorize(config, "team/locked/app", "read", None)[0] is True
    assert authorize(config, "team/lockedout", "delete", "carol") == (True, "team/**")
    assert config["http"]["accessControl"]["groups"] == {"release": {"users": ["bob"]}}
    # retention: zot applies the first matching policy, so the deeper namespace comes first
    # and keeps everything (it has no retention of its own).
    policies = config["storage"]["retention"]["policies"]
    assert policies[0]["repositories"] == ["team/locked", "team/locked/**"]
    assert policies[0]["keepTags"] == [{"patterns": [".*"]}]
    assert policies[1]["repositories"] == ["team", "team/**"]
    assert policies[1]["keepTags"] == [{"mostRecentlyPushedCount": 5}]


def test_platform_retention(platform_config):
    policies = platform_config["storage"]["retention"]["policies"]
    by_ns = {p["repositories"][0]: p for p in policies}
    assert by_ns["provisioning-extensions"]["keepTags"] == [{"mostRecentlyPushedCount": 10, "pushedWithin": "2160h"}]
    assert by_ns["provisioning-kcl"]["keepTags"] == [{"mostRecentlyPushedCount": 20, "pushedWithin": "4320h"}]
    assert by_ns["provisioning-platform"]["keepTags"] == [{"mostRecentlyPushedCount": 5, "pushedWithin": "720h"}]
    assert by_ns["provisioning-test"]["keepTags"] == [{"mostRecentlyPushedCount": 3, "pushedWithin": "168h"}]
    for policy in policies:
        assert policy["repositories"][1] == policy["repositories"][0] + "/**"
        assert policy["deleteUntagged"] is True
        assert zschema.parse_duration(policy["keepTags"][0]["pushedWithin"]) % (24 * 3600 * 10 ** 9) == 0
    assert platform_config["storage"]["retention"]["delay"] == "24h"
    assert platform_config["storage"]["retention"]["dryRun"] is False
    assert zreload.retention_enabled(platform_config)


@pytest.mark.parametrize("actions,expected", [
    (["read"], ["read"]),
    (["write"], ["read", "create", "update"]),
    (["delete"], ["read", "delete"]),
    (["admin"], ["read", "create", "update", "delete"]),
    (["read", "write", "delete"], ["read", "create", "update", "delete"]),
])
def test_model_action_mapping(actions, expected):
    namespaces = [{"name": "ns", "policies": [{"subjects": ["u1"], "actions": actions}]}]
    access = zgen.access_control(namespaces, [{"name": "u1", "password": "x"}])
    assert access["repositories"]["ns/**"]["policies"] == [{"users": ["u1"], "actions": expected}]


@pytest.mark.parametrize("namespaces,variable", [
    ([{"name": "Bad_Name"}], "zot_namespaces[0].name"),
    ([{"name": "ns", "policies": [{"subjects": ["u"], "actions": ["push"]}]}], "zot_namespaces[0].policies[0].actions"),
    ([{"name": "ns", "policies": [{"subjects": ["group:"], "actions": ["read"]}]}], "zot_namespaces[0].policies[0].subjects"),
    ([{"name": "ns"}, {"name": "ns"}], "zot_namespaces[1].name"),
    ([{"name": "ns", "retention": {"keep_tags": 0}}], "zot_namespaces[0].retention.keep_tags"),
    ([{"name": "ns", "retention": {"keep": 3}}], "zot_namespaces[0].retention"),
])
def test_bad_model_input_names_the_variable(namespaces, variable):
    with pytest.raises(zschema.ZotConfigError) as info:
        zgen.generate({"htpasswd_path": "/h", "access_control": True, "retention_enabled": True, "gc": True,
                       "namespaces": namespaces, "users": []})
    assert str(info.value).startswith("invalid zot configuration: " + variable + ":")


def test_absent_users_are_left_out(platform_options):
    config, _c, _w = zgen.generate(platform_options)
    text = zgen.render(config)
    assert '"gone"' not in text
    for user in PLATFORM_USERS:
        assert user["password"] not in text
