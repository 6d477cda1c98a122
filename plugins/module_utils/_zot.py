# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""Zot adapter."""

from __future__ import annotations

import json
import os
import re
import time

from ansible_collections.provisioning.oci_registry.plugins.module_utils import _gc as gc
from ansible_collections.provisioning.oci_registry.plugins.module_utils import _htpasswd as htp
from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_generate as zgen
from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_reload as zreload
from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_schema as zschema
from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_sync as zs
from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import (
    AccessChange,
    Backend,
    NamespaceNotEmptyError,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import (
    InvalidParameterError,
    OciRegistryError,
    RegistryHTTPError,
)

# oci_gc's settings and the keys of config.json they set (storage.gc, gcDelay, gcInterval; retention dryRun).
ZOT_GC_SETTINGS = (("gc", "gc"), ("gc_delay", "gcDelay"), ("gc_interval", "gcInterval"), ("dry_run", "dryRun"))
_ZOT_INFO = re.compile(r'^zot_info\{[^}]*\bversion="([^"]+)"', re.MULTILINE)
# One sample of zot's per-repository storage gauge in Prometheus' text format (zot's monitoring
# package: zot_repo_storage_bytes{repo="..."}, the size of the repository's directory).
_ZOT_STORAGE = re.compile(r'^zot_repo_storage_bytes\{(?:[^}]*,)?\s*repo="([^"]*)"[^}]*\}\s+(\S+)', re.MULTILINE)


# -- access model on zot: htpasswd + http.accessControl / storage.retention in config.json ---------
# zot keeps users in its htpasswd file and everything else in config.json; it re-reads both when
# they are written in place, which is how they are written here, after the config passed zot's rules.
class ZotFiles:
    """zot's htpasswd and config.json on the registry host, read once, written in place."""

    def __init__(self, access):
        if access is None or not access.config_path:
            raise InvalidParameterError("registry_type zot manages users and rules in config.json: "
                                        "give the path of zot's config.json (and of its htpasswd file)")
        self.access = access
        text = htp.read_text(access.config_path)
        if text is None:
            raise OciRegistryError("zot's config.json is not at %s" % access.config_path)
        try:
            self.config = json.loads(text)
        except ValueError as exc:
            raise OciRegistryError("zot's config.json at %s is not JSON: %s" % (access.config_path, exc))
        self.original = json.loads(text)
        path = access.htpasswd_path or zschema._get(self.config, "http", "auth", "htpasswd", "path")
        self.htpasswd_path = path
        self.htpasswd = htp.Htpasswd(htp.read_text(path, "") if path else "")
        self.htpasswd_text = self.htpasswd.render()

    # -- config.json helpers --
    def access_control(self, create=True):
        http = self.config.setdefault("http", {}) if create else self.config.get("http", {})
        if "accessControl" not in http:
            if not create:
                return {}
            http["accessControl"] = {}
        return http["accessControl"]

    def repositories(self, create=False):
        access = self.access_control(create)
        if create:
            return access.setdefault("repositories", {})
        return access.get("repositories") or {}

    def retention_policies(self, create=False):
        storage = self.config.setdefault("storage", {})
        if create:
            return storage.setdefault("retention", {}).setdefault("policies", [])
        return (storage.get("retention") or {}).get("policies") or []

    def admins(self):
        return list(zschema._get(self.config, "http", "accessControl", "adminPolicy", "users") or [])

    def set_admin(self, name, admin):
        admins = set(self.admins())
        if admin:
            admins.add(name)
        else:
            admins.discard(name)
        access = self.access_control(create=bool(admins))
        if admins:
            policy = access.setdefault("adminPolicy", {})
            policy["users"] = sorted(admins)
            policy["actions"] = list(zschema.ZOT_ACTIONS)
        if admin and zschema.extension_enabled(self.config, "metrics"):
            # As the role renders it (_zot_generate.access_control): zot serves metrics only to
            # metrics.users, admins not implied (pkg/api/authz.go MetricsAuthzHandler, v2.1.20).
            self.set_metrics_user(name, True)

    def set_metrics_user(self, name, present):
        access = self.access_control(create=present)
        metrics = access.get("metrics") or {}
        users = [u for u in metrics.get("users") or [] if u != name] + ([name] if present else [])
        if users:
            access.setdefault("metrics", {})["users"] = sorted(users)
        elif "metrics" in access:
            metrics.pop("users", None)
            if not metrics:
                del access["metrics"]
        elif "adminPolicy" in access:
            access["adminPolicy"]["users"] = []
            if not access["adminPolicy"].get("groups"):
                del access["adminPolicy"]

    def groups_of(self, name):
        groups = zschema._get(self.config, "http", "accessControl", "groups", default={}) or {}
        return sorted(g for g, item in groups.items() if name in (item.get("users") or []))

    def set_groups(self, name, wanted):
        groups = self.access_control(create=bool(wanted)).get("groups")
        if groups is None:
            if not wanted:
                return
            groups = self.access_control()["groups"] = {}
        for group, item in list(groups.items()):
            users = [u for u in item.get("users") or [] if u != name]
            if group in wanted:
                users.append(name)
            item["users"] = sorted(users)
            if not item["users"]:
                del groups[group]
        for group in wanted:
            if group not in groups:
                groups[group] = {"users": [name]}
        if not groups:
            del self.access_control()["groups"]

    def set_namespace_retention(self, namespace, warnings, delete_untagged=None):
        """Make the retention policy of ``namespace`` (model shape) what its ``retention`` says: a policy on
        ``<name>`` and ``<name>/**``, or none when it has no retention. ``delete_untagged``: the policy's
        deleteUntagged; None follows what the file already uses for namespaces (the role's
        zot_retention_delete_* settings), so that the role and this adapter agree."""
        name = namespace["name"]
        keys = list(_namespace_keys(name))
        existing = self.retention_policies()
        shaped = [p for p in existing if list(p.get("repositories") or [])[1:2] == [str((p.get("repositories") or [""])[0]) + "/**"]
                  and "keepTags" in p and p.get("keepTags") != [{"patterns": [".*"]}]]
        own = [p for p in shaped if list(p.get("repositories") or []) == keys]
        model = (own or shaped or [{"deleteUntagged": True, "deleteReferrers": False}])[0]
        if delete_untagged is None:
            delete_untagged = model.get("deleteUntagged")
        policies = [p for p in existing if list(p.get("repositories") or []) != keys]
        wanted = zgen.namespace_retention_policy(namespace, delete_untagged, model.get("deleteReferrers"), "retention")
        if wanted is not None:
            policies.append(wanted)
        policies = zgen.sort_retention_policies(policies)
        if policies:
            self.config.setdefault("storage", {}).setdefault("retention", {})["policies"] = policies
        elif (self.config.get("storage") or {}).get("retention"):
            self.config["storage"]["retention"].pop("policies", None)

    def gc_settings(self):
        """What oci_gc sets, as config.json has it: gc, gcDelay, gcInterval, retention dryRun and policies."""
        storage = self.config.get("storage") or {}
        retention = storage.get("retention") or {}
        return {"gc": storage.get("gc"), "gcDelay": storage.get("gcDelay"), "gcInterval": storage.get("gcInterval"),
                "retention": {"dryRun": retention.get("dryRun"), "delay": retention.get("delay"),
                              "policies": json.loads(json.dumps(retention.get("policies") or []))}}

    # -- writing --
    def config_change(self):
        return zreload.classify_change(self.original, self.config)

    def save(self, check_mode):
        """Write what changed (htpasswd, then config.json); returns (changed, restart_required, warnings)."""
        access = self.access
        mode = htp.parse_mode(access.mode) if access.mode is not None else None
        changed, restart, warnings = False, False, []
        new_htpasswd = self.htpasswd.render()
        if new_htpasswd != self.htpasswd_text:
            changed = True
            if not check_mode:
                htp.write_in_place(self.htpasswd_path, new_htpasswd, access.owner, access.group, mode)
        if self.config != self.original:
            warnings.extend(zschema.validate(self.config))
            change = self.config_change()
            changed = changed or change["action"] != "none"
            restart = change["action"] == "restart"
            if restart:
                warnings.append("zot must be restarted to apply this change: %s" % "; ".join(change["reasons"]))
            if not check_mode:
                text = zgen.render(self.config)
                htp.validate_text(access.config_path, text, access.validate_command, access.run_command)
                htp.write_in_place(access.config_path, text, access.owner, access.group, mode)
        return changed, restart, warnings


def _json_file(path, what):
    text = htp.read_text(path)
    if text is None or not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise OciRegistryError("%s at %s is not JSON: %s" % (what, path, exc))


def verify_command(image, docker="docker"):
    """A ``validate_command`` for AccessOptions: ``zot verify`` from ``image`` in a throwaway
    container without network, on the candidate file (``%s``) mounted read-only."""
    return "%s run --rm --network none -v %%s:/tmp/zot-candidate.json:ro %s verify /tmp/zot-candidate.json" % (
        docker, image)


def _namespace_keys(name):
    return (name, name + "/**")


def _zot_namespace(files, name):
    repositories = files.repositories()
    group = repositories.get(name + "/**", repositories.get(name))
    if group is None:
        return None
    public, policies = zgen.model_policies(group)
    retention = None
    for policy in files.retention_policies():
        if list(policy.get("repositories") or []) == list(_namespace_keys(name)):
            retention = zgen.model_retention(policy)
    return {"name": name, "description": "", "public": public, "retention": retention, "quota_gb": None,
            "policies": policies, "state": "present"}


# -- issue 16's per-type checks: what zot cannot express, for _model.py's TYPE_CHECKS["zot"] --------------
def type_checks(mirrors=None, replications=None, namespaces=None, cve_enabled=None):
    """(errors, warnings) of normalized mirrors, replications and namespaces (``scan``) on zot; every message
    starts with the entry (``oci_registry_replications[2] (name): ...``). Errors: a push replication, a manual
    or on_push trigger, deletions, a schedule that is not a fixed interval, scan.on_push with CVE scanning
    known to be off (``cve_enabled`` False; None: not known, the role checks it). Warnings: a mirror's ttl and
    port, a namespace's scan.block_severity. See _zot_sync.model_checks."""
    return zs.model_checks(mirrors, replications, namespaces, cve_enabled)


# -- vulnerability scanning: the CVE data of zot's search extension (GraphQL) -------------------------
# zot v2.1.20: pkg/api/constants/extensions.go (RoutePrefix /v2 + ExtPrefix /_zot/ext + /search);
# pkg/extensions/extension_search.go serves it with gqlgen's default server for GET and POST.
SEARCH_PATH = "/v2/_zot/ext/search"
# pkg/extensions/search/schema.graphql: CVEListForImage(image: String!, requestedPage: PageInput, ...):
# CVEResultForImage! {Tag, CVEList, Summary: ImageVulnerabilitySummary {MaxSeverity, Count, UnknownCount,
# LowCount, MediumCount, HighCount, CriticalCount}, Page}. Only the summary is asked for (limit 1: the
# counts cover every CVE whatever the page, resolver.go getCVEListForImage fills Summary from the whole map).
CVE_QUERY = (
    "query ($image: String!) { CVEListForImage(image: $image, requestedPage: {limit: 1, offset: 0}) "
    "{ Tag Summary { MaxSeverity Count UnknownCount LowCount MediumCount HighCount CriticalCount } } }"
)
# errors/errors.go: ErrCVEDBNotFound ("cve-db is not present", trivy/scanner.go checkDBPresence, until the
# first download finished; zot's own CLI retries on it, pkg/cli/client/search_functions.go) and
# ErrCVESearchDisabled ("cve search is disabled", schema.resolvers.go when cveInfo is nil: CVE off).
CVE_DB_NOT_READY = "cve-db is not present"
CVE_DISABLED = "cve search is disabled"
_SUMMARY_KEYS = (("critical", "CriticalCount"), ("high", "HighCount"), ("medium", "MediumCount"),
                 ("low", "LowCount"), ("unknown", "UnknownCount"))


class ZotCveNotReady(OciRegistryError):
    """zot has no CVE database yet (it downloads it at start and on its update interval)."""


def cve_summary(answer, image):
    """{critical, high, medium, low, unknown} from zot's GraphQL answer to CVE_QUERY for ``image``.

    gqlgen puts a resolver's error in ``errors`` with ``data`` null (the field is non-null);
    resolver.go getCVEListForImage answers an empty result (no Summary) when the image is not there
    or the user may not read its repository ("don't give details to a potential attacker")."""
    if not isinstance(answer, dict):
        raise OciRegistryError("zot's search extension answered %r for %s, not a GraphQL result" % (answer, image))
    messages = [e.get("message", "") if isinstance(e, dict) else str(e) for e in answer.get("errors") or []]
    if any(CVE_DB_NOT_READY in m for m in messages):
        raise ZotCveNotReady("zot has no CVE database yet (%s): it downloads it after start" % "; ".join(messages))
    if any(CVE_DISABLED in m for m in messages):
        raise OciRegistryError("zot's CVE scanning is off (extensions.search.cve; the role's zot_cve_enabled): "
                               "zot answered %r" % "; ".join(messages))
    if messages:
        raise OciRegistryError("zot could not list the CVEs of %s: %s" % (image, "; ".join(messages)))
    result = (answer.get("data") or {}).get("CVEListForImage") or {}
    summary = result.get("Summary")
    if not isinstance(summary, dict):
        raise OciRegistryError("zot returned no CVE summary for %s: the image is not there or the user may not "
                               "read its repository" % image)
    counts = {}
    for key, field in _SUMMARY_KEYS:
        value = summary.get(field)
        if value is None:
            value = 0
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise OciRegistryError("zot's CVE summary for %s has %s=%r, not a count" % (image, field, value))
        counts[key] = value
    return counts, summary.get("MaxSeverity")


def _image_name(repository, reference):
    """zot's image argument: ``repository:tag`` or ``repository@digest`` (schema.graphql)."""
    return "%s%s%s" % (repository, "@" if ":" in reference else ":", reference)


class ZotBackend(Backend):
    registry_type = "zot"
    hints = {
        "a read-only mode set through the API": "zot has no read-only mode",
        "a garbage-collection schedule": "zot collects garbage on its own interval (storage.gcInterval, role "
        "variable zot_gc_interval)",
        "mirrors set through the API": "zot's mirrors are the role's zot_mirrors, rendered into extensions.sync "
        "(playbooks/deploy.yml maps oci_registry_mirrors onto it)",
        "setting webhooks through the API": "zot's webhooks are the role's zot_webhooks, sinks of its events "
        "extension (playbooks/deploy.yml maps oci_registry_webhooks onto it)",
        "robot accounts": "zot has no robot accounts: give a machine its own user (oci_user)",
    }

    def __init__(self, client):
        super().__init__(client)
        self._metrics_text = None

    def health_checks(self, runner, debug_url=None):
        for probe in ("livez", "readyz", "startupz"):
            runner.check(probe, self._probe(probe))

        def metrics():
            try:
                text = self.metrics_text()
            except RegistryHTTPError as exc:
                if exc.status == 404:
                    return runner.SKIPPED, "zot's metrics extension is not enabled (%s answered 404)" % self.metrics_path
                raise
            families = [line for line in text.splitlines() if line.startswith("# TYPE ")]
            return "%d metric families" % len(families)

        runner.check("metrics", metrics)

    def _probe(self, name):
        def probe():
            self.client.request("GET", "/" + name, auth=False).close()
            return "/%s answered 200" % name
        return probe

    def metrics_text(self):
        if self._metrics_text is None:
            self._metrics_text = self.client.request("GET", self.metrics_path).text
        return self._metrics_text

    def version(self):
        try:
            match = _ZOT_INFO.search(self.metrics_text())
        except RegistryHTTPError:
            return None
        return match.group(1) if match else None

    def storage_usage(self):
        """What zot's metrics say about storage: {repositories: {name: bytes}, total_bytes}, from the
        zot_repo_storage_bytes gauge; None when the metrics extension is off (404)."""
        try:
            text = self.metrics_text()
        except RegistryHTTPError as exc:
            if exc.status == 404:
                return None
            raise
        repositories = {}
        for match in _ZOT_STORAGE.finditer(text):
            try:
                value = float(match.group(2))
            except ValueError:
                raise OciRegistryError("zot's metrics carry a zot_repo_storage_bytes sample that is not a number: %r"
                                       % match.group(0))
            repositories[match.group(1)] = int(value)
        return {"repositories": repositories, "total_bytes": sum(repositories.values())}

    def retention_gc(self, namespaces, options, check_mode=False):
        """oci_gc on zot, which applies retention and collects garbage itself: set what it reads (in place, it
        re-reads them) and report what its metrics say about storage. A retention dry run is zot's: with dry_run
        it evaluates the policies at each collection and logs what it would remove instead of removing it."""
        namespaces = gc.check_namespaces(namespaces)
        if options["match"] != "any":
            raise InvalidParameterError("match=%s: zot keeps a tag when any of its keepTags rules keeps it; use "
                                        "match=any with registry_type zot" % options["match"])
        if options["repositories"]:
            raise InvalidParameterError("repositories selects repositories on distribution only; zot applies retention "
                                        "per namespace (storage.retention.policies): leave repositories unset")
        settings = {}
        for name, key in ZOT_GC_SETTINGS:
            value = options["settings"].get(name)
            if value is not None and name in ("gc_delay", "gc_interval"):
                try:
                    zschema.parse_duration(value)
                except (TypeError, ValueError) as exc:
                    raise InvalidParameterError("%s must be a Go duration such as 1h or 90m, got %r (%s)" % (name, value, exc))
            settings[key] = value
        settings["delete_untagged"] = options["delete_untagged"]
        warnings = []
        try:
            usage = self.storage_usage()
        except RegistryHTTPError as exc:
            if exc.status not in (401, 403):
                raise
            usage = None
            warnings.append("zot refused its metrics to user %r (HTTP %s): storage usage is not reported; zot lets "
                            "http.accessControl.metrics.users read them" % (self.client.options.username, exc.status))
        else:
            if usage is None:
                warnings.append("zot's metrics extension is off: storage usage is not reported")
        change = self.gc_ensure(namespaces, settings, check_mode=check_mode)
        warnings.extend(change.warnings)
        action, after = change.extra["action"], change.after
        if action == "none":
            parts = ["zot's gc and retention settings are already as asked"]
        elif action == "restart":
            parts = ["%s config.json; zot must be restarted to apply it (%s)"
                     % ("would change" if check_mode else "changed", "; ".join(change.extra["reasons"]))]
        else:
            parts = ["%s config.json in place; zot re-reads it without a restart"
                     % ("would change" if check_mode else "changed")]
        parts.append("zot applies retention and collects garbage itself (every %s)" % (after["gcInterval"] or "gcInterval"))
        if after["retention"]["dryRun"]:
            parts.append("retention is a dry run: at each collection zot logs the tags it would remove and removes none")
        if usage is not None:
            parts.append("its metrics count %d bytes in %d repositories" % (usage["total_bytes"], len(usage["repositories"])))
        zot_result = dict(action=action, reasons=change.extra["reasons"], before=change.before, after=after,
                          dry_run=bool(after["retention"]["dryRun"]), storage=usage)
        return gc.result_without_plan(changed=change.changed, bytes_freed=None,
                                      restart_required=change.restart_required, warnings=warnings, zot=zot_result,
                                      diff=dict(before=change.before, after=after), message="; ".join(parts))

    def gc_ensure(self, namespaces, settings, check_mode=False):
        """oci_gc on zot, which collects garbage and applies retention itself: set storage.gc, gcDelay,
        gcInterval, retention.dryRun (``settings``; None leaves one as it is) and each namespace's retention
        policy in config.json, in place after zot's rules passed (zot re-reads them). ``delete_untagged`` in
        ``settings`` is the policies' deleteUntagged (None: as the file has it)."""
        files = ZotFiles(self.access)
        before = files.gc_settings()
        warnings = []
        storage = files.config.setdefault("storage", {})
        for key in ("gc", "gcDelay", "gcInterval"):
            value = settings.get(key)
            if value is not None and storage.get(key) != value:
                storage[key] = value
        for namespace in namespaces:
            if namespace.get("state", "present") == "present":
                files.set_namespace_retention(namespace, warnings, settings.get("delete_untagged"))
        delete_untagged = settings.get("delete_untagged")
        if delete_untagged is not None:
            # The role's rule (_zot_generate.retention_policies): deleteUntagged: false keeps untagged
            # manifests in EVERY repository, so a catch-all policy comes last; true removes it.
            policies = [p for p in files.retention_policies() if not zgen.is_untagged_guard(p)]
            if delete_untagged is False:
                policies.append(zgen.untagged_guard_policy())
            if policies != files.retention_policies():
                storage.setdefault("retention", {})["policies"] = zgen.sort_retention_policies(policies)
        dry_run = settings.get("dryRun")
        if dry_run is not None and bool((storage.get("retention") or {}).get("dryRun")) != dry_run:
            storage.setdefault("retention", {})["dryRun"] = dry_run
        problem = zschema.gc_retention_problem(storage.get("gc"), zgen.has_namespace_retention(files.retention_policies()))
        if problem:
            raise InvalidParameterError("gc: false with namespace retention: " + problem)
        if not storage:
            files.config.pop("storage")
        change = files.config_change()
        changed, restart, more = files.save(check_mode)
        return AccessChange(changed=changed, before=before, after=files.gc_settings(), warnings=warnings + more,
                            restart_required=restart, action=change["action"], reasons=change["reasons"])

    # -- access model (users, namespaces, policies) -----------------------------------------
    def user_get(self, name):
        files = ZotFiles(self.access)
        if files.htpasswd.get(name) is None:
            return None
        return {"name": name, "admin": name in files.admins(), "groups": files.groups_of(name)}

    def user_names(self):
        return sorted(ZotFiles(self.access).htpasswd.names())

    def namespace_names(self):
        """The namespaces of accessControl.repositories (``<name>/**`` keys; the catch-alls are not namespaces)."""
        keys = ZotFiles(self.access).repositories()
        return sorted(set(k[:-len("/**")] if k.endswith("/**") else k for k in keys
                          if k not in ("**", "*") and not k.startswith("*")))

    def gc_settings(self):
        """In the shape of the zot role's variables: zot_gc, zot_gc_delay, zot_gc_interval."""
        storage = ZotFiles(self.access).config.get("storage") or {}
        return {"zot_gc": bool(storage.get("gc", True)), "zot_gc_delay": storage.get("gcDelay"),
                "zot_gc_interval": storage.get("gcInterval")}

    def user_ensure(self, user, update_password="on_create", check_mode=False):
        """``user["password_hash"]``: bcrypt (default) or sha512_crypt, for a machine user's long secret
        (zot verifies both on every request, pkg/api/htpasswd.go Authenticate; the fast one costs ~1 %)."""
        files = ZotFiles(self.access)
        name = user["name"]
        before = None
        if files.htpasswd.get(name) is not None:
            before = {"name": name, "admin": name in files.admins(), "groups": files.groups_of(name),
                      "password_hash": htp.hash_scheme(files.htpasswd.get(name))}
        _created, password_changed = htp.ensure_user(files.htpasswd, name, user.get("password"), update_password,
                                                     rounds=self.access.bcrypt_rounds,
                                                     scheme=user.get("password_hash") or "bcrypt")
        files.set_admin(name, bool(user.get("admin")))
        if user.get("groups") is not None:
            files.set_groups(name, sorted(set(user.get("groups") or [])))
        after = {"name": name, "admin": name in files.admins(), "groups": files.groups_of(name),
                 "password_hash": htp.hash_scheme(files.htpasswd.get(name))}
        changed, restart, warnings = files.save(check_mode)
        return AccessChange(changed=changed, before=before, after=after, warnings=warnings,
                            restart_required=restart, password_changed=password_changed)

    def user_remove(self, name, check_mode=False):
        files = ZotFiles(self.access)
        if files.htpasswd.get(name) is None and name not in files.admins():
            return AccessChange(changed=False, before=None, after=None)
        before = {"name": name, "admin": name in files.admins(), "groups": files.groups_of(name)}
        files.htpasswd.remove(name)
        files.set_admin(name, False)
        files.set_metrics_user(name, False)
        files.set_groups(name, [])
        for group in files.repositories().values():
            for policy in group.get("policies") or []:
                if name in (policy.get("users") or []):
                    policy["users"] = [u for u in policy["users"] if u != name]
            group["policies"] = [p for p in group.get("policies") or [] if p.get("users") or p.get("groups")]
            if not group["policies"]:
                del group["policies"]
        changed, restart, warnings = files.save(check_mode)
        return AccessChange(changed=changed, before=before, after=None, warnings=warnings, restart_required=restart)

    def namespace_get(self, name):
        return _zot_namespace(ZotFiles(self.access), name)

    def namespace_ensure(self, namespace, check_mode=False):
        files = ZotFiles(self.access)
        name = namespace["name"]
        before = _zot_namespace(files, name)
        warnings = []
        if namespace.get("description"):
            warnings.append("zot has no namespace descriptions: %r is not stored" % name)
        if namespace.get("quota_gb"):
            warnings.append("zot has no storage quotas: quota_gb of %r is not applied" % name)
        repositories = files.repositories(create=True)
        current = repositories.get(name + "/**", repositories.get(name))
        if current is None:
            current = {"defaultPolicy": []}
        group = dict(current)
        anonymous = [a for a in group.get("anonymousPolicy") or [] if a != "read"]
        if namespace.get("public"):
            anonymous = ["read"] + anonymous
        if anonymous:
            group["anonymousPolicy"] = [a for a in zschema.ZOT_ACTIONS if a in anonymous]
        else:
            group.pop("anonymousPolicy", None)
        # Public: every logged-in user may read too (zgen.namespace_group says why). Made private again, the read
        # every user had only through public goes; oci_policy puts back an 'authenticated' read it grants.
        default = list(group.get("defaultPolicy") or [])
        if "read" in (group.get("anonymousPolicy") or []):
            default = [a for a in zschema.ZOT_ACTIONS if a in set(default) | {"read"}]
        elif (current.get("anonymousPolicy") and "read" in current["anonymousPolicy"]) and default == ["read"]:
            default = []
        group["defaultPolicy"] = default
        for key in _namespace_keys(name):
            repositories[key] = json.loads(json.dumps(group))
        files.set_namespace_retention(namespace, warnings)
        changed, restart, more = files.save(check_mode)
        return AccessChange(changed=changed, before=before, after=_zot_namespace(files, name),
                            warnings=warnings + more, restart_required=restart)

    def namespace_remove(self, name, force=False, check_mode=False):
        files = ZotFiles(self.access)
        before = _zot_namespace(files, name)
        repositories = [r for r in self.oci.catalog() if r == name or r.startswith(name + "/")]
        if repositories and not force:
            raise NamespaceNotEmptyError("namespace %r still holds %d repositories (%s); use force to delete them too"
                                         % (name, len(repositories), ", ".join(repositories[:5])))
        deleted = []
        if repositories and not check_mode:
            for repository in repositories:
                for tag in self.oci.tags(repository):
                    head = self.oci.head_manifest(repository, tag)
                    if head is not None:
                        self.oci.delete_manifest(repository, head.digest)
                deleted.append(repository)
        access = files.repositories()
        for key in _namespace_keys(name):
            access.pop(key, None)
        policies = [p for p in files.retention_policies() if list(p.get("repositories") or []) != list(_namespace_keys(name))]
        retention = (files.config.get("storage") or {}).get("retention")
        if retention is not None:
            retention["policies"] = policies
        changed, restart, warnings = files.save(check_mode)
        return AccessChange(changed=changed or bool(repositories), before=before, after=None, warnings=warnings,
                            restart_required=restart, deleted_repositories=deleted if not check_mode else repositories)

    def policies_get(self, namespace):
        found = _zot_namespace(ZotFiles(self.access), namespace)
        return None if found is None else found["policies"]

    def policies_ensure(self, namespace, policies, managed_users=None, check_mode=False):
        files = ZotFiles(self.access)
        before = _zot_namespace(files, namespace)
        if before is None:
            raise OciRegistryError("namespace %r does not exist on zot (create it with oci_namespace first)" % namespace)
        public = before["public"] or any("anonymous" in (p.get("subjects") or []) and "read" in (p.get("actions") or [])
                                         for p in policies)
        group = zgen.namespace_group({"name": namespace, "public": public, "policies": policies}, (), "policies")
        repositories = files.repositories(create=True)
        for key in _namespace_keys(namespace):
            repositories[key] = json.loads(json.dumps(group))
        changed, restart, warnings = files.save(check_mode)
        after = _zot_namespace(files, namespace)
        return AccessChange(changed=changed, before=before["policies"], after=after["policies"], warnings=warnings,
                            restart_required=restart)

    # -- mirrors and replications: zot's sync extension, set by the role (zot_mirrors, zot_replications) ----
    def _sync_state(self):
        """What config.json (+ the credentials file, + the role's entries file) says: {mirrors, replications}."""
        if self.access is None or not self.access.config_path:
            raise InvalidParameterError("registry_type zot keeps mirrors and replications in config.json: give the "
                                        "path of zot's config.json")
        files = ZotFiles(self.access)
        directory = os.path.dirname(self.access.config_path)
        entries = _json_file(os.path.join(directory, zs.ENTRIES_FILE), "zot's sync entries file") or {}
        credentials = _json_file(os.path.join(directory, zs.CREDENTIALS_FILE), "zot's sync credentials file") or {}
        return zs.read_back(files.config, credentials, entries)

    def mirror_names(self):
        return sorted(self._sync_state()["mirrors"])

    def mirror_get(self, name):
        return self._sync_state()["mirrors"].get(name)

    def mirror_ensure(self, mirror, check_mode=False, update_password="on_create"):
        self.not_supported("mirrors set through the API")

    def replication_names(self):
        return sorted(self._sync_state()["replications"])

    def replication_get(self, name):
        return self._sync_state()["replications"].get(name)

    def replication_ensure(self, replication, check_mode=False):
        self.not_supported("setting a replication through the API (zot's replications are the role's "
                           "zot_replications, rendered into extensions.sync by the deploy playbook)")

    def replication_run(self, name, wait=True, timeout=600):
        raise OciRegistryError(
            "running replication %r now is not supported on registry_type zot: zot's sync extension polls each "
            "registry on its own interval (pollInterval, from the schedule) and has no API to start a sync; "
            "a restart or a reload of zot's config starts one (pkg/extensions/extension_sync.go submits each "
            "periodic registry to zot's scheduler when the extension is set up)" % name)

    # -- vulnerability scanning ---------------------------------------------------------------------
    _sleep = staticmethod(time.sleep)
    _clock = staticmethod(time.monotonic)

    def _cve_configured(self):
        """False when config.json (if this backend has its path) says CVE scanning is off; None when unknown."""
        if self.access is None or not self.access.config_path:
            return None
        config = ZotFiles(self.access).config
        if not zschema.extension_enabled(config, "search"):
            return False
        return zschema._get(config, "extensions", "search", "cve") is not None

    def scan(self, repository, reference, wait=True, timeout=600, check_mode=False):
        """zot scans when asked: CVEListForImage runs Trivy on the image unless the result is cached
        (pkg/extensions/search/cve/cve.go GetCVEListForImage -> trivy/scanner.go ScanImage). Reading it
        changes nothing on the registry, so ``scanned`` is False and check mode asks too."""
        image = _image_name(repository, reference)
        if self._cve_configured() is False:
            raise OciRegistryError("zot's CVE scanning is off in %s (extensions.search.cve; set zot_search_enabled "
                                   "and zot_cve_enabled)" % self.access.config_path)
        head = self.oci.head_manifest(repository, reference)
        if head is None:
            raise OciRegistryError("image %s is not in the registry" % image)
        deadline = self._clock() + max(int(timeout), 1)
        while True:
            remaining = max(deadline - self._clock(), 1)
            # The request may wait as long as zot downloads its database (scanner.go holds dbLock meanwhile).
            response = self.client.request(
                "POST", SEARCH_PATH, expected=(200, 404, 405), timeout=remaining,
                headers={"Content-Type": "application/json"},
                data=json.dumps({"query": CVE_QUERY, "variables": {"image": image}}))
            if response.status_code in (404, 405):
                response.close()
                raise OciRegistryError("zot's search extension is off (%s answered %d): CVE data needs "
                                       "extensions.search with cve (zot_search_enabled, zot_cve_enabled)"
                                       % (SEARCH_PATH, response.status_code))
            try:
                answer = response.json()
            except ValueError:
                raise OciRegistryError("zot's search extension answered %s with a body that is not JSON" % image)
            try:
                counts, max_severity = cve_summary(answer, image)
            except ZotCveNotReady as exc:
                if not wait:
                    raise OciRegistryError("%s; wait for it (wait: true) or ask again later" % exc)
                if self._clock() >= deadline:
                    raise OciRegistryError("%s, still after %d s (timeout)" % (exc, int(timeout)))
                self._sleep(min(10, max(deadline - self._clock(), 0)))
                continue
            return {"repository": repository, "reference": reference, "digest": head.digest, "scanned": False,
                    "status": "Success", "max_severity": max_severity, "vulnerabilities": counts}


BACKEND = ZotBackend
