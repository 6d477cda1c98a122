"""A Distribution mirror (pull-through cache), live: an open upstream Distribution seeded by skopeo, the
collection deploying the default secure Distribution (TLS, access front, authentication service) with one
mirror through playbooks/deploy.yml, and skopeo/curl pulling through the mirror's port.

One module-scoped deployment, which every test leaves as it found it, so that they pass in any order: the
deploy also starts a second mirror, spare, which is the one the state=absent test removes.

The mirror is given upstream credentials although the upstream is open: Distribution 2.x's proxy sends them
only to a token (Bearer) realm (distribution v2.8.3 registry/proxy/proxyauth.go, getAuthURLs), which a plain
htpasswd registry is not; here they show that the password reaches the mirror's config.yml (0600) and
nothing else."""

import glob
import json
import os
import subprocess
import time
import uuid

import pytest

from ..access.deployment import SecureDeployment, make_layout
from ..registry import Registry, free_port, run_module

UPSTREAM_USER = "up"
UPSTREAM_PASSWORD = "Upstream-" + uuid.uuid4().hex[:16]
ALICE = ("alice", "Alice-" + uuid.uuid4().hex[:10])
MIRRORED = "library/alpine"      # served: matches library/*
OUTSIDE = "other/thing"          # upstream has it, the mirror's globs do not


def _docker(*args, check=True):
    return subprocess.run(["docker"] + list(args), capture_output=True, text=True, check=check)


class Setup:
    def __init__(self):
        self.upstream = Registry(auth=False)
        self.dep = SecureDeployment(users=[{"name": ALICE[0], "password": ALICE[1]}])
        self.mirror_port = free_port()
        self.mirror_host = "127.0.0.1:%d" % self.mirror_port
        self.network = self.dep.name + "-mirrors"
        self.container = self.dep.name + "-mirror-hub"
        self.outputs = []
        self.mirror = {"name": "hub", "url": "http://upstream:5000", "username": UPSTREAM_USER,
                       "password": UPSTREAM_PASSWORD, "namespace": "hub", "port": self.mirror_port,
                       "repositories": ["library/*"], "ttl": "24h"}
        # A second mirror of the same upstream, for the test of state=absent (the others keep hub); no ttl, so
        # that the ttl warning still names hub alone.
        self.spare = {key: value for key, value in self.mirror.items() if key != "ttl"}
        self.spare.update(name="spare", namespace="spare", port=free_port())
        self.dep.vars["oci_registry_mirrors"] = [self.mirror, self.spare]
        # The mirror's access rules: namespace hub, private, alice may read.
        self.dep.vars["oci_registry_namespaces"] = [
            {"name": "hub", "public": False, "policies": [{"subjects": ["alice"], "actions": ["read"]}]}]

    @property
    def cache(self):
        return self.dep.vars["oci_registry_data_dir"] + "-mirrors/hub"

    @property
    def config_file(self):
        return os.path.join(self.dep.config_dir, "mirrors", "hub.yml")

    def spare_present(self):
        """Whether spare is still deployed (the state=absent test removes it)."""
        return all(m.get("state", "present") == "present" for m in self.dep.vars["oci_registry_mirrors"]
                   if m["name"] == "spare")

    def deploy(self, *args, **overrides):
        run = self.dep.playbook("deploy.yml", *args, **overrides)
        self.outputs.append(run.output)
        return run

    def pull(self, repository, tag, target, creds=ALICE):
        auth = ["--src-creds", "%s:%s" % creds] if creds else ["--src-no-creds"]
        return self.dep.skopeo("copy", "--preserve-digests", "--src-cert-dir", self.dep.cert_dir, *auth,
                               "docker://%s/%s:%s" % (self.mirror_host, repository, tag), "oci:%s:%s" % (target, tag))

    def curl(self, method, path, creds=None):
        """(status, body) of one request to the mirror's port."""
        command = ["curl", "-s", "--cacert", self.dep.ca, "-o", "-", "-w", "\n%{http_code}", "--max-time", "20",
                   "-X", method, "-H", "Accept: application/vnd.oci.image.manifest.v1+json"]
        if creds:
            command += ["-u", "%s:%s" % creds]
        out = subprocess.run(command + ["https://%s%s" % (self.mirror_host, path)], capture_output=True,
                             text=True, check=True).stdout
        body, _sep, status = out.rpartition("\n")
        return int(status), body

    def remove(self):
        for name in ("hub", "spare"):
            _docker("rm", "-f", self.dep.name + "-mirror-" + name, check=False)
        self.upstream.remove()          # before the network it is connected to
        self.dep.remove()               # the registry, the front and all their networks


def _manifest_digest(layout, tag):
    with open(os.path.join(layout, "index.json")) as handle:
        index = json.load(handle)
    return next(m["digest"] for m in index["manifests"]
                if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)


def _blobs(layout):
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(layout, "blobs", "sha256", "*")))


@pytest.fixture(scope="module")
def setup():
    s = Setup()
    try:
        s.upstream.start()
        for repository, text in ((MIRRORED, "mirrored"), (OUTSIDE, "outside")):
            layout = make_layout(os.path.join(s.dep.dir, "seed-" + repository.replace("/", "-")), "v1", text)
            result = s.dep.skopeo("copy", "--preserve-digests", "--dest-tls-verify=false", "--dest-no-creds",
                                  "oci:%s:v1" % layout, "docker://127.0.0.1:%d/%s:v1" % (s.upstream.port, repository))
            assert result.returncode == 0, result.stderr
        s.seed = os.path.join(s.dep.dir, "seed-library-alpine")
        # The upstream is reached from the mirrors' egress network (the role creates it when absent; here it
        # exists first, so that the upstream answers by name when the mirror starts).
        _docker("network", "create", s.network)
        _docker("network", "connect", "--alias", "upstream", s.network, s.upstream.container.name)
        run = s.deploy()
        assert run.rc == 0, run
        s.first_output = run.output
        yield s
    finally:
        s.remove()


def test_mirror_runs_beside_the_registry_with_its_config_0600(setup):
    state = json.loads(_docker("inspect", setup.container).stdout)[0]
    assert state["State"]["Running"], state["State"]
    assert set(state["NetworkSettings"]["Networks"]) == {setup.dep.name + "-internal", setup.network}
    assert oct(os.stat(setup.config_file).st_mode & 0o777) == "0o600"
    with open(setup.config_file) as handle:
        text = handle.read()
    assert "remoteurl: http://upstream:5000" in text
    assert "password: %s" % UPSTREAM_PASSWORD in text
    # The password is only in that file: not in the front's files.
    for path in glob.glob(os.path.join(setup.dep.front_dir, "*")):
        if os.path.isfile(path):
            with open(path, errors="replace") as handle:
                assert UPSTREAM_PASSWORD not in handle.read(), path


def test_ttl_on_distribution_2_is_said_to_be_ignored(setup):
    # The test image is Distribution 2.8, which has no proxy.ttl (3.0 added it).
    assert "WARNING: mirror(s) hub set ttl" in setup.first_output
    assert "which has no proxy.ttl (added in 3.0) and ignores" in " ".join(setup.first_output.split())
    with open(setup.config_file) as handle:
        assert "ttl: 24h" in handle.read()      # written for 3.x images


def test_first_pull_comes_from_upstream_second_from_the_cache_with_upstream_stopped(setup):
    first = os.path.join(setup.dep.dir, "pull-1")
    result = setup.pull("hub/" + MIRRORED, "v1", first)
    assert result.returncode == 0, result.stderr
    digest = _manifest_digest(first, "v1")
    assert digest == _manifest_digest(setup.seed, "v1")
    assert _blobs(first) == _blobs(setup.seed)
    # Fetched from the upstream: it logged the manifest request, and the mirror's cache now holds the blobs
    # (Distribution 2.8 stores a proxied blob while it streams it: wait for the copies).
    logs = setup.upstream.container.logs().decode(errors="replace")
    assert "/v2/%s/manifests/" % MIRRORED in logs
    cached = os.path.join(setup.cache, "docker", "registry", "v2", "blobs", "sha256")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        held = set(os.path.basename(p) for p in glob.glob(os.path.join(cached, "*", "*"))
                   if os.path.exists(os.path.join(p, "data")))
        if set(_blobs(first)) <= held:
            break
        time.sleep(0.2)
    assert set(_blobs(first)) <= held, (sorted(held), _blobs(first))

    setup.upstream.stop()
    second = os.path.join(setup.dep.dir, "pull-2")
    result = setup.pull("hub/" + MIRRORED, "v1", second)
    assert result.returncode == 0, result.stderr
    assert _manifest_digest(second, "v1") == digest
    assert _blobs(second) == _blobs(first)


def test_anonymous_refused_on_a_private_mirror_namespace(setup):
    result = setup.pull("hub/" + MIRRORED, "v1", os.path.join(setup.dep.dir, "pull-anon"), creds=None)
    assert result.returncode != 0
    assert "unauthorized" in result.stderr.lower() or "authentication required" in result.stderr.lower(), \
        result.stderr
    status, _body = setup.curl("GET", "/v2/hub/%s/manifests/v1" % MIRRORED)
    assert status == 401


def test_a_push_is_refused_with_a_clear_error(setup):
    status, body = setup.curl("POST", "/v2/hub/%s/blobs/uploads/" % MIRRORED, setup.dep.admin)
    assert status == 405, body
    assert "mirror hub is read-only" in body
    layout = make_layout(os.path.join(setup.dep.dir, "push"), "v2")
    result = setup.dep.skopeo("copy", "--dest-cert-dir", setup.dep.cert_dir, "--dest-creds", "%s:%s" % setup.dep.admin,
                              "oci:%s:v2" % layout, "docker://%s/hub/%s:v2" % (setup.mirror_host, MIRRORED))
    assert result.returncode != 0
    # A user without write gets no further than the authorization.
    status, _body = setup.curl("DELETE", "/v2/hub/%s/manifests/v1" % MIRRORED, ALICE)
    assert status in (401, 403)


def test_a_repository_outside_the_globs_is_refused(setup):
    status, body = setup.curl("GET", "/v2/hub/%s/manifests/v1" % OUTSIDE, setup.dep.admin)
    assert status == 404, body
    assert "mirror hub serves only hub/<repository> for repositories matching library/*" in body
    result = setup.pull("hub/" + OUTSIDE, "v1", os.path.join(setup.dep.dir, "pull-outside"))
    assert result.returncode != 0


def test_oci_registry_info_reads_the_mirror_back_without_password(setup):
    expected = [{
        "name": "hub", "url": "http://upstream:5000", "username": UPSTREAM_USER, "tls_verify": True,
        "repositories": ["library/*"], "namespace": "hub", "ttl": "24h", "port": setup.mirror_port}]
    if setup.spare_present():  # and spare, unless the state=absent test removed it
        expected.append({
            "name": "spare", "url": "http://upstream:5000", "username": UPSTREAM_USER, "tls_verify": True,
            "repositories": ["library/*"], "namespace": "spare", "ttl": None, "port": setup.spare["port"]})
    rc, result, output = run_module("oci_registry_info", {
        "registry_type": "distribution", "gather": ["mirrors"],
        "htpasswd_path": setup.dep.htpasswd, "front_config_path": os.path.join(setup.dep.front_dir, "nginx.conf")})
    assert rc == 0, output
    assert result["oci_registry_mirrors"] == expected
    assert UPSTREAM_PASSWORD not in output


def test_a_second_deploy_changes_nothing(setup):
    run = setup.deploy("--diff")
    assert run.rc == 0, run
    assert run.changed == 0, run


def _hub_public(setup, public):
    """Make hub public or private again (as init.yml would), reload nginx as the role does."""
    rc, result, output = run_module("oci_namespace", {
        "registry_type": "distribution", "name": "hub", "public": public, "htpasswd_path": setup.dep.htpasswd,
        "front_config_path": os.path.join(setup.dep.front_dir, "nginx.conf")})
    assert rc == 0 and result["changed"], output
    _docker("exec", setup.dep.name + "-front", "nginx", "-s", "reload")


def test_a_public_mirror_namespace_is_pulled_anonymously(setup):
    # The mirror's rules are its namespace's.
    _hub_public(setup, True)
    try:
        deadline = time.monotonic() + 10
        while True:
            result = setup.pull("hub/" + MIRRORED, "v1", os.path.join(setup.dep.dir, "pull-public"), creds=None)
            if result.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert result.returncode == 0, result.stderr
        # still read-only and still only the globs
        status, _body = setup.curl("GET", "/v2/hub/%s/manifests/v1" % OUTSIDE)
        assert status == 404
    finally:
        _hub_public(setup, False)  # private again, as deployed: the other tests expect it


def test_the_upstream_password_is_in_no_output_or_log(setup):
    for output in setup.outputs:
        assert UPSTREAM_PASSWORD not in output
    for container in (setup.container, setup.dep.name + "-front", setup.dep.name + "-auth", setup.dep.name):
        logs = _docker("logs", container)
        assert UPSTREAM_PASSWORD not in logs.stdout + logs.stderr, container


def test_state_absent_removes_container_config_cache_and_server_block(setup):
    """spare is removed; hub, which the other tests use, stays."""
    spare = dict(setup.spare, state="absent")
    container = setup.dep.name + "-mirror-spare"
    config_file = os.path.join(setup.dep.config_dir, "mirrors", "spare.yml")
    cache = setup.dep.vars["oci_registry_data_dir"] + "-mirrors/spare"
    assert _docker("inspect", container, check=False).returncode == 0 and os.path.exists(config_file)
    # The access model is unchanged: not applied again (saves the init.yml part of a deploy).
    run = setup.deploy("--diff", oci_registry_mirrors=[setup.mirror, spare], oci_registry_access_apply=False)
    setup.dep.vars["oci_registry_mirrors"] = [setup.mirror, spare]
    assert run.rc == 0, run
    assert UPSTREAM_PASSWORD not in run.output
    assert _docker("inspect", container, check=False).returncode != 0
    assert not os.path.exists(config_file)
    assert not os.path.exists(cache)
    with open(os.path.join(setup.dep.front_dir, "nginx.conf")) as handle:
        nginx = handle.read()
    assert "# Mirror spare" not in nginx and "# Mirror hub:" in nginx
    result = subprocess.run(["curl", "-s", "--cacert", setup.dep.ca, "--max-time", "5", "-o", "/dev/null",
                             "https://127.0.0.1:%d/v2/" % setup.spare["port"]], capture_output=True, check=False)
    assert result.returncode != 0  # nothing listens on the mirror's port any more
    assert _docker("inspect", setup.container, check=False).returncode == 0 and os.path.exists(setup.config_file)
    # The registry itself still answers.
    status = subprocess.run(["curl", "-s", "--cacert", setup.dep.ca, "--max-time", "20", "-o", "/dev/null",
                             "-w", "%{http_code}", "-u", "%s:%s" % setup.dep.admin, setup.dep.url + "/v2/"],
                            capture_output=True, text=True, check=True).stdout
    assert status == "200"
