"""Where the collection's access model and Harbor disagreed (issue 12, Harbor items 1 and 9), run as
Ansible runs the modules, against the swagger-validating double. Each test failed before the fix."""

import json

from .conftest import ADMIN_PASSWORD, run_module


def warnings(result):
    """The warnings' texts (ansible-core 2.19 returns them as structured summaries)."""
    return [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings") or []]


NEW = [{"name": "brand-new", "description": "Created by this run", "public": False,
        "policies": [{"subjects": ["authenticated"], "actions": ["read", "write"]}]}]


def test_policies_in_check_mode_before_the_namespace_exists(double, tmp_path):
    """init.yml checks the policies in check mode before the namespaces task created them."""
    run_module("oci_user", double, tmp_path, users=[{"name": "dev", "password": "Dev-Passw0rd1"}])
    writes = len(double.writes())
    dry = run_module("oci_policy", double, tmp_path, check=True, diff=True, namespaces=NEW, managed_users=["dev"])
    assert not dry.get("failed"), dry
    assert dry["changed"] and dry["namespaces"] == [{"name": "brand-new", "changed": True}]
    assert dry["diff"]["before"] == {"brand-new": None}
    assert dry["diff"]["after"]["brand-new"]["members"] == {"u:dev": "developer"}
    assert len(double.writes()) == writes and double.project("brand-new") is None
    # Outside check mode a missing project is still an error that says what to do.
    real = run_module("oci_policy", double, tmp_path, namespaces=NEW, managed_users=["dev"])
    assert real["failed"] and "create the namespace first" in real["msg"]


def test_public_false_with_anonymous_read_settles(double, tmp_path):
    model = [{"name": "mixed", "public": False, "policies": [{"subjects": ["anonymous"], "actions": ["read"]}]}]
    rounds = []
    for _round in range(2):
        namespaces = run_module("oci_namespace", double, tmp_path, namespaces=model)
        policies = run_module("oci_policy", double, tmp_path, namespaces=model, managed_users=[])
        assert not namespaces.get("failed") and not policies.get("failed"), (namespaces, policies)
        rounds.append((namespaces, policies))
    (first_ns, _first_pol), (second_ns, second_pol) = rounds
    assert first_ns["changed"]
    assert not second_ns["changed"] and not second_pol["changed"], rounds[1]
    assert double.project("mixed")["metadata"]["public"] == "true"
    warned = [w for w in warnings(second_ns) if "public: false" in w]
    assert len(warned) == 1 and "'mixed'" in warned[0], warnings(second_ns)
    assert not [w for w in warnings(second_pol) if "public" in w]
    # The public flag was written once (at creation), never flipped back and forth.
    assert [r for r in double.writes() if r[0] == "PUT" and "/projects/" in r[1]] == []


def test_limited_guest_is_expressed_exported_and_kept(double, tmp_path):
    run_module("oci_user", double, tmp_path, users=[{"name": "auditor", "password": "Aud1tor-Passw0rd"}])
    model = [{"name": "audited", "policies": [{"subjects": ["auditor"], "actions": ["read"],
                                               "harbor_role": "limitedGuest"}]}]
    assert run_module("oci_namespace", double, tmp_path, namespaces=model)["changed"]
    applied = run_module("oci_policy", double, tmp_path, namespaces=model, managed_users=["auditor"])
    assert applied["changed"], applied
    project = double.project("audited")
    roles = dict((m["entity_name"], m["role_id"]) for m in double.members[project["project_id"]].values())
    assert roles["auditor"] == 5  # limitedGuest, as in Harbor's src/common/const.go (RoleLimitedGuest)
    exported = run_module("oci_registry_info", double, tmp_path, gather=["namespaces"])
    entry = [n for n in exported["oci_registry_namespaces"] if n["name"] == "audited"][0]
    assert {"subjects": ["auditor"], "actions": ["read"], "harbor_role": "limitedGuest"} in entry["policies"]
    # Applying the export again changes nothing: the role stays limitedGuest.
    again = run_module("oci_policy", double, tmp_path, managed_users=["auditor"],
                       namespaces=[{"name": "audited", "policies": entry["policies"]}])
    assert not again["changed"], again
    assert [m["role_id"] for m in double.members[project["project_id"]].values()
            if m["entity_name"] == "auditor"] == [5]
    # A role that does not fit the actions is refused before anything changes.
    bad = run_module("oci_policy", double, tmp_path, managed_users=["auditor"], namespaces=[
        {"name": "audited", "policies": [{"subjects": ["auditor"], "actions": ["read", "write"],
                                          "harbor_role": "limitedGuest"}]}])
    assert bad["failed"] and "harbor_role" in bad["msg"] and "read only" in bad["msg"], bad


def test_description_warning_only_when_it_is_first_lost(double, tmp_path):
    first = run_module("oci_namespace", double, tmp_path, namespaces=NEW)
    assert first["changed"]
    lost = [w for w in warnings(first) if "no description field" in w]
    assert len(lost) == 1 and "'brand-new'" in lost[0]
    second = run_module("oci_namespace", double, tmp_path, namespaces=NEW)
    assert not second["changed"]
    assert not [w for w in warnings(second) if "description" in w], warnings(second)


def test_non_admin_connection_is_told_it_needs_admin_rights(double, tmp_path):
    from tests.unit.module_runner import run_module_file

    run_module("oci_user", double, tmp_path, users=[{"name": "bob", "password": "B0b-Passw0rd"}])
    params = dict(registry_url=double.url, registry_type="harbor", username="bob", password="B0b-Passw0rd",
                  retries=0, users=[{"name": "carol", "password": "Car0l-Passw0rd"}])
    result = run_module_file("oci_user", params, tmp_path)
    assert result["failed"]
    assert "Harbor system administrator rights" in result["msg"] and "'bob'" in result["msg"], result["msg"]
    assert "B0b-Passw0rd" not in json.dumps(result) and ADMIN_PASSWORD not in json.dumps(result)
    assert double.user("carol") is None
