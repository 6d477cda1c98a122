"""oci_gc_schedule: Harbor's recurring garbage collection, run as Ansible runs the module against the
swagger-validating double (the README said the collection schedules GC; no module did)."""

from .conftest import run_module


def test_schedule_check_mode_set_again_change_remove(double, tmp_path):
    dry = run_module("oci_gc_schedule", double, tmp_path, check=True, diff=True, cron="0 0 2 * * 6")
    assert dry["changed"] and dry["previous"] is None and dry["schedule"]["cron"] == "0 0 2 * * 6", dry
    assert dry["diff"]["before"] == {"schedule": None}
    assert double.writes() == [] and double.gc_schedule is None

    real = run_module("oci_gc_schedule", double, tmp_path, cron="0  0 2 * * 6", workers=3)
    assert real["changed"], real
    assert double.gc_schedule["schedule"] == {"type": "Custom", "cron": "0 0 2 * * 6"}
    assert '"workers": 3' in double.gc_schedule["job_parameters"]
    writes = len(double.writes())
    again = run_module("oci_gc_schedule", double, tmp_path, cron="0 0 2 * * 6", workers=3)
    assert not again["changed"] and len(double.writes()) == writes, again

    changed = run_module("oci_gc_schedule", double, tmp_path, cron="0 30 1 * * *", workers=3, delete_untagged=True)
    assert changed["changed"] and changed["previous"]["cron"] == "0 0 2 * * 6"
    assert double.gc_schedule["schedule"]["cron"] == "0 30 1 * * *"
    assert '"delete_untagged": true' in double.gc_schedule["job_parameters"]

    dry_gone = run_module("oci_gc_schedule", double, tmp_path, check=True, state="absent")
    assert dry_gone["changed"] and dry_gone["schedule"] is None and double.gc_schedule is not None
    gone = run_module("oci_gc_schedule", double, tmp_path, state="absent")
    assert gone["changed"] and double.gc_schedule is None
    writes = len(double.writes())
    still = run_module("oci_gc_schedule", double, tmp_path, state="absent")
    assert not still["changed"] and len(double.writes()) == writes


def test_bad_input_is_refused_before_anything_is_sent(double, tmp_path):
    five = run_module("oci_gc_schedule", double, tmp_path, cron="0 2 * * 6")
    assert five["failed"] and "six-field cron" in five["msg"], five
    workers = run_module("oci_gc_schedule", double, tmp_path, cron="0 0 2 * * 6", workers=11)
    assert workers["failed"] and "workers must be between 1 and 10" in workers["msg"], workers
    missing = run_module("oci_gc_schedule", double, tmp_path)
    assert missing["failed"] and "cron" in missing["msg"], missing
    assert double.writes() == [] and double.gc_schedule is None
