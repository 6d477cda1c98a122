# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""Zot configuration: generator, checker and reload/restart classifier (pure Python).

* ``generate(options)`` turns structured options (the ``zot_*`` role variables without
  their prefix) plus the collection's access model (users and namespaces) into zot's
  ``config.json`` dict; ``render(config)`` gives its canonical JSON text.
* ``check(config)`` applies zot's own rules to a config dict: only keys zot's config model
  knows (zot's loader decodes with "unused keys are errors", case-insensitively), the
  types that model declares (``http.port`` is a string, durations are Go duration
  strings), and the cross-field rules zot enforces when it loads a file, plus a few
  project rules that are stricter than zot (noted where they are).
* ``classify_change(old, new)`` says whether zot picks a change up from an in-place write
  of its config file (``reload``) or needs a restart (``restart``).
* ``authorize(config, repository, action, username, groups)`` evaluates zot's access
  rules (longest matching repository glob wins, then the admin policy) so that the
  generated ``accessControl`` can be checked without a running zot.

Facts about zot come from its v2.1.20 documentation and example configurations
(``../shared/reference/zot``), its published configuration model, and its source where a
behaviour is cited next to the code that reproduces it (reload table: pkg/cli/server/
config_reloader.go and pkg/api/config/config.go; LDAP: pkg/cli/server/root.go; event sinks:
pkg/extensions/config/events; metrics: pkg/api/authz.go; retention: pkg/retention). No zot
code is copied here.
"""

from __future__ import annotations

import copy
import json
import posixpath
import re

from urllib.parse import quote

from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import InvalidParameterError

ZOT_VERSION = "v2.1.20"
DIST_SPEC_VERSION = "1.1.1"

# The model's actions and what they mean in zot's accessControl.
# zot's own rules: "create" needs "read"; "update" needs "read" and "create";
# "delete" needs "read". So every grant that writes or deletes also reads.
ZOT_ACTIONS = ("read", "create", "update", "delete")
MODEL_ACTIONS = {
    "read": ("read",),
    "write": ("read", "create", "update"),
    "delete": ("read", "delete"),
    "admin": ZOT_ACTIONS,
}
SPECIAL_SUBJECTS = ("authenticated", "anonymous")
LOG_LEVELS = ("debug", "trace", "info", "warn", "warning", "error", "fatal", "panic")
STORAGE_DRIVERS = ("s3", "gcs", "azure")
MIN_SCRUB_INTERVAL_NS = 2 * 3600 * 10 ** 9
MIN_CVE_INTERVAL_NS = 2 * 3600 * 10 ** 9
DISALLOWED_METRICS_PATHS = ("/", "/v2")
LDAP_REQUIRED = ("address", "baseDN", "userAttribute")


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


def hours(days):
    """``max_age_days`` as the Go duration zot's pushedWithin takes ("720h" for 30)."""
    return "%dh" % (int(days) * 24)


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


def _glob_regex(pattern):
    out = []
    segments = pattern.split("/")
    last = len(segments) - 1
    for index, segment in enumerate(segments):
        if segment == "**":
            if index == last:
                # "a/**" matches "a", "a/" and everything below it; "**" matches all.
                if index == 0:
                    out.append(".*")
                else:
                    out[-1] = out[-1][:-1] if out[-1].endswith("/") else out[-1]
                    out.append("(?:/.*)?")
            else:
                out.append("(?:[^/]*/)*" if index == 0 else "(?:[^/]*/)*")
            continue
        part = []
        i = 0
        while i < len(segment):
            char = segment[i]
            if char == "\\" and i + 1 < len(segment):
                part.append(re.escape(segment[i + 1]))
                i += 2
                continue
            if char == "*":
                while i + 1 < len(segment) and segment[i + 1] == "*":
                    i += 1
                part.append("[^/]*")
            elif char == "?":
                part.append("[^/]")
            elif char == "[":
                end = segment.find("]", i + 1)
                body = segment[i + 1:end]
                if body[:1] in ("!", "^"):
                    body = "^" + body[1:]
                part.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
            elif char == "{":
                end = segment.find("}", i)
                alternatives = segment[i + 1:end].split(",")
                part.append("(?:" + "|".join(re.escape(a) for a in alternatives) + ")")
                i = end
            else:
                part.append(re.escape(char))
            i += 1
        out.append("".join(part) + ("/" if index != last else ""))
    return re.compile("^" + "".join(out) + "$")


def glob_match(pattern, name):
    """doublestar semantics for repository names: ``*`` stays inside one path segment,
    ``**`` spans segments, and a trailing ``/**`` also matches the directory itself."""
    return bool(_glob_regex(pattern).match(name))


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

# Which role variable feeds which part of the config (longest prefix wins). Used to name
# the variable in error messages about generated configs.
VARIABLES = {
    "distSpecVersion": "zot_dist_spec_version",
    "storage": "zot_config_overrides",
    "storage.rootDirectory": "zot_root_directory",
    "storage.dedupe": "zot_dedupe",
    "storage.gc": "zot_gc",
    "storage.gcDelay": "zot_gc_delay",
    "storage.gcInterval": "zot_gc_interval",
    "storage.gcTimeWindow": "zot_gc_time_window",
    "storage.maxRepos": "zot_max_repos",
    "storage.retention": "zot_namespaces (retention)",
    "storage.retention.dryRun": "zot_retention_dry_run",
    "storage.retention.delay": "zot_retention_delay",
    "storage.storageDriver": "zot_storage",
    "storage.redirectBlobURL": "zot_storage (s3.redirect)",
    "storage.remoteCache": "zot_redis",
    "storage.cacheDriver": "zot_redis",
    "cluster": "zot_cluster_members",
    "cluster.hashKey": "zot_cluster_hash_key",
    "cluster.tls": "zot_cluster_tls_cacert",
    "http.address": "zot_http_address",
    "http.port": "zot_http_port",
    "http.realm": "zot_realm",
    "http.externalUrl": "zot_external_url",
    "http.allowOrigin": "zot_allow_origin",
    "http.compat": "zot_http_compat",
    "http.tls": "zot_tls_cert",
    "http.tls.key": "zot_tls_key",
    "http.tls.cacert": "zot_tls_cacert",
    "http.auth": "zot_htpasswd_path",
    "http.auth.failDelay": "zot_fail_delay",
    "http.accessControl": "zot_namespaces",
    "http.accessControl.adminPolicy": "zot_users (admin)",
    "http.accessControl.groups": "zot_users (groups)",
    "http.accessControl.metrics": "zot_metrics_users",
    "http.accessControl.metrics.anonymousPolicy": "zot_metrics_anonymous",
    "http.ratelimit": "zot_ratelimit_rate",
    "http.ratelimit.methods": "zot_ratelimit_methods",
    "log.level": "zot_log_level",
    "log.output": "zot_log_output",
    "log.audit": "zot_log_audit",
    "extensions.search": "zot_search_enabled",
    "extensions.search.cve": "zot_cve_enabled",
    "extensions.search.cve.updateInterval": "zot_cve_update_interval",
    "extensions.ui": "zot_ui_enabled",
    "extensions.metrics": "zot_metrics_enabled",
    "extensions.metrics.prometheus.path": "zot_metrics_path",
    "extensions.scrub": "zot_scrub_enabled",
    "extensions.scrub.interval": "zot_scrub_interval",
    "extensions.sync": "zot_sync_registries / zot_mirrors / zot_replications",
    "extensions.sync.credentialsFile": "zot_sync_credentials_file",
    "extensions.sync.downloadDir": "zot_sync_download_dir",
    "extensions.lint": "zot_lint_enabled",
    "extensions.lint.mandatoryAnnotations": "zot_lint_mandatory_annotations",
    "extensions.events": "zot_webhooks",
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


# --------------------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------------------
OPTION_NAMES = (
    "dist_spec_version", "root_directory", "dedupe", "gc", "gc_delay", "gc_interval", "gc_time_window",
    "max_repos", "retention_enabled", "retention_dry_run", "retention_delay", "retention_delete_untagged",
    "retention_delete_referrers", "http_address", "http_port", "realm", "external_url", "allow_origin",
    "http_compat", "tls_cert", "tls_key", "tls_cacert", "htpasswd_path", "fail_delay", "access_control",
    "users", "namespaces", "access_default_policy", "access_anonymous_default", "metrics_users",
    "metrics_anonymous", "ratelimit_rate", "ratelimit_methods", "log_level", "log_output", "log_audit",
    "search_enabled", "cve_enabled", "cve_update_interval", "cve_db_repository", "cve_java_db_repository",
    "ui_enabled", "metrics_enabled", "metrics_path", "scrub_enabled", "scrub_interval", "sync_enabled",
    "sync_registries", "sync_credentials_file", "sync_download_dir", "lint_enabled",
    "lint_mandatory_annotations", "webhooks", "config_overrides", "mirrors", "replications",
    "storage", "redis", "cluster_members", "cluster_hash_key", "cluster_tls_cacert",
)
_SYNC_REGISTRY_KEYS = {
    "urls": "urls", "on_demand": "onDemand", "poll_interval": "pollInterval", "tls_verify": "tlsVerify",
    "cert_dir": "certDir", "max_retries": "maxRetries", "retry_delay": "retryDelay",
    "max_retry_delay": "maxRetryDelay", "only_signed": "onlySigned", "sync_timeout": "syncTimeout",
    "preserve_digest": "preserveDigest", "credential_helper": "credentialHelper", "content": "content",
    "username": None, "password": None,
}
_SYNC_CONTENT_KEYS = {"prefix": "prefix", "destination": "destination", "strip_prefix": "stripPrefix", "tags": "tags"}
_SYNC_TAG_KEYS = {"regex": "regex", "exclude_regex": "excludeRegex", "semver": "semver"}
_NAMESPACE_RE = re.compile(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$")


def _set(node, key, value):
    if value is not None and value != "":
        node[key] = value


def _fail(variable, msg):
    raise ZotConfigError(["%s: %s" % (variable, msg)])


def _model_actions(actions, variable):
    out = set()
    if not isinstance(actions, (list, tuple)):
        _fail(variable, "must be a list of actions (%s)" % ", ".join(MODEL_ACTIONS))
    for action in actions:
        if action not in MODEL_ACTIONS:
            _fail(variable, "unknown action %r; valid: %s" % (action, ", ".join(MODEL_ACTIONS)))
        out.update(MODEL_ACTIONS[action])
    return [a for a in ZOT_ACTIONS if a in out]


def _present_users(users):
    out = []
    for index, user in enumerate(users or []):
        if not isinstance(user, dict) or not user.get("name"):
            _fail("zot_users[%d]" % index, "each user needs a name")
        if user.get("state", "present") not in ("present", "absent"):
            _fail("zot_users[%d].state" % index, "must be present or absent")
        if user.get("state", "present") == "present":
            out.append(user)
    return out


def namespace_group(namespace, absent_users=(), variable="namespace"):
    """The zot policy group (policies, defaultPolicy, anonymousPolicy) of one namespace."""
    name = namespace.get("name")
    if not isinstance(name, str) or not _NAMESPACE_RE.match(name):
        _fail(variable + ".name", "%r is not a valid OCI repository name path "
                                  "(lowercase letters and digits, separated by . _ __ - or /)" % (name,))
    by_actions = {}
    default, anonymous = set(), set()
    for pindex, policy in enumerate(namespace.get("policies") or []):
        pvar = "%s.policies[%d]" % (variable, pindex)
        if not isinstance(policy, dict):
            _fail(pvar, "must be an object with subjects and actions")
        actions = _model_actions(policy.get("actions"), pvar + ".actions")
        for subject in policy.get("subjects") or []:
            if subject == "authenticated":
                default.update(actions)
            elif subject == "anonymous":
                anonymous.update(actions)
            elif not isinstance(subject, str) or not subject or subject == "group:":
                _fail(pvar + ".subjects", "invalid subject %r" % (subject,))
            elif subject.startswith("group:"):
                by_actions.setdefault(tuple(actions), (set(), set()))[1].add(subject[len("group:"):])
            elif subject in absent_users:
                continue
            else:
                by_actions.setdefault(tuple(actions), (set(), set()))[0].add(subject)
    if namespace.get("public"):
        anonymous.add("read")
    # Public (or an anonymous read) means anyone may pull, logged in or not. zot v2.1.20 applies
    # anonymousPolicy only to requests without a user and defaultPolicy only to requests with one
    # (pkg/api/authz.go, AccessController.isPermitted: `DefaultPolicy ... && username != ""`,
    # `AnonymousPolicy ... && username == ""`), so the read goes into defaultPolicy as well: otherwise a
    # client that ran `docker login` gets 403 where an anonymous one may pull.
    if "read" in anonymous:
        default.add("read")
    group = {}
    policies = []
    for actions in sorted(by_actions, key=lambda a: (len(a), a)):
        user_set, group_set = by_actions[actions]
        entry = {"users": sorted(user_set)}
        if group_set:
            entry["groups"] = sorted(group_set)
        entry["actions"] = list(actions)
        policies.append(entry)
    if policies:
        group["policies"] = policies
    group["defaultPolicy"] = [a for a in ZOT_ACTIONS if a in default]
    if anonymous:
        group["anonymousPolicy"] = [a for a in ZOT_ACTIONS if a in anonymous]
    return group


def model_actions(zot_actions):
    """zot actions back to the model's: read; create+update -> write; delete. (zot's
    create without update has no model equivalent and reads as write.)"""
    present = set(zot_actions or [])
    out = []
    if "read" in present:
        out.append("read")
    if present & {"create", "update"}:
        out.append("write")
    if "delete" in present:
        out.append("delete")
    return out


def model_policies(group):
    """(public, policies) of the model from a zot policy group: the inverse of namespace_group.
    An anonymous ``read`` is the namespace's ``public`` flag; other anonymous actions stay a policy."""
    policies = []
    group = group or {}
    default = model_actions(_get(group, "defaultPolicy"))
    if default:
        policies.append({"subjects": ["authenticated"], "actions": default})
    for entry in _get(group, "policies", default=[]) or []:
        subjects = list(_get(entry, "users") or []) + ["group:" + g for g in _get(entry, "groups") or []]
        actions = model_actions(_get(entry, "actions"))
        if subjects and actions:
            policies.append({"subjects": subjects, "actions": actions})
    anonymous = set(_get(group, "anonymousPolicy") or [])
    public = "read" in anonymous
    if public and policies and policies[0]["subjects"] == ["authenticated"] and policies[0]["actions"] == ["read"]:
        # The read every logged-in user gets in a public namespace (namespace_group): part of public.
        policies.pop(0)
    rest = model_actions(anonymous - {"read"})
    rest = [a for a in rest if a != "read"]
    if rest:
        policies.append({"subjects": ["anonymous"], "actions": rest})
    return public, policies


def access_control(namespaces, users, default_policy=None, anonymous_default=None,
                   metrics_users=None, metrics_anonymous=False, metrics_enabled=True):
    """zot's ``http.accessControl`` from the collection's access model.

    Every namespace gets two repository keys with the same policy group: ``<ns>`` and
    ``<ns>/**``. zot uses the longest glob that matches a repository, so a deeper
    namespace (``a/b/**``) wins over its parent (``a/**``) for its own repositories.
    Subjects: a user name -> ``policies[].users``; ``group:<g>`` -> ``policies[].groups``;
    ``authenticated`` -> ``defaultPolicy``; ``anonymous`` -> ``anonymousPolicy``;
    ``public: true`` adds ``read`` to ``anonymousPolicy`` and to ``defaultPolicy`` (anyone may pull,
    logged in or not; see namespace_group). Admin users -> ``adminPolicy``.
    """
    present = _present_users(users)
    names = {u["name"] for u in present}
    absent = {u["name"] for u in users or [] if u.get("state", "present") == "absent"}
    repositories = {}
    for index, namespace in enumerate(namespaces or []):
        variable = "zot_namespaces[%d]" % index
        if not isinstance(namespace, dict) or not isinstance(namespace.get("name"), str):
            _fail(variable, "each namespace needs a name")
        name = namespace["name"]
        if namespace.get("state", "present") == "absent":
            continue
        group = namespace_group(namespace, absent, variable)
        if name in repositories or name + "/**" in repositories:
            _fail(variable + ".name", "namespace %r is listed twice" % name)
        repositories[name] = group
        repositories[name + "/**"] = copy.deepcopy(group)
    if default_policy or anonymous_default:
        catch_all = {}
        if default_policy:
            catch_all["defaultPolicy"] = _model_actions(default_policy, "zot_access_default_policy")
        if anonymous_default:
            catch_all["anonymousPolicy"] = _model_actions(anonymous_default, "zot_access_anonymous_default")
        repositories["**"] = catch_all
    result = {}
    if repositories:
        result["repositories"] = repositories
    admins = sorted(u["name"] for u in present if u.get("admin"))
    if admins:
        result["adminPolicy"] = {"users": admins, "actions": list(ZOT_ACTIONS)}
    groups = {}
    for user in present:
        for group_name in user.get("groups") or []:
            groups.setdefault(group_name, set()).add(user["name"])
    if groups:
        result["groups"] = {g: {"users": sorted(members)} for g, members in sorted(groups.items())}
    metrics = {}
    # zot serves metrics only to metrics.users; admins are not implied (pkg/api/authz.go
    # MetricsAuthzHandler, v2.1.20). Every admin is added, so that the role's health check (which
    # reads metrics as the admin) and oci_user admin: true agree with the list.
    metrics_users = (set(metrics_users or []) | set(admins)) if metrics_enabled else set()
    metrics_users = [u for u in metrics_users if u in names or u not in absent]
    if metrics_users:
        metrics["users"] = sorted(metrics_users)
    if metrics_anonymous:
        metrics["anonymousPolicy"] = ["read"]
    if metrics:
        result["metrics"] = metrics
    return result


def namespace_retention_policy(namespace, delete_untagged=None, delete_referrers=None, variable="retention"):
    """The zot retention policy of one namespace, or None when it has no retention rule."""
    retention = namespace.get("retention")
    if retention is None:
        return None
    if not isinstance(retention, dict):
        _fail(variable, "must be null or an object with keep_tags and max_age_days")
    unknown = set(retention) - {"keep_tags", "max_age_days"}
    if unknown:
        _fail(variable, "unknown keys %s; valid: keep_tags, max_age_days" % ", ".join(sorted(unknown)))
    rule = {}
    keep, age = retention.get("keep_tags"), retention.get("max_age_days")
    for key, value in (("keep_tags", keep), ("max_age_days", age)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            _fail("%s.%s" % (variable, key), "must be a positive integer or null, got %r" % (value,))
    if keep is not None:
        rule["mostRecentlyPushedCount"] = keep
    if age is not None:
        rule["pushedWithin"] = hours(age)
    if not rule:
        return None
    policy = {"repositories": [namespace["name"], namespace["name"] + "/**"]}
    if delete_referrers is not None:
        policy["deleteReferrers"] = delete_referrers
    if delete_untagged is not None:
        policy["deleteUntagged"] = delete_untagged
    policy["keepTags"] = [rule]
    return policy


def model_retention(policy):
    """{keep_tags, max_age_days} from a namespace's zot retention policy (None when it keeps all)."""
    for rule in _get(policy, "keepTags", default=[]) or []:
        keep = _get(rule, "mostRecentlyPushedCount")
        within = _duration_ns(_get(rule, "pushedWithin"))
        if keep or within:
            return {"keep_tags": keep or None,
                    "max_age_days": (within // (24 * 3600 * 10 ** 9)) if within else None}
    return None


def retention_policies(namespaces, delete_untagged=None, delete_referrers=None):
    """zot retention policies from each namespace's ``retention``.

    keep_tags -> keepTags[].mostRecentlyPushedCount; max_age_days -> keepTags[].pushedWithin
    ("<days*24>h"). Both in one keepTags entry: zot keeps a tag that meets either rule.
    zot applies the FIRST policy whose globs match, so deeper namespaces come first, and a
    namespace without retention under one with retention gets a keep-everything policy.
    """
    entries = []
    with_retention = []
    for index, namespace in enumerate(namespaces or []):
        if namespace.get("state", "present") == "absent":
            continue
        policy = namespace_retention_policy(namespace, delete_untagged, delete_referrers,
                                            "zot_namespaces[%d].retention" % index)
        if policy is None:
            continue
        with_retention.append(namespace["name"])
        entries.append((namespace["name"], policy))
    for namespace in namespaces or []:
        name = namespace.get("name")
        if namespace.get("state", "present") == "absent" or name in with_retention:
            continue
        if any(name.startswith(parent + "/") for parent in with_retention):
            entries.append((name, {"repositories": [name, name + "/**"], "deleteUntagged": False,
                                   "keepTags": [{"patterns": [".*"]}]}))
    if delete_untagged is False:
        entries.append(("**", untagged_guard_policy()))
    return sort_retention_policies([policy for _name, policy in entries])


def untagged_guard_policy():
    """The last retention policy when untagged manifests must be kept everywhere: zot deletes untagged
    manifests of a repository that no policy matches (pkg/retention/retention.go HasDeleteUntagged,
    v2.1.20: "by default zot deletes untagged manifests"), so ``deleteUntagged: false`` on the
    namespaces' own policies alone leaves every other repository unprotected."""
    return {"repositories": ["**"], "deleteUntagged": False, "keepTags": [{"patterns": [".*"]}]}


def is_untagged_guard(policy):
    return isinstance(policy, dict) and list(policy.get("repositories") or []) == ["**"] \
        and policy.get("deleteUntagged") is False and policy.get("keepTags") == [{"patterns": [".*"]}]


def has_namespace_retention(policies):
    """Whether any policy removes tags by a rule (keep counts or ages), as opposed to keep-everything ones."""
    for policy in policies or []:
        for rule in _get(policy, "keepTags", default=[]) or []:
            if any(_get(rule, key) not in (None, 0) for key in KEEP_RULES):
                return True
    return False


def sort_retention_policies(policies):
    """zot applies the first retention policy that matches: namespace policies (``ns``, ``ns/**``)
    deepest first, then by name; any other policy keeps its place after them."""
    def key(item):
        index, policy = item
        repositories = list(policy.get("repositories") or [])
        if len(repositories) == 2 and repositories[1] == str(repositories[0]) + "/**":
            return (0, -str(repositories[0]).count("/"), str(repositories[0]), index)
        return (1, 0, "", index)
    return [policy for _index, policy in sorted(enumerate(policies), key=key)]


def sync_config(registries, variable="zot_sync_registries"):
    """zot's sync registries and the separate credentials file from ``zot_sync_registries``.

    Returns (registries for config.json, credentials dict for credentialsFile). The
    credentials file maps each URL without its scheme to {username, password}: it is the
    only place passwords go.
    """
    out, credentials = [], {}
    for index, registry in enumerate(registries or []):
        rvar = "%s[%d]" % (variable, index)
        if not isinstance(registry, dict):
            _fail(rvar, "must be an object")
        unknown = set(registry) - set(_SYNC_REGISTRY_KEYS)
        if unknown:
            _fail(rvar, "unknown keys %s; valid: %s" % (", ".join(sorted(unknown)), ", ".join(sorted(_SYNC_REGISTRY_KEYS))))
        urls = registry.get("urls")
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) and u for u in urls):
            _fail(rvar + ".urls", "must be a non-empty list of registry URLs")
        entry = {}
        for key, zot_key in _SYNC_REGISTRY_KEYS.items():
            if zot_key is None or key == "content" or registry.get(key) is None:
                continue
            entry[zot_key] = registry[key]
        if registry.get("content") is not None:
            contents = []
            for cindex, content in enumerate(registry["content"]):
                cvar = "%s.content[%d]" % (rvar, cindex)
                if not isinstance(content, dict) or not content.get("prefix"):
                    _fail(cvar, "each content entry needs a prefix")
                unknown = set(content) - set(_SYNC_CONTENT_KEYS)
                if unknown:
                    _fail(cvar, "unknown keys %s; valid: %s" % (", ".join(sorted(unknown)), ", ".join(sorted(_SYNC_CONTENT_KEYS))))
                item = {}
                for key, zot_key in _SYNC_CONTENT_KEYS.items():
                    if key == "tags" or content.get(key) is None:
                        continue
                    item[zot_key] = content[key]
                if content.get("tags") is not None:
                    tags = content["tags"]
                    unknown = set(tags) - set(_SYNC_TAG_KEYS) if isinstance(tags, dict) else {"?"}
                    if unknown:
                        _fail(cvar + ".tags", "must be an object with %s" % ", ".join(sorted(_SYNC_TAG_KEYS)))
                    item["tags"] = {_SYNC_TAG_KEYS[k]: v for k, v in tags.items() if v is not None}
                contents.append(item)
            entry["content"] = contents
        username, password = registry.get("username"), registry.get("password")
        if (username is None) != (password is None):
            _fail(rvar, "username and password go together")
        if username is not None:
            for url in urls:
                credentials[re.sub(r"^https?://", "", url)] = {"username": username, "password": password}
        out.append(entry)
    return out, credentials


WEBHOOK_KEYS = ("name", "url", "headers", "events", "timeout")


def event_sinks(webhooks, variable="zot_webhooks"):
    """zot's ``extensions.events.sinks`` from the collection's webhooks ``[{name, url, headers, events}]``.

    Each webhook becomes an HTTP sink (pkg/extensions/config/events/config.go: type, address, timeout,
    headers; pkg/extensions/events/http_sink.go sends CloudEvents to the address with those headers).
    zot sends every event to every sink (it has no per-sink event filter), so ``events`` is accepted
    for the other types' sake and not rendered; the name only has to be unique.
    """
    sinks, names = [], set()
    if not isinstance(webhooks, list):
        _fail(variable, "must be a list of {name, url, headers, events}")
    for index, hook in enumerate(webhooks):
        hvar = "%s[%d]" % (variable, index)
        if not isinstance(hook, dict):
            _fail(hvar, "must be an object with name, url, headers and events")
        unknown = set(hook) - set(WEBHOOK_KEYS)
        if unknown:
            _fail(hvar, "unknown keys %s; valid: %s" % (", ".join(sorted(unknown)), ", ".join(WEBHOOK_KEYS)))
        name = hook.get("name")
        if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", name):
            _fail(hvar + ".name", "needs a name of letters, digits, '.', '_' or '-', got %r" % (name,))
        if name in names:
            _fail(hvar + ".name", "webhook %r is listed twice" % name)
        names.add(name)
        url = hook.get("url")
        if not isinstance(url, str) or not re.match(r"^https?://[^\s]+$", url):
            _fail(hvar + ".url", "must be an http:// or https:// URL, got %r" % (url,))
        headers = hook.get("headers") or {}
        if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
            _fail(hvar + ".headers", "must map header names to string values")
        sink = {"type": "http", "address": url}
        if headers:
            sink["headers"] = dict(headers)
        if hook.get("timeout") not in (None, ""):
            sink["timeout"] = hook["timeout"]
        sinks.append(sink)
    return sinks


def _deep_merge(base, extra, path, touched):
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value, path + [key], touched)
        else:
            base[key] = copy.deepcopy(value)
            touched.append(".".join(path + [key]))


# --------------------------------------------------------------------------------------
# Shared storage, remote cache and scale-out cluster (issue 17)
# --------------------------------------------------------------------------------------
MIB = 1024 * 1024
# distribution v3.1.1 registry/storage/driver/s3-aws/s3.go (the driver zot v2.1.20 links, pkg/storage/s3/driver.go):
# minChunkSize 5 MiB, maxChunkSize 5 GiB (s3_64bit.go).
S3_MIN_CHUNK = 5 * MIB
S3_MAX_CHUNK = 5 * 1024 * MIB
# zot pkg/storage/storage.go NormalizeRootDirectory: an s3 rootdirectory that is empty or "/" becomes "/zot".
S3_DEFAULT_ROOT = "/zot"
REDIS_KEY_PREFIX = "zot"
CLUSTER_HASH_KEY_LENGTH = 16


def _bool(value, default):
    return default if value is None else bool(value)


def storage_driver(storage, variable="zot_storage"):
    """zot's ``storage.storageDriver`` for the collection's storage model (None for filesystem).

    The keys are the parameters distribution's s3-aws driver reads (registry/storage/driver/s3-aws/s3.go
    FromParameters: region, regionendpoint, forcepathstyle, bucket, secure, skipverify, chunksize,
    rootdirectory), as in zot's own examples/config-s3.json. The credentials are NOT put here: with no
    accesskey/secretkey the driver leaves the AWS SDK's default chain in place (s3.go New), which reads
    AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_CA_BUNDLE for ca_path) from the container's
    environment: see ``storage_environment``.
    """
    if not storage:
        return None
    if not isinstance(storage, dict):
        _fail(variable, "must be the storage model, such as {type: filesystem} or {type: s3, s3: {bucket: ...}}")
    kind = storage.get("type") or "filesystem"
    if kind == "filesystem":
        return None
    if kind != "s3":
        _fail(variable + ".type", "%r is not a storage type zot is deployed with here; valid: filesystem, s3" % (kind,))
    s3 = storage.get("s3") or {}
    if not isinstance(s3, dict):
        _fail(variable + ".s3", "must be a dict with bucket, endpoint, region, access_key, secret_key, ...")
    bucket = s3.get("bucket")
    if not isinstance(bucket, str) or not bucket:
        _fail(variable + ".s3.bucket", "is required with type s3 (the name of an existing bucket)")
    endpoint = s3.get("endpoint") or ""
    match = re.match(r"^(https?)://[^\s/]+(/.*)?$", endpoint) if isinstance(endpoint, str) else None
    if endpoint and not match:
        _fail(variable + ".s3.endpoint", "must be an http:// or https:// URL such as http://rgw.example:7480, "
                                         "or empty for AWS")
    region = s3.get("region") or "us-east-1"
    chunk = s3.get("chunk_size_mb", 10)
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk * MIB < S3_MIN_CHUNK \
            or chunk * MIB > S3_MAX_CHUNK:
        _fail(variable + ".s3.chunk_size_mb", "must be an integer from 5 to 5120 (MiB; S3 parts are 5 MiB to "
                                              "5 GiB), got %r" % (chunk,))
    root = s3.get("root_directory") or ""
    if not isinstance(root, str):
        _fail(variable + ".s3.root_directory", "must be a path inside the bucket such as /registry, or empty")
    root = "/" + root.strip("/") if root.strip("/") else S3_DEFAULT_ROOT
    driver = {
        "name": "s3",
        "region": region,
        "bucket": bucket,
        "rootdirectory": root,
        "forcepathstyle": _bool(s3.get("path_style"), True),
        "secure": (match.group(1) == "https") if match else True,
        "skipverify": not _bool(s3.get("tls_verify"), True),
        "chunksize": chunk * MIB,
    }
    if endpoint:
        driver["regionendpoint"] = endpoint
    return driver


def storage_environment(storage, ca_bundle=""):
    """The container environment that gives zot's s3 driver its credentials and CA (secret: no_log).

    ``ca_bundle`` is where the role mounts ``s3.ca_path`` in the container. The AWS SDK for Go (v1, used by
    distribution's s3-aws driver) reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_CA_BUNDLE when
    the driver is given no static credentials (distribution PR #3841 documents AWS_CA_BUNDLE for this driver).
    """
    if not isinstance(storage, dict) or (storage.get("type") or "filesystem") != "s3":
        return {}
    s3 = storage.get("s3") or {}
    env = {}
    if bool(s3.get("access_key")) != bool(s3.get("secret_key")):
        _fail("zot_storage.s3.access_key", "access_key and secret_key go together (both empty: the AWS SDK's "
                                           "own chain, such as an instance role)")
    if s3.get("access_key"):
        env["AWS_ACCESS_KEY_ID"] = str(s3["access_key"])
        env["AWS_SECRET_ACCESS_KEY"] = str(s3["secret_key"])
    if s3.get("ca_path") and ca_bundle:
        env["AWS_CA_BUNDLE"] = ca_bundle
    return env


def cache_driver(redis, variable="zot_redis"):
    """zot's ``storage.cacheDriver`` for a Redis {address, password, db, tls} (None without one).

    zot v2.1.20 pkg/api/config/redis/redis.go GetRedisClient: a ``url`` is parsed by go-redis ParseURL
    (redis://[user:password@]host:port/db, rediss:// for TLS); pkg/storage/cache.go getRedisParams and
    pkg/storage/cache/redis.go: ``keyprefix`` (default "zot") prefixes every key. The URL holds the
    password: config.json is written 0600 then.
    """
    if not redis:
        return None
    if not isinstance(redis, dict):
        _fail(variable, "must be {address, password, db, tls} or empty")
    address = redis.get("address")
    if not isinstance(address, str) or not _socket_ok(address):
        _fail(variable + ".address", "must be host:port such as redis.example:6379")
    db = redis.get("db", 0) or 0
    if isinstance(db, bool) or not isinstance(db, int) or db < 0:
        _fail(variable + ".db", "must be a Redis database number (0 or more), got %r" % (db,))
    password = redis.get("password") or ""
    if not isinstance(password, str):
        _fail(variable + ".password", "must be a string (its value is not shown)")
    scheme = "rediss" if redis.get("tls") else "redis"
    credentials = (":" + quote(password, safe="") + "@") if password else ""
    return {"name": "redis", "url": "%s://%s%s/%d" % (scheme, credentials, address, db), "keyprefix": REDIS_KEY_PREFIX}


def _socket_ok(value):
    """host:port as Go's net.SplitHostPort splits it (IPv6 in brackets), with a numeric port."""
    if not isinstance(value, str):
        return False
    match = re.match(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):([0-9]{1,5})$", value)
    return bool(match) and 0 < int(match.group(2)) <= 65535


def _shared_storage(storage, opt):
    driver = storage_driver(opt["storage"])
    cache = cache_driver(opt["redis"])
    if driver:
        if cache is None:
            # pkg/cli/server/root.go applyDefaultValues + validateCacheConfig: dedupe on a remote driver needs a
            # remote cache; and without one the metaDB stays a boltdb file on each host (pkg/meta/meta.go New).
            _fail("zot_redis", "zot on s3 storage needs a remote cache (Redis) for its dedupe cache and metadata; "
                               "give {address, password, db, tls} (oci_registry_redis.mode: auto, deploy or external)")
        storage["storageDriver"] = driver
        if isinstance(opt["storage"].get("s3"), dict) and opt["storage"]["s3"].get("redirect"):
            storage["redirectBlobURL"] = True
    if cache:
        storage["remoteCache"] = True
        storage["cacheDriver"] = cache


def cluster_config(members, hash_key, cacert=None):
    """zot's ``cluster`` section for a scale-out cluster, or None for a single host.

    zot v2.1.20 pkg/api/config/config.go ClusterConfig (members, hashKey, tls) and IsClustered (more than one
    member); pkg/cli/server/root.go validateClusterConfig (at least one member, a 16-character hashKey:
    siphash's 128-bit key); pkg/api/proxy.go: each repository belongs to the member chosen by siphash over
    the members' list, the others proxy to it (with tls.cacert to verify it when zot serves TLS).
    """
    if members is None:
        return None
    if not isinstance(members, (list, tuple)) or not all(isinstance(m, str) for m in members):
        _fail("zot_cluster_members", "must be a list of host:port strings")
    if len(members) < 2:
        return None
    for index, member in enumerate(members):
        if not _socket_ok(member):
            _fail("zot_cluster_members[%d]" % index, "%r is not host:port (zot splits each member with "
                                                     "net.SplitHostPort)" % member)
    if len(set(members)) != len(members):
        _fail("zot_cluster_members", "lists a member twice")
    if not isinstance(hash_key, str) or len(hash_key.encode("utf-8")) != CLUSTER_HASH_KEY_LENGTH:
        _fail("zot_cluster_hash_key", "must be exactly %d characters (bytes): zot's siphash needs a 128-bit key "
                                      "(its value is not shown)" % CLUSTER_HASH_KEY_LENGTH)
    cluster = {"members": list(members), "hashKey": hash_key}
    if cacert:
        cluster["tls"] = {"cacert": cacert}
    return cluster


def generate(options):
    """(config dict, sync credentials dict, warnings) from structured options.

    ``options`` holds the role variables without the ``zot_`` prefix; a missing or null
    option leaves its key out of the config (zot's own default applies). The result is
    checked with ``check``; problems raise ZotConfigError naming the role variable.
    """
    unknown = sorted(set(options) - set(OPTION_NAMES))
    if unknown:
        raise ZotConfigError(["zot_%s: not an option of the zot role's config generator" % name for name in unknown])
    opt = {name: options.get(name) for name in OPTION_NAMES}
    config = {"distSpecVersion": opt["dist_spec_version"] or DIST_SPEC_VERSION}

    storage = {}
    _set(storage, "rootDirectory", opt["root_directory"])
    for key, name in (("dedupe", "dedupe"), ("gc", "gc"), ("gcDelay", "gc_delay"), ("gcInterval", "gc_interval"),
                      ("gcTimeWindow", "gc_time_window")):
        _set(storage, key, opt[name])
    if opt["max_repos"]:
        storage["maxRepos"] = opt["max_repos"]
    if opt["retention_enabled"] or opt["retention_delete_untagged"] is False:
        if opt["retention_enabled"]:
            policies = retention_policies(opt["namespaces"], opt["retention_delete_untagged"],
                                          opt["retention_delete_referrers"])
        else:
            policies = [untagged_guard_policy()]
        problem = gc_retention_problem(opt["gc"], has_namespace_retention(policies))
        if problem:
            _fail("zot_gc", problem + " (zot_gc: true, or zot_retention_enabled: false)")
        # Written even without policies yet: namespaces added later (oci_namespace) only add
        # policies, and delay/dryRun stay what the role says.
        retention = {}
        _set(retention, "dryRun", opt["retention_dry_run"])
        _set(retention, "delay", opt["retention_delay"])
        retention["policies"] = policies
        storage["retention"] = retention
    _shared_storage(storage, opt)
    config["storage"] = storage

    http = {}
    _set(http, "address", opt["http_address"])
    port = opt["http_port"]
    if port is not None:
        if isinstance(port, bool) or not (isinstance(port, int) or (isinstance(port, str) and port.isdigit())):
            _fail("zot_http_port", "must be a port number 1-65535, got %r" % (port,))
        if not 0 < int(port) <= 65535:
            _fail("zot_http_port", "must be a port number 1-65535, got %r" % (port,))
        http["port"] = str(int(port))
    _set(http, "realm", opt["realm"])
    _set(http, "externalUrl", opt["external_url"])
    _set(http, "allowOrigin", opt["allow_origin"])
    if opt["http_compat"]:
        http["compat"] = list(opt["http_compat"])
    if opt["tls_cert"] or opt["tls_key"] or opt["tls_cacert"]:
        if not (opt["tls_cert"] and opt["tls_key"]):
            _fail("zot_tls_cert", "TLS needs both zot_tls_cert and zot_tls_key")
        tls = {"cert": opt["tls_cert"], "key": opt["tls_key"]}
        _set(tls, "cacert", opt["tls_cacert"])
        http["tls"] = tls
    auth = {}
    if opt["htpasswd_path"]:
        auth["htpasswd"] = {"path": opt["htpasswd_path"]}
    if opt["fail_delay"]:
        auth["failDelay"] = opt["fail_delay"]
    if auth:
        http["auth"] = auth
    if opt["access_control"]:
        access = access_control(opt["namespaces"], opt["users"], opt["access_default_policy"],
                                opt["access_anonymous_default"],
                                opt["metrics_users"], bool(opt["metrics_enabled"] and opt["metrics_anonymous"]),
                                bool(opt["metrics_enabled"]))
        if access:
            http["accessControl"] = access
    if opt["ratelimit_rate"] is not None or opt["ratelimit_methods"]:
        ratelimit = {}
        _set(ratelimit, "rate", opt["ratelimit_rate"])
        if opt["ratelimit_methods"]:
            ratelimit["methods"] = [dict(m) for m in opt["ratelimit_methods"]]
        http["ratelimit"] = ratelimit
    config["http"] = http
    cluster = cluster_config(opt["cluster_members"], opt["cluster_hash_key"], opt["cluster_tls_cacert"])
    if cluster:
        config["cluster"] = cluster

    log = {}
    _set(log, "level", opt["log_level"])
    _set(log, "output", opt["log_output"])
    _set(log, "audit", opt["log_audit"])
    if log:
        config["log"] = log

    extensions = {}
    if opt["search_enabled"]:
        search = {"enable": True}
        if opt["cve_enabled"]:
            cve = {}
            _set(cve, "updateInterval", opt["cve_update_interval"])
            trivy = {}
            _set(trivy, "dbRepository", opt["cve_db_repository"])
            _set(trivy, "javaDBRepository", opt["cve_java_db_repository"])
            if trivy:
                cve["trivy"] = trivy
            search["cve"] = cve
        extensions["search"] = search
    elif opt["cve_enabled"]:
        _fail("zot_cve_enabled", "CVE scanning is part of the search extension: set zot_search_enabled: true")
    credentials = {}
    # zot_mirrors / zot_replications (issue 16) are sync registries too: rendered by _zot_sync, merged with
    # zot_sync_registries' (duplicates and one host with two sets of credentials are errors naming both).
    from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_sync as zs

    model_errors, model_warnings = zs.model_checks(namespaces=opt["namespaces"] or [],
                                                   cve_enabled=bool(opt["search_enabled"] and opt["cve_enabled"]))
    model_errors = [e.replace("oci_registry_namespaces", "zot_namespaces") for e in model_errors]
    model_warnings = [w.replace("oci_registry_namespaces", "zot_namespaces") for w in model_warnings]
    if opt["mirrors"] or opt["replications"]:
        _errors, more_warnings = zs.model_checks(opt["mirrors"] or [], opt["replications"] or [])
        model_warnings += [w.replace("oci_registry_mirrors", zs.MIRROR_VARIABLE) for w in more_warnings]
    if model_errors:
        raise ZotConfigError(model_errors)
    if opt["sync_enabled"] or zs.has_entries(opt["mirrors"], opt["replications"]):
        registries, credentials = sync_config(opt["sync_registries"] if opt["sync_enabled"] else [])
        try:
            registries, credentials = zs.merge(registries, credentials, opt["mirrors"] or [], opt["replications"] or [])
        except zs.ZotSyncError as exc:
            raise ZotConfigError(exc.problems)
        sync = {"enable": True}
        _set(sync, "credentialsFile", opt["sync_credentials_file"])
        _set(sync, "downloadDir", opt["sync_download_dir"])
        sync["registries"] = registries
        if credentials and not opt["sync_credentials_file"]:
            _fail("zot_sync_credentials_file", "sync registries with credentials need a credentials file path")
        extensions["sync"] = sync
    if opt["metrics_enabled"]:
        extensions["metrics"] = {"enable": True, "prometheus": {"path": opt["metrics_path"] or "/metrics"}}
    if opt["scrub_enabled"]:
        scrub = {"enable": True}
        _set(scrub, "interval", opt["scrub_interval"])
        extensions["scrub"] = scrub
    if opt["lint_enabled"]:
        lint = {"enable": True}
        if opt["lint_mandatory_annotations"]:
            lint["mandatoryAnnotations"] = list(opt["lint_mandatory_annotations"])
        extensions["lint"] = lint
    if opt["ui_enabled"]:
        extensions["ui"] = {"enable": True}
    if opt["webhooks"]:
        extensions["events"] = {"enable": True, "sinks": event_sinks(opt["webhooks"])}
    if extensions:
        config["extensions"] = extensions

    touched = []
    if opt["config_overrides"]:
        if not isinstance(opt["config_overrides"], dict):
            _fail("zot_config_overrides", "must be an object (merged into config.json)")
        _deep_merge(config, opt["config_overrides"], [], touched)

    warnings = validate(config, VARIABLES, touched)
    return config, credentials, model_warnings + warnings


def render(config):
    """The config as the JSON text the role writes (stable: sorted keys, 2-space indent)."""
    return json.dumps(config, indent=2, sort_keys=True) + "\n"


# --------------------------------------------------------------------------------------
# Normalisation (zot's defaults) and the reload/restart classifier
# --------------------------------------------------------------------------------------
_DURATION_PATHS = None


def _duration_paths(spec=None, path=()):
    out = set()
    spec = SCHEMA if spec is None else spec
    if isinstance(spec, dict):
        for key, sub in spec.items():
            out |= _duration_paths(sub, path + (key.lower(),))
    elif isinstance(spec, (ListOf, MapOf)):
        out |= _duration_paths(spec.item, path + ("*",))
    elif spec == DURATION:
        out.add(path)
    return out


def _canonical_keys(value, spec):
    """Keys spelled as zot's model spells them (zot reads keys case-insensitively)."""
    if isinstance(spec, dict) and isinstance(value, dict):
        names = {k.lower(): k for k in spec}
        return {names.get(str(k).lower(), k): _canonical_keys(v, spec.get(names.get(str(k).lower(), k), ANY))
                for k, v in value.items()}
    if isinstance(spec, ListOf) and isinstance(value, list):
        return [_canonical_keys(v, spec.item) for v in value]
    if isinstance(spec, MapOf) and isinstance(value, dict):
        return {k: _canonical_keys(v, spec.item) for k, v in value.items()}
    if spec == DURATION and isinstance(value, str):
        ns = _duration_ns(value)
        return format_duration(ns) if ns is not None else value
    return copy.deepcopy(value)


def normalise(config):
    """The config with zot's load-time defaults made explicit, for comparisons.

    Canonical key spelling, durations in Go's canonical form ("24h" -> "24h0m0s"), an
    extension present without ``enable`` counts as enabled (sync: when it has registries),
    metrics get their default path, a missing ``distSpecVersion`` is zot's.
    """
    out = _canonical_keys(config, SCHEMA)
    out.setdefault("distSpecVersion", DIST_SPEC_VERSION)
    extensions = out.get("extensions")
    if isinstance(extensions, dict):
        for name, ext in list(extensions.items()):
            if not isinstance(ext, dict):
                continue
            if "enable" not in ext:
                ext["enable"] = bool(ext.get("registries")) if name == "sync" else True
            if name == "metrics" and ext["enable"]:
                ext.setdefault("prometheus", {}).setdefault("path", "/metrics")
            if name == "scrub" and ext["enable"]:
                ext.setdefault("interval", "24h0m0s")
    return out


def _flatten(value, path=(), out=None):
    out = {} if out is None else out
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flatten(item, path + (key,), out)
    else:
        out[path] = value
    return out


def retention_enabled(config):
    """zot only reloads retention when it started with retention rules (it needs its metaDB)."""
    stores = [_get(config, "storage", default={}) or {}]
    stores += list((_get(config, "storage", "subPaths", default={}) or {}).values())
    for store in stores:
        for policy in _get(store, "retention", "policies", default=[]) or []:
            for rule in _get(policy, "keepTags", default=[]) or []:
                if any(_get(rule, key) not in (None, 0) for key in KEEP_RULES):
                    return True
            untagged = _get(policy, "keepUntagged")
            if isinstance(untagged, dict) and _get(policy, "deleteUntagged") is not False:
                if any(_get(untagged, key) not in (None, 0) for key in KEEP_RULES):
                    return True
    return False


# What zot v2.1.20 re-applies when config.json is written in place: pkg/cli/server/config_reloader.go
# (HotReloader: on an fsnotify Write it loads the file, stops the background tasks, calls
# Controller.LoadNewConfig and starts the tasks again), pkg/api/controller.go LoadNewConfig and
# pkg/api/config/config.go Config.UpdateReloadableConfig (the fields it copies):
# - storage (and existing subPaths): gc, gcDelay, gcInterval, gcTimeWindow, redirectBlobURL; retention
#   only when retention was on at start (isRetentionEnabledInternal: it needs the metaDB).
#   dedupe is copied into the config but the image store was built with it at start
#   (pkg/api/controller.go InitImageStore -> pkg/storage/storage.go New passes Storage.Dedupe to the
#   store), so a dedupe change needs a restart.
# - http.auth: htpasswd, ldap, apikey, openid, secureSession, mtls (when auth exists before and after).
# - http.accessControl: repositories, adminPolicy, metrics, groups.
# - extensions: sync and scrub; search.cve is copied, but the search routes were wired at start with the
#   CVE info of that time (pkg/api/routes.go -> pkg/extensions/extension_search.go SetupSearchRoutes builds
#   cveInfo only when IsCveScanningEnabled), so turning CVE on or off, or changing its settings, needs a
#   restart. Everything else (metrics, events, lint, ui, log, http address/port/tls...) is read at start.
_RELOAD_STORAGE_KEYS = ("gc", "gcDelay", "gcInterval", "gcTimeWindow", "redirectBlobURL")
_RELOAD_AUTH_KEYS = ("htpasswd", "ldap", "apikey", "openid", "secureSession", "mtls")


def _basic_authn(config):
    auth = _get(config, "http", "auth", default={}) or {}
    providers = _get(auth, "openid", "providers", default={}) or {}
    return bool(_get(auth, "htpasswd", "path") or _get(auth, "ldap") is not None or _get(auth, "apikey") is True
                or providers)


def _reason_for(path, old, new):
    """'reload' with a reason when zot re-reads this path on an in-place write, else 'restart'."""
    head = path[0] if path else ""
    if head == "storage":
        if len(path) >= 2 and path[1] in _RELOAD_STORAGE_KEYS:
            return "reload", "storage.%s is re-read on reload" % path[1]
        if len(path) >= 2 and path[1] == "retention":
            if retention_enabled(old):
                return "reload", "storage.retention is re-read (retention was on at start)"
            return "restart", "storage.retention: zot only reloads retention that was on when it started"
        if len(path) >= 4 and path[1] == "subPaths":
            name = path[2]
            if name in (_get(old, "storage", "subPaths", default={}) or {}) and \
                    name in (_get(new, "storage", "subPaths", default={}) or {}):
                if path[3] in _RELOAD_STORAGE_KEYS:
                    return "reload", "storage.subPaths.%s.%s is re-read on reload" % (name, path[3])
                if path[3] == "retention" and retention_enabled(old):
                    return "reload", "storage.subPaths.%s.retention is re-read on reload" % name
        if len(path) >= 2 and path[1] == "dedupe":
            return "restart", "storage.dedupe: zot builds its image store with it at start"
        return "restart", "%s is only read at start" % ".".join(map(str, path))
    if head == "http" and len(path) >= 2:
        if path[1] == "auth":
            if _basic_authn(old) != _basic_authn(new):
                return "restart", "turning authentication on or off changes zot's routes (read at start)"
            if len(path) >= 3 and path[2] in _RELOAD_AUTH_KEYS:
                return "reload", "http.auth.%s is re-read on reload" % path[2]
            return "restart", "%s is only read at start" % ".".join(map(str, path))
        if path[1] == "accessControl":
            if (_get(old, "http", "accessControl") is None) != (_get(new, "http", "accessControl") is None):
                return "restart", "turning access control on or off changes zot's routes (read at start)"
            return "reload", "http.accessControl is re-read on reload"
    if head == "extensions" and len(path) >= 2:
        name = path[1]
        if extension_enabled(old, name) != extension_enabled(new, name):
            return "restart", "turning the %s extension on or off needs a restart" % name
        if name in ("sync", "scrub") and extension_enabled(old, name):
            return "reload", "extensions.%s is re-read on reload" % name
        if name == "search" and len(path) >= 3 and path[2] == "cve":
            return "restart", ("extensions.search.cve: zot wires CVE scanning into search at start "
                               "(turning it on or off, or changing it, needs a restart)")
        return "restart", "%s is only read at start" % ".".join(map(str, path))
    return "restart", "%s is only read at start" % ".".join(map(str, path))


def classify_change(old, new):
    """How zot takes the change from ``old`` to ``new``.

    Returns {"action": "none"|"reload"|"restart", "reasons": [...], "changed": [...]}.
    ``none``: same after zot's defaults; ``reload``: every change is one zot re-reads
    when the file is written in place; ``restart``: anything else, or no old config.
    """
    if not old:
        return {"action": "restart", "reasons": ["no running configuration to compare with"], "changed": []}
    old_n, new_n = normalise(old), normalise(new)
    flat_old, flat_new = _flatten(old_n), _flatten(new_n)
    changed = sorted({p for p in set(flat_old) | set(flat_new) if flat_old.get(p, _MISSING) != flat_new.get(p, _MISSING)},
                     key=lambda p: [str(x) for x in p])
    if not changed:
        return {"action": "none", "reasons": [], "changed": []}
    action, reasons = "reload", []
    for path in changed:
        kind, reason = _reason_for(path, old_n, new_n)
        if kind == "restart":
            action = "restart"
        if reason not in reasons:
            reasons.append(reason)
    if action == "restart":
        reasons = [r for r in reasons if "re-read" not in r] or reasons
    return {"action": action, "reasons": reasons, "changed": [".".join(map(str, p)) for p in changed]}


_MISSING = object()


# --------------------------------------------------------------------------------------
# zot's authorization decision, evaluated over a config (for checks and tests)
# --------------------------------------------------------------------------------------
def authorize(config, repository, action, username=None, groups=()):
    """Whether zot grants ``action`` (read/create/update/delete) on ``repository``.

    Follows zot v2.1.20's pkg/api/authz.go (AccessController.can and isPermitted): the repository
    policy group under the LONGEST glob that matches decides (user policies, group policies, then
    defaultPolicy only for a request with a user, anonymousPolicy only for one without); if it denies, the
    adminPolicy can still grant. With no accessControl everything is allowed (to
    whoever authenticates). Returns (allowed, the glob that decided or None).
    """
    access = _get(config, "http", "accessControl")
    if access is None:
        return True, None
    repositories = _get(access, "repositories", default={}) or {}
    longest = None
    for pattern in repositories:
        if glob_match(pattern, repository) and (longest is None or len(pattern) > len(longest)):
            longest = pattern
    member_of = set(groups or ())
    for group_name, group in (_get(access, "groups", default={}) or {}).items():
        if username and username in (_get(group, "users") or []):
            member_of.add(group_name)
    allowed = False
    if longest is not None:
        group = repositories[longest]
        for policy in _get(group, "policies", default=[]) or []:
            if action not in (_get(policy, "actions") or []):
                continue
            if username and username in (_get(policy, "users") or []):
                allowed = True
            elif username and member_of & set(_get(policy, "groups") or []):
                allowed = True
        if not allowed and username and action in (_get(group, "defaultPolicy") or []):
            allowed = True
        if not allowed and not username and action in (_get(group, "anonymousPolicy") or []):
            allowed = True
    if not allowed and username:
        admin = _get(access, "adminPolicy", default={}) or {}
        is_admin = username in (_get(admin, "users") or []) or bool(member_of & set(_get(admin, "groups") or []))
        if is_admin and action in (_get(admin, "actions") or []):
            allowed = True
    return allowed, longest
