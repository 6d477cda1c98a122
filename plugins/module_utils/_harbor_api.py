# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""Harbor's API (v2.0, basic auth, never a session cookie): the client and Harbor's own rules.

``HarborApi`` has one thin method per Harbor API call (path, verb, body shape as in Harbor's swagger),
"not found" handled once by decorators, lists always paginated. Next to it: Harbor's rules checked
before anything is sent, and the request bodies and their comparable forms. The collection's backend
interface on top of it is ``_harbor.HarborBackend``; replication and scanning calls are
``_harbor_replication.ReplicationApiMixin``.

Harbor details that shape the code:
* Projects are addressed by id where possible; by name only with ``X-Is-Resource-Name: true``
  (a project may be called ``123``).
* Harbor's password rule (8-128 characters, an upper-case letter, a lower-case letter and a
  digit) is checked before anything is sent; robot secrets follow the same rule.
* Robot names come back with the configured prefix (``robot$``; project robots as
  ``robot$<project>+<name>``): names are normalised so the prefix never causes drift.
* Repository names in paths are URL-encoded twice (``a/b`` -> ``a%252Fb``).
* Harbor's CSRF check refuses writes that carry its session cookie: the client keeps none.
"""

from __future__ import annotations

import functools
import json
import re
from urllib.parse import quote, unquote, urlsplit

from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import NamespaceNotEmptyError
from ansible_collections.provisioning.oci_registry.plugins.module_utils._diff import MASK
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import (
    InvalidParameterError,
    OciRegistryError,
    RegistryHTTPError,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._harbor_replication import ReplicationApiMixin
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
ILLEGAL_USER_CHARS = re.compile(r'[,"~#$%]')  # Harbor's IllegalCharsInUsername (src/common/const.go)
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
    if not isinstance(name, str) or not 1 <= len(name) <= 255 or ILLEGAL_USER_CHARS.search(name):
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
def _answer_404(value):
    """A decorator: the call answers ``value`` when Harbor answers 404, and raises every other error."""
    def decorator(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except RegistryHTTPError as exc:
                if exc.status == 404:
                    return value
                raise
        return wrapper
    return decorator


# Reads: a resource that does not exist is None.
none_on_404 = _answer_404(None)
# Deletes are idempotent: a resource that is already gone is fine (False: nothing deleted).
ignore_404 = _answer_404(False)


class HarborApi(ReplicationApiMixin):
    """One method per Harbor API call."""

    def __init__(self, client):
        # Harbor's CSRF check refuses writes that carry its session cookie: never keep one.
        client.session.cookies.set_policy(_NoCookies())
        _explain_forbidden(client)
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
