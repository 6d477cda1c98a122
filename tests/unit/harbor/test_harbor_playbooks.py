"""The harbor role's preflight and oci_robot as playbooks run them (ansible-playbook on localhost)."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
GOOD = {"harbor_hostname": "harbor.example.com", "harbor_admin_password": "Adm1n-Passw0rd",
        "harbor_database_password": "Db-Passw0rd", "harbor_installer_sha256": "a" * 64,
        "harbor_install_dir": "/nonexistent/harbor-preflight-test"}


def run_playbook(tmp_path, plays, extra_env=None):
    path = tmp_path / "play.yml"
    path.write_text(yaml.safe_dump(plays, sort_keys=False))
    binary = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    if not os.path.exists(binary):
        binary = shutil.which("ansible-playbook")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"),
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", **(extra_env or {}))
    proc = subprocess.run([binary, "-i", "localhost,", str(path)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    try:
        return proc.returncode, json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(proc.stdout[-2000:] + proc.stderr[-2000:])


def preflight(tmp_path, **overrides):
    variables = dict(GOOD, **overrides)
    play = {"name": "Preflight", "hosts": "localhost", "gather_facts": False, "connection": "local",
            "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
            "tasks": [{"name": "Run the harbor role's preflight",
                       "ansible.builtin.include_role": {"name": "provisioning.oci_registry.harbor",
                                                        "tasks_from": "preflight.yml"},
                       "vars": variables}]}
    code, output = run_playbook(tmp_path, [play])
    failed = [t for p in output["plays"] for t in p["tasks"]
              if t["hosts"].get("localhost", {}).get("failed")]
    return code, [(_task_name(t), t["hosts"]["localhost"].get("msg", "")) for t in failed]


def test_preflight_accepts_good_input(tmp_path):
    code, failed = preflight(tmp_path)
    assert code == 0 and failed == []


@pytest.mark.parametrize("overrides,task,fragment", [
    ({"harbor_version": "2.15.2"}, "version", "release tag"),
    ({"harbor_installer_sha256": "abc"}, "checksum", "64 hex digits"),
    ({"harbor_installer_source": "local", "harbor_installer_local_path": "relative.tgz"}, "checksum", "absolute"),
    ({"harbor_admin_password": "harbor12345"}, "admin password", "upper-case letter"),
    ({"harbor_https_enabled": True}, "HTTPS", "absolute paths"),
    ({"harbor_https_enabled": True, "harbor_https_port": 80, "harbor_https_certificate": "/c",
      "harbor_https_private_key": "/k"}, "ports", "must differ"),
    ({"harbor_database_password": ""}, "database", "harbor_external_database"),
    ({"harbor_jobservice_job_loggers": ["SYSLOG"]}, "job loggers", "STD_OUTPUT"),
    ({"harbor_data_volume": "/nonexistent/harbor-preflight-test"}, "directories", "differ"),
    ({"harbor_external_url": "registry.example.com"}, "external URL", "https://"),
])
def test_preflight_rejects(tmp_path, overrides, task, fragment):
    code, failed = preflight(tmp_path, **overrides)
    assert code != 0 and len(failed) == 1, failed
    name, msg = failed[0]
    assert task in name and fragment in str(msg)
    assert "harbor12345" not in json.dumps(failed)


def test_oci_robot_through_the_action_group(tmp_path, double, backend):
    backend.namespace_ensure({"name": "apps"})
    task = {"name": "Robot", "provisioning.oci_registry.oci_robot": {
        "name": "ci", "project": "apps", "permissions": [{"access": [{"resource": "repository", "action": "pull"}]}]},
        "register": "robot"}
    play = {"name": "Robots", "hosts": "localhost", "gather_facts": False, "connection": "local",
            "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
            "module_defaults": {"group/provisioning.oci_registry.oci_registry": {
                "registry_url": double.url, "registry_type": "harbor", "username": "admin",
                "password": "Harbor12345"}},
            "tasks": [task, dict(task, register="again"),
                      {"name": "Check", "ansible.builtin.assert": {"that": [
                          "robot is changed", "again is not changed", "robot.name == 'robot$apps+ci'",
                          "again.secret is none"]}}]}
    code, output = run_playbook(tmp_path, [play])
    assert code == 0, json.dumps(output["stats"])
    assert output["stats"]["localhost"]["changed"] == 1
    assert [r["name"] for r in double.robots.values()] == ["robot$apps+ci"]


def verify(tmp_path, double, **overrides):
    variables = dict(GOOD, harbor_health_url=double.url, harbor_install_dir=str(tmp_path / "opt-harbor"),
                     harbor_health_retries=2, harbor_health_delay=1, **overrides)
    play = {"name": "Verify", "hosts": "localhost", "gather_facts": False, "connection": "local",
            "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
            "tasks": [{"name": "Run the harbor role's verify phase",
                       "ansible.builtin.include_role": {"name": "provisioning.oci_registry.harbor",
                                                        "tasks_from": "verify.yml"},
                       "vars": variables}]}
    return run_playbook(tmp_path, [play])


def _task_name(task):
    return task["task"]["name"].split(" : ", 1)[-1]  # without the "<role> : " prefix


def _changed_tasks(output):
    return [_task_name(t) for p in output["plays"] for t in p["tasks"]
            if t["hosts"].get("localhost", {}).get("changed")]


def _failed_tasks(output):
    return [_task_name(t) for p in output["plays"] for t in p["tasks"]
            if t["hosts"].get("localhost", {}).get("failed")]


def test_verify_phase_changes_the_admin_password_through_the_api(tmp_path, double):
    (tmp_path / "opt-harbor").mkdir()
    code, output = verify(tmp_path, double, harbor_admin_password="New-Admin-Passw0rd",
                          harbor_admin_password_previous="Harbor12345")
    assert code == 0, json.dumps(output["stats"])
    assert double.users[1]["password"] == "New-Admin-Passw0rd"
    assert _changed_tasks(output) == ["Verify | Set the new admin password", "Verify | Record the installed version"]
    assert (tmp_path / "opt-harbor" / "installed-version").read_text() == "v2.15.2\n"
    assert ("PUT", "/api/v2.0/users/1/password", 200) in double.requests
    # a second run changes nothing
    code, output = verify(tmp_path, double, harbor_admin_password="New-Admin-Passw0rd",
                          harbor_admin_password_previous="Harbor12345")
    assert code == 0 and _changed_tasks(output) == []


def test_verify_phase_explains_a_refused_admin_password(tmp_path, double):
    (tmp_path / "opt-harbor").mkdir()
    code, output = verify(tmp_path, double, harbor_admin_password="Other-Admin-Passw0rd")
    assert code != 0
    assert _failed_tasks(output) == ["Verify | Require the previous admin password"]
    assert "harbor_admin_password_previous" in json.dumps(output)
    assert "Other-Admin-Passw0rd" not in json.dumps(output)
    assert double.users[1]["password"] == "Harbor12345"


def test_verify_phase_waits_for_health(tmp_path, double):
    (tmp_path / "opt-harbor").mkdir()
    double.health_status = "unhealthy"
    code, output = verify(tmp_path, double, harbor_admin_password="Harbor12345")
    assert code != 0
    assert _failed_tasks(output) == ["Verify | Wait for /api/v2.0/health to report healthy"]
    assert not (tmp_path / "opt-harbor" / "installed-version").exists()


@pytest.mark.parametrize("drop,extra", [("harbor_installer_sha256", {}), ("harbor_admin_password", {}),
                                        (None, {"harbor_installer_kind": "airgap"}),
                                        (None, {"harbor_http_port": "eighty"})])
def test_argument_specs_refuse_before_anything_runs(tmp_path, drop, extra):
    variables = dict(GOOD, **extra)
    if drop:
        del variables[drop]
    play = {"name": "Role", "hosts": "localhost", "gather_facts": False, "connection": "local",
            "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
            "tasks": [{"name": "Run the harbor role", "ansible.builtin.include_role": {
                "name": "provisioning.oci_registry.harbor"}, "vars": variables}]}
    code, output = run_playbook(tmp_path, [play])
    assert code != 0
    tasks = [_task_name(t) for p in output["plays"] for t in p["tasks"]]
    assert _failed_tasks(output) == [tasks[-1]] and "argument" in tasks[-1].lower(), tasks
    assert not any(name.startswith(("Install", "Preflight", "Configure")) for name in tasks), tasks
    assert "Adm1n-Passw0rd" not in json.dumps(output)


def _installer_play(tmp_path, tarball, sha256, remote_src=True):
    variables = dict(GOOD, harbor_install_dir=str(tmp_path / "opt-harbor"), harbor_installer_source="local",
                     harbor_installer_local_path=str(tarball), harbor_installer_local_remote_src=remote_src,
                     harbor_installer_sha256=sha256, harbor_installer_kind="online")
    return {"name": "Installer", "hosts": "localhost", "gather_facts": False, "connection": "local",
            "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
            "tasks": [{"name": "Run the harbor role's installer steps",
                       "ansible.builtin.include_role": {"name": "provisioning.oci_registry.harbor",
                                                        "tasks_from": "installer.yml"},
                       "vars": variables}]}


def _tarball(tmp_path, members):
    import hashlib
    import io
    import tarfile
    path = tmp_path / "harbor-online-installer-v2.15.2.tgz"
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("remote_src", [True, False])
def test_installer_with_a_wrong_checksum_is_refused_before_unpacking(tmp_path, remote_src):
    tarball, digest = _tarball(tmp_path, {"harbor/README": b"not Harbor\n"})
    wrong = ("0" if digest[0] != "0" else "1") + digest[1:]
    code, output = run_playbook(tmp_path, [_installer_play(tmp_path, tarball, wrong, remote_src)])
    assert code != 0
    assert _failed_tasks(output) == ["Install | Verify the installer's checksum"]
    assert "not the installer this role was told to trust" in json.dumps(output)
    assert not (tmp_path / "opt-harbor" / "v2.15.2" / "harbor").exists()


def test_installer_without_prepare_is_refused(tmp_path):
    tarball, digest = _tarball(tmp_path, {"harbor/README": b"not Harbor\n"})
    code, output = run_playbook(tmp_path, [_installer_play(tmp_path, tarball, digest.upper())])
    assert code != 0
    assert _failed_tasks(output) == ["Install | Assert the installer has its prepare script"]
    assert (tmp_path / "opt-harbor" / "v2.15.2" / "harbor" / "README").exists()
