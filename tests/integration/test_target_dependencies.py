"""The preflight of the target's Python libraries (playbooks/tasks/target_dependencies.yml), on this machine.

The target's interpreter is a fresh virtualenv without site packages: only the standard library, as the
python3 of a bare host. With oci_registry_install_dependencies=false, deploy.yml must fail in preflight naming
every library the chosen setup needs, at once, and create nothing. (Installing them through apt is tested on
a bare Debian host over SSH by the Molecule scenario `ssh`; here nothing may be installed on this machine.)
"""

import os
import shutil
import subprocess
import sys
import uuid

import pytest

from .registry import ROOT, free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory):
    venv = tmp_path_factory.mktemp("bare-python") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    for lib in ("requests", "cryptography", "passlib", "botocore"):
        probe = subprocess.run([str(python), "-c", "import %s" % lib], capture_output=True, check=False)
        assert probe.returncode != 0, "%s can import %s: not a bare interpreter" % (python, lib)
    return str(python)


def _deploy(tmp_path, python, *extra):
    config_dir, data_dir = tmp_path / "etc", tmp_path / "data"
    proc = subprocess.run(
        [shutil.which("ansible-playbook"), "playbooks/deploy.yml",
         "-e", "ansible_python_interpreter=%s" % python,
         "-e", "oci_registry_install_dependencies=false",
         "-e", "oci_registry_port=%d" % free_port(),
         "-e", "oci_registry_container_name=deps-%s" % uuid.uuid4().hex[:8],
         "-e", "oci_registry_config_dir=%s" % config_dir, "-e", "oci_registry_data_dir=%s" % data_dir, *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
        env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CALLBACK_RESULT_FORMAT="json"))
    return proc, proc.stdout + proc.stderr, config_dir, data_dir


@pytest.mark.parametrize(
    "extra, missing, not_missing",
    [
        # Distribution with a generated certificate: all three.
        (["-e", "registry_type=distribution"], ["requests (", "cryptography (", "passlib with a bcrypt backend"], []),
        # No TLS: no certificate to generate, so cryptography is not asked for.
        (["-e", "registry_type=distribution", "-e", "oci_registry_tls=false"],
         ["requests (", "passlib with a bcrypt backend"], ["cryptography ("]),
        # Harbor keeps its users itself: no htpasswd, so passlib is not asked for.
        (["-e", "registry_type=harbor", "-e", "oci_registry_tls=false", "-e", "harbor_installer_sha256=" + "0" * 64],
         ["requests ("], ["passlib", "cryptography ("]),
        # S3 storage: botocore too, for the bucket probe (oci_storage).
        (["-e", "registry_type=distribution", "-e", "oci_registry_tls=false",
          "-e", '{"oci_registry_storage": {"type": "s3", "s3": {"bucket": "registry"}}, '
                '"oci_registry_redis": {"mode": "none"}}'],
         ["requests (", "passlib with a bcrypt backend", "botocore ("], ["cryptography ("]),
    ],
    ids=["distribution-tls", "distribution-plain", "harbor-plain", "distribution-s3"],
)
def test_opt_out_refuses_naming_every_missing_library_and_changes_nothing(tmp_path, bare_python, extra, missing,
                                                                          not_missing):
    proc, output, config_dir, data_dir = _deploy(tmp_path, bare_python, *extra)
    assert proc.returncode == 2, output[-3000:]
    assert "Fail when libraries are missing and are not to be installed" in output, output[-3000:]
    assert "localhost lacks what the modules need in Python %s" % bare_python in output, output[-3000:]
    for name in missing:
        assert name in output, output[-3000:]
    message = output[output.index("lacks what the modules need"):]
    message = message[:message.index("Nothing was changed.")]
    for name in not_missing:
        assert name not in message.split("Install")[0], message
    assert "oci_registry_install_dependencies is false" in message
    assert "TASK [Admin password" not in output
    assert not config_dir.exists() and not data_dir.exists()
