# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""Retention through the OCI API, for registries that have none of their own (Distribution).

Each namespace's retention ``{keep_tags, max_age_days}`` selects the tags that go:

- a tag's date is the ``created`` of its image config (an index: the newest of its children's);
- ``keep_tags`` keeps the N most recent tags of each repository, ``max_age_days`` keeps the tags
  created within that many days; with ``match: any`` (the default, as Harbor's ``or`` algorithm and
  zot's keepTags do) a tag is kept when either rule keeps it, with ``match: all`` only when both do;
- a tag without a date (an artifact without ``created``) is never deleted;
- a tag that shares its digest with a tag that stays is kept (Distribution deletes a manifest by
  digest, which takes every tag of that digest with it).

Manifests are deleted by digest; the children of a deleted index go too unless another manifest
that stays references them. ``bytes_freed`` counts the blobs (and manifests) that only deleted
manifests reference: what a garbage collection then frees.
"""

from __future__ import annotations

import datetime
import fnmatch
import json

from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import (
    InvalidParameterError,
    OciRegistryError,
    RegistryHTTPError,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._oci import INDEX_MEDIA_TYPES

MATCHES = ("any", "all")
_CONFIG_MEDIA_TYPES = ("application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json")


# -- pure helpers (unit tested) ------------------------------------------------------------------


def parse_created(value):
    """An aware datetime from an image config's ``created`` (RFC 3339, nanoseconds allowed), or None."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("z", "Z")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    # Python before 3.11 takes at most 6 fractional digits: cut nanoseconds down to microseconds.
    if "." in text:
        head, _dot, rest = text.partition(".")
        digits = ""
        while rest and rest[0].isdigit():
            digits, rest = digits + rest[0], rest[1:]
        text = head + ("." + digits[:6] if digits else "") + rest
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when


def check_retention(retention, what="retention"):
    """Normalized {keep_tags, max_age_days} (None for a missing rule), or None when there is no rule."""
    if retention is None:
        return None
    if not isinstance(retention, dict):
        raise InvalidParameterError("%s must be a mapping with keep_tags and/or max_age_days, got %r" % (what, retention))
    unknown = sorted(set(retention) - {"keep_tags", "max_age_days"})
    if unknown:
        raise InvalidParameterError("%s has unknown keys %s (valid: keep_tags, max_age_days)" % (what, ", ".join(unknown)))
    out = {}
    for key in ("keep_tags", "max_age_days"):
        value = retention.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise InvalidParameterError("%s.%s must be a whole number of at least 0, got %r" % (what, key, value))
        out[key] = value
    if out["keep_tags"] is None and out["max_age_days"] is None:
        return None
    return out


def select_expired(entries, retention, now, match="any"):
    """Split ``entries`` [{tag, digest, created (datetime or None)}] into (expired, kept), each sorted by
    tag, with a ``reason`` on every entry. ``retention`` as returned by check_retention."""
    if match not in MATCHES:
        raise InvalidParameterError("match must be one of %s, got %r" % (", ".join(MATCHES), match))
    if retention is None:
        return [], [dict(e, reason="no retention") for e in sorted(entries, key=lambda e: e["tag"])]
    keep_tags = retention.get("keep_tags")
    max_age = retention.get("max_age_days")
    dated = [e for e in entries if e.get("created") is not None]
    # Newest first; the tag name breaks ties, so that the choice is stable.
    dated.sort(key=lambda e: (e["created"], e["tag"]), reverse=True)
    rank = dict((e["tag"], i) for i, e in enumerate(dated))
    limit = now - datetime.timedelta(days=max_age) if max_age is not None else None
    expired, kept = [], []
    for entry in entries:
        if entry.get("created") is None:
            kept.append(dict(entry, reason="no creation date"))
            continue
        votes = []
        if keep_tags is not None:
            votes.append(("among the %d most recent" % keep_tags) if rank[entry["tag"]] < keep_tags else None)
        if max_age is not None:
            votes.append(("created within %d days" % max_age) if entry["created"] >= limit else None)
        keeps = [v for v in votes if v]
        keep = bool(keeps) if match == "any" else len(keeps) == len(votes)
        if keep:
            kept.append(dict(entry, reason=", ".join(keeps)))
        else:
            reasons = []
            if keep_tags is not None and rank[entry["tag"]] >= keep_tags:
                reasons.append("not among the %d most recent" % keep_tags)
            if max_age is not None and entry["created"] < limit:
                reasons.append("older than %d days" % max_age)
            expired.append(dict(entry, reason=", ".join(reasons)))
    # A digest that a kept tag shares cannot be deleted without that tag: keep both.
    kept_digests = dict((e["digest"], e["tag"]) for e in kept)
    still = []
    for entry in expired:
        if entry["digest"] in kept_digests:
            kept.append(dict(entry, reason="shares its digest with tag %s, which stays" % kept_digests[entry["digest"]]))
        else:
            still.append(entry)
    return sorted(still, key=lambda e: e["tag"]), sorted(kept, key=lambda e: e["tag"])


def namespace_for(repository, namespaces):
    """The namespace (a dict with ``name``) that holds ``repository``: the deepest name that equals it or is
    a path prefix of it, or None."""
    best = None
    for namespace in namespaces:
        name = namespace["name"].strip("/")
        if repository == name or repository.startswith(name + "/"):
            if best is None or len(name) > len(best["name"].strip("/")):
                best = namespace
    return best


def check_namespaces(namespaces):
    """[{name, retention}] from the model's namespaces (other keys are ignored); absent ones are skipped."""
    if not isinstance(namespaces, list):
        raise InvalidParameterError("namespaces must be a list of {name, retention}")
    out = []
    for i, namespace in enumerate(namespaces):
        if not isinstance(namespace, dict) or not isinstance(namespace.get("name"), str) or not namespace["name"]:
            raise InvalidParameterError("namespaces[%d] needs a name" % i)
        if namespace.get("state", "present") == "absent":
            continue
        out.append({"name": namespace["name"],
                    "retention": check_retention(namespace.get("retention"), "namespaces[%d].retention" % i)})
    return out


def references(body):
    """(child manifest descriptors, blob descriptors) of a manifest's bytes."""
    try:
        data = json.loads(body)
    except ValueError:
        raise OciRegistryError("a manifest is not JSON")
    if not isinstance(data, dict):
        raise OciRegistryError("a manifest is not a JSON object")
    if isinstance(data.get("manifests"), list):
        return [d for d in data["manifests"] if isinstance(d, dict)], []
    blobs = []
    if isinstance(data.get("config"), dict):
        blobs.append(data["config"])
    blobs.extend(d for d in data.get("layers") or [] if isinstance(d, dict))
    blobs.extend(d for d in data.get("blobs") or [] if isinstance(d, dict))
    return [], blobs


# -- against a registry ------------------------------------------------------------------------------


class Manifest:
    """One manifest read in this run: digest, media type, size, children, blobs {digest: size}, created."""

    def __init__(self, digest, media_type, size, children, blobs, created):
        self.digest = digest
        self.media_type = media_type
        self.size = size
        self.children = children
        self.blobs = blobs
        self.created = created

    @property
    def is_index(self):
        return self.media_type in INDEX_MEDIA_TYPES or bool(self.children)


class Retention:
    """Plans and applies retention on one registry (an OciApi)."""

    def __init__(self, oci, now=None):
        self.oci = oci
        self.now = now or datetime.datetime.now(datetime.timezone.utc)
        self._manifests = {}  # (repository, digest) -> Manifest
        self._created = {}  # config digest -> datetime or None

    def manifest(self, repository, reference):
        ref = self.oci.get_manifest(repository, reference)
        key = (repository, ref.digest)
        if key in self._manifests:
            return self._manifests[key]
        children, blobs = references(ref.body)
        media_type = ref.media_type
        if media_type in (None, "application/json"):
            try:
                media_type = json.loads(ref.body).get("mediaType") or media_type
            except (ValueError, AttributeError):
                pass
        created = None
        child_digests = [c["digest"] for c in children if isinstance(c.get("digest"), str)]
        if child_digests:
            dates = [self.manifest(repository, d).created for d in child_digests]
            dates = [d for d in dates if d is not None]
            created = max(dates) if dates else None
        else:
            config = blobs[0] if blobs and blobs[0].get("mediaType") in _CONFIG_MEDIA_TYPES else None
            if config is not None:
                created = self._config_created(repository, config["digest"])
        blob_sizes = dict((b["digest"], int(b.get("size") or 0)) for b in blobs if isinstance(b.get("digest"), str))
        manifest = Manifest(ref.digest, media_type, ref.size, child_digests, blob_sizes, created)
        self._manifests[key] = manifest
        return manifest

    def _config_created(self, repository, digest):
        if digest not in self._created:
            try:
                data = json.loads(self.oci.read_blob(repository, digest))
            except ValueError:
                data = {}
            self._created[digest] = parse_created(data.get("created") if isinstance(data, dict) else None)
        return self._created[digest]

    def closure(self, repository, digest):
        """The digests of a manifest and every manifest below it."""
        seen, todo = [], [digest]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.append(current)
            todo.extend(self.manifest(repository, current).children)
        return seen

    def plan(self, namespaces, match="any", repositories=None):
        """What retention takes from every repository of the catalog (or of ``repositories``, globs)."""
        namespaces = check_namespaces(namespaces)
        catalog = self.oci.catalog(page_size=1000)
        plan = {"repositories": [], "indexes": [], "tags_deleted": [], "tags_kept": [], "manifests": [],
                "bytes_freed": 0}
        live_blobs = {}  # digest -> size, referenced by what stays (any repository)
        gone_blobs = {}  # digest -> size, referenced by what goes
        for repository in sorted(catalog):
            tags = self.oci.tags(repository, page_size=1000)
            entries = []
            for tag in tags:
                manifest = self.manifest(repository, tag)
                entries.append({"tag": tag, "digest": manifest.digest, "created": manifest.created})
                if manifest.is_index:
                    plan["indexes"].append("%s:%s" % (repository, tag))
            selected = repositories is None or any(fnmatch.fnmatchcase(repository, p) for p in repositories)
            namespace = namespace_for(repository, namespaces) if selected else None
            retention = namespace["retention"] if namespace else None
            expired, kept = select_expired(entries, retention, self.now, match)
            stay = set()
            for entry in kept:
                stay.update(self.closure(repository, entry["digest"]))
            go = []
            for entry in expired:
                for digest in self.closure(repository, entry["digest"]):
                    if digest not in stay and digest not in go:
                        go.append(digest)
            for digest in stay:
                manifest = self.manifest(repository, digest)
                live_blobs[digest] = manifest.size
                live_blobs.update(manifest.blobs)
            for digest in go:
                manifest = self.manifest(repository, digest)
                gone_blobs[digest] = manifest.size
                gone_blobs.update(manifest.blobs)
            if expired or (namespace and retention):
                plan["repositories"].append({
                    "name": repository, "namespace": namespace["name"] if namespace else None,
                    "retention": retention, "tags_deleted": [_view(e) for e in expired],
                    "tags_kept": [_view(e) for e in kept],
                    # Children first, then the index: a registry may refuse an index whose children are gone.
                    "manifests_deleted": [d for d in go if not self.manifest(repository, d).is_index]
                    + [d for d in go if self.manifest(repository, d).is_index]})
            plan["tags_deleted"].extend("%s:%s" % (repository, e["tag"]) for e in expired)
            plan["tags_kept"].extend("%s:%s" % (repository, e["tag"]) for e in kept)
        plan["bytes_freed"] = sum(size for digest, size in gone_blobs.items() if digest not in live_blobs)
        plan["manifests"] = ["%s@%s" % (r["name"], d) for r in plan["repositories"] for d in r["manifests_deleted"]]
        return plan

    def apply(self, plan):
        """Delete the planned manifests by digest; the number actually deleted (already gone: not counted)."""
        deleted = 0
        for repository in plan["repositories"]:
            for digest in repository["manifests_deleted"]:
                if self.oci.delete_manifest(repository["name"], digest):
                    deleted += 1
        return deleted


def untagged_refusal(indexes, force):
    """The message that refuses ``garbage-collect --delete-untagged`` while indexes exist, or None."""
    if not indexes or force:
        return None
    shown = ", ".join(indexes[:10]) + (" and %d more" % (len(indexes) - 10) if len(indexes) > 10 else "")
    return ("delete_untagged refused: the registry holds %d image index(es) (%s). Distribution's garbage-collect "
            "--delete-untagged treats the platform manifests of a multi-arch image as untagged (only the index has "
            "the tag) and deletes them, which breaks those images. Run without delete_untagged, or set "
            "force_delete_untagged=true if losing them is intended." % (len(indexes), shown))


def _view(entry):
    created = entry.get("created")
    return {"tag": entry["tag"], "digest": entry["digest"],
            "created": created.strftime("%Y-%m-%dT%H:%M:%SZ") if created else None, "reason": entry.get("reason")}


# -- per registry type (oci_gc) ----------------------------------------------------------------------

def run_retention(backend, namespaces, match="any", repositories=None, delete_untagged=None,
                  force_delete_untagged=False, wait_timeout=600, check_mode=False, now=None, sleep=None, zot=None):
    """oci_gc's work on any registry type; returns the module's result. ``zot``: the settings oci_gc sets
    on zot (gc, gc_delay, gc_interval, dry_run; None leaves one as it is)."""
    if backend.registry_type == "distribution":
        return _distribution(backend, namespaces, match, repositories, bool(delete_untagged), force_delete_untagged,
                             check_mode, now)
    namespaces = check_namespaces(namespaces)
    empty = dict(tags_deleted=[], tags_kept=0, manifests_deleted=[], indexes=[], repositories=[])
    if backend.registry_type == "zot":
        return _zot(backend, namespaces, match, repositories, delete_untagged, zot or {}, check_mode, empty)
    return _harbor(backend, namespaces, bool(delete_untagged), wait_timeout, check_mode, sleep, empty)


ZOT_SETTINGS = (("gc", "gc"), ("gc_delay", "gcDelay"), ("gc_interval", "gcInterval"), ("dry_run", "dryRun"))


def _zot(backend, namespaces, match, repositories, delete_untagged, options, check_mode, empty):
    """zot applies retention and collects garbage itself: set what it reads (in place, it re-reads them) and
    report what its metrics say about storage. A retention dry run is zot's: with dry_run it evaluates the
    policies at each collection and logs what it would remove instead of removing it."""
    from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_config as zc

    if match != "any":
        raise InvalidParameterError("match=%s: zot keeps a tag when any of its keepTags rules keeps it; use "
                                    "match=any with registry_type zot" % match)
    if repositories:
        raise InvalidParameterError("repositories selects repositories on distribution only; zot applies retention "
                                    "per namespace (storage.retention.policies): leave repositories unset")
    unknown = sorted(set(options) - set(name for name, _key in ZOT_SETTINGS))
    if unknown:
        raise InvalidParameterError("unknown zot setting(s) %s" % ", ".join(unknown))
    settings = {}
    for name, key in ZOT_SETTINGS:
        value = options.get(name)
        if value is not None and name in ("gc_delay", "gc_interval"):
            try:
                zc.parse_duration(value)
            except (TypeError, ValueError) as exc:
                raise InvalidParameterError("%s must be a Go duration such as 1h or 90m, got %r (%s)" % (name, value, exc))
        settings[key] = value
    settings["delete_untagged"] = delete_untagged
    warnings = []
    try:
        usage = backend.storage_usage()
    except RegistryHTTPError as exc:
        if exc.status not in (401, 403):
            raise
        usage = None
        warnings.append("zot refused its metrics to user %r (HTTP %s): storage usage is not reported; zot lets "
                        "http.accessControl.metrics.users read them" % (backend.client.options.username, exc.status))
    else:
        if usage is None:
            warnings.append("zot's metrics extension is off: storage usage is not reported")
    change = backend.gc_ensure(namespaces, settings, check_mode=check_mode)
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
    return dict(empty, changed=change.changed, bytes_freed=None, restart_required=change.restart_required,
                warnings=warnings, zot=zot_result, diff=dict(before=change.before, after=after),
                message="; ".join(parts))


def _distribution(backend, namespaces, match, repositories, delete_untagged, force, check_mode, now):
    retention = Retention(backend.oci, now=now)
    plan = retention.plan(namespaces, match=match, repositories=repositories)
    if delete_untagged:
        refusal = untagged_refusal(plan["indexes"], force)
        if refusal:
            raise InvalidParameterError(refusal, indexes=plan["indexes"])
    if not check_mode:
        retention.apply(plan)
    changed = bool(plan["manifests"])
    verb = "would delete" if check_mode else "deleted"
    return dict(changed=changed, tags_deleted=plan["tags_deleted"], tags_kept=len(plan["tags_kept"]),
                manifests_deleted=plan["manifests"], bytes_freed=plan["bytes_freed"], indexes=plan["indexes"],
                repositories=plan["repositories"],
                message="%s %d tag(s) (%d manifest(s)); garbage collection then frees %d bytes"
                        % (verb, len(plan["tags_deleted"]), len(plan["manifests"]), plan["bytes_freed"]))


def _harbor(backend, namespaces, delete_untagged, wait_timeout, check_mode, sleep, empty):
    """Harbor applies retention and collects garbage itself: run each namespace's retention policy, then
    a garbage collection, and wait for them. Check mode starts nothing (Harbor's dry runs are jobs it
    records too): it reads which repositories hold more artifacts than the policy keeps. ``changed``
    when retention deleted artifacts or the collection deleted blobs or manifests (or would have)."""
    import time

    sleep = sleep or time.sleep
    policies, pending = [], []
    for namespace in namespaces:
        if namespace["retention"] is None:
            continue
        state = backend.project_state(namespace["name"])
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
                              for c in backend.retention_candidates(namespace["name"], namespace["retention"]))
        return dict(empty, changed=bool(candidates), bytes_freed=None, harbor_gc=None, retention_executions=[],
                    retention_candidates=candidates,
                    message="check mode, nothing started: %d repository(ies) hold more artifacts than their "
                            "retention keeps%s" % (len(candidates), "; no retention policy yet (nothing to delete) in %s"
                                                   % ", ".join(pending) if pending else ""))
    executions = []
    for namespace, rid in policies:
        execution = backend.run_retention(rid, timeout=wait_timeout, sleep=sleep)
        executions.append({"namespace": namespace["name"], "retention_id": rid, "execution": execution})
    failed = [e for e in executions if e["execution"].get("status") not in ("Success", "Succeed")]
    if failed:
        raise OciRegistryError("Harbor's retention of %s ended %s" % (
            ", ".join(e["namespace"] for e in failed), ", ".join(str(e["execution"].get("status")) for e in failed)),
            executions=executions)
    gc_id = backend.run_gc(delete_untagged=delete_untagged)
    record = backend.wait_gc(gc_id, timeout=wait_timeout, sleep=sleep)
    report = backend.gc_report(gc_id)
    if record.get("job_status") != "Success":
        raise OciRegistryError("Harbor's garbage collection %d ended %s" % (gc_id, record.get("job_status")),
                               harbor_gc=report)
    artifacts = sum(e["execution"]["deleted"] for e in executions)
    swept = report["deleted"] or {}
    changed = artifacts > 0 or any(swept.values())
    return dict(empty, changed=changed, bytes_freed=None, harbor_gc=report, retention_executions=executions,
                retention_candidates=[],
                message="Harbor's retention of %d namespace(s) deleted %d artifact(s); garbage collection %d deleted "
                        "%s blob(s) and %s manifest(s)" % (len(executions), artifacts, gc_id,
                                                           swept.get("blobs", "?"), swept.get("manifests", "?")))
