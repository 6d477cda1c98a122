#!/usr/bin/env bash
# Makes sure a Docker engine answers on this machine. There is no systemd here, so when none
# runs, start dockerd in the background (setsid/nohup) and wait for it, bounded.
#   OCI_TEST_DOCKERD_LOG      where dockerd logs (default /var/log/dockerd.log)
#   OCI_TEST_DOCKERD_TIMEOUT  seconds to wait for `docker info` (default 60)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
logfile=${OCI_TEST_DOCKERD_LOG:-/var/log/dockerd.log}
timeout=${OCI_TEST_DOCKERD_TIMEOUT:-60}

log() { printf 'engine.sh: %s\n' "$*" >&2; }
engine_answers() { command -v docker >/dev/null && docker info >/dev/null 2>&1; }

if engine_answers; then
  log "Docker engine already answers ($(docker version -f '{{.Server.Version}}' 2>/dev/null))"
  exit 0
fi

if ! command -v dockerd >/dev/null; then
  log "dockerd is not installed; installing Debian packages"
  "$here/packages.sh"
fi

if ((EUID != 0)); then
  log "no Docker engine answers and starting one needs root"
  exit 1
fi

pid=""
# A dockerd that is still starting (e.g. started a moment ago) is waited for, not doubled.
# Its pid file, not pgrep: pgrep would also see the engines inside Docker-in-Docker test hosts.
pidfile=/var/run/docker.pid
if [[ -s "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  log "dockerd (pid $(cat "$pidfile")) is running but does not answer yet; waiting for it"
else
  log "starting dockerd in the background, log: $logfile"
  mkdir -p "$(dirname "$logfile")"
  setsid nohup dockerd >>"$logfile" 2>&1 </dev/null &
  pid=$!
fi

start=$SECONDS
fail() {
  log "$1; last lines of $logfile:"
  tail -n 30 "$logfile" >&2
  exit 1
}
until engine_answers; do
  if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
    fail "dockerd exited during start-up"
  fi
  if ((SECONDS - start >= timeout)); then
    fail "Docker engine did not answer within ${timeout}s"
  fi
  sleep 1
done
log "Docker engine answers after $((SECONDS - start))s ($(docker version -f '{{.Server.Version}}'))"
