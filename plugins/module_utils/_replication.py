# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""Distribution's scheduled replication: the job file, the schedule (systemd timer or cron entry) and the
runner that the schedule starts on the registry host.

The runner is this file, shipped to the host with the few module_utils it imports (_errors, _client, _oci,
_sync) under ``<lib_dir>/python`` at the package path they import by, and started as
``<python> <lib_dir>/oci-registry-replicate <job file>``: no Ansible on the host at run time, only Python and
``requests``. One job file per replication (JSON, 0600: it holds the remote's and the local registry's
passwords) says what to copy; each run writes a report (JSON, no password) and a Prometheus textfile
(node_exporter's textfile collector format) with the tags copied, the failures and the last success.

This file imports only the standard library and those four module_utils: it must run without Ansible.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time

from ansible_collections.provisioning.oci_registry.plugins.module_utils._client import (
    ConnectionOptions,
    RegistryClient,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import (
    InvalidParameterError,
    OciRegistryError,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._oci import OciApi
from ansible_collections.provisioning.oci_registry.plugins.module_utils._sync import SyncEngine

JOB_VERSION = 1
UNIT_PREFIX = "oci-registry-replication-"
RUNNER_NAME = "oci-registry-replicate"
# The module_utils the runner imports (this one included), shipped to the host.
SHIPPED_MODULES = ("_errors", "_client", "_oci", "_sync", "_replication")
PACKAGE = "ansible_collections.provisioning.oci_registry.plugins.module_utils"
SCHEDULERS = ("auto", "systemd", "cron")
_DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


class ReplicationOptions:
    """Where Distribution's replication jobs live on the registry host, and how they are scheduled."""

    def __init__(self, directory="/etc/oci-registry/replication", lib_dir="/usr/local/lib/oci-registry",
                 report_dir="/var/lib/oci-registry-replication",
                 metrics_dir="/var/lib/node_exporter/textfile_collector", scheduler="auto",
                 python="/usr/bin/python3", systemd_dir="/etc/systemd/system", cron_dir="/etc/cron.d",
                 run_command=None):
        if scheduler not in SCHEDULERS:
            raise InvalidParameterError("replication_scheduler must be one of %s, got %r"
                                        % (", ".join(SCHEDULERS), scheduler))
        for label, path in (("replication_dir", directory), ("replication_lib_dir", lib_dir),
                            ("replication_report_dir", report_dir), ("replication_metrics_dir", metrics_dir),
                            ("replication_python", python)):
            if not path or not os.path.isabs(path):
                raise InvalidParameterError("%s must be an absolute path, got %r" % (label, path))
        self.directory = directory
        self.lib_dir = lib_dir
        self.report_dir = report_dir
        self.metrics_dir = metrics_dir
        self.scheduler = scheduler
        self.python = python
        self.systemd_dir = systemd_dir
        self.cron_dir = cron_dir
        self.run_command = run_command

    def resolved_scheduler(self):
        """systemd where it runs as PID 1 (sd_booted(3): /run/systemd/system exists), else cron."""
        if self.scheduler != "auto":
            return self.scheduler
        return "systemd" if os.path.isdir("/run/systemd/system") else "cron"

    def job_path(self, name):
        return os.path.join(self.directory, name + ".json")

    def report_path(self, name):
        return os.path.join(self.report_dir, name + ".json")

    def metrics_path(self, name):
        return os.path.join(self.metrics_dir, "oci_registry_replication_%s.prom" % name.replace("-", "_"))

    @property
    def runner_path(self):
        return os.path.join(self.lib_dir, RUNNER_NAME)

    def command(self, name):
        return "%s %s %s" % (self.python, self.runner_path, self.job_path(name))

    def unit_paths(self, name):
        return (os.path.join(self.systemd_dir, UNIT_PREFIX + name + ".service"),
                os.path.join(self.systemd_dir, UNIT_PREFIX + name + ".timer"))

    def cron_path(self, name):
        return os.path.join(self.cron_dir, UNIT_PREFIX + name)


# -- globs (the contract's syntax: '*' within one path component, '**' across) ------------------------------
# Options of oci_replication and oci_replication_run for Distribution (doc fragment provisioning.oci_registry._replication).
REPLICATION_FILE_ARGSPEC = dict(
    replication_dir=dict(type="path", default="/etc/oci-registry/replication"),
    replication_lib_dir=dict(type="path", default="/usr/local/lib/oci-registry"),
    replication_report_dir=dict(type="path", default="/var/lib/oci-registry-replication"),
    replication_metrics_dir=dict(type="path", default="/var/lib/node_exporter/textfile_collector"),
    replication_scheduler=dict(type="str", default="auto", choices=list(SCHEDULERS)),
    replication_python=dict(type="path", default="/usr/bin/python3"),
    replication_systemd_dir=dict(type="path", default="/etc/systemd/system"),
    replication_cron_dir=dict(type="path", default="/etc/cron.d"),
)


def options_from_params(params, run_command=None):
    return ReplicationOptions(
        directory=params["replication_dir"], lib_dir=params["replication_lib_dir"],
        report_dir=params["replication_report_dir"], metrics_dir=params["replication_metrics_dir"],
        scheduler=params["replication_scheduler"], python=params["replication_python"],
        systemd_dir=params["replication_systemd_dir"], cron_dir=params["replication_cron_dir"],
        run_command=run_command)


def glob_regex(pattern):
    out, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", index + 1)
            if end < 0:
                out.append(re.escape(char))
            else:
                body = pattern[index + 1:end]
                out.append("[%s%s]" % ("^" if body.startswith("!") else "", re.escape(body.lstrip("!"))))
                index = end
        else:
            out.append(re.escape(char))
        index += 1
    return re.compile("^%s$" % "".join(out))


def glob_select(names, patterns):
    regexes = [glob_regex(p) for p in patterns]
    return sorted(set(n for n in names if any(r.match(n) for r in regexes)))


# -- the schedule ----------------------------------------------------------------------------------------------
def _cron_values(field, low, high):
    values = set()
    for part in field.split(","):
        base, _sep, step = part.partition("/")
        if base == "*":
            start, end = low, high
        elif "-" in base:
            start, end = (int(v) for v in base.split("-", 1))
        else:
            start = end = int(base)
            if step:
                end = high
        values.update(range(start, end + 1, int(step or 1)))
    return sorted(values)


def cron_to_oncalendar(schedule):
    """A 5-field cron expression (validated by _model.check_cron) as a systemd OnCalendar value (systemd.time(7)).
    Every restricted field becomes an explicit list. systemd requires both day fields to match where cron runs
    when either does, so a schedule that restricts both cannot be expressed: an error says so."""
    fields = schedule.split()
    if len(fields) != 5:
        raise InvalidParameterError("schedule %r is not a 5-field cron expression" % (schedule,))
    parts = []
    for field, (low, high) in zip(fields, _CRON_RANGES):
        parts.append(None if field == "*" else _cron_values(field, low, high))
    minute, hour, dom, month, dow = parts[0], parts[1], parts[2], parts[3], parts[4]
    if dom is not None and dow is not None:
        raise InvalidParameterError(
            "schedule %r restricts both the day of month and the day of week: cron runs when either matches, a "
            "systemd timer only when both do; restrict one of them" % schedule)

    def text(values, width=2):
        return "*" if values is None else ",".join("%0*d" % (width, v) for v in values)

    days = "" if dow is None else ",".join(sorted(set(_DAYS[d] for d in dow), key=_DAYS.index)) + " "
    return "%s*-%s-%s %s:%s:00" % (days, text(month), text(dom), text(hour), text(minute))


def render_service(name, options):
    return ("# Managed by provisioning.oci_registry (oci_replication): do not edit.\n"
            "[Unit]\n"
            "Description=OCI registry replication %s\n"
            "Wants=network-online.target\n"
            "After=network-online.target\n\n"
            "[Service]\n"
            "Type=oneshot\n"
            "ExecStart=%s\n" % (name, options.command(name)))


def render_timer(name, schedule):
    return ("# Managed by provisioning.oci_registry (oci_replication): do not edit.\n"
            "# cron: %s\n"
            "[Unit]\n"
            "Description=Schedule of OCI registry replication %s\n\n"
            "[Timer]\n"
            "OnCalendar=%s\n"
            "Persistent=true\n\n"
            "[Install]\n"
            "WantedBy=timers.target\n" % (schedule, name, cron_to_oncalendar(schedule)))


def render_cron(name, schedule, options):
    return ("# Managed by provisioning.oci_registry (oci_replication): do not edit.\n"
            "# OCI registry replication %s\n"
            "SHELL=/bin/sh\n"
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
            "%s root %s\n" % (name, schedule, options.command(name)))


def render_runner(options):
    return ("#!%s\n"
            "# Managed by provisioning.oci_registry (oci_replication): runs one replication job.\n"
            "# Usage: %s <job file>\n"
            "import sys\n"
            "sys.path.insert(0, %r)\n"
            "from %s._replication import main\n"
            "sys.exit(main(sys.argv[1:]))\n" % (options.python, options.runner_path,
                                                os.path.join(options.lib_dir, "python"), PACKAGE))


def shipped_path(options, module_name):
    return os.path.join(options.lib_dir, "python", *PACKAGE.split(".")) + os.sep + module_name + ".py"


# -- the job ---------------------------------------------------------------------------------------------------
def job_document(replication, local, options):
    """What a job file holds: the normalized entry (with the remote's password), the local registry's connection
    (its password too) and where the run writes its report and metrics."""
    return {"version": JOB_VERSION, "replication": replication, "local": local,
            "report_path": options.report_path(replication["name"]),
            "metrics_path": options.metrics_path(replication["name"])}


def job_text(document):
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _connection(endpoint):
    return ConnectionOptions(endpoint["url"], username=endpoint.get("username"), password=endpoint.get("password"),
                             validate_certs=endpoint.get("tls_verify", True), ca_path=endpoint.get("ca_path"),
                             timeout=endpoint.get("timeout") or 30.0, retries=endpoint.get("retries", 3))


class _SelectedEngine(SyncEngine):
    """The sync engine with the contract's globs: the repositories are selected here ('*' stays in one path
    component) and handed over; tag globs match names without '/', where both syntaxes agree."""

    selected = ()

    def list_repositories(self):
        return list(self.selected)


def run_job(document, now=time.time):
    """Run one job (a loaded job file); returns the report. Never raises for a failed copy: the report says."""
    replication = document["replication"]
    local, remote = document["local"], replication["remote"]
    source, destination = (remote, local) if replication["direction"] == "pull" else (local, remote)
    started = now()
    report = {"name": replication["name"], "direction": replication["direction"], "source": source["url"],
              "destination": destination["url"], "started": started, "status": "failed", "copied": [],
              "unchanged": 0, "failed": 0, "errors": [], "summary": {}}
    try:
        source_api = OciApi(RegistryClient(_connection(source)))
        destination_api = OciApi(RegistryClient(_connection(destination)))
        patterns = replication["repositories"]
        if all(not re.search(r"[*?\[]", p) for p in patterns):
            names = sorted(set(patterns))
        else:
            names = glob_select(source_api.catalog(page_size=1000), patterns)
        engine = _SelectedEngine(source_api, destination_api, repositories=patterns, tags=replication["tags"],
                                 destination_prefix=replication.get("destination_namespace") or "", workers=4)
        engine.selected = names
        result = engine.run()
    except OciRegistryError as exc:
        report["errors"] = [exc.msg]
        report["failed"] = 1
    else:
        copied = set(result["copied"])
        for entry in result["verification"]:
            if "%s:%s" % (entry["repository"], entry["tag"]) in copied:
                report["copied"].append({"repository": entry["repository"], "tag": entry["tag"],
                                         "destination_repository": entry["destination_repository"],
                                         "digest": entry["source_digest"]})
        report["unchanged"] = result["summary"].get("tags_unchanged", 0)
        report["summary"] = result["summary"]
        report["errors"] = list(result["errors"])
        report["failed"] = len(result["errors"])
        report["status"] = "failed" if result["errors"] else "succeeded"
    report["finished"] = now()
    return report


def metrics_text(report, last_success):
    name = report["name"]
    label = '{replication="%s",direction="%s"}' % (name, report["direction"])
    lines = []
    for metric, kind, help_text, value in (
            ("oci_registry_replication_copied_tags", "gauge", "Tags copied by the last run.", len(report["copied"])),
            ("oci_registry_replication_failed", "gauge",
             "Repositories or tags that failed in the last run (0: it succeeded).", report["failed"]),
            ("oci_registry_replication_last_run_timestamp_seconds", "gauge", "When the last run ended.",
             report["finished"]),
            ("oci_registry_replication_last_success_timestamp_seconds", "gauge",
             "When the last run without failures ended (0: none yet).", last_success or 0)):
        lines.append("# HELP %s %s" % (metric, help_text))
        lines.append("# TYPE %s %s" % (metric, kind))
        lines.append("%s%s %s" % (metric, label, _number(value)))
    return "\n".join(lines) + "\n"


def _number(value):
    return str(int(value)) if float(value).is_integer() else "%.3f" % value


def write_atomic(path, text, mode=0o644):
    """Write through a temporary file and a rename (a textfile collector never reads half a file). The
    temporary file is created 0600 (mkstemp), so a secret is never readable by others, not even for a moment;
    the directories a 0600 file needs are created 0700."""
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700 if mode == 0o600 else 0o755, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, mode)
        os.rename(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def load_job(path):
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    if not isinstance(document, dict) or document.get("version") != JOB_VERSION:
        raise InvalidParameterError("%s is not a replication job file of version %d" % (path, JOB_VERSION))
    return document


def main(argv, out=sys.stdout):
    """The runner: ``oci-registry-replicate <job file>``. Exit 0 when the run copied everything, 1 when anything
    failed, 2 when the job file cannot be read. Prints a summary without any password."""
    if len(argv) != 1:
        out.write("usage: %s <job file>\n" % RUNNER_NAME)
        return 2
    try:
        document = load_job(argv[0])
    except (OSError, ValueError, OciRegistryError) as exc:
        out.write("%s: cannot read the job file %s: %s\n" % (RUNNER_NAME, argv[0], getattr(exc, "msg", exc)))
        return 2
    report = run_job(document)
    last_success = None
    try:
        with open(document["report_path"], encoding="utf-8") as handle:
            last_success = json.load(handle).get("last_success")
    except (OSError, ValueError):
        pass
    if report["status"] == "succeeded":
        last_success = report["finished"]
    report["last_success"] = last_success
    write_atomic(document["report_path"], json.dumps(report, indent=2, sort_keys=True) + "\n", 0o640)
    write_atomic(document["metrics_path"], metrics_text(report, last_success), 0o644)
    out.write("replication %s (%s %s -> %s): %s, %d tag(s) copied, %d unchanged, %d failure(s)%s\n"
              % (report["name"], report["direction"], report["source"], report["destination"], report["status"],
                 len(report["copied"]), report["unchanged"], report["failed"],
                 "".join("\n  " + e for e in report["errors"])))
    return 0 if report["status"] == "succeeded" else 1
