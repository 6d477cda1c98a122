"""The access model: normalization and the errors for bad input (variable, index, what is valid)."""

import copy

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils import _model
from ansible_collections.provisioning.oci_registry.plugins.module_utils._model import (
    ModelError,
    normalize_model,
    normalize_namespaces,
    normalize_users,
)


def test_platform_defaults():
    namespaces = normalize_namespaces(None)
    by_name = dict((n["name"], n) for n in namespaces)
    assert sorted(by_name) == ["provisioning-extensions", "provisioning-kcl", "provisioning-platform",
                               "provisioning-test"]
    assert by_name["provisioning-extensions"]["retention"] == {"keep_tags": 10, "max_age_days": 90}
    assert by_name["provisioning-kcl"]["retention"] == {"keep_tags": 20, "max_age_days": 180}
    assert by_name["provisioning-platform"]["retention"] == {"keep_tags": 5, "max_age_days": 30}
    assert by_name["provisioning-test"]["retention"] == {"keep_tags": 3, "max_age_days": 7}
    assert [n["name"] for n in namespaces if n["public"]] == ["provisioning-test"]
    assert by_name["provisioning-kcl"]["policies"] == [{"subjects": ["authenticated"], "actions": ["read", "write"]}]
    assert by_name["provisioning-platform"]["policies"] == [{"subjects": ["authenticated"], "actions": ["read"]}]
    assert by_name["provisioning-extensions"]["policies"][0]["actions"] == ["read", "write", "delete"]
    # The defaults are a copy: normalizing never changes the module's constant.
    assert _model.PLATFORM_NAMESPACES[0]["name"] == "provisioning-extensions"


def test_normalized_shapes():
    users, namespaces = normalize_model(
        [{"name": "ci", "password": "x"}, {"name": "ops", "admin": "yes", "state": "absent"}],
        [{"name": "team/app", "policies": [{"subjects": ["ci", "group:dev", "ci"], "actions": ["write", "read"]}]}])
    assert users == [
        {"name": "ci", "email": None, "password": "x", "admin": False, "groups": [], "state": "present",
         "password_hash": "bcrypt"},
        {"name": "ops", "email": None, "password": None, "admin": True, "groups": [], "state": "absent",
         "password_hash": "bcrypt"},
    ]
    assert namespaces == [{"name": "team/app", "description": "", "public": False, "retention": None,
                           "quota_gb": None, "scan": None, "state": "present",
                           "policies": [{"subjects": ["ci", "group:dev"], "actions": ["read", "write"]}]}]


@pytest.mark.parametrize("users, expected", [
    ("alice", "oci_registry_users: must be a list"),
    ([{"name": "a:b", "password": "x"}], "oci_registry_users[0].name: 'a:b' (str) is not a valid user name"),
    ([{"name": "", "password": "x"}], "oci_registry_users[0].name"),
    ([{"name": "ok", "password": "x"}, {"name": "with space", "password": "x"}], "oci_registry_users[1].name"),
    ([{"name": "ok"}], "oci_registry_users[0].password: is required for a present user"),
    ([{"name": "ok", "password": ""}], "oci_registry_users[0].password: is empty"),
    ([{"name": "ok", "password": "x", "state": "gone"}], "oci_registry_users[0].state: must be present or absent"),
    ([{"name": "ok", "password": "x", "admin": "maybe"}], "oci_registry_users[0].admin: must be true or false"),
    ([{"name": "ok", "password": "x", "role": "admin"}], "oci_registry_users[0]: unknown key(s) role"),
    ([{"name": "ok", "password": "x"}, {"name": "ok", "password": "y"}],
     "oci_registry_users[1].name: user 'ok' is already listed at oci_registry_users[0]"),
    ([{"name": "ok", "password": "x", "groups": ["bad group"]}], "oci_registry_users[0].groups[0]"),
    ([42], "oci_registry_users[0]: must be a mapping"),
])
def test_user_errors(users, expected):
    with pytest.raises(ModelError) as err:
        normalize_users(users)
    assert expected in str(err.value)


@pytest.mark.parametrize("namespaces, expected", [
    ({"name": "x"}, "oci_registry_namespaces: must be a list"),
    ([{"name": "Upper"}], "oci_registry_namespaces[0].name: 'Upper' (str) is not a valid namespace name"),
    ([{"name": "a//b"}], "oci_registry_namespaces[0].name"),
    ([{"name": "-lead"}], "oci_registry_namespaces[0].name"),
    ([{"name": "trail/"}], "oci_registry_namespaces[0].name"),
    ([{"name": "a" * 256}], "at most 255 characters"),
    ([{"name": "ok"}, {"name": "ok"}], "oci_registry_namespaces[1].name: namespace 'ok' is already listed"),
    ([{"name": "ok", "policies": [{"subjects": ["authenticated"], "actions": ["push"]}]}],
     "oci_registry_namespaces[0].policies[0].actions[0]: unknown action 'push' (str); valid: read, write, delete, admin"),
    ([{"name": "ok", "policies": [{"subjects": [], "actions": ["read"]}]}],
     "oci_registry_namespaces[0].policies[0].subjects: must be a non-empty list"),
    ([{"name": "ok", "policies": [{"subjects": ["group:"], "actions": ["read"]}]}],
     "oci_registry_namespaces[0].policies[0].subjects[0]: 'group:': a group name must be"),
    ([{"name": "ok", "policies": [{"subjects": ["anonymous"], "actions": ["read", "write"]}]}],
     "oci_registry_namespaces[0].policies[0]: anonymous may only be granted read"),
    ([{"name": "ok", "policies": [{"subjects": ["x"], "actions": ["read"], "when": "always"}]}],
     "oci_registry_namespaces[0].policies[0]: unknown key(s) when"),
    ([{"name": "ok", "retention": {"keep_tags": 0}}],
     "oci_registry_namespaces[0].retention.keep_tags: must be a positive integer or null"),
    ([{"name": "ok", "retention": {"keep": 3}}], "oci_registry_namespaces[0].retention: unknown key(s) keep"),
    ([{"name": "ok", "retention": "7d"}], "oci_registry_namespaces[0].retention: must be null or a mapping"),
    ([{"name": "ok", "quota_gb": 0}], "oci_registry_namespaces[0].quota_gb: must be a positive number of GiB"),
    ([{"name": "ok", "public": "sometimes"}], "oci_registry_namespaces[0].public: must be true or false"),
    ([{"name": "ok", "state": "deleted"}], "oci_registry_namespaces[0].state: must be present or absent"),
])
def test_namespace_errors(namespaces, expected):
    with pytest.raises(ModelError) as err:
        normalize_namespaces(namespaces)
    assert expected in str(err.value)


def test_every_problem_is_reported_at_once():
    with pytest.raises(ModelError) as err:
        normalize_model([{"name": "a:b", "password": "x"}],
                        [{"name": "Bad"}, {"name": "ok", "policies": [{"subjects": ["u"], "actions": ["fly"]}]}])
    assert len(err.value.problems) == 3
    assert err.value.problems[0].startswith("oci_registry_users[0].name")
    assert err.value.problems[1].startswith("oci_registry_namespaces[0].name")
    assert err.value.problems[2].startswith("oci_registry_namespaces[1].policies[0].actions[0]")


def test_policy_naming_an_absent_user_is_refused():
    with pytest.raises(ModelError) as err:
        normalize_model([{"name": "gone", "state": "absent"}],
                        [{"name": "ok", "policies": [{"subjects": ["gone"], "actions": ["read"]}]}])
    assert "oci_registry_namespaces[0].policies[0].subjects: user 'gone' has state absent" in str(err.value)


@pytest.mark.parametrize("name", ["a", "a/b/c", "a.b", "a_b", "a__b", "a---b", "provisioning-kcl", "x9/y-8.z"])
def test_valid_namespace_names(name):
    assert normalize_namespaces([{"name": name}])[0]["name"] == name


@pytest.mark.parametrize("actions, effective", [
    (["read"], {"read"}),
    (["write"], {"read", "write"}),
    (["delete"], {"read", "delete"}),
    (["admin"], {"read", "write", "delete", "admin"}),
])
def test_effective_actions(actions, effective):
    assert _model.effective_actions(actions) == effective


def test_public_view_masks_secrets():
    data = [{"name": "a", "password": "p1", "nested": {"secret": "s"}}, {"name": "b", "password": None}]
    masked = _model.public_view(copy.deepcopy(data))
    assert "p1" not in repr(masked) and "'s'" not in repr(masked)
    assert masked[1]["password"] is None
