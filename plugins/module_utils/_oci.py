# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""OCI distribution-spec calls (v1.1), on top of RegistryClient.

Manifests are always requested with the full Accept list: Distribution answers 404
for an OCI manifest whose media type the request did not accept.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import (
    DigestMismatchError,
    InvalidParameterError,
    OciRegistryError,
)

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST_MEDIA_TYPES = (OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST)
INDEX_MEDIA_TYPES = (OCI_INDEX, DOCKER_MANIFEST_LIST)
ACCEPT_MANIFESTS = ", ".join(MANIFEST_MEDIA_TYPES)
API_VERSION_HEADER = "Docker-Distribution-API-Version"

# OCI distribution spec: <name> is path components of [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* joined by "/".
_NAME_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
REPOSITORY_RE = re.compile(r"^%s(?:/%s)*$" % (_NAME_COMPONENT, _NAME_COMPONENT))
TAG_RE = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$")
DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")


def validate_repository(name, what="repository"):
    if not isinstance(name, str) or not REPOSITORY_RE.match(name) or len(name) > 255:
        raise InvalidParameterError(
            "%s %r is not a valid OCI repository name: lower-case letters and digits, separated by '.', '_', '__' "
            "or '-', in components joined by '/', at most 255 characters" % (what, name)
        )
    return name


def validate_reference(ref):
    if not isinstance(ref, str) or not (TAG_RE.match(ref) or DIGEST_RE.match(ref)):
        raise InvalidParameterError(
            "%r is neither a tag ([a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}) nor a digest (algorithm:hex)" % (ref,)
        )
    return ref


def sha256_digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class ManifestRef:
    """What a HEAD or GET of a manifest told: digest, media type, size, body (GET only)."""

    def __init__(self, digest, media_type, size, body=None):
        self.digest = digest
        self.media_type = media_type
        self.size = size
        self.body = body

    def __repr__(self):
        return "ManifestRef(%r, %r, %r)" % (self.digest, self.media_type, self.size)


def _with_query(url, **extra):
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + sorted(extra.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


class OciApi:
    """Distribution-spec endpoints of one registry."""

    def __init__(self, client):
        self.client = client

    # -- base -----------------------------------------------------------------
    def ping(self, auth=True):
        """GET /v2/ -> (status, api_version header, response headers). Any status is returned."""
        response = self.client.request("GET", "/v2/", expected=None, auth=auth)
        response.close()
        return response.status_code, response.headers.get(API_VERSION_HEADER), response.headers

    def catalog(self, page_size=100):
        return list(self.client.paginate("/v2/_catalog", key="repositories", page_size=page_size))

    def catalog_page(self, page_size=1000):
        """(repositories of the first catalog page, whether they are all of them); None when the registry does
        not let this user read its catalog (many allow it to administrators only)."""
        response = self.client.request("GET", "/v2/_catalog", expected=(200, 401, 403, 404), params={"n": page_size})
        if response.status_code != 200:
            response.close()
            return None
        try:
            data = response.json()
        except ValueError:
            raise OciRegistryError("GET %s answered with a body that is not JSON" % self.client.url("/v2/_catalog"))
        names = data.get("repositories") if isinstance(data, dict) else None
        return list(names or []), not response.links.get("next")

    def tags(self, repository, page_size=100):
        path = "/v2/%s/tags/list" % repository
        response = self.client.request("GET", path, expected=(200, 404), params={"n": page_size} if page_size else None)
        if response.status_code == 404:
            response.close()
            return []
        return list(self.client.paginate(path, key="tags", page_size=page_size, first=response))

    # -- manifests --------------------------------------------------------------
    def head_manifest(self, repository, reference):
        """ManifestRef or None when the registry does not have it."""
        response = self.client.request("HEAD", "/v2/%s/manifests/%s" % (repository, reference), expected=(200, 404),
                                       headers={"Accept": ACCEPT_MANIFESTS})
        if response.status_code == 404:
            return None
        return ManifestRef(response.headers.get("Docker-Content-Digest"), _media_type(response),
                           int(response.headers.get("Content-Length") or 0))

    def get_manifest(self, repository, reference):
        """ManifestRef with the body exactly as stored; verifies the digest when reference is one."""
        response = self.client.request("GET", "/v2/%s/manifests/%s" % (repository, reference),
                                       headers={"Accept": ACCEPT_MANIFESTS})
        body = response.content
        digest = sha256_digest(body)
        if DIGEST_RE.match(reference) and reference.startswith("sha256:") and reference != digest:
            raise DigestMismatchError("manifest %s@%s has digest %s" % (repository, reference, digest))
        header = response.headers.get("Docker-Content-Digest")
        if header and header.startswith("sha256:") and header != digest:
            raise DigestMismatchError("manifest %s:%s: the registry says %s, its bytes hash to %s"
                                      % (repository, reference, header, digest))
        return ManifestRef(digest, _media_type(response), len(body), body)

    def put_manifest(self, repository, reference, body, media_type):
        response = self.client.request("PUT", "/v2/%s/manifests/%s" % (repository, reference), expected=(201,),
                                       headers={"Content-Type": media_type}, data=body)
        response.close()
        digest = sha256_digest(body)
        returned = response.headers.get("Docker-Content-Digest")
        if returned and returned.startswith("sha256:") and returned != digest:
            raise DigestMismatchError("the registry stored manifest %s:%s as %s, expected %s"
                                      % (repository, reference, returned, digest))
        return digest

    def delete_manifest(self, repository, digest):
        """Delete by digest; False when it was already gone."""
        response = self.client.request("DELETE", "/v2/%s/manifests/%s" % (repository, digest), expected=(202, 200, 404))
        response.close()
        return response.status_code != 404

    # -- blobs --------------------------------------------------------------------
    def head_blob(self, repository, digest):
        """Size of the blob, or None when the repository does not have it."""
        response = self.client.request("HEAD", "/v2/%s/blobs/%s" % (repository, digest), expected=(200, 404))
        if response.status_code == 404:
            return None
        return int(response.headers.get("Content-Length") or 0)

    def get_blob(self, repository, digest, stream=True):
        """The response, streaming; the caller reads it (iter_content) and closes it."""
        return self.client.request("GET", "/v2/%s/blobs/%s" % (repository, digest), stream=stream)

    def read_blob(self, repository, digest):
        """The whole blob (small blobs only), verified against its digest."""
        response = self.get_blob(repository, digest, stream=False)
        data = response.content
        if digest.startswith("sha256:") and sha256_digest(data) != digest:
            raise DigestMismatchError("blob %s@%s does not hash to its digest" % (repository, digest))
        return data

    def start_upload(self, repository):
        response = self.client.request("POST", "/v2/%s/blobs/uploads/" % repository, expected=(202,))
        response.close()
        return self._location(response)

    def upload_blob(self, repository, data, digest=None):
        """Monolithic upload (POST then PUT with the bytes). Returns the digest."""
        digest = digest or sha256_digest(data)
        location = self.start_upload(repository)
        self._finish(location, digest, data)
        return digest

    def upload_blob_chunked(self, repository, chunks, digest):
        """Chunked upload: PATCH each chunk with its Content-Range, then PUT ?digest=."""
        location = self.start_upload(repository)
        offset = 0
        for chunk in chunks:
            end = offset + len(chunk) - 1
            response = self.client.request("PATCH", location, expected=(202,), data=chunk, headers={
                "Content-Type": "application/octet-stream",
                "Content-Range": "%d-%d" % (offset, end),
                "Content-Length": str(len(chunk)),
            })
            response.close()
            location = self._location(response)
            offset = end + 1
        self._finish(location, digest, None)
        return digest

    def upload_blob_stream(self, repository, stream, size, digest, location=None):
        """Monolithic upload of ``size`` bytes read from ``stream`` (anything with ``read(n)``): POST, then
        one PUT that sends the bytes as they are read, so memory does not grow with the blob.
        ``location``: an upload session already open (the one a declined mount opened): no POST.

        Not retried here (a stream cannot be replayed): on any failure the upload session is cancelled
        and the error raised, for the caller to start again with a fresh stream. Returns the digest.
        """
        location = location or self.start_upload(repository)
        try:
            response = self.client.request("PUT", _with_query(location, digest=digest), expected=(201,),
                                           data=_SizedBody(stream, size),
                                           headers={"Content-Type": "application/octet-stream"})
        except Exception:
            self.cancel_upload(location)
            raise
        response.close()
        returned = response.headers.get("Docker-Content-Digest")
        if returned and returned != digest:
            raise DigestMismatchError("the registry stored blob %s as %s" % (digest, returned))
        return digest

    def referrers(self, repository, digest):
        """Descriptors of the manifests whose ``subject`` is ``digest`` (OCI 1.1 referrers API), following
        Link pagination; None when the registry does not offer the API (it answers 404 for the endpoint)."""
        path = "/v2/%s/referrers/%s" % (repository, digest)
        response = self.client.request("GET", path, expected=(200, 404), headers={"Accept": OCI_INDEX})
        if response.status_code == 404:
            response.close()
            return None
        descriptors = []
        seen = set()
        while True:
            try:
                data = response.json()
            except ValueError:
                raise OciRegistryError("GET %s answered with a body that is not JSON" % self.client.url(path))
            descriptors.extend(d for d in (data.get("manifests") or []) if isinstance(d, dict))
            next_link = response.links.get("next", {}).get("url")
            if not next_link:
                return descriptors
            url = urljoin(response.url, next_link)
            if url in seen:
                raise OciRegistryError("pagination loop: the registry sent %s twice as the next page" % url)
            seen.add(url)
            response = self.client.request("GET", url, headers={"Accept": OCI_INDEX})

    def mount_blob(self, repository, digest, from_repository):
        """Cross-repository mount. True when mounted; False when the registry would not
        (the upload session it opened instead is cancelled)."""
        location = self.mount_or_open(repository, digest, from_repository)
        if location is None:
            return True
        self.client.request("DELETE", location, expected=None).close()
        return False

    def mount_or_open(self, repository, digest, from_repository):
        """Cross-repository mount: None when mounted (201); else the URL of the upload session the registry
        opened instead (202), for ``upload_blob_stream(location=...)`` or ``cancel_upload``."""
        response = self.client.request("POST", "/v2/%s/blobs/uploads/" % repository, expected=(201, 202),
                                       params={"mount": digest, "from": from_repository})
        response.close()
        return None if response.status_code == 201 else self._location(response)

    def cancel_upload(self, location):
        """Cancel an upload session, best effort: the registry purges abandoned uploads itself."""
        try:
            self.client.request("DELETE", location, expected=None).close()
        except Exception:  # pylint: disable=broad-except
            pass

    def _finish(self, location, digest, data):
        headers = {"Content-Type": "application/octet-stream"}
        if data is not None:
            headers["Content-Length"] = str(len(data)) if isinstance(data, (bytes, str)) else headers.get("Content-Length")
        else:
            headers["Content-Length"] = "0"
        headers = dict((k, v) for k, v in headers.items() if v is not None)
        response = self.client.request("PUT", _with_query(location, digest=digest), expected=(201,), data=data,
                                       headers=headers)
        response.close()
        returned = response.headers.get("Docker-Content-Digest")
        if returned and returned != digest:
            raise DigestMismatchError("the registry stored blob %s as %s" % (digest, returned))

    def _location(self, response):
        location = response.headers.get("Location")
        if not location:
            raise OciRegistryError("%s %s answered %s without a Location header"
                                   % (response.request.method, response.url, response.status_code))
        return urljoin(response.url, location)


class _SizedBody:
    """A request body of known length read in pieces: requests sends Content-Length and the bytes as they
    are read (no ``__iter__`` on purpose: with one, requests would switch to chunked transfer encoding)."""

    def __init__(self, stream, size):
        self._stream = stream
        self._size = int(size)

    def read(self, amount=-1):
        return self._stream.read(amount)

    def __len__(self):
        return self._size


def _media_type(response):
    return (response.headers.get("Content-Type") or "").split(";")[0].strip() or None
