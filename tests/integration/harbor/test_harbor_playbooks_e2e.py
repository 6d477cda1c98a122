"""The playbooks end to end against one Harbor API double, from an empty Harbor (issue 12).

Order matters: the tests of this module share one double and run in file order, as a user would run
the playbooks: init.yml in check mode on the empty Harbor, init.yml for real and again, the init step of
deploy.yml when a namespace is added, then gc.yml. Every run is made twice (the second one must report
changed=0) and in check mode (the double must count zero write requests: POST, PUT, PATCH, DELETE).
Nothing here needs Docker; each ansible-playbook run takes a few seconds."""

USERS = [{"name": "dev", "password": "Dev-Passw0rd-1"}, {"name": "ops", "password": "Ops-Passw0rd-1", "admin": True}]
PLATFORM = ["provisioning-extensions", "provisioning-kcl", "provisioning-platform", "provisioning-test"]
ADDED = {"name": "team-apps", "description": "Added later", "public": False,
         "retention": {"keep_tags": 5, "max_age_days": 30},
         "policies": [{"subjects": ["dev"], "actions": ["read"]}]}
DEPLOY_INIT = ("--tags", "oci_registry_access", "--skip-tags", "always")


def platform_and(*extra):
    from ansible_collections.provisioning.oci_registry.plugins.module_utils._model import PLATFORM_NAMESPACES

    return [dict(n) for n in PLATFORM_NAMESPACES] + list(extra)


def roles(double, project):
    pid = double.project(project)["project_id"]
    return dict((m["entity_name"], m["role_id"]) for m in double.members[pid].values())


def no_secrets(run):
    from .conftest import ADMIN_PASSWORD

    for secret in [ADMIN_PASSWORD] + [u["password"] for u in USERS]:
        assert secret not in run.text


def test_1_init_in_check_mode_on_an_empty_harbor_reports_what_it_would_create(harbor_playbooks):
    double = harbor_playbooks.double
    assert [p["name"] for p in double.projects.values()] == ["library"]
    run = harbor_playbooks.run("init.yml", "--check", "--diff", oci_registry_users=USERS)
    assert run.rc == 0, run
    assert harbor_playbooks.writes() == [], harbor_playbooks.writes()
    users = run.result("Users")
    assert users["changed"] and [u["name"] for u in users["users"] if u["changed"]] == ["dev", "ops"], users
    namespaces = run.result("Namespaces")
    assert [n["name"] for n in namespaces["namespaces"] if n["changed"]] == PLATFORM, namespaces
    policies = run.result("Policies")
    assert [n["name"] for n in policies["namespaces"] if n["changed"]] == PLATFORM, policies
    assert policies["diff"]["after"]["provisioning-kcl"]["members"] == {"u:dev": "developer", "u:ops": "developer"}
    assert [p["name"] for p in double.projects.values()] == ["library"] and double.user("dev") is None
    no_secrets(run)


def test_2_init_bootstraps_then_changes_nothing(harbor_playbooks):
    double = harbor_playbooks.double
    run = harbor_playbooks.run("init.yml", oci_registry_users=USERS)
    assert run.rc == 0, run
    assert {"Users", "Namespaces", "Policies"} <= set(run.tasks("changed")), run.tasks("changed")
    assert sorted(p["name"] for p in double.projects.values()) == sorted(["library"] + PLATFORM)
    assert roles(double, "provisioning-extensions")["dev"] == 4  # maintainer: read, write, delete
    assert roles(double, "provisioning-kcl")["dev"] == 2  # developer
    assert roles(double, "provisioning-platform")["dev"] == 3  # guest
    assert double.project("provisioning-test")["metadata"]["public"] == "true"
    assert double.project("provisioning-platform")["metadata"]["public"] == "false"
    assert double.user("ops")["sysadmin_flag"] is True
    # The description warning is given when the projects are created, once each.
    lost = [w for w in run.warnings() if "no description field" in w]
    assert len(lost) == len(PLATFORM), lost
    no_secrets(run)

    writes = len(harbor_playbooks.writes())
    again = harbor_playbooks.run("init.yml", oci_registry_users=USERS)
    assert again.rc == 0 and again.changed == 0, (again.tasks("changed"), again)
    assert len(harbor_playbooks.writes()) == writes, harbor_playbooks.writes()[writes:]
    assert not [w for w in again.warnings() if "description" in w]

    check = harbor_playbooks.run("init.yml", "--check", "--diff", oci_registry_users=USERS)
    assert check.rc == 0 and check.changed == 0, (check.tasks("changed"), check)
    assert len(harbor_playbooks.writes()) == writes


def test_3_the_init_step_of_deploy_adds_a_namespace(harbor_playbooks):
    double = harbor_playbooks.double
    model = dict(oci_registry_users=USERS, oci_registry_namespaces=platform_and(ADDED))
    writes = len(harbor_playbooks.writes())
    check = harbor_playbooks.run("deploy.yml", "--check", "--diff", *DEPLOY_INIT, **model)
    assert check.rc == 0, check
    # Only the init step ran: the deployment's plays (their tasks are tagged always) ran no task.
    ran = dict((p["play"]["name"], len(p["tasks"])) for p in check.data["plays"])
    assert ran.get("Deploy an OCI registry", 0) == 0 and ran.get("Trust the registries' CA", 0) == 0, ran
    assert ran["Apply users, namespaces and access policies"] > 0, ran
    assert [n["name"] for n in check.result("Namespaces")["namespaces"] if n["changed"]] == ["team-apps"]
    assert [n["name"] for n in check.result("Policies")["namespaces"] if n["changed"]] == ["team-apps"]
    assert len(harbor_playbooks.writes()) == writes and double.project("team-apps") is None

    run = harbor_playbooks.run("deploy.yml", *DEPLOY_INIT, **model)
    assert run.rc == 0, run
    assert set(run.tasks("changed")) == {"Namespaces", "Policies"}, run.tasks("changed")
    assert roles(double, "team-apps")["dev"] == 3 and "ops" not in roles(double, "team-apps")
    assert double.project("team-apps")["metadata"].get("retention_id")

    writes = len(harbor_playbooks.writes())
    again = harbor_playbooks.run("deploy.yml", *DEPLOY_INIT, **model)
    assert again.rc == 0 and again.changed == 0, (again.tasks("changed"), again)
    assert len(harbor_playbooks.writes()) == writes
    no_secrets(run)


def test_4_gc_check_mode_writes_nothing(harbor_playbooks):
    model = dict(oci_registry_namespaces=platform_and(ADDED))
    writes = len(harbor_playbooks.writes())
    check = harbor_playbooks.run("gc.yml", "--check", **model)
    assert check.rc == 0, check
    assert harbor_playbooks.writes()[writes:] == []


def test_5_gc_runs_then_changes_nothing(harbor_playbooks):
    double = harbor_playbooks.double
    model = dict(oci_registry_namespaces=platform_and(ADDED))
    run = harbor_playbooks.run("gc.yml", **model)
    assert run.rc == 0, run
    assert double.config["read_only"] is False
    writes = len(harbor_playbooks.writes())
    again = harbor_playbooks.run("gc.yml", **model)
    assert again.rc == 0, again
    assert again.changed == 0, (again.tasks("changed"), harbor_playbooks.writes()[writes:])
    no_secrets(run)


def test_6_gc_sets_harbors_recurring_schedule(harbor_playbooks):
    double = harbor_playbooks.double
    task = "Harbor | Recurring garbage collection schedule (oci_gc_schedule)"
    model = dict(oci_registry_namespaces=platform_and(ADDED), harbor_gc_schedule="0 0 2 * * 6")
    check = harbor_playbooks.run("gc.yml", "--check", **model)
    assert check.rc == 0 and check.result(task)["changed"], check
    assert double.gc_schedule is None
    assert not [w for w in harbor_playbooks.writes() if w[0] == "PUT" and w[1].endswith("/system/gc/schedule")]
    run = harbor_playbooks.run("gc.yml", **model)
    assert run.rc == 0 and run.result(task)["changed"], run
    assert double.gc_schedule["schedule"] == {"type": "Custom", "cron": "0 0 2 * * 6"}
    again = harbor_playbooks.run("gc.yml", **model)
    assert again.rc == 0 and not again.result(task)["changed"], again
    gone = harbor_playbooks.run("gc.yml", **dict(model, harbor_gc_schedule=""))
    assert gone.rc == 0 and gone.result(task)["changed"] and double.gc_schedule is None, gone
