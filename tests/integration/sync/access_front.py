"""The collection's access front (nginx with per-namespace rules, plugins/module_utils/_front.py) in front of
a Distribution registry, started the way the distribution role runs it: the registry without auth on a
Docker network of its own, nginx on that network publishing its port on 127.0.0.1, nginx.conf rendered by
_front.render from the settings and the access rules.
"""

import os
import subprocess
import tempfile
import time
import uuid

import docker
import requests
from passlib.hash import bcrypt

from ansible_collections.provisioning.oci_registry.plugins.module_utils import _front

from ..registry import IMAGE, docker_client, free_port
from .front import IMAGE as NGINX_IMAGE


class AccessFront:
    def __init__(self, users, namespaces):
        """``users``: {name: (password, admin)}; ``namespaces``: {name: [policy, ...]}."""
        self.users = users
        self.namespaces = namespaces
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.host = "127.0.0.1:%d" % self.port
        self.dir = tempfile.mkdtemp(prefix="oci-access-")
        self.name = "oci-sync-front-%s" % uuid.uuid4().hex[:8]
        self.network = self.registry = self.nginx = None

    def _access(self):
        access = _front.empty_access()
        for name, (_password, admin) in self.users.items():
            access = _front.set_user(access, name, admin=admin)
        for namespace, policies in self.namespaces.items():
            access = _front.set_namespace(access, {"name": namespace, "policies": policies}, keep_policies=False)
        return access

    def start(self):
        client = docker_client()
        try:
            client.images.get(NGINX_IMAGE)
        except docker.errors.ImageNotFound:
            raise RuntimeError("image %s is missing: run `make bed`" % NGINX_IMAGE)
        htpasswd = os.path.join(self.dir, "htpasswd")
        with open(htpasswd, "w") as fh:
            for name, (password, _admin) in self.users.items():
                fh.write("%s:%s\n" % (name, bcrypt.using(rounds=4, ident="2y").hash(password)))
        settings = {"listen_port": 5000, "internal_port": 8081, "upstream": "%s-registry:5000" % self.name,
                    "htpasswd_path": "/front/htpasswd", "worker_processes": "1"}
        text, _warnings = _front.render(settings, self._access())
        with open(os.path.join(self.dir, "nginx.conf"), "w") as fh:
            fh.write(text)
        os.chmod(self.dir, 0o755)
        os.chmod(htpasswd, 0o644)
        self.network = client.networks.create(self.name, driver="bridge", labels={"oci-registry-test": "integration"})
        self.registry = client.containers.run(IMAGE, detach=True, name="%s-registry" % self.name, network=self.name,
                                              labels={"oci-registry-test": "integration"})
        self.nginx = client.containers.run(
            NGINX_IMAGE, ["nginx", "-g", "daemon off;", "-c", "/front/nginx.conf"], detach=True, name=self.name,
            network=self.name, ports={"5000/tcp": ("127.0.0.1", self.port)},
            volumes={self.dir: {"bind": "/front", "mode": "ro"}}, labels={"oci-registry-test": "integration"})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/v2/", timeout=2).status_code == 401:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("the access front did not answer:\n%s" % self.nginx.logs(tail=30).decode(errors="replace"))

    def endpoint(self, user):
        return {"registry_url": self.url, "registry_type": "distribution", "username": user,
                "password": self.users[user][0]}

    def remove(self):
        for container in (self.nginx, self.registry):
            if container is not None:
                container.remove(force=True, v=True)
        if self.network is not None:
            self.network.remove()
        subprocess.run(["rm", "-rf", self.dir], check=True)
