"""oci_user, oci_namespace, oci_policy run as Ansible runs them, on the Distribution front's files:
check mode, diff with masked secrets, idempotence, in-place writes, restart_required."""

import json
import os

from ansible_collections.provisioning.oci_registry.plugins.module_utils import _htpasswd


def files(front_dir, tmp_path):
    return dict(registry_type="distribution", htpasswd_path=str(tmp_path / "htpasswd"),
                front_config_path=str(front_dir / "nginx.conf"), bcrypt_rounds=10)


def test_user_create_check_mode_idempotence_and_masking(run_module, front_dir, tmp_path):
    args = dict(files(front_dir, tmp_path), name="alice", user_password="Pw-alice-1", admin=True)
    checked = run_module("oci_user", check_mode=True, **args)
    assert checked["changed"] is True and not (tmp_path / "htpasswd").exists()
    assert checked["diff"]["after"]["alice"]["password"] == "******** (changed)"
    created = run_module("oci_user", **args)
    assert created["changed"] is True and created["restart_required"] is True
    assert "Pw-alice-1" not in created["_stdout"]
    line = (tmp_path / "htpasswd").read_text()
    assert line.startswith("alice:$2y$10$") and _htpasswd.password_matches(line.split(":", 1)[1].strip(), "Pw-alice-1")
    assert json.loads((front_dir / "access.json").read_text())["users"]["alice"] == {"admin": True, "groups": []}
    assert '"~^alice:" 1;' in (front_dir / "nginx.conf").read_text()
    again = run_module("oci_user", **args)
    assert again["changed"] is False and again["restart_required"] is False


def test_password_change_keeps_inode_and_masks_both_passwords(run_module, front_dir, tmp_path):
    args = dict(files(front_dir, tmp_path), name="bob", user_password="Old-pass-1")
    run_module("oci_user", **args)
    inode = os.stat(tmp_path / "htpasswd").st_ino
    changed = run_module("oci_user", **dict(args, user_password="New-pass-2"))
    assert changed["changed"] and changed["users"][0]["password_changed"]
    assert changed["diff"]["before"]["bob"]["password"] == "********"
    assert changed["diff"]["after"]["bob"]["password"] == "******** (changed)"
    assert "Old-pass-1" not in changed["_stdout"] and "New-pass-2" not in changed["_stdout"]
    # htpasswd changes need no reload: nginx reads the file per request.
    assert changed["restart_required"] is False
    assert os.stat(tmp_path / "htpasswd").st_ino == inode
    on_create = run_module("oci_user", **dict(args, user_password="Third-3", update_password="on_create"))
    assert on_create["changed"] is False


def test_users_list_passwords_are_never_shown_and_exclusive_removes_others(run_module, front_dir, tmp_path):
    base = files(front_dir, tmp_path)
    run_module("oci_user", **dict(base, users=[{"name": "a1", "password": "Secret-a1"},
                                               {"name": "b1", "password": "Secret-b1"},
                                               {"name": "admin", "password": "Secret-admin", "admin": True}]))
    keep_a1 = dict(base, users=[{"name": "a1", "password": "Secret-a1"}], exclusive=True, keep=["admin"])
    result = run_module("oci_user", **keep_a1)
    assert result["removed"] == ["b1"]
    assert "Secret-a1" not in result["_stdout"]
    assert sorted(_htpasswd.Htpasswd((tmp_path / "htpasswd").read_text()).names()) == ["a1", "admin"]


def test_user_errors_name_the_entry(run_module, front_dir, tmp_path):
    result = run_module("oci_user", **dict(files(front_dir, tmp_path), users=[{"name": "ok", "password": "x"},
                                                                              {"name": "bad:name", "password": "y"}]))
    assert result["failed"] and "users[1].name" in result["msg"]
    assert not (tmp_path / "htpasswd").exists()


def test_namespace_and_policy(run_module, front_dir, tmp_path):
    base = files(front_dir, tmp_path)
    ns = run_module("oci_namespace", **dict(base, name="team", public=True, retention={"keep_tags": 3}))
    assert ns["changed"] and ns["restart_required"]
    assert any("no retention of its own" in w for w in _warnings(ns))
    policy_args = dict(base, namespace="team", policies=[{"subjects": ["authenticated"], "actions": ["read", "write"]}])
    checked = run_module("oci_policy", check_mode=True, **policy_args)
    conf_before = (front_dir / "nginx.conf").read_text()
    assert checked["changed"] and checked["diff"]["before"] == {"team": []}
    assert (front_dir / "nginx.conf").read_text() == conf_before
    applied = run_module("oci_policy", **policy_args)
    assert applied["changed"] and applied["restart_required"]
    assert '"~^[^:]+:team:write$" 1;' in (front_dir / "nginx.conf").read_text()
    assert run_module("oci_policy", **policy_args)["changed"] is False
    # oci_namespace keeps the policies that oci_policy set.
    assert run_module("oci_namespace", **dict(base, name="team", public=True, retention={"keep_tags": 3}))["changed"] is False
    assert json.loads((front_dir / "access.json").read_text())["namespaces"]["team"]["policies"]


def test_validation_failure_changes_nothing(run_module, front_dir, tmp_path):
    base = files(front_dir, tmp_path)
    result = run_module("oci_namespace", **dict(base, name="team", validate_command="false %s"))
    assert result["failed"] and "validation of the new" in result["msg"]
    assert not (front_dir / "nginx.conf").exists() and not (front_dir / "access.json").exists()


def test_policy_on_a_missing_namespace_fails(run_module, front_dir, tmp_path):
    result = run_module("oci_policy", **dict(files(front_dir, tmp_path), namespace="nope",
                                             policies=[{"subjects": ["authenticated"], "actions": ["read"]}]))
    assert result["failed"] and "create it first" in result["msg"]


def test_namespaces_without_the_front_are_refused(run_module, tmp_path):
    result = run_module("oci_namespace", registry_type="distribution", htpasswd_path=str(tmp_path / "h"), name="x")
    assert result["failed"] and "front_config_path" in result["msg"]


def test_deleting_a_namespace_needs_the_registry(run_module, front_dir, tmp_path):
    base = files(front_dir, tmp_path)
    run_module("oci_namespace", **dict(base, name="team"))
    result = run_module("oci_namespace", **dict(base, name="team", state="absent"))
    assert result["failed"] and "registry_url" in result["msg"]


def _warnings(result):
    out = []
    for warning in result.get("warnings") or []:
        out.append(warning if isinstance(warning, str) else json.dumps(warning))
    return out
