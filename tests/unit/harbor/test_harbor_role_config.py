"""The harbor role's harbor.yml, rendered by the role's own template task (ansible-playbook on
localhost, tasks_from render.yml) for a matrix of inputs, checked against Harbor's installer
template harbor/harbor.yml.tmpl (tests/reference): same key structure, right types, no keys
Harbor does not know. Also: the role's defaults and meta/argument_specs.yml agree."""

import json
import os

import pytest
import yaml

from tests.harbor.installer_config import ALWAYS, check, known_tree, missing

from .render import render_cases

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLE = os.path.join(ROOT, "roles", "harbor")
BASE = {"harbor_hostname": "harbor.example.com", "harbor_admin_password": "Adm1n-Passw0rd",
        "harbor_database_password": "Db-Passw0rd"}
CASES = {
    "minimal": {},
    "https_metric_trivy": {
        "harbor_https_enabled": True, "harbor_https_port": 8443, "harbor_https_certificate": "/etc/harbor/tls/cert.pem",
        "harbor_https_private_key": "/etc/harbor/tls/key.pem", "harbor_https_strong_ssl_ciphers": True,
        "harbor_external_url": "https://registry.example.com:8433", "harbor_metric_enabled": True,
        "harbor_metric_port": 9091, "harbor_trivy_enabled": True, "harbor_trivy_skip_update": True,
        "harbor_trivy_offline_scan": True, "harbor_trivy_github_token": "ghp_example",
        "harbor_log_external_endpoint": {"protocol": "udp", "host": "syslog.example.com", "port": 514},
        "harbor_jobservice_max_job_workers": 4, "harbor_jobservice_job_loggers": ["DB"],
        "harbor_log_level": "debug", "harbor_cache_enabled": True,
    },
    "external_services_proxy": {
        "harbor_external_database": {"host": "pg.example.com", "port": 5433, "db_name": "harbor", "username": "harbor",
                                     "password": "Pg-Secret1", "ssl_mode": "verify-full", "max_open_conns": 50},
        "harbor_external_redis": {"host": "redis-1:26379,redis-2:26379", "password": "R3dis", "username": "harbor",
                                  "sentinel_master_set": "mymaster", "tls_enabled": True,
                                  "tls_root_ca": "/etc/harbor/redis-ca.pem", "trivy_db_index": 9},
        "harbor_proxy_http_proxy": "http://proxy.example.com:3128", "harbor_proxy_https_proxy": "http://proxy:3128",
        "harbor_proxy_no_proxy": "127.0.0.1,localhost,.internal", "harbor_proxy_components": ["core"],
        "harbor_database_conn_max_idle_time": "10m",
    },
    "quoting": {
        "harbor_admin_password": "Quo'te\"s: #Not-a-comment1", "harbor_database_password": "{{not jinja}} 42",
        "harbor_data_volume": "/srv/harbor data", "harbor_log_rotate_size": "1G",
    },
    "older_release": {"harbor_version": "v2.14.1"},
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    # the literal {{not jinja}} must reach the file unrendered: mark it unsafe
    _proc, files = render_cases(CASES, BASE, tmp_path_factory.mktemp("harbor-yml"),
                                "Render harbor.yml with the harbor role",
                                transform=lambda text: text.replace("'{{not jinja}} 42'", "!unsafe '{{not jinja}} 42'"))
    return dict((name, yaml.safe_load(path.read_text())) for name, path in files.items())


@pytest.fixture(scope="module")
def harbor_template():
    return known_tree()


@pytest.mark.parametrize("case", sorted(CASES))
def test_only_keys_harbor_knows_with_the_right_types(rendered, harbor_template, case):
    tree, _active = harbor_template
    assert check(rendered[case], tree) == []


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_structure_as_the_template(rendered, harbor_template, case):
    _tree, active = harbor_template
    config = rendered[case]
    assert missing(active, config) == []
    assert all(key in config for key in ALWAYS)


def test_version_marker_follows_the_release(rendered, harbor_template):
    _tree, active = harbor_template
    assert rendered["minimal"]["_version"] == active["_version"] == "2.15.0"
    assert rendered["older_release"]["_version"] == "2.14.0"


def test_optional_blocks(rendered):
    minimal, full, external = rendered["minimal"], rendered["https_metric_trivy"], rendered["external_services_proxy"]
    assert "https" not in minimal and "metric" not in minimal and "external_url" not in minimal
    assert full["https"] == {"port": 8443, "certificate": "/etc/harbor/tls/cert.pem",
                             "private_key": "/etc/harbor/tls/key.pem", "strong_ssl_ciphers": True}
    assert full["metric"] == {"enabled": True, "port": 9091, "path": "/metrics"}
    assert full["log"]["external_endpoint"] == {"protocol": "udp", "host": "syslog.example.com", "port": 514}
    assert full["trivy"]["github_token"] == "ghp_example" and full["jobservice"]["job_loggers"] == ["DB"]
    assert "database" not in external
    assert external["external_database"]["harbor"]["port"] == 5433
    assert external["external_redis"]["tlsOptions"] == {"enable": True, "rootCA": "/etc/harbor/redis-ca.pem"}
    assert external["external_redis"]["trivy_db_index"] == 9 and external["external_redis"]["registry_db_index"] == 1
    assert external["proxy"]["components"] == ["core"]


def test_values_survive_quoting(rendered):
    config = rendered["quoting"]
    assert config["harbor_admin_password"] == "Quo'te\"s: #Not-a-comment1"
    assert config["database"]["password"] == "{{not jinja}} 42"
    assert config["data_volume"] == "/srv/harbor data"


def test_checker_catches_unknown_keys_and_wrong_types(harbor_template):
    tree, _active = harbor_template
    bad = {"hostname": "h", "http": {"port": "80"}, "jobservice": {"max_job_workers": 2, "workers": 3},
           "metric": {"enabled": "yes"}, "external_redis": {"tlsOptions": {"enable": True, "rootCa": "x"}},
           "description": "x"}
    problems = check(bad, tree)
    assert len(problems) == 5, problems
    assert any("http.port: expected an integer" in p for p in problems)
    assert any("jobservice.workers" in p for p in problems)
    assert any("tlsOptions.rootCa" in p for p in problems)
    assert missing({"trivy": {"db_repository": "x"}}, {"trivy": {}}) != []


def _spec_default(option):
    value = option.get("default")
    return value.strip() if isinstance(value, str) else value


def test_defaults_and_argument_specs_agree():
    with open(os.path.join(ROLE, "defaults", "main.yml"), encoding="utf-8") as handle:
        defaults = yaml.safe_load(handle)
    with open(os.path.join(ROLE, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        options = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    assert sorted(set(defaults) - set(options)) == [], "defaults without a spec"
    for name, option in options.items():
        if "default" in option:
            assert name in defaults, "%s has a spec default but none in defaults/main.yml" % name
            assert json.dumps(_spec_default(option)) == json.dumps(defaults[name]), name
        else:
            assert name not in defaults, "%s is required/optional without default but defaults/main.yml sets it" % name
