#!/bin/bash
# Prints the environment that points labgrader's cluster stage at the offline
# kind build of this folder (kind, kubectl, node image):
#     eval "$(test/kind-offline/env.sh)"
#     labgrader grade examples/lab-85-passing --cluster kind
# The node image brings its own default CNI (routes between nodes,
# NetworkPolicy), which kind installs unless networking.disableDefaultCNI is
# true, so LABGRADER_KIND_DISABLE_DEFAULT_CNI is not needed any more: it is
# unset, in case an older version of this script set it in this shell.
# On a normal machine none of this is needed: kind and kubectl on PATH use kindest/node.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.sh
. "$HERE/versions.sh"
CACHE=${LABGRADER_CACHE_DIR:-$HOME/.cache/labgrader}/kind-offline
cat <<ENV
export LABGRADER_KIND='$CACHE/bin/kind-$KIND_VERSION/kind'
export LABGRADER_KUBECTL='$CACHE/k8s/$K8S_VERSION/bin/kubectl'
export LABGRADER_KIND_NODE_IMAGE='$NODE_IMAGE_REPO:$K8S_VERSION'
unset LABGRADER_KIND_DISABLE_DEFAULT_CNI
ENV
