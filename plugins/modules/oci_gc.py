#!/usr/bin/python
# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
module: oci_gc
short_description: Apply namespace retention to an OCI registry (Distribution through its API; Harbor and zot natively)
version_added: 0.1.0
description:
  - Applies each namespace's retention C({keep_tags, max_age_days}) to the repositories of the namespace
    (a repository belongs to the deepest namespace whose name equals it or is a path prefix of it).
  - Distribution has no retention of its own. The module dates every tag by the C(created) field of its image
    config (an image index by the newest of its platform images), keeps the O(match) rule's tags and deletes the
    manifests of the others by digest, children of a deleted index included. It does not collect garbage
    itself; C(playbooks/gc.yml) runs C(registry garbage-collect) afterwards with the registry read-only.
  - A tag without a creation date is never deleted; a tag that shares its digest with a tag that stays is kept
    (Distribution deletes a digest with every tag that points to it).
  - Harbor applies retention itself. The module starts an execution of each namespace's retention policy, waits
    for it, then runs Harbor's garbage collection and waits for it. It reports a change only when retention deleted
    artifacts or the collection deleted blobs or manifests (the C(are actually deleted) line of its log).
  - On Harbor, check mode starts nothing, not even a dry run (Harbor records those as jobs too); it reads which
    repositories of the namespaces hold more artifacts than their C(keep_tags) (RV(retention_candidates)) and
    reports a change when there are some. A namespace whose project or retention policy does not exist yet (a first
    run, before C(playbooks/init.yml) made them) holds nothing to delete; outside check mode it is an error.
  - zot applies retention and collects garbage itself. The module sets what zot reads for that in its
    C(config.json) (O(config_path)), namely C(storage.gc), C(gcDelay), C(gcInterval), C(retention.dryRun) and each
    namespace's retention policy, written in place after zot's rules passed (and O(validate_command)), so that
    zot re-reads them without a restart; RV(restart_required) says when zot only takes the change on a restart
    (retention turned on for the first time). It reports the storage zot's metrics count per repository
    (C(zot_repo_storage_bytes)).
  - A retention dry run on zot is run by zot itself. With O(dry_run=true) zot evaluates the policies at each collection
    and logs every tag it would remove, removing none; O(dry_run=false) puts retention back to work.
  - Refuses O(delete_untagged) on Distribution while image indexes exist, unless O(force_delete_untagged), because
    Distribution's C(garbage-collect --delete-untagged) deletes the platform manifests of multi-arch images.
author:
  - provisioning.oci_registry maintainers (@provisioning)
extends_documentation_fragment:
  - provisioning.oci_registry._connection
  - provisioning.oci_registry._attributes
attributes:
  check_mode:
    support: full
    details: Lists the tags that would be deleted and the bytes garbage collection would then free.
  diff_mode:
    support: partial
    details: zot only - the gc and retention settings of config.json before and after.
  idempotent:
    support: full
    details: A second run finds nothing more to delete (until tags age past max_age_days).
options:
  namespaces:
    description:
      - The namespaces, in the shape of C(oci_registry_namespaces). Only C(name), C(retention) and C(state) are
        read; a namespace with C(state=absent) or without retention keeps everything.
    type: list
    elements: dict
    default: []
  repositories:
    description:
      - Limit retention to the repositories matching one of these glob patterns. Default is every repository.
    type: list
    elements: str
  match:
    description:
      - V(any) keeps a tag when either rule keeps it (among the C(retention.keep_tags) most recent, or
        created within C(retention.max_age_days) days), like Harbor's and zot's retention.
      - V(all) keeps a tag only when both rules keep it.
    type: str
    choices: [any, all]
    default: any
  delete_untagged:
    description:
      - Whether the garbage collection that follows may delete untagged manifests. On Distribution the module only
        checks that this is safe (no image index in the registry) and fails before deleting anything when it is
        not, unless O(force_delete_untagged). On Harbor it is passed to Harbor's garbage collection.
      - On zot it is the C(deleteUntagged) of the namespaces' retention policies (zot keeps the manifests an index
        references either way).
      - Not set - V(false) on Distribution and Harbor; on zot the policies keep the C(deleteUntagged) C(config.json)
        has (the zot role's C(zot_retention_delete_untagged)).
    type: bool
  force_delete_untagged:
    description:
      - Allow O(delete_untagged) on Distribution although image indexes exist (their platform images are lost).
    type: bool
    default: false
  wait_timeout:
    description:
      - Harbor only. Seconds to wait for each retention execution and for the garbage collection.
    type: int
    default: 600
  config_path:
    description:
      - zot only, required there. Its C(config.json) on the host the module runs on (the registry host); it is
        rewritten in place, keeping its owner and mode.
    type: path
  validate_command:
    description:
      - zot only. Command that checks the new C(config.json) before it replaces the live one; C(%s) is replaced by
        the path of a candidate file next to it. For example
        C(docker run --rm --network none -v %s:/tmp/c.json:ro ghcr.io/project-zot/zot-linux-amd64:v2.1.20 verify /tmp/c.json).
      - The project's own checks of zot's rules always run first.
    type: str
  gc:
    description:
      - zot only. C(storage.gc), whether zot collects garbage (and applies retention, which runs with it). Not set
        leaves it as it is.
      - V(false) while a namespace has retention is refused before anything is written, as the zot role refuses
        it (zot would never apply that retention).
    type: bool
  gc_delay:
    description:
      - zot only. C(storage.gcDelay), a Go duration such as V(1h); blobs no manifest references are removed once
        they are older than that. Not set leaves it as it is.
    type: str
  gc_interval:
    description:
      - zot only. C(storage.gcInterval), a Go duration such as V(24h); how often zot collects garbage and applies
        retention. Not set leaves it as it is.
    type: str
  dry_run:
    description:
      - zot only. C(storage.retention.dryRun). V(true) makes zot's retention a dry run (it logs what it would remove
        at each collection, removes nothing); V(false) lets it remove. Not set leaves it as it is.
    type: bool
"""

EXAMPLES = r"""
- name: Show what retention would delete on a Distribution registry
  provisioning.oci_registry.oci_gc:
    registry_url: https://registry.example.com:5000
    registry_type: distribution
    username: admin
    password: "{{ vault_registry_admin_password }}"
    namespaces:
      - name: provisioning-test
        retention: {keep_tags: 3, max_age_days: 7}
  check_mode: true
  register: plan

- name: Apply it
  provisioning.oci_registry.oci_gc:
    registry_url: https://registry.example.com:5000
    registry_type: distribution
    username: admin
    password: "{{ vault_registry_admin_password }}"
    namespaces: "{{ oci_registry_namespaces }}"
"""

RETURN = r"""
tags_deleted:
  description: The repository:tag that were deleted (in check mode, would be).
  returned: always
  type: list
  elements: str
  sample: [provisioning-test/app:1.0]
tags_kept:
  description: Number of tags that stay.
  returned: always
  type: int
  sample: 3
manifests_deleted:
  description: The repository@digest of every manifest deleted (or to delete), children of indexes included.
  returned: always
  type: list
  elements: str
bytes_freed:
  description:
    - Distribution - bytes of the manifests and blobs that only the deleted manifests referenced, which the
      garbage collection that follows frees. Harbor - null (see RV(harbor_gc)). zot - null (zot frees space on
      its own schedule; see RV(zot.storage)).
  returned: always
  type: int
  sample: 1048576
indexes:
  description: Distribution - the repository:tag that are image indexes (multi-arch images).
  returned: always
  type: list
  elements: str
repositories:
  description:
    - Distribution - per repository with retention, its namespace, retention, tags deleted and kept (each with
      tag, digest, created and the reason), and the manifest digests deleted.
  returned: always
  type: list
  elements: dict
harbor_gc:
  description:
    - Harbor - the garbage collection run (id, status, parameters, log, read_only, and C(deleted), the
      C({blobs, manifests}) its log says it deleted, null when the log does not say); null in check mode.
  returned: when registry_type is harbor
  type: dict
retention_executions:
  description:
    - Harbor - per namespace with retention, the execution run (C(namespace), C(retention_id), C(execution) with
      C(id), C(status), C(deleted) artifacts and its C(tasks), per repository C(total) and C(retained)).
  returned: when registry_type is harbor
  type: list
  elements: dict
retention_candidates:
  description:
    - Harbor, check mode - the repositories holding more artifacts than their namespace's C(keep_tags)
      (C(namespace), C(repository), C(artifacts), C(beyond_keep)); with C(max_age_days) as well, those pushed
      within that many days are kept too, which only a real execution tells.
  returned: when registry_type is harbor
  type: list
  elements: dict
zot:
  description: zot - what was set in config.json and what zot's metrics say.
  returned: when registry_type is zot
  type: dict
  contains:
    action:
      description: How zot takes the change, V(none), V(reload) (re-read in place) or V(restart).
      type: str
      sample: reload
    reasons:
      description: Why, per changed setting.
      type: list
      elements: str
      sample: [storage.gcInterval is re-read on reload]
    before:
      description: The settings before (gc, gcDelay, gcInterval, retention with dryRun, delay and policies).
      type: dict
    after:
      description: The settings after (in check mode, as they would be).
      type: dict
    dry_run:
      description: Whether zot's retention is a dry run afterwards.
      type: bool
    storage:
      description:
        - What zot's metrics count (C(zot_repo_storage_bytes)), C(repositories) (name to bytes) and
          C(total_bytes); null when zot's metrics extension is off or refused to the user.
      type: dict
      sample: {repositories: {provisioning-test/app: 3375436}, total_bytes: 3375436}
restart_required:
  description: zot - the change takes effect only when zot restarts (playbooks/gc.yml restarts it).
  returned: when registry_type is zot
  type: bool
message:
  description: What was done, in one sentence.
  returned: always
  type: str
"""

from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import (
    AccessOptions,
    backend_from_params,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import OciRegistryError
from ansible_collections.provisioning.oci_registry.plugins.module_utils._gc import (
    MATCHES,
    SETTINGS,
    run_retention,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._module import registry_module


def main():
    module = registry_module(
        dict(
            namespaces=dict(type="list", elements="dict", default=[]),
            repositories=dict(type="list", elements="str"),
            match=dict(type="str", choices=list(MATCHES), default="any"),
            delete_untagged=dict(type="bool"),
            force_delete_untagged=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=600),
            config_path=dict(type="path"),
            validate_command=dict(type="str"),
            gc=dict(type="bool"),
            gc_delay=dict(type="str"),
            gc_interval=dict(type="str"),
            dry_run=dict(type="bool"),
        ),
        required_if=[("registry_type", "zot", ("config_path",))],
    )
    params = module.params
    try:
        backend = backend_from_params(params)
        # File-based adapters (zot) read and write their config through these.
        backend.configure_access(AccessOptions(
            config_path=params["config_path"], validate_command=params["validate_command"], mode=None,
            run_command=lambda command: module.run_command(command, use_unsafe_shell=False)))
        result = run_retention(backend, params["namespaces"], match=params["match"],
                               repositories=params["repositories"], delete_untagged=params["delete_untagged"],
                               force_delete_untagged=params["force_delete_untagged"],
                               wait_timeout=params["wait_timeout"], check_mode=module.check_mode,
                               settings=dict((name, params[name]) for name in SETTINGS))
    except OciRegistryError as exc:
        exc.fail(module, changed=False)
    for warning in result.pop("warnings", []):
        module.warn(warning)
    diff = result.pop("diff", None)
    if module._diff and diff is not None:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
