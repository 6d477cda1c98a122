# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
name: zot_config
short_description: Build and check a zot config.json from structured options
version_added: 0.1.0
description:
  - Turns the zot role's variables (without their C(zot_) prefix) and the collection's access model
    (users, namespaces) into zot's C(config.json), checked against zot's rules
    (only keys zot knows, the types it declares, its cross-field rules).
  - Problems fail the task with a message that names the role variable and what is valid.
  - With O(running), also says whether zot takes the change from an in-place write of its config
    file (C(reload)) or needs a restart (C(restart)), or whether nothing changed (C(none)).
options:
  _input:
    description: The options, for example C(gc_delay), C(namespaces), C(metrics_enabled).
    type: dict
    required: true
  running:
    description:
      - The configuration zot runs now (a dict or its JSON text). Empty when there is none.
      - Text that is not JSON counts as no configuration (a restart).
    type: raw
  s3_ca_bundle:
    description:
      - Where the CA of C(storage.s3.ca_path) is mounted in the container; becomes C(AWS_CA_BUNDLE) in RV(_value.environment).
    type: str
    default: ""
  problems_only:
    description:
      - Return only C(problems), the list of what zot would refuse (empty when the options are fine), instead of
        failing. The messages name variables and never hold a secret, so a task that shows them needs no
        C(no_log), unlike the rendering (which holds the sync credentials).
    type: bool
    default: false
author:
  - provisioning.oci_registry contributors
"""

EXAMPLES = r"""
- name: Render the candidate config
  ansible.builtin.set_fact:
    _zot_rendered: "{{ {'http_port': 5000, 'gc': true, 'gc_delay': '1h'} | provisioning.oci_registry.zot_config(running=_live) }}"

- name: Show whether zot reloads or restarts
  ansible.builtin.debug:
    msg: "{{ _zot_rendered.change.action }}: {{ _zot_rendered.change.reasons }}"
"""

RETURN = r"""
_value:
  description: The generated configuration and what it means for the running zot.
  type: dict
  contains:
    config:
      description: The config.json content.
      type: dict
    json:
      description: The config.json text (sorted keys, two-space indent, final newline).
      type: str
    credentials:
      description: The sync credentials file content (URL without scheme to username and password). Secret.
      type: dict
    credentials_json:
      description: The sync credentials file text. Secret.
      type: str
    entries_json:
      description:
        - The text of the sync entries file (C(sync-entries.json)) the role writes beside config.json, from the
          C(mirrors) and C(replications) options, passwords left out. It names each mirror and replication,
          which config.json cannot (zot refuses unknown keys), so that they can be read back.
      type: str
    problems:
      description: Only with O(problems_only). What zot would refuse, each message naming the variable.
      type: list
      elements: str
    environment:
      description:
        - The container environment of zot's s3 storage driver (C(AWS_ACCESS_KEY_ID), C(AWS_SECRET_ACCESS_KEY),
          C(AWS_CA_BUNDLE)); empty without s3 storage. Secret. Kept out of config.json.
      type: dict
    warnings:
      description: Things zot would accept but ignore or adjust.
      type: list
      elements: str
    change:
      description: Only with O(running). C(action) is C(none), C(reload) or C(restart); C(reasons) and C(changed) explain it.
      type: dict
"""

import json

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.provisioning.oci_registry.plugins.module_utils._zot_generate import generate, render, storage_environment
from ansible_collections.provisioning.oci_registry.plugins.module_utils._zot_reload import classify_change
from ansible_collections.provisioning.oci_registry.plugins.module_utils._zot_schema import ZotConfigError
from ansible_collections.provisioning.oci_registry.plugins.module_utils._zot_sync import entries_file

_NO_RUNNING = object()


def zot_config(options, running=_NO_RUNNING, problems_only=False, s3_ca_bundle=""):
    if not isinstance(options, dict):
        raise AnsibleFilterError("zot_config: the input must be a dict of options, got %s" % type(options).__name__)
    try:
        config, credentials, warnings = generate(dict(options))
        environment = storage_environment(options.get("storage"), s3_ca_bundle)
    except ZotConfigError as exc:
        if problems_only:
            return {"problems": exc.problems}
        raise AnsibleFilterError(exc.msg)
    if problems_only:
        return {"problems": []}
    result = {
        "config": config,
        "json": render(config),
        "credentials": credentials,
        "credentials_json": json.dumps(credentials, indent=2, sort_keys=True) + "\n",
        "entries_json": json.dumps(entries_file(options.get("mirrors") or [], options.get("replications") or []),
                                   indent=2, sort_keys=True) + "\n",
        "environment": environment,
        "warnings": warnings,
    }
    if running is not _NO_RUNNING:
        old = running
        if isinstance(old, (str, bytes)):
            text = to_text(old).strip()
            try:
                old = json.loads(text) if text else None
            except ValueError:
                old = None
        if old is not None and not isinstance(old, dict):
            old = None
        result["change"] = classify_change(old, config)
    return result


class FilterModule:
    """zot configuration filters."""

    def filters(self):
        return {"zot_config": zot_config}
