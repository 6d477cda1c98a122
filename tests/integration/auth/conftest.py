"""The default secure Distribution (TLS, the access front with its authentication service, users
at bcrypt cost 12), deployed by playbooks/deploy.yml, for the authentication tests."""

import uuid

import pytest

from ..access.deployment import SecureDeployment

TOKEN_TTL = 20

USERS = [
    {"name": "alice", "password": "Alice-" + uuid.uuid4().hex[:12]},
    {"name": "boss", "password": "Boss-" + uuid.uuid4().hex[:12], "admin": True},
    {"name": "bob", "password": "Bob-" + uuid.uuid4().hex[:12]},
    {"name": "carol", "password": "Carol-" + uuid.uuid4().hex[:12]},
]


class AuthDeployment(SecureDeployment):
    """The secure deployment, with tokens that expire within the tests."""

    def __init__(self, users):
        super().__init__(users, token_ttl=TOKEN_TTL)

    @property
    def secrets(self):
        """Every password of the deployment (for the checks that none is shown)."""
        return [self.admin[1]] + [u["password"] for u in self.vars["oci_registry_users"]]


@pytest.fixture(scope="package")
def secure():
    dep = AuthDeployment(users=[dict(u) for u in USERS])
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
