# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""Zot configuration: the key tree zot accepts and its checker (pure Python).

* ``SCHEMA`` is the key tree zot's loader accepts, with the declared type of every leaf, beside the
  constants the rules use and the value types they need: Go durations (``parse_duration``,
  ``format_duration``) and doublestar globs (``glob_is_valid``).
* ``check(config)`` applies zot's own rules to a config dict: only keys zot's config model
  knows (zot's loader decodes with "unused keys are errors", case-insensitively), the
  types that model declares (``http.port`` is a string, durations are Go duration
  strings), and the cross-field rules zot enforces when it loads a file, plus a few
  project rules that are stricter than zot (noted where they are). ``validate(config)`` raises
  ``ZotConfigError`` instead and returns the warnings.

The generator (_zot_generate.py) and the reload/restart classifier (_zot_reload.py) build on this
module. It imports nothing else of the collection but _errors.py: the zot stand-in test image
(tests/bed/images/zot-standin) carries these two files to refuse exactly the configs the role refuses.

Facts about zot come from its v2.1.20 documentation and example configurations
(``../shared/reference/zot``), its published configuration model, and its source where a
behaviour is cited next to the code that reproduces it (LDAP, remote cache and cluster:
pkg/cli/server/root.go; event sinks: pkg/extensions/config/events; sync: pkg/extensions/extension_sync.go
and pkg/cli/server/validate_sync_enabled.go; GC with retention: pkg/api/controller.go; the s3 driver's
parameters: distribution v3.1.1 registry/storage/driver/s3-aws/s3.go). No zot code is copied here.
"""

from __future__ import annotations

import json
import posixpath
import re

from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import InvalidParameterError

ZOT_VERSION = "v2.1.20"
DIST_SPEC_VERSION = "1.1.1"

ZOT_ACTIONS = ("read", "create", "update", "delete")
LOG_LEVELS = ("debug", "trace", "info", "warn", "warning", "error", "fatal", "panic")
STORAGE_DRIVERS = ("s3", "gcs", "azure")
MIN_SCRUB_INTERVAL_NS = 2 * 3600 * 10 ** 9
MIN_CVE_INTERVAL_NS = 2 * 3600 * 10 ** 9
DISALLOWED_METRICS_PATHS = ("/", "/v2")
LDAP_REQUIRED = ("address", "baseDN", "userAttribute")
CLUSTER_HASH_KEY_LENGTH = 16


class ZotConfigError(InvalidParameterError):
    """A zot configuration that zot would refuse (or that the project refuses)."""

    def __init__(self, problems, warnings=None):
        self.problems = list(problems)
        self.warnings = list(warnings or [])
        msg = "invalid zot configuration: " + "; ".join(self.problems)
        super().__init__(msg, problems=self.problems)


# --------------------------------------------------------------------------------------
# Go durations
# --------------------------------------------------------------------------------------
_DURATION_UNITS = {
    "ns": 1,
    "us": 10 ** 3,
    "\u00b5s": 10 ** 3,
    "\u03bcs": 10 ** 3,
    "ms": 10 ** 6,
    "s": 10 ** 9,
    "m": 60 * 10 ** 9,
    "h": 3600 * 10 ** 9,
}
_DURATION_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")


def parse_duration(text):
    """Nanoseconds in a Go duration string ("1h", "1h30m", "24h0m0s", "-5s", "0").

    Raises ValueError for anything Go's time.ParseDuration would refuse.
    """
    if not isinstance(text, str):
        raise ValueError("not a string")
    rest = text
    sign = 1
    if rest[:1] in ("+", "-"):
        sign = -1 if rest[0] == "-" else 1
        rest = rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise ValueError("empty duration")
    total = 0
    while rest:
        match = _DURATION_PART.match(rest)
        if not match or match.group(1) in ("", "."):
            raise ValueError("invalid duration %r" % text)
        number, unit = match.group(1), match.group(2)
        whole, _dot, frac = number.partition(".")
        value = int(whole or "0") * _DURATION_UNITS[unit]
        if frac:
            value += int(frac) * _DURATION_UNITS[unit] // (10 ** len(frac))
        total += value
        rest = rest[match.end():]
    return sign * total


def format_duration(nanoseconds):
    """The canonical Go form of a duration (what time.Duration.String() prints)."""
    if nanoseconds == 0:
        return "0s"
    sign = "-" if nanoseconds < 0 else ""
    ns = abs(nanoseconds)
    if ns < 10 ** 9:
        for unit, size in (("ms", 10 ** 6), ("\u00b5s", 10 ** 3), ("ns", 1)):
            if ns >= size:
                return sign + _trim_fraction(ns, size) + unit
    hours, ns = divmod(ns, 3600 * 10 ** 9)
    minutes, ns = divmod(ns, 60 * 10 ** 9)
    seconds = _trim_fraction(ns, 10 ** 9) + "s"
    if hours:
        return "%s%dh%dm%s" % (sign, hours, minutes, seconds)
    if minutes:
        return "%s%dm%s" % (sign, minutes, seconds)
    return sign + seconds


def _trim_fraction(value, size):
    whole, frac = divmod(value, size)
    if not frac:
        return str(whole)
    digits = len(str(size)) - 1
    return ("%d.%0*d" % (whole, digits, frac)).rstrip("0")


# --------------------------------------------------------------------------------------
# Globs (zot matches repository names with doublestar globs)
# --------------------------------------------------------------------------------------
def glob_is_valid(pattern):
    """Whether a doublestar glob compiles: balanced [] and {}, no dangling escape."""
    if not isinstance(pattern, str):
        return False
    depth_brace = 0
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            if i + 1 >= len(pattern):
                return False
            i += 2
            continue
        if char == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1:i + 2] in ("!", "^") else i + 1)
            if end < 0:
                return False
            i = end + 1
            continue
        if char == "{":
            depth_brace += 1
        elif char == "}":
            if depth_brace == 0:
                return False
            depth_brace -= 1
        i += 1
    return depth_brace == 0


# --------------------------------------------------------------------------------------
# The key tree zot's loader accepts (v2.1.20), with the declared type of every leaf
# --------------------------------------------------------------------------------------
STR, BOOL, INT, DURATION, PORT, TIMEWINDOW, ANY = "str", "bool", "int", "duration", "port", "timewindow", "any"


class ListOf:
    def __init__(self, item):
        self.item = item


class MapOf:
    def __init__(self, item):
        self.item = item


STRLIST = ListOf(STR)
TLS = {"cert": STR, "key": STR, "cacert": STR}
KEEP_RULES = {
    "pulledWithin": DURATION,
    "pushedWithin": DURATION,
    "mostRecentlyPushedCount": INT,
    "mostRecentlyPulledCount": INT,
}
RETENTION = {
    "dryRun": BOOL,
    "delay": DURATION,
    "policies": ListOf({
        "repositories": STRLIST,
        "deleteReferrers": BOOL,
        "deleteUntagged": BOOL,
        "keepTags": ListOf(dict(KEEP_RULES, patterns=STRLIST)),
        "keepUntagged": dict(KEEP_RULES),
    }),
}
STORAGE = {
    "rootDirectory": STR,
    "maxRepos": INT,
    "dedupe": BOOL,
    "remoteCache": BOOL,
    "redirectBlobURL": BOOL,
    "gc": BOOL,
    "commit": BOOL,
    "gcDelay": DURATION,
    "gcInterval": DURATION,
    "gcTimeWindow": TIMEWINDOW,
    "retention": RETENTION,
    "storageDriver": MapOf(ANY),
    "cacheDriver": MapOf(ANY),
}
POLICY = {
    "users": STRLIST,
    "groups": STRLIST,
    "actions": STRLIST,
    "conditions": ListOf({"expression": STR, "message": STR}),
}
ACCESS_CONTROL = {
    "repositories": MapOf({"policies": ListOf(POLICY), "defaultPolicy": STRLIST, "anonymousPolicy": STRLIST}),
    "adminPolicy": POLICY,
    "groups": MapOf({"users": STRLIST}),
    "metrics": {"users": STRLIST, "anonymousPolicy": STRLIST},
}
AUTH = {
    "failDelay": INT,
    "htpasswd": {"path": STR},
    "ldap": {
        "credentialsFile": STR, "port": INT, "insecure": BOOL, "startTLS": BOOL, "skipVerify": BOOL,
        "subtreeSearch": BOOL, "address": STR, "userGroupAttribute": STR, "baseDN": STR,
        "userAttribute": STR, "userFilter": STR, "caCert": STR,
    },
    "bearer": {
        "realm": STR, "service": STR, "cert": STR,
        "upstreamTokenEndpoint": {"realm": STR, "service": STR, "allowInsecureHttp": BOOL},
        "oidc": ListOf({
            "issuer": STR, "audiences": STRLIST,
            "claimMapping": {
                "variables": ListOf({"name": STR, "expression": STR}),
                "validations": ListOf({"expression": STR, "message": STR}),
                "username": STR, "groups": STR,
            },
            "certificateAuthority": STR, "certificateAuthorityFile": STR, "skipIssuerVerification": BOOL,
        }),
        "awsSecretsManager": {"region": STR, "secretName": STR, "refreshInterval": DURATION},
    },
    "openid": {
        "providers": MapOf({
            "credentialsFile": STR, "name": STR, "clientid": STR, "clientsecret": STR, "keypath": STR,
            "issuer": STR, "authurl": STR, "tokenurl": STR, "scopes": STRLIST,
            "claimMapping": {"username": STR, "groups": STR},
        }),
        "callbackAllowOrigins": STRLIST,
    },
    "apikey": BOOL,
    "sessionKeysFile": STR,
    "sessionDriver": MapOf(ANY),
    "secureSession": BOOL,
    "mtls": {
        "identityAttributes": STRLIST, "uriSanPattern": STR, "uriSanIndex": INT,
        "dnsSanIndex": INT, "emailSanIndex": INT,
    },
}
HTTP = {
    "address": STR,
    "externalUrl": STR,
    "port": PORT,
    "allowOrigin": STR,
    "readTimeout": DURATION,
    "writeTimeout": DURATION,
    "tls": TLS,
    "auth": AUTH,
    "accessControl": ACCESS_CONTROL,
    "realm": STR,
    "ratelimit": {"rate": INT, "methods": ListOf({"method": STR, "rate": INT})},
    "compat": STRLIST,
}
SYNC = {
    "enable": BOOL,
    "credentialsFile": STR,
    "downloadDir": STR,
    "registries": ListOf({
        "urls": STRLIST,
        "pollInterval": DURATION,
        "content": ListOf({
            "prefix": STR,
            "tags": {"regex": STR, "excludeRegex": STR, "semver": BOOL},
            "destination": STR,
            "stripPrefix": BOOL,
        }),
        "tlsVerify": BOOL,
        "onDemand": BOOL,
        "certDir": STR,
        "maxRetries": INT,
        "retryDelay": DURATION,
        "maxRetryDelay": DURATION,
        "onlySigned": BOOL,
        "syncLegacyCosignTags": BOOL,
        "credentialHelper": STR,
        "oauth2CredentialHelper": MapOf(ANY),
        "preserveDigest": BOOL,
        "syncTimeout": DURATION,
    }),
}
EVENT_SINK_TYPES = ("http", "nats")
EVENT_SINK = {
    "type": STR,
    "address": STR,
    "channel": STR,
    "timeout": DURATION,
    "proxy": STR,
    "headers": MapOf(STR),
    "credentials": {"username": STR, "password": STR, "file": STR, "token": STR},
    "tlsconfig": {"cacertfile": STR, "certfile": STR, "keyfile": STR},
}
EXTENSIONS = {
    "search": {
        "enable": BOOL,
        "cve": {
            "updateInterval": DURATION,
            "trivy": {
                "dbRepository": STR, "javaDBRepository": STR, "vulnSeveritySources": STRLIST,
                "sbom": {"enable": BOOL, "format": STR},
            },
        },
    },
    "sync": SYNC,
    "metrics": {"enable": BOOL, "prometheus": {"path": STR}},
    "scrub": {"enable": BOOL, "interval": DURATION},
    "lint": {"enable": BOOL, "mandatoryAnnotations": STRLIST},
    "ui": {"enable": BOOL},
    "mgmt": {"enable": BOOL},
    "apikey": {"enable": BOOL},
    "trust": {"enable": BOOL, "cosign": BOOL, "notation": BOOL},
    # pkg/extensions/config/events/config.go (v2.1.20): Config{Enable, Sinks}; SinkConfig embeds
    # *Credentials and *TLSConfig without "squash", so mapstructure reads them under their
    # type names ("credentials", "tlsconfig").
    "events": {"enable": BOOL, "sinks": ListOf(EVENT_SINK)},
}
SCHEMA = {
    "distSpecVersion": STR,
    "goVersion": STR,
    "commit": STR,
    "releaseTag": STR,
    "binaryType": STR,
    "storage": dict(STORAGE, subPaths=MapOf(STORAGE), fastRestart=BOOL),
    "http": HTTP,
    "log": {"level": STR, "output": STR, "audit": STR},
    "extensions": EXTENSIONS,
    "scheduler": {"numWorkers": INT},
    "cluster": {"members": STRLIST, "hashKey": STR, "tls": TLS},
}

_TYPE_WORDS = {
    STR: "a string",
    BOOL: "a boolean (true/false)",
    INT: "an integer",
    DURATION: 'a Go duration string such as "1h", "90m" or "24h0m0s"',
    PORT: 'a string holding a port number 0-65535, such as "5000" (zot declares http.port a string)',
    TIMEWINDOW: 'a "HH:MM-HH:MM" time-of-day window in UTC, such as "01:00-08:00"',
}


def _dotted(path):
    """A readable path: http.accessControl.repositories["a/**"].policies[0]."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += "[%d]" % part
        elif re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", part):
            out += ("." if out else "") + part
        else:
            out += "[%s]" % json.dumps(part)
    return out


def _plain(path):
    """The path without list indexes and map keys: for the VARIABLES lookup."""
    return ".".join(p for p in path if isinstance(p, str) and re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", p))


class _Report:
    def __init__(self, variables=None, overridden=()):
        self.errors = []
        self.warnings = []
        self.variables = variables
        self.overridden = overridden

    def name(self, path):
        dotted = _dotted(path)
        if self.variables is None:
            return dotted
        plain = _plain(path)
        for prefix in self.overridden:
            if plain == prefix or plain.startswith(prefix + "."):
                return "zot_config_overrides (%s)" % dotted
        best = None
        for key in self.variables:
            if plain == key or plain.startswith(key + "."):
                if best is None or len(key) > len(best):
                    best = key
        if best is None:
            return "zot_config_overrides (%s)" % dotted
        return "%s (%s)" % (self.variables[best], dotted)

    def error(self, path, msg):
        self.errors.append("%s: %s" % (self.name(path), msg))

    def warn(self, path, msg):
        self.warnings.append("%s: %s" % (self.name(path), msg))


def _describe(value):
    if value is None:
        return "null"
    return "%s %s" % (type(value).__name__, json.dumps(value) if isinstance(value, (str, int, float, bool)) else "")


def _check_leaf(kind, value, path, report):
    if kind == ANY:
        return
    ok = True
    if kind == STR:
        ok = isinstance(value, str)
    elif kind == BOOL:
        ok = isinstance(value, bool)
    elif kind == INT:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == DURATION:
        if isinstance(value, str):
            try:
                parse_duration(value)
            except ValueError:
                ok = False
        else:
            ok = False
    elif kind == PORT:
        ok = isinstance(value, str) and value.isdigit() and 0 <= int(value) <= 65535
    elif kind == TIMEWINDOW:
        ok = isinstance(value, str) and _time_window_ok(value)
    if not ok:
        report.error(path, "must be %s, got %s" % (_TYPE_WORDS[kind], _describe(value).strip()))


def _time_window_ok(value):
    if value == "":
        return True
    start, sep, end = value.partition("-")
    if not sep:
        return False
    times = []
    for part in (start.strip(), end.strip()):
        match = re.match(r"^([0-9]{2}):([0-9]{2})$", part)
        if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
            return False
        times.append(int(match.group(1)) * 60 + int(match.group(2)))
    return times[0] != times[1]


def _walk(spec, value, path, report):
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            report.error(path, "must be an object, got %s" % _describe(value).strip())
            return
        known = {k.lower(): (k, v) for k, v in spec.items()}
        seen = {}
        for key, item in value.items():
            entry = known.get(str(key).lower())
            if entry is None:
                report.error(path + [key], "zot does not know this key (its loader rejects unknown keys); "
                                           "valid keys here: %s" % ", ".join(sorted(spec)))
                continue
            if entry[0].lower() in seen:
                report.error(path + [key], "duplicate of %r (zot reads keys case-insensitively)" % seen[entry[0].lower()])
            seen[entry[0].lower()] = key
            _walk(entry[1], item, path + [key], report)
    elif isinstance(spec, ListOf):
        if not isinstance(value, list):
            report.error(path, "must be a list, got %s" % _describe(value).strip())
            return
        for index, item in enumerate(value):
            _walk(spec.item, item, path + [index], report)
    elif isinstance(spec, MapOf):
        if not isinstance(value, dict):
            report.error(path, "must be an object, got %s" % _describe(value).strip())
            return
        for key, item in value.items():
            _walk(spec.item, item, path + [key], report)
    else:
        _check_leaf(spec, value, path, report)


def _get(config, *keys, **kwargs):
    """A nested value looked up case-insensitively (as zot reads keys), or ``default``."""
    node = config
    for key in keys:
        if not isinstance(node, dict):
            return kwargs.get("default")
        found = None
        for candidate in node:
            if str(candidate).lower() == key.lower():
                found = candidate
                break
        if found is None:
            return kwargs.get("default")
        node = node[found]
    return node


def _duration_ns(value, default=None):
    try:
        return parse_duration(value)
    except (ValueError, TypeError):
        return default


def extension_enabled(config, name):
    """Whether an extension is on after zot's defaults: present and not ``enable: false``.

    Sync with no ``enable`` key is on when it lists registries.
    """
    ext = _get(config, "extensions", name)
    if not isinstance(ext, dict):
        return False
    enable = _get(ext, "enable")
    if enable is None:
        if name == "sync":
            return bool(_get(ext, "registries"))
        return True
    return enable is True


def authentication_enabled(config):
    """Whether zot will authenticate anyone (htpasswd, LDAP, OpenID, API keys, mTLS, bearer)."""
    auth = _get(config, "http", "auth", default={}) or {}
    if _get(auth, "htpasswd", "path"):
        return True
    if _get(auth, "ldap") is not None or _get(auth, "apikey") is True:
        return True
    providers = _get(auth, "openid", "providers", default={}) or {}
    if any(str(p) in ("google", "gitlab", "oidc", "github") for p in providers):
        return True
    if _get(config, "http", "tls", "cacert"):
        return True
    bearer = _get(auth, "bearer")
    if isinstance(bearer, dict) and _get(bearer, "realm") and _get(bearer, "service"):
        if _get(bearer, "cert") or _get(bearer, "awsSecretsManager"):
            return True
    if isinstance(bearer, dict):
        for oidc in _get(bearer, "oidc", default=[]) or []:
            if isinstance(oidc, dict) and _get(oidc, "issuer") and _get(oidc, "audiences"):
                return True
    return False


def _only_anonymous(access):
    admin = _get(access, "adminPolicy", default={}) or {}
    if _get(admin, "actions") or _get(admin, "users"):
        return False
    repos = _get(access, "repositories", default={}) or {}
    anonymous = False
    for group in repos.values():
        if not isinstance(group, dict):
            continue
        if _get(group, "defaultPolicy"):
            return False
        if _get(group, "anonymousPolicy"):
            anonymous = True
        for policy in _get(group, "policies", default=[]) or []:
            if isinstance(policy, dict) and (_get(policy, "actions") or _get(policy, "users")):
                return False
    if anonymous:
        return True
    # only metrics.anonymousPolicy
    return not repos and not _get(access, "groups") and "read" in (_get(access, "metrics", "anonymousPolicy") or [])


def _regex_ok(pattern):
    try:
        re.compile(pattern)
    except (re.error, TypeError):
        return False
    return True


def _check_rules(config, report):
    """zot's cross-field rules (what it checks after decoding), and the project's own."""
    # http
    # log level (zot refuses to start with an unknown one)
    level = _get(config, "log", "level")
    if isinstance(level, str) and level.lower() not in LOG_LEVELS:
        report.error(["log", "level"], "unknown log level %r; valid: %s" % (level, ", ".join(LOG_LEVELS)))

    # storage and GC
    storage = _get(config, "storage", default={}) or {}
    for key in ("gcDelay", "gcInterval"):
        value = _duration_ns(_get(storage, key))
        if value is not None and value < 0:
            report.error(["storage", key], "must not be negative")
    if _get(storage, "gc") is False:
        for key in ("gcDelay", "gcInterval", "gcTimeWindow"):
            if _get(storage, key) not in (None, ""):
                report.warn(["storage", key], "ignored by zot because storage.gc is false")
        if _get(storage, "retention", "policies"):
            report.warn(["storage", "retention"], "retention policies are applied by garbage collection, "
                                                  "which storage.gc: false turns off")
    _check_retention(_get(storage, "retention"), ["storage", "retention"], report)
    drivers = {"": _get(storage, "storageDriver")}
    roots = [("", _get(storage, "rootDirectory"), _get(storage, "storageDriver"))]
    for name, sub in (_get(storage, "subPaths", default={}) or {}).items():
        if not isinstance(sub, dict):
            continue
        path = ["storage", "subPaths", name]
        if _get(sub, "gc") is True:
            delay = _duration_ns(_get(sub, "gcDelay"), default=1)
            if delay is not None and delay <= 0:
                report.error(path + ["gcDelay"], "must be positive when gc is on for a subpath")
        _check_retention(_get(sub, "retention"), path + ["retention"], report)
        drivers[name] = _get(sub, "storageDriver")
        roots.append((name, _get(sub, "rootDirectory"), _get(sub, "storageDriver")))
    for name, driver in drivers.items():
        path = ["storage"] + (["subPaths", name] if name else [])
        if driver:
            if isinstance(driver, dict) and driver.get("name") not in STORAGE_DRIVERS:
                report.error(path + ["storageDriver", "name"], "unsupported storage driver %r; zot supports %s"
                             % (driver.get("name"), ", ".join(STORAGE_DRIVERS)))
            if extension_enabled(config, "sync") and not _get(config, "extensions", "sync", "downloadDir"):
                report.error(["extensions", "sync", "downloadDir"],
                             "sync with a remote storage driver needs a download directory")
        else:
            sub = _get(storage, "subPaths", name) if name else storage
            if isinstance(sub, dict) and _get(sub, "redirectBlobURL") is True:
                report.error(path + ["redirectBlobURL"], "only works with the s3, gcs or azure storage drivers")
    for i, (name_a, root_a, drv_a) in enumerate(roots):
        for name_b, root_b, drv_b in roots[i + 1:]:
            if not isinstance(root_a, str) or not isinstance(root_b, str) or bool(drv_a) != bool(drv_b):
                continue
            a, b = posixpath.normpath(root_a), posixpath.normpath(root_b)
            if a == b or a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/"):
                report.error(["storage", "subPaths", name_b or name_a, "rootDirectory"],
                             "root directories of stores must not be the same or nested (%s, %s)" % (root_a, root_b))

    # LDAP: pkg/cli/server/root.go validateLDAP (v2.1.20) refuses an ldap section without
    # userAttribute, address or baseDN (an ldap key at all turns LDAP on: IsLdapAuthEnabled in
    # pkg/api/config/config.go).
    ldap = _get(config, "http", "auth", "ldap")
    if isinstance(ldap, dict):
        for key in LDAP_REQUIRED:
            if not _get(ldap, key):
                report.error(["http", "auth", "ldap", key], "zot refuses an LDAP configuration without %s "
                             "(required: %s)" % (key, ", ".join(LDAP_REQUIRED)))

    # access control
    access = _get(config, "http", "accessControl")
    if isinstance(access, dict):
        if not authentication_enabled(config) and not _only_anonymous(access):
            report.error(["http", "accessControl"],
                         "access control needs authentication (htpasswd, LDAP, OpenID, mTLS or bearer) "
                         "unless it only has anonymousPolicy entries")
        for pattern, group in (_get(access, "repositories", default={}) or {}).items():
            if not glob_is_valid(pattern):
                report.error(["http", "accessControl", "repositories", pattern], "is not a valid glob pattern")
            if isinstance(group, dict):
                for key in ("defaultPolicy", "anonymousPolicy"):
                    _check_actions(_get(group, key), ["http", "accessControl", "repositories", pattern, key], report)
                for index, policy in enumerate(_get(group, "policies", default=[]) or []):
                    if isinstance(policy, dict):
                        _check_actions(_get(policy, "actions"),
                                       ["http", "accessControl", "repositories", pattern, "policies", index, "actions"],
                                       report)
        admin = _get(access, "adminPolicy")
        if isinstance(admin, dict):
            _check_actions(_get(admin, "actions"), ["http", "accessControl", "adminPolicy", "actions"], report)
        metrics_anonymous = _get(access, "metrics", "anonymousPolicy")
        if isinstance(metrics_anonymous, list) and [a for a in metrics_anonymous if a != "read"]:
            report.error(["http", "accessControl", "metrics", "anonymousPolicy"], 'only "read" means anything here')

    # extensions
    path = _get(config, "extensions", "metrics", "prometheus", "path")
    if isinstance(path, str):
        if posixpath.normpath(path) != path or path.startswith("//"):
            report.error(["extensions", "metrics", "prometheus", "path"], "must be a clean path, got %r" % path)
        elif not path.startswith("/"):
            report.error(["extensions", "metrics", "prometheus", "path"], "must start with /, got %r" % path)
        elif path in DISALLOWED_METRICS_PATHS:
            report.error(["extensions", "metrics", "prometheus", "path"],
                         "must not be %s (zot serves its own routes there), got %r"
                         % (" or ".join(DISALLOWED_METRICS_PATHS), path))
    if extension_enabled(config, "ui") and not extension_enabled(config, "search"):
        report.error(["extensions", "ui"], "the ui extension needs the search extension enabled")
    cve = _get(config, "extensions", "search", "cve")
    if isinstance(cve, dict) and extension_enabled(config, "search"):
        if any(drv for drv in drivers.values()):
            report.error(["extensions", "search", "cve"], "CVE scanning does not work with a remote storage driver")
        interval = _duration_ns(_get(cve, "updateInterval"))
        if interval is not None and interval < MIN_CVE_INTERVAL_NS:
            # zot silently raises it to 2h; the project refuses instead of surprising.
            report.error(["extensions", "search", "cve", "updateInterval"],
                         "must be at least 2h (zot would raise it to 2h)")
    if extension_enabled(config, "scrub"):
        interval = _duration_ns(_get(config, "extensions", "scrub", "interval"))
        if interval is not None and interval < MIN_SCRUB_INTERVAL_NS:
            # zot silently raises it to 2h; the project refuses instead of surprising.
            report.error(["extensions", "scrub", "interval"], "must be at least 2h (zot would raise it to 2h)")
    for name in ("mgmt", "apikey"):
        if _get(config, "extensions", name) is not None:
            report.warn(["extensions", name], "ignored by zot %s (redundant extension setting)" % ZOT_VERSION)
    _check_sync(config, report)
    _check_events(config, report)

    _check_cache(config, report)
    _check_cluster(config, report)


# distribution v3.1.1 registry/storage/driver/s3-aws/s3.go FromParameters: the parameters it reads (zot passes
# storageDriver to it through factory.Create, pkg/storage/storage.go). Keys reach it lower-cased (zot loads
# config.json with viper, whose keys are case-insensitive), so they are compared lower-cased here.
S3_DRIVER_PARAMETERS = (
    "name", "accesskey", "secretkey", "regionendpoint", "forcepathstyle", "region", "bucket", "encrypt",
    "secure", "skipverify", "v4auth", "keyid", "chunksize", "multipartcopychunksize",
    "multipartcopymaxconcurrency", "multipartcopythresholdsize", "rootdirectory", "storageclass", "useragent",
    "objectacl", "usedualstack", "accelerate", "usefipsendpoint", "loglevel",
)
S3_BOOL_PARAMETERS = ("forcepathstyle", "encrypt", "secure", "skipverify", "v4auth", "usedualstack", "accelerate",
                      "usefipsendpoint")
CACHE_DRIVERS = ("redis", "dynamodb")

MIB = 1024 * 1024
# distribution v3.1.1 registry/storage/driver/s3-aws/s3.go (the driver zot v2.1.20 links, pkg/storage/s3/driver.go):
# minChunkSize 5 MiB, maxChunkSize 5 GiB (s3_64bit.go).
S3_MIN_CHUNK = 5 * MIB
S3_MAX_CHUNK = 5 * 1024 * MIB


def _param(driver, key):
    for name, value in driver.items():
        if str(name).lower() == key:
            return value
    return None


def _bool_param_ok(value):
    # s3.go getParameterAsBool: a bool, or a string strconv.ParseBool accepts.
    return isinstance(value, bool) or (isinstance(value, str) and value in (
        "1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"))


def _check_s3_driver(driver, path, report):
    """distribution's s3-aws FromParameters and New (v3.1.1), the checks that fail zot's start."""
    for key in driver:
        if str(key).lower() not in S3_DRIVER_PARAMETERS:
            # FromParameters ignores parameters it does not read: most likely a typo.
            report.warn(path + [key], "the s3 driver does not read this parameter (it ignores it); known: %s"
                        % ", ".join(S3_DRIVER_PARAMETERS[1:]))
    bucket = _param(driver, "bucket")
    if bucket is None or str(bucket) == "":
        report.error(path + ["bucket"], "the s3 driver needs a bucket (\"no bucket parameter provided\")")
    endpoint = _param(driver, "regionendpoint")
    region = _param(driver, "region")
    if not endpoint and (region is None or str(region) == ""):
        report.error(path + ["region"], "the s3 driver needs a region when no regionendpoint is given")
    for key in S3_BOOL_PARAMETERS:
        value = _param(driver, key)
        if value is not None and not _bool_param_ok(value):
            report.error(path + [key], "must be a boolean (the s3 driver refuses %r)" % (value,))
    chunk = _param(driver, "chunksize")
    if chunk is not None:
        try:
            number = int(str(chunk))
        except ValueError:
            number = None
        if number is None or isinstance(chunk, bool):
            report.error(path + ["chunksize"], "must be an integer number of bytes, got %r" % (chunk,))
        elif not S3_MIN_CHUNK <= number <= S3_MAX_CHUNK:
            report.error(path + ["chunksize"], "must be from %d (5 MiB) to %d (5 GiB) bytes, got %d"
                         % (S3_MIN_CHUNK, S3_MAX_CHUNK, number))
    v4auth = _param(driver, "v4auth")
    if v4auth in (False, "false", "False", "FALSE", "0", "f", "F") and (
            not endpoint or "s3.amazonaws.com" in str(endpoint)):
        report.error(path + ["v4auth"], "on Amazon S3 the driver only works with v4 authentication")
    if _param(driver, "accesskey") or _param(driver, "secretkey"):
        # The project keeps credentials out of config.json (storage_environment); zot accepts them here.
        report.warn(path, "holds s3 credentials: keep config.json 0600 (the zot role passes them in the "
                          "container's environment instead)")


def _remote_cache(store):
    """storage.remoteCache after zot's defaults: pkg/cli/server/root.go applyDefaultValues turns it on when
    dedupe (default true, pkg/api/config/config.go New) is on with a remote storage driver and the key is unset."""
    explicit = _get(store, "remoteCache")
    if explicit is not None:
        return explicit is True
    dedupe = _get(store, "dedupe")
    return (dedupe is not False) and bool(_get(store, "storageDriver"))


def _check_cache(config, report):
    """pkg/cli/server/root.go validateCacheConfig (v2.1.20), for the root store and every subpath; the
    cacheDriver parameters as pkg/storage/cache.go and pkg/api/config/redis/redis.go read them."""
    storage = _get(config, "storage", default={}) or {}
    stores = [([], storage, True)]
    for name, sub in (_get(storage, "subPaths", default={}) or {}).items():
        if isinstance(sub, dict):
            stores.append((["subPaths", name], sub, False))
    for sub_path, store, is_root in stores:
        path = ["storage"] + sub_path
        driver = _get(store, "storageDriver")
        if isinstance(driver, dict) and driver and driver.get("name") == "s3":
            _check_s3_driver(driver, path + ["storageDriver"], report)
        cache = _get(store, "cacheDriver")
        remote = _remote_cache(store)
        dedupe = _get(store, "dedupe") is not False
        if dedupe and driver and remote and not cache:
            report.error(path + ["cacheDriver"], "dedupe on a remote storage driver needs a remote cache "
                         "(cacheDriver redis or dynamodb), or remoteCache: false")
            continue
        if cache and not remote:
            report.warn(path + ["cacheDriver"], "ignored: remoteCache is false, zot uses its local boltdb cache")
            continue
        if not (cache and remote):
            continue
        if not isinstance(cache, dict):
            report.error(path + ["cacheDriver"], "must be an object with a name (redis or dynamodb)")
            continue
        name = _get(cache, "name")
        if is_root:
            if name not in CACHE_DRIVERS:
                report.error(path + ["cacheDriver", "name"], "unsupported cache driver %r; zot supports %s"
                             % (name, ", ".join(CACHE_DRIVERS)))
                continue
            if not driver and name != "redis":
                report.error(path + ["cacheDriver", "name"], "local storage only works with the redis remote cache")
        else:
            if not driver:
                report.error(path + ["cacheDriver"], "a subpath on local storage cannot have a remote cache")
            if name != "dynamodb":
                report.error(path + ["cacheDriver", "name"], "a subpath's remote cache must be dynamodb, got %r"
                             % (name,))
                continue
        if name == "dynamodb" and _get(cache, "cacheTablename") is None:
            report.error(path + ["cacheDriver", "cacheTablename"], "is mandatory for the dynamodb cache driver")
        if name == "redis":
            url = _get(cache, "url")
            if url is not None:
                # go-redis ParseURL: redis://, rediss:// or unix:// (the URL is not shown: it may hold a password).
                if not isinstance(url, str) or not re.match(r"^(redis|rediss|unix)://[^\s]+$", url):
                    report.error(path + ["cacheDriver", "url"], "must be a redis://, rediss:// or unix:// URL "
                                 "(value not shown)")
            elif not _get(cache, "addr"):
                report.error(path + ["cacheDriver"], "the redis cache driver needs a url or addr")


def _socket_ok(value):
    """host:port as Go's net.SplitHostPort splits it (IPv6 in brackets), with a numeric port."""
    if not isinstance(value, str):
        return False
    match = re.match(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):([0-9]{1,5})$", value)
    return bool(match) and 0 < int(match.group(2)) <= 65535


def _check_cluster(config, report):
    """pkg/cli/server/root.go validateClusterConfig and pkg/api/proxy.go (v2.1.20)."""
    cluster = _get(config, "cluster")
    if not isinstance(cluster, dict):
        return
    members = _get(cluster, "members") or []
    if not members:
        report.error(["cluster", "members"], "cannot have 0 members in a scale-out cluster")
    for index, member in enumerate(members):
        if not _socket_ok(member):
            report.error(["cluster", "members", index], "%r is not host:port (zot splits each member with "
                         "net.SplitHostPort and finds itself by comparing them with its own addresses and "
                         "http.port)" % (member,))
    if len(set(m for m in members if isinstance(m, str))) != len(members):
        report.error(["cluster", "members"], "lists a member twice")
    key = _get(cluster, "hashKey")
    if not isinstance(key, str) or len(key.encode("utf-8")) != CLUSTER_HASH_KEY_LENGTH:
        report.error(["cluster", "hashKey"], "must have %d characters: siphash needs a 128-bit key "
                     "(value not shown)" % CLUSTER_HASH_KEY_LENGTH)
    if len(members) > 1:
        storage = _get(config, "storage", default={}) or {}
        if _get(storage, "storageDriver") and not (_remote_cache(storage) and _get(storage, "cacheDriver")):
            # Members on one bucket each keep a boltdb metaDB of their own (pkg/meta/meta.go New) otherwise.
            report.warn(["cluster"], "members on shared remote storage without a remote cache each keep their "
                                     "own metadata database")
        if _get(config, "http", "tls") and not _get(cluster, "tls", "cacert"):
            report.warn(["cluster", "tls", "cacert"], "zot proxies to other members over TLS and verifies them "
                        "(pkg/api/proxy.go): without a CA here only the system's trusted CAs are used")


def _check_actions(actions, path, report):
    if not isinstance(actions, list):
        return
    unknown = [a for a in actions if a not in ZOT_ACTIONS + ("detectManifestCollision",)]
    if unknown:
        valid = ", ".join(ZOT_ACTIONS + ("detectManifestCollision",))
        report.error(path, "unknown actions %s; valid: %s" % (", ".join(map(str, unknown)), valid))


def _check_retention(retention, path, report):
    if not isinstance(retention, dict):
        return
    delay = _duration_ns(_get(retention, "delay"))
    if delay is not None and delay < 0:
        report.error(path + ["delay"], "must not be negative")
    for index, policy in enumerate(_get(retention, "policies", default=[]) or []):
        if not isinstance(policy, dict):
            continue
        ppath = path + ["policies", index]
        repositories = _get(policy, "repositories")
        if not repositories:
            report.error(ppath + ["repositories"], "a retention policy needs repository globs to match")
        for pattern in repositories or []:
            if not glob_is_valid(pattern):
                report.error(ppath + ["repositories"], "%r is not a valid glob pattern" % pattern)
        for rindex, rule in enumerate(_get(policy, "keepTags", default=[]) or []):
            if not isinstance(rule, dict):
                continue
            for pattern in _get(rule, "patterns", default=[]) or []:
                if not _regex_ok(pattern):
                    report.error(ppath + ["keepTags", rindex, "patterns"], "%r is not a valid regular expression" % pattern)
            for key in ("mostRecentlyPushedCount", "mostRecentlyPulledCount"):
                count = _get(rule, key)
                if isinstance(count, int) and count < 0:
                    report.error(ppath + ["keepTags", rindex, key], "must not be negative")


def _check_sync(config, report):
    sync = _get(config, "extensions", "sync")
    if not isinstance(sync, dict):
        return
    compat = _get(config, "http", "compat") or []
    for index, registry in enumerate(_get(sync, "registries", default=[]) or []):
        if not isinstance(registry, dict):
            continue
        path = ["extensions", "sync", "registries", index]
        if not _get(registry, "urls"):
            report.error(path + ["urls"], "a sync registry needs at least one URL")
        retry = _duration_ns(_get(registry, "retryDelay"))
        max_retry = _duration_ns(_get(registry, "maxRetryDelay"))
        if _get(registry, "maxRetries") is not None and _get(registry, "retryDelay") is None:
            report.error(path + ["retryDelay"], "is required when maxRetries is set")
        if _get(registry, "maxRetryDelay") is not None and _get(registry, "retryDelay") is None:
            report.error(path + ["retryDelay"], "is required when maxRetryDelay is set")
        if retry is not None and max_retry is not None and max_retry < retry:
            report.error(path + ["maxRetryDelay"], "must be greater than or equal to retryDelay")
        # pkg/extensions/extension_sync.go EnableSyncExtension: a registry is synced periodically only with
        # content and a non-zero pollInterval, on demand only with onDemand; with neither zot skips it silently.
        periodic = bool(_get(registry, "content")) and bool(_duration_ns(_get(registry, "pollInterval")))
        if not periodic and _get(registry, "onDemand") is not True:
            report.warn(path, "zot never syncs this registry: it needs onDemand: true, or content together "
                              "with a pollInterval (zot skips it without a word)")
        if _get(registry, "preserveDigest") is True and not compat:
            report.error(path + ["preserveDigest"], "needs http.compat to be set")
        for cindex, content in enumerate(_get(registry, "content", default=[]) or []):
            if not isinstance(content, dict):
                continue
            cpath = path + ["content", cindex]
            prefix = _get(content, "prefix")
            if not isinstance(prefix, str) or not glob_is_valid(prefix):
                report.error(cpath + ["prefix"], "must be a valid glob pattern, got %r" % (prefix,))
            for key in ("regex", "excludeRegex"):
                pattern = _get(content, "tags", key)
                if pattern is not None and not _regex_ok(pattern):
                    report.error(cpath + ["tags", key], "%r is not a valid regular expression" % pattern)
            if (_get(content, "stripPrefix") is True and "/*" not in (prefix or "")
                    and _get(content, "destination") == "/"):
                report.error(cpath + ["stripPrefix"], 'stripPrefix with destination "/" needs a glob in prefix')
            overlap = _retention_sync_overlap(config, content)
            if overlap:
                report.warn(cpath, overlap)


def _sync_destination(prefix, content):
    """pkg/extensions/sync/content.go getRepoDestination applied to the prefix itself."""
    remote = prefix.strip("/")
    destination = str(_get(content, "destination") or "").strip("/")
    if _get(content, "stripPrefix") is True:
        remote = remote[len(prefix.strip("/*")):] if remote.startswith(prefix.strip("/*")) else remote
        remote = remote.strip("/")
    joined = "/".join([destination, remote])
    return "/" if joined == "/" else joined.strip("/")


def _retention_sync_overlap(config, content):
    """zot's own warning at load (pkg/cli/server/validate_sync_enabled.go validateRetentionSyncOverlaps): a
    retention policy whose repositories list the content's destination pattern exactly may delete synced images
    (unless one of its keepTags patterns is the content's tags regex)."""
    prefix = _get(content, "prefix")
    if not isinstance(prefix, str):
        return None
    pattern = _sync_destination(prefix, content) if _get(content, "destination") else prefix
    regex = _get(content, "tags", "regex")
    for policy in _get(config, "storage", "retention", "policies", default=[]) or []:
        if not isinstance(policy, dict) or pattern not in (policy.get("repositories") or []):
            continue
        if regex is not None and any(regex in (rule.get("patterns") or [])
                                     for rule in policy.get("keepTags") or [] if isinstance(rule, dict)):
            return None
        return ("the retention policy for %r also covers what sync writes there: retention may remove synced "
                "images (zot warns about this overlap at start)" % pattern)
    return None


def _check_events(config, report):
    """pkg/extensions/config/events/decoder.go: a sink type other than http or nats fails the load
    (ErrUnsupportedEventSink); pkg/extensions/events/http_sink.go and nats_sink.go: a sink without an
    address fails at start (ErrEventSinkAddressEmpty)."""
    sinks = _get(config, "extensions", "events", "sinks")
    if not isinstance(sinks, list):
        return
    for index, sink in enumerate(sinks):
        if not isinstance(sink, dict):
            report.error(["extensions", "events", "sinks", index], "must be an object")
            continue
        path = ["extensions", "events", "sinks", index]
        kind = _get(sink, "type")
        if kind not in EVENT_SINK_TYPES:
            report.error(path + ["type"], "unsupported event sink type %r; zot supports %s"
                         % (kind, ", ".join(EVENT_SINK_TYPES)))
        if not _get(sink, "address"):
            report.error(path + ["address"], "an event sink needs an address")
        elif kind == "http" and not re.match(r"^https?://[^\s]+$", _get(sink, "address")):
            report.error(path + ["address"], "an http sink's address must be an http:// or https:// URL")
        timeout = _duration_ns(_get(sink, "timeout"))
        if timeout is not None and timeout < 0:
            report.error(path + ["timeout"], "must not be negative")


def gc_retention_problem(gc, has_retention):
    """The one rule for GC off with retention (role and oci_gc): zot applies retention policies in its
    garbage collection tasks (pkg/api/controller.go RunGCTasks, v2.1.20), so with storage.gc false
    they never run. Returns the message, or None when the combination is fine."""
    if gc is False and has_retention:
        return ("namespace retention runs with garbage collection: with gc off zot never applies it; "
                "turn gc on, or remove the namespaces' retention")
    return None


def check(config, variables=None, overridden=()):
    """zot's rules applied to ``config``: returns (errors, warnings), two lists of strings.

    With ``variables`` (a path -> variable name map, e.g. VARIABLES) messages name the
    role variable that feeds each part; ``overridden`` lists the dotted paths that came
    from zot_config_overrides.
    """
    report = _Report(variables, overridden)
    if not isinstance(config, dict) or not config:
        report.error([], "a zot configuration must be a non-empty object")
        return report.errors, report.warnings
    _walk(SCHEMA, config, [], report)
    if not report.errors:
        _check_rules(config, report)
    return report.errors, report.warnings


def validate(config, variables=None, overridden=()):
    """``check`` that raises ZotConfigError when anything is wrong; returns the warnings."""
    errors, warnings = check(config, variables, overridden)
    if errors:
        raise ZotConfigError(errors, warnings)
    return warnings
