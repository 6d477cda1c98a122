# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""The access model: users, namespaces and their policies, validated and normalized.

Public variables (playbooks/init.yml, the roles) and module options use the same shapes.
``normalize_users`` and ``normalize_namespaces`` turn what a user wrote into exactly:

* user: ``{name, password, admin: bool, groups: [str], state: present|absent}``
* namespace: ``{name, description, public: bool, retention: None|{keep_tags, max_age_days},
  quota_gb: int|None, policies: [{subjects: [...], actions: [...]}], state}``

Subjects are user names, ``group:<name>``, ``authenticated`` (any user who logged in) and
``anonymous`` (no credentials). Actions are ``read``, ``write``, ``delete`` and ``admin``.
Errors name the variable and index (``oci_registry_namespaces[2].policies[0].actions``)
and say what would be valid; every problem is reported at once, before anything changes.
"""

from __future__ import annotations

import copy
import re

from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import InvalidParameterError

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

USER_KEYS = ("name", "password", "admin", "groups", "state", "email")
# An e-mail address as Harbor accepts it (the pattern of Harbor's validateUserProfile,
# src/server/v2.0/handler/user.go): a local part, one '@', then a dotted domain whose last label
# has two or more letters, or a bracketed IPv4 address.
EMAIL_RE = re.compile(r'^(([^<>()\[\]\\.,;:\s@"]+(\.[^<>()\[\]\\.,;:\s@"]+)*)|(".+"))@'
                      r'((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\])|(([a-zA-Z\-0-9]+\.)+[a-zA-Z]{2,}))$')
EMAIL_RULE = "an address such as alice@example.com (one '@', a domain whose last part has two or more letters)"
NAMESPACE_KEYS = ("name", "description", "public", "retention", "quota_gb", "policies", "state")
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
def normalize_user(item, variable="user", problems=None, require_password=True):
    own = problems is None
    problems = problems or _Problems()
    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, dict):
        problems.add(variable, "must be a mapping with name, password, admin, groups, state, email; got %s"
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
    user = {
        "name": name,
        "email": email,
        "password": password,
        "admin": _bool(item.get("admin"), variable + ".admin", problems),
        "groups": sorted(set(g for g in groups if isinstance(g, str))),
        "state": state,
    }
    if own:
        problems.raise_if_any()
    return user


def normalize_users(users, variable="oci_registry_users", require_password=True):
    """Validate and normalize a list of users. Raises ModelError naming each bad entry."""
    problems = _Problems()
    if users is None:
        users = []
    if not isinstance(users, list):
        problems.add(variable, "must be a list of users ({name, password, admin, groups, state, email}), got %s"
                     % _describe(users))
        problems.raise_if_any()
    out, seen = [], {}
    for index, item in enumerate(users):
        entry = "%s[%d]" % (variable, index)
        user = normalize_user(item, entry, problems, require_password=require_password)
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


def normalize_namespace(item, variable="namespace", problems=None):
    own = problems is None
    problems = problems or _Problems()
    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, dict):
        problems.add(variable, "must be a mapping with name, description, public, retention, quota_gb, policies, "
                     "state; got %s" % _describe(item))
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
        "state": state,
    }
    if own:
        problems.raise_if_any()
    return namespace


def normalize_namespaces(namespaces, variable="oci_registry_namespaces", users=None):
    """Validate and normalize a list of namespaces (the platform's four when None).

    ``users``: the normalized users, when known; a policy that names a user who is absent
    there is refused (it would silently grant nothing)."""
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
        out.append(namespace)
    problems.raise_if_any()
    return out


def normalize_model(users, namespaces, users_variable="oci_registry_users",
                    namespaces_variable="oci_registry_namespaces", require_password=True):
    """Both lists at once; every problem of both is reported together."""
    problems = []
    normal_users = []
    try:
        normal_users = normalize_users(users, users_variable, require_password=require_password)
    except ModelError as exc:
        problems.extend(exc.problems)
    try:
        normal_namespaces = normalize_namespaces(namespaces, namespaces_variable, normal_users)
    except ModelError as exc:
        problems.extend(exc.problems)
    if problems:
        raise ModelError(problems)
    return normal_users, normal_namespaces


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


# -- replications (issue 16) -------------------------------------------------------------------
# {name, direction: pull|push, remote: {url, username, password, tls_verify}, repositories: [glob],
#  tags: [glob], destination_namespace: str|None, trigger: manual|scheduled|on_push, schedule: str|None,
#  deletions: bool, state}. Globs: '*' within one path component, '**' across components.
REPLICATION_KEYS = ("name", "direction", "remote", "repositories", "tags", "destination_namespace", "trigger",
                    "schedule", "deletions", "state")
REMOTE_KEYS = ("url", "username", "password", "tls_verify")
DIRECTIONS = ("pull", "push")
TRIGGERS = ("manual", "scheduled", "on_push")
ENTRY_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$")
ENTRY_NAME_RULE = "1-32 lowercase letters, digits or '-', starting and ending with a letter or digit"
_REMOTE_URL_RE = re.compile(r"^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?/?$|^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?/?$")
_GLOB_RE = re.compile(r"^[A-Za-z0-9._/*?\[\]!-]+$")
# cron fields: minute, hour, day of month, month, day of week (0 and 7 are Sunday).
CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
_CRON_PART_RE = re.compile(r"^(\*|([0-9]+)(-([0-9]+))?)(/([0-9]+))?$")


def check_cron(schedule):
    """The problems of a 5-field cron expression ("m h dom mon dow"), as a list of strings (empty: valid).
    Numbers, '*', ranges 'a-b', steps '/n' and lists 'a,b' are accepted; names (mon, jan) and '@daily' are not."""
    if not isinstance(schedule, str):
        return ["must be a 5-field cron expression \"m h dom mon dow\", got %s" % _describe(schedule)]
    fields = schedule.split()
    if len(fields) != 5:
        return ["%r must have 5 fields \"minute hour day-of-month month day-of-week\" (e.g. \"30 2 * * *\"), "
                "got %d" % (schedule, len(fields))]
    problems = []
    for text, (label, low, high) in zip(fields, CRON_FIELDS):
        for part in text.split(","):
            match = _CRON_PART_RE.match(part)
            if not match:
                problems.append("%r: the %s field %r is not a number, '*', a range a-b, a step /n or a list of "
                                "them" % (schedule, label, text))
                break
            numbers = [int(n) for n in (match.group(2), match.group(4)) if n is not None]
            if any(n < low or n > high for n in numbers) or (len(numbers) == 2 and numbers[0] > numbers[1]):
                problems.append("%r: the %s field %r is outside %d-%d" % (schedule, label, text, low, high))
                break
            if match.group(6) is not None and int(match.group(6)) < 1:
                problems.append("%r: the %s field %r has a step below 1" % (schedule, label, text))
                break
    return problems


def _globs(value, variable, problems, default):
    if value is None:
        return list(default)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        problems.add(variable, "must be a non-empty list of glob patterns ('*' within one path component, '**' "
                     "across components), got %s" % _describe(value))
        return list(default)
    out = []
    for index, pattern in enumerate(value):
        if not isinstance(pattern, str) or not _GLOB_RE.match(pattern):
            problems.add("%s[%d]" % (variable, index), "%s is not a glob pattern (letters, digits, '.', '_', '-', "
                         "'/', '*', '?', '[...]')" % _describe(pattern))
        elif pattern not in out:
            out.append(pattern)
    return out


def normalize_remote(remote, variable, problems):
    if not isinstance(remote, dict):
        problems.add(variable, "must be a mapping {url, username, password, tls_verify}, got %s"
                     % ("a string" if isinstance(remote, str) else _describe(remote)))
        return {"url": None, "username": None, "password": None, "tls_verify": True}
    _unknown_keys(remote, REMOTE_KEYS, variable, problems)
    url = remote.get("url")
    if not isinstance(url, str) or not _REMOTE_URL_RE.match(url):
        problems.add(variable + ".url", "must be an http:// or https:// URL of a registry without a path "
                     "(e.g. https://registry.example.com:5000), got %s" % _describe(url))
    elif url.endswith("/"):
        url = url[:-1]
    username = remote.get("username") or None
    password = remote.get("password")
    if password is not None and not isinstance(password, str):
        problems.add(variable + ".password", "must be a string (its value is not shown)")
        password = None
    password = password or None
    if username is not None and not isinstance(username, str):
        problems.add(variable + ".username", "must be a string, got %s" % _describe(username))
    if bool(username) != bool(password):
        problems.add(variable, "give username and password together, or neither (anonymous)")
    return {"url": url, "username": username, "password": password,
            "tls_verify": _bool(remote.get("tls_verify"), variable + ".tls_verify", problems, default=True)}


def check_distribution_replication(entry, variable, problems):
    """What Distribution's scheduled oci_sync job cannot do."""
    if entry["trigger"] == "on_push":
        problems.add(variable + ".trigger", "Distribution cannot replicate on push (it has no event-driven "
                     "replication; its notifications are webhooks): use trigger manual or scheduled")
    if entry["deletions"]:
        problems.add(variable + ".deletions", "Distribution's replication (the collection's sync engine) never "
                     "deletes on the destination: set deletions false")


# Per registry type, what a replication cannot express there. The zot and Harbor lanes add theirs.
REPLICATION_CHECKS = {"distribution": check_distribution_replication}


def normalize_replication(item, variable="replication", problems=None, registry_type=None):
    own = problems is None
    problems = problems or _Problems()
    if not isinstance(item, dict):
        problems.add(variable, "must be a mapping with %s; got %s" % (", ".join(REPLICATION_KEYS), _describe(item)))
        if own:
            problems.raise_if_any()
        return None
    _unknown_keys(item, REPLICATION_KEYS, variable, problems)
    name = item.get("name")
    if not isinstance(name, str) or not ENTRY_NAME_RE.match(name):
        problems.add(variable + ".name", "%s is not a valid replication name: %s" % (_describe(name), ENTRY_NAME_RULE))
    state = item.get("state") or "present"
    if state not in STATES:
        problems.add(variable + ".state", "must be present or absent, got %s" % _describe(state))
    direction = item.get("direction")
    if direction not in DIRECTIONS:
        problems.add(variable + ".direction", "must be pull (from the remote into this registry) or push (from "
                     "this registry to the remote), got %s" % _describe(direction))
    trigger = item.get("trigger") or "manual"
    if trigger not in TRIGGERS:
        problems.add(variable + ".trigger", "must be one of %s, got %s" % (", ".join(TRIGGERS), _describe(trigger)))
    schedule = item.get("schedule")
    if schedule == "":
        schedule = None
    if trigger == "scheduled":
        if schedule is None:
            problems.add(variable + ".schedule", "is required with trigger scheduled: a 5-field cron expression "
                         "\"m h dom mon dow\", e.g. \"30 2 * * *\"")
        else:
            for message in check_cron(schedule):
                problems.add(variable + ".schedule", message)
            if isinstance(schedule, str):
                schedule = " ".join(schedule.split())
    elif schedule is not None:
        problems.add(variable + ".schedule", "is only valid with trigger scheduled (trigger is %s): remove it"
                     % _describe(trigger))
        schedule = None
    destination = item.get("destination_namespace") or None
    if destination is not None:
        check_namespace_name(destination, variable + ".destination_namespace", problems)
    entry = {
        "name": name,
        "direction": direction,
        "remote": normalize_remote(item.get("remote"), variable + ".remote", problems),
        "repositories": _globs(item.get("repositories"), variable + ".repositories", problems, ["**"]),
        "tags": _globs(item.get("tags"), variable + ".tags", problems, ["*"]),
        "destination_namespace": destination,
        "trigger": trigger,
        "schedule": schedule,
        "deletions": _bool(item.get("deletions"), variable + ".deletions", problems),
        "state": state,
    }
    if registry_type is not None and state == "present":
        check = REPLICATION_CHECKS.get(registry_type)
        if check is not None:
            check(entry, variable, problems)
    if own:
        problems.raise_if_any()
    return entry


def normalize_replications(replications, variable="oci_registry_replications", registry_type=None):
    """Validate and normalize a list of replications (every problem at once, ModelError).
    ``registry_type``: also refuse what that type cannot express (REPLICATION_CHECKS)."""
    problems = _Problems()
    if replications is None:
        replications = []
    if not isinstance(replications, list):
        problems.add(variable, "must be a list of replications ({%s}), got %s"
                     % (", ".join(REPLICATION_KEYS), _describe(replications)))
        problems.raise_if_any()
    out, seen = [], {}
    for index, item in enumerate(replications):
        entry_variable = "%s[%d]" % (variable, index)
        entry = normalize_replication(item, entry_variable, problems, registry_type)
        if entry is None:
            continue
        if entry["name"] in seen:
            problems.add(entry_variable + ".name", "replication %r is already listed at %s[%d]"
                         % (entry["name"], variable, seen[entry["name"]]))
        seen.setdefault(entry["name"], index)
        out.append(entry)
    problems.raise_if_any()
    return out
