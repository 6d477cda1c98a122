"""oci_scan on zot (issue 16): the CVE data of zot's search extension.

zot cannot run here, so:
- the query the backend sends is checked against zot v2.1.20's own GraphQL schema
  (pkg/extensions/search/schema.graphql at v2.1.20, kept in tests/unit/zot/data/ with its upstream sha256): every field, argument and
  input field it uses exists there with the type it is used as;
- the answers are the shapes zot's code produces: pkg/extensions/search/resolver.go getCVEListForImage
  (CVEResultForImage{Tag, CVEList, Summary{MaxSeverity, Count, UnknownCount, LowCount, MediumCount, HighCount,
  CriticalCount}, Page}; an empty result when the image is not there or the user may not read it),
  schema.resolvers.go (ErrCVESearchDisabled when CVE scanning is off), trivy/scanner.go checkDBPresence
  (ErrCVEDBNotFound until the database is downloaded), and gqlgen's error answer ({"errors": [{message,
  path}], "data": null} for a non-null field whose resolver failed), served on 127.0.0.1 by the tests'
  scripted HTTP server so that the backend's real HTTP client sends and reads them;
- a live test (tests/integration/zot/test_zot_scan_live.py) runs against a real zot where one exists
  (OCI_TEST_ZOT_IMAGE); it is skipped here, with that reason.
"""

import json
import re
from pathlib import Path

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot as zot_module
from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import AccessOptions
from ansible_collections.provisioning.oci_registry.plugins.module_utils._client import ConnectionOptions, RegistryClient
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import OciRegistryError
from ansible_collections.provisioning.oci_registry.plugins.module_utils._zot import (
    CVE_QUERY,
    SEARCH_PATH,
    ZotBackend,
    cve_summary,
)

from ..fake_http import FakeServer

DIGEST = "sha256:" + "ab" * 32
SCHEMA = Path(__file__).parent / "data" / "schema.graphql"


# -- the query against zot's schema -------------------------------------------------------------------------
def _schema():
    text = SCHEMA.read_text(encoding="utf-8")
    text = re.sub(r'"""[\s\S]*?"""', "", text)
    text = re.sub(r'"[^"\n]*"', "", text)
    types = {}
    for kind, name, body in re.findall(r"\b(type|input)\s+(\w+)\s*\{([^}]*)\}", text):
        fields = {}
        for field, args, ftype in re.findall(r"(\w+)\s*(\([^)]*\))?\s*:\s*([\[\]\w!]+)", body):
            arguments = dict(re.findall(r"(\w+)\s*:\s*([\[\]\w!]+)", args or ""))
            fields[field] = (ftype, arguments)
        types[name] = (kind, fields)
    return types


def _tokens(text):
    return re.findall(r"\$?\w+|[{}():!,]", text)


def _parse_value(tokens):
    token = tokens.pop(0)
    if token == "{":
        fields = {}
        while tokens[0] != "}":
            name = tokens.pop(0)
            assert tokens.pop(0) == ":"
            fields[name] = _parse_value(tokens)
            if tokens[0] == ",":
                tokens.pop(0)
        tokens.pop(0)
        return fields
    return token


def _parse_selection(tokens):
    """[(field, {argument: value}, sub-selection)] of one { ... } block."""
    assert tokens.pop(0) == "{"
    out = []
    while tokens[0] != "}":
        name = tokens.pop(0)
        arguments = {}
        if tokens[0] == "(":
            tokens.pop(0)
            while tokens[0] != ")":
                argument = tokens.pop(0)
                assert tokens.pop(0) == ":"
                arguments[argument] = _parse_value(tokens)
                if tokens[0] == ",":
                    tokens.pop(0)
            tokens.pop(0)
        sub = _parse_selection(tokens) if tokens[0] == "{" else []
        out.append((name, arguments, sub))
    tokens.pop(0)
    return out


def _check_selection(types, type_name, selection, variables, problems, path):
    _kind, fields = types[type_name]
    for name, arguments, sub in selection:
        if name not in fields:
            problems.append("%s.%s: no such field on %s" % (path, name, type_name))
            continue
        ftype, declared = fields[name]
        for argument, value in arguments.items():
            if argument not in declared:
                problems.append("%s.%s(%s): no such argument" % (path, name, argument))
                continue
            atype = declared[argument].strip("[]!")
            if isinstance(value, dict):
                input_fields = types[atype][1]
                problems.extend("%s.%s(%s).%s: no such input field of %s" % (path, name, argument, key, atype)
                                for key in value if key not in input_fields)
            elif value.startswith("$") and variables.get(value) != declared[argument]:
                problems.append("%s.%s(%s): variable %s is %s, the argument %s" % (
                    path, name, argument, value, variables.get(value), declared[argument]))
        required = [a for a, t in declared.items() if t.endswith("!") and a not in arguments]
        problems.extend("%s.%s: required argument %s missing" % (path, name, a) for a in required)
        inner = ftype.strip("[]!")
        if sub:
            if inner not in types:
                problems.append("%s.%s: %s has no fields to select" % (path, name, inner))
            else:
                _check_selection(types, inner, sub, variables, problems, path + "." + name)
        elif inner in types:
            problems.append("%s.%s: %s needs a selection" % (path, name, inner))


def test_the_query_matches_zots_schema():
    types = _schema()
    assert "CVEListForImage" in types["Query"][1]     # the schema was read
    tokens = _tokens(CVE_QUERY)
    assert tokens.pop(0) == "query" and tokens.pop(0) == "("
    variables = {}
    while tokens[0] != ")":
        name = tokens.pop(0)
        assert tokens.pop(0) == ":"
        vtype = tokens.pop(0)
        if tokens[0] == "!":
            vtype += tokens.pop(0)
        variables[name] = vtype
    tokens.pop(0)
    problems = []
    _check_selection(types, "Query", _parse_selection(tokens), variables, problems, "Query")
    assert problems == []
    assert tokens == []


def test_the_schema_check_catches_a_wrong_field():
    """The check above can fail: a field zot does not have is reported."""
    types = _schema()
    problems = []
    selection = _parse_selection(_tokens("{ CVEListForImage(image: $i) { Summary { HighCount SevereCount } } }"))
    _check_selection(types, "Query", selection, {"$i": "String!"}, problems, "Query")
    assert problems == ["Query.CVEListForImage.Summary.SevereCount: no such field on ImageVulnerabilitySummary"]
    problems = []
    selection = _parse_selection(_tokens("{ CVEListForImage(requestedPage: {limit: 1}) { Tag } }"))
    _check_selection(types, "Query", selection, {}, problems, "Query")
    assert problems == ["Query.CVEListForImage: required argument image missing"]


# -- zot's answers ------------------------------------------------------------------------------------------
def _result(critical=0, high=0, medium=0, low=0, unknown=0, max_severity="NONE"):
    """resolver.go getCVEListForImage: Tag, CVEList, Summary (from the whole CVE map), Page."""
    return {"data": {"CVEListForImage": {"Tag": "1.0", "Summary": {
        "MaxSeverity": max_severity, "Count": critical + high + medium + low + unknown, "UnknownCount": unknown,
        "LowCount": low, "MediumCount": medium, "HighCount": high, "CriticalCount": critical}}}}


def _error(message):
    """gqlgen's answer when a non-null field's resolver returns an error."""
    return {"errors": [{"message": message, "path": ["CVEListForImage"]}], "data": None}


def test_counts_by_severity():
    counts, max_severity = cve_summary(_result(critical=1, high=2, medium=3, low=4, unknown=5, max_severity="CRITICAL"),
                                       "a:1")
    assert counts == {"critical": 1, "high": 2, "medium": 3, "low": 4, "unknown": 5} and max_severity == "CRITICAL"
    assert cve_summary(_result(), "a:1") == ({"critical": 0, "high": 0, "medium": 0, "low": 0, "unknown": 0}, "NONE")


@pytest.mark.parametrize("answer, needle", [
    (_error("cve search is disabled"), "CVE scanning is off"),
    (_error("repo metadata not found for given repo name"), "could not list the CVEs of a:1: repo metadata not found"),
    ({"data": {"CVEListForImage": {"Tag": None, "CVEList": None, "Summary": None, "Page": None}}}, "not there or the user"),
    (_result(high=-1), "HighCount=-1"),
])
def test_answers_that_are_errors(answer, needle):
    with pytest.raises(OciRegistryError, match=re.escape(needle)):
        cve_summary(answer, "a:1")


def test_db_not_ready_is_its_own_error():
    with pytest.raises(zot_module.ZotCveNotReady, match="no CVE database yet"):
        cve_summary(_error("cve-db is not present"), "a:1")


# -- the backend over HTTP ------------------------------------------------------------------------------------
def _server(answers, manifest=True, search_status=200):
    answers = list(answers)

    def handler(request):
        if request.path.startswith("/v2/app/manifests/"):
            return (200, {"Docker-Content-Digest": DIGEST, "Content-Type": "application/vnd.oci.image.manifest.v1+json"},
                    b"") if manifest else (404, {}, {"errors": [{"code": "MANIFEST_UNKNOWN"}]})
        if request.path == SEARCH_PATH and request.method == "POST":
            if search_status != 200:
                return search_status, {}, b"404 page not found\n"
            return 200, {}, answers.pop(0) if len(answers) > 1 else answers[0]
        return 404, {}, b""
    return FakeServer(handler)


def _backend(url, config_path=None):
    zot = ZotBackend(RegistryClient(ConnectionOptions(url, username="admin", password="pw", retries=0, timeout=5)))
    zot._sleep = lambda seconds: None
    if config_path:
        zot.configure_access(AccessOptions(config_path=str(config_path), htpasswd_path=str(config_path) + ".htpasswd"))
    return zot


def test_scan_reads_the_summary():
    with _server([_result(critical=2, low=1, max_severity="CRITICAL")]) as srv:
        result = _backend(srv.url).scan("app", "1.0")
    assert result == {"repository": "app", "reference": "1.0", "digest": DIGEST, "scanned": False, "status": "Success",
                      "max_severity": "CRITICAL",
                      "vulnerabilities": {"critical": 2, "high": 0, "medium": 0, "low": 1, "unknown": 0}}
    sent = json.loads(srv.requests[-1].body)
    assert sent == {"query": CVE_QUERY, "variables": {"image": "app:1.0"}}
    assert srv.requests[-1].basic_user == "admin"


def test_scan_by_digest_names_the_image_with_at():
    with _server([_result()]) as srv:
        _backend(srv.url).scan("app", DIGEST)
    assert json.loads(srv.requests[-1].body)["variables"] == {"image": "app@" + DIGEST}


def test_scan_waits_while_zot_downloads_its_db():
    with _server([_error("cve-db is not present"), _error("cve-db is not present"), _result(medium=1)]) as srv:
        result = _backend(srv.url).scan("app", "1.0", wait=True, timeout=60)
    assert result["vulnerabilities"]["medium"] == 1
    assert len([r for r in srv.requests if r.path == SEARCH_PATH]) == 3


def test_scan_without_wait_says_the_db_is_not_ready():
    with _server([_error("cve-db is not present")]) as srv:
        with pytest.raises(OciRegistryError, match="no CVE database yet.*wait"):
            _backend(srv.url).scan("app", "1.0", wait=False)
    assert len([r for r in srv.requests if r.path == SEARCH_PATH]) == 1


def test_scan_gives_up_at_the_timeout():
    with _server([_error("cve-db is not present")]) as srv:
        zot = _backend(srv.url)
        clock = iter([0, 0, 0, 5, 5, 11, 11, 11])
        zot._clock = lambda: next(clock)
        with pytest.raises(OciRegistryError, match=r"still after 10 s \(timeout\)"):
            zot.scan("app", "1.0", wait=True, timeout=10)


def test_scan_of_a_missing_image():
    with _server([_result()], manifest=False) as srv:
        with pytest.raises(OciRegistryError, match="image app:1.0 is not in the registry"):
            _backend(srv.url).scan("app", "1.0")
    assert all(r.path != SEARCH_PATH for r in srv.requests)


def test_scan_with_search_off_answers_404():
    with _server([_result()], search_status=404) as srv:
        with pytest.raises(OciRegistryError, match="search extension is off"):
            _backend(srv.url).scan("app", "1.0")


def test_scan_with_cve_off_in_config_json_asks_nothing(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"distSpecVersion": "1.1.1", "storage": {"rootDirectory": "/var/lib/registry"},
                                  "http": {"address": "0.0.0.0", "port": "5000"},
                                  "extensions": {"search": {"enable": True}}}))
    with _server([_result()]) as srv:
        with pytest.raises(OciRegistryError, match="CVE scanning is off in .*config.json"):
            _backend(srv.url, config).scan("app", "1.0")
    assert srv.requests == []
