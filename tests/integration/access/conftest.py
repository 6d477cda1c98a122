import uuid

import pytest

from .deployment import Deployment

# The acceptance's users: a plain user, an admin, one that is removed later, one whose
# password changes later.
USERS = [
    {"name": "alice", "password": "Alice-" + uuid.uuid4().hex[:10]},
    {"name": "boss", "password": "Boss-" + uuid.uuid4().hex[:10], "admin": True},
    {"name": "bob", "password": "Bob-" + uuid.uuid4().hex[:10]},
    {"name": "carol", "password": "Carol-" + uuid.uuid4().hex[:10]},
]


@pytest.fixture(scope="package")
def deployment():
    """Distribution + its access front, deployed by playbooks/deploy.yml, which applies the access
    model (playbooks/init.yml) with the platform's default namespaces once the registry is healthy."""
    dep = Deployment(users=[dict(u) for u in USERS])
    try:
        run = dep.playbook("deploy.yml")
        assert run.rc == 0, run
        assert "TASK [Policies]" in run.output, run
        yield dep
    finally:
        dep.remove()


def creds(name, users=None):
    user = next(u for u in users or USERS if u["name"] == name)
    return user["name"], user["password"]
