"""Reference data for the zot tests: upstream files and the platform's access model."""

import json
import os

from tests import reference

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
EXAMPLES = "zot/examples"


def example_names():
    """The example files in the reference copy (the calling test skips, with the reason, without one)."""
    return sorted(name for name in os.listdir(reference.require(EXAMPLES)) if name.endswith(".json"))


def pinned_example_names():
    """The examples pinned in tests/reference/pins.json: known without the files, for parametrize."""
    return [os.path.basename(path) for path in reference.pinned(EXAMPLES + "/") if path.endswith(".json")]


def load_example(name):
    with open(reference.require(os.path.join(EXAMPLES, name)), encoding="utf-8") as handle:
        return json.load(handle)


PLATFORM_NAMESPACES = [
    {
        "name": "provisioning-extensions",
        "description": "Extension packages",
        "public": False,
        "retention": {"keep_tags": 10, "max_age_days": 90},
        "policies": [{"subjects": ["authenticated"], "actions": ["read", "write", "delete"]}],
    },
    {
        "name": "provisioning-kcl",
        "description": "KCL schemas",
        "public": False,
        "retention": {"keep_tags": 20, "max_age_days": 180},
        "policies": [{"subjects": ["authenticated"], "actions": ["read", "write"]}],
    },
    {
        "name": "provisioning-platform",
        "description": "Platform images",
        "public": False,
        "retention": {"keep_tags": 5, "max_age_days": 30},
        "policies": [{"subjects": ["authenticated"], "actions": ["read"]}],
    },
    {
        "name": "provisioning-test",
        "description": "Test artifacts",
        "public": True,
        "retention": {"keep_tags": 3, "max_age_days": 7},
        "policies": [{"subjects": ["authenticated"], "actions": ["read", "write", "delete"]}],
    },
]

PLATFORM_USERS = [
    {"name": "admin", "password": "admin-secret-1", "admin": True, "state": "present"},
    {"name": "provisioning", "password": "user-secret-2", "admin": False, "state": "present"},
    {"name": "gone", "password": "old-secret-3", "admin": True, "state": "absent"},
]
