#!/bin/bash
# node-image-present.sh: exit 0 if the offline kind setup can run here without
# a cold build, i.e. the node image is in the Docker daemon or saved in the
# cache, and the kind and kubectl binaries are in the cache. Exit 1 if not.
# Prints one line saying which. Does not change anything.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.sh
. "$HERE/versions.sh"
CACHE=${LABGRADER_CACHE_DIR:-$HOME/.cache/labgrader}/kind-offline
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
TAG=$NODE_IMAGE_REPO:$K8S_VERSION

where=""
if command -v docker >/dev/null && timeout 10 docker image inspect "$TAG" >/dev/null 2>&1; then
  where="docker daemon"
else
  tar=$(ls -t "$CACHE"/images/kind-node-"$K8S_VERSION"-*.tar 2>/dev/null | head -1)
  [ -n "$tar" ] && [ -s "$tar" ] && where="saved archive $tar"
fi
tools=1
[ -x "$CACHE/bin/kind-$KIND_VERSION/kind" ] || tools=0
[ -x "$CACHE/k8s/$K8S_VERSION/bin/kubectl" ] || tools=0

if [ -n "$where" ] && [ "$tools" = 1 ]; then
  echo "node image $TAG present ($where)"
  exit 0
fi
[ -n "$where" ] || echo "node image $TAG NOT present (not in the daemon, no archive in $CACHE/images)"
[ "$tools" = 1 ] || echo "kind/kubectl binaries NOT present in $CACHE"
exit 1
