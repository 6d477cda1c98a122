"""zot's authorization decision evaluated over a config, for the tests (the collection does not use it).

``authorize(config, repository, action, username, groups)`` evaluates zot's access rules (longest
matching repository glob wins, then the admin policy) so that the generated ``accessControl`` can be
checked without a running zot; ``glob_match`` matches repository names with doublestar globs, as zot
does. Follows zot v2.1.20's pkg/api/authz.go (cited at ``authorize``); no zot code is copied here.
"""

import re

from ansible_collections.provisioning.oci_registry.plugins.module_utils._zot_schema import _get


def _glob_regex(pattern):
    out = []
    segments = pattern.split("/")
    last = len(segments) - 1
    for index, segment in enumerate(segments):
        if segment == "**":
            if index == last:
                # "a/**" matches "a", "a/" and everything below it; "**" matches all.
                if index == 0:
                    out.append(".*")
                else:
                    out[-1] = out[-1][:-1] if out[-1].endswith("/") else out[-1]
                    out.append("(?:/.*)?")
            else:
                out.append("(?:[^/]*/)*" if index == 0 else "(?:[^/]*/)*")
            continue
        part = []
        i = 0
        while i < len(segment):
            char = segment[i]
            if char == "\\" and i + 1 < len(segment):
                part.append(re.escape(segment[i + 1]))
                i += 2
                continue
            if char == "*":
                while i + 1 < len(segment) and segment[i + 1] == "*":
                    i += 1
                part.append("[^/]*")
            elif char == "?":
                part.append("[^/]")
            elif char == "[":
                end = segment.find("]", i + 1)
                body = segment[i + 1:end]
                if body[:1] in ("!", "^"):
                    body = "^" + body[1:]
                part.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
            elif char == "{":
                end = segment.find("}", i)
                alternatives = segment[i + 1:end].split(",")
                part.append("(?:" + "|".join(re.escape(a) for a in alternatives) + ")")
                i = end
            else:
                part.append(re.escape(char))
            i += 1
        out.append("".join(part) + ("/" if index != last else ""))
    return re.compile("^" + "".join(out) + "$")


def glob_match(pattern, name):
    """doublestar semantics for repository names: ``*`` stays inside one path segment,
    ``**`` spans segments, and a trailing ``/**`` also matches the directory itself."""
    return bool(_glob_regex(pattern).match(name))


# --------------------------------------------------------------------------------------
# zot's authorization decision, evaluated over a config (for checks and tests)
# --------------------------------------------------------------------------------------
def authorize(config, repository, action, username=None, groups=()):
    """Whether zot grants ``action`` (read/create/update/delete) on ``repository``.

    Follows zot v2.1.20's pkg/api/authz.go (AccessController.can and isPermitted): the repository
    policy group under the LONGEST glob that matches decides (user policies, group policies, then
    defaultPolicy only for a request with a user, anonymousPolicy only for one without); if it denies, the
    adminPolicy can still grant. With no accessControl everything is allowed (to
    whoever authenticates). Returns (allowed, the glob that decided or None).
    """
    access = _get(config, "http", "accessControl")
    if access is None:
        return True, None
    repositories = _get(access, "repositories", default={}) or {}
    longest = None
    for pattern in repositories:
        if glob_match(pattern, repository) and (longest is None or len(pattern) > len(longest)):
            longest = pattern
    member_of = set(groups or ())
    for group_name, group in (_get(access, "groups", default={}) or {}).items():
        if username and username in (_get(group, "users") or []):
            member_of.add(group_name)
    allowed = False
    if longest is not None:
        group = repositories[longest]
        for policy in _get(group, "policies", default=[]) or []:
            if action not in (_get(policy, "actions") or []):
                continue
            if username and username in (_get(policy, "users") or []):
                allowed = True
            elif username and member_of & set(_get(policy, "groups") or []):
                allowed = True
        if not allowed and username and action in (_get(group, "defaultPolicy") or []):
            allowed = True
        if not allowed and not username and action in (_get(group, "anonymousPolicy") or []):
            allowed = True
    if not allowed and username:
        admin = _get(access, "adminPolicy", default={}) or {}
        is_admin = username in (_get(admin, "users") or []) or bool(member_of & set(_get(admin, "groups") or []))
        if is_admin and action in (_get(admin, "actions") or []):
            allowed = True
    return allowed, longest
