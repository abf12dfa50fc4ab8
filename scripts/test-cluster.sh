#!/usr/bin/env bash
# npm run test:cluster: the real-cluster smoke test (kind, offline node image).
# Runs only where test/kind-offline/build.sh has produced the node image and a
# Docker engine is up; otherwise it says so loudly and is NOT counted as run.
set -uo pipefail
cd "$(dirname "$0")/.."

not_run() {
  cat >&2 <<BANNER

######################################################################
##  CLUSTER TEST NOT RUN (and not counted as passing)
##  $1
##  Set it up with: test/kind-offline/build.sh  (once, ~1 h cold)
##  then:           test/kind-offline/ci-setup.sh
######################################################################

BANNER
  exit 0
}

present=$(test/kind-offline/node-image-present.sh 2>&1) || not_run "$present"
docker info >/dev/null 2>&1 || not_run "the Docker engine is not running (test/kind-offline/docker-up.sh starts it)"
echo "cluster test: $present" >&2
exec test/kind-offline/smoke.sh
