"""AWX/AAP: the execution environment ansible-builder makes of the installed collection.

ansible-builder reads meta/execution-environment.yml of every collection it installs into an execution
environment, with its introspect script, and installs the requirements.txt and bindep.txt it names.
These tests run that script (the copy `ansible-builder create` writes into the build context) on the
installed tarball, and `ansible-builder create` on a user's definition that installs the tarball.
"""

import hashlib
import os
import shutil
import subprocess
import sys

import pytest
import yaml
from ansible_builder.ee_schema import validate_schema
from bindep.depends import Depends

pytestmark = pytest.mark.integration

BASE_IMAGE = os.environ.get("OCI_TEST_BASE_IMAGE", "oci-registry-test/debian:bookworm")
BUILDER = os.path.join(os.path.dirname(sys.executable), "ansible-builder")
PYTHON_RUN_TIME = {"requests", "passlib", "bcrypt", "cryptography"}


def sha256(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


@pytest.fixture(scope="module")
def context(installed, tmp_path_factory):
    """`ansible-builder create` of a user's version 3 definition that installs the built tarball."""
    base = str(tmp_path_factory.mktemp("ee"))
    tarball = os.path.basename(installed.tarball)
    shutil.copy(installed.tarball, os.path.join(base, tarball))
    with open(os.path.join(base, "requirements.yml"), "w") as handle:
        yaml.safe_dump({"collections": [{"name": "collections/" + tarball, "type": "file"}]}, handle)
    definition = {
        "version": 3,
        # Overridable for the test: the locally built Debian image (no registry is reachable here).
        "images": {"base_image": {"name": BASE_IMAGE}},
        "dependencies": {
            # The `ansible` bundle brings the collections galaxy.yml declares (Galaxy is not needed).
            "ansible_core": {"package_pip": "ansible>=12,<13"},
            "ansible_runner": {"package_pip": "ansible-runner"},
            "galaxy": "requirements.yml",
        },
        "additional_build_files": [{"src": tarball, "dest": "collections"}],
        "options": {"package_manager_path": "/usr/bin/apt-get"},
    }
    with open(os.path.join(base, "execution-environment.yml"), "w") as handle:
        yaml.safe_dump(definition, handle)
    ctx = os.path.join(base, "context")
    proc = subprocess.run([BUILDER, "create", "-f", "execution-environment.yml", "-c", ctx,
                           "--output-filename", "Dockerfile"], cwd=base, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Complete! The build context can be found at: %s" % ctx in proc.stdout
    return {"dir": ctx, "tarball": tarball, "definition": definition}


def test_the_collection_definition_is_ansible_builder_version_3(installed):
    with open(os.path.join(installed.path, "meta", "execution-environment.yml")) as handle:
        raw = yaml.safe_load(handle)
    validate_schema(raw)  # raises on anything version 3 does not allow
    assert raw["version"] == 3
    assert raw["dependencies"] == {"python": "requirements.txt", "system": "bindep.txt"}
    for name in raw["dependencies"].values():
        assert os.path.isfile(os.path.join(installed.path, name)), "%s is not in the installed collection" % name


def test_build_context_holds_the_containerfile_the_scripts_and_the_collection(installed, context):
    ctx = context["dir"]
    with open(os.path.join(ctx, "Dockerfile")) as handle:
        dockerfile = handle.read()
    assert 'ARG EE_BASE_IMAGE="%s"' % BASE_IMAGE in dockerfile
    assert "FROM $EE_BASE_IMAGE AS base" in dockerfile
    assert 'ARG ANSIBLE_INSTALL_REFS="ansible>=12,<13 ansible-runner"' in dockerfile
    assert 'ARG PKGMGR="/usr/bin/apt-get"' in dockerfile
    assert "ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml" in dockerfile
    # The collection's requirements are found by introspection at build time, then installed.
    assert "introspect.py introspect --write-bindep=/tmp/src/bindep.txt --write-pip=/tmp/src/requirements.txt" \
        in dockerfile
    assert "RUN /output/scripts/install-from-bindep" in dockerfile
    build = os.path.join(ctx, "_build")
    with open(os.path.join(build, "requirements.yml")) as handle:
        assert yaml.safe_load(handle) == {"collections": [{"name": "collections/" + context["tarball"],
                                                           "type": "file"}]}
    assert sha256(os.path.join(build, "collections", context["tarball"])) == sha256(installed.tarball)
    for script in ("introspect.py", "assemble", "install-from-bindep", "check_ansible", "check_galaxy"):
        assert os.path.isfile(os.path.join(build, "scripts", script)), script


def test_introspection_in_the_context_finds_the_collection_requirements(installed, context, tmp_path):
    """The context's own introspect.py, on the installed tarball, as the builder stage runs it."""
    pip_file, bindep_file = tmp_path / "requirements.txt", tmp_path / "bindep.txt"
    proc = subprocess.run([sys.executable, os.path.join(context["dir"], "_build", "scripts", "introspect.py"),
                           "introspect", installed.collections, "--write-pip", str(pip_file),
                           "--write-bindep", str(bindep_file)], capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pip_lines = [line for line in pip_file.read_text().splitlines() if line.strip()]
    assert all(line.endswith("# from collection provisioning.oci_registry") for line in pip_lines), pip_lines
    names = {line.split(">=")[0].split("<")[0].split("=")[0].strip() for line in pip_lines}
    # ansible and ansible-core are the execution environment's own: ansible-builder leaves them out.
    assert names == PYTHON_RUN_TIME, pip_lines

    text = bindep_file.read_text()
    assert "# from collection provisioning.oci_registry" in text
    depends = Depends(text)
    debian = ["platform:dpkg", "platform:debian"]
    installed_in_ee = {rule[0] for rule in depends.active_rules(debian + ["default"])}
    for_hosts = {rule[0] for rule in depends.active_rules(debian + ["target"])}
    rpm_ee = {rule[0] for rule in depends.active_rules(["platform:rpm", "default"])}
    # The execution environment gets the controller's packages, not the managed hosts' profile.
    assert installed_in_ee == {"openssh-client"}
    assert rpm_ee == {"openssh-clients"}
    assert {"python3-requests", "python3-passlib", "python3-bcrypt", "python3-cryptography",
            "docker.io"} <= for_hosts
