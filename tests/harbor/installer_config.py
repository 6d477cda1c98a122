"""What Harbor's installer accepts in harbor.yml, read from its own template (harbor.yml.tmpl).

The template (harbor/harbor.yml.tmpl of the reference files, Harbor v2.15.2; see tests/reference) has active settings and
optional ones that are commented out (``# external_url: ...``, ``# metric:`` blocks, ``#   # username:``
inside a commented block). ``known_tree()`` uncomments every line that is a YAML key or a list item
of a key, drops prose comments, and loads the result: a tree of every key Harbor's template knows,
with the example value (whose type is the expected type; an empty example accepts any scalar).
``check(rendered)`` compares a rendered harbor.yml with it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from tests import reference

TEMPLATE = "harbor/harbor.yml.tmpl"
# Harbor's keys start lower-case (tlsOptions, rootCA are camelCase); "# Note: ..." is prose.
_KEY = re.compile(r"^[a-z_][A-Za-z0-9_]*:(\s|$)")
# Example values that are placeholders, not types (external_database.harbor.port: harbor_db_port).
_PLACEHOLDER = re.compile(r"^harbor_db_[a-z_]+$")
ALWAYS = ("hostname", "http", "harbor_admin_password", "data_volume", "trivy", "jobservice", "notification", "log",
          "_version", "proxy", "upload_purging", "cache")


def template_path():
    """HARBOR_YML_TMPL, else the reference copy (the calling test skips, with the reason, when there is none)."""
    if os.environ.get("HARBOR_YML_TMPL"):
        return Path(os.environ["HARBOR_YML_TMPL"])
    return reference.require(TEMPLATE)


def _uncomment(line):
    """The line as YAML if it is an (optionally commented) key; None for prose and blank lines."""
    indent = ""
    rest = line.rstrip("\n")
    while True:
        stripped = rest.lstrip(" ")
        indent += rest[:len(rest) - len(stripped)]
        if not stripped.startswith("#"):
            break
        rest = stripped[1:]
        if rest.startswith(" "):
            rest = rest[1:]
    if not stripped:
        return None
    if _KEY.match(stripped):
        value = stripped.split("#", 1)[0].rstrip() if " #" in stripped else stripped
        return indent + value
    return None


def known_tree(path=None):
    with open(path or template_path(), encoding="utf-8") as handle:
        lines = handle.readlines()
    active = yaml.safe_load("".join(lines))
    out = []
    for line in lines:
        if line.lstrip(" ").startswith("- ") and not line.lstrip().startswith("#"):
            out.append(line.rstrip("\n"))  # active list items (job_loggers, components)
            continue
        converted = _uncomment(line)
        if converted is not None:
            out.append(converted)
    tree = yaml.safe_load("\n".join(out))
    return tree, active


def check(rendered, tree, path=""):
    """Problems of ``rendered`` against ``tree``: unknown keys and wrong types (list of sentences)."""
    problems = []
    for key, value in rendered.items():
        where = "%s.%s" % (path, key) if path else key
        if key not in tree:
            problems.append("%s: Harbor's harbor.yml.tmpl has no such key (known here: %s)" % (
                where, ", ".join(sorted(tree))))
            continue
        example = tree[key]
        if isinstance(example, dict):
            if not isinstance(value, dict):
                problems.append("%s: expected a mapping, got %r" % (where, value))
            else:
                problems.extend(check(value, example, where))
        elif isinstance(example, list):
            if not isinstance(value, list) or any(not isinstance(v, type(example[0])) for v in value):
                problems.append("%s: expected a list of %s, got %r" % (where, type(example[0]).__name__, value))
        elif example is None or (isinstance(example, str) and _PLACEHOLDER.match(example)):
            if isinstance(value, (dict, list)):
                problems.append("%s: expected a scalar, got %r" % (where, value))
        elif isinstance(example, bool):
            if not isinstance(value, bool):
                problems.append("%s: expected a boolean, got %r" % (where, value))
        elif isinstance(example, int):
            if isinstance(value, bool) or not isinstance(value, int):
                problems.append("%s: expected an integer, got %r" % (where, value))
        elif isinstance(example, str):
            if not isinstance(value, str):
                problems.append("%s: expected a string, got %r" % (where, value))
    return problems


def missing(active, rendered, optional=("https", "database"), path=""):
    """Keys the template sets (uncommented) that the rendered file lacks; ``optional`` top-level
    blocks may be left out (https without TLS, database with an external one)."""
    problems = []
    for key, value in active.items():
        where = "%s.%s" % (path, key) if path else key
        if key not in rendered:
            if not path and key in optional:
                continue
            problems.append("%s: set in harbor.yml.tmpl but missing from the rendered file" % where)
        elif isinstance(value, dict) and isinstance(rendered[key], dict):
            problems.extend(missing(value, rendered[key], optional, where))
    return problems
