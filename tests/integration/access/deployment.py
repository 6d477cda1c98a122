"""A Distribution registry with its access front, deployed by the collection's playbooks on
127.0.0.1 (a free port), and the real clients the acceptance uses (skopeo, curl)."""

import os
import re
import shutil
import subprocess
import tempfile
import uuid

import yaml

from ..oci_layout import Layout
from ..registry import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DISTRIBUTION_IMAGE = os.environ.get("OCI_TEST_DISTRIBUTION_IMAGE", "oci-registry-test/distribution:2.8")
NGINX_IMAGE = os.environ.get("OCI_TEST_NGINX_IMAGE", "oci-registry-test/nginx:bookworm")
FRONT_AUTH_IMAGE = os.environ.get("OCI_TEST_FRONT_AUTH_IMAGE", "oci-registry-test/front-auth:bookworm")
ACCEPT = ", ".join((
    "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json"))
RECAP = re.compile(r"^\S+\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


NETWORK_SUFFIXES = ("-internal", "-front", "-debug", "-mirrors")


def remove_distribution(name):
    """The containers and networks the distribution role creates for a deployment named ``name``."""
    for container in (name + "-front", name + "-auth", name):
        subprocess.run(["docker", "rm", "-f", container], capture_output=True, check=False)
    # Every network roles/distribution can create (vars/front.yml, vars/main.yml): a network left behind
    # holds one of the engine's ~30 default address pools, and the run's later deployments then fail.
    for network in NETWORK_SUFFIXES:
        subprocess.run(["docker", "network", "rm", name + network], capture_output=True, check=False)
    left = subprocess.run(["docker", "network", "ls", "--format", "{{.Name}}"], capture_output=True, text=True,
                          check=True).stdout.split()
    left = [network for network in left if network in [name + suffix for suffix in NETWORK_SUFFIXES]]
    assert not left, "networks of %s left behind: %s" % (name, left)


class PlaybookRun:
    def __init__(self, process):
        self.rc = process.returncode
        self.output = process.stdout + process.stderr
        match = RECAP.search(self.output)
        self.changed = int(match.group(2)) if match else None
        self.failed = int(match.group(4)) if match else None

    def __repr__(self):
        return "PlaybookRun(rc=%s, changed=%s)\n%s" % (self.rc, self.changed, self.output[-6000:])


class Deployment:
    """Deploys with playbooks/deploy.yml + playbooks/init.yml (registry_type=distribution)."""

    def __init__(self, users, namespaces=None):
        self.dir = tempfile.mkdtemp(prefix="oci-access-")
        self.name = "oci-acc-" + uuid.uuid4().hex[:8]
        self.port = free_port()
        self.host = "127.0.0.1:%d" % self.port
        self.url = "http://" + self.host
        self.admin = ("admin", "Adm1n-" + uuid.uuid4().hex[:12])
        self.config_dir = os.path.join(self.dir, "etc")
        self.vars = {
            "registry_type": "distribution",
            "oci_registry_image": DISTRIBUTION_IMAGE,
            "distribution_image_pull": False,
            "distribution_front_image": NGINX_IMAGE,
            "distribution_front_auth_image": FRONT_AUTH_IMAGE,
            "oci_registry_port": self.port,
            "oci_registry_bind_address": "127.0.0.1",
            "oci_registry_data_dir": os.path.join(self.dir, "data"),
            "oci_registry_config_dir": self.config_dir,
            "oci_registry_container_name": self.name,
            "oci_registry_admin_user": self.admin[0],
            "oci_registry_admin_password": self.admin[1],
            "oci_registry_users": users,
            # These tests are about access rules over plain HTTP; TLS is tested in tests/integration/tls_ops.
            "oci_registry_tls": False,
            "oci_registry_metrics": False,
        }
        if namespaces is not None:
            self.vars["oci_registry_namespaces"] = namespaces
        # skopeo must not find credentials of this machine: an empty auth file of its own.
        self.auth_file = os.path.join(self.dir, "auth.json")
        with open(self.auth_file, "w") as handle:
            handle.write("{}")
        self.env = dict(os.environ, REGISTRY_AUTH_FILE=self.auth_file,
                        ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                        ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"),
                        ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")

    @property
    def htpasswd(self):
        return os.path.join(self.config_dir, "htpasswd")

    @property
    def front_dir(self):
        return os.path.join(self.config_dir, "front")

    def playbook(self, name, *args, **overrides):
        variables = dict(self.vars, **overrides)
        path = os.path.join(self.dir, "vars-%s.yml" % uuid.uuid4().hex[:6])
        with open(path, "w") as handle:
            yaml.safe_dump(variables, handle)
        command = [shutil.which("ansible-playbook") or "ansible-playbook",
                   os.path.join(ROOT, "playbooks", name), "-e", "@" + path] + list(args)
        process = subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=600,
                                 check=False)
        return PlaybookRun(process)

    def remove(self):
        remove_distribution(self.name)
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- real clients -----------------------------------------------------------------------
    def curl(self, method, path, user=None):
        """HTTP status of one request through the front (curl)."""
        command = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20"]
        command += ["-I"] if method == "HEAD" else ["-X", method]
        # Distribution 2.8 answers 404 for an OCI manifest whose media type the request does not accept.
        command += ["-H", "Accept: " + ACCEPT]
        if user:
            command += ["-u", "%s:%s" % user]
        command.append(self.url + path)
        return int(subprocess.run(command, capture_output=True, text=True, check=True).stdout)

    def skopeo(self, *args):
        command = ["skopeo", "--command-timeout", "60s"] + list(args)
        return subprocess.run(command, capture_output=True, text=True, env=self.env, timeout=120, check=False)

    def push(self, layout, tag, repository, user=None):
        creds = ["--dest-creds", "%s:%s" % user] if user else ["--dest-no-creds"]
        return self.skopeo("copy", "--preserve-digests", "--dest-tls-verify=false", *creds,
                           "oci:%s:%s" % (layout, tag), "docker://%s/%s:%s" % (self.host, repository, tag))

    def pull(self, repository, tag, target, user=None):
        creds = ["--src-creds", "%s:%s" % user] if user else ["--src-no-creds"]
        return self.skopeo("copy", "--preserve-digests", "--src-tls-verify=false", *creds,
                           "docker://%s/%s:%s" % (self.host, repository, tag), "oci:%s:%s" % (target, tag))

    def delete(self, repository, tag, user=None):
        creds = ["--creds", "%s:%s" % user] if user else ["--no-creds"]
        return self.skopeo("delete", "--tls-verify=false", *creds, "docker://%s/%s:%s" % (self.host, repository, tag))


def make_layout(directory, tag="v1", text=None):
    """An OCI layout with one small image, for skopeo to push."""
    layout = Layout(directory)
    content = (text or uuid.uuid4().hex).encode()
    layout.tag(layout.image({"hello.txt": content}), tag)
    return directory


class SecureDeployment(Deployment):
    """The default secure Distribution: TLS and the access front with its authentication service
    (``front_auth=False``: nginx's auth_basic, as the front was before the service)."""

    def __init__(self, users, front_auth=True, token_ttl=None):
        super().__init__(users)
        self.vars["oci_registry_tls"] = True
        self.vars["distribution_front_auth"] = front_auth
        if token_ttl is not None:
            self.vars["distribution_front_token_ttl"] = token_ttl
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
