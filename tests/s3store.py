"""One real S3 object store (Ceph radosgw, OCI_TEST_RGW_IMAGE) per pytest run, shared by pytest-xdist workers.

The first worker that asks starts the container under a file lock and records it in a state file; the
others find it there and reuse it; each worker holds a reference, and the last one to finish removes the
container. The container's name has a unique suffix and its port is random (127.0.0.1 only), so that
parallel runs on the shared engine never collide. botocore (not boto3) talks to it: no S3 code of our own.
"""

import json
import os
import time
import uuid

import docker
from filelock import FileLock

IMAGE = os.environ.get("OCI_TEST_RGW_IMAGE", "oci-registry-test/rgw:bookworm")
REGION = "us-east-1"
READY_LINE = b"RGW READY"
READY_TIMEOUT = 90


def _state_dir():
    # One directory per test run: xdist gives its workers the same run id; a plain run makes its own.
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if not run:
        run = os.environ.setdefault("OCI_TEST_S3_RUN", uuid.uuid4().hex)
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "oci-registry-s3-%s" % run)
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def s3_client(endpoint, access_key, secret_key, region=REGION):
    """A botocore S3 client for the store (path-style addressing, SigV4)."""
    import botocore.config
    import botocore.session

    session = botocore.session.get_session()
    return session.create_client(
        "s3", endpoint_url=endpoint, region_name=region, aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=botocore.config.Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                                      retries={"max_attempts": 2}, connect_timeout=5, read_timeout=30),
    )


class S3Store(dict):
    """The running store: endpoint, container, network_address, access_key, secret_key, region."""

    def client(self):
        return s3_client(self["endpoint"], self["access_key"], self["secret_key"], self["region"])

    def bucket(self, name):
        """Creates a fresh bucket named after NAME (plus a unique suffix) and returns its name."""
        stem = "".join(ch if ch.isalnum() or ch == "-" else "-" for ch in name.lower()).strip("-")[:40] or "b"
        bucket = "%s-%s" % (stem, uuid.uuid4().hex[:10])
        self.client().create_bucket(Bucket=bucket)
        return bucket

    def keys(self, bucket, prefix=""):
        """Every object key in BUCKET under PREFIX."""
        paginator = self.client().get_paginator("list_objects_v2")
        found = []
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            found.extend(item["Key"] for item in page.get("Contents", []))
        return found


def _start(client):
    access_key = "ak" + uuid.uuid4().hex[:18]
    secret_key = "sk-" + uuid.uuid4().hex
    name = "oci-test-rgw-%s" % uuid.uuid4().hex[:10]
    container = client.containers.run(
        IMAGE, detach=True, name=name, ports={"7480/tcp": ("127.0.0.1", None)},
        environment={"RGW_ACCESS_KEY": access_key, "RGW_SECRET_KEY": secret_key},
        labels={"oci-registry-test": "s3-store"},
    )
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        container.reload()
        logs = container.logs()
        if READY_LINE in logs:
            break
        if container.status not in ("created", "running") or time.monotonic() > deadline:
            container.remove(force=True)
            raise RuntimeError("the S3 store (%s) did not become ready within %ss:\n%s"
                               % (IMAGE, READY_TIMEOUT, logs.decode(errors="replace")[-3000:]))
        time.sleep(0.2)
    port = int(container.attrs["NetworkSettings"]["Ports"]["7480/tcp"][0]["HostPort"])
    return {
        "endpoint": "http://127.0.0.1:%d" % port,
        "container": name,
        "network_address": container.attrs["NetworkSettings"]["IPAddress"],
        "access_key": access_key,
        "secret_key": secret_key,
        "region": REGION,
    }


def _running(client, name):
    try:
        return client.containers.get(name).status == "running"
    except docker.errors.NotFound:
        return False


def _write(path, state):
    # The state holds the store's secret key: 0600, in a 0700 directory.
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        json.dump(state, handle)


def acquire():
    """Returns the run's store, starting it when no worker has; counts this worker as a user."""
    client = docker.from_env()
    try:
        client.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        raise RuntimeError("image %s is missing: run `make bed` (tests/bed/images.sh builds it)" % IMAGE)
    directory = _state_dir()
    state_path = os.path.join(directory, "state.json")
    with FileLock(os.path.join(directory, "lock"), timeout=READY_TIMEOUT + 60):
        state = None
        if os.path.exists(state_path):
            with open(state_path) as handle:
                state = json.load(handle)
            if not _running(client, state["store"]["container"]):
                state = None
        if state is None:
            state = {"store": _start(client), "users": 0}
        state["users"] += 1
        _write(state_path, state)
    return S3Store(state["store"])


def release(store):
    """Drops this worker's reference; the last one removes the container."""
    client = docker.from_env()
    directory = _state_dir()
    state_path = os.path.join(directory, "state.json")
    with FileLock(os.path.join(directory, "lock"), timeout=120):
        with open(state_path) as handle:
            state = json.load(handle)
        state["users"] -= 1
        if state["users"] > 0:
            _write(state_path, state)
            return
        os.unlink(state_path)
        try:
            client.containers.get(store["container"]).remove(force=True, v=True)
        except docker.errors.NotFound:
            pass
