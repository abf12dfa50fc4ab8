#!/usr/bin/env bash
# Builds the renderers labgrader's lint stage runs (helm, and kubectl for
# `kubectl kustomize`; kubectl is also the cluster stage's client) and kind
# (the cluster stage's ephemeral clusters) from their Go modules, at pinned
# versions, into a directory:
#
#     .ci/build-go-tools.sh <out-dir> [helm] [kubectl] [kind]   (default: helm and kubectl)
#     .ci/build-go-tools.sh --check <out-dir> helm          (exit 0 when it is there at the pinned version)
#     .ci/build-go-tools.sh --print-versions                (HELM_VERSION=… lines, for other scripts)
#
# Used by .ci/run (into ~/.cache/labgrader/bin, where labgrader looks) and by
# the Dockerfile (into the worker/api image). Building from the module proxy
# pins the exact version and checks every module against the Go checksum
# database (sum.golang.org), so no download URL or checksum has to be trusted
# on its own. Keep the versions in sync with
# packages/manifest-lint/src/render/tools.ts (a test compares them); kind's
# with test/kind-offline/versions.sh (test/compose/compose-file.test.ts
# compares them). These three lines are the one place the worker image's
# versions are pinned; the checksums are the Go checksum database's.
set -euo pipefail

HELM_VERSION=${HELM_VERSION:-v3.19.0}
KUBECTL_VERSION=${KUBECTL_VERSION:-v1.33.5}
KIND_VERSION=${KIND_VERSION:-v0.30.0}

# The module version a Go binary was built from (`go version -m`), e.g. v3.19.0.
module_version() {
  go version -m "$1" 2>/dev/null | awk -v m="$2" '$1 == "mod" && $2 == m {print $3}'
}

# Whether a kubectl binary reports the pinned version (output captured first: with pipefail,
# `| grep -q` would make kubectl die of SIGPIPE and the check fail).
kubectl_is_pinned() {
  local reported
  reported=$("$1" version --client 2>/dev/null) || return 1
  [[ "$reported" == *"Client Version: $KUBECTL_VERSION"* ]]
}

if [ "${1:-}" = --print-versions ]; then
  printf 'HELM_VERSION=%s\nKUBECTL_VERSION=%s\nKIND_VERSION=%s\n' "$HELM_VERSION" "$KUBECTL_VERSION" "$KIND_VERSION"
  exit 0
fi
check=0
if [ "${1:-}" = --check ]; then check=1; shift; fi
out=${1:?usage: build-go-tools.sh [--check] <out-dir> [helm] [kubectl]}
shift
tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(helm kubectl)
if [ "$check" = 1 ]; then
  for tool in "${tools[@]}"; do
    case "$tool" in
      helm) [ "$(module_version "$out/helm" helm.sh/helm/v3)" = "$HELM_VERSION" ] || exit 1 ;;
      kubectl) kubectl_is_pinned "$out/kubectl" || exit 1 ;;
      kind) [ "$(module_version "$out/kind" sigs.k8s.io/kind)" = "$KIND_VERSION" ] || exit 1 ;;
    esac
  done
  exit 0
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
export CGO_ENABLED=0 GOFLAGS=-mod=mod
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

build_helm() {
  # helm's own release builds stamp the version the same way (its Makefile's LDFLAGS).
  GOBIN="$out" go install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  [ "$(module_version "$out/helm" helm.sh/helm/v3)" = "$HELM_VERSION" ] \
    || { echo "helm in $out was not built from helm.sh/helm/v3@$HELM_VERSION" >&2; exit 1; }
}

# k8s.io/kubernetes replaces its staging modules (k8s.io/api, k8s.io/client-go…) with
# ./staging paths, which `go install pkg@version` refuses. A wrapper module requires
# the same version and points each replace at the published staging module
# (v0.<minor>.<patch>), the way test/kind-offline/build.sh builds the cluster binaries.
build_kubectl() {
  local info gomod minor patch staging go_directive pkg ld=""
  info=$(cd "$work" && go mod download -json "k8s.io/kubernetes@$KUBECTL_VERSION")
  gomod=$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
  [ -f "$gomod" ] || { echo "could not download k8s.io/kubernetes@$KUBECTL_VERSION" >&2; exit 1; }
  IFS=. read -r _ minor patch <<<"${KUBECTL_VERSION#v}"
  staging="v0.$minor.${patch%%-*}"
  go_directive=$(awk '$1 == "go" {print $2; exit}' "$gomod")
  {
    echo "module labgrader.local/kubectl-build"
    echo
    echo "go $go_directive"
    grep -E '^godebug ' "$gomod" || true
    echo
    echo "require k8s.io/kubernetes $KUBECTL_VERSION"
    echo
    echo "replace ("
    grep -oE '^\s*k8s\.io/[A-Za-z0-9._/-]+ => \./staging/src/' "$gomod" | awk -v v="$staging" '{print "\t" $1 " => " $1 " " v}'
    echo ")"
  } >"$work/go.mod"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkg.gitVersion=$KUBECTL_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=archive"
  done
  (cd "$work" && go build -trimpath -ldflags "-s -w$ld" -o "$out/kubectl" k8s.io/kubernetes/cmd/kubectl)
  kubectl_is_pinned "$out/kubectl" || { echo "kubectl in $out does not report $KUBECTL_VERSION" >&2; exit 1; }
}

build_kind() {
  GOBIN="$out" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kind@$KIND_VERSION"
  [ "$(module_version "$out/kind" sigs.k8s.io/kind)" = "$KIND_VERSION" ] \
    || { echo "kind in $out was not built from sigs.k8s.io/kind@$KIND_VERSION" >&2; exit 1; }
}

for tool in "${tools[@]}"; do
  # Already there at the pinned version (a cache, or an image that brought it): nothing to build.
  if "$0" --check "$out" "$tool" 2>/dev/null; then
    echo "$tool in $out is already at its pinned version"
    continue
  fi
  case "$tool" in
    helm) build_helm ;;
    kubectl) build_kubectl ;;
    kind) build_kind ;;
    *) echo "unknown tool '$tool' (helm, kubectl, kind)" >&2; exit 2 ;;
  esac
  echo "built $tool into $out"
done
