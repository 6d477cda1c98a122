# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""Zot configuration generator: the collection's model and the zot role's options -> config.json (pure Python).

* ``generate(options)`` turns structured options (the ``zot_*`` role variables without
  their prefix) plus the collection's access model (users and namespaces) into zot's
  ``config.json`` dict, checked with _zot_schema's ``validate`` (errors name the role variable,
  through ``VARIABLES``); ``render(config)`` gives its canonical JSON text.
* The parts it is made of: ``access_control`` (``namespace_group`` per namespace; ``model_policies``
  reads one back), ``retention_policies`` (``namespace_retention_policy``, ``untagged_guard_policy``,
  ``sort_retention_policies``; ``model_retention`` reads one back), ``sync_config`` (with _zot_sync.py's
  mirrors and replications), ``event_sinks``, ``storage_driver`` and ``storage_environment``,
  ``cache_driver`` and ``cluster_config``. The zot adapter (_zot.py) uses the namespace and retention
  ones to change a running registry's config the same way.

Facts about zot come from its v2.1.20 documentation and example configurations
(``../shared/reference/zot``) and its source where a behaviour is cited next to the code that
reproduces it (access rules and metrics: pkg/api/authz.go; retention: pkg/retention; s3 storage, Redis
cache and cluster: pkg/storage, pkg/api/config, pkg/api/proxy.go and pkg/cli/server/root.go; event sinks:
pkg/extensions/config/events and pkg/extensions/events; the s3 driver's parameters: distribution v3.1.1
registry/storage/driver/s3-aws/s3.go). No zot code is copied here.
"""

from __future__ import annotations

import copy
import json
import re

from urllib.parse import quote

from ansible_collections.provisioning.oci_registry.plugins.module_utils._zot_schema import (
    CLUSTER_HASH_KEY_LENGTH,
    DIST_SPEC_VERSION,
    KEEP_RULES,
    MIB,
    S3_MAX_CHUNK,
    S3_MIN_CHUNK,
    ZOT_ACTIONS,
    ZotConfigError,
    _duration_ns,
    _get,
    _socket_ok,
    gc_retention_problem,
    validate,
)

# The model's actions and what they mean in zot's accessControl.
# zot's own rules: "create" needs "read"; "update" needs "read" and "create";
# "delete" needs "read". So every grant that writes or deletes also reads.
MODEL_ACTIONS = {
    "read": ("read",),
    "write": ("read", "create", "update"),
    "delete": ("read", "delete"),
    "admin": ZOT_ACTIONS,
}
SPECIAL_SUBJECTS = ("authenticated", "anonymous")


def hours(days):
    """``max_age_days`` as the Go duration zot's pushedWithin takes ("720h" for 30)."""
    return "%dh" % (int(days) * 24)


# Which role variable feeds which part of the config (longest prefix wins). Used to name
# the variable in error messages about generated configs.
VARIABLES = {
    "distSpecVersion": "zot_dist_spec_version",
    "storage": "zot_config_overrides",
    "storage.rootDirectory": "zot_root_directory",
    "storage.dedupe": "zot_dedupe",
    "storage.gc": "zot_gc",
    "storage.gcDelay": "zot_gc_delay",
    "storage.gcInterval": "zot_gc_interval",
    "storage.gcTimeWindow": "zot_gc_time_window",
    "storage.maxRepos": "zot_max_repos",
    "storage.retention": "zot_namespaces (retention)",
    "storage.retention.dryRun": "zot_retention_dry_run",
    "storage.retention.delay": "zot_retention_delay",
    "storage.storageDriver": "zot_storage",
    "storage.redirectBlobURL": "zot_storage (s3.redirect)",
    "storage.remoteCache": "zot_redis",
    "storage.cacheDriver": "zot_redis",
    "cluster": "zot_cluster_members",
    "cluster.hashKey": "zot_cluster_hash_key",
    "cluster.tls": "zot_cluster_tls_cacert",
    "http.address": "zot_http_address",
    "http.port": "zot_http_port",
    "http.realm": "zot_realm",
    "http.externalUrl": "zot_external_url",
    "http.allowOrigin": "zot_allow_origin",
    "http.compat": "zot_http_compat",
    "http.tls": "zot_tls_cert",
    "http.tls.key": "zot_tls_key",
    "http.tls.cacert": "zot_tls_cacert",
    "http.auth": "zot_htpasswd_path",
    "http.auth.failDelay": "zot_fail_delay",
    "http.accessControl": "zot_namespaces",
    "http.accessControl.adminPolicy": "zot_users (admin)",
    "http.accessControl.groups": "zot_users (groups)",
    "http.accessControl.metrics": "zot_metrics_users",
    "http.accessControl.metrics.anonymousPolicy": "zot_metrics_anonymous",
    "http.ratelimit": "zot_ratelimit_rate",
    "http.ratelimit.methods": "zot_ratelimit_methods",
    "log.level": "zot_log_level",
    "log.output": "zot_log_output",
    "log.audit": "zot_log_audit",
    "extensions.search": "zot_search_enabled",
    "extensions.search.cve": "zot_cve_enabled",
    "extensions.search.cve.updateInterval": "zot_cve_update_interval",
    "extensions.ui": "zot_ui_enabled",
    "extensions.metrics": "zot_metrics_enabled",
    "extensions.metrics.prometheus.path": "zot_metrics_path",
    "extensions.scrub": "zot_scrub_enabled",
    "extensions.scrub.interval": "zot_scrub_interval",
    "extensions.sync": "zot_sync_registries / zot_mirrors / zot_replications",
    "extensions.sync.credentialsFile": "zot_sync_credentials_file",
    "extensions.sync.downloadDir": "zot_sync_download_dir",
    "extensions.lint": "zot_lint_enabled",
    "extensions.lint.mandatoryAnnotations": "zot_lint_mandatory_annotations",
    "extensions.events": "zot_webhooks",
}


# --------------------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------------------
OPTION_NAMES = (
    "dist_spec_version", "root_directory", "dedupe", "gc", "gc_delay", "gc_interval", "gc_time_window",
    "max_repos", "retention_enabled", "retention_dry_run", "retention_delay", "retention_delete_untagged",
    "retention_delete_referrers", "http_address", "http_port", "realm", "external_url", "allow_origin",
    "http_compat", "tls_cert", "tls_key", "tls_cacert", "htpasswd_path", "fail_delay", "access_control",
    "users", "namespaces", "access_default_policy", "access_anonymous_default", "metrics_users",
    "metrics_anonymous", "ratelimit_rate", "ratelimit_methods", "log_level", "log_output", "log_audit",
    "search_enabled", "cve_enabled", "cve_update_interval", "cve_db_repository", "cve_java_db_repository",
    "ui_enabled", "metrics_enabled", "metrics_path", "scrub_enabled", "scrub_interval", "sync_enabled",
    "sync_registries", "sync_credentials_file", "sync_download_dir", "lint_enabled",
    "lint_mandatory_annotations", "webhooks", "config_overrides", "mirrors", "replications",
    "storage", "redis", "cluster_members", "cluster_hash_key", "cluster_tls_cacert",
)
_SYNC_REGISTRY_KEYS = {
    "urls": "urls", "on_demand": "onDemand", "poll_interval": "pollInterval", "tls_verify": "tlsVerify",
    "cert_dir": "certDir", "max_retries": "maxRetries", "retry_delay": "retryDelay",
    "max_retry_delay": "maxRetryDelay", "only_signed": "onlySigned", "sync_timeout": "syncTimeout",
    "preserve_digest": "preserveDigest", "credential_helper": "credentialHelper", "content": "content",
    "username": None, "password": None,
}
_SYNC_CONTENT_KEYS = {"prefix": "prefix", "destination": "destination", "strip_prefix": "stripPrefix", "tags": "tags"}
_SYNC_TAG_KEYS = {"regex": "regex", "exclude_regex": "excludeRegex", "semver": "semver"}
_NAMESPACE_RE = re.compile(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$")


def _set(node, key, value):
    if value is not None and value != "":
        node[key] = value


def _fail(variable, msg):
    raise ZotConfigError(["%s: %s" % (variable, msg)])


def _model_actions(actions, variable):
    out = set()
    if not isinstance(actions, (list, tuple)):
        _fail(variable, "must be a list of actions (%s)" % ", ".join(MODEL_ACTIONS))
    for action in actions:
        if action not in MODEL_ACTIONS:
            _fail(variable, "unknown action %r; valid: %s" % (action, ", ".join(MODEL_ACTIONS)))
        out.update(MODEL_ACTIONS[action])
    return [a for a in ZOT_ACTIONS if a in out]


def _present_users(users):
    out = []
    for index, user in enumerate(users or []):
        if not isinstance(user, dict) or not user.get("name"):
            _fail("zot_users[%d]" % index, "each user needs a name")
        if user.get("state", "present") not in ("present", "absent"):
            _fail("zot_users[%d].state" % index, "must be present or absent")
        if user.get("state", "present") == "present":
            out.append(user)
    return out


def namespace_group(namespace, absent_users=(), variable="namespace"):
    """The zot policy group (policies, defaultPolicy, anonymousPolicy) of one namespace."""
    name = namespace.get("name")
    if not isinstance(name, str) or not _NAMESPACE_RE.match(name):
        _fail(variable + ".name", "%r is not a valid OCI repository name path "
                                  "(lowercase letters and digits, separated by . _ __ - or /)" % (name,))
    by_actions = {}
    default, anonymous = set(), set()
    for pindex, policy in enumerate(namespace.get("policies") or []):
        pvar = "%s.policies[%d]" % (variable, pindex)
        if not isinstance(policy, dict):
            _fail(pvar, "must be an object with subjects and actions")
        actions = _model_actions(policy.get("actions"), pvar + ".actions")
        for subject in policy.get("subjects") or []:
            if subject == "authenticated":
                default.update(actions)
            elif subject == "anonymous":
                anonymous.update(actions)
            elif not isinstance(subject, str) or not subject or subject == "group:":
                _fail(pvar + ".subjects", "invalid subject %r" % (subject,))
            elif subject.startswith("group:"):
                by_actions.setdefault(tuple(actions), (set(), set()))[1].add(subject[len("group:"):])
            elif subject in absent_users:
                continue
            else:
                by_actions.setdefault(tuple(actions), (set(), set()))[0].add(subject)
    if namespace.get("public"):
        anonymous.add("read")
    # Public (or an anonymous read) means anyone may pull, logged in or not. zot v2.1.20 applies
    # anonymousPolicy only to requests without a user and defaultPolicy only to requests with one
    # (pkg/api/authz.go, AccessController.isPermitted: `DefaultPolicy ... && username != ""`,
    # `AnonymousPolicy ... && username == ""`), so the read goes into defaultPolicy as well: otherwise a
    # client that ran `docker login` gets 403 where an anonymous one may pull.
    if "read" in anonymous:
        default.add("read")
    group = {}
    policies = []
    for actions in sorted(by_actions, key=lambda a: (len(a), a)):
        user_set, group_set = by_actions[actions]
        entry = {"users": sorted(user_set)}
        if group_set:
            entry["groups"] = sorted(group_set)
        entry["actions"] = list(actions)
        policies.append(entry)
    if policies:
        group["policies"] = policies
    group["defaultPolicy"] = [a for a in ZOT_ACTIONS if a in default]
    if anonymous:
        group["anonymousPolicy"] = [a for a in ZOT_ACTIONS if a in anonymous]
    return group


def model_actions(zot_actions):
    """zot actions back to the model's: read; create+update -> write; delete. (zot's
    create without update has no model equivalent and reads as write.)"""
    present = set(zot_actions or [])
    out = []
    if "read" in present:
        out.append("read")
    if present & {"create", "update"}:
        out.append("write")
    if "delete" in present:
        out.append("delete")
    return out


def model_policies(group):
    """(public, policies) of the model from a zot policy group: the inverse of namespace_group.
    An anonymous ``read`` is the namespace's ``public`` flag; other anonymous actions stay a policy."""
    policies = []
    group = group or {}
    default = model_actions(_get(group, "defaultPolicy"))
    if default:
        policies.append({"subjects": ["authenticated"], "actions": default})
    for entry in _get(group, "policies", default=[]) or []:
        subjects = list(_get(entry, "users") or []) + ["group:" + g for g in _get(entry, "groups") or []]
        actions = model_actions(_get(entry, "actions"))
        if subjects and actions:
            policies.append({"subjects": subjects, "actions": actions})
    anonymous = set(_get(group, "anonymousPolicy") or [])
    public = "read" in anonymous
    if public and policies and policies[0]["subjects"] == ["authenticated"] and policies[0]["actions"] == ["read"]:
        # The read every logged-in user gets in a public namespace (namespace_group): part of public.
        policies.pop(0)
    rest = model_actions(anonymous - {"read"})
    rest = [a for a in rest if a != "read"]
    if rest:
        policies.append({"subjects": ["anonymous"], "actions": rest})
    return public, policies


def access_control(namespaces, users, default_policy=None, anonymous_default=None,
                   metrics_users=None, metrics_anonymous=False, metrics_enabled=True):
    """zot's ``http.accessControl`` from the collection's access model.

    Every namespace gets two repository keys with the same policy group: ``<ns>`` and
    ``<ns>/**``. zot uses the longest glob that matches a repository, so a deeper
    namespace (``a/b/**``) wins over its parent (``a/**``) for its own repositories.
    Subjects: a user name -> ``policies[].users``; ``group:<g>`` -> ``policies[].groups``;
    ``authenticated`` -> ``defaultPolicy``; ``anonymous`` -> ``anonymousPolicy``;
    ``public: true`` adds ``read`` to ``anonymousPolicy`` and to ``defaultPolicy`` (anyone may pull,
    logged in or not; see namespace_group). Admin users -> ``adminPolicy``.
    """
    present = _present_users(users)
    names = {u["name"] for u in present}
    absent = {u["name"] for u in users or [] if u.get("state", "present") == "absent"}
    repositories = {}
    for index, namespace in enumerate(namespaces or []):
        variable = "zot_namespaces[%d]" % index
        if not isinstance(namespace, dict) or not isinstance(namespace.get("name"), str):
            _fail(variable, "each namespace needs a name")
        name = namespace["name"]
        if namespace.get("state", "present") == "absent":
            continue
        group = namespace_group(namespace, absent, variable)
        if name in repositories or name + "/**" in repositories:
            _fail(variable + ".name", "namespace %r is listed twice" % name)
        repositories[name] = group
        repositories[name + "/**"] = copy.deepcopy(group)
    if default_policy or anonymous_default:
        catch_all = {}
        if default_policy:
            catch_all["defaultPolicy"] = _model_actions(default_policy, "zot_access_default_policy")
        if anonymous_default:
            catch_all["anonymousPolicy"] = _model_actions(anonymous_default, "zot_access_anonymous_default")
        repositories["**"] = catch_all
    result = {}
    if repositories:
        result["repositories"] = repositories
    admins = sorted(u["name"] for u in present if u.get("admin"))
    if admins:
        result["adminPolicy"] = {"users": admins, "actions": list(ZOT_ACTIONS)}
    groups = {}
    for user in present:
        for group_name in user.get("groups") or []:
            groups.setdefault(group_name, set()).add(user["name"])
    if groups:
        result["groups"] = {g: {"users": sorted(members)} for g, members in sorted(groups.items())}
    metrics = {}
    # zot serves metrics only to metrics.users; admins are not implied (pkg/api/authz.go
    # MetricsAuthzHandler, v2.1.20). Every admin is added, so that the role's health check (which
    # reads metrics as the admin) and oci_user admin: true agree with the list.
    metrics_users = (set(metrics_users or []) | set(admins)) if metrics_enabled else set()
    metrics_users = [u for u in metrics_users if u in names or u not in absent]
    if metrics_users:
        metrics["users"] = sorted(metrics_users)
    if metrics_anonymous:
        metrics["anonymousPolicy"] = ["read"]
    if metrics:
        result["metrics"] = metrics
    return result


def namespace_retention_policy(namespace, delete_untagged=None, delete_referrers=None, variable="retention"):
    """The zot retention policy of one namespace, or None when it has no retention rule."""
    retention = namespace.get("retention")
    if retention is None:
        return None
    if not isinstance(retention, dict):
        _fail(variable, "must be null or an object with keep_tags and max_age_days")
    unknown = set(retention) - {"keep_tags", "max_age_days"}
    if unknown:
        _fail(variable, "unknown keys %s; valid: keep_tags, max_age_days" % ", ".join(sorted(unknown)))
    rule = {}
    keep, age = retention.get("keep_tags"), retention.get("max_age_days")
    for key, value in (("keep_tags", keep), ("max_age_days", age)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            _fail("%s.%s" % (variable, key), "must be a positive integer or null, got %r" % (value,))
    if keep is not None:
        rule["mostRecentlyPushedCount"] = keep
    if age is not None:
        rule["pushedWithin"] = hours(age)
    if not rule:
        return None
    policy = {"repositories": [namespace["name"], namespace["name"] + "/**"]}
    if delete_referrers is not None:
        policy["deleteReferrers"] = delete_referrers
    if delete_untagged is not None:
        policy["deleteUntagged"] = delete_untagged
    policy["keepTags"] = [rule]
    return policy


def model_retention(policy):
    """{keep_tags, max_age_days} from a namespace's zot retention policy (None when it keeps all)."""
    for rule in _get(policy, "keepTags", default=[]) or []:
        keep = _get(rule, "mostRecentlyPushedCount")
        within = _duration_ns(_get(rule, "pushedWithin"))
        if keep or within:
            return {"keep_tags": keep or None,
                    "max_age_days": (within // (24 * 3600 * 10 ** 9)) if within else None}
    return None


def retention_policies(namespaces, delete_untagged=None, delete_referrers=None):
    """zot retention policies from each namespace's ``retention``.

    keep_tags -> keepTags[].mostRecentlyPushedCount; max_age_days -> keepTags[].pushedWithin
    ("<days*24>h"). Both in one keepTags entry: zot keeps a tag that meets either rule.
    zot applies the FIRST policy whose globs match, so deeper namespaces come first, and a
    namespace without retention under one with retention gets a keep-everything policy.
    """
    entries = []
    with_retention = []
    for index, namespace in enumerate(namespaces or []):
        if namespace.get("state", "present") == "absent":
            continue
        policy = namespace_retention_policy(namespace, delete_untagged, delete_referrers,
                                            "zot_namespaces[%d].retention" % index)
        if policy is None:
            continue
        with_retention.append(namespace["name"])
        entries.append((namespace["name"], policy))
    for namespace in namespaces or []:
        name = namespace.get("name")
        if namespace.get("state", "present") == "absent" or name in with_retention:
            continue
        if any(name.startswith(parent + "/") for parent in with_retention):
            entries.append((name, {"repositories": [name, name + "/**"], "deleteUntagged": False,
                                   "keepTags": [{"patterns": [".*"]}]}))
    if delete_untagged is False:
        entries.append(("**", untagged_guard_policy()))
    return sort_retention_policies([policy for _name, policy in entries])


def untagged_guard_policy():
    """The last retention policy when untagged manifests must be kept everywhere: zot deletes untagged
    manifests of a repository that no policy matches (pkg/retention/retention.go HasDeleteUntagged,
    v2.1.20: "by default zot deletes untagged manifests"), so ``deleteUntagged: false`` on the
    namespaces' own policies alone leaves every other repository unprotected."""
    return {"repositories": ["**"], "deleteUntagged": False, "keepTags": [{"patterns": [".*"]}]}


def is_untagged_guard(policy):
    return isinstance(policy, dict) and list(policy.get("repositories") or []) == ["**"] \
        and policy.get("deleteUntagged") is False and policy.get("keepTags") == [{"patterns": [".*"]}]


def has_namespace_retention(policies):
    """Whether any policy removes tags by a rule (keep counts or ages), as opposed to keep-everything ones."""
    for policy in policies or []:
        for rule in _get(policy, "keepTags", default=[]) or []:
            if any(_get(rule, key) not in (None, 0) for key in KEEP_RULES):
                return True
    return False


def sort_retention_policies(policies):
    """zot applies the first retention policy that matches: namespace policies (``ns``, ``ns/**``)
    deepest first, then by name; any other policy keeps its place after them."""
    def key(item):
        index, policy = item
        repositories = list(policy.get("repositories") or [])
        if len(repositories) == 2 and repositories[1] == str(repositories[0]) + "/**":
            return (0, -str(repositories[0]).count("/"), str(repositories[0]), index)
        return (1, 0, "", index)
    return [policy for _index, policy in sorted(enumerate(policies), key=key)]


def sync_config(registries, variable="zot_sync_registries"):
    """zot's sync registries and the separate credentials file from ``zot_sync_registries``.

    Returns (registries for config.json, credentials dict for credentialsFile). The
    credentials file maps each URL without its scheme to {username, password}: it is the
    only place passwords go.
    """
    out, credentials = [], {}
    for index, registry in enumerate(registries or []):
        rvar = "%s[%d]" % (variable, index)
        if not isinstance(registry, dict):
            _fail(rvar, "must be an object")
        unknown = set(registry) - set(_SYNC_REGISTRY_KEYS)
        if unknown:
            _fail(rvar, "unknown keys %s; valid: %s" % (", ".join(sorted(unknown)), ", ".join(sorted(_SYNC_REGISTRY_KEYS))))
        urls = registry.get("urls")
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) and u for u in urls):
            _fail(rvar + ".urls", "must be a non-empty list of registry URLs")
        entry = {}
        for key, zot_key in _SYNC_REGISTRY_KEYS.items():
            if zot_key is None or key == "content" or registry.get(key) is None:
                continue
            entry[zot_key] = registry[key]
        if registry.get("content") is not None:
            contents = []
            for cindex, content in enumerate(registry["content"]):
                cvar = "%s.content[%d]" % (rvar, cindex)
                if not isinstance(content, dict) or not content.get("prefix"):
                    _fail(cvar, "each content entry needs a prefix")
                unknown = set(content) - set(_SYNC_CONTENT_KEYS)
                if unknown:
                    _fail(cvar, "unknown keys %s; valid: %s" % (", ".join(sorted(unknown)), ", ".join(sorted(_SYNC_CONTENT_KEYS))))
                item = {}
                for key, zot_key in _SYNC_CONTENT_KEYS.items():
                    if key == "tags" or content.get(key) is None:
                        continue
                    item[zot_key] = content[key]
                if content.get("tags") is not None:
                    tags = content["tags"]
                    unknown = set(tags) - set(_SYNC_TAG_KEYS) if isinstance(tags, dict) else {"?"}
                    if unknown:
                        _fail(cvar + ".tags", "must be an object with %s" % ", ".join(sorted(_SYNC_TAG_KEYS)))
                    item["tags"] = {_SYNC_TAG_KEYS[k]: v for k, v in tags.items() if v is not None}
                contents.append(item)
            entry["content"] = contents
        username, password = registry.get("username"), registry.get("password")
        if (username is None) != (password is None):
            _fail(rvar, "username and password go together")
        if username is not None:
            for url in urls:
                credentials[re.sub(r"^https?://", "", url)] = {"username": username, "password": password}
        out.append(entry)
    return out, credentials


WEBHOOK_KEYS = ("name", "url", "headers", "events", "timeout")


def event_sinks(webhooks, variable="zot_webhooks"):
    """zot's ``extensions.events.sinks`` from the collection's webhooks ``[{name, url, headers, events}]``.

    Each webhook becomes an HTTP sink (pkg/extensions/config/events/config.go: type, address, timeout,
    headers; pkg/extensions/events/http_sink.go sends CloudEvents to the address with those headers).
    zot sends every event to every sink (it has no per-sink event filter), so ``events`` is accepted
    for the other types' sake and not rendered; the name only has to be unique.
    """
    sinks, names = [], set()
    if not isinstance(webhooks, list):
        _fail(variable, "must be a list of {name, url, headers, events}")
    for index, hook in enumerate(webhooks):
        hvar = "%s[%d]" % (variable, index)
        if not isinstance(hook, dict):
            _fail(hvar, "must be an object with name, url, headers and events")
        unknown = set(hook) - set(WEBHOOK_KEYS)
        if unknown:
            _fail(hvar, "unknown keys %s; valid: %s" % (", ".join(sorted(unknown)), ", ".join(WEBHOOK_KEYS)))
        name = hook.get("name")
        if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", name):
            _fail(hvar + ".name", "needs a name of letters, digits, '.', '_' or '-', got %r" % (name,))
        if name in names:
            _fail(hvar + ".name", "webhook %r is listed twice" % name)
        names.add(name)
        url = hook.get("url")
        if not isinstance(url, str) or not re.match(r"^https?://[^\s]+$", url):
            _fail(hvar + ".url", "must be an http:// or https:// URL, got %r" % (url,))
        headers = hook.get("headers") or {}
        if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
            _fail(hvar + ".headers", "must map header names to string values")
        sink = {"type": "http", "address": url}
        if headers:
            sink["headers"] = dict(headers)
        if hook.get("timeout") not in (None, ""):
            sink["timeout"] = hook["timeout"]
        sinks.append(sink)
    return sinks


def _deep_merge(base, extra, path, touched):
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value, path + [key], touched)
        else:
            base[key] = copy.deepcopy(value)
            touched.append(".".join(path + [key]))


# --------------------------------------------------------------------------------------
# Shared storage, remote cache and scale-out cluster (issue 17)
# --------------------------------------------------------------------------------------
# zot pkg/storage/storage.go NormalizeRootDirectory: an s3 rootdirectory that is empty or "/" becomes "/zot".
S3_DEFAULT_ROOT = "/zot"
REDIS_KEY_PREFIX = "zot"


def _bool(value, default):
    return default if value is None else bool(value)


def storage_driver(storage, variable="zot_storage"):
    """zot's ``storage.storageDriver`` for the collection's storage model (None for filesystem).

    The keys are the parameters distribution's s3-aws driver reads (registry/storage/driver/s3-aws/s3.go
    FromParameters: region, regionendpoint, forcepathstyle, bucket, secure, skipverify, chunksize,
    rootdirectory), as in zot's own examples/config-s3.json. The credentials are NOT put here: with no
    accesskey/secretkey the driver leaves the AWS SDK's default chain in place (s3.go New), which reads
    AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_CA_BUNDLE for ca_path) from the container's
    environment: see ``storage_environment``.
    """
    if not storage:
        return None
    if not isinstance(storage, dict):
        _fail(variable, "must be the storage model, such as {type: filesystem} or {type: s3, s3: {bucket: ...}}")
    kind = storage.get("type") or "filesystem"
    if kind == "filesystem":
        return None
    if kind != "s3":
        _fail(variable + ".type", "%r is not a storage type zot is deployed with here; valid: filesystem, s3" % (kind,))
    s3 = storage.get("s3") or {}
    if not isinstance(s3, dict):
        _fail(variable + ".s3", "must be a dict with bucket, endpoint, region, access_key, secret_key, ...")
    bucket = s3.get("bucket")
    if not isinstance(bucket, str) or not bucket:
        _fail(variable + ".s3.bucket", "is required with type s3 (the name of an existing bucket)")
    endpoint = s3.get("endpoint") or ""
    match = re.match(r"^(https?)://[^\s/]+(/.*)?$", endpoint) if isinstance(endpoint, str) else None
    if endpoint and not match:
        _fail(variable + ".s3.endpoint", "must be an http:// or https:// URL such as http://rgw.example:7480, "
                                         "or empty for AWS")
    region = s3.get("region") or "us-east-1"
    chunk = s3.get("chunk_size_mb", 10)
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk * MIB < S3_MIN_CHUNK \
            or chunk * MIB > S3_MAX_CHUNK:
        _fail(variable + ".s3.chunk_size_mb", "must be an integer from 5 to 5120 (MiB; S3 parts are 5 MiB to "
                                              "5 GiB), got %r" % (chunk,))
    root = s3.get("root_directory") or ""
    if not isinstance(root, str):
        _fail(variable + ".s3.root_directory", "must be a path inside the bucket such as /registry, or empty")
    root = "/" + root.strip("/") if root.strip("/") else S3_DEFAULT_ROOT
    driver = {
        "name": "s3",
        "region": region,
        "bucket": bucket,
        "rootdirectory": root,
        "forcepathstyle": _bool(s3.get("path_style"), True),
        "secure": (match.group(1) == "https") if match else True,
        "skipverify": not _bool(s3.get("tls_verify"), True),
        "chunksize": chunk * MIB,
    }
    if endpoint:
        driver["regionendpoint"] = endpoint
    return driver


def storage_environment(storage, ca_bundle=""):
    """The container environment that gives zot's s3 driver its credentials and CA (secret: no_log).

    ``ca_bundle`` is where the role mounts ``s3.ca_path`` in the container. The AWS SDK for Go (v1, used by
    distribution's s3-aws driver) reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_CA_BUNDLE when
    the driver is given no static credentials (distribution PR #3841 documents AWS_CA_BUNDLE for this driver).
    """
    if not isinstance(storage, dict) or (storage.get("type") or "filesystem") != "s3":
        return {}
    s3 = storage.get("s3") or {}
    env = {}
    if bool(s3.get("access_key")) != bool(s3.get("secret_key")):
        _fail("zot_storage.s3.access_key", "access_key and secret_key go together (both empty: the AWS SDK's "
                                           "own chain, such as an instance role)")
    if s3.get("access_key"):
        env["AWS_ACCESS_KEY_ID"] = str(s3["access_key"])
        env["AWS_SECRET_ACCESS_KEY"] = str(s3["secret_key"])
    if s3.get("ca_path") and ca_bundle:
        env["AWS_CA_BUNDLE"] = ca_bundle
    return env


def cache_driver(redis, variable="zot_redis"):
    """zot's ``storage.cacheDriver`` for a Redis {address, password, db, tls} (None without one).

    zot v2.1.20 pkg/api/config/redis/redis.go GetRedisClient: a ``url`` is parsed by go-redis ParseURL
    (redis://[user:password@]host:port/db, rediss:// for TLS); pkg/storage/cache.go getRedisParams and
    pkg/storage/cache/redis.go: ``keyprefix`` (default "zot") prefixes every key. The URL holds the
    password: config.json is written 0600 then.
    """
    if not redis:
        return None
    if not isinstance(redis, dict):
        _fail(variable, "must be {address, password, db, tls} or empty")
    address = redis.get("address")
    if not isinstance(address, str) or not _socket_ok(address):
        _fail(variable + ".address", "must be host:port such as redis.example:6379")
    db = redis.get("db", 0) or 0
    if isinstance(db, bool) or not isinstance(db, int) or db < 0:
        _fail(variable + ".db", "must be a Redis database number (0 or more), got %r" % (db,))
    password = redis.get("password") or ""
    if not isinstance(password, str):
        _fail(variable + ".password", "must be a string (its value is not shown)")
    scheme = "rediss" if redis.get("tls") else "redis"
    credentials = (":" + quote(password, safe="") + "@") if password else ""
    return {"name": "redis", "url": "%s://%s%s/%d" % (scheme, credentials, address, db), "keyprefix": REDIS_KEY_PREFIX}


def _shared_storage(storage, opt):
    driver = storage_driver(opt["storage"])
    cache = cache_driver(opt["redis"])
    if driver:
        if cache is None:
            # pkg/cli/server/root.go applyDefaultValues + validateCacheConfig: dedupe on a remote driver needs a
            # remote cache; and without one the metaDB stays a boltdb file on each host (pkg/meta/meta.go New).
            _fail("zot_redis", "zot on s3 storage needs a remote cache (Redis) for its dedupe cache and metadata; "
                               "give {address, password, db, tls} (oci_registry_redis.mode: auto, deploy or external)")
        storage["storageDriver"] = driver
        if isinstance(opt["storage"].get("s3"), dict) and opt["storage"]["s3"].get("redirect"):
            storage["redirectBlobURL"] = True
    if cache:
        storage["remoteCache"] = True
        storage["cacheDriver"] = cache


def cluster_config(members, hash_key, cacert=None):
    """zot's ``cluster`` section for a scale-out cluster, or None for a single host.

    zot v2.1.20 pkg/api/config/config.go ClusterConfig (members, hashKey, tls) and IsClustered (more than one
    member); pkg/cli/server/root.go validateClusterConfig (at least one member, a 16-character hashKey:
    siphash's 128-bit key); pkg/api/proxy.go: each repository belongs to the member chosen by siphash over
    the members' list, the others proxy to it (with tls.cacert to verify it when zot serves TLS).
    """
    if members is None:
        return None
    if not isinstance(members, (list, tuple)) or not all(isinstance(m, str) for m in members):
        _fail("zot_cluster_members", "must be a list of host:port strings")
    if len(members) < 2:
        return None
    for index, member in enumerate(members):
        if not _socket_ok(member):
            _fail("zot_cluster_members[%d]" % index, "%r is not host:port (zot splits each member with "
                                                     "net.SplitHostPort)" % member)
    if len(set(members)) != len(members):
        _fail("zot_cluster_members", "lists a member twice")
    if not isinstance(hash_key, str) or len(hash_key.encode("utf-8")) != CLUSTER_HASH_KEY_LENGTH:
        _fail("zot_cluster_hash_key", "must be exactly %d characters (bytes): zot's siphash needs a 128-bit key "
                                      "(its value is not shown)" % CLUSTER_HASH_KEY_LENGTH)
    cluster = {"members": list(members), "hashKey": hash_key}
    if cacert:
        cluster["tls"] = {"cacert": cacert}
    return cluster


def generate(options):
    """(config dict, sync credentials dict, warnings) from structured options.

    ``options`` holds the role variables without the ``zot_`` prefix; a missing or null
    option leaves its key out of the config (zot's own default applies). The result is
    checked with ``check``; problems raise ZotConfigError naming the role variable.
    """
    unknown = sorted(set(options) - set(OPTION_NAMES))
    if unknown:
        raise ZotConfigError(["zot_%s: not an option of the zot role's config generator" % name for name in unknown])
    opt = {name: options.get(name) for name in OPTION_NAMES}
    config = {"distSpecVersion": opt["dist_spec_version"] or DIST_SPEC_VERSION}

    storage = {}
    _set(storage, "rootDirectory", opt["root_directory"])
    for key, name in (("dedupe", "dedupe"), ("gc", "gc"), ("gcDelay", "gc_delay"), ("gcInterval", "gc_interval"),
                      ("gcTimeWindow", "gc_time_window")):
        _set(storage, key, opt[name])
    if opt["max_repos"]:
        storage["maxRepos"] = opt["max_repos"]
    if opt["retention_enabled"] or opt["retention_delete_untagged"] is False:
        if opt["retention_enabled"]:
            policies = retention_policies(opt["namespaces"], opt["retention_delete_untagged"],
                                          opt["retention_delete_referrers"])
        else:
            policies = [untagged_guard_policy()]
        problem = gc_retention_problem(opt["gc"], has_namespace_retention(policies))
        if problem:
            _fail("zot_gc", problem + " (zot_gc: true, or zot_retention_enabled: false)")
        # Written even without policies yet: namespaces added later (oci_namespace) only add
        # policies, and delay/dryRun stay what the role says.
        retention = {}
        _set(retention, "dryRun", opt["retention_dry_run"])
        _set(retention, "delay", opt["retention_delay"])
        retention["policies"] = policies
        storage["retention"] = retention
    _shared_storage(storage, opt)
    config["storage"] = storage

    http = {}
    _set(http, "address", opt["http_address"])
    port = opt["http_port"]
    if port is not None:
        if isinstance(port, bool) or not (isinstance(port, int) or (isinstance(port, str) and port.isdigit())):
            _fail("zot_http_port", "must be a port number 1-65535, got %r" % (port,))
        if not 0 < int(port) <= 65535:
            _fail("zot_http_port", "must be a port number 1-65535, got %r" % (port,))
        http["port"] = str(int(port))
    _set(http, "realm", opt["realm"])
    _set(http, "externalUrl", opt["external_url"])
    _set(http, "allowOrigin", opt["allow_origin"])
    if opt["http_compat"]:
        http["compat"] = list(opt["http_compat"])
    if opt["tls_cert"] or opt["tls_key"] or opt["tls_cacert"]:
        if not (opt["tls_cert"] and opt["tls_key"]):
            _fail("zot_tls_cert", "TLS needs both zot_tls_cert and zot_tls_key")
        tls = {"cert": opt["tls_cert"], "key": opt["tls_key"]}
        _set(tls, "cacert", opt["tls_cacert"])
        http["tls"] = tls
    auth = {}
    if opt["htpasswd_path"]:
        auth["htpasswd"] = {"path": opt["htpasswd_path"]}
    if opt["fail_delay"]:
        auth["failDelay"] = opt["fail_delay"]
    if auth:
        http["auth"] = auth
    if opt["access_control"]:
        access = access_control(opt["namespaces"], opt["users"], opt["access_default_policy"],
                                opt["access_anonymous_default"],
                                opt["metrics_users"], bool(opt["metrics_enabled"] and opt["metrics_anonymous"]),
                                bool(opt["metrics_enabled"]))
        if access:
            http["accessControl"] = access
    if opt["ratelimit_rate"] is not None or opt["ratelimit_methods"]:
        ratelimit = {}
        _set(ratelimit, "rate", opt["ratelimit_rate"])
        if opt["ratelimit_methods"]:
            ratelimit["methods"] = [dict(m) for m in opt["ratelimit_methods"]]
        http["ratelimit"] = ratelimit
    config["http"] = http
    cluster = cluster_config(opt["cluster_members"], opt["cluster_hash_key"], opt["cluster_tls_cacert"])
    if cluster:
        config["cluster"] = cluster

    log = {}
    _set(log, "level", opt["log_level"])
    _set(log, "output", opt["log_output"])
    _set(log, "audit", opt["log_audit"])
    if log:
        config["log"] = log

    extensions = {}
    if opt["search_enabled"]:
        search = {"enable": True}
        if opt["cve_enabled"]:
            cve = {}
            _set(cve, "updateInterval", opt["cve_update_interval"])
            trivy = {}
            _set(trivy, "dbRepository", opt["cve_db_repository"])
            _set(trivy, "javaDBRepository", opt["cve_java_db_repository"])
            if trivy:
                cve["trivy"] = trivy
            search["cve"] = cve
        extensions["search"] = search
    elif opt["cve_enabled"]:
        _fail("zot_cve_enabled", "CVE scanning is part of the search extension: set zot_search_enabled: true")
    credentials = {}
    # zot_mirrors / zot_replications (issue 16) are sync registries too: rendered by _zot_sync, merged with
    # zot_sync_registries' (duplicates and one host with two sets of credentials are errors naming both).
    from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_sync as zs

    model_errors, model_warnings = zs.model_checks(namespaces=opt["namespaces"] or [],
                                                   cve_enabled=bool(opt["search_enabled"] and opt["cve_enabled"]))
    model_errors = [e.replace("oci_registry_namespaces", "zot_namespaces") for e in model_errors]
    model_warnings = [w.replace("oci_registry_namespaces", "zot_namespaces") for w in model_warnings]
    if opt["mirrors"] or opt["replications"]:
        _errors, more_warnings = zs.model_checks(opt["mirrors"] or [], opt["replications"] or [])
        model_warnings += [w.replace("oci_registry_mirrors", zs.MIRROR_VARIABLE) for w in more_warnings]
    if model_errors:
        raise ZotConfigError(model_errors)
    if opt["sync_enabled"] or zs.has_entries(opt["mirrors"], opt["replications"]):
        registries, credentials = sync_config(opt["sync_registries"] if opt["sync_enabled"] else [])
        try:
            registries, credentials = zs.merge(registries, credentials, opt["mirrors"] or [], opt["replications"] or [])
        except zs.ZotSyncError as exc:
            raise ZotConfigError(exc.problems)
        sync = {"enable": True}
        _set(sync, "credentialsFile", opt["sync_credentials_file"])
        _set(sync, "downloadDir", opt["sync_download_dir"])
        sync["registries"] = registries
        if credentials and not opt["sync_credentials_file"]:
            _fail("zot_sync_credentials_file", "sync registries with credentials need a credentials file path")
        extensions["sync"] = sync
    if opt["metrics_enabled"]:
        extensions["metrics"] = {"enable": True, "prometheus": {"path": opt["metrics_path"] or "/metrics"}}
    if opt["scrub_enabled"]:
        scrub = {"enable": True}
        _set(scrub, "interval", opt["scrub_interval"])
        extensions["scrub"] = scrub
    if opt["lint_enabled"]:
        lint = {"enable": True}
        if opt["lint_mandatory_annotations"]:
            lint["mandatoryAnnotations"] = list(opt["lint_mandatory_annotations"])
        extensions["lint"] = lint
    if opt["ui_enabled"]:
        extensions["ui"] = {"enable": True}
    if opt["webhooks"]:
        extensions["events"] = {"enable": True, "sinks": event_sinks(opt["webhooks"])}
    if extensions:
        config["extensions"] = extensions

    touched = []
    if opt["config_overrides"]:
        if not isinstance(opt["config_overrides"], dict):
            _fail("zot_config_overrides", "must be an object (merged into config.json)")
        _deep_merge(config, opt["config_overrides"], [], touched)

    warnings = validate(config, VARIABLES, touched)
    return config, credentials, model_warnings + warnings


def render(config):
    """The config as the JSON text the role writes (stable: sorted keys, 2-space indent)."""
    return json.dumps(config, indent=2, sort_keys=True) + "\n"
