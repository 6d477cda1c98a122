"""Distribution's replication jobs: globs, the cron -> OnCalendar translation, the rendered schedule and the
Prometheus textfile (the live test, tests/integration/replication/, runs the jobs themselves)."""

import os

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import get_backend
from ansible_collections.provisioning.oci_registry.plugins.module_utils._client import (
    ConnectionOptions,
    RegistryClient,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import InvalidParameterError
from ansible_collections.provisioning.oci_registry.plugins.module_utils._model import normalize_replication
from ansible_collections.provisioning.oci_registry.plugins.module_utils._replication import (
    ReplicationOptions,
    cron_to_oncalendar,
    glob_select,
    metrics_text,
    render_cron,
    render_runner,
    render_timer,
)

NAMES = ["app", "team/app", "team/sub/app", "team/api", "other/app", "teamx/app"]


@pytest.mark.parametrize("patterns,expected", [
    (["**"], NAMES),
    (["*"], ["app"]),
    (["team/*"], ["team/api", "team/app"]),
    (["team/**"], ["team/api", "team/app", "team/sub/app"]),
    (["*/app"], ["other/app", "team/app", "teamx/app"]),
    (["team/ap?", "other/**"], ["other/app", "team/api", "team/app"]),
    (["team/[a]pi"], ["team/api"]),
])
def test_glob_select(patterns, expected):
    assert glob_select(NAMES, patterns) == sorted(expected)


@pytest.mark.parametrize("cron,calendar", [
    ("30 2 * * *", "*-*-* 02:30:00"),
    ("*/20 * * * *", "*-*-* *:00,20,40:00"),
    ("0 3 * * 1-5", "Mon,Tue,Wed,Thu,Fri *-*-* 03:00:00"),
    ("0 3 * * 0,7", "Sun *-*-* 03:00:00"),
    ("15 4 1,15 */6 *", "*-01,07-01,15 04:15:00"),
])
def test_oncalendar(cron, calendar):
    assert cron_to_oncalendar(cron) == calendar


def test_oncalendar_refuses_both_day_fields():
    with pytest.raises(InvalidParameterError, match="restricts both the day of month and the day of week"):
        cron_to_oncalendar("0 3 1 * 1")


def test_rendered_schedule_holds_no_secret(tmp_path):
    options = ReplicationOptions(directory=str(tmp_path / "jobs"), lib_dir=str(tmp_path / "lib"),
                                 python="/usr/bin/python3")
    cron = render_cron("nightly", "30 2 * * *", options)
    line = [line for line in cron.splitlines() if line and not line.startswith("#") and "=" not in line]
    assert line == ["30 2 * * * root /usr/bin/python3 %s/oci-registry-replicate %s/nightly.json"
                    % (tmp_path / "lib", tmp_path / "jobs")]
    assert "OnCalendar=*-*-* 02:30:00" in render_timer("nightly", "30 2 * * *")
    runner = render_runner(options)
    assert runner.startswith("#!/usr/bin/python3\n") and repr(os.path.join(str(tmp_path / "lib"), "python")) in runner


def test_metrics_text():
    report = {"name": "from-hub", "direction": "pull", "copied": [{}, {}], "failed": 0, "finished": 1700000000.5}
    text = metrics_text(report, 1700000000.5)
    assert 'oci_registry_replication_copied_tags{replication="from-hub",direction="pull"} 2' in text
    assert 'oci_registry_replication_failed{replication="from-hub",direction="pull"} 0' in text
    assert 'oci_registry_replication_last_success_timestamp_seconds{replication="from-hub",direction="pull"} ' \
           '1700000000.500' in text
    assert text.count("# TYPE ") == 4


def test_options_refuse_relative_paths():
    with pytest.raises(InvalidParameterError, match="replication_dir must be an absolute path"):
        ReplicationOptions(directory="jobs")


# -- DistributionBackend.replication_ensure on files (no registry is contacted when a job is written) ----------
ENTRY = {"name": "nightly", "direction": "pull", "trigger": "scheduled", "schedule": "30 2 * * 1-5",
         "remote": {"url": "https://central.example.com", "username": "robot", "password": "Rem0te-secret"}}


def _backend(tmp_path, scheduler):
    client = RegistryClient(ConnectionOptions("http://127.0.0.1:5000", username="admin", password="L0cal-secret"))
    options = ReplicationOptions(
        directory=str(tmp_path / "jobs"), lib_dir=str(tmp_path / "lib"), report_dir=str(tmp_path / "reports"),
        metrics_dir=str(tmp_path / "textfile"), scheduler=scheduler, systemd_dir=str(tmp_path / "systemd"),
        cron_dir=str(tmp_path / "cron.d"))
    return get_backend("distribution", client).configure_replication(options)


def _all_files(tmp_path):
    return sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())


def test_systemd_plan_in_check_mode_writes_nothing(tmp_path):
    backend = _backend(tmp_path, "systemd")
    change = backend.replication_ensure(normalize_replication(ENTRY), check_mode=True)
    assert change.changed and change.before is None and _all_files(tmp_path) == []
    service, timer = (str(tmp_path / "systemd" / ("oci-registry-replication-nightly" + s)) for s in (".service", ".timer"))
    assert service in change.extra["files"] and timer in change.extra["files"]
    assert change.extra["commands"] == ["systemctl daemon-reload",
                                        "systemctl enable --now oci-registry-replication-nightly.timer"]
    assert change.after["remote"]["password"] == "********"


def test_cron_lifecycle(tmp_path):
    backend = _backend(tmp_path, "cron")
    entry = normalize_replication(ENTRY)
    first = backend.replication_ensure(entry)
    job = tmp_path / "jobs" / "nightly.json"
    cron = tmp_path / "cron.d" / "oci-registry-replication-nightly"
    assert first.changed and oct(job.stat().st_mode & 0o777) == "0o600" and cron.exists()
    assert (tmp_path / "lib" / "python" / "ansible_collections" / "provisioning" / "oci_registry" / "plugins"
            / "module_utils" / "_sync.py").exists()
    assert "Rem0te-secret" in job.read_text() and "Rem0te-secret" not in cron.read_text()
    assert backend.replication_names() == ["nightly"]
    assert backend.replication_get("nightly")["remote"]["password"] is None
    again = backend.replication_ensure(entry)
    assert not again.changed and again.extra["files"] == [] and again.before == again.after
    # Only the password changes: changed, the diff shows the same masked entry, password_changed says why.
    rotated = normalize_replication(dict(ENTRY, remote=dict(ENTRY["remote"], password="N3w-secret")))
    change = backend.replication_ensure(rotated)
    assert change.changed and change.password_changed and change.before == change.after
    assert "N3w-secret" in job.read_text()
    manual = backend.replication_ensure(normalize_replication(dict(ENTRY, trigger="manual", schedule=None)))
    assert manual.changed and str(cron) in manual.extra["removed"] and not cron.exists()
    gone = backend.replication_ensure(dict(entry, state="absent"))
    assert gone.changed and gone.after is None and not job.exists() and backend.replication_names() == []
    assert not backend.replication_ensure(dict(entry, state="absent")).changed
