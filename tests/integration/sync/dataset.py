"""Datasets for oci_sync tests and benchmarks, pushed straight to a registry through the collection's OciApi.

What a migration meets: many repositories sharing base layers, a multi-arch index, an image with a
referrer (an SBOM, itself signed: a referrer of a referrer) listed through the `sha256-<hex>` referrer
tag (Distribution 2.8 has no referrers API), and an image with uncompressed layers. Every byte is
deterministic for a given seed, so digests can be compared across registries and runs.
"""

import gzip
import hashlib
import io
import json
import random
import tarfile

from ansible_collections.provisioning.oci_registry.plugins.module_utils._oci import (
    OCI_INDEX,
    OCI_MANIFEST,
    sha256_digest,
)

OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
EMPTY = "application/vnd.oci.empty.v1+json"
SBOM_TYPE = "application/vnd.example.sbom.v1+json"
SIGNATURE_TYPE = "application/vnd.example.signature.v1+json"


def tar_bytes(files):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, content in sorted(files.items()):
            info = tarfile.TarInfo(path)
            info.size = len(content)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(content))
    return raw.getvalue()


def noise(seed, size):
    """``size`` bytes that do not compress, the same for the same seed."""
    generator = random.Random(seed)
    step = 1 << 20
    return b"".join(generator.randbytes(min(step, size - offset)) for offset in range(0, size, step))


class Layer:
    def __init__(self, files, compress=True):
        tar = tar_bytes(files)
        self.diff_id = sha256_digest(tar)
        self.data = gzip.compress(tar, mtime=0, compresslevel=1) if compress else tar
        self.media_type = LAYER_GZIP if compress else LAYER_TAR
        self.descriptor = {"mediaType": self.media_type, "digest": sha256_digest(self.data), "size": len(self.data)}


def put_json(api, repository, reference, document, media_type):
    body = json.dumps(document, indent=2).encode()  # indent: bytes a re-encoding copier would change
    digest = api.put_manifest(repository, reference, body, media_type)
    return {"mediaType": media_type, "digest": digest, "size": len(body)}


def push_image(api, repository, layers, tag=None, arch="amd64", pushed=None):
    """Push the layers (once per repository), a config and the manifest; returns the manifest descriptor."""
    pushed = pushed if pushed is not None else set()
    for layer in layers:
        if (repository, layer.descriptor["digest"]) not in pushed:
            if api.head_blob(repository, layer.descriptor["digest"]) is None:
                api.upload_blob(repository, layer.data)
            pushed.add((repository, layer.descriptor["digest"]))
    config = json.dumps({"architecture": arch, "os": "linux", "created": "2026-01-01T00:00:00Z",
                         "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
                         "config": {}}).encode()
    api.upload_blob(repository, config)
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": sha256_digest(config), "size": len(config)},
                "layers": [layer.descriptor for layer in layers]}
    body = json.dumps(manifest, indent=2).encode()
    digest = sha256_digest(body)
    api.put_manifest(repository, tag or digest, body, OCI_MANIFEST)
    return {"mediaType": OCI_MANIFEST, "digest": digest, "size": len(body),
            "platform": {"architecture": arch, "os": "linux"}}


def push_referrer(api, repository, subject, artifact_type, payload):
    """An artifact manifest whose subject is ``subject``; returns its descriptor (with artifactType)."""
    api.upload_blob(repository, b"{}")
    api.upload_blob(repository, payload)
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact_type,
                "config": {"mediaType": EMPTY, "digest": sha256_digest(b"{}"), "size": 2},
                "layers": [{"mediaType": artifact_type, "digest": sha256_digest(payload), "size": len(payload)}],
                "subject": {"mediaType": subject["mediaType"], "digest": subject["digest"], "size": subject["size"]}}
    descriptor = put_json(api, repository, sha256_digest(json.dumps(manifest, indent=2).encode()), manifest,
                          OCI_MANIFEST)
    descriptor["artifactType"] = artifact_type
    return descriptor


def push_referrer_tag(api, repository, subject_digest, referrers):
    """The referrer tag of the OCI distribution spec: an index of the referrers, tagged <alg>-<hex>."""
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": referrers}
    return put_json(api, repository, subject_digest.replace(":", "-"), index, OCI_INDEX)


def build(api, apps=6, seed=1, uncompressed_size=256 * 1024, big_blob_size=0, app_tags=1):
    """Push the dataset; returns {"repo:tag": digest} of every selectable tag and extra facts."""
    base = [Layer({"etc/os-release": b"ID=base\n", "bin/sh": noise(seed, 96 * 1024)}),
            Layer({"usr/lib/libc.so": noise(seed + 1, 128 * 1024)})]
    expected = {}
    pushed = set()
    for i in range(apps):
        repository = "apps/app%02d" % i
        for t in range(app_tags):
            own = Layer({"app/bin": noise(seed * 1000 + i * 10 + t, 24 * 1024), "app/version": b"%d.%d\n" % (i, t)})
            descriptor = push_image(api, repository, base + [own], tag="v%d" % (t + 1), pushed=pushed)
            expected["%s:v%d" % (repository, t + 1)] = descriptor["digest"]

    children = []
    for n, arch in enumerate(("amd64", "arm64")):
        own = Layer({"app/arch": arch.encode(), "app/bin": noise(seed + 100 + n, 16 * 1024)})
        children.append(push_image(api, "multi/arch", base + [own], arch=arch, pushed=pushed))
    index = put_json(api, "multi/arch", "latest", {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children},
                     OCI_INDEX)
    expected["multi/arch:latest"] = index["digest"]

    subject = push_image(api, "signed/app", base + [Layer({"app/signed": b"yes\n"})], tag="v1", pushed=pushed)
    expected["signed/app:v1"] = subject["digest"]
    sbom = push_referrer(api, "signed/app", subject, SBOM_TYPE, b'{"packages": ["base", "app"]}\n')
    signature = push_referrer(api, "signed/app", sbom, SIGNATURE_TYPE, hashlib.sha256(b"sbom").hexdigest().encode())
    push_referrer_tag(api, "signed/app", subject["digest"], [sbom])
    push_referrer_tag(api, "signed/app", sbom["digest"], [signature])

    raw = [Layer({"data/plain.bin": noise(seed + 7, uncompressed_size)}, compress=False),
           Layer({"data/more.txt": b"uncompressed\n" * 100}, compress=False)]
    expected["raw/uncompressed:v1"] = push_image(api, "raw/uncompressed", raw, tag="v1", pushed=pushed)["digest"]

    facts = {"referrers": {"signed/app:v1": 1}, "sbom": sbom["digest"], "signature": signature["digest"],
             "subject": subject["digest"]}
    if big_blob_size:
        big = Layer({"data/big.bin": noise(seed + 9, big_blob_size)}, compress=False)
        digest = push_image_streamed(api, "big/blob", big, tag="v1")
        expected["big/blob:v1"] = digest
        facts["big_layer"] = big.descriptor["digest"]
    return expected, facts


def push_image_streamed(api, repository, layer, tag):
    chunk = 4 * 1024 * 1024
    data = layer.data
    api.upload_blob_chunked(repository, (data[i:i + chunk] for i in range(0, len(data), chunk)),
                            layer.descriptor["digest"])
    return push_image(api, repository, [layer], tag=tag, pushed={(repository, layer.descriptor["digest"])})["digest"]
