"""Shared data for the zot tests: upstream reference files and the platform's access model."""

import json
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
if COLLECTIONS not in sys.path:  # tests/conftest.py does this too; harmless when it has
    sys.path.insert(0, COLLECTIONS)

from ..access.conftest import run_module  # noqa: E402,F401 (a fixture, for the tests here)  # pylint: disable=unused-import
from ._data import PLATFORM_NAMESPACES, PLATFORM_USERS  # noqa: E402


@pytest.fixture
def platform_options():
    """The role's defaults for an authenticated zot with the platform's four namespaces."""
    return {
        "dist_spec_version": "1.1.1",
        "root_directory": "/var/lib/registry",
        "dedupe": True,
        "gc": True,
        "gc_delay": "1h",
        "gc_interval": "24h",
        "retention_enabled": True,
        "retention_dry_run": False,
        "retention_delay": "24h",
        "retention_delete_untagged": True,
        "retention_delete_referrers": False,
        "http_address": "0.0.0.0",
        "http_port": 5000,
        "realm": "zot",
        "http_compat": ["docker2s2"],
        "htpasswd_path": "/etc/zot/htpasswd",
        "access_control": True,
        "users": [dict(u) for u in PLATFORM_USERS],
        "namespaces": json.loads(json.dumps(PLATFORM_NAMESPACES)),
        "log_level": "info",
        "search_enabled": True,
        "cve_enabled": False,
        "ui_enabled": True,
        "metrics_enabled": True,
        "metrics_path": "/metrics",
    }


@pytest.fixture
def files(tmp_path, platform_options):
    """A config.json the generator wrote for the platform's options with one admin, and an empty htpasswd."""
    from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_generate as zgen
    options = dict(platform_options, users=[{"name": "admin", "password": "x", "admin": True}])
    config, _c, _w = zgen.generate(options)
    config_path = tmp_path / "config.json"
    config_path.write_text(zgen.render(config))
    htpasswd_path = tmp_path / "htpasswd"
    htpasswd_path.write_text("")
    os.chmod(config_path, 0o640)
    os.chmod(htpasswd_path, 0o640)
    return config_path, htpasswd_path
