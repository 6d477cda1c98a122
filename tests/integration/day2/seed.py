"""Images for the day-2 tests: small OCI layouts with chosen creation dates, pushed with skopeo."""

import hashlib
import json
import os
import subprocess
import time

import requests

from ..oci_layout import Layout

ACCEPT = ", ".join((
    "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json"))


def image(layout, name, created, arch="amd64", size=32 * 1024):
    """An image with one layer of ``size`` bytes of its own (deterministic for ``name``)."""
    seed = hashlib.sha256(name.encode()).digest()
    content = (seed * (size // len(seed) + 1))[:size]
    return layout.image({"%s.bin" % name: content}, arch=arch, created=created, compress=False)


def blob_sizes(layout_dir, descriptor):
    """{digest: size} of a manifest's own bytes, config and layers (an index: with its children)."""
    path = os.path.join(layout_dir, "blobs", "sha256", descriptor["digest"][7:])
    with open(path, "rb") as handle:
        body = handle.read()
    data = json.loads(body)
    sizes = {descriptor["digest"]: len(body)}
    for child in data.get("manifests") or []:
        sizes.update(blob_sizes(layout_dir, child))
    for blob in ([data["config"]] if "config" in data else []) + (data.get("layers") or []):
        sizes[blob["digest"]] = blob["size"]
    return sizes


def push(host, creds, layout_dir, tag, repository, tls_verify=False, cert_dir=None):
    command = ["skopeo", "--command-timeout", "60s", "copy", "--all", "--preserve-digests",
               "--dest-tls-verify=%s" % str(tls_verify).lower(), "--dest-creds", "%s:%s" % creds]
    if cert_dir:
        command += ["--dest-cert-dir", cert_dir]
    command += ["oci:%s:%s" % (layout_dir, tag), "docker://%s/%s:%s" % (host, repository, tag)]
    process = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False,
                             env=dict(os.environ, REGISTRY_AUTH_FILE=os.devnull + "-none"))
    assert process.returncode == 0, process.stderr
    return process


class Api:
    """Plain reads of a registry (requests), to check what the collection did."""

    def __init__(self, url, creds, verify=True):
        self.url = url
        self.creds = creds
        self.verify = verify

    def get(self, path, **kwargs):
        return requests.get(self.url + path, auth=self.creds, timeout=20, verify=self.verify,
                            headers={"Accept": ACCEPT}, **kwargs)

    def wait_ready(self, timeout=30):
        """After `docker start`, until the registry answers through the front: the container runs before
        Distribution listens, and the front answers 502 meanwhile (the authentication service, which no
        longer spends a bcrypt check on every request, leaves no such head start)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                status = self.get("/v2/").status_code
            except requests.ConnectionError:
                status = None
            if status == 200:
                return
            if time.monotonic() > deadline:
                raise AssertionError("%s/v2/ did not answer 200 within %ds (last: %s)" % (self.url, timeout, status))
            time.sleep(0.2)

    def tags(self, repository):
        response = self.get("/v2/%s/tags/list" % repository)
        if response.status_code == 404:
            return []
        response.raise_for_status()
        return sorted(response.json().get("tags") or [])

    def digest(self, repository, reference):
        response = self.get("/v2/%s/manifests/%s" % (repository, reference))
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return "sha256:" + hashlib.sha256(response.content).hexdigest()

    def blob_status(self, repository, digest):
        return requests.head("%s/v2/%s/blobs/%s" % (self.url, repository, digest), auth=self.creds, timeout=20,
                             verify=self.verify).status_code

    def whole(self, repository, reference):
        """Every manifest and blob below ``reference`` answers 200 (a complete image)."""
        response = self.get("/v2/%s/manifests/%s" % (repository, reference))
        assert response.status_code == 200, (repository, reference, response.status_code)
        data = response.json()
        for child in data.get("manifests") or []:
            self.whole(repository, child["digest"])
        for blob in ([data["config"]] if "config" in data else []) + (data.get("layers") or []):
            assert self.blob_status(repository, blob["digest"]) == 200, (repository, blob["digest"])
        return True


def new_layout(directory):
    return Layout(directory)


SEEDED = ("provisioning-platform/base", "provisioning-extensions/tool")


def seed_registry(dep, layout_dir):
    """Three tags in two repositories (a multi-arch index among them) pushed with skopeo into the
    Deployment ``dep``; returns a plain API client and {repository: {tag: digest}} as the registry serves it."""
    layout = new_layout(layout_dir)
    layout.tag(image(layout, "one", "2024-01-01T00:00:00Z"), "1.0")
    layout.tag(image(layout, "two", "2024-02-01T00:00:00Z"), "2.0")
    layout.tag(layout.multiarch([image(layout, "m-amd64", "2024-03-01T00:00:00Z", arch="amd64"),
                                 image(layout, "m-arm64", "2024-03-01T00:00:00Z", arch="arm64")]), "multi")
    push(dep.host, dep.admin, layout_dir, "1.0", SEEDED[0])
    push(dep.host, dep.admin, layout_dir, "2.0", SEEDED[0])
    push(dep.host, dep.admin, layout_dir, "multi", SEEDED[1])
    api = Api(dep.url, dep.admin)
    return api, content(api)


def content(api, repositories=SEEDED):
    """{repository: {tag: digest}} of ``repositories`` as the registry serves them now."""
    return {r: {t: api.digest(r, t) for t in api.tags(r)} for r in repositories}
