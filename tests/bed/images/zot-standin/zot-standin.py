# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""A stand-in for what the zot role sees of zot v2.1.20's process. It is NOT zot.

zot's image cannot be obtained on the test bed, so the zot role is run end to end against this
process instead. It reproduces only the behaviours below, each from the zot v2.1.20 file named
(read upstream, none of its code copied). Nothing else of zot is modelled: no storage, no
distribution-spec API beyond /v2/ and an empty /v2/_catalog, no search, no sync, no GC.

Command line (as the official image's entrypoint takes it, and as the role runs it):
  zot serve <config.json>    load, check, listen, watch (below)
  zot verify <config.json>   check only; exit 1 when the config is invalid (pkg/cli/server/root.go
                             newVerifyCmd: LoadConfiguration, then exit)

1. Loading. The config is read and checked with the project's own checker
   (plugins/module_utils/_zot_schema.py check(), copied into the image at build time). An invalid
   config makes the process exit 1 before it listens, as zot's serve does when LoadConfiguration
   fails (pkg/cli/server/root.go newServeCmd).
2. Listening. http.address:http.port (pkg/api/controller.go Run); TLS when http.tls.cert and key are
   set. The certificate is loaded per handshake from the current in-memory pair
   (pkg/api/controller.go sets server.TLSConfig.GetCertificate = watcher.GetCertificate).
3. Routes (pkg/api/routes.go SetupRoutes): /livez, /readyz, /startupz answer 200 without
   authentication (registered on the router before the auth middleware); /v2/ and /v2/_catalog need
   htpasswd Basic auth when http.auth.htpasswd.path is set, unless some repository has an
   anonymousPolicy (pkg/api/authn.go tryAuthnHandlers: allowAnonymous); a refusal is authFail's 401
   with WWW-Authenticate: Basic realm="<http.realm>" and WITHOUT Docker-Distribution-API-Version,
   which only the /v2/ handler sets (pkg/api/routes.go CheckVersionSupport). Docker's "mixed
   policies" workaround (a 401 on /v2/ for the docker client) is not modelled; /v2/_catalog answers
   an empty list (no storage is modelled).
4. Metrics (pkg/extensions/extension_metrics.go SetupMetricsRoutes at
   extensions.metrics.prometheus.path, default /metrics; pkg/api/authz.go MetricsAuthzHandler): with
   no accessControl any authenticated user may read; otherwise anonymous callers only with "read" in
   accessControl.metrics.anonymousPolicy, and a user only when listed in accessControl.metrics.users
   (admins are NOT implied; an empty list refuses everyone). Refusals are 403 for users, 401 for
   anonymous callers. The body is a small Prometheus text with a zot_info gauge whose version is
   "stand-in".
5. Config reload (pkg/cli/server/config_reloader.go HotReloader): an inotify watch on the config
   file's inode; on a WRITE event the file is loaded and checked again (on failure the running config
   stays, "retry writing it"), then the reloadable fields are applied
   (pkg/api/config/config.go UpdateReloadableConfig): http.accessControl and http.auth's htpasswd.
   Everything else, the metrics path, address, port and TLS paths included, keeps what the process
   started with. A file replaced by a rename is not seen (the watch stays on the old inode).
6. Certificate reload (pkg/api/tls_config_watcher.go TlsConfigWatcher): inotify watches on the
   cert and key files; on a write, chmod/attribute, remove or rename event the watch is re-added by
   path (remove/rename), and after a 150 ms debounce the pair is loaded again from the paths. A file
   bind-mounted on its own keeps its old inode in the container when the host replaces it by a
   rename: the reload then reads the old content again, so the old certificate stays, which is the
   failure this stand-in exists to reproduce.
7. htpasswd: read again on every authentication (zot watches it with its HTPasswdWatcher,
   pkg/api/htpasswd.go; the role writes it in place, which both see). As HTPasswd.Authenticate there:
   bcrypt ($2a$, $2b$, $2y$) and SHA-512 crypt ($6$, for machine users). zot checks $6$ with
   github.com/nathanaelle/password v1.0.0 (sha512.go Set and Verify): "$6$salt$hash" or
   "$6$rounds=N$salt$hash", 5000 rounds when "rounds=" is absent, N clamped to 1000..999999999, the
   salt cut to 16 characters, an empty password never verifies. Implemented here from the published
   SHA-crypt specification (U. Drepper, "Unix crypt using SHA-256 and SHA-512") with hashlib, so the
   collection's passlib hashes are checked by an independent implementation. $5$ (SHA-256 crypt),
   which zot also accepts, is not modelled: the collection never writes it.
"""

import base64
import ctypes
import hashlib
import json
import os
import socket
import ssl
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, "/opt/zot-standin")

from ansible_collections.provisioning.oci_registry.plugins.module_utils import _zot_schema as zschema  # noqa: E402  pylint: disable=wrong-import-position

import bcrypt  # noqa: E402  pylint: disable=wrong-import-position,wrong-import-order

IN_MODIFY, IN_ATTRIB, IN_MOVE_SELF, IN_DELETE_SELF, IN_IGNORED = 0x2, 0x4, 0x800, 0x400, 0x8000


def log(msg, **fields):
    record = dict(fields, message=msg, time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    sys.stderr.write(json.dumps(record) + "\n")
    sys.stderr.flush()


def load(path):
    """(config, errors): the file's JSON checked with the project's checker."""
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except (OSError, ValueError) as exc:
        return None, ["cannot load %s: %s" % (path, exc)]
    errors, _warnings = zschema.check(config)
    return config, errors


class Inotify:
    """A minimal inotify reader (ctypes on libc): watches follow inodes, as fsnotify's do."""

    def __init__(self):
        self.libc = ctypes.CDLL("libc.so.6", use_errno=True)
        self.fd = self.libc.inotify_init1(0)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self.paths = {}

    def add(self, path, mask):
        wd = self.libc.inotify_add_watch(self.fd, path.encode(), mask)
        if wd < 0:
            raise OSError(ctypes.get_errno(), "inotify_add_watch %s" % path)
        self.paths[wd] = path
        return wd

    def events(self):
        while True:
            data = os.read(self.fd, 65536)
            offset = 0
            while offset < len(data):
                wd, mask, _cookie, size = struct.unpack_from("iIII", data, offset)
                offset += 16 + size
                yield self.paths.get(wd), mask


class State:
    def __init__(self, path, config):
        self.path = path
        self.started = config                  # what only a restart changes
        self.live = json.loads(json.dumps(config))  # with the reloadable fields applied
        self.lock = threading.Lock()
        self.context = None

    # -- reload (5) --
    def reload(self):
        config, errors = load(self.path)
        if errors:
            log("failed to reload config, retry writing it.", errors=errors)
            return
        with self.lock:
            http = self.live.setdefault("http", {})
            new_http = config.get("http") or {}
            if "accessControl" in new_http:
                http["accessControl"] = new_http["accessControl"]
            else:
                http.pop("accessControl", None)
            if http.get("auth") is not None and new_http.get("auth") is not None:
                http["auth"]["htpasswd"] = new_http["auth"].get("htpasswd") or {}
        log("loaded new configuration settings")

    def access(self):
        with self.lock:
            return json.loads(json.dumps(zschema._get(self.live, "http", "accessControl")))

    def htpasswd_path(self):
        with self.lock:
            return zschema._get(self.live, "http", "auth", "htpasswd", "path")

    # -- TLS (2, 6) --
    def load_certificate(self):
        cert, key = zschema._get(self.started, "http", "tls", "cert"), zschema._get(self.started, "http", "tls", "key")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        with self.lock:
            self.context = context
        log("loaded TLS certificate", cert=cert)

    def tls_context(self):
        with self.lock:
            return self.context


_CRYPT64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _crypt64(digest):
    """SHA-512 crypt's encoding of the final digest: 21 groups of the bytes (i, i+21, i+42) rotated by
    i mod 3, each 24 bits as 4 characters (least significant 6 bits first), then byte 63 as 2."""
    out = []
    for index in range(21):
        group = (index, index + 21, index + 42)
        high, middle, low = group[index % 3:] + group[:index % 3]
        value = (digest[high] << 16) | (digest[middle] << 8) | digest[low]
        for _char in range(4):
            out.append(_CRYPT64[value & 0x3f])
            value >>= 6
    value = digest[63]
    for _char in range(2):
        out.append(_CRYPT64[value & 0x3f])
        value >>= 6
    return "".join(out)


def _repeat(digest, length):
    return (digest * (length // len(digest) + 1))[:length]


def sha512_crypt(password, salt, rounds):
    """The 86-character hash of SHA-512 crypt (the specification's steps, in order)."""
    digest_b = hashlib.sha512(password + salt + password).digest()
    ctx = hashlib.sha512(password + salt + _repeat(digest_b, len(password)))
    length = len(password)
    while length:
        ctx.update(digest_b if length & 1 else password)
        length >>= 1
    digest_a = ctx.digest()
    p_bytes = _repeat(hashlib.sha512(password * len(password)).digest(), len(password))
    s_bytes = _repeat(hashlib.sha512(salt * (16 + digest_a[0])).digest(), len(salt))
    digest = digest_a
    for index in range(rounds):
        ctx = hashlib.sha512(p_bytes if index & 1 else digest)
        if index % 3:
            ctx.update(s_bytes)
        if index % 7:
            ctx.update(p_bytes)
        ctx.update(digest if index & 1 else p_bytes)
        digest = ctx.digest()
    return _crypt64(digest)


def sha512_crypt_verifies(hashed, password):
    """HTPasswd.Authenticate's $6$ branch (pkg/api/htpasswd.go, nathanaelle/password sha512.go)."""
    fields = hashed[len("$6$"):].split("$")
    rounds = 5000
    if fields and fields[0].startswith("rounds="):
        try:
            rounds = min(max(int(fields[0][len("rounds="):]), 1000), 999999999)
        except ValueError:
            return False
        fields = fields[1:]
    if len(fields) != 2 or not password:
        return False
    salt, expected = fields[0][:16], fields[1]
    return sha512_crypt(password.encode("utf-8"), salt.encode("utf-8"), rounds) == expected


def authenticate(state, header):
    """The user name for a valid Basic header, else None (7)."""
    if not header or not header.startswith("Basic "):
        return None
    try:
        user, _sep, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    path = state.htpasswd_path()
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, TypeError):
        return None
    for line in lines:
        name, _sep, hashed = line.partition(":")
        if name != user:
            continue
        if hashed.startswith(("$2a$", "$2b$", "$2y$")):
            if bcrypt.checkpw(password.encode(), hashed.replace("$2y$", "$2b$", 1).encode()):
                return user
        elif hashed.startswith("$6$") and sha512_crypt_verifies(hashed, password):
            return user
    return None


def anonymous_allowed(access):
    """AnonymousPolicyExists (pkg/api/config/config.go): some repository has a non-empty anonymousPolicy."""
    repositories = zschema._get(access, "repositories", default={}) or {} if access else {}
    return any(zschema._get(group, "anonymousPolicy") for group in repositories.values() if isinstance(group, dict))


def handler_for(state):
    realm = zschema._get(state.started, "http", "realm") or "zot"
    auth_on = bool(zschema._get(state.started, "http", "auth", "htpasswd", "path"))
    metrics_on = zschema.extension_enabled(state.started, "metrics")
    metrics_path = zschema._get(state.started, "extensions", "metrics", "prometheus", "path") or "/metrics"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            log("request", line=fmt % args)

        def reply(self, status, body=b"", content_type="application/json", headers=None):
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def unauthorized(self):
            self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                       headers={"WWW-Authenticate": 'Basic realm="%s"' % realm})

        def do_GET(self):  # noqa: N802 (http.server's name)
            path = self.path.split("?", 1)[0]
            if path in ("/livez", "/readyz", "/startupz"):
                return self.reply(200, b"", "text/plain")
            user = authenticate(state, self.headers.get("Authorization")) if auth_on else None
            if auth_on and self.headers.get("Authorization") and user is None:
                return self.unauthorized()
            if path in ("/v2", "/v2/", "/v2/_catalog"):
                if auth_on and user is None and not anonymous_allowed(state.access()):
                    return self.unauthorized()
                body = b"{}" if path != "/v2/_catalog" else b'{"repositories":[]}'
                return self.reply(200, body, headers={"Docker-Distribution-API-Version": "registry/2.0"})
            if metrics_on and path == metrics_path:
                access = state.access()
                if access is not None:
                    metrics = zschema._get(access, "metrics", default={}) or {}
                    if user is None:
                        if "read" not in (zschema._get(metrics, "anonymousPolicy") or []):
                            return self.unauthorized()
                    elif user not in (zschema._get(metrics, "users") or []):
                        return self.reply(403, b'{"errors":[{"code":"DENIED","message":"not in metrics.users"}]}')
                elif auth_on and user is None:
                    return self.unauthorized()
                text = ('# HELP zot_info Zot general information\n# TYPE zot_info gauge\n'
                        'zot_info{binary_type="stand-in",commit="",go_version="",version="stand-in"} 1\n')
                return self.reply(200, text.encode(), "text/plain; version=0.0.4")
            return self.reply(404, b'{"errors":[{"code":"NOT_FOUND"}]}')

        do_HEAD = do_GET

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler, state, tls):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, handler)
        self.state, self.tls = state, tls

    def finish_request(self, request, client_address):
        if self.tls:
            request = self.state.tls_context().wrap_socket(request, server_side=True)
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        log("connection error", client=str(client_address), error=str(sys.exc_info()[1]))


def watch_config(state, inotify):
    inotify.add(state.path, IN_MODIFY)


def watch_tls(state):
    """(6): its own inotify, events coalesced for 150 ms, watches re-added by path."""
    cert, key = zschema._get(state.started, "http", "tls", "cert"), zschema._get(state.started, "http", "tls", "key")
    inotify = Inotify()
    mask = IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF
    for path in (cert, key):
        inotify.add(path, mask)
    pending = threading.Event()

    def debounced():
        while True:
            pending.wait()
            while True:
                pending.clear()
                time.sleep(0.15)
                if not pending.is_set():
                    break
            try:
                state.load_certificate()
            except (OSError, ssl.SSLError) as exc:
                log("failed to reload certificate on file change", error=str(exc))

    threading.Thread(target=debounced, daemon=True).start()
    for path, mask_seen in inotify.events():
        if mask_seen & IN_IGNORED or path is None:
            continue
        log("certificate file change detected", file=path, mask=mask_seen)
        if mask_seen & (IN_MOVE_SELF | IN_DELETE_SELF):
            for attempt in range(5):
                time.sleep(0.05 * (attempt + 1))
                try:
                    inotify.add(path, mask)
                    break
                except OSError:
                    continue
        pending.set()


def serve(path):
    config, errors = load(path)
    if errors:
        log("invalid server config", errors=errors)
        return 1
    state = State(path, config)
    address = zschema._get(config, "http", "address") or "0.0.0.0"
    port = int(zschema._get(config, "http", "port") or 8080)
    tls = bool(zschema._get(config, "http", "tls", "cert") and zschema._get(config, "http", "tls", "key"))
    if tls:
        state.load_certificate()
        threading.Thread(target=watch_tls, args=(state,), daemon=True).start()
    inotify = Inotify()
    watch_config(state, inotify)

    def config_events():
        for _path, mask in inotify.events():
            if mask & IN_MODIFY:
                log("config file changed, trying to reload config")
                state.reload()

    threading.Thread(target=config_events, daemon=True).start()
    server = Server((address, port), handler_for(state), state, tls)
    log("zot stand-in listening", address=address, port=port, tls=tls)
    server.serve_forever()
    return 0


def main(argv):
    if len(argv) != 3 or argv[1] not in ("serve", "verify"):
        sys.stderr.write("usage: zot serve|verify <config.json>\n")
        return 2
    if argv[1] == "verify":
        _config, errors = load(argv[2])
        if errors:
            log("invalid server config", errors=errors)
            return 1
        log("config file is valid", file=argv[2])
        return 0
    return serve(argv[2])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
