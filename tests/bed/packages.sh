#!/usr/bin/env bash
# Installs the Debian packages the test machine needs (engine, image build tools, clients).
# Idempotent: asks dpkg first and only calls apt-get when something is missing.
# Runs as root, non-interactively (CI has no stdin).
set -euo pipefail

PACKAGES=(
  docker.io     # the engine the tests run containers on
  debootstrap   # builds the Debian base image (tests/bed/images.sh)
  skopeo        # copies images between registries in tests
  iptables      # dockerd needs it for its networks
  curl
  jq
  rsync         # tests/sanity/run.sh copies the collection with it
  make
  python3-venv  # make venv
  git
  apache2-utils # htpasswd
  openssl
  shellcheck    # lints the scripts; ansible-test sanity skips its shellcheck test without it
  podman        # a third registry client in the authentication tests (tests/integration/auth)
  openssh-client # ssh and ssh-keygen: the Molecule scenario ssh reaches its host over SSH
)

log() { printf 'packages.sh: %s\n' "$*" >&2; }

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != ii* ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  log "all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

if ((EUID != 0)); then
  log "missing packages: ${missing[*]}; run this script as root to install them"
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log "installing: ${missing[*]}"
apt-get update -q
apt-get install -y -q "${missing[@]}" </dev/null
log "installed ${#missing[@]} package(s)"
