# provisioning.oci_registry: the two commands are `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
COLLECTIONS := $(CURDIR)/.build/collections
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/provisioning/oci_registry

export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PYTHONDONTWRITEBYTECODE := 1
# Images the tests run (built locally by tests/bed/images.sh; no registry is reachable here).
export OCI_TEST_BASE_IMAGE ?= oci-registry-test/debian:bookworm
export OCI_TEST_DISTRIBUTION_IMAGE ?= oci-registry-test/distribution:2.8
export OCI_TEST_HOST_IMAGE ?= oci-registry-test/host:bookworm
export OCI_TEST_BAREHOST_IMAGE ?= oci-registry-test/barehost:bookworm
export OCI_TEST_NGINX_IMAGE ?= oci-registry-test/nginx:bookworm
export OCI_TEST_POSTGRES_IMAGE ?= oci-registry-test/postgres:15
export OCI_TEST_ZOT_STANDIN_IMAGE ?= oci-registry-test/zot-standin:v2.1.20
export OCI_TEST_FRONT_AUTH_IMAGE ?= oci-registry-test/front-auth:bookworm
export OCI_TEST_RGW_IMAGE ?= oci-registry-test/rgw:bookworm
export OCI_TEST_REDIS_IMAGE ?= oci-registry-test/redis:bookworm
export OCI_TEST_HAPROXY_IMAGE ?= oci-registry-test/haproxy:bookworm

.PHONY: help venv link bed reference demo test sanity lint pytest unit integration molecule bench build clean

help:
	@echo "make demo   deploy a Distribution registry on 127.0.0.1 and show it healthy"
	@echo "make test   every test: sanity, lint, unit, integration, molecule"
	@echo "make bench  oci_sync against skopeo sync, the cost of logging in, deploy.yml against a hand-written playbook,"
	@echo "            pulls through haproxy with 1 and 3 replicas (figures and ratios)"

# requirements.txt: run time (controller and hosts); requirements-test.txt: it plus the test tools.
venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@

# The collection must be importable as ansible_collections/provisioning/oci_registry.
link: venv
	mkdir -p $(dir $(COLLECTION_LINK))
	ln -sfn $(CURDIR) $(COLLECTION_LINK)

# Docker engine and the locally built images (idempotent; reuses what exists).
bed: link
	tests/bed/engine.sh
	tests/bed/images.sh

demo: bed
	tests/bed/demo.sh

# Upstream reference files the tests read: ../shared/reference where it exists (nothing is
# downloaded), else the pinned files (tests/reference/pins.json: URL at a release tag, sha256)
# fetched into .cache/reference and verified (OCI_REFERENCE_BASE_URL points at another server).
# A wrong checksum fails here; an unreachable server makes the tests that need the files skip,
# each with the reason.
reference: venv
	python tests/reference/fetch.py --offline-ok

sanity: link
	tests/sanity/run.sh

# antsibull-docs: the guides in docs/docsite (extra-docs.yml, links.yml, RST with its code blocks) and
# every module's and role's documentation as the docsite renders it; offline, about 30 s.
lint: link
	ansible-lint
	antsibull-changelog lint
	antsibull-docs lint-collection-docs --plugin-docs --check-extra-docs-refs .

unit: link reference
	pytest tests/unit

integration: bed reference
	pytest tests/integration

molecule: bed
	pytest tests/molecule

# One pytest run for unit, integration and Molecule scenarios, so that one summary line
# counts every test. Two workers (pytest-xdist), each running whole files (--dist loadfile: a file's
# tests keep their order and module-scoped state); the Molecule scenarios come first, so that their
# long files start early while the other worker works through the rest (--no-loadscope-reorder: pytest-xdist
# would otherwise hand out the files with the most tests first, and the one-test `ha` scenario last). Every test uses its own
# containers, networks and random ports, so that files can run side by side.
pytest: bed reference
	pytest -n 2 --dist loadfile --no-loadscope-reorder --durations=40 tests/molecule tests/unit tests/integration

test: bed sanity lint pytest

# oci_sync against `skopeo sync --all --preserve-digests` on local registries: figures and
# ratios to read, not a test.
bench: bed
	python benchmarks/migrate.py
	python benchmarks/auth.py
	python benchmarks/deploy.py
	python benchmarks/ha.py

build: link
	ansible-galaxy collection build --force --output-path .build

clean:
	rm -rf .build .pytest_cache
