"""Client layer: retries, backoff, token flow, pagination, errors, against a local HTTP server."""

import hashlib
import os

import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils._client import (
    ConnectionOptions,
    RegistryClient,
    parse_challenge,
    parse_retry_after,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import (
    InvalidParameterError,
    RegistryConnectionError,
    RegistryHTTPError,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._oci import ACCEPT_MANIFESTS, OciApi

from .fake_http import FakeServer

SECRET = "s3cret-Pa55word"


def make_client(url, retries=3, username="alice", password=SECRET, **kwargs):
    sleeps = []
    opts = ConnectionOptions(url, username=username, password=password, retries=retries, timeout=5)
    client = RegistryClient(opts, sleep=sleeps.append, **kwargs)
    return client, sleeps


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.parametrize("header,expected", [
    ('Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull,push"',
     ("bearer", {"realm": "https://auth.example/token", "service": "registry", "scope": "repository:a/b:pull,push"})),
    ('Basic realm="Registry Realm"', ("basic", {"realm": "Registry Realm"})),
    ('Bearer realm=https://h/t,service=s', ("bearer", {"realm": "https://h/t", "service": "s"})),
    ("", (None, {})),
])
def test_parse_challenge(header, expected):
    assert parse_challenge(header) == expected


@pytest.mark.parametrize("value,expected", [
    ("7", 7.0),
    ("0", 0.0),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past: no wait
    ("soon", None),
    (None, None),
])
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value, now=1_900_000_000) == expected


def test_parse_retry_after_future_date():
    assert parse_retry_after("Thu, 01 Jan 2037 00:00:30 GMT", now=2114380800) == 30.0


@pytest.mark.parametrize("attempt,retry_after,expected", [
    (0, None, 0.5), (1, None, 1.0), (2, None, 2.0), (3, None, 4.0), (10, None, 30.0),
    (0, 3.0, 3.0), (0, 1000.0, 30.0), (5, -4.0, 0.0),
])
def test_backoff_is_exponential_and_clamped(attempt, retry_after, expected):
    client, _sleeps = make_client("http://127.0.0.1:1")
    assert client.backoff(attempt, retry_after) == expected


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retries_then_succeeds(status):
    calls = []

    def handler(req):
        calls.append(req)
        return (status, {}, b"busy") if len(calls) < 3 else (200, {}, {"ok": True})

    with FakeServer(handler) as srv:
        client, sleeps = make_client(srv.url)
        assert client.get_json("/v2/") == {"ok": True}
    assert len(calls) == 3
    assert sleeps == [0.5, 1.0]


def test_gives_up_after_bounded_retries_with_clear_error():
    def handler(req):
        return 503, {}, {"errors": [{"code": "UNAVAILABLE", "message": "service unavailable"}]}

    with FakeServer(handler) as srv:
        client, sleeps = make_client(srv.url, retries=2)
        with pytest.raises(RegistryHTTPError) as info:
            client.request("GET", "/v2/_catalog")
    assert len(srv.requests) == 3
    assert sleeps == [0.5, 1.0]
    msg = str(info.value)
    assert "GET %s/v2/_catalog returned HTTP 503" % srv.url in msg
    assert "UNAVAILABLE: service unavailable" in msg
    assert info.value.codes == ["UNAVAILABLE"]


def test_retry_after_header_is_honoured_and_clamped():
    answers = iter([(429, {"Retry-After": "2"}, b""), (429, {"Retry-After": "9999"}, b""), (200, {}, {})])
    with FakeServer(lambda req: next(answers)) as srv:
        client, sleeps = make_client(srv.url, backoff_max=10.0)
        client.request("GET", "/v2/")
    assert sleeps == [2.0, 10.0]


@pytest.mark.parametrize("status", [400, 404, 500])
def test_no_retry_on_other_statuses(status):
    with FakeServer(lambda req: (status, {}, b"")) as srv:
        client, sleeps = make_client(srv.url)
        with pytest.raises(RegistryHTTPError) as info:
            client.request("GET", "/v2/x/manifests/latest")
    assert len(srv.requests) == 1 and sleeps == []
    assert info.value.status == status


def test_connection_refused_is_retried_then_reported():
    port = free_port()
    client, sleeps = make_client("http://127.0.0.1:%d" % port, retries=2)
    with pytest.raises(RegistryConnectionError) as info:
        client.request("GET", "/v2/")
    assert sleeps == [0.5, 1.0]
    assert "GET http://127.0.0.1:%d/v2/ failed: Connection refused (after 3 attempts)" % port == str(info.value)


def test_dropped_connection_is_retried():
    answers = iter(["drop", 200])

    def handler(req):
        status = next(answers)
        return status, {}, {"repositories": []}

    with FakeServer(handler) as srv:
        client, sleeps = make_client(srv.url)
        assert client.get_json("/v2/_catalog") == {"repositories": []}
    assert len(sleeps) == 1


def test_upload_body_that_cannot_be_replayed_is_not_retried():
    with FakeServer(lambda req: (503, {}, b"")) as srv:
        client, sleeps = make_client(srv.url)
        with pytest.raises(RegistryHTTPError):
            client.request("PUT", "/v2/x/blobs/uploads/1", expected=(201,), data=iter([b"chunk"]))
    assert sleeps == []


def token_registry(valid_user="alice", valid_password=SECRET, issued=None):
    issued = issued if issued is not None else []

    def handler(req):
        if req.path == "/token":
            import base64
            auth = req.headers.get("Authorization", "")
            user, _sep, pw = base64.b64decode(auth[6:]).decode().partition(":") if auth.startswith("Basic ") else ("", "", "")
            if (user, pw) != (valid_user, valid_password):
                return 401, {}, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}
            token = "tok-%d" % (len(issued) + 1)
            issued.append((req.query.get("scope"), req.query.get("service")))
            return 200, {}, {"token": token}
        if req.bearer and req.bearer.startswith("tok-"):
            return 200, {"Docker-Distribution-API-Version": "registry/2.0"}, {"tags": ["v1"], "name": "a/b"}
        scope = "repository:a/b:pull" if "/a/b/" in req.path else "registry:catalog:*"
        challenge = 'Bearer realm="%s/token",service="test-registry",scope="%s"' % (handler.url, scope)
        return 401, {"WWW-Authenticate": challenge}, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}

    return handler


def test_token_flow_fetches_token_and_retries_once():
    issued = []
    handler = token_registry(issued=issued)
    with FakeServer(handler) as srv:
        handler.url = srv.url
        client, _sleeps = make_client(srv.url)
        assert client.get_json("/v2/a/b/tags/list")["tags"] == ["v1"]
        # the token is reused for the same repository: no new challenge, no new token
        client.get_json("/v2/a/b/tags/list")
    assert issued == [(["repository:a/b:pull"], ["test-registry"])]
    paths = [(r.method, r.path, r.bearer) for r in srv.requests]
    assert paths == [("GET", "/v2/a/b/tags/list", None), ("GET", "/token", None),
                     ("GET", "/v2/a/b/tags/list", "tok-1"), ("GET", "/v2/a/b/tags/list", "tok-1")]
    assert srv.requests[1].basic_user == "alice"


def test_token_flow_refused_credentials_name_user_not_password():
    handler = token_registry(valid_password="other")
    with FakeServer(handler) as srv:
        handler.url = srv.url
        client, _sleeps = make_client(srv.url)
        with pytest.raises(RegistryHTTPError) as info:
            client.request("GET", "/v2/a/b/tags/list")
    msg = str(info.value)
    assert "GET %s/token returned HTTP 401" % srv.url in msg
    assert "refused the credentials of user 'alice'" in msg
    assert SECRET not in msg and SECRET not in repr(info.value.details)


def test_basic_auth_refused_message_names_user_only():
    with FakeServer(lambda req: (401, {"WWW-Authenticate": 'Basic realm="r"'},
                                 {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]})) as srv:
        client, _sleeps = make_client(srv.url)
        with pytest.raises(RegistryHTTPError) as info:
            client.request("GET", "/v2/")
    assert srv.requests[0].basic_user == "alice"
    assert "refused the credentials of user 'alice'" in str(info.value)
    assert SECRET not in str(info.value)


def test_pagination_follows_link_headers():
    names = ["repo%02d" % i for i in range(7)]

    def handler(req):
        n = int(req.query["n"][0])
        last = req.query.get("last", [""])[0]
        start = names.index(last) + 1 if last else 0
        page = names[start:start + n]
        headers = {}
        if start + n < len(names):
            headers["Link"] = '</v2/_catalog?last=%s&n=%d>; rel="next"' % (page[-1], n)
        return 200, headers, {"repositories": page}

    with FakeServer(handler) as srv:
        client, _sleeps = make_client(srv.url)
        assert OciApi(client).catalog(page_size=3) == names
    assert len(srv.requests) == 3


def test_pagination_without_key_for_harbor_lists():
    def handler(req):
        page = int(req.query.get("page", ["1"])[0])
        headers = {"X-Total-Count": "5"}
        if page < 3:
            headers["Link"] = '<%s/api/v2.0/projects?page=%d&page_size=2>; rel="next"' % (handler.url, page + 1)
        return 200, headers, [{"name": "p%d" % i} for i in range((page - 1) * 2, min(page * 2, 5))]

    with FakeServer(handler) as srv:
        handler.url = srv.url
        client, _sleeps = make_client(srv.url)
        items = list(client.paginate("/api/v2.0/projects", page_size=2))
    assert [i["name"] for i in items] == ["p0", "p1", "p2", "p3", "p4"]
    assert srv.requests[0].query["page_size"] == ["2"]


def test_pagination_loop_is_detected():
    with FakeServer(lambda req: (200, {"Link": '</v2/_catalog?last=a&n=1>; rel="next"'}, {"repositories": ["a"]})) as srv:
        client, _sleeps = make_client(srv.url)
        with pytest.raises(Exception) as info:
            OciApi(client).catalog(page_size=1)
    assert "pagination loop" in str(info.value)


def test_manifest_requests_accept_every_manifest_type():
    with FakeServer(lambda req: (200, {"Docker-Content-Digest": "sha256:" + "0" * 64,
                                       "Content-Type": "application/vnd.oci.image.manifest.v1+json"}, b"{}")) as srv:
        client, _sleeps = make_client(srv.url)
        ref = OciApi(client).head_manifest("a/b", "latest")
    accept = srv.requests[0].headers["Accept"]
    assert accept == ACCEPT_MANIFESTS
    for media_type in ("application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
                       "application/vnd.docker.distribution.manifest.v2+json",
                       "application/vnd.docker.distribution.manifest.list.v2+json"):
        assert media_type in accept
    assert ref.media_type == "application/vnd.oci.image.manifest.v1+json"


def test_chunked_upload_sends_ranges_and_keeps_upload_state():
    data = os.urandom(10)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    state = {"n": 0}

    def handler(req):
        if req.method == "POST":
            return 202, {"Location": "/v2/a/blobs/uploads/u1?_state=s0"}, b""
        if req.method == "PATCH":
            state["n"] += 1
            return 202, {"Location": "/v2/a/blobs/uploads/u1?_state=s%d" % state["n"]}, b""
        return 201, {"Docker-Content-Digest": digest}, b""

    with FakeServer(handler) as srv:
        client, _sleeps = make_client(srv.url)
        OciApi(client).upload_blob_chunked("a", [data[:4], data[4:8], data[8:]], digest)
    patches = [r for r in srv.requests if r.method == "PATCH"]
    assert [p.headers["Content-Range"] for p in patches] == ["0-3", "4-7", "8-9"]
    assert b"".join(p.body for p in patches) == data
    final = srv.requests[-1]
    assert final.method == "PUT" and final.query == {"_state": ["s3"], "digest": [digest]}


@pytest.mark.parametrize("status,mounted", [(201, True), (202, False)])
def test_mount_blob(status, mounted):
    def handler(req):
        if req.method == "POST":
            return status, {"Location": "/v2/b/blobs/uploads/u9"}, b""
        return 204, {}, b""

    with FakeServer(handler) as srv:
        client, _sleeps = make_client(srv.url)
        assert OciApi(client).mount_blob("b", "sha256:" + "1" * 64, "a") is mounted
    assert srv.requests[0].query == {"mount": ["sha256:" + "1" * 64], "from": ["a"]}
    assert [r.method for r in srv.requests] == (["POST"] if mounted else ["POST", "DELETE"])


@pytest.mark.parametrize("url,fragment", [
    ("", "registry_url is required"),
    ("registry.example.com:5000", "must be an http:// or https:// URL"),
    ("ftp://registry.example.com", "must be an http:// or https:// URL"),
    ("https://admin:%s@registry.example.com" % SECRET, "must not carry credentials"),
    ("https://registry.example.com:99999", "is not a valid URL"),
    ("https://registry.example.com/?x=1", "query string"),
])
def test_bad_registry_url(url, fragment):
    with pytest.raises(InvalidParameterError) as info:
        ConnectionOptions(url)
    assert fragment in str(info.value)
    assert SECRET not in str(info.value)


def test_unreadable_ca_path_is_named(tmp_path):
    missing = str(tmp_path / "nope.pem")
    with pytest.raises(InvalidParameterError) as info:
        ConnectionOptions("https://r.example", ca_path=missing)
    assert str(info.value).startswith("ca_path '%s' is not a readable file" % missing)


@pytest.mark.parametrize("kwargs,fragment", [
    (dict(timeout=0), "timeout must be"),
    (dict(retries=-1), "retries must be between 0 and 20"),
    (dict(client_cert=__file__), "client_cert and client_key must be given together"),
    (dict(password="x"), "password was given without username"),
])
def test_bad_connection_options(kwargs, fragment):
    with pytest.raises(InvalidParameterError) as info:
        ConnectionOptions("https://r.example", **kwargs)
    assert fragment in str(info.value)
