"""Build small OCI image layouts on disk (no registry is reachable here to pull from).

skopeo copies them into registries: `skopeo copy oci:DIR:TAG docker://HOST/REPO:TAG`.
"""

import gzip
import hashlib
import io
import json
import os
import tarfile


def _digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_tar(files, compress=True):
    """A layer: a tar of {path: bytes}, gzipped unless compress is False. Returns (blob, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, content in sorted(files.items()):
            info = tarfile.TarInfo(path)
            info.size = len(content)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(content))
    tar_bytes = raw.getvalue()
    blob = gzip.compress(tar_bytes, mtime=0) if compress else tar_bytes
    return blob, _digest(tar_bytes)


class Layout:
    def __init__(self, path):
        self.path = path
        os.makedirs(os.path.join(path, "blobs", "sha256"), exist_ok=True)
        with open(os.path.join(path, "oci-layout"), "w") as fh:
            json.dump({"imageLayoutVersion": "1.0.0"}, fh)
        self.index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}

    def blob(self, data):
        digest = _digest(data)
        with open(os.path.join(self.path, "blobs", "sha256", digest[7:]), "wb") as fh:
            fh.write(data)
        return {"digest": digest, "size": len(data)}

    def image(self, files, arch="amd64", compress=True, created="2026-01-01T00:00:00Z", layers=None):
        """Add an image manifest (not yet tagged); returns its descriptor."""
        descriptors, diff_ids = [], []
        for layer_files in (layers or [files]):
            blob, diff_id = layer_tar(layer_files, compress=compress)
            media = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if compress else "")
            descriptors.append(dict(self.blob(blob), mediaType=media))
            diff_ids.append(diff_id)
        config = json.dumps({"architecture": arch, "os": "linux", "created": created,
                             "rootfs": {"type": "layers", "diff_ids": diff_ids}, "config": {}}).encode()
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": dict(self.blob(config), mediaType="application/vnd.oci.image.config.v1+json"),
            "layers": descriptors,
        }).encode()
        return dict(self.blob(manifest), mediaType="application/vnd.oci.image.manifest.v1+json",
                    platform={"architecture": arch, "os": "linux"})

    def multiarch(self, images):
        index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                            "manifests": images}).encode()
        return dict(self.blob(index), mediaType="application/vnd.oci.image.index.v1+json")

    def tag(self, descriptor, tag):
        entry = {k: v for k, v in descriptor.items() if k in ("mediaType", "digest", "size")}
        entry["annotations"] = {"org.opencontainers.image.ref.name": tag}
        self.index["manifests"].append(entry)
        with open(os.path.join(self.path, "index.json"), "w") as fh:
            json.dump(self.index, fh)
        return descriptor["digest"]
