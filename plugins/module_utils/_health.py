# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""Health checks of a registry: generic distribution-API checks, the backend's own, a write probe."""

from __future__ import annotations

import json
import os
import time

from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import (
    OciRegistryError,
    RegistryHTTPError,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._oci import (
    OCI_MANIFEST,
    sha256_digest,
    validate_repository,
)

OK = "ok"
FAILED = "failed"
SKIPPED = "skipped"
EXPECTED_API_VERSION = "registry/2.0"


class HealthRunner:
    """Runs named checks, timing each; a check returns a message or (status, message)."""

    SKIPPED = SKIPPED

    def __init__(self, clock=time.monotonic):
        self.checks = []
        self._clock = clock

    def check(self, name, func):
        start = self._clock()
        try:
            outcome = func()
        except (OciRegistryError, AssertionError, ValueError) as exc:
            status, message = FAILED, str(exc)
        else:
            status, message = outcome if isinstance(outcome, tuple) else (OK, outcome)
        self.checks.append(dict(name=name, status=status, message=message,
                                latency_ms=round((self._clock() - start) * 1000.0, 1)))
        return status == OK

    def skip(self, name, reason):
        self.checks.append(dict(name=name, status=SKIPPED, message=reason, latency_ms=0.0))

    @property
    def healthy(self):
        return bool(self.checks) and all(c["status"] != FAILED for c in self.checks)

    @property
    def failed(self):
        return [c for c in self.checks if c["status"] == FAILED]


def run_health(backend, debug_url=None, write_probe=False, probe_repository="oci-health/probe", check_mode=False):
    """Every check, in order; later checks are skipped when the registry cannot be reached."""
    oci, client = backend.oci, backend.client
    runner = HealthRunner()
    facts = {}

    def reachable():
        status, api_version, _headers = oci.ping(auth=False)
        facts["api_version"] = api_version
        facts["anonymous_status"] = status
        if status not in (200, 401):
            raise OciRegistryError("GET %s/v2/ answered HTTP %s, expected 200 or 401" % (client.base_url, status))
        return "GET /v2/ answered %s" % status

    if not runner.check("reachable", reachable):
        for name in ("api_version", "credentials", "catalog"):
            runner.skip(name, "registry not reachable")
        if write_probe:
            runner.skip("write_probe", "registry not reachable")
        return runner, facts

    def api_version():
        if facts.get("api_version") is None and facts["anonymous_status"] == 401 and client.has_credentials:
            # zot v2.1.20 sends the header only from its /v2/ handler (pkg/api/routes.go
            # CheckVersionSupport), not with the 401 its authentication answers (pkg/api/authn.go
            # authFail): ask again with the credentials.
            _status, facts["api_version"], _headers = oci.ping(auth=True)
        if facts.get("api_version") != EXPECTED_API_VERSION:
            raise OciRegistryError("the %s header is %r, expected %r"
                                   % ("Docker-Distribution-API-Version", facts.get("api_version"), EXPECTED_API_VERSION))
        return facts["api_version"]

    runner.check("api_version", api_version)

    def credentials():
        if not client.has_credentials:
            if facts["anonymous_status"] == 200:
                return SKIPPED, "no username given; the registry allows anonymous access to /v2/"
            raise OciRegistryError("the registry requires credentials and no username was given")
        client.request("GET", "/v2/").close()
        return "user %r accepted" % client.options.username

    runner.check("credentials", credentials)

    def catalog():
        repositories = oci.catalog(page_size=100)
        facts["repositories"] = len(repositories)
        return "%d repositories" % len(repositories)

    runner.check("catalog", catalog)
    backend.health_checks(runner, debug_url=debug_url)

    if write_probe:
        if check_mode:
            runner.skip("write_probe", "skipped in check mode (it pushes and deletes an artifact)")
        else:
            runner.check("write_probe", lambda: _write_probe(oci, validate_repository(probe_repository,
                                                                                      "write_probe_repository")))
    return runner, facts


def _write_probe(oci, repository):
    """Push a tiny image, pull it back, compare digests, delete it."""
    token = os.urandom(8).hex()
    layer = ("oci_health write probe %s\n" % token).encode()
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [sha256_digest(layer)]}},
                        sort_keys=True).encode()
    layer_digest = oci.upload_blob(repository, layer)
    config_digest = oci.upload_blob(repository, config)
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest,
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest,
                    "size": len(layer)}],
        "annotations": {"org.opencontainers.image.title": "oci_health write probe"},
    }, sort_keys=True).encode()
    tag = "probe-%s" % token
    pushed = oci.put_manifest(repository, tag, manifest, OCI_MANIFEST)
    pulled = oci.get_manifest(repository, tag)
    if pulled.digest != pushed or pulled.body != manifest:
        raise OciRegistryError("pulled manifest %s:%s has digest %s, pushed %s" % (repository, tag, pulled.digest, pushed))
    if oci.read_blob(repository, layer_digest) != layer:
        raise OciRegistryError("pulled layer %s of %s differs from the one pushed" % (layer_digest, repository))
    try:
        oci.delete_manifest(repository, pushed)
    except RegistryHTTPError as exc:
        if exc.status in (405, 403) or "UNSUPPORTED" in exc.codes:
            return OK, ("pushed and pulled %s@%s; the probe could not be deleted (%s): enable deletes "
                        "or remove it by hand" % (repository, pushed, exc.msg))
        raise
    return "pushed, pulled and deleted %s@%s (digests match)" % (repository, pushed)
