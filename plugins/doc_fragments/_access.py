# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)

from __future__ import annotations


class ModuleDocFragment:
    """Options of oci_user, oci_namespace and oci_policy: where file-based registries keep access."""

    DOCUMENTATION = r"""
options:
  registry_url:
    description:
      - Base URL of the registry, for example C(https://registry.example.com:5000).
      - If not set, the environment variable E(OCI_REGISTRY_URL) is used.
      - Required for O(registry_type=harbor). For V(zot) and V(distribution) users and rules are files on the
        registry host, and the URL is only needed where the module must ask the registry, for example whether
        a namespace that is to be deleted still holds content.
    type: str
    required: false
  htpasswd_path:
    description:
      - V(zot) and V(distribution) - the htpasswd file the registry (or Distribution's access front) checks
        passwords against, on the host the module runs on.
      - Passwords are stored as bcrypt hashes (cost O(bcrypt_rounds)), or on V(zot) as SHA-512 crypt for a user
        whose C(password_hash) is V(sha512_crypt) (a machine user's long secret); the file is written in place, so
        that a process that watches it (zot) or a container that bind-mounts it sees the change.
    type: path
  config_path:
    description:
      - V(zot) - its C(config.json) on the registry host; C(http.accessControl) and the retention policies
        are rewritten in place after validation (zot reloads them without a restart).
    type: path
  front_config_path:
    description:
      - V(distribution) - the access front's C(nginx.conf) on the registry host (the distribution role deploys
        the front with C(distribution_access_front=true)). The front's settings (C(front.json)) and rules
        (C(access.json)) are next to it.
      - Without it only users can be managed on V(distribution), and every user may do everything (reported
        as a warning).
    type: path
  validate_command:
    description:
      - Command that checks a new configuration file before it replaces the live one; C(%s) is replaced by
        the path of a candidate file in the same directory. It fails the module when it exits non-zero.
      - For the Distribution front, for example
        C(docker run --rm --network none -v /etc/oci-registry/front:/etc/oci-registry/front:ro nginx-image nginx -t -q -c %s).
    type: str
  file_owner:
    description:
      - Owner (name or uid) of the files written, normally the registry's user.
      - Left as it is when not set (a new file belongs to the user the module runs as).
    type: str
  file_group:
    description:
      - Group (name or gid) of the files written. Left as it is when not set.
    type: str
  file_mode:
    description:
      - Mode of the htpasswd file and of the other files written.
    type: str
    choices: ['0600', '0640']
    default: '0640'
  bcrypt_rounds:
    description:
      - bcrypt cost of new password hashes, from 10 to 31. A stored hash of a lower cost than 10 is replaced.
    type: int
    default: 12
"""
