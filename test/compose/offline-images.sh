#!/bin/bash
# offline-images.sh: the images the compose test (test/compose/compose.real.sh)
# needs, made on a machine that cannot pull any image (no registry), from
# Debian's packages, this machine's Node.js and Go, and the binaries the
# project builds from the Go module proxy:
#
#   labgrader-offline/debian:bookworm-node   debootstrapped Debian (git, CA certificates) + this
#                                            machine's node and npm: the BASE_IMAGE of the Dockerfile
#   labgrader-offline/go-tools:<key>         the Dockerfile's GO_IMAGE: Go plus helm, kubectl and kind
#                                            already built at the pinned versions in /out (the tools
#                                            stage's `build-go-tools.sh --check` then builds nothing)
#   labgrader-offline/docker-cli:local       the Dockerfile's DOCKER_CLI_IMAGE: this machine's docker client
#   labgrader-offline/redis:bookworm         Debian's redis-server
#   labgrader-offline/postgres:bookworm      Debian's PostgreSQL, with an entrypoint like the official image's
#
# Idempotent; the rootfs tarballs are cached in
#   ${LABGRADER_CACHE_DIR:-$HOME/.cache/labgrader}/compose-offline
# On a machine with internet none of this is needed: `docker compose build` uses the public bases.
#
# Usage: test/compose/offline-images.sh            # everything
#        test/compose/offline-images.sh --check    # exit 0 when every image above exists, else 1 (prints what is missing)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${LABGRADER_CACHE_DIR:-$HOME/.cache/labgrader}/compose-offline
KIND_CACHE=${LABGRADER_CACHE_DIR:-$HOME/.cache/labgrader}/kind-offline
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/go/bin:$PATH
# The pinned helm, kubectl and kind (one place: .ci/build-go-tools.sh).
eval "$("$REPO/.ci/build-go-tools.sh" --print-versions)"
# shellcheck source=../kind-offline/versions.sh
. "$REPO/test/kind-offline/versions.sh"

BASE=labgrader-offline/debian:bookworm-node
DOCKER_CLI=labgrader-offline/docker-cli:local
REDIS=labgrader-offline/redis:bookworm
POSTGRES=labgrader-offline/postgres:bookworm
GO_TOOLS=labgrader-offline/go-tools:$(printf '%s %s %s' "$HELM_VERSION" "$KUBECTL_VERSION" "$KIND_VERSION" | sha256sum | cut -c1-12)

log() { printf '[offline-images %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { printf '[offline-images %s] ERROR: %s\n' "$(date +%T)" "$*" >&2; exit 1; }
image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

if [ "${1:-}" = --check ]; then
  missing=()
  for i in "$BASE" "$GO_TOOLS" "$DOCKER_CLI" "$REDIS" "$POSTGRES" "$NODE_IMAGE_REPO:$K8S_VERSION" "$APP_IMAGE"; do
    image_exists "$i" || missing+=("$i")
  done
  [ ${#missing[@]} -eq 0 ] && { echo "compose offline images present"; exit 0; }
  echo "missing images: ${missing[*]}"
  exit 1
fi

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap)"
docker info >/dev/null 2>&1 || die "no Docker engine (test/kind-offline/docker-up.sh starts it)"
mkdir -p "$CACHE/rootfs" "$CACHE/tmp"

debian_mirror() {
  local m=""
  if [ -n "${LABGRADER_DEBIAN_MIRROR:-}" ]; then echo "$LABGRADER_DEBIAN_MIRROR"; return; fi
  m=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$m" ] || m=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$m" ] || die "cannot find a Debian mirror in apt's sources; set LABGRADER_DEBIAN_MIRROR"
  echo "$m"
}

# A debootstrapped rootfs tarball ($1 = name, $2 = packages), cached on its package list.
rootfs() {
  local name=$1 pkgs=$2 key out dir
  key=$(printf '%s %s v1' "$DEBIAN_SUITE" "$pkgs" | sha256sum | cut -c1-12)
  out=$CACHE/rootfs/$name-$DEBIAN_SUITE-$key.tar
  if [ -s "$out" ]; then echo "$out"; return; fi
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends debootstrap >&2 || die "apt-get install debootstrap failed"
  dir=$CACHE/tmp/rootfs-$name
  rm -rf "$dir"
  log "debootstrap --variant=minbase $DEBIAN_SUITE ($name: $pkgs)"
  debootstrap --variant=minbase --include="$pkgs" "$DEBIAN_SUITE" "$dir" "$(debian_mirror)" >"$CACHE/tmp/debootstrap-$name.log" 2>&1 ||
    { tail -30 "$CACHE/tmp/debootstrap-$name.log" >&2; die "debootstrap ($name) failed"; }
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb \
    "$dir"/var/log/*.log "$dir"/var/log/apt/* "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/*
  : >"$dir/etc/machine-id"
  # The services image gets its clusters from the entrypoint, not from the package's postinst.
  rm -rf "$dir"/var/lib/postgresql/*/main "$dir"/etc/postgresql/*/main
  if [ "$name" = base ]; then
    # This machine's Node.js (the official build: one binary, libc and libstdc++ only) and npm.
    install -m 0755 "$(command -v node)" "$dir/usr/local/bin/node"
    mkdir -p "$dir/usr/local/lib/node_modules"
    cp -a "$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")" "$dir/usr/local/lib/node_modules/npm"
    ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$dir/usr/local/bin/npm"
    ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$dir/usr/local/bin/npx"
    # The official node image's unprivileged user (uid 1000), which the Dockerfile's USER names.
    chroot "$dir" groupadd --gid 1000 node
    chroot "$dir" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  fi
  tar --numeric-owner -C "$dir" -cf "$out.tmp" .
  mv "$out.tmp" "$out"
  rm -rf "$dir"
  log "rootfs $name: $(du -h "$out" | cut -f1)"
  echo "$out"
}

t0=$SECONDS
if ! image_exists "$BASE"; then
  tar=$(rootfs base "ca-certificates,git,libstdc++6")
  docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["node"]' "$tar" "$BASE-imported" >/dev/null
  # This machine's own certificate authorities (its egress proxy's, in /usr/local/share/ca-certificates):
  # without them npm inside the build cannot reach the registry through it. A base for a machine
  # like this one only: on a machine with internet the public node image is the base.
  ctx=$(mktemp -d)
  mkdir "$ctx/ca"
  cp /usr/local/share/ca-certificates/*.crt "$ctx/ca/" 2>/dev/null || true
  # Node.js reads its own CA list, plus NODE_EXTRA_CA_CERTS (as on this machine).
  printf 'FROM %s\nCOPY ca/ /usr/local/share/ca-certificates/\nRUN update-ca-certificates >/dev/null\nENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt\n' \
    "$BASE-imported" >"$ctx/Dockerfile"
  docker build -q -t "$BASE" "$ctx" >/dev/null
  docker image rm "$BASE-imported" >/dev/null
  rm -rf "$ctx"
  log "imported $BASE"
fi

# Rebuilt when their files here change.
SERVICES_KEY=$(cat "$HERE"/offline/* | sha256sum | cut -c1-12)
services_current() {
  [ "$(docker image inspect -f '{{index .Config.Labels "labgrader.offline.key"}}' "$1" 2>/dev/null)" = "$SERVICES_KEY" ]
}
if ! services_current "$REDIS" || ! services_current "$POSTGRES"; then
  tar=$(rootfs services "redis-server,postgresql-15")
  docker import --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$tar" labgrader-offline/services:bookworm >/dev/null
  for pair in "$REDIS redis" "$POSTGRES postgres"; do
    set -- $pair
    docker build -q --label "labgrader.offline.key=$SERVICES_KEY" -t "$1" -f "$HERE/offline/$2.Dockerfile" "$HERE/offline" >/dev/null
  done
  docker image rm labgrader-offline/services:bookworm >/dev/null
  log "built $REDIS and $POSTGRES"
fi

if ! image_exists "$DOCKER_CLI"; then
  ctx=$(mktemp -d)
  install -m 0755 /usr/bin/docker "$ctx/docker"
  printf 'FROM scratch\nCOPY docker /usr/local/bin/docker\n' >"$ctx/Dockerfile"
  docker build -q -t "$DOCKER_CLI" "$ctx" >/dev/null
  rm -rf "$ctx"
  log "built $DOCKER_CLI from this machine's docker client"
fi

if ! image_exists "$GO_TOOLS"; then
  # helm, kubectl and kind at the pinned versions, built from their Go modules by the same
  # script the Dockerfile runs (cached: the kind-offline build's kind, CI's helm).
  tools=$CACHE/tools
  mkdir -p "$tools"
  for t in helm kubectl kind; do
    if ! "$REPO/.ci/build-go-tools.sh" --check "$tools" "$t"; then
      cached=""
      case $t in
        helm) cached=${LABGRADER_CACHE_DIR:-$HOME/.cache/labgrader}/bin/helm ;;
        kind) cached=$KIND_CACHE/bin/kind-$KIND_VERSION/kind ;;
      esac
      if [ -n "$cached" ] && [ -x "$cached" ]; then cp "$cached" "$tools/$t"; fi
      "$REPO/.ci/build-go-tools.sh" --check "$tools" "$t" || nice -n 10 "$REPO/.ci/build-go-tools.sh" "$tools" "$t" >&2
    fi
  done
  ctx=$(mktemp -d)
  cp -a /usr/local/go "$ctx/go"
  rm -rf "$ctx/go/pkg/tool" "$ctx/go/test" "$ctx/go/api" "$ctx/go/doc"
  mkdir "$ctx/out"
  cp "$tools"/helm "$tools"/kubectl "$tools"/kind "$ctx/out/"
  cat >"$ctx/Dockerfile" <<EOF
FROM $BASE
COPY go /usr/local/go
COPY out /out
ENV GOROOT=/usr/local/go PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
EOF
  docker build -q -t "$GO_TOOLS" "$ctx" >/dev/null
  rm -rf "$ctx"
  log "built $GO_TOOLS"
fi

log "all images ready in $((SECONDS - t0)) s (the app image itself is built by compose: test/compose/compose.real.sh)"
