# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""Zot adapter."""

from __future__ import annotations

import re

from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import Backend
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import RegistryHTTPError

_ZOT_INFO = re.compile(r'^zot_info\{[^}]*\bversion="([^"]+)"', re.MULTILINE)


class ZotBackend(Backend):
    registry_type = "zot"
    metrics_path = "/metrics"

    def __init__(self, client):
        super().__init__(client)
        self._metrics_text = None

    def health_checks(self, runner, debug_url=None):
        for probe in ("livez", "readyz", "startupz"):
            runner.check(probe, self._probe(probe))

        def metrics():
            try:
                text = self.metrics_text()
            except RegistryHTTPError as exc:
                if exc.status == 404:
                    return runner.SKIPPED, "zot's metrics extension is not enabled (%s answered 404)" % self.metrics_path
                raise
            families = [line for line in text.splitlines() if line.startswith("# TYPE ")]
            return "%d metric families" % len(families)

        runner.check("metrics", metrics)

    def _probe(self, name):
        def probe():
            self.client.request("GET", "/" + name, auth=False).close()
            return "/%s answered 200" % name
        return probe

    def metrics_text(self):
        if self._metrics_text is None:
            self._metrics_text = self.client.request("GET", self.metrics_path).text
        return self._metrics_text

    def version(self):
        try:
            match = _ZOT_INFO.search(self.metrics_text())
        except RegistryHTTPError:
            return None
        return match.group(1) if match else None


BACKEND = ZotBackend
