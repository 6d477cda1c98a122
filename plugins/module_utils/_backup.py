# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""What a backup records and a restore proves: every repository:tag with its manifest digest.

``inventory`` reads it from a registry; ``compare`` names every difference from an expected one
(a tag missing, a tag that resolves to another digest, a tag that was not expected).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import tempfile
import threading

from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import (
    DigestMismatchError,
    InvalidParameterError,
    OciRegistryError,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._oci import (
    DIGEST_RE,
    OCI_INDEX,
    ManifestRef,
    sha256_digest,
)


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


# -- an OCI image layout that the sync engine (_sync.SyncEngine) copies to and from --------------------
#
# One layout holds every repository: blobs are shared (stored once, by digest), and index.json names each
# tagged manifest by the annotation org.opencontainers.image.ref.name = "<repository>:<tag>", which tools
# such as skopeo read (oci:<dir>:<repository>:<tag>). Manifests and blobs are written as the bytes they
# are, each checked against its digest, so a restore from the layout gives the very same digests.

REF_NAME = "org.opencontainers.image.ref.name"
_CHUNK = 1024 * 1024


class _LayoutOptions:
    retries = 2
    username = None


class _LayoutClient:
    """What the sync engine asks of a client, for a directory."""

    options = _LayoutOptions()

    def __init__(self, path):
        self.base_url = "oci:" + path

    def set_pool_size(self, size):
        return None

    def backoff(self, attempt, retry_after=None):
        return 0.1 * (attempt + 1)


class _BlobResponse:
    """A stored blob, shaped like the streaming response the engine reads from a registry."""

    def __init__(self, path, size):
        self.headers = {"Content-Length": str(size)}
        self.raw = self
        self._handle = open(path, "rb")

    def read(self, amount=-1, decode_content=False):
        return self._handle.read(amount)

    def close(self):
        self._handle.close()


class LayoutApi:
    """The OciApi calls the sync engine makes, on an OCI image layout directory."""

    def __init__(self, path, create=False):
        self.path = os.path.abspath(path)
        self.client = _LayoutClient(self.path)
        self._lock = threading.Lock()
        index_path = os.path.join(self.path, "index.json")
        if create:
            os.makedirs(os.path.join(self.path, "blobs", "sha256"), exist_ok=True)
            if not os.path.exists(os.path.join(self.path, "oci-layout")):
                self._write(os.path.join(self.path, "oci-layout"), json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
            if not os.path.exists(index_path):
                self._write(index_path, json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}).encode())
        if not os.path.isfile(os.path.join(self.path, "oci-layout")) or not os.path.isfile(index_path):
            raise OciRegistryError("%s is not an OCI image layout (no oci-layout or index.json)" % self.path)
        with open(index_path, "rb") as handle:
            try:
                self.index = json.loads(handle.read())
            except ValueError:
                raise OciRegistryError("%s is not JSON" % index_path)

    # -- files ----------------------------------------------------------------------------
    def _blob_path(self, digest):
        algorithm, _sep, hexpart = digest.partition(":")
        if algorithm != "sha256" or not hexpart or "/" in hexpart:
            raise OciRegistryError("only sha256 digests can be stored in the layout, got %r" % (digest,))
        return os.path.join(self.path, "blobs", algorithm, hexpart)

    def _write(self, path, data):
        handle, temp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temp, 0o644)
        os.replace(temp, path)

    def _save_index(self):
        self._write(os.path.join(self.path, "index.json"), json.dumps(self.index, indent=1, sort_keys=True).encode())

    def _entries(self):
        for entry in self.index.get("manifests") or []:
            name = (entry.get("annotations") or {}).get(REF_NAME) or ""
            repository, sep, tag = name.rpartition(":")
            if sep and repository and tag and "/" not in tag:
                yield repository, tag, entry

    # -- what the engine calls --------------------------------------------------------------
    def catalog(self, page_size=None):
        return sorted(set(repository for repository, _tag, _entry in self._entries()))

    def tags(self, repository, page_size=None):
        return sorted(tag for name, tag, _entry in self._entries() if name == repository)

    def _descriptor(self, repository, reference):
        if DIGEST_RE.match(reference) and ":" in reference:
            path = self._blob_path(reference)
            if not os.path.isfile(path):
                return None
            with open(path, "rb") as handle:
                body = handle.read()
            try:
                media_type = json.loads(body).get("mediaType")
            except (ValueError, AttributeError):
                media_type = None
            return {"digest": reference, "size": len(body), "mediaType": media_type}
        for name, tag, entry in self._entries():
            if name == repository and tag == reference:
                return entry
        return None

    def head_manifest(self, repository, reference):
        descriptor = self._descriptor(repository, reference)
        if descriptor is None or not os.path.isfile(self._blob_path(descriptor["digest"])):
            return None
        return ManifestRef(descriptor["digest"], descriptor.get("mediaType"), descriptor.get("size"))

    def get_manifest(self, repository, reference):
        descriptor = self._descriptor(repository, reference)
        if descriptor is None:
            raise OciRegistryError("manifest %s:%s is not in the layout %s" % (repository, reference, self.path))
        with open(self._blob_path(descriptor["digest"]), "rb") as handle:
            body = handle.read()
        if sha256_digest(body) != descriptor["digest"]:
            raise DigestMismatchError("manifest %s in the layout %s does not hash to its digest"
                                      % (descriptor["digest"], self.path))
        return ManifestRef(descriptor["digest"], descriptor.get("mediaType"), len(body), body)

    def put_manifest(self, repository, reference, body, media_type):
        digest = sha256_digest(body)
        path = self._blob_path(digest)
        if not os.path.isfile(path):
            self._write(path, body)
        if not (DIGEST_RE.match(reference) and ":" in reference):
            name = "%s:%s" % (repository, reference)
            with self._lock:
                manifests = [e for e in self.index.get("manifests") or []
                             if (e.get("annotations") or {}).get(REF_NAME) != name]
                manifests.append({"mediaType": media_type, "digest": digest, "size": len(body),
                                  "annotations": {REF_NAME: name}})
                self.index["manifests"] = sorted(manifests, key=lambda e: e["annotations"][REF_NAME])
                self._save_index()
        return digest

    def head_blob(self, repository, digest):
        path = self._blob_path(digest)
        return os.path.getsize(path) if os.path.isfile(path) else None

    def get_blob(self, repository, digest, stream=True):
        path = self._blob_path(digest)
        if not os.path.isfile(path):
            raise OciRegistryError("blob %s is not in the layout %s" % (digest, self.path))
        return _BlobResponse(path, os.path.getsize(path))

    def upload_blob_stream(self, repository, stream, size, digest):
        path = self._blob_path(digest)
        handle, temp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
        hasher = hashlib.sha256()
        try:
            with os.fdopen(handle, "wb") as out:
                remaining = int(size)
                while remaining > 0:
                    chunk = stream.read(min(_CHUNK, remaining))
                    if not chunk:
                        break
                    hasher.update(chunk)
                    out.write(chunk)
                    remaining -= len(chunk)
            if "sha256:" + hasher.hexdigest() != digest:
                raise DigestMismatchError("blob %s: the bytes written to the layout hash to sha256:%s"
                                          % (digest, hasher.hexdigest()))
            os.chmod(temp, 0o644)
            os.replace(temp, path)
        finally:
            if os.path.exists(temp):
                os.unlink(temp)
        return digest

    def mount_blob(self, repository, digest, from_repository):
        return self.head_blob(repository, digest) is not None

    def referrers(self, repository, digest):
        return None  # referrers travel as sha256-<hex> tags in a layout


def layout_content(layout):
    """{repository: {tag: digest}} of a layout (referrer tags included, as the registry lists them)."""
    content = {}
    for repository, tag, entry in layout._entries():
        content.setdefault(repository, {})[tag] = entry["digest"]
    return content
