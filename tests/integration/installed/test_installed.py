"""The built collection, installed the way its users install it, is what these tests run.

One fixture (conftest.py, installation.py) builds the tarball (`ansible-galaxy collection build`) and installs it with
`ansible-galaxy collection install` into an empty collections path, with a Galaxy server that refuses
every connection (so the install proves it needs no Galaxy when the dependencies are present). Every
command then runs from a directory outside the checkout, with ANSIBLE_CONFIG pointing at an empty file
and ANSIBLE_COLLECTIONS_PATH at that path only: nothing of the checkout (ansible.cfg, roles_path,
inventory/, the .build/collections link) is seen.
"""

import json
import os
import shutil
import sys
import tarfile
import textwrap
import uuid

import pytest
import yaml

from ..access.deployment import RECAP, remove_distribution
from ..registry import free_port
from .installation import FQCN, ROOT, checkout_files, distribution_variables

pytestmark = pytest.mark.integration


# What a user of the installed collection needs, at the top of the tarball (docs: the guides).
SHIPPED = {"FILES.json", "MANIFEST.json", "LICENSE", "README.md", "bindep.txt", "requirements.txt",
           "changelogs", "docs", "meta", "playbooks", "plugins", "roles"}
OPTIONAL = {"CHANGELOG.rst"}
# The checkout's own tooling, which must stay out.
NOT_SHIPPED = {"tests", "molecule", ".config", ".ci", ".git", ".gitignore", ".ansible-lint", ".build", ".venv",
               "benchmarks", "Makefile", "ansible.cfg", "pytest.ini", "inventory", "requirements-test.txt"}


def test_tarball_carries_what_users_need_and_none_of_the_checkout_tooling(installed):
    with tarfile.open(installed.tarball) as tar:
        members = tar.getmembers()
    names = {member.name.rstrip("/") for member in members}
    tops = {name.split("/")[0] for name in names}
    assert SHIPPED <= tops, "missing at the top of the tarball: %s" % sorted(SHIPPED - tops)
    assert not tops & NOT_SHIPPED, "checkout tooling in the tarball: %s" % sorted(tops & NOT_SHIPPED)
    assert tops <= SHIPPED | OPTIONAL, "unexpected at the top of the tarball: %s" % sorted(tops - SHIPPED - OPTIONAL)
    # Every file of the checkout that users need is in it (playbooks/tasks and playbooks/vars included).
    wanted = checkout_files("plugins", "roles", "playbooks", "meta", "docs", "changelogs/fragments",
                            "changelogs/changelog.yaml", "changelogs/config.yaml")
    assert any(path.startswith("playbooks/tasks/") for path in wanted)
    assert any(path.startswith("playbooks/vars/") for path in wanted)
    assert sorted(wanted - names) == []
    # No link that points outside the tarball or at something it does not hold (the .config/molecule bug).
    for member in members:
        if member.issym() or member.islnk():
            target = os.path.normpath(os.path.join(os.path.dirname(member.name), member.linkname))
            assert target in names, "%s -> %s, which the tarball does not hold" % (member.name, member.linkname)
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        galaxy = yaml.safe_load(handle)
    with open(os.path.join(installed.path, "MANIFEST.json")) as handle:
        manifest = json.load(handle)
    assert manifest["collection_info"]["dependencies"] == galaxy["dependencies"]
    assert set(galaxy["dependencies"]) == {"community.docker", "community.crypto", "community.general"}


def test_installed_from_the_tarball_without_galaxy_and_unaltered(installed):
    assert "provisioning.oci_registry:" in installed.install_output
    assert "was installed successfully" in installed.install_output
    # The dependencies galaxy.yml declares were found already installed (the `ansible` bundle).
    for dependency in ("community.docker", "community.crypto", "community.general"):
        assert "'%s:" % dependency in installed.install_output, installed.install_output
    assert sorted(os.listdir(os.path.join(installed.collections, "ansible_collections"))) == ["provisioning"]
    output = installed.ok("ansible-galaxy", "collection", "verify", "--offline", FQCN, "-p", installed.collections)
    assert "Successfully verified that checksums for '%s:" % FQCN in output, output


def argument_specs(installed, modules):
    """The argument spec each installed module passes to AnsibleModule (read the way ansible-test's
    validate-modules does: AnsibleModule is replaced by a recorder before the module is imported)."""
    script = textwrap.dedent("""
        import json, sys
        sys.path.insert(0, %r)
        import ansible.module_utils.basic as basic
        specs = {}
        class Recorded(Exception):
            pass
        class Recorder:
            def __init__(self, argument_spec=None, **kwargs):
                specs[current] = argument_spec
                raise Recorded()
        basic.AnsibleModule = Recorder
        import importlib
        for current in %r:
            module = importlib.import_module("ansible_collections.provisioning.oci_registry.plugins.modules." + current)
            try:
                module.main()
            except Recorded:
                pass
        def names(spec):
            return {key: {"aliases": sorted(value.get("aliases") or []),
                          "options": names(value["options"]) if value.get("options") else {}}
                    for key, value in spec.items()}
        print(json.dumps({name: names(spec) for name, spec in specs.items()}))
    """) % (installed.collections, modules)
    rc, output = installed.run(sys.executable, "-c", script)
    assert rc == 0, output
    return json.loads(output.strip().splitlines()[-1])


def assert_documented(where, spec, doc):
    assert sorted(spec) == sorted(doc or {}), "%s: options %s, documented %s" % (where, sorted(spec), sorted(doc or {}))
    for name, option in spec.items():
        assert str(doc[name].get("description") or "").strip(), "%s: %s has no description" % (where, name)
        assert sorted(doc[name].get("aliases") or []) == option["aliases"], "%s: aliases of %s" % (where, name)
        if option["options"]:
            assert_documented("%s.%s" % (where, name), option["options"], doc[name].get("suboptions"))


def test_ansible_doc_documents_every_option_of_every_module(installed):
    shipped = sorted(name[:-3] for name in os.listdir(os.path.join(installed.path, "plugins", "modules"))
                     if name.endswith(".py") and not name.startswith("_"))
    assert shipped == sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", "modules"))
                             if name.endswith(".py") and not name.startswith("_"))
    listed = json.loads(installed.ok("ansible-doc", "-t", "module", "-l", FQCN, "--json"))
    assert sorted(listed) == ["%s.%s" % (FQCN, name) for name in shipped]
    docs = json.loads(installed.ok("ansible-doc", "-t", "module", "--json", *sorted(listed)))
    specs = argument_specs(installed, shipped)
    assert sorted(specs) == shipped
    for name in shipped:
        doc = docs["%s.%s" % (FQCN, name)]
        assert doc["doc"]["short_description"] and doc["examples"] and doc["return"], name
        assert "%s.%s" % (FQCN, name) in doc["examples"], "%s: EXAMPLES do not use the FQCN" % name
        assert_documented(name, specs[name], doc["doc"]["options"])
    text = installed.ok("ansible-doc", "-t", "module", *sorted(listed))
    for name in shipped:
        assert "> MODULE %s.%s" % (FQCN, name) in text, name
        for option in specs[name]:
            assert option in text, "%s: %s not in ansible-doc's text" % (name, option)


def test_ansible_doc_documents_every_variable_of_every_role(installed):
    roles = sorted(os.listdir(os.path.join(installed.path, "roles")))
    assert roles == ["distribution", "haproxy", "harbor", "redis", "zot"]
    listed = json.loads(installed.ok("ansible-doc", "-t", "role", "-l", FQCN, "--json"))
    assert sorted(listed) == ["%s.%s" % (FQCN, role) for role in roles]
    for role in roles:
        fqcn = "%s.%s" % (FQCN, role)
        doc = json.loads(installed.ok("ansible-doc", "-t", "role", "--json", fqcn))[fqcn]
        with open(os.path.join(installed.path, "roles", role, "defaults", "main.yml")) as handle:
            defaults = yaml.safe_load(handle) or {}
        options = doc["entry_points"]["main"]["options"]
        public = {name for name in defaults if not name.startswith("_")}
        assert sorted(public - set(options)) == [], "%s: defaults without documentation" % role
        for name, option in options.items():
            assert str(option.get("description") or "").strip(), "%s: %s has no description" % (role, name)
        text = installed.ok("ansible-doc", "-t", "role", fqcn)
        assert "> ROLE: *%s*" % fqcn in text or fqcn in text
        for name in options:
            assert name in text, "%s: %s not in ansible-doc's text" % (role, name)


def test_every_playbook_passes_syntax_check_by_fqcn(installed):
    playbooks = sorted(name[:-4] for name in os.listdir(os.path.join(installed.path, "playbooks"))
                       if name.endswith(".yml"))
    assert playbooks == sorted(name[:-4] for name in os.listdir(os.path.join(ROOT, "playbooks"))
                               if name.endswith(".yml"))
    for playbook in playbooks:
        output = installed.ok("ansible-playbook", "--syntax-check", "-i", "localhost,", "%s.%s" % (FQCN, playbook))
        assert "playbook: " in output and "ERROR" not in output, output


@pytest.fixture(scope="module")
def deployment(installed):
    name = "inst-%s" % uuid.uuid4().hex[:8]
    base = os.path.join(installed.base, "deploy")
    port = free_port()
    password = "Inst-" + uuid.uuid4().hex[:16]
    variables = dict(distribution_variables(name, base, port, password), oci_registry_admin_user="admin")
    os.makedirs(base)
    vars_file = os.path.join(base, "vars.yml")
    with open(vars_file, "w") as handle:
        yaml.safe_dump(variables, handle)
    # The user's own inventory: the playbooks deploy on the hosts of group oci_registry.
    inventory = os.path.join(base, "hosts.yml")
    with open(inventory, "w") as handle:
        yaml.safe_dump({"oci_registry": {"hosts": {"localhost": {
            "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}, handle)
    dep = {"name": name, "port": port, "password": password, "vars_file": vars_file, "inventory": inventory,
           "ca": os.path.join(base, "etc", "pki", "ca.crt")}
    yield dep
    remove_distribution(name)
    shutil.rmtree(base, ignore_errors=True)


def deploy(installed, dep):
    rc, output = installed.run("ansible-playbook", "-i", dep["inventory"], "%s.deploy" % FQCN,
                               "-e", "@" + dep["vars_file"], timeout=600)
    recap = RECAP.search(output)
    assert rc == 0 and recap, output[-6000:]
    assert dep["password"] not in output
    return int(recap.group(2)), output


def test_fqcn_deploy_of_distribution_is_healthy_and_idempotent(installed, deployment):
    changed, output = deploy(installed, deployment)
    assert changed > 0, output[-3000:]
    # Every role and task file came from the installed copy: nothing else is on the collections path.
    assert ROOT not in output, output[-3000:]

    # oci_health of the installed copy, run by itself as a user would.
    args = json.dumps({"registry_url": "https://127.0.0.1:%d" % deployment["port"], "registry_type": "distribution",
                       "username": "admin", "password": deployment["password"], "ca_path": deployment["ca"],
                       "write_probe": True})
    rc, health = installed.run("ansible", "localhost", "-i", deployment["inventory"], "-m", "%s.oci_health" % FQCN,
                               "-a", args)
    assert rc == 0, health[-3000:]
    result = json.JSONDecoder().raw_decode(health.split("=>", 1)[1].strip())[0]
    assert result["healthy"] is True and result["changed"] is False, result
    assert result["failed_checks"] == []
    assert deployment["password"] not in health

    changed, output = deploy(installed, deployment)
    assert changed == 0, output[-6000:]
