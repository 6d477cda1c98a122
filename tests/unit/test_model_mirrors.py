"""Mirrors, replications and namespace scan settings in the access model (issue 16): the normalized
shapes, every rule with its message (variable, index, what would be valid), and the Distribution checks
of TYPE_CHECKS."""

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils._model import (
    TYPE_CHECKS,
    ModelError,
    check_cron,
    normalize_mirror,
    normalize_mirrors,
    normalize_model,
    normalize_namespaces,
    normalize_replication,
    normalize_replications,
)

MIRROR = {"name": "hub", "url": "https://registry-1.docker.io", "namespace": "hub", "port": 5443}
REPLICATION = {"name": "to-dr", "direction": "push", "remote": {"url": "https://dr.example.com:5000"}}


def problems_of(call, *args, **kwargs):
    with pytest.raises(ModelError) as info:
        call(*args, **kwargs)
    return info.value.problems


# -- mirrors ----------------------------------------------------------------------------------
def test_mirror_defaults():
    assert normalize_mirrors([dict(MIRROR, url="https://registry-1.docker.io/")]) == [{
        "name": "hub", "url": "https://registry-1.docker.io", "username": None, "password": None,
        "tls_verify": True, "repositories": ["**"], "namespace": "hub", "ttl": None, "port": 5443,
        "state": "present"}]


def test_mirror_full_entry_keeps_its_values():
    mirror = normalize_mirrors([{"name": "ghcr", "url": "http://127.0.0.1:5000", "username": "u", "password": "p",
                                 "tls_verify": "no", "repositories": "library/*", "namespace": "cache/ghcr",
                                 "ttl": "1h30m", "port": "6000", "state": "absent"}])[0]
    assert mirror == {"name": "ghcr", "url": "http://127.0.0.1:5000", "username": "u", "password": "p",
                      "tls_verify": False, "repositories": ["library/*"], "namespace": "cache/ghcr", "ttl": "1h30m",
                      "port": 6000, "state": "absent"}


def test_no_mirrors_is_an_empty_list():
    assert normalize_mirrors(None) == []
    assert normalize_replications(None) == []


@pytest.mark.parametrize("entry, expected", [
    (dict(MIRROR, name="Hub"), "oci_registry_mirrors[0].name: 'Hub' (str) is not a valid name: 1-32 lowercase"),
    (dict(MIRROR, name="-hub"), "oci_registry_mirrors[0].name: '-hub' (str) is not a valid name"),
    (dict(MIRROR, name="h" * 33), "oci_registry_mirrors[0].name: "),
    (dict(MIRROR, url="ftp://x"), "oci_registry_mirrors[0].url: 'ftp://x' (str) is not a registry URL: http:// or "
                                  "https://"),
    (dict(MIRROR, url="https://x.io/v2/library"), "oci_registry_mirrors[0].url: 'https://x.io/v2/library' (str) is "
                                                  "not a registry URL"),
    (dict(MIRROR, url=None), "oci_registry_mirrors[0].url: None (NoneType) is not a registry URL"),
    (dict(MIRROR, username="u"), "oci_registry_mirrors[0]: give username and password together, or neither "
                                 "(anonymous access); only username is set"),
    (dict(MIRROR, password="Secret-1"), "oci_registry_mirrors[0]: give username and password together, or neither "
                                        "(anonymous access); only password is set"),
    (dict(MIRROR, username="u", password=""), "oci_registry_mirrors[0].password: must be a non-empty string"),
    (dict(MIRROR, tls_verify="maybe"), "oci_registry_mirrors[0].tls_verify: must be true or false"),
    (dict(MIRROR, repositories=[]), "oci_registry_mirrors[0].repositories: must be a non-empty list of globs"),
    (dict(MIRROR, repositories=["library/*", "Library"]), "oci_registry_mirrors[0].repositories[1]: 'Library' (str) "
                                                          "is not a repository name or glob"),
    (dict(MIRROR, repositories=["a//b"]), "oci_registry_mirrors[0].repositories[0]: 'a//b'"),
    (dict(MIRROR, repositories=["***"]), "oci_registry_mirrors[0].repositories[0]: '***'"),
    (dict(MIRROR, namespace=None), "oci_registry_mirrors[0].namespace: is required: the local namespace"),
    (dict(MIRROR, namespace="Hub/"), "oci_registry_mirrors[0].namespace: 'Hub/' (str) is not a valid namespace"),
    (dict(MIRROR, ttl="7d"), "oci_registry_mirrors[0].ttl: '7d' (str) is not a duration"),
    (dict(MIRROR, ttl=3600), "oci_registry_mirrors[0].ttl: 3600 (int) is not a duration"),
    (dict(MIRROR, port=0), "oci_registry_mirrors[0].port: must be a port number from 1 to 65535 or null, got 0"),
    (dict(MIRROR, port=True), "oci_registry_mirrors[0].port: must be a port number"),
    (dict(MIRROR, state="gone"), "oci_registry_mirrors[0].state: must be present or absent, got 'gone'"),
    (dict(MIRROR, upstream="x"), "oci_registry_mirrors[0]: unknown key(s) upstream; valid keys: name, url,"),
    ("hub", "oci_registry_mirrors[0]: must be a mapping with name, url,"),
])
def test_bad_mirror_is_named(entry, expected):
    problems = problems_of(normalize_mirrors, [entry])
    assert any(p.startswith(expected) for p in problems), problems
    assert "Secret-1" not in str(problems)


def test_mirrors_must_be_a_list():
    assert problems_of(normalize_mirrors, {"name": "hub"}, "my_mirrors")[0].startswith("my_mirrors: must be a list")


def test_mirror_duplicates_of_name_namespace_and_port():
    problems = problems_of(normalize_mirrors, [MIRROR, dict(MIRROR), dict(MIRROR, name="other", port=6000),
                                               dict(MIRROR, name="third", namespace="third")])
    assert "oci_registry_mirrors[1].name: mirror 'hub' is already listed at oci_registry_mirrors[0]" in problems
    assert ("oci_registry_mirrors[2].namespace: namespace 'hub' is already the namespace of the mirror at "
            "oci_registry_mirrors[0]") in problems
    assert "oci_registry_mirrors[3].port: port 5443 is already the port of the mirror at oci_registry_mirrors[0]" \
        in problems


def test_an_absent_mirror_frees_its_namespace_and_port():
    mirrors = normalize_mirrors([dict(MIRROR, state="absent"), dict(MIRROR, name="hub2")], registry_type="distribution")
    assert [m["name"] for m in mirrors] == ["hub", "hub2"]


def test_every_problem_at_once():
    problems = problems_of(normalize_mirrors, [dict(MIRROR, name="A", url="x", ttl="1d"), dict(MIRROR, port=-1)])
    assert len(problems) == 5, problems
    assert sorted(p.split(":")[0] for p in problems) == [
        "oci_registry_mirrors[0].name", "oci_registry_mirrors[0].ttl", "oci_registry_mirrors[0].url",
        "oci_registry_mirrors[1].namespace", "oci_registry_mirrors[1].port"]


def test_mirror_namespace_rules_grant_read_only():
    namespaces = normalize_namespaces([{"name": "hub", "public": True,
                                        "policies": [{"subjects": ["ci"], "actions": ["read"]},
                                                     {"subjects": ["ops"], "actions": ["write", "delete"]}]},
                                       {"name": "hub/private"}, {"name": "hubble"}])
    problems = problems_of(normalize_mirrors, [MIRROR], namespaces=namespaces)
    assert problems == [
        "oci_registry_mirrors[0].namespace: the namespace 'hub' of oci_registry_namespaces holds this mirror's "
        "access rules, and its policies[1] grants write, delete: a mirror is read-only, grant only read",
        "oci_registry_mirrors[0].namespace: namespace 'hub/private' of oci_registry_namespaces lies under this "
        "mirror's namespace 'hub': pulls of hub/... go to the mirror; choose another namespace",
    ]
    read_only = normalize_namespaces([{"name": "hub", "policies": [{"subjects": ["ci"], "actions": ["read"]}]}])
    assert normalize_mirrors([MIRROR], namespaces=read_only)[0]["namespace"] == "hub"


def test_distribution_requires_a_port_per_mirror():
    problems = problems_of(normalize_mirrors, [dict(MIRROR, port=None)], registry_type="distribution")
    assert problems == ["oci_registry_mirrors[0].port: is required on Distribution: each mirror is its own "
                        "proxy-mode registry, published by the access front on this port"]
    # Without a type (or for a type whose lane adds its own checks) no port is needed.
    assert normalize_mirrors([dict(MIRROR, port=None)])[0]["port"] is None


# -- replications -----------------------------------------------------------------------------
def test_replication_defaults():
    assert normalize_replications([REPLICATION]) == [{
        "name": "to-dr", "direction": "push",
        "remote": {"url": "https://dr.example.com:5000", "username": None, "password": None, "tls_verify": True},
        "repositories": ["**"], "tags": ["*"], "destination_namespace": None, "trigger": "manual",
        "schedule": None, "deletions": False, "state": "present"}]


def test_replication_full_entry():
    replication = normalize_replications([{
        "name": "from-hub", "direction": "pull",
        "remote": {"url": "http://[::1]:5000", "username": "u", "password": "Secret-1", "tls_verify": False},
        "repositories": ["library/**", "library/**"], "tags": ["v*", "latest"], "destination_namespace": "hub",
        "trigger": "scheduled", "schedule": "0  3 * * 1-5", "deletions": "yes"}])[0]
    assert replication["remote"] == {"url": "http://[::1]:5000", "username": "u", "password": "Secret-1",
                                     "tls_verify": False}
    assert replication["repositories"] == ["library/**"]
    assert replication["tags"] == ["v*", "latest"]
    assert replication["schedule"] == "0 3 * * 1-5"
    assert replication["deletions"] is True


@pytest.mark.parametrize("schedule", ["*/15 * * * *", "5 */2 * * *", "30 4 * * *", "0 0 1,15 * 0", "0-30/10 * * * 7"])
def test_good_schedules(schedule):
    entry = dict(REPLICATION, trigger="scheduled", schedule=schedule)
    assert normalize_replications([entry])[0]["schedule"] == schedule


@pytest.mark.parametrize("entry, expected", [
    (dict(REPLICATION, name="To_DR"), "oci_registry_replications[0].name: 'To_DR' (str) is not a valid name"),
    (dict(REPLICATION, direction=None), "oci_registry_replications[0].direction: must be pull (copy from the "
                                        "remote registry to this one) or push"),
    (dict(REPLICATION, direction="both"), "oci_registry_replications[0].direction: must be pull"),
    (dict(REPLICATION, remote=None), "oci_registry_replications[0].remote: is required: a mapping with url,"),
    (dict(REPLICATION, remote={"url": "dr:5000"}), "oci_registry_replications[0].remote.url: 'dr:5000' (str) is "
                                                   "not a registry URL"),
    (dict(REPLICATION, remote={"url": "https://dr", "password": "Secret-1"}),
     "oci_registry_replications[0].remote: give username and password together, or neither"),
    (dict(REPLICATION, remote={"url": "https://dr", "token": "x"}),
     "oci_registry_replications[0].remote: unknown key(s) token; valid keys: url, username, password, tls_verify"),
    (dict(REPLICATION, tags=["v1", "bad tag"]), "oci_registry_replications[0].tags[1]: 'bad tag' (str) is not a tag "
                                                "or glob"),
    (dict(REPLICATION, repositories=["/abs"]), "oci_registry_replications[0].repositories[0]: '/abs' (str)"),
    (dict(REPLICATION, destination_namespace="DR"), "oci_registry_replications[0].destination_namespace: 'DR' (str) "
                                                    "is not a valid namespace name"),
    (dict(REPLICATION, trigger="hourly"), "oci_registry_replications[0].trigger: must be one of manual, scheduled, "
                                          "on_push, got 'hourly'"),
    (dict(REPLICATION, trigger="scheduled"), "oci_registry_replications[0].schedule: is required with trigger "
                                             "scheduled"),
    (dict(REPLICATION, schedule="0 3 * * *"), "oci_registry_replications[0].schedule: is only valid with trigger "
                                              "scheduled (trigger is 'manual'); remove it"),
    (dict(REPLICATION, trigger="scheduled", schedule="0 3 * *"),
     "oci_registry_replications[0].schedule: '0 3 * *' (str) is not a 5-field cron expression"),
    (dict(REPLICATION, trigger="scheduled", schedule="60 3 * * *"),
     "oci_registry_replications[0].schedule: '60 3 * * *': the minute field '60' must be '*', a number from 0 to 59"),
    (dict(REPLICATION, trigger="scheduled", schedule="0 3 0 * *"),
     "oci_registry_replications[0].schedule: '0 3 0 * *': the day of month field '0' must be"),
    (dict(REPLICATION, trigger="scheduled", schedule="*/0 * * * *"),
     "oci_registry_replications[0].schedule: '*/0 * * * *': the minute field '*/0'"),
    (dict(REPLICATION, trigger="scheduled", schedule="0 5-2 * * *"),
     "oci_registry_replications[0].schedule: '0 5-2 * * *': the hour field '5-2'"),
    (dict(REPLICATION, trigger="scheduled", schedule="0 3 * jan *"),
     "oci_registry_replications[0].schedule: '0 3 * jan *': the month field 'jan'"),
    (dict(REPLICATION, deletions="sometimes"), "oci_registry_replications[0].deletions: must be true or false"),
    (dict(REPLICATION, state="on"), "oci_registry_replications[0].state: must be present or absent"),
    ([], "oci_registry_replications[0]: must be a mapping with name, direction, remote,"),
])
def test_bad_replication_is_named(entry, expected):
    problems = problems_of(normalize_replications, [entry])
    assert any(p.startswith(expected) for p in problems), problems
    assert "Secret-1" not in str(problems)


def test_replication_duplicates_and_list_shape():
    problems = problems_of(normalize_replications, [REPLICATION, dict(REPLICATION)])
    assert problems == ["oci_registry_replications[1].name: replication 'to-dr' is already listed at "
                        "oci_registry_replications[0]"]
    assert problems_of(normalize_replications, "x", "repl")[0].startswith("repl: must be a list of replications")


@pytest.mark.parametrize("entry, expected", [
    (dict(REPLICATION, trigger="on_push"), "oci_registry_replications[0].trigger: Distribution cannot replicate "
                                           "on push (nothing in it starts a replication when an image is pushed): "
                                           "use trigger manual or scheduled"),
    (dict(REPLICATION, deletions=True), "oci_registry_replications[0].deletions: true cannot be done on "
                                        "Distribution: its replication engine (oci_sync) copies images and never "
                                        "deletes; set it to false"),
])
def test_distribution_replication_checks(entry, expected):
    assert problems_of(normalize_replications, [entry], registry_type="distribution") == [expected]
    # Valid in the model itself (another type may do it), and ignored once the entry is absent.
    assert normalize_replications([entry])
    assert normalize_replications([dict(entry, state="absent")], registry_type="distribution")


# -- scan -------------------------------------------------------------------------------------
def test_scan_normalized():
    namespaces = normalize_namespaces([{"name": "a", "scan": {"on_push": "yes", "block_severity": "high"}},
                                       {"name": "b", "scan": {}}, {"name": "c"}])
    assert [n["scan"] for n in namespaces] == [{"on_push": True, "block_severity": "high"},
                                               {"on_push": False, "block_severity": "none"}, None]


@pytest.mark.parametrize("scan, expected", [
    ("high", "oci_registry_namespaces[0].scan: must be null or a mapping with on_push (true/false) and "
             "block_severity (none|low|medium|high|critical), got 'high' (str)"),
    ({"block_severity": "severe"}, "oci_registry_namespaces[0].scan.block_severity: must be one of none, low, medium, "
                                   "high, critical, got 'severe' (str)"),
    ({"on_push": "often"}, "oci_registry_namespaces[0].scan.on_push: must be true or false"),
    ({"on_pull": True}, "oci_registry_namespaces[0].scan: unknown key(s) on_pull; valid keys: on_push, "
                        "block_severity"),
])
def test_bad_scan_is_named(scan, expected):
    problems = problems_of(normalize_namespaces, [{"name": "a", "scan": scan}])
    assert any(p.startswith(expected) for p in problems), problems


def test_distribution_warns_that_it_has_no_scanner():
    warnings = []
    users, namespaces = normalize_model([], [{"name": "a", "scan": {"on_push": True}}, {"name": "b"}],
                                        registry_type="distribution", warnings=warnings)
    assert namespaces[0]["scan"] == {"on_push": True, "block_severity": "none"}
    assert warnings == ["oci_registry_namespaces[0].scan: Distribution has no vulnerability scanner; the scan "
                        "settings of namespace 'a' are not applied"]
    warnings = []
    normalize_model([], [{"name": "a", "scan": {"on_push": True}}], warnings=warnings)
    assert warnings == []


@pytest.mark.parametrize("schedule, valid", [
    ("*/15 * * * *", True), ("0 2 * * 0,6", True), ("5 4 1-15/2 1,7 7", True), ("0 2 * *", False),
    ("60 * * * *", False), ("0 24 * * *", False), ("0 0 0 * *", False), ("@daily", False), ("0 2 * * mon", False),
    ("5-1 * * * *", False), ("*/0 * * * *", False), (None, False)])
def test_check_cron_lists_the_problems(schedule, valid):
    assert (check_cron(schedule) == []) is valid, check_cron(schedule)


def test_one_entry_with_its_type_checks():
    """What the modules applying one entry (oci_replication, oci_mirror) call."""
    with pytest.raises(ModelError) as info:
        normalize_replication(dict(REPLICATION, deletions=True), "replication", registry_type="distribution")
    assert info.value.problems[0].startswith("replication.deletions: true cannot be done on Distribution")
    with pytest.raises(ModelError) as info:
        normalize_mirror(dict(MIRROR, port=None), "mirror", registry_type="distribution")
    assert info.value.problems[0].startswith("mirror.port: is required on Distribution")
    assert normalize_replication(dict(REPLICATION, deletions=True), "replication")["deletions"] is True


def test_type_checks_table_has_the_distribution_entry():
    # (kind, entry, where) -> (errors, warnings), every message starting with the entry's place.
    errors, warnings = TYPE_CHECKS["distribution"]("mirror", normalize_mirror(dict(MIRROR, port=None)), "m[3]")
    assert errors == ["m[3].port: is required on Distribution: each mirror is its own proxy-mode registry, "
                      "published by the access front on this port"] and warnings == []
    errors, warnings = TYPE_CHECKS["distribution"]("namespace", normalize_namespaces(
        [{"name": "a", "scan": {}}])[0], "n[0]")
    assert errors == [] and warnings[0].startswith("n[0].scan: Distribution has no vulnerability scanner")
    # A type without an entry (its lane adds it) runs only the model's own checks.
    assert normalize_mirrors([dict(MIRROR, port=None)], registry_type="no-such-type")[0]["port"] is None
