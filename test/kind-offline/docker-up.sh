#!/bin/bash
# docker-up.sh: make sure a Docker engine from Debian's packages is installed
# and running, with the labgrader-runc capability filter as its default
# runtime (see runc-cap-filter.sh). Idempotent; safe to call from CI.
#
# Exit 0 when `docker info` answers with labgrader-runc as default runtime.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WRAPPER_DST=/usr/local/sbin/labgrader-runc
DAEMON_JSON=/etc/docker/daemon.json
DOCKERD_LOG=${LABGRADER_DOCKERD_LOG:-/var/log/labgrader-dockerd.log}
# Use Debian's docker client (it matches Debian's daemon), not whatever else
# may be first on PATH.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

log() { printf '[docker-up] %s\n' "$*" >&2; }
die() { printf '[docker-up] ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root"

# 1. Packages.
need=()
command -v dockerd >/dev/null || need+=(docker.io)
[ -x /usr/bin/jq ] || need+=(jq)
command -v iptables >/dev/null || need+=(iptables)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "${need[@]}" >/tmp/labgrader-docker-apt.log 2>&1; then
    apt-get update >>/tmp/labgrader-docker-apt.log 2>&1
    apt-get install -y --no-install-recommends "${need[@]}" >>/tmp/labgrader-docker-apt.log 2>&1 ||
      { tail -20 /tmp/labgrader-docker-apt.log >&2; die "apt-get install ${need[*]} failed"; }
  fi
fi

# 2. The runc wrapper.
changed=0
if ! cmp -s "$HERE/runc-cap-filter.sh" "$WRAPPER_DST" 2>/dev/null; then
  install -D -m 0755 "$HERE/runc-cap-filter.sh" "$WRAPPER_DST"
  log "installed $WRAPPER_DST"
fi

# 3. daemon.json: register the wrapper and make it the default runtime,
#    keeping any other settings already there.
mkdir -p /etc/docker
cur='{}'
[ -s "$DAEMON_JSON" ] && cur=$(cat "$DAEMON_JSON")
new=$(printf '%s' "$cur" | jq --arg p "$WRAPPER_DST" \
  '.runtimes["labgrader-runc"] = {path: $p} | .["default-runtime"] = "labgrader-runc"')
if [ "$(printf '%s' "$cur" | jq -S .)" != "$(printf '%s' "$new" | jq -S .)" ]; then
  printf '%s\n' "$new" >"$DAEMON_JSON"
  changed=1
  log "wrote $DAEMON_JSON"
fi

# 4. Start dockerd if it does not answer.
docker_ok() { timeout 10 docker info >/dev/null 2>&1; }
if docker_ok; then
  if [ "$changed" = 1 ] || [ "$(docker info --format '{{.DefaultRuntime}}' 2>/dev/null)" != labgrader-runc ]; then
    log "reloading dockerd configuration (SIGHUP)"
    pkill -HUP -x dockerd || true
    sleep 2
  fi
else
  if pgrep -x dockerd >/dev/null; then
    log "dockerd process exists but does not answer yet; waiting"
  else
    # A stale pid file from a previous, killed daemon prevents a start.
    rm -f /var/run/docker.pid
    log "starting dockerd (log: $DOCKERD_LOG)"
    setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
  fi
  for _ in $(seq 1 90); do
    docker_ok && break
    sleep 1
  done
  docker_ok || { tail -30 "$DOCKERD_LOG" >&2 || true; die "dockerd did not come up within 90 s"; }
fi

rt=$(docker info --format '{{.DefaultRuntime}}')
[ "$rt" = labgrader-runc ] || die "default runtime is '$rt', expected labgrader-runc"
log "docker $(docker version --format '{{.Server.Version}}') up, default runtime $rt, cgroup driver $(docker info --format '{{.CgroupDriver}}')"
