"""Issue 13 on the default secure Distribution (TLS, the access front and its authentication
service, bcrypt cost 12): real clients (requests for the raw token flow, skopeo, the Docker CLI
through this machine's engine, podman) check the security rules.

The tests run in file order: the last ones remove a user, change a password and lock out failed
logins from the test clients' address."""

import base64
import json
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile
import time
import uuid

import pytest
import requests

from ..access.deployment import make_layout
from .conftest import TOKEN_TTL, creds

pytestmark = pytest.mark.integration

PUBLIC, PRIVATE, PLATFORM = "provisioning-test", "provisioning-kcl", "provisioning-platform"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
TOKENS = []  # every token the tests saw, for the check that none is logged


def get(secure, path, auth=None, token=None, method="GET"):
    headers = {"Accept": MANIFEST}
    if token:
        headers["Authorization"] = "Bearer " + token
    return requests.request(method, secure.url + path, headers=headers, auth=auth, verify=secure.ca, timeout=30)


def challenge(response):
    header = response.headers.get("WWW-Authenticate", "")
    assert header.startswith("Bearer "), response.headers
    params = {}
    for part in header[len("Bearer "):].split('",'):
        key, _sep, value = part.partition("=")
        params[key.strip()] = value.strip('"')
    return params


def token(secure, scopes, auth=None):
    response = requests.get(secure.url + "/token", params={"service": secure.name, "scope": scopes}, auth=auth,
                            verify=secure.ca, timeout=30)
    if response.status_code == 200:
        TOKENS.append(response.json()["token"])
    return response


def claims(value):
    payload = value.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.fixture(scope="module")
def pushed(secure):
    """One image in a public and one in a private namespace, pushed by alice with skopeo."""
    layout = make_layout(os.path.join(secure.dir, "layout"))
    for repository in (PUBLIC + "/app", PRIVATE + "/lib"):
        result = secure.skopeo("copy", "--preserve-digests", "--dest-cert-dir", secure.cert_dir,
                               "--dest-creds", "%s:%s" % creds("alice"), "oci:%s:v1" % layout,
                               "docker://%s/%s:v1" % (secure.host, repository))
        assert result.returncode == 0, result.stderr
    return layout


def test_base_without_credentials_gets_a_bearer_challenge(secure):
    response = get(secure, "/v2/")
    assert response.status_code == 401
    params = challenge(response)
    assert params["realm"] == "https://%s/token" % secure.host
    assert params["service"] == secure.name
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_challenge_names_the_scope_of_the_request(secure):
    response = get(secure, "/v2/%s/lib/manifests/v1" % PRIVATE)
    assert response.status_code == 401
    assert challenge(response)["scope"] == "repository:%s/lib:pull" % PRIVATE


def test_anonymous_token_reads_public_namespace_only(secure, pushed):
    response = token(secure, ["repository:%s/app:pull,push" % PUBLIC, "repository:%s/lib:pull" % PRIVATE])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["expires_in"] == TOKEN_TTL
    # Granted: what was asked AND what the access model allows anonymous users (pull on the public one).
    assert claims(body["token"])["access"] == [{"type": "repository", "name": PUBLIC + "/app", "actions": ["pull"]}]
    assert get(secure, "/v2/", token=body["token"]).status_code == 200
    assert get(secure, "/v2/%s/app/manifests/v1" % PUBLIC, token=body["token"]).status_code == 200
    refused = get(secure, "/v2/%s/lib/manifests/v1" % PRIVATE, token=body["token"])
    assert refused.status_code == 401
    # Anonymous: told to authenticate (no insufficient_scope, which Docker reports as "denied").
    assert "error" not in challenge(refused)
    assert refused.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert get(secure, "/v2/%s/app/blobs/uploads/" % PUBLIC, token=body["token"], method="POST").status_code == 401


def test_user_token_is_scoped_to_what_was_asked_and_granted(secure, pushed):
    user = creds("alice")
    response = token(secure, ["repository:%s/lib:pull,push,delete" % PRIVATE,
                              "repository:%s/base:pull,push" % PLATFORM], auth=user)
    assert response.status_code == 200, response.text
    value = response.json()["token"]
    # alice may push to kcl but not delete there; she reads the platform but may not push to it.
    assert claims(value)["access"] == [
        {"type": "repository", "name": PRIVATE + "/lib", "actions": ["pull", "push"]},
        {"type": "repository", "name": PLATFORM + "/base", "actions": ["pull"]}]
    assert claims(value)["sub"] == "alice"
    assert get(secure, "/v2/%s/lib/manifests/v1" % PRIVATE, token=value).status_code == 200
    # A token for one repository does not open another one, not even in the same namespace.
    assert get(secure, "/v2/%s/other/manifests/v1" % PRIVATE, token=value).status_code == 401
    assert get(secure, "/v2/%s/app/manifests/v1" % PUBLIC, token=value).status_code == 401
    assert get(secure, "/v2/%s/lib/manifests/v1" % PRIVATE, token=value, method="DELETE").status_code == 401
    # Basic credentials still work for clients that send them on every request (checked once, then cached).
    assert get(secure, "/v2/%s/lib/manifests/v1" % PRIVATE, auth=user).status_code == 200


def test_catalog_scope_only_for_admins(secure):
    alice = token(secure, ["registry:catalog:*"], auth=creds("alice")).json()["token"]
    assert claims(alice)["access"] == []
    assert get(secure, "/v2/_catalog", token=alice).status_code == 401
    boss = token(secure, ["registry:catalog:*"], auth=creds("boss")).json()["token"]
    response = get(secure, "/v2/_catalog", token=boss)
    assert response.status_code == 200
    assert PRIVATE + "/lib" in response.json()["repositories"]


def first_layer(layout):
    """The digest of the first layer of the image tagged in an OCI layout."""
    def blob(digest):
        with open(os.path.join(layout, "blobs", *digest.split(":", 1)), "rb") as handle:
            return json.load(handle)
    with open(os.path.join(layout, "index.json"), "rb") as handle:
        manifest = json.load(handle)["manifests"][0]["digest"]
    return blob(manifest)["layers"][0]["digest"]


def test_front_authorizes_the_verified_user_never_a_header_of_the_client(secure, pushed):
    """What the verified user may do goes from the public server straight to the registry (issue 13);
    the rest still meets the internal server's 403. A client's own X-Oci-Front-User changes nothing."""
    spoof = {"X-Oci-Front-User": "boss", "Accept": MANIFEST}

    def ask(method, path, auth=None, headers=None):
        return requests.request(method, secure.url + path, headers=spoof if headers is None else headers, auth=auth,
                                verify=secure.ca, timeout=30)

    alice = creds("alice")
    refused = ask("POST", "/v2/%s/base/blobs/uploads/" % PLATFORM, alice)
    assert refused.status_code == 403 and refused.json()["errors"][0]["code"] == "DENIED"
    assert ask("GET", "/v2/_catalog", alice).status_code == 403
    assert ask("POST", "/v2/%s/app/blobs/uploads/" % PUBLIC).status_code == 401
    assert ask("GET", "/v2/%s/lib/manifests/v1" % PRIVATE).status_code == 401
    # Allowed: the registry itself answers (an upload session, its API version header).
    started = ask("POST", "/v2/%s/lib/blobs/uploads/" % PRIVATE, alice, headers={})
    assert started.status_code == 202 and started.headers.get("Docker-Upload-UUID"), started.headers
    assert started.headers["Docker-Distribution-Api-Version"] == "registry/2.0"
    # A cross-repository mount needs read on its source: the front refuses one from a repository outside
    # every namespace (admins only), and lets the registry mount one from the public namespace.
    layer = first_layer(pushed)
    path = "/v2/%s/lib/blobs/uploads/?mount=%s&from=" % (PRIVATE, layer)
    refused = ask("POST", path + "elsewhere/app", alice, headers={})
    assert refused.status_code == 403 and "source repository" in refused.json()["errors"][0]["message"]
    mounted = ask("POST", path + PUBLIC + "/app", alice, headers={})
    assert mounted.status_code == 201, mounted.text
    assert mounted.headers["Docker-Content-Digest"] == layer


def test_wrong_password_is_refused(secure):
    assert token(secure, ["repository:%s/app:pull" % PUBLIC], auth=("alice", "not-her-password")).status_code == 401
    assert get(secure, "/v2/", auth=("alice", "not-her-password")).status_code == 401
    assert get(secure, "/v2/", auth=("nobody", "whatever")).status_code == 401


def test_forged_and_altered_tokens_are_refused(secure, pushed):
    value = token(secure, ["repository:%s/lib:pull" % PRIVATE], auth=creds("alice")).json()["token"]
    header, payload, signature = value.split(".")
    body = claims(value)
    body["access"][0]["name"] = PLATFORM + "/base"
    body["access"][0]["actions"] = ["pull", "push"]
    altered = base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")
    assert get(secure, "/v2/%s/base/blobs/uploads/" % PLATFORM, token="%s.%s.%s" % (header, altered, signature),
               method="POST").status_code == 401
    none = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').decode().rstrip("=")
    assert get(secure, "/v2/%s/lib/manifests/v1" % PRIVATE, token="%s.%s." % (none, payload)).status_code == 401
    assert get(secure, "/v2/%s/lib/manifests/v1" % PRIVATE, token=value[:-2] + "AA").status_code == 401


def test_token_expires(secure, pushed):
    value = token(secure, ["repository:%s/lib:pull" % PRIVATE], auth=creds("alice")).json()["token"]
    assert get(secure, "/v2/%s/lib/manifests/v1" % PRIVATE, token=value).status_code == 200
    time.sleep(TOKEN_TTL + 2)
    assert get(secure, "/v2/%s/lib/manifests/v1" % PRIVATE, token=value).status_code == 401


def test_skopeo_follows_the_token_flow(secure, pushed, tmp_path):
    certs = ["--src-cert-dir", secure.cert_dir]
    anonymous = secure.skopeo("copy", *certs, "--src-no-creds", "docker://%s/%s/app:v1" % (secure.host, PUBLIC),
                              "oci:%s:v1" % (tmp_path / "public"))
    assert anonymous.returncode == 0, anonymous.stderr
    refused = secure.skopeo("copy", *certs, "--src-no-creds", "docker://%s/%s/lib:v1" % (secure.host, PRIVATE),
                            "oci:%s:v1" % (tmp_path / "private"))
    assert refused.returncode != 0
    assert "unauthorized" in refused.stderr.lower() or "authentication required" in refused.stderr.lower()
    wrong = secure.skopeo("copy", *certs, "--src-creds", "alice:wrong-password",
                          "docker://%s/%s/lib:v1" % (secure.host, PRIVATE), "oci:%s:v1" % (tmp_path / "wrong"))
    assert wrong.returncode != 0


# -- the Docker CLI through this machine's engine ------------------------------------------------
@pytest.fixture(scope="module")
def docker_cli(secure):
    """A Docker client config of its own, and the CA where the engine looks for this host:port."""
    certs = os.path.join("/etc/docker/certs.d", secure.host)
    os.makedirs(certs, exist_ok=True)
    shutil.copyfile(secure.ca, os.path.join(certs, "ca.crt"))
    config = tempfile.mkdtemp(prefix="oci-auth-docker-")
    tag = "oci-auth-test/tiny:%s" % uuid.uuid4().hex[:8]
    source = os.path.join(config, "rootfs.tar")
    with tarfile.open(source, "w") as archive:
        path = os.path.join(config, "hello.txt")
        with open(path, "w") as handle:
            handle.write(uuid.uuid4().hex)
        archive.add(path, arcname="hello.txt")
    with open(source, "rb") as handle:
        imported = subprocess.run(["docker", "import", "-", tag], stdin=handle, capture_output=True, text=True,
                                  check=False)
    assert imported.returncode == 0, imported.stderr
    created = [tag]

    def run(*args, stdin=None):
        return subprocess.run(["docker", "--config", config] + list(args), input=stdin, capture_output=True,
                              text=True, timeout=180, check=False)

    run.tag, run.created = tag, created
    try:
        yield run
    finally:
        for image in created:
            subprocess.run(["docker", "image", "rm", "-f", image], capture_output=True, check=False)
        shutil.rmtree(certs, ignore_errors=True)
        shutil.rmtree(config, ignore_errors=True)


def test_docker_login_push_pull_and_anonymous_pulls(secure, pushed, docker_cli):
    public = "%s/%s/docker:v1" % (secure.host, PUBLIC)
    private = "%s/%s/docker:v1" % (secure.host, PRIVATE)
    wrong = docker_cli("login", "--username", "alice", "--password-stdin", secure.host, stdin="wrong-password\n")
    assert wrong.returncode != 0
    user, password = creds("alice")
    login = docker_cli("login", "--username", user, "--password-stdin", secure.host, stdin=password + "\n")
    assert login.returncode == 0, login.stderr
    for target in (public, private):
        assert docker_cli("tag", docker_cli.tag, target).returncode == 0
        docker_cli.created.append(target)
        push = docker_cli("push", target)
        assert push.returncode == 0, push.stdout + push.stderr
    assert docker_cli("logout", secure.host).returncode == 0
    for target in (public, private):
        assert docker_cli("image", "rm", target).returncode == 0
    # Anonymous: the public namespace is pulled, the private one refused with "unauthorized".
    pulled = docker_cli("pull", public)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    refused = docker_cli("pull", private)
    assert refused.returncode != 0
    assert "unauthorized" in refused.stderr, refused.stderr
    # Logged in again, the private one is pulled.
    login = docker_cli("login", "--username", user, "--password-stdin", secure.host, stdin=password + "\n")
    assert login.returncode == 0, login.stderr
    pulled = docker_cli("pull", private)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert docker_cli("logout", secure.host).returncode == 0


# -- podman, from Debian (tests/bed/packages.sh) -------------------------------------------------
@pytest.fixture(scope="module")
def podman(secure, pushed):
    """podman with a store, an auth file and a certificate directory of its own (vfs: no overlay mounts in
    a container), holding the image of ``pushed`` to push from."""
    work = tempfile.mkdtemp(prefix="oci-auth-podman-")
    certs = os.path.join(work, "certs")
    os.makedirs(certs)
    shutil.copyfile(secure.ca, os.path.join(certs, "ca.crt"))
    base = ["podman", "--root", os.path.join(work, "root"), "--runroot", os.path.join(work, "run"),
            "--storage-driver", "vfs"]
    options = ["--authfile", os.path.join(work, "auth.json"), "--cert-dir", certs]

    def run(command, *args, stdin=None):
        given = options[:2] if command == "logout" else options  # logout takes no --cert-dir
        return subprocess.run(base + [command] + given + list(args), input=stdin, capture_output=True, text=True,
                              timeout=180, check=False)

    loaded = subprocess.run(base + ["pull", "oci:%s:v1" % pushed], capture_output=True, text=True, timeout=180,
                            check=False)
    assert loaded.returncode == 0, loaded.stderr
    run.image = loaded.stdout.strip().splitlines()[-1]
    try:
        yield run
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_podman_login_push_pull_and_anonymous_pulls(secure, podman):
    public = "%s/%s/podman:v1" % (secure.host, PUBLIC)
    private = "%s/%s/podman:v1" % (secure.host, PRIVATE)
    wrong = podman("login", "--username", "alice", "--password-stdin", secure.host, stdin="wrong-password\n")
    assert wrong.returncode != 0 and "invalid username/password" in wrong.stderr, wrong.stderr
    user, password = creds("alice")
    login = podman("login", "--username", user, "--password-stdin", secure.host, stdin=password + "\n")
    assert login.returncode == 0, login.stderr
    for target in (public, private):
        push = podman("push", podman.image, "docker://" + target)
        assert push.returncode == 0, push.stderr
    assert podman("logout", secure.host).returncode == 0
    # Anonymous: the public namespace is pulled, the private one refused with "unauthorized".
    pulled = podman("pull", "docker://" + public)
    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stdout.strip().splitlines()[-1] == podman.image  # the same image, by its ID
    refused = podman("pull", "docker://" + private)
    assert refused.returncode != 0 and "unauthorized" in refused.stderr.lower(), refused.stderr
    login = podman("login", "--username", user, "--password-stdin", secure.host, stdin=password + "\n")
    assert login.returncode == 0, login.stderr
    pulled = podman("pull", "docker://" + private)
    assert pulled.returncode == 0, pulled.stderr
    assert podman("logout", secure.host).returncode == 0


# -- changes by init.yml take effect when its run ends -----------------------------------------
def test_removed_user_and_changed_password_stop_working_when_init_ends(secure, pushed):
    bob, carol = creds("bob"), creds("carol")
    scope = ["repository:%s/app:pull" % PUBLIC]
    bob_token = token(secure, scope, auth=bob).json()["token"]
    carol_token = token(secure, scope, auth=carol).json()["token"]
    for auth, value in ((bob, bob_token), (carol, carol_token)):
        assert get(secure, "/v2/", auth=auth).status_code == 200  # the verified credential is cached now
        assert get(secure, "/v2/%s/app/manifests/v1" % PUBLIC, token=value).status_code == 200
    new_carol = (carol[0], carol[1] + "-New2")
    users = []
    for entry in secure.vars["oci_registry_users"]:
        if entry["name"] == "bob":
            entry = dict(entry, state="absent")
        elif entry["name"] == "carol":
            entry = dict(entry, password=new_carol[1])
        users.append(entry)
    run = secure.playbook("init.yml", oci_registry_users=users)
    assert run.rc == 0, run
    for secret in secure.secrets + [new_carol[1]]:
        assert secret not in run.output
    # At once, within the token's lifetime: the cached credentials and the tokens are refused.
    assert get(secure, "/v2/", auth=bob).status_code == 401
    assert get(secure, "/v2/%s/app/manifests/v1" % PUBLIC, token=bob_token).status_code == 401
    assert token(secure, scope, auth=bob).status_code == 401
    assert get(secure, "/v2/", auth=carol).status_code == 401
    assert get(secure, "/v2/%s/app/manifests/v1" % PUBLIC, token=carol_token).status_code == 401
    assert get(secure, "/v2/", auth=new_carol).status_code == 200
    assert token(secure, scope, auth=new_carol).status_code == 200
    secure.vars["oci_registry_users"] = users
    secure.extra_secrets = [new_carol[1]]


def test_token_key_stays_on_the_host_0600(secure):
    path = os.path.join(secure.front_dir, "token.key")
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert len(open(path).read().strip()) == 64
    # The service reads it through a read-only mount; nothing else has it. Its one writable mount is
    # the directory of its socket, which holds the socket only (0660: the front's workers by group).
    info = json.loads(subprocess.run(["docker", "inspect", secure.name + "-auth"], capture_output=True, text=True,
                                     check=True).stdout)[0]
    assert info["HostConfig"]["ReadonlyRootfs"] is True
    run_dir = os.path.join(secure.front_dir, "run")
    assert [m["Source"] for m in info["Mounts"] if m["RW"]] == [run_dir]
    assert os.listdir(run_dir) == ["auth.sock"]
    mode = os.stat(os.path.join(run_dir, "auth.sock")).st_mode
    assert stat.S_ISSOCK(mode) and oct(stat.S_IMODE(mode)) == "0o660"
    assert oct(os.stat(run_dir).st_mode & 0o777) == "0o750"
    assert info["HostConfig"]["NetworkMode"] == secure.name + "-internal"


def test_no_secret_in_container_logs(secure):
    secrets = secure.secrets + getattr(secure, "extra_secrets", [])
    assert len(TOKENS) >= 5  # the tokens above were collected
    for container in (secure.name + "-front", secure.name + "-auth", secure.name):
        logs = subprocess.run(["docker", "logs", container], capture_output=True, text=True, check=True)
        text = logs.stdout + logs.stderr
        assert text, container  # the logs were read: every container logged requests
        for secret in secrets + TOKENS:
            assert secret not in text, "a secret is in the logs of %s" % container
        assert "Authorization" not in text and "Bearer ey" not in text


def test_failed_logins_are_delayed_and_then_refused(secure):
    """Runs last: the lock-out applies to the test clients' address for a minute."""
    start = time.monotonic()
    first = token(secure, ["repository:%s/app:pull" % PUBLIC], auth=("alice", "guess-0"))
    assert first.status_code == 401
    assert time.monotonic() - start >= 1.0  # a full bcrypt check and the delay: not cheap to try in bulk
    statuses = [token(secure, ["repository:%s/app:pull" % PUBLIC], auth=("alice", "guess-%d" % i)).status_code
                for i in range(1, 12)]
    assert statuses[-1] == 429, statuses
    # Locked out: even the right password gets no token from this address for now.
    assert token(secure, ["repository:%s/app:pull" % PUBLIC], auth=creds("alice")).status_code == 429
