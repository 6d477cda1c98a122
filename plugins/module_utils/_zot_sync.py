# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""Mirrors and replications on zot: its sync extension (pure Python, no zot code copied).

* ``model_checks(mirrors, replications, namespaces, cve_enabled)``: what zot cannot express of the
  collection's normalized mirrors, replications and namespace ``scan`` settings, as (errors, warnings),
  each message naming the entry (issue 16's per-type checks; _model.py's TYPE_CHECKS["zot"] calls it).
* ``sync_registries(mirrors, replications)``: the ``extensions.sync.registries`` entries and the
  credentials (host -> {username, password}) of ``zot_mirrors`` / ``zot_replications``.
* ``merge(...)``: those entries merged with ``zot_sync_registries``' (duplicates are an error naming
  both variables; one upstream host with two sets of credentials too: zot's credentials file has one
  entry per host).
* ``read_back(config, credentials, entries)``: the mirrors and replications a config.json holds (the
  names come from the entries file the role writes beside it; settings from config.json; usernames
  from the credentials file; passwords never).

What zot does with these settings, read in zot v2.1.20's source:
- pkg/extensions/config/sync/config.go: RegistryConfig{URLs, PollInterval, Content, TLSVerify, OnDemand,
  CertDir, MaxRetries, RetryDelay, ...}; Content{Prefix, Tags{Regex, ExcludeRegex, Semver}, Destination,
  StripPrefix}; CredentialsFile is a map from registry address to {Username, Password}.
- pkg/extensions/extension_sync.go EnableSyncExtension: a registry is synced periodically only when it
  has content AND a non-zero pollInterval; on demand when onDemand is true; a registry with neither is
  skipped without a word (the checker says so: see _zot_schema._check_sync).
- pkg/extensions/sync/content.go: prefix is a doublestar glob on the UPSTREAM repository name;
  getRepoDestination puts the repository under ``destination`` (``/ns`` -> ``ns/<repo>``; empty keeps
  the name); getRepoSource strips it again for on-demand pulls; tags.regex is a Go regexp on tag names.
- pkg/extensions/sync/utils.go getFileCredentials: the credentials file is JSON unmarshalled into that map.
- pkg/api/config/config.go UpdateReloadableConfig copies Extensions.Sync on a hot reload (the reload
  table in _zot_reload says a sync change reloads).
zot's sync only pulls (it has no push), never deletes what upstream deleted, and runs a periodic
registry on its poll interval (and when zot starts or reloads): it has no "run now" and no event trigger.
"""

from __future__ import annotations

import json
import re

MIRROR_VARIABLE = "zot_mirrors"
REPLICATION_VARIABLE = "zot_replications"
SYNC_VARIABLE = "zot_sync_registries"
# The role writes the entries (without passwords) here, beside config.json: zot's loader refuses unknown
# keys (pkg/cli/server/root.go LoadConfiguration: UnmarshalExact, then metaData.Unused is an error), so
# config.json cannot carry an entry's name.
ENTRIES_FILE = "sync-entries.json"
CREDENTIALS_FILE = "sync-credentials.json"

SEVERITIES = ("none", "low", "medium", "high", "critical")

_CRON_FIELD = re.compile(r"^[0-9]+$")


class ZotSyncError(ValueError):
    """Entries zot cannot take; ``problems`` lists every message."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def _label(variable, index, entry):
    name = entry.get("name") if isinstance(entry, dict) else None
    return "%s[%d]%s" % (variable, index, " (%s)" % name if name else "")


def schedule_interval(schedule):
    """The Go duration of a cron schedule that is a fixed interval, or None.

    Fixed intervals: "*/N * * * *" with N dividing 60 (every N minutes), "M */N * * *" with N dividing
    24 (every N hours), "M H * * *" (every day). Any other schedule has gaps of different lengths,
    which zot's single pollInterval cannot reproduce.
    """
    if not isinstance(schedule, str):
        return None
    fields = schedule.split()
    if len(fields) != 5 or fields[2:] != ["*", "*", "*"]:
        return None
    minute, hour = fields[0], fields[1]
    step = re.match(r"^\*/([0-9]+)$", minute)
    if step and hour == "*":
        n = int(step.group(1))
        if 0 < n < 60 and 60 % n == 0:
            return "%dm" % n
        return None
    if minute == "*" and hour == "*":
        return "1m"
    if not _CRON_FIELD.match(minute) or int(minute) > 59:
        return None
    step = re.match(r"^\*/([0-9]+)$", hour)
    if step:
        n = int(step.group(1))
        if 0 < n < 24 and 24 % n == 0:
            return "%dh" % n
        return None
    if _CRON_FIELD.match(hour) and int(hour) <= 23:
        return "24h"
    return None


def tag_regex(globs):
    """zot's tags.regex (a Go RE2 regexp, pkg/extensions/sync/content.go filterTagsByRegex) for tag globs,
    or None when every tag is wanted. Tags have no '/', so '*' is any run of characters and '?' one."""
    globs = list(globs or ["*"])
    if "*" in globs or "**" in globs:
        return None
    parts = []
    for glob in globs:
        out = []
        for char in glob:
            if char == "*":
                out.append(".*")
            elif char == "?":
                out.append(".")
            else:
                out.append(re.escape(char))
        parts.append("".join(out))
    return "^(?:%s)$" % "|".join(parts)


def _host(url):
    return re.sub(r"^https?://", "", url).rstrip("/")


def mirror_registry(mirror):
    """One mirror as a zot sync registry: on demand, each repository glob a content entry whose
    destination is the mirror's namespace (pulling <namespace>/<repo> fetches <repo> upstream)."""
    return {
        "urls": [mirror["url"]],
        "onDemand": True,
        "tlsVerify": bool(mirror.get("tls_verify", True)),
        "content": [{"prefix": glob, "destination": "/" + mirror["namespace"]}
                    for glob in (mirror.get("repositories") or ["**"])],
    }


def replication_registry(replication):
    """One pull replication as a zot sync registry: periodic (onDemand false, pollInterval from the
    schedule), each repository glob a content entry with the tag filter and the destination."""
    remote = replication.get("remote") or {}
    content = []
    regex = tag_regex(replication.get("tags"))
    for glob in replication.get("repositories") or ["**"]:
        item = {"prefix": glob}
        if replication.get("destination_namespace"):
            item["destination"] = "/" + replication["destination_namespace"]
        if regex is not None:
            item["tags"] = {"regex": regex}
        content.append(item)
    return {
        "urls": [remote["url"]],
        "onDemand": False,
        "pollInterval": schedule_interval(replication.get("schedule")),
        "tlsVerify": bool(remote.get("tls_verify", True)),
        "content": content,
    }


def model_checks(mirrors=None, replications=None, namespaces=None, cve_enabled=None):
    """(errors, warnings) for zot, each naming the entry. ``cve_enabled`` None: not known here
    (the role checks it against zot_cve_enabled)."""
    errors, warnings = [], []
    for index, mirror in enumerate(mirrors if isinstance(mirrors, list) else []):
        if not isinstance(mirror, dict) or mirror.get("state", "present") != "present":
            continue
        label = _label("oci_registry_mirrors", index, mirror)
        if mirror.get("ttl"):
            warnings.append("%s: zot cannot set how long a cached manifest is trusted; ttl %s is ignored "
                            "(zot's on-demand sync has no TTL)" % (label, mirror["ttl"]))
        if mirror.get("port"):
            warnings.append("%s: port is for Distribution's mirror containers; on zot the mirror is served on "
                            "zot's own port under /%s, port %s is ignored"
                            % (label, mirror.get("namespace"), mirror["port"]))
    for index, replication in enumerate(replications if isinstance(replications, list) else []):
        if not isinstance(replication, dict) or replication.get("state", "present") != "present":
            continue
        label = _label("oci_registry_replications", index, replication)
        if replication.get("direction") == "push":
            errors.append("%s: zot's sync extension only pulls; direction push cannot be expressed on zot "
                          "(replicate from the other registry, or use Distribution's oci_sync)" % label)
        trigger = replication.get("trigger", "manual")
        if trigger == "on_push":
            errors.append("%s: zot has no event-triggered sync; trigger on_push cannot be expressed on zot "
                          "(use trigger scheduled with an interval schedule)" % label)
        elif trigger == "manual":
            errors.append("%s: zot runs a replication only on its poll interval (and when zot starts or "
                          "reloads); trigger manual cannot be expressed on zot (use trigger scheduled with an "
                          "interval schedule such as \"*/30 * * * *\")" % label)
        elif trigger == "scheduled" and schedule_interval(replication.get("schedule")) is None:
            errors.append("%s: schedule %r is not a fixed interval; zot polls on one interval: use "
                          "\"*/N * * * *\" (N dividing 60), \"M */N * * *\" (N dividing 24) or \"M H * * *\""
                          % (label, replication.get("schedule")))
        if replication.get("deletions"):
            errors.append("%s: zot's sync never deletes what upstream deleted; deletions true cannot be "
                          "expressed on zot" % label)
    for index, namespace in enumerate(namespaces if isinstance(namespaces, list) else []):
        scan = namespace.get("scan") if isinstance(namespace, dict) else None
        if not scan or namespace.get("state", "present") != "present":
            continue
        label = _label("oci_registry_namespaces", index, namespace)
        if scan.get("on_push") and cve_enabled is False:
            errors.append("%s: scan.on_push needs zot's CVE scanning (extensions.search.cve): set "
                          "zot_cve_enabled: true" % label)
        if scan.get("block_severity", "none") not in (None, "none"):
            warnings.append("%s: zot cannot refuse pulls of vulnerable images; scan.block_severity %s is not "
                            "applied (use oci_scan with fail_on as a gate)" % (label, scan["block_severity"]))
    return errors, warnings


def entry_checks(kind, entry, where):
    """_model.TYPE_CHECKS["zot"]: the checks of ``model_checks`` on one normalized entry (``kind`` mirror,
    replication or namespace), each message naming ``where`` (e.g. ``oci_registry_mirrors[2] (name)``).
    Users have nothing to check on zot: both password_hash values are hashes zot verifies
    (pkg/api/htpasswd.go Authenticate: bcrypt, and $5$/$6$ SHA crypt)."""
    if kind == "user":
        return [], []
    variable = {"mirror": "mirrors", "replication": "replications", "namespace": "namespaces"}[kind]
    errors, warnings = model_checks(**{variable: [entry]})
    label = _label("oci_registry_" + variable, 0, entry)
    named = _label(where, 0, entry).replace(where + "[0]", where, 1)
    return ([m.replace(label, named, 1) for m in errors], [m.replace(label, named, 1) for m in warnings])


def _present(entries):
    return [(index, entry) for index, entry in enumerate(entries or [])
            if isinstance(entry, dict) and entry.get("state", "present") == "present"]


def has_entries(mirrors, replications):
    """Whether there is a present mirror or replication (or input the checks must see: not a list)."""
    if not isinstance(mirrors or [], list) or not isinstance(replications or [], list):
        return True
    if any(not isinstance(entry, dict) for entry in list(mirrors or []) + list(replications or [])):
        return True
    return bool(_present(mirrors) or _present(replications))


def _check_role_entries(mirrors, replications):
    """The role's own input checks (the role may be used without deploy.yml's model preflight)."""
    problems = []
    for variable, entries in ((MIRROR_VARIABLE, mirrors), (REPLICATION_VARIABLE, replications)):
        if not isinstance(entries, list):
            problems.append("%s: must be a list" % variable)
            continue
        names = {}
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                problems.append("%s[%d]: must be an object" % (variable, index))
                continue
            name = entry.get("name")
            if not isinstance(name, str) or not re.match(r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$", name):
                problems.append("%s[%d].name: lowercase letters, digits and '-', 1-32 characters, got %r"
                                % (variable, index, name))
            elif name in names:
                problems.append("%s[%d].name: %r is already %s[%d]" % (variable, index, name, variable, names[name]))
            else:
                names[name] = index
            url = (entry.get("remote") or {}).get("url") if variable == REPLICATION_VARIABLE else entry.get("url")
            if not isinstance(url, str) or not re.match(r"^https?://[^/\s]+/?$", url):
                problems.append("%s[%d]%s: must be an http:// or https:// URL without a path, got %r"
                                % (variable, index, ".remote.url" if variable == REPLICATION_VARIABLE else ".url", url))
            if variable == MIRROR_VARIABLE and not isinstance(entry.get("namespace"), str):
                problems.append("%s[%d].namespace: the local namespace the mirror appears under is required"
                                % (variable, index))
    if problems:
        return problems
    errors, _warnings = model_checks(mirrors, replications)
    return [e.replace("oci_registry_mirrors", MIRROR_VARIABLE).replace("oci_registry_replications", REPLICATION_VARIABLE)
            for e in errors]


def sync_registries(mirrors, replications):
    """(registries, credentials, sources) of ``zot_mirrors`` and ``zot_replications``: zot's sync registries,
    the credentials file's entries (host -> {username, password}) and, per registry, the variable entry
    it came from (``"zot_mirrors[0] (hub)"``). Raises ZotSyncError listing every problem."""
    problems = _check_role_entries(mirrors, replications)
    if problems:
        raise ZotSyncError(problems)
    registries, sources, credentials, owners = [], [], {}, {}
    for variable, entries, render in ((MIRROR_VARIABLE, mirrors, mirror_registry),
                                      (REPLICATION_VARIABLE, replications, replication_registry)):
        for index, entry in _present(entries):
            label = _label(variable, index, entry)
            registries.append(render(entry))
            sources.append(label)
            auth = entry.get("remote") if variable == REPLICATION_VARIABLE else entry
            username, password = auth.get("username"), auth.get("password")
            if (username is None) != (password is None):
                problems.append("%s: username and password go together" % label)
                continue
            if username is None:
                continue
            host = _host(auth["url"])
            wanted = {"username": username, "password": password}
            if host in credentials and credentials[host] != wanted:
                problems.append("%s and %s: two sets of credentials for %s; zot's credentials file holds one per "
                                "registry host" % (owners[host], label, host))
                continue
            credentials[host], owners[host] = wanted, label
    if problems:
        raise ZotSyncError(problems)
    return registries, credentials, sources


def _same_registry(a, b):
    keys = ("urls", "onDemand", "content")
    return all(json.dumps(a.get(k), sort_keys=True) == json.dumps(b.get(k), sort_keys=True) for k in keys) and \
        (a.get("pollInterval") or None) == (b.get("pollInterval") or None)


def merge(sync_registries_out, sync_credentials, mirrors, replications):
    """``zot_sync_registries``' rendered entries and credentials merged with ``zot_mirrors`` /
    ``zot_replications``'. Returns (registries, credentials). A mirror or replication that renders to
    the same registry (urls, onDemand, pollInterval, content) as a ``zot_sync_registries`` entry is
    listed twice: an error naming both; so is one host with different credentials."""
    registries, credentials, sources = sync_registries(mirrors, replications)
    problems = []
    for index, existing in enumerate(sync_registries_out):
        for registry, source in zip(registries, sources):
            if _same_registry(existing, registry):
                problems.append("%s[%d] and %s sync the same registry (%s) the same way; keep one of them"
                                % (SYNC_VARIABLE, index, source, ", ".join(registry["urls"])))
    merged = dict(sync_credentials or {})
    for host, value in credentials.items():
        if host in merged and merged[host] != value:
            owner = sources[[_host(r["urls"][0]) for r in registries].index(host)]
            problems.append("%s and %s: two sets of credentials for %s; zot's credentials file holds one per "
                            "registry host" % (SYNC_VARIABLE, owner, host))
        merged[host] = value
    if problems:
        raise ZotSyncError(problems)
    return list(sync_registries_out) + registries, merged


def entries_file(mirrors, replications):
    """The entries file's content: present entries without passwords (names and settings, for reading back)."""
    out = {"mirrors": [], "replications": []}
    for _index, mirror in _present(mirrors):
        item = {k: v for k, v in mirror.items() if k != "password"}
        item["password"] = None
        out["mirrors"].append(item)
    for _index, replication in _present(replications):
        item = {k: v for k, v in replication.items() if k != "remote"}
        item["remote"] = {k: v for k, v in (replication.get("remote") or {}).items() if k != "password"}
        item["remote"]["password"] = None
        out["replications"].append(item)
    return out


def _normalized_mirror(entry):
    return {"name": entry["name"], "url": entry["url"], "username": entry.get("username"), "password": None,
            "tls_verify": bool(entry.get("tls_verify", True)), "repositories": list(entry.get("repositories") or ["**"]),
            "namespace": entry["namespace"], "ttl": entry.get("ttl"), "port": entry.get("port"), "state": "present"}


def _normalized_replication(entry):
    remote = entry.get("remote") or {}
    return {"name": entry["name"], "direction": entry.get("direction", "pull"),
            "remote": {"url": remote["url"], "username": remote.get("username"), "password": None,
                       "tls_verify": bool(remote.get("tls_verify", True))},
            "repositories": list(entry.get("repositories") or ["**"]), "tags": list(entry.get("tags") or ["*"]),
            "destination_namespace": entry.get("destination_namespace"), "trigger": entry.get("trigger", "scheduled"),
            "schedule": entry.get("schedule"), "deletions": bool(entry.get("deletions")), "state": "present"}


def read_back(config, credentials, entries):
    """{"mirrors": {name: entry}, "replications": {name: entry}} that ``config`` (config.json) really holds:
    an entry of the entries file counts only when a sync registry of config.json is what it renders to
    and sync is on; its username is the credentials file's for its host (None without one); passwords
    are never returned."""
    out = {"mirrors": {}, "replications": {}}
    sync = ((config or {}).get("extensions") or {}).get("sync") or {}
    if sync.get("enable") is False:
        return out
    live = [r for r in sync.get("registries") or [] if isinstance(r, dict)]
    credentials = credentials or {}
    for kind, render, normalize in (("mirrors", mirror_registry, _normalized_mirror),
                                    ("replications", replication_registry, _normalized_replication)):
        for entry in (entries or {}).get(kind) or []:
            try:
                rendered = render(entry)
            except (KeyError, TypeError, AttributeError):
                continue
            if not any(_same_registry(rendered, r) and bool(r.get("tlsVerify", True)) == rendered["tlsVerify"]
                       for r in live):
                continue
            item = normalize(entry)
            auth = item["remote"] if kind == "replications" else item
            auth["username"] = (credentials.get(_host(auth["url"])) or {}).get("username")
            out[kind][item["name"]] = item
    return out
