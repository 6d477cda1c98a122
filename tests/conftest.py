"""Test-wide setup: import the collection as ansible_collections.provisioning.oci_registry."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "provisioning", "oci_registry")

if not os.path.exists(LINK):
    raise RuntimeError("%s is missing: run `make link` (the Makefile's test targets do)" % LINK)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
