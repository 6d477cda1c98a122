# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""The one HTTP client of the collection.

Every request the collection sends to a registry goes through RegistryClient:
timeouts, TLS (validate_certs, ca_path, client certificate), basic auth, the
Distribution token flow (401 + ``WWW-Authenticate: Bearer`` -> token -> retry
once), bounded retries with exponential backoff on connection errors and on
429/502/503/504 (honouring Retry-After, clamped), and errors that name the
method, URL, status and the registry's error codes, never a secret.
"""

from __future__ import annotations

import email.utils
import re
import time
from urllib.parse import urljoin, urlsplit

from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import (
    InvalidParameterError,
    OciRegistryError,
    RegistryConnectionError,
    RegistryHTTPError,
)

try:
    import requests
    from requests.adapters import HTTPAdapter

    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised by ansible-test's import test
    requests = None
    HTTPAdapter = object
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = exc

RETRY_STATUSES = frozenset((429, 502, 503, 504))
USER_AGENT = "provisioning.oci_registry"

_CHALLENGE_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def parse_challenge(header):
    """Parse one ``WWW-Authenticate`` value into (scheme, {param: value}).

    >>> parse_challenge('Bearer realm="https://auth/token",service="reg",scope="repository:a:pull"')
    ('bearer', {'realm': 'https://auth/token', 'service': 'reg', 'scope': 'repository:a:pull'})
    """
    if not header:
        return None, {}
    scheme, rest = (header.strip().split(None, 1) + [""])[:2]
    params = {}
    for match in _CHALLENGE_PARAM.finditer(rest):
        value = match.group(2) if match.group(2) is not None else match.group(3)
        params[match.group(1).lower()] = value.replace('\\"', '"')
    return scheme.lower(), params


def parse_retry_after(value, now=None):
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def parse_error_body(response):
    """The registry's error list ({"errors": [{code, message, detail}]}) if the body has one."""
    try:
        data = response.json()
    except ValueError:
        return []
    if isinstance(data, dict) and isinstance(data.get("errors"), list):
        return [e for e in data["errors"] if isinstance(e, dict)]
    return []


def _text_excerpt(response):
    try:
        text = response.text
    except Exception:  # pylint: disable=broad-except
        return None
    text = (text or "").strip()
    return text[:200] or None


class ConnectionOptions:
    """Validated connection settings (the shared module options)."""

    FIELDS = ("registry_url", "username", "password", "validate_certs", "ca_path",
              "client_cert", "client_key", "timeout", "retries")

    def __init__(self, registry_url, username=None, password=None, validate_certs=True,
                 ca_path=None, client_cert=None, client_key=None, timeout=30.0, retries=3):
        self.registry_url = validate_registry_url(registry_url)
        self.username = username or None
        self.password = password
        self.validate_certs = validate_certs
        self.ca_path = _readable_file("ca_path", ca_path)
        self.client_cert = _readable_file("client_cert", client_cert)
        self.client_key = _readable_file("client_key", client_key)
        if bool(self.client_cert) != bool(self.client_key):
            raise InvalidParameterError("client_cert and client_key must be given together")
        if timeout is None or timeout <= 0:
            raise InvalidParameterError("timeout must be a number of seconds greater than 0, got %r" % (timeout,))
        if retries is None or retries < 0 or retries > 20:
            raise InvalidParameterError("retries must be between 0 and 20, got %r" % (retries,))
        if self.password and not self.username:
            raise InvalidParameterError("password was given without username")
        self.timeout = float(timeout)
        self.retries = int(retries)

    @classmethod
    def from_params(cls, params, prefix=""):
        """Build from a module's params (``prefix`` for nested dicts such as oci_sync's source)."""
        return cls(**dict((f, params.get(prefix + f)) for f in cls.FIELDS if params.get(prefix + f) is not None))


def validate_registry_url(url):
    if not url:
        raise InvalidParameterError("registry_url is required (or set OCI_REGISTRY_URL), e.g. https://registry.example.com:5000")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise InvalidParameterError("registry_url %r is not a valid URL: %s" % (url, exc))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidParameterError(
            "registry_url must be an http:// or https:// URL with a host name, e.g. https://registry.example.com:5000"
        )
    if parts.username is not None or parts.password is not None:
        raise InvalidParameterError("registry_url must not carry credentials; use the username and password options")
    if parts.query or parts.fragment:
        raise InvalidParameterError("registry_url must not have a query string or fragment")
    return url.rstrip("/")


def _readable_file(name, path):
    if not path:
        return None
    try:
        with open(path, "rb"):
            pass
    except (IOError, OSError) as exc:
        raise InvalidParameterError("%s %r is not a readable file: %s" % (name, path, exc.strerror or exc))
    return path


class RegistryClient:
    """HTTP session to one registry."""

    def __init__(self, options, backoff_base=0.5, backoff_max=30.0, sleep=time.sleep):
        if not HAS_REQUESTS:
            raise OciRegistryError(
                "the Python library 'requests' is required on the host that runs this module: %s" % REQUESTS_IMPORT_ERROR
            )
        self.options = options
        self.base_url = options.registry_url
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._sleep = sleep
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.trust_env = False  # no proxy or netrc credentials picked up behind the user's back
        if options.ca_path and options.validate_certs:
            self.session.verify = options.ca_path
        else:
            self.session.verify = bool(options.validate_certs)
        if options.client_cert:
            self.session.cert = (options.client_cert, options.client_key)
        self.set_pool_size(32)
        self._tokens = {}  # scope -> bearer token
        self._repo_scope = {}  # repository -> last scope that worked for it
        self.attempts = 0  # requests sent, retries included (for reports and tests)

    def set_pool_size(self, size):
        """Keep up to ``size`` connections per host open (for callers that send requests from many threads)."""
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(int(size), 1), max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    # -- URLs -----------------------------------------------------------------
    def url(self, path):
        if path.startswith(("http://", "https://")):
            return path
        return urljoin(self.base_url + "/", path.lstrip("/"))

    # -- auth -----------------------------------------------------------------
    @property
    def has_credentials(self):
        return bool(self.options.username)

    def _basic(self):
        if self.options.username:
            return (self.options.username, self.options.password or "")
        return None

    @staticmethod
    def _repository_of(url):
        match = re.search(r"/v2/(.+?)/(?:manifests|blobs|tags|referrers)/", urlsplit(url).path)
        return match.group(1) if match else None

    def _auth_for(self, url, use_auth):
        """(auth, headers) to send first: a cached token for this repository, else basic auth."""
        if not use_auth:
            return None, {}
        scope = self._repo_scope.get(self._repository_of(url))
        token = self._tokens.get(scope) if scope else None
        if token:
            return None, {"Authorization": "Bearer %s" % token}
        return self._basic(), {}

    def fetch_token(self, challenge):
        """Run the token flow for a Bearer challenge; returns the token."""
        realm = challenge.get("realm")
        if not realm:
            raise OciRegistryError("the registry asked for a bearer token but named no realm")
        params = {}
        if challenge.get("service"):
            params["service"] = challenge["service"]
        if challenge.get("scope"):
            params["scope"] = challenge["scope"]
        response = self._send("GET", realm, params=params, auth=self._basic(), headers={}, data=None,
                              stream=False, allow_redirects=True, timeout=None)
        if response.status_code != 200:
            hint = "the token service refused the credentials of user %r" % self.options.username \
                if response.status_code in (401, 403) and self.options.username else None
            raise RegistryHTTPError("GET", realm, response.status_code, parse_error_body(response),
                                    _text_excerpt(response), hint=hint)
        try:
            data = response.json()
        except ValueError:
            raise OciRegistryError("the token service at %s answered without JSON" % realm)
        token = data.get("token") or data.get("access_token")
        if not token:
            raise OciRegistryError("the token service at %s answered without a token" % realm)
        return token

    # -- sending ----------------------------------------------------------------
    def _send(self, method, url, params, auth, headers, data, stream, allow_redirects, timeout):
        """One request with bounded retries on connection errors and 429/502/503/504."""
        attempt = 0
        while True:
            if attempt and hasattr(data, "seek"):
                data.seek(0)
            self.attempts += 1
            try:
                response = self.session.request(
                    method, url, params=params, auth=auth, headers=headers, data=data, stream=stream,
                    allow_redirects=allow_redirects, timeout=timeout or self.options.timeout,
                )
            except requests.exceptions.SSLError as exc:
                raise RegistryConnectionError(method, url, "TLS verification failed (%s); set ca_path to the CA that signed "
                                              "the registry's certificate" % _short_reason(exc))
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                if attempt >= self.options.retries or not _replayable(data):
                    raise RegistryConnectionError(method, url, "%s (after %d attempt%s)" % (
                        _short_reason(exc), attempt + 1, "" if attempt == 0 else "s"))
                self._sleep(self.backoff(attempt))
                attempt += 1
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.options.retries and _replayable(data):
                delay = parse_retry_after(response.headers.get("Retry-After"))
                response.close()
                self._sleep(self.backoff(attempt, delay))
                attempt += 1
                continue
            return response

    def backoff(self, attempt, retry_after=None):
        """Seconds before retry number ``attempt`` (0-based): exponential, or Retry-After, both clamped."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.backoff_max)
        return min(self.backoff_base * (2 ** attempt), self.backoff_max)

    def request(self, method, path, expected=(200,), params=None, headers=None, data=None, stream=False,
                auth=True, allow_redirects=True, timeout=None, hint=None):
        """Send a request; return the response if its status is in ``expected``, else raise.

        ``expected`` may be None to accept any status. A 401 with a Bearer challenge runs the
        token flow and retries once with the token.
        """
        url = self.url(path)
        headers = dict(headers or {})
        basic, auth_headers = self._auth_for(url, auth)
        response = self._send(method, url, params, basic, dict(headers, **auth_headers), data, stream,
                              allow_redirects, timeout)
        if response.status_code == 401 and auth:
            scheme, challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
            if scheme == "bearer" and _replayable(data):
                response.close()
                token = self.fetch_token(challenge)
                scope = challenge.get("scope") or ""
                self._tokens[scope] = token
                repository = self._repository_of(url)
                if repository:
                    self._repo_scope[repository] = scope
                response = self._send(method, url, params, None, dict(headers, Authorization="Bearer %s" % token),
                                      data, stream, allow_redirects, timeout)
        if expected is not None and response.status_code not in expected:
            if hint is None and response.status_code == 401:
                hint = ("the registry refused the credentials of user %r" % self.options.username
                        if self.options.username else "the registry requires credentials (username/password)")
            errors = parse_error_body(response)
            excerpt = None if errors else _text_excerpt(response)
            response.close()
            raise RegistryHTTPError(method, url, response.status_code, errors, excerpt, hint=hint)
        return response

    def get_json(self, path, params=None, expected=(200,), **kwargs):
        response = self.request("GET", path, params=params, expected=expected, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise OciRegistryError("GET %s answered with a body that is not JSON" % self.url(path))

    def paginate(self, path, key=None, params=None, page_size=100, total_header=None, first=None):
        """Yield the items of every page, following ``Link: <...>; rel="next"``.

        ``key`` picks the list out of a JSON object (``repositories`` for the catalog); with
        ``key=None`` the body itself is the list (Harbor). Stops when no next link is given.
        ``first``: the response to the first page when the caller already has it (it is not asked again).
        """
        params = dict(params or {})
        if page_size:
            params.setdefault("n" if key else "page_size", page_size)
        url = path
        seen = set()
        while url:
            response, first = (first, None) if first is not None else (self.request("GET", url, params=params), None)
            try:
                data = response.json()
            except ValueError:
                raise OciRegistryError("GET %s answered with a body that is not JSON" % self.url(url))
            items = (data.get(key) if isinstance(data, dict) else None) if key else data
            yield from items or []
            next_link = response.links.get("next", {}).get("url")
            if not next_link:
                return
            url = urljoin(response.url, next_link)
            if url in seen:
                raise OciRegistryError("pagination loop: the registry sent %s twice as the next page" % url)
            seen.add(url)
            params = None  # the next link carries its own query


def _replayable(data):
    return data is None or isinstance(data, (bytes, str)) or hasattr(data, "seek")


def _short_reason(exc):
    reason = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out", "Temporary failure in name resolution",
                   "No route to host", "Connection reset by peer", "RemoteDisconnected", "certificate verify failed"):
        if marker in reason:
            return marker
    return exc.__class__.__name__ + (": " + reason[:160] if reason else "")
