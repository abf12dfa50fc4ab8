#!/usr/bin/env bash
# npm run test:cluster: the real-cluster smoke tests (kind, offline node image):
#   test/kind-offline/smoke.sh            one node, disableDefaultCNI: true
#   test/kind-offline/smoke-multinode.sh  a control plane + two workers, the
#                                         node image's default CNI (routes
#                                         between nodes, NetworkPolicy)
# Both run, one after the other, even when the first fails. Each prints its own
# `<name>: N passed, N failed` line, relayed to stderr here as
# `<name>.sh: N passed, N failed`; the last (and only) line on stdout is their
# sum, `smoke: N passed, N failed`. Exit 0 when both passed, 1 otherwise.
# Runs only where test/kind-offline/build.sh has produced the node image and a
# Docker engine is up; otherwise it says so loudly and is NOT counted as run.
set -uo pipefail
cd "$(dirname "$0")/.."

not_run() {
  cat >&2 <<BANNER

######################################################################
##  CLUSTER TEST NOT RUN (and not counted as passing)
##  $1
##  Set it up with: test/kind-offline/build.sh  (once, ~15-30 min cold)
##  then:           test/kind-offline/ci-setup.sh
######################################################################

BANNER
  exit 0
}

present=$(test/kind-offline/node-image-present.sh 2>&1) || not_run "$present"
docker info >/dev/null 2>&1 || not_run "the Docker engine is not running (test/kind-offline/docker-up.sh starts it)"
echo "cluster test: $present" >&2

passed=0 failed=0 rc=0
for smoke in smoke smoke-multinode; do
  p=0 f=0
  out=$(test/kind-offline/$smoke.sh)
  src=$?
  # Relayed as "<script>.sh: N passed, N failed", so that only the sum below reads "smoke: ...".
  [ -n "$out" ] && printf '%s\n' "$out" | sed -E "s/^$smoke: ([0-9]+ passed)/$smoke.sh: \1/" >&2
  if [ "$src" = 77 ]; then
    not_run "test/kind-offline/$smoke.sh: prerequisites missing (see above)"
  fi
  line=$(printf '%s\n' "$out" | grep -E "^$smoke: [0-9]+ passed, [0-9]+ failed$" | tail -1)
  if [ -n "$line" ]; then
    read -r p f < <(printf '%s\n' "$line" | sed -E 's/^[^:]+: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/')
    passed=$((passed + p)) failed=$((failed + f))
  fi
  if [ "$src" != 0 ]; then
    rc=1
    # A script that died before its summary line still counts as a failure.
    [ "$f" -gt 0 ] || failed=$((failed + 1))
  fi
done
echo "smoke: $passed passed, $failed failed"
exit "$rc"
