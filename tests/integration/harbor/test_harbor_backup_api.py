"""The API part of backup.yml and restore.yml, end to end against the Harbor double, from an empty Harbor.

Harbor's database (a real PostgreSQL container), its data volume and the stand-ins for its other
containers come from tests/integration/day2/test_harbor_backup.py's HarborHost. Here the access model is
applied first (init.yml on the empty double), then each playbook runs in check mode (the double must count
zero write requests), and twice for real: a backup or a restore always writes an archive or data (so
its task count of changes is never 0), and what is checked the second time is its API side: it writes
nothing through Harbor's API but the read-only switch and back (PUT /configurations), changes no project,
member, user or retention, and leaves Harbor in service."""

import os
import shutil
import subprocess
import uuid

import pytest
import yaml

from ..access.deployment import ROOT, PlaybookRun
from ..day2.test_harbor_backup import ADMIN_PASSWORD, POSTGRES_IMAGE, HarborHost, docker

pytestmark = pytest.mark.integration

USERS = [{"name": "dev", "password": "Dev-Passw0rd-1"}]


class Host(HarborHost):
    def play(self, name, *args, **overrides):
        path = os.path.join(self.dir, "vars-%s.yml" % uuid.uuid4().hex[:6])
        with open(path, "w") as handle:
            yaml.safe_dump(dict(self.vars, oci_registry_users=USERS, **overrides), handle)
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_FORCE_COLOR="0", ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"))
        process = subprocess.run([shutil.which("ansible-playbook") or "ansible-playbook",
                                  os.path.join(ROOT, "playbooks", name), "-e", "@" + path] + list(args),
                                 cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
        return PlaybookRun(process)

    def api_writes(self):
        return [(method, path) for method, path, _status in self.double.writes()]


@pytest.fixture(scope="module")
def harbor():
    if docker("image", "inspect", POSTGRES_IMAGE, check=False).returncode != 0:
        pytest.fail("image %s is not in the local Docker engine: the test bed is incomplete (run `make bed`)"
                    % POSTGRES_IMAGE, pytrace=False)
    host = Host()
    try:
        yield host.start()
        assert host.double.violations == [], host.double.violations
    finally:
        host.remove()


MODE = [("PUT", "/api/v2.0/configurations"), ("PUT", "/api/v2.0/configurations")]


def test_1_init_on_the_empty_harbor(harbor):
    run = harbor.play("init.yml")
    assert run.rc == 0 and run.changed, run
    again = harbor.play("init.yml")
    assert again.rc == 0 and again.changed == 0, again


def test_2_backup_in_check_mode_writes_nothing(harbor):
    writes = len(harbor.api_writes())
    run = harbor.play("backup.yml", "--check")
    assert run.rc == 0, run
    assert harbor.api_writes()[writes:] == [] and harbor.archives() == []


def test_3_backup_twice_touches_only_the_read_only_switch(harbor):
    for count in (1, 2):
        writes = len(harbor.api_writes())
        run = harbor.play("backup.yml")
        assert run.rc == 0, run
        assert harbor.api_writes()[writes:] == MODE, harbor.api_writes()[writes:]
        assert harbor.double.config["read_only"] is False and len(harbor.archives()) == count
        assert ADMIN_PASSWORD not in run.output and USERS[0]["password"] not in run.output


def test_4_restore_in_check_mode_writes_nothing(harbor):
    writes = len(harbor.api_writes())
    run = harbor.play("restore.yml", "--check", restore_from=harbor.archives()[-1])
    assert run.rc == 0, run
    assert harbor.api_writes()[writes:] == []


def test_5_restore_twice_leaves_harbor_in_service_and_the_model_as_it_was(harbor):
    projects = sorted(p["name"] for p in harbor.double.projects.values())
    for _round in (1, 2):
        writes = len(harbor.api_writes())
        run = harbor.play("restore.yml", restore_from=harbor.archives()[-1])
        assert run.rc == 0, run
        assert [w for w in harbor.api_writes()[writes:] if w[1] != "/api/v2.0/configurations"] == []
        assert harbor.double.config["read_only"] is False
    assert sorted(p["name"] for p in harbor.double.projects.values()) == projects
    # After the restore the access model still matches: init.yml has nothing to do.
    again = harbor.play("init.yml")
    assert again.rc == 0 and again.changed == 0, again
