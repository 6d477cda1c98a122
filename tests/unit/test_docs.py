"""The documentation as collection users get it: README first, guides in docs/docsite, shipped in the tarball.

The RST itself (syntax, code blocks, labels, extra-docs.yml and links.yml) is checked by
`antsibull-docs lint-collection-docs` in `make lint`.
"""

import re
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCSITE = ROOT / "docs" / "docsite"
LABEL = ".. _ansible_collections.provisioning.oci_registry.docsite.%s:"


def toctree():
    with open(DOCSITE / "extra-docs.yml", encoding="utf-8") as handle:
        extra = yaml.safe_load(handle)
    return [name for section in extra["sections"] for name in section["toctree"]]


def test_readme_starts_with_the_two_commands():
    """The first commands of the README are `make demo` and `make test` (the CI hook greps for them)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```sh\n(.*?)```", text, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]


def test_every_guide_is_listed_once_and_labelled():
    listed = toctree()
    files = sorted(path.stem for path in (DOCSITE / "rst").glob("*.rst"))
    assert sorted(listed) == files and len(set(listed)) == len(listed)
    for name in files:
        first = (DOCSITE / "rst" / (name + ".rst")).read_text(encoding="utf-8").splitlines()[0]
        assert first == LABEL % name


def test_the_readme_links_to_every_guide():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in toctree():
        assert "(docs/docsite/rst/%s.rst)" % name in text, name


@pytest.mark.parametrize("guide,headings", [
    ("guide_deploy", ["What is in the collection", "Install for real use", "Deploying", "Variables"]),
    ("guide_access_model", ["The model", "How each registry enforces it"]),
    ("guide_zot", ["How config.json is built and checked", "Reload or restart", "What the variables do not express"]),
    ("guide_harbor", ["What is verified how", "The role", "Modules on Harbor"]),
    ("guide_operations", ["TLS (on by default)", "Metrics (on by default)", "Webhooks", "Rate limiting (off by default)"]),
    ("guide_day2", ["Backup: ``playbooks/backup.yml``", "Restore: ``playbooks/restore.yml``"]),
    ("guide_migration", ["What the copy guarantees", "Speed"]),
    ("guide_testing", ["Reference files", "Tests"]),
])
def test_the_sections_moved_from_the_readme_are_in_their_guides(guide, headings):
    lines = (DOCSITE / "rst" / (guide + ".rst")).read_text(encoding="utf-8").splitlines()
    titles = [lines[i] for i in range(len(lines) - 1)
              if lines[i] and re.fullmatch(r"([-=~^\"'])\1{2,}", lines[i + 1]) and len(lines[i + 1]) >= len(lines[i])]
    for heading in headings:
        assert heading in titles, (guide, heading, titles)


def test_the_built_collection_ships_the_guides(tmp_path):
    proc = subprocess.run(["ansible-galaxy", "collection", "build", "--output-path", str(tmp_path), str(ROOT)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (tarball,) = tmp_path.glob("provisioning-oci_registry-*.tar.gz")
    with tarfile.open(tarball) as archive:
        names = set(archive.getnames())
    expected = {"README.md", "docs/docsite/extra-docs.yml", "docs/docsite/links.yml"}
    expected |= {"docs/docsite/rst/%s.rst" % name for name in toctree()}
    assert expected <= names, sorted(expected - names)
