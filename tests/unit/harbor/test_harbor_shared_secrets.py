"""The harbor role's shared secrets for several Harbor hosts (issue 17, tasks/shared_secrets.yml), run by
ansible-playbook on two inventory hosts of the group oci_registry that are both this machine (local
connection, each with its own harbor_data_volume): the secret key and the token signing key pair are made
once on the first host and the second gets the same files, 0600 and owned by uid/gid 10000 as Harbor's
prepare leaves them (make/photon/prepare/utils/misc.py mark_file); a second run changes nothing and keeps
them; no secret appears in the output."""

import os
import re
import shutil
import stat
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
FILES = ("keys/secretkey", "core/private_key.pem", "registry/root.crt")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the files are chowned to uid 10000: needs root")


def _run(tmp_path):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"),
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    playbook_bin = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    if not os.path.exists(playbook_bin):
        playbook_bin = shutil.which("ansible-playbook")
    proc = subprocess.run([playbook_bin, "-i", str(tmp_path / "inventory.yml"), str(tmp_path / "play.yml")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    return output


def _read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def test_secrets_made_once_and_shared(tmp_path):
    hosts = {}
    for name in ("h1", "h2"):
        hosts[name] = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                       "harbor_data_volume": str(tmp_path / name / "data")}
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump({"all": {"children": {"oci_registry": {"hosts": hosts}}}}))
    (tmp_path / "play.yml").write_text(yaml.safe_dump([{
        "name": "Share Harbor's secrets", "hosts": "oci_registry", "gather_facts": False,
        "tasks": [{"name": "Shared secrets", "ansible.builtin.include_role": {
            "name": "provisioning.oci_registry.harbor", "tasks_from": "shared_secrets.yml"}}]}]))
    output = _run(tmp_path)
    first = {f: _read(tmp_path / "h1" / "data" / "secret" / f) for f in FILES}
    assert re.fullmatch(r"[A-Za-z0-9]{16}", first["keys/secretkey"])
    assert "PRIVATE KEY-----" in first["core/private_key.pem"]
    # the certificate is the key's: the registry checks core's tokens with it
    key_pub = subprocess.run(["openssl", "pkey", "-pubout"], input=first["core/private_key.pem"], text=True,
                             capture_output=True, check=True).stdout
    cert_pub = subprocess.run(["openssl", "x509", "-noout", "-pubkey"], input=first["registry/root.crt"], text=True,
                              capture_output=True, check=True).stdout
    assert key_pub == cert_pub
    for name in ("h1", "h2"):
        for f in FILES:
            path = tmp_path / name / "data" / "secret" / f
            info = os.stat(path)
            assert stat.S_IMODE(info.st_mode) == 0o600 and info.st_uid == 10000 and info.st_gid == 10000, (name, f)
            assert _read(path) == first[f], (name, f)
    assert first["keys/secretkey"] not in output and "PRIVATE KEY" not in output

    # A second run keeps them and changes nothing.
    output = _run(tmp_path)
    assert re.search(r"h1\s*:\s*ok=\d+\s+changed=0", output) and re.search(r"h2\s*:\s*ok=\d+\s+changed=0", output), \
        output[-3000:]
    for f in FILES:
        assert _read(tmp_path / "h2" / "data" / "secret" / f) == first[f]

    # A host that got different files (made by its own prepare before) is brought back to the first host's.
    (tmp_path / "h2" / "data" / "secret" / "keys" / "secretkey").write_text("0123456789abcdef")
    output = _run(tmp_path)
    assert re.search(r"h2\s*:\s*ok=\d+\s+changed=1", output), output[-3000:]
    assert _read(tmp_path / "h2" / "data" / "secret" / "keys" / "secretkey") == first["keys/secretkey"]
