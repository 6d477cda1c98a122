# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""What a backup records and a restore proves: every repository:tag with its manifest digest.

``inventory`` reads it from a registry; ``compare`` names every difference from an expected one
(a tag missing, a tag that resolves to another digest, a tag that was not expected).
"""

from __future__ import annotations

import fnmatch

from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import InvalidParameterError


def inventory(oci, repositories=None):
    """{repository: {tag: digest}} of every tagged repository (or of those matching the globs)."""
    content = {}
    for repository in sorted(oci.catalog(page_size=1000)):
        if repositories and not any(fnmatch.fnmatchcase(repository, p) for p in repositories):
            continue
        tags = {}
        for tag in sorted(oci.tags(repository, page_size=1000)):
            ref = oci.head_manifest(repository, tag)
            if ref is None:
                continue  # deleted between the listing and now
            digest = ref.digest if ref.digest and ref.digest.startswith("sha256:") else \
                oci.get_manifest(repository, tag).digest
            tags[tag] = digest
        if tags:
            content[repository] = tags
    return content


def check_expected(expected):
    if not isinstance(expected, dict):
        raise InvalidParameterError("expected must be a mapping {repository: {tag: digest}}")
    for repository, tags in expected.items():
        if not isinstance(tags, dict) or not all(isinstance(d, str) and ":" in d for d in tags.values()):
            raise InvalidParameterError("expected[%r] must be a mapping {tag: digest}" % (repository,))
    return expected


def counts(content):
    return {"repositories": len(content), "tags": sum(len(t) for t in content.values())}


def compare(expected, actual, extra_ok=True):
    """Differences as sentences, sorted: missing tags, moved tags, and (unless ``extra_ok``) unexpected tags."""
    differences = []
    for repository, tags in sorted(expected.items()):
        have = actual.get(repository, {})
        for tag, digest in sorted(tags.items()):
            if tag not in have:
                differences.append("%s:%s is missing (expected %s)" % (repository, tag, digest))
            elif have[tag] != digest:
                differences.append("%s:%s resolves to %s, expected %s" % (repository, tag, have[tag], digest))
    if not extra_ok:
        for repository, tags in sorted(actual.items()):
            for tag in sorted(tags):
                if tag not in expected.get(repository, {}):
                    differences.append("%s:%s was not expected (%s)" % (repository, tag, tags[tag]))
    return differences
