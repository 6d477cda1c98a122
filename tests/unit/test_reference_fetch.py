"""tests/reference: the reference files of a clone with no ../shared beside it.

tests/reference/fetch.py runs for real (a subprocess, as the Makefile runs it) against a local
http.server on 127.0.0.1 that serves the same upstream files under upstream's URL layout
(<owner>/<repo>/<tag>/<path>, as raw.githubusercontent.com does); no upstream host is reachable here.
"""

import hashlib
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests import reference
from tests.reference import fetch

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "reference" / "fetch.py"
PINS = fetch.load_pins()


class Upstream:
    """A local stand-in for upstream: serves a tree and records every path asked for."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self.requests = []
        upstream = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(upstream.directory), **kwargs)

            def do_GET(self):
                upstream.requests.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def path_of(self, entry):
        source = PINS["sources"][entry["source"]]
        return self.directory / source["repo"] / source["ref"] / entry["path"]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def upstream(tmp_path):
    """The reference files laid out as upstream serves them, from the copy the tests use."""
    source = reference.require()  # the files to serve: skipped, with the reason, without them
    server = Upstream(tmp_path / "upstream")
    for entry in PINS["files"]:
        target = server.path_of(entry)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / entry["local"], target)
    yield server
    server.close()


def run_fetch(tmp_path, base_url, *args, shared=None):
    env = dict(os.environ)
    env["OCI_REFERENCE_SHARED"] = str(shared or tmp_path / "no-shared-here")
    env["OCI_REFERENCE_BASE_URL"] = base_url
    env["OCI_REFERENCE_CACHE"] = str(tmp_path / "cache")
    return subprocess.run([sys.executable, str(SCRIPT)] + list(args), env=env, cwd=str(ROOT),
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def resolver(monkeypatch, tmp_path):
    """The resolver as a clone without ../shared sees it, with the cache of this test."""
    monkeypatch.setenv("OCI_REFERENCE_SHARED", str(tmp_path / "no-shared-here"))
    monkeypatch.setenv("OCI_REFERENCE_CACHE", str(tmp_path / "cache"))
    reference.reset()
    yield reference
    monkeypatch.undo()
    reference.reset()


def test_pins_are_the_reference_files():
    """Each pin is the sha256 of the copy the tests read; each URL is at a tag (or a commit)."""
    directory = reference.require()
    assert fetch.verify(directory, PINS) == []
    assert len(PINS["files"]) == 42
    for entry in PINS["files"]:
        source = PINS["sources"][entry["source"]]
        assert source["ref"].startswith("v") or source["ref"] == source["commit"], source
    url = fetch.url_of(PINS, next(e for e in PINS["files"] if e["local"] == "harbor/swagger.yaml"),
                       fetch.DEFAULT_BASE_URL)
    assert url == "https://raw.githubusercontent.com/goharbor/harbor/v2.15.2/api/v2.0/swagger.yaml"


def test_every_file_arrives_and_matches_its_checksum(tmp_path, upstream, resolver):
    proc = run_fetch(tmp_path, upstream.url)
    assert proc.returncode == 0, proc.stderr
    assert "42 fetched from %s, all 42 verified" % upstream.url in proc.stdout
    cache = tmp_path / "cache"
    for entry in PINS["files"]:
        body = (cache / entry["local"]).read_bytes()
        assert hashlib.sha256(body).hexdigest() == entry["sha256"], entry["local"]
        assert body == upstream.path_of(entry).read_bytes()
    assert len(upstream.requests) == 42
    assert "/goharbor/harbor/v2.15.2/make/harbor.yml.tmpl" in upstream.requests
    assert not (cache / fetch.UNAVAILABLE).exists()
    # The tests now read the cache.
    assert resolver.location() == cache and resolver.unavailable_reason() is None
    assert resolver.require("harbor/swagger.yaml") == cache / "harbor" / "swagger.yaml"
    # A second run finds everything verified and asks for nothing.
    again = run_fetch(tmp_path, upstream.url)
    assert again.returncode == 0 and "0 fetched" in again.stdout
    assert len(upstream.requests) == 42


def test_a_wrong_checksum_is_refused_named_and_not_kept(tmp_path, upstream, resolver):
    entry = next(e for e in PINS["files"] if e["local"] == "zot/examples/config-gc.json")
    with open(upstream.path_of(entry), "ab") as handle:
        handle.write(b" ")
    proc = run_fetch(tmp_path, upstream.url, "--offline-ok")  # not an offline case: still an error
    assert proc.returncode == 1
    assert "reference file zot/examples/config-gc.json: refused, sha256 " in proc.stderr
    assert entry["sha256"] in proc.stderr
    cache = tmp_path / "cache"
    assert not (cache / entry["local"]).exists()
    assert not [p for p in (cache / "zot" / "examples").iterdir() if p.name.startswith(".part-")]
    assert (cache / "zot" / "examples" / "config-minimal.json").is_file()  # the others are kept
    # The tests do not use an incomplete cache: they skip, naming the refused file.
    assert resolver.location() is None
    assert "zot/examples/config-gc.json: refused" in resolver.unavailable_reason()


def test_a_tampered_cached_file_is_fetched_again(tmp_path, upstream):
    assert run_fetch(tmp_path, upstream.url).returncode == 0
    cached = tmp_path / "cache" / "harbor" / "harbor.yml.tmpl"
    cached.write_text("hostname: changed\n")
    proc = run_fetch(tmp_path, upstream.url)
    assert proc.returncode == 0 and "fetched harbor/harbor.yml.tmpl" in proc.stdout
    assert upstream.requests[-1] == "/goharbor/harbor/v2.15.2/make/harbor.yml.tmpl" and len(upstream.requests) == 43
    assert fetch.verify(tmp_path / "cache") == []


def _closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_absent_server_gives_a_skip_with_its_reason(tmp_path, resolver):
    base = "http://127.0.0.1:%d" % _closed_port()
    proc = run_fetch(tmp_path, base)
    assert proc.returncode == 2  # by hand: unavailable is an error
    assert "could not be downloaded" in proc.stderr and base in proc.stderr
    proc = run_fetch(tmp_path, base, "--offline-ok")  # from the Makefile: the tests skip instead
    assert proc.returncode == 0, proc.stderr
    reason = resolver.unavailable_reason()
    assert resolver.location() is None
    assert "could not be downloaded" in reason and base in reason and "Connection refused" in reason
    # A test that needs the files is reported skipped with that reason, not passed and not failed.
    env = dict(os.environ, OCI_REFERENCE_SHARED=str(tmp_path / "no-shared-here"),
               OCI_REFERENCE_CACHE=str(tmp_path / "cache"))
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                          "tests/unit/zot/test_zot_examples.py::test_every_example_is_classified",
                          "tests/unit/zot/test_zot_examples.py::test_upstream_example_passes_checker"],
                         env=env, cwd=str(ROOT), capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout[-3000:]
    examples = len(reference.pinned("zot/examples/"))  # one test per pinned example, plus the classification
    assert "%d skipped" % (examples + 1) in run.stdout and "passed" not in run.stdout and "failed" not in run.stdout
    assert "could not be downloaded" in run.stdout and base in run.stdout


def test_with_the_shared_copy_nothing_is_downloaded(tmp_path, upstream):
    proc = run_fetch(tmp_path, upstream.url, shared=reference.require())
    assert proc.returncode == 0
    assert "(nothing downloaded)" in proc.stdout
    assert upstream.requests == [] and not (tmp_path / "cache").exists()


def test_a_base_url_that_is_not_http_is_refused(tmp_path):
    proc = run_fetch(tmp_path, "file:///etc")
    assert proc.returncode == 2 and "OCI_REFERENCE_BASE_URL must be an http:// or https:// URL" in proc.stderr
    assert not (tmp_path / "cache").exists()
