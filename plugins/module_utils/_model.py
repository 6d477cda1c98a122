# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""The access model: users, namespaces and their policies, validated and normalized.

Public variables (playbooks/init.yml, the roles) and module options use the same shapes.
``normalize_users`` and ``normalize_namespaces`` turn what a user wrote into exactly:

* user: ``{name, password, admin: bool, groups: [str], state: present|absent, email,
  password_hash: bcrypt|sha512_crypt}``
* namespace: ``{name, description, public: bool, retention: None|{keep_tags, max_age_days},
  quota_gb: int|None, policies: [{subjects: [...], actions: [...]}],
  scan: None|{on_push: bool, block_severity: none|low|medium|high|critical}, state}``
* mirror (``normalize_mirrors``): ``{name, url, username, password, tls_verify, repositories: [glob],
  namespace, ttl, port, state}``
* replication (``normalize_replications``): ``{name, direction, remote: {url, username, password,
  tls_verify}, repositories: [glob], tags: [glob], destination_namespace, trigger, schedule, deletions,
  state}``

What a registry type cannot express (users, namespaces, mirrors, replications) is checked by its
function in ``TYPE_CHECKS`` when the caller
names the type (``registry_type``): an error where the type would do something else than asked, a
warning (appended to the caller's ``warnings`` list) where a setting is only ignored.

Subjects are user names, ``group:<name>``, ``authenticated`` (any user who logged in) and
``anonymous`` (no credentials). Actions are ``read``, ``write``, ``delete`` and ``admin``.
Errors name the variable and index (``oci_registry_namespaces[2].policies[0].actions``)
and say what would be valid; every problem is reported at once, before anything changes.
"""

from __future__ import annotations

import copy
import re

from ansible_collections.provisioning.oci_registry.plugins.module_utils import _harbor_replication, _zot_sync
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import InvalidParameterError
from ansible_collections.provisioning.oci_registry.plugins.module_utils._htpasswd import (
    PASSWORD_HASHES,
    SHA512_MIN_PASSWORD,
)

ACTIONS = ("read", "write", "delete", "admin")
SPECIAL_SUBJECTS = ("authenticated", "anonymous")
STATES = ("present", "absent")

# OCI distribution-spec: a repository name is path components of lowercase letters and
# digits, separated inside a component by '.', '_', '__' or one or more '-'.
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
NAMESPACE_RE = re.compile(r"^%s(?:/%s)*$" % (_COMPONENT, _COMPONENT))
NAMESPACE_MAX = 255
# User and group names: what every backend accepts. htpasswd forbids ':'; Harbor forbids
# , ~ # $ %; the Distribution front puts names in nginx maps, so the set is kept plain.
USER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,254}$")
USER_RULE = "1-255 characters of letters, digits, '.', '_', '@' or '-', starting with a letter or digit"
NAMESPACE_RULE = ("lowercase letters and digits in path components separated by '/', inside a component "
                  "separated by '.', '_', '__' or '-' (OCI repository name rules), at most %d characters"
                  % NAMESPACE_MAX)

USER_KEYS = ("name", "password", "admin", "groups", "state", "email", "password_hash")
# An e-mail address as Harbor accepts it (the pattern of Harbor's validateUserProfile,
# src/server/v2.0/handler/user.go): a local part, one '@', then a dotted domain whose last label
# has two or more letters, or a bracketed IPv4 address.
EMAIL_RE = re.compile(r'^(([^<>()\[\]\\.,;:\s@"]+(\.[^<>()\[\]\\.,;:\s@"]+)*)|(".+"))@'
                      r'((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\])|(([a-zA-Z\-0-9]+\.)+[a-zA-Z]{2,}))$')
EMAIL_RULE = "an address such as alice@example.com (one '@', a domain whose last part has two or more letters)"
NAMESPACE_KEYS = ("name", "description", "public", "retention", "quota_gb", "policies", "scan", "state")
SCAN_KEYS = ("on_push", "block_severity")
SEVERITIES = ("none", "low", "medium", "high", "critical")
POLICY_KEYS = ("subjects", "actions", "harbor_role")
# Harbor roles a policy may ask for where its actions alone would give another one: limitedGuest
# reads like guest (Harbor's role id 5) but cannot see the project's members, logs or robots.
HARBOR_ROLES = ("limitedGuest",)
RETENTION_KEYS = ("keep_tags", "max_age_days")

# The platform this collection replaces: four namespaces and their rules.
PLATFORM_NAMESPACES = [
    {"name": "provisioning-extensions", "description": "Extension packages", "public": False,
     "retention": {"keep_tags": 10, "max_age_days": 90},
     "policies": [{"subjects": ["authenticated"], "actions": ["read", "write", "delete"]}]},
    {"name": "provisioning-kcl", "description": "KCL schemas", "public": False,
     "retention": {"keep_tags": 20, "max_age_days": 180},
     "policies": [{"subjects": ["authenticated"], "actions": ["read", "write"]}]},
    {"name": "provisioning-platform", "description": "Platform images (admins write)", "public": False,
     "retention": {"keep_tags": 5, "max_age_days": 30},
     "policies": [{"subjects": ["authenticated"], "actions": ["read"]}]},
    {"name": "provisioning-test", "description": "Test artifacts", "public": True,
     "retention": {"keep_tags": 3, "max_age_days": 7},
     "policies": [{"subjects": ["authenticated"], "actions": ["read", "write", "delete"]},
                  {"subjects": ["anonymous"], "actions": ["read"]}]},
]


class ModelError(InvalidParameterError):
    """The access model is not valid; ``problems`` lists every problem found."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("invalid access model: " + "; ".join(self.problems), problems=self.problems)


class _Problems:
    def __init__(self):
        self.items = []

    def add(self, variable, msg):
        self.items.append("%s: %s" % (variable, msg))

    def raise_if_any(self):
        if self.items:
            raise ModelError(self.items)


def _describe(value):
    return "%r (%s)" % (value, type(value).__name__)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _bool(value, variable, problems, default=False):
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return value.lower() in ("true", "yes", "on", "1")
    problems.add(variable, "must be true or false, got %s" % _describe(value))
    return default


def _unknown_keys(item, allowed, variable, problems):
    unknown = sorted(str(k) for k in item if k not in allowed)
    if unknown:
        problems.add(variable, "unknown key(s) %s; valid keys: %s" % (", ".join(unknown), ", ".join(allowed)))


def check_user_name(name, variable="name", problems=None):
    own = problems is None
    problems = problems or _Problems()
    if not isinstance(name, str) or not USER_RE.match(name):
        problems.add(variable, "%s is not a valid user name: %s (no ':' - htpasswd separates with it)"
                     % (_describe(name), USER_RULE))
    if own:
        problems.raise_if_any()
    return name


def check_namespace_name(name, variable="name", problems=None):
    own = problems is None
    problems = problems or _Problems()
    if not isinstance(name, str) or len(name) > NAMESPACE_MAX or not NAMESPACE_RE.match(name):
        problems.add(variable, "%s is not a valid namespace name: %s" % (_describe(name), NAMESPACE_RULE))
    if own:
        problems.raise_if_any()
    return name


def check_subject(subject, variable, problems):
    if subject in SPECIAL_SUBJECTS:
        return subject
    if isinstance(subject, str) and subject.startswith("group:"):
        group = subject[len("group:"):]
        if not USER_RE.match(group):
            problems.add(variable, "%r: a group name must be %s" % (subject, USER_RULE))
        return subject
    if not isinstance(subject, str) or not USER_RE.match(subject):
        problems.add(variable, "%s is not a valid subject: a user name (%s), group:<name>, %s"
                     % (_describe(subject), USER_RULE, " or ".join(SPECIAL_SUBJECTS)))
    return subject


# -- users -----------------------------------------------------------------------------------
def normalize_user(item, variable="user", problems=None, require_password=True, registry_type=None,
                   warnings=None):
    """One user; with ``registry_type`` also that type's checks (``TYPE_CHECKS``)."""
    own = problems is None
    problems = problems or _Problems()
    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, dict):
        problems.add(variable, "must be a mapping with name, password, admin, groups, state, email, password_hash; "
                     "got %s"
                     % _describe(item))
        if own:
            problems.raise_if_any()
        return None
    _unknown_keys(item, USER_KEYS, variable, problems)
    name = check_user_name(item.get("name"), variable + ".name", problems)
    state = item.get("state") or "present"
    if state not in STATES:
        problems.add(variable + ".state", "must be present or absent, got %s" % _describe(state))
    password = item.get("password")
    if password is not None and not isinstance(password, str):
        problems.add(variable + ".password", "must be a string (its value is not shown)")
        password = None
    if password == "" and state == "present":
        # Never a usable password (and htpasswd, zot and Harbor would each fail on it later, after changes).
        problems.add(variable + ".password", "is empty: give the user's password, or leave the key out to keep "
                     "the password the registry already has")
    if password == "":
        password = None
    elif state == "present" and password is None and require_password:
        problems.add(variable + ".password", "is required for a present user")
    groups = item.get("groups")
    if groups is None:
        groups = []
    if not isinstance(groups, list):
        problems.add(variable + ".groups", "must be a list of group names, got %s" % _describe(groups))
        groups = []
    for index, group in enumerate(groups):
        if not isinstance(group, str) or not USER_RE.match(group):
            problems.add("%s.groups[%d]" % (variable, index), "%s is not a valid group name: %s"
                         % (_describe(group), USER_RULE))
    email = item.get("email")
    if email is not None and (not isinstance(email, str) or not EMAIL_RE.match(email)):
        problems.add(variable + ".email", "%s is not a valid e-mail address: %s" % (_describe(email), EMAIL_RULE))
        email = None
    password_hash = _password_hash(item.get("password_hash"), password, state, variable, problems)
    user = {
        "name": name,
        "email": email,
        "password": password,
        "admin": _bool(item.get("admin"), variable + ".admin", problems),
        "groups": sorted(set(g for g in groups if isinstance(g, str))),
        "state": state,
        "password_hash": password_hash,
    }
    _type_check(registry_type, "user", user, variable, problems, warnings)
    if own:
        problems.raise_if_any()
    return user


def _password_hash(value, password, state, variable, problems):
    """bcrypt (the default) or sha512_crypt; sha512_crypt only for a long machine secret."""
    if value is None:
        return "bcrypt"
    if value not in PASSWORD_HASHES:
        problems.add(variable + ".password_hash", "must be %s, got %s"
                     % (" or ".join(PASSWORD_HASHES), _describe(value)))
        return "bcrypt"
    if value == "sha512_crypt" and state == "present" and password and len(password) < SHA512_MIN_PASSWORD:
        # A fast hash is only safe for a high-entropy secret; a person's password keeps the slow bcrypt.
        problems.add(variable + ".password_hash", "sha512_crypt (a fast hash, for machine users) needs a password of "
                     "at least %d characters, a long random secret (its value is not shown); use bcrypt, the "
                     "default, for a person's password" % SHA512_MIN_PASSWORD)
    return value


def normalize_users(users, variable="oci_registry_users", require_password=True, registry_type=None, warnings=None):
    """Validate and normalize a list of users. Raises ModelError naming each bad entry. ``registry_type``:
    also run that type's checks (``TYPE_CHECKS``); its warnings go to the list ``warnings``."""
    problems = _Problems()
    if users is None:
        users = []
    if not isinstance(users, list):
        problems.add(variable, "must be a list of users ({name, password, admin, groups, state, email, "
                     "password_hash}), got %s"
                     % _describe(users))
        problems.raise_if_any()
    out, seen = [], {}
    for index, item in enumerate(users):
        entry = "%s[%d]" % (variable, index)
        user = normalize_user(item, entry, problems, require_password=require_password, registry_type=registry_type,
                              warnings=warnings)
        if user is None:
            continue
        if user["name"] in seen:
            first = "%s[%d]" % (variable, seen[user["name"]])
            problems.add(entry + ".name", "user %r is already listed at %s" % (user["name"], first))
        seen.setdefault(user["name"], index)
        out.append(user)
    problems.raise_if_any()
    return out


# -- namespaces ------------------------------------------------------------------------------
def normalize_actions(actions, variable, problems):
    if isinstance(actions, str):
        actions = [actions]
    if not isinstance(actions, list) or not actions:
        problems.add(variable, "must be a non-empty list of actions (%s), got %s"
                     % (", ".join(ACTIONS), _describe(actions)))
        return []
    for index, action in enumerate(actions):
        if action not in ACTIONS:
            problems.add("%s[%d]" % (variable, index), "unknown action %s; valid: %s"
                         % (_describe(action), ", ".join(ACTIONS)))
    return [a for a in ACTIONS if a in actions]


def normalize_policy(item, variable, problems):
    if not isinstance(item, dict):
        problems.add(variable, "must be a mapping {subjects: [...], actions: [...]}, got %s" % _describe(item))
        return None
    _unknown_keys(item, POLICY_KEYS, variable, problems)
    subjects = item.get("subjects")
    if isinstance(subjects, str):
        subjects = [subjects]
    if not isinstance(subjects, list) or not subjects:
        problems.add(variable + ".subjects", "must be a non-empty list of subjects (user names, group:<name>, "
                     "authenticated, anonymous), got %s" % _describe(subjects))
        subjects = []
    checked = []
    for index, subject in enumerate(subjects):
        check_subject(subject, "%s.subjects[%d]" % (variable, index), problems)
        if isinstance(subject, str) and subject not in checked:
            checked.append(subject)
    actions = normalize_actions(item.get("actions"), variable + ".actions", problems)
    if "anonymous" in checked and set(actions) - {"read"}:
        problems.add(variable, "anonymous may only be granted read (got %s): pushes and deletes need a user"
                     % ", ".join(actions))
    policy = {"subjects": sorted(checked), "actions": actions}
    harbor_role = item.get("harbor_role")
    if harbor_role is not None:
        if harbor_role not in HARBOR_ROLES:
            problems.add(variable + ".harbor_role", "must be one of %s (or unset), got %s"
                         % (", ".join(HARBOR_ROLES), _describe(harbor_role)))
        elif actions != ["read"] or "anonymous" in checked:
            problems.add(variable + ".harbor_role", "%s grants read only: use it with actions [read] and without "
                         "anonymous, got actions %s" % (harbor_role, ", ".join(actions) or "none"))
        else:
            policy["harbor_role"] = harbor_role
    return policy


def normalize_policies(policies, variable, problems=None):
    own = problems is None
    problems = problems or _Problems()
    if policies is None:
        policies = []
    if not isinstance(policies, list):
        problems.add(variable, "must be a list of {subjects, actions}, got %s" % _describe(policies))
        policies = []
    out = []
    for index, item in enumerate(policies):
        policy = normalize_policy(item, "%s[%d]" % (variable, index), problems)
        if policy is not None and policy not in out:
            out.append(policy)
    if own:
        problems.raise_if_any()
    return out


def normalize_retention(retention, variable, problems):
    if retention is None:
        return None
    if not isinstance(retention, dict):
        problems.add(variable, "must be null or a mapping with keep_tags and/or max_age_days, got %s"
                     % _describe(retention))
        return None
    _unknown_keys(retention, RETENTION_KEYS, variable, problems)
    out = {}
    for key in RETENTION_KEYS:
        value = retention.get(key)
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if value is not None and (not _is_int(value) or value < 1):
            problems.add("%s.%s" % (variable, key), "must be a positive integer or null, got %s" % _describe(value))
            value = None
        out[key] = value
    if out["keep_tags"] is None and out["max_age_days"] is None:
        return None
    return out


def normalize_scan(scan, variable, problems):
    """A namespace's scan policy: None (not managed) or {on_push: bool, block_severity}."""
    if scan is None:
        return None
    if not isinstance(scan, dict):
        problems.add(variable, "must be null or a mapping with on_push (true/false) and block_severity (%s), got %s"
                     % ("|".join(SEVERITIES), _describe(scan)))
        return None
    _unknown_keys(scan, SCAN_KEYS, variable, problems)
    severity = scan.get("block_severity")
    if severity is None:
        severity = "none"
    if severity not in SEVERITIES:
        problems.add(variable + ".block_severity",
                     "must be one of %s, got %s" % (", ".join(SEVERITIES), _describe(severity)))
        severity = "none"
    return {"on_push": _bool(scan.get("on_push"), variable + ".on_push", problems), "block_severity": severity}


def normalize_namespace(item, variable="namespace", problems=None):
    own = problems is None
    problems = problems or _Problems()
    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, dict):
        problems.add(variable, "must be a mapping with name, description, public, retention, quota_gb, policies, "
                     "scan, state; got %s" % _describe(item))
        if own:
            problems.raise_if_any()
        return None
    _unknown_keys(item, NAMESPACE_KEYS, variable, problems)
    name = check_namespace_name(item.get("name"), variable + ".name", problems)
    state = item.get("state") or "present"
    if state not in STATES:
        problems.add(variable + ".state", "must be present or absent, got %s" % _describe(state))
    description = item.get("description")
    if description is None:
        description = ""
    if not isinstance(description, str):
        problems.add(variable + ".description", "must be a string, got %s" % _describe(description))
        description = str(description)
    quota = item.get("quota_gb")
    if isinstance(quota, str) and quota.lstrip("-").isdigit():
        quota = int(quota)
    if quota is not None and (not _is_int(quota) or (quota < 1 and quota != -1)):
        problems.add(variable + ".quota_gb", "must be a positive number of GiB, -1 (unlimited) or null, got %s"
                     % _describe(quota))
        quota = None
    namespace = {
        "name": name,
        "description": description,
        "public": _bool(item.get("public"), variable + ".public", problems),
        "retention": normalize_retention(item.get("retention"), variable + ".retention", problems),
        "quota_gb": quota,
        "policies": normalize_policies(item.get("policies"), variable + ".policies", problems),
        "scan": normalize_scan(item.get("scan"), variable + ".scan", problems),
        "state": state,
    }
    if own:
        problems.raise_if_any()
    return namespace


def normalize_namespaces(namespaces, variable="oci_registry_namespaces", users=None, registry_type=None,
                         warnings=None):
    """Validate and normalize a list of namespaces (the platform's four when None).

    ``users``: the normalized users, when known; a policy that names a user who is absent
    there is refused (it would silently grant nothing). ``registry_type``: also run that type's
    checks (``TYPE_CHECKS``); its warnings go to the list ``warnings``."""
    problems = _Problems()
    if namespaces is None:
        namespaces = copy.deepcopy(PLATFORM_NAMESPACES)
    if not isinstance(namespaces, list):
        problems.add(variable, "must be a list of namespaces, got %s" % _describe(namespaces))
        problems.raise_if_any()
    out, seen = [], {}
    absent = set(u["name"] for u in users or [] if u["state"] == "absent")
    for index, item in enumerate(namespaces):
        entry = "%s[%d]" % (variable, index)
        namespace = normalize_namespace(item, entry, problems)
        if namespace is None:
            continue
        if namespace["name"] in seen:
            problems.add(entry + ".name", "namespace %r is already listed at %s[%d]"
                         % (namespace["name"], variable, seen[namespace["name"]]))
        seen.setdefault(namespace["name"], index)
        for pindex, policy in enumerate(namespace["policies"]):
            for subject in policy["subjects"]:
                if subject in absent:
                    problems.add("%s.policies[%d].subjects" % (entry, pindex),
                                 "user %r has state absent in the users list; remove it from the policy" % subject)
        _type_check(registry_type, "namespace", namespace, entry, problems, warnings)
        out.append(namespace)
    problems.raise_if_any()
    return out


def normalize_model(users, namespaces, users_variable="oci_registry_users",
                    namespaces_variable="oci_registry_namespaces", require_password=True, registry_type=None,
                    warnings=None):
    """Both lists at once; every problem of both is reported together."""
    problems = []
    normal_users = []
    try:
        normal_users = normalize_users(users, users_variable, require_password=require_password,
                                       registry_type=registry_type, warnings=warnings)
    except ModelError as exc:
        problems.extend(exc.problems)
    try:
        normal_namespaces = normalize_namespaces(namespaces, namespaces_variable, normal_users,
                                                 registry_type=registry_type, warnings=warnings)
    except ModelError as exc:
        problems.extend(exc.problems)
    if problems:
        raise ModelError(problems)
    return normal_users, normal_namespaces


# -- mirrors and replications (issue 16) -------------------------------------------------------
MIRROR_KEYS = ("name", "url", "username", "password", "tls_verify", "repositories", "namespace", "ttl", "port",
               "state")
REPLICATION_KEYS = ("name", "direction", "remote", "repositories", "tags", "destination_namespace", "trigger",
                    "schedule", "deletions", "state")
REMOTE_KEYS = ("url", "username", "password", "tls_verify")
DIRECTIONS = ("pull", "push")
TRIGGERS = ("manual", "scheduled", "on_push")
# Used in container names (<container>-mirror-<name>) and as Harbor's registry and policy names.
ENTRY_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$")
ENTRY_NAME_RULE = "1-32 lowercase letters, digits or '-', starting and ending with a letter or digit"
# A registry's base URL: scheme, host (name, IPv4 or [IPv6]) and an optional port; no path, query or user.
REGISTRY_URL_RE = re.compile(r"^(https?)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)"
                             r"(:[0-9]{1,5})?/?$")
REGISTRY_URL_RULE = "http:// or https:// then a host and an optional port, no path (e.g. https://registry-1.docker.io)"
# Globs in zot's syntax: '*' inside one path component, '**' across components.
REPOSITORY_GLOB_RE = re.compile(r"^[a-z0-9*]([a-z0-9._*-]*)(/[a-z0-9*][a-z0-9._*-]*)*$")
REPOSITORY_GLOB_RULE = ("a repository name or glob: lowercase path components of letters, digits, '.', '_', '-', "
                        "with '*' (within one component) or '**' (across components)")
TAG_GLOB_RE = re.compile(r"^[A-Za-z0-9_*][A-Za-z0-9._*-]{0,127}$")
TAG_GLOB_RULE = "a tag or glob: letters, digits, '_', '.', '-' and '*', at most 128 characters"
# Go's time.ParseDuration units (Distribution's proxy.ttl).
DURATION_RE = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")
CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12),
               ("day of week", 0, 7))
CRON_ITEM_RE = re.compile(r"^(\*|([0-9]+)(-([0-9]+))?)(/([0-9]+))?$")


def _entry_name(value, variable, problems):
    if not isinstance(value, str) or not ENTRY_NAME_RE.match(value):
        problems.add(variable, "%s is not a valid name: %s" % (_describe(value), ENTRY_NAME_RULE))
        return None
    return value


def check_entry_name(name, variable="name"):
    """A mirror's or replication's name, checked alone (raises ModelError naming ``variable``)."""
    problems = _Problems()
    value = _entry_name(name, variable, problems)
    problems.raise_if_any()
    return value


def _state(value, variable, problems):
    state = value or "present"
    if state not in STATES:
        problems.add(variable, "must be present or absent, got %s" % _describe(state))
    return state


def _registry_url(value, variable, problems):
    if not isinstance(value, str) or not REGISTRY_URL_RE.match(value):
        problems.add(variable, "%s is not a registry URL: %s" % (_describe(value), REGISTRY_URL_RULE))
        return value
    return value.rstrip("/")


def _credentials(item, variable, problems):
    """username and password: both or neither; a password is never shown."""
    username, password = item.get("username"), item.get("password")
    bad = False
    if username is not None and (not isinstance(username, str) or not username):
        problems.add(variable + ".username", "must be a non-empty string or null, got %s" % _describe(username))
        username, bad = None, True
    if password is not None and (not isinstance(password, str) or not password):
        problems.add(variable + ".password", "must be a non-empty string or null (its value is not shown)")
        password, bad = None, True
    if not bad and (username is None) != (password is None):
        problems.add(variable, "give username and password together, or neither (anonymous access); only %s is set"
                     % ("username" if username is not None else "password"))
    return username, password


def _globs(value, default, pattern, rule, variable, problems):
    if value is None:
        return list(default)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        problems.add(variable, "must be a non-empty list of globs (%s), got %s" % (rule, _describe(value)))
        return list(default)
    out = []
    for index, glob in enumerate(value):
        if not isinstance(glob, str) or not pattern.match(glob) or "***" in glob:
            problems.add("%s[%d]" % (variable, index), "%s is not %s" % (_describe(glob), rule))
        elif glob not in out:
            out.append(glob)
    return out


def check_cron(schedule):
    """The problems of a 5-field cron expression "m h dom mon dow" (empty: valid): numbers, '*', ranges
    a-b, steps */n and a-b/n, comma-separated lists; names (mon, jan) and '@daily' are refused."""
    if not isinstance(schedule, str) or len(schedule.split()) != 5:
        return ["%s is not a 5-field cron expression 'minute hour day-of-month month day-of-week' "
                "(e.g. '0 3 * * *')" % _describe(schedule)]
    for field, (what, low, high) in zip(schedule.split(), CRON_FIELDS):
        for part in field.split(","):
            match = CRON_ITEM_RE.match(part)
            numbers = [] if match is None else [int(n) for n in (match.group(2), match.group(4)) if n is not None]
            step = None if match is None or match.group(6) is None else int(match.group(6))
            if match is None or any(n < low or n > high for n in numbers) or step == 0 or (
                    len(numbers) == 2 and numbers[0] > numbers[1]):
                return ["%r: the %s field %r must be '*', a number from %d to %d, a range a-b, a step */n or "
                        "a-b/n, or a comma-separated list of these" % (schedule, what, field, low, high)]
    return []


def normalize_mirror(item, variable="mirror", problems=None, registry_type=None, warnings=None):
    own = problems is None
    problems = problems or _Problems()
    if not isinstance(item, dict):
        problems.add(variable, "must be a mapping with %s; got %s" % (", ".join(MIRROR_KEYS), _describe(item)))
        if own:
            problems.raise_if_any()
        return None
    _unknown_keys(item, MIRROR_KEYS, variable, problems)
    username, password = _credentials(item, variable, problems)
    namespace = item.get("namespace")
    if namespace is None:
        problems.add(variable + ".namespace", "is required: the local namespace the mirror appears under "
                     "(pulling <namespace>/<repository> fetches <repository> upstream)")
    else:
        check_namespace_name(namespace, variable + ".namespace", problems)
    ttl = item.get("ttl")
    if ttl is not None and (not isinstance(ttl, str) or not DURATION_RE.match(ttl)):
        problems.add(variable + ".ttl", "%s is not a duration: a number and a unit (h, m, s, ms), e.g. 168h or "
                     "1h30m, or null for the registry's default" % _describe(ttl))
        ttl = None
    port = item.get("port")
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    if port is not None and (not _is_int(port) or not 1 <= port <= 65535):
        problems.add(variable + ".port", "must be a port number from 1 to 65535 or null, got %s" % _describe(port))
        port = None
    mirror = {
        "name": _entry_name(item.get("name"), variable + ".name", problems),
        "url": _registry_url(item.get("url"), variable + ".url", problems),
        "username": username,
        "password": password,
        "tls_verify": _bool(item.get("tls_verify"), variable + ".tls_verify", problems, default=True),
        "repositories": _globs(item.get("repositories"), ["**"], REPOSITORY_GLOB_RE, REPOSITORY_GLOB_RULE,
                               variable + ".repositories", problems),
        "namespace": namespace,
        "ttl": ttl,
        "port": port,
        "state": _state(item.get("state"), variable + ".state", problems),
    }
    _type_check(registry_type, "mirror", mirror, variable, problems, warnings)
    if own:
        problems.raise_if_any()
    return mirror


def normalize_mirrors(mirrors, variable="oci_registry_mirrors", namespaces=None, registry_type=None, warnings=None):
    """Validate and normalize a list of mirrors (pull-through caches). Raises ModelError naming each bad entry.

    ``namespaces``: the normalized namespaces, when known. The one named like a mirror's namespace
    holds that mirror's access rules (public flag, read grants); it may not grant write, delete or
    admin (a mirror is read-only), and no other namespace may lie under a mirror's namespace."""
    problems = _Problems()
    if mirrors is None:
        mirrors = []
    if not isinstance(mirrors, list):
        problems.add(variable, "must be a list of mirrors ({%s}), got %s"
                     % (", ".join(MIRROR_KEYS), _describe(mirrors)))
        problems.raise_if_any()
    by_name = dict((n["name"], n) for n in namespaces or [] if n.get("state", "present") != "absent")
    out, seen, seen_namespace, seen_port = [], {}, {}, {}
    for index, item in enumerate(mirrors):
        entry = "%s[%d]" % (variable, index)
        mirror = normalize_mirror(item, entry, problems, registry_type, warnings)
        if mirror is None:
            continue
        name = mirror["name"]
        if name is not None and name in seen:
            problems.add(entry + ".name", "mirror %r is already listed at %s[%d]" % (name, variable, seen[name]))
        seen.setdefault(name, index)
        present = mirror["state"] == "present"
        if present and isinstance(mirror["namespace"], str):
            ns = mirror["namespace"]
            if ns in seen_namespace:
                problems.add(entry + ".namespace", "namespace %r is already the namespace of the mirror at %s[%d]"
                             % (ns, variable, seen_namespace[ns]))
            seen_namespace.setdefault(ns, index)
            rules = by_name.get(ns)
            for pindex, policy in enumerate((rules or {}).get("policies") or []):
                extra = [a for a in policy["actions"] if a != "read"]
                if extra:
                    problems.add(entry + ".namespace", "the namespace %r of oci_registry_namespaces holds this "
                                 "mirror's access rules, and its policies[%d] grants %s: a mirror is read-only, "
                                 "grant only read" % (ns, pindex, ", ".join(extra)))
            for other in sorted(by_name):
                if other.startswith(ns + "/"):
                    problems.add(entry + ".namespace", "namespace %r of oci_registry_namespaces lies under this "
                                 "mirror's namespace %r: pulls of %s/... go to the mirror; choose another namespace"
                                 % (other, ns, ns))
        if present and mirror["port"] is not None:
            if mirror["port"] in seen_port:
                problems.add(entry + ".port", "port %d is already the port of the mirror at %s[%d]"
                             % (mirror["port"], variable, seen_port[mirror["port"]]))
            seen_port.setdefault(mirror["port"], index)
        out.append(mirror)
    problems.raise_if_any()
    return out


def normalize_remote(remote, variable, problems):
    if not isinstance(remote, dict):
        problems.add(variable, "is required: a mapping with %s, got %s"
                     % (", ".join(REMOTE_KEYS), _describe(remote)))
        return None
    _unknown_keys(remote, REMOTE_KEYS, variable, problems)
    username, password = _credentials(remote, variable, problems)
    return {"url": _registry_url(remote.get("url"), variable + ".url", problems), "username": username,
            "password": password,
            "tls_verify": _bool(remote.get("tls_verify"), variable + ".tls_verify", problems, default=True)}


def normalize_replication(item, variable="replication", problems=None, registry_type=None, warnings=None):
    own = problems is None
    problems = problems or _Problems()
    if not isinstance(item, dict):
        problems.add(variable, "must be a mapping with %s; got %s"
                     % (", ".join(REPLICATION_KEYS), _describe(item)))
        if own:
            problems.raise_if_any()
        return None
    _unknown_keys(item, REPLICATION_KEYS, variable, problems)
    direction = item.get("direction")
    if direction not in DIRECTIONS:
        problems.add(variable + ".direction", "must be pull (copy from the remote registry to this one) or push "
                     "(copy from this one to the remote), got %s" % _describe(direction))
    trigger = item.get("trigger")
    if trigger is None:
        trigger = "manual"
    if trigger not in TRIGGERS:
        problems.add(variable + ".trigger", "must be one of %s, got %s" % (", ".join(TRIGGERS), _describe(trigger)))
    schedule = item.get("schedule")
    if trigger == "scheduled":
        if schedule is None:
            problems.add(variable + ".schedule", "is required with trigger scheduled: a 5-field cron expression "
                         "such as '0 3 * * *'")
        else:
            messages = check_cron(schedule)
            for message in messages:
                problems.add(variable + ".schedule", message)
            schedule = None if messages else " ".join(schedule.split())
    elif schedule is not None:
        problems.add(variable + ".schedule", "is only valid with trigger scheduled (trigger is %r); remove it"
                     % (trigger,))
        schedule = None
    destination = item.get("destination_namespace")
    if destination is not None:
        check_namespace_name(destination, variable + ".destination_namespace", problems)
    replication = {
        "name": _entry_name(item.get("name"), variable + ".name", problems),
        "direction": direction,
        "remote": normalize_remote(item.get("remote"), variable + ".remote", problems),
        "repositories": _globs(item.get("repositories"), ["**"], REPOSITORY_GLOB_RE, REPOSITORY_GLOB_RULE,
                               variable + ".repositories", problems),
        "tags": _globs(item.get("tags"), ["*"], TAG_GLOB_RE, TAG_GLOB_RULE, variable + ".tags", problems),
        "destination_namespace": destination,
        "trigger": trigger,
        "schedule": schedule,
        "deletions": _bool(item.get("deletions"), variable + ".deletions", problems),
        "state": _state(item.get("state"), variable + ".state", problems),
    }
    _type_check(registry_type, "replication", replication, variable, problems, warnings)
    if own:
        problems.raise_if_any()
    return replication


def normalize_replications(replications, variable="oci_registry_replications", registry_type=None, warnings=None):
    """Validate and normalize a list of replications. Raises ModelError naming each bad entry."""
    problems = _Problems()
    if replications is None:
        replications = []
    if not isinstance(replications, list):
        problems.add(variable, "must be a list of replications ({%s}), got %s"
                     % (", ".join(REPLICATION_KEYS), _describe(replications)))
        problems.raise_if_any()
    out, seen = [], {}
    for index, item in enumerate(replications):
        entry = "%s[%d]" % (variable, index)
        replication = normalize_replication(item, entry, problems, registry_type, warnings)
        if replication is None:
            continue
        name = replication["name"]
        if name is not None and name in seen:
            problems.add(entry + ".name", "replication %r is already listed at %s[%d]"
                         % (name, variable, seen[name]))
        seen.setdefault(name, index)
        out.append(replication)
    problems.raise_if_any()
    return out


# -- what each registry type cannot express ----------------------------------------------------
# TYPE_CHECKS[type](kind, entry, where) -> (errors, warnings): ``kind`` is "user", "mirror", "replication" or
# "namespace", ``entry`` the normalized entry, ``where`` its place (``oci_registry_mirrors[0]``); each
# message starts with the entry's place. Errors stop the run before anything changes; warnings name a
# setting the type only ignores. Absent entries are not checked (they are only removed).
def distribution_checks(kind, entry, where):
    errors, warnings = [], []
    if kind == "user" and entry.get("password_hash") == "sha512_crypt":
        # The access front checks Basic credentials with bcrypt only, once, then caches the result
        # (roles/distribution/files/front_auth.py): a fast hash would gain nothing and lock the user out.
        errors.append("%s.password_hash: sha512_crypt cannot be used on Distribution: its access front verifies "
                      "bcrypt only, once per credential, and caches the result, so a fast hash gains nothing there; "
                      "leave password_hash at bcrypt (sha512_crypt is for zot's machine users)" % where)
    if kind == "mirror":
        # A mirror is its own proxy-mode registry container, published by the front on its own port.
        if entry["port"] is None:
            errors.append("%s.port: is required on Distribution: each mirror is its own proxy-mode registry, "
                          "published by the access front on this port" % where)
        # Distribution's proxy reaches the upstream with Go's default HTTP transport, which always verifies
        # certificates (distribution v2.8.3 registry/proxy/proxyauth.go, proxyregistry.go: http.Get,
        # http.DefaultTransport; configuration.Proxy has no TLS option).
        if not entry["tls_verify"] and str(entry["url"] or "").startswith("https://"):
            errors.append("%s.tls_verify: false cannot be done on Distribution: its proxy always verifies the "
                          "upstream's certificate with the CAs of its image; set it to true (and give the image "
                          "the upstream's CA) or use http://" % where)
    elif kind == "replication":
        # The collection's oci_sync engine runs a replication on the host (manual or a timer/cron
        # schedule); nothing in Distribution starts one on a push, and oci_sync copies, never deletes.
        if entry["trigger"] == "on_push":
            errors.append("%s.trigger: Distribution cannot replicate on push (nothing in it starts a replication "
                          "when an image is pushed): use trigger manual or scheduled" % where)
        if entry["deletions"]:
            errors.append("%s.deletions: true cannot be done on Distribution: its replication engine (oci_sync) "
                          "copies images and never deletes; set it to false" % where)
    elif kind == "namespace" and entry.get("scan") is not None:
        warnings.append("%s.scan: Distribution has no vulnerability scanner; the scan settings of namespace %r "
                        "are not applied" % (where, entry["name"]))
    return errors, warnings


TYPE_CHECKS = {
    "distribution": distribution_checks,
    "harbor": _harbor_replication.harbor_checks,
    "zot": _zot_sync.entry_checks,
}


def _type_check(registry_type, kind, entry, variable, problems, warnings):
    if registry_type is None or entry.get("state") == "absent":
        return
    check = TYPE_CHECKS.get(registry_type)
    if check is None:
        return
    errors, notes = check(kind, entry, variable)
    problems.items.extend(errors)
    if warnings is not None:
        warnings.extend(notes)


# -- helpers the backends share ------------------------------------------------------------
def effective_actions(actions):
    """What a grant allows in practice: admin is everything; write and delete include read
    (a client cannot push or delete without reading: it checks blobs and resolves tags)."""
    actions = set(actions or [])
    if "admin" in actions:
        return set(ACTIONS)
    if actions & {"write", "delete"}:
        actions.add("read")
    return actions


def public_view(value):
    """A copy without secrets, fit for diff and results (passwords become a marker)."""
    if isinstance(value, list):
        return [public_view(v) for v in value]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in ("password", "secret") and item is not None:
                out[key] = "********"
            else:
                out[key] = public_view(item)
        return out
    return value
