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


# -- oci_gc: the entry point; each registry type's work is its backend's retention_gc ----------------

# The settings a registry applies itself (zot's storage.gc, gcDelay, gcInterval and retention dryRun; the
# config file and the command that checks it). A type without them refuses any that is set.
SETTINGS = ("config_path", "validate_command", "gc", "gc_delay", "gc_interval", "dry_run")


def run_retention(backend, namespaces, match="any", repositories=None, delete_untagged=None,
                  force_delete_untagged=False, wait_timeout=600, check_mode=False, now=None, sleep=None, settings=None):
    """oci_gc's work on any registry type (``backend.retention_gc``); returns the module's result.
    ``settings``: {name: value} of SETTINGS (None leaves one as it is)."""
    unknown = sorted(set(settings or {}) - set(SETTINGS))
    if unknown:
        raise InvalidParameterError("unknown setting(s) %s; valid: %s" % (", ".join(unknown), ", ".join(SETTINGS)))
    options = dict(match=match, repositories=repositories, delete_untagged=delete_untagged,
                   force_delete_untagged=force_delete_untagged, wait_timeout=wait_timeout, now=now, sleep=sleep,
                   settings=dict((name, value) for name, value in (settings or {}).items() if value is not None))
    return backend.retention_gc(namespaces, options, check_mode=check_mode)


def result_without_plan(**fields):
    """oci_gc's result for a registry that plans and deletes itself (nothing listed here)."""
    return dict(dict(tags_deleted=[], tags_kept=0, manifests_deleted=[], indexes=[], repositories=[]), **fields)


def api_retention(backend, namespaces, options, check_mode=False):
    """Retention through the OCI API (for Distribution, which has none of its own): plan, delete the expired manifests; the registry's
    offline garbage-collect then frees the bytes (gc.yml)."""
    retention = Retention(backend.oci, now=options["now"])
    plan = retention.plan(namespaces, match=options["match"], repositories=options["repositories"])
    if options["delete_untagged"]:
        refusal = untagged_refusal(plan["indexes"], options["force_delete_untagged"])
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
