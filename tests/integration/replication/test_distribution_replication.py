"""Distribution's replication, live: a registry deployed by the collection (deploy.yml, access front) with two
scheduled replications of oci_registry_replications, and a second real Distribution registry as the remote.

The jobs are run by the command their cron entry holds (read from the installed file), as cron would run it;
what they copied is checked by digest with skopeo, and so are the report and the Prometheus textfile. Then:
check mode of oci_replication writes nothing, a second apply changes nothing, replicate.yml runs everything
once and reports it, and no password appears anywhere but in the job files (0600).

This machine has no systemd as PID 1, so the role picks cron here (the systemd units are unit-tested in
tests/unit/test_replication.py); the runner uses this venv's Python, which has `requests` (the system Python
of this machine does not), and imports nothing of Ansible.
"""

import json
import os
import shlex
import stat
import subprocess
import sys
import time
import uuid

import pytest

from ..access.deployment import Deployment, make_layout
from ..registry import Registry, run_module

PULL, PUSH = "from-remote", "to-remote"
SECRET_FILES = ("%s.json" % PULL, "%s.json" % PUSH)


def _skopeo(*args):
    command = ["skopeo", "--command-timeout", "60s"] + list(args)
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def _push(layout, tag, host, repository, creds):
    result = _skopeo("copy", "--preserve-digests", "--dest-tls-verify=false", "--dest-creds", "%s:%s" % creds,
                     "oci:%s:%s" % (layout, tag), "docker://%s/%s:%s" % (host, repository, tag))
    assert result.returncode == 0, result.stderr


def digest(host, repository, tag, creds):
    """The manifest digest of repository:tag (skopeo), or None when the tag is not there."""
    result = _skopeo("inspect", "--tls-verify=false", "--creds", "%s:%s" % creds, "--format", "{{.Digest}}",
                     "docker://%s/%s:%s" % (host, repository, tag))
    if result.returncode != 0:
        assert "manifest unknown" in result.stderr or "not found" in result.stderr.lower(), result.stderr
        return None
    return result.stdout.strip()


class Bed:
    """The remote, the deployment and what the tests collected (every output, to search for passwords)."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.remote = Registry(users={"remote-admin": "R3mote-" + uuid.uuid4().hex[:12]}).start()
        self.remote_host = "127.0.0.1:%d" % self.remote.port
        self.deployment = Deployment(users=[])
        self.local_host = self.deployment.host
        base = self.deployment.dir
        self.paths = {
            "distribution_replication_dir": os.path.join(base, "replication"),
            "distribution_replication_lib_dir": os.path.join(base, "lib"),
            "distribution_replication_report_dir": os.path.join(base, "reports"),
            "distribution_replication_metrics_dir": os.path.join(base, "textfile"),
            "distribution_replication_cron_dir": os.path.join(base, "cron.d"),
            "distribution_replication_systemd_dir": os.path.join(base, "systemd"),
            "distribution_replication_scheduler": "auto",
            "distribution_replication_python": sys.executable,
        }
        remote = {"url": self.remote.url, "username": self.remote.admin[0], "password": self.remote.admin[1],
                  "tls_verify": False}
        self.replications = [
            {"name": PULL, "direction": "pull", "remote": remote, "repositories": ["team/**"], "tags": ["v*"],
             "destination_namespace": "mirror", "trigger": "scheduled", "schedule": "*/10 * * * *"},
            {"name": PUSH, "direction": "push", "remote": remote, "repositories": ["provisioning-platform/*"],
             "destination_namespace": "backup", "trigger": "scheduled", "schedule": "30 2 * * *"},
        ]
        self.outputs = []
        self.digests = {}

    def deploy(self, *args):
        run = self.deployment.playbook("deploy.yml", *args, oci_registry_replications=self.replications, **self.paths)
        self.outputs.append(run.output)
        return run

    def cron_command(self, name):
        """The command of the installed cron entry (fields: 5 of the schedule, the user, the command)."""
        path = os.path.join(self.paths["distribution_replication_cron_dir"], "oci-registry-replication-" + name)
        with open(path) as handle:
            lines = [line for line in handle.read().splitlines()
                     if line.strip() and not line.startswith("#") and "=" not in line.split()[0]]
        assert len(lines) == 1, lines
        fields = lines[0].split(None, 6)
        assert fields[5] == "root", lines
        return fields[:5], fields[6]

    def run_cron(self, name):
        schedule, command = self.cron_command(name)
        # cron's environment: no Ansible variables, the PATH of the entry.
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root"}
        process = subprocess.run(shlex.split(command), capture_output=True, text=True, env=env, timeout=300,
                                 check=False)
        self.outputs.append(process.stdout + process.stderr)
        return process

    def report(self, name):
        with open(os.path.join(self.paths["distribution_replication_report_dir"], name + ".json")) as handle:
            return json.load(handle)

    def metrics(self, name):
        path = os.path.join(self.paths["distribution_replication_metrics_dir"],
                            "oci_registry_replication_%s.prom" % name.replace("-", "_"))
        values = {}
        with open(path) as handle:
            for line in handle:
                if line.startswith("#") or not line.strip():
                    continue
                key, value = line.rsplit(" ", 1)
                values[key.split("{")[0]] = float(value)
        return values

    def module_args(self, **entry):
        args = dict(registry_url=self.deployment.url, registry_type="distribution",
                    username=self.deployment.admin[0], password=self.deployment.admin[1])
        args.update((key.replace("distribution_", ""), value) for key, value in self.paths.items())
        args.update(entry)
        return args

    def remove(self):
        self.remote.remove()
        self.deployment.remove()


@pytest.fixture(scope="module")
def bed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("replication")
    bed = Bed(str(tmp))
    try:
        remote_creds = bed.remote.admin
        for repository, tag in (("team/app", "v1"), ("team/app", "v2"), ("team/app", "dev"),
                                ("team/sub/tool", "v1"), ("other/app", "v1")):
            layout = make_layout(os.path.join(bed.tmp, uuid.uuid4().hex), tag=tag)
            _push(layout, tag, bed.remote_host, repository, remote_creds)
            bed.digests[(repository, tag)] = digest(bed.remote_host, repository, tag, remote_creds)
        run = bed.deploy()
        assert run.rc == 0, run
        bed.reported_after_deploy = os.path.exists(bed.paths["distribution_replication_report_dir"])
        layout = make_layout(os.path.join(bed.tmp, uuid.uuid4().hex), tag="1.0")
        _push(layout, "1.0", bed.local_host, "provisioning-platform/app", bed.deployment.admin)
        bed.digests[("provisioning-platform/app", "1.0")] = digest(
            bed.local_host, "provisioning-platform/app", "1.0", bed.deployment.admin)
        yield bed
    finally:
        bed.remove()


def test_job_files_and_cron_entries(bed):
    for name in (PULL, PUSH):
        job = os.path.join(bed.paths["distribution_replication_dir"], name + ".json")
        assert stat.S_IMODE(os.stat(job).st_mode) == 0o600
        schedule, command = bed.cron_command(name)
        assert command == "%s %s/oci-registry-replicate %s" % (
            sys.executable, bed.paths["distribution_replication_lib_dir"], job)
        assert " ".join(schedule) == {"from-remote": "*/10 * * * *", "to-remote": "30 2 * * *"}[name]
    # The deploy ran no job: no report, no metrics.
    assert bed.reported_after_deploy is False


def test_scheduled_pull_copies_what_the_filters_select(bed):
    local, creds = bed.local_host, bed.deployment.admin
    # repositories: [team/**], tags: [v*]; the copy copies what the mirror lacks (another test may have run it).
    selected = sorted(key for key in bed.digests if key[0].startswith("team/") and key[1].startswith("v"))
    assert len(selected) >= 3
    missing = [key for key in selected if digest(local, "mirror/" + key[0], key[1], creds) is None]
    process = bed.run_cron(PULL)
    assert process.returncode == 0, process.stdout + process.stderr
    for repository, tag in selected:
        assert digest(local, "mirror/" + repository, tag, creds) == bed.digests[(repository, tag)]
    # A tag outside tags: [v*] and a repository outside repositories: [team/**] are not copied.
    assert digest(local, "mirror/team/app", "dev", creds) is None
    assert digest(local, "mirror/other/app", "v1", creds) is None
    report = bed.report(PULL)
    assert report["status"] == "succeeded" and report["failed"] == 0
    assert sorted((c["destination_repository"], c["tag"], c["digest"]) for c in report["copied"]) == sorted(
        ("mirror/" + r, t, bed.digests[(r, t)]) for r, t in missing)
    metrics = bed.metrics(PULL)
    assert metrics["oci_registry_replication_copied_tags"] == len(missing)
    assert metrics["oci_registry_replication_failed"] == 0
    assert abs(metrics["oci_registry_replication_last_success_timestamp_seconds"] - time.time()) < 120


def test_scheduled_push(bed):
    remote, creds = bed.remote_host, bed.remote.admin
    already = digest(remote, "backup/provisioning-platform/app", "1.0", creds) is not None
    process = bed.run_cron(PUSH)
    assert process.returncode == 0, process.stdout + process.stderr
    pushed = digest(remote, "backup/provisioning-platform/app", "1.0", creds)
    assert pushed == bed.digests[("provisioning-platform/app", "1.0")] and pushed
    report = bed.report(PUSH)
    assert report["status"] == "succeeded" and [c["tag"] for c in report["copied"]] == ([] if already else ["1.0"])
    # A second run right after copies nothing and still succeeds.
    again = bed.run_cron(PUSH)
    assert again.returncode == 0 and bed.report(PUSH)["copied"] == [] and bed.metrics(PUSH)[
        "oci_registry_replication_copied_tags"] == 0


def test_check_mode_writes_nothing_and_names_bad_input(bed):
    entry = dict(name="planned", direction="pull", remote=dict(bed.replications[0]["remote"]), trigger="scheduled",
                 schedule="0 4 * * *")
    rc, result, output = run_module("oci_replication", bed.module_args(**entry), check=True)
    bed.outputs.append(output)
    assert rc == 0 and result["changed"], output
    job = os.path.join(bed.paths["distribution_replication_dir"], "planned.json")
    cron = os.path.join(bed.paths["distribution_replication_cron_dir"], "oci-registry-replication-planned")
    assert job in result["files"] and cron in result["files"]
    assert not os.path.exists(job) and not os.path.exists(cron)
    assert result["replication"]["remote"]["password"] == "********"
    bad = dict(entry, trigger="on_push", schedule=None, deletions=True)
    rc, result, output = run_module("oci_replication", bed.module_args(**bad))
    bed.outputs.append(output)
    assert rc != 0 and "oci_replication.trigger: Distribution cannot replicate on push" in result["msg"], output
    assert "oci_replication.deletions" in result["msg"] and not os.path.exists(job)


def test_second_apply_changes_nothing(bed):
    """Each entry applied again with the arguments the role gives the module (a whole second deploy.yml costs
    80-90 s on this loaded machine; deploy.yml's own idempotence is asserted by the access tests)."""
    before = dict((name, os.stat(os.path.join(bed.paths["distribution_replication_dir"], name)).st_mtime_ns)
                  for name in SECRET_FILES)
    for index, entry in enumerate(bed.replications):
        rc, result, output = run_module("oci_replication", bed.module_args(
            variable="distribution_replications[%d]" % index, **entry))
        bed.outputs.append(output)
        assert rc == 0 and not result["changed"] and result["files"] == [] and result["removed"] == [], output
        assert result["scheduler"] == "cron" and result["previous"] == result["replication"], output
    after = dict((name, os.stat(os.path.join(bed.paths["distribution_replication_dir"], name)).st_mtime_ns)
                 for name in SECRET_FILES)
    assert before == after


def test_replicate_playbook_runs_all_and_reports(bed):
    for name in (PULL, PUSH):  # whatever ran before: both sides up to date, so that only v3 is new
        process = bed.run_cron(name)
        assert process.returncode == 0, process.stdout + process.stderr
    layout = make_layout(os.path.join(bed.tmp, uuid.uuid4().hex), tag="v3")
    _push(layout, "v3", bed.remote_host, "team/app", bed.remote.admin)
    expected = bed.digests[("team/app", "v3")] = digest(bed.remote_host, "team/app", "v3", bed.remote.admin)
    run = bed.deployment.playbook("replicate.yml", oci_registry_replications=bed.replications, **bed.paths)
    bed.outputs.append(run.output)
    assert run.rc == 0 and run.changed == 1, run  # the pull copied v3; the push had nothing new
    assert "%s: succeeded, 1 tag(s) copied; team/app v3 %s" % (PULL, expected) in run.output, run
    assert "%s: succeeded, 0 tag(s) copied" % PUSH in run.output, run
    assert digest(bed.local_host, "mirror/team/app", "v3", bed.deployment.admin) == expected


def test_no_password_outside_the_job_files(bed):
    for name in (PULL, PUSH):  # reports, metrics and outputs of both jobs, whatever ran before
        process = bed.run_cron(name)
        assert process.returncode == 0, process.stdout + process.stderr
    secrets = [bed.remote.admin[1], bed.deployment.admin[1]]
    texts = list(bed.outputs)
    for key in ("distribution_replication_dir", "distribution_replication_report_dir",
                "distribution_replication_metrics_dir", "distribution_replication_cron_dir",
                "distribution_replication_lib_dir"):
        for root, _dirs, files in os.walk(bed.paths[key]):
            for name in files:
                path = os.path.join(root, name)
                with open(path, errors="replace") as handle:
                    text = handle.read()
                if path.startswith(bed.paths["distribution_replication_dir"]):
                    assert name in SECRET_FILES, path
                    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
                    assert secrets[0] in text  # the job holds what it needs, only there
                    continue
                texts.append(text)
    assert len(texts) > 10
    for text in texts:
        for secret in secrets:
            assert secret not in text
