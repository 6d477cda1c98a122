#!/usr/bin/env bash
# `make demo`: deploy a CNCF Distribution registry on this machine (127.0.0.1:5000) with
# playbooks/deploy.yml, then show it healthy with provisioning.oci_registry.oci_health.
# The Makefile exports PATH (the venv) and ANSIBLE_*; `make bed` has started the engine and
# built the local images. Running it again changes nothing (the deploy reports changed=0).
#   OCI_DEMO_IMAGE              image to deploy (default: registry:3 when it can be pulled,
#                               else $OCI_TEST_DISTRIBUTION_IMAGE, built locally)
#   OCI_DEMO_PULL_TIMEOUT       seconds allowed for `docker pull registry:3` (default 60)
#   OCI_DEMO_PORT               host port (default 5000), published on 127.0.0.1
#   OCI_DEMO_DEBUG_PORT         host port of Distribution's debug listener (health, metrics;
#                               default 5001), published on 127.0.0.1
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

official=registry:3
local_image=${OCI_TEST_DISTRIBUTION_IMAGE:-oci-registry-test/distribution:2.8}
pull_timeout=${OCI_DEMO_PULL_TIMEOUT:-60}
port=${OCI_DEMO_PORT:-5000}
debug_port=${OCI_DEMO_DEBUG_PORT:-5001}
bind=127.0.0.1
config_dir=/etc/oci-registry

say() { printf '\n==> %s\n' "$*"; }

# 1. The image: the official one when it is here or can be pulled, else the local build.
if [[ -n ${OCI_DEMO_IMAGE:-} ]]; then
  image=$OCI_DEMO_IMAGE
  say "Image: $image (OCI_DEMO_IMAGE)"
elif docker image inspect "$official" >/dev/null 2>&1; then
  image=$official
  say "Image: $official (already present)"
elif pull_log=$(timeout "$pull_timeout" docker pull --quiet "$official" 2>&1); then
  image=$official
  say "Image: $official (pulled)"
else
  if ! docker image inspect "$local_image" >/dev/null 2>&1; then
    echo "demo.sh: $official cannot be pulled (${pull_log:-timed out after ${pull_timeout}s}) and" \
         "$local_image is not built: run \`make bed\`" >&2
    exit 1
  fi
  image=$local_image
  say "Image: $official cannot be pulled here (${pull_log:-timed out after ${pull_timeout}s});" \
      "using $local_image instead (CNCF Distribution 2.8 from Debian's docker-registry, built by tests/bed/images.sh)"
fi

# 1b. The access front's nginx: the role's default when it is here or can be pulled, else the local build.
front_official=nginx:1.27-bookworm
front_local=${OCI_TEST_NGINX_IMAGE:-oci-registry-test/nginx:bookworm}
if docker image inspect "$front_official" >/dev/null 2>&1 \
   || timeout "$pull_timeout" docker pull --quiet "$front_official" >/dev/null 2>&1; then
  front_image=$front_official
else
  front_image=$front_local
fi
say "Access front image: $front_image"

# 2. Deploy with the playbook, on the shipped inventory (localhost).
say "ansible-playbook playbooks/deploy.yml -e registry_type=distribution -e oci_registry_image=$image"
ansible-playbook playbooks/deploy.yml \
  -e registry_type=distribution \
  -e "oci_registry_image=$image" \
  -e "distribution_front_image=$front_image" \
  -e "distribution_front_auth_image=${OCI_TEST_FRONT_AUTH_IMAGE:-oci-registry-test/front-auth:bookworm}" \
  -e "oci_registry_bind_address=$bind" \
  -e "oci_registry_port=$port" \
  -e distribution_debug_enabled=true \
  -e "distribution_debug_port=$debug_port"

# 3. Show it healthy. The password goes to the module through its environment fallback
#    (OCI_REGISTRY_PASSWORD), never on a command line or in the output.
#    TLS is on: the CA deploy.yml generated is trusted, nothing else.
url="https://$bind:$port"
password_file=$config_dir/admin.password
ca_file=$config_dir/pki/ca.crt
say "provisioning.oci_registry.oci_health against $url (trusting $ca_file)"
OCI_REGISTRY_PASSWORD=$(<"$password_file") \
  ansible localhost -m provisioning.oci_registry.oci_health \
  -a "registry_url=$url registry_type=distribution username=admin ca_path=$ca_file debug_url=http://$bind:$debug_port"

say "The registry answers at $url (user admin); its admin password is in $password_file (mode 0600); its CA is $ca_file, installed in /etc/docker/certs.d/$bind:$port/ and /etc/containers/certs.d/$bind:$port/."
echo "    docker login $bind:$port -u admin --password-stdin < $password_file"
