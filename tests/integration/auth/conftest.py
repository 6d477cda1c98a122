"""The default secure Distribution (TLS, the access front with its authentication service, users
at bcrypt cost 12), deployed by playbooks/deploy.yml, for the authentication tests."""

import os
import shutil
import uuid

import pytest

from ..access.deployment import Deployment

TOKEN_TTL = 20

USERS = [
    {"name": "alice", "password": "Alice-" + uuid.uuid4().hex[:12]},
    {"name": "boss", "password": "Boss-" + uuid.uuid4().hex[:12], "admin": True},
    {"name": "bob", "password": "Bob-" + uuid.uuid4().hex[:12]},
    {"name": "carol", "password": "Carol-" + uuid.uuid4().hex[:12]},
]


class SecureDeployment(Deployment):
    def __init__(self, users):
        super().__init__(users)
        self.vars["oci_registry_tls"] = True
        self.vars["distribution_front_token_ttl"] = TOKEN_TTL
        # deploy.yml installs the CA for Docker and containers clients: here, not in /etc/*/certs.d.
        self.vars["oci_registry_ca_docker_dir"] = os.path.join(self.dir, "docker-certs.d")
        self.vars["oci_registry_ca_containers_dir"] = os.path.join(self.dir, "containers-certs.d")
        self.url = "https://" + self.host

    @property
    def ca(self):
        return os.path.join(self.config_dir, "pki", "ca.crt")

    @property
    def cert_dir(self):
        """A directory with only the CA (skopeo takes any *.key in --cert-dir for a client key)."""
        path = os.path.join(self.dir, "certs")
        if not os.path.isdir(path):
            os.makedirs(path)
            shutil.copyfile(self.ca, os.path.join(path, "ca.crt"))
        return path

    @property
    def secrets(self):
        """Every password of the deployment (for the checks that none is shown)."""
        return [self.admin[1]] + [u["password"] for u in self.vars["oci_registry_users"]]


@pytest.fixture(scope="package")
def secure():
    dep = SecureDeployment(users=[dict(u) for u in USERS])
    try:
        run = dep.playbook("deploy.yml")
        assert run.rc == 0, run
        for secret in dep.secrets:
            assert secret not in run.output
        yield dep
    finally:
        dep.remove()


def creds(name):
    user = next(u for u in USERS if u["name"] == name)
    return user["name"], user["password"]
