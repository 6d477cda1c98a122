#!/usr/bin/env bash
# Runs `ansible-test sanity` on the collection, offline. Extra arguments go to ansible-test
# (e.g. `tests/sanity/run.sh --test pylint`). Exits non-zero when any sanity test fails.
#
# ansible-test must run inside .../ansible_collections/provisioning/oci_registry and judges that
# by the physical working directory, so the symlink `make link` creates does not do (checked:
# "The current working directory must be within the source tree being tested"). The files git
# knows are therefore copied to .build/sanity/ansible_collections/provisioning/oci_registry.
# That copy gets its own (empty) git repository: without one, ansible-test walks up to this
# checkout's .git, where .build/ is ignored, and would find no files at all.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
python_version=${OCI_SANITY_PYTHON:-3.11}
dest=$root/.build/sanity/ansible_collections/provisioning/oci_registry

log() { printf 'sanity: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# `make sanity` puts .venv/bin first on PATH; run by hand, use the checkout's venv if there is one.
if ! command -v ansible-test >/dev/null && [[ -x "$root/.venv/bin/ansible-test" ]]; then
  PATH=$root/.venv/bin:$PATH
fi
ansible_test=$(command -v ansible-test) || die "ansible-test is not on PATH (run: make venv)"
command -v rsync >/dev/null || die "rsync is missing (run: tests/bed/packages.sh)"
start=$SECONDS

# 1. The get-pip stand-in, where ansible-test looks before it tries to download get-pip.
#    The pip version is the one this ansible-test pins for its virtual environments.
interpreter=$(sed -n '1s/^#! *//p' "$ansible_test")
pip_version=$($interpreter -c '
import types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version="'"$python_version"'"))["pip"])') ||
  die "could not ask $ansible_test which pip version it bootstraps"
standin=$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py
if ! cmp -s "$here/get_pip_standin.py" "$standin"; then
  install -D -m 0644 "$here/get_pip_standin.py" "$standin"
  log "installed the offline get-pip stand-in for pip $pip_version: $standin"
fi

# 2. One run at a time: the copy below is shared.
mkdir -p "$root/.build/sanity"
exec 9>"$root/.build/sanity/.lock"
flock -w 1800 9 || die "another sanity run holds $root/.build/sanity/.lock"

# 3. Copy the files git knows (tracked and untracked, not ignored, not deleted). rsync gets an
#    include rule for each file and each of its directories, and deletes everything else in
#    the copy except its own .git and ansible-test's output.
filters=$(mktemp)
trap 'rm -f "$filters"' EXIT
{
  printf 'P /.git/\nP /tests/output/\n'
  git -C "$root" ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' path; do
      if [[ -e "$root/$path" || -L "$root/$path" ]]; then
        printf '%s\n' "$path"
      fi
    done |
    awk '{
      n = split($0, part, "/"); dir = ""
      for (i = 1; i < n; i++) { dir = dir "/" part[i]; if (!(dir in seen)) { seen[dir]; print "+ " dir "/" } }
      print "+ /" $0
    }'
  printf -- '- *\n'
} >"$filters"
mkdir -p "$dest"
rsync -a --delete --delete-excluded --filter="merge $filters" "$root/" "$dest/"
if [[ ! -d "$dest/.git" ]]; then
  git -C "$dest" init -q
fi
log "collection copied to $dest ($(git -C "$dest" ls-files --others --exclude-standard | wc -l) files)"

# 4. Run. ansible-test's exit status is the result.
color=yes
if [[ -n "${CI:-}" || ! -t 1 ]]; then
  color=no
fi
cd "$dest"
status=0
"$ansible_test" sanity --python "$python_version" --color "$color" "$@" || status=$?
if ((status == 0)); then
  log "passed in $((SECONDS - start))s"
else
  log "FAILED (exit $status) after $((SECONDS - start))s; details above and in $dest/tests/output/"
fi
exit "$status"
