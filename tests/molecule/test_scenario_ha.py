"""The Molecule scenario `ha` (issue 17): three Distribution replicas on the run's S3 store behind haproxy, in a
file of its own so that it runs on one pytest-xdist worker while the other scenarios run on the other."""

import pytest

from .test_scenarios import MOLECULE_DIR, OWN_FILE, run_scenario


@pytest.mark.integration
def test_molecule_scenario_ha(request):
    assert "ha" in OWN_FILE and (MOLECULE_DIR / "ha" / "molecule.yml").exists()
    run_scenario("ha", request)
