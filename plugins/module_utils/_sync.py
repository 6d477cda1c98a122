# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""The copy engine of oci_sync: repositories from one registry to another, bit for bit.

What it guarantees, and how:

- Bytes as they are: manifests are read and written as the bytes the source stored (never parsed and
  re-serialised), blobs are streamed from the source's response into the destination's upload and
  hashed on the way; nothing is decompressed, recompressed or converted, so every digest stays.
- Whole graphs: an index brings every child manifest; referrers (signatures, SBOMs) come after their
  subject, through the referrers API where the source offers it, else through the ``sha256-<hex>``
  tag scheme of OCI distribution-spec 1.1.
- Nothing twice: a manifest present on the destination (same digest) is not sent again, and neither is
  anything below it (a registry accepts a manifest only when everything it references is there); a
  blob is HEAD-checked before upload, mounted from another destination repository that holds it (a
  registry that declines a mount opens an upload session instead: that session takes the upload),
  uploaded once when several repositories need it at the same time. A run killed at any point, run
  again, finishes without re-sending what landed.
- Few requests: the destination's tags are listed only for repositories its catalog has (when this
  user may read it, in one page); a tag present there costs one HEAD, which is also its verification.
- Bounded memory: blobs are never held in memory; a transfer keeps one chunk in flight.
- Parallel: tag tasks and blob transfers run on two pools of ``workers`` threads (two pools, so that a
  task waiting for its blobs never holds a slot a blob needs).
- A dropped source connection mid-blob is retried from a fresh stream; the bytes are verified
  against the digest before the last chunk is sent, so a bad copy never lands.
- Check mode is a plan: every read happens, no write; the same counters say what would be copied.
- Every selected repository:tag ends in a verification entry (source digest, destination digest,
  referrer counts); any difference is reported as a failure.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import (
    DigestMismatchError,
    InvalidParameterError,
    OciRegistryError,
    RegistryConnectionError,
    RegistryHTTPError,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._oci import (
    INDEX_MEDIA_TYPES,
    OCI_INDEX,
    validate_repository,
)

CHUNK_SIZE = 1024 * 1024
REFUSED_STATUSES = (401, 403, 405)
_GLOB_CHARS = re.compile(r"[*?\[]")
# OCI distribution-spec 1.1, "referrers tag schema": <alg>-<ref>, alg truncated to 32 and ref to 64 characters.
REFERRER_TAG_RE = re.compile(r"^([a-z0-9]{1,32})-([0-9a-f]{64})$")
_HEX_LENGTHS = {"sha256": 64, "sha512": 128}


# -- pure helpers (unit tested) ------------------------------------------------------


def matches(name, patterns):
    """True when ``name`` matches one of the glob ``patterns`` (fnmatch, case-sensitive; ``*`` spans ``/``)."""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def is_literal(pattern):
    return not _GLOB_CHARS.search(pattern)


def select(names, patterns):
    """The names matching any pattern, sorted and without duplicates."""
    return sorted(set(n for n in names if matches(n, patterns)))


def destination_repository(name, prefix):
    """Where repository ``name`` lands: ``prefix/name`` (one slash between them), validated."""
    prefix = (prefix or "").strip("/")
    target = "%s/%s" % (prefix, name) if prefix else name
    return validate_repository(target, "destination repository (destination_prefix + repository)")


def referrer_tag(digest):
    """The fallback tag that lists the referrers of ``digest``: ``sha256:abc...`` -> ``sha256-abc...``."""
    algorithm, hexpart = digest.partition(":")[::2]
    if not algorithm or not hexpart:
        raise InvalidParameterError("%r is not a digest (algorithm:hex)" % (digest,))
    return "%s-%s" % (algorithm[:32], hexpart[:64])


def is_referrer_tag(tag):
    return bool(REFERRER_TAG_RE.match(tag))


def subject_of_referrer_tag(tag):
    """The subject digest a referrer tag stands for (``sha256-<hex>`` -> ``sha256:<hex>``), or None."""
    match = REFERRER_TAG_RE.match(tag)
    if not match or _HEX_LENGTHS.get(match.group(1)) != len(match.group(2)):
        return None
    return "%s:%s" % (match.group(1), match.group(2))


def references(body, media_type):
    """(child manifest descriptors, blob descriptors) of a manifest given as bytes.

    An index lists manifests; an image (or artifact) manifest has a config and layers. ``subject`` is
    not a reference to copy: the subject is copied first, as a tag or as another referrer's subject.
    """
    try:
        data = json.loads(body)
    except ValueError:
        raise OciRegistryError("a manifest of media type %s is not JSON" % media_type)
    if not isinstance(data, dict):
        raise OciRegistryError("a manifest of media type %s is not a JSON object" % media_type)
    media_type = media_type or data.get("mediaType")
    if data.get("schemaVersion") == 1:
        raise OciRegistryError("Docker schema 1 manifests are not supported (convert them to schema 2 first)")
    if media_type in INDEX_MEDIA_TYPES or (media_type is None and "manifests" in data):
        return [d for d in data.get("manifests") or [] if isinstance(d, dict)], []
    blobs = []
    if isinstance(data.get("config"), dict):
        blobs.append(data["config"])
    blobs.extend(d for d in data.get("layers") or [] if isinstance(d, dict))
    blobs.extend(d for d in data.get("blobs") or [] if isinstance(d, dict))  # ORAS artifact manifests
    return [], blobs


def manifest_media_type(body, header_type):
    """The media type to PUT a manifest with: the source's Content-Type, else the manifest's mediaType."""
    if header_type and header_type not in ("application/json", "text/plain", "application/octet-stream"):
        return header_type
    try:
        data = json.loads(body)
    except ValueError:
        data = {}
    return (data.get("mediaType") if isinstance(data, dict) else None) or header_type or "application/json"


class SyncError(OciRegistryError):
    """One repository could not be copied; the message names it."""


class SourceReadError(Exception):
    """The source stopped or sent wrong bytes while a blob streamed (the transfer starts again).

    Deliberately not an OSError: raised from inside the upload's body, it must not be taken by the
    HTTP stack for a failure of the destination connection.
    """


# -- counters, shared state --------------------------------------------------------------

COUNTERS = ("repositories", "tags", "tags_copied", "tags_unchanged", "manifests_copied", "blobs_uploaded",
            "blobs_mounted", "blobs_present", "bytes_uploaded", "referrers_copied", "retries")


class Stats:
    def __init__(self):
        self._lock = threading.Lock()
        self.values = dict.fromkeys(COUNTERS, 0)

    def add(self, name, amount=1):
        with self._lock:
            self.values[name] += amount


class _Once:
    """Runs work for a key once per run; later callers wait for the first and share its outcome."""

    def __init__(self):
        self._lock = threading.Lock()
        self._entries = {}

    def run(self, key, work):
        with self._lock:
            entry = self._entries.get(key)
            owner = entry is None
            if owner:
                entry = self._entries[key] = {"done": threading.Event(), "error": None, "value": None}
        if owner:
            try:
                entry["value"] = work()
            except BaseException as exc:
                entry["error"] = exc
                raise
            finally:
                entry["done"].set()
            return True, entry["value"]
        entry["done"].wait()
        if entry["error"] is not None:
            raise entry["error"]
        return False, entry["value"]


class _BlobReader:
    """Reads one blob from the source's streaming response; verifies size and digest on the way.

    The digest is checked when the last byte has been read, before that last chunk is handed to the
    upload: a blob whose bytes do not hash to its digest is never completed on the destination.
    """

    def __init__(self, response, digest, size):
        self.response = response
        self.digest = digest
        self.remaining = size
        algorithm = digest.partition(":")[0]
        try:
            self.hash = hashlib.new(algorithm)
        except ValueError:
            raise OciRegistryError("blob %s uses digest algorithm %r, which this host cannot compute" % (digest, algorithm))
        self.read_bytes = 0

    def read(self, amount=-1):
        if self.remaining <= 0:
            return b""
        try:
            chunk = self.response.raw.read(min(CHUNK_SIZE, self.remaining), decode_content=False)
        except Exception as exc:  # pylint: disable=broad-except
            raise SourceReadError("the source connection broke after %d bytes of blob %s (%s)"
                                  % (self.read_bytes, self.digest, exc.__class__.__name__))
        if not chunk:
            raise SourceReadError("the source ended blob %s after %d of %d bytes"
                                  % (self.digest, self.read_bytes, self.read_bytes + self.remaining))
        chunk = chunk[:self.remaining]
        self.read_bytes += len(chunk)
        self.remaining -= len(chunk)
        self.hash.update(chunk)
        if self.remaining == 0 and "%s:%s" % (self.digest.partition(":")[0], self.hash.hexdigest()) != self.digest:
            raise SourceReadError("blob %s: the %d bytes the source sent hash to %s:%s"
                                  % (self.digest, self.read_bytes, self.digest.partition(":")[0], self.hash.hexdigest()))
        return chunk


class _UploadSession:
    """An upload session a declined mount opened on the destination, until an upload uses it (``take``) or
    it is cancelled (``cancel``, a no-op once taken)."""

    def __init__(self, api):
        self.api = api
        self.location = None

    def hold(self, location):
        self.cancel()
        self.location = location

    def take(self):
        location, self.location = self.location, None
        return location

    def cancel(self):
        location = self.take()
        if location is not None:
            self.api.cancel_upload(location)


class _Repo:
    """What the engine knows about one repository during a run."""

    def __init__(self, source, destination):
        self.source = source
        self.destination = destination
        self.tags = []  # selected tags, in order
        self.referrer_tags = set()  # referrer tags (sha256-<hex>) present in the source
        self.destination_tags = set()  # tags the destination repository has (listed first, then pushed)
        self.manifests = {}  # digest -> (body, media type) read from the source in this run
        self.pushed_tags = set()
        self.results = {}  # tag -> dict(source_digest, destination_digest, copied)
        self.referrer_counts = {}  # subject digest -> number of referrers on the source
        self.error = None
        self.lock = threading.Lock()


# -- the engine ------------------------------------------------------------------------------


class SyncEngine:
    """Copies selected repositories and tags from ``source`` to ``destination`` (two OciApi)."""

    def __init__(self, source, destination, repositories=None, tags=None, destination_prefix="", workers=8,
                 check_mode=False, retries=None, sleep=time.sleep):
        if not isinstance(workers, int) or workers < 1 or workers > 64:
            raise InvalidParameterError("workers must be between 1 and 64, got %r" % (workers,))
        self.source = source
        self.destination = destination
        self.repository_patterns = list(repositories or ["*"])
        self.tag_patterns = list(tags or ["*"])
        self.prefix = (destination_prefix or "").strip("/")
        if self.prefix:
            destination_repository("x", self.prefix)  # a bad prefix fails before anything is read
        self.workers = workers
        self.check_mode = check_mode
        self.retries = source.client.options.retries if retries is None else retries
        self._sleep = sleep
        self.stats = Stats()
        self._nodes = _Once()
        self._blob_checks = _Once()
        self._blob_lock = threading.Lock()
        self._blob_states = {}  # digest -> {"done": Event, "location": destination repository or None}
        self._referrers_api = {}  # "source"/"destination" -> bool, probed once
        self._probe_lock = threading.Lock()
        self._mounts = True  # False once the destination refused a mount (or declined one it cannot hand over)
        self._destination_repositories = None  # what the destination's catalog lists, when it could be read whole
        self.copied = []
        for api in (source, destination):
            api.client.set_pool_size(2 * workers + 4)

    # -- selection ---------------------------------------------------------------------
    def list_repositories(self):
        if all(is_literal(p) for p in self.repository_patterns):
            names = list(self.repository_patterns)
        else:
            names = self.source.catalog(page_size=1000)
        selected = select(names, self.repository_patterns)
        for name in selected:
            validate_repository(name)
        return selected

    def _list_tags(self, repo):
        tags = self.source.tags(repo.source, page_size=1000)
        if not tags and all(is_literal(p) for p in self.repository_patterns):
            raise SyncError("repository %r has no tags on the source (or does not exist there)" % repo.source)
        for tag in tags:
            if is_referrer_tag(tag):
                repo.referrer_tags.add(tag)
            elif matches(tag, self.tag_patterns):
                repo.tags.append(tag)
        repo.tags.sort()
        present = self._destination_repositories
        if repo.tags and (present is None or repo.destination in present):
            repo.destination_tags.update(self.destination.tags(repo.destination, page_size=1000))

    def _read_destination_catalog(self, repos):
        """One request instead of one per repository the destination does not have yet (a first copy): the
        destination's catalog, when it lets this user read it and it fits in one page of at most 20 entries per
        repository to copy (a registry walks its storage for the catalog: a large destination is not walked
        for a small copy). A repository missing from it has no tags there; blobs are still HEAD-checked one by
        one (a run killed before any manifest landed leaves blobs in repositories no catalog lists)."""
        catalog_page = getattr(self.destination, "catalog_page", None)  # an OCI layout (oci_layout) has none
        if len(repos) < 2 or catalog_page is None:
            return
        page = catalog_page(page_size=min(1000, 20 * len(repos)))
        if page is not None and page[1]:
            self._destination_repositories = frozenset(page[0])

    # -- run -----------------------------------------------------------------------------
    def run(self):
        names = self.list_repositories()
        repos = [_Repo(name, destination_repository(name, self.prefix)) for name in names]
        self.stats.add("repositories", len(repos))
        self._read_destination_catalog(repos)
        with ThreadPoolExecutor(self.workers, thread_name_prefix="oci-sync-task") as tasks, \
                ThreadPoolExecutor(self.workers, thread_name_prefix="oci-sync-blob") as blobs:
            self._blob_pool = blobs
            self._for_each(tasks, repos, [(repo, None) for repo in repos], self._list_tags_task)
            work = [(repo, tag) for repo in repos if repo.error is None for tag in repo.tags]
            self.stats.add("tags", len(work))
            self._for_each(tasks, repos, work, self._inspect_task)
            # Largest copies first, so that the long transfers overlap everything else (LPT scheduling).
            work = [(repo, tag) for repo, tag in work if repo.error is None and tag in repo.results]
            work.sort(key=lambda item: -item[0].results[item[1]]["weight"])
            self._for_each(tasks, repos, work, self._tag_task)
            self._for_each(tasks, repos, [(repo, None) for repo in repos if repo.error is None], self._verify_task)
        return self._report(repos)

    def _for_each(self, pool, repos, work, function):
        futures = [pool.submit(self._guarded, repo, function, repo, arg) for repo, arg in work]
        for future in futures:
            future.result()

    def _guarded(self, repo, function, *args):
        if repo.error is not None:
            return
        try:
            function(*args)
        except OciRegistryError as exc:
            self._fail(repo, exc)
        except Exception as exc:  # pylint: disable=broad-except
            self._fail(repo, OciRegistryError("%s: %s" % (exc.__class__.__name__, exc)))

    def _fail(self, repo, exc):
        with repo.lock:
            if repo.error is not None:
                return
            where = "repository %r" % repo.source
            if repo.destination != repo.source:
                where += " (destination %r)" % repo.destination
            repo.error = "%s: %s" % (where, exc.msg)

    def _list_tags_task(self, repo, _unused):
        self._list_tags(repo)

    # -- tags -------------------------------------------------------------------------------
    def _inspect_task(self, repo, tag):
        """Source manifest and destination digest of one tag; how many bytes its copy may move."""
        source = self.source.get_manifest(repo.source, tag)
        media_type = manifest_media_type(source.body, source.media_type)
        with repo.lock:
            repo.manifests[source.digest] = (source.body, media_type)
        current = self._destination_tag(repo, tag)
        unchanged = current is not None and current.digest == source.digest
        blobs = references(source.body, media_type)[1]
        weight = 0 if unchanged else len(source.body) + sum(b.get("size") or 0 for b in blobs)
        repo.results[tag] = dict(source_digest=source.digest, media_type=media_type, weight=weight,
                                 destination_digest=current.digest if unchanged else None, copied=not unchanged)

    def _tag_task(self, repo, tag):
        result = repo.results[tag]
        digest, media_type = result["source_digest"], result["media_type"]
        if not result["copied"]:
            # The destination has this manifest, hence its blobs: other repositories can mount them.
            blobs = references(*self._manifest(repo, digest))[1]
            for blob in blobs:
                if isinstance(blob.get("digest"), str):
                    self._landed(blob["digest"], repo.destination)
            self._node(repo, digest, media_type, present=True)
            self.stats.add("tags_unchanged")
            return
        # A tag the destination does not have at all: go straight to the copy (blobs are HEAD-checked one by
        # one, so a manifest that is there under another name costs nothing more than its PUT).
        self._node(repo, digest, media_type, tag=tag, absent=tag not in repo.destination_tags)
        if tag not in repo.pushed_tags:
            body, media_type = self._manifest(repo, digest)
            self._put_manifest(repo, tag, body, media_type)
        self.stats.add("tags_copied")
        with repo.lock:
            self.copied.append("%s:%s" % (repo.source, tag))

    def _destination_tag(self, repo, tag, listed=True):
        """What ``tag`` is on the destination (ManifestRef or None); ``listed``: only ask for listed tags.
        Registries answer HEAD with the digest; one that does not is asked with GET (the digest of the bytes)."""
        if listed and tag not in repo.destination_tags:
            return None
        current = self.destination.head_manifest(repo.destination, tag)
        if current is not None and not current.digest:
            current = self.destination.get_manifest(repo.destination, tag)
        return current

    # -- manifests ------------------------------------------------------------------------------
    def _manifest(self, repo, digest):
        with repo.lock:
            cached = repo.manifests.get(digest)
        if cached is None:
            ref = self.source.get_manifest(repo.source, digest)
            cached = (ref.body, manifest_media_type(ref.body, ref.media_type))
            with repo.lock:
                repo.manifests[digest] = cached
        return cached

    def _node(self, repo, digest, media_type=None, tag=None, present=False, absent=False):
        """Make ``digest`` and everything below it present on the destination, then its referrers.

        ``present``: the destination is known to have it (same digest under the tag, or listed by a
        referrers index that is already there); only referrers below it are looked at.
        ``tag``: push it under this tag (one PUT instead of two) if this call is the one that copies it.
        ``absent``: copy without asking the destination for the digest first.
        """
        def work():
            copied = False
            if not present and (absent or self.destination.head_manifest(repo.destination, digest) is None):
                self._copy_manifest(repo, digest, tag)
                copied = True
            self._below(repo, digest, media_type, copied)
            self._referrers(repo, digest)
            return copied
        owner, copied = self._nodes.run((repo.destination, digest), work)
        return owner and copied

    def _copy_manifest(self, repo, digest, tag):
        """Copy one manifest the destination lacks, after everything it references."""
        body, media_type = self._manifest(repo, digest)
        children, blobs = references(body, media_type)
        for child in children:
            self._node(repo, child["digest"], child.get("mediaType"))
        if blobs:
            futures = [self._blob_pool.submit(self._blob, repo, blob) for blob in blobs]
            errors = []
            for future in futures:
                try:
                    future.result()
                except Exception as exc:  # pylint: disable=broad-except
                    errors.append(exc)
            if errors:
                raise errors[0]
        if tag is not None and tag not in repo.pushed_tags:
            self._put_manifest(repo, tag, body, media_type)
        else:
            self._put_manifest(repo, digest, body, media_type)

    def _below(self, repo, digest, media_type, copied):
        """For a manifest that was already there: its children still need their referrers looked at."""
        if copied or not self._may_have_referrers(repo, digest):
            return
        if media_type not in INDEX_MEDIA_TYPES and media_type is not None:
            return
        body, media_type = self._manifest(repo, digest)
        children = references(body, media_type)[0]
        for child in children:
            self._node(repo, child["digest"], child.get("mediaType"), present=True)

    def _put_manifest(self, repo, reference, body, media_type):
        if ":" not in reference:  # a tag (a digest always has one)
            with repo.lock:
                repo.pushed_tags.add(reference)
                repo.destination_tags.add(reference)
        self.stats.add("manifests_copied")
        if self.check_mode:
            return
        self._write(repo, self.destination.put_manifest, repo.destination, reference, body, media_type)

    def _write(self, repo, call, *args):
        """A write to the destination; a refusal becomes an error that names the repository."""
        try:
            return call(*args)
        except RegistryHTTPError as exc:
            if exc.status in REFUSED_STATUSES:
                user = self.destination.client.options.username
                raise SyncError("the destination refused to write to repository %r (HTTP %s): check that user %r "
                                "may push there. %s" % (repo.destination, exc.status, user, exc.msg))
            raise

    # -- referrers ---------------------------------------------------------------------------------
    def _supports_referrers(self, side, api, repository, digest):
        """Whether the source (or destination) has the referrers API: asked once per run (the others wait)."""
        known = self._referrers_api.get(side)
        if known is not None:
            return known
        with self._probe_lock:
            if side not in self._referrers_api:
                self._referrers_api[side] = api.referrers(repository, digest) is not None
            return self._referrers_api[side]

    def _may_have_referrers(self, repo, digest):
        if repo.referrer_tags:
            return True
        return self._supports_referrers("source", self.source, repo.source, digest)

    def _referrers(self, repo, digest):
        """Copy the referrers of ``digest`` after it: their manifests (and what is below them), then the
        referrer tag when the source has one (its bytes as they are). The source's referrers API, where
        it has one, says which referrers there are; else its referrer tag does."""
        tag = referrer_tag(digest)
        tag = tag if tag in repo.referrer_tags else None
        index = current = None
        asked = False  # whether current says what the destination's referrer tag is (asked once)
        if tag is not None:
            index = self.source.get_manifest(repo.source, tag)
        if self._supports_referrers("source", self.source, repo.source, digest):
            descriptors = self.source.referrers(repo.source, digest) or []
        elif index is not None:
            descriptors = references(index.body, OCI_INDEX)[0]
            current, asked = self._destination_tag(repo, tag), True
            if current is not None and current.digest == index.digest:
                # The index landed after its referrers did: they are there; look below them only.
                repo.referrer_counts[digest] = len(descriptors)
                for descriptor in descriptors:
                    self._node(repo, descriptor["digest"], descriptor.get("mediaType"), present=True)
                return
        else:
            descriptors = []
        repo.referrer_counts[digest] = len(descriptors)
        for descriptor in descriptors:
            if self._node(repo, descriptor["digest"], descriptor.get("mediaType")):
                self.stats.add("referrers_copied")
        if index is not None:
            current = current if asked else self._destination_tag(repo, tag)
            if current is None or current.digest != index.digest:
                self._put_manifest(repo, tag, index.body, manifest_media_type(index.body, index.media_type))
        elif descriptors and not self._supports_referrers("destination", self.destination, repo.destination, digest):
            self._merge_referrer_tag(repo, digest, descriptors)

    def _merge_referrer_tag(self, repo, digest, descriptors):
        """The source has the referrers API, the destination not: keep its referrer tag up to date."""
        tag = referrer_tag(digest)
        current = None
        if tag in repo.destination_tags:
            current = json.loads(self.destination.get_manifest(repo.destination, tag).body)
        manifests = list((current or {}).get("manifests") or [])
        known = set(d.get("digest") for d in manifests)
        missing = [d for d in descriptors if d.get("digest") not in known]
        if not missing:
            return
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests + missing}
        self._put_manifest(repo, tag, json.dumps(index, separators=(",", ":")).encode(), OCI_INDEX)

    def destination_referrer_count(self, repo, digest):
        if self._supports_referrers("destination", self.destination, repo.destination, digest):
            return len(self.destination.referrers(repo.destination, digest) or [])
        tag = referrer_tag(digest)
        if tag not in repo.destination_tags:
            return 0
        return len(references(self.destination.get_manifest(repo.destination, tag).body, OCI_INDEX)[0])

    # -- blobs -----------------------------------------------------------------------------------------
    def _blob(self, repo, descriptor):
        digest = descriptor.get("digest")
        size = descriptor.get("size")
        if not isinstance(digest, str) or not isinstance(size, int):
            raise OciRegistryError("a descriptor without digest or size: %r" % (descriptor,))

        def work():
            session = _UploadSession(self.destination)
            try:
                mounted = self._mount_known(repo, digest, session)
                if mounted:
                    return
                size_there = self.destination.head_blob(repo.destination, digest)
                if size_there is not None:
                    self.stats.add("blobs_present")
                    self._landed(digest, repo.destination)
                    return
                self._bring_blob(repo, digest, size, descriptor, session, tried=mounted is not None)
            finally:
                session.cancel()
        self._blob_checks.run((repo.destination, digest), work)

    def _mount_known(self, repo, digest, session):
        """Mount a blob this run has put into another destination repository: one request, no HEAD first
        (a mount into a repository that has the blob already succeeds as well). Blobs only seen on the
        destination (from an earlier run) are HEAD-checked first: the repository may well have them.
        True: mounted; False: declined or refused; None: not asked."""
        with self._blob_lock:
            state = self._blob_states.get(digest)
            ours = state is not None and state["done"].is_set() and state["ours"]
            location = state["location"] if ours else None
        if location is None or location == repo.destination or not self._mounts:
            return None
        if not self.check_mode and not self._mount(repo, digest, location, session):
            return False
        self.stats.add("blobs_mounted")
        return True

    def _mount(self, repo, digest, location, session):
        """Mount ``digest`` from destination repository ``location``. A registry that declines (202) opens an
        upload session instead: ``session`` keeps it for the upload that may follow (no second POST), and
        mounts stay on (Harbor declines across projects, mounts within one). One that refuses (401, 403, 405:
        no read on the other repository, say) is not asked again."""
        open_session = getattr(self.destination, "mount_or_open", None)  # an OCI layout (oci_layout) has none
        try:
            if open_session is None:
                mounted = self.destination.mount_blob(repo.destination, digest, location)
                if not mounted:
                    self._mounts = False
                return mounted
            session.hold(open_session(repo.destination, digest, location))
        except RegistryHTTPError as exc:
            if exc.status not in REFUSED_STATUSES:
                raise
            self._mounts = False  # the upload that follows tells about writes
            return False
        return session.location is None

    def _landed(self, digest, repository):
        with self._blob_lock:
            state = self._blob_states.get(digest)
            if state is None:
                state = self._blob_states[digest] = {"done": threading.Event(), "location": None, "ours": False}
            if state["location"] is None:
                state["location"] = repository
            state["done"].set()

    def _bring_blob(self, repo, digest, size, descriptor, session, tried=False):
        """Upload a blob the destination repository lacks, once per run: a later repository that needs it
        waits for the first upload and mounts it from there (unless ``tried``: it asked for that already)."""
        with self._blob_lock:
            state = self._blob_states.get(digest)
            owner = state is None
            if owner:
                state = self._blob_states[digest] = {"done": threading.Event(), "location": None, "ours": False}
        if not owner:
            state["done"].wait()
            location = state["location"]
            if location is not None and location != repo.destination and self._mounts and not tried:
                if self.check_mode:
                    self.stats.add("blobs_mounted")
                    return
                if self._mount(repo, digest, location, session):
                    self.stats.add("blobs_mounted")
                    with self._blob_lock:
                        state["ours"] = True
                    return
        try:
            self._transfer(repo, digest, size, descriptor, session)
            with self._blob_lock:
                if state["location"] is None:
                    state["location"] = repo.destination
                state["ours"] = True
        finally:
            if owner:
                state["done"].set()

    def _transfer(self, repo, digest, size, descriptor, session):
        """Stream one blob from the source into the destination, verified; start again on a broken source.
        The first upload goes into ``session`` when a declined mount opened one (then it is used up)."""
        if self.check_mode:
            self.stats.add("blobs_uploaded")
            self.stats.add("bytes_uploaded", size)
            return
        attempt = 0
        while True:
            response = None
            try:
                try:
                    response = self.source.get_blob(repo.source, digest)
                except RegistryHTTPError as exc:
                    if exc.status == 404 and descriptor.get("urls"):
                        return  # a non-distributable layer: it lives at its URLs, not in registries
                    raise
                length = response.headers.get("Content-Length")
                if length is not None and length.isdigit() and int(length) != size:
                    raise SourceReadError("the source serves blob %s with %s bytes, its descriptor says %d"
                                          % (digest, length, size))
                reader = _BlobReader(response, digest, size)
                location = session.take()
                if location is None:
                    self._write(repo, self.destination.upload_blob_stream, repo.destination, reader, size, digest)
                else:  # upload_blob_stream cancels the session when the upload fails
                    self._write(repo, self.destination.upload_blob_stream, repo.destination, reader, size, digest,
                                location)
                self.stats.add("blobs_uploaded")
                self.stats.add("bytes_uploaded", size)
                return
            except (SourceReadError, RegistryConnectionError, DigestMismatchError) as exc:
                if attempt >= self.retries:
                    raise SyncError("blob %s could not be copied after %d attempt%s: %s"
                                    % (digest, attempt + 1, "" if attempt == 0 else "s", exc))
            except RegistryHTTPError as exc:
                if exc.status not in (500, 502, 503, 504) or attempt >= self.retries:
                    raise
            finally:
                if response is not None:
                    response.close()
            self.stats.add("retries")
            self._sleep(self.source.client.backoff(attempt))
            attempt += 1

    # -- verification --------------------------------------------------------------------------------------
    def _verify_task(self, repo, _unused):
        for tag in repo.tags:
            result = repo.results.get(tag)
            if result is None:
                continue
            if result["destination_digest"] is None:
                current = None if self.check_mode else self._destination_tag(repo, tag, listed=False)
                result["destination_digest"] = current.digest if current is not None else None
            digest = result["source_digest"]
            result["source_referrers"] = repo.referrer_counts.get(digest, 0)
            if self.check_mode:
                result["destination_referrers"] = None
            elif result["destination_digest"] == digest:
                result["destination_referrers"] = self.destination_referrer_count(repo, digest)
            else:
                result["destination_referrers"] = 0

    def _report(self, repos):
        verification, errors = [], []
        for repo in repos:
            if repo.error is not None:
                errors.append(repo.error)
            for tag in repo.tags:
                result = repo.results.get(tag)
                if result is None:
                    continue
                entry = dict(repository=repo.source, destination_repository=repo.destination, tag=tag,
                             source_digest=result["source_digest"],
                             destination_digest=result["destination_digest"],
                             source_referrers=result.get("source_referrers"),
                             destination_referrers=result.get("destination_referrers"))
                if self.check_mode:
                    entry["status"] = "would copy" if result["copied"] else "unchanged"
                elif repo.error is not None:
                    entry["status"] = "failed"
                elif (entry["source_digest"] == entry["destination_digest"]
                      and entry["source_referrers"] == entry["destination_referrers"]):
                    entry["status"] = "match"
                else:
                    entry["status"] = "mismatch"
                verification.append(entry)
        mismatches = [e for e in verification if e["status"] == "mismatch"]
        for entry in mismatches:
            errors.append("%s:%s differs after the copy: source %s with %s referrer(s), destination %s:%s is %s with %s"
                          % (entry["repository"], entry["tag"], entry["source_digest"], entry["source_referrers"],
                             entry["destination_repository"], entry["tag"], entry["destination_digest"],
                             entry["destination_referrers"]))
        values = self.stats.values
        changed = bool(values["manifests_copied"] or values["blobs_uploaded"] or values["blobs_mounted"])
        return dict(changed=changed, summary=dict(values), copied=sorted(self.copied),
                    verification=verification, errors=errors)
