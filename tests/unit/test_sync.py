"""Unit tests of the oci_sync engine: selection, prefix rewrite, referrer tag scheme, manifest references,
the verifying blob reader, and the engine on in-memory registries (the referrers API path, which the
Distribution 2.8 of the integration tests does not have)."""

import hashlib
import io
import json
import threading

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils._client import (
    ConnectionOptions,
    RegistryClient,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import (
    InvalidParameterError,
    RegistryHTTPError,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._oci import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    ManifestRef,
    OciApi,
    sha256_digest,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._sync import (
    OciRegistryError,
    SourceReadError,
    SyncEngine,
    _BlobReader,
    _Once,
    destination_repository,
    is_referrer_tag,
    manifest_media_type,
    matches,
    references,
    referrer_tag,
    select,
    subject_of_referrer_tag,
)

from .fake_http import FakeServer

HEX = "ab" * 32


@pytest.mark.parametrize("name, patterns, expected", [
    ("team/app", ["*"], True),
    ("team/app", ["team/*"], True),
    ("team/sub/app", ["team/*"], True),  # * spans / : a namespace pattern takes everything below it
    ("teamx/app", ["team/*"], False),
    ("team", ["team/*"], False),
    ("team/app", ["team/app"], True),
    ("team/app2", ["team/app"], False),
    ("team/app2", ["team/app?"], True),
    ("team/app2", ["team/app[13]"], False),
    ("Team/App", ["team/*"], False),  # case-sensitive
    ("library/nginx", ["other/*", "library/n*"], True),
])
def test_repository_patterns(name, patterns, expected):
    assert matches(name, patterns) is expected


@pytest.mark.parametrize("tag, patterns, expected", [
    ("v1.2.3", ["v*"], True),
    ("latest", ["v*"], False),
    ("latest", ["v*", "latest"], True),
    ("1.0-rc1", ["*-rc*"], True),
    ("1.0", ["*-rc*"], False),
])
def test_tag_patterns(tag, patterns, expected):
    assert matches(tag, patterns) is expected


def test_select_sorts_and_removes_duplicates():
    assert select(["b/x", "a/y", "b/x", "c/z"], ["b/*", "a/*"]) == ["a/y", "b/x"]


@pytest.mark.parametrize("name, prefix, expected", [
    ("team/app", "", "team/app"),
    ("team/app", None, "team/app"),
    ("team/app", "mirror", "mirror/team/app"),
    ("team/app", "mirror/", "mirror/team/app"),
    ("team/app", "/mirror/", "mirror/team/app"),
    ("app", "a/b", "a/b/app"),
])
def test_prefix_rewrite(name, prefix, expected):
    assert destination_repository(name, prefix) == expected


@pytest.mark.parametrize("prefix", ["Mirror", "mirror//x", "-mirror", "mir ror"])
def test_invalid_prefix_is_refused_naming_the_option(prefix):
    with pytest.raises(InvalidParameterError, match="destination_prefix"):
        destination_repository("team/app", prefix)


@pytest.mark.parametrize("digest, tag", [
    ("sha256:" + HEX, "sha256-" + HEX),
    ("sha512:" + "cd" * 64, "sha512-" + "cd" * 32),  # the spec truncates the reference to 64 characters
])
def test_referrer_tag_scheme(digest, tag):
    assert referrer_tag(digest) == tag
    assert len(referrer_tag(digest)) <= 128


@pytest.mark.parametrize("tag, subject, scheme", [
    ("sha256-" + HEX, "sha256:" + HEX, True),
    ("sha256-" + HEX[:-1], None, False),  # too short
    ("sha256-" + HEX.upper(), None, False),  # the scheme uses lower-case hex
    ("sha256-" + HEX + ".sig", None, False),  # cosign's tag: an ordinary tag here
    ("sha512-" + "cd" * 32, None, True),  # truncated: a referrer tag, but its subject cannot be told from it
    ("v1", None, False),
])
def test_subject_of_referrer_tag(tag, subject, scheme):
    assert subject_of_referrer_tag(tag) == subject
    assert is_referrer_tag(tag) is scheme


def test_referrer_tag_of_a_non_digest_is_refused():
    with pytest.raises(InvalidParameterError):
        referrer_tag("latest")


def _descriptor(data, media_type):
    return {"mediaType": media_type, "digest": sha256_digest(data), "size": len(data)}


@pytest.mark.parametrize("media_type, document, children, blobs", [
    (OCI_INDEX, {"schemaVersion": 2, "manifests": [{"digest": "sha256:1"}, {"digest": "sha256:2"}]}, 2, 0),
    (DOCKER_MANIFEST_LIST, {"schemaVersion": 2, "manifests": [{"digest": "sha256:1"}]}, 1, 0),
    (OCI_MANIFEST, {"schemaVersion": 2, "config": {"digest": "sha256:c"}, "layers": [{"digest": "sha256:l"}],
                    "subject": {"digest": "sha256:s"}}, 0, 2),
    (DOCKER_MANIFEST, {"schemaVersion": 2, "config": {"digest": "sha256:c"}, "layers": []}, 0, 1),
    (None, {"schemaVersion": 2, "manifests": []}, 0, 0),
    ("application/vnd.oci.artifact.manifest.v1+json", {"blobs": [{"digest": "sha256:b"}]}, 0, 1),
])
def test_references(media_type, document, children, blobs):
    found_children, found_blobs = references(json.dumps(document).encode(), media_type)
    assert (len(found_children), len(found_blobs)) == (children, blobs)
    assert all(b["digest"] != "sha256:s" for b in found_blobs)  # the subject is not a blob to copy


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"schemaVersion": 1, "fsLayers": []}'])
def test_references_refuses_what_it_cannot_copy_faithfully(body):
    with pytest.raises(OciRegistryError):
        references(body, None)


@pytest.mark.parametrize("header, body, expected", [
    (OCI_MANIFEST, b"{}", OCI_MANIFEST),
    ("application/json", b'{"mediaType": "%s"}' % OCI_INDEX.encode(), OCI_INDEX),
    (None, b'{"mediaType": "%s"}' % DOCKER_MANIFEST.encode(), DOCKER_MANIFEST),
    (None, b"{}", "application/json"),
])
def test_manifest_media_type(header, body, expected):
    assert manifest_media_type(body, header) == expected


# -- the verifying reader --------------------------------------------------------------------------------


class _Raw:
    def __init__(self, data, fail_after=None):
        self.stream = io.BytesIO(data)
        self.fail_after = fail_after

    def read(self, amount, decode_content=True):
        assert decode_content is False  # bytes exactly as sent, never decoded
        if self.fail_after is not None and self.stream.tell() >= self.fail_after:
            raise ConnectionResetError("peer went away")
        return self.stream.read(amount if self.fail_after is None else min(amount, self.fail_after))


class _Response:
    def __init__(self, raw):
        self.raw = raw


def _drain(reader):
    chunks = []
    while True:
        chunk = reader.read(16384)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def test_reader_passes_the_bytes_and_checks_the_digest():
    data = bytes(range(256)) * 20000
    reader = _BlobReader(_Response(_Raw(data)), sha256_digest(data), len(data))
    assert _drain(reader) == data


@pytest.mark.parametrize("case", ["short", "broken", "wrong-bytes"])
def test_reader_raises_before_a_bad_blob_completes(case):
    data = b"x" * 300000
    digest = sha256_digest(data)
    if case == "short":
        raw = _Raw(data[:1000])
    elif case == "broken":
        raw = _Raw(data, fail_after=1000)
    else:
        raw = _Raw(b"y" * len(data))
    reader = _BlobReader(_Response(raw), digest, len(data))
    sent = []
    with pytest.raises(SourceReadError) as info:
        while True:
            chunk = reader.read(16384)
            if not chunk:
                break
            sent.append(chunk)
    assert digest in str(info.value)
    assert sum(len(c) for c in sent) < len(data)  # the last bytes never reach the destination


def test_once_runs_the_work_once_and_shares_the_outcome():
    once = _Once()
    calls = []
    gate = threading.Event()

    def work():
        calls.append(1)
        gate.wait(5)
        return "done"

    results = []
    threads = [threading.Thread(target=lambda: results.append(once.run("k", work))) for thread_number in range(5)]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert sorted(results) == [(False, "done")] * 4 + [(True, "done")]


# -- the engine on in-memory registries ----------------------------------------------------------------------


class _Options:
    retries = 2
    username = "user"


class _Client:
    options = _Options()

    def set_pool_size(self, size):
        self.pool = size

    def backoff(self, attempt):
        return 0


class MemoryRegistry:
    """The OciApi calls the engine makes, on dictionaries; ``referrers_api`` as a registry may offer it."""

    def __init__(self, referrers_api):
        self.referrers_api = referrers_api
        self.client = _Client()
        self.manifests = {}  # (repo, digest) -> (body, media type)
        self.tags_of = {}  # repo -> {tag: digest}
        self.blobs = {}  # (repo, digest) -> bytes
        self.writes = []

    # writing helpers for the test
    def add_manifest(self, repo, document, media_type, tag=None):
        body = json.dumps(document).encode()
        digest = sha256_digest(body)
        self.manifests[(repo, digest)] = (body, media_type)
        if tag:
            self.tags_of.setdefault(repo, {})[tag] = digest
        return {"mediaType": media_type, "digest": digest, "size": len(body)}

    def add_blob(self, repo, data):
        self.blobs[(repo, sha256_digest(data))] = data
        return {"mediaType": "application/octet-stream", "digest": sha256_digest(data), "size": len(data)}

    # the OciApi interface
    def catalog(self, page_size=100):
        return sorted(set(key[0] for key in self.manifests))

    def catalog_page(self, page_size=1000):
        names = self.catalog()
        return names[:page_size], len(names) <= page_size

    def tags(self, repo, page_size=100):
        self.tag_lists = getattr(self, "tag_lists", []) + [repo]
        return sorted(self.tags_of.get(repo, {}))

    def _resolve(self, repo, reference):
        return self.tags_of.get(repo, {}).get(reference, reference)

    def head_manifest(self, repo, reference):
        digest = self._resolve(repo, reference)
        if (repo, digest) not in self.manifests:
            return None
        body, media_type = self.manifests[(repo, digest)]
        return ManifestRef(digest, media_type, len(body))

    def get_manifest(self, repo, reference):
        digest = self._resolve(repo, reference)
        body, media_type = self.manifests[(repo, digest)]
        return ManifestRef(digest, media_type, len(body), body)

    def put_manifest(self, repo, reference, body, media_type):
        self.writes.append(("manifest", repo, reference))
        digest = sha256_digest(body)
        self.manifests[(repo, digest)] = (body, media_type)
        if ":" not in reference:
            self.tags_of.setdefault(repo, {})[reference] = digest
        return digest

    def head_blob(self, repo, digest):
        data = self.blobs.get((repo, digest))
        return None if data is None else len(data)

    def get_blob(self, repo, digest):
        data = self.blobs[(repo, digest)]
        response = _Response(_Raw(data))
        response.headers = {"Content-Length": str(len(data))}
        response.close = lambda: None
        return response

    def upload_blob_stream(self, repo, stream, size, digest, location=None):
        if location is None:
            self.posts = getattr(self, "posts", 0) + 1  # a fresh upload session
        else:
            self.sessions.remove((repo, location))  # a session a declined mount opened, used once
        data = _drain(stream)
        assert sha256_digest(data) == digest and len(data) == size
        self.writes.append(("blob", repo, digest))
        self.blobs[(repo, digest)] = data
        return digest

    def mount_or_open(self, repo, digest, from_repo):
        self.mount_attempts = getattr(self, "mount_attempts", 0) + 1
        if getattr(self, "refuse_mounts", False) == 403:
            raise RegistryHTTPError("POST", "http://registry/v2/%s/blobs/uploads/" % repo, 403)
        if (from_repo, digest) not in self.blobs or getattr(self, "refuse_mounts", False):
            self.sessions = getattr(self, "sessions", []) + [(repo, "session-%d" % self.mount_attempts)]
            return "session-%d" % self.mount_attempts
        self.writes.append(("mount", repo, digest))
        self.blobs[(repo, digest)] = self.blobs[(from_repo, digest)]
        return None

    def cancel_upload(self, location):
        self.sessions = [(r, l) for r, l in self.sessions if l != location]
        self.cancelled = getattr(self, "cancelled", []) + [location]

    def referrers(self, repo, digest):
        if not self.referrers_api:
            return None
        found = []
        for (r, d), (body, media_type) in sorted(self.manifests.items()):
            document = json.loads(body)
            if r == repo and (document.get("subject") or {}).get("digest") == digest:
                found.append({"mediaType": media_type, "digest": d, "size": len(body),
                              "artifactType": document.get("artifactType")})
        return found


class _MountWithoutSession(MemoryRegistry):
    """A destination that can mount, but not hand over the session of a declined mount (an OCI layout)."""

    mount_or_open = None

    def mount_blob(self, repo, digest, from_repo):
        location = MemoryRegistry.mount_or_open(self, repo, digest, from_repo)
        if location is not None:
            self.cancel_upload(location)
        return location is None


def _image(registry, repo, payload, tag=None, subject=None, artifact_type=None):
    config = registry.add_blob(repo, b'{"os":"linux","payload":"%s"}' % payload)
    layer = registry.add_blob(repo, payload * 100)
    document = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [layer]}
    if subject:
        document["subject"] = subject
        document["artifactType"] = artifact_type
    return registry.add_manifest(repo, document, OCI_MANIFEST, tag)


@pytest.fixture
def source():
    registry = MemoryRegistry(referrers_api=True)
    subject = _image(registry, "team/app", b"app", tag="v1")
    sbom = _image(registry, "team/app", b"sbom", subject=subject, artifact_type="application/spdx+json")
    _image(registry, "team/app", b"sig", subject=sbom, artifact_type="application/vnd.example.sig")
    child = _image(registry, "team/multi", b"arm")
    registry.add_manifest("team/multi", {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [child]}, OCI_INDEX,
                          "latest")
    registry.subject = subject
    registry.sbom = sbom
    return registry


@pytest.mark.parametrize("destination_has_api", [True, False])
def test_referrers_api_source(source, destination_has_api):
    destination = MemoryRegistry(referrers_api=destination_has_api)
    result = SyncEngine(source, destination, workers=2).run()
    assert result["errors"] == []
    assert result["summary"]["referrers_copied"] == 2  # the SBOM and the signature of the SBOM
    entry = [e for e in result["verification"] if e["repository"] == "team/app"][0]
    assert entry["status"] == "match" and entry["source_referrers"] == entry["destination_referrers"] == 1
    # every manifest arrived with the same bytes
    for key, stored in source.manifests.items():
        assert destination.manifests[key][0] == stored[0]
    # referrers came after their subject
    order = [reference for kind, repo, reference in destination.writes if kind == "manifest" and repo == "team/app"]
    assert order.index("v1") < order.index(source.sbom["digest"])
    # a destination without the referrers API gets the referrer tags instead
    tags = set(destination.tags("team/app"))
    if destination_has_api:
        assert tags == {"v1"}
    else:
        assert tags == {"v1", referrer_tag(source.subject["digest"]), referrer_tag(source.sbom["digest"])}
        index = json.loads(destination.get_manifest("team/app", referrer_tag(source.subject["digest"])).body)
        assert [d["digest"] for d in index["manifests"]] == [source.sbom["digest"]]
        assert index["manifests"][0]["artifactType"] == "application/spdx+json"

    again = SyncEngine(source, destination, workers=2).run()
    assert again["changed"] is False and again["errors"] == []


def test_check_mode_writes_nothing_and_counts_what_would_move(source):
    destination = MemoryRegistry(referrers_api=False)
    plan = SyncEngine(source, destination, check_mode=True).run()
    assert destination.writes == []
    result = SyncEngine(source, destination).run()
    assert plan["changed"] and result["changed"]
    for counter in ("manifests_copied", "blobs_uploaded", "bytes_uploaded", "tags_copied"):
        assert plan["summary"][counter] == result["summary"][counter], counter
    assert sorted(plan["copied"]) == sorted(result["copied"]) == ["team/app:v1", "team/multi:latest"]


def test_unknown_literal_repository_is_an_error_naming_it(source):
    result = SyncEngine(source, MemoryRegistry(referrers_api=False), repositories=["team/nope"]).run()
    assert result["errors"] == ["repository 'team/nope': repository 'team/nope' has no tags on the source "
                                "(or does not exist there)"]


@pytest.mark.parametrize("workers", [0, 65, "8"])
def test_workers_bounds(source, workers):
    with pytest.raises(InvalidParameterError, match="workers"):
        SyncEngine(source, MemoryRegistry(referrers_api=False), workers=workers)


def test_digest_checked_on_every_transfer(source):
    # the source serves different bytes under a digest: the copy is refused, never stored
    key = next(k for k in source.blobs if source.blobs[k].startswith(b"app"))
    source.blobs[key] = b"tampered" + source.blobs[key][8:]
    destination = MemoryRegistry(referrers_api=False)
    result = SyncEngine(source, destination, repositories=["team/app"], retries=1).run()
    assert len(result["errors"]) == 1
    assert "team/app" in result["errors"][0] and hashlib.sha256(b"").hexdigest() not in result["errors"][0]
    assert "could not be copied after 2 attempts" in result["errors"][0]
    assert key not in destination.blobs


def _shared_base(repositories=("a/one", "a/two", "a/three")):
    source = MemoryRegistry(referrers_api=False)
    shared = source.add_blob("a/one", b"shared base layer")
    for repo in repositories:
        source.blobs[(repo, shared["digest"])] = b"shared base layer"
        config = source.add_blob(repo, repo.encode())
        source.add_manifest(repo, {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config,
                                   "layers": [shared]}, OCI_MANIFEST, "v1")
    return source, shared


# posts: fresh upload sessions (POST without mount): 3 configs and the shared layer once, plus one for each
# upload of the shared layer that no declined mount opened a session for.
@pytest.mark.parametrize("destination_class, refuse_mounts, attempts, posts", [
    (MemoryRegistry, False, 2, 4),
    (MemoryRegistry, True, 2, 4),  # declined: each decline's upload session takes the upload; mounts stay on
    (MemoryRegistry, 403, 1, 6),  # refused: not asked again
    (_MountWithoutSession, True, 1, 6),  # declined, its session cancelled: not asked again
])
def test_shared_blobs_are_mounted_or_uploaded_once_per_repository(destination_class, refuse_mounts, attempts, posts):
    source, shared = _shared_base()
    destination = destination_class(referrers_api=False)
    destination.refuse_mounts = refuse_mounts
    result = SyncEngine(source, destination, workers=1 if refuse_mounts else 4).run()
    assert result["errors"] == []
    uploads = [w for w in destination.writes if w[0] == "blob" and w[2] == shared["digest"]]
    mounts = [w for w in destination.writes if w[0] == "mount"]
    if refuse_mounts:
        assert len(uploads) == 3 and mounts == []
    else:
        assert len(uploads) == 1 and len(mounts) == 2
    assert destination.mount_attempts == attempts
    assert result["summary"]["blobs_mounted"] == len(mounts)
    assert getattr(destination, "sessions", []) == []  # every session opened was used or cancelled
    assert destination.posts == posts


def test_declined_mount_session_cancelled_when_the_blob_is_there_already():
    source, shared = _shared_base(("a/one", "a/two"))
    destination = MemoryRegistry(referrers_api=False)
    destination.refuse_mounts = True
    destination.blobs[("a/two", shared["digest"])] = b"shared base layer"  # an earlier, interrupted run
    result = SyncEngine(source, destination, workers=1).run()
    assert result["errors"] == [] and result["summary"]["blobs_present"] == 1
    assert destination.mount_attempts == 1 and destination.cancelled == ["session-1"]
    assert [w for w in destination.writes if w[0] == "blob" and w[2] == shared["digest"]] == [
        ("blob", "a/one", shared["digest"])]


OTHER = sha256_digest(b"{}")


class _MovingTags(MemoryRegistry):
    """A destination where someone else moves every tag right after it was pushed."""

    def put_manifest(self, repo, reference, body, media_type):
        digest = super().put_manifest(repo, reference, body, media_type)
        if ":" not in reference:
            self.manifests[(repo, OTHER)] = (b"{}", OCI_MANIFEST)
            self.tags_of[repo][reference] = OTHER
        return digest


class _LosingReferrers(MemoryRegistry):
    """A destination with the referrers API that never lists any referrer."""

    def referrers(self, repo, digest):
        return []


@pytest.mark.parametrize("destination_class, wrong", [(_MovingTags, "digest"), (_LosingReferrers, "referrers")])
def test_verification_reports_every_difference(source, destination_class, wrong):
    destination = destination_class(referrers_api=True)
    result = SyncEngine(source, destination, repositories=["team/app"]).run()
    entry = result["verification"][0]
    assert entry["status"] == "mismatch"
    if wrong == "digest":
        assert entry["destination_digest"] == OTHER != entry["source_digest"]
    else:
        assert (entry["source_referrers"], entry["destination_referrers"]) == (1, 0)
    assert result["errors"] == [
        "team/app:v1 differs after the copy: source %s with %s referrer(s), destination team/app:v1 is %s with %s"
        % (entry["source_digest"], entry["source_referrers"], entry["destination_digest"],
           entry["destination_referrers"])]


class _HeadWithoutDigest(MemoryRegistry):
    """A registry whose HEAD answers carry no Docker-Content-Digest header."""

    def head_manifest(self, repo, reference):
        found = super().head_manifest(repo, reference)
        return None if found is None else ManifestRef(None, found.media_type, found.size)


def test_destination_without_digest_header_is_compared_by_its_bytes(source):
    destination = _HeadWithoutDigest(referrers_api=False)
    first = SyncEngine(source, destination).run()
    assert first["changed"] and first["errors"] == []
    again = SyncEngine(source, destination).run()
    assert again["changed"] is False and again["errors"] == []
    assert set(e["status"] for e in again["verification"]) == {"match"}


class _NoCatalog(MemoryRegistry):
    """A registry that does not let this user read its catalog."""

    def catalog_page(self, page_size=1000):
        return None


class _LongCatalog(MemoryRegistry):
    """A registry whose catalog does not fit in one page."""

    def catalog_page(self, page_size=1000):
        return super().catalog_page(page_size)[0][:1], False


@pytest.mark.parametrize("destination_class, listed", [
    (MemoryRegistry, ["team/app"]),  # the catalog says team/multi is not there: no need to list its tags
    (_NoCatalog, ["team/app", "team/multi"]),
    (_LongCatalog, ["team/app", "team/multi"]),
])
def test_destination_tags_listed_only_for_repositories_its_catalog_has(source, destination_class, listed):
    destination = destination_class(referrers_api=False)
    first = SyncEngine(source, destination, repositories=["team/app"]).run()
    assert first["errors"] == []
    destination.tag_lists = []
    result = SyncEngine(source, destination).run()
    assert result["errors"] == [] and result["copied"] == ["team/multi:latest"]
    assert sorted(destination.tag_lists) == listed
    assert set(e["status"] for e in result["verification"]) == {"match"}
    assert [e["destination_referrers"] for e in result["verification"] if e["repository"] == "team/app"] == [1]


@pytest.mark.parametrize("status, headers, expected", [
    (200, {}, (["a/one", "b/two"], True)),
    (200, {"Link": '</v2/_catalog?last=b%2Ftwo&n=2>; rel="next"'}, (["a/one", "b/two"], False)),
    (401, {}, None),  # administrators only (Distribution behind the collection's front, Harbor)
    (403, {}, None),
])
def test_catalog_page_is_one_request(status, headers, expected):
    body = {"repositories": ["a/one", "b/two"]} if status == 200 else {"errors": [{"code": "DENIED"}]}
    with FakeServer(lambda req: (status, headers, body)) as srv:
        api = OciApi(RegistryClient(ConnectionOptions(srv.url, username="u", password="p", retries=0)))
        assert api.catalog_page(page_size=2) == expected
    assert [(r.method, r.path, r.query) for r in srv.requests] == [("GET", "/v2/_catalog", {"n": ["2"]})]


def test_destination_catalog_not_walked_beyond_twenty_entries_per_repository(source):
    destination = MemoryRegistry(referrers_api=False)
    for index in range(41):  # 2 repositories to copy: a page of 40 does not hold this catalog
        destination.add_manifest("other/repo%02d" % index, {"schemaVersion": 2}, OCI_MANIFEST, "v1")
    result = SyncEngine(source, destination).run()
    assert result["errors"] == []
    assert sorted(destination.tag_lists) == ["team/app", "team/multi"]
