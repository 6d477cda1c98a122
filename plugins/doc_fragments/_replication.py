# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations


class ModuleDocFragment:
    """Options of oci_replication and oci_replication_run: where Distribution keeps its replication jobs."""

    DOCUMENTATION = r"""
options:
  replication_dir:
    description:
      - V(distribution) - the directory of the job files on the registry host, one C(<name>.json) per replication
        (mode C(0600), since it holds the remote's password and this registry's).
      - Ignored by the other types.
    type: path
    default: /etc/oci-registry/replication
  replication_lib_dir:
    description:
      - V(distribution) - where the runner (C(oci-registry-replicate)) and the collection's sync engine it imports
        are installed on the registry host; no Ansible is needed there at run time, only Python and C(requests).
    type: path
    default: /usr/local/lib/oci-registry
  replication_report_dir:
    description:
      - V(distribution) - where each run writes its report, C(<name>.json) (what was copied, by digest, and what
        failed; no password).
    type: path
    default: /var/lib/oci-registry-replication
  replication_metrics_dir:
    description:
      - V(distribution) - the directory of Prometheus textfiles (node_exporter's textfile collector) where each
        run writes C(oci_registry_replication_<name>.prom) with the tags copied, the failures, the last run and the last success.
    type: path
    default: /var/lib/node_exporter/textfile_collector
  replication_scheduler:
    description:
      - V(distribution) - what starts a scheduled replication. V(auto) is V(systemd) where systemd runs as PID 1
        on the host, else V(cron).
      - V(systemd) writes C(oci-registry-replication-<name>.service) and C(.timer) to O(replication_systemd_dir)
        and enables the timer; V(cron) writes C(oci-registry-replication-<name>) to O(replication_cron_dir).
    type: str
    choices: [auto, systemd, cron]
    default: auto
  replication_python:
    description:
      - V(distribution) - the Python interpreter of the registry host that runs the job (it needs C(requests)).
    type: path
    default: /usr/bin/python3
  replication_systemd_dir:
    description:
      - V(distribution) - where the timer and service units are written.
    type: path
    default: /etc/systemd/system
  replication_cron_dir:
    description:
      - V(distribution) - where the cron entry is written.
    type: path
    default: /etc/cron.d
"""
