"""deploy.yml's TLS, metrics, webhook and rate-limit wiring: every role variable it sets exists in that
role's argument specs (a typo would silently do nothing), and the public defaults are the documented ones."""

import os

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load(*parts):
    with open(os.path.join(ROOT, *parts)) as handle:
        return yaml.safe_load(handle)


VARS = load("playbooks", "vars", "deploy.yml")


@pytest.mark.parametrize("registry_type", ["distribution", "zot", "harbor"])
def test_every_wired_variable_is_an_option_of_the_role(registry_type):
    options = load("roles", registry_type, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    wired = VARS["_oci_registry_feature_values"][registry_type]
    assert wired, registry_type
    assert sorted(set(wired) - set(options)) == []


@pytest.mark.parametrize("name, default", [
    ("_oci_registry_tls", "oci_registry_tls | default(true)"),
    ("_oci_registry_metrics", "oci_registry_metrics | default(true)"),
    ("_oci_registry_rate_limit", "oci_registry_rate_limit | default(0)"),
    ("_oci_registry_webhooks", "oci_registry_webhooks | default([])"),
    ("_oci_registry_metrics_bind_address", "oci_registry_metrics_bind_address | default('127.0.0.1')"),
])
def test_public_defaults(name, default):
    assert default in VARS[name]


def test_role_defaults_match_their_specs():
    defaults = load("roles", "distribution", "defaults", "main.yml")
    options = load("roles", "distribution", "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    for name in ("distribution_tls_enabled", "distribution_tls_certificate", "distribution_tls_private_key",
                 "distribution_tls_ca_path", "distribution_webhooks", "distribution_front_rate_limit",
                 "distribution_front_rate_limit_burst"):
        assert defaults[name] == options[name]["default"], name
