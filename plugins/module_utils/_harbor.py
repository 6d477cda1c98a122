# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""Harbor adapter (API v2.0, basic auth, never a session cookie)."""

from __future__ import annotations

from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import Backend
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import OciRegistryError

API = "/api/v2.0"


class HarborBackend(Backend):
    registry_type = "harbor"

    def __init__(self, client):
        super().__init__(client)
        # Harbor's CSRF check refuses writes that carry its session cookie: never keep one.
        client.session.cookies.set_policy(_NoCookies())

    def health_checks(self, runner, debug_url=None):
        state = {}

        def overall():
            data = self.client.get_json(API + "/health", auth=False)
            state["components"] = data.get("components") or []
            if data.get("status") != "healthy":
                raise OciRegistryError("Harbor reports status %r" % data.get("status"))
            return "healthy, %d components" % len(state["components"])

        runner.check("harbor_health", overall)
        for component in state.get("components", []):
            name = component.get("name", "?")

            def one(component=component):
                if component.get("status") != "healthy":
                    raise OciRegistryError("%s: %s" % (component.get("status"), component.get("error") or "no detail"))
                return "healthy"

            runner.check("harbor_component_%s" % name, one)

    def version(self):
        try:
            return self.client.get_json(API + "/systeminfo").get("harbor_version")
        except OciRegistryError:
            return None


class _NoCookies:
    """A cookie policy that accepts no cookie (http.cookiejar.CookiePolicy protocol)."""

    netscape = True
    rfc2965 = False
    hide_cookie2 = False

    def set_ok(self, cookie, request):
        return False

    def return_ok(self, cookie, request):
        return False

    def domain_return_ok(self, domain, request):
        return False

    def path_return_ok(self, path, request):
        return False


BACKEND = HarborBackend
