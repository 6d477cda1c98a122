"""The access front's authentication service (roles/distribution/files/front_auth.py) and the nginx
configuration that asks it (auth_request), without containers: real bcrypt and PyJWT, real files.
The live checks with real clients are in tests/integration/auth/."""

import base64
import http.client
import importlib.util
import os
import re
import socket
import stat
import threading
import time

import jwt
import pytest

from ansible_collections.provisioning.oci_registry.plugins.module_utils import _front
from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import InvalidParameterError
from ansible_collections.provisioning.oci_registry.plugins.module_utils._htpasswd import hash_password
from ansible_collections.provisioning.oci_registry.plugins.module_utils._model import normalize_namespaces

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SPEC = importlib.util.spec_from_file_location("front_auth", os.path.join(ROOT, "roles", "distribution", "files",
                                                                         "front_auth.py"))
front_auth = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(front_auth)

SETTINGS = {"htpasswd_path": "/etc/oci-registry/htpasswd", "upstream": "oci-registry:5000",
            "auth_service": "oci-registry-auth:5001"}
PASSWORDS = {"admin": "Adm1n-secret", "alice": "Alice-secret", "bob": "Bob-secret"}


def platform_access():
    access = _front.empty_access()
    for name in PASSWORDS:
        access = _front.set_user(access, name, name == "admin")
    for namespace in normalize_namespaces(None):
        access = _front.set_namespace(access, namespace, keep_policies=False)
    return access


@pytest.fixture
def service(tmp_path):
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text("".join("%s:%s\n" % (n, hash_password(p, rounds=10)) for n, p in PASSWORDS.items()))
    grants = tmp_path / "grants.json"
    grants.write_text(_front.grants_to_text(platform_access()))
    key = tmp_path / "token.key"
    key.write_text("k" * 20 + os.urandom(16).hex() + "\n")
    files = front_auth.Files(str(htpasswd), str(grants), str(key))
    svc = front_auth.Service(files, front_auth.Guard(files, delay=0.0, max_failures=5), "oci-registry", ttl=60)
    svc.paths = {"htpasswd": htpasswd, "grants": grants, "key": key}
    return svc


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def ask(svc, method, path, authorization="", anonymous="0", source=""):
    headers = {"X-Front-Uri": path, "X-Front-Method": method, "X-Front-Anonymous": anonymous,
               "Authorization": authorization}
    if source:
        headers["X-Front-From"] = source
    return svc.authenticate(headers, "10.0.0.1")


def issue(svc, user, scopes):
    auth = {"Authorization": basic(user, PASSWORDS[user])} if user else {}
    status, body = svc.token(auth, "service=oci-registry&" + "&".join("scope=" + s for s in scopes), "10.0.0.1")
    assert status == 200, body
    return body["token"]


# -- nginx.conf with auth_request ---------------------------------------------------------------
def test_config_asks_the_service_instead_of_auth_basic():
    text, _w = _front.render(SETTINGS, platform_access())
    assert text.count("{") == text.count("}")
    assert "auth_basic" not in text
    assert "auth_request /_front_auth;" in text
    assert "set $front_auth http://oci-registry-auth:5001;" in text
    # The verified user, sent only on the way to the internal server (see the direct route below).
    assert "proxy_set_header X-Oci-Front-User $front_route_user;" in text
    assert re.search(r"map \$front_route \$front_route_user \{\n    front_internal_8081 \$front_user;\n", text)
    # The main request's path, arguments and anonymous decision, not the subrequest's own.
    assert "set $front_path $uri;" in text and "proxy_set_header X-Front-Uri $front_path;" in text
    assert "proxy_set_header X-Front-Anonymous $front_anonymous_read;" in text
    # An anonymous token opens /v2/ (only a verified request reaches the internal server).
    assert '":_base:read" 1;' in text
    assert "location = /token" in text and "limit_except GET" in text


def _map(text, header):
    start = text.index("  map %s {" % header)
    return text[start:text.index("\n  }", start)].split("\n")[1:]


def test_allowed_requests_go_straight_to_the_registry_on_the_same_rules():
    """Issue 13: the public server sends what the verified user may do to the registry itself, with
    the internal server's own rules; anything else still goes through the internal server (403)."""
    text, _w = _front.render(SETTINGS, platform_access())
    assert text.count("{") == text.count("}")
    internal = [line for line in _map(text, '"$http_x_oci_front_user:$front_ns:$front_action" $front_allow')
                if not line.lstrip().startswith("#")]
    verified = _map(text, '"$front_user:$front_ns:$front_action" $front_allow_verified')
    assert verified == internal and '    "~^admin:" 1;' in verified and '    ":_base:read" 1;' in verified
    mount = _map(text, '"$http_x_oci_front_user:$front_from_ns:read" $front_mount_allow')
    assert _map(text, '"$front_user:$front_from_ns:read" $front_mount_verified') == mount
    # Keyed on $front_user (auth_request_set, from the service), never on a client's header.
    assert text.count("$http_x_oci_front_user") == 2
    assert text.index("  server {") > text.index("$front_mount_verified {")
    route = _map(text, '"$front_allow_verified$front_mount_verified" $front_route')
    assert route == ['    "11" oci-registry:5000;', "    default front_internal_8081;"]
    public = text[text.index("    location /v2/ {"):]
    public = public[:public.index("\n    }")]
    assert "proxy_pass http://$front_route;" in public and "auth_request /_front_auth;" in public
    # The internal server is unchanged: it decides again and answers 403.
    assert "listen 127.0.0.1:8081;" in text and "if ($front_allow = 0) {" in text


def test_every_internal_hop_keeps_its_connections():
    settings = dict(SETTINGS, mirrors=[{"name": "hub", "namespace": "provisioning-test", "url": "https://hub.example",
                                        "listen": 5101, "port": 5101, "upstream": "oci-registry-hub:5000"}])
    text, _w = _front.render(settings, platform_access())
    for port in (8081, 8101):
        upstream = re.search(r"(?s)upstream front_internal_%d \{(.*?)\}" % port, text).group(1)
        assert "server 127.0.0.1:%d;" % port in upstream and "keepalive 16;" in upstream
    assert "proxy_pass http://front_internal_8101;" in text  # the mirror's public server, to its internal one
    assert "proxy_pass http://127.0.0.1:" not in text
    basic, _w = _front.render(dict(SETTINGS, auth_service=""), platform_access())
    assert "proxy_pass http://front_internal_8081;" in basic and "$front_route" not in basic


def test_config_without_the_service_keeps_auth_basic():
    text, _w = _front.render(dict(SETTINGS, auth_service=""), platform_access())
    assert "auth_basic $front_realm;" in text and "auth_request" not in text and '":_base:read"' not in text


@pytest.mark.parametrize("value", ["auth; evil", "http://auth:5001", "auth", "auth:port", "unix:relative/auth.sock",
                                   "unix:/run/auth.sock; evil", "unix:"])
def test_bad_auth_service(value):
    with pytest.raises(InvalidParameterError) as err:
        _front.render(dict(SETTINGS, auth_service=value), platform_access())
    assert "auth_service must be host:port or unix:/absolute/path" in str(err.value)
    assert repr(value) in str(err.value)


def test_config_on_a_unix_socket_keeps_connections_to_the_service():
    text, _w = _front.render(dict(SETTINGS, auth_service="unix:/etc/oci-registry/front/run/auth.sock"),
                             platform_access())
    assert text.count("{") == text.count("}")
    upstream = re.search(r"(?s)upstream front_auth_service \{(.*?)\}", text).group(1)
    assert "server unix:/etc/oci-registry/front/run/auth.sock;" in upstream and "keepalive 16;" in upstream
    # Both the subrequest and /token use it, as HTTP/1.1 without "Connection: close".
    for location, target in (("location = /_front_auth", "/auth;"), ("location = /token", "/token$is_args$args;")):
        block = text[text.index(location):]
        block = block[:block.index("\n    }")]
        assert "proxy_pass http://front_auth_service" + target in block, block
        assert 'proxy_set_header Connection "";' in block, block
    assert "proxy_http_version 1.1;" in text
    assert "$front_auth " not in text and "set $front_auth " not in text


def test_anonymous_reads_without_credentials_skip_the_service():
    """The subrequest answers 200 itself only when there are no credentials and an anonymous read is
    allowed: what the service answers then (test_anonymous_requests below)."""
    text, _w = _front.render(SETTINGS, platform_access())
    assert "set $front_auth_skip $front_credentials$front_anonymous;" in text
    block = text[text.index("location = /_front_auth"):]
    skip = block.index("if ($front_auth_skip = 01) {\n        return 200;\n      }")
    assert skip < block.index("proxy_pass"), block
    # $front_credentials is 0 only for no header or an empty Basic credential (skopeo's ":").
    credentials = re.search(r"(?s)map \$http_authorization \$front_credentials \{(.*?)\}", text).group(1)
    assert '"" 0;' in credentials and '"~*^basic +(og==)?$" 0;' in credentials and "default 1;" in credentials


# -- grants: the service scopes tokens as the nginx rules decide ---------------------------------
@pytest.mark.parametrize("user", ["admin", "alice", ""])
@pytest.mark.parametrize("repository", ["provisioning-test/app", "provisioning-kcl/lib", "provisioning-platform/base",
                                        "provisioning-extensions/x/y", "elsewhere/app", "provisioning-test"])
def test_token_actions_match_the_front_rules(service, user, repository):
    granted = service.files.granted(user, repository)
    for method, action in (("GET", "pull"), ("POST", "push"), ("DELETE", "delete")):
        decision = _front.decide(platform_access(), user or None, method, "/v2/%s/manifests/v1" % repository)
        assert (action in granted) == (decision == "allow"), (user, repository, method, decision)


# -- Basic credentials ---------------------------------------------------------------------------
def test_basic_is_verified_once_then_cached(service):
    started = time.monotonic()
    assert ask(service, "GET", "/v2/", basic("alice", PASSWORDS["alice"]))[:2] == (200, "alice")
    first = time.monotonic() - started
    started = time.monotonic()
    for _request in range(20):
        assert ask(service, "GET", "/v2/", basic("alice", PASSWORDS["alice"]))[:2] == (200, "alice")
    cached = (time.monotonic() - started) / 20
    assert cached < first / 10, (first, cached)
    assert ask(service, "GET", "/v2/", basic("alice", "wrong"))[0] == 401
    assert ask(service, "GET", "/v2/", basic("nobody", "x"))[0] == 401


def test_changed_password_and_removed_user_miss_the_cache(service):
    assert ask(service, "GET", "/v2/", basic("alice", PASSWORDS["alice"]))[0] == 200
    assert ask(service, "GET", "/v2/", basic("bob", PASSWORDS["bob"]))[0] == 200
    lines = [line for line in service.paths["htpasswd"].read_text().splitlines() if not line.startswith("bob:")]
    lines = [("alice:" + hash_password("Alice-new", rounds=10)) if line.startswith("alice:") else line
             for line in lines]
    service.paths["htpasswd"].write_text("\n".join(lines) + "\n")
    service.files.refresh()
    assert ask(service, "GET", "/v2/", basic("alice", PASSWORDS["alice"]))[0] == 401
    assert ask(service, "GET", "/v2/", basic("bob", PASSWORDS["bob"]))[0] == 401
    assert ask(service, "GET", "/v2/", basic("alice", "Alice-new"))[0] == 200


def test_failures_are_limited_per_address(service):
    for _attempt in range(5):
        assert not service.guard.check("alice", "guess", "10.0.0.9")
    assert service.guard.blocked("10.0.0.9")
    assert not service.guard.check("alice", PASSWORDS["alice"], "10.0.0.9")  # locked out, even when right
    assert service.guard.check("alice", PASSWORDS["alice"], "10.0.0.8")  # another address is not
    status, body = service.token({"Authorization": basic("alice", PASSWORDS["alice"])}, "", "10.0.0.9")
    assert status == 429 and "too many failed logins" in body["errors"][0]["message"]


@pytest.mark.parametrize("header, expected", [
    ("", None), ("Basic ", None), ("Basic Og==", None),
    (basic("alice", "pw"), ("alice", "pw")), (basic("alice", "p:w"), ("alice", "p:w")),
])
def test_parse_basic(header, expected):
    assert front_auth.parse_basic(header) == expected


@pytest.mark.parametrize("header", ["Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode(), "Digest x"])
def test_parse_basic_refuses_malformed(header):
    with pytest.raises(ValueError):
        front_auth.parse_basic(header)


# -- tokens ----------------------------------------------------------------------------------------
def test_anonymous_requests(service):
    status, user, scope, _e = ask(service, "GET", "/v2/provisioning-kcl/lib/manifests/v1")
    assert (status, scope) == (401, "repository:provisioning-kcl/lib:pull")
    assert ask(service, "GET", "/v2/provisioning-test/app/manifests/v1", anonymous="1")[:2] == (200, "")
    challenge = service.challenge({"Host": "reg:5000", "X-Forwarded-Proto": "https"}, scope, None)
    assert challenge == ('Bearer realm="https://reg:5000/token",service="oci-registry",'
                         'scope="repository:provisioning-kcl/lib:pull"')


def test_token_scope_is_requested_and_granted(service):
    token = issue(service, "alice", ["repository:provisioning-kcl/lib:pull,push,delete",
                                     "repository:provisioning-platform/base:push"])
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["access"] == [{"type": "repository", "name": "provisioning-kcl/lib", "actions": ["pull", "push"]}]
    assert claims["exp"] - claims["iat"] == 60
    bearer = "Bearer " + token
    assert ask(service, "PUT", "/v2/provisioning-kcl/lib/manifests/v1", bearer)[:2] == (200, "alice")
    assert ask(service, "DELETE", "/v2/provisioning-kcl/lib/manifests/v1", bearer)[0] == 401
    assert ask(service, "GET", "/v2/provisioning-kcl/other/manifests/v1", bearer)[0] == 401
    assert ask(service, "POST", "/v2/provisioning-platform/base/blobs/uploads/", bearer)[3] == "insufficient_scope"
    assert ask(service, "GET", "/v2/", bearer)[:2] == (200, "alice")
    # A blob mount needs pull on its source in the token too.
    assert ask(service, "POST", "/v2/provisioning-kcl/lib/blobs/uploads/", bearer,
               source="provisioning-platform/base")[0] == 401
    both = "Bearer " + issue(service, "alice", ["repository:provisioning-kcl/lib:pull,push",
                                                "repository:provisioning-platform/base:pull"])
    assert ask(service, "POST", "/v2/provisioning-kcl/lib/blobs/uploads/", both,
               source="provisioning-platform/base")[0] == 200


def test_anonymous_token(service):
    token = issue(service, "", ["repository:provisioning-test/app:pull,push", "repository:provisioning-kcl/lib:pull"])
    assert jwt.decode(token, options={"verify_signature": False})["access"] == [
        {"type": "repository", "name": "provisioning-test/app", "actions": ["pull"]}]
    assert ask(service, "GET", "/v2/provisioning-test/app/manifests/v1", "Bearer " + token)[:2] == (200, "")
    assert ask(service, "GET", "/v2/provisioning-kcl/lib/manifests/v1", "Bearer " + token)[0::3] == (401, None)


def test_catalog_only_for_admins(service):
    assert ask(service, "GET", "/v2/_catalog", "Bearer " + issue(service, "alice", ["registry:catalog:*"]))[0] == 401
    assert ask(service, "GET", "/v2/_catalog", "Bearer " + issue(service, "admin", ["registry:catalog:*"]))[0] == 200


def test_tokens_that_are_not_valid_now_are_refused(service):
    key = service.files.key
    now = int(time.time())
    base = {"iss": front_auth.ISSUER, "aud": "oci-registry", "sub": "alice", "iat": now, "exp": now + 60,
            "gen": service.files.generation("alice"),
            "access": [{"type": "repository", "name": "provisioning-kcl/lib", "actions": ["pull"]}]}
    path = "/v2/provisioning-kcl/lib/manifests/v1"
    assert ask(service, "GET", path, "Bearer " + jwt.encode(base, key, algorithm="HS256"))[0] == 200
    for claims, signing_key, algorithm in (
            (dict(base, exp=now - 1, iat=now - 61), key, "HS256"),     # expired
            (dict(base, aud="other"), key, "HS256"),                   # another service
            (dict(base, iss="someone"), key, "HS256"),                 # another issuer
            (dict(base, gen="0" * 32), key, "HS256"),                  # an older htpasswd entry
            (dict(base, sub="nobody"), key, "HS256"),                  # no such user
            (base, b"another key of at least 32 bytes...", "HS256"),   # another key
            (base, None, "none")):                                     # unsigned
        token = jwt.encode(claims, signing_key, algorithm=algorithm)
        assert ask(service, "GET", path, "Bearer " + token)[0] == 401, claims


def test_token_of_a_changed_user_is_refused(service):
    token = "Bearer " + issue(service, "alice", ["repository:provisioning-kcl/lib:pull"])
    path = "/v2/provisioning-kcl/lib/manifests/v1"
    assert ask(service, "GET", path, token)[0] == 200
    text = service.paths["htpasswd"].read_text()
    service.paths["htpasswd"].write_text(re.sub(r"(?m)^alice:.*$", "alice:" + hash_password("Other-1", rounds=10), text))
    service.files.refresh()
    assert ask(service, "GET", path, token)[0] == 401


def test_grants_file_changes_are_picked_up(service):
    access = _front.set_namespace(platform_access(), {"name": "provisioning-kcl", "public": True},
                                  keep_policies=True)
    service.paths["grants"].write_text(_front.grants_to_text(access))
    service.files.refresh()
    assert "pull" in service.files.granted("", "provisioning-kcl/lib")


# -- the service on a Unix socket, kept alive ----------------------------------------------------
class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=10)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def test_service_on_a_unix_socket_keeps_the_connection(service, tmp_path):
    path = str(tmp_path / "run" / "auth.sock")
    os.makedirs(os.path.dirname(path))
    # A socket left by an earlier run of the service is replaced.
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()
    front_auth.Handler.service = service
    server = front_auth.make_server("unix:" + path)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        mode = os.stat(path).st_mode
        assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o660
        connection = UnixConnection(path)
        headers = {"X-Front-Uri": "/v2/provisioning-kcl/lib/manifests/v1", "X-Front-Method": "GET",
                   "X-Front-Anonymous": "0", "X-Real-IP": "10.0.0.9",
                   "Authorization": basic("alice", PASSWORDS["alice"])}
        peers = set()
        for _request in range(5):
            connection.request("GET", "/auth", headers=headers)
            answer = connection.getresponse()
            answer.read()
            assert answer.status == 200 and answer.getheader("X-Front-User") == "alice"
            assert answer.version == 11 and answer.getheader("Connection") is None
            peers.add(connection.sock)
        assert len(peers) == 1  # one connection for all five
        connection.request("GET", "/auth", headers=dict(headers, Authorization=basic("alice", "wrong")))
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 401 and answer.getheader("WWW-Authenticate").startswith("Bearer realm=")
        connection.close()
    finally:
        server.shutdown()
        server.server_close()


def test_service_refuses_a_relative_socket_path():
    with pytest.raises(ValueError) as err:
        front_auth.make_server("unix:run/auth.sock")
    assert "absolute path" in str(err.value)
