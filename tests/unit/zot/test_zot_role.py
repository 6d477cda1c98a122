"""The zot role's interface agrees with itself and with the config generator."""

import os
import re

import yaml

from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_generate as zgen

from ._data import ROOT

ROLE = os.path.join(ROOT, "roles", "zot")


def _load(*parts):
    with open(os.path.join(ROLE, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


# Optional inputs without a default of their own: they fall back to the collection's public
# variables (vars/main.yml), which an argument spec default cannot express.
FALLBACK = {"zot_users", "zot_namespaces"}


def test_every_default_is_declared_with_the_same_value():
    defaults = _load("defaults", "main.yml")
    options = _load("meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert set(defaults) == {name for name, spec in options.items() if not spec.get("required")} - FALLBACK
    for name, value in defaults.items():
        assert options[name].get("default") == value, name
        assert "{{" not in str(value) or not isinstance(value, str), name   # specs defaults are not templated
    for name, spec in options.items():
        assert spec.get("description"), name
        assert "{{" not in str(spec.get("default", "")), name
    for name in FALLBACK:
        assert "default" not in options[name] and not options[name].get("required")
        assert name in str(_load("vars", "main.yml")["_" + name])


def test_every_generator_option_is_fed_by_the_role():
    role_options = _load("vars", "main.yml")["_zot_options"]
    assert set(role_options) == set(zgen.OPTION_NAMES)
    variables = set(_load("defaults", "main.yml")) | {"zot_admin_password"} | FALLBACK
    for option, template in role_options.items():
        for name in re.findall(r"\bzot_[a-z_]+", str(template)):
            assert name in variables, "%s uses %s, which is not a role variable" % (option, name)


# Generator options the role fixes itself (container-side paths and listener): errors about them
# can only come from zot_config_overrides, which the messages then name.
FIXED_BY_ROLE = {"zot_root_directory", "zot_http_address", "zot_http_port", "zot_htpasswd_path",
                 "zot_sync_credentials_file", "zot_log_output"}


def test_error_messages_name_real_variables():
    variables = set(_load("defaults", "main.yml")) | {"zot_config_overrides"} | FALLBACK
    for name in zgen.VARIABLES.values():
        name = name.split(" ")[0]
        assert name in variables or name in FIXED_BY_ROLE, name
    role_options = _load("vars", "main.yml")["_zot_options"]
    for option in FIXED_BY_ROLE:
        uses = re.findall(r"\bzot_[a-z_]+", str(role_options[option[len("zot_"):]]))
        # zot_bind_address / zot_port: a scale-out member listens on the host's network (issue 17)
        assert uses in ([], ["zot_sync_enabled"], ["zot_bind_address"], ["zot_port"]), (option, uses)
