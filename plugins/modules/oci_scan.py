#!/usr/bin/python
# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
module: oci_scan
short_description: Scan an image or a namespace for vulnerabilities, and gate on the result
version_added: 0.1.0
description:
  - Scans one image (O(image)) or every image of a namespace (O(namespace)) with the registry's scanner,
    waits for the reports (O(wait)) and returns the vulnerabilities by severity.
  - With O(fail_on) it is a gate for pipelines, failing when any vulnerability at or above that severity
    was found, with the counts in the message.
  - Harbor scans with its configured scanner (Trivy), C(POST .../artifacts/{reference}/scan), and the counts
    come from the artifact's C(scan_overview). A project without a scanner, or an artifact the scanner
    cannot scan, fails as Harbor answers. zot reports the CVE data of its search extension. CNCF
    Distribution has no scanner, and the module fails saying so; it never returns a made-up report.
  - In check mode no scan is started; the last report the registry holds is returned.
  - With O(scan_all_schedule) it sets, instead, when the registry scans every image (Harbor's scan-all
    schedule, C(/system/scanAll/schedule)); that mode supports check mode, diff mode and idempotence.
author:
  - provisioning.oci_registry maintainers (@provisioning)
extends_documentation_fragment:
  - provisioning.oci_registry._connection
  - provisioning.oci_registry._attributes
attributes:
  check_mode:
    support: full
    details: No scan is started; the registry's last report is returned.
  diff_mode:
    support: partial
    details: Only with O(scan_all_schedule).
  idempotent:
    support: partial
    details: A scan of O(image) or O(namespace) starts a new scan on every run (that is what it is for; C(changed) says
      a scan was started). Setting O(scan_all_schedule) is idempotent.
options:
  image:
    description: The image to scan, C(repository:tag) or C(repository@digest) (on Harbor C(<project>/<repository>)).
    type: str
  namespace:
    description: Scan every image of this namespace (on Harbor, a project) instead of one O(image).
    type: str
  scan_all_schedule:
    description:
      - Set when the registry scans every image, as a five-field cron (minute hour day-of-month month day-of-week),
        instead of scanning. V("") removes the schedule. Harbor only; other types fail saying so.
    type: str
  wait:
    description: Wait until each scan has finished. With V(false) the counts are those known when the module returns.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for each scan.
    type: int
    default: 600
  fail_on:
    description:
      - Fail when a vulnerability of this severity or worse was found. V(none) never fails on findings.
    type: str
    choices: [none, low, medium, high, critical]
    default: none
seealso:
  - module: provisioning.oci_registry.oci_namespace
"""

EXAMPLES = r"""
- name: Gate a release on critical and high vulnerabilities
  provisioning.oci_registry.oci_scan:
    registry_url: https://harbor.example.com
    registry_type: harbor
    username: admin
    password: "{{ vault_harbor_admin_password }}"
    image: provisioning-platform/api:1.4.0
    fail_on: high

- name: Scan a whole namespace and report
  provisioning.oci_registry.oci_scan:
    registry_url: https://harbor.example.com
    registry_type: harbor
    username: admin
    password: "{{ vault_harbor_admin_password }}"
    namespace: provisioning-platform
  register: scan
"""

RETURN = r"""
schedule:
  description: The scan-all schedule after the task (five-field cron, or null for none).
  returned: with O(scan_all_schedule)
  type: str
  sample: "0 3 * * 6"
images:
  description: One entry per image scanned.
  returned: always
  type: list
  elements: dict
  contains:
    repository:
      description: Repository name.
      type: str
    reference:
      description: Tag or digest as given.
      type: str
    digest:
      description: The artifact's digest.
      type: str
    scanned:
      description: Whether a scan was started.
      type: bool
    status:
      description: The scan's status (Harbor C(Success), C(Running), C(Pending), C(Not scanned)).
      type: str
    vulnerabilities:
      description: Counts by severity.
      type: dict
    findings:
      description:
        - The vulnerabilities of the report, worst first, each C({id, package, version, fix_version, severity}) (Harbor's
          C(additions/vulnerabilities)). Empty while the scan has not finished, and where the registry gives counts only.
      type: list
      elements: dict
  sample:
    - {repository: provisioning-platform/api, reference: 1.4.0, digest: "sha256:4f...", scanned: true,
       status: Success, vulnerabilities: {critical: 0, high: 2, medium: 5, low: 9, unknown: 0}}
vulnerabilities:
  description: The counts by severity over every image scanned.
  returned: always
  type: dict
  contains:
    critical:
      description: Critical vulnerabilities.
      type: int
    high:
      description: High vulnerabilities.
      type: int
    medium:
      description: Medium vulnerabilities.
      type: int
    low:
      description: Low (and negligible) vulnerabilities.
      type: int
    unknown:
      description: Vulnerabilities of unknown severity.
      type: int
  sample: {critical: 0, high: 2, medium: 5, low: 9, unknown: 0}
"""

from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import backend_from_params
from ansible_collections.provisioning.oci_registry.plugins.module_utils._diff import add_diff
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import InvalidParameterError
from ansible_collections.provisioning.oci_registry.plugins.module_utils._module import registry_module, run_module

LEVELS = ("low", "medium", "high", "critical")
SEVERITIES = ("critical", "high", "medium", "low", "unknown")


def split_image(image):
    """(repository, reference) of ``repository:tag`` or ``repository@digest``."""
    if "@" in image:
        repository, _sep, reference = image.partition("@")
    else:
        repository, sep, reference = image.rpartition(":")
        if not sep or "/" in reference:
            raise InvalidParameterError("image %r names no tag or digest: give repository:tag or repository@digest"
                                        % image)
    if not repository or not reference:
        raise InvalidParameterError("image must be repository:tag or repository@digest, got %r" % image)
    return repository, reference


def run(module, backend):
    params = module.params
    if params["scan_all_schedule"] is not None:
        changed, before, after = backend.scan_all_schedule_ensure(
            params["scan_all_schedule"] or None, check_mode=module.check_mode)
        result = dict(changed=changed, schedule=after, images=[], vulnerabilities=dict((s, 0) for s in SEVERITIES))
        return add_diff(module, result, {"schedule": before}, {"schedule": after})
    images = [params["image"]] if params["image"] else backend.namespace_images(params["namespace"])
    results = []
    totals = dict((s, 0) for s in SEVERITIES)
    for image in images:
        repository, reference = split_image(image)
        report = backend.scan(repository, reference, wait=params["wait"], timeout=params["timeout"],
                              check_mode=module.check_mode)
        results.append(report)
        for severity in SEVERITIES:
            totals[severity] += report["vulnerabilities"].get(severity, 0)
    result = dict(changed=any(r["scanned"] for r in results), images=results, vulnerabilities=totals)
    if params["fail_on"] != "none":
        gate = LEVELS[LEVELS.index(params["fail_on"]):]
        found = ["%s %d" % (s, totals[s]) for s in reversed(gate) if totals[s]]
        if found:
            module.fail_json(msg="vulnerabilities at or above %s were found: %s (in %d image(s) scanned)" % (
                params["fail_on"], ", ".join(found), len(results)), **result)
    return result


def main():
    module = registry_module(dict(
        image=dict(type="str"),
        namespace=dict(type="str"),
        scan_all_schedule=dict(type="str"),
        wait=dict(type="bool", default=True),
        timeout=dict(type="int", default=600),
        fail_on=dict(type="str", default="none", choices=["none"] + list(LEVELS)),
    ), mutually_exclusive=[["image", "namespace", "scan_all_schedule"]],
        required_one_of=[["image", "namespace", "scan_all_schedule"]])
    run_module(module, lambda module: run(module, backend_from_params(module.params)))


if __name__ == "__main__":
    main()
