"""A stateful Harbor API v2.0 double for tests (not shipped with the collection).

It serves the endpoints the collection uses on 127.0.0.1 (a threaded http.server) and checks
every request it receives and every response it sends against Harbor's published swagger
(tests/harbor/swagger.py). A violation is answered with 400 (request) or 500 (response) and a
message that says what is wrong, and it is recorded in ``double.violations`` so the tests that
used the double fail (the fixture asserts the list is empty).

Harbor behaviour it reproduces because the collection depends on it:
* basic auth with the users and robot accounts it knows; anonymous access only where
  Harbor allows it (health, ping, systeminfo); non-admins get 403 on admin APIs;
* a ``sid`` session cookie is set on every response and a write that sends it back is
  refused with 403, as Harbor's CSRF middleware does;
* pagination with page/page_size (default 10, maximum 100 per the swagger), X-Total-Count
  and a Link header with rel="prev"/rel="next";
* 409 on duplicates, 412 when a project that still has repositories is deleted, 400 on
  passwords that break Harbor's rule or equal the old one;
* projects addressed by name or id with X-Is-Resource-Name;
* robot names stored and returned with the configured prefix (``robot$``; project robots
  as ``robot$<project>+<name>``), secrets returned only by create and refresh;
* a GC that goes Pending -> Running -> Success (or Error, leaving Harbor read-only when
  told to) over successive polls;
* outside the swagger, the registry side that oci_health reads: ``/v2/`` with a Bearer
  challenge, ``/service/token`` and ``/v2/_catalog``.
* read from Harbor v2.15.2's Go source (each cited where it is done): false booleans left out of
  responses, webhook addresses cut to scheme, host and path, CreateRobot ignoring ``disable``, user
  id 1 hidden from the user list and never deleted, ``old_password`` for one's own password, the
  e-mail rule, a refused login going on as anonymous (``/systeminfo`` without ``read_only``),
  retention executions and their tasks, the GC log's deletion counts.
* issue 16, each cited where it is done: registry endpoints (URL kept as scheme://host+path, a health check
  that ``unhealthy_urls`` fails, unique names, the secret shown as "*****", deletion refused while used),
  proxy-cache projects (registry_id: admins only, a permitted endpoint type, a 7-day retention, never
  changed afterwards), replication policies (Harbor's validation, ``deletion`` read on create and update,
  doublestar filters, replaceNamespace), executions and tasks over successive polls (``remote_content``
  is what a pull finds, ``replication_fails`` fails a repository), scans (``register_scanner``;
  412 without one, 400 for an artifact it cannot scan, Pending -> Running -> Success, scan_overview, the
  vulnerabilities addition, auto_scan on push) and the scan-all schedule.

Fault injection: ``double.inject(method, path_regex, status, times=1)`` answers the next
``times`` matching requests with ``status`` (after the request passed validation).
"""

from __future__ import annotations

import base64
import datetime
import json
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

from .swagger import Swagger, SwaggerViolation

API = "/api/v2.0"
ROLE_NAMES = {1: "projectAdmin", 2: "developer", 3: "guest", 4: "maintainer", 5: "limitedGuest"}
_PROJECT_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# The address pattern of src/server/v2.0/handler/user.go, validateUserProfile (restated).
_EMAIL = re.compile(r'^(([^<>()\[\]\\.,;:\s@"]+(\.[^<>()\[\]\\.,;:\s@"]+)*)|(".+"))@'
                    r'((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\])|(([a-zA-Z\-0-9]+\.)+[a-zA-Z]{2,}))$')


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def harbor_password_ok(password):
    return (8 <= len(password) <= 128 and re.search(r"[A-Z]", password) is not None
            and re.search(r"[a-z]", password) is not None and re.search(r"[0-9]", password) is not None)


class HarborError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class Reply:
    def __init__(self, status=200, body=None, headers=None, text=None):
        self.status = status
        self.body = body
        self.text = text
        self.headers = dict(headers or {})


class HarborDouble:
    """State, dispatch and checks. ``start()`` binds a free 127.0.0.1 port."""

    def __init__(self, admin_password="Harbor12345", swagger=None, version="v2.15.2"):
        self.swagger = swagger or Swagger()
        self.version = version
        self.lock = threading.RLock()
        self.violations = []
        self.requests = []  # (method, path, status) of every request answered
        self.faults = []
        self.gc_steps = 2  # polls a GC stays Pending/Running before it finishes
        self.gc_fails = False
        self.health_status = "healthy"
        self.server = None
        self.thread = None
        self._ids = {}
        self.users = {}
        self.projects = {}
        self.quotas = {}
        self.members = {}
        self.repositories = {}
        self.robots = {}
        self.webhooks = {}
        self.retentions = {}
        self.usergroups = {}
        self.gc_history = {}
        self.gc_schedule = None
        self.retention_executions = {}  # retention id -> {execution id: execution with "_tasks"}
        self.garbage = 0  # artifacts deleted since the last GC: what the next GC deletes
        self.tokens = {}
        self.config = {"read_only": False, "robot_name_prefix": "robot$"}
        # issue 16: registry endpoints, replication, scanning
        self.registries = {}
        self.replication_policies = {}
        self.replication_executions = {}
        self.unhealthy_urls = set()     # registry endpoints whose health check fails
        self.remote_content = {}        # registry url -> {repository: [tags]} (what a pull replication finds)
        self.replication_steps = 1      # polls an execution stays InProgress
        self.replication_fails = set()  # source repositories whose replication task fails
        self.artifacts = {}             # (project id, repository) -> [artifact]
        self.scanner = None             # {name, vendor, version} once a scanner is registered (Trivy)
        self.scan_steps = 1             # polls a scan stays Running
        self.scan_all_schedule = None
        admin = self._new_user("admin", admin_password, sysadmin=True, email="admin@example.com",
                               realname="system admin")
        self._new_project("library", public=True, owner=admin)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self):
        double = self

        class Handler(_Handler):
            pass

        Handler.double = double
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), name="harbor-double", daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self):
        host, port = self.server.server_address[:2]
        return "http://%s:%d" % (host, port)

    # -- test helpers ---------------------------------------------------------------------
    def inject(self, method, path_regex, status, times=1, message=None):
        with self.lock:
            self.faults.append(dict(method=method.upper(), regex=re.compile(path_regex), status=status,
                                    times=times, message=message or "injected fault"))

    def add_repository(self, project_name, repository, artifacts=1):
        with self.lock:
            project = self._project_by_name(project_name)
            repos = self.repositories.setdefault(project["project_id"], {})
            repos[repository] = dict(id=self._next("repository"), name="%s/%s" % (project_name, repository),
                                     project_id=project["project_id"], artifact_count=artifacts, pull_count=0,
                                     creation_time=_now(), update_time=_now(), description="")
            self.quotas[project["quota_id"]]["used"]["storage"] += 1024 * artifacts

    def add_usergroup(self, name, group_type=2):
        with self.lock:
            gid = self._next("usergroup")
            self.usergroups[gid] = dict(id=gid, group_name=name, group_type=group_type)
            return gid

    def project(self, name):
        with self.lock:
            for project in self.projects.values():
                if project["name"] == name:
                    return project
        return None

    def user(self, name):
        with self.lock:
            for user in self.users.values():
                if user["username"] == name:
                    return user
        return None

    def writes(self):
        return [r for r in self.requests if r[0] in WRITE_METHODS]

    # -- internals: ids and objects -------------------------------------------------------
    def _next(self, kind):
        self._ids[kind] = self._ids.get(kind, 0) + 1
        return self._ids[kind]

    def _new_user(self, username, password, sysadmin=False, email="", realname="", comment=""):
        uid = self._next("user")
        self.users[uid] = dict(user_id=uid, username=username, password=password, sysadmin_flag=sysadmin,
                               email=email, realname=realname, comment=comment, creation_time=_now(),
                               update_time=_now())
        return self.users[uid]

    def _new_project(self, name, public=False, owner=None, storage_limit=-1, metadata=None, registry_id=None):
        pid = self._next("project")
        meta = dict(metadata or {})
        meta["public"] = "true" if public else meta.get("public", "false")
        quota_id = self._next("quota")
        self.quotas[quota_id] = dict(id=quota_id, project_id=pid, hard={"storage": storage_limit},
                                     used={"storage": 0}, creation_time=_now(), update_time=_now())
        self.projects[pid] = dict(project_id=pid, name=name, owner_id=owner["user_id"], owner_name=owner["username"],
                                  metadata=meta, creation_time=_now(), update_time=_now(), quota_id=quota_id)
        if registry_id:
            self.projects[pid]["registry_id"] = registry_id
        mid = self._next("member")
        self.members[pid] = {mid: dict(id=mid, project_id=pid, entity_id=owner["user_id"],
                                       entity_name=owner["username"], entity_type="u", role_id=1)}
        return self.projects[pid]

    def _project_by_name(self, name):
        project = self.project(name)
        if project is None:
            raise HarborError(404, "NOT_FOUND", "project %s not found" % name)
        return project

    def _project_ref(self, ref, headers):
        by_name = str(headers.get("X-Is-Resource-Name", "false")).lower() == "true"
        if not by_name and re.fullmatch(r"\d+", ref):
            project = self.projects.get(int(ref))
            if project is None:
                raise HarborError(404, "NOT_FOUND", "project %s not found" % ref)
            return project
        return self._project_by_name(ref)

    def _project_view(self, project):
        view = dict((k, v) for k, v in project.items() if k != "quota_id")
        view["metadata"] = dict(project["metadata"])
        view["repo_count"] = len(self.repositories.get(project["project_id"], {}))
        view["deleted"] = False
        view["togglable"] = True
        view["cve_allowlist"] = dict(id=project["project_id"], project_id=project["project_id"], items=[],
                                     creation_time=project["creation_time"], update_time=project["update_time"])
        return view

    def _user_view(self, user):
        return dict((k, v) for k, v in user.items() if k != "password")

    def _robot_view(self, robot):
        return dict((k, v) for k, v in robot.items() if k not in ("secret", "project_id"))

    # -- request handling -----------------------------------------------------------------
    def handle(self, method, raw_path, headers, raw_body):
        """Answer one request: (status, headers, body bytes)."""
        split = urlsplit(raw_path)
        path = split.path
        query = parse_qs(split.query, keep_blank_values=True)
        with self.lock:
            if not path.startswith(API + "/") and (path == "/v2" or path.startswith("/v2/") or path == "/service/token"):
                reply, op = self._registry(method, path, query, headers), None
            else:
                reply, op = self._answer(method, path, query, headers, raw_body)
            reply.headers.setdefault("Set-Cookie", "sid=%s; Path=/; HttpOnly" % secrets.token_hex(16))
            body = b""
            if reply.text is not None:
                body = reply.text.encode()
                reply.headers.setdefault("Content-Type", "text/plain; charset=utf-8")
            elif reply.body is not None:
                if op is not None and 200 <= reply.status < 300:
                    # false booleans left out, as go-swagger's generated models do (see Swagger.omit_empty)
                    reply.body = self.swagger.omit_empty(self.swagger.response_schema(op, reply.status),
                                                         reply.body)
                body = json.dumps(reply.body).encode()
                reply.headers["Content-Type"] = "application/json"
            if op is not None and reply.status < 600:
                problems = self.swagger.check_response(method, op, reply.status, reply.headers,
                                                       reply.body if reply.text is None else reply.text,
                                                       reply.body is not None or reply.text is not None)
                if problems:
                    self.violations.extend(problems)
                    reply = Reply(500, {"errors": [{"code": "DOUBLE_RESPONSE_INVALID", "message": "; ".join(problems)}]})
                    body = json.dumps(reply.body).encode()
                    reply.headers["Content-Type"] = "application/json"
            self.requests.append((method, raw_path, reply.status))
            return reply.status, reply.headers, body

    def _answer(self, method, path, query, headers, raw_body):
        cookie = headers.get("Cookie") or ""
        if method in WRITE_METHODS and re.search(r"(^|;\s*)sid=", cookie):
            message = "%s %s carried the session cookie sid: Harbor's CSRF check refuses it" % (method, path)
            self.violations.append(message)
            return Reply(403, _errors("FORBIDDEN", "CSRF token invalid")), None
        has_body = bool(raw_body)
        body = None
        if has_body:
            ctype = (headers.get("Content-Type") or "").split(";")[0].strip()
            if ctype != "application/json":
                message = "%s %s: request body with Content-Type %r, the API consumes application/json" % (
                    method, path, ctype)
                self.violations.append(message)
                return Reply(400, _errors("BAD_REQUEST", message)), None
            try:
                body = json.loads(raw_body)
            except ValueError as exc:
                message = "%s %s: request body is not JSON: %s" % (method, path, exc)
                self.violations.append(message)
                return Reply(400, _errors("BAD_REQUEST", message)), None
        try:
            op, params = self.swagger.check_request(method, path, query, headers, body, has_body)
        except SwaggerViolation as exc:
            self.violations.extend(exc.messages)
            return Reply(exc.status, _errors("DOUBLE_REQUEST_INVALID", "; ".join(exc.messages))), None
        for fault in self.faults:
            if fault["times"] > 0 and fault["method"] == method and fault["regex"].search(path):
                fault["times"] -= 1
                return Reply(fault["status"], _errors(_CODES.get(fault["status"], "ERROR"), fault["message"])), op
        _route, _op, raw_params = self.swagger.match(method, path)
        path_params = dict((k, unquote(v)) for k, v in raw_params.items())
        handler = getattr(self, "op_" + op["operationId"], None)
        if handler is None:
            message = "%s %s: operation %s is in the swagger but the double does not implement it" % (
                method, path, op["operationId"])
            self.violations.append(message)
            return Reply(500, _errors("NOT_IMPLEMENTED_IN_DOUBLE", message)), op
        try:
            principal = self._authenticate(headers, op)
            reply = handler(principal=principal, params=params, path=path_params, headers=headers, query=query,
                            base=path)
        except HarborError as exc:
            reply = Reply(exc.status, _errors(exc.code, exc.message))
        return reply, op

    # -- the registry side (outside the swagger): /v2/ behind Harbor's token service ---------
    def _registry(self, method, path, query, headers):
        """Harbor's /v2/ answers 401 with a Bearer challenge; /service/token trades basic auth
        for a token; /v2/ and /v2/_catalog accept that token (the catalog: system admins only)."""
        if method != "GET":
            message = "%s %s: the double serves only GET on the registry API" % (method, path)
            self.violations.append(message)
            return Reply(405, _errors("UNSUPPORTED", message))
        if path == "/service/token":
            try:
                principal = self._authenticate(headers, {"operationId": "getPing"})
            except HarborError as exc:
                return Reply(exc.status, _errors(exc.code, exc.message))
            if principal is None and headers.get("Authorization"):
                reply = Reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication failed"}]})
                return reply
            token = "tok-" + secrets.token_hex(8)
            self.tokens[token] = principal
            return Reply(200, {"token": token, "access_token": token, "expires_in": 1800})
        auth = headers.get("Authorization") or ""
        principal = self.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if principal is None:
            scope = ',scope="registry:catalog:*"' if path == "/v2/_catalog" else ""
            reply = Reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]})
            reply.headers["WWW-Authenticate"] = 'Bearer realm="%s/service/token",service="harbor-registry"%s' % (
                self.url, scope)
        elif path in ("/v2", "/v2/"):
            reply = Reply(200, {})
        elif path == "/v2/_catalog":
            if not principal["admin"]:
                reply = Reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "catalog needs a system admin"}]})
            else:
                names = sorted(r["name"] for repos in self.repositories.values() for r in repos.values())
                reply = Reply(200, {"repositories": names})
        else:
            reply = Reply(404, {"errors": [{"code": "NAME_UNKNOWN", "message": "not served by the double"}]})
        reply.headers["Docker-Distribution-Api-Version"] = "registry/2.0"
        return reply

    def _authenticate(self, headers, op):
        auth = headers.get("Authorization") or ""
        principal = None
        if auth.lower().startswith("basic "):
            try:
                name, _sep, password = base64.b64decode(auth[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise HarborError(401, "UNAUTHORIZED", "malformed basic auth")
            user = self.user(name)
            if user is not None and user["password"] == password:
                principal = dict(kind="user", admin=user["sysadmin_flag"], user=user)
            else:
                for robot in self.robots.values():
                    if robot["name"] == name and robot["secret"] == password and not robot["disable"]:
                        principal = dict(kind="robot", admin=False, robot=robot)
            # A refused login is no error by itself: Harbor's basic-auth generator logs it and returns
            # no security context, so the request goes on as anonymous
            # (src/server/middleware/security/basic_auth.go, Generate); operations that need a user
            # then answer 401.
        if principal is None and op["operationId"] not in ("getHealth", "getPing", "getSystemInfo"):
            raise HarborError(401, "UNAUTHORIZED", "anonymous access is not allowed")
        return principal

    @staticmethod
    def _admin(principal):
        if not principal or not principal["admin"]:
            raise HarborError(403, "FORBIDDEN", "only system administrators may do this")

    def _page(self, items, params, base, query):
        page = params.get("page") or 1
        size = params.get("page_size") or 10
        total = len(items)
        start = (page - 1) * size
        chunk = items[start:start + size]
        links = []
        extra = dict((k, v[0]) for k, v in query.items() if k not in ("page", "page_size"))

        def link(number, rel):
            args = "&".join("%s=%s" % (k, quote(str(v), safe="")) for k, v in sorted(extra.items()))
            target = "%s?page=%d&page_size=%d%s" % (base, number, size, ("&" + args) if args else "")
            return '<%s>; rel="%s"' % (target, rel)

        if page > 1:
            links.append(link(page - 1, "prev"))
        if start + size < total:
            links.append(link(page + 1, "next"))
        headers = {"X-Total-Count": str(total)}
        if links:
            headers["Link"] = " , ".join(links)
        return Reply(200, chunk, headers)

    @staticmethod
    def _q(params):
        """Harbor's q syntax: k=v (exact) and k=~v (fuzzy), comma separated."""
        result = {}
        for part in (params.get("q") or "").split(","):
            if not part:
                continue
            key, _sep, value = part.partition("=")
            fuzzy = value.startswith("~")
            result[key] = (value[1:] if fuzzy else value, fuzzy)
        return result

    # -- health, ping, systeminfo, configurations -----------------------------------------
    def op_getHealth(self, **_):
        names = ["core", "database", "jobservice", "portal", "redis", "registry", "registryctl"]
        components = [dict(name=n, status="healthy") for n in names]
        if self.health_status != "healthy":
            components[-1] = dict(name="registryctl", status="unhealthy", error="injected")
        return Reply(200, dict(status=self.health_status, components=components))

    def op_getPing(self, **_):
        return Reply(200, text="Pong")

    def op_getSystemInfo(self, principal, **_):
        # Only an authenticated caller gets the protected part (read_only, registry_url,
        # external_url, ...): src/server/v2.0/handler/systeminfo.go, GetSystemInfo (WithProtectedInfo
        # only when the security context is authenticated) and convertInfo.
        info = dict(auth_mode="db_auth", primary_auth_mode=False, harbor_version=self.version,
                    self_registration=False, has_ca_root=False, read_only=self.config["read_only"],
                    registry_url="127.0.0.1", external_url="http://127.0.0.1",
                    project_creation_restriction="everyone", notification_enable=True,
                    registry_storage_provider_name="filesystem", current_time=_now())
        if principal is None:
            info = dict((k, info[k]) for k in ("auth_mode", "primary_auth_mode", "harbor_version",
                                               "self_registration", "has_ca_root", "banner_message")
                        if k in info)
        return Reply(200, info)

    def op_getConfigurations(self, principal, **_):
        self._admin(principal)
        return Reply(200, dict(read_only=dict(value=self.config["read_only"], editable=True),
                               robot_name_prefix=dict(value=self.config["robot_name_prefix"], editable=True),
                               auth_mode=dict(value="db_auth", editable=True)))

    def op_updateConfigurations(self, principal, params, **_):
        self._admin(principal)
        for key, value in params["configurations"].items():
            if key not in ("read_only", "robot_name_prefix"):
                raise HarborError(400, "BAD_REQUEST", "the double only supports read_only and robot_name_prefix")
            self.config[key] = value
        return Reply(200)

    # -- projects -------------------------------------------------------------------------
    def op_listProjects(self, principal, params, base, query, **_):
        items = sorted(self.projects.values(), key=lambda p: p["project_id"])
        if params.get("name"):
            items = [p for p in items if p["name"] == params["name"]]
        q = self._q(params)
        if "name" in q:
            value, fuzzy = q["name"]
            items = [p for p in items if (value in p["name"] if fuzzy else p["name"] == value)]
        if "public" in params:
            items = [p for p in items if p["metadata"].get("public") == ("true" if params["public"] else "false")]
        reply = self._page([self._project_view(p) for p in items], params, base, query)
        return reply

    def op_headProject(self, params, **_):
        return Reply(200 if self.project(params["project_name"]) else 404)

    def op_createProject(self, principal, params, **_):
        req = params["project"]
        name = req.get("project_name") or ""
        if not _PROJECT_NAME.match(name) or len(name) > 255:
            raise HarborError(400, "BAD_REQUEST", "project name %r is not valid" % name)
        if self.project(name):
            raise HarborError(409, "CONFLICT", "The project named %s already exists" % name)
        if principal["kind"] != "user":
            raise HarborError(403, "FORBIDDEN", "robots cannot create projects here")
        meta = dict((k, v) for k, v in (req.get("metadata") or {}).items() if v is not None)
        public = meta.get("public") == "true" or bool(req.get("public"))
        limit = req.get("storage_limit")
        registry_id = self._proxy_registry(principal, req)
        project = self._new_project(name, public=public, owner=principal["user"], metadata=meta,
                                    storage_limit=-1 if limit is None else limit, registry_id=registry_id)
        if registry_id:
            # a proxy-cache project gets a retention policy of 7 days since the last pull
            # (src/server/v2.0/handler/project.go, CreateProject: defaultDaysToRetentionForProxyCacheProject)
            rid = self._next("retention")
            self.retentions[rid] = dict(
                id=rid, algorithm="or", scope=dict(level="project", ref=project["project_id"]),
                trigger=dict(kind="Schedule", settings=dict(cron="0 0 0 * * *"), references={}),
                rules=[dict(id=1, disabled=False, action="retain", template="nDaysSinceLastPull",
                            params=dict(nDaysSinceLastPull=7),
                            tag_selectors=[dict(kind="doublestar", decoration="matches", pattern="**")],
                            scope_selectors=dict(repository=[dict(kind="doublestar", decoration="repoMatches",
                                                                  pattern="**")]))])
            project["metadata"]["retention_id"] = str(rid)
        return Reply(201, headers={"Location": "%s/projects/%d" % (API, project["project_id"])})

    def op_getProject(self, params, path, headers, **_):
        return Reply(200, self._project_view(self._project_ref(path["project_name_or_id"], headers)))

    def op_updateProject(self, principal, params, path, headers, **_):
        project = self._project_ref(path["project_name_or_id"], headers)
        req = params["project"]
        if req.get("registry_id") is not None and req["registry_id"] != project.get("registry_id"):
            # Harbor's UpdateProject never reads registry_id (src/server/v2.0/handler/project.go, UpdateProject
            # copies only metadata and cve_allowlist): a proxy cache cannot be moved to another endpoint, nor a
            # project made one. Harbor drops the field silently; the double refuses it, as it refuses every
            # setting Harbor would lose.
            message = "PUT /projects/%s: registry_id cannot be changed after creation (Harbor ignores it)" % (
                path["project_name_or_id"])
            self.violations.append(message)
            raise HarborError(400, "BAD_REQUEST", message)
        for key, value in (req.get("metadata") or {}).items():
            if value is not None:
                project["metadata"][key] = value
        project["update_time"] = _now()
        return Reply(200)

    def op_deleteProject(self, principal, path, headers, **_):
        project = self._project_ref(path["project_name_or_id"], headers)
        if self.repositories.get(project["project_id"]):
            raise HarborError(412, "PRECONDITION", "the project contains repositories, can not be deleted")
        pid = project["project_id"]
        del self.projects[pid]
        self.quotas.pop(project["quota_id"], None)
        self.members.pop(pid, None)
        for rid in [r for r, robot in self.robots.items() if robot.get("project_id") == pid]:
            del self.robots[rid]
        return Reply(200)

    # -- webhook policies -----------------------------------------------------------------------
    def _webhooks(self, path, headers):
        project = self._project_ref(path["project_name_or_id"], headers)
        return project, self.webhooks.setdefault(project["project_id"], {})

    def op_ListWebhookPoliciesOfProject(self, params, path, headers, base, query, **_):
        _project, policies = self._webhooks(path, headers)
        return self._page([dict(p) for _i, p in sorted(policies.items())], params, base, query)

    def op_CreateWebhookPolicyOfProject(self, principal, params, path, headers, **_):
        project, policies = self._webhooks(path, headers)
        req = params["policy"]
        if not req.get("name") or not req.get("targets") or not req.get("event_types"):
            raise HarborError(400, "BAD_REQUEST", "a webhook policy needs a name, targets and event_types")
        if any(p["name"] == req["name"] for p in policies.values()):
            raise HarborError(409, "CONFLICT", "webhook policy %s already exists" % req["name"])
        targets = self._webhook_targets(req["targets"])
        policy_id = self._next("webhook")
        policies[policy_id] = dict(
            id=policy_id, name=req["name"], description=req.get("description") or "", project_id=project["project_id"],
            targets=targets, event_types=list(req["event_types"]),
            enabled=req.get("enabled", True), creator=principal["user"]["username"] if principal.get("user") else "",
            creation_time=_now(), update_time=_now())
        location = "%s/projects/%d/webhook/policies/%d" % (API, project["project_id"], policy_id)
        return Reply(201, headers={"Location": location})

    @staticmethod
    def _webhook_targets(targets):
        """Targets as Harbor stores them. Harbor parses each address (spaces and trailing '/' trimmed,
        scheme http or https, none means http) and keeps only scheme://host + path: a query string,
        a fragment and user info are dropped (src/server/v2.0/handler/webhook.go, validateTargets;
        src/common/utils/utils.go, ParseEndpoint)."""
        stored = []
        for target in targets:
            address = (target.get("address") or "").strip(" ").rstrip("/")
            if not address:
                raise HarborError(400, "BAD_REQUEST", "empty URL")
            scheme, sep, _rest = address.partition("://")
            if sep and scheme not in ("http", "https"):
                raise HarborError(400, "BAD_REQUEST", "invalid scheme: %s" % scheme)
            if not sep:
                address = "http://" + address
            parts = urlsplit(address)
            host = parts.netloc.rpartition("@")[2]
            if target.get("type") not in ("http", "slack"):
                raise HarborError(400, "BAD_REQUEST", "unsupported target type %s" % target.get("type"))
            stored.append(dict(target, address="%s://%s%s" % (parts.scheme, host, unquote(parts.path))))
        return stored

    def _webhook(self, path, headers):
        _project, policies = self._webhooks(path, headers)
        policy = policies.get(int(path["webhook_policy_id"]))
        if policy is None:
            raise HarborError(404, "NOT_FOUND", "webhook policy %s not found" % path["webhook_policy_id"])
        return policies, policy

    def op_GetWebhookPolicyOfProject(self, path, headers, **_):
        return Reply(200, dict(self._webhook(path, headers)[1]))

    def op_UpdateWebhookPolicyOfProject(self, params, path, headers, **_):
        _policies, policy = self._webhook(path, headers)
        req = params["policy"]
        if "targets" in req:
            req = dict(req, targets=self._webhook_targets(req["targets"]))
        for key in ("name", "description", "targets", "event_types", "enabled"):
            if key in req:
                policy[key] = req[key]
        policy["update_time"] = _now()
        return Reply(200)

    def op_DeleteWebhookPolicyOfProject(self, path, headers, **_):
        policies, policy = self._webhook(path, headers)
        del policies[policy["id"]]
        return Reply(200)

    def op_getProjectDeletable(self, path, headers, **_):
        project = self._project_ref(path["project_name_or_id"], headers)
        count = len(self.repositories.get(project["project_id"], {}))
        if count:
            return Reply(200, dict(deletable=False, message="the project contains %d repositories" % count))
        return Reply(200, dict(deletable=True))

    def op_listProjectMetadatas(self, path, headers, **_):
        return Reply(200, dict(self._project_ref(path["project_name_or_id"], headers)["metadata"]))

    def op_addProjectMetadatas(self, params, path, headers, **_):
        project = self._project_ref(path["project_name_or_id"], headers)
        project["metadata"].update(params.get("metadata") or {})
        return Reply(200)

    def op_getProjectMetadata(self, path, headers, **_):
        meta = self._project_ref(path["project_name_or_id"], headers)["metadata"]
        if path["meta_name"] not in meta:
            raise HarborError(404, "NOT_FOUND", "metadata %s not found" % path["meta_name"])
        return Reply(200, {path["meta_name"]: meta[path["meta_name"]]})

    def op_updateProjectMetadata(self, params, path, headers, **_):
        meta = self._project_ref(path["project_name_or_id"], headers)["metadata"]
        meta.update(params.get("metadata") or {})
        return Reply(200)

    def op_deleteProjectMetadata(self, path, headers, **_):
        meta = self._project_ref(path["project_name_or_id"], headers)["metadata"]
        meta.pop(path["meta_name"], None)
        return Reply(200)

    # -- repositories ---------------------------------------------------------------------
    def op_listRepositories(self, params, path, base, query, **_):
        project = self._project_by_name(path["project_name"])
        repos = sorted(self.repositories.get(project["project_id"], {}).values(), key=lambda r: r["id"])
        return self._page([dict(r) for r in repos], params, base, query)

    def op_deleteRepository(self, principal, path, **_):
        project = self._project_by_name(path["project_name"])
        name = unquote(path["repository_name"])  # encoded twice by the client, once decoded already
        repos = self.repositories.get(project["project_id"], {})
        if name not in repos:
            raise HarborError(404, "NOT_FOUND", "repository %s/%s not found" % (project["name"], name))
        self.quotas[project["quota_id"]]["used"]["storage"] -= 1024 * repos[name]["artifact_count"]
        self.garbage += repos[name]["artifact_count"]
        del repos[name]
        return Reply(200)

    # -- quotas ---------------------------------------------------------------------------
    def _quota_view(self, quota):
        project = self.projects.get(quota["project_id"])
        return dict(id=quota["id"], hard=dict(quota["hard"]), used=dict(quota["used"]),
                    ref=dict(id=quota["project_id"], name=project["name"] if project else "",
                             owner_name=project["owner_name"] if project else ""),
                    creation_time=quota["creation_time"], update_time=quota["update_time"])

    def op_listQuotas(self, principal, params, base, query, **_):
        items = sorted(self.quotas.values(), key=lambda q: q["id"])
        if params.get("reference") not in (None, "project"):
            items = []
        if params.get("reference_id"):
            items = [q for q in items if str(q["project_id"]) == params["reference_id"]]
        return self._page([self._quota_view(q) for q in items], params, base, query)

    def op_getQuota(self, path, **_):
        quota = self.quotas.get(int(path["id"]))
        if quota is None:
            raise HarborError(404, "NOT_FOUND", "quota not found")
        return Reply(200, self._quota_view(quota))

    def op_updateQuota(self, principal, params, path, **_):
        self._admin(principal)
        quota = self.quotas.get(int(path["id"]))
        if quota is None:
            raise HarborError(404, "NOT_FOUND", "quota not found")
        hard = (params["hard"] or {}).get("hard") or {}
        for key, value in hard.items():
            if key != "storage":
                raise HarborError(400, "BAD_REQUEST", "unknown quota resource %s" % key)
            if value != -1 and value <= 0:
                raise HarborError(400, "BAD_REQUEST", "storage limit must be -1 or positive")
        quota["hard"].update(hard)
        quota["update_time"] = _now()
        return Reply(200)

    # -- members --------------------------------------------------------------------------
    def op_listProjectMembers(self, params, path, headers, base, query, **_):
        project = self._project_ref(path["project_name_or_id"], headers)
        items = sorted(self.members.get(project["project_id"], {}).values(), key=lambda m: m["id"])
        if params.get("entityname"):
            items = [m for m in items if params["entityname"] in m["entity_name"]]
        return self._page([dict(m, role_name=ROLE_NAMES[m["role_id"]]) for m in items], params, base, query)

    def op_createProjectMember(self, principal, params, path, headers, **_):
        project = self._project_ref(path["project_name_or_id"], headers)
        req = params.get("project_member") or {}
        role = req.get("role_id")
        if role not in ROLE_NAMES:
            raise HarborError(400, "BAD_REQUEST", "role_id %r is not valid" % role)
        members = self.members.setdefault(project["project_id"], {})
        if req.get("member_user"):
            ref = req["member_user"]
            user = self.users.get(ref.get("user_id")) if ref.get("user_id") else self.user(ref.get("username", ""))
            if user is None:
                raise HarborError(404, "NOT_FOUND", "user %s not found" % (ref.get("username") or ref.get("user_id")))
            entity = (user["user_id"], user["username"], "u")
        elif req.get("member_group"):
            ref = req["member_group"]
            group = self.usergroups.get(ref.get("id"))
            if group is None:
                raise HarborError(404, "NOT_FOUND", "user group %r not found" % ref)
            entity = (group["id"], group["group_name"], "g")
        else:
            raise HarborError(400, "BAD_REQUEST", "member_user or member_group is required")
        for member in members.values():
            if (member["entity_id"], member["entity_type"]) == (entity[0], entity[2]):
                raise HarborError(409, "CONFLICT", "%s is already a member of %s" % (entity[1], project["name"]))
        mid = self._next("member")
        members[mid] = dict(id=mid, project_id=project["project_id"], entity_id=entity[0], entity_name=entity[1],
                            entity_type=entity[2], role_id=role)
        return Reply(201, headers={"Location": "%s/projects/%d/members/%d" % (API, project["project_id"], mid)})

    def _member(self, path, headers):
        project = self._project_ref(path["project_name_or_id"], headers)
        member = self.members.get(project["project_id"], {}).get(int(path["mid"]))
        if member is None:
            raise HarborError(404, "NOT_FOUND", "member %s not found" % path["mid"])
        return project, member

    def op_getProjectMember(self, path, headers, **_):
        _project, member = self._member(path, headers)
        return Reply(200, dict(member, role_name=ROLE_NAMES[member["role_id"]]))

    def op_updateProjectMember(self, params, path, headers, **_):
        _project, member = self._member(path, headers)
        role = (params.get("role") or {}).get("role_id")
        if role not in ROLE_NAMES:
            raise HarborError(400, "BAD_REQUEST", "role_id %r is not valid" % role)
        member["role_id"] = role
        return Reply(200)

    def op_deleteProjectMember(self, path, headers, **_):
        project, member = self._member(path, headers)
        del self.members[project["project_id"]][member["id"]]
        return Reply(200)

    def op_listUserGroups(self, principal, params, base, query, **_):
        self._admin(principal)
        items = sorted(self.usergroups.values(), key=lambda g: g["id"])
        if params.get("group_name"):
            items = [g for g in items if params["group_name"] in g["group_name"]]
        return self._page([dict(g) for g in items], params, base, query)

    # -- users ----------------------------------------------------------------------------
    def op_listUsers(self, principal, params, base, query, **_):
        self._admin(principal)
        items = sorted(self.users.values(), key=lambda u: u["user_id"])
        q = self._q(params)
        if "user_id" not in q:
            # the user manager's List and Count add user_id > 1 unless the query names user_id: the
            # built-in admin is never listed (src/pkg/user/manager.go, excludeDefaultAdmin)
            items = [u for u in items if u["user_id"] > 1]
        elif q["user_id"][0].isdigit():
            items = [u for u in items if u["user_id"] == int(q["user_id"][0])]
        if "username" in q:
            value, fuzzy = q["username"]
            items = [u for u in items if (value in u["username"] if fuzzy else u["username"] == value)]
        return self._page([self._user_view(u) for u in items], params, base, query)

    def op_getCurrentUserInfo(self, principal, **_):
        if principal["kind"] != "user":
            raise HarborError(403, "FORBIDDEN", "not a user")
        return Reply(200, self._user_view(principal["user"]))

    def op_createUser(self, principal, params, **_):
        self._admin(principal)
        req = params["userReq"]
        name = req.get("username") or ""
        if not name or re.search(r"[,~#$%]", name):
            raise HarborError(400, "BAD_REQUEST", "username %r is not valid" % name)
        if not harbor_password_ok(req.get("password") or ""):
            raise HarborError(400, "BAD_REQUEST", "password does not meet the requirement")
        self._check_profile(req)
        if self.user(name) or any(u["email"] == req["email"] for u in self.users.values()):
            # one unique-violation message for both (src/pkg/user/dao/dao.go, Create)
            raise HarborError(409, "CONFLICT", "user %s or email %s already exists" % (name, req["email"]))
        user = self._new_user(name, req["password"], email=req["email"], realname=req["realname"],
                              comment=req.get("comment", ""))
        return Reply(201, headers={"Location": "%s/users/%d" % (API, user["user_id"])})

    @staticmethod
    def _check_profile(req):
        """Harbor's user profile rule (src/server/v2.0/handler/user.go, validateUserProfile): an email
        is required and must match its address pattern (one '@', a dotted domain whose last label
        has two or more letters, or a bracketed IPv4); realname 1-255 characters without , " ~ # %% $;
        comment at most 30 characters."""
        email = req.get("email") or ""
        if not email:
            raise HarborError(400, "BAD_REQUEST", "email can't be empty")
        if not _EMAIL.match(email):
            raise HarborError(400, "BAD_REQUEST", "email with illegal format")
        realname = req.get("realname") or ""
        if not 1 <= len(realname) <= 255:
            raise HarborError(400, "BAD_REQUEST", "realname with illegal length")
        if re.search(r'[,"~#%$]', realname):
            raise HarborError(400, "BAD_REQUEST", "realname contains illegal characters")
        if len(req.get("comment") or "") > 30:
            raise HarborError(400, "BAD_REQUEST", "comment with illegal length")

    def _user_by_id(self, path):
        user = self.users.get(int(path["user_id"]))
        if user is None:
            raise HarborError(404, "NOT_FOUND", "user %s not found" % path["user_id"])
        return user

    def op_getUser(self, principal, path, **_):
        self._admin(principal)
        return Reply(200, self._user_view(self._user_by_id(path)))

    def op_updateUserProfile(self, principal, params, path, **_):
        self._admin(principal)
        user = self._user_by_id(path)
        self._check_profile(params["profile"])
        user.update(dict((k, v) for k, v in params["profile"].items()))
        return Reply(200)

    def op_deleteUser(self, principal, path, **_):
        self._admin(principal)
        user = self._user_by_id(path)
        if user["user_id"] == 1 or principal.get("user") is user:
            # src/server/v2.0/handler/user.go, requireDeletable
            raise HarborError(403, "FORBIDDEN", "User with ID %d cannot be deleted" % user["user_id"])
        del self.users[user["user_id"]]
        for members in self.members.values():
            for mid in [m for m, member in members.items()
                        if member["entity_type"] == "u" and member["entity_id"] == user["user_id"]]:
                del members[mid]
        return Reply(200)

    def op_setUserSysAdmin(self, principal, params, path, **_):
        self._admin(principal)
        user = self._user_by_id(path)
        user["sysadmin_flag"] = bool(params["sysadmin_flag"].get("sysadmin_flag"))
        return Reply(200)

    def op_updateUserPassword(self, principal, params, path, **_):
        # src/server/v2.0/handler/user.go, UpdateUserPassword and requireModifiable (db_auth): a user
        # may change his own password, proving it with old_password; a system admin anyone else's.
        if principal is None:
            raise HarborError(401, "UNAUTHORIZED", "anonymous access is not allowed")
        user = self._user_by_id(path)
        if principal.get("user") is user:
            if params["password"].get("old_password") != user["password"]:
                raise HarborError(403, "FORBIDDEN", "Current password is incorrect")
        elif not principal["admin"]:
            raise HarborError(403, "FORBIDDEN", "not allowed")
        new = params["password"].get("new_password") or ""
        if not harbor_password_ok(new):
            raise HarborError(400, "BAD_REQUEST", "password does not meet the requirement")
        if new == user["password"]:
            raise HarborError(400, "BAD_REQUEST", "New password is identical to old password")
        user["password"] = new
        return Reply(200)

    # -- robots ---------------------------------------------------------------------------
    def _robot(self, path):
        robot = self.robots.get(int(path["robot_id"]))
        if robot is None:
            raise HarborError(404, "NOT_FOUND", "robot %s not found" % path["robot_id"])
        return robot

    def _check_robot_permissions(self, level, permissions):
        if not permissions:
            raise HarborError(400, "BAD_REQUEST", "permissions are required")
        project = None
        for perm in permissions:
            kind, namespace = perm.get("kind"), perm.get("namespace")
            if level == "project":
                if kind != "project" or len(permissions) != 1:
                    raise HarborError(400, "BAD_REQUEST", "a project robot has exactly one permission of kind project")
                project = self._project_by_name(namespace)
            elif kind == "system":
                if namespace != "/":
                    raise HarborError(400, "BAD_REQUEST", "system permissions use namespace /")
            elif kind == "project":
                if namespace != "*":
                    self._project_by_name(namespace)
            else:
                raise HarborError(400, "BAD_REQUEST", "unknown permission kind %r" % kind)
            if not perm.get("access"):
                raise HarborError(400, "BAD_REQUEST", "access is required")
        return project

    def op_ListRobot(self, principal, params, base, query, **_):
        self._admin(principal)
        items = sorted(self.robots.values(), key=lambda r: r["id"])
        for key, (value, fuzzy) in self._q(params).items():
            if key == "Level":
                items = [r for r in items if r["level"] == value]
            elif key == "ProjectID":
                items = [r for r in items if str(r.get("project_id")) == value]
            elif key == "name":
                items = [r for r in items if (value in r["name"] if fuzzy else r["name"] == value)]
            else:
                raise HarborError(400, "BAD_REQUEST", "unsupported query key %s" % key)
        return self._page([self._robot_view(r) for r in items], params, base, query)

    def op_CreateRobot(self, principal, params, **_):
        self._admin(principal)
        req = params["robot"]
        level, name = req.get("level"), req.get("name") or ""
        if level not in ("project", "system"):
            raise HarborError(400, "BAD_REQUEST", "level must be project or system")
        if not re.fullmatch(r"[a-z0-9]+(?:[._-][a-z0-9]+)*", name):
            raise HarborError(400, "BAD_REQUEST", "robot name %r is not valid" % name)
        duration = req.get("duration")
        if duration is None or not (duration == -1 or duration > 0):
            raise HarborError(400, "BAD_REQUEST", "duration must be -1 or a positive number of days")
        project = self._check_robot_permissions(level, req.get("permissions"))
        prefix = self.config["robot_name_prefix"]
        full = prefix + (("%s+%s" % (project["name"], name)) if level == "project" else name)
        if any(r["name"] == full for r in self.robots.values()):
            raise HarborError(409, "CONFLICT", "robot %s already exists" % full)
        secret = req.get("secret") or ""
        if secret and not harbor_password_ok(secret):
            raise HarborError(400, "BAD_REQUEST", "the secret does not meet the requirement")
        rid = self._next("robot")
        created = _now()
        self.robots[rid] = dict(
            # CreateRobot builds the robot from name, description, duration, level and permissions
            # only: a disable in the request is not read (src/server/v2.0/handler/robot.go, CreateRobot)
            id=rid, name=full, level=level, description=req.get("description", ""), disable=False,
            duration=duration, editable=True, expires_at=-1 if duration == -1 else 1700000000 + duration * 86400,
            permissions=req["permissions"], creation_time=created, update_time=created, creator_type="local",
            creator_ref=principal["user"]["user_id"], secret=secret or "Gen" + secrets.token_hex(12),
            project_id=project["project_id"] if project else None)
        robot = self.robots[rid]
        return Reply(201, dict(id=rid, name=full, secret=robot["secret"], creation_time=created,
                               expires_at=robot["expires_at"]),
                     headers={"Location": "%s/robots/%d" % (API, rid)})

    def op_GetRobotByID(self, principal, path, **_):
        self._admin(principal)
        return Reply(200, self._robot_view(self._robot(path)))

    def op_UpdateRobot(self, principal, params, path, **_):
        self._admin(principal)
        robot = self._robot(path)
        req = params["robot"]
        if req.get("name") != robot["name"] or req.get("level") != robot["level"]:
            raise HarborError(400, "BAD_REQUEST", "cannot update the level or name of robot")
        duration = req.get("duration")
        if duration is None or not (duration == -1 or duration > 0):
            raise HarborError(400, "BAD_REQUEST", "duration must be -1 or a positive number of days")
        project = self._check_robot_permissions(robot["level"], req.get("permissions"))
        if project is not None and project["project_id"] != robot["project_id"]:
            raise HarborError(400, "BAD_REQUEST", "cannot move a project robot to another project")
        robot.update(description=req.get("description", ""), disable=bool(req.get("disable")), duration=duration,
                     permissions=req["permissions"], update_time=_now(),
                     expires_at=-1 if duration == -1 else 1700000000 + duration * 86400)
        return Reply(200)

    def op_RefreshSec(self, principal, params, path, **_):
        self._admin(principal)
        robot = self._robot(path)
        secret = params["robotSec"].get("secret") or ""
        if secret and not harbor_password_ok(secret):
            raise HarborError(400, "BAD_REQUEST", "the secret does not meet the requirement")
        robot["secret"] = secret or "Gen" + secrets.token_hex(12)
        return Reply(200, dict(secret=robot["secret"]))

    def op_DeleteRobot(self, principal, path, **_):
        self._admin(principal)
        del self.robots[self._robot(path)["id"]]
        return Reply(200)

    # -- retention ------------------------------------------------------------------------
    def _check_retention(self, policy):
        if policy.get("algorithm") not in ("or",):
            raise HarborError(400, "BAD_REQUEST", "algorithm must be or")
        scope = policy.get("scope") or {}
        if scope.get("level") != "project" or scope.get("ref") not in self.projects:
            raise HarborError(400, "BAD_REQUEST", "scope must name an existing project")
        for rule in policy.get("rules") or []:
            template = rule.get("template")
            if template not in ("latestPushedK", "nDaysSinceLastPush", "latestPulledN", "nDaysSinceLastPull",
                                "always"):
                raise HarborError(400, "BAD_REQUEST", "unknown template %r" % template)
            if template != "always" and not isinstance((rule.get("params") or {}).get(template), int):
                raise HarborError(400, "BAD_REQUEST", "rule %s needs an integer parameter %s" % (template, template))
        trigger = policy.get("trigger") or {}
        cron = (trigger.get("settings") or {}).get("cron", "")
        if trigger.get("kind") != "Schedule" or (cron and len(cron.split()) != 6):
            raise HarborError(400, "BAD_REQUEST", "trigger must be a Schedule with a six-field cron, got %r" % cron)
        return scope["ref"]

    def op_createRetention(self, principal, params, **_):
        policy = params["policy"]
        pid = self._check_retention(policy)
        project = self.projects[pid]
        if project["metadata"].get("retention_id"):
            raise HarborError(400, "BAD_REQUEST", "project %s already has a retention policy" % project["name"])
        rid = self._next("retention")
        stored = json.loads(json.dumps(policy))
        stored["id"] = rid
        for index, rule in enumerate(stored.get("rules") or []):
            rule["id"] = index + 1
        self.retentions[rid] = stored
        project["metadata"]["retention_id"] = str(rid)
        return Reply(201, headers={"Location": "%s/retentions/%d" % (API, rid)})

    def op_getRetention(self, path, **_):
        policy = self.retentions.get(int(path["id"]))
        if policy is None:
            raise HarborError(404, "NOT_FOUND", "retention %s not found" % path["id"])
        return Reply(200, json.loads(json.dumps(policy)))

    def op_updateRetention(self, params, path, **_):
        rid = int(path["id"])
        if rid not in self.retentions:
            raise HarborError(404, "NOT_FOUND", "retention %s not found" % rid)
        policy = json.loads(json.dumps(params["policy"]))
        self._check_retention(policy)
        policy["id"] = rid
        for index, rule in enumerate(policy.get("rules") or []):
            rule["id"] = index + 1
        self.retentions[rid] = policy
        return Reply(200)

    def op_deleteRetention(self, path, **_):
        rid = int(path["id"])
        policy = self.retentions.pop(rid, None)
        if policy is None:
            raise HarborError(404, "NOT_FOUND", "retention %s not found" % rid)
        project = self.projects.get(policy["scope"]["ref"])
        if project:
            project["metadata"].pop("retention_id", None)
        return Reply(200)

    def _retention_or_404(self, rid):
        policy = self.retentions.get(int(rid))
        if policy is None:
            # src/server/v2.0/handler/retention.go, TriggerRetentionExecution: a policy it cannot load
            # is a bad request
            raise HarborError(400, "BAD_REQUEST", "retention %s not found" % rid)
        return policy

    def op_triggerRetentionExecution(self, principal, params, path, **_):
        """A manual execution, over at once: one task per repository of the project, each
        retaining what the rules keep (the double's artifacts were all pushed just now, so an
        nDaysSinceLastPush rule keeps everything; latestPushedK keeps K). Not a dry run: the
        others are deleted and become garbage for the next GC. Answers 201 with the execution's
        Location (src/server/v2.0/handler/retention.go, TriggerRetentionExecution)."""
        if principal is None:
            raise HarborError(401, "UNAUTHORIZED", "anonymous access is not allowed")
        policy = self._retention_or_404(path["id"])
        dry_run = bool((params.get("body") or {}).get("dry_run"))
        project = self.projects[policy["scope"]["ref"]]
        templates = dict((r["template"], (r.get("params") or {}).get(r["template"])) for r in policy.get("rules") or []
                         if not r.get("disabled"))
        executions = self.retention_executions.setdefault(policy["id"], {})
        eid = self._next("retention_execution")
        tasks = []
        for name, repo in sorted(self.repositories.get(project["project_id"], {}).items()):
            total = repo["artifact_count"]
            retained = total if "nDaysSinceLastPush" in templates or "always" in templates else \
                min(total, templates.get("latestPushedK") or 0)
            tasks.append(dict(id=self._next("retention_task"), execution_id=eid, repository=repo["name"],
                              job_id="job-%d" % eid, status="Success", status_code=3, status_revision=1,
                              start_time=_now(), end_time=_now(), total=total, retained=retained))
            if not dry_run and retained < total:
                self.quotas[project["quota_id"]]["used"]["storage"] -= 1024 * (total - retained)
                repo["artifact_count"] = retained
                self.garbage += total - retained
        executions[eid] = dict(id=eid, policy_id=policy["id"], start_time=_now(), end_time=_now(), status="Success",
                               trigger="MANUAL", dry_run=dry_run, _tasks=tasks)
        return Reply(201, headers={"Location": "%s/retentions/%d/executions/%d" % (API, policy["id"], eid)})

    def op_listRetentionExecutions(self, principal, params, path, base, query, **_):
        if principal is None:
            raise HarborError(401, "UNAUTHORIZED", "anonymous access is not allowed")
        policy = self._retention_or_404(path["id"])
        items = sorted(self.retention_executions.get(policy["id"], {}).values(), key=lambda e: -e["id"])
        return self._page([dict((k, v) for k, v in e.items() if k != "_tasks") for e in items], params, base, query)

    def op_listRetentionTasks(self, principal, params, path, base, query, **_):
        if principal is None:
            raise HarborError(401, "UNAUTHORIZED", "anonymous access is not allowed")
        policy = self._retention_or_404(path["id"])
        execution = self.retention_executions.get(policy["id"], {}).get(int(path["eid"]))
        if execution is None:
            raise HarborError(404, "NOT_FOUND", "execution %s not found" % path["eid"])
        return self._page([dict(t) for t in execution["_tasks"]], params, base, query)

    # -- garbage collection ---------------------------------------------------------------
    def _gc_view(self, gc):
        view = dict((k, v) for k, v in gc.items() if not k.startswith("_"))
        return view

    def _gc_advance(self, gc):
        if gc["job_status"] in ("Success", "Error", "Stopped"):
            return
        gc["_polls"] += 1
        if gc["_polls"] >= self.gc_steps:
            gc["job_status"] = "Error" if self.gc_fails else "Success"
            dry_run = json.loads(gc["job_parameters"] or "{}").get("dry_run")
            gc["_eligible"] = self.garbage
            if not self.gc_fails and not dry_run:
                gc["_deleted"], self.garbage = self.garbage, 0
            if self.gc_fails:
                self.config["read_only"] = True  # a failed GC can leave Harbor read-only
        else:
            gc["job_status"] = "Running"
        gc["update_time"] = _now()

    def op_getGCHistory(self, principal, params, base, query, **_):
        self._admin(principal)
        items = sorted(self.gc_history.values(), key=lambda g: -g["id"])
        for gc in items:
            self._gc_advance(gc)
        return self._page([self._gc_view(g) for g in items], params, base, query)

    def op_getGC(self, principal, path, **_):
        self._admin(principal)
        gc = self.gc_history.get(int(path["gc_id"]))
        if gc is None:
            raise HarborError(404, "NOT_FOUND", "gc %s not found" % path["gc_id"])
        self._gc_advance(gc)
        return Reply(200, self._gc_view(gc))

    def op_getGCLog(self, principal, path, **_):
        self._admin(principal)
        gc = self.gc_history.get(int(path["gc_id"]))
        if gc is None:
            raise HarborError(404, "NOT_FOUND", "gc %s not found" % path["gc_id"])
        # the job's summary lines (src/jobservice/job/impl/gc/garbage_collection.go: "%d blobs and %d
        # manifests eligible for deletion" on a mark, "... are actually deleted" after the sweep);
        # the double counts one blob and one manifest per artifact deleted since the last GC
        eligible, deleted = gc.get("_eligible", 0), gc.get("_deleted", 0)
        text = "Garbage Collection parameters: %s\n%d blobs and %d manifests eligible for deletion\n" % (
            gc["job_parameters"], eligible, eligible)
        if gc["job_status"] == "Success" and not json.loads(gc["job_parameters"] or "{}").get("dry_run"):
            text += "%d blobs and %d manifests are actually deleted\n" % (deleted, deleted)
        return Reply(200, text=text)

    def op_getGCSchedule(self, principal, **_):
        self._admin(principal)
        if self.gc_schedule is None:
            return Reply(200, {})
        return Reply(200, dict(self.gc_schedule))

    def _schedule_body(self, params):
        body = params["schedule"]
        schedule = body.get("schedule") or {}
        kind = schedule.get("type")
        if kind is None:
            raise HarborError(400, "BAD_REQUEST", "schedule.type is required")
        if kind in ("Custom", "Schedule") and len((schedule.get("cron") or "").split()) != 6:
            raise HarborError(400, "BAD_REQUEST", "invalid cron %r: six fields expected" % schedule.get("cron"))
        return body, schedule, kind

    def op_createGCSchedule(self, principal, params, **_):
        self._admin(principal)
        body, schedule, kind = self._schedule_body(params)
        if kind == "Manual":
            if any(g["job_status"] in ("Pending", "Running") for g in self.gc_history.values()):
                raise HarborError(409, "CONFLICT", "a garbage collection is already running")
            gid = self._next("gc")
            self.gc_history[gid] = dict(id=gid, job_name="GARBAGE_COLLECTION", job_kind="MANUAL",
                                        job_parameters=json.dumps(body.get("parameters") or {}),
                                        job_status="Pending", deleted=False, creation_time=_now(),
                                        update_time=_now(), schedule=dict(type="Manual"), _polls=0)
            return Reply(201, headers={"Location": "%s/system/gc/%d" % (API, gid)})
        if self.gc_schedule is not None:
            raise HarborError(409, "CONFLICT", "a schedule exists already, update it with PUT")
        self.gc_schedule = self._stored_schedule(body, schedule)
        return Reply(201, headers={"Location": "%s/system/gc/schedule" % API})

    def op_updateGCSchedule(self, principal, params, **_):
        self._admin(principal)
        body, schedule, kind = self._schedule_body(params)
        if kind == "Manual":
            raise HarborError(400, "BAD_REQUEST", "use POST to run a manual GC")
        self.gc_schedule = None if kind == "None" else self._stored_schedule(body, schedule)
        return Reply(200)

    def _stored_schedule(self, body, schedule):
        stored = dict(type=schedule["type"])
        if schedule.get("cron"):
            stored["cron"] = schedule["cron"]
        return dict(id=1, job_name="GARBAGE_COLLECTION", job_kind="SCHEDULE",
                    job_parameters=json.dumps(body.get("parameters") or {}), schedule=stored,
                    creation_time=_now(), update_time=_now())

    # -- registry endpoints (issue 16) --------------------------------------------------------
    # src/server/v2.0/handler/registry.go and src/controller/registry/controller.go (v2.15.2).
    ADAPTER_TYPES = ("docker-registry", "docker-hub", "harbor", "github-ghcr", "quay", "gitlab", "google-gcr",
                     "aws-ecr", "azure-acr", "ali-acr", "jfrog-artifactory", "huawei-SWR", "tencent-tcr",
                     "volcengine-cr", "dtr", "helm-hub")
    # make/photon/prepare/templates/core/env.jinja: PERMITTED_REGISTRY_TYPES_FOR_PROXY_CACHE
    PROXY_CACHE_TYPES = ("docker-hub", "harbor", "azure-acr", "ali-acr", "aws-ecr", "google-gcr", "docker-registry",
                         "github-ghcr", "jfrog-artifactory")

    @staticmethod
    def _endpoint_url(value):
        """src/lib/endpoint.go, ValidateHTTPURL: trimmed, http:// when no scheme, only http/https, and kept
        as scheme://host + path (a query or user info is dropped)."""
        value = (value or "").strip(" ").rstrip("/")
        if not value:
            raise HarborError(400, "BAD_REQUEST", "empty string")
        if "://" not in value:
            value = "http://" + value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https"):
            raise HarborError(400, "BAD_REQUEST", "invalid HTTP scheme: %s" % parts.scheme)
        return "%s://%s%s" % (parts.scheme, parts.netloc.rpartition("@")[2], parts.path)

    def _validate_registry(self, registry, own_id=None):
        """src/controller/registry/controller.go, validate: name 1-64 characters, a valid URL, and a health
        check of the endpoint (the double: healthy unless its URL is in ``unhealthy_urls``); names are unique
        (src/pkg/reg/dao/dao.go: "registry %s already exists", a conflict)."""
        if not registry.get("name"):
            raise HarborError(400, "BAD_REQUEST", "name cannot be empty")
        if len(registry["name"]) > 64:
            raise HarborError(400, "BAD_REQUEST", "the max length of name is 64")
        registry["url"] = self._endpoint_url(registry.get("url"))
        if registry.get("type") not in self.ADAPTER_TYPES:
            raise HarborError(400, "BAD_REQUEST", "adapter factory for %s not found" % registry.get("type"))
        if registry["url"] in self.unhealthy_urls:
            raise HarborError(400, "BAD_REQUEST", "the registry is unhealthy")
        if any(r["name"] == registry["name"] and r["id"] != own_id for r in self.registries.values()):
            raise HarborError(409, "CONFLICT", "registry %s already exists" % registry["name"])
        registry["status"] = "healthy"

    def _registry_view(self, registry):
        """src/server/v2.0/handler/replication.go, convertRegistry: the secret comes back as "*****" when one
        is set, never itself."""
        view = dict((k, v) for k, v in registry.items() if k != "credential")
        credential = registry.get("credential")
        if credential is not None:
            view["credential"] = dict(type=credential.get("type") or "", access_key=credential.get("access_key") or "")
            if credential.get("access_secret"):
                view["credential"]["access_secret"] = "*****"
        return view

    def _registry_or_404(self, rid):
        registry = self.registries.get(int(rid))
        if registry is None:
            raise HarborError(404, "NOT_FOUND", "registry %s not found" % rid)
        return registry

    def op_createRegistry(self, principal, params, **_):
        self._admin(principal)
        req = params["registry"]
        registry = dict(name=req.get("name") or "", description=req.get("description") or "", type=req.get("type"),
                        url=req.get("url"), insecure=bool(req.get("insecure")))
        if req.get("credential") is not None:
            registry["credential"] = dict(req["credential"])
        self._validate_registry(registry)
        rid = self._next("registry")
        registry.update(id=rid, creation_time=_now(), update_time=_now())
        self.registries[rid] = registry
        return Reply(201, headers={"Location": "%s/registries/%d" % (API, rid)})

    def op_listRegistries(self, principal, params, base, query, **_):
        self._admin(principal)
        items = sorted(self.registries.values(), key=lambda r: r["id"])
        if params.get("name"):  # the legacy "name" query is a fuzzy match (ListRegistries)
            items = [r for r in items if params["name"] in r["name"]]
        q = self._q(params)
        if "name" in q:
            value, fuzzy = q["name"]
            items = [r for r in items if (value in r["name"] if fuzzy else r["name"] == value)]
        return self._page([self._registry_view(r) for r in items], params, base, query)

    def op_getRegistry(self, principal, path, **_):
        self._admin(principal)
        return Reply(200, self._registry_view(self._registry_or_404(path["id"])))

    def op_updateRegistry(self, principal, params, path, **_):
        """UpdateRegistry: every field that is given (not null) replaces the stored one; the credential is
        kept unless credential_type, access_key or access_secret are given; then validated again."""
        self._admin(principal)
        stored = self._registry_or_404(path["id"])
        registry = json.loads(json.dumps(stored))
        req = params["registry"]
        for key in ("name", "description", "url", "insecure"):
            if req.get(key) is not None:
                registry[key] = req[key]
        credential = registry.setdefault("credential", {})
        for key, target in (("credential_type", "type"), ("access_key", "access_key"),
                            ("access_secret", "access_secret")):
            if req.get(key) is not None:
                credential[target] = req[key]
        self._validate_registry(registry, own_id=stored["id"])
        registry["update_time"] = _now()
        self.registries[stored["id"]] = registry
        return Reply(200)

    def op_deleteRegistry(self, principal, path, **_):
        """src/controller/registry/controller.go, Delete: refused (412) while a replication policy or a
        proxy-cache project refers to the endpoint."""
        self._admin(principal)
        registry = self._registry_or_404(path["id"])
        rid = registry["id"]
        if any(rid in (p["_src"], p["_dest"]) for p in self.replication_policies.values()):
            raise HarborError(412, "PRECONDITION",
                              "the registry %d is referenced by replication policies, cannot delete it" % rid)
        if any(p.get("registry_id") == rid for p in self.projects.values()):
            raise HarborError(412, "PRECONDITION",
                              "the registry %d is referenced by proxy cache project, cannot delete it" % rid)
        del self.registries[rid]
        return Reply(200)

    def _proxy_registry(self, principal, req):
        """CreateProject with registry_id (src/server/v2.0/handler/project.go, CreateProject and
        validateProjectReq): system admins only, an id > 0 of an existing endpoint of a type permitted for
        proxy cache."""
        registry_id = req.get("registry_id")
        if registry_id is None:
            return None
        if not principal.get("admin"):
            raise HarborError(403, "FORBIDDEN", "Only system admin can create proxy cache project")
        if registry_id <= 0:
            raise HarborError(400, "BAD_REQUEST",
                              "%d is invalid value of registry_id, it should be geater than 0" % registry_id)
        registry = self.registries.get(registry_id)
        if registry is None:
            # a plain fmt.Errorf in Harbor: it answers 500
            raise HarborError(500, "UNKNOWN", "failed to get the registry %d: registry not found" % registry_id)
        if registry["type"] not in self.PROXY_CACHE_TYPES:
            raise HarborError(400, "BAD_REQUEST", "unsupported registry type %s" % registry["type"])
        return registry_id

    # -- replication policies and executions (issue 16) -----------------------------------------
    # src/server/v2.0/handler/replication.go, src/controller/replication/{policy,execution}.go,
    # src/controller/replication/model/model.go (Validate), src/pkg/reg/model/policy.go (Filter.Validate).
    _REPOSITORY_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")

    def _policy_from_request(self, req, policy_id=None):
        if not req.get("name"):
            raise HarborError(400, "BAD_REQUEST", "empty name")
        src = (req.get("src_registry") or {}).get("id") or 0
        dest = (req.get("dest_registry") or {}).get("id") or 0
        if (src and dest) or (not src and not dest):
            raise HarborError(400, "BAD_REQUEST",
                              "either src_registry or dest_registry should be empty and the other one shouldn't be "
                              "empty")
        for flt in req.get("filters") or []:
            kind = flt.get("type")
            if kind in ("resource", "name", "tag"):
                if not isinstance(flt.get("value"), str):
                    raise HarborError(400, "BAD_REQUEST", "the type of filter value isn't string")
                if kind in ("name", "resource") and flt.get("decoration"):
                    raise HarborError(400, "BAD_REQUEST", "only tag and label filter support decoration")
            elif kind != "label":
                raise HarborError(400, "BAD_REQUEST", "invalid filter type")
            if flt.get("decoration") not in (None, "", "matches", "excludes"):
                raise HarborError(400, "BAD_REQUEST", "invalid filter decoration, :%s" % flt.get("decoration"))
        namespace = req.get("dest_namespace") or ""
        if namespace and not self._REPOSITORY_NAME.match(namespace):
            raise HarborError(400, "BAD_REQUEST", "invalid destination namespace: %s" % namespace)
        trigger = req.get("trigger")
        if trigger is not None:
            kind = trigger.get("type")
            if kind == "scheduled":
                cron = (trigger.get("trigger_settings") or {}).get("cron") or ""
                if not cron:
                    raise HarborError(400, "BAD_REQUEST",
                                      "the cron string cannot be empty when the trigger type is scheduled")
                fields = cron.split(" ")
                if len(fields) != 6:
                    raise HarborError(400, "BAD_REQUEST", "invalid cron string for scheduled trigger: %s" % cron)
                if fields[0] != "0":
                    raise HarborError(400, "BAD_REQUEST",
                                      "the 1st field (indicating Seconds of time) of the cron setting must be 0")
                if fields[1] == "*":
                    raise HarborError(400, "BAD_REQUEST",
                                      "* is not allowed for the Minutes field of the cron setting of replication "
                                      "policy")
            elif kind not in ("manual", "event_based"):
                raise HarborError(400, "BAD_REQUEST", "invalid trigger type")
        for rid in (src, dest):
            if rid:
                self._registry_or_404(rid)  # validatePolicy: regMgr.Get
        if any(p["name"] == req["name"] and p["id"] != policy_id for p in self.replication_policies.values()):
            raise HarborError(409, "CONFLICT", "policy %s already exists" % req["name"])
        count = req.get("dest_namespace_replace_count")
        return dict(
            name=req["name"], description=req.get("description") or "", dest_namespace=namespace,
            dest_namespace_replace_count=-1 if count is None else count,  # "-1 mean the legacy mode"
            trigger=json.loads(json.dumps(trigger)) if trigger else None,
            filters=json.loads(json.dumps(req.get("filters") or [])),
            # CreateReplicationPolicy / UpdateReplicationPolicy read the deprecated "deletion" field, not
            # "replicate_deletion": a request with only replicate_deletion: true replicates no deletion
            replicate_deletion=bool(req.get("deletion")),
            override=bool(req.get("override")), enabled=bool(req.get("enabled")),
            speed=max(0, req.get("speed") or 0), copy_by_chunk=bool(req.get("copy_by_chunk")),
            single_active_replication=bool(req.get("single_active_replication")), _src=src, _dest=dest)

    def _local_registry(self):
        # populateRegistry: the side that is Harbor itself is registry 0, "Local"
        return dict(id=0, name="Local", type="harbor", url="http://core:8080", insecure=True, status="healthy",
                    description="", creation_time=_now(), update_time=_now())

    def _policy_view(self, policy):
        """convertReplicationPolicy: both registries filled in, deletion and replicate_deletion alike."""
        view = dict((k, v) for k, v in policy.items() if not k.startswith("_"))
        view["deletion"] = policy["replicate_deletion"]
        view["src_registry"] = self._registry_view(self.registries[policy["_src"]]) if policy["_src"] else \
            self._local_registry()
        view["dest_registry"] = self._registry_view(self.registries[policy["_dest"]]) if policy["_dest"] else \
            self._local_registry()
        if view["trigger"] is None:
            view.pop("trigger")
        return view

    def _policy_or_404(self, pid):
        policy = self.replication_policies.get(int(pid))
        if policy is None:
            raise HarborError(404, "NOT_FOUND", "policy %s not found" % pid)
        return policy

    def op_createReplicationPolicy(self, principal, params, **_):
        self._admin(principal)
        policy = self._policy_from_request(params["policy"])
        pid = self._next("replication_policy")
        policy.update(id=pid, creation_time=_now(), update_time=_now())
        self.replication_policies[pid] = policy
        return Reply(201, headers={"Location": "%s/replication/policies/%d" % (API, pid)})

    def op_listReplicationPolicies(self, principal, params, base, query, **_):
        self._admin(principal)
        items = sorted(self.replication_policies.values(), key=lambda p: p["id"])
        if params.get("name"):
            items = [p for p in items if params["name"] in p["name"]]
        q = self._q(params)
        if "name" in q:
            value, fuzzy = q["name"]
            items = [p for p in items if (value in p["name"] if fuzzy else p["name"] == value)]
        return self._page([self._policy_view(p) for p in items], params, base, query)

    def op_getReplicationPolicy(self, principal, path, **_):
        self._admin(principal)
        return Reply(200, self._policy_view(self._policy_or_404(path["id"])))

    def op_updateReplicationPolicy(self, principal, params, path, **_):
        self._admin(principal)
        stored = self._policy_or_404(path["id"])
        policy = self._policy_from_request(params["policy"], policy_id=stored["id"])
        policy.update(id=stored["id"], creation_time=stored["creation_time"], update_time=_now())
        self.replication_policies[stored["id"]] = policy
        return Reply(200)

    def op_deleteReplicationPolicy(self, principal, path, **_):
        """DeletePolicy: its executions go with it."""
        self._admin(principal)
        policy = self._policy_or_404(path["id"])
        for eid in [e for e, ex in self.replication_executions.items() if ex["policy_id"] == policy["id"]]:
            del self.replication_executions[eid]
        del self.replication_policies[policy["id"]]
        return Reply(200)

    @staticmethod
    def _glob(pattern, value):
        """Harbor's doublestar match for name and tag filters (src/pkg/reg/util/pattern.go, Match, with
        github.com/bmatcuk/doublestar): '*' within a path component, '**' across, {a,b} alternatives."""
        regex = ""
        i = 0
        depth = 0
        while i < len(pattern):
            if pattern[i] == "{":
                regex += "(?:"
                depth += 1
                i += 1
            elif pattern[i] == "}" and depth:
                regex += ")"
                depth -= 1
                i += 1
            elif pattern[i] == "," and depth:
                regex += "|"
                i += 1
            elif pattern.startswith("**", i):
                regex += ".*"
                i += 2
            elif pattern[i] == "*":
                regex += "[^/]*"
                i += 1
            elif pattern[i] == "?":
                regex += "[^/]"
                i += 1
            else:
                regex += re.escape(pattern[i])
                i += 1
        return re.fullmatch(regex, value) is not None

    def _replication_sources(self, policy):
        """{repository: [tags]} the execution finds at its source: the double's local artifacts for a push,
        ``remote_content`` of the source endpoint's URL for a pull."""
        if policy["_src"]:
            remote = self.remote_content.get(self.registries[policy["_src"]]["url"], {})
            found = dict((r, list(t)) for r, t in remote.items())
        else:
            found = {}
            for (pid, repo), artifacts in self.artifacts.items():
                project = self.projects.get(pid)
                if project is not None:
                    found["%s/%s" % (project["name"], repo)] = [t for a in artifacts for t in a["tags"]]
        names = [f["value"] for f in policy["filters"] if f["type"] == "name"]
        tags = [f for f in policy["filters"] if f["type"] == "tag"]
        result = {}
        for repository, repo_tags in sorted(found.items()):
            if names and not any(self._glob(n, repository) for n in names):
                continue
            for flt in tags:
                match = [t for t in repo_tags if self._glob(flt["value"], t)]
                repo_tags = [t for t in repo_tags if t not in match] if flt.get("decoration") == "excludes" else match
            if repo_tags:
                result[repository] = repo_tags
        return result

    def op_startReplication(self, principal, params, **_):
        """StartReplication -> controller Start: a disabled policy answers 412 ("the policy %d is
        disabled"); an execution with one task per repository (src/controller/replication/flow/stage.go:
        the destination repository by replaceNamespace, the resource named "<repo> [N item(s) in total]")."""
        self._admin(principal)
        policy = self._policy_or_404(params["execution"].get("policy_id") or 0)
        if not policy["enabled"]:
            raise HarborError(412, "PRECONDITION", "the policy %d is disabled" % policy["id"])
        eid = self._next("replication_execution")
        tasks = []
        for repository, tags in self._replication_sources(policy).items():
            tasks.append(dict(id=self._next("replication_task"), execution_id=eid, status="InProgress",
                              job_id="job-%d" % eid, operation="copy", resource_type="image",
                              src_resource="%s [%d item(s) in total]" % (repository, len(tags)),
                              dst_resource="%s [%d item(s) in total]" % (
                                  self._replace_namespace(repository, policy), len(tags)),
                              start_time=_now(), end_time=_now(), _tags=tags, _repository=repository))
        self.replication_executions[eid] = dict(id=eid, policy_id=policy["id"], status="InProgress",
                                                trigger="manual", start_time=_now(), end_time=_now(),
                                                status_text="", _tasks=tasks, _polls=0)
        return Reply(201, headers={"Location": "%s/replication/executions/%d" % (API, eid)})

    @staticmethod
    def _replace_namespace(repository, policy):
        """src/controller/replication/flow/stage.go, replaceNamespace."""
        namespace, count = policy["dest_namespace"], policy["dest_namespace_replace_count"]
        if not namespace:
            return repository
        parts = repository.split("/")
        if count < 0:
            return "%s/%s" % (namespace, parts[-1])
        return "/".join([namespace] + parts[min(count, len(parts) - 1):])

    def _execution_advance(self, execution):
        if execution["status"] != "InProgress":
            return
        execution["_polls"] += 1
        if execution["_polls"] > self.replication_steps:
            execution["status"] = "Succeed"
            execution["end_time"] = _now()
            for task in execution["_tasks"]:
                task["status"] = "Failed" if task["_repository"] in self.replication_fails else "Succeed"
                task["end_time"] = _now()
            if any(t["status"] == "Failed" for t in execution["_tasks"]):
                execution["status"] = "Failed"
                execution["status_text"] = "%d of %d tasks failed" % (
                    sum(t["status"] == "Failed" for t in execution["_tasks"]), len(execution["_tasks"]))

    def _execution_view(self, execution):
        view = dict((k, v) for k, v in execution.items() if not k.startswith("_"))
        tasks = execution["_tasks"]
        view.update(total=len(tasks), succeed=sum(t["status"] == "Succeed" for t in tasks),
                    failed=sum(t["status"] == "Failed" for t in tasks),
                    in_progress=sum(t["status"] == "InProgress" for t in tasks),
                    stopped=sum(t["status"] == "Stopped" for t in tasks))
        return view

    def op_getReplicationExecution(self, principal, path, **_):
        self._admin(principal)
        execution = self.replication_executions.get(int(path["id"]))
        if execution is None:
            raise HarborError(404, "NOT_FOUND", "execution %s not found" % path["id"])
        self._execution_advance(execution)
        return Reply(200, self._execution_view(execution))

    def op_listReplicationExecutions(self, principal, params, base, query, **_):
        self._admin(principal)
        items = sorted(self.replication_executions.values(), key=lambda e: -e["id"])
        if params.get("policy_id") is not None:
            items = [e for e in items if e["policy_id"] == params["policy_id"]]
        for execution in items:
            self._execution_advance(execution)
        return self._page([self._execution_view(e) for e in items], params, base, query)

    def op_listReplicationTasks(self, principal, params, path, base, query, **_):
        self._admin(principal)
        execution = self.replication_executions.get(int(path["id"]))
        tasks = [] if execution is None else execution["_tasks"]
        return self._page([dict((k, v) for k, v in t.items() if not k.startswith("_")) for t in tasks],
                          params, base, query)

    # -- artifacts and vulnerability scanning (issue 16) ----------------------------------------
    # src/server/v2.0/handler/scan.go (ScanArtifact), src/controller/scan/base_controller.go (Scan),
    # src/pkg/scan/vuln/severity.go (the severities).
    REPORT_MIME = "application/vnd.security.vulnerability.report; version=1.1"
    SCANNABLE = ("application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json",
                 "application/vnd.oci.image.index.v1+json",
                 "application/vnd.docker.distribution.manifest.list.v2+json")

    def register_scanner(self, name="Trivy", vendor="Aqua Security", version="v0.56.1"):
        with self.lock:
            self.scanner = dict(name=name, vendor=vendor, version=version)

    def add_artifact(self, project_name, repository, tag, digest=None,
                     media_type="application/vnd.oci.image.manifest.v1+json", vulnerabilities=None):
        """An artifact (and its repository) pushed to a project. ``vulnerabilities``: {Critical: n, High: n,
        ...} that a scan of it reports."""
        with self.lock:
            project = self._project_by_name(project_name)
            key = (project["project_id"], repository)
            if repository not in self.repositories.get(project["project_id"], {}):
                self.add_repository(project_name, repository, artifacts=0)
            digest = digest or "sha256:" + secrets.token_hex(32)
            artifacts = self.artifacts.setdefault(key, [])
            for artifact in artifacts:
                if artifact["digest"] == digest:
                    artifact["tags"].append(tag)
                    return artifact
            artifact = dict(id=self._next("artifact"), digest=digest, tags=[tag], media_type=media_type,
                            _vulns=dict(vulnerabilities or {}), _report=None)
            artifacts.append(artifact)
            self.repositories[project["project_id"]][repository]["artifact_count"] += 1
            if project["metadata"].get("auto_scan") == "true" and self.scanner:
                self._start_scan(artifact)  # a push to an auto_scan project is scanned (scan on push)
            return artifact

    def _artifact(self, path):
        project = self._project_by_name(path["project_name"])
        repository = unquote(path["repository_name"])  # encoded twice by the client, once decoded already
        reference = path["reference"]
        for artifact in self.artifacts.get((project["project_id"], repository), []):
            if artifact["digest"] == reference or reference in artifact["tags"]:
                return project, repository, artifact
        raise HarborError(404, "NOT_FOUND", "artifact %s/%s:%s not found" % (project["name"], repository, reference))

    def _start_scan(self, artifact):
        artifact["_report"] = dict(report_id=secrets.token_hex(16), scan_status="Pending", polls=0,
                                   start_time=_now())

    def _scan_advance(self, artifact):
        report = artifact["_report"]
        if report is None or report["scan_status"] in ("Success", "Error"):
            return
        report["polls"] += 1
        report["scan_status"] = "Success" if report["polls"] > self.scan_steps else "Running"
        report["end_time"] = _now()

    def _artifact_view(self, project, repository, artifact, with_scan_overview):
        view = dict(id=artifact["id"], type="IMAGE", media_type=artifact["media_type"],
                    manifest_media_type=artifact["media_type"], project_id=project["project_id"],
                    repository_name="%s/%s" % (project["name"], repository), digest=artifact["digest"],
                    size=1024, push_time=_now(),
                    tags=[dict(id=i + 1, name=t, push_time=_now(), artifact_id=artifact["id"])
                          for i, t in enumerate(artifact["tags"])])
        report = artifact["_report"]
        if with_scan_overview and report is not None:
            self._scan_advance(artifact)
            summary = dict(report_id=report["report_id"], scan_status=report["scan_status"],
                           start_time=report["start_time"], scanner=dict(self.scanner or {}),
                           complete_percent=100 if report["scan_status"] == "Success" else 0)
            if report["scan_status"] == "Success":
                counts = dict((k, v) for k, v in artifact["_vulns"].items() if v)
                order = ("Critical", "High", "Medium", "Low", "Unknown")
                worst = next((s for s in order if counts.get(s)), "None")
                summary.update(severity=worst, end_time=report["end_time"], duration=1,
                               summary=dict(total=sum(counts.values()), fixable=0, summary=counts))
            view["scan_overview"] = {self.REPORT_MIME: summary}
        return view

    def op_getArtifact(self, principal, params, path, **_):
        project, repository, artifact = self._artifact(path)
        return Reply(200, self._artifact_view(project, repository, artifact, params.get("with_scan_overview")))

    def op_listArtifacts(self, principal, params, path, base, query, **_):
        project = self._project_by_name(path["project_name"])
        repository = unquote(path["repository_name"])
        items = self.artifacts.get((project["project_id"], repository), [])
        return self._page([self._artifact_view(project, repository, a, params.get("with_scan_overview"))
                           for a in items], params, base, query)

    def op_getVulnerabilitiesAddition(self, principal, path, **_):
        """src/server/v2.0/handler/artifact.go, GetVulnerabilitiesAddition: a JSON object written by hand (the
        swagger says string) with the report under its mime type ({generated_at, scanner, severity,
        vulnerabilities: [{id, package, version, fix_version, severity, ...}]}, src/pkg/scan/vuln/report.go);
        ``{}`` while there is no finished report. The double makes one item per counted vulnerability."""
        _project, _repository, artifact = self._artifact(path)
        report = artifact["_report"]
        content = {}
        if report is not None and report["scan_status"] == "Success":
            items = []
            for severity, count in sorted(artifact["_vulns"].items()):
                for index in range(count):
                    items.append(dict(id="CVE-2026-%s%04d" % (severity[0], index), package="pkg-%s" % severity.lower(),
                                      version="1.0.%d" % index, fix_version="1.1.0", severity=severity,
                                      description="", links=[]))
            order = ("Critical", "High", "Medium", "Low", "Unknown")
            worst = next((sev for sev in order if artifact["_vulns"].get(sev)), "None")
            content[self.REPORT_MIME] = dict(generated_at=report.get("end_time") or _now(), scanner=dict(self.scanner),
                                             severity=worst, vulnerabilities=items)
        return Reply(200, text=json.dumps(content), headers={"Content-Type": "application/json"})

    def op_scanArtifact(self, principal, params, path, **_):
        """ScanArtifact -> Scan: 412 "no available scanner for project" without a scanner; 400 when the
        scanner does not support the artifact's media type; 202 Accepted, the report Pending, then Running,
        then Success on later reads."""
        project, _repository, artifact = self._artifact(path)
        if self.scanner is None:
            raise HarborError(412, "PRECONDITION", "no available scanner for project: %d" % project["project_id"])
        if artifact["media_type"] not in self.SCANNABLE:
            raise HarborError(400, "BAD_REQUEST", "the configured scanner %s does not support scanning artifact "
                              "with mime type %s" % (self.scanner["name"], artifact["media_type"]))
        self._start_scan(artifact)
        return Reply(202)

    # -- scan all and its schedule (src/server/v2.0/handler/scan_all.go) -----------------------------
    def _scan_all_access(self, principal):
        """requireAccess: a system admin, and a default scanner (412 "no scanner is configured")."""
        self._admin(principal)
        if self.scanner is None:
            raise HarborError(412, "PRECONDITION", "no scanner is configured, it's not possible to scan")

    def op_getScanAllSchedule(self, principal, **_):
        # model.Schedule.ToSwagger returns nil without a schedule: an empty body
        self._scan_all_access(principal)
        if self.scan_all_schedule is None:
            return Reply(200)
        return Reply(200, dict(self.scan_all_schedule))

    def _scan_all_cron(self, schedule):
        cron = schedule.get("cron") or ""
        if len(cron.split()) != 6:  # utils.ValidateCronString: six fields, seconds first
            raise HarborError(400, "BAD_REQUEST", "invalid cron string for scheduled scan all: %s" % cron)
        return dict(id=1, status="Scheduled", schedule=dict(type=schedule["type"], cron=cron),
                    creation_time=_now(), update_time=_now())

    def op_createScanAllSchedule(self, principal, params, **_):
        """None: nothing; Manual: every artifact scanned now (409 while one runs); else a schedule, refused
        with 412 when one exists ("please delete it firstly")."""
        self._scan_all_access(principal)
        schedule = (params["schedule"].get("schedule") or {})
        kind = schedule.get("type")
        if kind == "Manual":
            for artifacts in self.artifacts.values():
                for artifact in artifacts:
                    if artifact["media_type"] in self.SCANNABLE:
                        self._start_scan(artifact)
        elif kind != "None":
            if self.scan_all_schedule is not None:
                raise HarborError(412, "PRECONDITION", "fail to set schedule for scan all as always had one, please "
                                  "delete it firstly then to re-schedule")
            self.scan_all_schedule = self._scan_all_cron(schedule)
        return Reply(201)

    def op_updateScanAllSchedule(self, principal, params, **_):
        self._scan_all_access(principal)
        schedule = (params["schedule"].get("schedule") or {})
        kind = schedule.get("type")
        if kind == "Manual":
            raise HarborError(400, "BAD_REQUEST", "fail to update scan all schedule as wrong schedule type: Manual")
        self.scan_all_schedule = None if kind == "None" else self._scan_all_cron(schedule)
        return Reply(200)


_CODES = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 409: "CONFLICT",
          412: "PRECONDITION", 429: "TOO_MANY_REQUESTS", 500: "INTERNAL_SERVER_ERROR", 502: "BAD_GATEWAY",
          503: "SERVICE_UNAVAILABLE"}


def _errors(code, message):
    return {"errors": [{"code": code, "message": message}]}


class _Handler(BaseHTTPRequestHandler):
    double = None
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        status, headers, body = self.double.handle(self.command, self.path, self.headers, raw)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if self.command == "HEAD":
            body = b""
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve


def main():  # pragma: no cover - manual use: python -m tests.harbor.double
    double = HarborDouble().start()
    print("Harbor API double on %s (admin / Harbor12345); Ctrl-C stops it" % double.url)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        double.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
