"""The distribution role refuses bad distribution_replications in its preflight, naming each entry, before
anything is written (the live test, tests/integration/replication/, deploys good ones)."""

import json

from tests.unit.harbor.test_harbor_playbooks import run_playbook


def test_preflight_names_every_bad_entry_and_writes_nothing(tmp_path):
    remote = {"url": "https://central.example.com", "username": "robot", "password": "Rem0te-secret"}
    paths = dict((name, str(tmp_path / name)) for name in ("replication", "lib", "reports", "textfile", "cron.d"))
    variables = {
        "distribution_container_name": "oci-replication-preflight-none",
        "distribution_config_dir": str(tmp_path / "etc"),
        "distribution_admin_password": "Adm1n-secret",
        "distribution_replication_dir": paths["replication"], "distribution_replication_lib_dir": paths["lib"],
        "distribution_replication_report_dir": paths["reports"],
        "distribution_replication_metrics_dir": paths["textfile"],
        "distribution_replication_cron_dir": paths["cron.d"], "distribution_replication_scheduler": "cron",
        "distribution_replications": [
            {"name": "good", "direction": "pull", "remote": remote, "trigger": "scheduled", "schedule": "0 3 * * *"},
            {"name": "push-on-push", "direction": "push", "remote": remote, "trigger": "on_push"},
            {"name": "nightly", "direction": "pull", "remote": remote, "trigger": "scheduled", "schedule": "0 25 * * *"},
        ],
    }
    play = {"name": "Preflight", "hosts": "localhost", "gather_facts": False, "connection": "local",
            "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
            "tasks": [{"name": "Run the distribution role's preflight",
                       "ansible.builtin.include_role": {"name": "provisioning.oci_registry.distribution",
                                                        "tasks_from": "preflight.yml"},
                       "vars": variables}]}
    code, output = run_playbook(tmp_path, [play])
    text = json.dumps(output)
    assert code != 0
    assert "distribution_replications[1].trigger: Distribution cannot replicate on push" in text, text[-3000:]
    assert "distribution_replications[2].schedule: '0 25 * * *': the hour field '25' must be" in text
    [task] = [t for p in output["plays"] for t in p["tasks"] if "results" in t["hosts"].get("localhost", {})]
    assert [bool(r.get("failed")) for r in task["hosts"]["localhost"]["results"]] == [False, True, True]
    assert "Rem0te-secret" not in text and "Adm1n-secret" not in text
    for path in paths.values():
        assert not (tmp_path / path).exists(), path
