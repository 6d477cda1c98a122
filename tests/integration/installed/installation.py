"""The built tarball installed into an empty collections path, and commands run against it only."""

import os
import subprocess
import sys

from ..registry import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
FQCN = "provisioning.oci_registry"
BIN = os.path.dirname(sys.executable)


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
