"""Retention and garbage collection (oci_gc, playbooks/gc.yml) on a Distribution registry deployed by
playbooks/deploy.yml on 127.0.0.1, seeded with skopeo."""

import os
import subprocess
import tempfile

import pytest
import yaml

from ..access.deployment import Deployment
from ..registry import run_module
from .seed import Api, blob_sizes, image, new_layout, push

pytestmark = pytest.mark.integration

NAMESPACE = {"name": "provisioning-test", "description": "Test artifacts", "public": False,
             "retention": {"keep_tags": 3, "max_age_days": 7},
             "policies": [{"subjects": ["authenticated"], "actions": ["read", "write", "delete"]}]}
REPO = "provisioning-test/app"
OTHER = "elsewhere/keep"  # in no namespace: retention never touches it
# Creation dates long past: max_age_days (7) keeps none of them, keep_tags (3) keeps the newest three.
DATED = [("v1", "2020-01-01T00:00:00Z"), ("v2", "2020-01-02T00:00:00Z"), ("v3", "2020-01-03T00:00:00Z"),
         ("v4", "2020-01-04T00:00:00Z"), ("v5", "2020-01-05T00:00:00Z")]


@pytest.fixture(scope="module")
def seeded():
    dep = Deployment(users=[], namespaces=[NAMESPACE])
    layout_dir = tempfile.mkdtemp(prefix="oci-gc-layout-")
    try:
        run = dep.playbook("deploy.yml")
        assert run.rc == 0, run
        layout = new_layout(layout_dir)
        sizes = {}
        for tag, created in DATED:
            descriptor = image(layout, "app-" + tag, created)
            layout.tag(descriptor, tag)
            sizes[tag] = blob_sizes(layout_dir, descriptor)
        # The newest tag: a multi-arch index of two platform images.
        index = layout.multiarch([image(layout, "multi-amd64", "2020-01-06T00:00:00Z", arch="amd64"),
                                  image(layout, "multi-arm64", "2020-01-06T00:00:00Z", arch="arm64")])
        layout.tag(index, "multi")
        layout.tag(image(layout, "other", "2019-01-01T00:00:00Z"), "old")
        for tag, _created in DATED:
            push(dep.host, dep.admin, layout_dir, tag, REPO)
        push(dep.host, dep.admin, layout_dir, "multi", REPO)
        push(dep.host, dep.admin, layout_dir, "old", OTHER)
        yield dep, sizes, index["digest"], layout_dir
    finally:
        dep.remove()
        subprocess.run(["rm", "-rf", layout_dir], check=True)


@pytest.fixture
def before_gc(seeded):
    """The seeded repository as the fixture left it: the tags an earlier gc deleted are pushed again (same
    digests), so that a test sees all of DATED and multi whatever ran before it."""
    dep, sizes, index, layout_dir = seeded
    present = Api(dep.url, dep.admin).tags(REPO)
    for tag in [tag for tag, _created in DATED] + ["multi"]:
        if tag not in present:
            push(dep.host, dep.admin, layout_dir, tag, REPO)
    assert Api(dep.url, dep.admin).tags(REPO) == ["multi", "v1", "v2", "v3", "v4", "v5"]
    return dep, sizes, index


def outside_tags(api):
    """Every "repository:tag" outside the namespace: elsewhere/keep:old, and what other tests pushed there."""
    catalog = api.get("/v2/_catalog", params={"n": 1000})
    catalog.raise_for_status()
    return ["%s:%s" % (repository, tag) for repository in catalog.json()["repositories"]
            if not repository.startswith(NAMESPACE["name"] + "/") for tag in api.tags(repository)]


def gc_args(dep, **extra):
    args = dict(registry_url=dep.url, registry_type="distribution", username=dep.admin[0], password=dep.admin[1],
                namespaces=[NAMESPACE], retries=1)
    args.update(extra)
    return args


def test_1_check_mode_lists_tags_and_bytes_and_deletes_nothing(before_gc):
    dep, sizes, _index = before_gc
    api = Api(dep.url, dep.admin)
    outside = outside_tags(api)
    assert OTHER + ":old" in outside
    rc, result, _out = run_module("oci_gc", gc_args(dep), check=True)
    assert rc == 0, result
    assert result["changed"] is True
    assert result["tags_deleted"] == [REPO + ":v1", REPO + ":v2", REPO + ":v3"]
    assert result["tags_kept"] == 3 + len(outside)  # v4, v5, multi, and every tag outside the namespace
    expected = {}
    for tag in ("v1", "v2", "v3"):
        expected.update(sizes[tag])
    assert result["bytes_freed"] == sum(expected.values())
    assert result["indexes"] == [REPO + ":multi"]
    reasons = {e["tag"]: e["reason"] for e in result["repositories"][0]["tags_deleted"]}
    assert reasons["v1"] == "not among the 3 most recent, older than 7 days"
    assert api.tags(REPO) == ["multi", "v1", "v2", "v3", "v4", "v5"]
    # The playbook in check mode says the same and changes nothing.
    config = os.path.join(dep.config_dir, "config.yml")
    with open(config) as handle:
        original = handle.read()
    run = dep.playbook("gc.yml", "--check", oci_registry_namespaces=[NAMESPACE])
    assert run.rc == 0 and run.changed == 1, run  # oci_gc reports the change it would make
    flat = " ".join(run.output.split())  # the YAML callback wraps long lines
    assert "tags that would be deleted: %s:v1, %s:v2, %s:v3" % (REPO, REPO, REPO) in flat, run
    assert "bytes that would be freed: %d " % sum(expected.values()) in flat, run
    assert api.tags(REPO) == ["multi", "v1", "v2", "v3", "v4", "v5"]
    with open(config) as handle:
        assert handle.read() == original


def test_2_delete_untagged_refused_while_an_index_exists(before_gc):
    dep, _sizes, _index = before_gc
    run = dep.playbook("gc.yml", oci_registry_namespaces=[NAMESPACE], gc_delete_untagged=True)
    assert run.rc != 0, run
    assert "delete_untagged refused" in run.output and REPO + ":multi" in run.output, run
    assert "platform manifests of a multi-arch image" in run.output
    assert Api(dep.url, dep.admin).tags(REPO) == ["multi", "v1", "v2", "v3", "v4", "v5"]


def test_3_gc_playbook_keeps_exactly_the_expected_tags_and_frees_bytes(before_gc):
    dep, sizes, index = before_gc
    api = Api(dep.url, dep.admin)
    v1_layer = max(sizes["v1"], key=sizes["v1"].get)
    assert api.blob_status(REPO, v1_layer) == 200
    run = dep.playbook("gc.yml", oci_registry_namespaces=[NAMESPACE])
    assert run.rc == 0, run
    flat = " ".join(run.output.split())  # the YAML callback wraps long lines
    assert "tags deleted: %s:v1, %s:v2, %s:v3" % (REPO, REPO, REPO) in flat, run
    freed = sum(dict(kv for tag in ("v1", "v2", "v3") for kv in sizes[tag].items()).values())
    assert "bytes freed: %d " % freed in flat, run
    assert "by garbage-collect" in flat
    assert api.tags(REPO) == ["multi", "v4", "v5"]
    assert api.tags(OTHER) == ["old"]
    # The multi-arch image survived whole: index, both platform manifests, configs and layers.
    assert api.digest(REPO, "multi") == index
    assert api.whole(REPO, "multi")
    assert api.whole(REPO, "v4") and api.whole(REPO, "v5")
    # The garbage collection ran: the blobs only deleted tags referenced are gone from storage.
    assert api.blob_status(REPO, v1_layer) == 404
    # Back in service: writable, no maintenance leftovers.
    config = yaml.safe_load(open(os.path.join(dep.config_dir, "config.yml")))
    assert "maintenance" not in config["storage"], config
    assert not os.path.exists(os.path.join(dep.config_dir, "config.yml.maintenance"))
    layout_dir = tempfile.mkdtemp(prefix="oci-gc-after-")
    layout = new_layout(layout_dir)
    layout.tag(image(layout, "after", "2020-02-01T00:00:00Z"), "after")
    push(dep.host, dep.admin, layout_dir, "after", "elsewhere/after")


def test_4_second_run_changes_nothing(seeded):
    dep = seeded[0]
    if Api(dep.url, dep.admin).tags(REPO) != ["multi", "v4", "v5"]:  # no gc ran before: this is the first run
        first = dep.playbook("gc.yml", oci_registry_namespaces=[NAMESPACE])
        assert first.rc == 0 and first.changed, first
    run = dep.playbook("gc.yml", oci_registry_namespaces=[NAMESPACE])
    assert run.rc == 0 and run.changed == 0, run
    assert "tags deleted: none" in run.output


def test_5_registry_left_read_only_is_put_back(seeded):
    dep = seeded[0]
    config_file = os.path.join(dep.config_dir, "config.yml")
    with open(config_file) as handle:
        original = handle.read()
    config = yaml.safe_load(original)
    config["storage"]["maintenance"] = {"readonly": {"enabled": True}}
    with open(config_file + ".maintenance", "w") as handle:
        handle.write(original)
    with open(config_file, "w") as handle:
        yaml.safe_dump(config, handle)
    subprocess.run(["docker", "restart", dep.name], check=True, capture_output=True)
    Api(dep.url, dep.admin).wait_ready()
    layout_dir = tempfile.mkdtemp(prefix="oci-gc-ro-")
    layout = new_layout(layout_dir)
    layout.tag(image(layout, "ro", "2020-02-01T00:00:00Z"), "ro")
    refused = subprocess.run(["skopeo", "--command-timeout", "30s", "copy", "--dest-tls-verify=false",
                              "--dest-creds", "%s:%s" % dep.admin, "oci:%s:ro" % layout_dir,
                              "docker://%s/elsewhere/ro:ro" % dep.host], capture_output=True, text=True,
                             check=False)
    assert refused.returncode != 0  # read-only indeed
    run = dep.playbook("gc.yml", oci_registry_namespaces=[NAMESPACE])
    assert run.rc == 0, run
    assert "left read-only by an earlier maintenance run" in run.output, run
    with open(config_file) as handle:
        assert handle.read() == original
    assert not os.path.exists(config_file + ".maintenance")
    push(dep.host, dep.admin, layout_dir, "ro", "elsewhere/ro")
