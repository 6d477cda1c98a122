"""Mirrors, replication and scanning on Harbor (issue 16): the adapter against the swagger-validating
double, and the double's own reproduction of Harbor v2.15.2's behaviour for these calls."""

import pytest
import requests

from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import (
    InvalidParameterError,
    OciRegistryError,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._harbor_replication import (
    harbor_checks,
    harbor_cron,
    policy_body,
    replication_comparable,
    replication_from_policy,
    type_checks,
)
from ansible_collections.provisioning.oci_registry.plugins.modules.oci_scan import split_image

from .conftest import ADMIN_PASSWORD

API = "/api/v2.0"
SECRET = "Upstream-S3cret"


def mirror(**over):
    entry = {"name": "hub", "url": "https://registry-1.docker.io", "username": "puller", "password": SECRET,
             "tls_verify": True, "repositories": ["**"], "namespace": "dockerhub", "ttl": None, "port": None,
             "state": "present"}
    entry.update(over)
    return entry


def replication(**over):
    entry = {"name": "to-dr", "direction": "push",
             "remote": {"url": "https://dr.example.com", "username": "robot", "password": SECRET, "tls_verify": True},
             "repositories": ["provisioning-platform/**"], "tags": ["v*", "latest"],
             "destination_namespace": "backup", "trigger": "scheduled", "schedule": "30 2 * * *",
             "deletions": True, "state": "present"}
    entry.update(over)
    return entry


def api(double, method, path, **kwargs):
    return requests.request(method, double.url + API + path, auth=("admin", ADMIN_PASSWORD), timeout=10, **kwargs)


# -- mirrors ---------------------------------------------------------------------------------------
def test_mirror_check_mode_then_create_then_idempotent(double, backend):
    change = backend.mirror_ensure(mirror(), check_mode=True)
    assert change.changed and change.before is None and change.after["namespace"] == "dockerhub"
    assert double.registries == {} and double.project("dockerhub") is None  # nothing written

    change = backend.mirror_ensure(mirror())
    assert change.changed
    (registry,) = double.registries.values()
    assert registry["url"] == "https://registry-1.docker.io" and registry["credential"]["access_secret"] == SECRET
    project = double.project("dockerhub")
    assert project["registry_id"] == registry["id"]
    # Harbor gives a proxy-cache project a 7-day retention policy
    assert double.retentions[int(project["metadata"]["retention_id"])]["rules"][0]["template"] == "nDaysSinceLastPull"

    got = backend.mirror_get("hub")
    assert got == dict(mirror(), password=None)
    assert backend.mirror_names() == ["hub"]
    writes = len(double.writes())
    assert backend.mirror_ensure(mirror()).changed is False
    assert len(double.writes()) == writes


def test_mirror_secret_is_never_returned(double, backend):
    backend.mirror_ensure(mirror())
    listed = api(double, "GET", "/registries").json()
    assert listed[0]["credential"] == {"type": "basic", "access_key": "puller", "access_secret": "*****"}
    change = backend.mirror_ensure(mirror(url="https://mirror.example.com"), check_mode=True)
    assert SECRET not in repr(change.as_dict())


def test_mirror_change_of_url_and_password(double, backend):
    backend.mirror_ensure(mirror())
    change = backend.mirror_ensure(mirror(url="https://mirror.example.com", tls_verify=False))
    assert change.changed and change.before["url"] == "https://registry-1.docker.io"
    (registry,) = double.registries.values()
    assert registry["url"] == "https://mirror.example.com" and registry["insecure"] is True
    assert registry["credential"]["access_secret"] == SECRET  # kept: not sent again
    # a new password alone cannot be seen (Harbor returns "*****"): update_password=always sends it
    assert backend.mirror_ensure(mirror(url="https://mirror.example.com", tls_verify=False,
                                        password="New-S3cret")).changed is False
    change = backend.mirror_ensure(mirror(url="https://mirror.example.com", tls_verify=False, password="New-S3cret"),
                                   update_password="always")
    assert change.changed and change.password_changed
    assert double.registries[registry["id"]]["credential"]["access_secret"] == "New-S3cret"


def test_mirror_refuses_an_existing_regular_project(double, backend):
    backend.namespace_ensure({"name": "dockerhub", "public": False})
    with pytest.raises(InvalidParameterError, match="already a regular Harbor project"):
        backend.mirror_ensure(mirror())
    assert double.registries == {}


def test_mirror_namespace_cannot_move(double, backend):
    backend.mirror_ensure(mirror())
    with pytest.raises(InvalidParameterError, match="cannot rename a project or move a proxy cache"):
        backend.mirror_ensure(mirror(namespace="hub-cache"))


def test_mirror_repositories_cannot_be_limited(backend, double):
    with pytest.raises(InvalidParameterError, match=r"mirror hub.repositories: .*every repository"):
        backend.mirror_ensure(mirror(repositories=["library/*"]))
    assert double.writes() == []


def test_mirror_ttl_is_a_warning(backend):
    change = backend.mirror_ensure(mirror(ttl="168h"), check_mode=True)
    assert any("ttl" in w and "168h" in w for w in change.warnings)


def test_mirror_absent_removes_project_and_endpoint(double, backend):
    backend.mirror_ensure(mirror())
    double.add_artifact("dockerhub", "library/alpine", "3.20")  # a cached copy
    assert backend.mirror_ensure(mirror(state="absent"), check_mode=True).changed
    assert double.registries
    change = backend.mirror_ensure(mirror(state="absent"))
    assert change.changed and change.after is None
    assert double.registries == {} and double.project("dockerhub") is None
    assert backend.mirror_ensure(mirror(state="absent")).changed is False


def test_double_refuses_deleting_a_registry_in_use(double, backend):
    backend.mirror_ensure(mirror())
    (rid,) = double.registries
    response = api(double, "DELETE", "/registries/%d" % rid)
    assert response.status_code == 412 and "proxy cache project" in response.text


def test_double_refuses_duplicate_registry_names_and_unhealthy_endpoints(double):
    body = {"name": "up", "type": "docker-registry", "url": "https://up.example.com"}
    assert api(double, "POST", "/registries", json=body).status_code == 201
    assert api(double, "POST", "/registries", json=body).status_code == 409
    double.unhealthy_urls.add("https://down.example.com")
    response = api(double, "POST", "/registries", json=dict(body, name="down", url="https://down.example.com/"))
    assert response.status_code == 400 and "unhealthy" in response.text


def test_double_proxy_cache_rules(double, backend):
    body = {"name": "up", "type": "docker-registry", "url": "https://up.example.com"}
    rid = api(double, "POST", "/registries", json=body).headers["Location"]
    rid = int(rid.rsplit("/", 1)[1])
    assert api(double, "POST", "/projects", json={"project_name": "bad", "registry_id": 0}).status_code == 400
    assert api(double, "POST", "/projects", json={"project_name": "cache", "registry_id": rid}).status_code == 201
    # registry_id cannot change after creation (Harbor's UpdateProject never reads it)
    response = api(double, "PUT", "/projects/cache", headers={"X-Is-Resource-Name": "true"},
                   json={"registry_id": rid + 1})
    assert response.status_code == 400 and "registry_id cannot be changed" in response.text
    double.violations.clear()
    # only system admins create proxy-cache projects
    backend.user_ensure({"name": "dev", "password": "Dev-Passw0rd", "admin": False})
    response = requests.post(double.url + API + "/projects", auth=("dev", "Dev-Passw0rd"), timeout=10,
                             json={"project_name": "cache2", "registry_id": rid})
    assert response.status_code == 403 and "Only system admin" in response.text


# -- replication -----------------------------------------------------------------------------------
def test_replication_policy_body_follows_harbor():
    body = policy_body(replication(), 7)
    assert body["dest_registry"] == {"id": 7} and "src_registry" not in body
    assert body["trigger"] == {"type": "scheduled", "trigger_settings": {"cron": "0 30 2 * * *"}}
    assert body["deletion"] is True and body["replicate_deletion"] is True
    assert body["dest_namespace"] == "backup" and body["dest_namespace_replace_count"] == 0
    assert {"type": "tag", "value": "{v*,latest}", "decoration": "matches"} in body["filters"]
    pull = policy_body(replication(direction="pull", trigger="manual", schedule=None, repositories=["**"],
                                   tags=["*"]), 3)
    assert pull["src_registry"] == {"id": 3} and pull["filters"] == [] and pull["trigger"] == {"type": "manual"}
    assert policy_body(replication(trigger="on_push", schedule=None), 1)["trigger"] == {"type": "event_based"}


def test_replication_round_trip_of_the_shape():
    policy = dict(policy_body(replication(), 7), src_registry={"id": 0},
                  dest_registry={"id": 7, "url": "https://dr.example.com", "insecure": False,
                                 "credential": {"type": "basic", "access_key": "robot", "access_secret": "*****"}})
    assert replication_from_policy(policy, policy["dest_registry"]) == replication_comparable(replication())


@pytest.mark.parametrize("entry, message", [
    (replication(direction="pull", trigger="on_push", schedule=None), "on_push needs direction push"),
    (replication(schedule="* 2 * * *"), "minutes field"),
])
def test_harbor_checks_refuse(entry, message):
    errors, _warnings = harbor_checks("replication", entry, "oci_registry_replications[0]")
    assert len(errors) == 1 and message in errors[0] and "oci_registry_replications[0]" in errors[0]


def test_harbor_cron_needs_five_fields():
    with pytest.raises(InvalidParameterError, match="five-field cron"):
        harbor_cron("0 0 2 * * *")


def test_replication_check_mode_create_idempotent_update_delete(double, backend):
    change = backend.replication_ensure(replication(), check_mode=True)
    assert change.changed and change.before is None and double.replication_policies == {}
    change = backend.replication_ensure(replication())
    assert change.changed
    (policy,) = double.replication_policies.values()
    assert policy["replicate_deletion"] is True  # sent as "deletion" too, which Harbor's handler reads
    assert policy["trigger"]["trigger_settings"]["cron"] == "0 30 2 * * *"
    assert backend.replication_get("to-dr") == replication_comparable(replication())
    assert SECRET not in repr(backend.replication_get("to-dr"))
    writes = len(double.writes())
    assert backend.replication_ensure(replication()).changed is False
    assert len(double.writes()) == writes
    change = backend.replication_ensure(replication(tags=["*"], trigger="manual", schedule=None))
    assert change.changed and change.before["trigger"] == "scheduled" and change.after["trigger"] == "manual"
    assert double.replication_policies[policy["id"]]["trigger"] == {"type": "manual"}
    assert backend.replication_names() == ["to-dr"]
    assert backend.replication_ensure(replication(state="absent")).changed
    assert double.replication_policies == {} and double.registries == {}
    assert backend.replication_ensure(replication(state="absent")).changed is False


def test_replication_run_push_copies_what_the_filters_select(double, backend):
    backend.namespace_ensure({"name": "provisioning-platform", "public": False})
    double.add_artifact("provisioning-platform", "api", "v1.2.0")
    double.add_artifact("provisioning-platform", "api", "dev")
    double.add_artifact("provisioning-platform", "tools/cli", "latest")
    backend.replication_ensure(replication(trigger="manual", schedule=None))
    report = backend.replication_run("to-dr", timeout=30, sleep=lambda _s: None)
    assert report["status"] == "Succeed" and report["failed"] == 0
    assert sorted((c["repository"], c["items"]) for c in report["copied"]) == [
        ("backup/provisioning-platform/api", 1), ("backup/provisioning-platform/tools/cli", 1)]


def test_replication_run_pull_and_a_disabled_policy(double, backend):
    double.remote_content["https://dr.example.com"] = {"library/alpine": ["3.20", "edge"]}
    backend.replication_ensure(replication(direction="pull", destination_namespace=None, repositories=["library/*"],
                                           tags=["*"], trigger="manual", schedule=None))
    report = backend.replication_run("to-dr", timeout=30, sleep=lambda _s: None)
    assert report["copied"] == [{"repository": "library/alpine", "tag": None, "digest": None, "items": 2}]
    double.remote_content["https://dr.example.com"]["library/busybox"] = ["1.36"]
    double.replication_fails.add("library/busybox")
    failed = backend.replication_run("to-dr", timeout=30, sleep=lambda _s: None)
    assert failed["status"] == "Failed" and failed["failed"] == 1 and [c["repository"] for c in failed["copied"]] == [
        "library/alpine"]
    assert len(failed["errors"]) == 1 and failed["errors"][0].startswith("library/busybox [1 item(s) in total]")
    (policy,) = double.replication_policies.values()
    policy["enabled"] = False
    with pytest.raises(OciRegistryError, match="disabled"):
        backend.replication_run("to-dr", timeout=30, sleep=lambda _s: None)
    with pytest.raises(OciRegistryError, match="no replication policy 'nope'"):
        backend.replication_run("nope")


# -- scanning --------------------------------------------------------------------------------------
def test_split_image():
    assert split_image("p/app:1.0") == ("p/app", "1.0")
    assert split_image("p/app@sha256:ab") == ("p/app", "sha256:ab")
    with pytest.raises(InvalidParameterError, match="no tag or digest"):
        split_image("host:5000/p/app")


def test_scan_waits_and_counts(double, backend):
    backend.namespace_ensure({"name": "apps", "public": False})
    double.add_artifact("apps", "web/api", "1.0", vulnerabilities={"Critical": 1, "High": 2, "Negligible": 3})
    double.register_scanner()
    result = backend.scan("apps/web/api", "1.0", timeout=30, sleep=lambda _s: None)
    assert result["scanned"] and result["status"] == "Success" and result["digest"].startswith("sha256:")
    assert result["vulnerabilities"] == {"critical": 1, "high": 2, "medium": 0, "low": 3, "unknown": 0}
    # the report from additions/vulnerabilities, worst first
    assert [f["severity"] for f in result["findings"]] == ["critical", "high", "high", "low", "low", "low"]
    assert result["findings"][0]["id"].startswith("CVE-") and result["findings"][0]["fix_version"] == "1.1.0"
    check = backend.scan("apps/web/api", "1.0", check_mode=True)
    assert check["scanned"] is False and check["vulnerabilities"]["critical"] == 1


def test_scan_fails_as_harbor_fails(double, backend):
    backend.namespace_ensure({"name": "apps", "public": False})
    double.add_artifact("apps", "chart", "1.0", media_type="application/vnd.cncf.helm.config.v1+json")
    double.add_artifact("apps", "web", "1.0")
    with pytest.raises(OciRegistryError, match="412.*no available scanner"):
        backend.scan("apps/web", "1.0", sleep=lambda _s: None)
    double.register_scanner()
    with pytest.raises(OciRegistryError, match="does not support scanning"):
        backend.scan("apps/chart", "1.0", sleep=lambda _s: None)
    with pytest.raises(OciRegistryError, match="no artifact apps/web 2.0"):
        backend.scan("apps/web", "2.0")


def test_namespace_scan_settings_through_project_metadata(double, backend):
    ns = {"name": "apps", "public": False, "scan": {"on_push": True, "block_severity": "high"}}
    change = backend.namespace_ensure(ns, check_mode=True)
    assert change.changed and double.project("apps") is None
    backend.namespace_ensure(ns)
    meta = double.project("apps")["metadata"]
    assert (meta["auto_scan"], meta["prevent_vul"], meta["severity"]) == ("true", "true", "high")
    assert backend.namespace_get("apps")["scan"] == {"on_push": True, "block_severity": "high"}
    assert backend.namespace_ensure(ns).changed is False
    change = backend.namespace_ensure(dict(ns, scan={"on_push": False, "block_severity": "none"}))
    assert change.changed and change.before["scan"]["on_push"] is True
    assert double.project("apps")["metadata"]["prevent_vul"] == "false"
    assert backend.namespace_ensure(dict(ns, scan=None)).changed is False  # None: not managed
    # scan on push: an artifact pushed to an auto_scan project is scanned
    backend.namespace_ensure(ns)
    double.register_scanner()
    double.add_artifact("apps", "web", "2.0", vulnerabilities={"Medium": 4})
    assert backend.scan("apps/web", "2.0", check_mode=True)["status"] in ("Running", "Success")
    with pytest.raises(InvalidParameterError, match="block_severity"):
        backend.namespace_ensure(dict(ns, scan={"on_push": True, "block_severity": "severe"}))


def test_replication_with_defaults_left_out_is_idempotent(double, backend):
    entry = {"name": "from-hub", "direction": "pull", "remote": {"url": "https://hub.example.com/"}}
    assert backend.replication_ensure(entry).changed
    writes = len(double.writes())
    assert backend.replication_ensure(entry).changed is False
    assert len(double.writes()) == writes
    got = backend.replication_get("from-hub")
    assert got["remote"] == {"url": "https://hub.example.com", "username": None, "password": None, "tls_verify": True}
    assert (got["repositories"], got["tags"], got["trigger"], got["deletions"]) == (["**"], ["*"], "manual", False)


def test_type_checks_name_every_entry_at_once():
    errors, warnings = type_checks(
        mirrors=[mirror(), mirror(name="quay", repositories=["org/*"], ttl="24h"),
                 mirror(name="old", ttl="1h", state="absent")],
        replications=[replication(), replication(name="in", direction="pull", trigger="on_push", schedule=None)],
        namespaces=[{"name": "apps", "scan": {"on_push": True, "block_severity": "critical"}}])
    assert len(errors) == 2, errors
    assert errors[0].startswith("oci_registry_mirrors[1] (quay).repositories")
    assert errors[1].startswith("oci_registry_replications[1] (in).trigger")
    assert warnings == ["oci_registry_mirrors[1] (quay).ttl: Harbor has no setting for how long a proxy cache trusts "
                        "a cached manifest; 24h is not applied"]
