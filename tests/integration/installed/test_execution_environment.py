"""AWX/AAP: the execution environment ansible-builder makes of the installed collection.

ansible-builder reads meta/execution-environment.yml of every collection it installs into an execution
environment, with its introspect script, and installs the requirements.txt and bindep.txt it names.
These tests run that script (the copy `ansible-builder create` writes into the build context) on the
installed tarball, and `ansible-builder create` on a user's definition that installs the tarball.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid

import pytest
import yaml
from ansible_builder.ee_schema import validate_schema
from bindep.depends import Depends

from ..access.deployment import remove_distribution
from ..registry import free_port
from .installation import distribution_variables

pytestmark = pytest.mark.integration

EE_IMAGE = "oci-registry-test/ee"
EE_LABEL = "provisioning.oci_registry.bed.ee"
BASE_IMAGE = os.environ.get("OCI_TEST_BASE_IMAGE", "oci-registry-test/debian:bookworm")
BUILDER = os.path.join(os.path.dirname(sys.executable), "ansible-builder")
PYTHON_RUN_TIME = {"requests", "passlib", "bcrypt", "cryptography", "botocore"}
# pip in the image build reaches PyPI through this machine's egress proxy, which needs the CA this machine trusts.
CA_BUNDLE = os.environ.get("OCI_TEST_EE_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")


def sha256(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def definition(tarball, ca_bundle):
    """A user's version 3 definition that installs the built tarball, on the local Debian base image.

    What the Debian base needs (ansible-builder's defaults expect a RHEL-like image with dnf and ensurepip):
    apt-get as the package manager, pip from Debian's python3-pip (ensurepip is not in Debian's python3),
    package lists for install-from-bindep; the docker CLI (see prepend_final); and, for pip to reach PyPI through this machine's egress
    proxy, the CA bundle the machine trusts.
    """
    files = [{"src": tarball, "dest": "collections"}]
    prepend_base = []
    if ca_bundle:
        files.append({"src": os.path.basename(ca_bundle), "dest": "certs"})
        prepend_base += ["COPY _build/certs/%s /etc/ssl/certs/build-ca-bundle.crt" % os.path.basename(ca_bundle),
                         "ENV PIP_CERT=/etc/ssl/certs/build-ca-bundle.crt"]
    prepend_base.append("RUN apt-get update && apt-get install -y --no-install-recommends python3-pip"
                        " && apt-get clean")
    return {
        "version": 3,
        # Overridable for the test: the locally built Debian image (no registry is reachable here).
        "images": {"base_image": {"name": BASE_IMAGE}},
        "dependencies": {
            # The `ansible` bundle brings the collections galaxy.yml declares (Galaxy is not needed).
            "ansible_core": {"package_pip": "ansible>=12,<13"},
            "ansible_runner": {"package_pip": "ansible-runner"},
            "galaxy": "requirements.yml",
        },
        "additional_build_files": files,
        "additional_build_steps": {
            "prepend_base": prepend_base,
            # The classic builder leaves the galaxy and builder stages behind as untagged images: labelled,
            # so that the test removes them (and only them) afterwards.
            "prepend_galaxy": ["LABEL %s=1" % EE_LABEL],
            "prepend_builder": ["LABEL %s=1" % EE_LABEL],
            # The test runs the deploy with the EE as its own target (localhost, the engine's socket mounted),
            # and the roles run the docker CLI on the target (the access front's `nginx -t` check, Harbor's
            # `docker compose`): bindep.txt's `target` profile names docker.io for hosts, not for an EE.
            "prepend_final": ["RUN apt-get update",
                              "RUN apt-get install -y --no-install-recommends docker.io && apt-get clean"],
        },
        "options": {"package_manager_path": "/usr/bin/apt-get", "skip_pip_install": True},
    }


@pytest.fixture(scope="module")
def context(installed, tmp_path_factory):
    """`ansible-builder create` of a user's version 3 definition that installs the built tarball."""
    base = str(tmp_path_factory.mktemp("ee"))
    tarball = os.path.basename(installed.tarball)
    shutil.copy(installed.tarball, os.path.join(base, tarball))
    ca_bundle = CA_BUNDLE if os.path.isfile(CA_BUNDLE) else ""
    if ca_bundle:
        shutil.copy(ca_bundle, os.path.join(base, os.path.basename(ca_bundle)))
    with open(os.path.join(base, "requirements.yml"), "w") as handle:
        yaml.safe_dump({"collections": [{"name": "collections/" + tarball, "type": "file"}]}, handle)
    with open(os.path.join(base, "execution-environment.yml"), "w") as handle:
        yaml.safe_dump(definition(tarball, ca_bundle), handle)
    ctx = os.path.join(base, "context")
    proc = subprocess.run([BUILDER, "create", "-f", "execution-environment.yml", "-c", ctx,
                           "--output-filename", "Dockerfile"], cwd=base, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Complete! The build context can be found at: %s" % ctx in proc.stdout
    return {"dir": ctx, "tarball": tarball}


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


def context_hash(ctx):
    digest = hashlib.sha256()
    for folder, dirs, files in sorted(os.walk(ctx)):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            digest.update(os.path.relpath(path, ctx).encode() + b"\0" + sha256(path).encode())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="module")
def ee_image(context):
    """The execution environment built from the context with `docker build`: about 5 minutes here, most of it
    pip installing the `ansible` bundle. The tag is a hash of the context (tarball included); an image of that
    tag is reused. The image (about 800 MB) is removed afterwards unless OCI_TEST_KEEP_EE_IMAGE=1."""
    image = "%s:%s" % (EE_IMAGE, context_hash(context["dir"]))
    found = subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False)
    built = found.returncode != 0
    if built:
        # The classic builder (BuildKit needs the buildx plugin, absent here); host network for apt and PyPI.
        # --force-rm: a failed step leaves no stopped container behind.
        proc = subprocess.run(["docker", "build", "--force-rm", "--network", "host", "--label", "%s=1" % EE_LABEL,
                               "-t", image, context["dir"]], env=dict(os.environ, DOCKER_BUILDKIT="0"),
                              capture_output=True, text=True, timeout=1500, check=False)
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    yield image
    if built:
        stages = subprocess.run(["docker", "images", "-q", "--filter", "dangling=true", "--filter",
                                 "label=%s" % EE_LABEL], capture_output=True, text=True, check=False).stdout.split()
        if os.environ.get("OCI_TEST_KEEP_EE_IMAGE") != "1":
            stages.append(image)
        for leftover in stages:
            subprocess.run(["docker", "rmi", leftover], capture_output=True, check=False)


@pytest.fixture
def ee_deployment(tmp_path):
    name = "ee-%s" % uuid.uuid4().hex[:8]
    # Paths the EE container and the engine both see: the registry's bind mounts are created by the
    # playbook inside the EE and mounted by the engine from the host, so the directory has the same path in both.
    base = str(tmp_path)
    dep = {"name": name, "base": base, "port": free_port(), "password": "Ee-" + uuid.uuid4().hex[:16],
           "runner": name + "-runner"}
    yield dep
    subprocess.run(["docker", "rm", "-f", dep["runner"]], capture_output=True, check=False)
    remove_distribution(name)


def test_execution_environment_image_deploys_distribution(ee_image, ee_deployment):
    dep, base = ee_deployment, ee_deployment["base"]
    variables = distribution_variables(dep["name"], base, dep["port"], dep["password"])
    with open(os.path.join(base, "vars.yml"), "w") as handle:
        yaml.safe_dump(variables, handle)
    with open(os.path.join(base, "hosts.yml"), "w") as handle:
        yaml.safe_dump({"oci_registry": {"hosts": {"localhost": {
            "ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"}}}}, handle)
    health = json.dumps({"registry_url": "https://127.0.0.1:%d" % dep["port"], "registry_type": "distribution",
                         "username": "admin", "password": dep["password"],
                         "ca_path": os.path.join(base, "etc", "pki", "ca.crt"), "write_probe": True})
    script = ("ansible-playbook -i hosts.yml provisioning.oci_registry.deploy -e @vars.yml"
              " && echo '--- health' && ansible localhost -i hosts.yml -m provisioning.oci_registry.oci_health"
              " -a \"$HEALTH\"")
    # As AWX runs a job: the EE's own Ansible and collections, the engine's socket mounted, host network
    # (the registry is published on 127.0.0.1). root, because the playbook writes root-owned 0600 files.
    proc = subprocess.run(["docker", "run", "--rm", "--name", dep["runner"], "--user", "0", "--network", "host",
                           "-v", "/var/run/docker.sock:/var/run/docker.sock", "-v", "%s:%s" % (base, base),
                           "-w", base, "-e", "HEALTH=" + health, "-e", "ANSIBLE_NOCOLOR=1", ee_image,
                           "bash", "-c", script], capture_output=True, text=True, timeout=900, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    assert dep["password"] not in output.split("--- health")[0]
    # The collection the playbook ran is the one ansible-builder installed from the tarball.
    listed = subprocess.run(["docker", "run", "--rm", ee_image, "ansible-galaxy", "collection", "list",
                             "provisioning.oci_registry"], capture_output=True, text=True, check=True).stdout
    assert "# /usr/share/ansible/collections/ansible_collections\n" in listed, listed
    assert "provisioning.oci_registry 0.1.0" in listed, listed
    result = json.JSONDecoder().raw_decode(output.split("--- health", 1)[1].split("=>", 1)[1].strip())[0]
    assert result["healthy"] is True and result["failed_checks"] == [], result
