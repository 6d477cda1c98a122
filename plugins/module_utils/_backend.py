# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""One backend interface; an adapter per registry type (zot, harbor, distribution).

Modules ask ``get_backend()`` for the adapter of ``registry_type`` and call the
interface; every protocol detail lives in the adapters and in _oci / _client.
"""

from __future__ import annotations

from ansible_collections.provisioning.oci_registry.plugins.module_utils._argspec import (
    REGISTRY_TYPES,
    connection_argument_spec,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._client import (
    ConnectionOptions,
    RegistryClient,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import (
    InvalidParameterError,
    OciRegistryError,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._oci import OciApi


class Backend:
    """What every registry type offers. Adapters override what their registry has."""

    registry_type = None
    # {capability: how this type does it instead}, appended to "not supported" errors.
    hints = {}
    # Where the registry serves its metrics on its own port (zot: extensions.metrics.prometheus.path).
    metrics_path = "/metrics"

    def __init__(self, client):
        self.client = client
        self.oci = OciApi(client)

    # -- health ------------------------------------------------------------------
    def health_checks(self, runner, debug_url=None):
        """Run this type's own checks on ``runner`` (a _health.HealthRunner)."""

    def version(self):
        """The registry's software version, or None where it cannot be told."""
        return None

    def not_supported(self, what):
        hint = self.hints.get(what)
        raise OciRegistryError("%s is not supported on registry_type %s%s" % (
            what, self.registry_type, ": " + hint if hint else ""))

    # -- retention and garbage collection (oci_gc) --------------------------------------
    def retention_gc(self, namespaces, options, check_mode=False):
        """Apply each namespace's retention and have garbage collected, as this type does it; oci_gc's result
        (_gc.run_retention builds ``options``: match, repositories, delete_untagged, force_delete_untagged,
        wait_timeout, now, sleep, and ``settings``, the registry-side settings that were set)."""
        self.not_supported("retention and garbage collection")

    def refuse_gc_settings(self, settings):
        """Refuse registry-side GC settings (``settings``: those set) on a type that has none."""
        if settings:
            hint = self.hints.get("garbage-collection settings")
            raise InvalidParameterError("%s: not settings of registry_type %s%s" % (
                ", ".join(sorted(settings)), self.registry_type, ": " + hint if hint else ""))

    # -- registry-wide settings set through the API (Harbor) ----------------------------
    def read_only(self):
        """True when the registry refuses pushes and deletes (its read-only mode)."""
        self.not_supported("a read-only mode set through the API")

    def ensure_read_only(self, flag, check_mode=False):
        """(changed, before, after) of setting the read-only mode to ``flag``."""
        self.not_supported("a read-only mode set through the API")

    def gc_schedule_state(self):
        """The garbage-collection schedule {type, cron, parameters}, or None when none is set."""
        self.not_supported("a garbage-collection schedule")

    def ensure_gc_schedule(self, cron=None, delete_untagged=True, workers=1, check_mode=False):
        """(changed, before, after) of scheduling GC with ``cron``, or cancelling it with None."""
        self.not_supported("a garbage-collection schedule")

    # -- robot accounts (Harbor) ----------------------------------------------------------
    def robot_full_name(self, name, level="project", project=None):
        """The name the registry gives a robot account ``name``."""
        self.not_supported("robot accounts")

    def ensure_robot(self, name, level="project", project=None, permissions=None, description="", duration=-1,
                     disable=False, secret=None, update_secret="on_create", regenerate_secret=False, check_mode=False):
        """{changed, before, after, secret, secret_changed} of making a robot account match."""
        self.not_supported("robot accounts")

    def delete_robot(self, name, level="project", project=None, check_mode=False):
        """(changed, before) of removing a robot account."""
        self.not_supported("robot accounts")

    # -- webhooks set through the registry's API ---------------------------------------
    def webhook_policies(self, webhooks):
        """The registry's form of ``oci_registry_webhooks`` entries, checked."""
        self.not_supported("setting webhooks through the API")

    def webhooks_ensure(self, namespace, wanted, exclusive=False, check_mode=False):
        """(entry, before, after) of making one namespace's webhooks match ``wanted``."""
        self.not_supported("setting webhooks through the API")

    # -- access model: users, namespaces, policies ------------------------------------
    # Shapes are those of _model.py's normalized model:
    #   user      {name, password, admin: bool, state: present|absent}
    #   namespace {name, description, public: bool, retention: None|{keep_tags, max_age_days},
    #              quota_gb: int|None, policies: [{subjects: [...], actions: [...]}], state}
    # Reads never return a password. Writes take ``check_mode`` (compute, write nothing) and
    # return an AccessChange. File-based adapters (zot, distribution) find their files in
    # ``self.access`` (AccessOptions, set by the module with ``configure_access``); API-based
    # ones (harbor) ignore it. Where a backend cannot express a rule exactly, it says so in
    # AccessChange.warnings; it never drops one silently.
    access = None

    def configure_access(self, options):
        """Give a file-based adapter its paths and file settings (an AccessOptions)."""
        self.access = options
        return self

    def user_get(self, name):
        """{name, admin} of a managed user, or None."""
        self.not_supported("user management")

    def user_names(self):
        """Sorted names of every user this backend manages (for ``exclusive``)."""
        self.not_supported("user management")

    def user_ensure(self, user, update_password="on_create", check_mode=False):
        """Create or update ``user`` (normalized, state present). ``update_password``:
        ``on_create`` sets it only for a new user; ``always`` makes it match (htpasswd
        backends compare the stored bcrypt hash, so ``always`` is idempotent there)."""
        self.not_supported("user management")

    def user_remove(self, name, check_mode=False):
        self.not_supported("user management")

    def namespace_names(self):
        """Sorted names of the namespaces the registry's access model holds."""
        self.not_supported("namespace management")

    def gc_settings(self):
        """The registry's own garbage-collection settings, in the shape of its role variables (zot) or of
        its API (Harbor); None where the registry collects garbage only offline (Distribution)."""
        return None

    def namespace_get(self, name):
        """The namespace (normalized shape, ``policies`` included), or None."""
        self.not_supported("namespace management")

    def namespace_ensure(self, namespace, check_mode=False):
        """Create or update a namespace's description, public flag, quota and retention.
        Policies are left as they are (``policies_ensure`` sets them)."""
        self.not_supported("namespace management")

    def namespace_remove(self, name, force=False, check_mode=False):
        """Delete a namespace. Fails with NamespaceNotEmptyError while it holds
        repositories, unless ``force`` (then its repositories go too)."""
        self.not_supported("namespace management")

    def policies_get(self, namespace):
        """The namespace's policies [{subjects, actions}], or None when it does not exist."""
        self.not_supported("access policies")

    def policies_ensure(self, namespace, policies, managed_users=None, check_mode=False):
        """Make the namespace's grants exactly ``policies``. ``managed_users``: the names
        the ``authenticated`` subject stands for where a backend must list users (harbor)."""
        self.not_supported("access policies")

    # -- mirrors, replication, vulnerability scanning (issue 16) -----------------------------------
    # Shapes are those of _model.py's normalize_mirrors / normalize_replications (see there):
    #   mirror      {name, url, username, password, tls_verify, repositories: [glob], namespace,
    #                ttl, port, state}
    #   replication {name, direction: pull|push, remote: {url, username, password, tls_verify},
    #                repositories: [glob], tags: [glob], destination_namespace, trigger: manual|scheduled|on_push,
    #                schedule, deletions: bool, state}
    #   scan        (a namespace's ``scan`` key) None | {on_push: bool, block_severity: none|low|medium|high|critical}
    # Writes take ``check_mode`` and return an AccessChange whose before/after never hold a password.

    def mirror_get(self, name):
        """The mirror ``name`` in the normalized shape (password None), or None."""
        self.not_supported("mirrors set through the API")

    def mirror_names(self):
        """Sorted names of the mirrors the registry holds."""
        self.not_supported("mirrors set through the API")

    def mirror_ensure(self, mirror, check_mode=False, update_password="on_create"):
        """Make one mirror (normalized) exist as given, or be absent (state absent). ``update_password``
        ``always`` sends the upstream password again where the registry never returns it (Harbor)."""
        self.not_supported("mirrors set through the API")

    # File-based adapters (distribution) find their replication jobs through ``replication_options``
    # (a _replication.ReplicationOptions, set by the module with ``configure_replication``).
    replication_options = None

    def configure_replication(self, options):
        """Give a file-based adapter the places of its replication jobs on the registry host."""
        self.replication_options = options
        return self

    def replication_get(self, name):
        """The replication ``name`` in the normalized shape (passwords None), or None."""
        self.not_supported("replication set through the API")

    def replication_names(self):
        self.not_supported("replication set through the API")

    def replication_ensure(self, replication, check_mode=False):
        """Make one replication (normalized) exist as given, or be absent (state absent)."""
        self.not_supported("replication set through the API")

    def replication_run(self, name, wait=True, timeout=600):
        """Run the replication ``name`` now. {status, copied: [{repository, tag, digest}], failed: int}."""
        self.not_supported("running a replication")

    def namespace_images(self, namespace):
        """``repository:tag`` of every tagged image under ``namespace`` (oci_scan's namespace option), read
        through the distribution API's catalog; adapters with a richer API override it."""
        prefix = namespace.rstrip("/") + "/"
        return ["%s:%s" % (repository, tag) for repository in self.oci.catalog() if repository.startswith(prefix)
                for tag in self.oci.tags(repository)]

    def scan(self, repository, reference, wait=True, timeout=600, check_mode=False):
        """Scan one image and return {repository, reference, digest, scanned: bool (a scan was started),
        status, vulnerabilities: {critical, high, medium, low, unknown}}."""
        self.not_supported("vulnerability scanning")

    def scan_all_schedule_ensure(self, schedule, check_mode=False):
        """Make the registry scan every image on ``schedule`` (five-field cron), or on none (None).
        Returns (changed, before, after), each a cron or None."""
        self.not_supported("a scan-all schedule")


class AccessOptions:
    """Where a file-based backend keeps users and rules on the registry host, and how it
    writes them. Files are written in place (open, truncate, write) after validation, so
    that a process watching the file's inode (zot) sees the change."""

    def __init__(self, htpasswd_path=None, config_path=None, front_config_path=None,
                 validate_command=None, owner=None, group=None, mode="0640", bcrypt_rounds=12,
                 run_command=None):
        self.htpasswd_path = htpasswd_path          # zot, distribution
        self.config_path = config_path              # zot: config.json
        self.front_config_path = front_config_path  # distribution: the front's nginx.conf
        self.validate_command = validate_command    # run on a candidate file; %s = its path
        self.owner = owner
        self.group = group
        self.mode = mode
        self.bcrypt_rounds = bcrypt_rounds
        self.run_command = run_command              # module.run_command, for validate_command


class AccessChange:
    """What a write did (or would do, in check mode)."""

    def __init__(self, changed=False, before=None, after=None, warnings=None, restart_required=False,
                 password_changed=False, **extra):
        self.changed = changed
        self.before = before
        self.after = after
        self.warnings = list(warnings or [])
        self.restart_required = restart_required
        self.password_changed = password_changed
        self.extra = extra

    def as_dict(self):
        result = dict(changed=self.changed, before=self.before, after=self.after, warnings=self.warnings,
                      restart_required=self.restart_required, password_changed=self.password_changed)
        result.update(self.extra)
        return result


class NamespaceNotEmptyError(OciRegistryError):
    """A namespace that still holds repositories was to be deleted without force."""


# Options of oci_user, oci_namespace and oci_policy for the file-based registry types
# (documented in the doc fragment provisioning.oci_registry._access).
ACCESS_FILE_ARGSPEC = dict(
    htpasswd_path=dict(type="path"),
    config_path=dict(type="path"),
    front_config_path=dict(type="path"),
    validate_command=dict(type="str"),
    file_owner=dict(type="str"),
    file_group=dict(type="str"),
    file_mode=dict(type="str", default="0640", choices=["0600", "0640"]),
    bcrypt_rounds=dict(type="int", default=12),
)


def access_argument_spec(**extra):
    """Connection options (``registry_url`` optional: file-based types need it only to ask
    the registry, e.g. whether a namespace holds content) + file options + the module's own."""
    spec = connection_argument_spec(**ACCESS_FILE_ARGSPEC)
    spec["registry_url"] = dict(spec["registry_url"], required=False)
    spec.update(extra)
    return spec


def access_backend(module):
    """The backend for a module built on access_argument_spec, with its AccessOptions set."""
    params = module.params
    if params.get("registry_url") or params["registry_type"] == "harbor":
        backend = backend_from_params(params)
    else:
        backend = get_backend(params["registry_type"], None)
    if params["bcrypt_rounds"] < 10 or params["bcrypt_rounds"] > 31:
        raise InvalidParameterError("bcrypt_rounds must be from 10 to 31, got %d" % params["bcrypt_rounds"])
    return backend.configure_access(AccessOptions(
        htpasswd_path=params.get("htpasswd_path"),
        config_path=params.get("config_path"),
        front_config_path=params.get("front_config_path"),
        validate_command=params.get("validate_command"),
        owner=params.get("file_owner"),
        group=params.get("file_group"),
        mode=params.get("file_mode"),
        bcrypt_rounds=params["bcrypt_rounds"],
        run_command=lambda command: module.run_command(command, use_unsafe_shell=False),
    ))


def get_backend(registry_type, client):
    if registry_type not in REGISTRY_TYPES:
        raise InvalidParameterError("registry_type must be one of %s, got %r" % (", ".join(REGISTRY_TYPES), registry_type))
    # Imported here, not at the top: the adapters subclass Backend. Static import lines, so that
    # Ansible ships every adapter with the module.
    from ansible_collections.provisioning.oci_registry.plugins.module_utils import _distribution, _harbor, _zot

    adapters = {"zot": _zot.BACKEND, "harbor": _harbor.BACKEND, "distribution": _distribution.BACKEND}
    return adapters[registry_type](client)


def backend_from_params(params, prefix=""):
    """Client and backend from a module's connection options."""
    client = RegistryClient(ConnectionOptions.from_params(params, prefix))
    return get_backend(params[prefix + "registry_type"], client)
