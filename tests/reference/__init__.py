"""The one place tests find upstream reference files (zot examples, Harbor's swagger and harbor.yml.tmpl, ...).

In order:
1. the copy beside the repository, ``../shared/reference`` (``OCI_REFERENCE_SHARED`` names another place),
   used as it is, nothing downloaded;
2. the cache ``.cache/reference`` (``OCI_REFERENCE_CACHE``) that ``tests/reference/fetch.py`` fills from
   upstream (the Makefile runs it before the tests), used only when every pinned file is there with
   its pinned sha256;
3. neither: ``require()`` skips the calling test with the reason (what is missing, and why the download
   did not happen), never passes it.
"""

from __future__ import annotations

import functools
from pathlib import Path

from . import fetch

__all__ = ["location", "require", "unavailable_reason", "pinned"]


@functools.lru_cache(maxsize=None)
def _resolve():
    shared = fetch.shared_dir()
    if shared.is_dir():
        return shared, None
    cache = fetch.cache_dir()
    problems = fetch.verify(cache) if cache.is_dir() else [("*", "no cache")]
    if not problems:
        return cache, None
    marker = cache / fetch.UNAVAILABLE
    if marker.is_file():
        why = marker.read_text(encoding="utf-8").strip()
    elif problems == [("*", "no cache")]:
        why = "run `python tests/reference/fetch.py` (the Makefile's test targets do) to download them"
    else:
        shown = ", ".join("%s (%s)" % p for p in problems[:3]) + (" and %d more" % (len(problems) - 3)
                                                                  if len(problems) > 3 else "")
        why = "the cache is incomplete: %s; run `python tests/reference/fetch.py`" % shown
    return None, "upstream reference files unavailable: %s is absent and %s is not complete: %s" % (
        shared, cache, why)


def location():
    """The directory holding the reference files, or None."""
    return _resolve()[0]


def unavailable_reason():
    """Why there is no reference directory (None when there is one)."""
    return _resolve()[1]


def require(relative=""):
    """The path of a reference file or directory; skips the calling test when there is none."""
    directory, reason = _resolve()
    if directory is None:
        import pytest  # only tests call this; fetch.py runs without pytest

        pytest.skip(reason)
    path = Path(directory) / relative
    if not path.exists():
        raise FileNotFoundError("%s: not in the reference files at %s" % (relative, directory))
    return path


def pinned(prefix=""):
    """The pinned local paths under ``prefix`` (known without the files: for parametrize ids)."""
    return sorted(entry["local"] for entry in fetch.load_pins()["files"] if entry["local"].startswith(prefix))


def reset():
    """Forget the resolved location (tests of the resolver change the environment)."""
    _resolve.cache_clear()
