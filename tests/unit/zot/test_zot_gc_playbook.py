"""playbooks/gc.yml with registry_type=zot, on this machine: --check --diff shows the settings that would
change and writes nothing; the real run writes config.json in place and reports zot's storage; a second run
changes nothing. zot itself cannot run here (no image): its /metrics is served from zot's exposition format
(see test_zot_gc.py), config.json is the zot role's own rendering."""

import json
import os
import shutil
import subprocess

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_generate as zgen

from .test_zot_gc import metrics_server

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def gc_playbook(url, config_dir, *extra):
    proc = subprocess.run(
        [shutil.which("ansible-playbook"), "playbooks/gc.yml", "-e", "registry_type=zot",
         "-e", "oci_registry_url=%s" % url, "-e", "oci_registry_config_dir=%s" % config_dir,
         "-e", "oci_registry_admin_password=zot-admin-secret-1", "-e", "gc_dry_run=true",
         "-e", "zot_gc_interval=6h", "-e", "oci_registry_tls=false"] + list(extra),
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture
def config_dir(tmp_path, platform_options):
    config, _c, _w = zgen.generate(platform_options)
    (tmp_path / "config.json").write_text(zgen.render(config))
    os.chmod(tmp_path / "config.json", 0o640)
    return tmp_path


def test_gc_playbook_sets_zot_settings_in_place(config_dir):
    path = config_dir / "config.json"
    text, inode = path.read_text(), os.stat(path).st_ino
    with metrics_server() as server:
        rc, output = gc_playbook(server.url, config_dir, "--check", "--diff")
        assert rc == 0, output[-3000:]
        assert path.read_text() == text
        assert "-    gcInterval: 24h" in output and "+    gcInterval: 6h" in output
        assert "-        dryRun: false" in output and "+        dryRun: true" in output
        assert "would change config.json in place" in output

        rc, output = gc_playbook(server.url, config_dir)
        assert rc == 0, output[-3000:]
        config = json.loads(path.read_text())
        assert config["storage"]["gcInterval"] == "6h" and config["storage"]["retention"]["dryRun"] is True
        assert os.stat(path).st_ino == inode
        assert "zot storage (its metrics): 3376460 bytes in 2 repositories" in output
        assert "retention is a dry run" in output
        assert "changed=1" in output and "failed=0" in output

        rc, output = gc_playbook(server.url, config_dir)
        assert rc == 0 and "changed=0" in output, output[-3000:]
    assert "zot-admin-secret-1" not in output
