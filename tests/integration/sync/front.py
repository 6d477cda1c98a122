"""Debian's nginx (image of `make bed`) as an access-control front for a Distribution registry.

It forwards everything to the registry, except writes (POST, PUT, PATCH, DELETE) to the
repositories named in ``deny_writes``, which it answers with 403 Forbidden, as an access-control
front would for a user with pull-only rights there. With ``decline_mounts``, it forwards a mount request
(``POST .../blobs/uploads/?mount=...&from=...``) without its query string: the registry opens a plain
upload session (202), as a registry that declines a mount does (Harbor across projects). It runs in the
host's network namespace and listens on 127.0.0.1 only.
"""

import os
import subprocess
import tempfile
import time
import uuid

import requests

from ..registry import docker_client, free_port

IMAGE = os.environ.get("OCI_TEST_NGINX_IMAGE", "oci-registry-test/nginx:bookworm")

CONFIG = """
worker_processes 1;
events { worker_connections 256; }
http {
  access_log /dev/stdout;
  client_max_body_size 0;
  proxy_request_buffering off;
  proxy_buffering off;
  server {
    listen 127.0.0.1:%(port)d;
%(denied)s%(declined)s
    location /v2/ {
      proxy_pass http://127.0.0.1:%(upstream)d;
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_read_timeout 300;
    }
  }
}
"""

DENIED = """
    location ~ ^/v2/%(repository)s/(blobs|manifests)/ {
      limit_except GET HEAD { deny all; }
      proxy_pass http://127.0.0.1:%(upstream)d;
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
    }
"""

DECLINED = """
    location ~ ^/v2/.+/blobs/uploads/$ {
      if ($arg_mount != "") {
        rewrite ^(.*)$ $1? break;
      }
      proxy_pass http://127.0.0.1:%(upstream)d;
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
    }
"""


class Front:
    def __init__(self, registry, deny_writes=(), decline_mounts=False):
        self.registry = registry
        self.deny_writes = list(deny_writes)
        self.decline_mounts = decline_mounts
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.host = "127.0.0.1:%d" % self.port
        self.dir = tempfile.mkdtemp(prefix="oci-front-")
        self.container = None

    def start(self):
        client = docker_client()
        denied = "".join(DENIED % {"repository": repository.replace(".", r"\."), "upstream": self.registry.port}
                         for repository in self.deny_writes)
        path = os.path.join(self.dir, "nginx.conf")
        with open(path, "w") as fh:
            declined = DECLINED % {"upstream": self.registry.port} if self.decline_mounts else ""
            fh.write(CONFIG % {"port": self.port, "upstream": self.registry.port, "denied": denied,
                               "declined": declined})
        self.container = client.containers.run(
            IMAGE, detach=True, name="oci-front-%s" % uuid.uuid4().hex[:10], network_mode="host",
            volumes={path: {"bind": "/etc/nginx/nginx.conf", "mode": "ro"}}, labels={"oci-registry-test": "integration"})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/v2/", timeout=2).status_code in (200, 401):
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("nginx front did not answer:\n%s" % self.container.logs(tail=30).decode(errors="replace"))

    def endpoint(self):
        return dict(self.registry.endpoint(), registry_url=self.url)

    def remove(self):
        if self.container is not None:
            self.container.remove(force=True)
        subprocess.run(["rm", "-rf", self.dir], check=True)
