"""What makes a Molecule scenario skip and what makes it fail (tests/molecule/test_scenarios.py).

A part that cannot be had on every machine is named by an environment variable: unset, the scenario is
skipped with the reason. An image missing from the local engine is a broken test bed: it fails."""

import os

import pytest

from . import test_scenarios

BED_IMAGE = os.environ.get("OCI_TEST_BASE_IMAGE", "oci-registry-test/debian:bookworm")


@pytest.fixture
def scenario(tmp_path, monkeypatch):
    monkeypatch.setattr(test_scenarios, "MOLECULE_DIR", tmp_path)

    def write(text):
        (tmp_path / "probe").mkdir(exist_ok=True)
        (tmp_path / "probe" / "requires.yml").write_text(text)
        return "probe"
    return write


def test_unset_variable_skips_with_its_name(scenario):
    name = scenario("env: [OCI_TEST_PROBE_IMAGE]\nimages: ['${OCI_TEST_PROBE_IMAGE}']\n")
    skip, fail = test_scenarios.missing_requirements(name, env={})
    assert skip == ["environment variable OCI_TEST_PROBE_IMAGE is not set"]
    assert fail == []


@pytest.mark.integration
def test_missing_bed_image_fails(scenario):
    name = scenario("images: ['${OCI_TEST_HOST_IMAGE:-oci-registry-test/absent:never}']\n")
    skip, fail = test_scenarios.missing_requirements(name, env={})
    assert skip == []
    assert fail == ["image oci-registry-test/absent:never is not in the local Docker engine (run `make bed`)"]


@pytest.mark.integration
def test_image_named_by_a_set_variable_must_exist(scenario):
    name = scenario("env: [OCI_TEST_PROBE_IMAGE]\nimages: ['${OCI_TEST_PROBE_IMAGE}']\n")
    skip, fail = test_scenarios.missing_requirements(name, env={"OCI_TEST_PROBE_IMAGE": "oci-registry-test/absent:x"})
    assert skip == []
    assert fail == ["image oci-registry-test/absent:x is not in the local Docker engine (run `make bed`)"]


@pytest.mark.integration
def test_present_images_need_nothing(scenario):
    name = scenario("images: ['%s']\n" % BED_IMAGE)
    assert test_scenarios.missing_requirements(name, env={}) == ([], [])
