# Copyright: provisioning.oci_registry contributors
# Apache License 2.0 (see LICENSE)
"""The registry's storage backend: the model of ``oci_registry_storage`` and the S3 write probe.

``normalize_storage`` checks the whole value and returns it with every default filled in, or raises
StorageError listing every problem, each naming the exact key (``oci_registry_storage.s3.bucket: ...``).
``probe_s3`` proves, on the host that will run the registry, that the bucket exists and can be written,
read back and deleted with the given credentials (botocore signs the requests: no S3 code of our own),
and turns each failure into a message naming the key to fix. No message built here contains the secret
key: values are never echoed for the credentials, and the store's own error texts are scrubbed.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

from ansible_collections.provisioning.oci_registry.plugins.module_utils._errors import (
    InvalidParameterError,
    OciRegistryError,
)

try:
    import botocore.config
    import botocore.exceptions
    import botocore.session
    HAS_BOTOCORE = True
    BOTOCORE_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - depends on the host
    HAS_BOTOCORE = False
    BOTOCORE_IMPORT_ERROR = exc

TYPES = ("filesystem", "s3")
MASK = "********"
SECRET_KEYS = ("access_key", "secret_key")

S3_DEFAULTS = {
    "endpoint": "",
    "region": "us-east-1",
    "bucket": None,
    "access_key": None,
    "secret_key": None,
    "path_style": True,
    "tls_verify": True,
    "ca_path": "",
    "chunk_size_mb": 10,
    "root_directory": "",
    "redirect": False,
}
S3_KEYS = tuple(S3_DEFAULTS)
# S3's multipart uploads need parts of at least 5 MiB (all but the last); Distribution's s3 driver
# refuses a smaller chunksize (reference/distribution/docs/storage-driver-s3.md, "chunksize").
CHUNK_MIN_MB = 5
CHUNK_MAX_MB = 5120

# Bucket names as S3 allows them (3-63 characters, lower-case letters, digits, dots and hyphens,
# beginning and ending with a letter or digit); what AWS and radosgw both accept.
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
BUCKET_RULE = "3 to 63 lower-case letters, digits, '.' and '-', beginning and ending with a letter or digit"
REGION_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
ROOT_RE = re.compile(r"^[A-Za-z0-9._/-]*$")


class StorageError(InvalidParameterError):
    """``oci_registry_storage`` is not valid; ``problems`` lists every problem found."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems), problems=self.problems)


class StorageProbeError(OciRegistryError):
    """The S3 store refused or could not be reached; the message names the key to fix."""


def _type_name(value):
    # Ansible 2.19 hands filters tagged subclasses (_AnsibleTaggedStr ...): name the plain type.
    for kind in (bool, int, float, str, list, dict):
        if isinstance(value, kind):
            return kind.__name__
    return type(value).__name__


def _describe(value):
    plain = value
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            plain = kind(value)
            break
    return "%r (%s)" % (plain, _type_name(value))


def _bool(value, key, problems):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return value.lower() in ("true", "yes", "on", "1")
    problems.append("%s: must be true or false, got %s" % (key, _describe(value)))
    return None


def _int(value, key, problems):
    if isinstance(value, bool):
        pass
    elif isinstance(value, int):
        return value
    elif isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    problems.append("%s: must be a whole number, got %s" % (key, _describe(value)))
    return None


def _endpoint(value, key, problems):
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        problems.append("%s: must be a URL such as http://rgw.example:7480, or empty for AWS, got %s"
                        % (key, _describe(value)))
        return None
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError as exc:
        problems.append("%s: %r is not a valid URL (%s)" % (key, value, exc))
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        problems.append("%s: %r must start with http:// or https:// and name a host, such as "
                        "http://rgw.example:7480 (or be empty for AWS)" % (key, value))
        return None
    if parts.username is not None or parts.password is not None:
        problems.append("%s: must not carry credentials in the URL; use access_key and secret_key" % key)
        return None
    if parts.path.strip("/") or parts.query or parts.fragment:
        problems.append("%s: %r must have no path, query or fragment: the bucket is given by bucket, "
                        "the prefix by root_directory" % (key, value))
        return None
    host = parts.hostname if ":" not in parts.hostname else "[%s]" % parts.hostname
    return "%s://%s%s" % (parts.scheme, host, ":%d" % port if port else "")


def normalize_storage(value, name="oci_registry_storage"):
    """The storage dict with every default filled in; raises StorageError naming each bad key."""
    problems = []
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise StorageError(["%s: must be a dict such as {type: filesystem} or {type: s3, s3: {bucket: ...}}, got %s"
                            % (name, _type_name(value))])
    unknown = sorted(str(k) for k in value if k not in ("type", "s3"))
    if unknown:
        problems.append("%s: unknown key(s) %s; valid keys: type, s3" % (name, ", ".join(unknown)))
    kind = value.get("type") or "filesystem"
    if kind not in TYPES:
        problems.append("%s.type: must be one of %s, got %s" % (name, ", ".join(TYPES), _describe(kind)))
    if kind != "s3":
        if problems:
            raise StorageError(problems)
        return {"type": kind}

    s3 = value.get("s3")
    where = name + ".s3"
    if not isinstance(s3, dict):
        problems.append("%s: required with type s3, a dict with at least bucket (keys: %s), got %s"
                        % (where, ", ".join(S3_KEYS), "nothing" if s3 is None else _type_name(s3)))
        raise StorageError(problems)
    unknown = sorted(str(k) for k in s3 if k not in S3_KEYS)
    if unknown:
        problems.append("%s: unknown key(s) %s; valid keys: %s" % (where, ", ".join(unknown), ", ".join(S3_KEYS)))
    given = {k: v for k, v in s3.items() if v is not None}
    out = dict(S3_DEFAULTS)
    out.update({k: v for k, v in given.items() if k in S3_KEYS})

    out["endpoint"] = _endpoint(out["endpoint"], where + ".endpoint", problems)

    region = out["region"]
    if not isinstance(region, str) or not REGION_RE.match(region):
        problems.append("%s.region: must be a region name such as us-east-1 (lower-case letters, digits, '-'), got %s"
                        % (where, _describe(region)))

    bucket = out["bucket"]
    if bucket is None or bucket == "":
        problems.append("%s.bucket: required with type s3: the name of an existing bucket" % where)
    elif not isinstance(bucket, str) or not BUCKET_RE.match(bucket) or ".." in bucket:
        problems.append("%s.bucket: %s is not a bucket name: %s" % (where, _describe(bucket), BUCKET_RULE))

    for key in SECRET_KEYS:
        secret = out[key]
        if secret == "":
            out[key] = secret = None
        if secret is not None and (not isinstance(secret, str) or secret.strip() != secret):
            # The value itself is never shown.
            problems.append("%s.%s: must be a non-empty string without surrounding spaces (its value is not shown)"
                            % (where, key))
    if (out["access_key"] is None) != (out["secret_key"] is None):
        problems.append("%s: give access_key and secret_key together, or neither (the host's own credentials, "
                        "such as an instance role); only %s is set"
                        % (where, "access_key" if out["access_key"] is not None else "secret_key"))

    for key in ("path_style", "tls_verify", "redirect"):
        out[key] = _bool(out[key], "%s.%s" % (where, key), problems)

    ca_path = out["ca_path"]
    if not isinstance(ca_path, str) or (ca_path and not ca_path.startswith("/")):
        problems.append("%s.ca_path: must be the absolute path of a PEM CA file on the registry host, or empty, got %s"
                        % (where, _describe(ca_path)))
    elif ca_path and out["endpoint"] and out["endpoint"].startswith("http://"):
        problems.append("%s.ca_path: is set but %s.endpoint is plain http://; use https:// or leave ca_path empty"
                        % (where, where))

    chunk = _int(out["chunk_size_mb"], where + ".chunk_size_mb", problems)
    if chunk is not None and not CHUNK_MIN_MB <= chunk <= CHUNK_MAX_MB:
        problems.append("%s.chunk_size_mb: must be between %d and %d (MiB; S3 multipart parts are at least 5 MiB), got %d"
                        % (where, CHUNK_MIN_MB, CHUNK_MAX_MB, chunk))
    out["chunk_size_mb"] = chunk

    root = out["root_directory"]
    if not isinstance(root, str) or not ROOT_RE.match(root) or ".." in root.split("/"):
        problems.append("%s.root_directory: must be a key prefix of letters, digits, '.', '_', '-' and '/' "
                        "(no '..'), or empty for the bucket's root, got %s" % (where, _describe(root)))
    else:
        root = root.strip("/")
        out["root_directory"] = "/" + root if root else ""

    if problems:
        raise StorageError(problems)
    return {"type": "s3", "s3": out}


def public_storage(storage):
    """A copy of a normalized storage dict with the credentials masked, fit for results and diffs."""
    out = dict(storage)
    if isinstance(storage.get("s3"), dict):
        out["s3"] = dict(storage["s3"])
        for key in SECRET_KEYS:
            if out["s3"].get(key):
                out["s3"][key] = MASK
    return out


def _client(s3, timeout):
    if s3["ca_path"]:
        verify = s3["ca_path"]
    else:
        verify = bool(s3["tls_verify"])
    config = botocore.config.Config(
        s3={"addressing_style": "path" if s3["path_style"] else "auto"},
        signature_version="s3v4",
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"max_attempts": 1, "mode": "standard"},
    )
    session = botocore.session.get_session()
    return session.create_client(
        "s3", endpoint_url=s3["endpoint"] or None, region_name=s3["region"], use_ssl=True, verify=verify,
        aws_access_key_id=s3["access_key"], aws_secret_access_key=s3["secret_key"], config=config,
    )


class _Probe:
    def __init__(self, storage, name, timeout):
        self.s3 = storage["s3"]
        self.where = name + ".s3"
        self.where_store = "bucket %r at %s" % (self.s3["bucket"], self.s3["endpoint"] or "AWS S3 (region %s)"
                                                % self.s3["region"])
        self.client = _client(self.s3, timeout)

    def scrub(self, text):
        text = str(text)
        for key in SECRET_KEYS:
            secret = self.s3.get(key)
            if secret and key == "secret_key":
                text = text.replace(secret, MASK)
        return text

    def fail(self, key, msg):
        raise StorageProbeError(self.scrub("%s.%s: %s" % (self.where, key, msg)), probe_failed_key=key)

    def call(self, action, function, **kwargs):
        """Calls one S3 operation; every failure becomes a StorageProbeError naming the key to fix."""
        try:
            return function(Bucket=self.s3["bucket"], **kwargs)
        except Exception as exc:  # noqa: BLE001 - classify() re-raises what it does not know
            self.classify(action, exc)
        return None

    def classify(self, action, exc):
        if isinstance(exc, botocore.exceptions.SSLError):
            key = "ca_path" if self.s3["ca_path"] else "tls_verify"
            self.fail(key, "TLS with %s failed while %s: %s. Set ca_path to the PEM CA that signed the store's "
                      "certificate (or tls_verify false to skip verification)" % (self.s3["endpoint"], action, exc))
        if isinstance(exc, (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError,
                            botocore.exceptions.ReadTimeoutError)):
            self.fail("endpoint", "the S3 endpoint is unreachable from this host while %s (%s)" % (action, exc))
        if isinstance(exc, (botocore.exceptions.NoCredentialsError, botocore.exceptions.PartialCredentialsError)):
            self.fail("access_key", "no credentials: give access_key and secret_key, or give this host its own "
                      "(for example an instance role)")
        if isinstance(exc, botocore.exceptions.ClientError):
            self.client_error(action, exc)
        if isinstance(exc, botocore.exceptions.BotoCoreError):
            self.fail("endpoint", "the S3 request failed while %s: %s" % (action, exc))
        raise exc

    def client_error(self, action, exc):
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        detail = "%s%s" % (code or "HTTP %s" % status, ": " + error["Message"] if error.get("Message") else "")
        if code in ("NoSuchBucket", "404", "NotFound"):
            self.fail("bucket", "%s does not exist (%s while %s); create it first: the registry does not create "
                      "buckets" % (self.where_store, detail, action))
        if code == "InvalidAccessKeyId":
            self.fail("access_key", "the store does not know this access key (%s while %s)" % (detail, action))
        if code == "SignatureDoesNotMatch":
            self.fail("secret_key", "the store refused the request signature: the secret key does not belong to "
                      "the access key (%s while %s)" % (code, action))
        if code in ("AuthorizationHeaderMalformed", "PermanentRedirect", "IllegalLocationConstraintException"):
            self.fail("region", "%s is in another region (%s while %s)" % (self.where_store, detail, action))
        if code in ("AccessDenied", "403", "Forbidden", "AllAccessDisabled"):
            self.fail("access_key", "access denied to %s while %s (%s): these credentials may not %s it"
                      % (self.where_store, action, detail, "read" if action.startswith("reading") else "write"))
        self.fail("endpoint", "%s answered %s while %s" % (self.where_store, detail, action))

    def read_only(self):
        action = "reading the bucket (HEAD)"
        try:
            self.client.head_bucket(Bucket=self.s3["bucket"])
            return
        except botocore.exceptions.ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code") or "")
            if code not in ("403", "400", "Forbidden", "BadRequest"):
                self.client_error(action, exc)
        except Exception as exc:  # noqa: BLE001 - classify() re-raises what it does not know
            self.classify(action, exc)
        # A HEAD answer has no body, so a 403 cannot say which credential is wrong: a listing of at most one
        # key (read-only too) carries the store's error code.
        self.call("reading the bucket (listing one key)", self.client.list_objects_v2, MaxKeys=1,
                  Prefix=self.s3["root_directory"].lstrip("/"))

    def write(self):
        prefix = self.s3["root_directory"].lstrip("/")
        key = "%s%s.oci-registry-probe-%s" % (prefix, "/" if prefix else "", uuid.uuid4().hex)
        body = uuid.uuid4().bytes * 64
        self.call("writing %s" % key, self.client.put_object, Key=key, Body=body)
        try:
            answer = self.call("reading back %s" % key, self.client.get_object, Key=key)
            data = answer["Body"].read()
            if data != body:
                self.fail("endpoint", "%s returned other content than was written to %s (%d bytes instead of %d)"
                          % (self.where_store, key, len(data), len(body)))
        finally:
            self.call("deleting %s" % key, self.client.delete_object, Key=key)
        return key


def probe_s3(storage, name="oci_registry_storage", check_mode=False, timeout=10):
    """Proves that the registry can use the bucket of a normalized s3 ``storage``.

    Writes a random key under root_directory, reads it back and compares the content, deletes it. In
    check mode it only reads (HEAD of the bucket). Returns {bucket, endpoint, wrote, key}; raises
    StorageProbeError whose message names ``<name>.s3.<key>`` (bucket, access_key, secret_key, region,
    endpoint, tls_verify or ca_path) and never contains the secret key.
    """
    if storage.get("type") != "s3":
        raise InvalidParameterError("%s.type: the S3 probe needs type s3, got %r" % (name, storage.get("type")))
    if not HAS_BOTOCORE:
        raise OciRegistryError("%s: type s3 needs the Python library botocore on the registry host "
                               "(Debian: python3-botocore; pip: botocore): %s" % (name, BOTOCORE_IMPORT_ERROR))
    probe = _Probe(storage, name, timeout)
    if check_mode:
        probe.read_only()
        return {"bucket": storage["s3"]["bucket"], "endpoint": storage["s3"]["endpoint"], "wrote": False, "key": None}
    key = probe.write()
    return {"bucket": storage["s3"]["bucket"], "endpoint": storage["s3"]["endpoint"], "wrote": True, "key": key}


# -- Redis (oci_registry_redis as the roles receive it: {address, password, db, tls} or {}) ----------------

REDIS_KEYS = ("address", "password", "db", "tls")
ADDRESS_RE = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$")


def normalize_redis(value, name="distribution_redis"):
    """{} (no Redis) or {address, password, db, tls}; raises StorageError naming each bad key."""
    if value is None or value == {}:
        return {}
    if not isinstance(value, dict):
        raise StorageError(["%s: must be a dict {address, password, db, tls} or {} for no Redis, got %s"
                            % (name, _type_name(value))])
    problems = []
    unknown = sorted(str(k) for k in value if k not in REDIS_KEYS)
    if unknown:
        problems.append("%s: unknown key(s) %s; valid keys: %s" % (name, ", ".join(unknown), ", ".join(REDIS_KEYS)))
    address = value.get("address")
    match = ADDRESS_RE.match(address) if isinstance(address, str) else None
    if not match or not 1 <= int(match.group(2)) <= 65535:
        problems.append("%s.address: must be host:port of the Redis server, such as redis.example:6379, got %s"
                        % (name, _describe(address)))
    password = value.get("password")
    if password == "":
        password = None
    if password is not None and not isinstance(password, str):
        problems.append("%s.password: must be a string (its value is not shown)" % name)
    db = _int(value.get("db", 0) if value.get("db") is not None else 0, name + ".db", problems)
    if db is not None and not 0 <= db <= 15:
        problems.append("%s.db: must be a Redis database number 0-15, got %d" % (name, db))
    tls = _bool(value.get("tls", False) if value.get("tls") is not None else False, name + ".tls", problems)
    if problems:
        raise StorageError(problems)
    return {"address": address, "password": password, "db": db, "tls": tls}


# -- Distribution's configuration (reference/distribution/docs/configuration.md, storage-driver-s3.md) ----

def distribution_config(storage, redis=None, v2=False, rootdirectory="/var/lib/registry",
                        name="distribution_storage", redis_name="distribution_redis"):
    """The part of Distribution's config.yml that storage and Redis decide, to merge into the rest.

    filesystem: storage.filesystem.rootdirectory. s3: storage.s3 (accesskey, secretkey, region,
    regionendpoint, bucket, secure, skipverify, v4auth, chunksize, rootdirectory) and storage.redirect
    (disable unless redirect is true: clients never reach the store). Distribution 3.x (v2 false) needs
    forcepathstyle with regionendpoint (storage-driver-s3.md, "regionendpoint"); 2.8 has no such key and uses
    path style whenever regionendpoint is set. A Redis: storage.cache.blobdescriptor redis and the redis
    section - 2.8 reads ``addr``, 3.x ``addrs`` (a list; configuration.md, "redis").
    """
    storage = normalize_storage(storage, name)
    redis = normalize_redis(redis, redis_name)
    out = {"storage": {}}
    if storage["type"] == "filesystem":
        out["storage"]["filesystem"] = {"rootdirectory": rootdirectory}
    else:
        s3 = storage["s3"]
        driver = {"region": s3["region"], "bucket": s3["bucket"], "v4auth": True,
                  "chunksize": s3["chunk_size_mb"] * 1024 * 1024}
        if s3["access_key"] is not None:
            driver["accesskey"] = s3["access_key"]
            driver["secretkey"] = s3["secret_key"]
        if s3["endpoint"]:
            driver["regionendpoint"] = s3["endpoint"]
            driver["secure"] = s3["endpoint"].startswith("https://")
            if not v2:
                driver["forcepathstyle"] = bool(s3["path_style"])
        elif not v2 and s3["path_style"]:
            driver["forcepathstyle"] = True
        if not s3["tls_verify"]:
            driver["skipverify"] = True
        if s3["root_directory"]:
            driver["rootdirectory"] = s3["root_directory"]
        out["storage"]["s3"] = driver
        out["storage"]["redirect"] = {"disable": not s3["redirect"]}
    if redis:
        out["storage"]["cache"] = {"blobdescriptor": "redis"}
        section = {"db": redis["db"]}
        if v2:
            section["addr"] = redis["address"]
        else:
            section["addrs"] = [redis["address"]]
        if redis["password"] is not None:
            section["password"] = redis["password"]
        if redis["tls"]:
            section["tls"] = {"enabled": True}
        out["redis"] = section
    return out
