# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""CNCF Distribution adapter.

Health over the API. Users, namespaces and policies are files on the registry host:
the htpasswd file, and the access front's directory (front.json, access.json, nginx.conf;
see _front.py). Plain Distribution has no namespaces and no per-user rights: without the
front (no ``front_config_path``) only users can be managed, and every one of them may do
everything, which is reported as a warning.
"""

from __future__ import annotations

import importlib
import json
import os
import stat
import subprocess

from ansible_collections.provisioning.oci_registry.plugins.module_utils import _front, _gc, _htpasswd, _replication
from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import (
    AccessChange,
    Backend,
    NamespaceNotEmptyError,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import (
    InvalidParameterError,
    OciRegistryError,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._model import (
    normalize_replication,
    public_view,
)


class DistributionBackend(Backend):
    registry_type = "distribution"
    hints = {
        "a read-only mode set through the API": "Distribution's read-only mode is storage.maintenance.readonly in "
        "config.yml (role provisioning.oci_registry.distribution, tasks_from maintenance.yml)",
        "a garbage-collection schedule": "Distribution collects garbage only offline (playbooks/gc.yml)",
        "garbage-collection settings": "Distribution collects garbage offline, when playbooks/gc.yml runs its "
        "garbage-collect (these are zot's settings)",
        "mirrors set through the API": "Distribution's mirrors are proxy-mode registry containers that the "
        "distribution role deploys and removes: set them in distribution_mirrors (playbooks/deploy.yml maps "
        "oci_registry_mirrors onto it)",
        "setting webhooks through the API": "Distribution's webhooks are notification endpoints in config.yml: the "
        "role's distribution_webhooks (playbooks/deploy.yml maps oci_registry_webhooks onto it)",
        "robot accounts": "Distribution has no robot accounts: give a machine its own user (oci_user)",
        "vulnerability scanning": "Distribution has no vulnerability scanner (Harbor scans with Trivy, zot with its "
        "CVE search extension; on Distribution, scan images in the pipeline that pushes them)",
    }

    def retention_gc(self, namespaces, options, check_mode=False):
        """Retention through the OCI API (_gc.api_retention); playbooks/gc.yml then runs garbage-collect."""
        self.refuse_gc_settings(options["settings"])
        return _gc.api_retention(self, namespaces, options, check_mode=check_mode)

    def health_checks(self, runner, debug_url=None):
        if not debug_url:
            runner.skip("debug_health", "no debug_url given (Distribution's http.debug listener)")
            runner.skip("metrics", "no debug_url given (Distribution's http.debug listener)")
            return
        base = debug_url.rstrip("/")

        def debug_health():
            response = self.client.request("GET", base + "/debug/health", auth=False)
            data = response.json()
            if data:
                raise AssertionError("health checks failing: %s" % ", ".join(sorted(data)))
            return "all registered health checks pass"

        def metrics():
            response = self.client.request("GET", base + "/metrics", auth=False,
                                           hint="enable http.debug.prometheus in the registry's config")
            families = [line for line in response.text.splitlines() if line.startswith("# TYPE ")]
            registry = [line for line in families if " registry_" in line]
            return "%d metric families, %d from the registry" % (len(families), len(registry))

        runner.check("debug_health", debug_health)
        runner.check("metrics", metrics)

    # -- access model ------------------------------------------------------------------
    _files_cache = None

    def _files(self):
        """The files, read once per module run (a list of users or namespaces is applied one
        entry after the other on the same content, in check mode too)."""
        options = self.access
        if options is None or not options.htpasswd_path:
            raise InvalidParameterError("registry_type distribution keeps its users in an htpasswd file on the "
                                        "registry host: give htpasswd_path")
        if self._files_cache is None:
            self._files_cache = _Files(options)
        return self._files_cache

    def _front_files(self, what):
        files = self._files()
        if not files.front:
            raise InvalidParameterError(
                "%s on registry_type distribution needs the access front (Distribution alone cannot tell "
                "namespaces or rights apart): give front_config_path, the front's nginx.conf that the "
                "distribution role deploys (distribution_access_front: true)" % what)
        return files

    @staticmethod
    def _user_view(name, files):
        info = files.access["users"].get(name) or {} if files.front else {}
        return {"name": name, "admin": bool(info.get("admin")), "groups": list(info.get("groups") or [])}

    def user_get(self, name):
        files = self._files()
        if files.htpasswd.get(name) is None:
            return None
        return self._user_view(name, files)

    def user_names(self):
        return sorted(self._files().htpasswd.names())

    def namespace_names(self):
        return sorted(self._front_files("reading namespaces").access["namespaces"])

    def user_ensure(self, user, update_password="always", check_mode=False):
        files = self._files()
        name = user["name"]
        before = self.user_get(name)
        created, password_changed = _htpasswd.ensure_user(files.htpasswd, name, user.get("password"),
                                                          update_password, files.options.bcrypt_rounds)
        warnings = []
        if files.front:
            files.access = _front.set_user(files.access, name, user.get("admin"), user.get("groups"))
        elif not user.get("admin"):
            warnings.append("without the access front every user of plain Distribution may read, write and delete "
                            "everything: admin=%s for %r is not enforced (set front_config_path)"
                            % (bool(user.get("admin")), name))
        after = {"name": name, "admin": bool(user.get("admin")), "groups": list(user.get("groups") or [])}
        if not files.front:
            after = dict(after, admin=False, groups=[])
        return files.commit(check_mode, before, after, warnings, password_changed=password_changed)

    def user_remove(self, name, check_mode=False):
        files = self._files()
        before = self.user_get(name)
        files.htpasswd.remove(name)
        if files.front:
            files.access = _front.remove_user(files.access, name)
        return files.commit(check_mode, before, None, [])

    def namespace_get(self, name):
        files = self._front_files("a namespace")
        entry = files.access["namespaces"].get(name)
        if entry is None:
            return None
        return _namespace_view(name, entry)

    def namespace_ensure(self, namespace, check_mode=False):
        files = self._front_files("a namespace")
        name = namespace["name"]
        before = self.namespace_get(name)
        files.access = _front.set_namespace(files.access, namespace, keep_policies=True)
        warnings = []
        if namespace.get("quota_gb") is not None:
            warnings.append("namespace %r: Distribution has no storage quota; quota_gb=%s is recorded in the "
                            "front's access.json but not enforced" % (name, namespace["quota_gb"]))
        if namespace.get("retention"):
            warnings.append("namespace %r: Distribution has no retention of its own; the retention %s is recorded "
                            "in the front's access.json but not applied by the registry"
                            % (name, _retention_text(namespace["retention"])))
        after = _namespace_view(name, files.access["namespaces"][name])
        return files.commit(check_mode, before, after, warnings)

    def namespace_remove(self, name, force=False, check_mode=False):
        files = self._front_files("a namespace")
        before = self.namespace_get(name)
        if before is None:
            return AccessChange(False, None, None)
        content = self.namespace_content(name)
        tagged = dict((repo, tags) for repo, tags in content.items() if tags)
        if tagged and not force:
            raise NamespaceNotEmptyError(
                "namespace %r still holds %d repositories with tags (%s): set force=true to delete their manifests "
                "with the namespace" % (name, len(tagged), ", ".join(sorted(tagged)[:5])),
                repositories=sorted(tagged))
        warnings = []
        deleted = []
        if tagged and not check_mode:
            for repository, tags in sorted(tagged.items()):
                digests = set()
                for tag in tags:
                    ref = self.oci.head_manifest(repository, tag)
                    if ref is not None and ref.digest:
                        digests.add(ref.digest)
                for digest in sorted(digests):
                    self.oci.delete_manifest(repository, digest)
                deleted.append(repository)
        if tagged:
            warnings.append("Distribution deletes manifests, not repositories: %s stay in the catalog (without "
                            "tags) until garbage collection and removal on disk" % ", ".join(sorted(tagged)))
        files.access = _front.remove_namespace(files.access, name)
        return files.commit(check_mode, before, None, warnings, deleted_repositories=sorted(tagged))

    def namespace_content(self, name):
        """{repository: [tags]} for the repositories in the namespace (asks the registry)."""
        if self.client is None:
            raise InvalidParameterError("registry_url (with admin credentials) is needed to check whether namespace "
                                        "%r holds content before it is deleted" % name)
        repositories = [r for r in self.oci.catalog() if r == name or r.startswith(name + "/")]
        return dict((repo, self.oci.tags(repo)) for repo in repositories)

    def policies_get(self, namespace):
        current = self.namespace_get(namespace)
        return None if current is None else current["policies"]

    def policies_ensure(self, namespace, policies, managed_users=None, check_mode=False):
        files = self._front_files("an access policy")
        if namespace not in files.access["namespaces"] and check_mode:
            return AccessChange(True, None, list(policies), [
                "namespace %r does not exist yet: its policies are shown as they would be set once oci_namespace "
                "created it" % namespace])
        if namespace not in files.access["namespaces"]:
            raise OciRegistryError("namespace %r does not exist in the front's rules (%s): create it first with "
                                   "oci_namespace" % (namespace, files.paths["access"]))
        before = list(files.access["namespaces"][namespace].get("policies") or [])
        files.access = _front.set_policies(files.access, namespace, policies)
        return files.commit(check_mode, before, list(policies), [])

    # -- mirrors (read back from the front's front.json; the distribution role deploys them) ----------
    def mirror_names(self):
        files = self._front_files("a mirror")
        return sorted(m["name"] for m in files.settings["mirrors"])

    def mirror_get(self, name):
        files = self._front_files("a mirror")
        for mirror in files.settings["mirrors"]:
            if mirror["name"] == name:
                return {"name": name, "url": mirror.get("url"), "username": mirror.get("username"), "password": None,
                        "tls_verify": mirror.get("tls_verify", True), "repositories": list(mirror["repositories"]),
                        "namespace": mirror["namespace"], "ttl": mirror.get("ttl"), "port": mirror.get("port"),
                        "state": "present"}
        return None

    def mirror_ensure(self, mirror, check_mode=False, update_password="on_create"):
        self.not_supported("mirrors set through the API")

    # -- replication: the collection's sync engine run on a schedule on the registry host -------------------------
    def _replication(self):
        if self.replication_options is None:
            raise InvalidParameterError("registry_type distribution keeps its replication jobs in files on the "
                                        "registry host: give the replication_* options (replication_dir, ...)")
        return self.replication_options

    def replication_names(self):
        options = self._replication()
        try:
            files = os.listdir(options.directory)
        except FileNotFoundError:
            return []
        return sorted(f[:-len(".json")] for f in files if f.endswith(".json") and not f.startswith("."))

    def _job(self, name):
        options = self._replication()
        text = _htpasswd.read_text(options.job_path(name))
        if text is None:
            return None, None
        try:
            return _replication.load_job(options.job_path(name)), text
        except (ValueError, OciRegistryError):
            raise OciRegistryError("%s is not a replication job this collection wrote: remove it or apply the "
                                   "replication %r again with state absent" % (options.job_path(name), name))

    def replication_get(self, name):
        document = self._job(name)[0]
        if document is None:
            return None
        entry = dict(document["replication"])
        entry["remote"] = dict(entry["remote"], password=None)
        return entry

    def replication_ensure(self, replication, check_mode=False):
        options = self._replication()
        name = replication["name"]
        before = self.replication_get(name)
        current_text = self._job(name)[1]
        scheduler = options.resolved_scheduler()
        service_path, timer_path = options.unit_paths(name)
        cron_path = options.cron_path(name)
        writes, removals, commands, warnings = [], [], [], []
        if replication["state"] == "absent":
            after = None
            removals = [options.job_path(name), service_path, timer_path, cron_path]
            if scheduler == "systemd" and os.path.exists(timer_path):
                commands = [["systemctl", "disable", "--now", os.path.basename(timer_path)],
                            ["systemctl", "daemon-reload"]]
        else:
            # Validated here too (the module may be given an entry by hand): Distribution's refusals included.
            replication = normalize_replication(replication, "replication", registry_type="distribution")
            if self.client is None:
                raise InvalidParameterError("registry_url (with the admin credentials) is needed: the job connects "
                                            "to this registry")
            local = self.client.options
            document = _replication.job_document(replication, {
                "url": local.registry_url, "username": local.username, "password": local.password,
                "tls_verify": local.validate_certs, "ca_path": local.ca_path, "timeout": local.timeout,
                "retries": local.retries}, options)
            after = dict(replication, remote=dict(replication["remote"], password=None))
            writes.append((options.job_path(name), _replication.job_text(document), 0o600))
            writes.append((options.runner_path, _replication.render_runner(options), 0o755))
            for module_name in _replication.SHIPPED_MODULES:
                writes.append((_replication.shipped_path(options, module_name), _module_source(module_name), 0o644))
            scheduled = replication["trigger"] == "scheduled"
            if scheduled and scheduler == "systemd":
                writes.append((service_path, _replication.render_service(name, options), 0o644))
                writes.append((timer_path, _replication.render_timer(name, replication["schedule"]), 0o644))
                removals.append(cron_path)
            elif scheduled:
                writes.append((cron_path, _replication.render_cron(name, replication["schedule"], options), 0o644))
                removals += [service_path, timer_path]
                if not any(os.path.exists(os.path.join(d, c)) for d in ("/usr/sbin", "/usr/bin", "/sbin")
                           for c in ("cron", "crond")):
                    warnings.append("replication %r: the cron entry %s is written, but no cron daemon is installed on "
                                    "this host (systemd does not run here either): nothing will start it on schedule"
                                    % (name, cron_path))
            else:
                removals += [service_path, timer_path, cron_path]
        changes = [w for w in writes if _file_differs(*w)]
        removals = [path for path in removals if os.path.exists(path)]
        if scheduler == "systemd" and replication["state"] == "present":
            units_changed = any(p in (service_path, timer_path) for p, _t, _m in changes) or any(
                p in (service_path, timer_path) for p in removals)
            if replication["trigger"] == "scheduled" and (units_changed or not _timer_enabled(timer_path)):
                commands = [["systemctl", "daemon-reload"],
                            ["systemctl", "enable", "--now", os.path.basename(timer_path)]]
            elif units_changed:
                commands = [["systemctl", "disable", "--now", os.path.basename(timer_path)],
                            ["systemctl", "daemon-reload"]]
        changed = bool(changes or removals or commands)
        if changed and not check_mode:
            for path, text, mode in changes:
                _replication.write_atomic(path, text, mode)
            for path in removals:
                os.unlink(path)
            for command in commands:
                self._run(command)
        job_changed = any(p == options.job_path(name) for p, _t, _m in changes)
        return AccessChange(changed, public_view(_masked(before, current_text)),
                            public_view(_masked(after, writes[0][1] if writes else None)), warnings,
                            password_changed=bool(job_changed and before == after),
                            files=sorted(p for p, _t, _m in changes), removed=sorted(removals),
                            commands=[" ".join(c) for c in commands], scheduler=scheduler)

    def _run(self, command):
        run_command = self.replication_options.run_command
        if run_command is not None:
            rc, out, err = run_command(command)
        else:
            process = subprocess.run(command, capture_output=True, text=True, check=False)
            rc, out, err = process.returncode, process.stdout, process.stderr
        if rc != 0:
            raise OciRegistryError("%s failed (exit %s): %s" % (" ".join(command), rc, (err or out).strip()[-500:]))
        return out

    def replication_run(self, name, wait=True, timeout=600):
        options = self._replication()
        document = self._job(name)[0]
        if document is None:
            raise OciRegistryError("replication %r has no job file at %s: apply it first (distribution_replications "
                                   "or oci_replication)" % (name, options.job_path(name)))
        if not wait:
            raise InvalidParameterError("on Distribution a replication runs on the registry host while the task waits: "
                                        "wait=false is not supported")
        command = [options.python, options.runner_path, options.job_path(name)]
        try:
            process = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise OciRegistryError("replication %r did not finish within %ss (%s)" % (name, timeout, " ".join(command)))
        except OSError as exc:
            raise OciRegistryError("cannot start %s: %s" % (" ".join(command), exc))
        if process.returncode == 2:
            raise OciRegistryError("replication %r: %s" % (name, (process.stdout + process.stderr).strip()[-1000:]))
        try:
            with open(document["report_path"], encoding="utf-8") as handle:
                report = json.load(handle)
        except (OSError, ValueError) as exc:
            raise OciRegistryError("replication %r ran (exit %s) but left no readable report at %s: %s; its output: %s"
                                   % (name, process.returncode, document["report_path"], exc,
                                      (process.stdout + process.stderr).strip()[-1000:]))
        return {"status": report["status"], "copied": report["copied"], "failed": report["failed"],
                "errors": report["errors"], "unchanged": report["unchanged"], "report_path": document["report_path"],
                "metrics_path": document["metrics_path"]}


def _masked(entry, job_text):
    """The entry with the remote's password as a marker where the job holds one (public_view masks it)."""
    if entry is None:
        return None
    if job_text and entry["remote"].get("username"):
        return dict(entry, remote=dict(entry["remote"], password="set"))
    return entry


def _module_source(module_name):
    """The source of one of this collection's module_utils, as Python loaded it (files or Ansible's zip)."""
    module = importlib.import_module("%s.%s" % (_replication.PACKAGE, module_name))
    source = module.__loader__.get_source(module.__name__)
    if source is None:
        raise OciRegistryError("the source of %s is not available to ship to the registry host" % module.__name__)
    return source


def _file_differs(path, text, mode):
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return True
    if stat.S_IMODE(info.st_mode) != mode:
        return True
    return _htpasswd.read_text(path) != text


def _timer_enabled(timer_path):
    """Whether the timer is enabled (its link in timers.target.wants exists)."""
    wants = os.path.join(os.path.dirname(timer_path), "timers.target.wants", os.path.basename(timer_path))
    return os.path.lexists(wants)


def _retention_text(retention):
    parts = []
    if retention.get("keep_tags") is not None:
        parts.append("keep %s tags" % retention["keep_tags"])
    if retention.get("max_age_days") is not None:
        parts.append("%s days" % retention["max_age_days"])
    return "(%s)" % ", ".join(parts)


def _namespace_view(name, entry):
    return {"name": name, "description": entry.get("description") or "", "public": bool(entry.get("public")),
            "retention": entry.get("retention"), "quota_gb": entry.get("quota_gb"),
            "policies": list(entry.get("policies") or []), "state": "present"}


class _Files:
    """The htpasswd file and (with the front) front.json, access.json and nginx.conf, read once;
    ``commit`` writes what changed, in place, after nginx validated the new nginx.conf."""

    def __init__(self, options):
        self.options = options
        self.mode = _htpasswd.parse_mode(options.mode) if options.mode is not None else 0o640
        self.htpasswd_text = _htpasswd.read_text(options.htpasswd_path, "")
        self.htpasswd = _htpasswd.Htpasswd(self.htpasswd_text)
        self.front = bool(options.front_config_path)
        self.attributes_done = False
        self.paths = {}
        self.access = None
        if self.front:
            directory = os.path.dirname(os.path.abspath(options.front_config_path))
            self.paths = _front.paths(directory)
            self.paths["config"] = options.front_config_path
            settings_text = _htpasswd.read_text(self.paths["settings"])
            if settings_text is None:
                raise InvalidParameterError(
                    "%s is missing: the front's settings are written by the distribution role "
                    "(distribution_access_front: true); deploy the registry with it first" % self.paths["settings"])
            self.settings = _front.settings_from_text(settings_text, self.paths["settings"])
            self.access_text = _htpasswd.read_text(self.paths["access"], "")
            self.access = _front.access_from_text(self.access_text, self.paths["access"])
            self.config_text = _htpasswd.read_text(self.paths["config"], "")
            self.grants_text = _htpasswd.read_text(self.paths["grants"], "")

    def commit(self, check_mode, before, after, warnings, password_changed=False, **extra):
        options = self.options
        htpasswd_text = self.htpasswd.render()
        writes = []
        if htpasswd_text != self.htpasswd_text or (not self.attributes_done and _htpasswd.attributes_differ(
                options.htpasswd_path, options.owner, options.group, self.mode)):
            writes.append((options.htpasswd_path, htpasswd_text))
        config_changed = False
        if self.front:
            config_text, rule_warnings = _front.render(self.settings, self.access)
            warnings = list(warnings) + rule_warnings
            access_text = _front.access_to_text(self.access)
            if access_text != self.access_text:
                writes.append((self.paths["access"], access_text))
            # The authentication service scopes its tokens with these (it re-reads the file).
            grants_text = _front.grants_to_text(self.access)
            if grants_text != self.grants_text:
                writes.append((self.paths["grants"], grants_text))
            if config_text != self.config_text:
                config_changed = True
                if not check_mode:
                    _htpasswd.validate_text(self.paths["config"], config_text, options.validate_command,
                                            options.run_command)
                writes.append((self.paths["config"], config_text))
        changed = bool(writes)
        if changed and not check_mode:
            for path, text in writes:
                _htpasswd.write_in_place(path, text, options.owner, options.group, self.mode)
        # The next entry of the same run compares with this result (written or, in check mode, not).
        self.htpasswd_text = htpasswd_text
        self.attributes_done = True
        if self.front:
            self.access_text = access_text
            self.config_text = config_text
            self.grants_text = grants_text
        # nginx reads the htpasswd file on every request, but its nginx.conf only on reload;
        # Distribution without the front reads its htpasswd file when it starts.
        restart = config_changed or (not self.front and any(p == options.htpasswd_path for p, _t in writes))
        return AccessChange(changed, before, after, warnings, restart_required=restart,
                            password_changed=password_changed, **extra)


BACKEND = DistributionBackend
