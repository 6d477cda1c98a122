"""Write a one-layer OCI image layout (a test payload for skopeo): make_oci_layout.py DIR TAG TEXT."""

import hashlib
import io
import json
import os
import sys
import tarfile


def blob(root, data):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(root, "blobs", "sha256")
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, digest), "wb") as handle:
        handle.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}


def main(root, tag, text):
    payload = text.encode()
    layer_io = io.BytesIO()
    with tarfile.open(fileobj=layer_io, mode="w") as tar:
        info = tarfile.TarInfo("payload.txt")
        info.size = len(payload)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(payload))
    layer = layer_io.getvalue()
    layer_desc = dict(blob(root, layer), mediaType="application/vnd.oci.image.layer.v1.tar")
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]},
        "config": {},
    }, sort_keys=True).encode()
    config_desc = dict(blob(root, config), mediaType="application/vnd.oci.image.config.v1+json")
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_desc, "layers": [layer_desc],
    }, sort_keys=True).encode()
    manifest_desc = dict(blob(root, manifest), mediaType="application/vnd.oci.image.manifest.v1+json",
                         annotations={"org.opencontainers.image.ref.name": tag})
    with open(os.path.join(root, "oci-layout"), "w", encoding="utf-8") as handle:
        json.dump({"imageLayoutVersion": "1.0.0"}, handle)
    with open(os.path.join(root, "index.json"), "w", encoding="utf-8") as handle:
        json.dump({"schemaVersion": 2, "manifests": [manifest_desc]}, handle)
    print(manifest_desc["digest"])


if __name__ == "__main__":
    main(*sys.argv[1:4])
