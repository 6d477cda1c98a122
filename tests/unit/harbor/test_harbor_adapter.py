"""The Harbor adapter (_harbor.py) against the swagger-validating Harbor double."""

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import (
    InvalidParameterError,
    RegistryHTTPError,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._harbor_api import (
    GIB,
    ProjectNotEmptyError,
    check_cron,
    check_password,
    quote_repository,
    retention_from_policy,
    retention_policy,
    robot_names,
    role_for_actions,
)

from .conftest import make_backend

RETENTION = {"keep_tags": 10, "max_age_days": 90}


# -- pure helpers ---------------------------------------------------------------------------
@pytest.mark.parametrize("password", ["Passw0rd", "Abcdefg1" * 16, "xY1" + "z" * 5])
def test_password_rule_accepts(password):
    assert check_password(password) == password


@pytest.mark.parametrize("password,missing", [
    ("Sh0rt", "8 to 128"), ("A1" + "b" * 127, "8 to 128"), ("alllower1", "upper-case"),
    ("ALLUPPER1", "lower-case"), ("NoDigitsHere", "digit"), ("", "8 to 128"),
])
def test_password_rule_rejects(password, missing):
    with pytest.raises(InvalidParameterError, match=missing):
        check_password(password)


@pytest.mark.parametrize("actions,role,exact", [
    (["read"], "guest", True), (["read", "write"], "developer", True), (["write"], "developer", True),
    (["read", "write", "delete"], "maintainer", True), (["write", "delete"], "maintainer", True),
    (["read", "delete"], "maintainer", False), (["delete"], "maintainer", False),
    (["read", "admin"], "projectAdmin", True), ([], None, True),
])
def test_role_mapping(actions, role, exact):
    assert role_for_actions(actions) == (role, exact)


def test_role_mapping_rejects_unknown_action():
    with pytest.raises(InvalidParameterError, match="pull"):
        role_for_actions(["pull"])


@pytest.mark.parametrize("given", ["ci", "robot$ci", "proj+ci", "robot$proj+ci"])
def test_robot_names_project(given):
    assert robot_names(given, "project", "proj") == ("ci", "robot$proj+ci")


@pytest.mark.parametrize("given", ["ops", "robot$ops"])
def test_robot_names_system(given):
    assert robot_names(given, "system") == ("ops", "robot$ops")


def test_robot_names_custom_prefix():
    assert robot_names("bot-ci", "system", prefix="bot-") == ("ci", "bot-ci")


@pytest.mark.parametrize("cron,ok", [("0 0 0 * * *", True), ("0 0 * * *", False), ("@daily", False),
                                     ("0  30 2 * * 1", True)])
def test_six_field_cron(cron, ok):
    if ok:
        assert len(check_cron(cron).split()) == 6
    else:
        with pytest.raises(InvalidParameterError, match="six-field"):
            check_cron(cron)


def test_repository_names_are_encoded_twice():
    assert quote_repository("a/b") == "a%252Fb"


def test_retention_policy_round_trip():
    policy = retention_policy(7, RETENTION, "0 0 3 * * *")
    assert [r["template"] for r in policy["rules"]] == ["latestPushedK", "nDaysSinceLastPush"]
    assert policy["rules"][0]["params"] == {"latestPushedK": 10}
    assert retention_from_policy(policy) == (RETENTION, "0 0 3 * * *")


def test_retention_policy_validates_against_swagger(swagger):
    policy = retention_policy(7, RETENTION)
    assert swagger.validate({"$ref": "#/definitions/RetentionPolicy"}, policy, "policy") == []


# -- projects -------------------------------------------------------------------------------
def test_project_create_update_noop_delete(double, backend):
    created = backend.namespace_ensure({"name": "team-a", "public": False, "quota_gb": 5, "retention": RETENTION})
    assert created.changed and created.before is None and created.warnings == []
    project = double.project("team-a")
    assert project["metadata"]["public"] == "false"
    assert double.quotas[project["quota_id"]]["hard"]["storage"] == 5 * GIB
    policy = double.retentions[int(project["metadata"]["retention_id"])]
    assert policy["trigger"]["settings"]["cron"] == "0 0 0 * * *"
    assert backend.project_state("team-a")["retention"] == RETENTION

    writes = len(double.writes())
    again = backend.namespace_ensure({"name": "team-a", "public": False, "quota_gb": 5, "retention": RETENTION})
    assert not again.changed and again.before == again.after
    assert len(double.writes()) == writes, "a no-op must not write"

    update = backend.namespace_ensure({"name": "team-a", "public": True, "quota_gb": -1,
                                       "retention": {"keep_tags": 3, "max_age_days": 7}})
    assert update.changed and update.before["public"] is False and update.after["public"] is True
    assert project["metadata"]["public"] == "true"
    assert double.quotas[project["quota_id"]]["hard"]["storage"] == -1
    assert backend.project_state("team-a")["retention"] == {"keep_tags": 3, "max_age_days": 7}

    dropped = backend.namespace_ensure({"name": "team-a", "public": True, "retention": None})
    assert dropped.changed and dropped.after["retention"] is None
    assert "retention_id" not in project["metadata"] and double.retentions == {}

    assert backend.namespace_remove("team-a").changed is True
    assert double.project("team-a") is None
    assert backend.namespace_remove("team-a").changed is False


def test_project_check_mode_writes_nothing(double, backend):
    dry = backend.namespace_ensure({"name": "dry", "public": True}, check_mode=True)
    assert dry.changed and dry.before is None and dry.after["public"] is True
    assert double.project("dry") is None and double.writes() == []


def test_project_description_is_a_warning_not_a_field(double, backend):
    warnings = backend.namespace_ensure({"name": "described", "description": "Extension packages"}).warnings
    assert warnings and "description" in warnings[0]
    assert "description" not in double.project("described")["metadata"]


def test_project_name_is_checked_before_sending(double, backend):
    with pytest.raises(InvalidParameterError, match="Harbor project name"):
        backend.namespace_ensure({"name": "Team/A"})
    assert double.requests == []


def test_delete_project_with_content_needs_force(double, backend):
    backend.namespace_ensure({"name": "full"})
    double.add_repository("full", "app/web", artifacts=2)
    double.add_repository("full", "tool")
    with pytest.raises(ProjectNotEmptyError, match="force=true"):
        backend.namespace_remove("full")
    assert double.project("full") is not None
    removed = backend.namespace_remove("full", force=True)
    assert removed.changed and sorted(removed.extra["deleted_repositories"]) == ["full/app/web", "full/tool"]
    assert double.project("full") is None
    assert any("app%252Fweb" in path for _m, path, _s in double.requests), "nested names are encoded twice"


def test_harbor_412_becomes_a_clear_error(double, backend):
    backend.namespace_ensure({"name": "guarded"})
    double.inject("DELETE", r"/projects/\d+$", 412)
    with pytest.raises(ProjectNotEmptyError, match="412"):
        backend.namespace_remove("guarded")


def test_pagination_over_250_projects(double, backend):
    for index in range(250):
        double._new_project("bulk-%03d" % index, owner=double.users[1])
    names = [p["name"] for p in backend.api.list_projects()]
    assert len(names) == 251 and names[0] == "library" and names[-1] == "bulk-249"
    pages = [path for method, path, _s in double.requests if method == "GET" and "/projects" in path]
    assert len(pages) == 3, pages  # page_size 100: 100 + 100 + 51
    assert backend.project_state("bulk-249")["name"] == "bulk-249"


def test_numeric_project_name_is_addressed_by_name(double, backend):
    backend.namespace_ensure({"name": "123"})
    state = backend.project_state("123")
    assert state["name"] == "123" and state["_project_id"] != 123


# -- errors ---------------------------------------------------------------------------------
def test_401_names_the_user(double):
    bad = make_backend(double.url, password="WrongPass1")
    with pytest.raises(RegistryHTTPError) as info:
        bad.project_state("library")
    assert info.value.status == 401 and "refused the credentials of user 'admin'" in str(info.value)
    assert "WrongPass1" not in str(info.value)


def test_403_for_non_admin(double, backend):
    backend.user_ensure({"name": "dev", "password": "DevPassw0rd"})
    dev = make_backend(double.url, username="dev", password="DevPassw0rd")
    with pytest.raises(RegistryHTTPError) as info:
        dev.user_ensure({"name": "other", "password": "OtherPassw0rd"})
    assert info.value.status == 403


def test_409_on_create_race(double, backend):
    double.inject("POST", r"/projects$", 409)
    with pytest.raises(RegistryHTTPError) as info:
        backend.namespace_ensure({"name": "racy"})
    assert info.value.status == 409 and "CONFLICT" in str(info.value)


def test_500_fails_then_a_rerun_succeeds(double, backend):
    double.inject("POST", r"/projects$", 500)
    with pytest.raises(RegistryHTTPError) as info:
        backend.namespace_ensure({"name": "flaky"})
    assert info.value.status == 500
    assert double.project("flaky") is None
    assert backend.namespace_ensure({"name": "flaky"}).changed is True
    assert backend.namespace_ensure({"name": "flaky"}).changed is False


def test_503_is_retried(double, backend):
    double.inject("POST", r"/projects$", 503, times=2)
    assert backend.namespace_ensure({"name": "retried"}).changed is True
    statuses = [s for m, p, s in double.requests if m == "POST"]
    assert statuses == [503, 503, 201]


def test_no_session_cookie_is_ever_sent(double, backend):
    backend.namespace_ensure({"name": "c1"})
    backend.namespace_ensure({"name": "c1", "public": True})
    assert double.violations == []  # the double refuses (and records) writes that carry sid


# -- members --------------------------------------------------------------------------------
def test_members_from_policies(double, backend):
    backend.namespace_ensure({"name": "shared"})
    for name in ("alice", "bob", "carol"):
        backend.user_ensure({"name": name, "password": "Passw0rd-" + name})
    double.add_usergroup("ops")
    policies = [{"subjects": ["authenticated"], "actions": ["read"]},
                {"subjects": ["bob"], "actions": ["read", "write"]},
                {"subjects": ["carol"], "actions": ["read", "write", "delete"]},
                {"subjects": ["group:ops"], "actions": ["admin"]},
                {"subjects": ["anonymous"], "actions": ["read"]}]
    desired, warnings = backend.desired_members(policies, ["alice", "bob", "carol"], public=True)
    assert desired == {("u", "alice"): "guest", ("u", "bob"): "developer", ("u", "carol"): "maintainer",
                       ("g", "ops"): "projectAdmin"}
    assert warnings == []
    changed, before, after = backend.ensure_members("shared", desired, keep=("admin",))
    assert changed and before == {"u:admin": "projectAdmin"}
    roles = dict((m["entity_name"], m["role_id"]) for m in double.members[double.project("shared")["project_id"]].values())
    assert roles == {"admin": 1, "alice": 3, "bob": 2, "carol": 4, "ops": 1}
    assert backend.ensure_members("shared", desired, keep=("admin",))[0] is False

    desired[("u", "bob")] = "guest"
    del desired[("u", "carol")]
    changed, before, after = backend.ensure_members("shared", desired, keep=("admin",))
    assert changed and after["u:bob"] == "guest" and "u:carol" not in after
    roles = dict((m["entity_name"], m["role_id"]) for m in double.members[double.project("shared")["project_id"]].values())
    assert roles == {"admin": 1, "alice": 3, "bob": 3, "ops": 1}


def test_members_warn_where_harbor_cannot_express(backend):
    desired, warnings = backend.desired_members(
        [{"subjects": ["anonymous"], "actions": ["read", "write"]}, {"subjects": ["dan"], "actions": ["read", "delete"]}],
        [], public=False)
    assert desired == {("u", "dan"): "maintainer"}
    assert len(warnings) == 3 and any("anonymous" in w for w in warnings) and any("grants more" in w for w in warnings)


def test_unknown_group_is_a_clear_error(double, backend):
    backend.namespace_ensure({"name": "g"})
    with pytest.raises(Exception, match="group 'nobody' is not known to Harbor"):
        backend.ensure_members("g", {("g", "nobody"): "guest"})


# -- users ----------------------------------------------------------------------------------
def test_user_lifecycle(double, backend):
    created = backend.user_ensure({"name": "dora", "password": "Dora-Passw0rd", "admin": False})
    assert created.changed and created.before is None and created.password_changed
    assert double.user("dora")["email"] == "dora@oci-registry.invalid"
    assert backend.user_ensure({"name": "dora", "password": "Dora-Passw0rd"}).changed is False
    # on_create: a different password is not applied
    assert backend.user_ensure({"name": "dora", "password": "Other-Passw0rd"}).changed is False
    assert double.user("dora")["password"] == "Dora-Passw0rd"
    # always: applied when it differs, and a no-op when it already works
    assert backend.user_ensure({"name": "dora", "password": "Other-Passw0rd"}, update_password="always").password_changed is True
    assert double.user("dora")["password"] == "Other-Passw0rd"
    assert backend.user_ensure({"name": "dora", "password": "Other-Passw0rd"}, update_password="always").changed is False
    # sysadmin flag
    promoted = backend.user_ensure({"name": "dora", "admin": True})
    assert promoted.changed and promoted.before["admin"] is False and double.user("dora")["sysadmin_flag"] is True
    assert backend.user_ensure({"name": "dora", "admin": True}).changed is False
    assert backend.user_remove("dora").changed is True
    assert double.user("dora") is None and backend.user_remove("dora").changed is False


def test_user_password_checked_before_sending(double, backend):
    with pytest.raises(InvalidParameterError, match="upper-case"):
        backend.user_ensure({"name": "weak", "password": "weakpassw0rd"})
    assert double.writes() == []


def test_user_check_mode(double, backend):
    assert backend.user_ensure({"name": "ghost", "password": "Ghost-Passw0rd"}, check_mode=True).changed is True
    assert double.user("ghost") is None


def test_never_deletes_the_connecting_user(double, backend):
    backend.user_ensure({"name": "ops", "password": "Ops-Passw0rd", "admin": True})
    count = len(double.writes())
    with pytest.raises(InvalidParameterError, match="connects as"):
        make_backend(double.url, username="ops", password="Ops-Passw0rd").user_remove("ops")
    with pytest.raises(InvalidParameterError, match="built-in admin"):
        backend.user_remove("admin")
    assert len(double.writes()) == count and double.user("ops") is not None


# -- robots ---------------------------------------------------------------------------------
PULL = [{"access": [{"resource": "repository", "action": "pull"}]}]
PUSH = [{"access": [{"resource": "repository", "action": "pull"}, {"resource": "repository", "action": "push"}]}]


def test_project_robot_lifecycle(double, backend):
    backend.namespace_ensure({"name": "apps"})
    result = backend.ensure_robot("ci", project="apps", permissions=PULL, description="CI pulls")
    assert result["changed"] and result["secret"] and result["after"]["name"] == "robot$apps+ci"
    secret = result["secret"]
    for spelling in ("ci", "robot$apps+ci", "apps+ci"):
        again = backend.ensure_robot(spelling, project="apps", permissions=PULL, description="CI pulls")
        assert not again["changed"] and again["secret"] is None, spelling
    changed = backend.ensure_robot("ci", project="apps", permissions=PUSH, description="CI pushes", duration=30)
    assert changed["changed"] and changed["secret"] is None
    robot = next(r for r in double.robots.values() if r["name"] == "robot$apps+ci")
    assert robot["duration"] == 30 and robot["secret"] == secret
    assert len(robot["permissions"][0]["access"]) == 2
    assert backend.delete_robot("ci", project="apps")[0] is True
    assert backend.delete_robot("ci", project="apps")[0] is False


def test_robot_given_secret_and_rotation(double, backend):
    result = backend.ensure_robot("ops", level="system", permissions=[
        {"kind": "system", "namespace": "/", "access": [{"resource": "project", "action": "list"}]},
        {"namespace": "*", "access": [{"resource": "repository", "action": "pull"}]}], secret="Robot-Secr3t")
    assert result["secret"] == "Robot-Secr3t"
    robot = next(r for r in double.robots.values() if r["name"] == "robot$ops")
    assert robot["secret"] == "Robot-Secr3t"
    perms = [{"kind": "system", "namespace": "/", "access": [{"resource": "project", "action": "list"}]},
             {"namespace": "*", "access": [{"resource": "repository", "action": "pull"}]}]
    assert backend.ensure_robot("ops", level="system", permissions=perms, secret="Robot-Secr3t")["changed"] is False
    rotated = backend.ensure_robot("ops", level="system", permissions=perms, secret="Robot-Secr4t",
                                   update_secret="always")
    assert rotated["changed"] and rotated["secret"] == "Robot-Secr4t" and robot["secret"] == "Robot-Secr4t"
    regenerated = backend.ensure_robot("ops", level="system", permissions=perms, regenerate_secret=True)
    assert regenerated["changed"] and regenerated["secret"] not in (None, "Robot-Secr4t")


def test_robot_secret_rule_checked(double, backend):
    with pytest.raises(InvalidParameterError, match="robot secret"):
        backend.ensure_robot("x", level="system", permissions=PULL, secret="short")
    assert double.writes() == []


def test_robot_custom_prefix(double, backend):
    double.config["robot_name_prefix"] = "bot_"
    backend.namespace_ensure({"name": "p"})
    result = backend.ensure_robot("robot$ci", project="p", permissions=PULL)
    assert result["after"]["name"] == "bot_p+ci"
    assert backend.ensure_robot("bot_p+ci", project="p", permissions=PULL)["changed"] is False


# -- garbage collection ---------------------------------------------------------------------
def test_gc_schedule(double, backend):
    changed, before, after = backend.ensure_gc_schedule("0 0 2 * * 6")
    assert changed and before is None and double.gc_schedule["schedule"]["cron"] == "0 0 2 * * 6"
    assert backend.ensure_gc_schedule("0 0 2 * * 6")[0] is False
    assert backend.ensure_gc_schedule("0 0 3 * * 6")[0] is True
    assert backend.ensure_gc_schedule(None)[0] is True and double.gc_schedule is None
    assert backend.ensure_gc_schedule(None)[0] is False
    with pytest.raises(InvalidParameterError):
        backend.ensure_gc_schedule("0 3 * * 6")


def test_gc_run_wait_report(double, backend):
    double.gc_steps = 3
    gc_id = backend.run_gc(dry_run=True)
    sleeps = []
    record = backend.wait_gc(gc_id, sleep=sleeps.append)
    assert record["job_status"] == "Success" and len(sleeps) == 2
    report = backend.gc_report(gc_id)
    assert report["status"] == "Success" and "blobs" in report["log"] and report["read_only"] is False


def test_gc_failure_leaves_read_only(double, backend):
    double.gc_fails = True
    gc_id = backend.run_gc()
    assert backend.wait_gc(gc_id, sleep=lambda _s: None)["job_status"] == "Error"
    assert backend.read_only() is True
    backend.set_read_only(False)
    assert backend.read_only() is False


def test_gc_wait_times_out(double, backend):
    double.gc_steps = 100
    gc_id = backend.run_gc()
    ticks = iter(range(1000))
    with pytest.raises(Exception, match="still"):
        backend.wait_gc(gc_id, timeout=3, sleep=lambda _s: None, clock=lambda: next(ticks))


# -- health ---------------------------------------------------------------------------------
def test_version_and_health(double, backend):
    from ansible_collections.provisioning.oci_registry.plugins.module_utils._health import HealthRunner
    assert backend.version() == "v2.15.2"
    runner = HealthRunner()
    backend.health_checks(runner)
    assert runner.healthy and len(runner.checks) == 8
    double.health_status = "unhealthy"
    runner = HealthRunner()
    backend.health_checks(runner)
    assert not runner.healthy and [c["name"] for c in runner.failed] == ["harbor_health", "harbor_component_registryctl"]


# -- the access-model interface (_backend.Backend) ------------------------------------------
PLATFORM = [
    {"name": "provisioning-extensions", "description": "Extension packages", "public": False,
     "retention": {"keep_tags": 10, "max_age_days": 90}, "quota_gb": 20,
     "policies": [{"subjects": ["authenticated"], "actions": ["read", "write", "delete"]}]},
    {"name": "provisioning-kcl", "description": "KCL schemas", "public": False,
     "retention": {"keep_tags": 20, "max_age_days": 180}, "quota_gb": None,
     "policies": [{"subjects": ["authenticated"], "actions": ["read", "write"]}]},
    {"name": "provisioning-platform", "description": "Platform images", "public": False,
     "retention": {"keep_tags": 5, "max_age_days": 30},
     "policies": [{"subjects": ["authenticated"], "actions": ["read"]}, {"subjects": ["ops"], "actions": ["admin"]}]},
    {"name": "provisioning-test", "description": "Test artifacts", "public": True,
     "retention": {"keep_tags": 3, "max_age_days": 7},
     "policies": [{"subjects": ["authenticated"], "actions": ["read", "write", "delete"]},
                  {"subjects": ["anonymous"], "actions": ["read"]}]},
]
USERS = [{"name": "provisioning", "password": "Prov-Passw0rd", "admin": False, "state": "present"},
         {"name": "ops", "password": "Ops-Passw0rd1", "admin": True, "state": "present"}]


def _apply(backend, check_mode=False):
    changes = []
    for user in USERS:
        changes.append(backend.user_ensure(user, check_mode=check_mode))
    for namespace in PLATFORM:
        changes.append(backend.namespace_ensure(namespace, check_mode=check_mode))
        if not check_mode or backend.namespace_get(namespace["name"]):
            changes.append(backend.policies_ensure(namespace["name"], namespace["policies"],
                                                   managed_users=[u["name"] for u in USERS], check_mode=check_mode))
    return changes


def test_access_model_round_trip(double, backend):
    dry = _apply(backend, check_mode=True)
    assert all(c.changed for c in dry) and double.writes() == []
    first = _apply(backend)
    assert all(c.changed for c in first)
    descriptions = [w for c in first for w in c.warnings if "description" in w]
    assert len(descriptions) == 4
    writes = len(double.writes())
    second = _apply(backend)
    assert [c.changed for c in second] == [False] * len(second), [c.as_dict() for c in second if c.changed]
    assert len(double.writes()) == writes

    ext = backend.namespace_get("provisioning-extensions")
    assert ext["public"] is False and ext["quota_gb"] == 20 and ext["description"] is None
    assert ext["retention"] == {"keep_tags": 10, "max_age_days": 90}
    assert ext["policies"] == [{"subjects": ["ops", "provisioning"], "actions": ["read", "write", "delete"]}]
    assert backend.namespace_get("provisioning-kcl")["quota_gb"] == -1  # quota_gb None: left as Harbor made it
    platform = backend.policies_get("provisioning-platform")
    assert platform == [{"subjects": ["provisioning"], "actions": ["read"]},
                        {"subjects": ["ops"], "actions": ["read", "write", "delete", "admin"]}]
    test = backend.policies_get("provisioning-test")
    assert {"subjects": ["anonymous"], "actions": ["read"]} in test
    assert backend.user_get("ops") == {"name": "ops", "admin": True}
    assert backend.user_names() == ["ops", "provisioning"]


def test_policies_make_a_project_public_for_anonymous_read(double, backend):
    backend.namespace_ensure({"name": "anon", "public": False})
    change = backend.policies_ensure("anon", [{"subjects": ["anonymous"], "actions": ["read"]}])
    assert change.changed and change.after["public"] is True
    assert double.project("anon")["metadata"]["public"] == "true"


def test_authenticated_without_users_warns(backend):
    backend.namespace_ensure({"name": "lonely"})
    change = backend.policies_ensure("lonely", [{"subjects": ["authenticated"], "actions": ["read"]}])
    assert not change.changed and any("names no user" in w for w in change.warnings)


def test_namespace_remove_interface(double, backend):
    from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import NamespaceNotEmptyError
    backend.namespace_ensure({"name": "busy"})
    double.add_repository("busy", "img")
    with pytest.raises(NamespaceNotEmptyError):
        backend.namespace_remove("busy")
    change = backend.namespace_remove("busy", force=True)
    assert change.changed and change.extra["deleted_repositories"] == ["busy/img"]
    assert not backend.namespace_remove("busy").changed


def test_user_interface_remove(double, backend):
    backend.user_ensure({"name": "temp", "password": "Temp-Passw0rd", "admin": False})
    assert backend.user_remove("temp").changed and double.user("temp") is None


def test_project_exists_uses_head(double, backend):
    assert backend.api.project_exists("library") is True
    assert backend.api.project_exists("missing") is False
    assert [m for m, p, _s in double.requests if "project_name=" in p] == ["HEAD", "HEAD"]


def test_oci_health_against_the_double(double, backend):
    from ansible_collections.provisioning.oci_registry.plugins.module_utils._health import run_health
    double.add_repository("library", "app")
    runner, facts = run_health(backend)
    assert runner.healthy, runner.failed
    assert facts["api_version"] == "registry/2.0" and facts["repositories"] == 1
    names = [c["name"] for c in runner.checks]
    assert names[:4] == ["reachable", "api_version", "credentials", "catalog"] and "harbor_component_core" in names


def test_partial_and_empty_retention(double, backend):
    backend.namespace_ensure({"name": "ret", "retention": {"keep_tags": 4, "max_age_days": None}})
    policy = double.retentions[int(double.project("ret")["metadata"]["retention_id"])]
    assert [r["template"] for r in policy["rules"]] == ["latestPushedK"]
    assert backend.namespace_ensure({"name": "ret", "retention": {"keep_tags": 4, "max_age_days": None}}).changed is False
    assert backend.namespace_ensure({"name": "ret", "retention": {"keep_tags": None, "max_age_days": None}}).changed is True
    assert double.retentions == {}


def test_quota_none_leaves_the_quota_alone(double, backend):
    backend.namespace_ensure({"name": "q", "quota_gb": 5})
    quota = double.quotas[double.project("q")["quota_id"]]
    assert quota["hard"]["storage"] == 5 * GIB
    assert backend.namespace_ensure({"name": "q", "quota_gb": None}).changed is False
    assert quota["hard"]["storage"] == 5 * GIB
    assert backend.namespace_ensure({"name": "q", "quota_gb": -1}).changed is True
    assert quota["hard"]["storage"] == -1 and backend.namespace_get("q")["quota_gb"] == -1


def test_changing_the_connecting_users_own_password(double, backend):
    changed = backend.user_ensure({"name": "admin", "password": "Rotated-Adm1n", "admin": True}, update_password="always")
    assert changed.changed and double.users[1]["password"] == "Rotated-Adm1n"
    assert backend.user_get("admin") == {"name": "admin", "admin": True}  # the client follows the change
