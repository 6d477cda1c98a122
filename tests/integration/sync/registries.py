"""Distribution registries for oci_sync tests and benchmarks (built on tests/integration/registry.py).

Distribution's htpasswd auth checks the bcrypt hash on every request; at the usual cost (10) that is
tens of milliseconds of CPU per request, which would measure bcrypt rather than copying. These
registries keep htpasswd auth, with a configurable (by default the lowest) bcrypt cost.
"""

import json
import os
import re

from passlib.hash import bcrypt

from ..registry import Registry


class SyncRegistry(Registry):
    def __init__(self, bcrypt_cost=4, config_extra=None, **kwargs):
        super().__init__(**kwargs)
        self.bcrypt_cost = bcrypt_cost
        self.config_extra = config_extra or {}

    def _write_config(self):
        super()._write_config()
        if self.config_extra:
            path = os.path.join(self.dir, "config.yml")
            with open(path) as fh:
                config = json.load(fh)  # the base class writes JSON (which is YAML)
            _merge(config, self.config_extra)
            with open(path, "w") as fh:
                json.dump(config, fh)
        if self.auth:
            with open(os.path.join(self.dir, "htpasswd"), "w") as fh:
                for user, password in self.users.items():
                    fh.write("%s:%s\n" % (user, bcrypt.using(rounds=self.bcrypt_cost).hash(password)))

    @property
    def host(self):
        return "127.0.0.1:%d" % self.port

    def endpoint(self, registry_type="distribution", **extra):
        """The oci_sync source/destination dict for this registry."""
        user, password = self.admin
        return dict(registry_url=self.url, registry_type=registry_type, username=user, password=password, **extra)

    def requests_log(self):
        """(method, path with query, status) of every request in the registry's access log."""
        logs = self.container.logs().decode(errors="replace")
        return [(m.group(1), m.group(2), int(m.group(3)))
                for m in re.finditer(r'"(GET|HEAD|POST|PUT|PATCH|DELETE) (\S+) HTTP/[\d.]+" (\d{3}) ', logs)]

    def blob_commits(self):
        """Digests of the blob uploads the registry completed (PUT .../blobs/uploads/...?digest=, 201)."""
        found = []
        for method, path, status in self.requests_log():
            match = re.search(r"/v2/(.+?)/blobs/uploads/[^?]*\?.*digest=sha256%3A([0-9a-f]{64})", path)
            if method == "PUT" and match and status == 201:
                found.append((match.group(1), "sha256:" + match.group(2)))
        return found


def _merge(base, extra):
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
