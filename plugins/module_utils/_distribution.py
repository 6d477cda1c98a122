# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""CNCF Distribution adapter."""

from __future__ import annotations

from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import Backend


class DistributionBackend(Backend):
    registry_type = "distribution"

    def health_checks(self, runner, debug_url=None):
        if not debug_url:
            runner.skip("debug_health", "no debug_url given (Distribution's http.debug listener)")
            runner.skip("metrics", "no debug_url given (Distribution's http.debug listener)")
            return
        base = debug_url.rstrip("/")

        def debug_health():
            response = self.client.request("GET", base + "/debug/health", auth=False)
            data = response.json()
            if data:
                raise AssertionError("health checks failing: %s" % ", ".join(sorted(data)))
            return "all registered health checks pass"

        def metrics():
            response = self.client.request("GET", base + "/metrics", auth=False,
                                           hint="enable http.debug.prometheus in the registry's config")
            families = [line for line in response.text.splitlines() if line.startswith("# TYPE ")]
            registry = [line for line in families if " registry_" in line]
            return "%d metric families, %d from the registry" % (len(families), len(registry))

        runner.check("debug_health", debug_health)
        runner.check("metrics", metrics)


BACKEND = DistributionBackend
