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
export OCI_TEST_NGINX_IMAGE ?= oci-registry-test/nginx:bookworm
export OCI_TEST_POSTGRES_IMAGE ?= oci-registry-test/postgres:15
export OCI_TEST_FRONT_AUTH_IMAGE ?= oci-registry-test/front-auth:bookworm

.PHONY: help venv link bed demo test sanity lint pytest unit integration molecule bench build clean

help:
	@echo "make demo   deploy a Distribution registry on 127.0.0.1 and show it healthy"
	@echo "make test   every test: sanity, lint, unit, integration, molecule"
	@echo "make bench  oci_sync against skopeo sync, and the cost of logging in (figures and ratios)"

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
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

sanity: link
	tests/sanity/run.sh

lint: link
	ansible-lint
	antsibull-changelog lint

unit: link
	pytest tests/unit

integration: bed
	pytest tests/integration

molecule: bed
	pytest tests/molecule

# One pytest run for unit, integration and Molecule scenarios, so that one summary line
# counts every test (and a run that collects nothing fails: see tests/conftest.py).
pytest: bed
	pytest tests/unit tests/integration tests/molecule

test: bed sanity lint pytest

# oci_sync against `skopeo sync --all --preserve-digests` on local registries: figures and
# ratios to read, not a test.
bench: bed
	python benchmarks/migrate.py
	python benchmarks/auth.py

build: link
	ansible-galaxy collection build --force --output-path .build

clean:
	rm -rf .build .pytest_cache
