#!/usr/bin/env bash
# Builds the container images the tests run, locally (no registry is reachable here).
# Idempotent: an image is reused when it exists and was built from the current definition
# (its label records a hash of its build context and of its base image); otherwise it is built.
#
#   OCI_TEST_BASE_IMAGE          Debian bookworm, debootstrap'ed and imported   (oci-registry-test/debian:bookworm)
#   OCI_TEST_DISTRIBUTION_IMAGE  CNCF Distribution 2.8 from Debian's package    (oci-registry-test/distribution:2.8)
#   OCI_TEST_HOST_IMAGE          Docker-in-Docker target host for Molecule      (oci-registry-test/host:bookworm)
#   OCI_TEST_BAREHOST_IMAGE      bare Debian target host: sshd, sudo, python3, docker.io and nothing the
#                                collection needs; reached over SSH by molecule/ssh (oci-registry-test/barehost:bookworm)
#   OCI_TEST_NGINX_IMAGE         Debian nginx + htpasswd, a front for Distribution (oci-registry-test/nginx:bookworm)
#   OCI_TEST_POSTGRES_IMAGE      Debian PostgreSQL 15, a stand-in for Harbor's harbor-db (oci-registry-test/postgres:15)
#   OCI_TEST_ZOT_STANDIN_IMAGE   a stand-in for zot v2.1.20's process (NOT zot; see its header), with the project's
#                                config checker                                  (oci-registry-test/zot-standin:v2.1.20)
#   OCI_TEST_FRONT_AUTH_IMAGE    Debian python3-bcrypt + python3-jwt: the access front's auth service
#                                (oci-registry-test/front-auth:bookworm; context roles/distribution/files/front-auth)
#   OCI_TEST_RGW_IMAGE           Ceph 16 radosgw, one node, memstore: real S3 (port 7480); env RGW_ACCESS_KEY,
#                                RGW_SECRET_KEY, RGW_BUCKETS; prints "RGW READY" (oci-registry-test/rgw:bookworm)
#   OCI_TEST_REDIS_IMAGE         Debian redis-server, run like the official image  (oci-registry-test/redis:bookworm)
#   OCI_TEST_HAPROXY_IMAGE       Debian haproxy, run like the official image (config at
#                                /usr/local/etc/haproxy/haproxy.cfg)              (oci-registry-test/haproxy:bookworm)
#
# Running the host image. It needs exactly these options (`--privileged` does not work here):
#   --cap-add SYS_ADMIN --cap-add NET_ADMIN
#   --security-opt apparmor=unconfined --security-opt seccomp=unconfined
#   --cgroupns host -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /var/lib/docker:exec
# Then `docker exec HOST start-dockerd` starts its engine (idempotent, waits until it answers,
# about 1 s). dockerd inside needs NO extra flags: it picks overlay2 on the /var/lib/docker
# tmpfs, drives iptables through the nf_tables backend (Debian's default), and its docker0
# takes the next free private subnet (172.18.0.0/16 when the outer engine uses 172.17.0.0/16).
# Load images into it with `docker save IMG | docker exec -i HOST docker load`.
# Nested containers create cgroups in the shared /sys/fs/cgroup (cgroup v1 here): remove them
# inside the host (`docker rm -f ...`) before destroying the host, or their empty cgroup
# directories stay behind on this machine (harmless, but litter).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
contexts=$here/images
logdir=$root/.build/bed
suite=bookworm
label=provisioning.oci_registry.bed.hash

base_image=${OCI_TEST_BASE_IMAGE:-oci-registry-test/debian:bookworm}
distribution_image=${OCI_TEST_DISTRIBUTION_IMAGE:-oci-registry-test/distribution:2.8}
host_image=${OCI_TEST_HOST_IMAGE:-oci-registry-test/host:bookworm}
barehost_image=${OCI_TEST_BAREHOST_IMAGE:-oci-registry-test/barehost:bookworm}
nginx_image=${OCI_TEST_NGINX_IMAGE:-oci-registry-test/nginx:bookworm}
postgres_image=${OCI_TEST_POSTGRES_IMAGE:-oci-registry-test/postgres:15}
zot_standin_image=${OCI_TEST_ZOT_STANDIN_IMAGE:-oci-registry-test/zot-standin:v2.1.20}
# The project files the zot stand-in carries (its config checker), added to its build context.
zot_standin_files=(plugins/module_utils/_zot_schema.py plugins/module_utils/_errors.py)
front_auth_image=${OCI_TEST_FRONT_AUTH_IMAGE:-oci-registry-test/front-auth:bookworm}
rgw_image=${OCI_TEST_RGW_IMAGE:-oci-registry-test/rgw:bookworm}
redis_image=${OCI_TEST_REDIS_IMAGE:-oci-registry-test/redis:bookworm}
haproxy_image=${OCI_TEST_HAPROXY_IMAGE:-oci-registry-test/haproxy:bookworm}

# The classic builder: BuildKit needs the buildx plugin, which this machine does not have.
export DOCKER_BUILDKIT=0

log() { printf 'images.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null; }
image_label() { docker image inspect -f "{{index .Config.Labels \"$label\"}}" "$1" 2>/dev/null; }

# The mirror the machine's apt uses: deb822 sources first, then the one-line format.
debian_mirror() {
  local uri=""
  if [[ -r /etc/apt/sources.list.d/debian.sources ]]; then
    uri=$(awk 'tolower($1) == "uris:" && $2 !~ /security/ { print $2; exit }' \
      /etc/apt/sources.list.d/debian.sources)
  fi
  if [[ -z "$uri" && -r /etc/apt/sources.list ]]; then
    # deb [options] URI suite components
    uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\// && $i !~ /security/) { print $i; exit } }' \
      /etc/apt/sources.list)
  fi
  [[ -n "$uri" ]] || die "no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
  printf '%s\n' "$uri"
}

# Unmounts whatever debootstrap left mounted (proc, sys) before deleting the tree.
remove_rootfs() {
  local dir=$1 mnt
  [[ -d "$dir" ]] || return 0
  while read -r mnt; do
    umount -l "$mnt"
  done < <(findmnt -rn -o TARGET | awk -v d="$dir/" 'index($0, d) == 1' | sort -r)
  rm -rf --one-file-system "$dir"
}

build_base() {
  local hash=$1 mirror rootfs
  ((EUID == 0)) || die "building $base_image needs root (debootstrap)"
  command -v debootstrap >/dev/null || die "debootstrap is missing; run tests/bed/packages.sh"
  mirror=$(debian_mirror)
  rootfs=$(mktemp -d "${TMPDIR:-/var/tmp}/oci-bed-rootfs.XXXXXX")
  # shellcheck disable=SC2064 # expand now: the trap must remove this very directory
  trap "remove_rootfs '$rootfs'" EXIT
  log "debootstrap $suite from $mirror (log: $logdir/base.log)"
  if ! debootstrap --variant=minbase --include=python3 "$suite" "$rootfs" "$mirror" \
    >"$logdir/base.log" 2>&1; then
    tail -n 30 "$logdir/base.log" >&2
    die "debootstrap failed"
  fi
  # Package caches and lists only make the image bigger; every build runs apt-get update.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/*
  tar --numeric-owner -C "$rootfs" -c . |
    docker import -c 'CMD ["/bin/bash"]' -c "LABEL $label=$hash" - "$base_image" >/dev/null
  remove_rootfs "$rootfs"
  trap - EXIT
}

build_context() {
  local image=$1 context=$2 hash=$3 name
  name=$(basename "$context")
  if ! docker build --network host --force-rm \
    --build-arg "BASE_IMAGE=$base_image" --label "$label=$hash" \
    -t "$image" "$context" >"$logdir/$name.log" 2>&1; then
    tail -n 30 "$logdir/$name.log" >&2
    die "building $image from $context failed (log: $logdir/$name.log)"
  fi
}

# ensure IMAGE HASH BUILD-COMMAND...: reuse IMAGE when its label matches HASH, else build it.
ensure() {
  local image=$1 hash=$2 start=$SECONDS old
  shift 2
  old=$(image_id "$image" || true)
  if [[ -n "$old" && "$(image_label "$image")" == "$hash" ]]; then
    log "$image reused (0s)"
    return 0
  fi
  "$@"
  if [[ -n "$old" && "$old" != "$(image_id "$image")" ]]; then
    # The superseded image goes unless a container or a child image still uses it.
    if docker image rm "$old" >/dev/null 2>&1; then
      log "$image rebuilt (definition changed; old image removed) in $((SECONDS - start))s"
    else
      log "$image rebuilt (definition changed; old image ${old:7:12} still used by a container or image, kept) in $((SECONDS - start))s"
    fi
  else
    log "$image built in $((SECONDS - start))s"
  fi
}

# Hash of a build context's files (names and contents) and of the image it builds FROM.
context_hash() {
  local context=$1
  {
    image_id "$base_image"
    (cd "$context" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -c1-16
}

command -v docker >/dev/null || die "docker is missing; run tests/bed/packages.sh"
docker info >/dev/null 2>&1 || die "no Docker engine answers; run tests/bed/engine.sh"
mkdir -p "$logdir"

# One build at a time on this machine: a second run waits for the first, then reuses.
exec 9>"$logdir/images.lock"
if ! flock -n 9; then
  log "another images.sh is building; waiting for it (up to 15 min)"
  flock -w 900 9 || die "timed out waiting for the other images.sh"
fi

# The base image's definition is this script's debootstrap call: bump the version to rebuild it.
base_hash=$(printf '%s minbase python3 v1' "$suite" | sha256sum | cut -c1-16)
ensure "$base_image" "$base_hash" build_base "$base_hash"

# Built FROM the base image, each from its directory under tests/bed/images/.
for spec in "distribution $distribution_image" "host $host_image" "barehost $barehost_image" "nginx $nginx_image" "postgres $postgres_image" \
  "rgw $rgw_image" "redis $redis_image" "haproxy $haproxy_image"; do
  read -r name image <<<"$spec"
  hash=$(context_hash "$contexts/$name")
  ensure "$image" "$hash" build_context "$image" "$contexts/$name" "$hash"
done

# The zot stand-in: its directory plus the checker, under ansible_collections/ as the collection has it.
build_zot_standin() {
  local image=$1 hash=$2 ctx file
  ctx=$(mktemp -d "${TMPDIR:-/var/tmp}/oci-bed-zot-standin.XXXXXX")
  cp -a "$contexts/zot-standin/." "$ctx/"
  for file in "${zot_standin_files[@]}"; do
    mkdir -p "$ctx/ansible_collections/provisioning/oci_registry/$(dirname "$file")"
    cp "$root/$file" "$ctx/ansible_collections/provisioning/oci_registry/$file"
  done
  find "$ctx/ansible_collections" -type d -exec touch {}/__init__.py \;
  build_context "$image" "$ctx" "$hash"
  rm -rf "$ctx"
}
hash=$({
  context_hash "$contexts/zot-standin"
  (cd "$root" && sha256sum "${zot_standin_files[@]}")
} | sha256sum | cut -c1-16)
ensure "$zot_standin_image" "$hash" build_zot_standin "$zot_standin_image" "$hash"
# The role ships this one's definition (it builds it on a registry host where it is absent).
hash=$(context_hash "$root/roles/distribution/files/front-auth")
ensure "$front_auth_image" "$hash" build_context "$front_auth_image" "$root/roles/distribution/files/front-auth" "$hash"
