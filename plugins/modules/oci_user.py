#!/usr/bin/python
# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
module: oci_user
short_description: Manage the users of an OCI registry (Zot, Harbor, Distribution)
version_added: 0.1.0
description:
  - Creates, updates and removes registry users - one with O(name), or a whole list with O(users)
    (the shape of the C(oci_registry_users) variable).
  - V(zot) and V(distribution) keep users in an htpasswd file on the registry host (O(htpasswd_path)),
    bcrypt-hashed (or SHA-512 crypt for zot's machine users, O(password_hash)); the admin flag goes to zot's
    C(accessControl) (O(config_path)) or to Distribution's access
    front (O(front_config_path)). V(harbor) uses its users API.
  - A password is changed only when it differs. For htpasswd files the stored bcrypt hash is verified
    against it; Harbor cannot show a hash, so there O(update_password=always) checks whether the password
    still works by logging in with it.
  - With O(exclusive=true), users the list does not name are removed (except O(keep) and the user the
    module connects as).
  - Harbor's built-in admin (user id 1, which Harbor leaves out of its user list) is found by its id; its password
    is rotated through its own endpoint (with the current password when the module connects as that admin), and
    O(state=absent) for it fails, as Harbor never deletes it.
  - Never shows a password, in results, diffs or errors.
author:
  - provisioning.oci_registry maintainers (@provisioning)
extends_documentation_fragment:
  # _access first: its registry_url (not required) takes precedence over the one of _connection.
  - provisioning.oci_registry._access
  - provisioning.oci_registry._connection
  - provisioning.oci_registry._attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Passwords are masked; a changed password shows as V(******** (changed)).
  idempotent:
    support: full
options:
  name:
    description:
      - User name - letters, digits, C(.), C(_), C(@) and C(-), starting with a letter or digit
        (no C(:), which separates name and hash in htpasswd files).
      - Mutually exclusive with O(users).
    type: str
  user_password:
    description:
      - The password of the user O(name). Required to create a user.
      - Not to be confused with O(password), the password of O(username) that the module connects with
        (Harbor, or where the registry is asked whether a namespace holds content).
    type: str
  admin:
    description:
      - Whether the user administers the whole registry (every namespace, every action).
    type: bool
    default: false
  email:
    description:
      - Harbor only - the e-mail address of the user O(name), which Harbor requires and checks (one C(@), a domain
        whose last part has two or more letters).
      - Not set - an existing user keeps its address; a new user gets O(name) when that is an address Harbor
        accepts, else O(name) with the characters Harbor refuses (C(@) among them) turned into C(-), at
        C(oci-registry.invalid) (C(alice@corp) gets C(alice-corp@oci-registry.invalid)).
    type: str
  password_hash:
    description:
      - How the password of the user O(name) is stored in the htpasswd file (V(zot) only for V(sha512_crypt)).
      - V(bcrypt), for people - slow on purpose (cost O(bcrypt_rounds)), which protects a weak password if the file
        leaks; zot checks it on every request (about 240 ms of CPU at cost 12), and caches nothing.
      - V(sha512_crypt), for machine users (CI robots) with a long random secret - SHA-512 crypt at 5000 rounds
        (C($6$<salt>$<hash>)), which zot verifies in about 2.5 ms (zot v2.1.20 C(pkg/api/htpasswd.go)). Needs a
        password of at least 32 characters. Refused on V(distribution) (its access front verifies bcrypt only, once,
        and caches the result) and on V(harbor) (Harbor hashes passwords itself), before anything changes.
      - A user whose stored hash is of the other scheme gets a new hash (O(update_password=always) and a password
        given); so does a SHA-512 crypt entry of other than 5000 rounds.
      - In O(users), the key C(password_hash) of each entry.
    type: str
    choices: [bcrypt, sha512_crypt]
    default: bcrypt
  groups:
    description:
      - Groups the user belongs to, for C(group:<name>) subjects of O(provisioning.oci_registry.oci_policy#module:policies)
        (zot and Distribution's front; Harbor's groups come from LDAP, OIDC or an auth proxy).
    type: list
    elements: str
    default: []
  state:
    description:
      - V(present) creates or updates the user, V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  users:
    description:
      - Several users at once, each with the keys C(name), C(password), C(admin), C(groups), C(state),
        C(password_hash) (see O(password_hash)) and C(email) (Harbor only, see O(email)) (the C(oci_registry_users)
        variable). Mutually exclusive with O(name).
    type: list
    elements: dict
  update_password:
    description:
      - V(always) makes the stored password match the one given (idempotent - it is compared first).
      - V(on_create) sets it only when the user is created.
    type: str
    choices: [always, on_create]
    default: always
  exclusive:
    description:
      - With O(users), remove every user the registry has that the list does not name, except O(keep) and
        O(username).
    type: bool
    default: false
  keep:
    description:
      - Users O(exclusive) never removes, for example the administrator the deployment created.
    type: list
    elements: str
    default: []
seealso:
  - module: provisioning.oci_registry.oci_namespace
  - module: provisioning.oci_registry.oci_policy
"""

EXAMPLES = r"""
- name: A user in Distribution's htpasswd file and its access front
  provisioning.oci_registry.oci_user:
    registry_type: distribution
    htpasswd_path: /etc/oci-registry/htpasswd
    front_config_path: /etc/oci-registry/front/nginx.conf
    name: ci
    user_password: "{{ vault_ci_password }}"

- name: A CI robot on zot with a long random secret, stored as SHA-512 crypt (cheap to verify per request)
  provisioning.oci_registry.oci_user:
    registry_type: zot
    htpasswd_path: /etc/oci-registry/htpasswd
    config_path: /etc/oci-registry/config.json
    name: ci-robot
    user_password: "{{ vault_ci_robot_secret }}"  # at least 32 characters
    password_hash: sha512_crypt

- name: Every user of the access model, removing any other (zot)
  provisioning.oci_registry.oci_user:
    registry_type: zot
    htpasswd_path: /etc/oci-registry/htpasswd  # zot_config_dir on the host
    config_path: /etc/oci-registry/config.json
    users: "{{ oci_registry_users }}"
    exclusive: true
    keep: [admin]

- name: A Harbor administrator whose password is set only once
  provisioning.oci_registry.oci_user:
    registry_url: https://harbor.example.com
    registry_type: harbor
    username: admin
    password: "{{ vault_harbor_admin_password }}"
    users:
      - name: platform-admin
        password: "{{ vault_platform_admin_password }}"
        admin: true
    update_password: on_create
"""

RETURN = r"""
users:
  description: One entry per user handled, in order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: User name.
      type: str
    state:
      description: V(present) or V(absent).
      type: str
    changed:
      description: Whether this user was (or in check mode would be) changed.
      type: bool
    password_changed:
      description: Whether the password was (or would be) set, also when only its hash changes scheme.
      type: bool
  sample:
    - {name: ci, state: present, changed: true, password_changed: true}
removed:
  description: Users removed because O(exclusive) was set and the list did not name them.
  returned: always
  type: list
  elements: str
  sample: []
restart_required:
  description:
    - Whether the registry (or Distribution's front) must be restarted or reloaded to apply the change.
      zot and nginx read a changed htpasswd file by themselves; Distribution without the front does not,
      and the front's nginx.conf needs C(nginx -s reload).
  returned: always
  type: bool
  sample: false
"""

from ansible_collections.provisioning.oci_registry.plugins.module_utils._backend import access_backend
from ansible_collections.provisioning.oci_registry.plugins.module_utils._diff import MASK, add_diff
from ansible_collections.provisioning.oci_registry.plugins.module_utils._model import (
    normalize_user,
    normalize_users,
)
from ansible_collections.provisioning.oci_registry.plugins.module_utils._module import (
    ACCESS,
    registry_module,
    run_module,
)


def wanted_users(params):
    if params["users"] is not None:
        # A password is needed to create a user; the backend says so when one is missing.
        return normalize_users(params["users"], "users", require_password=False,
                               registry_type=params["registry_type"])
    return [normalize_user({"name": params["name"], "password": params["user_password"], "admin": params["admin"],
                            "groups": params["groups"], "state": params["state"], "email": params["email"],
                            "password_hash": params["password_hash"]}, "name", require_password=False,
                           registry_type=params["registry_type"])]


def _view(user):
    if user is None:
        return None
    view = {"admin": bool(user.get("admin")), "groups": list(user.get("groups") or []), "password": MASK}
    if user.get("password_hash"):  # what the htpasswd entry is (zot), never the hash itself
        view["password_hash"] = user["password_hash"]
    return view


def run(module):
    backend = access_backend(module)
    params = module.params
    check_mode = module.check_mode
    users = wanted_users(params)
    results, before, after, warnings = [], {}, {}, []
    restart = False
    for user in users:
        if user["state"] == "present":
            change = backend.user_ensure(user, params["update_password"], check_mode=check_mode)
        else:
            change = backend.user_remove(user["name"], check_mode=check_mode)
        restart = restart or change.restart_required
        warnings.extend(change.warnings)
        before[user["name"]] = _view(change.before)
        view = _view(change.after)
        if view is not None and change.password_changed:
            view["password"] = MASK + " (changed)"
        after[user["name"]] = view
        results.append({"name": user["name"], "state": user["state"], "changed": change.changed,
                        "password_changed": change.password_changed})
    removed = []
    if params["exclusive"]:
        named = set(u["name"] for u in users) | set(params["keep"] or [])
        if params.get("username"):
            named.add(params["username"])
        for name in backend.user_names():
            if name in named:
                continue
            change = backend.user_remove(name, check_mode=check_mode)
            restart = restart or change.restart_required
            warnings.extend(change.warnings)
            before[name] = _view(change.before)
            after[name] = None
            removed.append(name)
    changed = any(r["changed"] for r in results) or bool(removed)
    for warning in dict.fromkeys(warnings):
        module.warn(warning)
    result = dict(changed=changed, users=results, removed=removed, restart_required=restart)
    return add_diff(module, result, before, after, drop_none=True)


def main():
    module = registry_module(
        dict(
            name=dict(type="str"),
            user_password=dict(type="str", no_log=True),
            admin=dict(type="bool", default=False),
            email=dict(type="str"),
            password_hash=dict(type="str", default="bcrypt", choices=["bcrypt", "sha512_crypt"], no_log=False),
            groups=dict(type="list", elements="str", default=[]),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            users=dict(type="list", elements="dict"),
            update_password=dict(type="str", default="always", choices=["always", "on_create"], no_log=False),
            exclusive=dict(type="bool", default=False),
            keep=dict(type="list", elements="str", default=[], no_log=False),
        ),
        mutually_exclusive=[("name", "users")],
        required_one_of=[("name", "users")],
        required_if=[("exclusive", True, ("users",))],
        options_kind=ACCESS,
        secrets_in=[("users", "password")],  # passwords inside ``users`` are secrets too
    )
    run_module(module, run)


if __name__ == "__main__":
    main()
