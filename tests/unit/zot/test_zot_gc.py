"""oci_gc on zot: gc and retention settings written into config.json in place (checked with zot's rules,
reload vs restart reported), zot's own retention dry run switched on and off, storage read from zot's
metrics (zot_repo_storage_bytes, Prometheus text format), bad input refused before anything is written."""

import json
import os

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_generate as zgen
from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_reload as zreload
from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_schema as zschema
from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import AccessOptions
from ansible_collections.provisioning.oci_registry.plugins.module_utils._client import ConnectionOptions, RegistryClient
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import InvalidParameterError
from ansible_collections.provisioning.oci_registry.plugins.module_utils._gc import run_retention
from ansible_collections.provisioning.oci_registry.plugins.module_utils._htpasswd import FileWriteError
from ansible_collections.provisioning.oci_registry.plugins.module_utils._zot import ZotBackend

from ..fake_http import FakeServer
from ..module_runner import run_module_file

# What zot's /metrics serves with the metrics extension on (zot's monitoring package; the gauge is the size
# of the repository's directory); a float in exponent form as Prometheus' client writes large values.
METRICS = b"""# HELP zot_info Zot general information
# TYPE zot_info gauge
zot_info{binaryType="-apikey-lint-metrics-mgmt-scrub-search-sync-ui-userprefs",commit="v2.1.20",goVersion="go1.24",version="v2.1.20"} 0
# HELP zot_repo_storage_bytes Storage used per zot repo
# TYPE zot_repo_storage_bytes gauge
zot_repo_storage_bytes{repo="provisioning-test/app"} 3.375436e+06
zot_repo_storage_bytes{repo="provisioning-kcl/modules"} 1024
# HELP zot_scheduler_workers_total Total number of workers in the scheduler
# TYPE zot_scheduler_workers_total gauge
zot_scheduler_workers_total 8
"""


def metrics_server(status=200, payload=METRICS):
    def handler(request):
        if request.path == "/metrics":
            return status, {"Content-Type": "text/plain; version=0.0.4"}, payload if status == 200 else b""
        return 404, {}, b""
    return FakeServer(handler)


@pytest.fixture
def config_file(tmp_path, platform_options):
    config, _c, _w = zgen.generate(platform_options)
    path = tmp_path / "config.json"
    path.write_text(zgen.render(config))
    os.chmod(path, 0o640)
    return path


def zot_backend(url, config_path, validate_command=None, run_command=None):
    client = RegistryClient(ConnectionOptions(url, username="admin", password="pw", retries=0, timeout=5))
    return ZotBackend(client).configure_access(AccessOptions(
        config_path=str(config_path), mode=None, validate_command=validate_command, run_command=run_command))


def load(path):
    return json.loads(path.read_text())


NAMESPACES = [{"name": "provisioning-test", "retention": {"keep_tags": 3, "max_age_days": 7}},
              {"name": "provisioning-kcl", "retention": {"keep_tags": 10}}]


def test_settings_reload_in_place_then_nothing_to_do(config_file):
    inode = os.stat(config_file).st_ino
    text = config_file.read_text()
    with metrics_server() as server:
        zot = zot_backend(server.url, config_file)
        settings = dict(gc=True, gc_interval="6h", gc_delay="2h", dry_run=True)

        plan = run_retention(zot, NAMESPACES, check_mode=True, settings=settings)
        assert plan["changed"] and plan["zot"]["action"] == "reload"
        assert config_file.read_text() == text                          # check mode writes nothing
        assert plan["zot"]["before"]["gcInterval"] == "24h" and plan["zot"]["after"]["gcInterval"] == "6h"

        result = run_retention(zot, NAMESPACES, settings=settings)
        assert result["changed"] and not result["restart_required"]
        assert result["zot"]["action"] == "reload"
        assert "storage.gcInterval is re-read on reload" in result["zot"]["reasons"]
        assert result["zot"]["dry_run"] is True
        config = load(config_file)
        assert zschema.check(config)[0] == []                                 # zot's rules hold
        assert (config["storage"]["gcInterval"], config["storage"]["gcDelay"]) == ("6h", "2h")
        assert config["storage"]["retention"]["dryRun"] is True
        policies = dict((p["repositories"][0], p) for p in config["storage"]["retention"]["policies"])
        assert policies["provisioning-test"]["repositories"] == ["provisioning-test", "provisioning-test/**"]
        assert policies["provisioning-test"]["keepTags"] == [{"mostRecentlyPushedCount": 3, "pushedWithin": "168h"}]
        assert policies["provisioning-kcl"]["keepTags"] == [{"mostRecentlyPushedCount": 10}]
        assert os.stat(config_file).st_ino == inode                     # in place: zot watches the inode
        assert oct(os.stat(config_file).st_mode & 0o777) == "0o640"     # mode kept
        assert result["zot"]["storage"] == {"repositories": {"provisioning-test/app": 3375436,
                                                             "provisioning-kcl/modules": 1024},
                                            "total_bytes": 3376460}
        assert "dry run" in result["message"] and "3376460 bytes in 2 repositories" in result["message"]

        again = run_retention(zot, NAMESPACES, settings=settings)
        assert not again["changed"] and again["zot"]["action"] == "none"

        back = run_retention(zot, NAMESPACES, settings=dict(dry_run=False))
        assert back["changed"] and load(config_file)["storage"]["retention"]["dryRun"] is False
        assert load(config_file)["storage"]["gcInterval"] == "6h"          # unset options stay as they are


def test_unset_options_change_nothing(config_file):
    text = config_file.read_text()
    with metrics_server() as server:
        result = run_retention(zot_backend(server.url, config_file), [], settings={})
    assert not result["changed"] and result["zot"]["action"] == "none"
    assert config_file.read_text() == text
    assert result["bytes_freed"] is None and result["tags_deleted"] == []


def test_delete_untagged_follows_the_file_unless_given(config_file):
    with metrics_server() as server:
        zot = zot_backend(server.url, config_file)
        run_retention(zot, NAMESPACES[:1], settings={})
        policy = [p for p in load(config_file)["storage"]["retention"]["policies"]
                  if p["repositories"][0] == "provisioning-test"][0]
        assert policy["deleteUntagged"] is True                          # the role's zot_retention_delete_untagged
        result = run_retention(zot, NAMESPACES[:1], delete_untagged=False, settings={})
        assert result["changed"]
        policy = [p for p in load(config_file)["storage"]["retention"]["policies"]
                  if p["repositories"][0] == "provisioning-test"][0]
        assert policy["deleteUntagged"] is False


def test_retention_that_was_off_at_start_needs_a_restart(tmp_path, platform_options):
    options = dict(platform_options, namespaces=[dict(n, retention=None) for n in platform_options["namespaces"]])
    config, _c, _w = zgen.generate(options)
    path = tmp_path / "config.json"
    path.write_text(zgen.render(config))
    assert not zreload.retention_enabled(config)
    with metrics_server() as server:
        result = run_retention(zot_backend(server.url, path), NAMESPACES[:1], settings={})
    assert result["changed"] and result["restart_required"] and result["zot"]["action"] == "restart"
    assert any("only reloads retention that was on when it started" in r for r in result["zot"]["reasons"])
    assert "must be restarted" in result["message"]


@pytest.mark.parametrize("status, warning", [
    (404, "metrics extension is off"),
    (403, "zot refused its metrics to user 'admin' (HTTP 403)"),
])
def test_metrics_unavailable_is_a_warning(config_file, status, warning):
    with metrics_server(status=status) as server:
        result = run_retention(zot_backend(server.url, config_file), NAMESPACES, settings=dict(gc_interval="12h"))
    assert result["changed"] and result["zot"]["storage"] is None
    assert any(warning in w for w in result["warnings"])


@pytest.mark.parametrize("kwargs, message", [
    (dict(match="all"), "match=all: zot keeps a tag when any of its keepTags rules keeps it"),
    (dict(repositories=["provisioning-test/*"]), "repositories selects repositories on distribution only"),
    (dict(settings=dict(gc_delay="1 hour")), "gc_delay must be a Go duration such as 1h or 90m, got '1 hour'"),
    (dict(settings=dict(gc_interval="5d")), "gc_interval must be a Go duration"),
    (dict(namespaces=[{"name": "x", "retention": {"keep": 3}}]), "namespaces[0].retention has unknown keys keep"),
])
def test_bad_input_is_refused_before_anything_is_written(config_file, kwargs, message):
    text = config_file.read_text()
    namespaces = kwargs.pop("namespaces", NAMESPACES)
    with metrics_server() as server:
        with pytest.raises(InvalidParameterError) as caught:
            run_retention(zot_backend(server.url, config_file), namespaces, **kwargs)
    assert message in caught.value.msg
    assert config_file.read_text() == text
    assert not server.requests                                             # nothing asked of zot either


def test_a_config_the_validate_command_refuses_is_never_written(config_file):
    text = config_file.read_text()
    seen = []

    def run_command(command):
        seen.append(command)
        return 1, "", "zot verify: invalid config"

    with metrics_server() as server:
        zot = zot_backend(server.url, config_file, validate_command="zot verify %s", run_command=run_command)
        with pytest.raises(FileWriteError) as caught:
            run_retention(zot, NAMESPACES, settings=dict(gc_interval="6h"))
    assert "zot verify: invalid config" in caught.value.msg
    assert config_file.read_text() == text
    assert seen and seen[0].startswith("zot verify ") and seen[0].endswith(".candidate")


def module_params(url, config_path, **extra):
    return dict(registry_url=url, registry_type="zot", username="admin", password="s3cret-admin-pw", retries=0,
                config_path=str(config_path), namespaces=NAMESPACES, **extra)


def test_module_check_diff_then_apply(config_file, tmp_path):
    text = config_file.read_text()
    with metrics_server() as server:
        dry = run_module_file("oci_gc", module_params(server.url, config_file, gc_interval="6h", dry_run=True),
                              tmp_path, check=True, diff=True)
        assert dry["changed"] and not dry.get("failed"), dry
        assert dry["diff"]["before"]["gcInterval"] == "24h" and dry["diff"]["after"]["gcInterval"] == "6h"
        assert dry["diff"]["after"]["retention"]["dryRun"] is True
        assert config_file.read_text() == text

        real = run_module_file("oci_gc", module_params(server.url, config_file, gc_interval="6h", dry_run=True),
                               tmp_path)
        assert real["changed"] and not real["restart_required"] and "diff" not in real
        assert real["zot"]["storage"]["total_bytes"] == 3376460
        assert load(config_file)["storage"]["gcInterval"] == "6h"
        again = run_module_file("oci_gc", module_params(server.url, config_file, gc_interval="6h", dry_run=True),
                                tmp_path)
        assert not again["changed"]
    assert "s3cret-admin-pw" not in json.dumps([dry, real, again])


@pytest.mark.parametrize("params, message", [
    (dict(registry_type="zot", config_path=None), "registry_type is zot but all of the following are missing: config_path"),
    (dict(registry_type="distribution", gc_interval="6h"),
     "config_path, gc_interval: not settings of registry_type distribution: Distribution collects garbage offline"),
])
def test_module_argument_errors(config_file, tmp_path, params, message):
    merged = dict(module_params("http://127.0.0.1:9", config_file), **params)
    if merged["config_path"] is None:
        del merged["config_path"]
    result = run_module_file("oci_gc", merged, tmp_path)
    assert result.get("failed") and message in result["msg"], result
