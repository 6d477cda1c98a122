# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""The access front for CNCF Distribution: nginx with per-namespace rules.

Plain Distribution's htpasswd auth lets every user do everything. The distribution role puts
nginx in front of it (the proxy-auth setup of Distribution's documentation): the registry
listens only on an internal Docker network without auth, nginx publishes the port, checks
passwords against the htpasswd file and decides per namespace, user and HTTP method:

* GET/HEAD = read, POST/PUT/PATCH = write, DELETE = delete; anything else is refused.
* ``/v2/`` answers any user who logged in (clients probe it before they log in);
  ``/v2/_catalog`` lists every repository, so only admins may read it.
* a repository belongs to the longest namespace it is in (``<ns>`` or ``<ns>/...``);
  a repository in no namespace is for admins only; admins may do everything.
* a public namespace (or ``anonymous`` read) is read by anyone: without credentials, and by
  every user who logged in (whatever their own grants); every other request without
  credentials gets 401 with a Basic challenge; a user without the right gets 403 with a
  registry-style JSON error.
* a cross-repository blob mount (``?mount=&from=``) also needs read on the source.

Two server blocks in one nginx do it, so that no decision is taken before the password
was checked (nginx's rewrite phase runs before its access phase): the public one
authenticates (``auth_basic`` with a realm computed per request, ``off`` only for a
permitted anonymous read) and passes the verified user name in a header it sets itself;
an internal one on 127.0.0.1 authorizes by maps over ``user:namespace:action`` and proxies
to the registry (resolved through Docker's DNS, so a recreated registry container is found).

State on the registry host, in the front's directory:
* ``front.json``: settings written by the role (ports, upstream, realm, htpasswd path);
* ``access.json``: the users' admin flags and groups and the namespaces (no passwords);
* ``nginx.conf``: generated here from both; validated with ``nginx -t`` before it goes live.
"""

from __future__ import annotations

import copy
import json
import os
import re

from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import InvalidParameterError
from ansible_collections.provisioning.oci_registry.plugins.module_utils._model import (
    ACTIONS,
    NAMESPACE_RE,
    USER_RE,
    effective_actions,
)

SETTINGS_FILE = "front.json"
ACCESS_FILE = "access.json"
CONFIG_FILE = "nginx.conf"
GRANTS_FILE = "grants.json"

DEFAULT_SETTINGS = {
    "listen_port": 5000,
    "internal_port": 8081,
    "upstream": "oci-registry:5000",
    "resolver": "127.0.0.11",
    "realm": "Registry Realm",
    "htpasswd_path": "/etc/oci-registry/htpasswd",
    "worker_user": "www-data",
    # The htpasswd file is 0640 root:root on the host; the workers read it through this group.
    "worker_group": "root",
    "worker_processes": "auto",
    # TLS: the front terminates it when both paths are set (files on the host, mounted at the same paths).
    "tls_certificate": "",
    "tls_key": "",
    # Requests per second and per client address (nginx limit_req); 0 turns the limit off.
    "rate_limit": 0,
    "rate_limit_burst": 0,
    # The authentication service (roles/distribution/files/front_auth.py) that nginx asks with
    # auth_request: unix:/path of its socket (connections kept alive), or host:port (a connection
    # per request, the name looked up through the resolver); empty: nginx's own auth_basic checks
    # bcrypt on every request.
    "auth_service": "",
    # Pull-through caches (distribution_mirrors), one server block pair each; see check_mirrors.
    "mirrors": [],
}
SETTING_KEYS = tuple(DEFAULT_SETTINGS)

METHODS = {"GET": "read", "HEAD": "read", "POST": "write", "PUT": "write", "PATCH": "write", "DELETE": "delete"}
# Pseudo namespaces: none of them is a valid repository name (OCI names cannot start with '_').
BASE, CATALOG, OUTSIDE, NO_MOUNT = "_base", "_catalog", "_outside", "_nomount"
ROUTES = ("manifests", "blobs", "tags", "referrers")
HEADER = "X-Oci-Front-User"
_HEADER_VAR = "$http_" + HEADER.lower().replace("-", "_")
_SAFE_TOKEN = re.compile(r"^[A-Za-z0-9._@/:-]+$")


def empty_access():
    return {"users": {}, "namespaces": {}}


def check_settings(settings):
    """Settings merged over the defaults, checked (they end up in nginx.conf)."""
    merged = dict(DEFAULT_SETTINGS)
    unknown = sorted(set(settings or {}) - set(SETTING_KEYS))
    if unknown:
        raise InvalidParameterError("front settings: unknown key(s) %s; valid: %s"
                                    % (", ".join(unknown), ", ".join(SETTING_KEYS)))
    merged.update(dict((k, v) for k, v in (settings or {}).items() if v is not None))
    for key in ("listen_port", "internal_port"):
        value = merged[key]
        if isinstance(value, str) and value.isdigit():
            value = merged[key] = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            raise InvalidParameterError("front settings: %s must be a port from 1 to 65535, got %r" % (key, value))
    for key in ("rate_limit", "rate_limit_burst"):
        value = merged[key]
        if isinstance(value, str) and value.isdigit():
            value = merged[key] = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidParameterError("front settings: %s must be an integer >= 0 (0: off), got %r" % (key, value))
    tls = [merged["tls_certificate"] or "", merged["tls_key"] or ""]
    if bool(tls[0]) != bool(tls[1]):
        raise InvalidParameterError("front settings: tls_certificate and tls_key go together (both or neither)")
    for key, value in zip(("tls_certificate", "tls_key"), tls):
        if value and (not isinstance(value, str) or not value.startswith("/") or not _SAFE_TOKEN.match(value)):
            raise InvalidParameterError("front settings: %s must be an absolute path of plain characters, got %r"
                                        % (key, value))
    if merged["listen_port"] == merged["internal_port"]:
        raise InvalidParameterError("front settings: listen_port and internal_port must differ")
    if merged["auth_service"] and not re.match(r"^(?:[A-Za-z0-9._-]+:[0-9]{1,5}|unix:/[A-Za-z0-9._/-]+)$",
                                               str(merged["auth_service"])):
        raise InvalidParameterError("front settings: auth_service must be host:port or unix:/absolute/path "
                                    "(or empty for auth_basic), got %r" % (merged["auth_service"],))
    for key in ("upstream", "resolver", "htpasswd_path", "worker_user", "worker_group", "worker_processes"):
        if not isinstance(merged[key], (str, int)) or not _SAFE_TOKEN.match(str(merged[key])):
            raise InvalidParameterError("front settings: %s %r must be a plain token (letters, digits, . _ @ / : -)"
                                        % (key, merged[key]))
    if not str(merged["htpasswd_path"]).startswith("/"):
        raise InvalidParameterError("front settings: htpasswd_path must be absolute, got %r" % merged["htpasswd_path"])
    merged["mirrors"] = check_mirrors(merged["mirrors"], merged)
    realm = merged["realm"]
    if not isinstance(realm, str) or not realm or realm == "off" or re.search(r'["\\$;{}\x00-\x1f]', realm):
        raise InvalidParameterError("front settings: realm must be a non-empty text without quotes, backslashes, "
                                    "'$', ';', braces or control characters (and not 'off'), got %r" % (realm,))
    return merged


# -- mirrors ----------------------------------------------------------------------------------
# A mirror (pull-through cache) is a proxy-mode Distribution container of its own beside the registry
# (roles/distribution/tasks/mirrors.yml). The front publishes it on its own port with the same TLS,
# authentication and rules: ``<namespace>/<repository>`` is authorized like any repository of that
# namespace, then sent to the mirror as ``<repository>``. Only GET/HEAD, and only repositories that
# match the mirror's globs, get through. Each entry of front.json's ``mirrors``: the mirror's input
# keys without the password (read back by oci_registry_info), plus ``listen`` (its port inside the
# front's container; the role publishes ``port`` there) and ``upstream`` (its container, host:port).
# Its internal (authorization) server listens on 127.0.0.1:``listen + MIRROR_INTERNAL_OFFSET``.
MIRROR_INTERNAL_OFFSET = 3000
MIRROR_KEYS = ("name", "namespace", "url", "username", "tls_verify", "repositories", "ttl", "port", "listen",
               "upstream")
_MIRROR_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$")
_GLOB = re.compile(r"^[a-z0-9._/*-]+$")


def check_mirrors(mirrors, settings):
    """front.json's ``mirrors``, checked (they end up in nginx.conf); sorted by name."""
    if not isinstance(mirrors, list):
        raise InvalidParameterError("front settings: mirrors must be a list, got %r" % (mirrors,))
    out, ports = [], {settings["listen_port"]: "listen_port", settings["internal_port"]: "internal_port"}
    for index, mirror in enumerate(mirrors):
        where = "front settings: mirrors[%d]" % index
        if not isinstance(mirror, dict):
            raise InvalidParameterError("%s must be a mapping, got %r" % (where, mirror))
        unknown = sorted(set(mirror) - set(MIRROR_KEYS))
        if unknown:
            raise InvalidParameterError("%s: unknown key(s) %s; valid: %s"
                                        % (where, ", ".join(unknown), ", ".join(MIRROR_KEYS)))
        mirror = dict(mirror)
        if not isinstance(mirror.get("name"), str) or not _MIRROR_NAME.match(mirror["name"]):
            raise InvalidParameterError("%s.name must be a mirror name (lowercase letters, digits, '-'), got %r"
                                        % (where, mirror.get("name")))
        if not isinstance(mirror.get("namespace"), str) or not NAMESPACE_RE.match(mirror["namespace"]):
            raise InvalidParameterError("%s.namespace must be an OCI namespace name, got %r"
                                        % (where, mirror.get("namespace")))
        globs = mirror.get("repositories")
        if globs is None:
            globs = mirror["repositories"] = ["**"]
        if not isinstance(globs, list) or not globs or not all(isinstance(g, str) and _GLOB.match(g) for g in globs):
            raise InvalidParameterError("%s.repositories must be a list of globs of lowercase letters, digits, "
                                        "'.', '_', '/', '-' and '*', got %r" % (where, globs))
        if not isinstance(mirror.get("upstream"), str) or not _SAFE_TOKEN.match(mirror["upstream"]):
            raise InvalidParameterError("%s.upstream must be the mirror container's host:port, got %r"
                                        % (where, mirror.get("upstream")))
        for key in ("listen", "port"):
            value = mirror.get(key)
            if isinstance(value, str) and value.isdigit():
                value = mirror[key] = int(value)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
                raise InvalidParameterError("%s.%s must be a port from 1 to 65535, got %r" % (where, key, value))
        internal = mirror["listen"] + MIRROR_INTERNAL_OFFSET
        if internal > 65535:
            raise InvalidParameterError("%s.listen %d leaves no internal port (listen + %d)"
                                        % (where, mirror["listen"], MIRROR_INTERNAL_OFFSET))
        for port, what in ((mirror["listen"], "listen"), (internal, "internal port (listen + %d)"
                                                          % MIRROR_INTERNAL_OFFSET)):
            if port in ports:
                raise InvalidParameterError("%s: its %s %d is already the front's %s" % (where, what, port, ports[port]))
            ports[port] = "mirror %r" % mirror["name"]
        out.append(mirror)
    names = [m["name"] for m in out]
    if len(set(names)) != len(names):
        raise InvalidParameterError("front settings: mirror names must be unique, got %s" % ", ".join(names))
    return sorted(out, key=lambda m: m["name"])


def glob_regex(glob):
    """A repository glob as a regular expression ('*' within one path component, '**' across)."""
    out, index = [], 0
    while index < len(glob):
        if glob.startswith("**", index):
            out.append(".*")
            index += 2
        elif glob[index] == "*":
            out.append("[^/]*")
            index += 1
        else:
            out.append(_regex(glob[index]))
            index += 1
    return "".join(out)


def mirror_repository_regex(mirror):
    """The paths of the repositories a mirror serves: /v2/<namespace>/<repository>/<route>/."""
    return "^/v2/%s/(?:%s)/(?:%s)/" % (_regex(mirror["namespace"]),
                                       "|".join(glob_regex(g) for g in mirror["repositories"]), "|".join(ROUTES))


def _json_error(add, status, code, message, detail, indent="        "):
    add(indent + "add_header Docker-Distribution-Api-Version registry/2.0 always;")
    add(indent + "return %d '{\"errors\":[{\"code\":\"%s\",\"message\":\"%s\",\"detail\":\"%s\"}]}';"
        % (status, code, message, detail))


def _mirror_servers(add, settings, mirror):
    """The public server of one mirror (the main one's authentication, on the mirror's port) and its
    internal one (the main rules, read only, the mirror's repositories, then the path rewritten)."""
    internal = mirror["listen"] + MIRROR_INTERNAL_OFFSET
    local = dict(settings, internal_port=internal)
    add("  # Mirror %s: %s/<repository> -> %s (%s), read only." % (mirror["name"], mirror["namespace"],
                                                                   mirror["upstream"], mirror.get("url") or ""))
    _public_server(add, local, mirror["listen"])
    add("  server {")
    add("    listen 127.0.0.1:%d;" % internal)
    add("    default_type application/json;")
    served = "%s/<repository> for repositories matching %s" % (mirror["namespace"], " ".join(mirror["repositories"]))

    def checks():
        add("      if ($front_allow = 0) {")
        _json_error(add, 403, "DENIED", "access to the requested resource is not authorized",
                    "$front_action on $front_ns")
        add("      }")
        add("      if ($request_method !~ ^(GET|HEAD)$) {")
        _json_error(add, 405, "UNSUPPORTED", "mirror %s is read-only (a pull-through cache): only GET and HEAD"
                    % mirror["name"], "$request_method refused")
        add("      }")

    def proxy(rewrite=False):
        # Before the rewrite: its ``break`` ends the rewrite module's directives (set included).
        add("      set $front_mirror_upstream http://%s;" % mirror["upstream"])
        if rewrite:
            add("      rewrite \"^/v2/%s/(.*)$\" /v2/$1 break;" % _regex(mirror["namespace"]))
        add("      proxy_set_header Host $http_host;")
        add("      proxy_set_header X-Forwarded-Proto $http_x_forwarded_proto;")
        add("      proxy_set_header X-Real-IP $http_x_real_ip;")
        add("      proxy_set_header Connection \"\";")
        add("      proxy_set_header %s \"\";" % HEADER)
        add("      proxy_set_header Authorization \"\";")
        add("      proxy_pass $front_mirror_upstream;")

    add("    location = /v2/ {")
    checks()
    proxy()
    add("    }")
    add("    location ~ \"%s\" {" % mirror_repository_regex(mirror))
    checks()
    proxy(rewrite=True)
    add("    }")
    add("    location / {")
    checks()
    _json_error(add, 404, "NAME_UNKNOWN", "mirror %s serves only %s" % (mirror["name"], served), "$uri", "      ")
    add("    }")
    add("  }")


# -- access.json ---------------------------------------------------------------------------
def access_from_text(text, path=ACCESS_FILE):
    if not text:
        return empty_access()
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InvalidParameterError("%s is not valid JSON: %s" % (path, exc))
    if not isinstance(data, dict) or not isinstance(data.get("users", {}), dict) \
            or not isinstance(data.get("namespaces", {}), dict):
        raise InvalidParameterError("%s must hold {\"users\": {...}, \"namespaces\": {...}}" % path)
    access = empty_access()
    access["users"].update(data.get("users") or {})
    access["namespaces"].update(data.get("namespaces") or {})
    return access


def access_to_text(access):
    return json.dumps(access, indent=2, sort_keys=True) + "\n"


def set_user(access, name, admin=False, groups=()):
    access = copy.deepcopy(access)
    access["users"][name] = {"admin": bool(admin), "groups": sorted(set(groups or []))}
    return access


def remove_user(access, name):
    access = copy.deepcopy(access)
    access["users"].pop(name, None)
    return access


def set_namespace(access, namespace, keep_policies=True):
    """Store a normalized namespace (without name and state); policies kept unless given."""
    access = copy.deepcopy(access)
    current = access["namespaces"].get(namespace["name"]) or {}
    entry = {
        "description": namespace.get("description") or "",
        "public": bool(namespace.get("public")),
        "retention": namespace.get("retention"),
        "quota_gb": namespace.get("quota_gb"),
        "policies": current.get("policies", []) if keep_policies else namespace.get("policies") or [],
    }
    access["namespaces"][namespace["name"]] = entry
    return access


def set_policies(access, name, policies):
    access = copy.deepcopy(access)
    if name not in access["namespaces"]:
        raise InvalidParameterError("namespace %r does not exist in the front's rules; create it first "
                                    "(oci_namespace)" % name)
    access["namespaces"][name]["policies"] = copy.deepcopy(policies)
    return access


def remove_namespace(access, name):
    access = copy.deepcopy(access)
    access["namespaces"].pop(name, None)
    return access


# -- the rules -------------------------------------------------------------------------------
def _regex(text):
    return re.sub(r"([.^$|()\[\]{}*+?\\])", r"\\\1", text)


def _namespace_order(names):
    """Deepest (then longest) first: nginx's map tries regular expressions in order."""
    return sorted(names, key=lambda n: (-n.count("/"), -len(n), n))


def grants(access):
    """[(kind, who, namespace, action)] every rule the front enforces, and warnings.

    kind: ``user`` (who = name), ``authenticated``, ``anonymous``, ``admin`` (who = name,
    every namespace and action)."""
    rules, warnings = [], []
    users = access.get("users") or {}
    members = {}
    for name, info in users.items():
        for group in (info or {}).get("groups") or []:
            members.setdefault(group, []).append(name)
    for name in sorted(users):
        if users[name].get("admin"):
            rules.append(("admin", name, "*", "*"))
    for namespace in _namespace_order(access.get("namespaces") or {}):
        entry = access["namespaces"][namespace]
        # Public (or an anonymous read): anyone may pull, logged in or not. A user who sent credentials
        # is not anonymous, so the read is granted to every authenticated user as well.
        if entry.get("public"):
            rules.extend(r for r in (("anonymous", "", namespace, "read"), ("authenticated", "", namespace, "read"))
                         if r not in rules)
        for policy in entry.get("policies") or []:
            allowed = [a for a in ACTIONS if a in effective_actions(policy.get("actions"))]
            for subject in policy.get("subjects") or []:
                actions = [a for a in allowed if a != "admin"]
                if subject == "authenticated":
                    targets = [("authenticated", "")]
                elif subject == "anonymous":
                    targets = [("anonymous", ""), ("authenticated", "")]
                    extra = set(actions) - {"read"}
                    if extra:
                        warnings.append("namespace %r: anonymous gets read only, not %s"
                                        % (namespace, ", ".join(sorted(extra))))
                    actions = ["read"]
                elif subject.startswith("group:"):
                    group = subject[len("group:"):]
                    names = sorted(members.get(group, []))
                    if not names:
                        warnings.append("namespace %r: group %r has no members among the front's users (groups "
                                        "come from each user's groups list); its grant allows nobody"
                                        % (namespace, group))
                    targets = [("user", n) for n in names]
                else:
                    if subject not in users:
                        warnings.append("namespace %r: user %r is not among the front's users; the grant applies "
                                        "once the user is in the htpasswd file" % (namespace, subject))
                    targets = [("user", subject)]
                if "admin" in allowed and subject != "anonymous":
                    warnings.append("namespace %r: 'admin' for %s is enforced as read, write and delete in the "
                                    "namespace (the front has no other per-namespace operation)" % (namespace, subject))
                for kind, who in targets:
                    for action in actions:
                        rule = (kind, who, namespace, action)
                        if rule not in rules:
                            rules.append(rule)
    return rules, warnings


def grants_to_text(access):
    """grants.json: what the authentication service needs of the rules to scope its tokens
    (namespaces deepest first, and every grant); no passwords."""
    rules, _warnings = grants(access)
    data = {"namespaces": _namespace_order(access.get("namespaces") or {}), "rules": [list(r) for r in rules]}
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _map_entries(rules):
    """Lines of the allow map keyed on ``user:namespace:action``."""
    lines = ['    "~^[^:]+:%s:read$" 1;' % BASE]
    for kind, who, namespace, action in rules:
        if kind == "admin":
            lines.append('    "~^%s:" 1;' % _regex(who))
        elif kind == "user":
            # Regular expressions: nginx compares a map's plain strings case-insensitively.
            lines.append('    "~^%s:%s:%s$" 1;' % (_regex(who), _regex(namespace), action))
        elif kind == "authenticated":
            lines.append('    "~^[^:]+:%s:%s$" 1;' % (_regex(namespace), action))
        elif kind == "anonymous":
            lines.append('    ":%s:%s" 1;' % (namespace, action))
    return lines


def render(settings, access):
    """The complete nginx.conf for ``settings`` (front.json) and ``access`` (access.json).
    Returns (text, warnings)."""
    settings = check_settings(settings)
    for name in access.get("users") or {}:
        if not USER_RE.match(name):
            raise InvalidParameterError("front: user name %r cannot be used in the rules" % name)
    for name in access.get("namespaces") or {}:
        if not NAMESPACE_RE.match(name):
            raise InvalidParameterError("front: namespace name %r is not a valid OCI repository name" % name)
    rules, warnings = grants(access)
    namespaces = _namespace_order(access.get("namespaces") or {})
    anonymous = sorted(set("%s:%s" % (ns, action) for kind, _w, ns, action in rules if kind == "anonymous"))
    allow = _map_entries(rules)
    ns_lines = ['    "/v2/" %s;' % BASE, '    "/v2/_catalog" %s;' % CATALOG]
    from_lines = ['    "" %s;' % NO_MOUNT]
    routes = "|".join(ROUTES)
    for namespace in namespaces:
        ns_lines.append('    "~^/v2/%s/(?:.+/)?(?:%s)/" %s;' % (_regex(namespace), routes, namespace))
        from_lines.append('    "~^%s(?:/|%%2[Ff]|$)" %s;' % (_regex(namespace), namespace))
    method_lines = ['    %s %s;' % (method, action) for method, action in sorted(METHODS.items())]
    out = []
    add = out.append
    add("# Generated by provisioning.oci_registry from front.json and access.json. Do not edit:")
    add("# oci_user, oci_namespace and oci_policy rewrite it (validated with nginx -t first).")
    add("user %s %s;" % (settings["worker_user"], settings["worker_group"]))
    add("worker_processes %s;" % settings["worker_processes"])
    add("pid /run/nginx.pid;")
    add("error_log stderr warn;")
    add("")
    add("events {")
    add("  worker_connections 1024;")
    add("}")
    add("")
    add("http {")
    add("  access_log /dev/stdout;")
    add("  server_tokens off;")
    add("  default_type application/octet-stream;")
    add("  # Docker's DNS: the registry container is looked up per request, so a recreated one is found.")
    add("  resolver %s valid=10s ipv6=off;" % settings["resolver"])
    add("  client_max_body_size 0;")
    add("  proxy_http_version 1.1;")
    add("  proxy_request_buffering off;")
    add("  proxy_buffering off;")
    add("  proxy_read_timeout 900s;")
    add("  proxy_send_timeout 900s;")
    add("")
    add("  # The namespace a request is for (deepest namespace first), or a pseudo namespace.")
    add("  map $uri $front_ns {")
    add("    default %s;" % OUTSIDE)
    out.extend(ns_lines)
    add("  }")
    add("  # GET/HEAD read, POST/PUT/PATCH write, DELETE delete; other methods match no rule.")
    add("  map $request_method $front_action {")
    add("    default none;")
    out.extend(method_lines)
    add("  }")
    add("  # The source namespace of a cross-repository blob mount.")
    add("  map $arg_from $front_from_ns {")
    add("    default %s;" % OUTSIDE)
    out.extend(from_lines)
    add("  }")
    add("  # Reads allowed without credentials (public namespaces, anonymous grants).")
    add('  map "$front_ns:$front_action" $front_anonymous {')
    add("    default 0;")
    for key in anonymous:
        add('    "%s" 1;' % key)
    add("  }")
    add("  # No credentials: no header, or Basic with an empty user and password (\":\", what")
    add("  # containers/image clients such as skopeo send when they have none).")
    add('  map $http_authorization $front_credentials {')
    add('    "" 0;')
    add('    "~*^basic +(og==)?$" 0;')
    add("    default 1;")
    add("  }")
    add('  map "$front_credentials$front_anonymous" $front_realm {')
    add('    "01" off;')
    add('    default "%s";' % settings["realm"])
    add("  }")
    add("  # user:namespace:action -> 1 when allowed (the user name was verified by the public server).")
    add('  map "%s:$front_ns:$front_action" $front_allow {' % _HEADER_VAR)
    add("    default 0;")
    if settings["auth_service"]:
        add("    # An anonymous token opens /v2/ (the service verified it; nothing reaches here unverified).")
        add('    ":%s:read" 1;' % BASE)
    out.extend(allow)
    add("  }")
    add('  map "%s:$front_from_ns:read" $front_mount_allow {' % _HEADER_VAR)
    add("    default 0;")
    add('    "~^[^:]*:%s:read$" 1;' % NO_MOUNT)
    out.extend(allow)
    add("  }")
    add("  # Distribution's API version header on answers that did not come from the registry.")
    add("  map $upstream_http_docker_distribution_api_version $front_api_version {")
    add("    '' 'registry/2.0';")
    add("  }")
    add("")
    if settings["rate_limit"]:
        add("  # Requests per second per client address (rate_limit in front.json).")
        add("  limit_req_zone $binary_remote_addr zone=front_rate:10m rate=%dr/s;" % settings["rate_limit"])
        add("  limit_req_status 429;")
        add("")
    add("  # The hop from each public server to its internal one, connections kept open between requests")
    add("  # (clients such as skopeo and Docker open a connection per request; this hop need not).")
    for port in [settings["internal_port"]] + [m["listen"] + MIRROR_INTERNAL_OFFSET for m in settings["mirrors"]]:
        add("  upstream %s {" % _internal_upstream(port))
        add("    server 127.0.0.1:%d;" % port)
        add("    keepalive 16;")
        add("  }")
    add("")
    if settings["auth_service"]:
        _direct_route(add, settings, allow)
    if settings["auth_service"].startswith("unix:"):
        add("  # The authentication service on its Unix socket, connections kept open between requests.")
        add("  upstream front_auth_service {")
        add("    server %s;" % settings["auth_service"])
        add("    keepalive 16;")
        add("  }")
        add("")
    add("  # Public: authentication%s." % (" (and the route of allowed requests)" if settings["auth_service"] else ""))
    _public_server(add, settings, settings["listen_port"], direct=bool(settings["auth_service"]), health=True)
    add("")
    add("  # Internal: authorization, then the registry.")
    add("  server {")
    add("    listen 127.0.0.1:%d;" % settings["internal_port"])
    add("    location / {")
    add("      default_type application/json;")
    add("      if ($front_allow = 0) {")
    add("        add_header Docker-Distribution-Api-Version registry/2.0 always;")
    add("        return 403 '{\"errors\":[{\"code\":\"DENIED\",\"message\":\"access to the requested resource "
        "is not authorized\",\"detail\":\"$front_action on $front_ns\"}]}';")
    add("      }")
    add("      if ($front_mount_allow = 0) {")
    add("        add_header Docker-Distribution-Api-Version registry/2.0 always;")
    add("        return 403 '{\"errors\":[{\"code\":\"DENIED\",\"message\":\"mounting a blob needs read on its "
        "source repository\",\"detail\":\"read on $front_from_ns\"}]}';")
    add("      }")
    add("      set $front_upstream http://%s;" % settings["upstream"])
    add("      proxy_set_header Host $http_host;")
    add("      proxy_set_header X-Forwarded-Proto $http_x_forwarded_proto;")
    add("      proxy_set_header X-Real-IP $http_x_real_ip;")
    add("      proxy_set_header Connection \"\";")
    add("      proxy_set_header %s \"\";" % HEADER)
    add("      proxy_pass $front_upstream;")
    add("    }")
    add("  }")
    for mirror in settings["mirrors"]:
        add("")
        _mirror_servers(add, settings, mirror)
    add("}")
    return "\n".join(out) + "\n", warnings


def _internal_upstream(port):
    return "front_internal_%d" % port


def _direct_route(add, settings, allow):
    """Maps that let the public server send an allowed request straight to the registry.

    The same rules as the internal server's $front_allow and $front_mount_allow (the same map
    entries), keyed on $front_user: the name the authentication service verified, set by
    auth_request_set, never a client's header. Only ``11`` (allowed, and the mount source readable)
    goes straight to the registry; everything else takes the internal server, which decides again
    and answers 403. The maps are evaluated by proxy_pass, in the content phase, after
    auth_request (nginx's access phase) has set $front_user."""
    add("  # Allowed requests straight to the registry: the internal server's rules on the verified user.")
    add('  map "$front_user:$front_ns:$front_action" $front_allow_verified {')
    add("    default 0;")
    add('    ":%s:read" 1;' % BASE)
    for line in allow:
        add(line)
    add("  }")
    add('  map "$front_user:$front_from_ns:read" $front_mount_verified {')
    add("    default 0;")
    add('    "~^[^:]*:%s:read$" 1;' % NO_MOUNT)
    for line in allow:
        add(line)
    add("  }")
    add('  map "$front_allow_verified$front_mount_verified" $front_route {')
    add('    "11" %s;' % settings["upstream"])
    add("    default %s;" % _internal_upstream(settings["internal_port"]))
    add("  }")
    add("  # The verified user name goes to the internal server only (the registry has no use for it).")
    add("  map $front_route $front_route_user {")
    add('    %s $front_user;' % _internal_upstream(settings["internal_port"]))
    add('    default "";')
    add("  }")
    add("")


HEALTH_PATH = "/_front/health"


def _public_server(add, settings, listen_port, direct=False, health=False):
    """A public server on ``listen_port``: TLS, the rate limit, authentication (the service, or auth_basic
    without it), then the internal server of ``settings["internal_port"]`` (``direct``: what the verified
    user may do goes straight to the registry, see _direct_route). With ``health``, also HEALTH_PATH (see
    _health_location)."""
    add("  server {")
    if settings["tls_certificate"]:
        add("    listen %d ssl;" % listen_port)
        add("    ssl_certificate %s;" % settings["tls_certificate"])
        add("    ssl_certificate_key %s;" % settings["tls_key"])
        add("    ssl_protocols TLSv1.2 TLSv1.3;")
        add("    ssl_session_cache shared:front_tls:1m;")
    else:
        add("    listen %d;" % listen_port)
    if settings["rate_limit"]:
        add("    limit_req zone=front_rate burst=%d nodelay;" % settings["rate_limit_burst"])
    if settings["auth_service"]:
        _auth_request_locations(add, settings, direct)
    else:
        add("    location /v2/ {")
        add("      auth_basic $front_realm;")
        add("      auth_basic_user_file %s;" % settings["htpasswd_path"])
        _proxy_to_internal(add, settings, "$remote_user")
    if health:
        _health_location(add, settings)
    add("    location / {")
    add("      return 404;")
    add("    }")
    add("  }")


def _health_location(add, settings):
    """HEALTH_PATH, without login: the registry's own answer to ``GET /v2/`` (it has no auth of its own behind
    the front), so a load balancer learns whether the registry behind this front answers: 200 when it does,
    502/504 from nginx when the registry container is down or does not answer, and 503 when Distribution's
    health checks fail (Distribution v2.8.3 registry/registry.go, NewRegistry, wraps its app in health.Handler, which answers 503 to every
    request while a check such as health.storagedriver fails: distribution/health/health.go, Handler). Only
    GET and HEAD; nothing of the registry's answer but its status reaches the client (the body of /v2/ is
    ``{}`` and the header names the API version), and it names no repository or user."""
    add("    # For load balancers (haproxy's httpchk): the registry's status, no login needed.")
    add("    location = %s {" % HEALTH_PATH)
    add("      limit_except GET { deny all; }")
    add("      access_log off;")
    add("      set $front_health_upstream http://%s;" % settings["upstream"])
    add("      rewrite ^ /v2/ break;")
    add("      proxy_set_header Host $http_host;")
    add("      proxy_set_header Connection \"\";")
    add("      proxy_set_header %s \"\";" % HEADER)
    add("      proxy_set_header Authorization \"\";")
    add("      proxy_pass_request_body off;")
    add("      proxy_connect_timeout 2s;")
    add("      proxy_read_timeout 5s;")
    add("      proxy_pass $front_health_upstream;")
    add("    }")


def _proxy_to_internal(add, settings, user_variable, direct=False):
    add("      add_header Docker-Distribution-Api-Version $front_api_version always;")
    add("      proxy_set_header Host $http_host;")
    add("      proxy_set_header X-Forwarded-Proto $scheme;")
    add("      proxy_set_header X-Real-IP $remote_addr;")
    add("      proxy_set_header Connection \"\";")
    add("      # Set here, never taken from the client: empty (not sent) for anonymous requests.")
    if direct:
        add("      proxy_set_header %s $front_route_user;" % HEADER)
        add("      # The registry when the verified user may do this, else the internal server (403).")
        add("      proxy_pass http://$front_route;")
    else:
        add("      proxy_set_header %s %s;" % (HEADER, user_variable))
        add("      proxy_pass http://%s;" % _internal_upstream(settings["internal_port"]))
    add("    }")


def _auth_request_locations(add, settings, direct=False):
    """/v2/ authenticated by the service (Basic verified once, or a token), /token proxied to it."""
    keepalive = settings["auth_service"].startswith("unix:")

    def to_service(path):
        if keepalive:
            add("      proxy_pass http://front_auth_service%s;" % path)
            add("      proxy_set_header Connection \"\";")
        else:
            add("      set $front_auth http://%s;" % settings["auth_service"])
            add("      proxy_pass $front_auth%s;" % path)

    add("    location /v2/ {")
    add("      # Taken here: in the subrequest, $uri and $args are the subrequest's own.")
    add("      set $front_path $uri;")
    add("      set $front_source $arg_from;")
    add("      set $front_anonymous_read $front_anonymous;")
    add("      # 01: no credentials, and an anonymous read is allowed here: the service would answer 200")
    add("      # for nobody, so the subrequest answers that itself.")
    add("      set $front_auth_skip $front_credentials$front_anonymous;")
    add("      auth_request /_front_auth;")
    add("      auth_request_set $front_user $upstream_http_x_front_user;")
    add("      error_page 401 = @front_unauthorized;")
    _proxy_to_internal(add, settings, "$front_user", direct)
    add("    location = /_front_auth {")
    add("      internal;")
    add("      if ($front_auth_skip = 01) {")
    add("        return 200;")
    add("      }")
    to_service("/auth")
    add("      proxy_pass_request_body off;")
    add("      proxy_set_header Content-Length \"\";")
    add("      proxy_set_header Host $http_host;")
    add("      proxy_set_header X-Forwarded-Proto $scheme;")
    add("      proxy_set_header X-Real-IP $remote_addr;")
    add("      proxy_set_header X-Front-Uri $front_path;")
    add("      proxy_set_header X-Front-Method $request_method;")
    add("      proxy_set_header X-Front-From $front_source;")
    add("      proxy_set_header X-Front-Anonymous $front_anonymous_read;")
    add("    }")
    add("    location = /token {")
    add("      limit_except GET { deny all; }")
    to_service("/token$is_args$args")
    add("      proxy_set_header Host $http_host;")
    add("      proxy_set_header X-Forwarded-Proto $scheme;")
    add("      proxy_set_header X-Real-IP $remote_addr;")
    add("    }")
    add("    location @front_unauthorized {")
    add("      default_type application/json;")
    add("      # nginx copies the service's WWW-Authenticate challenge to this answer.")
    add("      add_header Docker-Distribution-Api-Version registry/2.0 always;")
    add("      return 401 '{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\","
        "\"detail\":null}]}';")
    add("    }")


# -- a Python reading of the same rules (for tests and for check-mode explanations) ----------
def namespace_of(path, namespaces):
    if path == "/v2/":
        return BASE
    if path == "/v2/_catalog":
        return CATALOG
    for namespace in _namespace_order(namespaces):
        match = re.match(r"^/v2/%s/(?:.+/)?(?:%s)/" % (re.escape(namespace), "|".join(ROUTES)), path)
        if match:
            return namespace
    return OUTSIDE


def decide(access, user, method, path):
    """``allow``, ``deny`` (403) or ``challenge`` (401) for ``user`` (None: no credentials)."""
    rules, _w = grants(access)
    namespace = namespace_of(path, access.get("namespaces") or {})
    action = METHODS.get(method.upper(), "none")

    def allowed(who):
        if namespace == BASE and who and action == "read":
            return True
        for kind, name, ns, act in rules:
            if kind == "admin" and who == name:
                return True
            if ns == namespace and act == action:
                if kind == "user" and who == name:
                    return True
                if kind == "authenticated" and who:
                    return True
                if kind == "anonymous" and not who:
                    return True
        return False

    if user is None:
        return "allow" if allowed("") else "challenge"
    return "allow" if allowed(user) else "deny"


def paths(directory):
    return dict((key, os.path.join(directory, name)) for key, name in
                (("settings", SETTINGS_FILE), ("access", ACCESS_FILE), ("config", CONFIG_FILE),
                 ("grants", GRANTS_FILE)))


def settings_from_text(text, path=SETTINGS_FILE):
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InvalidParameterError("%s is not valid JSON: %s" % (path, exc))
    if not isinstance(data, dict):
        raise InvalidParameterError("%s must hold a JSON object of front settings" % path)
    return check_settings(data)
