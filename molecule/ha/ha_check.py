#!/usr/bin/env python3
"""Real-client checks of the ha scenario (run by verify.yml on this machine): skopeo through the balancer and
against each replica, docker to stop and start a replica's containers inside its host. Prints one JSON object.

  ha_check.py push      --lb HOST:PORT --cert-dir DIR --creds USER:PW --repo ha/app --work DIR
  ha_check.py digests   --replica HOST:PORT ... --cert-dir DIR --creds USER:PW --repo ha/app --tag v1
  ha_check.py failover  --lb HOST:PORT --stop-host oci-ha-2 --cert-dir DIR --creds USER:PW --repo ha/app --tag v1
                        --interval-ms 1000 --work DIR [--seconds 14]
  ha_check.py loop      (as failover, without stopping anything; --until-file F: runs until F exists)
  ha_check.py login     --replica HOST:PORT ... --cert-dir DIR --creds USER:PW --work DIR   (GET /v2/ with Basic on
                        each; a token from the first one's /token, kept in DIR, then GET /v2/ with it on each)
  ha_check.py delete    --lb HOST:PORT --cert-dir DIR --creds USER:PW --repo ha/gc --tag v1   (the manifest, by tag)
  ha_check.py repush    --lb HOST:PORT --replica HOST:PORT ... --work DIR ...   (push's image again, byte for byte,
                        then a whole pull from each replica: after GC, the blobs must really be stored again)
"""

import argparse
import base64
import hashlib
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
from oci_layout import Layout  # noqa: E402  (the project's layout builder)

REPLICA_CONTAINERS = ["oci-registry-front", "oci-registry-auth", "oci-registry"]


def skopeo(*args, timeout=120):
    run = subprocess.run(["skopeo", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         timeout=timeout, check=False)
    return run.returncode, run.stdout, run.stderr


def creds_args(kind, args):
    return ["--%s-creds" % kind, args.creds, "--%s-cert-dir" % kind, args.cert_dir]


def manifest_digest(address, args, tag):
    rc, out, err = skopeo("inspect", "--raw", "--creds", args.creds, "--cert-dir", args.cert_dir,
                          "docker://%s/%s:%s" % (address, args.repo, tag))
    if rc != 0:
        return None, err.strip()
    return "sha256:" + hashlib.sha256(out.encode()).hexdigest(), ""


def pull(address, args, tag, dest):
    """A whole pull (manifest, config and layers) into an OCI layout; returns (ok, seconds, error)."""
    started = time.monotonic()
    rc, _out, err = skopeo("copy", "--preserve-digests", *creds_args("src", args),
                           "docker://%s/%s:%s" % (address, args.repo, tag), "oci:%s:%s" % (dest, tag), timeout=60)
    return rc == 0, time.monotonic() - started, err.strip()[-400:]


def cmd_push(args):
    layout = Layout(os.path.join(args.work, "source"))
    # Random content: a new image each run, 3 layers of 192 KiB (a pull is a few round trips, not bandwidth).
    layers = [{"data/%d.bin" % i: os.urandom(192 * 1024)} for i in range(3)]
    digest = layout.tag(layout.image(None, layers=layers), args.tag)
    rc, _out, err = skopeo("copy", "--preserve-digests", *creds_args("dest", args),
                           "oci:%s:%s" % (layout.path, args.tag), "docker://%s/%s:%s" % (args.lb, args.repo, args.tag))
    pushed, error = manifest_digest(args.lb, args, args.tag) if rc == 0 else (None, err.strip())
    return {"ok": rc == 0 and pushed == digest, "digest": digest, "through_balancer": pushed, "error": error}


def cmd_delete(args):
    rc, _out, err = skopeo("delete", "--creds", args.creds, "--cert-dir", args.cert_dir,
                           "docker://%s/%s:%s" % (args.lb, args.repo, args.tag))
    return {"ok": rc == 0, "error": err.strip()}


def cmd_repush(args):
    source = os.path.join(args.work, "source")
    rc, _out, err = skopeo("copy", "--preserve-digests", *creds_args("dest", args),
                           "oci:%s:%s" % (source, args.tag), "docker://%s/%s:%s" % (args.lb, args.repo, args.tag))
    if rc != 0:
        return {"ok": False, "error": err.strip()}
    result = cmd_digests(args)
    with open(os.path.join(source, "index.json")) as handle:
        result["digest"] = [entry["digest"] for entry in json.load(handle)["manifests"]
                            if entry["annotations"]["org.opencontainers.image.ref.name"] == args.tag][0]
    result["ok"] = result["ok"] and set(v["digest"] for v in result["replicas"].values()) == {result["digest"]}
    return result


def cmd_digests(args):
    found = {}
    for address in args.replica:
        digest, error = manifest_digest(address, args, args.tag)
        # No colon in the layout's path: skopeo's oci: transport takes what follows the first one as the tag.
        dest = os.path.join(args.work, "pull-" + address.replace(":", "_"))
        ok, seconds, pull_error = pull(address, args, args.tag, dest)
        found[address] = {"digest": digest, "error": error, "pulled": ok, "pull_error": pull_error}
    digests = set(v["digest"] for v in found.values())
    return {"ok": len(digests) == 1 and None not in digests and all(v["pulled"] for v in found.values()),
            "replicas": found}


def docker_in(host, *argv):
    return subprocess.run(["docker", "exec", host, "docker", *argv], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, check=False)


def cmd_failover(args, stop=True):
    """Pulls through the balancer back to back; after 2 s, the replica's containers stop (docker stop inside its
    host). Every pull is recorded with its start time relative to the stop."""
    pulls, stop_at, done = [], [None], threading.Event()

    def stopper():
        time.sleep(2)
        stop_at[0] = time.monotonic()
        result = docker_in(args.stop_host, "stop", "--time", "2", *REPLICA_CONTAINERS)
        stop_at.append(result.returncode)

    start = time.monotonic()
    if stop:
        threading.Thread(target=stopper, daemon=True).start()
    n = 0
    while not done.is_set():
        n += 1
        begun = time.monotonic()
        ok, seconds, error = pull(args.lb, args, args.tag, os.path.join(args.work, "loop-%d" % n))
        pulls.append({"start": begun, "ok": ok, "seconds": round(seconds, 3), "error": "" if ok else error})
        if args.until_file:
            if os.path.exists(args.until_file):
                done.set()
        elif time.monotonic() - start >= args.seconds:
            done.set()
    stopped = stop_at[0]
    grace = 2 * args.interval_ms / 1000.0 + 1.0  # haproxy: fall 2 at inter interval_ms, and a check's timeout
    for p in pulls:
        p["after_stop"] = round(p["start"] - stopped, 3) if stopped else None
        del p["start"]
    after = [p for p in pulls if stopped and p["after_stop"] > grace]
    failed_after = [p for p in after if not p["ok"]]
    return {
        "ok": bool(pulls) and not failed_after and (not stop or (len(after) >= 3 and stop_at[1] == 0)),
        "pulls": len(pulls), "failed": sum(1 for p in pulls if not p["ok"]),
        "failed_after_grace": len(failed_after), "pulls_after_grace": len(after), "grace_s": grace,
        "stop_rc": stop_at[1] if len(stop_at) > 1 else None, "detail": [p for p in pulls if not p["ok"]][:5],
        "max_seconds": max(p["seconds"] for p in pulls) if pulls else None,
    }


def cmd_login(args):
    """GET /v2/ with Basic on every replica; a token from the first replica's /token (kept in --work, so that a
    later run can try the same token again), and GET /v2/ with that Bearer token on every replica."""
    context = ssl.create_default_context(cafile=os.path.join(args.cert_dir, "ca.crt"))
    basic = "Basic " + base64.b64encode(args.creds.encode()).decode()

    def get(url, header):
        request = urllib.request.Request(url, headers={"Authorization": header})
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, b""

    status = {address: get("https://%s/v2/" % address, basic)[0] for address in args.replica}
    issued, body = get("https://%s/token?scope=repository:%s:pull" % (args.replica[0], args.repo), basic)
    token_file = os.path.join(args.work, "token")
    if issued == 200:
        with open(token_file, "w") as handle:
            handle.write(json.loads(body)["token"])
    token_status = {}
    if os.path.exists(token_file):
        with open(token_file) as handle:
            bearer = "Bearer " + handle.read()
        token_status = {address: get("https://%s/v2/" % address, bearer)[0] for address in args.replica}
    return {"ok": True, "status": status, "token_issued": issued, "token_status": token_status}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["push", "digests", "failover", "loop", "login", "delete", "repush"])
    parser.add_argument("--lb")
    parser.add_argument("--replica", action="append", default=[])
    parser.add_argument("--stop-host")
    parser.add_argument("--cert-dir", required=True)
    parser.add_argument("--creds", required=True)
    parser.add_argument("--repo", default="ha/app")
    parser.add_argument("--tag", default="v1")
    parser.add_argument("--work", default="/tmp")
    parser.add_argument("--interval-ms", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=14)
    parser.add_argument("--until-file")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    result = {"push": cmd_push, "digests": cmd_digests, "failover": cmd_failover,
              "loop": lambda a: cmd_failover(a, stop=False), "login": cmd_login, "delete": cmd_delete,
              "repush": cmd_repush}[args.command](args)
    print(json.dumps(result, indent=1))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
