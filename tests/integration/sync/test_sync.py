"""oci_sync between live Distribution registries with htpasswd auth, checked with skopeo and the API.

The source holds the dataset of dataset.py (repositories sharing base layers, a multi-arch index,
an image with a referrer that has a referrer, uncompressed layers, a 2 MiB layer). Every test
copies into a fresh destination of its own.
"""

import hashlib
import json
import os
import signal
import subprocess
import time

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils._client import (
    ConnectionOptions,
    RegistryClient,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._oci import OciApi

from ..registry import ROOT, _python, run_module
from . import dataset
from .front import Front
from .proxy import Proxy
from .registries import SyncRegistry

pytestmark = pytest.mark.integration

BIG = 2 * 1024 * 1024


def api_of(registry):
    user, password = registry.admin
    return OciApi(RegistryClient(ConnectionOptions(registry.url, username=user, password=password, retries=1)))


@pytest.fixture(scope="module")
def source():
    registry = SyncRegistry().start()
    expected, facts = dataset.build(api_of(registry), apps=3, big_blob_size=BIG)
    registry.expected, registry.facts = expected, facts
    yield registry
    registry.remove()


@pytest.fixture
def destination():
    registry = SyncRegistry().start()
    yield registry
    registry.remove()


def skopeo_raw(registry, reference):
    user, password = registry.admin
    proc = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", "--creds", "%s:%s" % (user, password),
                           "docker://%s/%s" % (registry.host, reference)], capture_output=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout


def all_tags(registry, repositories):
    api = api_of(registry)
    return sorted("%s:%s" % (repository, tag) for repository in repositories for tag in api.tags(repository))


def sync(source, destination, check=False, **args):
    args = dict({"source": source.endpoint(), "destination": destination.endpoint(), "workers": 4}, **args)
    return run_module("oci_sync", args, check=check)


def settled_log(registry, predicate=lambda log: True):
    """The registry's access log once it stops growing (docker delivers log lines a little later)."""
    previous = None
    for attempt in range(100):  # pylint: disable=unused-variable  # noqa: B007
        log = registry.requests_log()
        if log == previous and predicate(log):
            return log
        previous = log
        time.sleep(0.1)
    raise AssertionError("the access log of %s did not settle" % registry.url)


def test_check_mode_plans_then_copies_bit_for_bit_then_changes_nothing(source, destination):
    repositories = sorted(set(key.rsplit(":", 1)[0] for key in source.expected))

    rc, plan, output = sync(source, destination, check=True)
    assert rc == 0, output
    assert plan["changed"] is True
    assert api_of(destination).catalog() == []  # check mode wrote nothing
    assert sorted(plan["copied"]) == sorted(source.expected)
    assert plan["summary"]["bytes_uploaded"] > BIG
    assert set(e["status"] for e in plan["verification"]) == {"would copy"}

    rc, result, output = sync(source, destination)
    assert rc == 0, output
    assert result["changed"] is True
    # The plan said exactly what the copy did.
    for counter in ("tags_copied", "manifests_copied", "blobs_uploaded", "blobs_mounted", "bytes_uploaded",
                    "referrers_copied"):
        assert result["summary"][counter] == plan["summary"][counter], counter
    assert result["summary"]["blobs_mounted"] > 0  # shared base layers were mounted, not uploaded again
    assert result["summary"]["referrers_copied"] == 2  # the SBOM and the signature of the SBOM

    # Verification report: one entry per repository:tag, all matching, referrers counted on both sides.
    report = dict(("%s:%s" % (e["repository"], e["tag"]), e) for e in result["verification"])
    assert sorted(report) == sorted(source.expected)
    for key, digest in source.expected.items():
        assert report[key]["status"] == "match", report[key]
        assert report[key]["source_digest"] == report[key]["destination_digest"] == digest
    assert (report["signed/app:v1"]["source_referrers"], report["signed/app:v1"]["destination_referrers"]) == (1, 1)

    # Every tag of the source, referrer tags included, has the very same bytes on the destination (skopeo).
    source_tags = all_tags(source, repositories)
    assert all_tags(destination, repositories) == source_tags
    assert sum(1 for t in source_tags if ":sha256-" in t) == 2
    for reference in source_tags:
        raw = skopeo_raw(destination, reference)
        assert raw == skopeo_raw(source, reference), reference
        if reference in source.expected:
            assert "sha256:" + hashlib.sha256(raw).hexdigest() == source.expected[reference]

    # The multi-arch index came with its children; referrers and the referrer's referrer are there.
    api = api_of(destination)
    for child in json.loads(skopeo_raw(destination, "multi/arch:latest"))["manifests"]:
        assert api.head_manifest("multi/arch", child["digest"]).digest == child["digest"]
    for digest in (source.facts["sbom"], source.facts["signature"]):
        assert api.head_manifest("signed/app", digest).digest == digest

    # Uncompressed layers stayed uncompressed, byte for byte (skopeo without --preserve-digests would
    # have compressed them and changed every digest).
    manifest = json.loads(skopeo_raw(destination, "raw/uncompressed:v1"))
    assert [layer["mediaType"] for layer in manifest["layers"]] == [dataset.LAYER_TAR] * 2
    for layer in manifest["layers"]:
        response = api.get_blob("raw/uncompressed", layer["digest"])
        assert "sha256:" + hashlib.sha256(b"".join(response.iter_content(65536))).hexdigest() == layer["digest"]

    rc, again, output = sync(source, destination)
    assert rc == 0, output
    assert again["changed"] is False
    assert again["summary"]["tags_unchanged"] == len(source.expected)
    assert again["summary"]["blobs_uploaded"] == again["summary"]["manifests_copied"] == 0
    assert again["copied"] == []


def test_selection_patterns_and_destination_prefix(source, destination):
    rc, result, output = sync(source, destination, repositories=["apps/app0[02]", "multi/*", "signed/app"],
                              tags=["v*"], destination_prefix="mirror/")
    assert rc == 0, output
    # multi/arch has only `latest`, which the tag patterns do not select.
    assert sorted(result["copied"]) == ["apps/app00:v1", "apps/app02:v1", "signed/app:v1"]
    assert sorted(api_of(destination).catalog()) == ["mirror/apps/app00", "mirror/apps/app02", "mirror/signed/app"]
    assert set(e["destination_repository"] for e in result["verification"]) == {
        "mirror/apps/app00", "mirror/apps/app02", "mirror/signed/app"}
    # the referrer tag followed its subject into the prefixed repository
    subject = source.expected["signed/app:v1"]
    assert sorted(api_of(destination).tags("mirror/signed/app")) == sorted(
        ["v1", subject.replace(":", "-"), source.facts["sbom"].replace(":", "-")])


def test_killed_run_resumes_without_sending_again_what_landed(source, destination):
    proxy = Proxy(source.port, stall_after_blob_gets=5).start()
    args = {"source": dict(source.endpoint(), registry_url=proxy.url, timeout=120), "repositories": ["apps/*"],
            "destination": destination.endpoint(), "workers": 1}
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="json")
    command = [os.path.join(os.path.dirname(_python()), "ansible"), "localhost", "-i", "localhost,", "-c", "local",
               "-m", "provisioning.oci_registry.oci_sync", "-a", json.dumps(args),
               "-e", "ansible_python_interpreter=%s" % _python()]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        assert proxy.stalled.wait(240), "the first run never reached its fifth blob download"
        first = settled_log(destination, lambda log: destination.blob_commits())
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        proxy.close()
    landed = set(destination.blob_commits())
    manifests_landed = set(path for method, path, status in first if method == "PUT" and "/manifests/" in path
                           and status == 201)
    assert landed, "nothing landed before the kill"
    api = api_of(destination)
    assert sum(api.head_manifest("apps/app%02d" % i, "v1") is not None for i in range(3)) < 3  # it did not finish

    rc, result, output = sync(source, destination, repositories=["apps/*"])
    assert rc == 0, output
    second = settled_log(destination)[len(first):]
    resent = [path for method, path, status in second if method == "PUT" and "/blobs/uploads/" in path
              and any(digest.replace(":", "%3A") in path and path.startswith("/v2/%s/" % repo) for repo, digest in landed)]
    assert resent == []
    assert not [path for method, path, status in second if method == "PUT" and path in manifests_landed]
    # Each blob crossed the wire once over both runs; the rest was mounted or found in place.
    source_api = api_of(source)
    blobs = set()
    for reference in ("apps/app00:v1", "apps/app01:v1", "apps/app02:v1"):
        manifest = json.loads(source_api.get_manifest(*reference.split(":")).body)
        blobs.update(d["digest"] for d in [manifest["config"]] + manifest["layers"])
    assert result["summary"]["blobs_uploaded"] > 0
    assert len(landed) + result["summary"]["blobs_uploaded"] == len(blobs)
    assert result["summary"]["blobs_present"] >= 1  # what landed in the repository the kill interrupted
    assert set(e["status"] for e in result["verification"]) == {"match"}
    for reference in ("apps/app00:v1", "apps/app01:v1", "apps/app02:v1"):
        assert api_of(destination).head_manifest(*reference.split(":")).digest == source.expected[reference]


def test_destination_refusing_writes_fails_naming_the_repository(source, destination):
    front = Front(destination, deny_writes=["apps/app01"]).start()
    try:
        args = {"source": source.endpoint(), "destination": front.endpoint(), "workers": 2,
                "repositories": ["apps/app00", "apps/app01"]}
        rc, result, output = run_module("oci_sync", args)
    finally:
        front.remove()
    assert rc != 0
    assert "apps/app01" in result["msg"] and "apps/app00" not in result["msg"]
    assert "refused to write to repository 'apps/app01' (HTTP 403)" in result["msg"]
    assert destination.admin[1] not in output and source.admin[1] not in output
    assert len(result["errors"]) == 1
    status = dict((e["repository"], e["status"]) for e in result["verification"])
    assert status == {"apps/app00": "match", "apps/app01": "failed"}
    assert api_of(destination).tags("apps/app01") == []


def test_declined_mounts_hand_their_upload_session_to_the_upload(source, destination):
    front = Front(destination, decline_mounts=True).start()
    try:
        before = len(settled_log(destination))
        args = {"source": source.endpoint(), "destination": front.endpoint(), "workers": 1,
                "repositories": ["apps/app00", "apps/app01", "apps/app02"]}
        rc, result, output = run_module("oci_sync", args)
        front_log = [line for line in front.container.logs().decode(errors="replace").splitlines() if "mount=" in line]
    finally:
        front.remove()
    assert rc == 0, output
    assert result["summary"]["blobs_mounted"] == 0
    assert set(e["status"] for e in result["verification"]) == {"match"}
    log = settled_log(destination)[before:]
    posts = [path for method, path, status in log if method == "POST" and "/blobs/uploads/" in path]
    assert all(status == 202 for method, path, status in log if method == "POST")
    # Every upload session opened, a declined mount's included, took one upload; none was cancelled.
    assert len(posts) == len(destination.blob_commits()) == result["summary"]["blobs_uploaded"]
    assert not [path for method, path, status in log if method == "DELETE"]
    # Mounts stayed on after the first decline: the shared base layers were asked for in each later repository.
    assert len(front_log) >= 2 * 2


def test_source_dropping_the_connection_mid_blob_is_retried_and_verified(source, destination):
    proxy = Proxy(source.port, cut_responses_over=BIG // 2).start()
    try:
        rc, result, output = run_module("oci_sync", {
            "source": dict(source.endpoint(), registry_url=proxy.url), "destination": destination.endpoint(),
            "repositories": ["big/blob"]})
    finally:
        proxy.close()
    assert rc == 0, output
    assert proxy.cuts == 1
    assert result["summary"]["retries"] == 1
    assert result["summary"]["bytes_uploaded"] > BIG
    assert [e["status"] for e in result["verification"]] == ["match"]
    layer = source.facts["big_layer"]
    response = api_of(destination).get_blob("big/blob", layer)
    assert "sha256:" + hashlib.sha256(b"".join(response.iter_content(1 << 20))).hexdigest() == layer
    assert skopeo_raw(destination, "big/blob:v1") == skopeo_raw(source, "big/blob:v1")


def playbook(extra_vars, tmp_path, check=False):
    path = tmp_path / "migration.json"
    path.write_text(json.dumps(extra_vars))
    command = [os.path.join(os.path.dirname(_python()), "ansible-playbook"), "playbooks/migrate.yml",
               "-e", "@%s" % path]
    if check:
        command.append("--check")
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
                          env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
    return proc.returncode, proc.stdout + proc.stderr


def test_migrate_playbook_plans_copies_and_reruns_without_change(source, destination, tmp_path):
    extra = {"migrate_source": source.endpoint(), "migrate_destination": destination.endpoint(),
             "migrate_repositories": ["apps/*", "signed/*"], "migrate_tags": ["v1"]}
    rc, output = playbook(extra, tmp_path, check=True)
    assert rc == 0, output
    assert "Plan: 4 of 4 tags in 4 repositories" in output
    assert api_of(destination).catalog() == []
    rc, output = playbook(extra, tmp_path)
    assert rc == 0, output
    assert "Verified: 4 of 4 repository:tag identical" in output
    assert source.endpoint()["password"] not in output
    rc, output = playbook(extra, tmp_path)
    assert rc == 0, output
    assert "Copied: 0 of 4 tags" in output
    assert "changed=0" in output


def test_migrate_playbook_refuses_an_incomplete_source_before_copying(destination, tmp_path):
    rc, output = playbook({"migrate_source": {"registry_type": "zot"},
                           "migrate_destination": destination.endpoint()}, tmp_path)
    assert rc != 0
    assert "migrate_source must be a dict with at least registry_url" in output
    assert "Copy the repositories" not in output


@pytest.mark.parametrize("args, message", [
    ({"destination_prefix": "Mirror"}, "destination_prefix"),
    ({"workers": 0}, "workers must be between 1 and 64"),
    ({"source": {"registry_url": "ftp://127.0.0.1:1"}}, "registry_url must be an http:// or https:// URL"),
])
def test_bad_input_fails_before_any_request(args, message):
    # Both registries are unreachable ports: any request would fail with "Connection refused" instead.
    base = {"source": {"registry_url": "http://127.0.0.1:1"}, "destination": {"registry_url": "http://127.0.0.1:1"}}
    rc, result, output = run_module("oci_sync", dict(base, **args))
    assert rc != 0
    assert message in result["msg"], result["msg"]
    assert "Connection refused" not in output


def test_copy_through_the_access_front_and_a_namespace_it_refuses(source):
    from .access_front import AccessFront

    users = {"admin": ("Adm1n-front-pw", True), "pusher": ("Pusher-front-pw", False)}
    front = AccessFront(users, {"apps": [{"subjects": ["pusher"], "actions": ["read", "write"]}],
                                "locked": [{"subjects": ["pusher"], "actions": ["read"]}]}).start()
    try:
        args = {"source": source.endpoint(), "destination": front.endpoint("pusher"),
                "repositories": ["apps/app00", "apps/app01"]}
        rc, result, output = run_module("oci_sync", args)
        assert rc == 0, output
        assert result["summary"]["blobs_mounted"] > 0  # mounts across the namespace pass the front's rules
        assert set(e["status"] for e in result["verification"]) == {"match"}
        rc, again, output = run_module("oci_sync", args)
        assert rc == 0 and again["changed"] is False, output

        rc, refused, output = run_module("oci_sync", dict(args, destination_prefix="locked"))
        assert rc != 0
        assert "refused to write to repository 'locked/apps/app00' (HTTP 403)" in refused["msg"]
        assert "refused to write to repository 'locked/apps/app01' (HTTP 403)" in refused["msg"]
        assert "Pusher-front-pw" not in output
    finally:
        front.remove()
