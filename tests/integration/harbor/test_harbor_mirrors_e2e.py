"""init.yml applies oci_registry_mirrors and oci_registry_replications to Harbor (issue 16), end to end
against one Harbor API double: check mode first (no write request), then for real, then again with
changed=0. The tests share the module's double and run in file order. Nothing here needs Docker."""

SECRET = "Upstream-S3cret-1"
MIRRORS = [{"name": "hub", "url": "https://registry-1.docker.io", "username": "puller", "password": SECRET,
            "namespace": "dockerhub"}]
REPLICATIONS = [{"name": "to-dr", "direction": "push",
                 "remote": {"url": "https://dr.example.com", "username": "robot", "password": SECRET},
                 "repositories": ["provisioning-platform/**"], "tags": ["v*"], "destination_namespace": "backup",
                 "trigger": "scheduled", "schedule": "30 2 * * *"}]
# The namespaces and users are left out (init.yml's other tasks, covered by test_harbor_playbooks_e2e.py): each
# run does only the work under test.
ONLY = {"oci_registry_namespaces": [], "oci_registry_users": []}
# Every run applies the replication too (test 4 checks what it did).
ONLY = dict(ONLY, oci_registry_replications=REPLICATIONS)


def test_1_mirror_in_check_mode_writes_nothing(harbor_playbooks):
    run = harbor_playbooks.run("init.yml", "--check", "--diff", oci_registry_mirrors=MIRRORS, **ONLY)
    assert run.rc == 0, run
    assert harbor_playbooks.writes() == [], harbor_playbooks.writes()
    assert "Mirrors" in run.tasks("changed"), run.tasks("changed")
    assert SECRET not in run.text


def test_2_mirror_applied_then_nothing_changes(harbor_playbooks):
    double = harbor_playbooks.double
    run = harbor_playbooks.run("init.yml", oci_registry_mirrors=MIRRORS, **ONLY)
    assert run.rc == 0, run
    assert "Mirrors" in run.tasks("changed")
    # The mirror's registry endpoint (the replication has its own, "replication-to-dr": test 4).
    (registry,) = [r for r in double.registries.values() if r["name"] == "hub"]
    assert registry["name"] == "hub" and registry["credential"]["access_secret"] == SECRET
    assert double.project("dockerhub")["registry_id"] == registry["id"]
    report = run.result("Mirrors | Report (no passwords)")
    assert report["msg"][0]["namespace"] == "dockerhub" and report["msg"][0]["password"] is None
    assert SECRET not in run.text
    writes = len(harbor_playbooks.writes())
    again = harbor_playbooks.run("init.yml", oci_registry_mirrors=MIRRORS, **ONLY)
    assert again.rc == 0 and again.changed == 0, (again.tasks("changed"), again)
    assert len(harbor_playbooks.writes()) == writes, harbor_playbooks.writes()[writes:]


def test_3_a_bad_mirror_stops_before_anything_changes(harbor_playbooks):
    writes = len(harbor_playbooks.writes())
    bad = [dict(MIRRORS[0], name="second", namespace="library")]  # a regular project already
    run = harbor_playbooks.run("init.yml", oci_registry_mirrors=MIRRORS + bad, **ONLY)
    assert run.rc != 0 and "Mirrors | Check every mirror (oci_registry_mirrors), changing nothing" in run.tasks(
        "failed"), run
    assert len(harbor_playbooks.writes()) == writes
    assert SECRET not in run.text


def test_4_the_replication_was_checked_applied_and_left_alone(harbor_playbooks):
    """Tests 1 and 2 pass oci_registry_replications too: check mode wrote nothing (test 1), the first run
    created the policy, the second changed nothing (test 2)."""
    (policy,) = harbor_playbooks.double.replication_policies.values()
    assert policy["trigger"]["trigger_settings"]["cron"] == "0 30 2 * * *" and policy["dest_namespace"] == "backup"
    assert harbor_playbooks.double.registries[policy["_dest"]]["name"] == "replication-to-dr"
