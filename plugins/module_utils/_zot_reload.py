# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""Zot configuration changes: reload in place or restart (pure Python).

* ``normalise(config)`` makes zot's load-time defaults explicit (canonical key spelling, Go's
  canonical durations, extensions present without ``enable``, the metrics path), for comparisons.
* ``classify_change(old, new)`` says whether zot picks a change up from an in-place write
  of its config file (``reload``) or needs a restart (``restart``), and why.

What zot v2.1.20 re-applies on an in-place write comes from its source, cited at the table below
(pkg/cli/server/config_reloader.go, pkg/api/controller.go LoadNewConfig, pkg/api/config/config.go
UpdateReloadableConfig; what is wired at start: pkg/api/controller.go InitImageStore, pkg/api/routes.go
and pkg/extensions/extension_search.go). The key tree and the durations are _zot_schema's. No zot code
is copied here.
"""

from __future__ import annotations

import copy

from ansible_collections.provisioning.oci_registry.plugins.module_utils._zot_schema import (
    ANY,
    DIST_SPEC_VERSION,
    DURATION,
    KEEP_RULES,
    SCHEMA,
    ListOf,
    MapOf,
    _duration_ns,
    _get,
    extension_enabled,
    format_duration,
)


# --------------------------------------------------------------------------------------
# Normalisation (zot's defaults) and the reload/restart classifier
# --------------------------------------------------------------------------------------
_DURATION_PATHS = None


def _duration_paths(spec=None, path=()):
    out = set()
    spec = SCHEMA if spec is None else spec
    if isinstance(spec, dict):
        for key, sub in spec.items():
            out |= _duration_paths(sub, path + (key.lower(),))
    elif isinstance(spec, (ListOf, MapOf)):
        out |= _duration_paths(spec.item, path + ("*",))
    elif spec == DURATION:
        out.add(path)
    return out


def _canonical_keys(value, spec):
    """Keys spelled as zot's model spells them (zot reads keys case-insensitively)."""
    if isinstance(spec, dict) and isinstance(value, dict):
        names = {k.lower(): k for k in spec}
        return {names.get(str(k).lower(), k): _canonical_keys(v, spec.get(names.get(str(k).lower(), k), ANY))
                for k, v in value.items()}
    if isinstance(spec, ListOf) and isinstance(value, list):
        return [_canonical_keys(v, spec.item) for v in value]
    if isinstance(spec, MapOf) and isinstance(value, dict):
        return {k: _canonical_keys(v, spec.item) for k, v in value.items()}
    if spec == DURATION and isinstance(value, str):
        ns = _duration_ns(value)
        return format_duration(ns) if ns is not None else value
    return copy.deepcopy(value)


def normalise(config):
    """The config with zot's load-time defaults made explicit, for comparisons.

    Canonical key spelling, durations in Go's canonical form ("24h" -> "24h0m0s"), an
    extension present without ``enable`` counts as enabled (sync: when it has registries),
    metrics get their default path, a missing ``distSpecVersion`` is zot's.
    """
    out = _canonical_keys(config, SCHEMA)
    out.setdefault("distSpecVersion", DIST_SPEC_VERSION)
    extensions = out.get("extensions")
    if isinstance(extensions, dict):
        for name, ext in list(extensions.items()):
            if not isinstance(ext, dict):
                continue
            if "enable" not in ext:
                ext["enable"] = bool(ext.get("registries")) if name == "sync" else True
            if name == "metrics" and ext["enable"]:
                ext.setdefault("prometheus", {}).setdefault("path", "/metrics")
            if name == "scrub" and ext["enable"]:
                ext.setdefault("interval", "24h0m0s")
    return out


def _flatten(value, path=(), out=None):
    out = {} if out is None else out
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flatten(item, path + (key,), out)
    else:
        out[path] = value
    return out


def retention_enabled(config):
    """zot only reloads retention when it started with retention rules (it needs its metaDB)."""
    stores = [_get(config, "storage", default={}) or {}]
    stores += list((_get(config, "storage", "subPaths", default={}) or {}).values())
    for store in stores:
        for policy in _get(store, "retention", "policies", default=[]) or []:
            for rule in _get(policy, "keepTags", default=[]) or []:
                if any(_get(rule, key) not in (None, 0) for key in KEEP_RULES):
                    return True
            untagged = _get(policy, "keepUntagged")
            if isinstance(untagged, dict) and _get(policy, "deleteUntagged") is not False:
                if any(_get(untagged, key) not in (None, 0) for key in KEEP_RULES):
                    return True
    return False


# What zot v2.1.20 re-applies when config.json is written in place: pkg/cli/server/config_reloader.go
# (HotReloader: on an fsnotify Write it loads the file, stops the background tasks, calls
# Controller.LoadNewConfig and starts the tasks again), pkg/api/controller.go LoadNewConfig and
# pkg/api/config/config.go Config.UpdateReloadableConfig (the fields it copies):
# - storage (and existing subPaths): gc, gcDelay, gcInterval, gcTimeWindow, redirectBlobURL; retention
#   only when retention was on at start (isRetentionEnabledInternal: it needs the metaDB).
#   dedupe is copied into the config but the image store was built with it at start
#   (pkg/api/controller.go InitImageStore -> pkg/storage/storage.go New passes Storage.Dedupe to the
#   store), so a dedupe change needs a restart.
# - http.auth: htpasswd, ldap, apikey, openid, secureSession, mtls (when auth exists before and after).
# - http.accessControl: repositories, adminPolicy, metrics, groups.
# - extensions: sync and scrub; search.cve is copied, but the search routes were wired at start with the
#   CVE info of that time (pkg/api/routes.go -> pkg/extensions/extension_search.go SetupSearchRoutes builds
#   cveInfo only when IsCveScanningEnabled), so turning CVE on or off, or changing its settings, needs a
#   restart. Everything else (metrics, events, lint, ui, log, http address/port/tls...) is read at start.
_RELOAD_STORAGE_KEYS = ("gc", "gcDelay", "gcInterval", "gcTimeWindow", "redirectBlobURL")
_RELOAD_AUTH_KEYS = ("htpasswd", "ldap", "apikey", "openid", "secureSession", "mtls")


def _basic_authn(config):
    auth = _get(config, "http", "auth", default={}) or {}
    providers = _get(auth, "openid", "providers", default={}) or {}
    return bool(_get(auth, "htpasswd", "path") or _get(auth, "ldap") is not None or _get(auth, "apikey") is True
                or providers)


def _reason_for(path, old, new):
    """'reload' with a reason when zot re-reads this path on an in-place write, else 'restart'."""
    head = path[0] if path else ""
    if head == "storage":
        if len(path) >= 2 and path[1] in _RELOAD_STORAGE_KEYS:
            return "reload", "storage.%s is re-read on reload" % path[1]
        if len(path) >= 2 and path[1] == "retention":
            if retention_enabled(old):
                return "reload", "storage.retention is re-read (retention was on at start)"
            return "restart", "storage.retention: zot only reloads retention that was on when it started"
        if len(path) >= 4 and path[1] == "subPaths":
            name = path[2]
            if name in (_get(old, "storage", "subPaths", default={}) or {}) and \
                    name in (_get(new, "storage", "subPaths", default={}) or {}):
                if path[3] in _RELOAD_STORAGE_KEYS:
                    return "reload", "storage.subPaths.%s.%s is re-read on reload" % (name, path[3])
                if path[3] == "retention" and retention_enabled(old):
                    return "reload", "storage.subPaths.%s.retention is re-read on reload" % name
        if len(path) >= 2 and path[1] == "dedupe":
            return "restart", "storage.dedupe: zot builds its image store with it at start"
        return "restart", "%s is only read at start" % ".".join(map(str, path))
    if head == "http" and len(path) >= 2:
        if path[1] == "auth":
            if _basic_authn(old) != _basic_authn(new):
                return "restart", "turning authentication on or off changes zot's routes (read at start)"
            if len(path) >= 3 and path[2] in _RELOAD_AUTH_KEYS:
                return "reload", "http.auth.%s is re-read on reload" % path[2]
            return "restart", "%s is only read at start" % ".".join(map(str, path))
        if path[1] == "accessControl":
            if (_get(old, "http", "accessControl") is None) != (_get(new, "http", "accessControl") is None):
                return "restart", "turning access control on or off changes zot's routes (read at start)"
            return "reload", "http.accessControl is re-read on reload"
    if head == "extensions" and len(path) >= 2:
        name = path[1]
        if extension_enabled(old, name) != extension_enabled(new, name):
            return "restart", "turning the %s extension on or off needs a restart" % name
        if name in ("sync", "scrub") and extension_enabled(old, name):
            return "reload", "extensions.%s is re-read on reload" % name
        if name == "search" and len(path) >= 3 and path[2] == "cve":
            return "restart", ("extensions.search.cve: zot wires CVE scanning into search at start "
                               "(turning it on or off, or changing it, needs a restart)")
        return "restart", "%s is only read at start" % ".".join(map(str, path))
    return "restart", "%s is only read at start" % ".".join(map(str, path))


def classify_change(old, new):
    """How zot takes the change from ``old`` to ``new``.

    Returns {"action": "none"|"reload"|"restart", "reasons": [...], "changed": [...]}.
    ``none``: same after zot's defaults; ``reload``: every change is one zot re-reads
    when the file is written in place; ``restart``: anything else, or no old config.
    """
    if not old:
        return {"action": "restart", "reasons": ["no running configuration to compare with"], "changed": []}
    old_n, new_n = normalise(old), normalise(new)
    flat_old, flat_new = _flatten(old_n), _flatten(new_n)
    changed = sorted({p for p in set(flat_old) | set(flat_new) if flat_old.get(p, _MISSING) != flat_new.get(p, _MISSING)},
                     key=lambda p: [str(x) for x in p])
    if not changed:
        return {"action": "none", "reasons": [], "changed": []}
    action, reasons = "reload", []
    for path in changed:
        kind, reason = _reason_for(path, old_n, new_n)
        if kind == "restart":
            action = "restart"
        if reason not in reasons:
            reasons.append(reason)
    if action == "restart":
        reasons = [r for r in reasons if "re-read" not in r] or reasons
    return {"action": action, "reasons": reasons, "changed": [".".join(map(str, p)) for p in changed]}


_MISSING = object()
