# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""Diff mode, the same in every module: ``{before, after}`` views that never hold a secret."""

from __future__ import annotations

# What a result or diff shows in place of a secret.
MASK = "********"


def add_diff(module, result, before, after, when_changed=False, drop_none=False):
    """Put ``{before, after}`` into ``result`` in diff mode (only when ``result['changed']`` if
    ``when_changed``). ``drop_none``: keys of dict views whose value is None (an object that does not
    exist on that side) are left out. Views must already hold no secret (mask them with MASK)."""
    if not module._diff or (when_changed and not result.get("changed")):
        return result
    if drop_none:
        before = dict((k, v) for k, v in before.items() if v is not None)
        after = dict((k, v) for k, v in after.items() if v is not None)
    result["diff"] = dict(before=before, after=after)
    return result
