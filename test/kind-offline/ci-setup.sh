#!/bin/bash
# ci-setup.sh: what CI calls before the cluster tests. Never runs the cold
# build (45+ minutes); it only uses what build.sh left in the cache.
#
#  - starts the Docker engine (docker-up.sh);
#  - if the node image is present (in the daemon, or as a saved archive in the
#    cache, which it then `docker load`s), makes sure the app image is there
#    too (loads it from the cache, or rebuilds it: seconds), prints
#        KIND OFFLINE: node image <tag> present
#    writes "present" to $CACHE/ci-status and exits 0;
#  - otherwise prints a loud banner that the cluster tests will NOT run and
#    are not counted, writes "absent" to $CACHE/ci-status and exits 0.
# Scripts decide with node-image-present.sh (exit 0/1) or the ci-status file.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.sh
. "$HERE/versions.sh"
CACHE=${LABGRADER_CACHE_DIR:-$HOME/.cache/labgrader}/kind-offline
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
TAG=$NODE_IMAGE_REPO:$K8S_VERSION
mkdir -p "$CACHE"

absent() {
  echo "absent" >"$CACHE/ci-status"
  cat <<BANNER
######################################################################
##  KIND OFFLINE: NOT AVAILABLE -- CLUSTER TESTS WILL NOT RUN        ##
##  and are NOT counted.                                             ##
##  Reason: $*
##  To enable them on this machine, run once (~15-30 min cold):     ##
##      sudo test/kind-offline/build.sh                              ##
######################################################################
BANNER
  exit 0
}

"$HERE/docker-up.sh" || absent "the Docker engine could not be started (see above)"
if ! "$HERE/node-image-present.sh" >/dev/null; then
  absent "$("$HERE/node-image-present.sh" | tr '\n' ' ')"
fi

if ! docker image inspect "$TAG" >/dev/null 2>&1; then
  tar=$(ls -t "$CACHE"/images/kind-node-"$K8S_VERSION"-*.tar | head -1)
  echo "loading $TAG from $tar"
  docker load -i "$tar" >/dev/null || absent "docker load -i $tar failed"
fi
# The app image is keyed on the example app's sources: the app-image step
# rebuilds it (seconds) when they changed, and is a no-op otherwise.
if ! docker image inspect "$APP_IMAGE" >/dev/null 2>&1; then
  app_tar=$(ls -t "$CACHE"/images/lab85-web-*.tar 2>/dev/null | head -1)
  if [ -n "$app_tar" ]; then
    docker load -i "$app_tar" >/dev/null || true
  fi
fi
LABGRADER_KIND_STEPS="app-image" "$HERE/build.sh" >/dev/null || absent "the app image $APP_IMAGE could not be built"
echo "present" >"$CACHE/ci-status"
echo "KIND OFFLINE: node image $TAG present"
exit 0
