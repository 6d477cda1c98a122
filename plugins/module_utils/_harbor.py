# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""Harbor adapter (API v2.0, basic auth, never a session cookie).

Two layers:

* ``HarborApi``: one thin method per Harbor API call (path, verb, body shape as in Harbor's
  swagger), "not found" handled once by decorators, lists always paginated.
* ``HarborBackend``: the collection's backend interface on top of it (health, version,
  namespaces = projects, users, members from policies, robots, retention, GC).

Harbor details that shape the code:
* Projects are addressed by id where possible; by name only with ``X-Is-Resource-Name: true``
  (a project may be called ``123``).
* Harbor's password rule (8-128 characters, an upper-case letter, a lower-case letter and a
  digit) is checked before anything is sent; robot secrets follow the same rule.
* Robot names come back with the configured prefix (``robot$``; project robots as
  ``robot$<project>+<name>``): names are normalised so the prefix never causes drift.
* Repository names in paths are URL-encoded twice (``a/b`` -> ``a%252Fb``).
"""

from __future__ import annotations

import functools
import json
import re
import time
from urllib.parse import quote, unquote, urlsplit

from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import (
    AccessChange,
    Backend,
    NamespaceNotEmptyError,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._diff import MASK
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import (
    InvalidParameterError,
    OciRegistryError,
    RegistryHTTPError,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._harbor_replication import (
    ReplicationApiMixin,
    ReplicationBackendMixin,
    scan_from_metadata,
    scan_metadata,
    type_checks,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._model import EMAIL_RE, EMAIL_RULE

API = "/api/v2.0"
BY_NAME = {"X-Is-Resource-Name": "true"}
JSON = {"Content-Type": "application/json"}
PAGE_SIZE = 100  # Harbor's maximum page_size

ROLE_IDS = {"projectAdmin": 1, "developer": 2, "guest": 3, "maintainer": 4, "limitedGuest": 5}
ROLE_NAMES = dict((v, k) for k, v in ROLE_IDS.items())
# What each role grants, in the model's actions (limitedGuest reads, like guest).
ROLE_ACTIONS = {"guest": ["read"], "limitedGuest": ["read"], "developer": ["read", "write"],
                "maintainer": ["read", "write", "delete"], "projectAdmin": ["read", "write", "delete", "admin"]}
ACTIONS = ("read", "write", "delete", "admin")
GIB = 1024 ** 3
DEFAULT_RETENTION_CRON = "0 0 0 * * *"
GC_DONE = ("Success", "Error", "Stopped")
RETENTION_DONE = ("Success", "Succeed", "Error", "Failed", "Stopped")

PROJECT_NAME_RE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
ROBOT_NAME_RE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
_ILLEGAL_USER_CHARS = re.compile(r'[,"~#$%]')  # Harbor's IllegalCharsInUsername (src/common/const.go)
BUILTIN_ADMIN_ID = 1  # Harbor's own admin: never listed by GET /users, never deletable
EMAIL_DOMAIN = "oci-registry.invalid"


class ProjectNotEmptyError(NamespaceNotEmptyError):
    """Harbor refused to delete a project that still holds content (HTTP 412)."""


# -- checks done before anything is sent ----------------------------------------------------
def check_password(password, what="password"):
    """Harbor's rule: 8-128 characters with at least one upper-case, one lower-case letter and one digit."""
    problems = []
    if password is None or not 8 <= len(password) <= 128:
        problems.append("8 to 128 characters")
    password = password or ""
    if not re.search(r"[A-Z]", password):
        problems.append("an upper-case letter")
    if not re.search(r"[a-z]", password):
        problems.append("a lower-case letter")
    if not re.search(r"[0-9]", password):
        problems.append("a digit")
    if problems:
        raise InvalidParameterError("the %s does not meet Harbor's rule; it needs %s" % (what, ", ".join(problems)))
    return password


def check_project_name(name):
    if not isinstance(name, str) or not PROJECT_NAME_RE.match(name) or len(name) > 255:
        raise InvalidParameterError(
            "%r is not a valid Harbor project name: lower-case letters and digits, separated by single '.', '_' "
            "or '-', at most 255 characters (a Harbor project is one path component)" % (name,))
    return name


def check_user_name(name):
    if not isinstance(name, str) or not 1 <= len(name) <= 255 or _ILLEGAL_USER_CHARS.search(name):
        raise InvalidParameterError("%r is not a valid Harbor user name: 1-255 characters, none of , ~ # $ %%" % (name,))
    return name


def check_email(email, what="email"):
    if not isinstance(email, str) or not EMAIL_RE.match(email):
        raise InvalidParameterError("%s: %r is not an address Harbor accepts; give %s" % (what, email, EMAIL_RULE))
    return email


def derive_email(name):
    """An address Harbor accepts for a user given none: the name itself when it is one, else the
    name with every character Harbor refuses in a local part ('@' included) turned into '-', at
    oci-registry.invalid (``alice@corp`` -> ``alice-corp@oci-registry.invalid``)."""
    if EMAIL_RE.match(name):
        return name
    local = re.sub(r'[<>()\[\]\\,;:\s@"]+', "-", name)
    local = re.sub(r"\.{2,}", ".", local).strip(".-") or "user"
    return "%s@%s" % (local, EMAIL_DOMAIN)


def check_cron(cron):
    """Harbor schedules take a six-field cron (seconds first)."""
    if not isinstance(cron, str) or len(cron.split()) != 6:
        raise InvalidParameterError(
            "Harbor needs a six-field cron expression (seconds minutes hours day-of-month month day-of-week), "
            "for example '0 0 0 * * *'; got %r" % (cron,))
    return " ".join(cron.split())


def role_for_actions(actions):
    """(role name, exact) for a set of model actions: read -> guest, +write -> developer,
    +delete -> maintainer, admin -> projectAdmin. As in the model, write and delete include
    read. ``exact`` is False when the role grants more than was asked (delete without write)."""
    actions = set(actions)
    unknown = actions - set(ACTIONS)
    if unknown:
        raise InvalidParameterError("unknown action(s) %s; expected some of %s" % (
            ", ".join(sorted(unknown)), ", ".join(ACTIONS)))
    if actions & {"write", "delete"}:
        actions.add("read")
    if "admin" in actions:
        return "projectAdmin", True
    if "delete" in actions:
        return "maintainer", actions == {"read", "write", "delete"}
    if "write" in actions:
        return "developer", actions == {"read", "write"}
    if "read" in actions:
        return "guest", True
    return None, True


def quote_repository(name):
    """Harbor wants a repository name encoded twice in a path: a/b -> a%252Fb."""
    return quote(quote(name, safe=""), safe="")


def robot_names(name, level, project=None, prefix="robot$"):
    """(short name to create with, full name Harbor shows) from any spelling the user gives:
    ``ci``, ``robot$ci``, ``proj+ci`` or ``robot$proj+ci``."""
    short = name
    for known in (prefix, "robot$"):  # the configured prefix, or Harbor's default one
        if known and short.startswith(known):
            short = short[len(known):]
            break
    if level == "project":
        if not project:
            raise InvalidParameterError("a project-level robot account needs a project")
        if short.startswith(project + "+"):
            short = short[len(project) + 1:]
        full = "%s%s+%s" % (prefix, project, short)
    else:
        full = prefix + short
    if not ROBOT_NAME_RE.match(short):
        raise InvalidParameterError(
            "robot name %r is not valid: lower-case letters and digits separated by '.', '_' or '-' "
            "(the %r prefix and the '<project>+' part are added by Harbor)" % (name, prefix))
    return short, full


def _id_from_location(response):
    location = response.headers.get("Location") or ""
    match = re.search(r"/(\d+)/?$", location)
    if not match:
        raise OciRegistryError("Harbor answered %s without the new resource's id in Location (%r)"
                               % (response.status_code, location))
    return int(match.group(1))


# -- decorators: "not found" handled once -----------------------------------------------------
def none_on_404(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except RegistryHTTPError as exc:
            if exc.status == 404:
                return None
            raise
    return wrapper


def ignore_404(func):
    """Deletes are idempotent: a resource that is already gone is fine."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except RegistryHTTPError as exc:
            if exc.status == 404:
                return False
            raise
    return wrapper


class HarborApi(ReplicationApiMixin):
    """One method per Harbor API call."""

    def __init__(self, client):
        self.client = client

    # plumbing
    def _get(self, path, params=None, headers=None):
        return self.client.get_json(API + path, params=params, headers=headers)

    def _list(self, path, params=None):
        return list(self.client.paginate(API + path, params=params, page_size=PAGE_SIZE))

    def _write(self, method, path, body=None, expected=(200,), headers=None):
        data = None if body is None else json.dumps(body)
        all_headers = dict(JSON if body is not None else {}, **(headers or {}))
        response = self.client.request(method, API + path, expected=expected, data=data, headers=all_headers)
        response.close()
        return response

    # system
    def systeminfo(self):
        return self._get("/systeminfo")

    def health(self):
        return self.client.get_json(API + "/health", auth=False)

    def configurations(self):
        return self._get("/configurations")

    def update_configurations(self, values):
        self._write("PUT", "/configurations", values)

    # projects
    @none_on_404
    def get_project(self, name):
        return self._get("/projects/%s" % quote(name, safe=""), headers=BY_NAME)

    def project_exists(self, name):
        response = self.client.request("HEAD", API + "/projects", params={"project_name": name}, expected=(200, 404))
        response.close()
        return response.status_code == 200

    def list_projects(self, **params):
        return self._list("/projects", params=params or None)

    # webhook policies of a project (by project id)
    def list_webhook_policies(self, project_id):
        return self._list("/projects/%d/webhook/policies" % project_id)

    def create_webhook_policy(self, project_id, policy):
        return _id_from_location(self._write("POST", "/projects/%d/webhook/policies" % project_id, policy,
                                             expected=(201,)))

    def update_webhook_policy(self, project_id, policy_id, policy):
        self._write("PUT", "/projects/%d/webhook/policies/%d" % (project_id, policy_id), policy)

    def delete_webhook_policy(self, project_id, policy_id):
        self._write("DELETE", "/projects/%d/webhook/policies/%d" % (project_id, policy_id))

    def create_project(self, body):
        return _id_from_location(self._write("POST", "/projects", body, expected=(201,)))

    def update_project(self, project_id, body):
        self._write("PUT", "/projects/%d" % project_id, body)

    def delete_project(self, project_id, name=None):
        try:
            self._write("DELETE", "/projects/%d" % project_id)
        except RegistryHTTPError as exc:
            if exc.status == 412:
                raise ProjectNotEmptyError(
                    "Harbor refused to delete project %r because it still holds content (HTTP 412): delete its "
                    "repositories first, or set force=true to have them deleted" % (name or project_id),
                    status=412, registry_errors=exc.errors)
            raise

    def list_repositories(self, project_name):
        return self._list("/projects/%s/repositories" % quote(project_name, safe=""))

    @ignore_404
    def delete_repository(self, project_name, repository):
        path = "/projects/%s/repositories/%s" % (quote(project_name, safe=""), quote_repository(repository))
        self._write("DELETE", path)
        return True

    # quotas
    def project_quota(self, project_id):
        quotas = self._list("/quotas", params={"reference": "project", "reference_id": str(project_id)})
        return quotas[0] if quotas else None

    def update_quota(self, quota_id, storage_bytes):
        self._write("PUT", "/quotas/%d" % quota_id, {"hard": {"storage": storage_bytes}})

    # members
    def list_members(self, project_id):
        return self._list("/projects/%d/members" % project_id)

    def add_member(self, project_id, role_id, username=None, group_id=None):
        body = {"role_id": role_id}
        if username is not None:
            body["member_user"] = {"username": username}
        else:
            body["member_group"] = {"id": group_id}
        return _id_from_location(self._write("POST", "/projects/%d/members" % project_id, body, expected=(201,)))

    def update_member(self, project_id, member_id, role_id):
        self._write("PUT", "/projects/%d/members/%d" % (project_id, member_id), {"role_id": role_id})

    @ignore_404
    def delete_member(self, project_id, member_id):
        self._write("DELETE", "/projects/%d/members/%d" % (project_id, member_id))
        return True

    def list_usergroups(self, group_name=None):
        return self._list("/usergroups", params={"group_name": group_name} if group_name else None)

    # users
    def find_user(self, name):
        """The user called ``name``, or None. Harbor's user list never shows the built-in admin
        (user id 1), so that one is read by its id."""
        for user in self._list("/users", params={"q": "username=%s" % name}):
            if user.get("username") == name:
                return user
        builtin = self.get_user(BUILTIN_ADMIN_ID)
        if builtin is not None and builtin.get("username") == name:
            return builtin
        return None

    @none_on_404
    def get_user(self, user_id):
        return self._get("/users/%d" % user_id)

    def list_users(self):
        return self._list("/users")

    def create_user(self, body):
        return _id_from_location(self._write("POST", "/users", body, expected=(201,)))

    def update_user_profile(self, user_id, body):
        self._write("PUT", "/users/%d" % user_id, body)

    def set_sysadmin(self, user_id, flag):
        self._write("PUT", "/users/%d/sysadmin" % user_id, {"sysadmin_flag": bool(flag)})

    def set_password(self, user_id, new_password, old_password=None):
        """Harbor asks a user who changes his own password for the current one (old_password)."""
        body = {"new_password": new_password}
        if old_password is not None:
            body["old_password"] = old_password
        self._write("PUT", "/users/%d/password" % user_id, body)

    @ignore_404
    def delete_user(self, user_id):
        self._write("DELETE", "/users/%d" % user_id)
        return True

    def password_works(self, username, password):
        """True when Harbor accepts ``username``/``password`` (GET /users/current as that user)."""
        response = self.client.session.request(
            "GET", self.client.url(API + "/users/current"), auth=(username, password),
            timeout=self.client.options.timeout, headers={"Accept": "application/json"})
        response.close()
        if response.status_code in (200, 401, 403):
            return response.status_code == 200
        raise RegistryHTTPError("GET", response.url, response.status_code)

    # robots
    def list_robots(self, level, project_id=None):
        query = "Level=%s" % level
        if project_id is not None:
            query += ",ProjectID=%d" % project_id
        return self._list("/robots", params={"q": query})

    @none_on_404
    def get_robot(self, robot_id):
        return self._get("/robots/%d" % robot_id)

    def create_robot(self, body):
        response = self.client.request("POST", API + "/robots", expected=(201,), data=json.dumps(body), headers=JSON)
        return response.json()

    def update_robot(self, robot_id, body):
        self._write("PUT", "/robots/%d" % robot_id, body)

    def refresh_robot_secret(self, robot_id, secret=None):
        response = self.client.request("PATCH", API + "/robots/%d" % robot_id, expected=(200,),
                                       data=json.dumps({"secret": secret} if secret else {}), headers=JSON)
        return (response.json() or {}).get("secret") or secret

    @ignore_404
    def delete_robot(self, robot_id):
        self._write("DELETE", "/robots/%d" % robot_id)
        return True

    # retention
    @none_on_404
    def get_retention(self, retention_id):
        return self._get("/retentions/%d" % retention_id)

    def create_retention(self, policy):
        return _id_from_location(self._write("POST", "/retentions", policy, expected=(201,)))

    def update_retention(self, retention_id, policy):
        self._write("PUT", "/retentions/%d" % retention_id, policy)

    @ignore_404
    def delete_retention(self, retention_id):
        self._write("DELETE", "/retentions/%d" % retention_id)
        return True

    def list_retention_executions(self, retention_id):
        return self._list("/retentions/%d/executions" % retention_id)

    def trigger_retention_execution(self, retention_id, dry_run=False):
        """Start a manual execution; its id (from Location), or None when Harbor answered without one."""
        response = self._write("POST", "/retentions/%d/executions" % retention_id, {"dry_run": bool(dry_run)},
                               expected=(200, 201))
        location = (response.headers.get("Location") or "").rstrip("/").rsplit("/", 1)[-1]
        return int(location) if location.isdigit() else None

    def list_retention_tasks(self, retention_id, execution_id):
        return self._list("/retentions/%d/executions/%d/tasks" % (retention_id, execution_id))

    # garbage collection
    def gc_schedule(self):
        response = self.client.request("GET", API + "/system/gc/schedule")
        if not response.content or not response.content.strip():
            return None
        data = response.json()
        return data if data and data.get("schedule") else None

    def create_gc_schedule(self, body):
        return self._write("POST", "/system/gc/schedule", body, expected=(201,))

    def update_gc_schedule(self, body):
        self._write("PUT", "/system/gc/schedule", body)

    def run_gc(self, parameters):
        response = self.create_gc_schedule({"schedule": {"type": "Manual"}, "parameters": parameters})
        return _id_from_location(response)

    def get_gc(self, gc_id):
        return self._get("/system/gc/%d" % gc_id)

    def gc_history(self):
        return self._list("/system/gc", params={"sort": "-creation_time"})

    def gc_log(self, gc_id):
        return self.client.request("GET", API + "/system/gc/%d/log" % gc_id).text


# -- conversions between the collection's model and Harbor's objects ----------------------
def retention_policy(project_id, retention, cron=DEFAULT_RETENTION_CRON):
    """The /retentions policy for ``{keep_tags, max_age_days}``: either rule retains (algorithm "or")."""
    rules = []
    for template, value in (("latestPushedK", retention.get("keep_tags")),
                            ("nDaysSinceLastPush", retention.get("max_age_days"))):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidParameterError("retention %s must be a positive integer, got %r" % (
                "keep_tags" if template == "latestPushedK" else "max_age_days", value))
        rules.append({
            "disabled": False,
            "action": "retain",
            "template": template,
            "params": {template: value},
            "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "**"}],
            "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches",
                                                "pattern": "**"}]},
        })
    return {"algorithm": "or", "rules": rules, "scope": {"level": "project", "ref": project_id},
            "trigger": {"kind": "Schedule", "settings": {"cron": check_cron(cron)}, "references": {}}}


def retention_from_policy(policy):
    """``({keep_tags, max_age_days}, cron)`` of a policy this collection wrote, or (None, None) for none.
    A policy with rules of other shapes is returned as ``{"unmanaged": True}`` so it compares unequal."""
    if not policy or not policy.get("rules"):
        return None, None
    result = {"keep_tags": None, "max_age_days": None}
    for rule in policy["rules"]:
        template = rule.get("template")
        key = {"latestPushedK": "keep_tags", "nDaysSinceLastPush": "max_age_days"}.get(template)
        selectors = rule.get("tag_selectors") or []
        plain = (not rule.get("disabled") and rule.get("action") == "retain" and len(selectors) == 1
                 and selectors[0].get("pattern") == "**" and selectors[0].get("decoration") == "matches")
        if key is None or not plain or result[key] is not None:
            return {"unmanaged": True}, None
        result[key] = (rule.get("params") or {}).get(template)
    cron = ((policy.get("trigger") or {}).get("settings") or {}).get("cron")
    return result, cron


def robot_permissions(permissions, level, project=None):
    """Harbor RobotPermission list from the module's permissions (defaults filled in)."""
    result = []
    for perm in permissions or []:
        kind = perm.get("kind") or ("project" if level == "project" else None)
        namespace = perm.get("namespace")
        if level == "project":
            if kind != "project" or namespace not in (None, project):
                raise InvalidParameterError("a project-level robot account only has permissions in its own "
                                            "project %r" % project)
            namespace = project
        if kind is None:
            kind = "system" if namespace == "/" else "project"
        if kind == "system":
            namespace = "/"
        if not namespace:
            raise InvalidParameterError("permission of kind %s needs a namespace (a project name or '*')" % kind)
        access = []
        for item in perm.get("access") or []:
            if not item.get("resource") or not item.get("action"):
                raise InvalidParameterError("every access entry needs a resource and an action, got %r" % (item,))
            access.append({"resource": item["resource"], "action": item["action"],
                           "effect": item.get("effect") or "allow"})
        if not access:
            raise InvalidParameterError("permission %s:%s lists no access" % (kind, namespace))
        result.append({"kind": kind, "namespace": namespace, "access": access})
    if level == "project" and len(result) != 1:
        raise InvalidParameterError("a project-level robot account takes exactly one permission entry")
    if not result:
        raise InvalidParameterError("a robot account needs at least one permission")
    return result


WEBHOOK_EVENTS = {"push": "PUSH_ARTIFACT", "pull": "PULL_ARTIFACT", "delete": "DELETE_ARTIFACT"}
WEBHOOK_DESCRIPTION = "managed by provisioning.oci_registry"


def webhook_address(url, where="url"):
    """The address as Harbor stores it, or an error when Harbor would change what it means.

    Harbor parses a target's address (spaces and trailing '/' trimmed) and keeps only
    ``scheme://host`` + path (src/server/v2.0/handler/webhook.go, validateTargets; "Prevent SSRF"):
    a query string, a fragment or user info would be dropped silently, and with them a token.
    Those are refused; the rest is compared in the form Harbor keeps."""
    if not isinstance(url, str) or not url.strip(" ").startswith(("http://", "https://")):
        raise InvalidParameterError("%s: %r must be an http or https URL" % (where, url))
    parts = urlsplit(url.strip(" ").rstrip("/"))
    lost = [what for what, present in (("a query string", parts.query or "?" in url),
                                       ("a fragment", parts.fragment or "#" in url),
                                       ("user info", "@" in parts.netloc)) if present]
    if lost:
        raise InvalidParameterError(
            "%s: %r has %s, which Harbor drops (it keeps only scheme, host and path of a webhook address); put a "
            "token in headers.Authorization instead" % (where, url, " and ".join(lost)))
    if not parts.hostname:
        raise InvalidParameterError("%s: %r names no host" % (where, url))
    return "%s://%s%s" % (parts.scheme, parts.netloc, unquote(parts.path))


def webhook_policies(webhooks):
    """{name: Harbor policy body} from oci_registry_webhooks entries ({name, url, headers, events})."""
    out = {}
    for index, hook in enumerate(webhooks):
        where = "webhooks[%d]" % index
        if hook["name"] in out:
            raise InvalidParameterError("%s.name: %r is listed twice" % (where, hook["name"]))
        address = webhook_address(hook["url"], where + ".url")
        headers = dict(hook.get("headers") or {})
        auth = None
        for key in list(headers):
            if key.lower() == "authorization":
                auth = str(headers.pop(key))
        if headers:
            raise InvalidParameterError("%s.headers: Harbor sends only an Authorization header with a webhook; "
                                        "it cannot send %s" % (where, ", ".join(sorted(headers))))
        target = {"type": "http", "address": address, "skip_cert_verify": False}
        if auth:
            target["auth_header"] = auth
        out[hook["name"]] = {"name": hook["name"], "description": WEBHOOK_DESCRIPTION,
                             "targets": [target], "enabled": True,
                             "event_types": sorted(WEBHOOK_EVENTS[e] for e in set(hook.get("events") or []))}
    return out


def webhook_comparable(policy):
    """A policy in a form that compares as Harbor stores it. Harbor's models leave false booleans
    and empty strings out of what GET returns (``skip_cert_verify: false`` comes back absent), so an
    absent flag is false and an absent string empty."""
    targets = [{"type": t.get("type") or "", "address": t.get("address") or "", "auth_header": t.get("auth_header") or "",
                "skip_cert_verify": bool(t.get("skip_cert_verify"))}
               for t in policy.get("targets") or []]
    return {"targets": targets, "event_types": sorted(policy.get("event_types") or []),
            "enabled": bool(policy.get("enabled", True)), "description": policy.get("description") or ""}


def webhook_masked(policy):
    view = webhook_comparable(policy)
    for target in view["targets"]:
        if target.get("auth_header"):
            target["auth_header"] = MASK
    return view


def permission_key(permissions):
    """Order-insensitive form of a RobotPermission list, for comparison."""
    return sorted((p.get("kind"), p.get("namespace"),
                   tuple(sorted((a.get("resource"), a.get("action"), a.get("effect") or "allow")
                                for a in p.get("access") or [])))
                  for p in permissions or [])


class HarborBackend(ReplicationBackendMixin, Backend):
    registry_type = "harbor"
    check_project_name = staticmethod(check_project_name)
    type_checks = staticmethod(type_checks)  # (mirrors, replications, namespaces) -> (errors, warnings)

    def __init__(self, client):
        super().__init__(client)
        # Harbor's CSRF check refuses writes that carry its session cookie: never keep one.
        client.session.cookies.set_policy(_NoCookies())
        _explain_forbidden(client)
        self.api = HarborApi(client)
        self._robot_prefix = None

    # -- health ------------------------------------------------------------------------
    def health_checks(self, runner, debug_url=None):
        state = {}

        def overall():
            data = self.client.get_json(API + "/health", auth=False)
            state["components"] = data.get("components") or []
            if data.get("status") != "healthy":
                raise OciRegistryError("Harbor reports status %r" % data.get("status"))
            return "healthy, %d components" % len(state["components"])

        runner.check("harbor_health", overall)
        for component in state.get("components", []):
            name = component.get("name", "?")

            def one(component=component):
                if component.get("status") != "healthy":
                    raise OciRegistryError("%s: %s" % (component.get("status"), component.get("error") or "no detail"))
                return "healthy"

            runner.check("harbor_component_%s" % name, one)

    def version(self):
        try:
            return self.client.get_json(API + "/systeminfo").get("harbor_version")
        except OciRegistryError:
            return None

    # -- projects (namespaces) -------------------------------------------------------------
    def project_state(self, name):
        """The namespace as the model sees it, or None. Internal ids under ``_``-keys."""
        project = self.api.get_project(check_project_name(name))
        if project is None:
            return None
        meta = project.get("metadata") or {}
        quota = self.api.project_quota(project["project_id"])
        storage = ((quota or {}).get("hard") or {}).get("storage")
        retention_id = int(meta["retention_id"]) if meta.get("retention_id") else None
        retention, cron = retention_from_policy(self.api.get_retention(retention_id) if retention_id else None)
        return {
            "name": project["name"],
            "public": meta.get("public") == "true",
            "quota_gb": None if storage is None else (-1 if storage < 0 else storage / float(GIB)),
            "retention": retention,
            "retention_cron": cron,
            "scan": scan_from_metadata(meta),
            "repositories": project.get("repo_count") or 0,
            "_project_id": project["project_id"],
            "_quota_id": (quota or {}).get("id"),
            "_retention_id": retention_id,
        }

    def ensure_project(self, name, public=False, quota_gb=None, retention=None, manage_retention=True,
                       retention_cron=DEFAULT_RETENTION_CRON, description=None, scan=None, check_mode=False):
        """Create or update a project. Returns (changed, before, after, warnings).

        ``quota_gb``: None leaves the quota alone, -1 is unlimited. ``retention``: None removes a
        retention policy (when ``manage_retention``), a dict sets it. ``description`` has no field
        in Harbor's project API (ProjectMetadata has no such key): it is reported as a warning."""
        warnings = []
        if quota_gb is not None and quota_gb != -1 and (isinstance(quota_gb, bool) or quota_gb <= 0):
            raise InvalidParameterError("quota_gb of %r must be a positive number of GiB or -1 (unlimited)" % name)
        if retention is not None and all(retention.get(k) is None for k in ("keep_tags", "max_age_days")):
            retention = None  # nothing to retain by: no policy
        if retention is not None:
            retention_policy(0, retention, retention_cron)  # validate before sending anything
        scan_meta = None if scan is None else scan_metadata(scan)  # validated before anything is sent
        before = self.project_state(name)
        if description and before is None:
            # Said once, when the project is created (or would be): not again on every later run.
            warnings.append("Harbor's project API has no description field; the description of %r is not stored "
                            "in Harbor" % name)
        want = {"name": name, "public": bool(public)}
        if quota_gb is not None:
            want["quota_gb"] = quota_gb
        if scan_meta is not None:
            want["scan"] = scan_from_metadata(scan_meta)
        if manage_retention:
            want["retention"] = _retention_view(retention)
            want["retention_cron"] = check_cron(retention_cron) if retention else None
        current = _public_view(before)
        after = dict(current or {}, **want)
        changed = current != after
        if not changed or check_mode:
            return changed, current, after, warnings
        if before is None:
            body = {"project_name": name, "metadata": dict(scan_meta or {}, public="true" if public else "false")}
            if quota_gb is not None:
                body["storage_limit"] = -1 if quota_gb == -1 else int(quota_gb * GIB)
            project_id = self.api.create_project(body)
            quota_id = None
            retention_id = None
        else:
            project_id = before["_project_id"]
            quota_id = before["_quota_id"]
            retention_id = before["_retention_id"]
            metadata = {}
            if before["public"] != bool(public):
                metadata["public"] = "true" if public else "false"
            if scan_meta is not None and before.get("scan") != want["scan"]:
                metadata.update(scan_meta)
            if metadata:
                self.api.update_project(project_id, {"metadata": metadata})
            if quota_gb is not None and before["quota_gb"] != quota_gb:
                if quota_id is None:
                    raise OciRegistryError("Harbor has no quota for project %r (is quota_per_project_enable off?)"
                                           % name)
                self.api.update_quota(quota_id, -1 if quota_gb == -1 else int(quota_gb * GIB))
        have = current or {}
        if manage_retention and (have.get("retention"), have.get("retention_cron")) != \
                (want["retention"], want["retention_cron"]):
            if retention is None:
                if retention_id:
                    self.api.delete_retention(retention_id)
            else:
                policy = retention_policy(project_id, retention, retention_cron)
                if retention_id:
                    self.api.update_retention(retention_id, policy)
                else:
                    self.api.create_retention(policy)
        return True, current, after, warnings

    def delete_project(self, name, force=False, check_mode=False):
        """Delete a project. Returns (changed, before, deleted_repositories)."""
        before = self.project_state(name)
        if before is None:
            return False, None, []
        repositories = [r["name"] for r in self.api.list_repositories(name)] if before["repositories"] else []
        if repositories and not force:
            raise ProjectNotEmptyError(
                "project %r still holds %d repositories (%s%s): set force=true to delete them with the project"
                % (name, len(repositories), ", ".join(repositories[:5]), ", ..." if len(repositories) > 5 else ""))
        if check_mode:
            return True, _public_view(before), repositories
        for repository in repositories:
            short = repository[len(name) + 1:] if repository.startswith(name + "/") else repository
            self.api.delete_repository(name, short)
        if before["_retention_id"]:
            self.api.delete_retention(before["_retention_id"])
        self.api.delete_project(before["_project_id"], name)
        return True, _public_view(before), repositories

    # -- members (policies) ----------------------------------------------------------------
    def desired_members(self, policies, managed_users, public=False):
        """{("u"|"g", name): role} and warnings from a namespace's policies.

        Subjects: user names, ``group:<name>``, ``authenticated`` (= every user in
        ``managed_users``) and ``anonymous`` (read = a public project; more cannot be expressed)."""
        grants = {}
        roles = {}  # targets whose policy asks for a Harbor role by name (harbor_role: limitedGuest)
        warnings = []
        for policy in policies or []:
            actions = set(policy.get("actions") or [])
            for subject in policy.get("subjects") or []:
                if subject == "anonymous":
                    if actions - {"read"}:
                        warnings.append("Harbor cannot give anonymous users %s; only read (a public project)"
                                        % ", ".join(sorted(actions - {"read"})))
                    if "read" in actions and not public:
                        warnings.append("anonymous read needs a public project; set public: true")
                    continue
                if subject == "authenticated":
                    targets = [("u", u) for u in managed_users]
                elif subject.startswith("group:"):
                    targets = [("g", subject[len("group:"):])]
                else:
                    targets = [("u", subject)]
                for target in targets:
                    grants.setdefault(target, set()).update(actions)
                    if policy.get("harbor_role"):
                        roles[target] = policy["harbor_role"]
        result = {}
        for target, actions in grants.items():
            role, exact = role_for_actions(actions)
            if role is None:
                continue
            if target in roles:
                if role != "guest":
                    raise InvalidParameterError(
                        "%s %r has harbor_role %s in one policy and %s in another: %s grants read only"
                        % ("group" if target[0] == "g" else "user", target[1], roles[target],
                           "+".join(a for a in ACTIONS if a in actions), roles[target]))
                role = roles[target]
            if not exact:
                warnings.append("Harbor has no role for exactly %s; %s %r gets %s, which grants more" % (
                    "+".join(a for a in ACTIONS if a in actions), "group" if target[0] == "g" else "user",
                    target[1], role))
            result[target] = role
        return result, warnings

    def current_members(self, project_id):
        return dict(((m["entity_type"], m["entity_name"]), m) for m in self.api.list_members(project_id))

    def ensure_members(self, project_name, desired, keep=(), purge=True, check_mode=False):
        """Make the project's members match ``desired`` ({(type, name): role name}).

        Members not in ``desired`` are removed when ``purge`` unless their name is in ``keep``
        (the connecting user, whose membership Harbor adds on creation). Returns
        (changed, before {"u:name": role}, after)."""
        project = self.api.get_project(check_project_name(project_name))
        if project is None:
            raise OciRegistryError("project %r does not exist in Harbor" % project_name)
        pid = project["project_id"]
        current = self.current_members(pid)
        before = dict(("%s:%s" % k, ROLE_NAMES.get(m["role_id"], m["role_id"])) for k, m in current.items())
        after = dict(before)
        plan = []
        for key, role in sorted(desired.items()):
            member = current.get(key)
            if member is None:
                plan.append(("add", key, role))
            elif member["role_id"] != ROLE_IDS[role]:
                plan.append(("update", member, role))
            after["%s:%s" % key] = role
        if purge:
            for key, member in sorted(current.items()):
                if key not in desired and key[1] not in keep:
                    plan.append(("delete", member, None))
                    after.pop("%s:%s" % key, None)
        if plan and not check_mode:
            groups = None
            for action, target, role in plan:
                if action == "add":
                    if target[0] == "u":
                        self.api.add_member(pid, ROLE_IDS[role], username=target[1])
                    else:
                        if groups is None:
                            groups = dict((g["group_name"], g["id"]) for g in self.api.list_usergroups())
                        if target[1] not in groups:
                            raise OciRegistryError("group %r is not known to Harbor: groups come from LDAP, OIDC "
                                                   "or an HTTP auth proxy and must exist before they get a role"
                                                   % target[1])
                        self.api.add_member(pid, ROLE_IDS[role], group_id=groups[target[1]])
                elif action == "update":
                    self.api.update_member(pid, target["id"], ROLE_IDS[role])
                else:
                    self.api.delete_member(pid, target["id"])
        return bool(plan), before, after

    # -- users -----------------------------------------------------------------------------
    def user_state(self, name):
        user = self.api.find_user(check_user_name(name))
        if user is None:
            return None
        return {"name": user["username"], "admin": bool(user.get("sysadmin_flag")), "_user_id": user["user_id"],
                "_email": user.get("email") or "", "_realname": user.get("realname") or "",
                "_comment": user.get("comment") or ""}

    def ensure_user(self, name, password=None, admin=False, update_password="on_create", email=None,
                    realname=None, check_mode=False):
        """Create or update a local Harbor user. Returns (changed, before, after, password_changed).

        ``email``: Harbor requires one; None keeps an existing user's and derives one for a new user
        (:func:`derive_email`). The built-in admin (user id 1) is always a system admin: only its
        password (and e-mail) can be managed."""
        if update_password not in ("on_create", "always"):
            raise InvalidParameterError("update_password must be on_create or always")
        if password is not None:
            check_password(password, "password of user %r" % name)
        if email is not None:
            check_email(email, "email of user %r" % name)
        if realname is not None and (_ILLEGAL_USER_CHARS.search(realname) or not 1 <= len(realname) <= 255):
            raise InvalidParameterError("realname of user %r: 1-255 characters, none of , \" ~ # $ %%" % name)
        before = self.user_state(name)
        public_before = None if before is None else {"name": before["name"], "admin": before["admin"]}
        after = {"name": name, "admin": bool(admin)}
        if before is None:
            if password is None:
                raise InvalidParameterError("user %r does not exist in Harbor and no password was given" % name)
            if not check_mode:
                user_id = self.api.create_user({"username": name, "password": password,
                                                "realname": realname or name,
                                                "email": email or derive_email(name)})
                if admin:
                    self.api.set_sysadmin(user_id, True)
            return True, public_before, after, True
        builtin = before["_user_id"] == BUILTIN_ADMIN_ID
        if builtin and not admin:
            raise InvalidParameterError(
                "user %r is Harbor's built-in admin (user id 1), always a system administrator: set admin: true "
                "for it (only its password and email can be managed)" % name)
        changed = before["admin"] != bool(admin)
        profile_changed = email is not None and email != before["_email"]
        password_changed = False
        if password is not None and update_password == "always" and name != self.client.options.username:
            password_changed = not self.api.password_works(name, password)
        elif password is not None and update_password == "always":
            password_changed = password != self.client.options.password
        if not check_mode:
            if before["admin"] != bool(admin):
                self.api.set_sysadmin(before["_user_id"], bool(admin))
            if profile_changed:
                self.api.update_user_profile(before["_user_id"], {
                    "email": email, "realname": before["_realname"] or name, "comment": before["_comment"]})
            if password_changed:
                own = name == self.client.options.username
                # Harbor checks old_password when users change their own password
                # (PUT /users/{id}/password, UpdateUserPassword)
                self.api.set_password(before["_user_id"], password,
                                      old_password=self.client.options.password if own else None)
                if own:
                    self.client.options.password = password  # later calls of this run log in with it
        return changed or password_changed or profile_changed, public_before, after, password_changed

    def delete_user(self, name, check_mode=False):
        before = self.user_state(name)
        if before is None:
            return False, None
        if before["_user_id"] == BUILTIN_ADMIN_ID:
            raise InvalidParameterError(
                "user %r is Harbor's built-in admin (user id 1), which Harbor never deletes: drop state: absent for "
                "it (its password can be rotated with state: present and update_password: always)" % name)
        if name == self.client.options.username:
            raise InvalidParameterError("refusing to delete %r, the user this module connects as" % name)
        if not check_mode:
            self.api.delete_user(before["_user_id"])
        return True, {"name": before["name"], "admin": before["admin"]}

    # -- the collection's access-model interface (see _backend.Backend) -------------------
    # Harbor mapping: namespace -> project, users -> local users (/users), policies -> project
    # members with roles, anonymous read -> a public project. Harbor has no project
    # description: it is reported in warnings and shown as None.
    def _keep_members(self):
        return tuple(n for n in (self.client.options.username,) if n)

    def user_get(self, name):
        state = self.user_state(name)
        return None if state is None else {"name": state["name"], "admin": state["admin"]}

    def namespace_names(self):
        return sorted(p["name"] for p in self.api.list_projects())

    def gc_settings(self):
        """Harbor's own shape (its gc/schedule API); the harbor role does not set one."""
        schedule = (self.api.gc_schedule() or {}).get("schedule") or {}
        return {"schedule": {"type": schedule.get("type"), "cron": schedule.get("cron")}}

    def user_names(self):
        """Local users except Harbor's built-in admin (id 1) and the user this module connects as."""
        keep = set(self._keep_members())
        return sorted(u["username"] for u in self.api.list_users()
                      if u.get("user_id") != 1 and u.get("username") not in keep)

    def user_ensure(self, user, update_password="on_create", check_mode=False):
        changed, before, after, password_changed = self.ensure_user(
            user["name"], password=user.get("password"), admin=bool(user.get("admin")),
            update_password=update_password, email=user.get("email"), realname=user.get("realname"),
            check_mode=check_mode)
        return AccessChange(changed=changed, before=before, after=after, password_changed=password_changed)

    def user_remove(self, name, check_mode=False):
        changed, before = self.delete_user(name, check_mode=check_mode)
        return AccessChange(changed=changed, before=before, after=None)

    def namespace_get(self, name):
        state = self.project_state(name)
        if state is None:
            return None
        return dict(self._namespace_view(state), policies=self.policies_get(name) or [])

    @staticmethod
    def _namespace_view(state):
        quota = state.get("quota_gb")  # GiB, -1 unlimited, None when Harbor keeps no quota
        if quota is not None and quota == int(quota):
            quota = int(quota)
        return {"name": state["name"], "description": None, "public": state["public"],
                "retention": state["retention"], "quota_gb": quota, "scan": state.get("scan")}

    def namespace_ensure(self, namespace, check_mode=False):
        """Project, public flag, quota (``quota_gb``: GiB, -1 = unlimited, None = left as it is)
        and retention (None removes a retention policy)."""
        quota = namespace.get("quota_gb")
        public = bool(namespace.get("public"))
        warnings = []
        if not public and _anonymous_read(namespace.get("policies")):
            # Harbor grants anonymous read only through the project's public flag, which oci_policy sets
            # for such a policy: the namespace is public, or the two tasks would flip the flag on every run.
            public = True
            warnings.append("namespace %r has public: false and a policy that gives anonymous read: Harbor can "
                            "grant anonymous read only by making the project public, so it is public (set public: "
                            "true, or drop the anonymous policy)" % namespace["name"])
        changed, before, after, more = self.ensure_project(
            namespace["name"], public=public, quota_gb=quota,
            retention=namespace.get("retention"), manage_retention="retention" in namespace,
            description=namespace.get("description"), scan=namespace.get("scan"), check_mode=check_mode)
        return AccessChange(changed=changed, before=self._namespace_or_none(before),
                            after=self._namespace_or_none(after), warnings=warnings + more)

    def _namespace_or_none(self, state):
        if state is None:
            return None
        return self._namespace_view(dict(dict(retention=None, quota_gb=None, scan=None), **state))

    def namespace_remove(self, name, force=False, check_mode=False):
        changed, before, repositories = self.delete_project(name, force=force, check_mode=check_mode)
        return AccessChange(changed=changed, before=self._namespace_or_none(before), after=None,
                            deleted_repositories=repositories)

    def policies_get(self, namespace):
        project = self.api.get_project(check_project_name(namespace))
        if project is None:
            return None
        keep = set(self._keep_members())
        by_role = {}
        for member in self.api.list_members(project["project_id"]):
            if member.get("entity_type") == "u" and member.get("entity_name") in keep:
                continue
            role = ROLE_NAMES.get(member.get("role_id"))
            subject = member["entity_name"] if member.get("entity_type") == "u" else "group:" + member["entity_name"]
            by_role.setdefault(role, []).append(subject)
        policies = []
        if (project.get("metadata") or {}).get("public") == "true":
            policies.append({"subjects": ["anonymous"], "actions": ["read"]})
        for role in ("guest", "limitedGuest", "developer", "maintainer", "projectAdmin"):
            if by_role.get(role):
                policy = {"subjects": sorted(by_role[role]), "actions": list(ROLE_ACTIONS[role])}
                if role == "limitedGuest":
                    # read, as guest, but a distinct role: exported so that applying it again keeps it
                    policy["harbor_role"] = role
                policies.append(policy)
        return policies

    def policies_ensure(self, namespace, policies, managed_users=None, check_mode=False):
        """Project members exactly as ``policies`` say (the connecting user's own membership is
        kept). Anonymous read makes the project public; it never makes one private (the
        namespace's ``public`` flag does that)."""
        project = self.api.get_project(check_project_name(namespace))
        anonymous_read = _anonymous_read(policies)
        uses_authenticated = any("authenticated" in (p.get("subjects") or []) for p in policies or [])
        desired, warnings = self.desired_members(policies, list(managed_users or []), public=True)
        if uses_authenticated and not managed_users:
            warnings.append("policy subject 'authenticated' on %r names no user: Harbor has no such subject, so "
                            "the role goes to every managed user, and none was given" % namespace)
        keep = self._keep_members()
        desired = dict((k, v) for k, v in desired.items() if not (k[0] == "u" and k[1] in keep))
        if project is None:
            if not check_mode:
                raise OciRegistryError("project %r does not exist in Harbor: create the namespace first "
                                       "(provisioning.oci_registry.oci_namespace)" % namespace)
            # Check mode before the namespace exists (init.yml's preflight on a new Harbor, or --check
            # of a namespace the same run would create): every grant would be new.
            after = dict(("%s:%s" % k, role) for k, role in sorted(desired.items()))
            return AccessChange(changed=True, before=None,
                                after={"public": anonymous_read, "members": after}, warnings=warnings)
        public = (project.get("metadata") or {}).get("public") == "true"
        changed, before, after = self.ensure_members(namespace, desired, keep=keep, purge=True,
                                                     check_mode=check_mode)
        make_public = anonymous_read and not public
        if make_public and not check_mode:
            self.api.update_project(project["project_id"], {"metadata": {"public": "true"}})
        return AccessChange(changed=changed or make_public,
                            before={"public": public, "members": before},
                            after={"public": public or anonymous_read, "members": after},
                            warnings=warnings)

    # -- robots ----------------------------------------------------------------------------
    def robot_prefix(self):
        """The configured robot name prefix (robot$ unless changed in Harbor's configuration)."""
        if self._robot_prefix is None:
            try:
                value = (self.api.configurations().get("robot_name_prefix") or {}).get("value")
            except RegistryHTTPError as exc:
                if exc.status not in (401, 403, 404):
                    raise
                value = None
            self._robot_prefix = value or "robot$"
        return self._robot_prefix

    def robot_full_name(self, name, level="project", project=None):
        return robot_names(name, level, project, self.robot_prefix())[1]

    def find_robot(self, name, level="project", project=None):
        """(robot or None, short name, full name, project id)."""
        prefix = self.robot_prefix()
        short, full = robot_names(name, level, project, prefix)
        project_id = None
        if level == "project":
            found = self.api.get_project(check_project_name(project))
            if found is None:
                raise OciRegistryError("project %r does not exist in Harbor" % project)
            project_id = found["project_id"]
        for robot in self.api.list_robots(level, project_id):
            if robot.get("name") == full:
                return robot, short, full, project_id
        return None, short, full, project_id

    @staticmethod
    def robot_view(robot):
        if robot is None:
            return None
        return {"id": robot.get("id"), "name": robot.get("name"), "level": robot.get("level"),
                "description": robot.get("description") or "", "disable": bool(robot.get("disable")),
                "duration": robot.get("duration"), "expires_at": robot.get("expires_at"),
                "permissions": sorted(
                    ({"kind": p.get("kind"), "namespace": p.get("namespace"),
                      "access": sorted(({"resource": a.get("resource"), "action": a.get("action"),
                                         "effect": a.get("effect") or "allow"} for a in p.get("access") or []),
                                       key=lambda a: (a["resource"], a["action"], a["effect"]))}
                     for p in robot.get("permissions") or []),
                    key=lambda p: (p["kind"], p["namespace"]))}

    def ensure_robot(self, name, level="project", project=None, permissions=None, description="", duration=-1,
                     disable=False, secret=None, update_secret="on_create", regenerate_secret=False,
                     check_mode=False):
        """Create or update a robot account. Returns dict(changed, before, after, secret, secret_changed).

        ``secret`` is only returned when it was set or generated by this call."""
        if secret is not None:
            check_password(secret, "robot secret")
        if duration is None or isinstance(duration, bool) or not (duration == -1 or duration > 0):
            raise InvalidParameterError("duration must be -1 (never expires) or a positive number of days, got %r"
                                        % (duration,))
        if update_secret not in ("on_create", "always"):
            raise InvalidParameterError("update_secret must be on_create or always")
        perms = robot_permissions(permissions, level, project)
        robot, short, full, _project_id = self.find_robot(name, level, project)
        before = self.robot_view(robot)
        desired = {"description": description or "", "disable": bool(disable), "duration": duration,
                   "permissions": perms}
        result = {"changed": False, "before": before, "secret": None, "secret_changed": False}
        if robot is None:
            after = self.robot_view(dict(desired, name=full, level=level, id=None, expires_at=None))
            result.update(changed=True, after=after, secret_changed=True)
            if check_mode:
                return result
            body = dict(desired, name=short, level=level)
            if secret:
                body["secret"] = secret
            created = self.api.create_robot(body)
            new_secret = created.get("secret")
            if secret and new_secret != secret:
                new_secret = self.api.refresh_robot_secret(created["id"], secret)
            made = self.api.get_robot(created["id"])
            if made is not None and bool(made.get("disable")) != desired["disable"]:
                # Harbor's CreateRobot does not read "disable" (it builds the robot from name,
                # description, duration, level and permissions): a disabled robot takes an update
                self.api.update_robot(created["id"], dict(desired, name=made["name"], level=made["level"]))
                made = self.api.get_robot(created["id"])
            result["after"] = self.robot_view(made) or dict(after, id=created["id"])
            result["secret"] = new_secret
            return result
        same = (before["description"] == desired["description"] and before["disable"] == desired["disable"]
                and before["duration"] == desired["duration"]
                and permission_key(robot.get("permissions")) == permission_key(perms))
        rotate = regenerate_secret or (secret is not None and update_secret == "always")
        after = self.robot_view(dict(robot, **desired))
        result.update(changed=not same or rotate, after=after, secret_changed=rotate)
        if check_mode:
            return result
        if not same:
            self.api.update_robot(robot["id"], dict(desired, name=robot["name"], level=robot["level"]))
        if rotate:
            result["secret"] = self.api.refresh_robot_secret(robot["id"], None if regenerate_secret and not secret
                                                             else secret)
        if not same:
            result["after"] = self.robot_view(self.api.get_robot(robot["id"])) or after
        return result

    def delete_robot(self, name, level="project", project=None, check_mode=False):
        robot, _short, _full, _pid = self.find_robot(name, level, project)
        if robot is None:
            return False, None
        if not check_mode:
            self.api.delete_robot(robot["id"])
        return True, self.robot_view(robot)

    # -- webhook policies ------------------------------------------------------------------
    @staticmethod
    def webhook_policies(webhooks):
        return webhook_policies(webhooks)

    def webhooks_ensure(self, namespace, wanted, exclusive=False, check_mode=False):
        """Make the project's webhook policies match ``wanted`` ({name: body} of :func:`webhook_policies`).

        Returns (entry {name, created, updated, deleted}, before, after), views masked."""
        project = self.api.get_project(check_project_name(namespace))
        if project is None:
            raise OciRegistryError("Harbor project %r does not exist (create it with oci_namespace first)" % namespace)
        project_id = project["project_id"]
        current = dict((p["name"], p) for p in self.api.list_webhook_policies(project_id))
        entry = {"name": namespace, "created": [], "updated": [], "deleted": []}
        for name, body in sorted(wanted.items()):
            if name not in current:
                entry["created"].append(name)
                if not check_mode:
                    self.api.create_webhook_policy(project_id, body)
            elif webhook_comparable(current[name]) != webhook_comparable(body):
                entry["updated"].append(name)
                if not check_mode:
                    self.api.update_webhook_policy(project_id, current[name]["id"], body)
        if exclusive:
            for name in sorted(set(current) - set(wanted)):
                entry["deleted"].append(name)
                if not check_mode:
                    self.api.delete_webhook_policy(project_id, current[name]["id"])
        kept = dict((n, p) for n, p in current.items() if not (exclusive and n not in wanted))
        kept.update(wanted)
        before = dict((n, webhook_masked(p)) for n, p in sorted(current.items()))
        after = dict((n, webhook_masked(p)) for n, p in sorted(kept.items()))
        return entry, before, after

    # -- garbage collection ----------------------------------------------------------------
    def gc_schedule_state(self):
        """{"type": ..., "cron": ..., "parameters": {...}} or None when no schedule is set."""
        data = self.api.gc_schedule()
        if not data:
            return None
        schedule = data.get("schedule") or {}
        try:
            parameters = json.loads(data.get("job_parameters") or "{}")
        except ValueError:
            parameters = {}
        return {"type": schedule.get("type"), "cron": schedule.get("cron"), "parameters": parameters}

    def ensure_gc_schedule(self, cron=None, delete_untagged=True, workers=1, check_mode=False):
        """Schedule GC with a six-field cron, or cancel it with ``cron=None``. Returns (changed, before, after)."""
        if not 1 <= int(workers) <= 10:
            raise InvalidParameterError("workers must be between 1 and 10 (Harbor's limit), got %d" % workers)
        before = self.gc_schedule_state()
        if cron is None:
            after = None
            changed = before is not None and before.get("type") not in (None, "None")
        else:
            after = {"type": "Custom", "cron": check_cron(cron),
                     "parameters": {"delete_untagged": bool(delete_untagged), "workers": int(workers)}}
            changed = before is None or before.get("type") != "Custom" or before.get("cron") != after["cron"] or \
                dict((k, (before.get("parameters") or {}).get(k)) for k in after["parameters"]) != after["parameters"]
        if changed and not check_mode:
            if after is None:
                self.api.update_gc_schedule({"schedule": {"type": "None"}})
            else:
                body = {"schedule": {"type": "Custom", "cron": after["cron"]}, "parameters": after["parameters"]}
                if before is None:
                    self.api.create_gc_schedule(body)
                else:
                    self.api.update_gc_schedule(body)
        return changed, before, after

    def run_gc(self, delete_untagged=True, workers=1, dry_run=False):
        return self.api.run_gc({"delete_untagged": bool(delete_untagged), "workers": int(workers),
                                "dry_run": bool(dry_run)})

    def wait_gc(self, gc_id, timeout=600, interval=2.0, sleep=time.sleep, clock=time.monotonic):
        """Poll until the GC run ends; returns its record. Raises on timeout."""
        deadline = clock() + timeout
        while True:
            record = self.api.get_gc(gc_id)
            if record.get("job_status") in GC_DONE:
                return record
            if clock() >= deadline:
                raise OciRegistryError("garbage collection %d still %s after %ss" % (
                    gc_id, record.get("job_status"), timeout), gc_id=gc_id)
            sleep(interval)

    def retention_candidates(self, name, retention):
        """What a retention execution of project ``name`` may delete, read without starting one (check
        mode: Harbor's dry run is itself a job it records). ``[{repository, artifacts, beyond_keep}]`` for
        each repository holding more artifacts than ``keep_tags`` (with ``max_age_days`` as well, those
        pushed within that many days stay too, which only the execution can tell)."""
        keep = retention.get("keep_tags") or 0
        found = []
        for repo in self.api.list_repositories(check_project_name(name)):
            count = repo.get("artifact_count") or 0
            if count > keep:
                found.append({"repository": repo.get("name"), "artifacts": count, "beyond_keep": count - keep})
        return found

    def run_retention(self, retention_id, timeout=600, sleep=time.sleep, clock=time.monotonic):
        """Run the retention policy once (not a dry run) and wait for it. Returns
        {id, status, deleted, tasks}: ``deleted`` counts the artifacts its tasks did not retain."""
        known = set(e.get("id") for e in self.api.list_retention_executions(retention_id))
        execution_id = self.api.trigger_retention_execution(retention_id)
        deadline = clock() + timeout
        while True:
            executions = self.api.list_retention_executions(retention_id)
            if execution_id is None:  # Harbor's swagger also allows a 200 without a Location
                new = [e.get("id") for e in executions if e.get("id") not in known and isinstance(e.get("id"), int)]
                execution_id = max(new) if new else None
            current = next((e for e in executions if execution_id is not None and e.get("id") == execution_id), {})
            if current.get("status") in RETENTION_DONE:
                break
            if clock() >= deadline:
                raise OciRegistryError("Harbor's retention execution %s still %s after %ss"
                                       % (execution_id, current.get("status"), timeout))
            sleep(2.0)
        tasks = self.api.list_retention_tasks(retention_id, execution_id)
        deleted = sum(max(0, (t.get("total") or 0) - (t.get("retained") or 0)) for t in tasks)
        return {"id": execution_id, "status": current.get("status"), "deleted": deleted,
                "tasks": [{"repository": t.get("repository"), "total": t.get("total"), "retained": t.get("retained")}
                          for t in tasks]}

    def gc_report(self, gc_id):
        record = self.api.get_gc(gc_id)
        log = self.api.gc_log(gc_id)
        # the job's summary line (src/jobservice/job/impl/gc/garbage_collection.go, sweep):
        # "<n> blobs and <m> manifests are actually deleted"
        found = re.search(r"(\d+) blobs and (\d+) manifests are actually deleted", log or "")
        return {"id": gc_id, "status": record.get("job_status"), "parameters": record.get("job_parameters"),
                "log": log, "read_only": self.read_only(),
                "deleted": None if found is None else {"blobs": int(found.group(1)), "manifests": int(found.group(2))}}

    def read_only(self):
        """True when Harbor is in read-only mode (a failed GC can leave it so)."""
        try:
            return bool((self.api.configurations().get("read_only") or {}).get("value"))
        except RegistryHTTPError as exc:
            if exc.status != 403:
                raise  # 401: the login was refused, and an anonymous /systeminfo has no read_only
        # A user who is no system admin: /systeminfo tells authenticated callers (only them) the mode
        # (Harbor's GetSystemInfo adds the protected part, read_only among it, only for them).
        info = self.api.systeminfo()
        if not isinstance(info.get("read_only"), bool):
            raise OciRegistryError(
                "Harbor did not say whether it is read-only: GET /api/v2.0/systeminfo has no read_only, which Harbor "
                "leaves out for callers it did not authenticate; check username and password")
        return info["read_only"]

    def set_read_only(self, flag):
        self.api.update_configurations({"read_only": bool(flag)})

    def ensure_read_only(self, flag, check_mode=False):
        """Harbor's read-only mode set to ``flag`` (backups: no push or delete while the files are read).

        Returns ``(changed, before, after)``. After a write the mode is read back: a Harbor that still
        reports the other value raises, naming both.
        """
        flag = bool(flag)
        before = self.read_only()
        if before == flag:
            return False, before, before
        if check_mode:
            return True, before, flag
        self.set_read_only(flag)
        after = self.read_only()
        if after != flag:
            raise OciRegistryError("Harbor took PUT /configurations {read_only: %s} but still reports read_only=%s"
                                   % (str(flag).lower(), str(after).lower()))
        return True, before, after


def _retention_view(retention):
    if retention is None:
        return None
    return {"keep_tags": retention.get("keep_tags"), "max_age_days": retention.get("max_age_days")}


def _anonymous_read(policies):
    return any("anonymous" in (p.get("subjects") or []) and "read" in (p.get("actions") or [])
               for p in policies or [])


def _public_view(state):
    if state is None:
        return None
    return dict((k, v) for k, v in state.items() if not k.startswith("_") and k != "repositories")


def _explain_forbidden(client):
    """Harbor answers 403 to a user who lacks the system admin role with no more than the user's name
    (for example "403 FORBIDDEN: bob"): name what is missing. The collection manages users, projects,
    members, robots, retention, GC and the configuration, which Harbor lets only system administrators
    (or a project's admins, for some project calls) do."""
    if getattr(client, "_harbor_forbidden_explained", False):
        return
    request = client.request

    def explained(method, path, *args, **kwargs):
        try:
            return request(method, path, *args, **kwargs)
        except RegistryHTTPError as exc:
            if exc.status != 403 or API + "/" not in str(path) or kwargs.get("hint"):
                raise
            who = client.options.username
            hint = ("Harbor refused this to %s: this operation needs Harbor system administrator rights; connect as "
                    "Harbor's admin (username/password) or give %s the administrator role in Harbor"
                    % (("user %r" % who, "user %r" % who) if who else ("anonymous access", "a user")))
            raise RegistryHTTPError(exc.method, exc.url, exc.status, exc.errors, hint=hint)

    client.request = explained
    client._harbor_forbidden_explained = True


class _NoCookies:
    """A cookie policy that accepts no cookie (http.cookiejar.CookiePolicy protocol)."""

    netscape = True
    rfc2965 = False
    hide_cookie2 = False

    def set_ok(self, cookie, request):
        return False

    def return_ok(self, cookie, request):
        return False

    def domain_return_ok(self, domain, request):
        return False

    def path_return_ok(self, path, request):
        return False


BACKEND = HarborBackend
