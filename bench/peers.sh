#!/usr/bin/env bash
# Builds the linters the benchmarks compare labgrader with, from their Go
# modules at pinned versions, into ${LABGRADER_CACHE_DIR:-~/.cache/labgrader}/bin
# (outside the repository; the benchmarks look there and on PATH):
#
#     bench/peers.sh              build what is missing (kube-score: ~1 min; Trivy: ~15 min cold)
#     bench/peers.sh --check      only say which are there
#
# kube-linter cannot be built here (the Go module proxy answers 403 for it);
# a kube-linter on PATH is used when there is one. A peer that fails to build
# is reported loudly and the benchmarks run without it.
set -uo pipefail

KUBE_SCORE_VERSION=${KUBE_SCORE_VERSION:-v1.20.0}
TRIVY_VERSION=${TRIVY_VERSION:-v0.74.0}
BIN="${LABGRADER_CACHE_DIR:-$HOME/.cache/labgrader}/bin"

# The module version a Go binary was built from (`go version -m`), e.g. v0.74.0.
module_version() {
  go version -m "$1" 2>/dev/null | awk -v m="$2" '$1 == "mod" && $2 == m {print $3}'
}

have() { [ -x "$BIN/$1" ] && [ "$(module_version "$BIN/$1" "$2")" = "$3" ]; }

status=0
check() {
  local name=$1 module=$2 version=$3
  if have "$name" "$module" "$version"; then
    echo "ok: $name $version in $BIN"
  else
    echo "MISSING: $name $version is not in $BIN (run bench/peers.sh)"
    status=1
  fi
}

if [ "${1:-}" = --check ]; then
  if ! command -v go >/dev/null; then echo "MISSING: go (needed to build and identify the peers)"; exit 1; fi
  check kube-score github.com/zegl/kube-score "$KUBE_SCORE_VERSION"
  check trivy github.com/aquasecurity/trivy "$TRIVY_VERSION"
  exit $status
fi

if ! command -v go >/dev/null; then
  echo "================================================================"
  echo "NOT BUILT: no Go toolchain; kube-score and Trivy will be missing"
  echo "================================================================"
  exit 0
fi
mkdir -p "$BIN"

build() {
  local name=$1 module=$2 version=$3
  shift 3
  if have "$name" "$module" "$version"; then
    echo "== $name $version: already in $BIN"
    return 0
  fi
  echo "== building $name $version into $BIN"
  if ! env GOBIN="$BIN" GOFLAGS=-mod=mod "$@"; then
    echo "================================================================"
    echo "NOT BUILT: $name $version (see above); the benchmarks run without it"
    echo "================================================================"
    status=1
  fi
}

build kube-score github.com/zegl/kube-score "$KUBE_SCORE_VERSION" \
  go install -trimpath "github.com/zegl/kube-score/cmd/kube-score@$KUBE_SCORE_VERSION"
# Trivy v0.74 needs encoding/json/v2, which this Go has behind GOEXPERIMENT=jsonv2. The -X flag
# stamps the version the way Trivy's release builds do (otherwise `trivy --version` says "dev").
build trivy github.com/aquasecurity/trivy "$TRIVY_VERSION" \
  env GOEXPERIMENT=jsonv2 go install -trimpath \
  -ldflags "-s -w -X github.com/aquasecurity/trivy/pkg/version/app.ver=${TRIVY_VERSION#v}" \
  "github.com/aquasecurity/trivy/cmd/trivy@$TRIVY_VERSION"
exit $status
