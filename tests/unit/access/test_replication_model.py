"""normalize_replications: the shape of oci_registry_replications, every problem at once, per-type refusals."""

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils._model import (
    ModelError,
    check_cron,
    normalize_replications,
)

REMOTE = {"url": "https://registry.example.com:5000/", "username": "robot", "password": "s3cret"}


def test_defaults_and_shape():
    [entry] = normalize_replications([{"name": "from-hub", "direction": "pull", "remote": REMOTE}])
    assert entry == {
        "name": "from-hub", "direction": "pull",
        "remote": {"url": "https://registry.example.com:5000", "username": "robot", "password": "s3cret",
                   "tls_verify": True},
        "repositories": ["**"], "tags": ["*"], "destination_namespace": None, "trigger": "manual",
        "schedule": None, "deletions": False, "state": "present"}


def test_scheduled_entry_keeps_its_filters():
    [entry] = normalize_replications([{
        "name": "nightly", "direction": "push", "remote": {"url": "http://10.0.0.5:5000", "tls_verify": "no"},
        "repositories": "provisioning-platform/**", "tags": ["v*", "latest"], "destination_namespace": "backup",
        "trigger": "scheduled", "schedule": "30  2 * * 1-5"}])
    assert entry["repositories"] == ["provisioning-platform/**"] and entry["tags"] == ["v*", "latest"]
    assert entry["schedule"] == "30 2 * * 1-5" and entry["remote"]["tls_verify"] is False
    assert entry["remote"]["username"] is None and entry["remote"]["password"] is None


def test_every_problem_named_at_once():
    with pytest.raises(ModelError) as info:
        normalize_replications([
            {"name": "Bad_Name", "direction": "sideways", "remote": {"url": "ftp://x/y", "username": "u"}},
            {"name": "ok", "direction": "pull", "remote": REMOTE, "trigger": "scheduled"},
            {"name": "ok", "direction": "pull", "remote": REMOTE, "schedule": "* * * * *", "colour": "red"},
        ])
    text = str(info.value)
    for expected in ("oci_registry_replications[0].name", "oci_registry_replications[0].direction",
                     "oci_registry_replications[0].remote.url", "give username and password together",
                     "oci_registry_replications[1].schedule: is required with trigger scheduled",
                     "oci_registry_replications[2].schedule: is only valid with trigger scheduled",
                     "oci_registry_replications[2].name: replication 'ok' is already listed",
                     "unknown key(s) colour"):
        assert expected in text, text
    assert "s3cret" not in text


@pytest.mark.parametrize("schedule,ok", [
    ("*/15 * * * *", True), ("0 2 * * 0,6", True), ("5 4 1-15/2 1,7 7", True),
    ("0 2 * *", False), ("60 * * * *", False), ("0 24 * * *", False), ("0 0 0 * *", False),
    ("@daily", False), ("0 2 * * mon", False), ("5-1 * * * *", False), ("*/0 * * * *", False)])
def test_cron(schedule, ok):
    assert (check_cron(schedule) == []) is ok, check_cron(schedule)


def test_distribution_refuses_on_push_and_deletions():
    entries = [{"name": "a", "direction": "push", "remote": REMOTE, "trigger": "on_push", "deletions": True}]
    assert normalize_replications(entries)[0]["trigger"] == "on_push"  # no type: shape only
    with pytest.raises(ModelError) as info:
        normalize_replications(entries, registry_type="distribution")
    assert "oci_registry_replications[0].trigger: Distribution cannot replicate on push" in str(info.value)
    assert "oci_registry_replications[0].deletions" in str(info.value)
    # An absent entry is only removed: what it would do does not matter.
    assert normalize_replications([dict(entries[0], state="absent")], registry_type="distribution")


def test_not_a_list():
    with pytest.raises(ModelError, match="distribution_replications: must be a list"):
        normalize_replications({"name": "x"}, variable="distribution_replications")
