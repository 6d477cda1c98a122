"""htpasswd handling: bcrypt cost, verification, updates only when needed, in-place writes."""

import os
import stat

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils import _htpasswd
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import InvalidParameterError


def test_hash_is_bcrypt_2y_with_the_cost_asked():
    hashed = _htpasswd.hash_password("s3cret", rounds=10)
    assert hashed.startswith("$2y$10$")
    assert _htpasswd.password_matches(hashed, "s3cret")
    assert not _htpasswd.password_matches(hashed, "other")


@pytest.mark.parametrize("rounds", [4, 9, 32])
def test_cost_below_ten_is_refused(rounds):
    with pytest.raises(InvalidParameterError):
        _htpasswd.hash_password("x", rounds=rounds)


@pytest.mark.parametrize("hashed", [
    "$apr1$abc$def",                       # Apache MD5
    "{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=",   # SHA-1 of "test"
    "plain",
])
def test_other_schemes_never_match(hashed):
    assert not _htpasswd.password_matches(hashed, "test")


def test_weak_bcrypt_is_replaced():
    import bcrypt
    weak = bcrypt.hashpw(b"pw", bcrypt.gensalt(4)).decode()
    htpasswd = _htpasswd.Htpasswd("u:%s\n" % weak)
    created, changed = _htpasswd.ensure_user(htpasswd, "u", "pw", rounds=10)
    assert (created, changed) == (False, True)
    assert _htpasswd.bcrypt_cost(htpasswd.get("u")) == 10


@pytest.mark.parametrize("update_password, password, expect_change", [
    ("always", "same-pw", False),
    ("always", "new-pw", True),
    ("on_create", "new-pw", False),
    ("always", None, False),
])
def test_password_changes_only_when_it_differs(update_password, password, expect_change):
    hashes = (_htpasswd.hash_password("same-pw", 10), _htpasswd.hash_password("v", 10))
    htpasswd = _htpasswd.Htpasswd("# comment\nu:%s\nv:%s\n" % hashes)
    old = htpasswd.get("u")
    created, changed = _htpasswd.ensure_user(htpasswd, "u", password, update_password, rounds=10)
    assert created is False and changed is expect_change
    assert (htpasswd.get("u") != old) is expect_change
    assert htpasswd.render().startswith("# comment\nu:")
    assert htpasswd.names() == ["u", "v"]


def test_new_user_needs_a_password():
    with pytest.raises(InvalidParameterError):
        _htpasswd.ensure_user(_htpasswd.Htpasswd(""), "new", None)


def test_write_in_place_keeps_the_inode(tmp_path):
    path = tmp_path / "htpasswd"
    assert _htpasswd.write_in_place(str(path), "a:1\n", mode=0o640)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    inode = os.stat(path).st_ino
    assert _htpasswd.write_in_place(str(path), "a:2\nb:3\n", mode=0o640)
    assert os.stat(path).st_ino == inode
    assert path.read_text() == "a:2\nb:3\n"
    assert _htpasswd.write_in_place(str(path), "a:2\n", mode=0o640)   # shorter: truncated
    assert path.read_text() == "a:2\n"
    assert not _htpasswd.write_in_place(str(path), "a:2\n", mode=0o640)
    assert _htpasswd.write_in_place(str(path), "a:2\n", mode=0o600)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and os.stat(path).st_ino == inode


def test_a_new_file_is_never_world_readable(tmp_path):
    path = tmp_path / "secret"
    _htpasswd.write_in_place(str(path), "x:y\n", mode=0o600)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.mark.parametrize("mode", ["0644", "0666", "0700", "abc"])
def test_modes_other_than_0600_0640_are_refused(mode):
    with pytest.raises(InvalidParameterError):
        _htpasswd.parse_mode(mode)


def test_validation_failure_leaves_the_file_alone(tmp_path):
    path = tmp_path / "nginx.conf"
    path.write_text("old\n")

    def failing(command):
        assert command.endswith(".candidate")
        assert open(command.split()[-1]).read() == "new\n"
        return 1, "", "nginx: [emerg] unexpected end of file"

    with pytest.raises(_htpasswd.FileWriteError) as err:
        _htpasswd.validate_text(str(path), "new\n", "check %s", failing)
    assert "unexpected end of file" in str(err.value)
    assert path.read_text() == "old\n"
    assert sorted(os.listdir(tmp_path)) == ["nginx.conf"]   # the candidate is gone


def test_validate_command_needs_the_placeholder(tmp_path):
    with pytest.raises(InvalidParameterError):
        _htpasswd.validate_text(str(tmp_path / "f"), "x", "nginx -t", lambda c: (0, "", ""))
