#!/usr/bin/python3
"""Creates the OSD, radosgw's key and radosgw's pools in ONE librados session.

Each `ceph` CLI call costs about 0.4 s of CPU here (a Python interpreter and a new session); these mon
commands through one connection cost a few milliseconds each (see shared ENVIRONMENT.md, RGW section).
Usage: rgw-pools.py OSD_UUID OSD_SECRET RGW_KEYRING_PATH
"""

import json
import sys

import rados

# The pools radosgw's default zone uses (it would create them lazily, one osdmap change each).
POOLS = [
    ".rgw.root",
    "default.rgw.control",
    "default.rgw.meta",
    "default.rgw.log",
    "default.rgw.buckets.index",
    "default.rgw.buckets.non-ec",
    "default.rgw.buckets.data",
]


def command(cluster, cmd, inbuf=b""):
    ret, out, err = cluster.mon_command(json.dumps(cmd), inbuf)
    if ret != 0:
        sys.exit("rgw-pools: %s failed (%d): %s" % (cmd["prefix"], ret, err))
    return out


def main():
    osd_uuid, osd_secret, rgw_keyring = sys.argv[1:4]
    cluster = rados.Rados(conffile="/etc/ceph/ceph.conf", name="client.admin")
    cluster.connect(timeout=30)
    try:
        out = command(cluster, {"prefix": "osd new", "uuid": osd_uuid, "format": "json"},
                      json.dumps({"cephx_secret": osd_secret}).encode())
        print("osd id", json.loads(out)["osdid"])
        key = command(cluster, {"prefix": "auth get-or-create", "entity": "client.rgw.a",
                                "caps": ["mon", "allow rw", "osd", "allow rwx"]})
        with open(rgw_keyring, "wb") as handle:
            handle.write(key)
        for pool in POOLS:
            command(cluster, {"prefix": "osd pool create", "pool": pool, "pg_num": 4, "pgp_num": 4})
            command(cluster, {"prefix": "osd pool application enable", "pool": pool, "app": "rgw"})
    finally:
        cluster.shutdown()


if __name__ == "__main__":
    main()
