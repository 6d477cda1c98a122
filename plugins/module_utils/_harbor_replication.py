# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""Harbor's mirrors (registry endpoints + proxy-cache projects), replication policies and
vulnerability scans: the API calls (a mixin of ``_harbor_api.HarborApi``), the conversions between the
collection's normalized shapes (_model.py) and Harbor's objects, and Harbor's own checks of those
shapes (:func:`harbor_checks`, for _model.py's TYPE_CHECKS table).

Harbor behaviours this code follows (read in Harbor v2.15.2's source):
* a registry endpoint's URL is kept as scheme://host + path (src/lib/endpoint.go, ValidateHTTPURL) and
  its secret is never returned, only "*****" (src/server/v2.0/handler/replication.go, convertRegistry):
  a password cannot be compared, so it is sent when the endpoint is created or ``update_password`` is
  ``always``;
* a proxy-cache project is a project created with ``registry_id``, which UpdateProject never reads
  (src/server/v2.0/handler/project.go): an existing project cannot become one, nor change its endpoint;
* replication policies take a six-field cron whose first field is 0 and whose minutes are not ``*``
  (src/controller/replication/model/model.go, Validate); CreateReplicationPolicy reads the deprecated
  ``deletion`` field, not ``replicate_deletion`` (src/server/v2.0/handler/replication.go), so both are
  sent; ``dest_namespace_replace_count: 0`` puts the whole source name under the destination namespace
  (src/controller/replication/flow/stage.go, replaceNamespace);
* one of a policy's two registries is Harbor itself (id 0): pull = src_registry, push = dest_registry.
"""

from __future__ import annotations

import re
import time
from urllib.parse import quote

from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import AccessChange
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import (
    InvalidParameterError,
    OciRegistryError,
    RegistryHTTPError,
)

API = "/api/v2.0"
MANAGED = "managed by provisioning.oci_registry"
REPORT_MIME = "application/vnd.security.vulnerability.report; version=1.1"
SEVERITIES = ("critical", "high", "medium", "low", "unknown")
SEVERITY_LEVELS = ("none", "low", "medium", "high", "critical")
# Harbor's severities (src/pkg/scan/vuln/severity.go) -> the module's counts. Negligible is counted
# as low, None (no problem) not at all.
HARBOR_SEVERITY = {"Critical": "critical", "High": "high", "Medium": "medium", "Low": "low",
                   "Negligible": "low", "Unknown": "unknown"}
EXECUTION_DONE = ("Succeed", "Failed", "Stopped")
SCAN_DONE = ("Success", "Error", "Stopped")
_RESOURCE = re.compile(r"^(?P<name>\S+) \[(?P<count>\d+) item\(s\) in total\]$")


def replication_registry_name(name):
    """The registry endpoint a replication uses (mirror endpoints are named as the mirror)."""
    return "replication-%s" % name


# -- Harbor's own checks, for _model.py's TYPE_CHECKS["harbor"] ----------------------------------
def harbor_checks(kind, entry, where):
    """(errors, warnings) for one normalized entry on Harbor. ``kind``: user, mirror, replication or
    namespace; ``where``: the entry's place, e.g. ``oci_registry_mirrors[0]``."""
    errors, warnings = [], []
    if kind == "user" and entry.get("password_hash") == "sha512_crypt":
        # Harbor takes a user's password through its API and hashes it itself (its own salted hash in its
        # database); no htpasswd entry is written, so the hash cannot be chosen.
        errors.append("%s.password_hash: sha512_crypt cannot be used on Harbor: Harbor hashes its users' passwords "
                      "itself, with its own scheme; leave password_hash out (sha512_crypt is for zot's "
                      "machine users)" % where)
    if kind == "mirror":
        if list(entry.get("repositories") or ["**"]) != ["**"]:
            errors.append("%s.repositories: a Harbor proxy-cache project serves every repository of its upstream; "
                          "it cannot be limited to %s (leave repositories at ['**'])" % (
                              where, ", ".join(entry["repositories"])))
        if entry.get("ttl") is not None:
            warnings.append("%s.ttl: Harbor has no setting for how long a proxy cache trusts a cached manifest; "
                            "%s is not applied" % (where, entry["ttl"]))
        if entry.get("port") is not None:
            warnings.append("%s.port is used by Distribution only; Harbor serves the mirror as its project %s"
                            % (where, entry.get("namespace")))
    elif kind == "replication":
        if entry.get("trigger") == "on_push" and entry.get("direction") != "push":
            errors.append("%s.trigger: on_push needs direction push (Harbor's event_based trigger replicates "
                          "local pushes; a pull replication is manual or scheduled)" % where)
        if entry.get("trigger") == "scheduled" and entry.get("schedule"):
            minute = entry["schedule"].split()[0]
            if minute == "*":
                errors.append("%s.schedule: Harbor does not allow '*' in the minutes field of a replication's "
                              "cron (%r); give a minute or a step such as '*/15'" % (where, entry["schedule"]))
    return errors, warnings


def type_checks(mirrors=None, replications=None, namespaces=None):
    """(errors, warnings) of normalized mirrors, replications and namespaces on Harbor, for _model.py's
    ``TYPE_CHECKS["harbor"]`` (the signature the zot adapter's ``type_checks`` has too). Every message starts
    with the entry, e.g. ``oci_registry_replications[2] (nightly): ...``. Namespaces: Harbor expresses
    every ``scan`` setting, so none is refused."""
    errors, warnings = [], []
    for kind, variable, entries in (("mirror", "oci_registry_mirrors", mirrors),
                                    ("replication", "oci_registry_replications", replications)):
        for index, entry in enumerate(entries or []):
            if (entry or {}).get("state", "present") == "absent":
                continue
            more_errors, more_warnings = harbor_checks(kind, entry, "%s[%d] (%s)" % (variable, index, entry.get("name")))
            errors.extend(more_errors)
            warnings.extend(more_warnings)
    return errors, warnings


# -- conversions ---------------------------------------------------------------------------------
def harbor_cron(schedule, replication=True):
    """A five-field cron (m h dom mon dow) as Harbor's six fields, seconds 0 first. A replication's may not
    run every minute (src/controller/replication/model/model.go, Validate)."""
    fields = (schedule or "").split()
    if len(fields) != 5:
        raise InvalidParameterError("schedule %r must be a five-field cron (minute hour day-of-month month "
                                    "day-of-week)" % (schedule,))
    if replication and fields[0] == "*":
        raise InvalidParameterError("schedule %r: Harbor does not allow '*' in the minutes field of a replication"
                                    % (schedule,))
    return "0 " + " ".join(fields)


def _glob_value(globs):
    """One doublestar pattern for a list of globs ({a,b} when more than one)."""
    globs = list(globs)
    return globs[0] if len(globs) == 1 else "{%s}" % ",".join(globs)


def _glob_list(value):
    if value.startswith("{") and value.endswith("}"):
        return value[1:-1].split(",")
    return [value]


def registry_body(name, url, username, password, tls_verify, with_secret=True):
    body = {"name": name, "type": "docker-registry", "url": url.rstrip("/"), "insecure": not tls_verify,
            "description": MANAGED}
    if username:
        body["credential"] = {"type": "basic", "access_key": username}
        if with_secret:
            body["credential"]["access_secret"] = password or ""
    return body


def registry_update(wanted, with_secret):
    """The RegistryUpdate body for ``wanted`` (a registry_body)."""
    body = {"name": wanted["name"], "url": wanted["url"], "insecure": wanted["insecure"],
            "description": wanted["description"]}
    credential = wanted.get("credential")
    if credential:
        body["credential_type"] = "basic"
        body["access_key"] = credential["access_key"]
        if with_secret:
            body["access_secret"] = credential.get("access_secret") or ""
    else:
        body.update(credential_type="", access_key="", access_secret="")
    return body


def registry_comparable(registry):
    """What can be compared of an endpoint (never its secret)."""
    if registry is None:
        return None
    credential = registry.get("credential") or {}
    return {"url": (registry.get("url") or "").rstrip("/"), "tls_verify": not registry.get("insecure"),
            "username": credential.get("access_key") or None}


def policy_body(replication, registry_id):
    body = {"name": replication["name"], "description": MANAGED, "enabled": True, "override": True,
            "deletion": bool(replication.get("deletions")), "replicate_deletion": bool(replication.get("deletions")),
            "dest_namespace": replication.get("destination_namespace") or "",
            "dest_namespace_replace_count": 0, "filters": []}
    if replication["direction"] == "pull":
        body["src_registry"] = {"id": registry_id}
    else:
        body["dest_registry"] = {"id": registry_id}
    repositories = list(replication.get("repositories") or ["**"])
    if repositories != ["**"]:
        body["filters"].append({"type": "name", "value": _glob_value(repositories)})
    tags = list(replication.get("tags") or ["*"])
    if tags not in (["*"], ["**"]):
        body["filters"].append({"type": "tag", "value": _glob_value(tags), "decoration": "matches"})
    trigger = replication.get("trigger") or "manual"
    if trigger == "scheduled":
        body["trigger"] = {"type": "scheduled", "trigger_settings": {"cron": harbor_cron(replication["schedule"])}}
    elif trigger == "on_push":
        body["trigger"] = {"type": "event_based"}
    else:
        body["trigger"] = {"type": "manual"}
    return body


def replication_from_policy(policy, registry):
    """The normalized replication of a Harbor policy (passwords None)."""
    pull = bool((policy.get("src_registry") or {}).get("id"))
    repositories, tags = ["**"], ["*"]
    for flt in policy.get("filters") or []:
        if flt.get("type") == "name" and isinstance(flt.get("value"), str):
            repositories = _glob_list(flt["value"])
        elif flt.get("type") == "tag" and isinstance(flt.get("value"), str) and flt.get("decoration") != "excludes":
            tags = _glob_list(flt["value"])
    trigger = (policy.get("trigger") or {}).get("type") or "manual"
    cron = ((policy.get("trigger") or {}).get("trigger_settings") or {}).get("cron")
    schedule = None
    if trigger == "scheduled" and cron:
        fields = cron.split()
        schedule = " ".join(fields[1:]) if len(fields) == 6 else cron
    remote = registry_comparable(registry) or {"url": None, "tls_verify": True, "username": None}
    return {"name": policy.get("name"), "direction": "pull" if pull else "push",
            "remote": {"url": remote["url"], "username": remote["username"], "password": None,
                       "tls_verify": remote["tls_verify"]},
            "repositories": repositories, "tags": tags,
            "destination_namespace": policy.get("dest_namespace") or None,
            "trigger": {"scheduled": "scheduled", "event_based": "on_push"}.get(trigger, "manual"),
            "schedule": schedule, "deletions": bool(policy.get("replicate_deletion") or policy.get("deletion")),
            "state": "present"}


def replication_comparable(replication):
    """A normalized replication as Harbor would report it (defaults filled in, no password)."""
    remote = replication.get("remote") or {}
    trigger = replication.get("trigger") or "manual"
    return {"name": replication["name"], "direction": replication.get("direction") or "pull",
            "remote": {"url": (remote.get("url") or "").rstrip("/") or None, "username": remote.get("username") or None,
                       "password": None, "tls_verify": bool(remote.get("tls_verify", True))},
            "repositories": list(replication.get("repositories") or ["**"]),
            "tags": list(replication.get("tags") or ["*"]),
            "destination_namespace": replication.get("destination_namespace") or None,
            "trigger": trigger, "schedule": replication.get("schedule") if trigger == "scheduled" else None,
            "deletions": bool(replication.get("deletions")), "state": "present"}


def scan_from_metadata(metadata):
    """A namespace's ``scan`` from a project's metadata, or None when Harbor holds none of its keys."""
    if not any(k in metadata for k in ("auto_scan", "prevent_vul", "severity")):
        return None
    prevent = metadata.get("prevent_vul") == "true"
    severity = (metadata.get("severity") or "none").lower()
    return {"on_push": metadata.get("auto_scan") == "true",
            "block_severity": severity if prevent and severity in SEVERITY_LEVELS else "none"}


def scan_metadata(scan):
    """Project metadata for a namespace's ``scan`` ({on_push, block_severity})."""
    block = (scan.get("block_severity") or "none").lower()
    if block not in SEVERITY_LEVELS:
        raise InvalidParameterError("scan.block_severity must be one of %s, got %r"
                                    % (", ".join(SEVERITY_LEVELS), block))
    return {"auto_scan": "true" if scan.get("on_push") else "false",
            "prevent_vul": "false" if block == "none" else "true",
            "severity": "low" if block == "none" else block}


def vulnerability_counts(overview):
    counts = dict((s, 0) for s in SEVERITIES)
    summary = ((overview or {}).get("summary") or {}).get("summary") or {}
    for severity, count in summary.items():
        key = HARBOR_SEVERITY.get(severity)
        if key:
            counts[key] += int(count or 0)
    return counts


def harbor_repository(repository):
    """(project, repository within it): Harbor's first path component is the project."""
    project, sep, rest = repository.partition("/")
    if not sep or not rest:
        raise InvalidParameterError("Harbor repository %r must be <project>/<repository>" % repository)
    return project, rest


def _location_id(response):
    """The new resource's id from a 201's Location header."""
    found = re.search(r"/(\d+)/?$", response.headers.get("Location") or "")
    if not found:
        raise OciRegistryError("Harbor answered %s without the new resource's id in Location (%r)"
                               % (response.status_code, response.headers.get("Location")))
    return int(found.group(1))


def _quote_twice(name):
    return quote(quote(name, safe=""), safe="")


class ReplicationApiMixin:
    """The API calls of registries, replication and scanning (mixed into ``_harbor_api.HarborApi``, which
    provides ``_get``, ``_list``, ``_write`` and ``client``)."""

    # registry endpoints
    def find_registry(self, name):
        for registry in self._list("/registries", params={"q": "name=%s" % name}):
            if registry.get("name") == name:
                return registry
        return None

    def list_registries(self):
        return self._list("/registries")

    def create_registry(self, body):
        return _location_id(self._write("POST", "/registries", body, expected=(201,)))

    def update_registry(self, registry_id, body):
        self._write("PUT", "/registries/%d" % registry_id, body)

    def delete_registry(self, registry_id):
        self._write("DELETE", "/registries/%d" % registry_id)

    # replication policies and executions
    def find_replication_policy(self, name):
        for policy in self._list("/replication/policies", params={"q": "name=%s" % name}):
            if policy.get("name") == name:
                return policy
        return None

    def list_replication_policies(self):
        return self._list("/replication/policies")

    def create_replication_policy(self, body):
        return _location_id(self._write("POST", "/replication/policies", body, expected=(201,)))

    def update_replication_policy(self, policy_id, body):
        self._write("PUT", "/replication/policies/%d" % policy_id, body)

    def delete_replication_policy(self, policy_id):
        self._write("DELETE", "/replication/policies/%d" % policy_id)

    def start_replication(self, policy_id):
        created = self._write("POST", "/replication/executions", {"policy_id": policy_id}, expected=(201,))
        return _location_id(created)

    def get_replication_execution(self, execution_id):
        return self._get("/replication/executions/%d" % execution_id)

    def list_replication_tasks(self, execution_id):
        return self._list("/replication/executions/%d/tasks" % execution_id)

    # artifacts and scans
    def get_artifact(self, project, repository, reference, scan_overview=True):
        path = "/projects/%s/repositories/%s/artifacts/%s" % (
            quote(project, safe=""), _quote_twice(repository), quote(reference, safe=""))
        params = {"with_scan_overview": "true"} if scan_overview else None
        return self._get(path, params=params)

    def list_artifacts(self, project, repository):
        return self._list("/projects/%s/repositories/%s/artifacts" % (quote(project, safe=""),
                                                                      _quote_twice(repository)),
                          params={"with_scan_overview": "true"})

    def scan_all_schedule(self):
        """The scan-all schedule, or None (Harbor answers an empty body when there is none)."""
        response = self.client.request("GET", API + "/system/scanAll/schedule")
        if not response.content or not response.content.strip():
            return None
        data = response.json()
        return data if data and data.get("schedule") else None

    def set_scan_all_schedule(self, body, create):
        self._write("POST" if create else "PUT", "/system/scanAll/schedule", body,
                    expected=(201,) if create else (200,))

    def vulnerabilities_addition(self, project, repository, reference):
        """The artifact's vulnerability report ({mime type: {severity, vulnerabilities: [...]}}; {} when none)."""
        path = "/projects/%s/repositories/%s/artifacts/%s/additions/vulnerabilities" % (
            quote(project, safe=""), _quote_twice(repository), quote(reference, safe=""))
        response = self.client.request("GET", API + path)
        try:
            return response.json() or {}
        except ValueError:
            raise OciRegistryError("GET %s answered with a body that is not JSON" % path)

    def scan_artifact(self, project, repository, reference):
        path = "/projects/%s/repositories/%s/artifacts/%s/scan" % (
            quote(project, safe=""), _quote_twice(repository), quote(reference, safe=""))
        self._write("POST", path, expected=(202,))


class ReplicationBackendMixin:
    """Backend methods of mirrors, replication and scanning (mixed into ``_harbor.HarborBackend``,
    which provides ``api``, ``project_state``, ``namespace_remove``)."""

    # -- mirrors: a registry endpoint + a proxy-cache project ------------------------------------
    def _proxy_project(self, registry_id):
        for project in self.api.list_projects():
            if registry_id is not None and project.get("registry_id") == registry_id:
                return project
        return None

    def mirror_names(self):
        names = []
        for registry in self.api.list_registries():
            if registry.get("description") == MANAGED and not registry["name"].startswith("replication-"):
                names.append(registry["name"])
        return sorted(names)

    def mirror_get(self, name):
        registry = self.api.find_registry(name)
        if registry is None:
            return None
        project = self._proxy_project(registry.get("id"))
        view = registry_comparable(registry)
        return {"name": name, "url": view["url"], "username": view["username"], "password": None,
                "tls_verify": view["tls_verify"], "repositories": ["**"],
                "namespace": None if project is None else project["name"], "ttl": None, "port": None,
                "state": "present"}

    def mirror_ensure(self, mirror, check_mode=False, update_password="on_create"):
        name = mirror["name"]
        errors, warnings = harbor_checks("mirror", mirror, "mirror %s" % name)
        if errors:
            raise InvalidParameterError("; ".join(errors))
        registry = self.api.find_registry(name)
        project = None if registry is None else self._proxy_project(registry.get("id"))
        before = self.mirror_get(name) if registry is not None else None
        if mirror.get("state", "present") == "absent":
            if registry is None:
                return AccessChange(changed=False, before=None, after=None, warnings=warnings)
            if not check_mode:
                if project is not None:
                    # a cache: its cached copies go with it
                    self.namespace_remove(project["name"], force=True)
                self.api.delete_registry(registry["id"])
            return AccessChange(changed=True, before=before, after=None, warnings=warnings)
        if mirror.get("username") and mirror.get("password") is None:
            raise InvalidParameterError("mirror %s: username %r given without a password" % (name, mirror["username"]))
        namespace = mirror["namespace"]
        self.check_project_name(namespace)
        wanted = registry_body(name, mirror["url"], mirror.get("username"), mirror.get("password"),
                               mirror.get("tls_verify", True))
        after = {"name": name, "url": wanted["url"], "username": mirror.get("username") or None, "password": None,
                 "tls_verify": bool(mirror.get("tls_verify", True)), "repositories": ["**"], "namespace": namespace,
                 "ttl": None, "port": None, "state": "present"}
        if project is not None and project["name"] != namespace:
            raise InvalidParameterError(
                "mirror %s is Harbor's proxy-cache project %r; Harbor cannot rename a project or move a proxy cache, "
                "so namespace %r needs the mirror removed first (state: absent) and created again"
                % (name, project["name"], namespace))
        existing = self.api.get_project(namespace)
        if project is None and existing is not None:
            raise InvalidParameterError(
                "mirror %s: namespace %r is already a regular Harbor project; Harbor makes a proxy cache only when a "
                "project is created (registry_id), so give the mirror a namespace that does not exist yet"
                % (name, namespace))
        endpoint_changed = before is not None and registry_comparable(registry) != registry_comparable(wanted)
        send_secret = registry is None or (update_password == "always" and bool(mirror.get("username")))
        changed = registry is None or endpoint_changed or project is None or send_secret
        if not changed or check_mode:
            return AccessChange(changed=changed, before=before, after=after, warnings=warnings,
                                password_changed=bool(send_secret and mirror.get("username")))
        if registry is None:
            registry_id = self.api.create_registry(wanted)
        else:
            registry_id = registry["id"]
            if endpoint_changed or send_secret:
                self.api.update_registry(registry_id, registry_update(wanted, with_secret=send_secret))
        if project is None:
            self.api.create_project({"project_name": namespace, "registry_id": registry_id,
                                     "metadata": {"public": "false"}})
        return AccessChange(changed=True, before=before, after=after, warnings=warnings,
                            password_changed=bool(send_secret and mirror.get("username")))

    # -- replication: a registry endpoint + a replication policy ----------------------------------
    def replication_names(self):
        return sorted(p["name"] for p in self.api.list_replication_policies() if p.get("description") == MANAGED)

    def replication_get(self, name):
        policy = self.api.find_replication_policy(name)
        if policy is None:
            return None
        remote = policy.get("src_registry") if (policy.get("src_registry") or {}).get("id") else \
            policy.get("dest_registry")
        return replication_from_policy(policy, remote)

    def replication_ensure(self, replication, check_mode=False, update_password="on_create"):
        name = replication["name"]
        errors, warnings = harbor_checks("replication", replication, "replication %s" % name)
        if errors:
            raise InvalidParameterError("; ".join(errors))
        policy = self.api.find_replication_policy(name)
        registry_name = replication_registry_name(name)
        registry = self.api.find_registry(registry_name)
        before = self.replication_get(name) if policy is not None else None
        if replication.get("state", "present") == "absent":
            changed = policy is not None or registry is not None
            if changed and not check_mode:
                if policy is not None:
                    self.api.delete_replication_policy(policy["id"])
                if registry is not None:
                    self.api.delete_registry(registry["id"])
            return AccessChange(changed=changed, before=before, after=None, warnings=warnings)
        remote = replication["remote"]
        if remote.get("username") and remote.get("password") is None:
            raise InvalidParameterError("replication %s: remote.username given without remote.password" % name)
        wanted_registry = registry_body(registry_name, remote["url"], remote.get("username"), remote.get("password"),
                                        remote.get("tls_verify", True))
        body = policy_body(replication, 0)  # validates the schedule before anything is sent
        after = replication_comparable(dict(replication, state="present"))
        registry_changed = registry is not None and registry_comparable(registry) != registry_comparable(wanted_registry)
        send_secret = registry is None or (update_password == "always" and bool(remote.get("username")))
        policy_changed = before is None or before != after
        changed = registry is None or registry_changed or send_secret or policy_changed
        if not changed or check_mode:
            return AccessChange(changed=changed, before=before, after=after, warnings=warnings)
        if registry is None:
            registry_id = self.api.create_registry(wanted_registry)
        else:
            registry_id = registry["id"]
            if registry_changed or send_secret:
                self.api.update_registry(registry_id, registry_update(wanted_registry, with_secret=send_secret))
        body = policy_body(replication, registry_id)
        if policy is None:
            self.api.create_replication_policy(body)
        elif policy_changed or ((policy.get("src_registry") or {}).get("id") or
                                (policy.get("dest_registry") or {}).get("id")) != registry_id:
            self.api.update_replication_policy(policy["id"], body)
        return AccessChange(changed=True, before=before, after=after, warnings=warnings)

    def replication_run(self, name, wait=True, timeout=600, sleep=time.sleep, clock=time.monotonic):
        policy = self.api.find_replication_policy(name)
        if policy is None:
            raise OciRegistryError("Harbor has no replication policy %r (apply it with oci_replication first)" % name)
        execution_id = self.api.start_replication(policy["id"])
        deadline = clock() + timeout
        while True:
            execution = self.api.get_replication_execution(execution_id)
            if not wait or execution.get("status") in EXECUTION_DONE:
                break
            if clock() >= deadline:
                raise OciRegistryError("Harbor's replication execution %d of %r is still %s after %ss"
                                       % (execution_id, name, execution.get("status"), timeout),
                                       execution_id=execution_id)
            sleep(2.0)
        copied, errors = [], []
        for task in self.api.list_replication_tasks(execution_id):
            if task.get("status") in ("Failed", "Stopped"):
                errors.append("%s -> %s: %s (task %s; its log: GET /api/v2.0/replication/executions/%d/tasks/%s/log)"
                              % (task.get("src_resource"), task.get("dst_resource"), task.get("status"),
                                 task.get("id"), execution_id, task.get("id")))
            if task.get("status") != "Succeed":
                continue
            found = _RESOURCE.match(task.get("dst_resource") or "")
            copied.append({"repository": found.group("name") if found else task.get("dst_resource"),
                           "tag": None, "digest": None, "items": int(found.group("count")) if found else None})
        return {"id": execution_id, "status": execution.get("status"), "copied": copied,
                "failed": execution.get("failed") or 0, "errors": errors}

    # -- vulnerability scanning -------------------------------------------------------------------
    def scan(self, repository, reference, wait=True, timeout=600, check_mode=False, sleep=time.sleep,
             clock=time.monotonic):
        project, name = harbor_repository(repository)
        try:
            artifact = self.api.get_artifact(project, name, reference)
        except RegistryHTTPError as exc:
            if exc.status == 404:
                raise OciRegistryError("Harbor has no artifact %s %s (project %r, repository %r)" % (
                    repository, reference, project, name), status=404)
            raise
        started = not check_mode
        if started:
            self.api.scan_artifact(project, name, reference)
        deadline = clock() + timeout
        while True:
            overview = (artifact.get("scan_overview") or {}).get(REPORT_MIME) or \
                next(iter((artifact.get("scan_overview") or {}).values()), None)
            status = (overview or {}).get("scan_status") or ("Not scanned" if not started else "Pending")
            if check_mode or not wait or status in SCAN_DONE:
                break
            if clock() >= deadline:
                raise OciRegistryError("Harbor's scan of %s:%s is still %s after %ss" % (
                    repository, reference, status, timeout))
            sleep(2.0)
            artifact = self.api.get_artifact(project, name, reference)
        if status == "Error":
            raise OciRegistryError("Harbor's scanner reported an error scanning %s:%s" % (repository, reference))
        findings = []
        if status == "Success":
            report = self.api.vulnerabilities_addition(project, name, reference)
            report = report.get(REPORT_MIME) or next(iter(report.values()), None) or {}
            rank = dict((s, i) for i, s in enumerate(("Critical", "High", "Medium", "Low", "Negligible", "Unknown")))
            for item in sorted(report.get("vulnerabilities") or [], key=lambda v: (rank.get(v.get("severity"), 9),
                                                                                   v.get("id") or "")):
                findings.append({"id": item.get("id"), "package": item.get("package"), "version": item.get("version"),
                                 "fix_version": item.get("fix_version") or None,
                                 "severity": HARBOR_SEVERITY.get(item.get("severity"), "unknown")})
        return {"repository": repository, "reference": reference, "digest": artifact.get("digest"),
                "scanned": started, "status": status, "findings": findings,
                "vulnerabilities": vulnerability_counts(overview) if status == "Success" else dict(
                    (s, 0) for s in SEVERITIES)}

    def scan_all_schedule_ensure(self, schedule, check_mode=False):
        """Harbor's scan-all schedule (/system/scanAll/schedule, type Custom, six-field cron) from a five-field
        ``schedule``, or none (None)."""
        wanted = None if not schedule else harbor_cron(schedule, replication=False)
        current = self.api.scan_all_schedule()
        kind = ((current or {}).get("schedule") or {}).get("type")
        have = None if current is None or kind in (None, "None") else current["schedule"].get("cron")
        before = None if have is None else " ".join(have.split()[1:])
        after = None if wanted is None else " ".join(wanted.split()[1:])
        changed = have != wanted
        if changed and not check_mode:
            if wanted is None:
                self.api.set_scan_all_schedule({"schedule": {"type": "None"}}, create=False)
            else:
                self.api.set_scan_all_schedule({"schedule": {"type": "Custom", "cron": wanted}}, create=current is None)
        return changed, before, after

    def namespace_images(self, namespace):
        """Every tagged artifact of a project, as ``repository:tag`` (the first tag; digest when untagged)."""
        images = []
        for repo in self.api.list_repositories(namespace):
            project, name = harbor_repository(repo["name"])
            for artifact in self.api.list_artifacts(project, name):
                tags = artifact.get("tags") or []
                images.append("%s:%s" % (repo["name"], tags[0]["name"]) if tags else
                              "%s@%s" % (repo["name"], artifact["digest"]))
        return images
