"""Bring the pinned upstream reference files the tests read into a local cache, checked by sha256.

Where the reference copy beside the repository (``../shared/reference``, or ``OCI_REFERENCE_SHARED``)
exists, it is used and nothing is downloaded. Otherwise every file listed in ``pins.json`` is fetched
from ``<base>/<owner>/<repo>/<tag>/<path>`` (``base``: ``--base-url`` or ``OCI_REFERENCE_BASE_URL``,
by default https://raw.githubusercontent.com, which serves files of a repository at a tag under that
layout) into the cache (``--dest`` or ``OCI_REFERENCE_CACHE``, by default ``.cache/reference``), and
each file's sha256 is compared with its pin before it is kept. Files already in the cache with the
right checksum are not fetched again.

Exit status:
  0  the files are available (shared copy, or a complete and verified cache);
  1  a file arrived with another checksum (refused: named, not kept) or the server answered an error;
  2  the server could not be reached. With ``--offline-ok`` this exits 0 instead and records the
     reason in ``<cache>/.unavailable``: the tests that need the files then skip with that reason.

``--pin DIR`` recomputes the sha256 pins from a directory laid out like the cache (maintainers only).

Standard library only: it runs before the test virtualenv is complete.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
PINS = HERE / "pins.json"
DEFAULT_BASE_URL = "https://raw.githubusercontent.com"
UNAVAILABLE = ".unavailable"
TIMEOUT = 30


def shared_dir():
    """Where the reference copy beside the repository is looked for."""
    return Path(os.environ.get("OCI_REFERENCE_SHARED") or REPO_ROOT.parent / "shared" / "reference")


def cache_dir():
    return Path(os.environ.get("OCI_REFERENCE_CACHE") or REPO_ROOT / ".cache" / "reference")


def base_url():
    return (os.environ.get("OCI_REFERENCE_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")


def load_pins(path=PINS):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(65536), b""):
            digest.update(chunk)
    return digest.hexdigest()


def url_of(pins, entry, base):
    source = pins["sources"][entry["source"]]
    return "%s/%s/%s/%s" % (base, source["repo"], source["ref"], entry["path"])


def verify(directory, pins=None):
    """The pinned files missing from ``directory`` or differing from their pins: [(local, problem)]."""
    pins = pins or load_pins()
    problems = []
    for entry in pins["files"]:
        path = Path(directory) / entry["local"]
        if not path.is_file():
            problems.append((entry["local"], "missing"))
        elif sha256_of(path) != entry["sha256"]:
            problems.append((entry["local"], "sha256 differs from its pin"))
    return problems


class Unreachable(Exception):
    """The server could not be reached at all (no answer): the files are unavailable, not wrong."""


def _download(url):
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # http(s) only: main() checks
            return response.read()
    except (urllib.error.URLError, socket.timeout, ConnectionError) as exc:
        if isinstance(exc, urllib.error.HTTPError):
            raise  # the server answered: an error of the file, not an absent server
        reason = getattr(exc, "reason", exc)
        raise Unreachable("%s: %s" % (url, reason)) from exc


def fetch(dest, base, pins=None, log=print):
    """Fetch what ``dest`` lacks. Returns (fetched, errors); raises Unreachable when nothing answers."""
    pins = pins or load_pins()
    dest = Path(dest)
    fetched, errors = [], []
    for entry in pins["files"]:
        target = dest / entry["local"]
        if target.is_file() and sha256_of(target) == entry["sha256"]:
            continue
        url = url_of(pins, entry, base)
        try:
            body = _download(url)
        except urllib.error.HTTPError as exc:
            errors.append("%s: %s answered HTTP %s" % (entry["local"], url, exc.code))
            continue
        got = hashlib.sha256(body).hexdigest()
        if got != entry["sha256"]:
            if target.exists():
                target.unlink()
            errors.append("%s: refused, sha256 %s from %s, pinned %s (not kept in %s)"
                          % (entry["local"], got, url, entry["sha256"], dest))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        with os.fdopen(handle, "wb") as out:
            out.write(body)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
        fetched.append(entry["local"])
        log("fetched %s" % entry["local"])
    return fetched, errors


def pin(directory):
    """Rewrite pins.json with the sha256 of every listed file in ``directory``."""
    pins = load_pins()
    for entry in pins["files"]:
        entry["sha256"] = sha256_of(Path(directory) / entry["local"])
    with open(PINS, "w", encoding="utf-8") as handle:
        json.dump(pins, handle, indent=2)
        handle.write("\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--dest", help="cache directory (default: OCI_REFERENCE_CACHE or .cache/reference)")
    parser.add_argument("--base-url", help="where upstream files are served (default: OCI_REFERENCE_BASE_URL or %s)"
                        % DEFAULT_BASE_URL)
    parser.add_argument("--offline-ok", action="store_true",
                        help="exit 0 when the server cannot be reached (the tests needing the files skip)")
    parser.add_argument("--pin", metavar="DIR", help="recompute the sha256 pins from DIR and exit")
    args = parser.parse_args(argv)

    if args.pin:
        pin(args.pin)
        print("pins.json: sha256 recomputed from %s" % args.pin)
        return 0

    shared = shared_dir()
    if shared.is_dir():
        print("reference files: using %s (nothing downloaded)" % shared)
        return 0

    dest = Path(args.dest) if args.dest else cache_dir()
    base = (args.base_url or base_url()).rstrip("/")
    if not base.startswith(("http://", "https://")):
        parser.error("--base-url/OCI_REFERENCE_BASE_URL must be an http:// or https:// URL, got %r" % base)
    dest.mkdir(parents=True, exist_ok=True)
    marker = dest / UNAVAILABLE
    try:
        fetched, errors = fetch(dest, base)
    except Unreachable as exc:
        reason = "the upstream files could not be downloaded (%s)" % exc
        marker.write_text(reason + "\n", encoding="utf-8")
        print("reference files unavailable: %s is absent and %s" % (shared, reason), file=sys.stderr)
        return 0 if args.offline_ok else 2
    if errors:
        marker.write_text("; ".join(errors) + "\n", encoding="utf-8")
        for error in errors:
            print("reference file %s" % error, file=sys.stderr)
        return 1
    if marker.exists():
        marker.unlink()
    print("reference files: %d fetched from %s, all %d verified in %s"
          % (len(fetched), base, len(load_pins()["files"]), dest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
