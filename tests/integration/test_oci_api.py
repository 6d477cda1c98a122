"""The OCI API helpers of module_utils against a real Distribution, cross-checked with skopeo."""

import hashlib
import json
import os
import subprocess

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils._client import (
    ConnectionOptions,
    RegistryClient,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import RegistryHTTPError
from ansible_collections.provisioning.oci_registry.plugins.module_utils._oci import OCI_INDEX, OciApi, sha256_digest

from .oci_layout import Layout

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def api(registry):
    user, password = registry.admin
    return OciApi(RegistryClient(ConnectionOptions(registry.url, username=user, password=password, retries=1)))


def skopeo(*args):
    proc = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_image_pushed_by_skopeo_is_read_back_with_the_same_digest(registry, api, tmp_path):
    layout = Layout(str(tmp_path / "layout"))
    digest = layout.tag(layout.image({"etc/hello": b"hello\n"}), "v1")
    user, password = registry.admin
    skopeo("copy", "--preserve-digests", "--dest-tls-verify=false", "--dest-creds", "%s:%s" % (user, password),
           "oci:%s:v1" % layout.path, "docker://127.0.0.1:%d/it/hello:v1" % registry.port)
    assert api.tags("it/hello") == ["v1"]
    head = api.head_manifest("it/hello", "v1")
    got = api.get_manifest("it/hello", "v1")
    assert head.digest == got.digest == digest == sha256_digest(got.body)
    assert head.media_type == "application/vnd.oci.image.manifest.v1+json"
    inspected = json.loads(skopeo("inspect", "--tls-verify=false", "--creds", "%s:%s" % (user, password), "--raw",
                                  "docker://127.0.0.1:%d/it/hello:v1" % registry.port))
    assert inspected == json.loads(got.body)


def test_catalog_pagination_returns_every_repository(api):
    names = ["it/page%d" % i for i in range(5)]
    for name in names:
        api.upload_blob(name, name.encode())
        config = api.upload_blob(name, b"{}")
        api.put_manifest(name, "t", json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2},
            "layers": []}).encode(), "application/vnd.oci.image.manifest.v1+json")
    before = api.client.attempts
    found = api.catalog(page_size=2)
    assert set(names) <= set(found)
    assert found == sorted(found)
    # one request per page of two: the catalog followed the Link header to the end
    assert api.client.attempts - before >= (len(found) + 1) // 2 >= 3


def test_chunked_upload_and_mount(api):
    data = os.urandom(3 * 1024 * 1024 + 17)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    chunk = 1024 * 1024
    api.upload_blob_chunked("it/chunked", (data[i:i + chunk] for i in range(0, len(data), chunk)), digest)
    assert api.head_blob("it/chunked", digest) == len(data)
    assert api.head_blob("it/mounted", digest) is None
    assert api.mount_blob("it/mounted", digest, "it/chunked") is True
    assert api.head_blob("it/mounted", digest) == len(data)
    response = api.get_blob("it/mounted", digest)
    assert hashlib.sha256(b"".join(response.iter_content(65536))).hexdigest() == digest[7:]


def test_index_push_and_delete_is_idempotent(api):
    config = api.upload_blob("it/multi", b'{"architecture":"arm64","os":"linux"}')
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config,
                                      "size": 37}, "layers": []}).encode()
    child = api.put_manifest("it/multi", sha256_digest(manifest), manifest, "application/vnd.oci.image.manifest.v1+json")
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": child, "size": len(manifest),
         "platform": {"architecture": "arm64", "os": "linux"}}]}).encode()
    digest = api.put_manifest("it/multi", "latest", index, OCI_INDEX)
    head = api.head_manifest("it/multi", "latest")
    assert (head.digest, head.media_type) == (digest, OCI_INDEX)
    assert api.delete_manifest("it/multi", digest) is True
    assert api.delete_manifest("it/multi", digest) is False
    assert api.head_manifest("it/multi", "latest") is None


def test_push_with_wrong_credentials_names_method_url_and_code(registry):
    api = OciApi(RegistryClient(ConnectionOptions(registry.url, username="admin", password="Never-Sh0wn-pw", retries=0)))
    with pytest.raises(RegistryHTTPError) as info:
        api.start_upload("it/denied")
    msg = str(info.value)
    assert msg.startswith("POST %s/v2/it/denied/blobs/uploads/ returned HTTP 401 (UNAUTHORIZED" % registry.url)
    assert "Never-Sh0wn-pw" not in msg and "refused the credentials of user 'admin'" in msg
