"""Harbor backup and restore (backup.yml, restore.yml with registry_type=harbor).

What is real here: PostgreSQL (Debian's postgresql-15 in a container named like harbor-db, database
`registry` with rows) dumped with `docker exec ... pg_dump -Fc` and restored with `pg_restore --clean`;
Docker stopping and starting the containers of the Compose project; the data volume, the secret key and
harbor.yml on disk; tar and sha256sum. What stands in: Harbor's API (read-only mode, health, /v2/ catalog) is
the swagger-validating double of tests/harbor, and Harbor's other containers (whose images cannot be obtained
here) are plain containers with Harbor's Compose labels (project, service) that the playbooks must stop and
start. A backup and restore of a real Harbor is test_real_harbor_round_trip, skipped unless one is given."""

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import uuid

import pytest
import yaml

from tests.harbor.double import HarborDouble

from ..access.deployment import ROOT, PlaybookRun

pytestmark = pytest.mark.integration

POSTGRES_IMAGE = os.environ.get("OCI_TEST_POSTGRES_IMAGE", "oci-registry-test/postgres:15")
BASE_IMAGE = os.environ.get("OCI_TEST_BASE_IMAGE", "oci-registry-test/debian:bookworm")
ADMIN_PASSWORD = "Harbor-Adm1n-" + uuid.uuid4().hex[:6]
DB_PASSWORD = "Db-Secret-" + uuid.uuid4().hex[:8]
SECRET_KEY = uuid.uuid4().hex[:16]
PROJECTS = ["library", "provisioning-platform", "provisioning-test"]


def docker(*args, check=True):
    return subprocess.run(["docker"] + list(args), capture_output=True, text=True, check=check)


def psql(db, sql):
    return docker("exec", "--user", "postgres", db, "psql", "-U", "postgres", "-d", "registry", "-tA", "-c", sql).stdout


def started_at(name):
    return docker("inspect", "-f", "{{.State.StartedAt}} {{.State.Running}}", name).stdout.strip()


class HarborHost:
    """Harbor's files on this machine, its database container, stand-ins for its other containers, and the double."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="oci-hb-")
        tag = uuid.uuid4().hex[:6]
        self.project = "oci-hb-" + tag
        self.db = "harbor-db-" + tag
        self.core = "harbor-core-" + tag
        self.log = "harbor-log-" + tag
        self.data = os.path.join(self.dir, "data")
        self.backups = os.path.join(self.dir, "backups")
        self.install = os.path.join(self.dir, "opt-harbor")
        self.double = HarborDouble(admin_password=ADMIN_PASSWORD).start()
        self.vars = {
            "registry_type": "harbor",
            "oci_registry_url": self.double.url,
            "oci_registry_admin_password": ADMIN_PASSWORD,
            "oci_registry_tls": False,
            "oci_registry_data_dir": self.data,
            "oci_registry_config_dir": os.path.join(self.dir, "etc"),
            "harbor_install_dir": self.install,
            "harbor_db_container": self.db,
            "harbor_compose_project": self.project,
            "backup_dir": self.backups,
        }

    def start(self):
        for path in (self.backups, os.path.join(self.data, "secret", "keys"), os.path.join(self.data, "database"),
                     os.path.join(self.data, "registry", "docker", "registry", "v2", "blobs"),
                     os.path.join(self.install, "v2.15.2", "harbor"), self.vars["oci_registry_config_dir"]):
            os.makedirs(path, exist_ok=True)
        self.write("secret/keys/secretkey", SECRET_KEY, 0o600)
        self.write("registry/docker/registry/v2/blobs/blob", "layer bytes")
        self.write("database/PG_VERSION", "15\n")  # PostgreSQL's own files: never archived, never replaced
        with open(os.path.join(self.install, "installed-version"), "w") as handle:
            handle.write("v2.15.2\n")
        with open(os.path.join(self.install, "v2.15.2", "harbor", "harbor.yml"), "w") as handle:
            handle.write("hostname: harbor.example.com\ndatabase:\n  password: %s\n" % DB_PASSWORD)
        labels = ["--label", "com.docker.compose.project=" + self.project]
        docker("run", "-d", "--name", self.db, "--network", "none", *labels,
               "--label", "com.docker.compose.service=postgresql", POSTGRES_IMAGE)
        for name, service in ((self.core, "core"), (self.log, "log")):
            docker("run", "-d", "--name", name, "--network", "none", *labels,
                   "--label", "com.docker.compose.service=" + service, BASE_IMAGE, "sleep", "infinity")
        for _attempt in range(60):
            if docker("exec", "--user", "postgres", self.db, "pg_isready", "-U", "postgres", check=False).returncode == 0:
                break
            subprocess.run(["sleep", "0.5"], check=True)
        docker("exec", "--user", "postgres", self.db, "createdb", "-U", "postgres", "registry")
        psql(self.db, "CREATE TABLE project (project_id serial PRIMARY KEY, name text NOT NULL UNIQUE);"
                      "CREATE TABLE properties (k text PRIMARY KEY, v text);"
                      "INSERT INTO project (name) VALUES %s;" % ",".join("('%s')" % p for p in PROJECTS)
             + "INSERT INTO properties VALUES ('read_only', 'false');")
        return self

    def write(self, relative, text, mode=0o644):
        path = os.path.join(self.data, relative)
        with open(path, "w") as handle:
            handle.write(text)
        os.chmod(path, mode)

    def read(self, relative):
        with open(os.path.join(self.data, relative)) as handle:
            return handle.read()

    def playbook(self, name, **overrides):
        path = os.path.join(self.dir, "vars-%s.yml" % uuid.uuid4().hex[:6])
        with open(path, "w") as handle:
            yaml.safe_dump(dict(self.vars, **overrides), handle)
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_FORCE_COLOR="0", ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"))
        process = subprocess.run([shutil.which("ansible-playbook") or "ansible-playbook",
                                  os.path.join(ROOT, "playbooks", name), "-e", "@" + path],
                                 cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
        return PlaybookRun(process)

    def mode_writes(self):
        return [r for r in self.double.requests if r[0] == "PUT" and r[1].endswith("/configurations")]

    def archives(self):
        return sorted(os.path.join(self.backups, n) for n in os.listdir(self.backups) if n.endswith(".tar"))

    def remove(self):
        for name in (self.core, self.log, self.db):
            docker("rm", "-f", name, check=False)
        self.double.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def harbor():
    if docker("image", "inspect", POSTGRES_IMAGE, check=False).returncode != 0:
        pytest.fail("image %s is not in the local Docker engine: the test bed is incomplete (run `make bed`;"
                    " tests/bed/images.sh builds it)" % POSTGRES_IMAGE, pytrace=False)
    host = HarborHost()
    try:
        yield host.start()
        assert host.double.violations == [], host.double.violations
    finally:
        host.remove()


def test_1_preflight_refusals_change_nothing(harbor):
    run = harbor.playbook("backup.yml", harbor_db_container="no-such-db")
    assert run.rc != 0 and "the database container no-such-db (harbor_db_container) does not exist" in run.output, run
    run = harbor.playbook("backup.yml", oci_registry_data_dir=os.path.join(harbor.dir, "nodata"))
    assert run.rc != 0 and "nodata/secret/keys/secretkey does not exist" in run.output, run
    assert "oci_registry_data_dir to Harbor's data volume" in run.output
    run = harbor.playbook("backup.yml", harbor_external_database={"harbor": {"host": "db.example.com"}})
    assert run.rc != 0 and "harbor_external_database is set" in run.output, run
    run = harbor.playbook("backup.yml", backup_format="oci-layout")
    assert run.rc != 0 and "Harbor: archive" in run.output, run
    assert harbor.mode_writes() == [] and harbor.archives() == []


def test_2_backup_read_only_dump_volume_key(harbor):
    run = harbor.playbook("backup.yml")
    assert run.rc == 0, run
    assert "Harbor: database dump with 2 tables, data volume, secret key and harbor.yml" in run.output, run
    assert "back in service (read_only false)" in run.output
    # Read-only through the API during the copy, then back.
    assert [r[2] for r in harbor.mode_writes()] == [200, 200]
    assert harbor.double.config["read_only"] is False
    assert not os.path.exists(os.path.join(harbor.data, ".oci-registry-backup-read-only"))
    # Secrets never printed.
    for secret in (SECRET_KEY, DB_PASSWORD, ADMIN_PASSWORD):
        assert secret not in run.output
    (archive,) = harbor.archives()
    assert os.stat(archive).st_mode & 0o777 == 0o600
    with tarfile.open(archive) as tar:
        members = {m.name: m for m in tar.getmembers()}
        meta = json.load(tar.extractfile("backup.json"))
        sums = tar.extractfile("SHA256SUMS").read().decode()
        assert tar.extractfile("data/secret/keys/secretkey").read().decode() == SECRET_KEY
        assert DB_PASSWORD in tar.extractfile("harbor/harbor.yml").read().decode()
    assert members["harbor/registry.pgdump"].size > 0 and members["harbor/registry.pgdump"].mode == 0o600
    assert members["harbor/harbor.yml"].mode == 0o600
    assert members["data/secret/keys/secretkey"].mode == 0o600
    assert "data/registry/docker/registry/v2/blobs/blob" in members
    assert not [n for n in members if n.startswith("data/database") or "backup-read-only" in n]
    assert "  harbor/registry.pgdump" in sums and "  data/secret/keys/secretkey" in sums
    assert meta["registry_type"] == "harbor" and meta["content"] == {}
    assert meta["harbor"]["read_only_before"] is False and meta["harbor"]["version"] == "v2.15.2"
    assert not [n for n in os.listdir(harbor.backups) if n.endswith(".partial")]


def test_3_restore_brings_back_rows_key_and_data(harbor):
    (archive,) = harbor.archives()
    # Damage: rows deleted, secret key and blob changed, a new project; PostgreSQL's own files must stay.
    psql(harbor.db, "DELETE FROM project WHERE name <> 'library'; INSERT INTO project (name) VALUES ('intruder');")
    harbor.write("secret/keys/secretkey", "wrong-key-000000", 0o600)
    os.remove(os.path.join(harbor.data, "registry/docker/registry/v2/blobs/blob"))
    harbor.write("database/PG_VERSION", "15\n# live\n")
    # The restored database says read_only true (the dump was taken read-only): Harbor comes back so.
    harbor.double.config["read_only"] = True
    before = {name: started_at(name) for name in (harbor.core, harbor.log, harbor.db)}
    run = harbor.playbook("restore.yml", restore_from=archive)
    assert run.rc == 0, run
    assert "verified: 0 of 0 tags in 0 repositories" in run.output, run
    assert psql(harbor.db, "SELECT name FROM project ORDER BY project_id").split() == PROJECTS
    assert psql(harbor.db, "SELECT v FROM properties WHERE k = 'read_only'").strip() == "false"
    assert harbor.read("secret/keys/secretkey") == SECRET_KEY
    assert os.stat(os.path.join(harbor.data, "secret/keys/secretkey")).st_mode & 0o777 == 0o600
    assert harbor.read("registry/docker/registry/v2/blobs/blob") == "layer bytes"
    assert harbor.read("database/PG_VERSION") == "15\n# live\n"
    # core was stopped and started again; the log collector and the database kept running.
    after = {name: started_at(name) for name in before}
    assert after[harbor.core] != before[harbor.core] and after[harbor.core].endswith("true")
    assert after[harbor.log] == before[harbor.log] and after[harbor.db] == before[harbor.db]
    assert harbor.double.config["read_only"] is False
    # No staging copy, no fetched archive, no replaced data or config left (restore_keep_previous is false).
    assert [n for n in os.listdir(harbor.dir) if "restore" in n] == []
    for secret in (SECRET_KEY, DB_PASSWORD, ADMIN_PASSWORD):
        assert secret not in run.output


def test_4_failed_dump_puts_harbor_back_in_service(harbor):
    psql(harbor.db, "SELECT 1")
    docker("exec", "--user", "postgres", harbor.db, "psql", "-U", "postgres", "-d", "postgres", "-c",
           "ALTER DATABASE registry RENAME TO registry_away")
    try:
        writes = len(harbor.mode_writes())
        run = harbor.playbook("backup.yml")
        assert run.rc != 0 and "registry" in run.output, run
        assert "Harbor | Back to the mode it had before" in run.output
        assert len(harbor.mode_writes()) == writes + 2  # read-only, then back
        assert harbor.double.config["read_only"] is False
        assert not os.path.exists(os.path.join(harbor.data, ".oci-registry-backup-read-only"))
        assert not [n for n in os.listdir(harbor.backups) if n.endswith(".partial")]
    finally:
        docker("exec", "--user", "postgres", harbor.db, "psql", "-U", "postgres", "-d", "postgres", "-c",
               "ALTER DATABASE registry_away RENAME TO registry")


def test_5_left_read_only_by_an_interrupted_run_or_by_someone(harbor):
    # An interrupted backup: its marker is in the data volume and Harbor is read-only -> back in service first.
    harbor.write(".oci-registry-backup-read-only", "oci-registry-localhost-earlier\n", 0o600)
    harbor.double.config["read_only"] = True
    run = harbor.playbook("backup.yml", backup_keep=1)
    assert run.rc == 0, run
    assert "back in service (read_only false)" in run.output, run
    assert harbor.double.config["read_only"] is False
    assert not os.path.exists(os.path.join(harbor.data, ".oci-registry-backup-read-only"))
    assert len(harbor.archives()) == 1
    # Read-only set by someone else (no marker): kept read-only, and the backup records it.
    harbor.double.config["read_only"] = True
    run = harbor.playbook("backup.yml", backup_keep=1)
    assert run.rc == 0 and "back read-only, as it was before" in run.output, run
    assert harbor.double.config["read_only"] is True
    with tarfile.open(harbor.archives()[-1]) as tar:
        assert json.load(tar.extractfile("backup.json"))["harbor"]["read_only_before"] is True
    harbor.double.config["read_only"] = False


@pytest.mark.skipif(not os.environ.get("OCI_TEST_HARBOR_INVENTORY"),
                    reason="needs a real Harbor (goharbor images cannot be obtained on this machine): set "
                           "OCI_TEST_HARBOR_INVENTORY to an inventory whose oci_registry group runs Harbor "
                           "deployed by this collection, with backup_dir set")
def test_real_harbor_round_trip():
    inventory = os.environ["OCI_TEST_HARBOR_INVENTORY"]
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"))

    def play(name, *args):
        return PlaybookRun(subprocess.run([shutil.which("ansible-playbook") or "ansible-playbook", "-i", inventory,
                                           os.path.join(ROOT, "playbooks", name), "-e", "registry_type=harbor"]
                                          + list(args), cwd=ROOT, env=env, capture_output=True, text=True,
                                          timeout=3600, check=False))

    run = play("backup.yml")
    assert run.rc == 0 and "Harbor: database dump with" in run.output, run
    archive = run.output.split("backup of ")[1].split(": ", 1)[1].split()[0]
    run = play("restore.yml", "-e", "restore_from=" + archive)
    assert run.rc == 0 and "verified:" in run.output, run
