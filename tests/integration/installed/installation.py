"""The built tarball installed into an empty collections path, and commands run against it only."""

import os
import subprocess
import sys

from ..access.deployment import DISTRIBUTION_IMAGE, FRONT_AUTH_IMAGE, NGINX_IMAGE
from ..registry import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
FQCN = "provisioning.oci_registry"
BIN = os.path.dirname(sys.executable)


def distribution_variables(name, base, port, password):
    """deploy.yml's variables for a Distribution named ``name`` on 127.0.0.1:``port`` from the test bed's images,
    with its directories under ``base``. TLS stays on (the default): playbooks/tasks/tls.yml and
    community.crypto run; the CA goes to directories of the test, not to this machine's /etc/*/certs.d."""
    return {
        "registry_type": "distribution",
        "oci_registry_image": DISTRIBUTION_IMAGE,
        "distribution_image_pull": False,
        "distribution_front_image": NGINX_IMAGE,
        "distribution_front_auth_image": FRONT_AUTH_IMAGE,
        "oci_registry_port": port,
        "oci_registry_metrics_port": free_port(),
        "oci_registry_bind_address": "127.0.0.1",
        "oci_registry_container_name": name,
        "oci_registry_config_dir": os.path.join(base, "etc"),
        "oci_registry_data_dir": os.path.join(base, "data"),
        "oci_registry_admin_password": password,
        "oci_registry_ca_docker_dir": os.path.join(base, "docker-certs.d"),
        "oci_registry_ca_containers_dir": os.path.join(base, "containers-certs.d"),
    }


def checkout_files(*tops):
    listed = subprocess.run(["git", "-C", ROOT, "ls-files", "--", *tops], capture_output=True, text=True,
                            check=True).stdout.split()
    return {path for path in listed if os.path.isfile(os.path.join(ROOT, path))}


class Installed:
    def __init__(self, base):
        self.base = base
        self.build_dir = os.path.join(base, "build")
        self.collections = os.path.join(base, "collections")
        self.path = os.path.join(self.collections, "ansible_collections", "provisioning", "oci_registry")
        self.cwd = os.path.join(base, "work")  # outside the checkout
        os.makedirs(self.cwd)
        self.config = os.path.join(base, "empty.cfg")
        with open(self.config, "w"):
            pass
        env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
        env.update(PATH=BIN + os.pathsep + env.get("PATH", ""), ANSIBLE_CONFIG=self.config,
                   ANSIBLE_COLLECTIONS_PATH=self.collections, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                   ANSIBLE_RETRY_FILES_ENABLED="false", PYTHONWARNINGS="ignore")
        self.env = env
        self.tarball = None
        self.install_output = ""

    def run(self, *command, timeout=300, env=None):
        proc = subprocess.run(list(command), cwd=self.cwd, env=dict(self.env, **(env or {})), capture_output=True,
                              text=True, timeout=timeout, check=False)
        return proc.returncode, proc.stdout + proc.stderr

    def ok(self, *command, **kwargs):
        rc, output = self.run(*command, **kwargs)
        assert rc == 0, "%s -> rc %d\n%s" % (" ".join(command), rc, output[-4000:])
        return output


def build_and_install(base):
    """Build the checkout's tarball and install it into an empty collections path under ``base``."""
    inst = Installed(base)
    inst.ok("ansible-galaxy", "collection", "build", ROOT, "--output-path", inst.build_dir)
    tarballs = [name for name in os.listdir(inst.build_dir) if name.endswith(".tar.gz")]
    assert len(tarballs) == 1, tarballs
    inst.tarball = os.path.join(inst.build_dir, tarballs[0])
    assert not os.path.exists(inst.collections)
    # A Galaxy server nobody listens on: any attempt to reach Galaxy fails the install.
    inst.install_output = inst.ok("ansible-galaxy", "collection", "install", inst.tarball, "-p", inst.collections,
                                  "--server", "http://127.0.0.1:%d/" % free_port())
    return inst
