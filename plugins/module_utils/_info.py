# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""Read a running registry's access model back, in the shape of the collection's input variables.

``oci_registry_users`` entries are ``{name, admin, groups}`` (never a password: none can be read
back), ``oci_registry_namespaces`` entries ``{name, description, public, retention, quota_gb,
policies, scan}``, ``oci_registry_mirrors`` and ``oci_registry_replications`` entries their input keys
without ``password`` and ``state`` - exactly what playbooks/init.yml takes, normalized and sorted, so that an
export applied to another registry exports again as the same document, and applied to the same
registry changes nothing. Repositories and tags are counted from the registry's API; garbage-collection settings
are reported per type in the shape of that type's role variables.
"""

from __future__ import annotations

from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import InvalidParameterError
from ansible_collections.provisioning.oci_registry.plugins.module_utils._model import (
    normalize_mirrors,
    normalize_namespaces,
    normalize_replications,
    normalize_users,
)

GATHER = ("users", "namespaces", "repositories", "gc", "mirrors", "replications")
NAMESPACE_EXPORT_KEYS = ("name", "description", "public", "retention", "quota_gb", "policies", "scan")
# The input keys of a mirror and a replication, less what cannot or need not be read back.
MIRROR_EXPORT_KEYS = ("name", "url", "username", "tls_verify", "repositories", "namespace", "ttl", "port")
REPLICATION_EXPORT_KEYS = ("name", "direction", "remote", "repositories", "tags", "destination_namespace", "trigger",
                           "schedule", "deletions")
REMOTE_EXPORT_KEYS = ("url", "username", "tls_verify")


def export_users(backend, exclude=()):
    users = []
    for name in backend.user_names():
        if name in exclude:
            continue
        user = backend.user_get(name)
        if user is None:
            continue
        users.append({"name": name, "admin": bool(user.get("admin")), "groups": sorted(user.get("groups") or [])})
    # The same normalization as the input (passwords are not required to read back).
    normal = normalize_users([dict(u) for u in users], "oci_registry_users", require_password=False)
    return [{"name": u["name"], "admin": u["admin"], "groups": u["groups"]} for u in normal]


def export_namespaces(backend):
    namespaces = []
    for name in backend.namespace_names():
        namespace = backend.namespace_get(name)
        if namespace is None:
            continue
        entry = dict((key, namespace.get(key)) for key in NAMESPACE_EXPORT_KEYS)
        entry["description"] = entry["description"] or ""
        namespaces.append(entry)
    normal = normalize_namespaces(namespaces, "oci_registry_namespaces")
    out = []
    for namespace in normal:
        # Policies keep the registry's order: re-applying them in another order would rewrite the rules.
        out.append(dict((key, namespace[key]) for key in NAMESPACE_EXPORT_KEYS))
    return out


def export_mirror_entries(entries):
    """Backend mirrors (normalized shape) as ``oci_registry_mirrors`` entries: sorted by name, checked by the
    model, never a password (add it before applying the export; a username without one is refused)."""
    normal = normalize_mirrors([dict(e, password=None, username=None) for e in entries], "oci_registry_mirrors")
    by_name = dict((e["name"], e) for e in entries)
    return [dict((key, by_name[m["name"]].get("username") if key == "username" else m[key])
                 for key in MIRROR_EXPORT_KEYS) for m in sorted(normal, key=lambda m: m["name"])]


def export_replication_entries(entries):
    """Backend replications (normalized shape) as ``oci_registry_replications`` entries, without passwords."""
    stripped = [dict(e, remote=dict(e.get("remote") or {}, password=None, username=None)) for e in entries]
    normal = normalize_replications(stripped, "oci_registry_replications")
    by_name = dict((e["name"], e) for e in entries)
    out = []
    for replication in sorted(normal, key=lambda r: r["name"]):
        entry = dict((key, replication[key]) for key in REPLICATION_EXPORT_KEYS)
        remote = dict((key, replication["remote"][key]) for key in REMOTE_EXPORT_KEYS)
        remote["username"] = (by_name[replication["name"]].get("remote") or {}).get("username")
        entry["remote"] = remote
        out.append(entry)
    return out


def export_mirrors(backend):
    entries = [backend.mirror_get(name) for name in backend.mirror_names()]
    return export_mirror_entries([e for e in entries if e is not None])


def export_replications(backend):
    entries = [backend.replication_get(name) for name in backend.replication_names()]
    return export_replication_entries([e for e in entries if e is not None])


def repositories(backend):
    """{count, tagged, tags, items: [{name, tags}]} from the catalog and the tag lists."""
    if backend.client is None:
        raise InvalidParameterError("registry_url (with credentials allowed to read the catalog) is needed to "
                                    "count repositories and tags")
    items = []
    for name in sorted(backend.oci.catalog()):
        tags = sorted(backend.oci.tags(name) or [])
        items.append({"name": name, "tags": tags})
    # Distribution cannot delete a repository: one whose tags are all gone (an oci_health write
    # probe's, a deleted image's) stays in the catalog; ``tagged`` counts those that hold tags.
    return {"count": len(items), "tagged": len([i for i in items if i["tags"]]),
            "tags": sum(len(i["tags"]) for i in items), "items": items}


def gather(backend, parts, exclude_users=()):
    unknown = sorted(set(parts) - set(GATHER))
    if unknown:
        raise InvalidParameterError("gather: unknown part(s) %s; valid: %s" % (", ".join(unknown), ", ".join(GATHER)))
    result = {}
    if "users" in parts:
        result["oci_registry_users"] = export_users(backend, exclude_users)
    if "namespaces" in parts:
        result["oci_registry_namespaces"] = export_namespaces(backend)
    if "repositories" in parts:
        result["repositories"] = repositories(backend)
    if "gc" in parts:
        result["gc"] = backend.gc_settings()
    if "mirrors" in parts:
        result["oci_registry_mirrors"] = export_mirrors(backend)
    if "replications" in parts:
        result["oci_registry_replications"] = export_replications(backend)
    return result
