# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""What each registry type can do with the high-availability model (issue 17).

``check(registry_type, storage, redis, replicas)`` takes the public model, ``oci_registry_storage`` and
``oci_registry_redis`` (normalized or not: missing keys take the model's defaults), and the number of
registry hosts (the inventory group ``oci_registry``), and returns ``(errors, warnings)``: two lists of
sentences, each naming the variable to change. Nothing here touches a host; deploy.yml's preflight calls it
before anything changes. The rules come from each registry's own code, cited next to each one.
"""

from __future__ import annotations

REGISTRY_TYPES = ("distribution", "zot", "harbor")
STORAGE_TYPES = ("filesystem", "s3")
REDIS_MODES = ("auto", "none", "deploy", "external")
STORAGE_VARIABLE = "oci_registry_storage"
REDIS_VARIABLE = "oci_registry_redis"


def redis_mode(storage, redis):
    """The effective Redis mode: ``auto`` is ``deploy`` with s3 storage, else ``none``."""
    mode = (redis or {}).get("mode") or "auto"
    if mode == "auto":
        return "deploy" if storage_type(storage) == "s3" else "none"
    return mode


def storage_type(storage):
    return (storage or {}).get("type") or "filesystem"


def _model_problems(registry_type, storage, redis, replicas):
    errors = []
    if registry_type not in REGISTRY_TYPES:
        errors.append("oci_registry_type: %r is not a registry type; valid: %s"
                      % (registry_type, ", ".join(REGISTRY_TYPES)))
    if storage is not None and not isinstance(storage, dict):
        errors.append("%s: must be a dict such as {type: filesystem} or {type: s3, s3: {...}}" % STORAGE_VARIABLE)
    elif storage_type(storage) not in STORAGE_TYPES:
        errors.append("%s.type: %r is not a storage type; valid: %s"
                      % (STORAGE_VARIABLE, storage_type(storage), ", ".join(STORAGE_TYPES)))
    if redis is not None and not isinstance(redis, dict):
        errors.append("%s: must be a dict such as {mode: auto}" % REDIS_VARIABLE)
    elif ((redis or {}).get("mode") or "auto") not in REDIS_MODES:
        errors.append("%s.mode: %r is not a Redis mode; valid: %s"
                      % (REDIS_VARIABLE, (redis or {}).get("mode"), ", ".join(REDIS_MODES)))
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
        errors.append("oci_registry: the number of registry hosts must be a positive integer, got %r" % (replicas,))
    return errors


def _distribution(storage, redis, replicas, errors, warnings):
    kind, mode = storage_type(storage), redis_mode(storage, redis)
    if replicas > 1 and kind == "filesystem":
        # Each replica would write its own disk: a blob pushed through one is unknown to the others.
        errors.append("%s: %d Distribution replicas need shared storage: set %s.type: s3 (the filesystem "
                      "driver writes each host's own disk, so a push through one replica is not seen by the others)"
                      % (STORAGE_VARIABLE, replicas, STORAGE_VARIABLE))
    if replicas > 1 and kind == "s3" and mode == "none":
        # Distribution's inmemory blob-descriptor cache (registry/storage/cache/memory) is per process: a
        # blob deleted by GC stays "known" to the other replicas until they restart.
        warnings.append("%s.mode: none leaves every Distribution replica with its own in-memory blob-descriptor "
                        "cache; a shared Redis (mode auto or deploy) keeps them consistent after deletes and GC"
                        % REDIS_VARIABLE)


def _zot(storage, redis, replicas, errors, warnings):
    kind, mode = storage_type(storage), redis_mode(storage, redis)
    if kind == "s3" and mode == "none":
        # zot v2.1.20 pkg/cli/server/root.go applyDefaultValues: dedupe on a remote storage driver turns
        # remoteCache on, and validateCacheConfig then refuses a config without a cacheDriver ("dedupe set to
        # true with remote storage and database, but no remote database configured"). Without remoteCache,
        # pkg/storage/cache.go CreateCacheDatabaseDriver and pkg/meta/meta.go New keep the dedupe cache and the
        # metaDB in a boltdb file on each host's disk, which replicas on one bucket cannot share.
        errors.append("%s.mode: zot on s3 storage needs a remote cache for its dedupe cache and metadata "
                      "(zot refuses dedupe on remote storage without cacheDriver): set %s.mode to auto, deploy "
                      "or external" % (REDIS_VARIABLE, REDIS_VARIABLE))
    if replicas > 1 and kind == "filesystem":
        # pkg/api/proxy.go ClusterProxy: each repository belongs to one member (siphash of its name over
        # cluster.members) and the others proxy to it, so with local storage each member keeps only its share.
        warnings.append("%s: with filesystem storage the %d zot members form a scale-out cluster where each "
                        "repository lives on the disk of the one member that owns it (zot proxies to it): losing a "
                        "host loses its repositories; set %s.type: s3 for replicas on shared storage"
                        % (STORAGE_VARIABLE, replicas, STORAGE_VARIABLE))
        if mode != "none":
            # root.go validateCacheConfig: "redis is only supported with local storage in a non-clustering
            # scenario with a single zot instance".
            errors.append("%s.mode: zot supports Redis with local storage only for a single instance; with %d "
                          "members on filesystem storage set %s.mode: none (or %s.type: s3)"
                          % (REDIS_VARIABLE, replicas, REDIS_VARIABLE, STORAGE_VARIABLE))
    if replicas == 1 and kind == "filesystem" and mode in ("deploy", "external"):
        warnings.append("%s.mode: %s: zot keeps its cache and metadata in Redis instead of its local boltdb "
                        "(zot allows it for a single instance on local storage)" % (REDIS_VARIABLE, mode))


def _harbor(storage, redis, replicas, errors, warnings, external_database):
    kind, mode = storage_type(storage), redis_mode(storage, redis)
    if replicas > 1 and kind == "filesystem":
        # Harbor's HA guidance: shared storage, external database and Redis, hosts behind a balancer.
        errors.append("%s: %d Harbor hosts need shared storage: set %s.type: s3 (storage_service in harbor.yml); "
                      "each host's data_volume is its own disk" % (STORAGE_VARIABLE, replicas, STORAGE_VARIABLE))
    if replicas > 1 and mode == "none":
        # make/photon/prepare/utils/configs.py get_redis_configs: without external_redis each host runs its
        # own redis container (job queue, sessions, the registry's layer-info cache).
        errors.append("%s.mode: %d Harbor hosts must share one Redis (job queue, sessions, caches): set %s.mode "
                      "to auto, deploy or external" % (REDIS_VARIABLE, replicas, REDIS_VARIABLE))
    if replicas > 1 and not external_database:
        # Without external_database the installer runs a harbor-db container per host.
        errors.append("harbor_external_database: %d Harbor hosts must share one PostgreSQL database "
                      "(without it every host runs its own harbor-db): give host, port, db_name, username and "
                      "password" % replicas)
    db = (redis or {}).get("db") if isinstance(redis, dict) else None
    if mode != "none" and db not in (None, 0, "0"):
        # harbor.yml.tmpl: "db_index 0 is for core, it's unchangeable"; make/photon/prepare/utils/configs.py
        # get_redis_configs builds core's URL with database 0 whatever else is set.
        errors.append("%s.db: Harbor's core always uses Redis database 0 (its registry, job service and Trivy use "
                      "1, 2 and 5), so %r cannot be honoured: set %s.db: 0 and give Harbor a Redis of its own, or "
                      "set harbor_external_redis with its own indexes" % (REDIS_VARIABLE, db, REDIS_VARIABLE))
    s3 = (storage.get("s3") or {}) if isinstance(storage, dict) else {}
    if kind == "s3" and s3.get("endpoint") and s3.get("path_style") is False:
        # Harbor v2.15.2's registry is distribution v2.8.3-harbor.1 (Makefile REGISTRY_SRC_TAG), whose
        # registry/storage/driver/s3-aws/s3.go has no forcepathstyle: it uses path-style whenever regionendpoint
        # is set.
        warnings.append("%s.s3.path_style: false is not possible with Harbor: its registry's s3 driver "
                        "(distribution v2.8.3) sends path-style requests to every custom endpoint"
                        % STORAGE_VARIABLE)
    if kind == "s3" and isinstance(storage, dict) and (storage.get("s3") or {}).get("redirect"):
        warnings.append("%s.s3.redirect: true sends Harbor's clients to presigned URLs on the object store, "
                        "which they must be able to reach" % STORAGE_VARIABLE)


def check(registry_type, storage, redis, replicas, external_database=None):
    """(errors, warnings) for this registry type with this storage, Redis and number of hosts.

    ``external_database`` (Harbor only): the role's ``harbor_external_database``, required with several hosts.
    """
    errors = _model_problems(registry_type, storage, redis, replicas)
    warnings = []
    if errors:
        return errors, warnings
    if registry_type == "distribution":
        _distribution(storage, redis, replicas, errors, warnings)
    elif registry_type == "zot":
        _zot(storage, redis, replicas, errors, warnings)
    else:
        _harbor(storage, redis, replicas, errors, warnings, external_database)
    return errors, warnings
