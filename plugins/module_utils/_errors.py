# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""One exception hierarchy for the collection.

Module utilities raise these; only a module's main() turns them into fail_json.
No message built here ever contains a password or a token: URLs are stripped of
user information and query strings before they are shown.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def safe_url(url):
    """The URL without user information or query string, fit for a message."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    host = parts.hostname or ""
    if ":" in host:
        host = "[%s]" % host
    if parts.port:
        host = "%s:%d" % (host, parts.port)
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class OciRegistryError(Exception):
    """Base class: every error the collection raises on purpose."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = details

    def fail(self, module, **result):
        """End the module run with this error (the one place errors become fail_json)."""
        result.update(self.details)
        module.fail_json(msg=self.msg, **result)


class InvalidParameterError(OciRegistryError):
    """Input that cannot be valid; raised before anything is changed."""


class RegistryConnectionError(OciRegistryError):
    """The registry did not answer (refused, timed out, TLS failure)."""

    def __init__(self, method, url, reason):
        self.method = method
        self.url = safe_url(url)
        self.reason = reason
        super().__init__("%s %s failed: %s" % (method, self.url, reason), url=self.url)


class RegistryHTTPError(OciRegistryError):
    """The registry answered with a status the call did not expect."""

    def __init__(self, method, url, status, errors=None, body=None, hint=None):
        self.method = method
        self.url = safe_url(url)
        self.status = status
        self.errors = errors or []
        codes = ", ".join(
            "%s: %s" % (e.get("code", "?"), e.get("message", "")) if isinstance(e, dict) else str(e)
            for e in self.errors
        )
        msg = "%s %s returned HTTP %s" % (method, self.url, status)
        if codes:
            msg += " (%s)" % codes
        elif body:
            msg += ": %s" % body[:200]
        if hint:
            msg += ". %s" % hint
        super().__init__(msg, url=self.url, status=status, registry_errors=self.errors)

    @property
    def codes(self):
        return [e.get("code") for e in self.errors if isinstance(e, dict)]


class DigestMismatchError(OciRegistryError):
    """Content did not hash to the digest it was addressed by."""
