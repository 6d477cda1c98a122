# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""Harbor's backend: the collection's interface (``_backend.Backend``) on Harbor's API.

Health, version, namespaces = projects, users, members from policies, robots, retention, GC, read-only,
webhooks; mirrors, replication and scans come from ``_harbor_replication.ReplicationBackendMixin``. Every
call to Harbor goes through ``_harbor_api.HarborApi``; Harbor's rules and request bodies live there too.
"""

from __future__ import annotations

import json
import re
import time

from ansible_collections.provisioning.oci_registry.plugins.module_utils import _gc as gc
from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import AccessChange, Backend
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import (
    InvalidParameterError,
    OciRegistryError,
    RegistryHTTPError,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._harbor_api import (
    ACTIONS,
    BUILTIN_ADMIN_ID,
    DEFAULT_RETENTION_CRON,
    GC_DONE,
    GIB,
    ILLEGAL_USER_CHARS,
    RETENTION_DONE,
    ROLE_ACTIONS,
    ROLE_IDS,
    ROLE_NAMES,
    HarborApi,
    ProjectNotEmptyError,
    check_cron,
    check_email,
    check_password,
    check_project_name,
    check_user_name,
    derive_email,
    permission_key,
    retention_from_policy,
    retention_policy,
    robot_names,
    robot_permissions,
    role_for_actions,
    webhook_comparable,
    webhook_masked,
    webhook_policies,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._harbor_replication import (
    ReplicationBackendMixin,
    scan_from_metadata,
    scan_metadata,
    type_checks,
)


class HarborBackend(ReplicationBackendMixin, Backend):
    registry_type = "harbor"
    check_project_name = staticmethod(check_project_name)
    type_checks = staticmethod(type_checks)  # (mirrors, replications, namespaces) -> (errors, warnings)
    hints = {
        "garbage-collection settings": "Harbor's recurring garbage collection is its GC schedule "
        "(provisioning.oci_registry.oci_gc_schedule; gc.yml's harbor_gc_schedule); these are zot's settings",
    }

    def __init__(self, client):
        super().__init__(client)
        self.api = HarborApi(client)
        self._robot_prefix = None

    # -- health ------------------------------------------------------------------------
    def health_checks(self, runner, debug_url=None):
        state = {}

        def overall():
            data = self.api.health()
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
            return self.api.systeminfo().get("harbor_version")
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

    def _ensure_project(self, name, public=False, quota_gb=None, retention=None, manage_retention=True,
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

    def _delete_project(self, name, force=False, check_mode=False):
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

    def _ensure_user(self, name, password=None, admin=False, update_password="on_create", email=None,
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
        if realname is not None and (ILLEGAL_USER_CHARS.search(realname) or not 1 <= len(realname) <= 255):
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

    def _delete_user(self, name, check_mode=False):
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
        changed, before, after, password_changed = self._ensure_user(
            user["name"], password=user.get("password"), admin=bool(user.get("admin")),
            update_password=update_password, email=user.get("email"), realname=user.get("realname"),
            check_mode=check_mode)
        return AccessChange(changed=changed, before=before, after=after, password_changed=password_changed)

    def user_remove(self, name, check_mode=False):
        changed, before = self._delete_user(name, check_mode=check_mode)
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
        changed, before, after, more = self._ensure_project(
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
        changed, before, repositories = self._delete_project(name, force=force, check_mode=check_mode)
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

    def retention_gc(self, namespaces, options, check_mode=False):
        """Harbor applies retention and collects garbage itself: run each namespace's retention policy, then
        a garbage collection, and wait for them. Check mode starts nothing (Harbor's dry runs are jobs it
        records too): it reads which repositories hold more artifacts than the policy keeps. ``changed``
        when retention deleted artifacts or the collection deleted blobs or manifests (or would have)."""
        self.refuse_gc_settings(options["settings"])
        namespaces = gc.check_namespaces(namespaces)
        sleep = options["sleep"] or time.sleep
        wait_timeout = options["wait_timeout"]
        delete_untagged = bool(options["delete_untagged"])
        policies, pending = [], []
        for namespace in namespaces:
            if namespace["retention"] is None:
                continue
            state = self.project_state(namespace["name"])
            if (state is None or not state.get("_retention_id")) and check_mode:
                # check mode of a first run: init.yml would create the project and its policy first, and a
                # new project holds nothing to delete
                pending.append(namespace["name"])
                continue
            if state is None or not state.get("_retention_id"):
                raise OciRegistryError("Harbor project %r has no retention policy: apply the access model first "
                                       "(playbooks/init.yml sets it from the namespace's retention)" % namespace["name"])
            policies.append((namespace, state["_retention_id"]))
        if check_mode:
            candidates = []
            for namespace, _rid in policies:
                candidates.extend(dict(c, namespace=namespace["name"])
                                  for c in self.retention_candidates(namespace["name"], namespace["retention"]))
            pending_note = "; no retention policy yet (nothing to delete) in %s" % ", ".join(pending) if pending else ""
            return gc.result_without_plan(
                changed=bool(candidates), bytes_freed=None, harbor_gc=None, retention_executions=[],
                retention_candidates=candidates,
                message="check mode, nothing started: %d repository(ies) hold more artifacts than their retention "
                        "keeps%s" % (len(candidates), pending_note))
        executions = []
        for namespace, rid in policies:
            execution = self.run_retention(rid, timeout=wait_timeout, sleep=sleep)
            executions.append({"namespace": namespace["name"], "retention_id": rid, "execution": execution})
        failed = [e for e in executions if e["execution"].get("status") not in ("Success", "Succeed")]
        if failed:
            raise OciRegistryError("Harbor's retention of %s ended %s" % (
                ", ".join(e["namespace"] for e in failed), ", ".join(str(e["execution"].get("status")) for e in failed)),
                executions=executions)
        gc_id = self.run_gc(delete_untagged=delete_untagged)
        record = self.wait_gc(gc_id, timeout=wait_timeout, sleep=sleep)
        report = self.gc_report(gc_id)
        if record.get("job_status") != "Success":
            raise OciRegistryError("Harbor's garbage collection %d ended %s" % (gc_id, record.get("job_status")),
                                   harbor_gc=report)
        artifacts = sum(e["execution"]["deleted"] for e in executions)
        swept = report["deleted"] or {}
        changed = artifacts > 0 or any(swept.values())
        return gc.result_without_plan(
            changed=changed, bytes_freed=None, harbor_gc=report, retention_executions=executions,
            retention_candidates=[],
            message="Harbor's retention of %d namespace(s) deleted %d artifact(s); garbage collection %d deleted "
                    "%s blob(s) and %s manifest(s)" % (len(executions), artifacts, gc_id,
                                                       swept.get("blobs", "?"), swept.get("manifests", "?")))

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


BACKEND = HarborBackend
