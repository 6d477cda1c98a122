"""Machine users stored as SHA-512 crypt (issue 13): the hash zot v2.1.20 accepts ($6$, 5000 rounds, no
``rounds=``; pkg/api/htpasswd.go with nathanaelle/password sha512.go), only for long secrets, refused on
Distribution and Harbor before anything changes, idempotent, never shown."""

import importlib.util
import json
import os
import sys

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils import _htpasswd
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import InvalidParameterError
from ansible_collections.provisioning.oci_registry.plugins.module_utils._model import ModelError, normalize_model

SECRET = "m4chine-Secret-0123456789-abcdefghij"      # 36 characters, a robot's random secret
OTHER = "m4chine-Secret-0123456789-abcdefghiX"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
# The SHA-crypt specification's own example (U. Drepper, "Unix crypt using SHA-256 and SHA-512").
SPEC_HASH = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"


def _standin():
    """The zot stand-in's module, for its independent $6$ verifier (the check zot's htpasswd.go makes)."""
    spec = importlib.util.spec_from_file_location("zot_standin",
                                                  os.path.join(ROOT, "tests/bed/images/zot-standin/zot-standin.py"))
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.join(ROOT, ".build", "collections"))
    spec.loader.exec_module(module)
    return module


# -- the hash --------------------------------------------------------------------------------------------
def test_sha512_crypt_is_the_standard_form_at_5000_rounds():
    hashed = _htpasswd.hash_password(SECRET, scheme="sha512_crypt")
    prefix, salt, digest = hashed.split("$")[1:]
    assert prefix == "6" and "rounds=" not in hashed          # 5000 is implicit, as zot's library reads it
    assert len(salt) == 16 and len(digest) == 86
    assert _htpasswd.sha512_rounds(hashed) == 5000 and _htpasswd.hash_scheme(hashed) == "sha512_crypt"
    assert _htpasswd.password_matches(hashed, SECRET, scheme="sha512_crypt")
    assert not _htpasswd.password_matches(hashed, OTHER, scheme="sha512_crypt")
    # The same hash checked by the stand-in's own implementation of the specification, as zot checks it.
    standin = _standin()
    assert standin.sha512_crypt_verifies(hashed, SECRET) and not standin.sha512_crypt_verifies(hashed, OTHER)
    assert standin.sha512_crypt_verifies(SPEC_HASH, "Hello world!")


def test_the_specification_example_verifies():
    assert _htpasswd.password_matches(SPEC_HASH, "Hello world!", scheme="sha512_crypt")


@pytest.mark.parametrize("hashed, scheme", [
    (SPEC_HASH, "bcrypt"),                                                    # $6$ does not count as bcrypt
    ("$2y$10$3otVa6fQIvcX6WN5e0OW..rejaAKl4qVIbAE4pJ7aLPmOP/ct2OWi", "sha512_crypt"),  # nor bcrypt as $6$
    ("$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/"
     "y3RnOaw5v.", "sha512_crypt"),                                          # other rounds: rehashed at 5000
    ("$6$garbage", "sha512_crypt"),
], ids=["sha-as-bcrypt", "bcrypt-as-sha", "sha-10000-rounds", "garbage"])
def test_other_schemes_and_rounds_do_not_match(hashed, scheme):
    assert not _htpasswd.password_matches(hashed, "Hello world!", scheme=scheme)


def test_short_secret_is_refused_by_the_hash_itself():
    with pytest.raises(InvalidParameterError, match="at least 32 characters"):
        _htpasswd.hash_password("short-human-password", scheme="sha512_crypt")


def test_ensure_user_keeps_a_verifying_entry_and_rehashes_on_a_scheme_switch():
    htpasswd = _htpasswd.Htpasswd("")
    assert _htpasswd.ensure_user(htpasswd, "ci", SECRET, scheme="sha512_crypt") == (True, True)
    entry = htpasswd.get("ci")
    assert entry.startswith("$6$")
    assert _htpasswd.ensure_user(htpasswd, "ci", SECRET, scheme="sha512_crypt") == (False, False)
    assert htpasswd.get("ci") == entry                                        # kept, not rehashed
    assert _htpasswd.ensure_user(htpasswd, "ci", OTHER, scheme="sha512_crypt") == (False, True)
    assert _htpasswd.ensure_user(htpasswd, "ci", OTHER, rounds=10) == (False, True)   # to bcrypt
    assert htpasswd.get("ci").startswith("$2y$10$")
    assert _htpasswd.ensure_user(htpasswd, "ci", OTHER, rounds=10) == (False, False)
    assert _htpasswd.ensure_user(htpasswd, "ci", OTHER, scheme="sha512_crypt") == (False, True)  # and back
    assert htpasswd.get("ci").startswith("$6$")


# -- the model: the 32-character rule and the types that refuse it ---------------------------------------
def test_short_password_with_sha512_crypt_names_the_entry_and_hides_the_password():
    with pytest.raises(ModelError) as error:
        normalize_model([{"name": "ok", "password": SECRET, "password_hash": "sha512_crypt"},
                         {"name": "alice", "password": "alice-pw-1", "password_hash": "sha512_crypt"},
                         {"name": "bob", "password": "x", "password_hash": "md5"}], [], registry_type="zot")
    message = str(error.value)
    assert "oci_registry_users[1].password_hash" in message and "at least 32 characters" in message
    assert "oci_registry_users[2].password_hash: must be bcrypt or sha512_crypt" in message
    assert "oci_registry_users[0]" not in message and "alice-pw-1" not in message


@pytest.mark.parametrize("registry_type, why", [
    ("distribution", "verifies bcrypt only, once per credential, and caches"),
    ("harbor", "Harbor hashes its users' passwords itself"),
])
def test_sha512_crypt_is_refused_on_distribution_and_harbor(registry_type, why):
    users = [{"name": "ci", "password": SECRET, "password_hash": "sha512_crypt"}]
    with pytest.raises(ModelError) as error:
        normalize_model(users, [], registry_type=registry_type)
    assert "oci_registry_users[0].password_hash: sha512_crypt cannot be used on" in str(error.value)
    assert why in str(error.value)
    normalize_model(users, [], registry_type="zot")                         # zot accepts it
    normalize_model([dict(users[0], state="absent")], [], registry_type=registry_type)   # only removed


# -- oci_user on zot's files, as Ansible runs it ------------------------------------------------------------
def _args(files, **more):
    config_path, htpasswd_path = files
    return dict(registry_type="zot", config_path=str(config_path), htpasswd_path=str(htpasswd_path),
                bcrypt_rounds=10, **more)


def test_oci_user_machine_user_check_mode_real_idempotent_and_switch(run_module, files):
    _config_path, htpasswd_path = files
    args = _args(files, name="ci-robot", user_password=SECRET, password_hash="sha512_crypt")
    checked = run_module("oci_user", check_mode=True, **args)
    assert checked["changed"] is True and htpasswd_path.read_text() == ""
    assert checked["diff"]["after"]["ci-robot"] == {"admin": False, "groups": [], "password": "******** (changed)",
                                                    "password_hash": "sha512_crypt"}
    created = run_module("oci_user", **args)
    assert created["changed"] is True and SECRET not in created["_stdout"]
    entry = _htpasswd.Htpasswd(htpasswd_path.read_text()).get("ci-robot")
    assert entry.startswith("$6$") and "rounds=" not in entry and entry not in created["_stdout"]
    again = run_module("oci_user", **args)
    assert again["changed"] is False and again["users"][0]["password_changed"] is False
    assert _htpasswd.Htpasswd(htpasswd_path.read_text()).get("ci-robot") == entry

    # Switched to bcrypt: reported in check mode (and diff) without a write, then rehashed.
    to_bcrypt = dict(args, password_hash="bcrypt")
    checked = run_module("oci_user", check_mode=True, **to_bcrypt)
    assert checked["changed"] is True and checked["users"][0]["password_changed"] is True
    assert checked["diff"]["before"]["ci-robot"]["password_hash"] == "sha512_crypt"
    assert checked["diff"]["after"]["ci-robot"]["password_hash"] == "bcrypt"
    assert _htpasswd.Htpasswd(htpasswd_path.read_text()).get("ci-robot") == entry
    run_module("oci_user", **to_bcrypt)
    assert _htpasswd.Htpasswd(htpasswd_path.read_text()).get("ci-robot").startswith("$2y$10$")


def test_oci_user_refuses_before_anything_changes(run_module, files):
    config_path, htpasswd_path = files
    before = (config_path.read_text(), htpasswd_path.read_text())
    short = run_module("oci_user", **_args(files, users=[{"name": "alice", "password": "alice-pw-1",
                                                          "password_hash": "sha512_crypt"}]))
    assert short["failed"] and "users[0].password_hash" in short["msg"] and "32 characters" in short["msg"]
    assert "alice-pw-1" not in short["_stdout"]
    distribution = run_module("oci_user", registry_type="distribution", htpasswd_path=str(htpasswd_path),
                              name="ci", user_password=SECRET, password_hash="sha512_crypt")
    assert distribution["failed"] and "name.password_hash: sha512_crypt cannot be used on Distribution" \
        in distribution["msg"]
    assert (config_path.read_text(), htpasswd_path.read_text()) == before


def test_oci_access_model_refuses_sha512_crypt_on_harbor(run_module):
    result = run_module("oci_access_model", registry_type="harbor",
                        users=[{"name": "ci", "password": SECRET, "password_hash": "sha512_crypt"}], namespaces=[])
    assert result["failed"] and "oci_registry_users[0].password_hash" in result["msg"]
    ok = run_module("oci_access_model", registry_type="zot",
                    users=[{"name": "ci", "password": SECRET, "password_hash": "sha512_crypt"}], namespaces=[])
    assert not ok.get("failed") and ok["users"][0]["password_hash"] == "sha512_crypt"
    assert SECRET not in json.dumps(ok)
