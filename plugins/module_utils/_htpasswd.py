# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""htpasswd files (bcrypt, SHA-512 crypt) and in-place file writes, for the file-based backends.

zot and Distribution's front (nginx) read the same kind of file: ``name:hash`` lines.
Hashes written here are bcrypt (``$2y$``, cost >= 10) unless a user's ``password_hash`` is
``sha512_crypt``: then SHA-512 crypt at 5000 rounds in the standard form ``$6$<salt>$<hash>``,
for zot's machine users only (zot v2.1.20 pkg/api/htpasswd.go Authenticate verifies ``$6$``
entries with github.com/nathanaelle/password v1.0.0, sha512.go: ``rounds=`` optional, 5000
when absent, clamped to 1000..999999999; a salt of at most 16 characters; no cache, so a
request costs one hash: about 2.5 ms at 5000 rounds against about 240 ms for bcrypt at cost 12).
A fast hash only suits a long random secret: ``sha512_crypt`` needs a password of at least
``SHA512_MIN_PASSWORD`` characters. A password is changed only when the stored hash does not
verify it, is of the other scheme, or is weaker (bcrypt cost) or other (SHA rounds) than asked,
so runs are idempotent without keeping any password.

``write_in_place`` replaces a file's content without replacing the file: zot re-reads its
config and htpasswd when the file it watches is written, not when another file is renamed
over it (as Ansible's copy and template do); a bind-mounted single file in a container also
keeps pointing at the old inode after a rename. The new content is validated first.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
import tempfile

from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import (
    InvalidParameterError,
    OciRegistryError,
)

try:
    from passlib.hash import sha512_crypt as passlib_sha512_crypt
except ImportError:  # pragma: no cover - reported when a sha512_crypt user is written
    passlib_sha512_crypt = None

try:
    import bcrypt
except ImportError:  # pragma: no cover - reported by the modules with missing_required_lib
    bcrypt = None
    try:
        from passlib.hash import bcrypt as passlib_bcrypt
    except ImportError:
        passlib_bcrypt = None
else:
    passlib_bcrypt = None

HAS_BCRYPT = bcrypt is not None or passlib_bcrypt is not None
MIN_ROUNDS = 10
DEFAULT_ROUNDS = 12
ALLOWED_MODES = (0o600, 0o640)
BCRYPT_PREFIXES = ("$2y$", "$2b$", "$2a$")
# The values of a user's password_hash (the access model's key, oci_user's option).
PASSWORD_HASHES = ("bcrypt", "sha512_crypt")
# SHA-512 crypt as zot reads it: 5000 rounds is the format's (and nathanaelle/password's) default,
# written without ``rounds=``. NOT passlib's own default (656000 rounds: ~130 times slower per request).
SHA512_ROUNDS = 5000
SHA512_PREFIX = "$6$"
SHA512_MIN_PASSWORD = 32


class FileWriteError(OciRegistryError):
    """A file could not be validated or written."""


# -- hashes ---------------------------------------------------------------------------------
def hash_password(password, rounds=DEFAULT_ROUNDS, scheme="bcrypt"):
    """A new hash of ``password``: bcrypt of cost ``rounds``, or (``scheme="sha512_crypt"``)
    SHA-512 crypt at ``SHA512_ROUNDS`` rounds (``rounds`` is then not used)."""
    if scheme == "sha512_crypt":
        return _hash_sha512(password)
    if scheme != "bcrypt":
        raise InvalidParameterError("password_hash must be one of %s, got %r" % (", ".join(PASSWORD_HASHES), scheme))
    if rounds < MIN_ROUNDS or rounds > 31:
        raise InvalidParameterError("bcrypt_rounds must be between %d and 31, got %r" % (MIN_ROUNDS, rounds))
    if not HAS_BCRYPT:
        raise OciRegistryError("the bcrypt (or passlib) Python library is needed on the registry host")
    if len(password.encode("utf-8")) > 72:
        raise InvalidParameterError("bcrypt uses at most 72 bytes of a password; use a shorter one")
    if bcrypt is not None:
        hashed = bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds)).decode("ascii")
    else:  # pragma: no cover
        hashed = passlib_bcrypt.using(rounds=rounds, ident="2b").hash(password)
    # $2b$ and $2y$ are the same algorithm; $2y$ is what Apache's htpasswd writes and what
    # every reader (Go's bcrypt, libxcrypt in nginx, passlib) accepts.
    return "$2y$" + hashed[4:]


def _hash_sha512(password):
    if len(password) < SHA512_MIN_PASSWORD:
        raise InvalidParameterError("password_hash sha512_crypt needs a password of at least %d characters (a long "
                                    "random machine secret); use bcrypt for other passwords" % SHA512_MIN_PASSWORD)
    if passlib_sha512_crypt is None:
        raise OciRegistryError("the passlib Python library is needed on the registry host for password_hash "
                               "sha512_crypt")
    # passlib leaves ``rounds=`` out at 5000 (its implicit_rounds): ``$6$<16-character salt>$<86 characters>``.
    return passlib_sha512_crypt.using(rounds=SHA512_ROUNDS).hash(password)


def hash_scheme(hashed):
    """``bcrypt``, ``sha512_crypt`` or None (another scheme) for a stored hash."""
    if hashed and hashed.startswith(BCRYPT_PREFIXES):
        return "bcrypt"
    if hashed and hashed.startswith(SHA512_PREFIX):
        return "sha512_crypt"
    return None


def sha512_rounds(hashed):
    """The rounds of a ``$6$`` hash (5000 when it has no ``rounds=``), or None."""
    if not hashed or not hashed.startswith(SHA512_PREFIX):
        return None
    field = hashed[len(SHA512_PREFIX):].split("$", 1)[0]
    if not field.startswith("rounds="):
        return SHA512_ROUNDS
    try:
        return int(field[len("rounds="):])
    except ValueError:
        return None


def bcrypt_cost(hashed):
    if not hashed or not hashed.startswith(BCRYPT_PREFIXES):
        return None
    try:
        return int(hashed[4:6])
    except ValueError:
        return None


def password_matches(hashed, password, rounds=MIN_ROUNDS, scheme="bcrypt"):
    """True when ``hashed`` is a hash of ``scheme`` that verifies ``password``: for bcrypt of a cost of at
    least ``rounds``, for sha512_crypt of exactly ``SHA512_ROUNDS`` rounds. Any other scheme (apr1, SHA-1,
    the other of the two) counts as not matching, so it gets replaced."""
    if scheme == "sha512_crypt":
        if password is None or sha512_rounds(hashed) != SHA512_ROUNDS or passlib_sha512_crypt is None:
            return False
        try:
            return passlib_sha512_crypt.verify(password, hashed)
        except (ValueError, TypeError):
            return False
    cost = bcrypt_cost(hashed)
    if cost is None or cost < rounds or password is None:
        return False
    candidate = "$2b$" + hashed[4:]
    try:
        if bcrypt is not None:
            return bcrypt.checkpw(password.encode("utf-8"), candidate.encode("ascii"))
        return passlib_bcrypt.verify(password, candidate)  # pragma: no cover
    except ValueError:
        return False


# -- the file's content ---------------------------------------------------------------------
class Htpasswd:
    """An htpasswd file's lines; other lines (comments, blanks) are kept as they are."""

    def __init__(self, text=""):
        self.lines = []
        for line in text.splitlines():
            name, sep, hashed = line.partition(":")
            if sep and name and not line.startswith("#"):
                self.lines.append([name, hashed])
            else:
                self.lines.append([None, line])

    def names(self):
        return [name for name, _h in self.lines if name is not None]

    def get(self, name):
        for entry, hashed in self.lines:
            if entry == name:
                return hashed
        return None

    def set(self, name, hashed):
        for line in self.lines:
            if line[0] == name:
                line[1] = hashed
                return
        self.lines.append([name, hashed])

    def remove(self, name):
        before = len(self.lines)
        self.lines = [line for line in self.lines if line[0] != name]
        return len(self.lines) != before

    def render(self):
        out = [(raw if name is None else "%s:%s" % (name, raw)) for name, raw in self.lines]
        return "\n".join(out) + "\n" if out else ""


def ensure_user(htpasswd, name, password, update_password="always", rounds=DEFAULT_ROUNDS, scheme="bcrypt"):
    """Set ``name`` in ``htpasswd`` (an Htpasswd), hashed with ``scheme`` (bcrypt or sha512_crypt).
    Returns (created, password_changed)."""
    current = htpasswd.get(name)
    if current is None:
        if password is None:
            raise InvalidParameterError("user %r is not in the htpasswd file and no password was given" % name)
        htpasswd.set(name, hash_password(password, rounds, scheme))
        return True, True
    if password is None or update_password == "on_create":
        return False, False
    if password_matches(current, password, rounds=MIN_ROUNDS, scheme=scheme):
        return False, False
    htpasswd.set(name, hash_password(password, rounds, scheme))
    return False, True


# -- files ----------------------------------------------------------------------------------
def read_text(path, default=None):
    try:
        with open(path, "r", encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return default
    except OSError as exc:
        raise FileWriteError("cannot read %s: %s" % (path, exc))


def _uid(owner):
    if owner is None or owner == "":
        return -1
    if isinstance(owner, int) or str(owner).isdigit():
        return int(owner)
    try:
        return pwd.getpwnam(owner).pw_uid
    except KeyError:
        raise InvalidParameterError("owner %r is not a user on this host (give a name or a numeric uid)" % owner)


def _gid(group):
    if group is None or group == "":
        return -1
    if isinstance(group, int) or str(group).isdigit():
        return int(group)
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise InvalidParameterError("group %r is not a group on this host (give a name or a numeric gid)" % group)


def parse_mode(mode, allowed=ALLOWED_MODES):
    if mode is None:
        return None
    try:
        value = int(str(mode), 8) if not isinstance(mode, int) else mode
    except ValueError:
        value = None
    if allowed and value not in allowed:
        raise InvalidParameterError("file mode %r is not allowed here; valid: %s"
                                    % (mode, ", ".join("%04o" % m for m in allowed)))
    return value


def attributes_differ(path, owner=None, group=None, mode=None):
    """True when an existing file's owner, group or mode differs from what is asked."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return True
    uid, gid = _uid(owner), _gid(group)
    return ((uid != -1 and info.st_uid != uid) or (gid != -1 and info.st_gid != gid)
            or (mode is not None and stat.S_IMODE(info.st_mode) != mode))


def validate_text(path, text, command, run_command):
    """Run ``command`` (``%s`` = a candidate file next to ``path``) on ``text``; raise if it fails."""
    if not command:
        return
    if "%s" not in command:
        raise InvalidParameterError("validate_command must contain %%s (the candidate file), got %r" % command)
    directory = os.path.dirname(os.path.abspath(path)) or "."
    handle, candidate = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".candidate",
                                         dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(candidate, 0o644)
        rc, out, err = run_command(command.replace("%s", candidate))
        if rc != 0:
            raise FileWriteError("validation of the new %s failed (rc=%s): %s"
                                 % (path, rc, (err or out or "").strip()[-2000:]), validate_rc=rc)
    finally:
        try:
            os.unlink(candidate)
        except OSError:
            pass


def write_in_place(path, text, owner=None, group=None, mode=None):
    """Write ``text`` into ``path`` keeping its inode (an existing file is truncated and
    rewritten, a new one is created with ``mode`` from the start), then set owner and mode.
    Returns True when content or attributes changed."""
    data = text.encode("utf-8")
    uid, gid = _uid(owner), _gid(group)
    changed = False
    try:
        with open(path, "rb") as handle:
            current = handle.read()
    except FileNotFoundError:
        current = None
    except OSError as exc:
        raise FileWriteError("cannot read %s: %s" % (path, exc))
    try:
        if current is None:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode if mode is not None else 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            changed = True
        elif current != data:
            with open(path, "r+b") as handle:
                handle.seek(0)
                handle.write(data)
                handle.truncate()
                handle.flush()
                os.fsync(handle.fileno())
            changed = True
        info = os.stat(path)
        if (uid != -1 and info.st_uid != uid) or (gid != -1 and info.st_gid != gid):
            os.chown(path, uid, gid)
            changed = True
        if mode is not None and stat.S_IMODE(info.st_mode) != mode:
            os.chmod(path, mode)
            changed = True
    except OSError as exc:
        raise FileWriteError("cannot write %s: %s" % (path, exc))
    return changed
