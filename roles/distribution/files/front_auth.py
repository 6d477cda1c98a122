# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""Authentication for the access front of Distribution (nginx ``auth_request``).

nginx asks ``GET /auth`` before every request under ``/v2/``; this service answers 200 with the
verified user name in ``X-Front-User`` (empty: anonymous), or 401 with a challenge. nginx then
authorizes the user per namespace with its maps (plugins/module_utils/_front.py), as before.

* Basic credentials: bcrypt is verified once; the verified credential is cached under an HMAC of
  (user, password, the user's htpasswd entry) with the token key, so a changed password or a
  removed user misses the cache and is refused on the next request.
* The registry token flow (the "Docker Registry v2 authentication" specification, as Distribution's
  ``auth: token`` and Harbor implement it): a request without credentials that is not an anonymous
  read gets 401 ``Bearer realm="<front>/token",service=...,scope=...``; ``GET /token`` checks the
  password once (or issues an anonymous token) and returns a short-lived HS256 JWT (PyJWT) whose
  ``access`` lists the requested actions that the access model grants (``grants.json``, written
  with nginx.conf by the modules). Each request then verifies the token: signature, expiry,
  audience, that its scope covers the repository and action of the request, and that the user's
  htpasswd entry is the one it was issued for.
* Transport: nginx keeps connections to the service open (``upstream ... keepalive`` over a Unix
  socket, ``--listen unix:PATH``), and the service answers HTTP/1.1 with keep-alive: a request under
  /v2/ costs no TCP connection, no DNS lookup and no new thread here.
* State: the htpasswd file, grants.json and the key file, all re-read when they change; nothing
  in memory decides, so replicas with the same files accept each other's tokens.
* Never logged: passwords, Authorization headers, tokens. A failed login costs a full bcrypt
  check (failures are never cached), then a delay; more than ``--max-failures`` failures per
  client address in a minute are refused without a check until the minute has passed.
"""

import argparse
import base64
import binascii
import collections
import hashlib
import hmac
import http.server
import json
import os
import re
import secrets
import socketserver
import stat
import sys
import threading
import time
import urllib.parse

import bcrypt
import jwt

ISSUER = "provisioning.oci_registry front"
# A repository name and the route after it, as Distribution's router reads them
# (distribution/reference/regexp.go and registry/api/v2/routes.go); the name is greedy, as there.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME = r"%s(?:/%s)*" % (_COMPONENT, _COMPONENT)
REQUEST_RE = re.compile(r"^/v2/(?P<name>%s)/(?:manifests|blobs|tags|referrers)/" % _NAME)
NAME_RE = re.compile(r"^%s$" % _NAME)
SCOPE_RE = re.compile(r"^repository(?:\([a-z0-9]+\))?:(?P<name>%s):(?P<actions>[a-z*,]*)$" % _NAME)
METHOD_ACTIONS = {"GET": "pull", "HEAD": "pull", "POST": "push", "PUT": "push", "PATCH": "push",
                  "DELETE": "delete"}
# The access model's actions (plugins/module_utils/_model.py) as token actions.
MODEL_ACTIONS = {"read": "pull", "write": "push", "delete": "delete"}
CACHE_SIZE = 4096


class Files:
    """The htpasswd file, grants.json and the key, re-read when their stat changes."""

    def __init__(self, htpasswd, grants, key):
        self.paths = {"htpasswd": htpasswd, "grants": grants, "key": key}
        self.stamps = {}
        self.lock = threading.Lock()
        self.users = {}
        self.namespaces = []
        self.rules = []
        self.key = b""
        self.refresh()

    @staticmethod
    def _stamp(path):
        st = os.stat(path)
        return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def refresh(self):
        stamps = dict((name, self._stamp(path)) for name, path in self.paths.items())
        if stamps == self.stamps:
            return
        with self.lock:
            users = {}
            with open(self.paths["htpasswd"], encoding="utf-8") as handle:
                for line in handle:
                    name, sep, hashed = line.strip().partition(":")
                    if sep and name and hashed:
                        users[name] = hashed
            with open(self.paths["grants"], encoding="utf-8") as handle:
                grants = json.load(handle)
            with open(self.paths["key"], "rb") as handle:
                key = handle.read().strip()
            if len(key) < 32:
                raise SystemExit("front_auth: the key file %s holds fewer than 32 bytes" % self.paths["key"])
            self.users, self.key = users, key
            self.namespaces = list(grants.get("namespaces") or [])
            self.rules = [tuple(rule) for rule in grants.get("rules") or []]
            self.stamps = stamps

    def generation(self, user):
        """Identifies the user's current htpasswd entry (None: no such user)."""
        hashed = self.users.get(user)
        if hashed is None:
            return None
        return hmac.new(self.key, b"generation\0" + user.encode() + b"\0" + hashed.encode(),
                        hashlib.sha256).hexdigest()[:32]

    # The access model: plugins/module_utils/_front.py (namespace_of, decide), over grants.json.
    def namespace_of(self, repository):
        for namespace in self.namespaces:  # deepest first
            if repository == namespace or repository.startswith(namespace + "/"):
                return namespace
        return None

    def granted(self, user, repository):
        """Token actions the access model grants ``user`` ('' = anonymous) on ``repository``."""
        namespace = self.namespace_of(repository)
        actions = set()
        for kind, who, ns, action in self.rules:
            if kind == "admin":
                if user and who == user:
                    return {"pull", "push", "delete"}
                continue
            if ns != namespace or action not in MODEL_ACTIONS:
                continue
            if (kind == "user" and user and who == user) or (kind == "authenticated" and user) \
                    or (kind == "anonymous" and not user):
                actions.add(MODEL_ACTIONS[action])
        return actions

    def is_admin(self, user):
        return bool(user) and any(kind == "admin" and who == user for kind, who, _n, _a in self.rules)


class Guard:
    """Verified Basic credentials (keyed HMAC) and the failures per client address."""

    def __init__(self, files, delay, max_failures, window=60.0, checks=2):
        self.files = files
        self.delay = delay
        self.max_failures = max_failures
        self.window = window
        self.cache = collections.OrderedDict()
        self.failures = {}
        self.lock = threading.Lock()
        # bcrypt checks at once: more would only share the same cores.
        self.checks = threading.BoundedSemaphore(checks)
        self._dummy = bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(12))

    def _cache_key(self, user, password, hashed):
        message = b"\0".join((b"basic", user.encode(), password.encode(), hashed.encode()))
        return hmac.new(self.files.key, message, hashlib.sha256).digest()

    def blocked(self, client):
        now = time.monotonic()
        with self.lock:
            recent = [t for t in self.failures.get(client, ()) if now - t < self.window]
            if recent:
                self.failures[client] = recent
            else:
                self.failures.pop(client, None)
            return len(recent) >= self.max_failures

    def _failed(self, client):
        with self.lock:
            self.failures.setdefault(client, []).append(time.monotonic())
            if len(self.failures) > 100000:  # bounded memory under a spray from many addresses
                self.failures.clear()
        time.sleep(self.delay)

    def check(self, user, password, client):
        """True when the password is the user's; a failure is delayed and counted."""
        if self.blocked(client):
            time.sleep(self.delay)
            return False
        hashed = self.files.users.get(user)
        if hashed is not None:
            key = self._cache_key(user, password, hashed)
            with self.lock:
                if key in self.cache:
                    self.cache.move_to_end(key)
                    return True
        encoded = password.encode("utf-8")
        with self.checks:
            if hashed is None or not hashed.startswith(("$2y$", "$2b$", "$2a$")) or len(encoded) > 72:
                bcrypt.checkpw(b"x", self._dummy)  # the same cost as a real check
                ok = False
            else:
                try:
                    ok = bcrypt.checkpw(encoded, ("$2b$" + hashed[4:]).encode("ascii"))
                except ValueError:
                    ok = False
        if not ok:
            self._failed(client)
            return False
        with self.lock:
            self.cache[key] = True
            while len(self.cache) > CACHE_SIZE:
                self.cache.popitem(last=False)
        return True


def parse_basic(header):
    """(user, password) from a Basic header; None for no credentials (absent, or empty as
    containers/image clients send them); ValueError when malformed."""
    if not header:
        return None
    scheme, _sep, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise ValueError("not basic")
    value = value.strip()
    if not value:
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError("malformed basic credentials") from None
    user, sep, password = decoded.partition(":")
    if not sep:
        raise ValueError("malformed basic credentials") from None
    if not user and not password:
        return None
    return user, password


def parse_scopes(values):
    """{repository: set(actions)} from the ``scope`` parameters (several per parameter, space
    separated); other resource types are ignored, except registry:catalog:*."""
    scopes, catalog = {}, False
    for value in values:
        for scope in value.split():
            if scope == "registry:catalog:*":
                catalog = True
                continue
            match = SCOPE_RE.match(scope)
            if match:
                actions = set(a for a in match.group("actions").split(",") if a)
                if "*" in actions:
                    actions = {"pull", "push", "delete"}
                scopes.setdefault(match.group("name"), set()).update(actions)
    return scopes, catalog


class Service:
    def __init__(self, files, guard, service, ttl):
        self.files = files
        self.guard = guard
        self.service = service
        self.ttl = ttl

    # -- tokens ---------------------------------------------------------------------------
    def issue(self, user, scopes, catalog):
        now = int(time.time())
        access = []
        for name in sorted(scopes):
            actions = sorted(scopes[name] & self.files.granted(user, name))
            if actions:
                access.append({"type": "repository", "name": name, "actions": actions})
        if catalog and self.files.is_admin(user):
            access.append({"type": "registry", "name": "catalog", "actions": ["*"]})
        claims = {"iss": ISSUER, "aud": self.service, "sub": user, "iat": now, "nbf": now - 1,
                  "exp": now + self.ttl, "jti": secrets.token_hex(12), "access": access,
                  "gen": self.files.generation(user) if user else ""}
        token = jwt.encode(claims, self.files.key, algorithm="HS256")
        if isinstance(token, bytes):
            token = token.decode("ascii")
        return {"token": token, "access_token": token, "expires_in": self.ttl,
                "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))}

    def verify(self, token):
        """The token's claims, or None when it is not valid now."""
        try:
            claims = jwt.decode(token, self.files.key, algorithms=["HS256"], audience=self.service,
                                issuer=ISSUER, options={"require": ["exp", "iat", "sub", "aud", "iss"]})
        except jwt.PyJWTError:
            return None
        user = claims.get("sub")
        if not isinstance(user, str) or not isinstance(claims.get("access"), list):
            return None
        if user and (claims.get("gen") != self.files.generation(user)):
            return None  # removed user, or a password changed since the token was issued
        return claims

    @staticmethod
    def covers(claims, kind, name, action):
        for entry in claims["access"]:
            if isinstance(entry, dict) and entry.get("type") == kind and entry.get("name") == name:
                actions = entry.get("actions") or []
                if action in actions or "*" in actions:
                    return True
        return False

    # -- nginx's subrequest ---------------------------------------------------------------
    def authenticate(self, headers, client):
        """(status, user, challenge scope, error)."""
        path = headers.get("X-Front-Uri", "")
        method = headers.get("X-Front-Method", "").upper()
        action = METHOD_ACTIONS.get(method)
        match = REQUEST_RE.match(path)
        repository = match.group("name") if match else None
        scope = ""
        if repository and action:
            scope = "repository:%s:%s" % (repository, "pull" if action == "pull" else "pull,%s" % action)
        elif path == "/v2/_catalog":
            scope = "registry:catalog:*"
        header = headers.get("Authorization", "")
        if header[:7].lower() == "bearer ":
            claims = self.verify(header[7:].strip())
            if claims is None:
                return 401, None, scope, "invalid_token"
            if path == "/v2/" or path == "/v2":
                return 200, claims["sub"], scope, None
            if path == "/v2/_catalog":
                ok = self.covers(claims, "registry", "catalog", "*")
            else:
                ok = bool(repository and action) and self.covers(claims, "repository", repository, action)
                source = headers.get("X-Front-From", "")
                if ok and source:
                    source = urllib.parse.unquote(source)
                    ok = bool(NAME_RE.match(source)) and self.covers(claims, "repository", source, "pull")
            if not ok:
                # An anonymous token is answered as no credentials at all: the client is told to log in
                # (clients such as Docker report "unauthorized"); a user's token lacks the scope.
                return 401, None, scope, "insufficient_scope" if claims["sub"] else None
            return 200, claims["sub"], scope, None
        try:
            credentials = parse_basic(header)
        except ValueError:
            return 401, None, scope, None
        if credentials is None:
            if headers.get("X-Front-Anonymous") == "1":
                return 200, "", scope, None
            return 401, None, scope, None
        user, password = credentials
        if self.guard.check(user, password, client):
            return 200, user, scope, None
        return 401, None, scope, None

    def challenge(self, headers, scope, error):
        proto = headers.get("X-Forwarded-Proto") or "https"
        host = headers.get("Host") or "localhost"
        parts = ['Bearer realm="%s://%s/token"' % (proto, host), 'service="%s"' % self.service]
        if scope:
            parts.append('scope="%s"' % scope)
        if error:
            parts.append('error="%s"' % error)
        return ",".join(parts)

    # -- the token endpoint -------------------------------------------------------------------
    def token(self, headers, query, client):
        """(status, body)."""
        params = urllib.parse.parse_qs(query, keep_blank_values=True)
        scopes, catalog = parse_scopes(params.get("scope", []))
        try:
            credentials = parse_basic(headers.get("Authorization", ""))
        except ValueError:
            return 400, {"errors": [{"code": "UNAUTHORIZED", "message": "malformed credentials"}]}
        user = ""
        if credentials is not None:
            if self.guard.blocked(client):
                return 429, {"errors": [{"code": "TOOMANYREQUESTS",
                                         "message": "too many failed logins from this address; retry later"}]}
            if not self.guard.check(credentials[0], credentials[1], client):
                return 401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}
            user = credentials[0]
        return 200, self.issue(user, scopes, catalog)


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "front-auth"
    sys_version = ""
    # Keep-alive: nginx reuses its connections (every answer has a Content-Length).
    protocol_version = "HTTP/1.1"
    # An idle kept-alive connection is closed after this many seconds (nginx's own keepalive_timeout
    # for upstream connections is shorter, 60 s).
    timeout = 120
    service = None  # set by main()

    def _client(self):
        # On a Unix socket the peer has no address: nginx's X-Real-IP is the client.
        return self.headers.get("X-Real-IP") or (self.client_address[0] if self.client_address else "local")

    def address_string(self):
        return self.client_address[0] if self.client_address else "local"

    def _send(self, status, headers=(), body=b""):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def do_GET(self):  # noqa: N802 - http.server's naming
        url = urllib.parse.urlsplit(self.path)
        try:
            self.service.files.refresh()
        except (OSError, ValueError) as exc:
            self.log_error("cannot read the front's files: %s", exc.__class__.__name__)
            self._send(500)
            return
        if url.path == "/auth":
            status, user, scope, error = self.service.authenticate(self.headers, self._client())
            self.outcome = "%s user=%r" % (status, user)
            if status == 200:
                self._send(200, [("X-Front-User", user)])
            else:
                self._send(401, [("WWW-Authenticate", self.service.challenge(self.headers, scope, error))])
        elif url.path == "/token":
            status, body = self.service.token(self.headers, url.query, self._client())
            self.outcome = "%s token" % status
            self._send(status, [("Content-Type", "application/json")], json.dumps(body).encode())
        elif url.path == "/health":
            self._send(200)
        else:
            self._send(404)

    def log_request(self, code="-", size="-"):
        # Only the endpoint and the outcome: never a header, a query or a token.
        if getattr(self, "outcome", "").startswith("200") and self.path.startswith("/auth"):
            return  # every request under /v2/ passes here; nginx's access log has them
        sys.stderr.write("front_auth: %s %s %s\n" % (self._client(), urllib.parse.urlsplit(self.path).path,
                                                     getattr(self, "outcome", code)))

    def log_message(self, fmt, *args):
        sys.stderr.write("front_auth: %s\n" % (fmt % args))


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


class UnixServer(socketserver.ThreadingUnixStreamServer):
    """The same service on a Unix socket (mode 0660: nginx's workers reach it through their group)."""

    daemon_threads = True
    request_queue_size = 128

    def server_bind(self):
        path = self.server_address
        try:
            if stat.S_ISSOCK(os.lstat(path).st_mode):
                os.unlink(path)  # left by a previous run of the service
        except FileNotFoundError:
            pass
        old_umask = os.umask(0o117)
        try:
            socketserver.UnixStreamServer.server_bind(self)
        finally:
            os.umask(old_umask)
        os.chmod(path, 0o660)
        self.server_name, self.server_port = "localhost", 0


def make_server(listen):
    """``unix:/path`` (a Unix socket) or ``address:port``."""
    if listen.startswith("unix:"):
        path = listen[len("unix:"):]
        if not path.startswith("/"):
            raise ValueError("--listen unix: needs an absolute path, got %r" % path)
        return UnixServer(path, Handler)
    host, _sep, port = listen.rpartition(":")
    return Server((host or "0.0.0.0", int(port)), Handler)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--listen", default="0.0.0.0:5001", help="address:port, or unix:/path for a Unix socket")
    parser.add_argument("--htpasswd", required=True)
    parser.add_argument("--grants", required=True)
    parser.add_argument("--key", required=True, help="file with the HMAC/JWT key (at least 32 bytes)")
    parser.add_argument("--service", default="oci-registry", help="the token service (JWT audience)")
    parser.add_argument("--ttl", type=int, default=300, help="token lifetime in seconds")
    parser.add_argument("--fail-delay", type=float, default=1.0, help="seconds added to a failed login")
    parser.add_argument("--max-failures", type=int, default=10, help="failed logins per address per minute")
    args = parser.parse_args(argv)
    if not 1 <= args.ttl <= 3600:
        parser.error("--ttl must be from 1 to 3600 seconds")
    files = Files(args.htpasswd, args.grants, args.key)
    Handler.service = Service(files, Guard(files, args.fail_delay, args.max_failures), args.service, args.ttl)
    try:
        server = make_server(args.listen)
    except ValueError as exc:
        parser.error(str(exc))
    sys.stderr.write("front_auth: listening on %s (token lifetime %ds)\n" % (args.listen, args.ttl))
    server.serve_forever()


if __name__ == "__main__":
    main()
