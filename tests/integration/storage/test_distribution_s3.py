"""Distribution on S3, deployed by playbooks/deploy.yml with the default secure front and TLS, on a fresh bucket
of the run's radosgw: pushes land in the bucket, a second registry on the same bucket and http.secret serves
them, and a missing bucket stops the deployment in its preflight before anything is created."""

import hashlib
import json
import os
import stat
import subprocess
import tempfile
import uuid

import pytest
import yaml

from ..access.deployment import DISTRIBUTION_IMAGE, SecureDeployment, make_layout, remove_distribution
from ..registry import free_port

pytestmark = pytest.mark.integration


def s3_storage(store, bucket):
    # The registry reaches the store at its address on the default bridge (the role joins the registry to
    # distribution_egress_network, "bridge"); the preflight's probe reaches the same address from this host.
    return {"type": "s3", "s3": {"endpoint": "http://%s:7480" % store["network_address"], "bucket": bucket,
                                 "access_key": store["access_key"], "secret_key": store["secret_key"],
                                 "chunk_size_mb": 5, "root_directory": "/registry"}}


def digest(dep, repository, tag, tls=True):
    command = ["skopeo", "inspect", "--raw", "--no-creds" if not tls else "--creds=%s:%s" % dep.admin]
    command += ["--cert-dir", dep.cert_dir] if tls else ["--tls-verify=false"]
    command.append("docker://%s/%s:%s" % (dep.host, repository, tag))
    raw = subprocess.run(command, capture_output=True, check=True, timeout=120, env=dep.env).stdout
    return "sha256:" + hashlib.sha256(raw).hexdigest()


@pytest.fixture(scope="module")
def deployed(s3_store):
    dep = SecureDeployment(users=[])
    # One registry, no shared cache (mode auto would deploy Redis, which these tests are not about).
    dep.vars["oci_registry_redis"] = {"mode": "none"}
    bucket = s3_store.bucket("distribution")
    dep.http_secret = "hs-" + uuid.uuid4().hex
    dep.bucket = bucket
    dep.vars["oci_registry_storage"] = s3_storage(s3_store, bucket)
    dep.vars["oci_registry_http_secret"] = dep.http_secret
    try:
        dep.run = dep.playbook("deploy.yml")
        assert dep.run.rc == 0, dep.run
        yield dep
    finally:
        dep.remove()


def test_the_deployment_hides_every_secret(deployed, s3_store):
    assert s3_store["secret_key"] not in deployed.run.output
    assert deployed.http_secret not in deployed.run.output
    assert "TASK [Storage | Prove that the S3 bucket can be written" in deployed.run.output
    config = os.path.join(deployed.config_dir, "config.yml")
    assert stat.S_IMODE(os.stat(config).st_mode) in (0o600, 0o640)
    with open(config) as handle:
        rendered = yaml.safe_load(handle)
    assert "filesystem" not in rendered["storage"]
    assert rendered["storage"]["s3"]["bucket"] == deployed.bucket
    assert rendered["storage"]["s3"]["secure"] is False
    assert rendered["storage"]["s3"]["rootdirectory"] == "/registry"
    assert rendered["storage"]["s3"]["chunksize"] == 5 * 1024 * 1024
    assert rendered["storage"]["redirect"] == {"disable": True}
    assert rendered["http"]["secret"] == deployed.http_secret


def test_push_lands_in_the_bucket_and_a_second_registry_serves_it(deployed, s3_store, tmp_path):
    layout = make_layout(str(tmp_path / "layout"), tag="v1")
    pushed = deployed.skopeo("copy", "--preserve-digests", "--dest-cert-dir", deployed.cert_dir,
                             "--dest-creds", "%s:%s" % deployed.admin, "oci:%s:v1" % layout,
                             "docker://%s/team/app:v1" % deployed.host)
    assert pushed.returncode == 0, pushed.stderr
    pulled = deployed.skopeo("copy", "--preserve-digests", "--src-cert-dir", deployed.cert_dir,
                             "--src-creds", "%s:%s" % deployed.admin, "docker://%s/team/app:v1" % deployed.host,
                             "oci:%s:v1" % str(tmp_path / "back"))
    assert pulled.returncode == 0, pulled.stderr
    with open(tmp_path / "layout" / "index.json") as handle:
        local = json.load(handle)["manifests"][0]["digest"]
    with open(tmp_path / "back" / "index.json") as handle:
        assert json.load(handle)["manifests"][0]["digest"] == local
    assert digest(deployed, "team/app", "v1") == local

    # The data is in the bucket, under root_directory, not on the host.
    keys = s3_store.keys(deployed.bucket, prefix="registry/docker/registry/v2/")
    blobs = {k.split("/")[-2] for k in keys if k.startswith("registry/docker/registry/v2/blobs/sha256/")}
    assert local.split(":")[1] in blobs, keys
    assert any("/repositories/team/app/_manifests/tags/v1/" in k for k in keys), keys
    assert not os.path.exists(os.path.join(deployed.vars["oci_registry_data_dir"], "docker"))

    # A second registry, same image, same bucket and http.secret (what a replica gets), serves the image.
    with open(os.path.join(deployed.config_dir, "config.yml")) as handle:
        config = yaml.safe_load(handle)
    config["http"] = {"addr": ":5000", "secret": config["http"]["secret"]}
    config.pop("auth", None)
    config.pop("notifications", None)
    workdir = tempfile.mkdtemp(prefix="oci-s3-replica-")
    path = os.path.join(workdir, "config.yml")
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as handle:
        yaml.safe_dump(config, handle)
    name = "oci-s3-replica-" + uuid.uuid4().hex[:8]
    port = free_port()
    try:
        subprocess.run(["docker", "run", "-d", "--name", name, "-p", "127.0.0.1:%d:5000" % port,
                        "-v", "%s:/etc/docker/registry/config.yml:ro" % path, DISTRIBUTION_IMAGE],
                       check=True, capture_output=True, timeout=60)
        replica = type("Replica", (), {"host": "127.0.0.1:%d" % port, "env": deployed.env})()
        command = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--retry", "30", "--retry-all-errors", "--max-time", "5",
                   "--retry-delay", "1", "http://%s/v2/" % replica.host]
        answer = subprocess.run(command, capture_output=True, text=True, check=False).stdout
        logs = subprocess.run(["docker", "logs", "--tail", "30", name], capture_output=True, text=True, check=False)
        assert answer == "200", logs.stdout + logs.stderr
        assert digest(replica, "team/app", "v1", tls=False) == local
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True, check=False)
        os.unlink(path)
        os.rmdir(workdir)


def test_check_mode_with_diff_reports_a_new_secret_without_showing_it(deployed, s3_store):
    # (One more run only: a full deploy.yml run takes 1-2 minutes on the loaded test bed.)
    new_secret = "hs-" + uuid.uuid4().hex
    check = deployed.playbook("deploy.yml", "--check", "--diff", oci_registry_http_secret=new_secret)
    assert check.rc == 0, check
    # The changed http.secret would rewrite config.yml: reported, but neither the content nor the diff shown.
    assert "TASK [provisioning.oci_registry.distribution : Configure | Write config.yml" in check.output, check
    assert check.changed >= 1, check
    for secret in (s3_store["secret_key"], deployed.http_secret, new_secret):
        assert secret not in check.output
    with open(os.path.join(deployed.config_dir, "config.yml")) as handle:
        assert yaml.safe_load(handle)["http"]["secret"] == deployed.http_secret


def test_a_missing_bucket_fails_the_preflight_before_anything_is_created(s3_store):
    dep = SecureDeployment(users=[])
    # One registry, no shared cache (mode auto would deploy Redis, which these tests are not about).
    dep.vars["oci_registry_redis"] = {"mode": "none"}
    dep.vars["oci_registry_storage"] = s3_storage(s3_store, "no-such-bucket-" + uuid.uuid4().hex[:8])
    try:
        run = dep.playbook("deploy.yml")
        assert run.rc != 0, run
        assert "oci_registry_storage.s3.bucket: bucket 'no-such-bucket-" in run.output, run
        assert "does not exist" in run.output
        assert s3_store["secret_key"] not in run.output
        # Nothing was created: no directory, no container, no network.
        assert not os.path.exists(dep.config_dir) and not os.path.exists(dep.vars["oci_registry_data_dir"])
        names = subprocess.run(["docker", "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True,
                               check=True).stdout.split()
        assert not [n for n in names if n.startswith(dep.name)]
        networks = subprocess.run(["docker", "network", "ls", "--format", "{{.Name}}"], capture_output=True,
                                  text=True, check=True).stdout.split()
        assert not [n for n in networks if n.startswith(dep.name)]
    finally:
        remove_distribution(dep.name)
        dep.remove()


def test_bad_storage_values_are_named_before_anything_changes(s3_store):
    dep = SecureDeployment(users=[])
    # One registry, no shared cache (mode auto would deploy Redis, which these tests are not about).
    dep.vars["oci_registry_redis"] = {"mode": "none"}
    dep.vars["oci_registry_storage"] = {"type": "s3", "s3": {
        "endpoint": "rgw.example:7480", "bucket": "Bad_Bucket", "chunk_size_mb": 2,
        "access_key": s3_store["access_key"], "secret_key": s3_store["secret_key"]}}
    try:
        run = dep.playbook("deploy.yml")
        assert run.rc != 0, run
        for expected in ("oci_registry_storage.s3.endpoint: 'rgw.example:7480' must start with http:// or https://",
                         "oci_registry_storage.s3.bucket: 'Bad_Bucket' (str) is not a bucket name",
                         "oci_registry_storage.s3.chunk_size_mb: must be between 5 and 5120"):
            assert expected in run.output, run
        assert s3_store["secret_key"] not in run.output
        # Stopped before the probe and before anything on the host.
        assert "TASK [Storage | Prove that the S3 bucket can be written" not in run.output
        assert not os.path.exists(dep.config_dir) and not os.path.exists(dep.vars["oci_registry_data_dir"])
    finally:
        dep.remove()
